// maintenance: OPTIMIZE of a table of 1,000 small files (~1M rows) against DuckDB copying the same rows to one Parquet
// file in the same run (goal: at least 0.8x its throughput), a selective query before vs after (goal: at least 3x
// faster after), and VACUUM deciding on a table with 100,000 removed files (seconds and peak extra heap reported).
// BENCH_MAINT_FILES / BENCH_MAINT_ROWS_PER_FILE / BENCH_VACUUM_FILES shrink it for a quick look.
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import type { AddAction, StructType, TableRef } from '../packages/core/src/index.js';
import {
  ManualClock,
  MemoryStorage,
  Snapshot,
  Transaction,
  countRows,
  createTable,
  optimize,
  removeFor,
  vacuum,
  writeCheckpoint,
} from '../packages/core/src/index.js';
import { DuckDbEngine, FsStorage, tableQuerySql } from '../packages/core/src/node/index.js';
import type { BenchResult, Benchmark, Check, Metric } from './lib.js';
import { collectGarbage, measureInterleaved, median, metric, round, settle, tempDir, timed } from './lib.js';

const FILES = Number(process.env.BENCH_MAINT_FILES ?? 1000);
const ROWS_PER_FILE = Number(process.env.BENCH_MAINT_ROWS_PER_FILE ?? 1000);
const VACUUM_FILES = Number(process.env.BENCH_VACUUM_FILES ?? 100_000);
const FILES_PER_COMMIT = 100;
const QUERY_RUNS = 5;
const OPT_RUNS = 3;
const THROUGHPUT_GOAL = 0.8;
const QUERY_GOAL = 3;
const SCHEMA: StructType = {
  type: 'struct',
  fields: [
    { name: 'id', type: 'long', nullable: false, metadata: {} },
    { name: 'k', type: 'long', nullable: false, metadata: {} },
    { name: 'v', type: 'double', nullable: true, metadata: {} },
    { name: 's', type: 'string', nullable: true, metadata: {} },
  ],
};

/** Rows of small file `i`: ids i*n .. i*n+n-1, a pseudo-random key spread over the whole range, a value and a label. */
function fileRowsSql(i: number): string {
  const from = i * ROWS_PER_FILE;
  return `SELECT (r + ${from})::BIGINT AS id, ((r + ${from}) * 7919 % 1000003)::BIGINT AS k, ((r + ${from}) % 1000) / 10.0 AS v, 'label-' || ((r + ${from}) % 97) AS s FROM range(${ROWS_PER_FILE}) t(r)`;
}

