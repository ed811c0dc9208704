import { randomUUID } from 'node:crypto';
import { open, rm, stat } from 'node:fs/promises';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { IngestResult } from '@lakehouse/contracts';
import {
  LakehouseError,
  Transaction,
  addsMetrics,
  append,
  createTable,
  deltaTypeFromDuckDb,
  isLakehouseError,
  overwrite,
  parseTableName,
  protocolFor,
  quoteIdent,
  quoteString,
  schemaToString,
  validateProperties,
  type Clock,
  type MetadataAction,
  type Snapshot,
  type StructField,
  type StructType,
  type TableRef,
} from '@lakehouse/core';
import type { DuckDbEngine } from '@lakehouse/core/node';
import type { EnginePool } from '../warehouse/engines.js';
import type { Warehouse } from '../warehouse/warehouse.js';

/** File formats ingest reads. */
export type IngestFormat = 'csv' | 'json' | 'ndjson' | 'parquet';

/** What an ingest runs with. */
export interface IngestContext {
  warehouse: Warehouse;
  engines: EnginePool;
  clock: Clock;
  /** The uploader, written to `_source` and commitInfo.userName; null → `_source` is 'upload'. */
  userName: string | null;
  /** Called with a fraction in 0..1 and what is happening. */
  onProgress?: (fraction: number, message: string) => void;
  /** Aborting interrupts the running DuckDB statement; nothing is committed (CANCELLED). */
  signal?: AbortSignal;
}

/** One file to load into a bronze table. */
export interface IngestRequest {
  /** `bronze.<domain>.<table>`. */
  table: string;
  /** The file on disk; deleted when the ingest ends, whatever happens, unless `keepFile`. */
  path: string;
  /** Leave the file in place (a user's own file given on the command line). */
  keepFile?: boolean;
  /** The client's file name (format detection, `_source_file`, messages). */
  fileName: string;
  /** Overrides detection from the file name's extension. */
  format?: IngestFormat;
  /** append (default) or overwrite an existing table. */
  mode?: 'append' | 'overwrite';
  /** Add new columns / widen types instead of refusing them. */
  mergeSchema?: boolean;
  /**
   * Client key making a retried upload a no-op: creates and appends commit a Delta `txn` (appId `ingest:<key>`,
   * version 1) and are skipped when the table already has it. An overwrite only checks the key (overwrite has no txn
   * option); retrying it rewrites the same rows.
   */
  idempotencyKey?: string;
}

/** The columns ingest adds to every row. */
export const INGEST_COLUMNS = {
  ingestedAt: '_ingested_at',
  source: '_source',
  sourceFile: '_source_file',
  ingestDate: '_ingest_date',
} as const;

/** An existing table's date partition column ingest fills when the table has it (the demo's bronze tables use it). */
const LEGACY_INGEST_DATE = 'ingest_date';
/** Characters a Delta column name may not have without column mapping; ingest replaces them with `_`. */
const INVALID_NAME_CHARS = /[ ,;{}()\n\t=]/g;
const FORMATS: readonly IngestFormat[] = ['csv', 'json', 'ndjson', 'parquet'];
const EXTENSIONS: Record<string, { format: IngestFormat; delimiter?: string }> = {
  csv: { format: 'csv' },
  tsv: { format: 'csv', delimiter: '\t' },
  json: { format: 'json' },
  ndjson: { format: 'ndjson' },
  jsonl: { format: 'ndjson' },
  parquet: { format: 'parquet' },
  pq: { format: 'parquet' },
};
const COMPRESSIONS: Record<string, string> = { gz: 'gzip', gzip: 'gzip', zst: 'zstd' };
/** The lines of DuckDB's CSV errors that say what is wrong. */
const CSV_PROBLEM = /Expected Number of Columns|unterminated quote|Error when converting|Invalid unicode|Maximum line size/i;
const KEY_RE = /^[\x21-\x7e]{1,200}$/;
/**
 * Rows the CSV sniffer reads to guess the column types: a bounded sample instead of the whole file (which would be an
 * extra full pass). A later value that does not fit a guessed type fails the strict read with a conversion error (a
 * guessed type that does not fit the table's, with SCHEMA_MISMATCH); the ingest then sniffs every row and writes again.
 */
