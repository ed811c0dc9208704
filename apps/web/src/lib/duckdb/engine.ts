import { AsyncDuckDB, VoidLogger, type AsyncDuckDBConnection } from 'duckdb-wasm';
import ehWasm from 'duckdb-wasm/dist/duckdb-eh.wasm?url';
import mvpWasm from 'duckdb-wasm/dist/duckdb-mvp.wasm?url';
import ehWorker from 'duckdb-wasm/dist/duckdb-browser-eh.worker.js?url';
import mvpWorker from 'duckdb-wasm/dist/duckdb-browser-mvp.worker.js?url';
import { measure } from './timing.js';
import { EH_TEST_MODULE_BYTES, WORKER_SOURCE, type WorkerParams } from './worker-source.js';

// The one DuckDB-WASM instance of the page: started on first use in a Web Worker (the async build), shared by the
// SQL editor, the sample tab and the column profile. The worker is wrapped so that every HTTP request DuckDB makes
// (synchronous XHR range reads of Parquet files) is counted: bytes received, and bytes that really crossed the
// network (resource timing's transferSize; 0 when the browser cache answered).
//
// The wrapper also spares DuckDB round trips to the server for table data files, which Delta never rewrites in place
// (a path is written once): DuckDB 0.9.2 sends a HEAD request for every file each time it binds or opens it, only
// to learn its size, which the scan plan already gives (`registerFileSizes`); and it re-reads every file's Parquet
// footer each time it opens the file (its metadata cache never hits for HTTP files, whose modification time it takes
// to be "now"), so small byte ranges of those files are kept in memory and served again.

/** Network counters of one file (keyed by URL path, without the signature's query string). */
export interface FileTraffic {
  /** HTTP requests sent (answers served from the worker's memory are not requests). */
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

/** The started engine: the opened database. */
export interface DuckDbEngine {
  db: AsyncDuckDB;
}


/** The running engine with the promise that rejects when it is terminated (pending worker calls never settle then). */
interface Running {
  engine: Promise<DuckDbEngine>;
  lost: Promise<never>;
  lose: (e: Error) => void;
}

let running: Running | null = null;
let channel: BroadcastChannel | null = null;
/** The worker of the engine running now, and file sizes told before it existed. */
let engineWorker: Worker | null = null;
let pendingSizes: [string, number][] = [];
let pendingRanges: FileRange[] = [];
/** Engine promises that have resolved (the engine is up, not just starting). */
const ready = new WeakSet<Promise<DuckDbEngine>>();
let snapshotSeq = 0;
let epoch = 0;
const restartListeners = new Set<() => void>();

/** DuckDB's wasm and worker script for this browser: the exception-handling build when supported, else the MVP build. */
function bundleUrls(): { mainModule: string; mainWorker: string } {
  const abs = (u: string) => new URL(u, location.href).href;
  let eh = false;
  try {
    eh = WebAssembly.validate(new Uint8Array(EH_TEST_MODULE_BYTES));
  } catch {
    eh = false;
  }
  return eh ? { mainModule: abs(ehWasm), mainWorker: abs(ehWorker) } : { mainModule: abs(mvpWasm), mainWorker: abs(mvpWorker) };
}

/** A started worker: its parameters and the blob URL of its source (revoked once DuckDB is instantiated). */
interface SpawnedWorker {
  worker: Worker;
  params: WorkerParams;
  blobUrl: string;
  /** Started by index.html's inline script (else by this module). */
  early?: boolean;
}

declare global {
  interface Window {
    /** The worker index.html's inline script started for this bundle (vite.config.ts), until the engine adopts it. */
    __lakehouseDuckDbWorker?: SpawnedWorker;
  }
}

/**
 * DuckDB's worker for `bundle`: the one index.html's inline script started while the page loaded (its wasm compile
 * under way), taken once; else a new one.
 */
function spawnWorker(bundle: { mainModule: string; mainWorker: string }): SpawnedWorker {
  const early = window.__lakehouseDuckDbWorker;
  delete window.__lakehouseDuckDbWorker;
  if (early && early.params.wasm === bundle.mainModule && early.params.script === bundle.mainWorker) return { ...early, early: true };
  early?.worker.terminate();
  const params: WorkerParams = { channel: `lakehouse-duckdb-net-${Math.random().toString(36).slice(2)}`, wasm: bundle.mainModule, script: bundle.mainWorker };
  const blobUrl = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'text/javascript' }));
  return { worker: new Worker(blobUrl, { name: JSON.stringify(params) }), params, blobUrl };
}

