import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isLakehouseError, type ErrorCode } from '@lakehouse/core';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { openCatalog } from '../src/catalog/open.js';
import { appliedMigrations, MIGRATIONS, runMigrations } from '../src/catalog/migrations.js';
import { openPostgres } from '../src/catalog/postgres.js';
import type { CatalogStore } from '../src/catalog/store.js';
import { postgresForSuite, type TestPostgres } from './support/postgres.js';

const HOOK_TIMEOUT = 180_000;
const dir = mkdtempSync(join(tmpdir(), 'lh-catalog-'));
const postgres = postgresForSuite(HOOK_TIMEOUT);

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
}, HOOK_TIMEOUT);

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error, `expected a ${code} LakehouseError`).not.toBeNull();
  expect(isLakehouseError(error) ? error.code : error).toBe(code);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Backend {
  name: string;
  backend: 'pglite' | 'postgres';
  /** Opens a fresh, migrated store (null when PostgreSQL is unavailable and not required). */
  open(): Promise<CatalogStore | null>;
  /** Opens the same database again (persistent backends only). */
  reopen?: () => Promise<CatalogStore>;
}

const pgliteDir = join(dir, 'pglite');
let postgresUrl = '';
const BACKENDS: Backend[] = [
  { name: 'PGlite in memory', backend: 'pglite', open: () => openCatalog({ pgliteDir: null }) },
  {
    name: 'PGlite in a directory',
    backend: 'pglite',
    open: () => openCatalog({ pgliteDir }),
    reopen: () => openCatalog({ pgliteDir }),
  },
  {
    name: 'PostgreSQL',
    backend: 'postgres',
    open: async () => {
      if (postgres() === null) return null;
      postgresUrl = await (postgres() as TestPostgres).createDatabase();
      return openCatalog({ databaseUrl: postgresUrl, pgliteDir });
    },
    reopen: () => openCatalog({ databaseUrl: postgresUrl }),
  },
];

