import { realpath } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { PatchTableSchema } from '@lakehouse/contracts';
import { LakehouseError, parseTableName } from '@lakehouse/core';
import { Router } from 'express';
import { z } from 'zod';
import type { AppDeps } from '../app.js';
import { auditRequest, principalOf, requireCapability } from '../http/context.js';

const Page = z.object({
  offset: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  version: z.coerce.number().int().min(0).optional(),
});
const ListQuery = z.object({ q: z.string().optional(), layer: z.string().optional(), domain: z.string().optional(), tag: z.string().optional() });
const ScanQuery = z.object({
  version: z.coerce.number().int().min(0).optional(),
  timestamp: z.string().optional(),
  where: z.string().max(100_000).optional(),
  footers: z.enum(['true', 'false']).optional(),
});

/** Table name from a route parameter, validated (INVALID_INPUT names the problem). */
export function tableParam(raw: unknown): string {
  return parseTableName(String(raw)).name;
}

/** Catalog routes: list/search, detail, history, files, metadata edits, scan plans. */
export function tablesRouter(deps: AppDeps): Router {
  const r = Router();
  const { tables, catalog, config, signer } = deps;

  r.get('/tables', async (req, res) => {
    await requireCapability(catalog, res, 'read_metadata', 'list tables');
    res.json({ tables: await tables.list(ListQuery.parse(req.query)) });
  });

  r.get('/tables/:name', async (req, res) => {
    const name = tableParam(req.params.name);
    await requireCapability(catalog, res, 'read_metadata', 'read table', name);
    res.json(await tables.detail(name, Page.parse(req.query).version));
  });

  r.get('/tables/:name/history', async (req, res) => {
    const name = tableParam(req.params.name);
    await requireCapability(catalog, res, 'read_metadata', 'read history', name);
    const p = Page.parse(req.query);
    res.json(await tables.history(name, p.offset, p.limit));
  });

  r.get('/tables/:name/files', async (req, res) => {
    const name = tableParam(req.params.name);
    await requireCapability(catalog, res, 'read_metadata', 'read files', name);
    const p = Page.parse(req.query);
    res.json(await tables.files(name, p.offset, p.limit, p.version));
  });

  r.patch('/tables/:name', async (req, res) => {
    const name = tableParam(req.params.name);
    const p = await requireCapability(catalog, res, 'edit_metadata', 'edit table', name);
    const patch = PatchTableSchema.parse(req.body ?? {});
    try {
      const detail = await tables.patch(name, patch, p.name);
      await auditRequest(catalog, res, 'edit table', name, 'ok', { fields: Object.keys(patch) });
      res.json(detail);
    } catch (e) {
      await auditRequest(catalog, res, 'edit table', name, 'error', { message: (e as Error).message });
      throw e;
    }
  });

  r.get('/tables/:name/scan', async (req, res) => {
    const name = tableParam(req.params.name);
    await requireCapability(catalog, res, 'select', 'scan table', name);
    const q = ScanQuery.parse(req.query);
    res.json(await tables.scan(name, { ...q, footers: q.footers === 'true' }, signer, config.signedUrlTtlSeconds));
  });
  return r;
}

/** The signed file route: serves exactly the signed file of the table, with Range, ETag and immutable caching. */
export function filesRouter(deps: AppDeps): Router {
  const r = Router();
  const { catalog, signer, clock, warehouse } = deps;
  r.get('/files/:layer/:domain/:table/*path', async (req, res) => {
    const segments = ([] as string[]).concat(req.params.path as string | string[]);
    let name: string;
    try {
      name = parseTableName(`${req.params.layer}.${req.params.domain}.${req.params.table}`).name;
    } catch {
      await auditRequest(catalog, res, 'read file', null, 'denied', { reason: 'bad table', path: req.path });
      throw new LakehouseError('FORBIDDEN', 'not a signed file URL');
    }
    const rel = segments.join('/');
    const deny = async (reason: string): Promise<never> => {
      await auditRequest(catalog, res, 'read file', name, 'denied', { reason, path: rel });
      throw new LakehouseError('FORBIDDEN', `file access refused: ${reason}`, { reason });
    };
    if (segments.some((s) => s === '..' || s === '.' || s === '' || s.includes('\0') || s.includes('/') || s.includes('\\')) || segments[0] === '_delta_log') {
      await deny('path outside the table');
    }
    const exp = Number(req.query.exp);
    const sig = typeof req.query.sig === 'string' ? req.query.sig : '';
    if (!Number.isInteger(exp) || !sig) await deny('missing signature');
    const verdict = signer.verify({ table: name, path: rel, exp }, sig, Math.floor(clock.now() / 1000));
    if (verdict !== 'ok') await deny(verdict === 'expired' ? 'signature expired' : 'invalid signature');
    const root = await realpath(warehouse.dir(name)).catch(() => null);
    const abs = await realpath(join(warehouse.dir(name), ...segments)).catch(() => null);
    if (!root || !abs) throw new LakehouseError('FILE_NOT_FOUND', `file ${rel} of ${name} not found`);
    if (!abs.startsWith(root + sep)) await deny('path outside the table');
    await new Promise<void>((resolve, reject) => {
      res.sendFile(abs, { headers: { 'Cache-Control': 'private, max-age=31536000, immutable' }, etag: true, lastModified: true, dotfiles: 'allow' }, (err) =>
        err ? reject(err) : resolve(),
      );
    });
  });
  return r;
}

/** Principal of the request, for handlers that need only the caller's identity. */
export { principalOf };
