import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { systemClock, type Clock } from '@lakehouse/core';
import { createApp, type ApiExtension, type AppDeps } from './app.js';
import { hashToken, newTokenSecret } from './auth/tokens.js';
import { openCatalog } from './catalog/open.js';
import type { CatalogStore } from './catalog/store.js';
import type { Config } from './config.js';
import { configurePrincipalCache } from './http/context.js';
import { UrlSigner } from './http/signing.js';
import { JobRunner } from './jobs/runner.js';
import { maintenanceScheduler, type MaintenanceScheduler } from './maintenance/scheduler.js';
import { maintenanceRouter } from './routes/maintenance.js';
import { TableService } from './services/tables.js';
import { EnginePool } from './warehouse/engines.js';
import type { Ticker } from './warehouse/refreshing.js';
import { Warehouse } from './warehouse/warehouse.js';

/**
 * Settings of the read caches (principals, warehouse discovery and snapshots, table records); the defaults suit
 * production. Changes made through this process are always visible at once; the ages bound how long changes made by
 * other processes (or engines writing into the warehouse) take to show.
 */
export interface CacheOptions {
  /** Resolved bearer tokens are reused this long (default 3000 ms). */
  principalTtlMs?: number;
  /** A table's `_delta_log` is listed at most this often (default 1000 ms). */
  snapshotMaxAgeMs?: number;
  /** The warehouse layout is listed at most this often (default 2000 ms). */
  discoveryMaxAgeMs?: number;
  /** Owners and tags are read at most this often (default 2000 ms). */
  recordsMaxAgeMs?: number;
  /** Monotonic time source of the ages (default performance.now). */
  ticker?: Ticker;
}

/** Builds the app's dependencies from config: catalog (PostgreSQL or PGlite under the warehouse), engines, signer, caches. */
export async function buildDeps(config: Config, clock: Clock = systemClock, catalogOverride?: CatalogStore, cache: CacheOptions = {}): Promise<AppDeps> {
  mkdirSync(config.warehouse, { recursive: true });
  const catalog =
    catalogOverride ??
    (await openCatalog(config.databaseUrl ? { databaseUrl: config.databaseUrl } : { pgliteDir: join(config.warehouse, '.lakehouse', 'catalog') }));
  const key = await catalog.setSettingIfAbsent('url_signing_key', UrlSigner.newKey());
  const { ticker } = cache;
  configurePrincipalCache(catalog, { ttlMs: cache.principalTtlMs, ticker });
  const warehouse = new Warehouse(config.warehouse, clock, { snapshotMaxAgeMs: cache.snapshotMaxAgeMs, discoveryMaxAgeMs: cache.discoveryMaxAgeMs, ticker });
  return {
    config,
    catalog,
    warehouse,
    tables: new TableService(warehouse, catalog, clock, { recordsMaxAgeMs: cache.recordsMaxAgeMs, ticker }),
    engines: await EnginePool.create(config.engines, clock, { tempDir: join(config.warehouse, '.lakehouse', 'tmp'), memoryLimit: '4GB' }),
    signer: new UrlSigner(Buffer.from(key, 'hex')),
    jobs: new JobRunner(catalog, clock),
    clock,
  };
}

/** On a catalog without users: creates the admin and returns a one-time login token for it (null otherwise). */
export async function ensureAdmin(catalog: CatalogStore): Promise<string | null> {
  if ((await catalog.countUsers()) > 0) return null;
  const admin = await catalog.createUser('admin', 'admin');
  const secret = newTokenSecret();
  await catalog.createToken(admin.id, hashToken(secret), { oneTime: true });
  await catalog.audit({ userId: admin.id, userName: admin.name, action: 'create admin', table: null, outcome: 'ok', details: { firstStart: true } });
  return secret;
}

/**
 * A one-time login token (valid 24 hours) for the oldest admin, so whoever starts the server can always sign in (as
 * Jupyter prints a token URL at every start); null when there is no admin. Audited.
 */
export async function issueAdminLogin(catalog: CatalogStore, clock: Clock = systemClock): Promise<string | null> {
  const admin = (await catalog.listUsers()).filter((u) => u.role === 'admin').sort((a, b) => a.createdAt.localeCompare(b.createdAt))[0];
  if (!admin) return null;
  const secret = newTokenSecret();
  await catalog.createToken(admin.id, hashToken(secret), { oneTime: true, expiresAt: new Date(clock.now() + 86_400_000).toISOString() });
  await catalog.audit({ userId: admin.id, userName: admin.name, action: 'issue login link', table: null, outcome: 'ok', details: { atStart: true } });
  return secret;
}

/** A running server. */
export interface RunningServer {
  url: string;
  deps: AppDeps;
  /** One-time login URL printed at first start (null when users already existed). */
  loginUrl: string | null;
  /** Runs due maintenance schedules (polling unless disabled; `tick()` runs one round now). */
  scheduler: MaintenanceScheduler;
  close(): Promise<void>;
}

/** Starts the BFF on config.host:config.port (port 0 picks a free one). */
export async function startServer(
  config: Config,
  options: {
    clock?: Clock;
    extensions?: ApiExtension[];
    catalog?: CatalogStore;
    cache?: CacheOptions;
    /** How often due maintenance schedules are looked for (default 60 s; 0 turns polling off). */
    schedulerIntervalMs?: number;
  } = {},
): Promise<RunningServer> {
  const deps = await buildDeps(config, options.clock, options.catalog, options.cache);
  await deps.tables.syncRegistry();
  const firstToken = await ensureAdmin(deps.catalog);
  const app = createApp(deps, [maintenanceRouter, ...(options.extensions ?? [])]);
  const scheduler = maintenanceScheduler(deps);
  const pollMs = options.schedulerIntervalMs ?? 60_000;
  if (pollMs > 0) scheduler.startPolling(pollMs);
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(config.port, config.host, () => resolve(s));
    s.on('error', reject);
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  const url = `http://${config.host}:${port}`;
  return {
    url,
    deps,
    loginUrl: firstToken ? `${url}/login#token=${firstToken}` : null,
    scheduler,
    close: async () => {
      scheduler.stop();
      await new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      await deps.catalog.close();
    },
  };
}
