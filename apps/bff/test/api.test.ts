import { readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresForSuite } from './support/postgres.js';
import { startTestServer, userWithToken, type TestServer } from './support/app.js';

const postgres = postgresForSuite(120_000);

const backends = ['pglite', 'postgres'] as const;

describe.each(backends)('API on %s', (backend) => {
  let s: TestServer;
  let analyst: { id: string; token: string };
  let viewer: { id: string; token: string };
  let steward: { id: string; token: string };

  beforeAll(async () => {
    if (backend === 'postgres' && !postgres()) throw new Error('PostgreSQL is not installed: set up Debian postgresql (see .ci/run)');
    const databaseUrl = backend === 'postgres' ? await postgres()!.createDatabase() : undefined;
    s = await startTestServer({ databaseUrl });
    analyst = await userWithToken(s, 'ana', 'analyst');
    viewer = await userWithToken(s, 'vic', 'viewer');
    steward = await userWithToken(s, 'stu', 'steward');
  }, 120_000);
  afterAll(async () => s?.close());

  it('health needs no auth and names the backends', async () => {
    const r = await s.call('/api/health');
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ status: 'ok', catalog: { backend }, warehouse: { backend: 'local' } });
  });

  it('the first-start login token works once', async () => {
    const again = await s.call('/api/auth/login', { method: 'POST', json: { token: new URL(s.loginUrl!).hash.slice(7) } });
    expect(again.status).toBe(401);
    expect((await again.json()).code).toBe('UNAUTHENTICATED');
    const me = await (await s.call('/api/me', { token: s.adminToken })).json();
    expect(me).toMatchObject({ name: 'admin', role: 'admin' });
  });

  it('refuses calls without a valid token and audits them', async () => {
    expect((await s.call('/api/tables')).status).toBe(401);
    expect((await s.call('/api/tables', { token: 'lh_bogus' })).status).toBe(401);
    const audit = await (await s.call('/api/audit?outcome=denied', { token: s.adminToken })).json();
    expect(audit.items.some((e: { action: string }) => e.action === 'GET /tables')).toBe(true);
  });

  it('lists and searches tables by name, description, column and tag', async () => {
    const all = await (await s.call('/api/tables', { token: viewer.token })).json();
    expect(all.tables.map((t: { name: string }) => t.name)).toEqual(['bronze.sales.orders']);
    expect(all.tables[0]).toMatchObject({ version: 1, rows: 100, layer: 'bronze', domain: 'sales', description: 'raw shop orders' });
    for (const q of ['orders', 'shop', 'customer']) {
      const r = await (await s.call(`/api/tables?q=${q}`, { token: viewer.token })).json();
      expect(r.tables, q).toHaveLength(1);
    }
    expect((await (await s.call('/api/tables?q=nothing_like_this', { token: viewer.token })).json()).tables).toHaveLength(0);
    expect((await (await s.call('/api/tables?layer=gold', { token: viewer.token })).json()).tables).toHaveLength(0);
  });

  it('detail has schema, partitioning and column stats from file stats', async () => {
    const d = await (await s.call('/api/tables/bronze.sales.orders', { token: viewer.token })).json();
    expect(d.partitionColumns).toEqual(['day']);
    const byName = Object.fromEntries(d.columns.map((c: { name: string }) => [c.name, c]));
    expect(byName.order_id.stats).toEqual({ min: 0, max: 149, nullCount: 0 });
    expect(byName.day.isPartition).toBe(true);
    expect(d.protocol).toMatchObject({ minReaderVersion: 1, minWriterVersion: 2 });
  });

  it('history and files are paginated', async () => {
    const h = await (await s.call('/api/tables/bronze.sales.orders/history?limit=1', { token: viewer.token })).json();
    expect(h).toMatchObject({ total: 2, offset: 0, limit: 1 });
    expect(h.items[0]).toMatchObject({ version: 1, operation: 'WRITE' });
    const f = await (await s.call('/api/tables/bronze.sales.orders/files?limit=1&offset=1', { token: viewer.token })).json();
    expect(f.total).toBe(2);
    expect(f.items).toHaveLength(1);
    expect(f.items[0].rows).toBe(50);
  });

  it('PATCH writes description and comments as a Delta metaData commit; owner and tags to the catalog', async () => {
    const r = await s.call('/api/tables/bronze.sales.orders', {
      method: 'PATCH',
      token: steward.token,
      json: { description: 'Orders exported nightly', columnComments: { amount: 'gross, EUR' }, owner: 'sales-team', tags: ['pii', 'finance'] },
    });
    expect(r.status).toBe(200);
    const d = await r.json();
    expect(d).toMatchObject({ version: 2, description: 'Orders exported nightly', owner: 'sales-team', tags: ['finance', 'pii'] });
    const commit = readFileSync(join(s.dir, 'bronze/sales/orders/_delta_log/00000000000000000002.json'), 'utf8');
    expect(commit).toContain('"description":"Orders exported nightly"');
    expect(commit).toContain('gross, EUR');
    const byTag = await (await s.call('/api/tables?tag=pii', { token: viewer.token })).json();
    expect(byTag.tables).toHaveLength(1);
    expect((await s.call('/api/tables/bronze.sales.orders', { method: 'PATCH', token: steward.token, json: { columnComments: { nope: 'x' } } })).status).toBe(400);
    expect((await s.call('/api/tables/bronze.sales.orders', { method: 'PATCH', token: steward.token, json: { bogus: 1 } })).status).toBe(400);
  });

  it('bad and unknown table names are 4xx with codes', async () => {
    const bad = await s.call('/api/tables/platinum.x.y', { token: viewer.token });
    expect(bad.status).toBe(400);
    expect((await bad.json()).message).toContain('layer');
    const missing = await s.call('/api/tables/silver.sales.none', { token: viewer.token });
    expect(missing.status).toBe(404);
    expect((await missing.json()).code).toBe('TABLE_NOT_FOUND');
  });

  describe('scan plans and signed file URLs', () => {
    it('prunes by partition and signs one URL per file; files serve ranges with ETag', async () => {
      const plan = await (await s.call(`/api/tables/bronze.sales.orders/scan?where=${encodeURIComponent("day = '2024-05-02'")}`, { token: analyst.token })).json();
      expect(plan.files).toHaveLength(1);
      expect(plan.totalFiles).toBe(2);
      const url = plan.files[0].url as string;
      const full = await fetch(s.url + url);
      expect(full.status).toBe(200);
      const etag = full.headers.get('etag');
      expect(etag).toBeTruthy();
      expect(full.headers.get('cache-control')).toContain('immutable');
      const bytes = new Uint8Array(await full.arrayBuffer());
      expect(new TextDecoder().decode(bytes.slice(0, 4))).toBe('PAR1');
      const range = await fetch(s.url + url, { headers: { Range: 'bytes=0-3' } });
      expect(range.status).toBe(206);
      expect(new TextDecoder().decode(await range.arrayBuffer())).toBe('PAR1');
      // Node's fetch adds cache headers of its own to conditional requests: use plain http as a browser cache would.
      const status = await new Promise<number>((resolve, reject) =>
        get(s.url + url, { headers: { 'If-None-Match': etag! } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        }).on('error', reject),
      );
      expect(status).toBe(304);
      const old = await (await s.call('/api/tables/bronze.sales.orders/scan?version=0', { token: analyst.token })).json();
      expect(old.version).toBe(0);
      expect(old.files).toHaveLength(1);
    });

    it('brings each file\'s whole footer with the plan on request: the bytes the signed URL serves from that block', async () => {
      const plain = await (await s.call('/api/tables/bronze.sales.orders/scan', { token: analyst.token })).json();
      expect(plain.files.every((f: { footer?: unknown }) => f.footer === undefined)).toBe(true);
      const plan = await (await s.call('/api/tables/bronze.sales.orders/scan?footers=true', { token: analyst.token })).json();
      expect(plan.files.length).toBeGreaterThan(0);
      for (const f of plan.files as { url: string; size: number; footer: { start: number; base64: string } }[]) {
        // A block start at or before the one holding the last 8 bytes, and no later than the footer's first byte.
        expect(f.footer.start % 16_384).toBe(0);
        expect(f.footer.start).toBeLessThanOrEqual(Math.floor((f.size - 8) / 16_384) * 16_384);
        const served = new Uint8Array(await (await fetch(s.url + f.url, { headers: { Range: `bytes=${f.footer.start}-${f.size - 1}` } })).arrayBuffer());
        const brought = Buffer.from(f.footer.base64, 'base64');
        expect(brought.length).toBe(f.size - f.footer.start);
        expect(Buffer.compare(brought, Buffer.from(served))).toBe(0);
        expect(brought.subarray(brought.length - 4).toString('latin1')).toBe('PAR1');
        expect(f.size - 8 - brought.readUInt32LE(brought.length - 8)).toBeGreaterThanOrEqual(f.footer.start);
      }
      const bad = await s.call('/api/tables/bronze.sales.orders/scan?footers=yes', { token: analyst.token });
      expect(bad.status).toBe(400);
    });

    it('refuses tampered, expired, foreign and traversing URLs with 403 and audits them', async () => {
      const plan = await (await s.call('/api/tables/bronze.sales.orders/scan', { token: analyst.token })).json();
      const url = new URL(s.url + plan.files[0].url);
      const tampered = new URL(url);
      tampered.searchParams.set('sig', url.searchParams.get('sig')!.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')));
      const otherExp = new URL(url);
      otherExp.searchParams.set('exp', String(Number(url.searchParams.get('exp')) + 1000));
      const otherFile = new URL(url);
      otherFile.pathname = url.pathname.replace(/[^/]+$/, 'other.parquet');
      const traversal = `${s.url}/files/bronze/sales/orders/..%2F..%2F..%2Fetc%2Fpasswd${url.search}`;
      const traversal2 = `${s.url}/files/bronze/sales/orders/%2e%2e/%2e%2e/x${url.search}`;
      const log = `${s.url}/files/bronze/sales/orders/_delta_log/00000000000000000000.json${url.search}`;
      for (const u of [tampered.toString(), otherExp.toString(), otherFile.toString(), traversal, traversal2, log, `${s.url}${url.pathname}`]) {
        const r = await fetch(u);
        expect([403, 404], u).toContain(r.status);
        if (r.status === 403) expect(((await r.json()) as { code: string }).code).toBe('FORBIDDEN');
      }
      // A symlink inside the table pointing outside it is refused even with a valid signature.
      writeFileSync(join(s.dir, 'secret.txt'), 'top secret');
      symlinkSync(join(s.dir, 'secret.txt'), join(s.dir, 'bronze/sales/orders/link.parquet'));
      const signer = s.deps.signer;
      const exp = Math.floor(s.clock.now() / 1000) + 60;
      const linkUrl = signer.url({ table: 'bronze.sales.orders', path: 'link.parquet', exp });
      const viaLink = await fetch(s.url + linkUrl);
      expect(viaLink.status).toBe(403);
      // Expiry follows the server clock.
      s.clock.advance(3600 * 1000);
      const expired = await fetch(url.toString());
      expect(expired.status).toBe(403);
      expect(((await expired.json()) as { message: string }).message).toContain('expired');
      s.clock.advance(-3600 * 1000);
      const audit = await (await s.call('/api/audit?action=read%20file&outcome=denied&limit=100', { token: s.adminToken })).json();
      expect(audit.total).toBeGreaterThanOrEqual(6);
    });
  });

  describe('users, tokens, grants', () => {
    it('admin manages users, tokens and grants; revoked tokens stop working', async () => {
      const u = await userWithToken(s, 'tmp_user', 'viewer');
      expect((await s.call('/api/me', { token: u.token })).status).toBe(200);
      const tokens = await (await s.call(`/api/users/${u.id}/tokens`, { token: s.adminToken })).json();
      const del = await s.call(`/api/tokens/${tokens.tokens[0].id}`, { method: 'DELETE', token: s.adminToken });
      expect(del.status).toBe(204);
      expect((await s.call('/api/me', { token: u.token })).status).toBe(401);
      const dup = await s.call('/api/users', { method: 'POST', token: s.adminToken, json: { name: 'tmp_user', role: 'viewer' } });
      expect(dup.status).toBe(400);
      const badGrant = await s.call('/api/grants', { method: 'POST', token: s.adminToken, json: { userId: u.id, privilege: 'SELECT', securable: 'platinum' } });
      expect(badGrant.status).toBe(400);
    });

    it('a SELECT grant on a domain lets a viewer scan that domain only', async () => {
      const v = await userWithToken(s, 'granted_viewer', 'viewer');
      expect((await s.call('/api/tables/bronze.sales.orders/scan', { token: v.token })).status).toBe(403);
      const g = await s.call('/api/grants', { method: 'POST', token: s.adminToken, json: { userId: v.id, privilege: 'SELECT', securable: 'bronze.sales' } });
      expect(g.status).toBe(201);
      expect((await s.call('/api/tables/bronze.sales.orders/scan', { token: v.token })).status).toBe(200);
      const grant = await g.json();
      expect((await s.call(`/api/grants/${grant.id}`, { method: 'DELETE', token: s.adminToken })).status).toBe(204);
      expect((await s.call('/api/tables/bronze.sales.orders/scan', { token: v.token })).status).toBe(403);
    });

    it('audit can be filtered by user, action, table and outcome', async () => {
      const a = await (await s.call(`/api/audit?table=bronze.sales.orders&action=${encodeURIComponent('edit table')}`, { token: s.adminToken })).json();
      expect(a.items.length).toBeGreaterThan(0);
      expect(a.items.every((e: { table: string; action: string }) => e.table === 'bronze.sales.orders' && e.action === 'edit table')).toBe(true);
      const byUser = await (await s.call(`/api/audit?user=${steward.id}`, { token: s.adminToken })).json();
      expect(byUser.items.every((e: { userId: string }) => e.userId === steward.id)).toBe(true);
    });
  });
});
