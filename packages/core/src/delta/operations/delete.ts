import { LakehouseError, isLakehouseError } from '../../errors.js';
import type { Clock } from '../../storage/storage.js';
import { systemClock } from '../../storage/storage.js';
import type { Action, AddAction } from '../actions.js';
import type { Expr } from '../expression.js';
import { parsePredicate, referencedColumns } from '../expression.js';
import type { ScanFile, ScanPlan } from '../scan.js';
import { loadScanDeletionVectors, planScan } from '../scan.js';
import type { Snapshot, TableRef } from '../snapshot.js';
import { Snapshot as SnapshotClass, mapLimit } from '../snapshot.js';
import { Transaction, partitionMatches } from '../transaction.js';
import { compileScanSql } from '../../sql/compile.js';
import type { DataEngine } from './engine.js';
import { addsMetrics, removeFor } from './metrics.js';

/** Options of a delete. */
export interface DeleteOptions {
  /** SQL predicate over logical columns; rows where it is TRUE are deleted. Required (use "true" to delete all). */
  predicate: string;
  snapshot?: Snapshot;
  clock?: Clock;
  userName?: string;
  commitExtra?: Record<string, unknown>;
}

/** Metrics of a delete. */
export interface DeleteMetrics {
  /** New version, or the read version when nothing matched (no commit). */
  version: number;
  numDeletedRows: number;
  numRemovedFiles: number;
  numAddedFiles: number;
  numCopiedRows: number;
  committed: boolean;
}

/**
 * Deletes the rows matching a predicate: files pruned by stats are untouched, files whose partition values match
 * are dropped whole, and other candidate files are rewritten without the matching rows, all in one commit.
 */
export async function deleteRows(table: TableRef, engine: DataEngine, options: DeleteOptions): Promise<DeleteMetrics> {
  const clock = options.clock ?? systemClock;
  if (!options.predicate || !options.predicate.trim()) throw new LakehouseError('INVALID_INPUT', 'a delete needs a predicate (use "true" to delete every row)');
  const snapshot = options.snapshot ?? (await SnapshotClass.load(table));
  const txn = new Transaction(table, snapshot, clock);
  let pred: Expr | null = null;
  try {
    pred = parsePredicate(options.predicate);
  } catch (e) {
    if (!isLakehouseError(e, 'INVALID_INPUT')) throw e;
  }
  const plan = await planScan(snapshot, { predicate: pred, loadDeletionVectors: false });
  const partitionOnly = pred !== null && referencedColumns(pred).every((c) => snapshot.partitionColumns.some((p) => p.toLowerCase() === c.toLowerCase()));
  const addsByKey = new Map<string, AddAction>();
  for (const f of snapshot.files()) addsByKey.set(f.key, f.add);
  // Validate the predicate against the engine once, so a typo fails before any file is touched.
  const probe = compileScanSql({ ...plan, files: [] }, { fileUrl: (f) => engine.fileUrl(table, f) });
  await engine.queryNumber(`SELECT count(*) FROM (${probe}) AS t WHERE (${options.predicate})`).catch((e: unknown) => {
    throw new LakehouseError('INVALID_INPUT', `invalid delete predicate: ${(e as Error).message}`, {}, { cause: e });
  });

  const now = clock.now();
  const removes: Action[] = [];
  const rewrites: ScanFile[] = [];
  let numDeletedRows = 0;
  const toInspect: ScanFile[] = [];
  for (const f of plan.files) {
    const add = addsByKey.get(f.key)!;
    if (partitionOnly) {
      if (partitionMatches(snapshot, pred!, add) === true) {
        removes.push({ remove: removeFor(add, now) });
        numDeletedRows += (f.numRecords ?? 0) - (f.deletionVector?.cardinality ?? 0);
      }
      continue;
    }
    toInspect.push(f);
  }
  await loadScanDeletionVectors(snapshot, toInspect);
  const counts = await mapLimit(toInspect, 4, async (f) => {
    const sql = fileSql(plan, f, engine, table);
    const total = await engine.queryNumber(`SELECT count(*) FROM (${sql}) AS t`);
    const matching = await engine.queryNumber(`SELECT count(*) FROM (${sql}) AS t WHERE (${options.predicate})`);
    return { f, total, matching };
  });
  for (const { f, total, matching } of counts) {
    if (matching === 0) continue;
    removes.push({ remove: removeFor(addsByKey.get(f.key)!, now) });
    numDeletedRows += matching;
    if (matching < total) rewrites.push(f);
  }
  if (removes.length === 0) {
    return { version: snapshot.version, numDeletedRows: 0, numRemovedFiles: 0, numAddedFiles: 0, numCopiedRows: 0, committed: false };
  }
  if (rewrites.length > 0 && snapshot.properties['delta.enableChangeDataFeed'] === 'true') {
    // PROTOCOL.md: Add CDC File: a rewrite without change data files would read as deletes of the copied rows.
    throw new LakehouseError(
      'UNSUPPORTED_FEATURE',
      'table has the change data feed enabled (delta.enableChangeDataFeed=true): deleting part of a file would need change data (cdc) files, which are not supported; delete whole partitions instead',
      { feature: 'changeDataFeed' },
    );
  }
  const adds: AddAction[] = [];
  for (const f of rewrites) {
    const sql = `SELECT * FROM (${fileSql(plan, f, engine, table)}) AS t WHERE (${options.predicate}) IS NOT TRUE`;
    adds.push(...(await engine.writeFiles(table, { schema: snapshot.schema, partitionColumns: snapshot.partitionColumns, columnMappingMode: snapshot.columnMappingMode }, sql)));
  }
  const m = addsMetrics(adds);
  txn.add(...removes, ...adds.map((add) => ({ add })));
  txn.read(pred ? { predicate: pred } : { wholeTable: true });
  const result = await txn.commit({
    operation: 'DELETE',
    operationParameters: { predicate: JSON.stringify([options.predicate]) },
    operationMetrics: { numDeletedRows, numRemovedFiles: removes.length, numAddedFiles: adds.length, numCopiedRows: m.numRows },
    userName: options.userName,
    extra: options.commitExtra,
  });
  return { version: result.version, numDeletedRows, numRemovedFiles: removes.length, numAddedFiles: adds.length, numCopiedRows: m.numRows, committed: true };
}

function fileSql(plan: ScanPlan, f: ScanFile, engine: DataEngine, table: TableRef): string {
  return compileScanSql({ ...plan, files: [f] }, { fileUrl: (x) => engine.fileUrl(table, x) });
}
