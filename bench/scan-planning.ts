// scan-planning: planScan over a 2,000-file table for predicates of different selectivity. The files in each plan are
// compared with the files that can match, computed from the generated rows themselves (not from the stats), and the
// planning time is reported relative to iterating the snapshot's adds once.
import type { Action, AddAction, Storage, TableRef } from '../packages/core/src/index.js';
import { Snapshot, logKey, padVersion, parseStats, planScan, writeCheckpoint } from '../packages/core/src/index.js';
import { FsStorage } from '../packages/core/src/node/index.js';
import type { BenchResult, Benchmark, Check, Metric } from './lib.js';
import { fakeUuid, fmt, measureInterleaved, median, metric, randInt, round, seededRandom, tempDir, timed } from './lib.js';

const SEED = 7_340_033;
const NUM_FILES = 2_000;
const NUM_REGIONS = 20;
const ID_STRIDE = 1_000; // file i holds the ids [i * ID_STRIDE, i * ID_STRIDE + rows - 1]: disjoint ranges with gaps
const CHECKPOINT_COMMITS = 10; // versions 1..10 hold 150 adds each, then a checkpoint at version 10
const CHECKPOINT_ADDS_PER_COMMIT = 150;
const TAIL_COMMITS = 5; // versions 11..15 hold the remaining 500 adds as JSON
const BASE_TS = Date.UTC(2024, 2, 1);
const WARMUP = 3;
const RUNS = 25;
const COLD_RUNS = 3;

const SCHEMA = {
  type: 'struct',
  fields: [
    { name: 'id', type: 'long', nullable: false, metadata: {} },
    { name: 'ts', type: 'timestamp', nullable: false, metadata: {} },
    { name: 'region', type: 'string', nullable: false, metadata: {} },
    { name: 'note', type: 'string', nullable: true, metadata: {} },
    { name: 'amount', type: 'double', nullable: false, metadata: {} },
  ],
};

/** One generated row (the ground truth the stats are computed from). */
interface Row {
  id: number;
  ts: number;
  note: string | null;
  amount: number;
}

interface DataFile {
  index: number;
  region: string;
  rows: Row[];
  add: AddAction;
}

/** A predicate as SQL for planScan, and the same predicate evaluated on one row (SQL semantics: NULL is not true). */
interface Case {
  label: string;
  sql: string | null;
  matches: (row: Row, region: string) => boolean;
}

function generateFiles(): DataFile[] {
  const rnd = seededRandom(SEED);
  const files: DataFile[] = [];
  for (let i = 0; i < NUM_FILES; i++) {
    const region = `r${randInt(rnd, 0, NUM_REGIONS - 1)}`;
    const n = randInt(rnd, 50, 400);
    // Some files have a few null notes, some only null notes, most none.
    const nullMode = i % 50 === 0 ? 'all' : i % 7 === 3 ? 'some' : 'none';
    const rows: Row[] = [];
    for (let j = 0; j < n; j++) {
      rows.push({
        id: i * ID_STRIDE + j,
        // Neighbouring files overlap in time (30 min apart, up to ~67 min long); all values are whole 10 s steps.
        ts: BASE_TS + i * 1_800_000 + j * 10_000,
        note: nullMode === 'all' || (nullMode === 'some' && j % 5 === 0) ? null : `n-${String(randInt(rnd, 0, 99_999)).padStart(5, '0')}`,
        amount: round(rnd() * 1_000, 2),
      });
    }
    files.push({ index: i, region, rows, add: toAdd(i, region, rows, rnd) });
  }
  return files;
}

