import { LakehouseError, isLakehouseError } from '../../errors.js';
import { compileScanSql } from '../../sql/compile.js';
import { duckDbType, quoteIdent } from '../../sql/duckdb-types.js';
import type { Clock } from '../../storage/storage.js';
import { systemClock } from '../../storage/storage.js';
import type { AddAction } from '../actions.js';
import type { Expr } from '../expression.js';
import { parsePredicate } from '../expression.js';
import type { ScanFile, ScanPlan } from '../scan.js';
import { planScan } from '../scan.js';
import type { StructField } from '../schema.js';
import type { Snapshot, TableRef } from '../snapshot.js';
import { Snapshot as SnapshotClass } from '../snapshot.js';
import { hasWriterFeature } from '../protocol.js';
import { Transaction } from '../transaction.js';
import type { DataEngine } from './engine.js';
import { writeChecked } from './conform.js';
import { addsMetrics, removeFor } from './metrics.js';

/** Options of an update. */
export interface UpdateOptions {
  /** Logical column → DuckDB SQL expression over the table's columns (evaluated on the old row, cast to the column type). */
  set: Record<string, string>;
  /** SQL predicate over logical columns; rows where it is TRUE are updated. All rows when absent. */
  predicate?: string;
  snapshot?: Snapshot;
  clock?: Clock;
  userName?: string;
  commitExtra?: Record<string, unknown>;
}

/** Metrics of an update. */
export interface UpdateMetrics {
  /** New version, or the read version when nothing matched (no commit). */
  version: number;
  numUpdatedRows: number;
  numRemovedFiles: number;
  numAddedFiles: number;
  /** Rows of rewritten files that did not match and were copied unchanged. */
  numCopiedRows: number;
  committed: boolean;
}

/** Files per counting query (each file is one branch of a UNION ALL). */
const COUNT_BATCH = 100;

/**
 * Updates the rows matching a predicate (Delta UPDATE): only files holding at least one matching row are rewritten
 * (the others keep their paths), unchanged rows of those files are copied, and rows may move partitions when a
 * partition column is set. Unknown SET columns and invalid expressions fail with INVALID_INPUT before any file is
 * written; a null in a NOT NULL column fails the write; deletion vectors are honoured. Nothing matching → no commit.
 */
