// commits: commit throughput of 8 concurrent writers appending small batches to one table, (a) through the core's
// append + Transaction on a local-FS table (8 DuckDB connections in this process) and (b) through the API's
// POST /api/sql INSERT on an in-process server; each against the same number of commits by one writer in sequence,
// in the same run. Lost races (putIfAbsent of a commit file that another writer won) are counted; afterwards every
// row must be in the table exactly once and every commit a version of its own.
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { StructType, TableRef } from '../packages/core/src/index.js';
import { DelegatingStorage, Snapshot, append, createTable, systemClock, tableKeyOf } from '../packages/core/src/index.js';
import { DuckDbEngine, FsStorage, tableQuerySql } from '../packages/core/src/node/index.js';
import { openCatalog } from '../apps/bff/src/catalog/open.js';
import { loadConfig } from '../apps/bff/src/config.js';
import { startServer, type RunningServer } from '../apps/bff/src/server.js';
import type { BenchResult, Benchmark, Check, Metric } from './lib.js';
import { fmt, metric, settle, tempDir, timed } from './lib.js';

const WRITERS = Number(process.env.BENCH_COMMITS_WRITERS ?? 8);
const PER_WRITER = Number(process.env.BENCH_COMMITS_PER_WRITER ?? 25);
const ROWS_PER_COMMIT = 5;
const COMMIT_KEY = /_delta_log\/\d{20}\.json$/;

const SCHEMA: StructType = {
  type: 'struct',
  fields: [
    { name: 'writer', type: 'long', nullable: false, metadata: {} },
    { name: 'seq', type: 'long', nullable: false, metadata: {} },
    { name: 'k', type: 'long', nullable: false, metadata: {} },
    { name: 'payload', type: 'string', nullable: true, metadata: {} },
  ],
};

/** A Storage that counts lost commit races: putIfAbsent of a `_delta_log/<version>.json` that already exists. */
class RaceCountingStorage extends DelegatingStorage {
  lostRaces = 0;

  constructor(inner: FsStorage) {
    super(inner);
  }

  override async putIfAbsent(key: string, data: Uint8Array): Promise<boolean> {
    const won = await this.inner.putIfAbsent(key, data);
    if (!won && COMMIT_KEY.test(key)) this.lostRaces++;
    return won;
  }
}

/** The rows one commit appends: `ROWS_PER_COMMIT` rows keyed by (writer, seq, k). */
function batchSql(writer: number, seq: number): string {
  return `SELECT ${writer}::BIGINT AS writer, ${seq}::BIGINT AS seq, i::BIGINT AS k, 'w${writer}-s${seq}-' || i AS payload FROM range(${ROWS_PER_COMMIT}) t(i)`;
}

/** The same rows as an INSERT statement for POST /api/sql. */
function insertSql(table: string, writer: number, seq: number): string {
  const values = Array.from({ length: ROWS_PER_COMMIT }, (_, i) => `(${writer}, ${seq}, ${i}, 'w${writer}-s${seq}-${i}')`);
  return `INSERT INTO ${table} VALUES ${values.join(', ')}`;
}

/** Runs `writers` loops of `perWriter` commits concurrently; resolves with the wall time. */
async function concurrently(writers: number, perWriter: number, commit: (writer: number, seq: number) => Promise<void>): Promise<number> {
  const { ms } = await timed(() => Promise.all(Array.from({ length: writers }, async (_, w) => {
    for (let s = 0; s < perWriter; s++) await commit(w, s);
  })));
  return ms;
}

/**
 * Checks a table after `writers` × `perWriter` commits on an empty version 0: version = number of commits, one file
 * per commit, and every (writer, seq, k) row present exactly once.
 */
async function verify(label: string, conn: DuckDBConnection, ref: TableRef, writers: number, perWriter: number): Promise<Check[]> {
  const s = await Snapshot.load(ref);
  const commits = writers * perWriter;
  const { sql } = await tableQuerySql(s);
  const r = await conn.runAndReadAll(
    `SELECT count(*)::VARCHAR AS n, count(DISTINCT (writer, seq, k))::VARCHAR AS d, ` +
      `count(DISTINCT (writer, seq))::VARCHAR AS batches, min(writer)::VARCHAR AS w0, max(writer)::VARCHAR AS w1, ` +
      `min(seq)::VARCHAR AS s0, max(seq)::VARCHAR AS s1 FROM (${sql})`,
  );
  const row = r.getRowObjectsJson()[0] as Record<string, string | null>;
  const expectedRows = commits * ROWS_PER_COMMIT;
  const rowsOk =
    Number(row.n) === expectedRows &&
    Number(row.d) === expectedRows &&
    Number(row.batches) === commits &&
    Number(row.w0) === 0 &&
    Number(row.w1) === writers - 1 &&
    Number(row.s0) === 0 &&
    Number(row.s1) === perWriter - 1;
  return [
    { name: `${label}: one version per commit`, ok: s.version === commits && s.numFiles === commits, details: { version: s.version, files: s.numFiles, commits } },
    { name: `${label}: every row present exactly once (0 lost, 0 duplicated)`, ok: rowsOk, details: { ...row, expectedRows } },
  ];
}