const CSV_SNIFF_SAMPLE_ROWS = 50_000;
/** DuckDB's error when a CSV value does not fit the column's (sniffed) type. */
const CSV_CONVERSION_ERROR = /CSV Error on Line[\s\S]*(Error when converting column|Could not convert|Could not parse)/;

/** How to read one file. */
export interface FileLayout {
  format: IngestFormat;
  /** CSV delimiter (`,` unless the file is a .tsv). */
  delimiter: string;
  /** DuckDB compression name when the file name ends in .gz/.zst, else null. */
  compression: string | null;
}

/** The format of a file from the explicit option or the file name's extension (`.csv.gz` → gzip CSV); INVALID_INPUT when unknown. */
export function detectFormat(fileName: string, format?: string): FileLayout {
  const parts = fileName.toLowerCase().split('.').slice(1);
  let compression: string | null = null;
  if (parts.length > 0 && COMPRESSIONS[parts[parts.length - 1]]) compression = COMPRESSIONS[parts.pop() as string];
  const byExt = parts.length > 0 ? EXTENSIONS[parts[parts.length - 1]] : undefined;
  let f: IngestFormat | undefined = byExt?.format;
  if (format !== undefined && format !== '') {
    if (!(FORMATS as readonly string[]).includes(format)) {
      throw new LakehouseError('INVALID_INPUT', `unknown format "${format}": use ${FORMATS.join(', ')}`, { format });
    }
    f = format as IngestFormat;
  }
  if (!f) {
    throw new LakehouseError('INVALID_INPUT', `cannot tell the format of "${fileName}" from its extension: name it .csv, .json, .ndjson or .parquet, or send format`, {
      file: fileName,
    });
  }
  if (f === 'parquet' && compression) {
    throw new LakehouseError('INVALID_INPUT', `"${fileName}": Parquet files are compressed inside; do not gzip them`, { file: fileName });
  }
  return { format: f, delimiter: f === 'csv' && byExt?.delimiter ? byExt.delimiter : ',', compression };
}

/**
 * The DuckDB table function reading a file: CSV with a fixed dialect (given delimiter, `"` quote and escape, no
 * comments, no skipped rows, header) and strict parsing, so a malformed row is an error naming its line instead of
 * a guessed layout or silent nulls; types inferred from the whole file. JSON arrays or NDJSON with read_json_auto.
 */
export function fileReadSql(path: string, layout: FileLayout): string {
  const q = quoteString(path);
  const comp = layout.compression ? `, compression=${quoteString(layout.compression)}` : '';
  switch (layout.format) {
    case 'csv':
      return `read_csv(${q}, header=true, auto_detect=true, ${csvDialect(layout)}, sample_size=-1${comp})`;
    case 'json':
      return `read_json_auto(${q}, format='auto', sample_size=-1${comp})`;
    case 'ndjson':
      return `read_json_auto(${q}, format='newline_delimited', sample_size=-1${comp})`;
    case 'parquet':
      return `read_parquet(${q})`;
  }
}

/** The fixed CSV dialect options: strict, nothing guessed but the types. */
function csvDialect(layout: FileLayout): string {
  return `delim=${quoteString(layout.delimiter)}, quote='"', escape='"', comment='', skip=0, strict_mode=true, null_padding=false, ignore_errors=false`;
}

/**
 * Sniffs a CSV once (types from the first `sampleRows` rows, or every row with -1) and returns a read_csv with the
 * detected columns and date formats pinned, so that the later statements (describe, schema checks, the write) parse
 * the file without sniffing it again; the pinned read is strict, so a value that does not fit a guessed type is an
 * error, never a wrong value.
 */