export async function updateRows(table: TableRef, engine: DataEngine, options: UpdateOptions): Promise<UpdateMetrics> {
  const clock = options.clock ?? systemClock;
  const started = clock.now();
  if (options.predicate !== undefined && !options.predicate.trim()) {
    throw new LakehouseError('INVALID_INPUT', 'the update predicate is empty (omit it to update every row)');
  }
  const snapshot = options.snapshot ?? (await SnapshotClass.load(table));
  const txn = new Transaction(table, snapshot, clock);
  const fields = snapshot.schema.fields;
  const assignments = resolveAssignments(fields, options.set ?? {});

  const predicate = options.predicate?.trim();
  let pred: Expr | null = null;
  if (predicate) {
    try {
      pred = parsePredicate(predicate);
    } catch (e) {
      if (!isLakehouseError(e, 'INVALID_INPUT')) throw e;
    }
  }
  const plan = await planScan(snapshot, { predicate: pred });
  const matchSql = predicate ? `((${predicate}) IS TRUE)` : 'TRUE';
  const projection = fields.map((f) => {
    const col = `t.${quoteIdent(f.name)}`;
    const e = assignments.get(f.name);
    if (e === undefined) return `${col} AS ${quoteIdent(f.name)}`;
    const value = `CAST((${e}) AS ${duckDbType(f.type)})`;
    return `${predicate ? `CASE WHEN ${matchSql} THEN ${value} ELSE ${col} END` : value} AS ${quoteIdent(f.name)}`;
  });

  // Bind every expression against the engine (DESCRIBE runs nothing), so a typo fails before any file is touched.
  const probe = compileScanSql({ ...plan, files: [] }, { fileUrl: (f) => engine.fileUrl(table, f) });
  if (predicate) {
    await engine.describe(`SELECT * FROM (${probe}) AS t WHERE ${matchSql}`).catch((e: unknown) => {
      throw new LakehouseError('INVALID_INPUT', `invalid update predicate: ${(e as Error).message}`, { predicate }, { cause: e });
    });
  }
  for (const [column, expr] of assignments) {
    const f = fields.find((x) => x.name === column)!;
    await engine.describe(`SELECT CAST((${expr}) AS ${duckDbType(f.type)}) AS v FROM (${probe}) AS t`).catch((e: unknown) => {
      throw new LakehouseError('INVALID_INPUT', `invalid SET expression for column "${column}": ${(e as Error).message}`, { column, expression: expr }, { cause: e });
    });
  }

  // Count matching rows per candidate file; only files with a match are rewritten.
  const affected: { f: ScanFile; total: number; matching: number }[] = [];
  for (let i = 0; i < plan.files.length; i += COUNT_BATCH) {
    const batch = plan.files.slice(i, i + COUNT_BATCH);
    const union = batch.map((f, k) => `(SELECT *, ${k} AS __lh_file FROM (${fileSql(plan, f, engine, table)}))`).join('\nUNION ALL\n');
    const rows = await engine.queryRows(
      `SELECT __lh_file AS f, CAST(count(*) AS VARCHAR) AS total, CAST(count(*) FILTER (WHERE ${matchSql}) AS VARCHAR) AS matching ` +
        `FROM (${union}) AS t GROUP BY __lh_file`,
    );
    for (const r of rows) {
      const matching = Number(r.matching);
      if (matching > 0) affected.push({ f: batch[Number(r.f)], total: Number(r.total), matching });
    }
  }
  if (affected.length === 0) {
    return { version: snapshot.version, numUpdatedRows: 0, numRemovedFiles: 0, numAddedFiles: 0, numCopiedRows: 0, committed: false };
  }
  if (changeDataFeedEnabled(snapshot)) {
    // PROTOCOL.md: Writer Requirements for AddCDCFile: such a commit needs cdc files, which this writer does not produce.
    throw new LakehouseError('UNSUPPORTED_FEATURE', `table has the change data feed enabled (delta.enableChangeDataFeed=true): an UPDATE would need change data (cdc) files, which are not supported`, {
      feature: 'changeDataFeed',
    });
  }
  if (snapshot.metadata.configuration['delta.appendOnly'] === 'true') {
    throw new LakehouseError('INVALID_INPUT', `table is append-only (delta.appendOnly=true): cannot update rows`, { property: 'delta.appendOnly' });
  }

  const numUpdatedRows = affected.reduce((n, a) => n + a.matching, 0);
  const totalRows = affected.reduce((n, a) => n + a.total, 0);
  const source = compileScanSql({ ...plan, files: affected.map((a) => a.f) }, { fileUrl: (f) => engine.fileUrl(table, f) });
  const adds = await writeChecked(
    engine,
    table,
    { schema: snapshot.schema, partitionColumns: snapshot.partitionColumns, columnMappingMode: snapshot.columnMappingMode, metadata: snapshot.metadata },
    `SELECT ${projection.join(', ')} FROM (${source}) AS t`,
  );
  const m = addsMetrics(adds);
  assertRowCount(adds, m.numRows, totalRows);

  const now = clock.now();
  const addsByKey = new Map<string, AddAction>();
  for (const f of snapshot.files()) addsByKey.set(f.key, f.add);
  const removed = affected.map((a) => addsByKey.get(a.f.key)!);
  txn.add(...removed.map((add) => ({ remove: removeFor(add, now) })), ...adds.map((add) => ({ add })));
  txn.read(pred ? { predicate: pred } : { wholeTable: true });
  const numCopiedRows = totalRows - numUpdatedRows;
  const result = await txn.commit({
    operation: 'UPDATE',
    operationParameters: { predicate: JSON.stringify(predicate ? [predicate] : []) },
    operationMetrics: {
      numRemovedFiles: removed.length,
      numAddedFiles: adds.length,
      numUpdatedRows,
      numCopiedRows,
      numAddedChangeFiles: 0,
      numAddedBytes: m.numBytes,
      numRemovedBytes: removed.reduce((n, a) => n + a.size, 0),
      numDeletionVectorsAdded: 0,
      numDeletionVectorsRemoved: removed.filter((a) => a.deletionVector).length,
      executionTimeMs: Math.max(0, clock.now() - started),
    },
    userName: options.userName,
    extra: options.commitExtra,
  });
  return { version: result.version, numUpdatedRows, numRemovedFiles: removed.length, numAddedFiles: adds.length, numCopiedRows, committed: true };
}

/** SET entries resolved to schema fields (case-insensitively), refusing unknown and repeated columns. */
function resolveAssignments(fields: readonly StructField[], set: Record<string, string>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, expr] of Object.entries(set)) {
    const f = fields.find((x) => x.name === name) ?? fields.find((x) => x.name.toLowerCase() === name.toLowerCase());
    if (!f) {
      throw new LakehouseError(
        'INVALID_INPUT',
        `cannot SET column "${name}": it is not a column of the table (columns: ${fields.map((x) => x.name).join(', ')})`,
        { column: name },
      );
    }
    if (out.has(f.name)) throw new LakehouseError('INVALID_INPUT', `column "${f.name}" is set more than once`, { column: f.name });
    if (typeof expr !== 'string' || !expr.trim()) {
      throw new LakehouseError('INVALID_INPUT', `the SET expression for column "${f.name}" is empty`, { column: f.name });
    }
    out.set(f.name, expr);
  }
  if (out.size === 0) throw new LakehouseError('INVALID_INPUT', 'an update needs at least one SET column');
  return out;
}

/** Refuses a write whose row count differs from what was counted (a non-deterministic source or a racing writer of the files). */
function assertRowCount(adds: readonly AddAction[], written: number, expected: number): void {
  if (adds.every((a) => a.stats) && written !== expected) {
    throw new LakehouseError('INTERNAL', `the rewrite produced ${written} rows but ${expected} were expected; nothing was committed`, { written, expected });
  }
}

function fileSql(plan: ScanPlan, f: ScanFile, engine: DataEngine, table: TableRef): string {
  return compileScanSql({ ...plan, files: [f] }, { fileUrl: (x) => engine.fileUrl(table, x) });
}

/** True when writers must produce cdc files for data changes (PROTOCOL.md: Writer Requirements for AddCDCFile). */
function changeDataFeedEnabled(snapshot: Snapshot): boolean {
  return snapshot.metadata.configuration['delta.enableChangeDataFeed'] === 'true' && hasWriterFeature(snapshot.protocol, 'changeDataFeed');
}
