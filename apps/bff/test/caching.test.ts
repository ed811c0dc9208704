import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ManualClock, append, createTable, systemClock, type StructType } from '@lakehouse/core';
import { DuckDbEngine, FsStorage } from '@lakehouse/core/node';
import { hashToken, newTokenSecret } from '../src/auth/tokens.js';
import { openCatalog } from '../src/catalog/open.js';
import { loadConfig } from '../src/config.js';
import { startServer, type CacheOptions, type RunningServer } from '../src/server.js';
import { openSqlSandbox } from '../src/sql/execute.js';
import { Refreshing } from '../src/warehouse/refreshing.js';
import { Warehouse } from '../src/warehouse/warehouse.js';
import { apiCaller, type JsonResponse } from './support/app.js';

// The read caches (principals, discovery, snapshots, table records) and the guarantees they keep: a revoked token is
// refused at once, a write through the server is visible to the next read, a commit by another process or engine is
// visible after the cache ages (a couple of seconds by default). Ages run on a manual ticker where a test needs to
// tell "cached" from "reloaded"; the end-to-end freshness test uses real time.

const SCHEMA: StructType = {
  type: 'struct',
  fields: [
    { name: 'id', type: 'long', nullable: false, metadata: {} },
    { name: 'name', type: 'string', nullable: true, metadata: {} },
  ],
};

