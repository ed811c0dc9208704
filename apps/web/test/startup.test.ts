import { describe, expect, it, vi } from 'vitest';

// What the prewarm asks of the DuckDB module (the real one needs a browser).
const ensureViews = vi.fn((_reads: unknown[]) => Promise.resolve([]));
vi.mock('../src/lib/duckdb/index.js', () => ({ ensureViews }));

const { ApiError, apiSent } = await import('../src/lib/api.js');
const { prewarmSqlDraft } = await import('../src/features/sql/prewarm.js');

/** `{ token: string }`, as the API client's schemas validate (throws otherwise). */
const Body = {
  parse(data: unknown): { token: string } {
    const token = (data as { token?: unknown } | null)?.token;
    if (typeof token !== 'string') throw new Error('token: expected a string');
    return { token };
  },
};
const json = (status: number, body: unknown) => Promise.resolve(new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } }));

describe('apiSent: a request sent early (index.html) settles as api() would', () => {
  it.each([
    { name: 'success', response: () => json(200, { token: 'lh_x' }), expected: { token: 'lh_x' } },
    { name: 'API error', response: () => json(401, { code: 'UNAUTHENTICATED', message: 'this login token is invalid', details: {} }), error: { code: 'UNAUTHENTICATED', status: 401, message: 'this login token is invalid' } },
    { name: 'contract broken', response: () => json(200, { nope: 1 }), error: { code: 'BAD_RESPONSE', status: 200 } },
    { name: 'not JSON', response: () => Promise.resolve(new Response('<html>', { status: 200 })), error: { code: 'BAD_RESPONSE', status: 200 } },
    { name: 'no answer', response: () => Promise.reject(new TypeError('Failed to fetch')), error: { code: 'NETWORK_ERROR', status: 0 } },
  ])('$name', async ({ response, expected, error }) => {
    const settled = apiSent('/api/auth/login', response(), Body);
    if (expected) await expect(settled).resolves.toEqual(expected);
    else {
      const e = await settled.then(() => null, (x: unknown) => x);
      expect(e).toBeInstanceOf(ApiError);
      expect(e).toMatchObject(error);
    }
  });
});

describe('prewarmSqlDraft: builds the views of the latest versions the draft reads', () => {
  it.each([
    { sql: 'SELECT count(*) FROM silver.sales.orders;', tables: ['silver.sales.orders'] },
    { sql: 'SELECT * FROM gold.sales.daily_revenue r JOIN silver.sales.orders o ON true', tables: ['gold.sales.daily_revenue', 'silver.sales.orders'] },
    { sql: 'SELECT * FROM silver.sales.orders VERSION AS OF 3', tables: [] },
    { sql: 'SELECT 1', tables: [] },
    { sql: "SELECT 'unterminated", tables: [] },
  ])('$sql', async ({ sql, tables }) => {
    ensureViews.mockClear();
    await prewarmSqlDraft(sql);
    const asked = ensureViews.mock.calls.flatMap(([reads]) => (reads as { table: string; at: { kind: string } }[]).map((r) => `${r.table}@${r.at.kind}`));
    expect([...new Set(asked)].sort()).toEqual(tables.map((t) => `${t}@latest`).sort());
    if (tables.length === 0) expect(ensureViews).not.toHaveBeenCalled();
  });

  it('never rejects when a view cannot be built', async () => {
    ensureViews.mockImplementationOnce(() => Promise.reject(new Error('FORBIDDEN')));
    await expect(prewarmSqlDraft('SELECT * FROM silver.sales.orders')).resolves.toBeUndefined();
  });
});
