import type { DataType, ColumnMappingMode } from '../delta/schema.js';
import { physicalName } from '../delta/schema.js';
import type { ScanColumn, ScanFile, ScanPlan } from '../delta/scan.js';
import { partitionValueSqlLiteral } from '../delta/partition-values.js';
import type { ParquetColumn } from '../delta/parquet-footer.js';
import { duckDbType, quoteIdent, quoteString } from './duckdb-types.js';

/**
 * How the compiled SQL reconciles data files whose schemas differ (files written before a schema change lack the
 * columns added since, and may hold narrower types):
 *
 * - `safe`: `union_by_name` over the files plus a typed empty row source joined BY NAME, so a column that no file
 *   has yet (added by a metadata-only commit) reads as NULL. That UNION makes DuckDB read at least one column of
 *   every file, even for `count(*)`.
 * - `union`: `union_by_name` over the files, no UNION: DuckDB reads only the columns a query needs (`count(*)` reads
 *   Parquet footers only). A column of the schema that no file has makes DuckDB refuse the SELECT when it binds
 *   (Binder Error naming the column): compile again with `safe` then.
 * - `uniform`: like `union` without `union_by_name`: DuckDB takes the schema from the first file and matches the
 *   others' columns by name, so a query opens only the files it reads. Only for files known to have the same columns
 *   with the same Parquet types (checked, e.g., with `parquet_schema`): a later file lacking a column fails the query,
 *   and a later file with a wider type would be narrowed to the first file's.
 */
export type SchemaReconciliation = 'safe' | 'union' | 'uniform';

/** How the compiled SQL reaches the files. */
export interface CompileOptions {
  /** The location DuckDB reads a file from: a local path, or a (signed) URL. */
  fileUrl: (file: ScanFile) => string;
  /** See `SchemaReconciliation`; default `safe`. */
  schema?: SchemaReconciliation;
  /**
   * The top-level physical columns of a file and their Parquet types, when known (from its footer). When every file
   * has the same ones, of the same types, covering the schema, the files are read without `union_by_name` (DuckDB then
   * binds the first file only). Names alone are not enough: DuckDB reads every file as the first file's types, and
   * drops the rows of a later file whose values do not fit (a column widened from INT to BIGINT).
   */
  fileColumns?: (file: ScanFile) => readonly ParquetColumn[] | null | undefined;
}

/** Virtual columns `read_parquet` adds (`filename=true`, `file_row_number=true`); a data column of that name blocks them. */
const FILENAME = 'filename';
const FILE_ROW_NUMBER = 'file_row_number';

/** The Delta type as stored in files: struct fields renamed to their physical names. */
function physicalType(t: DataType, mode: ColumnMappingMode): DataType {
  if (typeof t !== 'object' || mode === 'none') return t;
  switch (t.type) {
    case 'struct':
      return {
        type: 'struct',
        fields: t.fields.map((f) => ({ ...f, name: physicalName(f, mode), type: physicalType(f.type, mode) })),
      };
    case 'array':
      return { ...t, elementType: physicalType(t.elementType, mode) };
    case 'map':
      return { ...t, keyType: physicalType(t.keyType, mode), valueType: physicalType(t.valueType, mode) };
    default:
      return t;
  }
}

function hasStruct(t: DataType): boolean {
  if (typeof t !== 'object') return false;
  if (t.type === 'struct') return true;
  if (t.type === 'array') return hasStruct(t.elementType);
  if (t.type === 'map') return hasStruct(t.keyType) || hasStruct(t.valueType);
  return false;
}

/** SQL rebuilding a value read with physical names into the logical type (renames nested struct fields). */
function logicalValue(expr: string, t: DataType, mode: ColumnMappingMode, depth: number): string {
  if (typeof t !== 'object') return `CAST(${expr} AS ${duckDbType(t)})`;
  if (t.type === 'decimal') return `CAST(${expr} AS ${duckDbType(t)})`;
  if (mode === 'none' || !hasStruct(t)) return expr;
  if (t.type === 'struct') {
    const parts = t.fields.map((f) => `${quoteIdent(f.name)} := ${logicalValue(`${expr}.${quoteIdent(physicalName(f, mode))}`, f.type, mode, depth + 1)}`);
    return `CASE WHEN ${expr} IS NULL THEN NULL ELSE struct_pack(${parts.join(', ')}) END`;
  }
  if (t.type === 'array') {
    const v = `__e${depth}`;
    return `list_transform(${expr}, ${v} -> ${logicalValue(v, t.elementType, mode, depth + 1)})`;
  }
  return expr;
}

