import { LakehouseError } from '../errors.js';
import type { DeletionVectorDescriptor } from './actions.js';
import { deletionVectorRelativePath, loadDeletionVector } from './deletion-vector.js';
import type { Expr } from './expression.js';
import { parsePredicate, predicateToSql } from './expression.js';
import { parsePartitionValue } from './partition-values.js';
import { fileKey } from './paths.js';
import type { ColumnMappingMode, DataType, StructField, StructType } from './schema.js';
import { physicalName } from './schema.js';
import type { Snapshot } from './snapshot.js';
import { statsOf } from './snapshot.js';
import type { ColumnFacts } from './stats.js';
import { mayMatch, partitionColumnFacts, statsColumnFacts } from './stats.js';

/** A column of the logical table a scan produces. */
export interface ScanColumn {
  /** Logical name. */
  name: string;
  /** Name in the Parquet files (equal to `name` without column mapping); unused for partition columns. */
  physicalName: string;
  type: DataType;
  nullable: boolean;
  isPartition: boolean;
  /** The schema field (for nested column mapping). */
  field: StructField;
}

/** A data file a scan must read. */
export interface ScanFile {
  /** Storage key of the Parquet file. */
  key: string;
  /** `add.path` as in the log. */
  path: string;
  size: number;
  /** Raw serialized partition values keyed by LOGICAL column name. */
  partitionValues: Record<string, string | null>;
  /** Rows in the file from stats (before deletion vectors), when known. */
  numRecords: number | null;
  deletionVector: DeletionVectorDescriptor | null;
  /** Row positions deleted by the deletion vector, ascending (filled when the plan loads DVs). */
  deletedRows?: number[];
}

/** What to read for a table version and predicate: the logical columns and the files that can match. */
export interface ScanPlan {
  version: number;
  columns: ScanColumn[];
  partitionColumns: string[];
  columnMappingMode: ColumnMappingMode;
  files: ScanFile[];
  /** Files in the snapshot before pruning. */
  totalFiles: number;
  /** The pruning predicate as DuckDB SQL (null when none). */
  predicate: string | null;
}

/** Options for planning a scan. */
export interface PlanOptions {
  /** Predicate over logical columns, as an expression or SQL text. Unparseable SQL throws INVALID_INPUT. */
  predicate?: Expr | string | null;
  /** Load deletion vectors into `deletedRows` (default true). */
  loadDeletionVectors?: boolean;
}

/** The logical columns of a snapshot's schema. */
export function scanColumns(schema: StructType, partitionColumns: readonly string[], mode: ColumnMappingMode): ScanColumn[] {
  const parts = new Set(partitionColumns);
  return schema.fields.map((f) => ({
    name: f.name,
    physicalName: physicalName(f, mode),
    type: f.type,
    nullable: f.nullable,
    isPartition: parts.has(f.name),
    field: f,
  }));
}

/**
 * Plans a scan: the snapshot's live files, pruned by partition values and min/max/null-count stats. Never drops a
 * file that could hold a matching row; files without stats are always kept.
 */
