import type { AsyncDuckDB, AsyncDuckDBConnection } from 'duckdb-wasm';
import ehWasm from 'duckdb-wasm/dist/duckdb-eh.wasm?url';
import mvpWasm from 'duckdb-wasm/dist/duckdb-mvp.wasm?url';
import ehWorker from 'duckdb-wasm/dist/duckdb-browser-eh.worker.js?url';
import mvpWorker from 'duckdb-wasm/dist/duckdb-browser-mvp.worker.js?url';

// The one DuckDB-WASM instance of the page: started on first use in a Web Worker (the async build), shared by the
// SQL editor, the sample tab and the column profile. The worker is wrapped so that every HTTP request DuckDB makes
// (synchronous XHR range reads of Parquet files) is counted: bytes received, and bytes that really crossed the
// network (resource timing's transferSize; 0 when the browser cache answered).

/** Network counters of one file (keyed by URL path, without the signature's query string). */
export interface FileTraffic {
  requests: number;
  /** Bytes DuckDB received (response bodies, cache hits included). */
  bytes: number;
  /** Bytes transferred over the network (headers included; 0 for cache hits). */
  networkBytes: number;
}

/** Cumulative network counters of the DuckDB worker since it started. */
export interface NetworkCounters {
  requests: number;
  bytes: number;
  networkBytes: number;
  files: Record<string, FileTraffic>;
}

/** The started engine: the database and the DuckDB version it runs. */
export interface DuckDbEngine {
  db: AsyncDuckDB;
  version: string;
  /** Milliseconds the start took (download, compile, open). */
  startMs: number;
}

// Runs in the worker before DuckDB's own script: counts XHR traffic per file and answers snapshot requests on a
// BroadcastChannel (DuckDB owns the worker's message port).
const COUNTER_PRELUDE = `
(() => {
  const channel = new BroadcastChannel(CHANNEL);
  const totals = { requests: 0, bytes: 0, networkBytes: 0, files: {} };
  const keyOf = (url) => { try { return new URL(url, self.location.href).pathname; } catch { return String(url); } };
  const fileOf = (key) => totals.files[key] || (totals.files[key] = { requests: 0, bytes: 0, networkBytes: 0 });
  const XHR = self.XMLHttpRequest;
  const open = XHR.prototype.open;
  const send = XHR.prototype.send;
  XHR.prototype.open = function (method, url) { this.__lhUrl = String(url); return open.apply(this, arguments); };
  XHR.prototype.send = function () {
    const xhr = this;
    let counted = false;
    const count = () => {
      if (counted || xhr.readyState !== 4) return;
      counted = true;
      let n = 0;
      try {
        const r = xhr.response;
        if (r instanceof ArrayBuffer) n = r.byteLength; else if (typeof r === 'string') n = r.length; else if (r && r.size) n = r.size;
      } catch {}
      const f = fileOf(keyOf(xhr.__lhUrl));
      f.requests++; f.bytes += n; totals.requests++; totals.bytes += n;
    };
    xhr.addEventListener('loadend', count);
    try { return send.apply(this, arguments); } finally { count(); }
  };
  const takeTiming = (entries) => {
    for (const e of entries) {
      if (e.initiatorType !== 'xmlhttprequest' && e.initiatorType !== 'fetch') continue;
      const t = e.transferSize || 0;
      fileOf(keyOf(e.name)).networkBytes += t;
      totals.networkBytes += t;
    }
  };
  let observer = null;
  try {
    observer = new PerformanceObserver((list) => takeTiming(list.getEntries()));
    observer.observe({ type: 'resource', buffered: true });
  } catch {}
  channel.onmessage = (e) => {
    if (!e.data || e.data.type !== 'snapshot') return;
    if (observer) takeTiming(observer.takeRecords());
    try { performance.clearResourceTimings(); } catch {}
    channel.postMessage({ type: 'counters', id: e.data.id, totals });
  };
})();
`;

/** The running engine with the promise that rejects when it is terminated (pending worker calls never settle then). */
interface Running {
  engine: Promise<DuckDbEngine>;
  lost: Promise<never>;
  lose: (e: Error) => void;
}

let running: Running | null = null;
let channel: BroadcastChannel | null = null;
let snapshotSeq = 0;
let epoch = 0;
const restartListeners = new Set<() => void>();

async function start(): Promise<DuckDbEngine> {
  const t0 = performance.now();
  const duckdb = await import('duckdb-wasm');
  const abs = (u: string) => new URL(u, location.href).href;
  // The exception-handling build when the browser supports it, else the MVP build.
  const bundle = await duckdb.selectBundle({
    mvp: { mainModule: abs(mvpWasm), mainWorker: abs(mvpWorker) },
    eh: { mainModule: abs(ehWasm), mainWorker: abs(ehWorker) },
  });
  const name = `lakehouse-duckdb-net-${Math.random().toString(36).slice(2)}`;
  const source = `const CHANNEL = ${JSON.stringify(name)};\n${COUNTER_PRELUDE}\nimportScripts(${JSON.stringify(bundle.mainWorker)});\n`;
  const blobUrl = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
  const worker = new Worker(blobUrl);
  channel?.close();
  channel = new BroadcastChannel(name);
  const db = new duckdb.AsyncDuckDB(new duckdb.VoidLogger(), worker);
  await db.instantiate(bundle.mainModule);
  URL.revokeObjectURL(blobUrl);
  await db.open({ query: { castBigIntToDouble: false }, filesystem: { allowFullHTTPReads: true } });
  // Keep Parquet footers between queries: every query re-binds the views, which reads each file's metadata.
  const setup = await db.connect();
  try {
    await setup.query('SET enable_object_cache = true');
  } finally {
    await setup.close();
  }
  const version = await db.getVersion();
  return { db, version, startMs: performance.now() - t0 };
}

