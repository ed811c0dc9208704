import { LakehouseError } from '../../errors.js';
import type { Clock } from '../../storage/storage.js';
import { systemClock } from '../../storage/storage.js';
import type { Action } from '../actions.js';
import type { Expr } from '../expression.js';
import { parsePredicate, predicateToSql, referencedColumns } from '../expression.js';
import type { Snapshot, TableRef } from '../snapshot.js';
import { Snapshot as SnapshotClass } from '../snapshot.js';
import { Transaction, partitionMatches } from '../transaction.js';
import { conformSource, writeChecked } from './conform.js';
import type { DataEngine } from './engine.js';
import { addsMetrics, removeFor } from './metrics.js';

/** Options of an overwrite. */
export interface OverwriteOptions {
  /** The new rows: a SELECT in the engine's SQL. */
  sourceSql: string;
  /** Replace only the partitions matching this predicate over partition columns (all new rows must match it). */
  replaceWhere?: string;
  mergeSchema?: boolean;
  snapshot?: Snapshot;
  clock?: Clock;
  userName?: string;
  commitExtra?: Record<string, unknown>;
}

/** Metrics of an overwrite. */
export interface OverwriteMetrics {
  version: number;
  numRemovedFiles: number;
  numFiles: number;
  numOutputRows: number;
  numOutputBytes: number;
}

/** Checks that `pred` references only partition columns of the snapshot (INVALID_INPUT otherwise). */
export function assertPartitionPredicate(snapshot: Snapshot, pred: Expr, what: string): void {
  const parts = new Set(snapshot.partitionColumns.map((p) => p.toLowerCase()));
  for (const c of referencedColumns(pred)) {
    if (!parts.has(c.toLowerCase())) {
      throw new LakehouseError('INVALID_INPUT', `${what} may only reference partition columns (${snapshot.partitionColumns.join(', ') || 'none'}); "${c}" is not one`, {
        column: c,
      });
    }
  }
}

/** Replaces the whole table, or the partitions matching `replaceWhere`, with new rows, in one commit. */
export async function overwrite(table: TableRef, engine: DataEngine, options: OverwriteOptions): Promise<OverwriteMetrics> {
  const clock = options.clock ?? systemClock;
  const snapshot = options.snapshot ?? (await SnapshotClass.load(table));
  const txn = new Transaction(table, snapshot, clock);
  let pred: Expr | null = null;
  if (options.replaceWhere !== undefined) {
    pred = parsePredicate(options.replaceWhere);
    assertPartitionPredicate(snapshot, pred, 'replaceWhere');
  }
  const conformed = await conformSource(engine, options.sourceSql, snapshot, { mergeSchema: options.mergeSchema });
  if (pred) {
    const outside = await engine.queryNumber(`SELECT count(*) FROM (${conformed.sql}) AS __new WHERE (${predicateToSql(pred)}) IS NOT TRUE`);
    if (outside > 0) {
      throw new LakehouseError('INVALID_INPUT', `${outside} new row(s) do not match replaceWhere ${options.replaceWhere}; nothing was written`, { rows: outside });
    }
  }
  const now = clock.now();
  const removes: Action[] = [];
  for (const add of snapshot.adds()) {
    if (pred && partitionMatches(snapshot, pred, add) !== true) continue;
    removes.push({ remove: removeFor(add, now) });
  }
  const adds = await writeChecked(
    engine,
    table,
    { schema: conformed.schema, partitionColumns: snapshot.partitionColumns, columnMappingMode: snapshot.columnMappingMode, metadata: conformed.metadata ?? snapshot.metadata },
    conformed.sql,
  );
  if (conformed.protocol) txn.add({ protocol: conformed.protocol });
  if (conformed.metadata) txn.add({ metaData: conformed.metadata });
  txn.add(...removes, ...adds.map((add) => ({ add })));
  txn.read(pred ? { predicate: pred } : { wholeTable: true });
  const m = addsMetrics(adds);
  const result = await txn.commit({
    operation: 'WRITE',
    operationParameters: { mode: 'Overwrite', partitionBy: JSON.stringify(snapshot.partitionColumns), ...(pred ? { predicate: predicateToSql(pred) } : {}) },
    operationMetrics: { numFiles: m.numFiles, numOutputRows: m.numRows, numOutputBytes: m.numBytes, numRemovedFiles: removes.length },
    userName: options.userName,
    extra: options.commitExtra,
  });
  return { version: result.version, numRemovedFiles: removes.length, numFiles: m.numFiles, numOutputRows: m.numRows, numOutputBytes: m.numBytes };
}
