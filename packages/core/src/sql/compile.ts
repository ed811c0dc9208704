import type { DataType, ColumnMappingMode } from '../delta/schema.js';
import { physicalName } from '../delta/schema.js';
import type { ScanFile, ScanPlan } from '../delta/scan.js';
import { partitionValueSqlLiteral } from '../delta/partition-values.js';
import { duckDbType, quoteIdent, quoteString } from './duckdb-types.js';

/** How the compiled SQL reaches the files. */
export interface CompileOptions {
  /** The location DuckDB reads a file from: a local path, or a (signed) URL. */
  fileUrl: (file: ScanFile) => string;
}

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

function readParquet(urls: string[], withRowNumber: boolean): string {
  const list = `[${urls.map(quoteString).join(', ')}]`;
  return `read_parquet(${list}, union_by_name=true${withRowNumber ? ', file_row_number=true' : ''})`;
}

/**
 * Compiles a scan plan into one DuckDB SELECT that yields the logical table: logical column names in schema order,
 * typed partition values as columns, rows deleted by deletion vectors removed, and columns missing from older files
 * (schema evolution) as NULL. Pure; works for DuckDB for Node and DuckDB-WASM alike.
 */
export function compileScanSql(plan: ScanPlan, options: CompileOptions): string {
  const mode = plan.columnMappingMode;
  const dataCols = plan.columns.filter((c) => !c.isPartition);
  // A typed, empty branch so every physical column exists even when no file of a group has it.
  const typedEmpty = `SELECT ${
    dataCols.length > 0 ? dataCols.map((c) => `CAST(NULL AS ${duckDbType(physicalType(c.type, mode))}) AS ${quoteIdent(c.physicalName)}`).join(', ') : '1 AS __lh_dummy'
  } WHERE false`;

  if (plan.files.length === 0) {
    const cols = plan.columns.map((c) => `CAST(NULL AS ${duckDbType(c.type)}) AS ${quoteIdent(c.name)}`);
    return `SELECT ${cols.join(', ')} WHERE false`;
  }

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
    const source = `(${typedEmpty} UNION ALL BY NAME SELECT * FROM ${readParquet(files.map(options.fileUrl), deleted !== null)})`;
    const where = deleted ? ` WHERE file_row_number NOT IN (${deleted.join(', ')})` : '';
    return `SELECT ${select.join(', ')} FROM ${source}${where}`;
  }
}
