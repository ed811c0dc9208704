import { LakehouseError, isLakehouseError } from '../../errors.js';
import { compileScanSql } from '../../sql/compile.js';
import { quoteIdent } from '../../sql/duckdb-types.js';
import type { Clock } from '../../storage/storage.js';
import { systemClock } from '../../storage/storage.js';
import type { Action, AddAction } from '../actions.js';
import type { Expr } from '../expression.js';
import { parsePredicate, predicateToSql } from '../expression.js';
import type { ScanFile, ScanPlan } from '../scan.js';
import { loadScanDeletionVectors, planScan } from '../scan.js';
import type { DataType } from '../schema.js';
import type { Snapshot, TableRef } from '../snapshot.js';
import { Snapshot as SnapshotClass, statsOf } from '../snapshot.js';
import { Transaction, partitionMatches } from '../transaction.js';
import type { DataEngine } from './engine.js';
import { addsMetrics, removeFor } from './metrics.js';
import { assertPartitionPredicate } from './overwrite.js';
import type { OperationHooks } from './progress.js';
import { progressReporter, throwIfCancelled } from './progress.js';
import { MAX_ZORDER_COLUMNS, ZORDER_KEY_COLUMN, zOrderKeySql, zOrderRangeConditions } from './zorder.js';

/** Default target size of files written by OPTIMIZE when `delta.targetFileSize` is not set (128 MiB). */
export const DEFAULT_TARGET_FILE_SIZE = 128 * 1024 * 1024;

/** Default share of deleted rows above which a file with a deletion vector is rewritten even when large (5%). */
export const DEFAULT_MAX_DELETED_ROWS_RATIO = 0.05;

/** Options of OPTIMIZE. */
export interface OptimizeOptions extends OperationHooks {
  /** Only partitions matching this SQL predicate over partition columns are optimized. */
  predicate?: string;
  /** ZORDER BY: cluster the rows of each selected partition by these (non-partition, primitive) columns. */
  zOrderBy?: string[];
  /** Target size of written files in bytes (default: `delta.targetFileSize`, else 128 MiB). */
  targetFileSize?: number;
  /** Files at least this large are left alone by compaction (default: 3/4 of the target size). */
  minFileSize?: number;
  /** Files whose deletion vector removes more than this share of rows are rewritten regardless of size (default 0.05). */
  maxDeletedRowsRatio?: number;
  /** Only plan: report what would be rewritten, write and commit nothing. */
  dryRun?: boolean;
  /** Re-plans and retries this many times when a concurrent commit removed files being compacted (default 2). */
  retries?: number;
  /** The snapshot to optimize (loaded when absent; retries always load the latest). */
  snapshot?: Snapshot;
  clock?: Clock;
  userName?: string;
  commitExtra?: Record<string, unknown>;
}

/** One file OPTIMIZE would rewrite. */
export interface OptimizeFile {
  /** `add.path` as in the log. */
  path: string;
  size: number;
  /** Live rows (stats minus deletion vector), null when the file has no stats. */
  numRows: number | null;
  hasDeletionVector: boolean;
}

/** A group of files of one partition rewritten together into new files. */
export interface OptimizeBin {
  /** Serialized partition values keyed by logical column name. */
  partitionValues: Record<string, string | null>;
  files: OptimizeFile[];
  totalBytes: number;
  /** Number of files this bin is expected to produce (at least 1). */
  expectedOutputFiles: number;
}

/** What OPTIMIZE will do on one snapshot. */
export interface OptimizePlan {
  /** Version the plan was made on. */
  version: number;
  mode: 'compact' | 'zorder';
  zOrderBy: string[];
  /** The partition predicate as SQL, null when all partitions are considered. */
  predicate: string | null;
  targetFileSize: number;
  minFileSize: number;
  bins: OptimizeBin[];
  /** Files and bytes that would be rewritten. */
  numFiles: number;
  numBytes: number;
  /** Distinct partitions the bins touch. */
  numPartitions: number;
  /** Live files considered (after the partition predicate). */
  numFilesConsidered: number;
}

