import type { Column, DataFile, FilesPage, HistoryPage, PatchTable, ScanResponse, TableDetail, TableSummary } from '@lakehouse/contracts';
import {
  LakehouseError,
  Snapshot,
  Transaction,
  countRows,
  parseTableName,
  physicalName,
  planScan,
  readHistory,
  schemaToString,
  statsColumnFacts,
  statsOf,
  typeToString,
  type Clock,
  type StructType,
} from '@lakehouse/core';
import type { CatalogStore, TableRecord } from '../catalog/store.js';
import type { UrlSigner } from '../http/signing.js';
import type { Warehouse } from '../warehouse/warehouse.js';

/** Filters of the table listing; all optional and ANDed. */
export interface TableFilter {
  q?: string;
  layer?: string;
  domain?: string;
  tag?: string;
}

function compareValues(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const sa = String(a);
  const sb = String(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

/** Catalog views of warehouse tables: summaries, details, history, files, metadata edits and signed scan plans. */
export class TableService {
  private readonly rowCache = new Map<string, { version: number; rows: number | null }>();

  constructor(
    private readonly warehouse: Warehouse,
    private readonly catalog: CatalogStore,
    private readonly clock: Clock,
  ) {}

  /** Registers every table found in the warehouse layout (tables written by other engines show up). */
  async syncRegistry(): Promise<string[]> {
    return (await this.syncedRecords()).names;
  }

  /** Discovered table names and the catalog records of all tables, registering the newly discovered ones. */
  private async syncedRecords(): Promise<{ names: string[]; records: Map<string, TableRecord> }> {
    const names = await this.warehouse.discover();
    const records = new Map((await this.catalog.listTables()).map((t) => [t.name, t]));
    for (const n of names) if (!records.has(n)) records.set(n, await this.catalog.registerTable(n, null));
    return { names, records };
  }

  private async rows(name: string, s: Snapshot): Promise<number | null> {
    const c = this.rowCache.get(name);
    if (c && c.version === s.version) return c.rows;
    let rows: number | null;
    try {
      rows = await countRows(s);
    } catch {
      rows = null;
    }
    this.rowCache.set(name, { version: s.version, rows });
    return rows;
  }

  private async summaryOf(name: string, s: Snapshot, rec: TableRecord | null): Promise<TableSummary> {
    const p = parseTableName(name);
    return {
      name,
      layer: p.layer,
      domain: p.domain,
      table: p.table,
      description: s.metadata.description ?? null,
      owner: rec?.owner ?? null,
      tags: rec?.tags ?? [],
      version: s.version,
      rows: await this.rows(name, s),
      files: s.numFiles,
      bytes: s.sizeInBytes,
      lastUpdated: new Date(s.timestamp).toISOString(),
    };
  }

  /** Every readable table matching the filter, by name; tables that fail to load are skipped. */
  async list(filter: TableFilter = {}): Promise<TableSummary[]> {
    const { names, records } = await this.syncedRecords();
    const q = filter.q?.trim().toLowerCase();
    const out: TableSummary[] = [];
    for (const name of names) {
      const p = parseTableName(name);
      if (filter.layer && p.layer !== filter.layer) continue;
      if (filter.domain && p.domain !== filter.domain) continue;
      const rec = records.get(name) ?? null;
      if (filter.tag && !(rec?.tags ?? []).includes(filter.tag)) continue;
      let s: Snapshot;
      try {
        s = await this.warehouse.snapshot(name);
      } catch {
        continue;
      }
      if (q) {
        const hay = [name, s.metadata.description ?? '', ...(rec?.tags ?? []), ...s.schema.fields.map((f) => f.name), ...s.schema.fields.map((f) => String(f.metadata.comment ?? ''))]
          .join('\n')
          .toLowerCase();
        if (!q.split(/\s+/).every((w) => hay.includes(w))) continue;
      }
      out.push(await this.summaryOf(name, s, rec));
    }
    return out;
  }

  /** Full detail of a table version, with per-column min/max/null counts aggregated from file stats. */
  async detail(name: string, version?: number): Promise<TableDetail> {
    const s = await this.warehouse.snapshot(name, version === undefined ? {} : { version });
    const rec = (await this.catalog.getTable(name)) ?? (await this.catalog.registerTable(name, null));
    const mode = s.columnMappingMode;
    const columns: Column[] = s.schema.fields.map((f) => {
      const isPartition = s.partitionColumns.includes(f.name);
      let stats: Column['stats'] = null;
      if (!isPartition && (typeof f.type === 'string' || f.type.type === 'decimal')) {
        let min: unknown = null;
        let max: unknown = null;
        let nullCount: number | null = 0;
        let complete = s.numFiles > 0;
        for (const add of s.adds()) {
          const facts = statsColumnFacts(statsOf(add), [physicalName(f, mode)]);
          if (facts.min === undefined || facts.max === undefined) complete = false;
          else {
            if (min === null || compareValues(facts.min, min) < 0) min = facts.min;
            if (max === null || compareValues(facts.max, max) > 0) max = facts.max;
          }
          if (facts.nullCount === undefined) nullCount = null;
          else if (nullCount !== null) nullCount += facts.nullCount;
        }
        stats = { min: complete ? min : null, max: complete ? max : null, nullCount };
      }
      return {
        name: f.name,
        type: typeToString(f.type),
        nullable: f.nullable,
        comment: typeof f.metadata.comment === 'string' ? f.metadata.comment : null,
        isPartition,
        stats,
      };
    });
    return {
      ...(await this.summaryOf(name, s, rec)),
      columns,
      partitionColumns: s.partitionColumns,
      properties: { ...s.properties },
      protocol: s.protocol,
    };
  }

  /** A page of the commit history, newest first. */
  async history(name: string, offset: number, limit: number): Promise<HistoryPage> {
    await this.warehouse.snapshot(name);
    const all = await readHistory(this.warehouse.ref(name));
    return {
      items: all.slice(offset, offset + limit).map((c) => ({
        version: c.version,
        timestamp: new Date(c.timestamp).toISOString(),
        operation: c.commitInfo?.operation ?? null,
        userName: typeof c.commitInfo?.userName === 'string' ? c.commitInfo.userName : null,
        operationParameters: c.commitInfo?.operationParameters ?? {},
        operationMetrics: c.commitInfo?.operationMetrics ?? {},
      })),
      total: all.length,
      offset,
      limit,
    };
  }

  /** A page of the live data files, largest first. */
  async files(name: string, offset: number, limit: number, version?: number): Promise<FilesPage> {
    const s = await this.warehouse.snapshot(name, version === undefined ? {} : { version });
    const all: DataFile[] = [...s.adds()]
      .map((a) => ({
        path: a.path,
        size: a.size,
        rows: statsOf(a)?.numRecords ?? null,
        deletedRows: a.deletionVector?.cardinality ?? 0,
        partitionValues: a.partitionValues,
        modificationTime: new Date(a.modificationTime).toISOString(),
      }))
      .sort((a, b) => b.size - a.size || (a.path < b.path ? -1 : 1));
    return { items: all.slice(offset, offset + limit), total: all.length, offset, limit };
  }

  /** Applies a metadata edit: description and column comments as one Delta metaData commit; owner and tags in the catalog. */
  async patch(name: string, patch: PatchTable, userName: string): Promise<TableDetail> {
    const s = await this.warehouse.snapshot(name);
    if (patch.description !== undefined || patch.columnComments !== undefined) {
      const comments = patch.columnComments ?? {};
      for (const c of Object.keys(comments)) {
        if (!s.schema.fields.some((f) => f.name === c)) throw new LakehouseError('INVALID_INPUT', `table ${name} has no column "${c}"`, { column: c });
      }
      const schema: StructType = {
        type: 'struct',
        fields: s.schema.fields.map((f) => {
          if (!(f.name in comments)) return f;
          const metadata = { ...f.metadata };
          const v = comments[f.name];
          if (v === null || v === '') delete metadata.comment;
          else metadata.comment = v;
          return { ...f, metadata };
        }),
      };
      const metadata = { ...s.metadata, schemaString: schemaToString(schema) };
      if (patch.description !== undefined) {
        if (patch.description === null || patch.description === '') delete metadata.description;
        else metadata.description = patch.description;
      }
      const txn = new Transaction(this.warehouse.ref(name), s, this.clock).add({ metaData: metadata });
      await txn.commit({
        operation: patch.columnComments ? 'CHANGE COLUMN' : 'SET TBLPROPERTIES',
        operationParameters: { ...(patch.description !== undefined ? { description: patch.description } : {}), ...(patch.columnComments ? { columnComments: patch.columnComments } : {}) },
        userName,
      });
    }
    if (patch.owner !== undefined || patch.tags !== undefined) {
      if (!(await this.catalog.getTable(name))) await this.catalog.registerTable(name, null);
      if (patch.owner !== undefined) await this.catalog.setTableOwner(name, patch.owner);
      if (patch.tags !== undefined) await this.catalog.setTableTags(name, [...new Set(patch.tags)]);
    }
    return this.detail(name);
  }

  /** The scan plan of a version with one signed URL per data file (deletion vectors resolved to row positions). */
  async scan(name: string, options: { version?: number; timestamp?: string; where?: string }, signer: UrlSigner, ttlSeconds: number): Promise<ScanResponse> {
    const s = await this.warehouse.snapshot(name, { version: options.version, timestamp: options.timestamp });
    const plan = await planScan(s, { predicate: options.where?.trim() ? options.where : null });
    const tableKey = this.warehouse.ref(name).tableKey;
    const exp = Math.floor(this.clock.now() / 1000) + ttlSeconds;
    let totalBytes = 0;
    for (const a of s.adds()) totalBytes += a.size;
    return {
      table: name,
      version: plan.version,
      columns: plan.columns.map((c) => ({ name: c.name, physicalName: c.physicalName, type: c.type, nullable: c.nullable, isPartition: c.isPartition })),
      partitionColumns: plan.partitionColumns,
      columnMappingMode: plan.columnMappingMode,
      files: plan.files.map((f) => {
        const rel = f.key.slice(tableKey.length + 1);
        return {
          path: rel,
          url: signer.url({ table: name, path: rel, exp }),
          size: f.size,
          rows: f.numRecords,
          partitionValues: f.partitionValues,
          deletedRows: f.deletedRows ?? null,
        };
      }),
      totalFiles: plan.totalFiles,
      totalBytes,
      predicate: plan.predicate,
      expiresAt: new Date(exp * 1000).toISOString(),
    };
  }
}
