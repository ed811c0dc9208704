import type { DuckDBConnection } from '@duckdb/node-api';
import { LakehouseError } from '../errors.js';
import type { ScanFile, ScanPlan } from '../delta/scan.js';
import { planScan } from '../delta/scan.js';
import type { Snapshot } from '../delta/snapshot.js';
import { compileScanSql } from '../sql/compile.js';
import type { Storage } from '../storage/storage.js';

/** A file location DuckDB for Node can read: the local path when the storage is a local disk. */
export function localFileUrl(storage: Storage): (f: ScanFile) => string {
  if (!storage.localPath) {
    throw new LakehouseError('INVALID_INPUT', `DuckDB for Node reads tables on local disk only; ${storage.root} is not local`);
  }
  const lp = storage.localPath.bind(storage);
  return (f) => lp(f.key);
}

/** Options of a query over one table version. */
export interface TableQueryOptions {
  /** SQL predicate over logical columns: used to prune files (when it parses) and applied by DuckDB to the rows. */
  where?: string;
  limit?: number;
}

/** SQL of a query over the table (plan compiled + optional WHERE/LIMIT), with the plan it read. */
export async function tableQuerySql(snapshot: Snapshot, options: TableQueryOptions = {}): Promise<{ sql: string; plan: ScanPlan }> {
  let plan: ScanPlan;
  const where = options.where?.trim() || undefined;
  try {
    plan = await planScan(snapshot, { predicate: where ?? null });
  } catch (e) {
    // A WHERE clause outside the pruning subset is still valid DuckDB SQL: read every file and let DuckDB filter.
    if (!(e instanceof LakehouseError && e.code === 'INVALID_INPUT') || where === undefined) throw e;
    plan = await planScan(snapshot);
  }
  await assertFilesExist(snapshot.table.storage, plan);
  let sql = `SELECT * FROM (${compileScanSql(plan, { fileUrl: localFileUrl(snapshot.table.storage) })}) AS t`;
  if (where) sql += ` WHERE ${where}`;
  if (options.limit !== undefined) {
    if (!Number.isInteger(options.limit) || options.limit < 0) throw new LakehouseError('INVALID_INPUT', `limit must be a non-negative integer, got ${options.limit}`);
    sql += ` LIMIT ${options.limit}`;
  }
  return { sql, plan };
}

/** Throws FILE_NOT_FOUND naming the first data file of the plan that is missing from storage. */
export async function assertFilesExist(storage: Storage, plan: ScanPlan): Promise<void> {
  const missing = (await Promise.all(plan.files.map(async (f) => ((await storage.head(f.key)) ? null : f)))).find((f) => f !== null);
  if (missing) {
    throw new LakehouseError('FILE_NOT_FOUND', `data file ${missing.path} of table version ${plan.version} is missing from storage (${missing.key})`, {
      file: missing.path,
    });
  }
}

/** Runs a query over a table version and returns rows as JSON-safe objects (decimals and big integers as strings). */
export async function queryTable(conn: DuckDBConnection, snapshot: Snapshot, options: TableQueryOptions = {}): Promise<Record<string, unknown>[]> {
  const { sql } = await tableQuerySql(snapshot, options);
  try {
    const r = await conn.runAndReadAll(sql);
    return r.getRowObjectsJson() as Record<string, unknown>[];
  } catch (e) {
    throw new LakehouseError('INVALID_INPUT', `query failed: ${(e as Error).message}`, {}, { cause: e });
  }
}
