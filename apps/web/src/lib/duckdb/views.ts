import { ScanResponseSchema, footerBlockStart, footerBlocksBefore, type ScanResponse } from '@lakehouse/contracts';
import {
  compileScanSql,
  flatTableName,
  mapLimit,
  parquetTopLevelColumns,
  parseTableName,
  quoteIdent,
  readPointKey,
  readViewName,
  type DataType,
  type ParquetColumn,
  type ReadPoint,
  type ScanFile,
  type ScanPlan,
  type SchemaReconciliation,
  type TableRead,
} from '@lakehouse/core';
import { api } from '../api.js';
import { connect, onDuckDbRestart, registerFileRanges, registerFileSizes } from './engine.js';
import { measure } from './timing.js';

// DuckDB views over warehouse tables, built from the BFF's scan plans: `layer.domain.table` for the latest version
// (and the flat `layer_domain_table` once a query names it so), `"layer"."domain"."table@vN"` / `...@t<timestamp>` for
// time travel.
// Signed file URLs expire, so a view is re-planned before its URLs do; a latest view is re-planned when the table
// moves to a new version (after a write, or when another user's write is noticed).

/** A view ready to query: the version it reads and its files. */
export interface TableView {
  table: string;
  at: ReadPoint;
  /** The table version the view reads. */
  version: number;
  /** URL paths of the view's files (what the network counters are keyed by). */
  filePaths: string[];
  /** Bytes of the files the view reads. */
  bytes: number;
  /** Epoch ms when the view's signed URLs expire. */
  expiresAt: number;
}

interface Entry {
  view: Promise<TableView>;
  /** Epoch ms the plan was fetched. */
  fetchedAt: number;
}

/** Re-plan when the signed URLs expire within this many ms (a long query must not outlive its URLs). */
const EXPIRY_MARGIN_MS = 120_000;
/** A latest view older than this re-checks the table's version before use. */
const LATEST_RECHECK_MS = 10_000;

/** Footer fetches in flight at once. */
const FOOTER_FETCHES = 6;

const views = new Map<string, Entry>();
/** URLs (without signature) of the files whose footers the engine running now was handed. */
const footers = new Set<string>();
/** Top-level columns and their Parquet types of files (keyed like `footers`), read from their prefetched footers. */
const fileColumns = new Map<string, ParquetColumn[]>();
const attached = new Set<string>();
const schemas = new Set<string>();
/**
 * Tables whose flat view `main.layer_domain_table` exists. It is made when a query first names the table so (binding
 * a view opens every file of the table: one more bind on every cold start otherwise), and remade with the latest view.
 */
const flatViews = new Set<string>();
let ddl: Promise<unknown> = Promise.resolve();

// A restarted engine has none of the old views.
onDuckDbRestart(() => {
  views.clear();
  footers.clear();
  fileColumns.clear();
  attached.clear();
  schemas.clear();
  flatViews.clear();
  ddl = Promise.resolve();
});

/** The key of a file in `footers` and `fileColumns`: its URL without the signature. */
function fileId(url: URL): string {
  return url.origin + url.pathname;
}

/**
 * Runs `work` on a connection of its own once the DDL queued before it is done: DDL is serialized (two tables of one
 * layer must not both ATTACH it). A failure rejects this call only, not the queue.
 */
function serializedDdl<T>(work: (conn: Awaited<ReturnType<typeof connect>>) => Promise<T>): Promise<T> {
  const run = ddl.then(async () => {
    const conn = await connect();
    try {
      return await work(conn);
    } finally {
      await conn.close();
    }
  });
  ddl = run.catch(() => undefined);
  return run;
}

function keyOf(table: string, at: ReadPoint): string {
  return `${table}\n${readPointKey(at)}`;
}

/**
 * GET /api/tables/{name}/scan at a read point (the latest, a version or a timestamp); with `footers`, the plan brings
 * the files' footer blocks (for building a view: no request per file).
 */
