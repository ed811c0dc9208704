import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
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

const NAME_PART = /^[a-z][a-z0-9_]*$/;

/**
 * The tables under one warehouse root (`<root>/<layer>/<domain>/<table>/_delta_log`), with a snapshot cache that
 * refreshes incrementally: a read of the latest version costs one listing of the new commits.
 */
export class Warehouse {
  /** Storage rooted at the warehouse; table keys are `layer/domain/table`. */
  readonly storage: Storage;
  private readonly latest = new Map<string, Promise<Snapshot>>();

  constructor(
    /** Absolute path of the warehouse root. */
    readonly root: string,
    readonly clock: Clock,
  ) {
    this.storage = new FsStorage(root, clock);
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

  /** Names of every Delta table in the layout (folders with a `_delta_log`), sorted. */
  async discover(): Promise<string[]> {
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

  /** A snapshot: the latest (cached, refreshed incrementally) or a time-travel version. TABLE_NOT_FOUND names the table. */
  async snapshot(name: string, options: SnapshotOptions = {}): Promise<Snapshot> {
    const { name: n } = parseTableName(name);
    const ref = this.ref(n);
    try {
      if (options.version !== undefined || options.timestamp !== undefined) return await Snapshot.load(ref, options);
      const cached = this.latest.get(n);
      const next = cached ? cached.then((s) => s.update()) : Snapshot.load(ref);
      this.latest.set(n, next);
      const s = await next;
      return s;
    } catch (e) {
      this.latest.delete(n);
      if (isLakehouseError(e, 'TABLE_NOT_FOUND') || isLakehouseError(e, 'NOT_A_DELTA_TABLE')) {
        throw new LakehouseError('TABLE_NOT_FOUND', `table ${n} does not exist`, { table: n });
      }
      throw e;
    }
  }

  /** Forgets the cached snapshot of a table (after it was dropped or replaced outside the cache). */
  forget(name: string): void {
    this.latest.delete(name);
  }
}

async function subdirs(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory() && NAME_PART.test(e.name)).map((e) => e.name);
}
