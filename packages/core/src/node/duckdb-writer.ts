import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { AddAction } from '../delta/actions.js';
import { partitionPathSegment, partitionValueSqlLiteral, serializePartitionValue } from '../delta/partition-values.js';
import type { ColumnMappingMode, DataType, StructField, StructType } from '../delta/schema.js';
import { physicalName, typeToString } from '../delta/schema.js';
import { LakehouseError, isLakehouseError } from '../errors.js';
import { duckDbType, quoteIdent, quoteString } from '../sql/duckdb-types.js';
import type { Clock, Storage } from '../storage/storage.js';
import { joinKey } from '../storage/storage.js';
import { WRITE_SCRATCH_PREFIX } from '../delta/paths.js';

/** Options of writeDataFiles. */
export interface WriteDataFilesOptions {
  /** DuckDB connection that runs the source query; not to be used by anything else while the write runs. */
  connection: DuckDBConnection;
  /** Destination storage. */
  storage: Storage;
  /** Key prefix of the table root in storage, e.g. 'silver/sales/orders' ('' = storage root). */
  tableKey: string;
  /** A DuckDB query (SELECT, WITH, VALUES, FROM ...) or a table/view name, producing the logical column names. */
  source: string;
  /** The table schema (logical): the files get exactly these columns (minus partition columns), cast to their types. */
  schema: StructType;
  /** Logical names of the partition columns (top-level primitive columns of `schema`). */
  partitionColumns: string[];
  /** With 'name' or 'id', files, partitionValues and stats use physical names and files carry Parquet field ids. */
  columnMappingMode?: ColumnMappingMode;
  /**
   * Target number of rows of one file (default 1,000,000): DuckDB starts a new file after about this many rows (in
   * whole row groups of at least 2,048 rows; parallel writers may overshoot by a row group). Partitioned writes
   * without `constantPartitionValues` write one file per partition and split, in a second pass over that file only, a
   * partition of more than 1.5 times this many rows.
   */
  maxRowsPerFile?: number;
  /**
   * Values (serialized as in add.partitionValues, null for null) that every row has in the given partition columns,
   * e.g. an ingest date: when every partition column has one, the rows are streamed into files without a partitioning
   * step. Each row is checked: a row with another value fails the write (INVALID_INPUT) and nothing is left behind.
   */
  constantPartitionValues?: Record<string, string | null>;
  /** Source of add.modificationTime. */
  clock: Clock;
  /** add.dataChange (default true). */
  dataChange?: boolean;
  /**
   * The source's column names in order, when the caller knows them (e.g. a compiled scan of the table itself): the
   * source is then not described first, which saves binding it (with many files, reading every footer) twice.
   */
  sourceColumns?: readonly string[];
}

const DEFAULT_MAX_ROWS_PER_FILE = 1_000_000;
/** DuckDB's default Parquet row group size (rows). */
const DEFAULT_ROW_GROUP_ROWS = 122_880;
/** PROTOCOL.md: Per-file Statistics: string bounds are cut to a prefix of this many characters. */
const STRING_STATS_PREFIX = 32;
const FIELD_ID_KEY = 'delta.columnMapping.id';
const PARTITION_COLUMN_PREFIX = '__delta_partition_';
const TABLE_NAME_RE = /^\s*(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)(?:\s*\.\s*(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*))*\s*$/;
const JSON_NUMBER_RE = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
const JSON_INTEGER_RE = /^-?(?:0|[1-9]\d*)$/;
const DATE_TEXT_RE = /^\d{4}-\d{2}-\d{2}$/;
const TIMESTAMP_TEXT_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
/** A timestamp bound as DuckDB's Parquet writer reports it: `2024-01-01 10:00:00.123456` (+00 for TIMESTAMPTZ in UTC). */
const DUCK_TIMESTAMP_RE = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(?:\+00(?::00)?)?$/;

/** One primitive leaf (or array/map column) of the data schema that gets statistics. */
interface StatsLeaf {
  /** Index of the top-level field in the schema. */
  top: number;
  /** Physical names from the top-level column down to the leaf: the stats JSON path. */
  statsPath: string[];
  /** SQL expression of the value in a written file (physical names). */
  expr: string;
  /** The column path as DuckDB's COPY ... RETURN_STATS names it: `"a"."b"`. */
  statsKey: string;
  type: DataType;
  /** Whether min/max are collected (false: only nullCount). */
  minMax: boolean;
  /** An array or map: Parquet statistics only describe its elements, so its nullCount is counted from the file. */
  nested: boolean;
}

/** A stats JSON tree whose leaves are JSON texts (so big integers and decimals stay exact). */
type JsonTree = Map<string, JsonTree | string>;

/** Statistics DuckDB reports for one column of one written file (`min`, `max`, `null_count`, `has_nan`...). */
type ColumnStats = Map<string, string>;

/** One file the COPY wrote, as RETURN_STATS describes it. */
interface WrittenFile {
  /** Where DuckDB wrote it (local path). */
  file: string;
  rows: number;
  size: number;
  /** Column statistics by RETURN_STATS column key. */
  columns: Map<string, ColumnStats>;
  /** Partition values as the text partitionValueSql produced (null for null), in partition column order. */
  partitionTexts: (string | null)[];
}

