import { footerBlockStart, footerBlocksBefore, type Column, type DataFile, type FilesPage, type HistoryPage, type PatchTable, type ScanResponse, type TableDetail, type TableSummary } from '@lakehouse/contracts';
import {
  LakehouseError,
  Snapshot,
  Transaction,
  countRows,
  mapLimit,
  parseTableName,
  physicalName,
  planScan,
  readHistory,
  schemaToString,
  statsColumnFacts,
  statsOf,
  typeToString,
  type Clock,
  type Storage,
  type StructType,
} from '@lakehouse/core';
import type { CatalogStore, TableRecord } from '../catalog/store.js';
import type { UrlSigner } from '../http/signing.js';
import { Refreshing, monotonicTicker, type Ticker } from '../warehouse/refreshing.js';
import type { Warehouse } from '../warehouse/warehouse.js';

/** A file's footer block in a scan plan. */
type ScanFooter = NonNullable<ScanResponse['files'][number]['footer']>;
/** Files of a plan whose footer blocks come with it. */
const MAX_PLAN_FOOTERS = 64;
/** Most bytes of a file a plan brings (the footer's blocks): a larger footer is left for the browser to fetch. */
const MAX_PLAN_FOOTER_BYTES = 65_536;
/** Footer blocks read at once. */
const FOOTER_READS = 8;

/**
 * The bytes of the file at `key` (`size` bytes) that a Parquet reader reads first, as a plan brings them: from the
 * block holding the footer's first byte to the end (up to MAX_PLAN_FOOTER_BYTES), else from the block holding the
 * last 8 bytes. Null when the file cannot be read (the browser then fetches it).
 */
