import type { Clock } from '../../storage/storage.js';
import { systemClock } from '../../storage/storage.js';
import type { Action } from '../actions.js';
import type { Snapshot } from '../snapshot.js';
import { Snapshot as SnapshotClass } from '../snapshot.js';
import type { TableRef } from '../snapshot.js';
import { Transaction } from '../transaction.js';
import { conformSource, writeChecked } from './conform.js';
import type { DataEngine } from './engine.js';
import { addsMetrics } from './metrics.js';

/** Options of an append. */
export interface AppendOptions {
  /** Rows to append: a SELECT in the engine's SQL. */
  sourceSql: string;
  /** Add new columns / widen types instead of refusing them. */
  mergeSchema?: boolean;
  /** Idempotent ingestion (PROTOCOL.md: Transaction Identifiers): skipped when this appId already committed this version or later. */
  txn?: { appId: string; version: number };
  /** The snapshot to append to (loaded when absent). */
  snapshot?: Snapshot;
  clock?: Clock;
  userName?: string;
  /** Extra commitInfo fields. */
  commitExtra?: Record<string, unknown>;
}

/** Metrics of an append. */
export interface AppendMetrics {
  /** Committed version, or the current version when the append was skipped as already applied. */
  version: number;
  skipped: boolean;
  numFiles: number;
  numOutputRows: number;
  numOutputBytes: number;
  schemaEvolved: boolean;
}

/** Appends rows as one commit with schema enforcement; a blind append never conflicts with concurrent appends. */
export async function append(table: TableRef, engine: DataEngine, options: AppendOptions): Promise<AppendMetrics> {
  const clock = options.clock ?? systemClock;
  const snapshot = options.snapshot ?? (await SnapshotClass.load(table));
  if (options.txn) {
    const done = snapshot.txns.get(options.txn.appId);
    if (done && done.version >= options.txn.version) {
      return { version: snapshot.version, skipped: true, numFiles: 0, numOutputRows: 0, numOutputBytes: 0, schemaEvolved: false };
    }
  }
  const txn = new Transaction(table, snapshot, clock);
  const conformed = await conformSource(engine, options.sourceSql, snapshot, { mergeSchema: options.mergeSchema });
  const adds = await writeChecked(
    engine,
    table,
    { schema: conformed.schema, partitionColumns: snapshot.partitionColumns, columnMappingMode: snapshot.columnMappingMode, metadata: conformed.metadata ?? snapshot.metadata },
    conformed.sql,
  );
  const actions: Action[] = [];
  if (conformed.protocol) actions.push({ protocol: conformed.protocol });
  if (conformed.metadata) actions.push({ metaData: conformed.metadata });
  if (options.txn) actions.push({ txn: { appId: options.txn.appId, version: options.txn.version, lastUpdated: clock.now() } });
  for (const add of adds) actions.push({ add });
  txn.add(...actions);
  const m = addsMetrics(adds);
  const result = await txn.commit({
    operation: 'WRITE',
    operationParameters: { mode: 'Append', partitionBy: JSON.stringify(snapshot.partitionColumns), mergeSchema: Boolean(options.mergeSchema) },
    operationMetrics: { numFiles: m.numFiles, numOutputRows: m.numRows, numOutputBytes: m.numBytes },
    userName: options.userName,
    extra: options.commitExtra,
  });
  return {
    version: result.version,
    skipped: false,
    numFiles: m.numFiles,
    numOutputRows: m.numRows,
    numOutputBytes: m.numBytes,
    schemaEvolved: conformed.metadata !== null,
  };
}