async function pinnedCsvRead(conn: DuckDBConnection, req: IngestRequest, layout: FileLayout, sampleRows: number): Promise<string> {
  const q = quoteString(req.path);
  const comp = layout.compression ? `, compression=${quoteString(layout.compression)}` : '';
  let sniffed: Record<string, unknown>;
  try {
    const r = await conn.runAndReadAll(
      `SELECT Columns AS columns, DateFormat AS df, TimestampFormat AS tf FROM sniff_csv(${q}, header=true, ${csvDialect(layout)}, sample_size=${sampleRows}${comp})`,
    );
    sniffed = (r.getRowObjectsJson() as Record<string, unknown>[])[0] ?? {};
  } catch (e) {
    throw await csvDiagnosis(conn, req, layout, e);
  }
  const cols = (sniffed.columns ?? []) as { name: string; type: string }[];
  if (cols.length === 0) throw new LakehouseError('INVALID_INPUT', `"${req.fileName}" has no columns`, { file: req.fileName });
  const columns = `{${cols.map((c) => `${quoteString(String(c.name))}: ${quoteString(String(c.type))}`).join(', ')}}`;
  const formats = [
    typeof sniffed.df === 'string' && sniffed.df ? `, dateformat=${quoteString(sniffed.df)}` : '',
    typeof sniffed.tf === 'string' && sniffed.tf ? `, timestampformat=${quoteString(sniffed.tf)}` : '',
  ].join('');
  return `read_csv(${q}, header=true, auto_detect=false, ${csvDialect(layout)}, columns=${columns}${formats}${comp})`;
}

/** The ingest options of upload form fields (`format`, `mode`, `mergeSchema`, `idempotencyKey`); INVALID_INPUT naming a bad one. */
export function ingestOptionsFromFields(fields: Record<string, string>): Pick<IngestRequest, 'format' | 'mode' | 'mergeSchema' | 'idempotencyKey'> {
  const out: Pick<IngestRequest, 'format' | 'mode' | 'mergeSchema' | 'idempotencyKey'> = {};
  const format = fields.format?.trim();
  if (format) {
    if (!(FORMATS as readonly string[]).includes(format)) throw new LakehouseError('INVALID_INPUT', `unknown format "${format}": use ${FORMATS.join(', ')}`, { field: 'format' });
    out.format = format as IngestFormat;
  }
  const mode = fields.mode?.trim();
  if (mode) {
    if (mode !== 'append' && mode !== 'overwrite') throw new LakehouseError('INVALID_INPUT', `mode must be append or overwrite, got "${mode}"`, { field: 'mode' });
    out.mode = mode;
  }
  const merge = fields.mergeSchema?.trim().toLowerCase();
  if (merge) {
    if (merge !== 'true' && merge !== 'false') throw new LakehouseError('INVALID_INPUT', `mergeSchema must be true or false, got "${fields.mergeSchema}"`, { field: 'mergeSchema' });
    out.mergeSchema = merge === 'true';
  }
  const key = fields.idempotencyKey?.trim();
  if (key) out.idempotencyKey = key;
  return out;
}

function cancelled(): LakehouseError {
  return new LakehouseError('CANCELLED', 'the ingest was cancelled; nothing was committed');
}

/** Timestamp and date literals of the clock's now (UTC wall clock, as the engines run with TimeZone UTC), and the date as text. */
function nowLiterals(clock: Clock): { timestamp: string; date: string; day: string } {
  const iso = new Date(clock.now()).toISOString();
  return { timestamp: `TIMESTAMP '${iso.slice(0, 10)} ${iso.slice(11, 23)}'`, date: `DATE '${iso.slice(0, 10)}'`, day: iso.slice(0, 10) };
}

interface FileColumn {
  /** Column name in the table (the file's, with characters Delta refuses replaced by `_`). */
  name: string;
  /** Select-list item: the column (renamed when needed), cast to VARCHAR for a type Delta lacks (TIME, INTERVAL...). */
  expr: string;
}