function readParquet(urls: readonly string[], flags: { unionByName: boolean; filename: boolean; rowNumber: boolean }): string {
  const list = `[${urls.map(quoteString).join(', ')}]`;
  // Never let DuckDB derive columns from `key=value` folders: partition values come from the plan (typed, unescaped).
  const opts = ['hive_partitioning=false'];
  if (flags.unionByName) opts.push('union_by_name=true');
  if (flags.filename) opts.push('filename=true');
  if (flags.rowNumber) opts.push('file_row_number=true');
  return `read_parquet(${list}, ${opts.join(', ')})`;
}

/** A typed, empty row source holding every physical data column (so that columns no file has exist, as NULL). */
function typedEmpty(plan: ScanPlan): string {
  const dataCols = plan.columns.filter((c) => !c.isPartition);
  const cols = dataCols.map((c) => `CAST(NULL AS ${duckDbType(physicalType(c.type, plan.columnMappingMode))}) AS ${quoteIdent(c.physicalName)}`);
  return `SELECT ${cols.length > 0 ? cols.join(', ') : '1 AS __lh_dummy'} WHERE false`;
}

/** The files grouped by a key, groups in order of first appearance. */
function groupBy<K>(files: readonly ScanFile[], key: (f: ScanFile) => K): Map<K, ScanFile[]> {
  const out = new Map<K, ScanFile[]>();
  for (const f of files) {
    const k = key(f);
    let g = out.get(k);
    if (!g) out.set(k, (g = []));
    g.push(f);
  }
  return out;
}

/**
 * The value of a partition column for the row's file: a literal when every file shares it, else a CASE over
 * `filename` (the most common value as the ELSE branch keeps the SQL short). DuckDB evaluates it once per file
 * chunk (the filename is constant within one), and prunes files on filters over it before reading them.
 */
function partitionValueSql(c: ScanColumn, files: readonly ScanFile[], urlOf: (f: ScanFile) => string): string {
  const groups = [...groupBy(files, (f) => f.partitionValues[c.name] ?? null)];
  const literal = (raw: string | null): string => partitionValueSqlLiteral(raw, c.type);
  if (groups.length === 1) return literal(groups[0][0]);
  let largest = 0;
  for (let i = 1; i < groups.length; i++) if (groups[i][1].length > groups[largest][1].length) largest = i;
  const whens = groups
    .filter((_g, i) => i !== largest)
    .map(([raw, fs]) => `WHEN ${FILENAME} IN (${fs.map((f) => quoteString(urlOf(f))).join(', ')}) THEN ${literal(raw)}`);
  return `CASE ${whens.join(' ')} ELSE ${literal(groups[largest][0])} END`;
}

/**
 * Compiles a scan plan into one DuckDB SELECT that yields the logical table: logical column names in schema order,
 * typed partition values as columns, rows deleted by deletion vectors removed, and columns missing from older files
 * (schema evolution) as NULL. All files are read by ONE `read_parquet` (partition values attached by file name, rows
 * deleted by deletion vectors dropped by file name and row number), so DuckDB reads only the columns and files a query
 * needs: filters on partition columns skip the other files before they are opened. Pure; works for DuckDB for Node
 * and DuckDB-WASM (0.9.2) alike. An empty plan yields a typed SELECT without rows.
 */