/**
 * Writes the source rows as Parquet data files under the table with one streaming DuckDB `COPY ... TO` (no staging
 * copy of the rows): Hive-style `col=value/` directories per partition with Spark's escaping (partition columns are
 * not stored in the files), files named `part-NNNNN-<uuid>.c000.snappy.parquet` of about `maxRowsPerFile` rows
 * (see there), columns cast to the table types under their physical names (with Parquet field ids under column
 * mapping; timestamps as UTC-adjusted, timestamp_ntz as local Parquet timestamps). Returns one add action per file
 * with a percent-encoded relative path, size, modificationTime, partitionValues (serialized per PROTOCOL.md:
 * Partition Value Serialization, keyed by physical names) and stats (numRecords, minValues, maxValues, nullCount
 * keyed by physical names, nested structs nested; integers and decimals as exact JSON numbers, strings cut to 32
 * characters, timestamps cut to milliseconds), taken from the statistics the Parquet writer returns; the few it
 * cannot give (null counts of arrays and maps, bounds of very long strings) are read back from the written files.
 * Nothing is committed: the files stay invisible to readers until the caller commits the adds; if the write fails,
 * files already written are deleted (best effort). An empty source writes nothing and returns []. Throws
 * SCHEMA_MISMATCH when the source columns do not match the schema, INVALID_INPUT for values that do not convert, nulls
 * in non-nullable columns, or rows that break `constantPartitionValues`.
 */
export async function writeDataFiles(opts: WriteDataFilesOptions): Promise<AddAction[]> {
  const { connection, storage, schema, clock } = opts;
  const mode = opts.columnMappingMode ?? 'none';
  const maxRows = opts.maxRowsPerFile ?? DEFAULT_MAX_ROWS_PER_FILE;
  const dataChange = opts.dataChange ?? true;
  if (!Number.isSafeInteger(maxRows) || maxRows < 1) {
    throw new LakehouseError('INVALID_INPUT', `maxRowsPerFile must be a positive integer, got ${maxRows}`, { maxRowsPerFile: maxRows });
  }

  const fields = schema.fields;
  const partitionIndexes = opts.partitionColumns.map((name) => {
    const i = fields.findIndex((f) => f.name === name);
    if (i < 0) {
      throw new LakehouseError('INVALID_INPUT', `partition column "${name}" is not in the table schema`, { column: name });
    }
    const t = fields[i].type;
    if (typeof t === 'object' && t.type !== 'decimal') {
      throw new LakehouseError('INVALID_INPUT', `partition column "${name}" has type ${typeToString(t)}, which cannot be a partition column`, {
        column: name,
      });
    }
    return i;
  });
  const dataIndexes = fields.map((_, i) => i).filter((i) => !partitionIndexes.includes(i));
  if (dataIndexes.length === 0) {
    throw new LakehouseError('INVALID_INPUT', 'every column is a partition column: a Delta table needs at least one data column', {});
  }
  // Fails early on types that cannot be written (variant, bad decimals) and on missing physical names.
  const columnTypes = fields.map((f) => duckDbType(f.type));
  const physicalTypes = fields.map((f) => physicalDuckDbType(f.type, mode));
  const physicalNames = fields.map((f) => physicalName(f, mode));
  const constants = constantPartitions(opts, partitionIndexes);

  const restoreTimeZone = await useUtc(connection);
  const writtenKeys: string[] = [];
  /** Folders this write created (the top of each chain mkdir made), removed again when empty after a failure. */
  const createdDirs: string[] = [];
  const localPath = storage.localPath?.bind(storage);
  // Under the table for local tables (so that moving a file into place is a rename), else in the temp folder. The
  // leading `_` keeps Delta and Spark readers out of it.
  const scratch = localPath
    ? localPath(joinKey(opts.tableKey, `${WRITE_SCRATCH_PREFIX}${randomUUID()}`))
    : await mkdtemp(path.join(tmpdir(), 'lakehouse-write-'));
  try {
    // DuckDB creates the target folder but not its parents (a new table has no folder yet).
    const made = await mkdir(scratch, { recursive: true });
    if (made !== undefined && made !== scratch) createdDirs.push(made);
    const { sql: rowsSql, enums } = await sourceRows(opts, columnTypes, partitionIndexes);
    const dataItems = dataIndexes.map((i) => {
      const value =
        fields[i].type === 'timestamp'
          ? utcInstant(`"c${i}"`)
          : enums.has(i)
            ? `"c${i}"`
            : `CAST(${renameNested(`"c${i}"`, fields[i].type, mode, 0)} AS ${physicalTypes[i]})`;
      return `${value} AS ${quoteIdent(physicalNames[i])}`;
    });
    const fieldIds = mode === 'none' ? undefined : fieldIdsOption(dataIndexes.map((i) => fields[i]), mode);
    const options = ['FORMAT parquet', 'COMPRESSION snappy', 'RETURN_STATS true', ...(fieldIds ? [`FIELD_IDS ${fieldIds}`] : [])];
    const rowGroupRows = Math.min(maxRows, DEFAULT_ROW_GROUP_ROWS);
    const rolling = [`ROW_GROUP_SIZE ${rowGroupRows}`, `ROW_GROUPS_PER_FILE ${Math.max(1, Math.floor(maxRows / rowGroupRows))}`];
    const partitioned = partitionIndexes.length > 0 && !constants;
    let select: string;
    if (!partitioned) {
      options.push(...rolling);
      select = `SELECT ${dataItems.join(', ')} FROM ${rowsSql}${constants ? ` WHERE ${constantGuard(fields, partitionIndexes, constants)}` : ''}`;
    } else {
      const partItems = partitionIndexes.map((fi, k) => `${partitionValueSql(`"c${fi}"`, fields[fi].type)} AS "${PARTITION_COLUMN_PREFIX}${k}"`);
      options.push(`PARTITION_BY (${partitionIndexes.map((_, k) => `"${PARTITION_COLUMN_PREFIX}${k}"`).join(', ')})`);
      select = `SELECT ${[...dataItems, ...partItems].join(', ')} FROM ${rowsSql}`;
    }
    const copied = await rows(
      connection,
      `COPY (${select}) TO ${quoteString(scratch)} (${options.join(', ')})`,
      'converting the source rows to the table schema and writing them',
    );
    let files = copied.map((r) => writtenFile(r, partitionIndexes.length, constants)).filter((f) => f.rows > 0);
    // DuckDB cannot roll files within a partition: a partition much larger than the target is split in a second pass.
    if (partitioned) files = await splitLargeFiles(connection, files, maxRows, [...options.filter((o) => !o.startsWith('PARTITION_BY')), ...rolling], scratch);
    files.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
    if (files.length === 0) return [];

    const leaves = dataIndexes.flatMap((i) => statsLeaves(fields[i], quoteIdent(physicalNames[i]), mode, i));
    if (enums.size > 0) await enumBoundsFromFooters(connection, files, leaves.filter((l) => enums.has(l.top)), physicalNames);
    const extra = await readBackStats(connection, files, leaves, fields, dataIndexes, physicalNames);
    checkNotNull(fields, files, leaves, partitionIndexes, extra);

    const adds: AddAction[] = [];
    for (let n = 0; n < files.length; n++) {
      const f = files[n];
      const partitionValues: Record<string, string | null> = {};
      const dirs: string[] = [];
      partitionIndexes.forEach((fi, k) => {
        const value = constants ? constants[k] : partitionValueFromText(f.partitionTexts[k], fields[fi].type);
        partitionValues[physicalNames[fi]] = value;
        dirs.push(partitionPathSegment(physicalNames[fi], value));
      });
      const fileName = `part-${String(n).padStart(5, '0')}-${randomUUID()}.c000.snappy.parquet`;
      const relative = [...dirs, fileName];
      const key = joinKey(opts.tableKey, ...relative);
      writtenKeys.push(key);
      if (localPath) {
        const target = localPath(key);
        const madeDir = await mkdir(path.dirname(target), { recursive: true });
        if (madeDir !== undefined) createdDirs.push(madeDir);
        await rename(f.file, target);
      } else {
        const bytes = await readFile(f.file);
        await rm(f.file, { force: true });
        await storage.put(key, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      }
      adds.push({
        path: relative.map(encodePathSegment).join('/'),
        partitionValues,
        size: f.size,
        modificationTime: clock.now(),
        dataChange,
        stats: statsJson(f, leaves, extra),
      });
    }
    return adds;
  } catch (e) {
    await Promise.all(writtenKeys.map((k) => storage.delete(k).catch(() => undefined)));
    await rm(scratch, { recursive: true, force: true }).catch(() => undefined);
    await removeEmptyDirs(createdDirs);
    throw e;
  } finally {
    await rm(scratch, { recursive: true, force: true }).catch(() => undefined);
    await restoreTimeZone();
  }
}

/**
 * Removes the folders a failed write created (each the top of a chain mkdir made) as far as they are empty, deepest
 * first; a folder another writer has put files into meanwhile stays.
 */
async function removeEmptyDirs(tops: string[]): Promise<void> {
  const all = new Set<string>();
  for (const top of tops) all.add(top);
  const sorted = [...all].sort((a, b) => b.length - a.length);
  for (const top of sorted) await removeEmptyTree(top);
}

async function removeEmptyTree(dir: string): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => null);
  if (entries === null) return;
  for (const e of entries) if (e.isDirectory()) await removeEmptyTree(path.join(dir, e.name));
  await rmdir(dir).catch(() => undefined);
}