describe.each(BACKENDS)('catalog store on $name', (backend) => {
  let opened: CatalogStore | null = null;
  beforeAll(async () => {
    opened = await backend.open();
  }, HOOK_TIMEOUT);
  afterAll(async () => {
    await opened?.close();
  }, HOOK_TIMEOUT);

  /** The store under test; skips the test when PostgreSQL is unavailable (only allowed without LAKEHOUSE_REQUIRE_POSTGRES=1). */
  function use(ctx: TestContext): CatalogStore {
    if (opened === null) ctx.skip('PostgreSQL binaries not installed');
    return opened as CatalogStore;
  }

  it('opens the expected backend, migrated (migrate is idempotent)', async (ctx) => {
    const store = use(ctx);
    expect(store.backend).toBe(backend.backend);
    await store.migrate();
    await store.migrate();
    expect(await store.countUsers()).toBe(0);
  });

  it('users: create, look up, list, change role; duplicate names and unknown roles refused', async (ctx) => {
    const store = use(ctx);
    const bob = await store.createUser('bob', 'analyst');
    const alice = await store.createUser('alice', 'admin');
    expect(bob).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), name: 'bob', role: 'analyst', createdAt: expect.any(String) });
    expect(new Date(bob.createdAt).toISOString()).toBe(bob.createdAt);
    expect(Math.abs(Date.parse(bob.createdAt) - Date.now())).toBeLessThan(60_000);
    expect(bob.id).not.toBe(alice.id);
    expect(await store.getUser(bob.id)).toEqual(bob);
    expect(await store.getUserByName('alice')).toEqual(alice);
    expect(await store.getUser('00000000-0000-0000-0000-000000000000')).toBeNull();
    expect(await store.getUserByName('carol')).toBeNull();
    await rejectsWith(store.createUser('bob', 'viewer'), 'INVALID_INPUT');
    await rejectsWith(store.createUser('carol', 'superuser' as never), 'INVALID_INPUT');
    await rejectsWith(store.createUser('', 'viewer'), 'INVALID_INPUT');
    expect((await store.listUsers()).map((u) => u.name)).toEqual(['alice', 'bob']);
    expect(await store.countUsers()).toBe(2);
    expect(await store.setUserRole(bob.id, 'steward')).toEqual({ ...bob, role: 'steward' });
    expect((await store.getUser(bob.id))?.role).toBe('steward');
    await rejectsWith(store.setUserRole('no-such-user', 'viewer'), 'NOT_FOUND');
    await rejectsWith(store.setUserRole(bob.id, 'root' as never), 'INVALID_INPUT');
  });

  it('tokens: lookup by hash, expiry, revocation, listing', async (ctx) => {
    const store = use(ctx);
    const user = await store.createUser('token-user', 'viewer');
    const now = '2030-01-01T00:00:00.000Z';
    const forever = await store.createToken(user.id, 'hash-forever');
    expect(forever).toEqual({ id: expect.any(String), userId: user.id, createdAt: expect.any(String), expiresAt: null, revokedAt: null, oneTime: false });
    const expiring = await store.createToken(user.id, 'hash-expiring', { expiresAt: '2030-01-01T01:00:00Z' });
    expect(expiring.expiresAt).toBe('2030-01-01T01:00:00.000Z');

    const used = await store.useToken('hash-forever', now);
    expect(used?.token).toEqual(forever);
    expect(used?.user).toEqual(user);
    // A long-lived token stays usable.
    expect((await store.useToken('hash-forever', now))?.user.id).toBe(user.id);
    expect(await store.useToken('no-such-hash', now)).toBeNull();

    expect((await store.useToken('hash-expiring', '2030-01-01T00:59:59.999Z'))?.token.id).toBe(expiring.id);
    expect(await store.useToken('hash-expiring', '2030-01-01T01:00:00.000Z')).toBeNull();
    expect(await store.useToken('hash-expiring', '2031-01-01T00:00:00.000Z')).toBeNull();

    expect(await store.revokeToken(forever.id, now)).toBe(true);
    expect(await store.revokeToken(forever.id, now)).toBe(false);
    expect(await store.revokeToken('no-such-token', now)).toBe(false);
    expect(await store.useToken('hash-forever', now)).toBeNull();

    const listed = await store.listTokens(user.id);
    expect(listed.map((t) => t.id)).toEqual([forever.id, expiring.id]);
    expect(listed[0].revokedAt).toBe(now);
    expect(listed[1].revokedAt).toBeNull();
    expect(await store.listTokens('no-such-user')).toEqual([]);

    await rejectsWith(store.createToken('no-such-user', 'hash-x'), 'NOT_FOUND');
    await rejectsWith(store.createToken(user.id, 'hash-forever'), 'INVALID_INPUT');
    await rejectsWith(store.createToken(user.id, 'hash-y', { expiresAt: 'tomorrow' }), 'INVALID_INPUT');
    await rejectsWith(store.useToken('hash-expiring', 'not a time'), 'INVALID_INPUT');
  });

  it('tokens: a one-time token succeeds exactly once under 10 concurrent uses', async (ctx) => {
    const store = use(ctx);
    const user = await store.createUser('one-time-user', 'viewer');
    const now = '2030-01-01T00:00:00.000Z';
    const token = await store.createToken(user.id, 'hash-once', { oneTime: true, expiresAt: '2030-01-02T00:00:00Z' });
    expect(token.oneTime).toBe(true);
    const results = await Promise.all(Array.from({ length: 10 }, () => store.useToken('hash-once', now)));
    const winners = results.filter((r) => r !== null);
    expect(winners).toHaveLength(1);
    expect(winners[0]?.user.id).toBe(user.id);
    expect(winners[0]?.token).toEqual({ ...token, revokedAt: now });
    expect(await store.useToken('hash-once', now)).toBeNull();
    expect((await store.listTokens(user.id))[0].revokedAt).toBe(now);
  });

  it('grants: idempotent, revocable, filterable', async (ctx) => {
    const store = use(ctx);
    const u1 = await store.createUser('grantee-1', 'analyst');
    const u2 = await store.createUser('grantee-2', 'analyst');
    const g1 = await store.grant(u1.id, 'SELECT', 'bronze.sales');
    expect(g1).toEqual({ id: expect.any(String), userId: u1.id, privilege: 'SELECT', securable: 'bronze.sales', createdAt: expect.any(String) });
    expect(await store.grant(u1.id, 'SELECT', 'bronze.sales')).toEqual(g1);
    const concurrent = await Promise.all(Array.from({ length: 5 }, () => store.grant(u1.id, 'MODIFY', 'bronze.sales')));
    expect(new Set(concurrent.map((g) => g.id)).size).toBe(1);
    const g3 = await store.grant(u1.id, 'SELECT', 'bronze');
    const g4 = await store.grant(u2.id, 'MANAGE', 'gold.finance.revenue');

    expect((await store.listGrants({ userId: u1.id })).map((g) => [g.privilege, g.securable])).toEqual([
      ['SELECT', 'bronze'],
      ['MODIFY', 'bronze.sales'],
      ['SELECT', 'bronze.sales'],
    ]);
    expect(await store.listGrants({ userId: u2.id })).toEqual([g4]);
    expect((await store.listGrants()).map((g) => g.id).sort()).toEqual([g1.id, concurrent[0].id, g3.id, g4.id].sort());

    expect(await store.revokeGrant(g1.id)).toBe(true);
    expect(await store.revokeGrant(g1.id)).toBe(false);
    expect((await store.listGrants({ userId: u1.id })).map((g) => g.id)).not.toContain(g1.id);
    // Granting again after a revoke creates a new grant.
    expect((await store.grant(u1.id, 'SELECT', 'bronze.sales')).id).not.toBe(g1.id);

    await rejectsWith(store.grant('no-such-user', 'SELECT', 'bronze'), 'NOT_FOUND');
    await rejectsWith(store.grant(u1.id, 'DROP' as never, 'bronze'), 'INVALID_INPUT');
    await rejectsWith(store.grant(u1.id, 'SELECT', ''), 'INVALID_INPUT');
  });

  it('tables and tags: idempotent registration, owners, tag replacement', async (ctx) => {
    const store = use(ctx);
    const orders = await store.registerTable('silver.sales.orders', 'alice');
    expect(orders).toEqual({ name: 'silver.sales.orders', owner: 'alice', tags: [], registeredAt: expect.any(String) });
    expect(await store.registerTable('silver.sales.orders', 'mallory')).toEqual(orders);
    const raw = await store.registerTable('bronze.sales.orders_raw');
    expect(raw.owner).toBeNull();
    expect(await store.getTable('gold.none.missing')).toBeNull();

    await store.setTableTags('silver.sales.orders', ['pii', 'finance', 'pii']);
    expect((await store.getTable('silver.sales.orders'))?.tags).toEqual(['finance', 'pii']);
    await store.setTableTags('silver.sales.orders', ['gdpr']);
    expect((await store.getTable('silver.sales.orders'))?.tags).toEqual(['gdpr']);
    await Promise.all([store.setTableTags('bronze.sales.orders_raw', ['a', 'b']), store.setTableTags('bronze.sales.orders_raw', ['b', 'c'])]);
    expect([['a', 'b'], ['b', 'c']]).toContainEqual((await store.getTable('bronze.sales.orders_raw'))?.tags);
    await store.setTableTags('bronze.sales.orders_raw', []);

    await store.setTableOwner('bronze.sales.orders_raw', 'bob');
    await store.setTableOwner('silver.sales.orders', null);
    expect(await store.listTables()).toEqual([
      { ...raw, owner: 'bob', tags: [] },
      { ...orders, owner: null, tags: ['gdpr'] },
    ]);

    await rejectsWith(store.setTableOwner('gold.none.missing', 'x'), 'NOT_FOUND');
    await rejectsWith(store.setTableTags('gold.none.missing', ['x']), 'NOT_FOUND');
    await rejectsWith(store.setTableTags('silver.sales.orders', ['']), 'INVALID_INPUT');
    expect((await store.getTable('silver.sales.orders'))?.tags).toEqual(['gdpr']);
  });

  it('audit: newest first, filters, pagination, total', async (ctx) => {
    const store = use(ctx);
    const users = ['u-a', 'u-b', 'u-c'];
    const outcomes = ['ok', 'denied', 'error'] as const;
    for (let i = 0; i < 12; i++) {
      await store.audit({
        userId: users[i % 3],
        userName: `name-${users[i % 3]}`,
        action: i % 2 === 0 ? 'table.read' : 'table.write',
        table: i % 4 === 0 ? null : `bronze.t.t${i % 4}`,
        outcome: outcomes[i % 3],
        details: { i, nested: { list: [1, 'x'] } },
      });
    }
    await sleep(30);
    for (let i = 12; i < 20; i++) {
      await store.audit({ userId: null, userName: null, action: 'login', table: null, outcome: 'ok' });
    }

    const all = await store.listAudit();
    expect(all.total).toBe(20);
    expect(all.items).toHaveLength(20);
    expect(all.items.map((e) => e.id)).toEqual([...all.items.map((e) => e.id)].sort((a, b) => b - a));
    for (let k = 1; k < all.items.length; k++) expect(all.items[k - 1].at >= all.items[k].at).toBe(true);
    const oldest = all.items[19];
    expect(oldest).toEqual({
      id: expect.any(Number),
      at: expect.any(String),
      userId: 'u-a',
      userName: 'name-u-a',
      action: 'table.read',
      table: null,
      outcome: 'ok',
      details: { i: 0, nested: { list: [1, 'x'] } },
    });
    expect(all.items[0].details).toEqual({});

    const pages = [];
    for (let offset = 0; offset < 20; offset += 7) {
      const page = await store.listAudit({ limit: 7, offset });
      expect(page.total).toBe(20);
      pages.push(...page.items);
    }
    expect(pages).toEqual(all.items);
    expect(await store.listAudit({ offset: 40 })).toEqual({ items: [], total: 20 });

    const cases: { filter: Parameters<CatalogStore['listAudit']>[0]; expected: (e: (typeof all.items)[number]) => boolean }[] = [
      { filter: { userId: 'u-b' }, expected: (e) => e.userId === 'u-b' },
      { filter: { action: 'table.write' }, expected: (e) => e.action === 'table.write' },
      { filter: { table: 'bronze.t.t1' }, expected: (e) => e.table === 'bronze.t.t1' },
      { filter: { outcome: 'denied' }, expected: (e) => e.outcome === 'denied' },
      { filter: { userId: 'u-a', action: 'table.read', outcome: 'ok' }, expected: (e) => e.userId === 'u-a' && e.action === 'table.read' && e.outcome === 'ok' },
      { filter: { userId: 'nobody' }, expected: () => false },
    ];
    for (const { filter, expected } of cases) {
      const got = await store.listAudit(filter);
      const want = all.items.filter(expected);
      expect(got.items, JSON.stringify(filter)).toEqual(want);
      expect(got.total).toBe(want.length);
      const limited = await store.listAudit({ ...filter, limit: 2, offset: 1 });
      expect(limited).toEqual({ items: want.slice(1, 3), total: want.length });
    }

    // A time between the two batches splits them.
    const lastOfFirst = Date.parse(all.items[8].at);
    const firstOfSecond = Date.parse(all.items[7].at);
    expect(firstOfSecond - lastOfFirst).toBeGreaterThanOrEqual(20);
    const middle = new Date((lastOfFirst + firstOfSecond) / 2).toISOString();
    const since = await store.listAudit({ since: middle });
    expect(since.items.map((e) => e.action)).toEqual(Array(8).fill('login'));
    expect(since.total).toBe(8);
    const until = await store.listAudit({ until: middle, limit: 5 });
    expect(until.total).toBe(12);
    expect(until.items).toEqual(all.items.slice(8, 13));
    expect((await store.listAudit({ since: all.items[19].at, until: middle })).total).toBe(12);

    await rejectsWith(store.listAudit({ limit: 0 }), 'INVALID_INPUT');
    await rejectsWith(store.listAudit({ offset: -1 }), 'INVALID_INPUT');
    await rejectsWith(store.listAudit({ since: 'yesterday' }), 'INVALID_INPUT');
    await rejectsWith(store.audit({ userId: null, userName: null, action: 'x', table: null, outcome: 'maybe' as never }), 'INVALID_INPUT');
  });

  it('jobs: create, progress and state updates, listing by table', async (ctx) => {
    const store = use(ctx);
    const job = await store.createJob('ingest', 'bronze.sales.orders_raw', 'alice');
    expect(job).toEqual({
      id: expect.any(String),
      kind: 'ingest',
      table: 'bronze.sales.orders_raw',
      state: 'queued',
      progress: 0,
      message: null,
      result: null,
      error: null,
      createdBy: 'alice',
      createdAt: expect.any(String),
      finishedAt: null,
    });
    const running = await store.updateJob(job.id, { state: 'running', progress: 0.25, message: 'reading file 1 of 4' });
    expect(running).toEqual({ ...job, state: 'running', progress: 0.25, message: 'reading file 1 of 4' });
    expect(await store.updateJob(job.id, { progress: 0.5 })).toEqual({ ...running, progress: 0.5 });
    const done = await store.updateJob(job.id, { state: 'succeeded', progress: 1, result: { version: 3, rows: 1000 }, message: null });
    expect(done).toMatchObject({ state: 'succeeded', progress: 1, result: { version: 3, rows: 1000 }, message: null, error: null });
    expect(done.finishedAt).not.toBeNull();
    expect(await store.getJob(job.id)).toEqual(done);
    expect(await store.updateJob(job.id, {})).toEqual(done);

    const failed = await store.createJob('sql', 'bronze.sales.orders_raw', null);
    const error = { code: 'SCHEMA_MISMATCH' as const, message: 'column amount is a string', details: { column: 'amount' } };
    const finishedAt = '2030-05-05T05:05:05.005Z';
    expect(await store.updateJob(failed.id, { state: 'failed', error, finishedAt })).toMatchObject({ state: 'failed', error, finishedAt });
    await sleep(5);
    const other = await store.createJob('optimize', 'gold.x.y', 'bob');
    const noTable = await store.createJob('vacuum', null, 'bob');

    expect((await store.listJobs({ table: 'bronze.sales.orders_raw' })).map((j) => j.id)).toEqual([failed.id, job.id]);
    expect((await store.listJobs({ table: 'gold.x.y' })).map((j) => j.id)).toEqual([other.id]);
    const listed = await store.listJobs();
    expect(listed.map((j) => j.id).sort()).toEqual([job.id, failed.id, other.id, noTable.id].sort());
    expect(listed[listed.length - 1].id).toBe(job.id);
    expect(await store.listJobs({ limit: 2 })).toEqual(listed.slice(0, 2));
    expect(await store.getJob('no-such-job')).toBeNull();

    await rejectsWith(store.updateJob('no-such-job', { progress: 0.1 }), 'NOT_FOUND');
    await rejectsWith(store.updateJob(job.id, { progress: 1.5 }), 'INVALID_INPUT');
    await rejectsWith(store.updateJob(job.id, { state: 'paused' as never }), 'INVALID_INPUT');
    await rejectsWith(store.listJobs({ limit: -3 }), 'INVALID_INPUT');
  });

  it('query history: per user, newest first, limited', async (ctx) => {
    const store = use(ctx);
    const before = Date.now();
    await store.recordQuery({ userId: 'q-user', sql: 'SELECT 1', tables: {}, durationMs: 5, rows: 1, status: 'ok', error: null });
    await store.recordQuery({
      userId: 'q-user',
      sql: 'SELECT * FROM bronze.a JOIN silver.b USING (id)',
      tables: { 'bronze.a': 3, 'silver.b': 12 },
      durationMs: 1234.5,
      rows: 5_000_000_000,
      status: 'ok',
      error: null,
    });
    await store.recordQuery({ userId: 'q-user', sql: 'SELEC', tables: {}, durationMs: 0, rows: null, status: 'error', error: 'syntax error at "SELEC"' });
    await store.recordQuery({ userId: 'other-user', sql: 'SELECT 2', tables: {}, durationMs: 1, rows: 1, status: 'ok', error: null });

    const history = await store.listQueries('q-user');
    expect(history.map((q) => q.sql)).toEqual(['SELEC', 'SELECT * FROM bronze.a JOIN silver.b USING (id)', 'SELECT 1']);
    expect(history[0]).toEqual({
      id: expect.any(Number),
      userId: 'q-user',
      sql: 'SELEC',
      tables: {},
      startedAt: expect.any(String),
      durationMs: 0,
      rows: null,
      status: 'error',
      error: 'syntax error at "SELEC"',
    });
    expect(history[1]).toMatchObject({ tables: { 'bronze.a': 3, 'silver.b': 12 }, durationMs: 1234.5, rows: 5_000_000_000 });
    // Started durationMs before it was recorded.
    expect(Date.parse(history[1].startedAt)).toBeLessThan(before);
    expect(history[0].id).toBeGreaterThan(history[1].id);
    expect((await store.listQueries('q-user', 2)).map((q) => q.sql)).toEqual(history.slice(0, 2).map((q) => q.sql));
    expect((await store.listQueries('other-user')).map((q) => q.sql)).toEqual(['SELECT 2']);
    expect(await store.listQueries('nobody')).toEqual([]);
    await rejectsWith(store.recordQuery({ userId: 'q-user', sql: 'x', tables: {}, durationMs: -1, rows: null, status: 'ok', error: null }), 'INVALID_INPUT');
  });

  it('settings: set once, concurrent setSettingIfAbsent agree on one winner', async (ctx) => {
    const store = use(ctx);
    expect(await store.getSetting('signing-key')).toBeNull();
    expect(await store.setSettingIfAbsent('signing-key', 'k1')).toBe('k1');
    expect(await store.setSettingIfAbsent('signing-key', 'k2')).toBe('k1');
    expect(await store.getSetting('signing-key')).toBe('k1');
    for (let round = 0; round < 5; round++) {
      const key = `race-${round}`;
      const [a, b] = await Promise.all([store.setSettingIfAbsent(key, 'a'), store.setSettingIfAbsent(key, 'b')]);
      expect(a).toBe(b);
      expect(['a', 'b']).toContain(a);
      expect(await store.getSetting(key)).toBe(a);
    }
  });

  if (backend.reopen !== undefined) {
    const reopen = backend.reopen;
    it('keeps the data when the database is reopened', async (ctx) => {
      const store = use(ctx);
      const user = await store.createUser('persistent', 'steward');
      await store.setSettingIfAbsent('persisted-setting', 'v');
      await store.close();
      opened = null;
      const again = await reopen();
      opened = again;
      expect(again.backend).toBe(backend.backend);
      expect(await again.getUserByName('persistent')).toEqual(user);
      expect(await again.getSetting('persisted-setting')).toBe('v');
      expect((await again.getTable('silver.sales.orders'))?.tags).toEqual(['gdpr']);
      expect((await again.listAudit()).total).toBe(20);
    }, HOOK_TIMEOUT);
  }
});

