import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresForSuite } from './support/postgres.js';
import { startTestServer, userWithToken, type TestServer } from './support/app.js';

const postgres = postgresForSuite(120_000);

describe.each(['pglite', 'postgres'] as const)('query history and saved queries on %s', (backend) => {
  let s: TestServer;
  let ana: { id: string; token: string };
  let bob: { id: string; token: string };
  let vic: { id: string; token: string };

  beforeAll(async () => {
    if (backend === 'postgres' && !postgres()) throw new Error('PostgreSQL is not installed: set up Debian postgresql (see .ci/run)');
    s = await startTestServer({ databaseUrl: backend === 'postgres' ? await postgres()!.createDatabase() : undefined });
    ana = await userWithToken(s, 'ana', 'analyst');
    bob = await userWithToken(s, 'bob', 'analyst');
    vic = await userWithToken(s, 'vic', 'viewer');
  }, 120_000);
  afterAll(async () => s?.close());

  const post = (path: string, token: string, json: unknown) => s.call(path, { method: 'POST', token, json });

  it('records runs per user and lists them newest first', async () => {
    const run = { sql: 'SELECT count(*) FROM bronze.sales.orders', tables: { 'bronze.sales.orders': 1 }, durationMs: 12.5, rows: 1, status: 'ok' };
    expect((await post('/api/queries/history', ana.token, run)).status).toBe(204);
    const failed = { sql: 'SELECT nope FROM bronze.sales.orders', durationMs: 3, status: 'error', error: 'Binder Error: column "nope" not found' };
    expect((await post('/api/queries/history', ana.token, failed)).status).toBe(204);
    expect((await post('/api/queries/history', bob.token, { ...run, sql: 'SELECT 1' })).status).toBe(204);

    const mine = await (await s.call('/api/queries/history', { token: ana.token })).json();
    expect(mine.items.map((e: { sql: string }) => e.sql)).toEqual([failed.sql, run.sql]);
    expect(mine.items[0]).toMatchObject({ status: 'error', error: failed.error, rows: null, tables: {} });
    expect(mine.items[1]).toMatchObject({ status: 'ok', rows: 1, durationMs: 12.5, tables: { 'bronze.sales.orders': 1 } });
    expect(mine.items[1]).not.toHaveProperty('userId');
    expect(typeof mine.items[1].startedAt).toBe('string');

    const bobs = await (await s.call('/api/queries/history?limit=10', { token: bob.token })).json();
    expect(bobs.items.map((e: { sql: string }) => e.sql)).toEqual(['SELECT 1']);
    const one = await (await s.call('/api/queries/history?limit=1', { token: ana.token })).json();
    expect(one.items).toHaveLength(1);
  });

  it.each([
    ['an empty SQL', { sql: '', durationMs: 1, status: 'ok' }, /sql/],
    ['an unknown status', { sql: 'SELECT 1', durationMs: 1, status: 'maybe' }, /status/],
    ['a negative duration', { sql: 'SELECT 1', durationMs: -1, status: 'ok' }, /durationMs/],
    ['a bad table name', { sql: 'SELECT 1', durationMs: 1, status: 'ok', tables: { orders: 1 } }, /table name/],
    ['a fractional version', { sql: 'SELECT 1', durationMs: 1, status: 'ok', tables: { 'bronze.sales.orders': 1.5 } }, /tables/],
    ['an unknown field', { sql: 'SELECT 1', durationMs: 1, status: 'ok', user: 'someone-else' }, /user|unrecognized/i],
  ])('refuses a history entry with %s', async (_what, body, message) => {
    const r = await post('/api/queries/history', ana.token, body);
    expect(r.status).toBe(400);
    const err = await r.json();
    expect(err.code).toBe('INVALID_INPUT');
    expect(err.message).toMatch(message);
  });

  it('saves a query with the versions it read; the link opens it for any signed-in user, the list is per owner', async () => {
    const body = { name: 'Orders at v0', sql: 'SELECT count(*) AS n FROM bronze.sales.orders', tableVersions: { 'bronze.sales.orders': 0 } };
    const r = await post('/api/queries/saved', ana.token, body);
    expect(r.status).toBe(201);
    const saved = await r.json();
    expect(saved).toMatchObject({ ...body, owner: { id: ana.id, name: 'ana' } });
    expect(saved.id).toMatch(/^[0-9a-f-]{36}$/);

    const second = await (await post('/api/queries/saved', ana.token, { name: 'Latest', sql: 'SELECT 1' })).json();
    expect(second.tableVersions).toEqual({});

    const list = await (await s.call('/api/queries/saved', { token: ana.token })).json();
    expect(list.items.map((q: { id: string }) => q.id)).toEqual([second.id, saved.id]);
    expect((await (await s.call('/api/queries/saved', { token: bob.token })).json()).items).toEqual([]);

    for (const token of [ana.token, bob.token, vic.token, s.adminToken]) {
      const open = await s.call(`/api/queries/saved/${saved.id}`, { token });
      expect(open.status).toBe(200);
      expect(await open.json()).toMatchObject({ id: saved.id, sql: body.sql, tableVersions: body.tableVersions, owner: { name: 'ana' } });
    }
    expect((await s.call(`/api/queries/saved/${saved.id}`)).status).toBe(401);
  });

  it('a saved version is the one the scan plan serves, so the permalink reproduces the answer after the table moves on', async () => {
    const saved = await (
      await post('/api/queries/saved', ana.token, { name: 'pinned', sql: 'SELECT * FROM bronze.sales.orders', tableVersions: { 'bronze.sales.orders': 0 } })
    ).json();
    const pinned = await (await s.call(`/api/tables/bronze.sales.orders/scan?version=${saved.tableVersions['bronze.sales.orders']}`, { token: ana.token })).json();
    const latest = await (await s.call('/api/tables/bronze.sales.orders/scan', { token: ana.token })).json();
    expect(pinned.version).toBe(0);
    expect(latest.version).toBe(1);
    expect(pinned.files.length).toBeLessThan(latest.files.length);
    // A viewer may open the link but not read the data: the scan is refused per table.
    const denied = await s.call(`/api/tables/bronze.sales.orders/scan?version=0`, { token: vic.token });
    expect(denied.status).toBe(403);
    expect((await denied.json()).message).toMatch(/vic \(viewer\) may not read the data of/);
  });

  it.each([
    ['no name', { sql: 'SELECT 1' }],
    ['a blank name', { name: '   ', sql: 'SELECT 1' }],
    ['no SQL', { name: 'x', sql: '' }],
    ['a negative version', { name: 'x', sql: 'SELECT 1', tableVersions: { 'bronze.sales.orders': -1 } }],
    ['a table name that is not layer.domain.table', { name: 'x', sql: 'SELECT 1', tableVersions: { 'sales.orders': 1 } }],
  ])('refuses to save a query with %s', async (_what, body) => {
    const r = await post('/api/queries/saved', ana.token, body);
    expect(r.status).toBe(400);
    expect((await r.json()).code).toBe('INVALID_INPUT');
  });

  it('answers 404 for an unknown or malformed id', async () => {
    for (const id of ['00000000-0000-0000-0000-000000000000', 'nope', "1' OR '1'='1"]) {
      const r = await s.call(`/api/queries/saved/${encodeURIComponent(id)}`, { token: ana.token });
      expect(r.status).toBe(404);
      expect((await r.json()).code).toBe('NOT_FOUND');
    }
  });

  it('audits saving a query', async () => {
    const audit = await (await s.call('/api/audit?action=save%20query', { token: s.adminToken })).json();
    expect(audit.items.length).toBeGreaterThanOrEqual(2);
    expect(audit.items[0]).toMatchObject({ action: 'save query', userName: 'ana', outcome: 'ok' });
  });
});