/** Metrics of OPTIMIZE. */
export interface OptimizeMetrics {
  /** The committed version, or the planned-on version when nothing was committed. */
  version: number;
  committed: boolean;
  dryRun: boolean;
  plan: OptimizePlan;
  numFilesRemoved: number;
  numFilesAdded: number;
  numBytesRemoved: number;
  numBytesAdded: number;
  numPartitionsOptimized: number;
  /** Rows written (from the new files' stats). */
  numRowsWritten: number;
  /** Re-plans after a concurrent commit removed files this run compacted. */
  retries: number;
  durationMs: number;
}

/** Parses a byte size such as `134217728`, `128mb` or `1 GiB` into bytes (null when malformed or not positive). */
export function parseByteSize(value: string | number | undefined | null): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'number') return Number.isSafeInteger(value) && value > 0 ? value : null;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib|t|tb|tib)?\s*$/i.exec(value);
  if (!m) return null;
  const unit = (m[2] ?? 'b').toLowerCase()[0];
  const mult = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[unit as 'b'];
  const n = Math.floor(Number(m[1]) * mult);
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}

function isPrimitive(t: DataType): boolean {
  return typeof t === 'string' || t.type === 'decimal';
}

/** Resolves ZORDER BY names to schema fields (case-insensitive), refusing partition, nested and unknown columns. */
function resolveZOrderColumns(snapshot: Snapshot, names: readonly string[]): string[] {
  if (names.length > MAX_ZORDER_COLUMNS) {
    throw new LakehouseError('INVALID_INPUT', `ZORDER BY takes at most ${MAX_ZORDER_COLUMNS} columns, got ${names.length}`, { columns: names.length });
  }
  const out: string[] = [];
  for (const name of names) {
    const f = snapshot.schema.fields.find((x) => x.name === name) ?? snapshot.schema.fields.find((x) => x.name.toLowerCase() === name.toLowerCase());
    if (!f) throw new LakehouseError('INVALID_INPUT', `ZORDER BY column "${name}" is not in the table schema`, { column: name });
    if (snapshot.partitionColumns.includes(f.name)) {
      throw new LakehouseError('INVALID_INPUT', `ZORDER BY column "${f.name}" is a partition column; files are already separated by it`, { column: f.name });
    }
    if (!isPrimitive(f.type)) {
      throw new LakehouseError('INVALID_INPUT', `ZORDER BY column "${f.name}" is not a primitive column; it has no min/max statistics to cluster for`, {
        column: f.name,
      });
    }
    if (out.includes(f.name)) throw new LakehouseError('INVALID_INPUT', `ZORDER BY column "${f.name}" is listed twice`, { column: f.name });
    out.push(f.name);
  }
  return out;
}

/**
 * Plans OPTIMIZE without touching data: per partition (after the optional partition predicate), compaction packs
 * files smaller than `minFileSize` (and files with many deleted rows) into bins of at most `targetFileSize` bytes,
 * skipping bins that would rewrite a single clean file; ZORDER BY makes one bin of all files of each partition
 * (skipping partitions of one clean file no larger than the target).
 */
