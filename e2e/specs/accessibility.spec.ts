import { expect, test } from '../fixtures.js';

// Names a screen reader announces: controls are named by what they do (key hints apart), counts agree with their
// noun, badges are separate words, live regions are labelled.

test('the Run button is named "Run" and announces its shortcut separately', async ({ sql }) => {
  await sql.goto();
  await expect(sql.toolbar.getByRole('button', { name: 'Run', exact: true })).toBeVisible();
  await expect(sql.runButton).toHaveAttribute('aria-keyshortcuts', /^(Control|Meta)\+Enter$/);
  // Selecting text renames it.
  await sql.setSql('SELECT 1;\nSELECT 2;');
  await sql.editor.press('ControlOrMeta+a');
  await expect(sql.toolbar.getByRole('button', { name: 'Run selection', exact: true })).toBeVisible();
});

test('a partition column is announced as a separate word', async ({ tablePage }) => {
  await tablePage.goto('silver.sales.orders', { tab: 'Schema' });
  const schema = tablePage.schemaTable();
  await expect(schema.getByRole('rowheader', { name: 'order_date, partition column', exact: true })).toBeVisible();
  await expect(schema.getByRole('rowheader', { name: 'amount', exact: true })).toBeVisible();
  await expect(schema.getByRole('rowheader', { name: /order_datepartition/ })).toHaveCount(0);
});

test('tree counts agree with their noun', async ({ catalog, adminApi }) => {
  await catalog.goto();
  const res = await adminApi.get('/api/tables');
  const names = ((await res.json()) as { tables: { name: string }[] }).tables.map((t) => t.name);
  const perDomain = new Map<string, number>();
  for (const n of names) {
    const [layer, domain] = n.split('.');
    perDomain.set(`${layer}.${domain}`, (perDomain.get(`${layer}.${domain}`) ?? 0) + 1);
  }
  // The demo has domains with one table and with several: both forms are checked.
  expect([...perDomain.values()]).toContain(1);
  expect([...perDomain.values()].some((n) => n > 1)).toBe(true);
  for (const [key, n] of perDomain) {
    const [layer, domain] = key.split('.');
    const layerItem = catalog.tree.getByRole('listitem').filter({ has: catalog.page.getByRole('link', { name: new RegExp(`^${layer} \\d+ tables?$`) }) });
    const expand = catalog.tree.getByRole('button', { name: `Expand ${key}`, exact: true });
    await expect(layerItem.getByRole('link', { name: `${domain} ${n} ${n === 1 ? 'table' : 'tables'}`, exact: true })).toBeVisible();
    expect(await expand.or(catalog.tree.getByRole('button', { name: `Collapse ${key}`, exact: true })).count()).toBe(1);
  }
});

test('the catalog summary is a labelled status line', async ({ catalog, e2e }) => {
  await catalog.goto('gold');
  const summary = catalog.page.getByRole('main').getByRole('status', { name: 'Catalog summary' });
  const gold = e2e.tables.filter((t) => t.startsWith('gold.')).length;
  await expect(summary).toHaveText(new RegExp(`^${gold} ${gold === 1 ? 'table' : 'tables'} · `));
});