let engine: DuckDbEngine;
const dirs: string[] = [];
beforeAll(async () => {
  engine = await DuckDbEngine.create(systemClock);
});
afterAll(() => {
  engine.connection.closeSync();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

/** A writer that is not the server: its own storage on the same folder, as another process or engine would be. */
function foreignRef(dir: string, name: string): { storage: FsStorage; tableKey: string } {
  return { storage: new FsStorage(join(dir, ...name.split('.'))), tableKey: '' };
}

async function createForeign(dir: string, name: string, from = 0): Promise<void> {
  await createTable(foreignRef(dir, name), {
    schema: SCHEMA,
    sourceSql: `SELECT (i + ${from})::BIGINT AS id, 'n' || i AS name FROM range(3) t(i)`,
    engine,
    clock: systemClock,
  });
}

async function appendForeign(dir: string, name: string): Promise<void> {
  await append(foreignRef(dir, name), engine, { sourceSql: `SELECT 100::BIGINT AS id, 'x' AS name`, clock: systemClock });
}

/** A manual monotonic ticker. */
function manualTicker(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => (t += ms) };
}

interface Server extends RunningServer {
  dir: string;
  clock: ManualClock;
  adminToken: string;
  call(path: string, init?: RequestInit & { token?: string | null; json?: unknown }): Promise<JsonResponse>;
}

/** A server on a warehouse holding bronze.sales.orders, with the given cache settings. */
async function start(cache: CacheOptions): Promise<Server> {
  const dir = tempDir('lh-cache-');
  await createForeign(dir, 'bronze.sales.orders');
  const clock = new ManualClock(Date.now());
  const catalog = await openCatalog({ pgliteDir: null });
  const config = loadConfig({ warehouse: dir, port: 0, host: '127.0.0.1', databaseUrl: null, demo: false, engines: 1, webDist: null });
  const server = await startServer(config, { clock, catalog, cache });
  const call: Server['call'] = apiCaller(server.url);
  const loginToken = new URL(server.loginUrl!).hash.replace('#token=', '');
  const { token } = (await (await call('/api/auth/login', { method: 'POST', json: { token: loginToken } })).json()) as { token: string };
  return { ...server, dir, clock, adminToken: token, call };
}

async function newUser(s: Server, name: string, role: string): Promise<{ id: string; token: string; tokenId: string }> {
  const user = await (await s.call('/api/users', { method: 'POST', token: s.adminToken, json: { name, role } })).json();
  const t = await (await s.call(`/api/users/${user.id}/tokens`, { method: 'POST', token: s.adminToken, json: {} })).json();
  return { id: user.id as string, token: t.token as string, tokenId: t.id as string };
}

async function status(s: Server, path: string, token: string): Promise<number> {
  const r = await s.call(path, { token });
  await r.arrayBuffer();
  return r.status;
}

describe('principal cache', () => {
  const ticker = manualTicker();
  let s: Server;
  beforeAll(async () => {
    s = await start({ principalTtlMs: 3000, ticker: ticker.now });
  }, 120_000);
  afterAll(async () => s?.close());
  afterEach(() => vi.restoreAllMocks());

  it('reads the token, user and grants once per TTL, one load shared by concurrent requests', async () => {
    const u = await newUser(s, 'cached', 'viewer');
    const useToken = vi.spyOn(s.deps.catalog, 'useToken');
    const listGrants = vi.spyOn(s.deps.catalog, 'listGrants');
    const first = await Promise.all(Array.from({ length: 20 }, () => status(s, '/api/me', u.token)));
    expect(first).toEqual(Array(20).fill(200));
    expect(useToken).toHaveBeenCalledTimes(1);
    expect(listGrants).toHaveBeenCalledTimes(1);
    for (let i = 0; i < 10; i++) expect(await status(s, '/api/me', u.token)).toBe(200);
    expect(useToken).toHaveBeenCalledTimes(1);
    ticker.advance(3001);
    expect(await status(s, '/api/me', u.token)).toBe(200);
    expect(useToken).toHaveBeenCalledTimes(2);
  });

  it('refuses a token revoked through the API on the very next request', async () => {
    const u = await newUser(s, 'revoked', 'viewer');
    expect(await status(s, '/api/me', u.token)).toBe(200);
    expect(await status(s, '/api/me', u.token)).toBe(200);
    const del = await s.call(`/api/tokens/${u.tokenId}`, { method: 'DELETE', token: s.adminToken });
    expect(del.status).toBe(204);
    expect(await status(s, '/api/me', u.token)).toBe(401);
    expect(await status(s, '/api/tables', u.token)).toBe(401);
  });

  it('a revoke by another process (straight in the catalog) applies after the TTL, not before', async () => {
    const u = await newUser(s, 'elsewhere', 'viewer');
    expect(await status(s, '/api/me', u.token)).toBe(200);
    expect(await s.deps.catalog.revokeToken(u.tokenId, new Date(s.clock.now()).toISOString())).toBe(true);
    expect(await status(s, '/api/me', u.token)).toBe(200); // cached: the catalog was not read
    ticker.advance(3001);
    expect(await status(s, '/api/me', u.token)).toBe(401);
  });

  it('grant and revoke-grant apply to the next request', async () => {
    const u = await newUser(s, 'granted', 'viewer');
    const scan = '/api/tables/bronze.sales.orders/scan';
    expect(await status(s, scan, u.token)).toBe(403);
    const g = await s.call('/api/grants', { method: 'POST', token: s.adminToken, json: { userId: u.id, privilege: 'SELECT', securable: 'bronze.sales' } });
    expect(g.status).toBe(201);
    const grant = await g.json();
    expect(await status(s, scan, u.token)).toBe(200);
    expect((await s.call(`/api/grants/${grant.id}`, { method: 'DELETE', token: s.adminToken })).status).toBe(204);
    expect(await status(s, scan, u.token)).toBe(403);
  });

  it('a role change applies to the next request', async () => {
    const u = await newUser(s, 'promoted', 'viewer');
    expect(await status(s, '/api/users', u.token)).toBe(403);
    expect((await s.call(`/api/users/${u.id}`, { method: 'PATCH', token: s.adminToken, json: { role: 'admin' } })).status).toBe(200);
    expect(await status(s, '/api/users', u.token)).toBe(200);
    expect((await s.call(`/api/users/${u.id}`, { method: 'PATCH', token: s.adminToken, json: { role: 'viewer' } })).status).toBe(200);
    expect(await status(s, '/api/users', u.token)).toBe(403);
  });

  it('never serves a cached token past its expiry', async () => {
    const user = await (await s.call('/api/users', { method: 'POST', token: s.adminToken, json: { name: 'expiring', role: 'viewer' } })).json();
    const t = await (await s.call(`/api/users/${user.id}/tokens`, { method: 'POST', token: s.adminToken, json: { expiresInDays: 1 } })).json();
    expect(await status(s, '/api/me', t.token)).toBe(200);
    s.clock.advance(86_400_000 + 1000);
    try {
      expect(await status(s, '/api/me', t.token)).toBe(401);
    } finally {
      s.clock.advance(-(86_400_000 + 1000));
    }
  });

  it('a one-time token authenticates exactly one of several concurrent requests, and is never cached', async () => {
    const user = await s.deps.catalog.createUser('once', 'viewer');
    const secret = newTokenSecret();
    await s.deps.catalog.createToken(user.id, hashToken(secret), { oneTime: true });
    const statuses = await Promise.all(Array.from({ length: 8 }, () => status(s, '/api/me', secret)));
    expect(statuses.filter((x) => x === 200)).toHaveLength(1);
    expect(statuses.filter((x) => x === 401)).toHaveLength(7);
    expect(await status(s, '/api/me', secret)).toBe(401);
  });
});

describe('warehouse caches behind the API', () => {
  const ticker = manualTicker();
  let s: Server;
  beforeAll(async () => {
    s = await start({ snapshotMaxAgeMs: 1000, discoveryMaxAgeMs: 2000, recordsMaxAgeMs: 2000, ticker: ticker.now });
  }, 120_000);
  afterAll(async () => s?.close());

  const detail = async (name: string): Promise<any> => (await s.call(`/api/tables/${name}`, { token: s.adminToken })).json();
  const names = async (q = ''): Promise<string[]> =>
    ((await (await s.call(`/api/tables${q ? `?q=${q}` : ''}`, { token: s.adminToken })).json()).tables as { name: string }[]).map((t) => t.name);

  it('a commit by another writer shows once the snapshot age has passed (and not before: the log is not re-listed)', async () => {
    expect((await detail('bronze.sales.orders')).version).toBe(0);
    await appendForeign(s.dir, 'bronze.sales.orders');
    expect((await detail('bronze.sales.orders')).version).toBe(0);
    ticker.advance(1001);
    expect((await detail('bronze.sales.orders')).version).toBe(1);
  });

  it('a table created by another engine is listed once the discovery age has passed', async () => {
    await names();
    await createForeign(s.dir, 'silver.ops.foreign');
    expect(await names()).not.toContain('silver.ops.foreign');
    ticker.advance(2001);
    expect(await names()).toContain('silver.ops.foreign');
    expect((await detail('silver.ops.foreign')).rows).toBe(3);
  });

  it('writes through the server are visible to the next read (SQL insert, CTAS, description, owner, tags)', async () => {
    const before = await detail('bronze.sales.orders');
    await names();
    const ins = await s.call('/api/sql', { method: 'POST', token: s.adminToken, json: { sql: "INSERT INTO bronze.sales.orders VALUES (7, 'seven')" } });
    expect(ins.status).toBe(200);
    const after = await detail('bronze.sales.orders');
    expect(after.version).toBe(before.version + 1);
    expect(after.rows).toBe(before.rows + 1);

    const ctas = await s.call('/api/sql', { method: 'POST', token: s.adminToken, json: { sql: 'CREATE TABLE gold.sales.copy AS SELECT * FROM bronze.sales.orders' } });
    expect(ctas.status).toBe(200);
    expect(await names()).toContain('gold.sales.copy');
    expect((await detail('gold.sales.copy')).rows).toBe(after.rows);

    const patch = await s.call('/api/tables/bronze.sales.orders', {
      method: 'PATCH',
      token: s.adminToken,
      json: { description: 'edited through the API', owner: 'ops-team', tags: ['pii', 'fresh'] },
    });
    expect(patch.status).toBe(200);
    const patched = await patch.json();
    expect(patched).toMatchObject({ description: 'edited through the API', owner: 'ops-team' });
    expect([...patched.tags].sort()).toEqual(['fresh', 'pii']);
    const read = await detail('bronze.sales.orders');
    expect(read).toMatchObject({ description: 'edited through the API', owner: 'ops-team' });
    expect([...read.tags].sort()).toEqual(['fresh', 'pii']);
    expect(await names('edited')).toEqual(['bronze.sales.orders']);
    const tagged = await (await s.call('/api/tables?tag=fresh', { token: s.adminToken })).json();
    expect(tagged.tables.map((t: { name: string }) => t.name)).toEqual(['bronze.sales.orders']);
  });

  it('owner and tags changed by another process show once the records age has passed', async () => {
    await detail('bronze.sales.orders');
    await s.deps.catalog.setTableTags('bronze.sales.orders', ['elsewhere']);
    expect((await detail('bronze.sales.orders')).tags).not.toEqual(['elsewhere']);
    ticker.advance(2001);
    expect((await detail('bronze.sales.orders')).tags).toEqual(['elsewhere']);
  });
});

describe('Warehouse snapshot cache', () => {
  it('concurrent readers share one listing of the log; none while it is younger than the max age', async () => {
    const dir = tempDir('lh-wh-');
    await createForeign(dir, 'bronze.sales.orders');
    const ticker = manualTicker();
    const wh = new Warehouse(dir, systemClock, { snapshotMaxAgeMs: 1000, ticker: ticker.now });
    await wh.snapshot('bronze.sales.orders');
    const list = vi.spyOn(wh.storage, 'list');
    const logListings = (): number => list.mock.calls.filter(([prefix]) => prefix.includes('_delta_log')).length;
    await Promise.all(Array.from({ length: 50 }, () => wh.snapshot('bronze.sales.orders')));
    expect(logListings()).toBe(0);
    ticker.advance(1001);
    await appendForeign(dir, 'bronze.sales.orders');
    const got = await Promise.all(Array.from({ length: 50 }, () => wh.snapshot('bronze.sales.orders')));
    expect(got.map((x) => x.version)).toEqual(Array(50).fill(1));
    expect(logListings()).toBe(1);
    // `fresh` lists again even within the max age.
    await appendForeign(dir, 'bronze.sales.orders');
    expect((await wh.snapshot('bronze.sales.orders')).version).toBe(1);
    expect((await wh.snapshot('bronze.sales.orders', { fresh: true })).version).toBe(2);
  });

  it('a commit through the warehouse storage invalidates the snapshot and the discovery at once', async () => {
    const dir = tempDir('lh-wh-');
    await createForeign(dir, 'bronze.sales.orders');
    const ticker = manualTicker();
    const wh = new Warehouse(dir, systemClock, { ticker: ticker.now });
    expect(await wh.tableNames()).toEqual(['bronze.sales.orders']);
    expect((await wh.snapshot('bronze.sales.orders')).version).toBe(0);
    await append(wh.ref('bronze.sales.orders'), engine, { sourceSql: `SELECT 5::BIGINT AS id, 'y' AS name`, clock: systemClock });
    expect((await wh.snapshot('bronze.sales.orders')).version).toBe(1);
    await createTable(wh.ref('silver.sales.mine'), { schema: SCHEMA, sourceSql: `SELECT 1::BIGINT AS id, 'a' AS name`, engine, clock: systemClock });
    expect(await wh.tableNames()).toEqual(['bronze.sales.orders', 'silver.sales.mine']);
    // Another writer's table is not seen until the discovery ages (no ticker advance), `discover()` sees it now.
    await createForeign(dir, 'gold.sales.other');
    expect(await wh.tableNames()).not.toContain('gold.sales.other');
    expect(await wh.discover()).toContain('gold.sales.other');
    expect(await wh.tableNames()).toContain('gold.sales.other');
  });

  it('unknown tables fail with TABLE_NOT_FOUND each time and leave no cache entry behind', async () => {
    const wh = new Warehouse(tempDir('lh-wh-'), systemClock);
    for (let i = 0; i < 2; i++) await expect(wh.snapshot('bronze.no.table')).rejects.toMatchObject({ code: 'TABLE_NOT_FOUND' });
    expect((wh as unknown as { latest: Map<string, unknown> }).latest.size).toBe(0);
  });
});

describe('Refreshing', () => {
  function deferredLoader(): { loader: () => Promise<number>; calls: number; resolveNext: (v: number) => void; rejectNext: (e: Error) => void } {
    const pending: { resolve: (v: number) => void; reject: (e: Error) => void }[] = [];
    const state = {
      calls: 0,
      loader: () => {
        state.calls++;
        return new Promise<number>((resolve, reject) => pending.push({ resolve, reject }));
      },
      resolveNext: (v: number) => pending.shift()!.resolve(v),
      rejectNext: (e: Error) => pending.shift()!.reject(e),
    };
    return state;
  }
  const flush = () => new Promise((r) => setTimeout(r, 0));

  it('get(0) waits for a load that starts after the call; callers queued behind a load share one', async () => {
    const t = manualTicker();
    const d = deferredLoader();
    const r = new Refreshing(d.loader, t.now);
    const a = r.get(1000);
    const b = r.get(1000); // shares the running load
    const c = r.get(0); // needs a later load
    const c2 = r.get(0); // shares that later load
    await flush();
    expect(d.calls).toBe(1);
    d.resolveNext(1);
    expect(await a).toBe(1);
    expect(await b).toBe(1);
    await flush();
    expect(d.calls).toBe(2);
    d.resolveNext(2);
    expect([await c, await c2]).toEqual([2, 2]);
    expect(await r.get(1000)).toBe(2);
    expect(d.calls).toBe(2);
  });

  it('an invalidation during a load keeps its result from counting as fresh', async () => {
    const t = manualTicker();
    const d = deferredLoader();
    const r = new Refreshing(d.loader, t.now);
    const a = r.get(1000);
    r.invalidate();
    await flush();
    d.resolveNext(1);
    expect(await a).toBe(1);
    const b = r.get(1000);
    await flush();
    expect(d.calls).toBe(2);
    d.resolveNext(2);
    expect(await b).toBe(2);
  });

  it('a failed load is not cached and drops the previous value', async () => {
    const t = manualTicker();
    const d = deferredLoader();
    const r = new Refreshing(d.loader, t.now);
    const a = r.get(1000);
    await flush();
    d.resolveNext(1);
    await a;
    t.advance(1001);
    const b = r.get(1000);
    await flush();
    d.rejectNext(new Error('boom'));
    await expect(b).rejects.toThrow('boom');
    expect(r.peek()).toBeUndefined();
    const c = r.get(1000);
    await flush();
    d.resolveNext(3);
    expect(await c).toBe(3);
  });
});

describe('SQL sandboxes', () => {
  it('each statement gets its own instance: nothing one leaves behind is seen by the next', async () => {
    const root = tempDir('lh-sbx-');
    const first = await openSqlSandbox(root);
    await first.connection.run('CREATE TABLE leftover AS SELECT 1 AS x');
    await first.connection.run('CREATE MACRO leftover_macro() AS 42');
    await first.connection.run("ATTACH ':memory:' AS bronze");
    await first.connection.run("SET VARIABLE leftover_var = 'x'");
    first.close();
    // More sandboxes than the pool keeps prepared: reused instances would show up here.
    for (let i = 0; i < 4; i++) {
      const next = await openSqlSandbox(root);
      try {
        const tables = (await next.connection.runAndReadAll("SELECT count(*)::INTEGER AS n FROM duckdb_tables() WHERE table_name = 'leftover'")).getRowObjectsJson();
        expect(tables[0].n).toBe(0);
        const macros = (await next.connection.runAndReadAll("SELECT count(*)::INTEGER AS n FROM duckdb_functions() WHERE function_name = 'leftover_macro'")).getRowObjectsJson();
        expect(macros[0].n).toBe(0);
        const dbs = (await next.connection.runAndReadAll("SELECT count(*)::INTEGER AS n FROM duckdb_databases() WHERE database_name = 'bronze'")).getRowObjectsJson();
        expect(dbs[0].n).toBe(0);
        const v = (await next.connection.runAndReadAll("SELECT getvariable('leftover_var') AS v")).getRowObjectsJson();
        expect(v[0].v).toBeNull();
      } finally {
        next.close();
      }
    }
  });

  it('a sandbox reads files under its warehouse only and cannot be unlocked', async () => {
    const root = tempDir('lh-sbx-');
    const outside = tempDir('lh-outside-');
    writeFileSync(join(root, 'inside.csv'), 'a\n1\n');
    writeFileSync(join(outside, 'secret.csv'), 'a\n2\n');
    const sb = await openSqlSandbox(root);
    try {
      const inside = (await sb.connection.runAndReadAll(`SELECT a::INTEGER AS a FROM read_csv('${join(root, 'inside.csv')}')`)).getRowObjectsJson();
      expect(inside).toEqual([{ a: 1 }]);
      await expect(sb.connection.run(`SELECT * FROM read_csv('${join(outside, 'secret.csv')}')`)).rejects.toThrow(/Permission Error|not allowed|disabled/i);
      await expect(sb.connection.run('SET enable_external_access=true')).rejects.toThrow(/lock|configuration/i);
      await expect(sb.connection.run(`SET allowed_directories=['${outside}/']`)).rejects.toThrow(/lock|configuration/i);
      await expect(sb.connection.run(`SELECT * FROM read_csv('${join(outside, 'secret.csv')}')`)).rejects.toThrow();
    } finally {
      sb.close();
    }
  });
});

describe('freshness in real time (default cache ages)', () => {
  let s: Server;
  beforeAll(async () => {
    s = await start({});
  }, 120_000);
  afterAll(async () => s?.close());

  it('a commit by another process is visible within a couple of seconds under default settings', async () => {
    const v0 = (await (await s.call('/api/tables/bronze.sales.orders', { token: s.adminToken })).json()).version;
    await (await s.call('/api/tables?q=orders', { token: s.adminToken })).arrayBuffer();
    await appendForeign(s.dir, 'bronze.sales.orders');
    await createForeign(s.dir, 'silver.sales.late');
    const t0 = Date.now();
    let detailSeen = -1;
    let listSeen = -1;
    while (Date.now() - t0 < 5000 && (detailSeen < 0 || listSeen < 0)) {
      const d = await (await s.call('/api/tables/bronze.sales.orders', { token: s.adminToken })).json();
      if (detailSeen < 0 && d.version === v0 + 1) detailSeen = Date.now() - t0;
      const l = await (await s.call('/api/tables', { token: s.adminToken })).json();
      if (listSeen < 0 && l.tables.some((t: { name: string }) => t.name === 'silver.sales.late')) listSeen = Date.now() - t0;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(detailSeen).toBeGreaterThanOrEqual(0);
    expect(detailSeen).toBeLessThan(2500);
    expect(listSeen).toBeGreaterThanOrEqual(0);
    expect(listSeen).toBeLessThan(3000);
  });
});