/** Runs SQL and returns its rows, turning DuckDB errors into INVALID_INPUT that say what was being done. */
async function rows(connection: DuckDBConnection, sql: string, doing: string): Promise<Record<string, unknown>[]> {
  try {
    return (await connection.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
  } catch (e) {
    throw duckError(e, doing);
  }
}

function duckError(e: unknown, doing: string): LakehouseError {
  if (isLakehouseError(e)) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new LakehouseError('INVALID_INPUT', `DuckDB failed ${doing}: ${message}`, {}, { cause: e });
}

/**
 * Sets the session time zone to UTC (so that TIMESTAMP WITH TIME ZONE values convert to the UTC wall clock and back)
 * and returns a function that restores the previous one. Without ICU there is no TimeZone setting and nothing to do.
 */
async function useUtc(connection: DuckDBConnection): Promise<() => Promise<void>> {
  let previous: string;
  try {
    const r = (await connection.runAndReadAll(`SELECT current_setting('TimeZone') AS tz`)).getRowObjectsJson();
    previous = String(r[0]?.tz ?? '');
  } catch {
    return async () => undefined;
  }
  if (previous === 'UTC') return async () => undefined;
  await connection.run(`SET TimeZone = 'UTC'`);
  return async () => {
    await connection.run(`SET TimeZone = ${quoteString(previous)}`).catch(() => undefined);
  };
}

/** The FROM item for the source: a table or view name as is, anything else as a parenthesized query. */
function sourceRelation(source: string): string {
  if (TABLE_NAME_RE.test(source)) return source.trim();
  const query = source.trim().replace(/;+$/, '');
  // On lines of their own, so that a trailing `-- comment` in the query cannot swallow the parenthesis.
  return `(\n${query}\n)`;
}

/**
 * The serialized constant value of each partition column (in partition order) when `constantPartitionValues` names
 * them all, else null. Checks that each value fits its column's type.
 */
function constantPartitions(opts: WriteDataFilesOptions, partitionIndexes: number[]): (string | null)[] | null {
  const given = opts.constantPartitionValues;
  if (!given || partitionIndexes.length === 0) return null;
  const out: (string | null)[] = [];
  for (const i of partitionIndexes) {
    const f = opts.schema.fields[i];
    if (!Object.prototype.hasOwnProperty.call(given, f.name)) return null;
    try {
      out.push(serializePartitionValue(given[f.name], f.type));
    } catch (e) {
      throw new LakehouseError('INVALID_INPUT', `constant partition value ${JSON.stringify(given[f.name])} does not fit column "${f.name}" (${typeToString(f.type)})`, { column: f.name }, { cause: e });
    }
  }
  return out;
}

/** A WHERE condition that is true for rows with the constant partition values and raises a DuckDB error for any other row. */
function constantGuard(fields: StructField[], partitionIndexes: number[], constants: (string | null)[]): string {
  const same = partitionIndexes.map((fi, k) => `"c${fi}" IS NOT DISTINCT FROM ${partitionValueSqlLiteral(constants[k], fields[fi].type)}`).join(' AND ');
  const names = partitionIndexes.map((fi) => `"${fields[fi].name}"`).join(', ');
  const message = `a row to write has other values in partition column(s) ${names} than the constant ${JSON.stringify(constants)} the write was given`;
  return `CASE WHEN ${same} THEN true ELSE error(${quoteString(message)}) END`;
}

/**
 * Checks the source's columns against the schema and returns a FROM item with the source rows as `c0..cN` (cast to
 * the logical DuckDB types, in schema order), and the indexes of the string data columns whose source is an ENUM:
 * those stay uncast. Parquet stores an ENUM exactly as a
 * VARCHAR (BYTE_ARRAY, UTF8, dictionary-encoded, same statistics), and writing it needs no string per row: a constant
 * such as ingest's `_source` costs next to nothing that way where a VARCHAR constant costs a tenth of the COPY.
 */
async function sourceRows(opts: WriteDataFilesOptions, columnTypes: string[], partitionIndexes: number[]): Promise<{ sql: string; enums: Set<number> }> {
  const { connection, schema } = opts;
  const relation = sourceRelation(opts.source);
  const described = opts.sourceColumns
    ? null
    : (await rows(connection, `DESCRIBE SELECT * FROM ${relation} AS src`, 'reading the source columns')).map((r) => ({
        name: String(r.column_name),
        type: String(r.column_type),
      }));
  const sourceColumns = described ? described.map((c) => c.name) : [...(opts.sourceColumns ?? [])];
  const sourceTypes = new Map(described?.map((c) => [c.name, c.type]));
  const byLower = new Map<string, string>();
  for (const c of sourceColumns) byLower.set(c.toLowerCase(), c);
  const missing = schema.fields.filter((f) => !byLower.has(f.name.toLowerCase())).map((f) => f.name);
  const wanted = new Set(schema.fields.map((f) => f.name.toLowerCase()));
  const extra = sourceColumns.filter((c) => !wanted.has(c.toLowerCase()));
  if (missing.length > 0 || extra.length > 0) {
    const parts = [
      missing.length > 0 ? `missing column(s) ${missing.map((c) => `"${c}"`).join(', ')}` : '',
      extra.length > 0 ? `column(s) not in the table schema ${extra.map((c) => `"${c}"`).join(', ')}` : '',
    ].filter((p) => p !== '');
    throw new LakehouseError('SCHEMA_MISMATCH', `the rows to write do not match the table schema: ${parts.join('; ')}`, {
      missing,
      extra,
    });
  }
  const enums = new Set<number>();
  const casts = schema.fields
    .map((f, i) => {
      const name = byLower.get(f.name.toLowerCase()) as string;
      const value = `src.${quoteIdent(name)}`;
      const sourceType = sourceTypes.get(name);
      if (f.type === 'string' && sourceType?.startsWith('ENUM(') && !partitionIndexes.includes(i)) {
        enums.add(i);
        return `${value} AS "c${i}"`;
      }
      // A TIMESTAMPTZ source of a timestamp column: its UTC wall clock without ICU's per-value calendar arithmetic.
      const wallClock = columnTypes[i] === 'TIMESTAMP' && isTimestampTz(sourceType);
      return `${wallClock ? utcWallClock(value) : `CAST(${value} AS ${columnTypes[i]})`} AS "c${i}"`;
    })
    .join(', ');
  return { sql: `(SELECT ${casts} FROM ${relation} AS src) AS __rows`, enums };
}

/** True for DuckDB's names of TIMESTAMP WITH TIME ZONE. */
function isTimestampTz(type: string | undefined): boolean {
  return type === 'TIMESTAMP WITH TIME ZONE' || type === 'TIMESTAMPTZ';
}

/**
 * A TIMESTAMP holding a UTC wall clock as the TIMESTAMPTZ instant, with TimeZone UTC (the writer's session): the same
 * microseconds, where CAST goes through ICU's calendar for every value (about 20 times slower). Infinities, which
 * have no epoch, take the CAST.
 */
function utcInstant(expr: string): string {
  return `coalesce(make_timestamptz(epoch_us(${expr})), CAST(${expr} AS TIMESTAMP WITH TIME ZONE))`;
}

/** A TIMESTAMPTZ as the TIMESTAMP of its UTC wall clock, without ICU (see utcInstant). */
function utcWallClock(expr: string): string {
  return `coalesce(make_timestamp(epoch_us(${expr})), CAST(${expr} AS TIMESTAMP))`;
}

/** A partition file holding more than this many times maxRowsPerFile rows is split. */
const SPLIT_FACTOR = 1.5;

/**
 * Rewrites each file with more than SPLIT_FACTOR × maxRows rows (a large partition of a partitioned write) into files
 * of about maxRows rows with the same partition values, reading only that file back; other files stay as they are.
 */
async function splitLargeFiles(connection: DuckDBConnection, files: WrittenFile[], maxRows: number, options: string[], scratch: string): Promise<WrittenFile[]> {
  const out: WrittenFile[] = [];
  for (const [n, f] of files.entries()) {
    if (f.rows <= maxRows * SPLIT_FACTOR) {
      out.push(f);
      continue;
    }
    const dir = path.join(scratch, `__split_${n}`);
    const copied = await rows(
      connection,
      `COPY (SELECT * FROM read_parquet(${quoteString(f.file)}, hive_partitioning=false)) TO ${quoteString(dir)} (${options.join(', ')})`,
      'splitting a large partition into files',
    );
    const parts = copied.map((r) => writtenFile(r, 0, f.partitionTexts)).filter((p) => p.rows > 0);
    if (parts.reduce((sum, p) => sum + p.rows, 0) !== f.rows) {
      throw new LakehouseError('INTERNAL', `splitting ${f.rows} rows of a partition wrote ${parts.reduce((sum, p) => sum + p.rows, 0)}`);
    }
    await rm(f.file, { force: true });
    out.push(...parts);
  }
  return out;
}

/** A row of COPY ... RETURN_STATS as a WrittenFile. */
function writtenFile(r: Record<string, unknown>, partitionCount: number, constants: (string | null)[] | null): WrittenFile {
  const columns = new Map<string, ColumnStats>();
  for (const c of (r.column_statistics ?? []) as { key: string; value: { key: string; value: unknown }[] | null }[]) {
    const stats: ColumnStats = new Map();
    for (const s of c.value ?? []) if (s.value !== null && s.value !== undefined) stats.set(String(s.key), String(s.value));
    columns.set(String(c.key), stats);
  }
  const keys = new Map<string, string | null>();
  for (const p of (r.partition_keys ?? []) as { key: string; value: unknown }[]) keys.set(String(p.key), p.value === null || p.value === undefined ? null : String(p.value));
  const partitionTexts = constants
    ? constants
    : Array.from({ length: partitionCount }, (_, k) => {
        const v = keys.get(`${PARTITION_COLUMN_PREFIX}${k}`);
        if (v === undefined) throw new LakehouseError('INTERNAL', `DuckDB did not report partition ${k} of ${String(r.filename)}`);
        return v;
      });
  return { file: String(r.filename), rows: Number(r.count), size: Number(r.file_size_bytes), columns, partitionTexts };
}

/** The statistics leaves of one data column: primitives (min/max unless binary), arrays and maps (nullCount only). */
function statsLeaves(field: StructField, expr: string, mode: ColumnMappingMode, top: number, parent: string[] = []): StatsLeaf[] {
  const statsPath = [...parent, physicalName(field, mode)];
  const t = field.type;
  if (typeof t === 'object' && t.type === 'struct') {
    return t.fields.flatMap((f) => statsLeaves(f, `struct_extract(${expr}, ${quoteString(physicalName(f, mode))})`, mode, top, statsPath));
  }
  const minMax = typeof t === 'string' ? t !== 'binary' && t !== 'variant' : t.type === 'decimal';
  const statsKey = statsPath.map((n) => `"${n.replace(/"/g, '""')}"`).join('.');
  return [{ top, statsPath, expr, statsKey, type: t, minMax, nested: typeof t === 'object' && t.type !== 'decimal' }];
}

/** Per written file, the statistics the Parquet writer does not report, by name (`z<leaf>`, `lo<leaf>`, `hi<leaf>`, `n<field>`). */
type ExtraStats = Map<string, Record<string, unknown>>;

/** What the writer's statistics lack for a leaf in a file: its nullCount, its bounds. */
function missingStats(f: WrittenFile, leaf: StatsLeaf): { nulls: boolean; bounds: boolean } {
  const s = f.columns.get(leaf.statsKey);
  const nullCount = s?.get('null_count');
  const nulls = leaf.nested || nullCount === undefined;
  const hasValues = nullCount === undefined || Number(nullCount) < f.rows;
  const bounds = leaf.minMax && hasValues && (s === undefined || !s.has('min') || !s.has('max')) && s?.get('has_nan') !== 'true';
  return { nulls, bounds };
}

/**
 * Fills in the bounds of ENUM-sourced string columns, which COPY's RETURN_STATS leaves out, from the written files'
 * footers (the Parquet writer does keep them there): one cheap metadata read instead of scanning the column. A file
 * with a row group whose bounds are absent keeps its gap for readBackStats.
 */
async function enumBoundsFromFooters(connection: DuckDBConnection, files: WrittenFile[], leaves: StatsLeaf[], physicalNames: string[]): Promise<void> {
  if (leaves.length === 0 || files.length === 0) return;
  const byPath = new Map(leaves.map((l) => [physicalNames[l.top], l]));
  const list = `[${files.map((f) => quoteString(f.file)).join(', ')}]`;
  const result = await rows(
    connection,
    `SELECT file_name, path_in_schema, min(stats_min_value) AS lo, max(stats_max_value) AS hi,
       bool_and(stats_min_value IS NOT NULL AND stats_max_value IS NOT NULL OR stats_null_count = num_values) AS complete
     FROM parquet_metadata(${list}) WHERE path_in_schema IN (${[...byPath.keys()].map(quoteString).join(', ')}) GROUP BY ALL`,
    'reading string bounds from the written files\' footers',
  );
  const byFile = new Map(files.map((f) => [f.file, f]));
  for (const r of result) {
    const leaf = byPath.get(String(r.path_in_schema));
    const stats = leaf ? byFile.get(String(r.file_name))?.columns.get(leaf.statsKey) : undefined;
    if (!stats || r.complete !== true || r.lo === null || r.hi === null) continue;
    stats.set('min', String(r.lo));
    stats.set('max', String(r.hi));
  }
}

/**
 * Reads back from the written files, in one query, what the Parquet writer's statistics lack: null counts of arrays
 * and maps (Parquet only has element statistics), of non-nullable nested columns (for the not-null check), and bounds
 * the writer left out (strings too long for Parquet statistics). Usually reads nothing.
 */
async function readBackStats(
  connection: DuckDBConnection,
  files: WrittenFile[],
  leaves: StatsLeaf[],
  fields: StructField[],
  dataIndexes: number[],
  physicalNames: string[],
): Promise<ExtraStats> {
  const cols: string[] = [];
  leaves.forEach((leaf, k) => {
    const need = files.map((f) => missingStats(f, leaf));
    if (need.some((m) => m.nulls)) cols.push(`CAST(count(*) - count(${leaf.expr}) AS VARCHAR) AS z${k}`);
    if (need.some((m) => m.bounds)) cols.push(`${boundSql('min', leaf)} AS lo${k}`, `${boundSql('max', leaf)} AS hi${k}`);
  });
  for (const i of dataIndexes) {
    const t = fields[i].type;
    if (!fields[i].nullable && typeof t === 'object' && t.type !== 'decimal') cols.push(`CAST(count(*) - count(${quoteIdent(physicalNames[i])}) AS VARCHAR) AS n${i}`);
  }
  const out: ExtraStats = new Map();
  if (cols.length === 0) return out;
  const list = `[${files.map((f) => quoteString(f.file)).join(', ')}]`;
  const result = await rows(
    connection,
    `SELECT __delta_file AS __file, ${cols.join(', ')} FROM read_parquet(${list}, filename='__delta_file', hive_partitioning=false) GROUP BY __delta_file`,
    'reading statistics back from the written files',
  );
  for (const r of result) out.set(String(r.__file), r);
  return out;
}

/** Refuses nulls in top-level columns declared non-nullable (counted from the written files' statistics). */
function checkNotNull(fields: StructField[], files: WrittenFile[], leaves: StatsLeaf[], partitionIndexes: number[], extra: ExtraStats): void {
  for (const [i, f] of fields.entries()) {
    if (f.nullable) continue;
    let nulls = 0;
    const k = partitionIndexes.indexOf(i);
    const leafNo = leaves.findIndex((l) => l.top === i && l.statsPath.length === 1);
    if (k >= 0) {
      for (const file of files) if (file.partitionTexts[k] === null) nulls += file.rows;
    } else if (leafNo < 0 || leaves[leafNo].nested) {
      for (const file of files) nulls += Number(extra.get(file.file)?.[`n${i}`] ?? 0);
    } else {
      for (const file of files) nulls += Number(nullCountOf(file, leaves[leafNo], leafNo, extra));
    }
    if (nulls > 0) {
      throw new LakehouseError('INVALID_INPUT', `column "${f.name}" is not nullable but ${nulls} row(s) to write have a null`, {
        column: f.name,
        nullRows: nulls,
      });
    }
  }
}

/** The null count of a leaf in a file, as a JSON integer text. */
function nullCountOf(f: WrittenFile, leaf: StatsLeaf, k: number, extra: ExtraStats): string {
  const fromWriter = leaf.nested ? undefined : f.columns.get(leaf.statsKey)?.get('null_count');
  const text = fromWriter ?? extra.get(f.file)?.[`z${k}`];
  if (text === undefined || text === null || !JSON_INTEGER_RE.test(String(text))) {
    throw new LakehouseError('INTERNAL', `no null count for column ${leaf.statsPath.join('.')} of a written file`, { column: leaf.statsPath.join('.') });
  }
  return String(text);
}

/** The stats JSON of one file: numRecords, minValues, maxValues, nullCount. */
function statsJson(f: WrittenFile, leaves: StatsLeaf[], extra: ExtraStats): string {
  const minValues: JsonTree = new Map();
  const maxValues: JsonTree = new Map();
  const nullCount: JsonTree = new Map();
  leaves.forEach((leaf, k) => {
    setPath(nullCount, leaf.statsPath, nullCountOf(f, leaf, k, extra));
    if (!leaf.minMax) return;
    let lo: string | undefined;
    let hi: string | undefined;
    if (missingStats(f, leaf).bounds) {
      const r = extra.get(f.file);
      lo = boundJson(r?.[`lo${k}`], leaf.type, 'min');
      hi = boundJson(r?.[`hi${k}`], leaf.type, 'max');
    } else {
      const s = f.columns.get(leaf.statsKey);
      lo = writerBound(s?.get('min'), leaf.type, 'min');
      // Parquet bounds leave NaN out, but NaN sorts above every number: with a NaN there is no upper bound.
      hi = s?.get('has_nan') === 'true' ? undefined : writerBound(s?.get('max'), leaf.type, 'max');
    }
    if (lo !== undefined) setPath(minValues, leaf.statsPath, lo);
    if (hi !== undefined) setPath(maxValues, leaf.statsPath, hi);
  });
  return `{"numRecords":${f.rows},"minValues":${treeJson(minValues)},"maxValues":${treeJson(maxValues)},"nullCount":${treeJson(nullCount)}}`;
}

/**
 * The stats JSON of a bound as DuckDB's Parquet writer reports it (its text of the Parquet statistic), or undefined
 * when it cannot be written. Long strings come back cut to 256 bytes (more than 32 characters), so a string of at most
 * 32 characters is exact.
 */
function writerBound(text: string | undefined, type: DataType, agg: 'min' | 'max'): string | undefined {
  if (text === undefined) return undefined;
  if (typeof type === 'object') return JSON_NUMBER_RE.test(text) ? text : undefined;
  switch (type) {
    case 'boolean':
      return text === '1' || text === 'true' ? 'true' : text === '0' || text === 'false' ? 'false' : undefined;
    case 'byte':
    case 'short':
    case 'integer':
    case 'long':
      return JSON_INTEGER_RE.test(text) ? text : undefined;
    case 'float':
    case 'double': {
      const n = Number(text);
      if (!JSON_NUMBER_RE.test(text) || !Number.isFinite(n)) return undefined;
      // A float statistic is the shortest text of the float; the JSON has the double value of that float.
      return String(type === 'float' ? Math.fround(n) : n);
    }
    case 'timestamp':
    case 'timestamp_ntz': {
      const m = DUCK_TIMESTAMP_RE.exec(text);
      return m ? boundJson(`${m[1]}T${m[2]}.${(m[3] ?? '').padEnd(3, '0').slice(0, 3)}Z`, type, agg) : undefined;
    }
    default:
      return boundJson(text, type, agg);
  }
}

/** SQL text of a min/max aggregate in the form written to the stats JSON (cast to VARCHAR; exact for numbers). */
function boundSql(agg: 'min' | 'max', leaf: StatsLeaf): string {
  const v = `${agg}(${leaf.expr})`;
  if (typeof leaf.type === 'object') return `CAST(${v} AS VARCHAR)`;
  switch (leaf.type) {
    case 'float':
    case 'double':
      return `CAST(CAST(${v} AS DOUBLE) AS VARCHAR)`;
    case 'timestamp':
    case 'timestamp_ntz':
      // PROTOCOL.md: Per-file Statistics: timestamps truncated to milliseconds.
      return `strftime(${v}, '%Y-%m-%dT%H:%M:%S.%gZ')`;
    default:
      return `CAST(${v} AS VARCHAR)`;
  }
}

/** The JSON text of a bound, or undefined when it cannot be written (NaN, infinities, out-of-range dates, long max strings). */
function boundJson(text: unknown, type: DataType, agg: 'min' | 'max'): string | undefined {
  if (text === null || text === undefined) return undefined;
  const s = String(text);
  if (typeof type === 'object') return JSON_NUMBER_RE.test(s) ? s : undefined;
  switch (type) {
    case 'string': {
      const chars = Array.from(s);
      if (chars.length <= STRING_STATS_PREFIX) return JSON.stringify(s);
      // A prefix is still a lower bound; no prefix is an upper bound, so a long max is left out.
      return agg === 'min' ? JSON.stringify(chars.slice(0, STRING_STATS_PREFIX).join('')) : undefined;
    }
    case 'boolean':
      return s === 'true' || s === 'false' ? s : undefined;
    case 'date':
      return DATE_TEXT_RE.test(s) ? JSON.stringify(s) : undefined;
    case 'timestamp':
    case 'timestamp_ntz':
      return TIMESTAMP_TEXT_RE.test(s) ? JSON.stringify(s) : undefined;
    default:
      return JSON_NUMBER_RE.test(s) ? s : undefined;
  }
}

/** SQL of a partition value as text that serializePartitionValue accepts for the type. */
function partitionValueSql(expr: string, type: DataType): string {
  if (typeof type === 'object') return `CAST(${expr} AS VARCHAR)`;
  switch (type) {
    case 'binary':
      return `hex(${expr})`;
    case 'float':
    case 'double':
      return `CAST(CAST(${expr} AS DOUBLE) AS VARCHAR)`;
    case 'timestamp':
    case 'timestamp_ntz':
      return `strftime(${expr}, '%Y-%m-%d %H:%M:%S.%f')`;
    default:
      return `CAST(${expr} AS VARCHAR)`;
  }
}

function partitionValueFromText(text: unknown, type: DataType): string | null {
  if (text === null || text === undefined) return null;
  let value: unknown = String(text);
  if (type === 'binary') {
    const hex = value as string;
    value = Uint8Array.from({ length: hex.length / 2 }, (_, i) => parseInt(hex.slice(2 * i, 2 * i + 2), 16));
  } else if (type === 'float' || type === 'double') {
    value = ({ inf: 'Infinity', '-inf': '-Infinity', nan: 'NaN', '-nan': 'NaN' } as Record<string, string>)[value as string] ?? value;
  }
  return serializePartitionValue(value, type);
}

function setPath(tree: JsonTree, keys: string[], json: string): void {
  let node = tree;
  for (const k of keys.slice(0, -1)) {
    let child = node.get(k);
    if (!(child instanceof Map)) {
      child = new Map();
      node.set(k, child);
    }
    node = child;
  }
  node.set(keys[keys.length - 1], json);
}

function treeJson(tree: JsonTree): string {
  const parts: string[] = [];
  for (const [k, v] of tree) parts.push(`${JSON.stringify(k)}:${v instanceof Map ? treeJson(v) : v}`);
  return `{${parts.join(',')}}`;
}

/** The DuckDB type of a column as written to Parquet: physical struct field names, timestamp as TIMESTAMPTZ (UTC-adjusted). */
function physicalDuckDbType(t: DataType, mode: ColumnMappingMode): string {
  if (t === 'timestamp') return 'TIMESTAMP WITH TIME ZONE';
  if (typeof t === 'string' || t.type === 'decimal') return duckDbType(t);
  switch (t.type) {
    case 'struct':
      return `STRUCT(${t.fields.map((f) => `${quoteIdent(physicalName(f, mode))} ${physicalDuckDbType(f.type, mode)}`).join(', ')})`;
    case 'array':
      return `${physicalDuckDbType(t.elementType, mode)}[]`;
    case 'map':
      return `MAP(${physicalDuckDbType(t.keyType, mode)}, ${physicalDuckDbType(t.valueType, mode)})`;
  }
}

/** True when a value of this type contains a struct whose fields are renamed to physical names. */
function hasRenamedStruct(t: DataType, mode: ColumnMappingMode): boolean {
  if (mode === 'none' || typeof t === 'string') return false;
  switch (t.type) {
    case 'decimal':
      return false;
    case 'struct':
      return true;
    case 'array':
      return hasRenamedStruct(t.elementType, mode);
    case 'map':
      return hasRenamedStruct(t.keyType, mode) || hasRenamedStruct(t.valueType, mode);
  }
}

/**
 * SQL that rebuilds a value with its nested struct fields under their physical names (DuckDB casts structs by field
 * name, so a plain CAST cannot rename). Null structs stay null.
 */
function renameNested(expr: string, t: DataType, mode: ColumnMappingMode, depth: number): string {
  if (!hasRenamedStruct(t, mode) || typeof t === 'string') return expr;
  switch (t.type) {
    case 'struct': {
      const packed = t.fields
        .map((f) => `${quoteIdent(physicalName(f, mode))} := ${renameNested(`struct_extract(${expr}, ${quoteString(f.name)})`, f.type, mode, depth)}`)
        .join(', ');
      return `CASE WHEN ${expr} IS NULL THEN NULL ELSE struct_pack(${packed}) END`;
    }
    case 'array': {
      const x = `__x${depth}`;
      return `list_transform(${expr}, lambda ${x}: ${renameNested(x, t.elementType, mode, depth + 1)})`;
    }
    case 'map': {
      const e = `__e${depth}`;
      const key = renameNested(`${e}.key`, t.keyType, mode, depth + 1);
      const value = renameNested(`${e}.value`, t.valueType, mode, depth + 1);
      return `map_from_entries(list_transform(map_entries(${expr}), lambda ${e}: struct_pack(key := ${key}, value := ${value})))`;
    }
    default:
      return expr;
  }
}

function fieldId(field: StructField): number | undefined {
  const raw = field.metadata[FIELD_ID_KEY];
  const id = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : raw;
  return typeof id === 'number' && Number.isInteger(id) ? id : undefined;
}

/** The value of one field in DuckDB's FIELD_IDS option, or undefined when neither it nor its children have ids. */
function fieldIdSpec(field: StructField, mode: ColumnMappingMode): string | undefined {
  const id = fieldId(field);
  const children = childIdSpecs(field.type, mode);
  if (children === undefined) return id === undefined ? undefined : String(id);
  return `{${id === undefined ? '' : `__duckdb_field_id: ${id}, `}${children}}`;
}

function childIdSpecs(t: DataType, mode: ColumnMappingMode): string | undefined {
  if (typeof t === 'string') return undefined;
  const entries: string[] = [];
  switch (t.type) {
    case 'decimal':
      return undefined;
    case 'struct':
      for (const f of t.fields) {
        const spec = fieldIdSpec(f, mode);
        if (spec !== undefined) entries.push(`${quoteIdent(physicalName(f, mode))}: ${spec}`);
      }
      break;
    case 'array': {
      const inner = childIdSpecs(t.elementType, mode);
      if (inner !== undefined) entries.push(`element: {${inner}}`);
      break;
    }
    case 'map': {
      const k = childIdSpecs(t.keyType, mode);
      const v = childIdSpecs(t.valueType, mode);
      if (k !== undefined) entries.push(`key: {${k}}`);
      if (v !== undefined) entries.push(`value: {${v}}`);
      break;
    }
  }
  return entries.length === 0 ? undefined : entries.join(', ');
}

/** PROTOCOL.md: Column Mapping: `delta.columnMapping.id` as the Parquet field_id of each (nested) field. */
function fieldIdsOption(dataFields: StructField[], mode: ColumnMappingMode): string | undefined {
  const entries: string[] = [];
  for (const f of dataFields) {
    const spec = fieldIdSpec(f, mode);
    if (spec !== undefined) entries.push(`${quoteIdent(physicalName(f, mode))}: ${spec}`);
  }
  return entries.length === 0 ? undefined : `{${entries.join(', ')}}`;
}

/** Characters java.net.URI leaves as they are in a path (unreserved, punctuation, `@`): what Spark writes raw. */
const URI_PATH_SAFE = /^[A-Za-z0-9\-_.!~*'(),;:$&+=@]$/;
const UNICODE_SPACE_OR_CONTROL = /^[\p{Cc}\p{Zs}\p{Zl}\p{Zp}]$/u;

/**
 * One segment of add.path (PROTOCOL.md: Add File and Remove File, a relative URI), percent-encoded as Spark does
 * (Hadoop Path → java.net.URI): `%`, space and other illegal ASCII as %XX, non-ASCII characters kept, so that the
 * Hive escape `%3A` in a directory name appears as `%253A`. decodeURIComponent restores the storage name.
 */
function encodePathSegment(segment: string): string {
  let out = '';
  for (const ch of segment) {
    if (URI_PATH_SAFE.test(ch) || (ch.codePointAt(0)! > 0x7f && !UNICODE_SPACE_OR_CONTROL.test(ch))) {
      out += ch;
    } else {
      for (const b of new TextEncoder().encode(ch)) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
    }
  }
  return out;
}