function minMax<T>(values: readonly T[]): [T, T] | null {
  if (values.length === 0) return null;
  let lo = values[0];
  let hi = values[0];
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

/** The add action of a file, with Spark-like stats computed from its rows. */
function toAdd(i: number, region: string, rows: readonly Row[], rnd: () => number): AddAction {
  const minValues: Record<string, unknown> = {};
  const maxValues: Record<string, unknown> = {};
  const id = minMax(rows.map((r) => r.id))!;
  const ts = minMax(rows.map((r) => r.ts))!;
  const amount = minMax(rows.map((r) => r.amount))!;
  const notes = rows.map((r) => r.note).filter((x): x is string => x !== null);
  const note = minMax(notes);
  [minValues.id, maxValues.id] = id;
  [minValues.ts, maxValues.ts] = ts.map((t) => new Date(t).toISOString());
  [minValues.amount, maxValues.amount] = amount;
  if (note) [minValues.note, maxValues.note] = note;
  const stats = {
    numRecords: rows.length,
    minValues,
    maxValues,
    nullCount: { id: 0, ts: 0, note: rows.length - notes.length, amount: 0 },
  };
  return {
    path: `region=${region}/part-${String(i).padStart(5, '0')}-${fakeUuid(rnd)}.c000.snappy.parquet`,
    partitionValues: { region },
    size: 2_000 + rows.length * 24,
    modificationTime: BASE_TS + i * 1_000,
    dataChange: true,
    stats: JSON.stringify(stats),
  };
}

function tsLiteral(ms: number): string {
  return `TIMESTAMP '${new Date(ms).toISOString().replace('T', ' ').replace('Z', '')}'`;
}

function cases(): Case[] {
  const idStart = (i: number): number => i * ID_STRIDE;
  // Literal timestamps sit 5 s off the 10 s grid of the data, far from any stats bound (which are cut to ms).
  const tsFrom = BASE_TS + 700 * 1_800_000 + 5_000;
  const tsTo = BASE_TS + 706 * 1_800_000 + 5_000;
  const inList = [idStart(5) + 17, idStart(9) + 999, idStart(1234) + 3, idStart(NUM_FILES) + 10];
  const z = idStart(1500) + 20;
  return [
    { label: 'no predicate', sql: null, matches: () => true },
    {
      label: 'id BETWEEN (3 files)',
      sql: `id BETWEEN ${idStart(1000) + 10} AND ${idStart(1002) + 5}`,
      matches: (r) => r.id >= idStart(1000) + 10 && r.id <= idStart(1002) + 5,
    },
    { label: "region = 'r7' AND id > z", sql: `region = 'r7' AND id > ${z}`, matches: (r, region) => region === 'r7' && r.id > z },
    { label: 'id IN (4 values)', sql: `id IN (${inList.join(', ')})`, matches: (r) => inList.includes(r.id) },
    { label: 'note IS NULL', sql: 'note IS NULL', matches: (r) => r.note === null },
    { label: 'note IS NOT NULL', sql: 'note IS NOT NULL', matches: (r) => r.note !== null },
    {
      label: 'ts window (3 h)',
      sql: `ts >= ${tsLiteral(tsFrom)} AND ts < ${tsLiteral(tsTo)}`,
      matches: (r) => r.ts >= tsFrom && r.ts < tsTo,
    },
    {
      label: "region IN (..) OR amount > 999.9",
      sql: "region IN ('r1', 'r2') OR amount > 999.9",
      matches: (r, region) => region === 'r1' || region === 'r2' || r.amount > 999.9,
    },
    { label: 'id < 0 (nothing)', sql: 'id < 0', matches: (r) => r.id < 0 },
  ];
}

async function writeCommit(storage: Storage, version: number, actions: readonly Action[]): Promise<void> {
  const bytes = new TextEncoder().encode(actions.map((a) => JSON.stringify(a)).join('\n') + '\n');
  if (!(await storage.putIfAbsent(logKey('', `${padVersion(version)}.json`), bytes))) throw new Error(`commit ${version} exists`);
}

async function writeTable(table: TableRef, files: readonly DataFile[]): Promise<number> {
  const info = (v: number): Action => ({ commitInfo: { timestamp: BASE_TS + v * 60_000, operation: 'WRITE', engineInfo: 'lakehouse-bench' } });
  await writeCommit(table.storage, 0, [
    { protocol: { minReaderVersion: 1, minWriterVersion: 2 } },
    {
      metaData: {
        id: '5f1a3c2e-0000-4000-8000-000000000002',
        format: { provider: 'parquet', options: {} },
        schemaString: JSON.stringify(SCHEMA),
        partitionColumns: ['region'],
        createdTime: BASE_TS,
        configuration: {},
      },
    },
    info(0),
  ]);
  let next = 0;
  let v = 0;
  for (let c = 0; c < CHECKPOINT_COMMITS; c++) {
    v++;
    const adds = files.slice(next, next + CHECKPOINT_ADDS_PER_COMMIT).map((f): Action => ({ add: f.add }));
    next += adds.length;
    await writeCommit(table.storage, v, [info(v), ...adds]);
  }
  await writeCheckpoint(await Snapshot.load(table));
  const perTail = Math.ceil((files.length - next) / TAIL_COMMITS);
  for (let c = 0; c < TAIL_COMMITS; c++) {
    v++;
    const adds = files.slice(next, next + perTail).map((f): Action => ({ add: f.add }));
    next += adds.length;
    await writeCommit(table.storage, v, [info(v), ...adds]);
  }
  return v;
}

function iterateAdds(snapshot: Snapshot): number {
  let n = 0;
  for (const add of snapshot.adds()) n += add.size;
  return n;
}

async function run(log: (msg: string) => void): Promise<BenchResult> {
  const { dir, cleanup } = await tempDir('scan-planning');
  try {
    const files = generateFiles();
    const table: TableRef = { storage: new FsStorage(dir), tableKey: '' };
    const latest = await writeTable(table, files);
    log(`  wrote ${NUM_FILES} files' adds over ${latest} commits (checkpoint at v${CHECKPOINT_COMMITS}) in ${dir}`);
    const snapshot = await Snapshot.load(table);
    const byPath = new Map(files.map((f) => [f.add.path, f.index]));
    const checks: Check[] = [
      { name: 'snapshot holds every generated file', ok: snapshot.numFiles === NUM_FILES, details: { numFiles: snapshot.numFiles } },
    ];
    const metrics: Metric[] = [];
    const samples: Record<string, number[]> = {};
    const rows: string[][] = [];

    // Baseline: iterating all adds once; the floor of a cold plan additionally parses every stats string once.
    const baseSamples: number[] = [];
    for (let i = 0; i < WARMUP + RUNS; i++) {
      const t = await timed(() => iterateAdds(snapshot));
      if (i >= WARMUP) baseSamples.push(t.ms);
    }
    const baselineMs = median(baseSamples);
    samples.iterateAdds = baseSamples;
    metrics.push(metric('baseline: iterate all adds once', baselineMs, 'ms'));

    for (const c of cases()) {
      const truth = new Set<number>();
      for (const f of files) if (f.rows.some((r) => c.matches(r, f.region))) truth.add(f.index);
      const plan = await planScan(snapshot, { predicate: c.sql });
      const planned = new Set(plan.files.map((f) => byPath.get(f.path) ?? -1));
      const missing = [...truth].filter((i) => !planned.has(i));
      const extra = [...planned].filter((i) => !truth.has(i));
      const ok = missing.length === 0 && extra.length === 0 && planned.size === plan.files.length;
      checks.push({
        name: `files in plan = files that can match: ${c.label}`,
        ok,
        details: {
          predicate: c.sql,
          planned: plan.files.length,
          canMatch: truth.size,
          missing: missing.slice(0, 20),
          extra: extra.slice(0, 20),
        },
      });

      // Warm: stats already parsed (statsOf caches per add). Interleaved with the baseline.
      const warm = await measureInterleaved(
        { plan: () => planScan(snapshot, { predicate: c.sql }), base: async () => iterateAdds(snapshot) },
        { warmup: WARMUP, runs: RUNS, settleMs: 0 },
      );
      // Cold: a freshly loaded snapshot, so every stats string is parsed during planning.
      const cold: number[] = [];
      for (let i = 0; i < COLD_RUNS; i++) {
        const fresh = await Snapshot.load(table);
        cold.push((await timed(() => planScan(fresh, { predicate: c.sql }))).ms);
      }
      const warmMs = median(warm.plan);
      const ratio = warmMs / median(warm.base);
      samples[`${c.label} warm`] = warm.plan;
      samples[`${c.label} baseline`] = warm.base;
      samples[`${c.label} cold`] = cold;
      metrics.push(
        metric(`${c.label}: files in plan`, plan.files.length, 'files'),
        metric(`${c.label}: files that can match`, truth.size, 'files'),
        metric(`${c.label}: plan (warm)`, warmMs, 'ms'),
        metric(`${c.label}: plan / iterate adds`, ratio, 'x'),
        metric(`${c.label}: plan (cold stats)`, median(cold), 'ms'),
      );
      rows.push([
        c.label,
        String(plan.files.length),
        String(truth.size),
        fmt(warmMs),
        fmt(ratio),
        fmt(median(cold)),
        ok ? 'ok' : `FAIL (${missing.length} missing, ${extra.length} extra)`,
      ]);
    }

    // Floor of a cold plan: iterate + JSON.parse of every stats string (what statsOf does once per add).
    const fresh = await Snapshot.load(table);
    const parseOnce = await timed(() => {
      let n = 0;
      for (const add of fresh.adds()) n += parseStats(add.stats)?.numRecords ?? 0;
      return n;
    });
    metrics.push(metric('baseline: iterate + parse all stats', parseOnce.ms, 'ms'));

    return {
      name: 'scan-planning',
      params: {
        seed: SEED,
        files: NUM_FILES,
        regions: NUM_REGIONS,
        latestVersion: latest,
        checkpointVersion: CHECKPOINT_COMMITS,
        rows: files.reduce((n, f) => n + f.rows.length, 0),
        warmup: WARMUP,
        runs: RUNS,
        coldRuns: COLD_RUNS,
      },
      metrics,
      checks,
      notes: [
        `x iterate = warm planning time (stats already parsed) / iterating the ${NUM_FILES} adds once, both measured ` +
          `interleaved per predicate; cold = first plan on a freshly loaded snapshot, which parses every stats string ` +
          `(iterating + parsing all stats alone takes ${fmt(parseOnce.ms)} ms)`,
      ],
      samples,
      table: {
        header: ['predicate', 'in plan', 'can match', 'warm ms', 'x iterate', 'cold ms', 'check'],
        rows,
      },
    };
  } finally {
    await cleanup();
  }
}

/** The scan-planning benchmark. */
export const scanPlanning: Benchmark = {
  name: 'scan-planning',
  description: 'planScan on 2,000 files: files in plan vs files that can match, planning time vs iterating adds',
  run,
};
