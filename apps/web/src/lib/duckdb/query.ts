import type { AsyncDuckDBConnection } from 'duckdb-wasm';
import type { DataType, Field, RecordBatch, Schema, Vector } from './arrow.js';
import { originalOffset, rewriteTableRefs, type SqlEdit, type TableRead } from '@lakehouse/core';
import { connect, duckDbReady, engineEpoch, engineLost, getDuckDb, networkCounters, probeDuckDb, restartDuckDb, trafficBetween, type NetworkCounters } from './engine.js';
import { arrowTypeName, formatCell } from './values.js';
import { measure } from './timing.js';
import { ensureViews, type TableView } from './views.js';

// Running user SQL in the browser: rewrite table references (time travel, pinned versions), make sure the views
// exist, run the statement cancellably on the session's connection, keep the result as Arrow, and measure it.

/** A column of a result. */
export interface ResultColumn {
  name: string;
  type: DataType;
  /** DuckDB's name of the type (`DECIMAL(10,2)`, `TIMESTAMP`...). */
  typeName: string;
}

/** A query result kept as Arrow record batches; cells are read (and formatted) only when asked for. */
export class ResultSet {
  /** The columns in result order. */
  readonly columns: ResultColumn[];
  /** Number of rows held (at most the run's `maxRows`). */
  readonly numRows: number;
  private readonly vectors: Vector[][];
  private readonly offsets: number[];

  constructor(schema: Schema, batches: readonly RecordBatch[]) {
    this.columns = schema.fields.map((f: Field) => ({ name: f.name, type: f.type as DataType, typeName: arrowTypeName(f.type as DataType) }));
    this.vectors = schema.fields.map((_f: Field, c: number) => batches.map((b) => b.getChildAt(c) as Vector));
    this.offsets = [];
    let n = 0;
    for (const b of batches) {
      this.offsets.push(n);
      n += b.numRows;
    }
    this.numRows = n;
  }

  private locate(row: number): [number, number] {
    let lo = 0;
    let hi = this.offsets.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.offsets[mid] <= row) lo = mid;
      else hi = mid - 1;
    }
    return [lo, row - this.offsets[lo]];
  }

  /** The raw Arrow value of a cell (null for SQL NULL); undefined outside the result. */
  get(row: number, col: number): unknown {
    if (row < 0 || row >= this.numRows || col < 0 || col >= this.columns.length) return undefined;
    const [b, i] = this.locate(row);
    const v = this.vectors[col][b];
    return v.isValid(i) ? v.get(i) : null;
  }

  /** A cell as display text (see `formatCell`). */
  text(row: number, col: number): string {
    return formatCell(this.get(row, col), this.columns[col].type);
  }
}

/** Figures of one run. */
export interface QueryStats {
  /** Wall time from submit to the last row, ms (engine start included when this run started it). */
  durationMs: number;
  /** Part of `durationMs` spent starting DuckDB-WASM. */
  engineStartMs: number;
  /** Rows returned (before truncation). */
  rows: number;
  /** True when more rows existed than `maxRows`. */
  truncated: boolean;
  /** Files of the referenced views that were read, and how many the views have. */
  filesRead: number;
  filesPlanned: number;
  /** Bytes DuckDB received for those files (cache hits included). */
  bytesRead: number;
  /** Bytes that crossed the network for them (0 when the browser cache answered). */
  networkBytes: number;
  /** HTTP requests made for those files. */
  requests: number;
  /** Total size of the files of the referenced views. */
  bytesPlanned: number;
}

/** What a successful run returns. */
export interface QueryOutcome {
  result: ResultSet;
  stats: QueryStats;
  /** The views the query read, with the versions they read. */
  views: TableView[];
  /** Versions of tables read without an explicit version (what a permalink pins). */
  tableVersions: Record<string, number>;
  /** The SQL DuckDB ran (after rewriting). */
  sqlRan: string;
}

