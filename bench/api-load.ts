// api-load: the catalog API under load. A BFF child process serves a warehouse of 30 small tables; autocannon (in this
// process) drives 200 concurrent connections on loopback for a bounded time against the table search
// (GET /api/tables?q=...), the table detail (GET /api/tables/{name}, rotating over the tables) and, as the baseline,
// GET /api/health (no auth, no catalog, no Delta log). Reports req/s, p50/p99 latency and non-2xx responses (must be 0),
// then checks the freshness promises of the server's caches: another writer's commit shows within a couple of seconds,
// a write through the server shows on the next read.
import { cpus } from 'node:os';
import autocannon from 'autocannon';
import type { StructType } from '../packages/core/src/index.js';
import { append, createTable, systemClock, tableKeyOf } from '../packages/core/src/index.js';
import { DuckDbEngine, FsStorage } from '../packages/core/src/node/index.js';
import type { BenchResult, Benchmark, Check, Metric } from './lib.js';
import { fmt, metric, processMemory, settle, startBffProcess, tempDir } from './lib.js';

const CONNECTIONS = Number(process.env.BENCH_API_CONNECTIONS ?? 200);
const DURATION_S = Number(process.env.BENCH_API_SECONDS ?? 10);
const WARMUP_S = 2;
// Longer than autocannon's default 10 s: under 200 connections a saturated route queues for seconds, and a client
// that gives up leaves the server working on the abandoned request (no cancellation), which then collapses throughput.
const TIMEOUT_S = 30;
const IDLE_WAIT_S = 60;
const LAYERS = ['bronze', 'silver', 'gold'] as const;
const DOMAINS = ['sales', 'finance', 'marketing', 'ops', 'hr'] as const;
const SUBJECTS = ['orders', 'customers'] as const; // 3 layers x 5 domains x 2 subjects = 30 tables
const SEARCH = 'orders';
const ROWS_PER_TABLE = 200;
/** A commit by another writer must be visible through the API within this long (the server's cache ages). */
const FRESHNESS_GOAL_MS = 2500;

const SCHEMA: StructType = {
  type: 'struct',
  fields: [
    { name: 'id', type: 'long', nullable: false, metadata: { comment: 'row id' } },
    { name: 'day', type: 'date', nullable: true, metadata: {} },
    { name: 'name', type: 'string', nullable: true, metadata: {} },
    { name: 'amount', type: { type: 'decimal', precision: 10, scale: 2 }, nullable: true, metadata: {} },
  ],
};

/** The 30 table names of the warehouse. */
function tableNames(): string[] {
  return LAYERS.flatMap((l) => DOMAINS.flatMap((d) => SUBJECTS.map((s) => `${l}.${d}.${s}`)));
}

/** Creates the tables: version 0 with ROWS_PER_TABLE rows in 3 day partitions each. */
async function createWarehouse(dir: string): Promise<void> {
  const engine = await DuckDbEngine.create(systemClock);
  try {
    const storage = new FsStorage(dir);
    for (const [n, name] of tableNames().entries()) {
      const sourceSql =
        `SELECT i::BIGINT AS id, DATE '2024-05-01' + (i % 3)::INTEGER AS day, 'name-' || i AS name, (i * 1.25)::DECIMAL(10,2) AS amount ` +
        `FROM range(${n * 1000}, ${n * 1000 + ROWS_PER_TABLE}) t(i)`;
      const [layer, domain, subject] = name.split('.');
      const description = `${subject} of ${domain} (${layer})`;
      await createTable({ storage, tableKey: tableKeyOf(name) }, { schema: SCHEMA, partitionColumns: ['day'], description, name, engine, sourceSql, clock: systemClock });
    }
  } finally {
    engine.connection.closeSync();
  }
}

/** Appends one row to a table as another writer would (its own storage, not the server's). */
async function appendRows(dir: string, name: string): Promise<void> {
  const engine = await DuckDbEngine.create(systemClock);
  try {
    const sourceSql = `SELECT 999999::BIGINT AS id, DATE '2024-05-01' AS day, 'late' AS name, 1.00::DECIMAL(10,2) AS amount`;
    await append({ storage: new FsStorage(dir), tableKey: tableKeyOf(name) }, engine, { sourceSql, clock: systemClock });
  } finally {
    engine.connection.closeSync();
  }
}

