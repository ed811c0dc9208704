/** Metadata of one stored object. */
export interface ObjectInfo {
  /** Key relative to the storage root, `/`-separated, never starting with `/`. */
  key: string;
  size: number;
  /** Last modification time in epoch milliseconds. */
  lastModified: number;
}

/** A half-open byte range `[start, end)`. */
export interface ByteRange {
  start: number;
  end: number;
}

/** Options for listing. */
export interface ListOptions {
  /** Only keys strictly greater than this (lexicographic, as S3 StartAfter). */
  startAfter?: string;
}

/**
 * The only way the core touches bytes. Keys are `/`-separated paths relative to the storage root.
 * Implementations guarantee: `putIfAbsent` is atomic (exactly one of concurrent callers wins and
 * no reader ever sees a partial object), `get` of a missing key throws `FILE_NOT_FOUND`.
 */
export interface Storage {
  /** Human-readable location of the root (e.g. a path or URL), for messages. */
  readonly root: string;
  /** All objects whose key starts with `prefix`, sorted by key. Missing prefixes list as empty. */
  list(prefix: string, options?: ListOptions): Promise<ObjectInfo[]>;
  /** The object's bytes, or the given range of them; throws LakehouseError FILE_NOT_FOUND when absent. */
  get(key: string, range?: ByteRange): Promise<Uint8Array>;
  /** The object's metadata, or null when absent. */
  head(key: string): Promise<ObjectInfo | null>;
  /** Writes (or replaces) the object; readers see either the old or the new bytes. */
  put(key: string, data: Uint8Array): Promise<void>;
  /** Creates the object only if no object has the key; returns false (and writes nothing) if it exists. */
  putIfAbsent(key: string, data: Uint8Array): Promise<boolean>;
  /** Deletes the object; deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** A local filesystem path for the key, when this storage is a local disk (lets native writers skip a copy). */
  localPath?(key: string): string;
}

/** Source of the current time; injected so that tests control it. */
export interface Clock {
  /** Current time in epoch milliseconds. */
  now(): number;
}

/** The wall clock. */
export const systemClock: Clock = { now: () => Date.now() };

/** A clock that only moves when told to, for tests. */
export class ManualClock implements Clock {
  constructor(private t: number = Date.UTC(2024, 0, 1)) {}
  /** Current fake time. */
  now(): number {
    return this.t;
  }
  /** Moves the clock forward by `ms`. */
  advance(ms: number): void {
    this.t += ms;
  }
  /** Sets the clock to `ms`. */
  set(ms: number): void {
    this.t = ms;
  }
}

/** Joins key segments with `/`, dropping empty segments and duplicate slashes. */
export function joinKey(...parts: string[]): string {
  return parts
    .flatMap((p) => p.split('/'))
    .filter((p) => p.length > 0)
    .join('/');
}

/**
 * A Storage that forwards every call to `inner` unchanged (localPath only when `inner` has one): extend it and
 * override the calls a wrapper changes (e.g. to observe writes).
 */
export class DelegatingStorage implements Storage {
  readonly root: string;
  readonly localPath?: (key: string) => string;

  constructor(protected readonly inner: Storage) {
    this.root = inner.root;
    if (inner.localPath) this.localPath = (key) => (inner.localPath as (key: string) => string).call(inner, key);
  }

  /** Forwards to `inner`. */
  list(prefix: string, options?: ListOptions): Promise<ObjectInfo[]> {
    return this.inner.list(prefix, options);
  }

  /** Forwards to `inner`. */
  get(key: string, range?: ByteRange): Promise<Uint8Array> {
    return this.inner.get(key, range);
  }

  /** Forwards to `inner`. */
  head(key: string): Promise<ObjectInfo | null> {
    return this.inner.head(key);
  }

  /** Forwards to `inner`. */
  put(key: string, data: Uint8Array): Promise<void> {
    return this.inner.put(key, data);
  }

  /** Forwards to `inner`. */
  putIfAbsent(key: string, data: Uint8Array): Promise<boolean> {
    return this.inner.putIfAbsent(key, data);
  }

  /** Forwards to `inner`. */
  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }
}