/**
 * Loads one file into a bronze table with DuckDB: adds `_ingested_at` (the clock's now), `_source` (the user, or
 * 'upload') and `_source_file` to every row; creates the table from the inferred schema, partitioned by
 * `_ingest_date`, when it does not exist, else appends (or overwrites) with schema enforcement (`mergeSchema` adds
 * columns). Column names get `_` for characters Delta refuses without column mapping (space, `,;{}()=`, tab,
 * newline); values of types Delta lacks (TIME, INTERVAL) are kept as text. One commit; on any error (INVALID_INPUT
 * for a bad name, a non-bronze table, an unknown format or a malformed file naming its line; SCHEMA_MISMATCH naming
 * the column; CANCELLED) nothing is committed and the table stays at its version. With `idempotencyKey`, a key already committed to the table makes the call a no-op (the
 * result then reports the current version and zero rows). The file at `path` is deleted in every case.
 */
export async function ingestFile(ctx: IngestContext, req: IngestRequest): Promise<IngestResult> {
  try {
    const { name, layer } = parseTableName(req.table);
    if (layer !== 'bronze') {
      throw new LakehouseError('INVALID_INPUT', `cannot ingest into ${name}: ingest writes bronze tables; use SQL to build silver and gold`, { table: name });
    }
    const layout = detectFormat(req.fileName, req.format);
    const mode = req.mode ?? 'append';
    if (mode !== 'append' && mode !== 'overwrite') throw new LakehouseError('INVALID_INPUT', `mode must be append or overwrite, got "${String(mode)}"`);
    if (req.idempotencyKey !== undefined && !KEY_RE.test(req.idempotencyKey)) {
      throw new LakehouseError('INVALID_INPUT', 'idempotencyKey must be 1 to 200 printable ASCII characters without spaces');
    }
    const info = await stat(req.path).catch((e: unknown) => {
      throw new LakehouseError('FILE_NOT_FOUND', `uploaded file ${req.fileName} is not on disk`, { file: req.fileName }, { cause: e });
    });
    if (info.size === 0) throw new LakehouseError('INVALID_INPUT', `"${req.fileName}" is empty`, { file: req.fileName });
    if (ctx.signal?.aborted) throw cancelled();
    return await ctx.engines.with((engine) => runIngest(ctx, req, { name, layout, mode }, engine));
  } finally {
    if (!req.keepFile) await removeUpload(req.path);
  }
}

/**
 * Deletes an upload without waiting for its blocks to be freed: the name goes at once (unlinked while a handle is
 * open), the file system frees the space when the handle closes, in the background (for a GiB, most of a second).
 */
async function removeUpload(path: string): Promise<void> {
  const handle = await open(path, 'r').catch(() => null);
  await rm(path, { force: true }).catch(() => undefined);
  void handle?.close().catch(() => undefined);
}

