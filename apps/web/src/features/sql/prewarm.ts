import { rewriteTableRefs } from '@lakehouse/core';
import { ensureViews } from '../../lib/duckdb/index.js';
import { initialSql } from './draft.js';

/** Most tables of the draft whose views are built ahead. */
const MAX_TABLES = 8;

/**
 * Builds, in the background, the views of the tables the SQL editor's draft reads (the latest versions of its
 * `layer.domain.table` references): scan plans and Parquet footers are fetched while DuckDB-WASM starts, so that
 * opening the editor and running the draft goes straight to the query. Resolves when done; never rejects (a table
 * that cannot be read shows its error when the query runs).
 */
export async function prewarmSqlDraft(sql: string = initialSql()): Promise<void> {
  let reads;
  try {
    reads = rewriteTableRefs(sql, { tables: [] }).reads;
  } catch {
    return;
  }
  const latest = reads.filter((r) => r.at.kind === 'latest').slice(0, MAX_TABLES);
  if (latest.length > 0) await ensureViews(latest).catch(() => undefined);
}