/** Core: 8 engines on one DuckDB instance; each writer refreshes its snapshot and appends. */
async function coreRun(dir: string, log: (msg: string) => void): Promise<{ metrics: Metric[]; checks: Check[]; samples: Record<string, number[]> }> {
  const inst = await DuckDBInstance.create(':memory:');
  const engines: DuckDbEngine[] = [];
  for (let i = 0; i < WRITERS; i++) {
    const conn = await inst.connect();
    await conn.run("SET TimeZone='UTC'");
    engines.push(new DuckDbEngine(conn, systemClock));
  }
  const table = async (name: string): Promise<{ ref: TableRef; storage: RaceCountingStorage }> => {
    const storage = new RaceCountingStorage(new FsStorage(dir));
    const ref = { storage, tableKey: tableKeyOf(name) };
    await createTable(ref, { schema: SCHEMA, name, clock: systemClock });
    return { ref, storage };
  };
  const writer = (ref: TableRef) => {
    const snapshots = new Map<number, Snapshot>();
    return async (w: number, s: number): Promise<void> => {
      const prev = snapshots.get(w);
      const snapshot = prev ? await prev.update() : await Snapshot.load(ref);
      await append(ref, engines[w % engines.length], { sourceSql: batchSql(w, s), snapshot, clock: systemClock });
      snapshots.set(w, snapshot);
    };
  };
  try {
    // Warm-up (DuckDB's Parquet writer, the module graph) on a scratch table, one commit per engine.
    const warm = await table('silver.bench.warmup');
    await concurrently(WRITERS, 1, writer(warm.ref));

    const seq = await table('silver.bench.sequential');
    const conc = await table('silver.bench.concurrent');
    await settle(200);
    log(`core: ${WRITERS * PER_WRITER} commits by 1 writer ...`);
    const seqWrite = writer(seq.ref);
    const seqMs = await concurrently(1, WRITERS * PER_WRITER, (_w, s) => seqWrite(Math.floor(s / PER_WRITER), s % PER_WRITER));
    await settle(200);
    log(`core: ${WRITERS} writers x ${PER_WRITER} commits ...`);
    const concMs = await concurrently(WRITERS, PER_WRITER, writer(conc.ref));
    const n = WRITERS * PER_WRITER;
    const checks = [
      ...(await verify('core sequential', engines[0].connection, seq.ref, WRITERS, PER_WRITER)),
      ...(await verify(`core ${WRITERS} writers`, engines[0].connection, conc.ref, WRITERS, PER_WRITER)),
      { name: 'core sequential: no lost races', ok: seq.storage.lostRaces === 0, details: { lostRaces: seq.storage.lostRaces } },
    ];
    const seqRate = n / (seqMs / 1000);
    const concRate = n / (concMs / 1000);
    log(`  sequential ${fmt(seqRate)}/s, concurrent ${fmt(concRate)}/s, ${conc.storage.lostRaces} lost races`);
    return {
      metrics: [
        metric(`core: ${WRITERS} writers`, concRate, 'commits/s'),
        metric('core: 1 writer (baseline)', seqRate, 'commits/s'),
        metric(`core: ratio ${WRITERS} writers / 1 writer`, concRate / seqRate, 'x', { cmp: '>=', target: 1 }),
        metric(`core: lost races retried (${WRITERS} writers)`, conc.storage.lostRaces, 'retries'),
        metric('core: retries per commit', conc.storage.lostRaces / n, 'retries'),
      ],
      checks,
      samples: { coreSequentialMs: [seqMs], coreConcurrentMs: [concMs] },
    };
  } finally {
    for (const e of engines) e.connection.closeSync();
    inst.closeSync();
  }
}

