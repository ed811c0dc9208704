import { LakehouseError } from '../errors.js';
import type { ByteRange, Clock, ListOptions, ObjectInfo, Storage } from './storage.js';
import { systemClock } from './storage.js';

/** In-memory storage for tests and the browser; satisfies the full Storage contract (atomic putIfAbsent). */
export class MemoryStorage implements Storage {
  readonly root: string;
  private readonly objects = new Map<string, { data: Uint8Array; lastModified: number }>();

  constructor(
    private readonly clock: Clock = systemClock,
    root = 'memory://',
  ) {
    this.root = root;
  }

  /** Lists objects under `prefix`, sorted by key. */
  async list(prefix: string, options: ListOptions = {}): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    for (const [key, o] of this.objects) {
      if (!key.startsWith(prefix)) continue;
      if (options.startAfter !== undefined && key <= options.startAfter) continue;
      out.push({ key, size: o.data.byteLength, lastModified: o.lastModified });
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** Returns a copy of the bytes (or a range of them). */
  async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    const o = this.objects.get(key);
    if (!o) throw new LakehouseError('FILE_NOT_FOUND', `file not found: ${key}`, { key });
    if (!range) return o.data.slice();
    return o.data.slice(range.start, Math.min(range.end, o.data.byteLength));
  }

  /** Metadata or null. */
  async head(key: string): Promise<ObjectInfo | null> {
    const o = this.objects.get(key);
    return o ? { key, size: o.data.byteLength, lastModified: o.lastModified } : null;
  }

  /** Stores a copy of `data`. */
  async put(key: string, data: Uint8Array): Promise<void> {
    this.objects.set(key, { data: data.slice(), lastModified: this.clock.now() });
  }

  /** Atomic: the check and the write happen in one synchronous step. */
  async putIfAbsent(key: string, data: Uint8Array): Promise<boolean> {
    if (this.objects.has(key)) return false;
    this.objects.set(key, { data: data.slice(), lastModified: this.clock.now() });
    return true;
  }

  /** Removes the key if present. */
  async delete(key: string): Promise<void> {
    this.objects.delete(key);
  }
}
