import express, { type Express } from 'express';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import type { Health } from '@lakehouse/contracts';
import { LakehouseError, type Clock } from '@lakehouse/core';
import { z } from 'zod';
import type { CatalogStore } from './catalog/store.js';
import type { Config } from './config.js';
import { hashToken, newTokenSecret } from './auth/tokens.js';
import { auditRequest, principalOf, resolvePrincipal } from './http/context.js';
import { errorHandler } from './http/errors.js';
import type { UrlSigner } from './http/signing.js';
import type { JobRunner } from './jobs/runner.js';
import { adminRouter } from './routes/admin.js';
import { ingestRouter } from './routes/ingest.js';
import { jobsRouter } from './routes/jobs.js';
import { sqlRouter } from './routes/sql.js';
import { queriesRouter } from './routes/queries.js';
import { filesRouter, tablesRouter } from './routes/tables.js';
import type { TableService } from './services/tables.js';
import type { EnginePool } from './warehouse/engines.js';
import type { Warehouse } from './warehouse/warehouse.js';

/** Version reported by /api/health. */
export const VERSION = '0.1.0';

/** Everything the app needs, built by `main.ts` from config (tests build it with temporary parts). */
export interface AppDeps {
  config: Config;
  catalog: CatalogStore;
  warehouse: Warehouse;
  tables: TableService;
  engines: EnginePool;
  signer: UrlSigner;
  jobs: JobRunner;
  clock: Clock;
}

/** Extra routers mounted under /api after authentication (features added by later modules). */
export type ApiExtension = (deps: AppDeps) => express.Router;

/** Builds the Express app: health, login, authenticated /api routes, signed /files, and the console when built. */
export function createApp(deps: AppDeps, extensions: ApiExtension[] = []): Express {
  const app = express();
  app.disable('x-powered-by');
  const { catalog, clock } = deps;

  app.get('/api/health', (_req, res) => {
    const body: Health = {
      status: 'ok',
      version: VERSION,
      warehouse: { backend: 'local', location: deps.warehouse.root },
      catalog: { backend: catalog.backend },
    };
    res.json(body);
  });

  app.use(filesRouter(deps));
  app.use('/api', express.json({ limit: '2mb' }));

  // Exchange a (one-time) login token for a session token. The answer carries the user's grants too (what GET /api/me
  // answers), so a console signing in needs no second round trip before it shows the signed-in shell.
  app.post('/api/auth/login', async (req, res) => {
    const { token } = z.object({ token: z.string().min(1) }).parse(req.body ?? {});
    const found = await catalog.useToken(hashToken(token), new Date(clock.now()).toISOString());
    if (!found) {
      await catalog.audit({ userId: null, userName: null, action: 'login', table: null, outcome: 'denied', details: {} });
      throw new LakehouseError('UNAUTHENTICATED', 'this login token is invalid, expired or already used');
    }
    const secret = newTokenSecret();
    await catalog.createToken(found.user.id, hashToken(secret), { expiresAt: new Date(clock.now() + 30 * 86_400_000).toISOString() });
    const [grants] = await Promise.all([
      catalog.listGrants({ userId: found.user.id }),
      catalog.audit({ userId: found.user.id, userName: found.user.name, action: 'login', table: null, outcome: 'ok', details: {} }),
    ]);
    res.json({ token: secret, user: found.user, grants });
  });

  app.use('/api', async (req, res, next) => {
    const p = await resolvePrincipal(catalog, req, clock);
    if (!p) {
      await auditRequest(catalog, res, `${req.method} ${req.path}`, null, 'denied', { reason: 'unauthenticated' });
      throw new LakehouseError('UNAUTHENTICATED', 'sign in first: send Authorization: Bearer <token>');
    }
    res.locals.principal = p;
    next();
  });

  app.get('/api/me', (_req, res) => {
    const p = principalOf(res);
    res.json({ id: p.id, name: p.name, role: p.role, grants: p.grants });
  });

  app.use('/api', tablesRouter(deps));
  app.use('/api', adminRouter(deps));
  app.use('/api', jobsRouter(deps));
  app.use('/api', sqlRouter(deps));
  app.use('/api', queriesRouter(deps));
  app.use('/api', ingestRouter(deps));
  for (const ext of extensions) app.use('/api', ext(deps));
  app.use('/api', (req) => {
    throw new LakehouseError('NOT_FOUND', `no API route ${req.method} ${req.path}`);
  });

  const dist = deps.config.webDist;
  if (dist && existsSync(join(dist, 'index.html'))) serveConsole(app, dist);
  app.use(errorHandler);
  return app;
}

/** Encodings of precompressed assets, in order of preference: the file suffix and the Content-Encoding. */
const PRECOMPRESSED = [
  { suffix: '.br', encoding: 'br' },
  { suffix: '.gz', encoding: 'gzip' },
] as const;

