import { LakehouseError } from '../../src/errors.js';
import type { ByteRange, ListOptions, ObjectInfo, Storage } from '../../src/storage/storage.js';

/** The Storage methods a FaultyStorage counts and can fail. */
export type StorageMethod = 'list' | 'get' | 'head' | 'put' | 'putIfAbsent' | 'delete';

/**
 * How an injected fault behaves:
 * - `throw`: the call throws without touching the inner storage; later calls work.
 * - `throwAfter`: the call is performed on the inner storage, then throws (the effect landed but the caller saw an error).
 * - `stop`: the call throws without touching the inner storage, and so does every later call (a crashed process).
 */
export type FaultMode = 'throw' | 'throwAfter' | 'stop';

/** Where to inject a fault: the Nth call (1-based) of `method`, or the Nth call overall when `method` is absent. */
export interface FaultRule {
  method?: StorageMethod;
  /** 1-based index among the calls counted by this rule. */
  nth: number;
  mode: FaultMode;
}

/** One call seen by a FaultyStorage, in call order. */
export interface CallRecord {
  /** 1-based index among all calls. */
  index: number;
  method: StorageMethod;
  /** Key or prefix the call was made with. */
  key: string;
  /** True when this call threw an injected fault. */
  faulted: boolean;
}

/** Details carried by every injected error, so tests can tell injected faults from real failures. */
export const INJECTED = 'injected';

/**
 * A Storage wrapper that records every call and throws an injected STORAGE_ERROR at the calls its rules pick.
 * Guarantees: calls not picked by a rule (and made before a `stop`) are passed to the inner storage unchanged;
 * injected errors are LakehouseError STORAGE_ERROR with `details.injected === true`.
 */
export class FaultyStorage implements Storage {
  readonly root: string;
  /** Every call made so far, in order. */
  readonly calls: CallRecord[] = [];
  /** Present only when constructed with `exposeLocalPath` (lets native writers bypass the wrapper). */
  localPath?: (key: string) => string;
  private readonly rules: FaultRule[] = [];
  private readonly counts = new Map<StorageMethod | '*', number>();
  private stoppedAt: CallRecord | null = null;

  constructor(
    readonly inner: Storage,
    options: { exposeLocalPath?: boolean } = {},
  ) {
    this.root = inner.root;
    if (options.exposeLocalPath && inner.localPath) {
      const lp = inner.localPath.bind(inner);
      this.localPath = (key) => lp(key);
    }
  }

  /** Adds a fault rule; returns this. */
  failAt(rule: FaultRule): this {
    if (!Number.isInteger(rule.nth) || rule.nth < 1) throw new Error(`nth must be a positive integer, got ${rule.nth}`);
    this.rules.push(rule);
    return this;
  }

  /** The call at which a `stop` fault fired, or null. */
  get stopped(): CallRecord | null {
    return this.stoppedAt;
  }

  /** Calls whose fault fired. */
  get faults(): CallRecord[] {
    return this.calls.filter((c) => c.faulted);
  }

  /** Calls of one method, in order. */
  callsOf(method: StorageMethod): CallRecord[] {
    return this.calls.filter((c) => c.method === method);
  }

  private async call<T>(method: StorageMethod, key: string, run: () => Promise<T>): Promise<T> {
    const all = (this.counts.get('*') ?? 0) + 1;
    const mine = (this.counts.get(method) ?? 0) + 1;
    this.counts.set('*', all);
    this.counts.set(method, mine);
    const rec: CallRecord = { index: all, method, key, faulted: false };
    this.calls.push(rec);
    if (this.stoppedAt) {
      rec.faulted = true;
      throw injected(rec, `storage stopped at call #${this.stoppedAt.index}`);
    }
    const rule = this.rules.find((r) => (r.method === undefined ? r.nth === all : r.method === method && r.nth === mine));
    if (!rule) return run();
    rec.faulted = true;
    if (rule.mode === 'throwAfter') {
      await run();
      throw injected(rec, 'failed after the call took effect');
    }
    if (rule.mode === 'stop') this.stoppedAt = rec;
    throw injected(rec, rule.mode === 'stop' ? 'storage stopped' : 'failed');
  }

  /** Passes through unless a fault is injected. */
  list(prefix: string, options?: ListOptions): Promise<ObjectInfo[]> {
    return this.call('list', prefix, () => this.inner.list(prefix, options));
  }
  /** Passes through unless a fault is injected. */
  get(key: string, range?: ByteRange): Promise<Uint8Array> {
    return this.call('get', key, () => this.inner.get(key, range));
  }
  /** Passes through unless a fault is injected. */
  head(key: string): Promise<ObjectInfo | null> {
    return this.call('head', key, () => this.inner.head(key));
  }
  /** Passes through unless a fault is injected. */
  put(key: string, data: Uint8Array): Promise<void> {
    return this.call('put', key, () => this.inner.put(key, data));
  }
  /** Passes through unless a fault is injected. */
  putIfAbsent(key: string, data: Uint8Array): Promise<boolean> {
    return this.call('putIfAbsent', key, () => this.inner.putIfAbsent(key, data));
  }
  /** Passes through unless a fault is injected. */
  delete(key: string): Promise<void> {
    return this.call('delete', key, () => this.inner.delete(key));
  }
}

function injected(rec: CallRecord, what: string): LakehouseError {
  return new LakehouseError('STORAGE_ERROR', `injected fault: ${rec.method} ${rec.key} (call #${rec.index}) ${what}`, {
    [INJECTED]: true,
    call: rec.index,
    method: rec.method,
    key: rec.key,
  });
}

/**
 * A read-only view of a storage that hides every checkpoint file and `_last_checkpoint`, forcing a JSON-only log
 * replay. Guarantees: `list` omits keys containing `.checkpoint.` or ending in `_last_checkpoint`, and `get`/`head`
 * of such keys behave as if they were absent; writes throw.
 */
export class NoCheckpointStorage implements Storage {
  readonly root: string;
  constructor(private readonly inner: Storage) {
    this.root = inner.root;
  }
  private static hidden(key: string): boolean {
    return key.includes('.checkpoint.') || key.endsWith('_last_checkpoint') || key.includes('/_sidecars/');
  }
  /** Lists the inner storage minus checkpoint files. */
  async list(prefix: string, options?: ListOptions): Promise<ObjectInfo[]> {
    return (await this.inner.list(prefix, options)).filter((o) => !NoCheckpointStorage.hidden(o.key));
  }
  /** FILE_NOT_FOUND for checkpoint files. */
  async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    if (NoCheckpointStorage.hidden(key)) throw new LakehouseError('FILE_NOT_FOUND', `file not found: ${key}`, { key });
    return this.inner.get(key, range);
  }
  /** Null for checkpoint files. */
  async head(key: string): Promise<ObjectInfo | null> {
    return NoCheckpointStorage.hidden(key) ? null : this.inner.head(key);
  }
  /** Refused: the view is read-only. */
  async put(key: string): Promise<void> {
    throw new Error(`read-only view: put ${key}`);
  }
  /** Refused: the view is read-only. */
  async putIfAbsent(key: string): Promise<boolean> {
    throw new Error(`read-only view: putIfAbsent ${key}`);
  }
  /** Refused: the view is read-only. */
  async delete(key: string): Promise<void> {
    throw new Error(`read-only view: delete ${key}`);
  }
}