/** A failed run; `position` is the offset of the error in the SQL as the user wrote it, when DuckDB names one. */
export class QueryError extends Error {
  override name = 'QueryError';
  constructor(
    message: string,
    /** Offset into the submitted SQL, or null. */
    readonly position: number | null,
    /** `cancelled`: the user stopped it; `sql`: DuckDB refused or failed; `plan`: a view could not be built (API error). */
    readonly kind: 'sql' | 'cancelled' | 'plan',
    override readonly cause?: unknown,
  ) {
    super(message);
  }
}

/**
 * The offset in `sql` of the position DuckDB marks in an error (`LINE n: <excerpt>` and a caret line below it), or
 * null when the message has none. Excerpts of long lines (trimmed with `...`) are located in the line.
 */
export function errorOffset(message: string, sql: string): number | null {
  const m = /(^|\n)(LINE (\d+): )(.*)\n( *)\^/.exec(message);
  if (!m) return null;
  const lineNo = Number(m[3]);
  const lines = sql.split('\n');
  if (lineNo < 1 || lineNo > lines.length) return null;
  let excerpt = m[4];
  let caret = m[5].length - m[2].length;
  if (excerpt.startsWith('...')) {
    excerpt = excerpt.slice(3);
    caret -= 3;
  }
  if (excerpt.endsWith('...')) excerpt = excerpt.slice(0, -3);
  const line = lines[lineNo - 1];
  const at = excerpt ? line.indexOf(excerpt) : 0;
  const col = Math.max(0, (at < 0 ? 0 : at) + Math.max(0, caret));
  let offset = 0;
  for (let i = 0; i < lineNo - 1; i++) offset += lines[i].length + 1;
  return Math.min(sql.length, offset + Math.min(col, line.length));
}

/** The message of a DuckDB error without its `LINE n:` excerpt (shown separately as a marker). */
export function errorSummary(message: string): string {
  const i = message.search(/\nLINE \d+: /);
  return (i < 0 ? message : message.slice(0, i)).trim();
}

/** Options of one run. */
export interface RunOptions {
  /** Known `layer.domain.table` names (flat names are recognised for these). */
  tables: readonly string[];
  /** Latest versions the caller knows of (a view older than these is re-planned). */
  knownVersions?: Readonly<Record<string, number>>;
  /** Versions to read unversioned references at (permalinks). */
  pinned?: Readonly<Record<string, number>>;
  /** Most rows kept (default 1,000,000: the grid's scroll height stays within browser limits); the rest are counted. */
  maxRows?: number;
  /** Called as the run moves on (from within the run: keep it cheap). */
  onPhase?: (phase: QueryPhase) => void;
}

/** What a run is doing: starting the engine, planning its reads (scan plans, footers, views), running, fetching rows. */
export type QueryPhase = 'starting' | 'planning' | 'running' | 'fetching';

const DEFAULT_MAX_ROWS = 1_000_000;
/** Counters of an engine that has not run anything yet. */
const NO_TRAFFIC: NetworkCounters = { requests: 0, bytes: 0, networkBytes: 0, files: {} };
/** How long a cancelled engine may take to answer before it is restarted. */
const CANCEL_PROBE_MS = 1000;

interface Prepared {
  sql: string;
  edits: SqlEdit[];
  reads: TableRead[];
}

/**
 * A SQL session: one DuckDB connection (so temporary tables and settings last between runs), one running statement
 * at a time, cancellable. Views over warehouse tables are shared by every session.
 */
export class SqlSession {
  private conn: Promise<AsyncDuckDBConnection> | null = null;
  /** The engine epoch `conn` belongs to. */
  private epoch = -1;
  private running = false;
  private cancelled = false;
  /** The cancellation in progress (a run ends only after it, so the next run never meets a dying engine). */
  private cancelling: Promise<void> | null = null;

  private connection(): Promise<AsyncDuckDBConnection> {
    if (this.epoch !== engineEpoch()) this.conn = null;
    if (!this.conn) {
      this.epoch = engineEpoch();
      this.conn = connect();
      this.conn.catch(() => {
        this.conn = null;
      });
    }
    return this.conn;
  }