async function runIngest(
  ctx: IngestContext,
  req: IngestRequest,
  plan: { name: string; layout: FileLayout; mode: 'append' | 'overwrite' },
  engine: DuckDbEngine,
): Promise<IngestResult> {
  const { warehouse, clock, signal } = ctx;
  const { name, layout } = plan;
  const progress = (f: number, m: string): void => {
    try {
      ctx.onProgress?.(f, m);
    } catch {
      // A failing progress listener does not fail the ingest.
    }
  };
  const onAbort = () => engine.connection.interrupt();
  signal?.addEventListener('abort', onAbort);
  const txn = req.idempotencyKey ? { appId: `ingest:${req.idempotencyKey}`, version: 1 } : undefined;
  const ref = warehouse.ref(name);
  try {
    if (signal?.aborted) throw cancelled();
    let snapshot = (await warehouse.exists(name)) ? await warehouse.snapshot(name, { fresh: true }) : null;
    if (txn && snapshot && (snapshot.txns.get(txn.appId)?.version ?? -1) >= txn.version) {
      progress(1, `already ingested with idempotency key ${req.idempotencyKey}`);
      return result(name, snapshot.version, false, { rows: 0, files: 0, bytes: 0 }, false);
    }
    progress(0, `reading ${req.fileName}`);
    const userName = ctx.userName ?? undefined;
    const now = nowLiterals(clock);
    const sampled = layout.format === 'csv';
    const write = async (read: string, snap: Snapshot | null): Promise<IngestResult> => {
      let snapshot = snap;
      const columns = await describeFile(engine.connection, read, req);
      progress(0.2, `writing ${req.fileName}`);
      for (let attempt = 0; ; attempt++) {
        if (signal?.aborted) throw cancelled();
        if (!snapshot) {
          const source = sourceSql(read, columns, req, ctx, now, INGEST_COLUMNS.ingestDate);
          const schema = await inferSchema(engine, source);
          const properties: Record<string, string> = {};
          const partitionColumns = [INGEST_COLUMNS.ingestDate];
          // Every row has the same ingest date: the writer streams the rows into files without partitioning them.
          const writer = engine.withConstantPartitions({ [INGEST_COLUMNS.ingestDate]: now.day });
          try {
            const m = txn
              ? await createWithTxn(ref, writer, { schema, partitionColumns, properties, name, sourceSql: source, clock, userName, txn })
              : await createTable(ref, { schema, partitionColumns, properties, name, sourceSql: source, engine: writer, clock, userName });
            progress(1, `created ${name} at version ${m.version}`);
            return result(name, m.version, true, { rows: m.numOutputRows, files: m.numFiles, bytes: m.numOutputBytes }, false);
          } catch (e) {
            // Another upload created the table first: write to it instead.
            if (!isLakehouseError(e, 'TABLE_EXISTS') || attempt > 0) throw e;
            snapshot = await warehouse.snapshot(name, { fresh: true });
            if (txn && (snapshot.txns.get(txn.appId)?.version ?? -1) >= txn.version) return result(name, snapshot.version, false, { rows: 0, files: 0, bytes: 0 }, false);
            continue;
          }
        }
        const dateColumn = ingestDateColumn(snapshot, columns);
        const source = sourceSql(read, columns, req, ctx, now, dateColumn);
        const writer = dateColumn ? engine.withConstantPartitions({ [dateColumn]: now.day }) : engine;
        if (plan.mode === 'overwrite') {
          const m = await overwrite(ref, writer, { sourceSql: source, mergeSchema: req.mergeSchema, snapshot, clock, userName });
          const after = await warehouse.snapshot(name, { fresh: true });
          progress(1, `overwrote ${name} at version ${m.version}`);
          const evolved = after.version === m.version && after.metadata.schemaString !== snapshot.metadata.schemaString;
          return result(name, m.version, false, { rows: m.numOutputRows, files: m.numFiles, bytes: m.numOutputBytes }, evolved);
        }
        const m = await append(ref, writer, { sourceSql: source, mergeSchema: req.mergeSchema, snapshot, clock, userName, txn });
        progress(1, m.skipped ? `already ingested with idempotency key ${req.idempotencyKey}` : `appended to ${name} at version ${m.version}`);
        return result(name, m.version, false, { rows: m.numOutputRows, files: m.numFiles, bytes: m.numOutputBytes }, m.schemaEvolved);
      }
    };
    if (!sampled) return await write(fileReadSql(req.path, layout), snapshot);
    try {
      return await write(await pinnedCsvRead(engine.connection, req, layout, CSV_SNIFF_SAMPLE_ROWS), snapshot);
    } catch (e) {
      // A value past the sniffer's sample does not fit the type guessed from the sample, or a type guessed from the
      // sample does not fit the table's: nothing was committed; sniff every row (slower) and write again. Malformed
      // rows (wrong width, bad quoting) fail as they are.
      if (signal?.aborted || !(isLakehouseError(e, 'SCHEMA_MISMATCH') || CSV_CONVERSION_ERROR.test(messageOf(e)))) throw e;
      progress(0.2, `re-reading ${req.fileName}: the column types its first ${CSV_SNIFF_SAMPLE_ROWS} rows suggest do not fit`);
      snapshot = (await warehouse.exists(name)) ? await warehouse.snapshot(name, { fresh: true }) : null;
      return await write(await pinnedCsvRead(engine.connection, req, layout, -1), snapshot);
    }
  } catch (e) {
    if (signal?.aborted) throw cancelled();
    throw fileError(e, req, layout);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

function result(table: string, version: number, created: boolean, m: { rows: number; files: number; bytes: number }, schemaEvolved: boolean): IngestResult {
  return { table, version, created, rows: m.rows, files: m.files, bytes: m.bytes, schemaEvolved };
}

/** The file's columns, with casts for types Delta cannot store; refuses names ingest reserves. */
async function describeFile(conn: DuckDBConnection, read: string, req: IngestRequest): Promise<FileColumn[]> {
  const r = await conn.runAndReadAll(`DESCRIBE SELECT * FROM ${read}`);
  const described = (r.getRowObjectsJson() as Record<string, unknown>[]).map((x) => ({ name: String(x.column_name), type: String(x.column_type) }));
  const reserved = new Set<string>([...Object.values(INGEST_COLUMNS)]);
  const seen = new Map<string, string>();
  return described.map((c) => {
    const name = c.name.replace(INVALID_NAME_CHARS, '_');
    if (reserved.has(name.toLowerCase())) {
      throw new LakehouseError(
        'INVALID_INPUT',
        `column "${c.name}" of "${req.fileName}" is reserved: ingest adds ${Object.values(INGEST_COLUMNS).join(', ')} itself`,
        { column: c.name, file: req.fileName },
      );
    }
    const clash = seen.get(name.toLowerCase());
    if (clash !== undefined) {
      throw new LakehouseError('INVALID_INPUT', `columns "${clash}" and "${c.name}" of "${req.fileName}" both become column "${name}"`, { column: c.name, file: req.fileName });
    }
    seen.set(name.toLowerCase(), c.name);
    let value = quoteIdent(c.name);
    try {
      deltaTypeFromDuckDb(c.type, c.name);
    } catch {
      // Bronze keeps raw data: a value Delta has no type for (TIME, INTERVAL...) is kept as its text.
      value = `CAST(${value} AS VARCHAR)`;
    }
    return { name, expr: value === quoteIdent(name) ? value : `${value} AS ${quoteIdent(name)}` };
  });
}

/** The file's rows plus the ingest columns (`dateColumn` null: the table has no ingest date column). */
function sourceSql(read: string, columns: FileColumn[], req: IngestRequest, ctx: IngestContext, now: { timestamp: string; date: string }, dateColumn: string | null): string {
  const items = [
    ...columns.map((c) => c.expr),
    `${now.timestamp} AS ${quoteIdent(INGEST_COLUMNS.ingestedAt)}`,
    `${enumConstant(ctx.userName ?? 'upload')} AS ${quoteIdent(INGEST_COLUMNS.source)}`,
    `${enumConstant(req.fileName)} AS ${quoteIdent(INGEST_COLUMNS.sourceFile)}`,
    ...(dateColumn ? [`${now.date} AS ${quoteIdent(dateColumn)}`] : []),
  ];
  return `SELECT ${items.join(', ')} FROM ${read}`;
}

/**
 * A string constant as a one-value ENUM: a string column all the same (the table type stays string); the writer
 * passes ENUM sources to Parquet uncast, which stores them exactly as strings, without a string per row.
 */
function enumConstant(value: string): string {
  return `CAST(${quoteString(value)} AS ENUM(${quoteString(value)}))`;
}

/** The ingest date column of an existing table: `_ingest_date`, or a date partition column `ingest_date` the file lacks. */
function ingestDateColumn(snapshot: Snapshot, columns: FileColumn[]): string | null {
  const fields = snapshot.schema.fields;
  if (fields.some((f) => f.name === INGEST_COLUMNS.ingestDate)) return INGEST_COLUMNS.ingestDate;
  const legacy = fields.find((f) => f.name === LEGACY_INGEST_DATE && f.type === 'date');
  if (legacy && snapshot.partitionColumns.includes(LEGACY_INGEST_DATE) && !columns.some((c) => c.name.toLowerCase() === LEGACY_INGEST_DATE)) {
    return LEGACY_INGEST_DATE;
  }
  return null;
}

/** The Delta schema of a source query (every column nullable). */
async function inferSchema(engine: DuckDbEngine, source: string): Promise<StructType> {
  const cols = await engine.describe(source);
  return {
    type: 'struct',
    fields: cols.map((c): StructField => ({ name: c.name, type: deltaTypeFromDuckDb(c.engineType, c.name), nullable: true, metadata: {} })),
  };
}

/** createTable with initial rows and a `txn` action in the same commit (createTable has no txn option); no column mapping. */
async function createWithTxn(
  ref: TableRef,
  engine: DuckDbEngine,
  o: {
    schema: StructType;
    partitionColumns: string[];
    properties: Record<string, string>;
    name: string;
    sourceSql: string;
    clock: Clock;
    userName?: string;
    txn: { appId: string; version: number };
  },
): Promise<{ version: number; numFiles: number; numOutputRows: number; numOutputBytes: number }> {
  const props = { ...o.properties };
  validateProperties(props);
  const schema = o.schema;
  const metadata: MetadataAction = {
    id: randomUUID(),
    name: o.name,
    format: { provider: 'parquet', options: {} },
    schemaString: schemaToString(schema),
    partitionColumns: o.partitionColumns,
    configuration: props,
    createdTime: o.clock.now(),
  };
  const adds = await engine.writeFiles(ref, { schema, partitionColumns: o.partitionColumns, columnMappingMode: 'none' }, o.sourceSql);
  const m = addsMetrics(adds);
  const t = new Transaction(ref, null, o.clock).add(
    { protocol: protocolFor(schema, props) },
    { metaData: metadata },
    { txn: { appId: o.txn.appId, version: o.txn.version, lastUpdated: o.clock.now() } },
    ...adds.map((add) => ({ add })),
  );
  const r = await t.commit({
    operation: 'CREATE TABLE AS SELECT',
    operationParameters: { partitionBy: JSON.stringify(o.partitionColumns), description: null, properties: JSON.stringify(props) },
    operationMetrics: { numFiles: m.numFiles, numOutputRows: m.numRows, numOutputBytes: m.numBytes },
    userName: o.userName,
  });
  return { version: r.version, numFiles: m.numFiles, numOutputRows: m.numRows, numOutputBytes: m.numBytes };
}

/** The full text of an error and its causes. */
function messageOf(e: unknown): string {
  const parts: string[] = [];
  for (let c: unknown = e; c instanceof Error && parts.length < 5; c = c.cause) parts.push(c.message);
  return parts.join('\n');
}

/** The message of the innermost cause: DuckDB's own, complete text. */
function innermostMessage(e: unknown): string {
  let c: unknown = e;
  for (let i = 0; i < 5 && c instanceof Error && c.cause instanceof Error; i++) c = c.cause;
  return c instanceof Error ? c.message : String(c);
}

/**
 * When the CSV sniffer gives up (it only says "not possible to detect the dialect"), re-reads the file with the same
 * dialect as text columns, counted from the header, so that DuckDB's parser names the offending line.
 */
async function csvDiagnosis(conn: DuckDBConnection, req: IngestRequest, layout: FileLayout, sniffError: unknown): Promise<unknown> {
  const n = await csvHeaderWidth(req.path, layout.delimiter).catch(() => 0);
  if (n === 0 || layout.compression) return sniffError;
  const columns = `{${Array.from({ length: n }, (_, i) => `'c${i}': 'VARCHAR'`).join(', ')}}`;
  const sql = `SELECT count(*) FROM read_csv(${quoteString(req.path)}, header=true, auto_detect=false, ${csvDialect(layout)}, columns=${columns})`;
  try {
    await conn.run(sql);
  } catch (e) {
    return e;
  }
  return sniffError;
}

/** Number of fields of the first CSV record (quotes honoured), from the first MiB of the file. */
async function csvHeaderWidth(path: string, delimiter: string): Promise<number> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(1024 * 1024);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    const text = buf.subarray(0, bytesRead).toString('utf8');
    let fields = 1;
    let quoted = false;
    for (const ch of text) {
      if (ch === '"') quoted = !quoted;
      else if (!quoted && ch === delimiter) fields++;
      else if (!quoted && (ch === '\n' || ch === '\r')) return fields;
    }
    return bytesRead < buf.length ? fields : 0;
  } finally {
    await fh.close();
  }
}

