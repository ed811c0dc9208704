import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock, append, createTable, type StructType } from '@lakehouse/core';
import { DuckDbEngine } from '@lakehouse/core/node';
import { openCatalog } from '../../src/catalog/open.js';
import { loadConfig } from '../../src/config.js';
import { startServer, type RunningServer } from '../../src/server.js';
import type { ApiExtension } from '../../src/app.js';

/** A fetch Response whose JSON body is untyped (tests assert on its shape). */
export type JsonResponse = Omit<Response, 'json'> & { json(): Promise<any> };

/** A test server on a temporary warehouse holding `bronze.sales.orders` (partitioned by day, 2 versions). */
export interface TestServer extends RunningServer {
  dir: string;
  clock: ManualClock;
  /** Token of the first admin (already exchanged from the one-time login token). */
  adminToken: string;
  /** Fetch against the server with an optional bearer token. */
  call(path: string, init?: RequestInit & { token?: string | null; json?: unknown }): Promise<JsonResponse>;
}

/** `call` of a server at `baseUrl`: fetch with a bearer `token` and a `json` body made into a JSON request. */
export function apiCaller(baseUrl: string): TestServer['call'] {
  return (path, init = {}) => {
    const headers = new Headers(init.headers);
    if (init.token) headers.set('Authorization', `Bearer ${init.token}`);
    let body = init.body;
    if (init.json !== undefined) {
      headers.set('Content-Type', 'application/json');
      body = JSON.stringify(init.json);
    }
    return fetch(baseUrl + path, { ...init, headers, body });
  };
}

/** Starts a server for tests on PGlite (in memory) or on PostgreSQL when `databaseUrl` is given. */
export async function startTestServer(options: { databaseUrl?: string; extensions?: ApiExtension[] } = {}): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'lh-api-'));
  const clock = new ManualClock(Date.now());
  const engine = await DuckDbEngine.create(clock);
  const schema: StructType = {
    type: 'struct',
    fields: [
      { name: 'order_id', type: 'long', nullable: false, metadata: {} },
      { name: 'customer', type: 'string', nullable: true, metadata: {} },
      { name: 'amount', type: { type: 'decimal', precision: 10, scale: 2 }, nullable: true, metadata: {} },
      { name: 'day', type: 'date', nullable: true, metadata: {} },
    ],
  };
  const ref = { storage: new (await import('@lakehouse/core/node')).FsStorage(join(dir, 'bronze/sales/orders')), tableKey: '' };
  const rows = (from: number, day: string) =>
    `SELECT (i + ${from})::BIGINT AS order_id, 'c' || (i % 7) AS customer, (i * 1.5)::DECIMAL(10,2) AS amount, DATE '${day}' AS day FROM range(50) t(i)`;
  await createTable(ref, { schema, partitionColumns: ['day'], description: 'raw shop orders', engine, sourceSql: rows(0, '2024-05-01'), clock });
  await append(ref, engine, { sourceSql: rows(100, '2024-05-02'), clock });
  engine.connection.closeSync();

  const catalog = await openCatalog(options.databaseUrl ? { databaseUrl: options.databaseUrl } : { pgliteDir: null });
  const config = loadConfig({ warehouse: dir, port: 0, host: '127.0.0.1', databaseUrl: options.databaseUrl ?? null, demo: false, engines: 2, webDist: null });
  const server = await startServer(config, { clock, catalog, extensions: options.extensions });
  const loginToken = new URL(server.loginUrl!).hash.replace('#token=', '');
  const call = apiCaller(server.url);
  const login = await call('/api/auth/login', { method: 'POST', json: { token: loginToken } });
  const { token: adminToken } = (await login.json()) as { token: string };
  return {
    ...server,
    dir,
    clock,
    adminToken,
    call,
    close: async () => {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Creates a user with a role and returns its id and a bearer token. */
export async function userWithToken(s: TestServer, name: string, role: string): Promise<{ id: string; token: string }> {
  const u = await s.call('/api/users', { method: 'POST', token: s.adminToken, json: { name, role } });
  const user = (await u.json()) as { id: string };
  const t = await s.call(`/api/users/${user.id}/tokens`, { method: 'POST', token: s.adminToken, json: {} });
  const { token } = (await t.json()) as { token: string };
  return { id: user.id, token };
}