describe('migrations on PostgreSQL', () => {
  it('two instances migrating one database at once both succeed and apply each migration once', async (ctx) => {
    if (postgres() === null) ctx.skip('PostgreSQL binaries not installed');
    const url = await (postgres() as TestPostgres).createDatabase();
    const [a, b] = await Promise.all([openPostgres(url), openPostgres(url)]);
    try {
      expect(await appliedMigrations(a)).toEqual([]);
      const [appliedByA, appliedByB] = await Promise.all([runMigrations(a), runMigrations(b)]);
      const versions = MIGRATIONS.map((m) => m.version);
      expect([...appliedByA, ...appliedByB].sort((x, y) => x - y)).toEqual(versions);
      expect(await appliedMigrations(a)).toEqual(versions);
      expect(await runMigrations(b)).toEqual([]);
      const rows = await a.query<{ n: unknown }>('SELECT count(*) AS n FROM schema_migrations');
      expect(Number(rows[0].n)).toBe(versions.length);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('several catalogs opened at once on a fresh database all work', async (ctx) => {
    if (postgres() === null) ctx.skip('PostgreSQL binaries not installed');
    const url = await (postgres() as TestPostgres).createDatabase();
    const stores = await Promise.all(Array.from({ length: 4 }, () => openCatalog({ databaseUrl: url })));
    try {
      const user = await stores[0].createUser('shared', 'admin');
      const token = await stores[1].createToken(user.id, 'shared-once', { oneTime: true });
      const uses = await Promise.all(stores.flatMap((s) => [s.useToken('shared-once', token.createdAt), s.useToken('shared-once', token.createdAt)]));
      expect(uses.filter((u) => u !== null)).toHaveLength(1);
      const settings = await Promise.all(stores.map((s, i) => s.setSettingIfAbsent('key', `v${i}`)));
      expect(new Set(settings).size).toBe(1);
      expect(await stores[3].getUserByName('shared')).toEqual(user);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it('refuses a database it cannot reach with STORAGE_ERROR and no password in the message', async () => {
    const error = await openCatalog({ databaseUrl: 'postgresql://u:secret@127.0.0.1:1/x' }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isLakehouseError(error, 'STORAGE_ERROR')).toBe(true);
    expect((error as Error).message).not.toContain('secret');
  });
});
