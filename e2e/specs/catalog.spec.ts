import type { APIRequestContext } from '@playwright/test';
import { expect, test } from '../fixtures.js';

// Browsing the catalog down to a table and reading its schema. The API is the oracle: what the console shows must be
// what GET /api/tables answers for the same warehouse.

interface ApiColumn {
  name: string;
  type: string;
  nullable: boolean;
  isPartition: boolean;
}

/** Names of the tables the API lists now (other specs create tables of their own, so the setup's list can be short). */
async function apiTables(api: APIRequestContext, query = ''): Promise<string[]> {
  const res = await api.get(`/api/tables${query}`);
  expect(res.status(), await res.text()).toBe(200);
  return ((await res.json()) as { tables: { name: string }[] }).tables.map((t) => t.name).sort();
}

async function apiColumns(api: APIRequestContext, table: string): Promise<ApiColumn[]> {
  const res = await api.get(`/api/tables/${table}`);
  expect(res.status(), await res.text()).toBe(200);
  return ((await res.json()) as { columns: ApiColumn[] }).columns;
}

test('the catalog shows every table of the warehouse', async ({ catalog, adminApi, e2e }) => {
  const tables = await apiTables(adminApi);
  expect(tables).toEqual(expect.arrayContaining(e2e.tables));
  await catalog.goto();
  await expect(catalog.heading).toHaveText('Catalog');
  await expect(catalog.summary).toContainText(`${tables.length} tables`);
  await expect.poll(async () => (await catalog.tableNames()).sort()).toEqual(tables);
  await catalog.showList();
  await expect.poll(async () => (await catalog.tableNames()).sort()).toEqual(tables);
});

test('a search narrows the catalog and clearing it brings every table back', async ({ page, catalog, adminApi }) => {
  const all = await apiTables(adminApi);
  const expected = await apiTables(adminApi, '?q=sessions');
  expect(expected).toContain('silver.web.sessions');
  expect(expected.length).toBeLessThan(all.length);
  await catalog.goto();
  await catalog.showList();
  await catalog.search('sessions');
  await expect.poll(async () => (await catalog.tableNames()).sort()).toEqual(expected);
  await expect(catalog.summary).toContainText(`${expected.length} table`);
  await page.getByRole('button', { name: 'Clear search' }).click();
  await expect(catalog.summary).toContainText(`${all.length} tables`);
});

test('a layer of the catalog lists only that layer', async ({ catalog, adminApi }) => {
  await catalog.goto('gold');
  await expect(catalog.heading).toHaveText('gold');
  const gold = await apiTables(adminApi, '?layer=gold');
  expect(gold.every((t) => t.startsWith('gold.'))).toBe(true);
  expect(gold.length).toBeGreaterThan(0);
  await expect(catalog.summary).toContainText(`${gold.length} table`);
  await expect.poll(async () => (await catalog.tableNames()).sort()).toEqual(gold);
});

test('browsing the tree to silver.sales.orders shows its schema as the API describes it', async ({ catalog, tablePage, adminApi }) => {
  const name = 'silver.sales.orders';
  await catalog.goto();
  await catalog.openTableInTree(name);
  await expect(tablePage.breadcrumb).toContainText('silver');
  expect(await tablePage.tabNames()).toEqual(['Overview', 'Schema', 'Sample', 'History', 'Files']);
  await tablePage.selectTab('Schema');
  const shown = await tablePage.readSchema();
  const expected = await apiColumns(adminApi, name);
  expect(shown.map((c) => c.name)).toEqual(expected.map((c) => c.name));
  expect(shown.map((c) => c.type.toLowerCase())).toEqual(expected.map((c) => c.type.toLowerCase()));
  expect(shown.filter((c) => c.partition).map((c) => c.name)).toEqual(expected.filter((c) => c.isPartition).map((c) => c.name));
  // The demo's story: typed silver columns, a coupon_code added by schema evolution, partitioned by order date.
  const byName = new Map(shown.map((c) => [c.name, c]));
  expect(byName.get('amount')?.type.toLowerCase()).toBe('decimal(12,2)');
  expect(byName.get('order_ts')?.type.toLowerCase()).toBe('timestamp');
  expect(byName.has('coupon_code')).toBe(true);
  expect(byName.get('order_date')?.partition).toBe(true);
});

test('the Sample tab of a table reads its first rows in the browser, with the schema\'s columns', async ({ catalog, tablePage, adminApi }) => {
  const name = 'silver.sales.orders';
  const detail = (await (await adminApi.get(`/api/tables/${name}`)).json()) as { version: number; rows: number; columns: ApiColumn[] };
  await catalog.goto();
  await catalog.openTableInTree(name);
  const columns = await tablePage.readSampleColumns();
  expect(columns).toEqual(detail.columns.map((c) => c.name));
  await expect(tablePage.panel.getByText(`First ${Math.min(100, detail.rows)} rows of version ${detail.version}`)).toBeVisible();
  // The sample opens in the SQL editor as a query of its own.
  await tablePage.panel.getByRole('link', { name: 'Open in SQL editor' }).click();
  await expect(tablePage.page).toHaveURL(/\/sql\?q=/);
  await expect(tablePage.page.getByRole('textbox', { name: 'SQL editor' })).toContainText(`FROM ${name}`);
});

test('a table opened from the medallion card has the schema tab in its URL', async ({ page, catalog, tablePage }) => {
  await catalog.goto();
  await catalog.openTable('bronze.web.events_raw');
  await tablePage.selectTab('Schema');
  await expect(page).toHaveURL(/[?&]tab=schema/);
  const columns = await tablePage.readSchema();
  expect(columns.map((c) => c.name)).toEqual(expect.arrayContaining(['event_id', '_ingested_at', '_source', '_source_file', 'ingest_date']));
  // Reloading keeps the tab.
  await page.reload();
  await expect(tablePage.tab('Schema')).toHaveAttribute('aria-selected', 'true');
});

test('an unknown table says so', async ({ tablePage }) => {
  await tablePage.page.goto('/tables/silver.sales.nope');
  await expect(tablePage.error).toContainText('No such table');
  await expect(tablePage.page.getByRole('link', { name: 'Back to the catalog' })).toBeVisible();
});

test.describe('as a viewer', () => {
  test.use({ role: 'viewer' });

  test('the schema of a gold table is readable', async ({ tablePage, adminApi }) => {
    const name = 'gold.sales.daily_revenue';
    await tablePage.goto(name, { tab: 'Schema' });
    const shown = await tablePage.readSchema();
    expect(shown.map((c) => c.name)).toEqual((await apiColumns(adminApi, name)).map((c) => c.name));
  });
});