export function compileScanSql(plan: ScanPlan, options: CompileOptions): string {
  if (plan.files.length === 0) {
    const cols = plan.columns.map((c) => `CAST(NULL AS ${duckDbType(c.type)}) AS ${quoteIdent(c.name)}`);
    return `SELECT ${cols.join(', ')} WHERE false`;
  }
  const dataNames = new Set(plan.columns.filter((c) => !c.isPartition).map((c) => c.physicalName.toLowerCase()));
  // A data column named like a virtual column would clash with it: read such tables one partition at a time.
  if (dataNames.has(FILENAME) || dataNames.has(FILE_ROW_NUMBER)) return compileByPartition(plan, options);

  const mode = plan.columnMappingMode;
  const schema = options.schema ?? 'safe';
  const urls = new Map(plan.files.map((f) => [f, options.fileUrl(f)]));
  const urlOf = (f: ScanFile): string => urls.get(f) as string;
  const withDeletes = plan.files.filter((f) => f.deletedRows && f.deletedRows.length > 0);
  const partitionSql = new Map(plan.columns.filter((c) => c.isPartition).map((c) => [c.name, partitionValueSql(c, plan.files, urlOf)]));
  const needsFilename = withDeletes.length > 0 || [...partitionSql.values()].some((s) => s.startsWith('CASE '));

  const select = plan.columns.map((c) => {
    const value = c.isPartition ? (partitionSql.get(c.name) as string) : logicalValue(quoteIdent(c.physicalName), c.type, mode, 0);
    return `${value} AS ${quoteIdent(c.name)}`;
  });
  const flags = { filename: needsFilename, rowNumber: withDeletes.length > 0 };
  // When every file is known to have the same columns of the same types, covering the schema, one read_parquet without
  // union_by_name: DuckDB binds the first file only instead of opening every file at every query. Files of several
  // column sets keep union_by_name: splitting them into UNION ALL branches would cost count(*) its metadata-only plan.
  const sets = new Set(plan.files.map((f) => JSON.stringify(options.fileColumns?.(f) ?? null)));
  const only = sets.size === 1 ? (JSON.parse([...sets][0]) as ParquetColumn[] | null) : null;
  const known = only ? new Set(only.map((c) => c.name.toLowerCase())) : null;
  const sameColumns = known !== null && plan.files.length > 1 && plan.columns.every((c) => c.isPartition || known.has(c.physicalName.toLowerCase()));
  const files = readParquet([...urls.values()], { ...flags, unionByName: !sameColumns && schema !== 'uniform' && plan.files.length > 1 });
  const source = schema === 'safe' && !sameColumns ? `(${typedEmpty(plan)} UNION ALL BY NAME SELECT * FROM ${files})` : files;
  let where = '';
  if (withDeletes.length > 0) {
    const cases = withDeletes.map((f) => `WHEN ${quoteString(urlOf(f))} THEN ${FILE_ROW_NUMBER} NOT IN (${(f.deletedRows as number[]).join(', ')})`);
    where = ` WHERE CASE ${FILENAME} ${cases.join(' ')} ELSE TRUE END`;
  }
  return `SELECT ${select.join(', ')} FROM ${source}${where}`;
}

/** The per-partition shape: one `read_parquet` per partition value (and per file with deleted rows), joined by UNION ALL. */
function compileByPartition(plan: ScanPlan, options: CompileOptions): string {
  const mode = plan.columnMappingMode;
  const empty = typedEmpty(plan);
  const groups = new Map<string, ScanFile[]>();
  const branches: string[] = [];
  for (const f of plan.files) {
    if (f.deletedRows && f.deletedRows.length > 0) {
      branches.push(branch([f], f.deletedRows));
      continue;
    }
    const id = JSON.stringify(plan.partitionColumns.map((p) => f.partitionValues[p] ?? null));
    let g = groups.get(id);
    if (!g) groups.set(id, (g = []));
    g.push(f);
  }
  for (const g of groups.values()) branches.unshift(branch(g, null));
  return branches.length === 1 ? branches[0] : branches.map((b) => `(${b})`).join('\nUNION ALL\n');

  function branch(files: ScanFile[], deleted: number[] | null): string {
    const first = files[0];
    const select = plan.columns.map((c) => {
      if (c.isPartition) return `${partitionValueSqlLiteral(first.partitionValues[c.name] ?? null, c.type)} AS ${quoteIdent(c.name)}`;
      return `${logicalValue(quoteIdent(c.physicalName), c.type, mode, 0)} AS ${quoteIdent(c.name)}`;
    });
    const rp = readParquet(files.map(options.fileUrl), { unionByName: true, filename: false, rowNumber: deleted !== null });
    const source = `(${empty} UNION ALL BY NAME SELECT * FROM ${rp})`;
    const where = deleted ? ` WHERE ${FILE_ROW_NUMBER} NOT IN (${deleted.join(', ')})` : '';
    return `SELECT ${select.join(', ')} FROM ${source}${where}`;
  }
}