async function optimizePart(log: (m: string) => void, metrics: Metric[], checks: Check[], notes: string[], samples: Record<string, number[]>): Promise<void> {
  const tmp = await tempDir('lh-bench-maint-');
  try {
    const clock = new ManualClock(Date.UTC(2024, 0, 1));
    const table: TableRef = { storage: new FsStorage(join(tmp.dir, 'events')), tableKey: '' };
    const engine = await DuckDbEngine.create();
    await createTable(table, { schema: SCHEMA, clock });
    log(`writing ${FILES} small files of ${ROWS_PER_FILE} rows ...`);
    const layout = { schema: SCHEMA, partitionColumns: [] as string[], columnMappingMode: 'none' as const };
    for (let i = 0; i < FILES; i += FILES_PER_COMMIT) {
      const adds: AddAction[] = [];
      for (let j = i; j < Math.min(FILES, i + FILES_PER_COMMIT); j++) adds.push(...(await engine.writeFiles(table, layout, fileRowsSql(j))));
      const s = await Snapshot.load(table);
      await new Transaction(table, s, clock).add(...adds.map((add) => ({ add }))).commit({ operation: 'WRITE', checkpoint: false });
    }
    const before = await Snapshot.load(table);
    const numFilesBefore = [...before.adds()].length;
    const bytesBefore = [...before.adds()].reduce((n, a) => n + a.size, 0);
    const rows = await countRows(before);
    checks.push({ name: 'table has the small files and rows', ok: numFilesBefore === FILES && rows === FILES * ROWS_PER_FILE, details: { numFilesBefore, rows } });

    // The selective query: a narrow key range.
    const where = 'k BETWEEN 1000 AND 3000';
    const query = async (snap: Snapshot): Promise<string> => {
      const { sql } = await tableQuerySql(snap, { where });
      const r = await engine.connection.runAndReadAll(`SELECT count(*)::BIGINT AS n, sum(id)::VARCHAR AS ids, round(sum(v), 6)::VARCHAR AS total FROM (${sql}) AS q`);
      return JSON.stringify(r.getRowObjectsJson()[0]);
    };
    const answerBefore = await query(before);
    const qBefore = await measureInterleaved({ before: async () => query(await Snapshot.load(table)) }, { warmup: 1, runs: QUERY_RUNS, settleMs: 50 });

    // DuckDB's own copy of the same rows into one Parquet file (the baseline) and OPTIMIZE, interleaved over
    // OPT_RUNS identical copies of the table (OPTIMIZE changes its table, so each run gets a fresh copy).
    const urls = [...before.adds()].map((a) => `'${join(tmp.dir, 'events', a.path).replace(/'/g, "''")}'`).join(', ');
    const copies: TableRef[] = [];
    for (let i = 0; i < OPT_RUNS; i++) {
      cpSync(join(tmp.dir, 'events'), join(tmp.dir, `events-${i}`), { recursive: true });
      copies.push({ storage: new FsStorage(join(tmp.dir, `events-${i}`)), tableKey: '' });
    }
    const baseRuns: number[] = [];
    const optRuns: number[] = [];
    let m: Awaited<ReturnType<typeof optimize>> | null = null;
    for (let i = 0; i < OPT_RUNS; i++) {
      await settle(200);
      const out = join(tmp.dir, `copy-${i}.parquet`);
      baseRuns.push((await timed(() => engine.connection.run(`COPY (SELECT * FROM read_parquet([${urls}])) TO '${out}' (FORMAT parquet)`))).ms);
      await settle(200);
      log(`OPTIMIZE run ${i + 1} of ${OPT_RUNS} ...`);
      const r = await timed(() => optimize(copies[i], engine, { clock }));
      optRuns.push(r.ms);
      m ??= r.value;
    }
    const baseMs = median(baseRuns);
    const optMs = median(optRuns);
    samples.duckdbCopyMs = baseRuns;
    samples.optimizeMs = optRuns;
    if (!m) throw new Error('no OPTIMIZE run');
    await optimize(table, engine, { clock });

    const after = await Snapshot.load(table);
    const numFilesAfter = [...after.adds()].length;
    checks.push({ name: 'OPTIMIZE committed and removed every small file', ok: m.committed && m.numFilesRemoved === FILES, details: { numFilesRemoved: m.numFilesRemoved, numFilesAdded: m.numFilesAdded } });
    checks.push({ name: 'rows unchanged by OPTIMIZE', ok: (await countRows(after)) === rows, details: { rows } });
    const answerAfter = await query(after);
    checks.push({ name: 'selective query answers the same before and after', ok: answerAfter === answerBefore, details: { answerBefore, answerAfter } });
    const qAfter = await measureInterleaved({ after: async () => query(await Snapshot.load(table)) }, { warmup: 1, runs: QUERY_RUNS, settleMs: 50 });
    samples.queryBeforeMs = qBefore.before;
    samples.queryAfterMs = qAfter.after;

    const rowsPerSec = (ms: number) => rows / (ms / 1000);
    metrics.push(metric('optimize throughput', rowsPerSec(optMs) / 1e6, 'M rows/s'));
    metrics.push(metric('duckdb copy throughput (baseline)', rowsPerSec(baseMs) / 1e6, 'M rows/s'));
    metrics.push(metric('optimize / duckdb copy', baseMs / optMs, 'x', { cmp: '>=', target: THROUGHPUT_GOAL }));
    const qb = median(qBefore.before);
    const qa = median(qAfter.after);
    metrics.push(metric('selective query before', qb, 'ms'));
    metrics.push(metric('selective query after', qa, 'ms'));
    metrics.push(metric('query speedup after optimize', qb / qa, 'x', { cmp: '>=', target: QUERY_GOAL }));
    metrics.push(metric('files before', numFilesBefore, 'files'));
    metrics.push(metric('files after', numFilesAfter, 'files'));
    notes.push(`${FILES} files of ${ROWS_PER_FILE} rows (${round(bytesBefore / 2 ** 20, 1)} MiB) compacted into ${numFilesAfter} in ${round(optMs / 1000, 2)} s; DuckDB COPY of the same rows ${round(baseMs / 1000, 2)} s (medians of ${OPT_RUNS} interleaved runs on identical copies)`);
    notes.push(`query: ${where}, plan + scan through DuckDB read_parquet, median of ${QUERY_RUNS}`);
    engine.connection.closeSync();
  } finally {
    await tmp.cleanup();
  }
}

