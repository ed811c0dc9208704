import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DelegatingStorage,
  LAYERS,
  LakehouseError,
  Snapshot,
  isLakehouseError,
  parseTableName,
  tableKeyOf,
  type Clock,
  type SnapshotOptions,
  type Storage,
  type TableRef,
} from '@lakehouse/core';
import { FsStorage } from '@lakehouse/core/node';
import { Refreshing, monotonicTicker, type Ticker } from './refreshing.js';

const NAME_PART = /^[a-z][a-z0-9_]*$/;
/** `layer/domain/table/_delta_log/...`: the table whose log a storage key belongs to. */
const LOG_KEY = /^([^/]+)\/([^/]+)\/([^/]+)\/_delta_log\//;

/** How long cached warehouse state is trusted before it is checked again (other processes' changes appear after this). */
export interface WarehouseCacheOptions {
  /** A latest snapshot whose `_delta_log` was listed less than this long ago is served without listing (default 1000). */
  snapshotMaxAgeMs?: number;
  /** A discovery (listing of the layout) younger than this is reused (default 2000). */
  discoveryMaxAgeMs?: number;
  /** Monotonic time source of the ages (default performance.now). */
  ticker?: Ticker;
}

/** Options of `Warehouse.snapshot`: a version or timestamp (time travel), or `fresh` for the latest as of the call. */
export interface WarehouseSnapshotOptions extends SnapshotOptions {
  /** List the `_delta_log` after this call instead of trusting a recent listing (for writes that build on the snapshot). */
  fresh?: boolean;
}

/**
 * Storage that reports every write and delete under a table's `_delta_log` (after it completed, failed or not), so
 * that caches learn of this process's own commits at once.
 */
class NotifyingStorage extends DelegatingStorage {
  constructor(
    inner: Storage,
    private readonly onLogChange: (table: string) => void,
  ) {
    super(inner);
  }

  private notify(key: string): void {
    const m = LOG_KEY.exec(key);
    if (m) this.onLogChange(`${m[1]}.${m[2]}.${m[3]}`);
  }

  private async tracked<T>(key: string, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } finally {
      this.notify(key);
    }
  }

  override put(key: string, data: Uint8Array): Promise<void> {
    return this.tracked(key, () => this.inner.put(key, data));
  }
  override putIfAbsent(key: string, data: Uint8Array): Promise<boolean> {
    return this.tracked(key, () => this.inner.putIfAbsent(key, data));
  }
  override delete(key: string): Promise<void> {
    return this.tracked(key, () => this.inner.delete(key));
  }
}

/**
 * The tables under one warehouse root (`<root>/<layer>/<domain>/<table>/_delta_log`), with caches that keep reads
 * cheap under concurrency while bounding staleness:
 * - latest snapshots refresh incrementally (one listing of the new commits), one refresh per table at a time shared
 *   by concurrent readers, and not at all while the last listing is younger than `snapshotMaxAgeMs`;
 * - `tableNames()` reuses a discovery younger than `discoveryMaxAgeMs`, one discovery at a time;
 * - a commit made through `storage` (this process) invalidates both at once, so it is visible to the next read;
 *   commits by other processes or engines are visible after at most the max age (plus one listing).
 */
export class Warehouse {
  /** Storage rooted at the warehouse; table keys are `layer/domain/table`. Writes through it invalidate the caches. */
  readonly storage: Storage;
  private readonly latest = new Map<string, Refreshing<Snapshot>>();
  private readonly names: Refreshing<string[]>;
  private readonly snapshotMaxAgeMs: number;
  private readonly discoveryMaxAgeMs: number;
  private readonly ticker: Ticker;

  constructor(
    /** Absolute path of the warehouse root. */
    readonly root: string,
    readonly clock: Clock,
    cache: WarehouseCacheOptions = {},
  ) {
    this.snapshotMaxAgeMs = cache.snapshotMaxAgeMs ?? 1000;
    this.discoveryMaxAgeMs = cache.discoveryMaxAgeMs ?? 2000;
    this.ticker = cache.ticker ?? monotonicTicker;
    this.storage = new NotifyingStorage(new FsStorage(root, clock), (table) => this.logChanged(table));
    this.names = new Refreshing(() => this.listLayout(), this.ticker);
  }

