import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { AddAction } from '../delta/actions.js';
import { partitionPathSegment, serializePartitionValue } from '../delta/partition-values.js';
import type { ColumnMappingMode, DataType, StructField, StructType } from '../delta/schema.js';
import { physicalName, typeToString } from '../delta/schema.js';
import { LakehouseError, isLakehouseError } from '../errors.js';
import { duckDbType, quoteIdent, quoteString } from '../sql/duckdb-types.js';
import type { Clock, Storage } from '../storage/storage.js';
import { joinKey } from '../storage/storage.js';

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
  /** Largest number of rows in one file (default 1,000,000); larger partitions are split. */
  maxRowsPerFile?: number;
  /** Source of add.modificationTime. */
  clock: Clock;
  /** add.dataChange (default true). */
  dataChange?: boolean;
}

const DEFAULT_MAX_ROWS_PER_FILE = 1_000_000;
/** PROTOCOL.md: Per-file Statistics: string bounds are cut to a prefix of this many characters. */
const STRING_STATS_PREFIX = 32;
const FIELD_ID_KEY = 'delta.columnMapping.id';
const TABLE_NAME_RE = /^\s*(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)(?:\s*\.\s*(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*))*\s*$/;
const JSON_NUMBER_RE = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
const DATE_TEXT_RE = /^\d{4}-\d{2}-\d{2}$/;
const TIMESTAMP_TEXT_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** One primitive leaf (or array/map column) of the data schema that gets statistics. */
interface StatsLeaf {
  /** Physical names from the top-level column down to the leaf: the stats JSON path. */
  statsPath: string[];
  /** SQL expression of the value in the staging table. */
  expr: string;
  type: DataType;
  /** Whether min/max are collected (false: only nullCount). */
  minMax: boolean;
}

/** A stats JSON tree whose leaves are JSON texts (so big integers and decimals stay exact). */
type JsonTree = Map<string, JsonTree | string>;