/** API: an in-process server (PGlite in memory); every commit is one POST /api/sql INSERT. */
async function apiRun(dir: string, log: (msg: string) => void): Promise<{ metrics: Metric[]; checks: Check[]; samples: Record<string, number[]> }> {
  const fs = new FsStorage(dir);
  for (const name of ['silver.bench.api_warmup', 'silver.bench.api_sequential', 'silver.bench.api_concurrent']) {
    await createTable({ storage: fs, tableKey: tableKeyOf(name) }, { schema: SCHEMA, name, clock: systemClock });
  }
  const catalog = await openCatalog({ pgliteDir: null });
  const config = loadConfig({ warehouse: dir, port: 0, host: '127.0.0.1', databaseUrl: null, demo: false, engines: 2, webDist: null }, {});
  const server: RunningServer = await startServer(config, { catalog });
  // Count lost races on the server's own storage (every table ref of the warehouse uses this instance).
  const storage = server.deps.warehouse.storage;
  const putIfAbsent = storage.putIfAbsent.bind(storage);
  let lostRaces = 0;
  storage.putIfAbsent = async (key, data) => {
    const won = await putIfAbsent(key, data);
    if (!won && COMMIT_KEY.test(key)) lostRaces++;
    return won;
  };
  const failures: string[] = [];
  try {
    const loginToken = new URL(server.loginUrl as string).hash.replace('#token=', '');
    const login = await fetch(`${server.url}/api/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token: loginToken }) });
    const { token } = (await login.json()) as { token: string };
    const insert = (table: string) => async (w: number, s: number): Promise<void> => {
      const res = await fetch(`${server.url}/api/sql`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
        body: JSON.stringify({ sql: insertSql(table, w, s) }),
      });
      const text = await res.text();
      if (res.status !== 200 && failures.length < 5) failures.push(`${res.status} ${text.slice(0, 300)}`);
    };
    await concurrently(WRITERS, 1, insert('silver.bench.api_warmup'));
    await settle(200);
    lostRaces = 0;
    log(`api: ${WRITERS * PER_WRITER} INSERTs by 1 client ...`);
    const seqInsert = insert('silver.bench.api_sequential');
    const seqMs = await concurrently(1, WRITERS * PER_WRITER, (_w, s) => seqInsert(Math.floor(s / PER_WRITER), s % PER_WRITER));
    const seqLost = lostRaces;
    await settle(200);
    log(`api: ${WRITERS} clients x ${PER_WRITER} INSERTs ...`);
    lostRaces = 0;
    const concMs = await concurrently(WRITERS, PER_WRITER, insert('silver.bench.api_concurrent'));
    const n = WRITERS * PER_WRITER;
    const inst = await DuckDBInstance.create(':memory:');
    const conn = await inst.connect();
    const checks: Check[] = [{ name: 'api: every INSERT answered 200', ok: failures.length === 0, details: { failures } }];
    try {
      checks.push(
        ...(await verify('api sequential', conn, { storage: fs, tableKey: tableKeyOf('silver.bench.api_sequential') }, WRITERS, PER_WRITER)),
        ...(await verify(`api ${WRITERS} clients`, conn, { storage: fs, tableKey: tableKeyOf('silver.bench.api_concurrent') }, WRITERS, PER_WRITER)),
        { name: 'api sequential: no lost races', ok: seqLost === 0, details: { lostRaces: seqLost } },
      );
    } finally {
      conn.closeSync();
      inst.closeSync();
    }
    const seqRate = n / (seqMs / 1000);
    const concRate = n / (concMs / 1000);
    log(`  sequential ${fmt(seqRate)}/s, concurrent ${fmt(concRate)}/s, ${lostRaces} lost races`);
    return {
      metrics: [
        metric(`api: ${WRITERS} clients`, concRate, 'commits/s'),
        metric('api: 1 client (baseline)', seqRate, 'commits/s'),
        metric(`api: ratio ${WRITERS} clients / 1 client`, concRate / seqRate, 'x', { cmp: '>=', target: 1 }),
        metric(`api: lost races retried (${WRITERS} clients)`, lostRaces, 'retries'),
        metric('api: retries per commit', lostRaces / n, 'retries'),
        metric('api: mean latency, 1 client', seqMs / n, 'ms'),
      ],
      checks,
      samples: { apiSequentialMs: [seqMs], apiConcurrentMs: [concMs] },
    };
  } finally {
    await server.close();
  }
}

async function run(log: (msg: string) => void): Promise<BenchResult> {
  if (!Number.isInteger(WRITERS) || WRITERS < 1 || !Number.isInteger(PER_WRITER) || PER_WRITER < 1) {
    throw new Error(`BENCH_COMMITS_WRITERS and BENCH_COMMITS_PER_WRITER must be positive integers, got ${WRITERS} and ${PER_WRITER}`);
  }
  const core = await tempDir('commits-core');
  const api = await tempDir('commits-api');
  try {
    const c = await coreRun(core.dir, log);
    await core.cleanup();
    const a = await apiRun(api.dir, log);
    return {
      name: 'commits',
      params: { writers: WRITERS, commitsPerWriter: PER_WRITER, rowsPerCommit: ROWS_PER_COMMIT, checkpointInterval: 10 },
      metrics: [...c.metrics, ...a.metrics],
      checks: [...c.checks, ...a.checks],
      notes: [
        `${WRITERS * PER_WRITER} commits of ${ROWS_PER_COMMIT} rows per series; blind appends (no logical conflicts), default checkpoint every 10 versions`,
        'core: one DuckDB instance, one connection per writer, snapshot refreshed with update() before each append',
        'api: in-process server, PGlite catalog in memory; each INSERT runs in a fresh DuckDB instance (src/sql/execute.ts)',
      ],
      samples: { ...c.samples, ...a.samples },
    };
  } finally {
    await core.cleanup();
    await api.cleanup();
  }
}

/** `pnpm bench commits`: commits/s of 8 concurrent appenders (core and API) against one sequential writer. */
export const commits: Benchmark = {
  name: 'commits',
  description: `commits/s of ${WRITERS} concurrent writers (core append, API INSERT) vs 1 sequential writer; 0 rows lost`,
  run,
};
