import { readFile } from 'node:fs/promises';
import { expect, test } from '../fixtures.js';

// The SQL editor's basics, as an analyst: a read runs in the browser (DuckDB-WASM) and shows rows and figures; a bad
// statement shows an error; a result charts and exports. The API's row counts are the oracle.
test.use({ role: 'analyst' });

const digits = (s: string) => s.replace(/[^\d]/g, '');

test('a SELECT runs in the browser and shows its result with figures', async ({ sql, adminApi }) => {
  const res = await adminApi.get('/api/tables/silver.sales.orders');
  const { rows, version } = (await res.json()) as { rows: number; version: number };
  await sql.goto();
  const outcome = await sql.runSql('SELECT count(*) AS n FROM silver.sales.orders');
  expect(outcome.error).toBeNull();
  expect(outcome.columns).toEqual(['n']);
  expect(outcome.figures.Rows).toBe('1');
  expect(outcome.figures.Tables).toContain(`silver.sales.orders v${version}`);
  const [[n]] = await sql.resultRows(1);
  expect(digits(n)).toBe(String(rows));
});

test('a statement naming a missing column shows an error that names it', async ({ sql }) => {
  await sql.goto();
  const outcome = await sql.runSql('SELECT no_such_column FROM silver.sales.orders');
  expect(outcome.error).toContain('no_such_column');
  await expect(sql.result).toBeHidden();
});

test('a grouped result charts and exports as CSV', async ({ sql }) => {
  await sql.goto();
  const outcome = await sql.runSql('SELECT country, count(*) AS orders FROM silver.sales.orders GROUP BY country ORDER BY country');
  expect(outcome.columns).toEqual(['country', 'orders']);
  const shown = Number(digits(outcome.figures.Rows));
  expect(shown).toBeGreaterThan(1);

  await sql.showChart({ kind: 'Bar', x: 'country', y: 'orders' });
  await expect(sql.chart).toHaveAccessibleName('bar chart of orders by country');
  await sql.showTable();

  const download = await sql.export('CSV');
  expect(download.suggestedFilename()).toMatch(/\.csv$/);
  const lines = (await readFile(await download.path(), 'utf8')).trim().split(/\r?\n/);
  expect(lines[0].replace(/"/g, '')).toBe('country,orders');
  expect(lines).toHaveLength(shown + 1);
});