  private prepare(sql: string, options: RunOptions): Prepared {
    try {
      const r = rewriteTableRefs(sql, { tables: options.tables, pinned: options.pinned });
      return { sql: r.sql, edits: r.edits, reads: r.reads };
    } catch (e) {
      const offset = (e as { details?: { offset?: unknown } }).details?.offset;
      throw new QueryError((e as Error).message, typeof offset === 'number' ? offset : null, 'sql', e);
    }
  }

  /**
   * Builds (in the background) the views of the latest versions of tables a query reads (its rewritten `reads`), so
   * that running it later skips planning, footers and view creation. Never throws: a failure shows when it runs.
   */
  prewarm(reads: readonly TableRead[], options: Pick<RunOptions, 'tables' | 'knownVersions'>): void {
    // Once the table list is known, only its tables (a half-typed name would only earn a 404).
    const known = new Set(options.tables);
    const latest = reads.filter((r) => r.at.kind === 'latest' && (known.size === 0 || known.has(r.table)));
    if (latest.length > 0) ensureViews(latest.slice(0, 8), { knownVersions: options.knownVersions }).catch(() => undefined);
  }

  /** Runs one statement (a script's statements are run one by one by the caller). Throws QueryError. */
  async run(sql: string, options: RunOptions): Promise<QueryOutcome> {
    if (this.running) throw new QueryError('a query is already running in this session', null, 'sql');
    this.running = true;
    this.cancelled = false;
    const t0 = performance.now();
    try {
      options.onPhase?.(duckDbReady() ? 'planning' : 'starting');
      const prepared = this.prepare(sql, options);
      // Scan plans (and the files' footers) are fetched while the engine starts; a starting engine has counted nothing.
      const before = duckDbReady() ? await networkCounters() : NO_TRAFFIC;
      const planned = ensureViews(prepared.reads, { knownVersions: options.knownVersions });
      planned.catch(() => undefined);
      await getDuckDb();
      const engineStartMs = performance.now() - t0;
      const conn = await this.connection();
      options.onPhase?.('planning');
      let views: TableView[];
      try {
        views = await planned;
      } catch (e) {
        throw new QueryError((e as Error).message, null, 'plan', e);
      }
      if (this.cancelled) {
        await this.cancelling;
        throw new QueryError('the query was cancelled', null, 'cancelled');
      }
      options.onPhase?.('running');
      const t1 = performance.now();
      const maxRows = options.maxRows ?? DEFAULT_MAX_ROWS;
      const batches: RecordBatch[] = [];
      let rows = 0;
      let schema: Schema;
      try {
        const lost = engineLost();
        const reader = await Promise.race([conn.send(prepared.sql), lost]);
        options.onPhase?.('fetching');
        // The reader reads the schema message when opened; batches carry it too.
        await Promise.race([reader.open(), lost]);
        schema = reader.schema as Schema;
        for (;;) {
          const next = await Promise.race([reader.next(), lost]);
          if (next.done || this.cancelled) break;
          const batch = next.value;
          schema ??= batch.schema;
          if (rows < maxRows) batches.push(rows + batch.numRows > maxRows ? batch.slice(0, maxRows - rows) : batch);
          rows += batch.numRows;
        }
      } catch (e) {
        if (this.cancelled) {
          await this.cancelling;
          throw new QueryError('the query was cancelled', null, 'cancelled', e);
        }
        const message = (e as Error).message ?? String(e);
        const at = errorOffset(message, prepared.sql);
        throw new QueryError(message, at === null ? null : originalOffset(prepared.edits, at), 'sql', e);
      }
      if (this.cancelled) throw new QueryError('the query was cancelled', null, 'cancelled');
      measure('execute', t1, { rows });
      const after = await networkCounters();
      const paths = views.flatMap((v) => v.filePaths);
      const traffic = trafficBetween(before, after, paths);
      // Unversioned references read the latest (or the pinned) version; explicit VERSION AS OF needs no pin.
      const tableVersions: Record<string, number> = {};
      for (const v of views) if (v.at.kind === 'latest') tableVersions[v.table] = v.version;
      for (const [t, version] of Object.entries(options.pinned ?? {})) if (views.some((v) => v.table === t)) tableVersions[t] ??= version;
      const stats: QueryStats = {
        durationMs: performance.now() - t0,
        engineStartMs,
        rows,
        truncated: rows > maxRows,
        filesRead: traffic.files,
        filesPlanned: new Set(paths).size,
        bytesRead: traffic.bytes,
        networkBytes: traffic.networkBytes,
        requests: traffic.requests,
        bytesPlanned: views.reduce((n, v) => n + v.bytes, 0),
      };
      // The run's figures, also for tools that time the console (the browser benchmark).
      measure('query', t0, { sql, ...stats });
      return {
        result: new ResultSet(schema, batches),
        stats,
        views,
        tableVersions,
        sqlRan: prepared.sql,
      };
    } finally {
      this.running = false;
    }
  }