/**
 * Writes the source rows as Parquet data files under the table: Hive-style `col=value/` directories per partition
 * (partition columns are not stored in the files), files named `part-NNNNN-<uuid>.c000.snappy.parquet`, at most
 * `maxRowsPerFile` rows each, columns cast to the table types under their physical names (with Parquet field ids
 * under column mapping; timestamps as UTC-adjusted, timestamp_ntz as local Parquet timestamps). Returns one add
 * action per file with a percent-encoded relative path, size, modificationTime, partitionValues (serialized per
 * PROTOCOL.md: Partition Value Serialization, keyed by physical names) and stats (numRecords, minValues,
 * maxValues, nullCount keyed by physical names, nested structs nested; integers and decimals as exact JSON
 * numbers, strings cut to 32 characters, timestamps cut to milliseconds). Nothing is committed: the files stay
 * invisible to readers until the caller commits the adds; if the write fails, files already written are deleted
 * (best effort). An empty source writes nothing and returns []. Throws SCHEMA_MISMATCH when the source columns do not
 * match the schema, INVALID_INPUT for values that do not convert or nulls in non-nullable columns.
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

  const staging = `__delta_write_${randomUUID().replace(/-/g, '')}`;
  const restoreTimeZone = await useUtc(connection);
  const writtenKeys: string[] = [];
  try {
    await stage(opts, staging, columnTypes, partitionIndexes, maxRows);
    await checkNotNull(connection, staging, fields);

    const leaves = dataIndexes.flatMap((i) => statsLeaves(fields[i], `c${i}`, mode));
    const groups = await readGroups(connection, staging, fields, partitionIndexes, leaves);
    if (groups.length === 0) return [];

    const fieldIds = mode === 'none' ? undefined : fieldIdsOption(dataIndexes.map((i) => fields[i]), mode);
    const projection = dataIndexes
      .map((i) => `CAST(${renameNested(`"c${i}"`, fields[i].type, mode, 0)} AS ${physicalTypes[i]}) AS ${quoteIdent(physicalNames[i])}`)
      .join(', ');
    const copyOptions = `FORMAT parquet, COMPRESSION snappy${fieldIds ? `, FIELD_IDS ${fieldIds}` : ''}`;

    const localPath = storage.localPath?.bind(storage);
    const scratch = localPath ? undefined : await mkdtemp(path.join(tmpdir(), 'lakehouse-write-'));
    try {
      const adds: AddAction[] = [];
      for (let n = 0; n < groups.length; n++) {
        const g = groups[n];
        const partitionValues: Record<string, string | null> = {};
        const dirs: string[] = [];
        partitionIndexes.forEach((fi, k) => {
          const value = g.partitionValues[k];
          partitionValues[physicalNames[fi]] = value;
          dirs.push(partitionPathSegment(physicalNames[fi], value));
        });
        const fileName = `part-${String(n).padStart(5, '0')}-${randomUUID()}.c000.snappy.parquet`;
        const relative = [...dirs, fileName];
        const key = joinKey(opts.tableKey, ...relative);
        const copySql = (target: string): string =>
          `COPY (SELECT ${projection} FROM ${staging} WHERE __pid = ${g.pid} AND __chunk = ${g.chunk}) TO ${quoteString(target)} (${copyOptions})`;

        let size: number;
        if (localPath) {
          const target = localPath(key);
          await mkdir(path.dirname(target), { recursive: true });
          writtenKeys.push(key);
          await run(connection, copySql(target), `writing ${key}`);
          size = (await stat(target)).size;
        } else {
          const target = path.join(scratch as string, `${n}.parquet`);
          await run(connection, copySql(target), `writing ${key}`);
          const bytes = await readFile(target);
          await rm(target, { force: true });
          writtenKeys.push(key);
          await storage.put(key, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
          size = bytes.byteLength;
        }
        adds.push({
          path: relative.map(encodePathSegment).join('/'),
          partitionValues,
          size,
          modificationTime: clock.now(),
          dataChange,
          stats: g.stats,
        });
      }
      return adds;
    } finally {
      if (scratch) await rm(scratch, { recursive: true, force: true });
    }
  } catch (e) {
    await Promise.all(writtenKeys.map((k) => storage.delete(k).catch(() => undefined)));
    throw e;
  } finally {
    await connection.run(`DROP TABLE IF EXISTS ${staging}`).catch(() => undefined);
    await restoreTimeZone();
  }
}

/** Runs SQL, turning DuckDB errors into INVALID_INPUT that say what was being done. */
async function run(connection: DuckDBConnection, sql: string, doing: string): Promise<void> {
  try {
    await connection.run(sql);
  } catch (e) {
    throw duckError(e, doing);
  }
}

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
 * Materializes the source once into a temp table `c0..cN` (cast to the logical DuckDB types, in schema order) plus
 * `__pid` (partition tuple number) and `__chunk` (file number within the partition), sorted by both so that each
 * per-file COPY scans only its own row groups.
 */
async function stage(
  opts: WriteDataFilesOptions,
  staging: string,
  columnTypes: string[],
  partitionIndexes: number[],
  maxRows: number,
): Promise<void> {
  const { connection, schema } = opts;
  const relation = sourceRelation(opts.source);
  const described = await rows(connection, `DESCRIBE SELECT * FROM ${relation} AS src`, 'reading the source columns');
  const sourceColumns = described.map((r) => String(r.column_name));
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

  const casts = schema.fields
    .map((f, i) => `CAST(src.${quoteIdent(byLower.get(f.name.toLowerCase()) as string)} AS ${columnTypes[i]}) AS "c${i}"`)
    .join(', ');
  const partCols = partitionIndexes.map((i) => `"c${i}"`).join(', ');
  const pid = partitionIndexes.length === 0 ? '0' : `dense_rank() OVER (ORDER BY ${partCols}) - 1`;
  const chunk = `(row_number() OVER (${partitionIndexes.length === 0 ? '' : `PARTITION BY ${partCols}`}) - 1) // ${maxRows}`;
  await run(
    connection,
    `CREATE TEMP TABLE ${staging} AS SELECT *, ${pid} AS __pid, ${chunk} AS __chunk ` +
      `FROM (SELECT ${casts} FROM ${relation} AS src) ORDER BY __pid, __chunk`,
    'converting the source rows to the table schema',
  );
}

