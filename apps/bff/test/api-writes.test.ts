import { join } from 'node:path';
import { Snapshot } from '@lakehouse/core';
import { DuckDbEngine, FsStorage, tableQuerySql } from '@lakehouse/core/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresForSuite } from './support/postgres.js';
import { startTestServer, userWithToken, type TestServer } from './support/app.js';

const postgres = postgresForSuite(120_000);

function form(csv: string, name = 'data.csv', fields: Record<string, string> = {}): FormData {
  const f = new FormData();
  for (const [k, v] of Object.entries(fields)) f.set(k, v);
  f.set('file', new Blob([csv], { type: 'text/csv' }), name);
  return f;
}

describe.each(['pglite', 'postgres'] as const)('writes through the API on %s', (backend) => {
  let s: TestServer;
  let writer: { id: string; token: string };

  beforeAll(async () => {
    if (backend === 'postgres' && !postgres()) throw new Error('PostgreSQL is not installed');
    s = await startTestServer({ databaseUrl: backend === 'postgres' ? await postgres()!.createDatabase() : undefined });
    writer = await userWithToken(s, 'writer', 'analyst');
    for (const securable of ['bronze.web', 'silver', 'gold']) {
      await s.call('/api/grants', { method: 'POST', token: s.adminToken, json: { userId: writer.id, privilege: 'MODIFY', securable } });
    }
  }, 120_000);
  afterAll(async () => s?.close());

  it('ingest creates a bronze table with lineage columns, then appends', async () => {
    const r1 = await s.call('/api/tables/bronze.web.clicks/ingest', { method: 'POST', token: writer.token, body: form('user,page\nu1,/home\nu2,/cart\n') });
    expect(r1.status).toBe(200);
    expect(await r1.json()).toMatchObject({ table: 'bronze.web.clicks', version: 0, created: true, rows: 2 });
    const r2 = await s.call('/api/tables/bronze.web.clicks/ingest', { method: 'POST', token: writer.token, body: form('user,page\nu3,/home\n', 'more.csv') });
    expect(await r2.json()).toMatchObject({ version: 1, created: false, rows: 1 });
    // The raw body as the file (options in the query string): the cheap path for large files.
    const r3 = await s.call('/api/tables/bronze.web.clicks/ingest?fileName=raw.csv', { method: 'POST', token: writer.token, body: 'user,page\nu4,/cart\n', headers: { 'Content-Type': 'text/csv' } });
    expect(await r3.json()).toMatchObject({ version: 2, created: false, rows: 1 });
    const typo = await s.call('/api/tables/bronze.web.clicks/ingest?filename=raw.csv', { method: 'POST', token: writer.token, body: 'user,page\nu5,/x\n', headers: { 'Content-Type': 'text/csv' } });
    expect(typo.status).toBe(400);
    expect((await typo.json()).message).toMatch(/unknown ingest parameter "filename"/);
    const d = await (await s.call('/api/tables/bronze.web.clicks', { token: writer.token })).json();
    expect(d.rows).toBe(4);
    expect(d.columns.map((c: { name: string }) => c.name)).toEqual(expect.arrayContaining(['user', 'page', '_ingested_at', '_source', '_source_file']));
  });

  it('bad uploads are 4xx and leave the table at its version', async () => {
    const cases: [string, RequestInit, number, string][] = [
      ['wrong types', { body: form('user,page\nu4\n') }, 400, 'INVALID_INPUT'],
      ['a raw body of no known format', { body: 'x', headers: { 'Content-Type': 'text/plain' } }, 400, 'INVALID_INPUT'],
      ['unknown format', { body: form('a', 'data.xlsx') }, 400, 'INVALID_INPUT'],
    ];
    for (const [what, init, status, code] of cases) {
      const r = await s.call('/api/tables/bronze.web.clicks/ingest', { method: 'POST', token: writer.token, ...init });
      expect(r.status, what).toBe(status);
      expect((await r.json()).code, what).toBe(code);
    }
    const silver = await s.call('/api/tables/silver.web.clicks/ingest', { method: 'POST', token: s.adminToken, body: form('a\n1\n') });
    expect(silver.status).toBe(400);
    expect((await silver.json()).message).toContain('bronze');
    const d = await (await s.call('/api/tables/bronze.web.clicks', { token: writer.token })).json();
    expect(d.version).toBe(2);
  });

  it('SQL writes move data bronze -> silver -> gold with lineage in the commits', async () => {
    const ctas = await s.call('/api/sql', {
      method: 'POST',
      token: writer.token,
      json: { sql: 'CREATE TABLE silver.web.page_views AS SELECT user, page, _ingested_at AS seen_at FROM bronze.web.clicks' },
    });
    expect(ctas.status).toBe(200);
    expect(await ctas.json()).toMatchObject({ statement: 'CREATE_TABLE_AS_SELECT', target: 'silver.web.page_views', sources: ['bronze.web.clicks'], version: 0 });
    const merge = await s.call('/api/sql', {
      method: 'POST',
      token: writer.token,
      json: {
        sql: `MERGE INTO silver.web.page_views t USING (SELECT 'u1' AS user, '/home' AS page, TIMESTAMP '2024-01-01' AS seen_at UNION ALL SELECT 'u9', '/new', TIMESTAMP '2024-01-02') s
              ON t.user = s.user AND t.page = s.page WHEN MATCHED THEN UPDATE SET seen_at = s.seen_at WHEN NOT MATCHED THEN INSERT *`,
      },
    });
    expect(merge.status).toBe(200);
    const gold = await s.call('/api/sql', {
      method: 'POST',
      token: writer.token,
      json: { sql: 'CREATE TABLE gold.web.page_counts AS SELECT page, count(*) AS views FROM silver_web_page_views GROUP BY page' },
    });
    expect(await gold.json()).toMatchObject({ sources: ['silver.web.page_views'], target: 'gold.web.page_counts' });
    const h = await (await s.call('/api/tables/silver.web.page_views/history', { token: writer.token })).json();
    expect(h.items[0].operation).toBe('MERGE');
    const rows = await (await s.call('/api/tables/gold.web.page_counts', { token: writer.token })).json();
    expect(rows.rows).toBe(3);
  });

  it('refused and failed statements are 4xx, audited, and change nothing', async () => {
    const cases: [string, string, number, string][] = [
      [writer.token, 'SELECT 1', 400, 'INVALID_INPUT'],
      [writer.token, 'DROP TABLE silver.web.page_views', 400, 'INVALID_INPUT'],
      [writer.token, 'INSERT INTO silver.web.page_views SELECT 1, 2', 400, 'SCHEMA_MISMATCH'],
      [writer.token, 'DELETE FROM silver.web.nothing WHERE true', 404, 'TABLE_NOT_FOUND'],
      [writer.token, "DELETE FROM bronze.sales.orders WHERE day = '2024-05-01'", 403, 'FORBIDDEN'],
      [writer.token, 'INSERT INTO silver.web.page_views SELECT customer, customer, NULL FROM bronze.sales.orders', 200, ''],
    ];
    const before = await (await s.call('/api/tables/bronze.sales.orders', { token: writer.token })).json();
    for (const [token, sql, status, code] of cases) {
      const r = await s.call('/api/sql', { method: 'POST', token, json: { sql } });
      expect(r.status, sql).toBe(status);
      if (code) expect((await r.json()).code, sql).toBe(code);
    }
    const after = await (await s.call('/api/tables/bronze.sales.orders', { token: writer.token })).json();
    expect(after.version).toBe(before.version);
    const denied = await (await s.call('/api/audit?outcome=denied&limit=500', { token: s.adminToken })).json();
    expect(denied.items.some((e: { action: string; table: string }) => e.action.startsWith('sql') && e.table === 'bronze.sales.orders')).toBe(true);
  });

  it('long operations run as jobs with SSE progress', async () => {
    const r = await s.call('/api/sql', {
      method: 'POST',
      token: writer.token,
      headers: { Prefer: 'respond-async' },
      json: { sql: "INSERT INTO silver.web.page_views SELECT 'u' || i, '/p', TIMESTAMP '2024-01-01' FROM range(1000) t(i)" },
    });
    expect(r.status).toBe(202);
    const job = await r.json();
    const events = await s.call(`/api/jobs/${job.id}/events`, { token: writer.token });
    expect(events.headers.get('content-type')).toContain('text/event-stream');
    const text = await events.text();
    const states = text
      .split('\n\n')
      .filter((b) => b.startsWith('data: '))
      .map((b) => JSON.parse(b.slice(6)).state);
    expect(states[states.length - 1]).toBe('succeeded');
    const final = await (await s.call(`/api/jobs/${job.id}`, { token: writer.token })).json();
    expect(final).toMatchObject({ state: 'succeeded', progress: 1 });
    expect(final.result.statement).toBe('INSERT');
    const other = await userWithToken(s, 'other', 'analyst');
    expect((await s.call(`/api/jobs/${job.id}`, { token: other.token })).status).toBe(404);
  });
});