async function vacuumPart(log: (m: string) => void, metrics: Metric[], checks: Check[], notes: string[]): Promise<void> {
  const N = VACUUM_FILES;
  const clock = new ManualClock(Date.UTC(2024, 0, 1));
  const storage = new MemoryStorage(clock);
  const table: TableRef = { storage, tableKey: 't' };
  await createTable(table, { schema: { type: 'struct', fields: [{ name: 'id', type: 'long', nullable: false, metadata: {} }] }, clock, properties: { 'delta.checkpointInterval': '100000' } });
  log(`building a table with ${N} removed files ...`);
  const bytes = new Uint8Array(16);
  const adds: AddAction[] = [];
  for (let i = 0; i < N; i++) {
    const path = `day=${i % 30}/part-${i}.parquet`;
    await storage.put(`t/${path}`, bytes);
    adds.push({ path, partitionValues: {}, size: 16, modificationTime: clock.now(), dataChange: true });
  }
  const chunk = 10_000;
  for (let i = 0; i < N; i += chunk) {
    const s = await Snapshot.load(table);
    await new Transaction(table, s, clock).add(...adds.slice(i, i + chunk).map((add) => ({ add }))).commit({ operation: 'WRITE', checkpoint: false });
  }
  clock.advance(86_400_000);
  for (let i = 0; i < N; i += chunk) {
    const s = await Snapshot.load(table);
    await new Transaction(table, s, clock).add(...adds.slice(i, i + chunk).map((a) => ({ remove: removeFor(a, clock.now()) }))).commit({ operation: 'DELETE', checkpoint: false });
  }
  adds.length = 0;
  await writeCheckpoint(await Snapshot.load(table), { clock });
  clock.advance(8 * 86_400_000);
  const s0 = await Snapshot.load(table);
  await new Transaction(table, s0, clock).add({ add: { path: 'x.parquet', partitionValues: {}, size: 1, modificationTime: clock.now(), dataChange: true } }).commit({ operation: 'WRITE' });

  await settle(200);
  const t0 = performance.now();
  const snap = await Snapshot.load(table);
  const t1 = performance.now();
  collectGarbage();
  const base = process.memoryUsage().heapUsed;
  let peak = base;
  const sample = () => {
    peak = Math.max(peak, process.memoryUsage().heapUsed);
  };
  const timer = setInterval(sample, 5);
  const r = await vacuum(table, { clock, snapshot: snap, onProgress: sample });
  const t2 = performance.now();
  sample();
  clearInterval(timer);
  const { ms: deleteMs, value: d } = await timed(() => vacuum(table, { clock, dryRun: false }));
  checks.push({ name: 'VACUUM dry run finds every removed file', ok: r.numFilesToDelete === N && r.numFilesDeleted === 0, details: { toDelete: r.numFilesToDelete } });
  checks.push({ name: 'VACUUM deletes every removed file', ok: d.numFilesDeleted === N, details: { deleted: d.numFilesDeleted } });
  checks.push({ name: 'VACUUM reports the time-travel impact', ok: r.timeTravel.lostVersions !== null, details: r.timeTravel });
  metrics.push(metric(`vacuum snapshot load (${N} tombstones)`, (t1 - t0) / 1000, 's'));
  metrics.push(metric(`vacuum list+decide (${N} removed files)`, (t2 - t1) / 1000, 's'));
  metrics.push(metric('vacuum list+decide peak extra heap', (peak - base) / 1e6, 'MB'));
  metrics.push(metric('vacuum delete (in-memory storage)', deleteMs / 1000, 's'));
  notes.push(`VACUUM: ${N} removed files across ${Math.ceil(N / chunk) * 2} commits + checkpoint; heap sampled every 5 ms and on each progress report (base heap ${round(base / 1e6, 1)} MB)`);
}

/** OPTIMIZE throughput and query benefit, and VACUUM's decision cost on 100,000 removed files. */
export const maintenance: Benchmark = {
  name: 'maintenance',
  description: 'OPTIMIZE 1,000 small files vs DuckDB COPY; query before/after; VACUUM deciding on 100,000 removed files',
  async run(log) {
    const metrics: Metric[] = [];
    const checks: Check[] = [];
    const notes: string[] = [];
    const samples: Record<string, number[]> = {};
    await optimizePart(log, metrics, checks, notes, samples);
    await vacuumPart(log, metrics, checks, notes);
    const result: BenchResult = {
      name: 'maintenance',
      params: { files: FILES, rowsPerFile: ROWS_PER_FILE, vacuumFiles: VACUUM_FILES },
      metrics,
      checks,
      notes,
      samples,
    };
    return result;
  },
};