/**
 * A precompressed console asset as found once (hashed assets never change): held in memory with its validators, or
 * sent from disk when larger than MAX_HELD_ASSET_BYTES.
 */
type FoundAsset = { held: true; body: Buffer; etag: string; lastModified: string } | { held: false };

/** Largest asset held in memory: the console's scripts and styles are; DuckDB's wasm (6 MB gzipped) is sent from disk. */
const MAX_HELD_ASSET_BYTES = 1 << 20;

/**
 * The file as found on first use, remembered; null when missing (not remembered). Spares a cold page load a stat, an
 * open and a read stream for each of its dozen scripts (a few ms of CPU each, on a machine busy starting the browser).
 */
function findAsset(found: Map<string, Promise<FoundAsset | null>>, file: string): Promise<FoundAsset | null> {
  let asset = found.get(file);
  if (!asset) {
    asset = stat(file).then(
      async (s): Promise<FoundAsset | null> => {
        if (!s.isFile()) return null;
        if (s.size > MAX_HELD_ASSET_BYTES) return { held: false };
        return { held: true, body: await readFile(file), etag: `W/"${s.size.toString(16)}-${Math.trunc(s.mtimeMs).toString(16)}"`, lastModified: s.mtime.toUTCString() };
      },
      () => null,
    );
    found.set(file, asset);
    void asset.then((a) => (a ? undefined : found.delete(file)), () => found.delete(file));
  }
  return asset;
}

/** Whether the request's Accept-Encoding allows `encoding` (listed without `q=0`). */
function accepts(header: string | undefined, encoding: string): boolean {
  if (!header) return false;
  return header.split(',').some((part) => {
    const [name, ...params] = part.trim().split(';');
    if (name.trim().toLowerCase() !== encoding) return false;
    const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
    return q === undefined || Number(q) > 0;
  });
}

/**
 * Serves the built console: `assets/` (file names carry a content hash) cached for a year as immutable and sent
 * precompressed when the build wrote a `.br`/`.gz` sibling and the browser accepts it (range requests get the plain
 * file); index.html revalidated on every load (it names the current assets); any other path falls back to index.html
 * (client-side routes). Assets missing from `assets/` answer 404.
 */
function serveConsole(app: Express, dist: string): void {
  const assets = join(dist, 'assets');
  const immutable = 'public, max-age=31536000, immutable';
  const found = new Map<string, Promise<FoundAsset | null>>();
  app.use('/assets', async (req, res, next) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || req.headers.range) return next();
    let rel: string;
    try {
      rel = normalize(decodeURIComponent(req.path)).replace(/^[/\\]+/, '');
    } catch {
      return next();
    }
    if (!rel || rel.startsWith('..') || rel.includes(`${sep}..`) || rel.includes('\0')) return next();
    res.vary('Accept-Encoding');
    for (const { suffix, encoding } of PRECOMPRESSED) {
      if (!accepts(req.headers['accept-encoding'], encoding)) continue;
      const file = join(assets, rel + suffix);
      if (!file.startsWith(assets + sep)) continue;
      const asset = await findAsset(found, file);
      if (!asset) continue;
      res.type(extname(rel));
      res.setHeader('Content-Encoding', encoding);
      if (!asset.held) {
        res.sendFile(file, { headers: { 'Cache-Control': immutable }, etag: true, lastModified: true, acceptRanges: false }, (err: (Error & { code?: string }) | undefined) => {
          if (!err || res.headersSent) return;
          if (err.code !== 'ENOENT') return next(err);
          // Gone since it was found (a rebuild replaced the assets): a missing asset, as any other.
          found.delete(file);
          res.removeHeader('Content-Type');
          res.removeHeader('Content-Encoding');
          next();
        });
        return;
      }
      res.setHeader('Cache-Control', immutable);
      res.setHeader('ETag', asset.etag);
      res.setHeader('Last-Modified', asset.lastModified);
      if (req.fresh) {
        res.status(304).end();
        return;
      }
      res.setHeader('Content-Length', String(asset.body.byteLength));
      res.end(req.method === 'HEAD' ? undefined : asset.body);
      return;
    }
    next();
  });
  app.use('/assets', express.static(assets, { index: false, immutable: true, maxAge: '365d' }));
  // A missing hashed asset is an error, not a client-side route (an old page asking for a replaced build's chunk).
  app.use('/assets', (req) => {
    throw new LakehouseError('NOT_FOUND', `no console asset ${req.path}`);
  });
  app.use(express.static(dist, { index: false, maxAge: '1h' }));
  // `/{*splat}`: the root too (`/*splat` needs at least one character after the slash).
  app.get('/{*splat}', (_req, res) => res.sendFile(join(dist, 'index.html'), { headers: { 'Cache-Control': 'no-cache' } }));
}