/** Refuses nulls in top-level columns declared non-nullable. */
async function checkNotNull(connection: DuckDBConnection, staging: string, fields: StructField[]): Promise<void> {
  const required = fields.map((f, i) => ({ f, i })).filter(({ f }) => !f.nullable);
  if (required.length === 0) return;
  const r = await rows(
    connection,
    `SELECT ${required.map(({ i }) => `CAST(count(*) FILTER (WHERE "c${i}" IS NULL) AS VARCHAR) AS n${i}`).join(', ')} FROM ${staging}`,
    'checking non-nullable columns',
  );
  for (const { f, i } of required) {
    const n = Number(r[0]?.[`n${i}`] ?? 0);
    if (n > 0) {
      throw new LakehouseError('INVALID_INPUT', `column "${f.name}" is not nullable but ${n} row(s) to write have a null`, {
        column: f.name,
        nullRows: n,
      });
    }
  }
}

/** The statistics leaves of one data column: primitives (min/max unless binary), arrays and maps (nullCount only). */
function statsLeaves(field: StructField, expr: string, mode: ColumnMappingMode, parent: string[] = []): StatsLeaf[] {
  const statsPath = [...parent, physicalName(field, mode)];
  const column = parent.length === 0 ? `"${expr}"` : expr;
  const t = field.type;
  if (typeof t === 'object' && t.type === 'struct') {
    return t.fields.flatMap((f) => statsLeaves(f, `struct_extract(${column}, ${quoteString(f.name)})`, mode, statsPath));
  }
  const minMax = typeof t === 'string' ? t !== 'binary' && t !== 'variant' : t.type === 'decimal';
  return [{ statsPath, expr: column, type: t, minMax }];
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

interface FileGroup {
  pid: number;
  chunk: number;
  partitionValues: (string | null)[];
  stats: string;
}

/** One aggregate query over the staging table: per file, the partition values and the stats JSON. */
async function readGroups(
  connection: DuckDBConnection,
  staging: string,
  fields: StructField[],
  partitionIndexes: number[],
  leaves: StatsLeaf[],
): Promise<FileGroup[]> {
  const cols = [
    'CAST(__pid AS VARCHAR) AS pid',
    'CAST(__chunk AS VARCHAR) AS chunk',
    'CAST(count(*) AS VARCHAR) AS n',
    ...partitionIndexes.map((fi, k) => `any_value(${partitionValueSql(`"c${fi}"`, fields[fi].type)}) AS p${k}`),
    ...leaves.flatMap((leaf, k) => [
      `CAST(count(*) - count(${leaf.expr}) AS VARCHAR) AS z${k}`,
      ...(leaf.minMax ? [`${boundSql('min', leaf)} AS lo${k}`, `${boundSql('max', leaf)} AS hi${k}`] : []),
    ]),
  ];
  const result = await rows(
    connection,
    `SELECT ${cols.join(', ')} FROM ${staging} GROUP BY __pid, __chunk ORDER BY __pid, __chunk`,
    'computing file statistics',
  );
  return result.map((r) => {
    const minValues: JsonTree = new Map();
    const maxValues: JsonTree = new Map();
    const nullCount: JsonTree = new Map();
    leaves.forEach((leaf, k) => {
      setPath(nullCount, leaf.statsPath, String(r[`z${k}`]));
      if (!leaf.minMax) return;
      const lo = boundJson(r[`lo${k}`], leaf.type, 'min');
      const hi = boundJson(r[`hi${k}`], leaf.type, 'max');
      if (lo !== undefined) setPath(minValues, leaf.statsPath, lo);
      if (hi !== undefined) setPath(maxValues, leaf.statsPath, hi);
    });
    const stats =
      `{"numRecords":${String(r.n)},"minValues":${treeJson(minValues)},` +
      `"maxValues":${treeJson(maxValues)},"nullCount":${treeJson(nullCount)}}`;
    return {
      pid: Number(r.pid),
      chunk: Number(r.chunk),
      partitionValues: partitionIndexes.map((fi, k) => partitionValueFromText(r[`p${k}`], fields[fi].type)),
      stats,
    };
  });
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