/**
 * Errors about the file as INVALID_INPUT naming the file and, where DuckDB says it, the line and the problem; the
 * temp path never reaches the message. Other errors (SCHEMA_MISMATCH, TABLE_EXISTS...) pass through.
 */
function fileError(e: unknown, req: IngestRequest, layout: FileLayout): unknown {
  if (isLakehouseError(e) && e.code !== 'INVALID_INPUT' && e.code !== 'INTERNAL') return e;
  const full = messageOf(e);
  if (!full.includes(req.path) && !/CSV Error on Line|Malformed JSON|sniffing file/.test(full)) return e;
  const text = innermostMessage(e).split(req.path).join(req.fileName);
  const what = `malformed ${layout.format === 'parquet' ? 'Parquet' : layout.format.toUpperCase()} file "${req.fileName}"`;
  const csvLine = /CSV Error on Line: (\d+)/.exec(text);
  if (csvLine) {
    const lines = text.split('\n');
    const at = lines.findIndex((l) => l.includes('CSV Error on Line'));
    const originalAt = lines.findIndex((l, k) => k > at && l.startsWith('Original Line:'));
    const original = originalAt >= 0 ? lines[originalAt].slice('Original Line:'.length).trim() : null;
    const fixesAt = lines.findIndex((l, k) => k > at && /^Possible (fixes|solutions)/.test(l));
    // Between the original text (which may run over several physical lines) and the fixes: the problem.
    const candidates = lines.slice(Math.max(at, originalAt) + 1, fixesAt >= 0 ? fixesAt : undefined).map((l) => l.trim()).filter((l) => l !== '');
    const problem = (candidates.find((l) => CSV_PROBLEM.test(l)) ?? candidates.at(-1) ?? '').replace(/\.$/, '');
    return new LakehouseError(
      'INVALID_INPUT',
      `${what}: line ${csvLine[1]}: ${problem || 'cannot be parsed'}${original !== null ? ` (${JSON.stringify(original.slice(0, 200))})` : ''}`,
      { file: req.fileName, line: Number(csvLine[1]) },
      { cause: e },
    );
  }
  const json = /Malformed JSON[^\n]*?(?:at byte \d+ in )?(line|record\/value) (\d+): ([^\n]*)/.exec(text);
  if (json) {
    const where = json[1] === 'line' ? `line ${json[2]}` : `record ${json[2]}`;
    return new LakehouseError('INVALID_INPUT', `${what}: ${where}: ${json[3].trim().replace(/\.$/, '')}`, { file: req.fileName, ...(json[1] === 'line' ? { line: Number(json[2]) } : {}) }, { cause: e });
  }
  if (/sniffing file/.test(text)) {
    return new LakehouseError('INVALID_INPUT', `${what}: DuckDB could not detect its layout (rows of differing widths or quoting?)`, { file: req.fileName }, { cause: e });
  }
  const first = text
    .split('\n')
    .map((l) => l.trim().replace(/^[A-Za-z ]+ Error: /, ''))
    .find((l) => l !== '');
  return new LakehouseError('INVALID_INPUT', `cannot load "${req.fileName}": ${first ?? 'DuckDB cannot read it'}`, { file: req.fileName }, { cause: e });
}