/**
 * Waits (IDLE_WAIT_S at most) until the server answers /api/health within 20 ms twice in a row, so that requests still
 * queued from the previous run do not land in the next one; returns the ms waited, or -1 if it never got idle.
 */
async function waitIdle(url: string): Promise<number> {
  const t0 = performance.now();
  let fast = 0;
  for (const deadline = Date.now() + IDLE_WAIT_S * 1000; Date.now() < deadline; ) {
    const t = performance.now();
    await (await fetch(`${url}/api/health`)).arrayBuffer();
    fast = performance.now() - t < 20 ? fast + 1 : 0;
    if (fast >= 2) return performance.now() - t0;
    await new Promise((r) => setTimeout(r, 50));
  }
  return -1;
}

/** One autocannon run; `paths` rotates per request. */
function load(url: string, token: string, paths: string[], seconds: number): Promise<autocannon.Result> {
  let next = 0;
  return autocannon({
    url,
    connections: CONNECTIONS,
    duration: seconds,
    timeout: TIMEOUT_S,
    headers: { Authorization: `Bearer ${token}` },
    requests: [
      {
        method: 'GET',
        setupRequest: (req) => ({ ...req, path: paths[next++ % paths.length] }),
      },
    ],
  });
}

async function run(log: (msg: string) => void): Promise<BenchResult> {
  const { dir, cleanup } = await tempDir('api-load');
  try {
    const names = tableNames();
    log(`creating ${names.length} tables ...`);
    await createWarehouse(dir);
    const server = await startBffProcess(dir);
    const checks: Check[] = [];
    const metrics: Metric[] = [];
    const rows: string[][] = [];
    const notes: string[] = [];
    const samples: Record<string, number[]> = {};
    let peakRssMB = Number.NaN;
    try {
      const auth = { Authorization: `Bearer ${server.token}` };
      // Correctness of the answers under test, once, before the load.
      const getJson = async (p: string): Promise<unknown> => (await fetch(`${server.url}${p}`, { headers: auth })).json();
      const search = (await getJson(`/api/tables?q=${SEARCH}`)) as { tables?: { name: string }[] };
      const expected = names.filter((n) => n.endsWith(`.${SEARCH}`)).sort();
      const found = (search.tables ?? []).map((t) => t.name).sort();
      checks.push({ name: `search "${SEARCH}" finds exactly the ${expected.length} ${SEARCH} tables`, ok: JSON.stringify(found) === JSON.stringify(expected), details: { found } });
      const detail = (await getJson(`/api/tables/${names[0]}`)) as { rows?: number; columns?: unknown[]; version?: number };
      checks.push({
        name: 'detail reports the rows, columns and version',
        ok: detail.rows === ROWS_PER_TABLE && detail.columns?.length === SCHEMA.fields.length && detail.version === 0,
        details: { rows: detail.rows, columns: detail.columns?.length, version: detail.version },
      });

      const routes: { label: string; paths: string[] }[] = [
        { label: 'GET /api/health (baseline)', paths: ['/api/health'] },
        { label: `GET /api/tables?q=${SEARCH}`, paths: [`/api/tables?q=${SEARCH}`] },
        { label: 'GET /api/tables/{name}', paths: names.map((n) => `/api/tables/${n}`) },
      ];
      log(`warm-up ${WARMUP_S} s ...`);
      await load(server.url, server.token, [...routes[1].paths, ...routes[2].paths], WARMUP_S);
      let healthRps = Number.NaN;
      for (const r of routes) {
        const waited = await waitIdle(server.url);
        if (waited < 0) notes.push(`before ${r.label}: the server was still busy after ${IDLE_WAIT_S} s`);
        else if (waited > 1000) notes.push(`before ${r.label}: waited ${(waited / 1000).toFixed(1)} s for the server to drain`);
        await settle(300);
        log(`${r.label}: ${CONNECTIONS} connections for ${DURATION_S} s ...`);
        const res = await load(server.url, server.token, r.paths, DURATION_S);
        const rps = res.requests.average;
        if (Number.isNaN(healthRps)) healthRps = rps;
        const short = r.label.replace(' (baseline)', '');
        const vsHealth = r === routes[0] ? '1' : fmt(rps / healthRps);
        rows.push([short, fmt(rps), fmt(res.latency.p50), fmt(res.latency.p99), String(res.non2xx), String(res.errors), String(res.timeouts), vsHealth]);
        metrics.push(
          metric(`${short} req/s`, rps, 'req/s'),
          metric(`${short} p50`, res.latency.p50, 'ms'),
          metric(`${short} p99`, res.latency.p99, 'ms'),
          metric(`${short} non-2xx`, res.non2xx, 'responses'),
          metric(`${short} timeouts (> ${TIMEOUT_S} s)`, res.timeouts, 'requests'),
        );
        if (r !== routes[0]) metrics.push(metric(`${short} req/s vs health`, rps / healthRps, 'x'));
        samples[`${short} latency p50/p90/p99/max ms`] = [res.latency.p50, res.latency.p90, res.latency.p99, res.latency.max];
        // Timeouts (no answer within TIMEOUT_S) are a latency figure, reported but not a failed check; other
        // connection errors and non-2xx answers are.
        checks.push({
          name: `${short}: ${res.requests.total} requests, 0 non-2xx, 0 connection errors`,
          ok: res.requests.total > 0 && res.non2xx === 0 && res.errors - res.timeouts === 0,
          details: { total: res.requests.total, non2xx: res.non2xx, errors: res.errors, timeouts: res.timeouts, '2xx': res['2xx'] },
        });
      }
      peakRssMB = (await processMemory(server.pid))?.hwmMB ?? Number.NaN;
      metrics.push(metric('server peak RSS', peakRssMB, 'MiB'));

      // The server caches principals, discovery and snapshots: check that the caches keep their freshness promises.
      // A commit by another writer (this process) must show within a couple of seconds ...
      const target = names[0];
      const versionOf = async (): Promise<number | undefined> => ((await getJson(`/api/tables/${target}`)) as { version?: number }).version;
      const before = await versionOf();
      await appendRows(dir, target);
      const t0 = performance.now();
      let seenAfter = Number.NaN;
      while (performance.now() - t0 < 10_000) {
        if ((await versionOf()) === (before ?? 0) + 1) {
          seenAfter = performance.now() - t0;
          break;
        }
        await new Promise((r) => setTimeout(r, 25));
      }
      metrics.push(metric('commit by another writer visible after', seenAfter, 'ms', { cmp: '<=', target: FRESHNESS_GOAL_MS }));
      checks.push({ name: `a commit by another writer is visible within 10 s`, ok: Number.isFinite(seenAfter), details: { ms: seenAfter } });
      // ... and a write through the server on the very next read.
      const description = `edited at ${Date.now()}`;
      const patched = await fetch(`${server.url}/api/tables/${target}`, {
        method: 'PATCH',
        headers: { ...auth, 'Content-Type': 'application/json' },
        body: JSON.stringify({ description }),
      });
      await patched.arrayBuffer();
      const reread = (await getJson(`/api/tables?q=${encodeURIComponent(description)}`)) as { tables?: { name: string }[] };
      checks.push({
        name: 'a write through the server is visible to the next read (search finds the new description)',
        ok: patched.ok && JSON.stringify((reread.tables ?? []).map((t) => t.name)) === JSON.stringify([target]),
        details: { status: patched.status, found: reread.tables?.map((t) => t.name) },
      });
    } finally {
      await server.stop();
    }
    return {
      name: 'api-load',
      params: { connections: CONNECTIONS, durationSeconds: DURATION_S, tables: names.length, rowsPerTable: ROWS_PER_TABLE, search: SEARCH },
      metrics,
      checks,
      notes: [
        ...notes,
        `${names.length} tables (one commit of 3 files each, partitioned by day); server: child process, PGlite catalog; autocannon in the bench process (both share the ${cpus().length} cores)`,
        `server peak RSS ${fmt(peakRssMB)} MiB`,
      ],
      samples,
      table: { header: ['route', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx', 'errors', 'timeouts', 'vs health'], rows },
    };
  } finally {
    await cleanup();
  }
}

/** `pnpm bench api-load`: search and detail under 200 concurrent connections against /api/health. */
export const apiLoad: Benchmark = {
  name: 'api-load',
  description: `catalog API (search, detail) at ${CONNECTIONS} connections for ${DURATION_S} s each vs /api/health`,
  run,
};