describe('cancelling a running statement', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  }, 120_000);
  afterAll(async () => s?.close());

  it('stops the job before its commit and leaves the table at its version', async () => {
    const before = (await (await s.call('/api/tables/bronze.sales.orders', { token: s.adminToken })).json()).version;
    const r = await s.call('/api/sql', {
      method: 'POST',
      token: s.adminToken,
      headers: { Prefer: 'respond-async' },
      json: { sql: "INSERT INTO bronze.sales.orders SELECT i, md5(i::VARCHAR), 1.00, DATE '2024-07-01' + (i % 300)::INTEGER FROM range(200000000) t(i)" },
    });
    expect(r.status).toBe(202);
    const job = await r.json();
    // Wait until it is really running, then cancel.
    const events = await s.call(`/api/jobs/${job.id}/events`, { token: s.adminToken });
    const reader = events.body!.getReader();
    let seen = '';
    while (!seen.includes('"state":"running"')) seen += new TextDecoder().decode((await reader.read()).value);
    const c = await s.call(`/api/jobs/${job.id}/cancel`, { method: 'POST', token: s.adminToken });
    expect(c.status).toBe(202);
    for (;;) {
      const { done, value } = await reader.read();
      if (value) seen += new TextDecoder().decode(value);
      if (done) break;
    }
    expect(seen).toContain('"state":"cancelled"');
    const final = await (await s.call(`/api/jobs/${job.id}`, { token: s.adminToken })).json();
    expect(final.state).toBe('cancelled');
    expect(final.error.code).toBe('CANCELLED');
    const after = (await (await s.call('/api/tables/bronze.sales.orders', { token: s.adminToken })).json()).version;
    expect(after).toBe(before);
  }, 120_000);
});

