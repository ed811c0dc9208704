/** A monotonic millisecond counter (performance.now by default); injected so that tests control cache ages. */
export type Ticker = () => number;

/** The default ticker: `performance.now()`, which never goes backwards (unlike the wall clock). */
export const monotonicTicker: Ticker = () => performance.now();

interface Flight<T> {
  promise: Promise<T>;
  startedAt: number;
  startGen: number;
}

const noop = (): void => undefined;

/**
 * A value produced by an async loader and shared by concurrent callers. Guarantees:
 * - `get(maxAgeMs)` returns a value whose load *started* less than `maxAgeMs` ago (ticker time) and after the last
 *   `invalidate()`; `get(0)` waits for a load that starts after the call;
 * - at most one load runs at a time: callers arriving while one runs either share it (when it is recent enough and
 *   started after the last invalidation) or share the single load queued behind it;
 * - a failed load is not cached (the next call loads again) and drops the previous value;
 * - `reset()` drops the value, and the result of a load running across it is not kept.
 * The loader receives the previous value (for incremental refreshes).
 */
export class Refreshing<T> {
  private value: T | undefined;
  private has = false;
  private checkedAt = Number.NEGATIVE_INFINITY;
  private checkedGen = -1;
  private gen = 0;
  private epoch = 0;
  private inflight: Flight<T> | null = null;
  private next: Promise<T> | null = null;

  constructor(
    private readonly loader: (previous: T | undefined) => Promise<T>,
    private readonly ticker: Ticker = monotonicTicker,
  ) {}

  /** The value if one was loaded and not reset (however old), else undefined. */
  peek(): T | undefined {
    return this.has ? this.value : undefined;
  }

  /** True when a cached value would be returned by `get(maxAgeMs)` without loading. */
  isFresh(maxAgeMs: number): boolean {
    return this.has && this.checkedGen === this.gen && this.ticker() - this.checkedAt < maxAgeMs;
  }

  /** A value loaded less than `maxAgeMs` ago and after the last invalidation (see the class comment). */
  get(maxAgeMs: number): Promise<T> {
    const now = this.ticker();
    if (this.has && this.checkedGen === this.gen && now - this.checkedAt < maxAgeMs) return Promise.resolve(this.value as T);
    const f = this.inflight;
    if (f && f.startGen === this.gen && now - f.startedAt < maxAgeMs) return f.promise;
    // A load that starts after now is needed: the one queued behind the running load, or a new one.
    if (this.next) return this.next;
    if (!f) return this.start();
    const next = f.promise.then(noop, noop).then(() => {
      this.next = null;
      return this.start();
    });
    this.next = next;
    return next;
  }

  /** Marks the value stale: the next `get` waits for a load that starts after this call. */
  invalidate(): void {
    this.gen++;
  }

  /** Drops the value (and any result of a load running now); the next `get` loads from scratch. */
  reset(): void {
    this.epoch++;
    this.gen++;
    this.has = false;
    this.value = undefined;
  }

  /**
   * Stores a value obtained elsewhere by a load that started at `startedAt` (ticker time) with generation `startGen`
   * (see `generation()`); ignored when a load is running or the value was invalidated since.
   */
  offer(value: T, startedAt: number, startGen: number): void {
    if (this.inflight || startGen !== this.gen) return;
    this.value = value;
    this.has = true;
    this.checkedAt = startedAt;
    this.checkedGen = startGen;
  }

  /** The current invalidation generation (pair it with `offer`). */
  generation(): number {
    return this.gen;
  }

  private start(): Promise<T> {
    const startedAt = this.ticker();
    const startGen = this.gen;
    const epoch = this.epoch;
    const previous = this.has ? this.value : undefined;
    const run = Promise.resolve()
      .then(() => this.loader(previous))
      .then(
        (v) => {
          if (epoch === this.epoch) {
            this.value = v;
            this.has = true;
            if (startGen === this.gen) {
              this.checkedAt = startedAt;
              this.checkedGen = startGen;
            }
          }
          return v;
        },
        (e: unknown) => {
          if (epoch === this.epoch) {
            this.has = false;
            this.value = undefined;
          }
          throw e;
        },
      );
    const promise: Promise<T> = run.finally(() => {
      if (this.inflight?.promise === promise) this.inflight = null;
    });
    this.inflight = { promise, startedAt, startGen };
    return promise;
  }
}
