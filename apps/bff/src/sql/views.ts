import type { DuckDBConnection } from '@duckdb/node-api';
import { LakehouseError, compileScanSql, flatTableName, parseTableName, planScan, quoteIdent, type Snapshot } from '@lakehouse/core';
import { assertFilesExist, localFileUrl } from '@lakehouse/core/node';
import type { Warehouse } from '../warehouse/warehouse.js';

/** A table to expose as DuckDB views: its name and the SELECT yielding the rows of one version. */
export interface ViewSource {
  /** `layer.domain.table`. */
  name: string;
  /** DuckDB SELECT over the table version (compileScanSql of its scan plan). */
  scanSql: string;
}

/**
 * The DuckDB statements exposing tables as views, in order: `ATTACH ':memory:' AS <layer>` once per layer (skipping
 * layers in `attached`), the `<layer>.<domain>` schema, the view `<layer>.<domain>.<table>` and the flat view
 * `main.<layer>_<domain>_<table>`. Pure (no engine): the browser builds the same views with DuckDB-WASM.
 */
export function viewStatements(tables: readonly ViewSource[], attached: ReadonlySet<string> = new Set()): string[] {
  const out: string[] = [];
  const layers = new Set(attached);
  const schemas = new Set<string>();
  for (const t of tables) {
    const { layer, domain, table, name } = parseTableName(t.name);
    if (!layers.has(layer)) {
      out.push(`ATTACH IF NOT EXISTS ':memory:' AS ${quoteIdent(layer)}`);
      layers.add(layer);
    }
    if (!schemas.has(`${layer}.${domain}`)) {
      out.push(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(layer)}.${quoteIdent(domain)}`);
      schemas.add(`${layer}.${domain}`);
    }
    out.push(`CREATE OR REPLACE VIEW ${quoteIdent(layer)}.${quoteIdent(domain)}.${quoteIdent(table)} AS ${t.scanSql}`);
    out.push(`CREATE OR REPLACE VIEW main.${quoteIdent(flatTableName(name))} AS ${t.scanSql}`);
  }
  return out;
}

/**
 * The snapshot of a table at a pinned version (the latest when unpinned: from the warehouse cache, or with `fresh`
 * listed after this call). TABLE_NOT_FOUND names the table.
 */
export async function pinnedSnapshot(warehouse: Warehouse, name: string, version?: number, fresh = false): Promise<Snapshot> {
  const latest = await warehouse.snapshot(name, { fresh });
  if (version === undefined || version === latest.version) return latest;
  return warehouse.snapshot(name, { version });
}

/**
 * Registers views over the given tables on a connection (see viewStatements), each at `versions[name]` or its latest
 * version (with `fresh`, as of this call rather than from the warehouse cache), and returns the version each view
 * reads. TABLE_NOT_FOUND names a missing table, FILE_NOT_FOUND a missing data file.
 */
export async function registerViews(
  conn: DuckDBConnection,
  warehouse: Warehouse,
  names: readonly string[],
  versions: Readonly<Record<string, number>> = {},
  options: { fresh?: boolean } = {},
): Promise<Record<string, number>> {
  const pinned: Record<string, number> = {};
  const sources: ViewSource[] = [];
  for (const raw of names) {
    const { name } = parseTableName(raw);
    if (name in pinned) continue;
    const snapshot = await pinnedSnapshot(warehouse, name, versions[name], options.fresh ?? false);
    const plan = await planScan(snapshot);
    await assertFilesExist(snapshot.table.storage, plan);
    sources.push({ name, scanSql: compileScanSql(plan, { fileUrl: localFileUrl(snapshot.table.storage) }) });
    pinned[name] = snapshot.version;
  }
  for (const sql of viewStatements(sources)) {
    try {
      await conn.run(sql);
    } catch (e) {
      throw new LakehouseError('INTERNAL', `could not register the views of ${Object.keys(pinned).join(', ')}: ${(e as Error).message.split('\n')[0]}`, {}, { cause: e });
    }
  }
  return pinned;
}