describe('8 clients x 50 appends through the API', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  }, 120_000);
  afterAll(async () => s?.close());

  it('gives 400 new versions and loses no row', async () => {
    const clients = 8;
    const each = 50;
    await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        for (let i = 0; i < each; i++) {
          const id = 10_000 + c * each + i;
          const r = await s.call('/api/sql', {
            method: 'POST',
            token: s.adminToken,
            json: { sql: `INSERT INTO bronze.sales.orders VALUES (${id}, 'client${c}', 1.00, DATE '2024-06-01')` },
          });
          if (r.status !== 200) throw new Error(`client ${c} append ${i}: ${r.status} ${await r.text()}`);
        }
      }),
    );
    const d = await (await s.call('/api/tables/bronze.sales.orders', { token: s.adminToken })).json();
    expect(d.version).toBe(1 + clients * each);
    expect(d.rows).toBe(100 + clients * each);
    const h = await (await s.call('/api/tables/bronze.sales.orders/history?limit=1000', { token: s.adminToken })).json();
    expect(h.items.map((c: { version: number }) => c.version)).toEqual(Array.from({ length: 401 + 1 }, (_, i) => 401 - i));
    const files = await (await s.call('/api/tables/bronze.sales.orders/files?limit=1000', { token: s.adminToken })).json();
    expect(files.total).toBe(2 + clients * each);
    // Every appended row is present exactly once.
    const engine = await DuckDbEngine.create();
    const snapshot = await Snapshot.load({ storage: new FsStorage(join(s.dir, 'bronze/sales/orders')), tableKey: '' });
    const { sql } = await tableQuerySql(snapshot, { where: 'order_id >= 10000' });
    const [counts] = await engine.queryRows(`SELECT count(*)::INTEGER AS n, count(DISTINCT order_id)::INTEGER AS d, min(order_id)::INTEGER AS lo, max(order_id)::INTEGER AS hi FROM (${sql})`);
    expect(counts).toEqual({ n: clients * each, d: clients * each, lo: 10_000, hi: 10_000 + clients * each - 1 });
    engine.connection.closeSync();
  }, 300_000);
});