export async function planScan(snapshot: Snapshot, options: PlanOptions = {}): Promise<ScanPlan> {
  const mode = snapshot.columnMappingMode;
  const columns = scanColumns(snapshot.schema, snapshot.partitionColumns, mode);
  const byName = new Map(columns.map((c) => [c.name, c]));
  const byLowerName = new Map(columns.map((c) => [c.name.toLowerCase(), c]));
  for (const p of snapshot.partitionColumns) {
    if (!byName.has(p)) throw new LakehouseError('CORRUPT_LOG', `partition column "${p}" is not in the table schema`, { column: p });
  }
  const pred: Expr | null =
    options.predicate === undefined || options.predicate === null
      ? null
      : typeof options.predicate === 'string'
        ? options.predicate.trim()
          ? parsePredicate(options.predicate)
          : null
        : options.predicate;
  const lookup = (name: string): ScanColumn | undefined => byName.get(name) ?? byLowerName.get(name.toLowerCase());
  const physicalPartitionKey = new Map(columns.filter((c) => c.isPartition).map((c) => [c.name, mode === 'none' ? c.name : c.physicalName]));

  const files: ScanFile[] = [];
  for (const add of snapshot.adds()) {
    const partitionValues: Record<string, string | null> = {};
    for (const [logical, physical] of physicalPartitionKey) {
      const raw = add.partitionValues[physical] ?? add.partitionValues[logical];
      partitionValues[logical] = raw === undefined ? null : raw;
    }
    const stats = statsOf(add);
    if (pred) {
      const facts = (name: string): ColumnFacts | undefined => {
        const [head, ...rest] = splitPath(name);
        const col = lookup(head);
        if (!col) return undefined;
        if (col.isPartition) {
          if (rest.length > 0) return undefined;
          return partitionColumnFacts(parsePartitionValue(partitionValues[col.name], col.type, col.name), stats?.numRecords);
        }
        const path = physicalPath(col, rest, mode);
        return path ? statsColumnFacts(stats, path) : undefined;
      };
      const types = (name: string): DataType | undefined => {
        const [head, ...rest] = splitPath(name);
        const col = lookup(head);
        return col ? nestedType(col.type, rest) : undefined;
      };
      if (!mayMatch(pred, facts, types)) continue;
    }
    files.push({
      key: fileKey(snapshot.table.tableKey, add.path, snapshot.table.storage.root),
      path: add.path,
      size: add.size,
      partitionValues,
      numRecords: stats?.numRecords ?? null,
      deletionVector: add.deletionVector ?? null,
    });
  }
  if (options.loadDeletionVectors !== false) await loadScanDeletionVectors(snapshot, files);
  return {
    version: snapshot.version,
    columns,
    partitionColumns: [...snapshot.partitionColumns],
    columnMappingMode: mode,
    files,
    totalFiles: snapshot.numFiles,
    predicate: pred ? predicateToSql(pred) : null,
  };
}

/** Fills `deletedRows` of every file that has a deletion vector, reading DV files through the table's storage. */
export async function loadScanDeletionVectors(snapshot: Snapshot, files: ScanFile[]): Promise<void> {
  const { storage, tableKey } = snapshot.table;
  await Promise.all(
    files
      .filter((f) => f.deletionVector && !f.deletedRows)
      .map(async (f) => {
        const dv = f.deletionVector!;
        f.deletedRows = await loadDeletionVector(dv, async (p, range) => {
          const key = dv.storageType === 'u' ? fileKey(tableKey, deletionVectorRelativePath(dv), storage.root) : fileKey(tableKey, p, storage.root);
          return storage.get(key, range);
        });
      }),
  );
}

function splitPath(name: string): string[] {
  return name.split('.');
}

function physicalPath(col: ScanColumn, rest: string[], mode: ColumnMappingMode): string[] | null {
  const out = [col.physicalName];
  let t: DataType = col.type;
  for (const seg of rest) {
    if (typeof t !== 'object' || t.type !== 'struct') return null;
    const f = t.fields.find((x) => x.name === seg) ?? t.fields.find((x) => x.name.toLowerCase() === seg.toLowerCase());
    if (!f) return null;
    out.push(physicalName(f, mode));
    t = f.type;
  }
  return out;
}

function nestedType(t: DataType, rest: string[]): DataType | undefined {
  let cur: DataType = t;
  for (const seg of rest) {
    if (typeof cur !== 'object' || cur.type !== 'struct') return undefined;
    const f = cur.fields.find((x) => x.name === seg) ?? cur.fields.find((x) => x.name.toLowerCase() === seg.toLowerCase());
    if (!f) return undefined;
    cur = f.type;
  }
  return cur;
}

/** Rows the plan will return according to stats (numRecords minus DV cardinality), or null if a file lacks stats. */
export function planRowCount(plan: ScanPlan): number | null {
  let n = 0;
  for (const f of plan.files) {
    if (f.numRecords === null) return null;
    n += f.numRecords - (f.deletionVector?.cardinality ?? 0);
  }
  return n;
}