export function planOptimize(snapshot: Snapshot, options: Omit<OptimizeOptions, 'snapshot'> = {}): OptimizePlan {
  const target = options.targetFileSize ?? parseByteSize(snapshot.properties['delta.targetFileSize']) ?? DEFAULT_TARGET_FILE_SIZE;
  if (!Number.isSafeInteger(target) || target <= 0) {
    throw new LakehouseError('INVALID_INPUT', `targetFileSize must be a positive number of bytes, got ${target}`, { targetFileSize: target });
  }
  const minFileSize = options.minFileSize ?? Math.floor((target * 3) / 4);
  if (!Number.isSafeInteger(minFileSize) || minFileSize < 0) {
    throw new LakehouseError('INVALID_INPUT', `minFileSize must be a non-negative number of bytes, got ${minFileSize}`, { minFileSize });
  }
  const maxDeletedRatio = options.maxDeletedRowsRatio ?? DEFAULT_MAX_DELETED_ROWS_RATIO;
  if (!(maxDeletedRatio >= 0 && maxDeletedRatio <= 1)) {
    throw new LakehouseError('INVALID_INPUT', `maxDeletedRowsRatio must be between 0 and 1, got ${maxDeletedRatio}`, { maxDeletedRowsRatio: maxDeletedRatio });
  }
  const zOrderBy = resolveZOrderColumns(snapshot, options.zOrderBy ?? []);
  let pred: Expr | null = null;
  if (options.predicate !== undefined && options.predicate.trim() !== '') {
    pred = parsePredicate(options.predicate);
    assertPartitionPredicate(snapshot, pred, 'the OPTIMIZE predicate');
  }

  const mode = snapshot.columnMappingMode;
  const partFields = snapshot.partitionColumns.map((p) => {
    const f = snapshot.schema.fields.find((x) => x.name === p);
    if (!f) throw new LakehouseError('CORRUPT_LOG', `partition column "${p}" is not in the table schema`, { column: p });
    return { logical: p, physical: mode === 'none' ? p : String(f.metadata['delta.columnMapping.physicalName']) };
  });
  const groups = new Map<string, { partitionValues: Record<string, string | null>; files: AddAction[] }>();
  let considered = 0;
  for (const add of snapshot.adds()) {
    if (pred && partitionMatches(snapshot, pred, add) !== true) continue;
    considered++;
    const pv: Record<string, string | null> = {};
    for (const p of partFields) pv[p.logical] = add.partitionValues[p.physical] ?? add.partitionValues[p.logical] ?? null;
    const id = JSON.stringify(partFields.map((p) => pv[p.logical]));
    let g = groups.get(id);
    if (!g) groups.set(id, (g = { partitionValues: pv, files: [] }));
    g.files.push(add);
  }

  const describe = (add: AddAction): OptimizeFile => {
    const n = statsOf(add)?.numRecords;
    return {
      path: add.path,
      size: add.size,
      numRows: typeof n === 'number' ? n - (add.deletionVector?.cardinality ?? 0) : null,
      hasDeletionVector: Boolean(add.deletionVector),
    };
  };
  const manyDeleted = (add: AddAction): boolean => {
    if (!add.deletionVector) return false;
    const n = statsOf(add)?.numRecords;
    // Without a row count the share is unknown: rewrite, which materializes the deletes.
    if (typeof n !== 'number' || n <= 0) return true;
    return add.deletionVector.cardinality / n > maxDeletedRatio;
  };

  const bins: OptimizeBin[] = [];
  const ids = [...groups.keys()].sort();
  for (const id of ids) {
    const g = groups.get(id)!;
    const files = [...g.files].sort((a, b) => a.size - b.size || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    if (zOrderBy.length > 0) {
      const total = files.reduce((s, f) => s + f.size, 0);
      if (files.length === 1 && !files[0].deletionVector && files[0].size <= target) continue;
      bins.push({ partitionValues: g.partitionValues, files: files.map(describe), totalBytes: total, expectedOutputFiles: Math.max(1, Math.ceil(total / target)) });
      continue;
    }
    let current: AddAction[] = [];
    let size = 0;
    const close = (): void => {
      if (current.length > 1 || (current.length === 1 && manyDeleted(current[0]))) {
        bins.push({ partitionValues: g.partitionValues, files: current.map(describe), totalBytes: size, expectedOutputFiles: 1 });
      }
      current = [];
      size = 0;
    };
    for (const f of files) {
      if (f.size >= minFileSize && !manyDeleted(f)) continue;
      if (current.length > 0 && size + f.size > target) close();
      current.push(f);
      size += f.size;
    }
    close();
  }
  const numFiles = bins.reduce((s, b) => s + b.files.length, 0);
  const numBytes = bins.reduce((s, b) => s + b.totalBytes, 0);
  const partitions = new Set(bins.map((b) => JSON.stringify(b.partitionValues)));
  return {
    version: snapshot.version,
    mode: zOrderBy.length > 0 ? 'zorder' : 'compact',
    zOrderBy,
    predicate: pred ? predicateToSql(pred) : null,
    targetFileSize: target,
    minFileSize,
    bins,
    numFiles,
    numBytes,
    numPartitions: partitions.size,
    numFilesConsidered: considered,
  };
}

/**
 * OPTIMIZE: rewrites the planned bins (compaction, or Z-order clustering) and commits the new files and the removal
 * of the old ones in one commit with dataChange=false, so the table's rows are exactly the same multiset (rows
 * hidden by deletion vectors are dropped for good). It only conflicts with concurrent commits that remove or
 * replace the same files (then it re-plans up to `retries` times); concurrent appends never conflict. Written
 * files of a failed, conflicting or cancelled run are deleted; cancellation never happens after the commit.
 */
export async function optimize(table: TableRef, engine: DataEngine, options: OptimizeOptions = {}): Promise<OptimizeMetrics> {
  const started = Date.now();
  const clock = options.clock ?? systemClock;
  const report = progressReporter(options);
  const maxRetries = options.retries ?? 2;
  let snapshot = options.snapshot ?? (await SnapshotClass.load(table));
  for (let attempt = 0; ; attempt++) {
    throwIfCancelled(options.signal, 'OPTIMIZE');
    const plan = planOptimize(snapshot, options);
    const empty = (committed: boolean, version: number): OptimizeMetrics => ({
      version,
      committed,
      dryRun: Boolean(options.dryRun),
      plan,
      numFilesRemoved: 0,
      numFilesAdded: 0,
      numBytesRemoved: 0,
      numBytesAdded: 0,
      numPartitionsOptimized: 0,
      numRowsWritten: 0,
      retries: attempt,
      durationMs: Date.now() - started,
    });
    if (options.dryRun || plan.bins.length === 0) {
      report(1, plan.bins.length === 0 ? 'nothing to optimize' : `would rewrite ${plan.numFiles} files in ${plan.bins.length} bins`);
      return empty(false, snapshot.version);
    }
    const txn = new Transaction(table, snapshot, clock);
    const written: AddAction[] = [];
    let committing = false;
    try {
      const adds = await rewriteBins(table, engine, snapshot, plan, options, written, report);
      report(0.95, 'committing');
      throwIfCancelled(options.signal, 'OPTIMIZE');
      const now = clock.now();
      const byPath = new Map<string, AddAction>();
      for (const a of snapshot.adds()) byPath.set(a.path, a);
      const removes: Action[] = plan.bins.flatMap((b) => b.files.map((f) => ({ remove: removeFor(byPath.get(f.path)!, now, false) })));
      txn.add(...removes, ...adds.map((add) => ({ add })));
      txn.read({ rearrangeOnly: true });
      const m = addsMetrics(adds);
      committing = true;
      const result = await txn.commit({
        operation: 'OPTIMIZE',
        operationParameters: {
          predicate: JSON.stringify(plan.predicate ? [plan.predicate] : []),
          zOrderBy: JSON.stringify(plan.zOrderBy),
          ...(options.targetFileSize !== undefined ? { targetFileSize: options.targetFileSize } : {}),
        },
        operationMetrics: {
          numRemovedFiles: plan.numFiles,
          numRemovedBytes: plan.numBytes,
          numAddedFiles: m.numFiles,
          numAddedBytes: m.numBytes,
          numPartitionsOptimized: plan.numPartitions,
          numBatches: plan.bins.length,
        },
        userName: options.userName,
        extra: options.commitExtra,
      });
      report(1, `committed version ${result.version}`);
      return {
        version: result.version,
        committed: true,
        dryRun: false,
        plan,
        numFilesRemoved: plan.numFiles,
        numFilesAdded: m.numFiles,
        numBytesRemoved: plan.numBytes,
        numBytesAdded: m.numBytes,
        numPartitionsOptimized: plan.numPartitions,
        numRowsWritten: m.numRows,
        retries: attempt,
        durationMs: Date.now() - started,
      };
    } catch (e) {
      // Before the commit, or after a definite conflict, the new files are referenced by no version: remove them.
      // Any other failure while committing is ambiguous (the commit may have landed), so the files stay.
      const conflict = isLakehouseError(e, 'CONCURRENT_COMMIT');
      if (!committing || conflict) await deleteQuietly(snapshot, written);
      if (conflict && attempt < maxRetries) {
        snapshot = await SnapshotClass.load(table);
        continue;
      }
      throw e;
    }
  }
}

async function deleteQuietly(snapshot: Snapshot, adds: readonly AddAction[]): Promise<void> {
  await Promise.all(adds.map((a) => snapshot.table.storage.delete(snapshot.fileKey(a.path)).catch(() => undefined)));
}

/** Writes the new files of every bin; `written` collects them as they appear (for cleanup on failure). */
async function rewriteBins(
  table: TableRef,
  engine: DataEngine,
  snapshot: Snapshot,
  plan: OptimizePlan,
  options: OptimizeOptions,
  written: AddAction[],
  report: (fraction: number, message: string) => void,
): Promise<AddAction[]> {
  const scan = await planScan(snapshot, { loadDeletionVectors: false });
  const scanByPath = new Map(scan.files.map((f) => [f.path, f]));
  const layout = { schema: snapshot.schema, partitionColumns: snapshot.partitionColumns, columnMappingMode: snapshot.columnMappingMode };
  const columns = scan.columns.map((c) => c.name);
  const cols = columns.map(quoteIdent).join(', ');
  let doneBytes = 0;
  for (let i = 0; i < plan.bins.length; i++) {
    const bin = plan.bins[i];
    report((0.9 * doneBytes) / Math.max(1, plan.numBytes), `rewriting bin ${i + 1} of ${plan.bins.length} (${bin.files.length} files)`);
    throwIfCancelled(options.signal, 'OPTIMIZE');
    const files: ScanFile[] = bin.files.map((f) => {
      const sf = scanByPath.get(f.path);
      if (!sf) throw new LakehouseError('INTERNAL', `planned file ${f.path} is not in the snapshot`, { file: f.path });
      return { ...sf };
    });
    await loadScanDeletionVectors(snapshot, files);
    const source = binSql(scan, files, engine, table);
    if (plan.zOrderBy.length === 0) {
      written.push(...(await engine.writeFiles(table, layout, source, { dataChange: false, sourceColumns: columns })));
    } else {
      const keyed = zOrderKeySql(source, columns, plan.zOrderBy);
      const parts = bin.expectedOutputFiles;
      let conditions = ['true'];
      if (parts > 1) {
        const qs = Array.from({ length: parts - 1 }, (_, k) => ((k + 1) / parts).toFixed(6)).join(', ');
        const rows = await engine.queryRows(
          `SELECT CAST(q AS VARCHAR) AS b FROM (SELECT unnest(quantile_disc(${ZORDER_KEY_COLUMN}, [${qs}])) AS q FROM (${keyed}) AS __lh_k) AS __lh_q WHERE q IS NOT NULL`,
        );
        conditions = zOrderRangeConditions(rows.map((r) => String(r.b)));
      }
      for (const cond of conditions) {
        throwIfCancelled(options.signal, 'OPTIMIZE');
        const sql = `SELECT ${cols} FROM (${keyed}) AS __lh_z WHERE ${cond} ORDER BY ${ZORDER_KEY_COLUMN}`;
        written.push(...(await engine.writeFiles(table, layout, sql, { dataChange: false, sourceColumns: columns })));
      }
    }
    doneBytes += bin.totalBytes;
  }
  return [...written];
}

function binSql(plan: ScanPlan, files: ScanFile[], engine: DataEngine, table: TableRef): string {
  return compileScanSql({ ...plan, files }, { fileUrl: (f) => engine.fileUrl(table, f) });
}