function current(): Running {
  if (!running) {
    let lose: (e: Error) => void = () => undefined;
    const lost = new Promise<never>((_resolve, reject) => {
      lose = reject;
    });
    lost.catch(() => undefined);
    const r: Running = { engine: start(), lost, lose };
    r.engine.catch(() => {
      if (running === r) running = null;
    });
    running = r;
  }
  return running;
}

/** The page's DuckDB-WASM engine, started on the first call (later calls share it; a failed start is retried next call). */
export function getDuckDb(): Promise<DuckDbEngine> {
  return current().engine;
}

/** True once `getDuckDb()` has been called (the engine is starting or running). */
export function duckDbRequested(): boolean {
  return running !== null;
}

/** A promise that rejects when the engine running now is terminated by `restartDuckDb` (race worker calls against it). */
export function engineLost(): Promise<never> {
  return current().lost;
}

/** A number that changes with every restart (connections of an older epoch are dead). */
export function engineEpoch(): number {
  return epoch;
}

/** Calls `listener` after every restart (views and caches tied to the old database must be forgotten). */
export function onDuckDbRestart(listener: () => void): () => void {
  restartListeners.add(listener);
  return () => restartListeners.delete(listener);
}

/**
 * Terminates the worker (whatever it is doing) and lets the next call start a fresh engine. Calls racing `engineLost()`
 * reject; every view and temporary table is gone, so restart listeners are told.
 */
export async function restartDuckDb(reason: string): Promise<void> {
  const r = running;
  if (!r) return;
  running = null;
  epoch++;
  r.lose(new Error(reason));
  const engine = await r.engine.catch(() => null);
  if (engine) {
    // Settle what the old worker still owes, and make later calls on it fail at once: DuckDB-WASM's own polling
    // loops would otherwise spin on a terminated worker.
    const internals = engine.db as unknown as {
      _pendingRequests?: Map<number, { promiseRejecter: (e: unknown) => void }>;
      postTask: () => Promise<never>;
    };
    const error = new Error(reason);
    internals.postTask = () => Promise.reject(error);
    for (const task of internals._pendingRequests?.values() ?? []) task.promiseRejecter(error);
    internals._pendingRequests?.clear();
    await engine.db.terminate().catch(() => undefined);
  }
  for (const l of restartListeners) l();
}

/** True when the engine answers `SELECT 1` within `timeoutMs` (false when it is stuck on earlier work). */
export async function probeDuckDb(timeoutMs: number): Promise<boolean> {
  const r = running;
  if (!r) return true;
  const probe = (async () => {
    const { db } = await r.engine;
    const conn = await db.connect();
    try {
      await conn.query('SELECT 1');
      return true;
    } finally {
      conn.close().catch(() => undefined);
    }
  })();
  const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs));
  return Promise.race([probe.catch(() => false), timeout]);
}

/** A new connection to the shared database (views and attached layers are shared; temporary objects are not). */
export async function connect(): Promise<AsyncDuckDBConnection> {
  const { db } = await getDuckDb();
  return db.connect();
}

/** The worker's cumulative network counters (answered once the worker is idle, so after any query that finished). */
export async function networkCounters(): Promise<NetworkCounters> {
  await getDuckDb();
  const ch = channel;
  if (!ch) return { requests: 0, bytes: 0, networkBytes: 0, files: {} };
  const id = ++snapshotSeq;
  return new Promise<NetworkCounters>((resolve) => {
    const listener = (e: MessageEvent<{ type: string; id: number; totals: NetworkCounters }>) => {
      if (e.data?.type !== 'counters' || e.data.id !== id) return;
      ch.removeEventListener('message', listener);
      clearTimeout(timer);
      resolve(e.data.totals);
    };
    // A worker busy with a long query answers late; never hang the caller on it.
    const timer = setTimeout(() => {
      ch.removeEventListener('message', listener);
      resolve({ requests: 0, bytes: 0, networkBytes: 0, files: {} });
    }, 30_000);
    ch.addEventListener('message', listener);
    ch.postMessage({ type: 'snapshot', id });
  });
}

/** Traffic between two snapshots, restricted to the given URL paths (all files when omitted). */
export function trafficBetween(before: NetworkCounters, after: NetworkCounters, paths?: Iterable<string>): FileTraffic & { files: number } {
  const keys = paths ? [...new Set(paths)] : Object.keys(after.files);
  const out = { requests: 0, bytes: 0, networkBytes: 0, files: 0 };
  for (const k of keys) {
    const a = after.files[k];
    if (!a) continue;
    const b = before.files[k] ?? { requests: 0, bytes: 0, networkBytes: 0 };
    const requests = a.requests - b.requests;
    if (requests <= 0) continue;
    out.files++;
    out.requests += requests;
    out.bytes += a.bytes - b.bytes;
    out.networkBytes += a.networkBytes - b.networkBytes;
  }
  return out;
}