  /** True while a statement runs. */
  get busy(): boolean {
    return this.running;
  }

  /** Stops the running statement (DuckDB interrupts it at its next step); the run rejects with a cancelled QueryError. */
  async cancel(): Promise<void> {
    if (!this.running || this.cancelling) return this.cancelling ?? undefined;
    this.cancelled = true;
    this.cancelling = (async () => {
      const conn = await this.conn?.catch(() => null);
      const wait = (ms: number) => new Promise<false>((resolve) => setTimeout(() => resolve(false), ms));
      const acknowledged = conn ? await Promise.race([conn.cancelSent().then(() => true, () => false), wait(CANCEL_PROBE_MS)]) : true;
      // DuckDB-WASM 0.9.2 drops a cancelled query's result, but its executor still runs the query's remaining tasks
      // before anything else: when the engine does not answer promptly, restart it (views are rebuilt on demand).
      if (!acknowledged || !(await probeDuckDb(CANCEL_PROBE_MS))) {
        this.conn = null;
        await restartDuckDb('the query was cancelled and DuckDB restarted');
      }
    })().finally(() => {
      this.cancelling = null;
    });
    return this.cancelling;
  }

  /**
   * Runs `sql` (one SELECT, rewritten like `run`, on the session's connection so its temporary tables are visible)
   * into a file in DuckDB's memory and returns its bytes: Parquet (zstd) or CSV with a header.
   */
  async export(sql: string, format: 'parquet' | 'csv', options: RunOptions): Promise<Uint8Array> {
    if (this.running) throw new QueryError('a query is running in this session: wait for it or cancel it', null, 'sql');
    this.running = true;
    try {
      const { db } = await getDuckDb();
      const prepared = this.prepare(sql, options);
      await ensureViews(prepared.reads, { knownVersions: options.knownVersions });
      const conn = await this.connection();
      const name = `export-${Date.now()}-${Math.random().toString(36).slice(2)}.${format}`;
      await db.registerEmptyFileBuffer(name);
      try {
        const body = prepared.sql.replace(/;\s*$/, '');
        await conn.query(`COPY (${body}) TO '${name}' (${format === 'parquet' ? 'FORMAT PARQUET, COMPRESSION ZSTD' : 'FORMAT CSV, HEADER'})`);
        return await db.copyFileToBuffer(name);
      } finally {
        await db.dropFile(name).catch(() => null);
      }
    } finally {
      this.running = false;
    }
  }

  /** Closes the session's connection (its temporary tables are dropped); never throws. */
  async close(): Promise<void> {
    const conn = this.conn;
    this.conn = null;
    await (await conn?.catch(() => null))?.close().catch(() => undefined);
  }
}

/** Runs one read-only SELECT on a fresh connection and returns its result (for the sample tab and the column profile). */
export async function queryOnce(sql: string, options: RunOptions): Promise<QueryOutcome> {
  const session = new SqlSession();
  try {
    return await session.run(sql, options);
  } finally {
    await session.close();
  }
}
