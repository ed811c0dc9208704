import type { Grant } from '@lakehouse/contracts';
import type { Clock } from '@lakehouse/core';
import { monotonicTicker, type Ticker } from '../warehouse/refreshing.js';
import type { Principal } from './policy.js';

/** What a token resolves to, as loaded from the catalog. */
export interface ResolvedToken {
  principal: Principal;
  /** Expiry of the token (ISO), null when it never expires. */
  expiresAt: string | null;
  /** One-time tokens are revoked by their use and never cached. */
  oneTime: boolean;
}

/** Settings of the principal cache. */
export interface PrincipalCacheOptions {
  /** How long a resolved token is reused (default 3000 ms); changes made by other processes apply after this. */
  ttlMs?: number;
  /** Most tokens kept (default 10 000; the oldest entry is dropped first). */
  maxEntries?: number;
  /** Monotonic time source of the ages (default performance.now). */
  ticker?: Ticker;
}

interface Entry {
  principal: Principal;
  loadedAt: number;
  /** Epoch ms (of the app clock) at which the token expires, or +Infinity. */
  expiresAtMs: number;
}

interface Flight {
  promise: Promise<ResolvedToken | null>;
  /** Whether a request already took the (one-time) token of this load. */
  claimed: boolean;
}

function frozen(p: Principal): Principal {
  const grants: readonly Grant[] = Object.freeze(p.grants.map((g) => Object.freeze({ ...g })));
  return Object.freeze({ id: p.id, name: p.name, role: p.role, grants });
}

/**
 * Principals by token hash, for a few seconds, so that a request does not read the token, user and grants from the
 * catalog each time. Guarantees: an entry is reused for at most `ttlMs` (ticker time) and never at or past its
 * token's expiry (app clock); one-time tokens and unknown tokens are never cached; `invalidate()` (called after
 * every change of users, tokens or grants in this process) drops every entry, and a load that was running when it
 * was called is not cached, so the next request reads the catalog again. Concurrent requests with the same
 * uncached token share one load (a one-time token still authenticates exactly one of them).
 */
export class PrincipalCache {
  private readonly entries = new Map<string, Entry>();
  private readonly loading = new Map<string, Flight>();
  private gen = 0;
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly ticker: Ticker;

  constructor(options: PrincipalCacheOptions = {}) {
    this.ttlMs = options.ttlMs ?? 3000;
    this.maxEntries = options.maxEntries ?? 10_000;
    this.ticker = options.ticker ?? monotonicTicker;
  }

  /** The principal of a token hash: cached, or loaded with `load` (null for an invalid token). */
  async resolve(tokenHash: string, clock: Clock, load: () => Promise<ResolvedToken | null>): Promise<Principal | null> {
    const e = this.entries.get(tokenHash);
    if (e) {
      if (this.ticker() - e.loadedAt < this.ttlMs && clock.now() < e.expiresAtMs) return e.principal;
      this.entries.delete(tokenHash);
    }
    let flight = this.loading.get(tokenHash);
    if (!flight) flight = this.startLoad(tokenHash, load);
    const r = await flight.promise;
    if (!r) return null;
    // A one-time token authenticates exactly one request, even when several shared its load.
    if (r.oneTime) {
      if (flight.claimed) return null;
      flight.claimed = true;
    }
    return r.principal;
  }

  private startLoad(tokenHash: string, load: () => Promise<ResolvedToken | null>): Flight {
    const gen = this.gen;
    const loadedAt = this.ticker();
    const flight: Flight = { promise: Promise.resolve(null), claimed: false };
    flight.promise = load()
      .then((r) => {
        if (!r) return null;
        const resolved: ResolvedToken = { ...r, principal: frozen(r.principal) };
        if (!r.oneTime && gen === this.gen) {
          const expiresAtMs = r.expiresAt === null ? Number.POSITIVE_INFINITY : Date.parse(r.expiresAt);
          if (this.entries.size >= this.maxEntries) {
            const oldest = this.entries.keys().next();
            if (!oldest.done) this.entries.delete(oldest.value);
          }
          this.entries.set(tokenHash, { principal: resolved.principal, loadedAt, expiresAtMs });
        }
        return resolved;
      })
      .finally(() => {
        if (this.loading.get(tokenHash) === flight) this.loading.delete(tokenHash);
      });
    this.loading.set(tokenHash, flight);
    return flight;
  }

  /** Drops every cached principal and detaches running loads (after a change of users, tokens or grants). */
  invalidate(): void {
    this.gen++;
    this.entries.clear();
    this.loading.clear();
  }

  /** Number of cached principals (for tests). */
  get size(): number {
    return this.entries.size;
  }
}
