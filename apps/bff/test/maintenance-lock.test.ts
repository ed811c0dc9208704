import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { openCatalog } from '../src/catalog/open.js';
import type { CatalogStore } from '../src/catalog/store.js';
import { postgresForSuite, type TestPostgres } from './support/postgres.js';

const HOOK_TIMEOUT = 180_000;
const postgres = postgresForSuite(HOOK_TIMEOUT);

const T0 = Date.UTC(2025, 0, 1);
const at = (ms: number) => new Date(T0 + ms).toISOString();

interface Pair {
  name: string;
  /** Two stores on one database (PostgreSQL: two pools; PGlite: the one embedded instance twice). */
  open(): Promise<[CatalogStore, CatalogStore] | null>;
}

const PAIRS: Pair[] = [
  {
    name: 'PGlite',
    open: async () => {
      const a = await openCatalog({ pgliteDir: null });
      return [a, a];
    },
  },
  {
    name: 'two PostgreSQL instances',
    open: async () => {
      if (postgres() === null) return null;
      const url = await (postgres() as TestPostgres).createDatabase();
      const a = await openCatalog({ databaseUrl: url });
      const b = await openCatalog({ databaseUrl: url });
      return [a, b];
    },
  },
];

describe.each(PAIRS)('maintenance lock and schedules on $name', (pair) => {
  let stores: [CatalogStore, CatalogStore] | null = null;
  beforeAll(async () => {
    stores = await pair.open();
  }, HOOK_TIMEOUT);
  afterAll(async () => {
    if (!stores) return;
    await stores[0].close();
    if (stores[1] !== stores[0]) await stores[1].close();
  }, HOOK_TIMEOUT);
  function use(ctx: TestContext): [CatalogStore, CatalogStore] {
    if (stores === null) ctx.skip('PostgreSQL binaries not installed');
    return stores as [CatalogStore, CatalogStore];
  }

  it('one holder at a time; the holder renews and releases; an expired lock is taken over', async (ctx) => {
    const [a, b] = use(ctx);
    const t = 'silver.x.locked';
    const first = await a.acquireMaintenanceLock(t, 'owner-a', 60_000, at(0));
    expect(first.acquired).toBe(true);
    expect(await a.renewMaintenanceLock(t, 'owner-a', 60_000, at(0), 'job-a')).toBe(true);
    const second = await b.acquireMaintenanceLock(t, 'owner-b', 60_000, at(1000));
    expect(second).toMatchObject({ acquired: false, holder: { owner: 'owner-a', jobId: 'job-a', expiresAt: at(60_000) } });
    expect(await b.renewMaintenanceLock(t, 'owner-b', 60_000, at(1000))).toBe(false);
    expect(await b.releaseMaintenanceLock(t, 'owner-b')).toBe(false);
    expect((await b.getMaintenanceLock(t, at(1000)))?.jobId).toBe('job-a');
    // A heartbeat moves the expiry; past it another instance takes over and the old holder can no longer renew.
    expect(await a.renewMaintenanceLock(t, 'owner-a', 60_000, at(30_000))).toBe(true);
    expect((await b.acquireMaintenanceLock(t, 'owner-b', 60_000, at(61_000))).acquired).toBe(false);
    expect(await b.getMaintenanceLock(t, at(90_001))).toBeNull();
    const takeover = await b.acquireMaintenanceLock(t, 'owner-b', 60_000, at(90_001));
    expect(takeover).toMatchObject({ acquired: true, lock: { owner: 'owner-b', jobId: null } });
    expect(await a.renewMaintenanceLock(t, 'owner-a', 60_000, at(90_002))).toBe(false);
    expect(await a.releaseMaintenanceLock(t, 'owner-a')).toBe(false);
    expect(await b.releaseMaintenanceLock(t, 'owner-b')).toBe(true);
    expect((await a.acquireMaintenanceLock(t, 'owner-c', 60_000, at(90_003))).acquired).toBe(true);
  });

  it('of many concurrent acquirers on both stores exactly one wins', async (ctx) => {
    const [a, b] = use(ctx);
    const t = 'silver.x.race';
    const attempts = await Promise.all(Array.from({ length: 16 }, (_, i) => (i % 2 === 0 ? a : b).acquireMaintenanceLock(t, `o${i}`, 60_000, at(0))));
    const winners = attempts.filter((x) => x.acquired);
    expect(winners).toHaveLength(1);
    const owner = winners[0].acquired ? winners[0].lock.owner : '';
    for (const x of attempts) if (!x.acquired) expect(x.holder.owner).toBe(owner);
  });

  it('locks of different tables are independent', async (ctx) => {
    const [a, b] = use(ctx);
    expect((await a.acquireMaintenanceLock('silver.x.one', 'o1', 60_000, at(0))).acquired).toBe(true);
    expect((await b.acquireMaintenanceLock('silver.x.two', 'o2', 60_000, at(0))).acquired).toBe(true);
  });

  it('a due schedule is claimed by exactly one instance and moves to the next slot after now', async (ctx) => {
    const [a, b] = use(ctx);
    const s = await a.createSchedule({ table: 'silver.x.sched', kind: 'optimize', intervalMinutes: 60, params: { zorderBy: ['id'] }, enabled: true, nextRunAt: at(0), createdBy: null });
    expect(s).toMatchObject({ kind: 'optimize', intervalMinutes: 60, params: { zorderBy: ['id'] }, enabled: true, lastRunAt: null });
    const off = await a.createSchedule({ table: 'silver.x.sched', kind: 'vacuum', intervalMinutes: 60, params: {}, enabled: false, nextRunAt: at(0), createdBy: null });
    // 150 minutes late: one run, next slot at 180 minutes (not three catch-up runs).
    const claims = await Promise.all([a.claimDueSchedules(at(150 * 60_000)), b.claimDueSchedules(at(150 * 60_000)), a.claimDueSchedules(at(150 * 60_000))]);
    const claimed = claims.flat();
    expect(claimed.map((x) => x.id)).toEqual([s.id]);
    expect(claimed[0].nextRunAt).toBe(at(180 * 60_000));
    expect(claimed[0].lastRunAt).toBe(at(150 * 60_000));
    expect(await b.claimDueSchedules(at(179 * 60_000))).toEqual([]);
    expect((await b.claimDueSchedules(at(180 * 60_000))).map((x) => x.nextRunAt)).toEqual([at(240 * 60_000)]);

    expect((await b.updateSchedule(off.id, { enabled: true, lastJobId: 'j1' })).lastJobId).toBe('j1');
    expect((await a.listSchedules({ table: 'silver.x.sched' })).map((x) => x.kind)).toEqual(['optimize', 'vacuum']);
    expect(await a.deleteSchedule(off.id)).toBe(true);
    expect(await b.getSchedule(off.id)).toBeNull();
    await expect(a.createSchedule({ table: 'silver.x.sched', kind: 'reindex' as 'optimize', intervalMinutes: 60, params: {}, enabled: true, nextRunAt: at(0), createdBy: null })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    });
    await expect(a.updateSchedule('nope', { enabled: false })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