export async function fetchScan(table: string, at: ReadPoint, signal?: AbortSignal, options: { footers?: boolean } = {}): Promise<ScanResponse> {
  const point = at.kind === 'version' ? { version: at.version } : at.kind === 'timestamp' ? { timestamp: at.timestamp } : {};
  const query = options.footers ? { ...point, footers: true } : point;
  const t0 = performance.now();
  const scan = await api(`/api/tables/${encodeURIComponent(table)}/scan`, ScanResponseSchema, { query, signal });
  measure('plan', t0, { table, files: scan.files.length });
  return scan;
}

/** The core's scan plan of a scan response; each file's `key` is its absolute signed URL. */
export function planOf(scan: ScanResponse, origin: string = location.origin): ScanPlan {
  return {
    version: scan.version,
    columns: scan.columns.map((c) => ({
      name: c.name,
      physicalName: c.physicalName,
      type: c.type as DataType,
      nullable: c.nullable,
      isPartition: c.isPartition,
      field: { name: c.name, type: c.type as DataType, nullable: c.nullable, metadata: {} },
    })),
    partitionColumns: scan.partitionColumns,
    columnMappingMode: scan.columnMappingMode,
    files: scan.files.map(
      (f): ScanFile => ({
        key: new URL(f.url, origin).href,
        path: f.path,
        size: f.size,
        partitionValues: f.partitionValues,
        numRecords: f.rows,
        deletionVector: null,
        deletedRows: f.deletedRows ?? undefined,
      }),
    ),
    totalFiles: scan.totalFiles,
    predicate: scan.predicate,
  };
}