export async function planFooter(storage: Storage, key: string, size: number): Promise<ScanFooter | null> {
  if (size <= 0) return null;
  const tailStart = footerBlockStart(size);
  const tail = await storage.get(key, { start: tailStart, end: size }).catch(() => null);
  if (!tail) return null;
  let start = tailStart;
  let bytes = tail;
  // A footer that begins before the last block (its start is in the last 8 bytes): its first blocks too, else the
  // browser would fetch them, one more round trip before the view can be built.
  const from = footerBlocksBefore(tail, tailStart, size);
  if (from !== null && size - from <= MAX_PLAN_FOOTER_BYTES) {
    const head = await storage.get(key, { start: from, end: tailStart }).catch(() => null);
    if (head && head.byteLength === tailStart - from) {
      start = from;
      bytes = Buffer.concat([head, tail]);
    }
  }
  return { start, base64: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64') };
}

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

/** How long the catalog records (owner, tags) of tables are reused before they are read again. */
export interface TableServiceCacheOptions {
  /** Records read less than this long ago are reused (default 2000); edits made through this service apply at once. */
  recordsMaxAgeMs?: number;
  /** Monotonic time source of the ages (default performance.now). */
  ticker?: Ticker;
}

/**
 * Catalog views of warehouse tables: summaries, details, history, files, metadata edits and signed scan plans.
 * Reads use the warehouse's caches and a cache of the catalog records (all tables, one query, shared by concurrent
 * callers); owner and tag edits by other processes show after at most `recordsMaxAgeMs`, edits through `patch` at once.
 */
export class TableService {
  private readonly rowCache = new Map<string, { version: number; rows: number | null }>();
  /** Per cached snapshot: its summary and lower-cased search text, valid while the record object is the same. */
  private readonly listedMemo = new WeakMap<Snapshot, { name: string; rec: TableRecord | null; hay: string; summary: TableSummary }>();
  private readonly records: Refreshing<Map<string, TableRecord>>;
  private readonly recordsMaxAgeMs: number;

  constructor(
    private readonly warehouse: Warehouse,
    private readonly catalog: CatalogStore,
    private readonly clock: Clock,
    cache: TableServiceCacheOptions = {},
  ) {
    this.recordsMaxAgeMs = cache.recordsMaxAgeMs ?? 2000;
    this.records = new Refreshing(async () => new Map((await this.catalog.listTables()).map((t) => [t.name, t])), cache.ticker ?? monotonicTicker);
  }

  /** Registers every table found in the warehouse layout now (tables written by other engines show up). */
  async syncRegistry(): Promise<string[]> {
    const names = await this.warehouse.discover();
    const records = await this.records.get(0);
    for (const n of names) if (!records.has(n)) records.set(n, await this.catalog.registerTable(n, null));
    return names;
  }

  /** The catalog record of a table (registered with no owner when it is not yet), from the cached records. */
  private async record(name: string): Promise<TableRecord> {
    const records = await this.records.get(this.recordsMaxAgeMs);
    let rec = records.get(name);
    if (!rec) {
      rec = await this.catalog.registerTable(name, null);
      records.set(name, rec);
    }
    return rec;
  }

  /** Discovered table names and the catalog records of all tables, registering the newly discovered ones. */
  private async syncedRecords(): Promise<{ names: readonly string[]; records: Map<string, TableRecord> }> {
    const [names, records] = await Promise.all([this.warehouse.tableNames(), this.records.get(this.recordsMaxAgeMs)]);
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
    const candidates = names.filter((name) => {
      if (filter.layer || filter.domain) {
        const p = parseTableName(name);
        if (filter.layer && p.layer !== filter.layer) return false;
        if (filter.domain && p.domain !== filter.domain) return false;
      }
      return !filter.tag || (records.get(name)?.tags ?? []).includes(filter.tag);
    });
    // Latest snapshots of all candidates at once (cached ones resolve at once; stale ones refresh in parallel).
    const snapshots = await Promise.all(candidates.map((name) => this.warehouse.snapshot(name).catch(() => null)));
    const out: TableSummary[] = [];
    const words = q ? q.split(/\s+/) : [];
    for (const [k, name] of candidates.entries()) {
      const rec = records.get(name) ?? null;
      const s = snapshots[k];
      if (!s) continue;
      const listed = await this.listed(name, s, rec);
      if (!words.every((w) => listed.hay.includes(w))) continue;
      out.push(listed.summary);
    }
    return out;
  }

  /** The summary and search text of a table version with its record, computed once per (snapshot, record) pair. */
  private async listed(name: string, s: Snapshot, rec: TableRecord | null): Promise<{ summary: TableSummary; hay: string }> {
    const memo = this.listedMemo.get(s);
    if (memo && memo.rec === rec && memo.name === name) return memo;
    const hay = [name, s.metadata.description ?? '', ...(rec?.tags ?? []), ...s.schema.fields.map((f) => f.name), ...s.schema.fields.map((f) => String(f.metadata.comment ?? ''))]
      .join('\n')
      .toLowerCase();
    const entry = { name, rec, hay, summary: Object.freeze(await this.summaryOf(name, s, rec)) };
    this.listedMemo.set(s, entry);
    return entry;
  }

  /** Full detail of a table version, with per-column min/max/null counts aggregated from file stats. */
  async detail(name: string, version?: number): Promise<TableDetail> {
    const s = await this.warehouse.snapshot(name, version === undefined ? {} : { version });
    const rec = await this.record(name);
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
    const s = await this.warehouse.snapshot(name, { fresh: true });
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
      try {
        if (!(await this.catalog.getTable(name))) await this.catalog.registerTable(name, null);
        if (patch.owner !== undefined) await this.catalog.setTableOwner(name, patch.owner);
        if (patch.tags !== undefined) await this.catalog.setTableTags(name, [...new Set(patch.tags)]);
      } finally {
        // Read-your-writes: the next read (the detail below included) loads the records again.
        this.records.invalidate();
      }
    }
    return this.detail(name);
  }

  /** The scan plan of a version with one signed URL per data file (deletion vectors resolved to row positions). */
  async scan(
    name: string,
    options: { version?: number; timestamp?: string; where?: string; footers?: boolean },
    signer: UrlSigner,
    ttlSeconds: number,
  ): Promise<ScanResponse> {
    const s = await this.warehouse.snapshot(name, { version: options.version, timestamp: options.timestamp });
    const plan = await planScan(s, { predicate: options.where?.trim() ? options.where : null });
    const tableKey = this.warehouse.ref(name).tableKey;
    const exp = Math.floor(this.clock.now() / 1000) + ttlSeconds;
    let totalBytes = 0;
    for (const a of s.adds()) totalBytes += a.size;
    const footers = options.footers ? await this.footerBlocks(plan.files.slice(0, MAX_PLAN_FOOTERS)) : new Map<string, ScanFooter>();
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
          ...(footers.has(f.key) ? { footer: footers.get(f.key) } : {}),
        };
      }),
      totalFiles: plan.totalFiles,
      totalBytes,
      predicate: plan.predicate,
      expiresAt: new Date(exp * 1000).toISOString(),
    };
  }

  /**
   * The footers of the files (what a Parquet reader reads first; planFooter), by storage key, read a few at a time:
   * the browser gets them with the plan instead of one request per file. A file that cannot be read is left out (the
   * browser then fetches it).
   */
  private async footerBlocks(files: readonly { key: string; size: number }[]): Promise<Map<string, ScanFooter>> {
    const storage = this.warehouse.storage;
    const read = await mapLimit(files, FOOTER_READS, async (f): Promise<[string, ScanFooter] | null> => {
      const footer = await planFooter(storage, f.key, f.size);
      return footer ? [f.key, footer] : null;
    });
    return new Map(read.filter((e) => e !== null));
  }
}