  /** Called after this process wrote or deleted a file under a table's `_delta_log`. */
  private logChanged(table: string): void {
    this.latest.get(table)?.invalidate();
    const known = this.names.peek();
    if (!known || !known.includes(table)) this.names.invalidate();
  }

  /** The table reference of a validated name. */
  ref(name: string): TableRef {
    const { name: n } = parseTableName(name);
    return { storage: this.storage, tableKey: tableKeyOf(n) };
  }

  /** Local folder of a table. */
  dir(name: string): string {
    return join(this.root, ...parseTableName(name).name.split('.'));
  }

  /**
   * Names of every Delta table in the layout, sorted, from a discovery younger than `discoveryMaxAgeMs` (shared by
   * concurrent callers); tables created through this process are included at once.
   */
  tableNames(): Promise<readonly string[]> {
    return this.names.get(this.discoveryMaxAgeMs);
  }

  /** Names of every Delta table in the layout (folders with a `_delta_log`), sorted, listed now (also refreshes `tableNames`). */
  async discover(): Promise<string[]> {
    const startedAt = this.ticker();
    const startGen = this.names.generation();
    const out = await this.listLayout();
    this.names.offer(out, startedAt, startGen);
    return [...out];
  }

  private async listLayout(): Promise<string[]> {
    const out: string[] = [];
    for (const layer of LAYERS) {
      for (const domain of await subdirs(join(this.root, layer))) {
        for (const table of await subdirs(join(this.root, layer, domain))) {
          const s = await stat(join(this.root, layer, domain, table, '_delta_log')).catch(() => null);
          if (s?.isDirectory()) out.push(`${layer}.${domain}.${table}`);
        }
      }
    }
    return out.sort();
  }

  /** True when the table has a Delta log. */
  async exists(name: string): Promise<boolean> {
    const s = await stat(join(this.dir(name), '_delta_log')).catch(() => null);
    return Boolean(s?.isDirectory()) && (await this.storage.list(this.ref(name).tableKey + '/_delta_log/0')).length > 0;
  }

  /**
   * A snapshot: a time-travel version (loaded each time), or the latest version, cached: its log was listed less than
   * `snapshotMaxAgeMs` ago and after this process's last commit to the table, or (with `fresh`) after this call.
   * TABLE_NOT_FOUND names the table.
   */
  async snapshot(name: string, options: WarehouseSnapshotOptions = {}): Promise<Snapshot> {
    const travel = options.version !== undefined || options.timestamp !== undefined;
    // Entries exist only under validated names: a hit skips parsing the name.
    let entry = travel ? undefined : this.latest.get(name);
    if (entry && !options.fresh && entry.isFresh(this.snapshotMaxAgeMs)) return entry.peek()!;
    const n = entry ? name : parseTableName(name).name;
    try {
      if (travel) return await Snapshot.load(this.ref(n), { version: options.version, timestamp: options.timestamp });
      entry ??= this.latest.get(n);
      if (!entry) {
        const ref = this.ref(n);
        entry = new Refreshing<Snapshot>((previous) => (previous ? previous.update() : Snapshot.load(ref)), this.ticker);
        this.latest.set(n, entry);
      }
      return await entry.get(options.fresh ? 0 : this.snapshotMaxAgeMs);
    } catch (e) {
      // Keep no entry for a table that failed to load (unknown names must not accumulate).
      if (entry && this.latest.get(n) === entry && entry.peek() === undefined) this.latest.delete(n);
      if (isLakehouseError(e, 'TABLE_NOT_FOUND') || isLakehouseError(e, 'NOT_A_DELTA_TABLE')) {
        throw new LakehouseError('TABLE_NOT_FOUND', `table ${n} does not exist`, { table: n });
      }
      throw e;
    }
  }

  /** Forgets the cached snapshot of a table and the discovery (after it was dropped or replaced outside the cache). */
  forget(name: string): void {
    this.latest.get(name)?.reset();
    this.latest.delete(name);
    this.names.invalidate();
  }
}

async function subdirs(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory() && NAME_PART.test(e.name)).map((e) => e.name);
}