/** The DuckDB statements attaching the layer and creating the domain schema, when not done yet. */
function containerStatements(layer: string, domain: string): string[] {
  const out: string[] = [];
  if (!attached.has(layer)) out.push(`ATTACH ':memory:' AS ${quoteIdent(layer)}`);
  if (!schemas.has(`${layer}.${domain}`)) out.push(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(layer)}.${quoteIdent(domain)}`);
  return out;
}

/** The quoted name of a table's view at a read point: `"layer"."domain"."view"`. */
function viewIdent(table: string, at: ReadPoint): string {
  const { layer, domain, name } = parseTableName(table);
  return `${quoteIdent(layer)}.${quoteIdent(domain)}.${quoteIdent(readViewName(name, at))}`;
}

/** The statement creating the flat view of a table's latest view. */
function flatViewStatement(table: string): string {
  return `CREATE OR REPLACE VIEW main.${quoteIdent(flatTableName(parseTableName(table).name))} AS SELECT * FROM ${viewIdent(table, { kind: 'latest' })}`;
}

/**
 * The DuckDB statements creating the view of a scan at a read point, files' schemas reconciled as `schema` says, and
 * for the latest version its flat view when there is one (its columns follow the table's).
 */
function viewStatements(scan: ScanResponse, at: ReadPoint, schema: SchemaReconciliation): string[] {
  const columnsOf = (f: ScanFile): ParquetColumn[] | undefined => fileColumns.get(fileId(new URL(f.key)));
  const select = compileScanSql(planOf(scan), { fileUrl: (f) => f.key, schema, fileColumns: columnsOf });
  const out = [`CREATE OR REPLACE VIEW ${viewIdent(scan.table, at)} AS ${select}`];
  if (at.kind === 'latest' && flatViews.has(scan.table)) out.push(flatViewStatement(scan.table));
  return out;
}

/** Bytes of base64 text (natively where the browser can: the copy loop below costs 10-25 ms of a cold start's plan). */
function fromBase64(text: string): ArrayBuffer {
  const typed = Uint8Array as { fromBase64?: (base64: string) => Uint8Array<ArrayBuffer> };
  if (typeof typed.fromBase64 === 'function') return typed.fromBase64(text).buffer;
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out.buffer;
}

/** Bytes `from..to` (inclusive) of a file, or null unless the server answers exactly that range. */
async function fetchRange(url: URL, from: number, to: number): Promise<ArrayBuffer | null> {
  const res = await fetch(url, { headers: { Range: `bytes=${from}-${to}` } });
  if (res.status !== 206) {
    await res.body?.cancel();
    return null;
  }
  const bytes = await res.arrayBuffer();
  return bytes.byteLength === to - from + 1 ? bytes : null;
}

/**
 * Hands the engine (even before it runs) the footers of the files, the block DuckDB reads first: those the plan
 * brought, the others fetched a few at a time, instead of DuckDB fetching them one after the other, synchronously,
 * when it binds the view. A failed fetch is left to DuckDB.
 */
async function prefetchFooters(files: ScanResponse['files']): Promise<void> {
  const todo = files
    .map((f) => ({ url: new URL(f.url, location.origin), size: f.size, footer: f.footer }))
    .filter((f) => f.size > 0 && !footers.has(fileId(f.url)));
  await mapLimit(todo, FOOTER_FETCHES, async ({ url, size, footer }) => {
    const start = footer?.start ?? footerBlockStart(size);
    try {
      const tail = footer ? fromBase64(footer.base64) : await fetchRange(url, start, size - 1);
      if (!tail || start + tail.byteLength !== size) return;
      footers.add(fileId(url));
      let range = { start, bytes: tail };
      let columns = parquetTopLevelColumns(tail);
      if (!columns) {
        const whole = await wholeFooter(url, start, tail);
        if (whole) {
          range = whole;
          columns = parquetTopLevelColumns(whole.bytes);
        }
      }
      if (columns) fileColumns.set(fileId(url), columns);
      // The whole footer (DuckDB reads it as one range after the tail): served from the worker's memory.
      registerFileRanges([{ url: url.href, ...range, request: footer === undefined || range.start !== start }]);
    } catch {
      // DuckDB reads it itself.
    }
  });
}

/**
 * The footer of a file whose footer starts before the fetched tail (`tail` holds bytes `start..size-1`), to the end
 * of the file from the block where it starts: the tail with the missing blocks fetched in front. Null when the file
 * is not Parquet or the fetch fails (DuckDB then reads it itself, and the view reads the files with union_by_name).
 */
async function wholeFooter(url: URL, start: number, tail: ArrayBuffer): Promise<{ start: number; bytes: ArrayBuffer } | null> {
  // From the block holding the footer's first byte, as DuckDB reads it.
  const from = footerBlocksBefore(new Uint8Array(tail), start, start + tail.byteLength);
  if (from === null) return null;
  const head = await fetchRange(url, from, start - 1).catch(() => null);
  if (!head) return null;
  const whole = new Uint8Array(head.byteLength + tail.byteLength);
  whole.set(new Uint8Array(head), 0);
  whole.set(new Uint8Array(tail), head.byteLength);
  return { start: from, bytes: whole.buffer };
}

async function createViews(scan: ScanResponse, at: ReadPoint): Promise<void> {
  const { layer, domain } = parseTableName(scan.table);
  // DuckDB asks the size of every file it opens (a HEAD request each time): the plan knows them already.
  registerFileSizes(scan.files.map((f) => [new URL(f.url, location.origin).href, f.size]));
  const tFooters = performance.now();
  await prefetchFooters(scan.files);
  measure('footers', tFooters, { table: scan.table, files: scan.files.length });
  await serializedDdl(async (conn) => {
    const t0 = performance.now();
    // One read_parquet over all files, reading only the columns a query needs; when DuckDB refuses it (a column of
    // the schema that no file has yet, added by a metadata-only commit), the shape that also yields such columns.
    let shape: SchemaReconciliation = 'union';
    try {
      // Usually one statement list, one round trip to the worker: the layer's database and the domain's schema
      // (unless this engine has them) and the view(s).
      await conn.query([...containerStatements(layer, domain), ...viewStatements(scan, at, shape)].join(';\n'));
    } catch {
      // The layer attached by a statement of the user's, or the view refused: step by step.
      const known = await conn.query(`SELECT database_name FROM duckdb_databases() WHERE database_name = '${layer}'`);
      if (known.numRows > 0) attached.add(layer);
      for (const sql of containerStatements(layer, domain)) await conn.query(sql);
      try {
        for (const sql of viewStatements(scan, at, shape)) await conn.query(sql);
      } catch {
        shape = 'safe';
        for (const sql of viewStatements(scan, at, shape)) await conn.query(sql);
      }
    }
    attached.add(layer);
    schemas.add(`${layer}.${domain}`);
    measure('views', t0, { table: scan.table, files: scan.files.length, shape });
  });
}

function viewOf(scan: ScanResponse, table: string, at: ReadPoint): TableView {
  return {
    table,
    at,
    version: scan.version,
    filePaths: scan.files.map((f) => new URL(f.url, location.origin).pathname),
    bytes: scan.files.reduce((n, f) => n + f.size, 0),
    expiresAt: Date.parse(scan.expiresAt),
  };
}

function track(key: string, make: () => Promise<TableView>): Promise<TableView> {
  const entry: Entry = { view: make(), fetchedAt: Date.now() };
  views.set(key, entry);
  entry.view.catch(() => {
    if (views.get(key) === entry) views.delete(key);
  });
  return entry.view;
}

/** Creates the flat view of a table whose latest view exists (DDL serialized with the views'). */
function addFlatView(table: string): Promise<void> {
  return serializedDdl(async (conn) => {
    if (flatViews.has(table)) return;
    await conn.query(flatViewStatement(table));
    flatViews.add(table);
  });
}

/**
 * The view of a table at a read point, created or refreshed as needed: built on first use, re-planned before its
 * signed URLs expire, and for the latest version re-checked every few seconds (and when `knownVersion` is newer than
 * the view's), rebuilt when the table moved; with `flat`, the latest version's flat view `layer_domain_table` too.
 * Concurrent callers share one build. API errors (TABLE_NOT_FOUND, FORBIDDEN, VERSION_NOT_FOUND) propagate with the
 * API's message.
 */
export async function ensureView(table: string, at: ReadPoint, options: { knownVersion?: number; flat?: boolean } = {}): Promise<TableView> {
  const view = await viewAt(table, at, options.knownVersion);
  if (options.flat && at.kind === 'latest' && !flatViews.has(table)) await addFlatView(table);
  return view;
}

async function viewAt(table: string, at: ReadPoint, knownVersion: number | undefined): Promise<TableView> {
  const key = keyOf(table, at);
  const entry = views.get(key);
  if (entry) {
    const current = await entry.view.catch(() => null);
    if (views.get(key) !== entry) return viewAt(table, at, knownVersion);
    if (current) {
      const now = Date.now();
      const fresh = current.expiresAt - EXPIRY_MARGIN_MS > now;
      const recheck = at.kind === 'latest' && (now - entry.fetchedAt > LATEST_RECHECK_MS || (knownVersion ?? -1) > current.version);
      if (fresh && !recheck) return current;
      if (fresh) {
        // The BFF answers a scan plan from its snapshot cache: cheap enough to learn whether the table moved.
        const scan = await fetchScan(table, at);
        if (scan.version === current.version) {
          entry.fetchedAt = Date.now();
          return current;
        }
        return track(key, async () => {
          await createViews(scan, at);
          return viewOf(scan, table, at);
        });
      }
    }
  }
  return track(key, async () => {
    const scan = await fetchScan(table, at, undefined, { footers: true });
    await createViews(scan, at);
    return viewOf(scan, table, at);
  });
}

/** The views of every read of a query (see `ensureView`), built in parallel. */
export function ensureViews(reads: readonly TableRead[], options: { knownVersions?: Readonly<Record<string, number>> } = {}): Promise<TableView[]> {
  return Promise.all(reads.map((r) => ensureView(r.table, r.at, { knownVersion: options.knownVersions?.[r.table], flat: r.flat })));
}

/** Forgets the latest view of a table so the next query re-plans it (call after a write committed). */
export function invalidateTableView(table: string): void {
  views.delete(keyOf(table, { kind: 'latest' }));
}