async function start(): Promise<DuckDbEngine> {
  const t0 = performance.now();
  const bundle = bundleUrls();
  const { worker, params, blobUrl, early } = spawnWorker(bundle);
  channel?.close();
  channel = new BroadcastChannel(params.channel);
  engineWorker = worker;
  if (pendingSizes.length > 0) worker.postMessage({ __lh: 'sizes', files: pendingSizes });
  if (pendingRanges.length > 0) worker.postMessage({ __lh: 'ranges', ranges: pendingRanges }, pendingRanges.map((r) => r.bytes));
  pendingSizes = [];
  pendingRanges = [];
  measure('duckdb-import', t0, { earlyWorker: early === true });
  const db = new AsyncDuckDB(new VoidLogger(), worker);
  const t1 = performance.now();
  await db.instantiate(bundle.mainModule);
  measure('duckdb-instantiate', t1);
  URL.revokeObjectURL(blobUrl);
  await db.open({ query: { castBigIntToDouble: false }, filesystem: { allowFullHTTPReads: true } });
  // DuckDB's object cache (`enable_object_cache`, off by default) stays off: 0.9.2 never reuses a cached footer of an
  // HTTP file (it takes the file's modification time to be "now"), yet with the cache on every query asks that time
  // of every file for every column it binds (Parquet statistics): 300+ worker calls per query of a 21-file view.
  measure('duckdb-start', t0);
  return { db };
}

function current(): Running {
  if (!running) {
    let lose: (e: Error) => void = () => undefined;
    const lost = new Promise<never>((_resolve, reject) => {
      lose = reject;
    });
    lost.catch(() => undefined);
    const r: Running = { engine: start(), lost, lose };
    r.engine.then(
      () => ready.add(r.engine),
      () => {
        if (running === r) running = null;
      },
    );
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

/** True when the engine has started and is up (false while it is starting, and before `getDuckDb()`). */
export function duckDbReady(): boolean {
  return running !== null && ready.has(running.engine);
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
  engineWorker = null;
  pendingRanges = [];
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

/**
 * Tells the engine the sizes of table data files (absolute URLs; the signature's query string may differ between
 * plans): DuckDB then opens them without asking the server, and small byte ranges it read from them are served again
 * from memory. Only for files that never change under their path (Delta data files). Told before the engine starts,
 * the sizes are handed over when it does.
 */
export function registerFileSizes(files: readonly (readonly [url: string, size: number])[]): void {
  const list = files.map(([url, size]): [string, number] => [url, size]);
  if (engineWorker) engineWorker.postMessage({ __lh: 'sizes', files: list });
  else pendingSizes.push(...list);
}

/** Bytes `[start, start + bytes.byteLength)` of a table data file (absolute URL), fetched ahead of DuckDB. */
export interface FileRange {
  url: string;
  start: number;
  bytes: ArrayBuffer;
  /** False when the bytes came inside another answer (a scan plan's footers): network bytes, not a request. */
  request?: boolean;
}

/**
 * Hands byte ranges of table data files (fetched ahead by the page, e.g. Parquet footers in parallel) to the engine:
 * DuckDB's reads within them are then answered from memory. Counted as network bytes of their files, and as requests
 * unless `request` is false.
 * The buffers are transferred (unusable afterwards). Only for files whose sizes were registered (`registerFileSizes`).
 */
export function registerFileRanges(ranges: readonly FileRange[]): void {
  const list = [...ranges];
  if (engineWorker) engineWorker.postMessage({ __lh: 'ranges', ranges: list }, list.map((r) => r.bytes));
  else pendingRanges.push(...list);
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

/**
 * Traffic between two snapshots, restricted to the given URL paths (all files when omitted); `files` counts the files
 * DuckDB received bytes of (a file only opened, its size known, is not read).
 */
export function trafficBetween(before: NetworkCounters, after: NetworkCounters, paths?: Iterable<string>): FileTraffic & { files: number } {
  const keys = paths ? [...new Set(paths)] : Object.keys(after.files);
  const out = { requests: 0, bytes: 0, networkBytes: 0, files: 0 };
  for (const k of keys) {
    const a = after.files[k];
    if (!a) continue;
    const b = before.files[k] ?? { requests: 0, bytes: 0, networkBytes: 0 };
    const bytes = a.bytes - b.bytes;
    if (bytes > 0) out.files++;
    out.requests += a.requests - b.requests;
    out.bytes += bytes;
    out.networkBytes += a.networkBytes - b.networkBytes;
  }
  return out;
}
