import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { expect, test } from '../fixtures.js';
import { rowCountsFromHistory, tableState, uniqueName } from '../support/api.js';

// The SQL editor's reads, as an analyst: a read runs in the browser (DuckDB-WASM) and shows rows and figures; tables
// are found by full and flat name and at old versions; a bad statement shows an error marked in the SQL; a long query
// is cancelled; a result charts and exports; a million rows scroll. The API (row counts, history metrics) and DuckDB for
// Node (reading the exported files) are the oracles.
test.use({ role: 'analyst' });

const digits = (s: string) => s.replace(/[^\d]/g, '');
const ORDERS = 'silver.sales.orders';
/** A read DuckDB cannot finish in any test's lifetime (10^12 joined rows, no shortcut for the sum of products). */
const LONG_QUERY = 'SELECT sum(a.range * b.range) AS s FROM range(1000000) a, range(1000000) b';

test('a SELECT runs in the browser and shows its result with figures', async ({ sql, adminApi }) => {
  const { rows, version } = await tableState(adminApi, ORDERS);
  await sql.goto();
  const outcome = await sql.runSql(`SELECT count(*) AS n FROM ${ORDERS}`);
  expect(outcome.error).toBeNull();
  expect(outcome.columns).toEqual(['n']);
  expect(outcome.figures.Rows).toBe('1');
  expect(outcome.figures.Tables).toContain(`${ORDERS} v${version}`);
  const [[n]] = await sql.resultRows(1);
  expect(digits(n)).toBe(String(rows));
});

test('the editor completes layers, tables, columns of the tables read and DuckDB functions', async ({ sql }) => {
  await sql.goto('');
  expect(await sql.completionsFor('SELECT * FROM ', 'silv', 'silver')).toContain('silver');
  expect(await sql.completionsFor('SELECT * FROM silver.', 'sal', 'sales')).toContain('sales');
  expect(await sql.completionsFor('SELECT * FROM silver.sales.', 'ord', 'orders')).toContain('orders');
  expect(await sql.completionsFor('SELECT * FROM ', 'silver_sales_o', 'silver_sales_orders')).toContain('silver_sales_orders');
  // Columns of the tables the SQL reads (their details load once the SQL names them).
  expect(await sql.completionsFor(`SELECT * FROM ${ORDERS} WHERE `, 'order_d', 'order_date')).toContain('order_date');
  const functions = await sql.completionsFor('SELECT ', 'regexp_ma', 'regexp_matches');
  expect(functions).not.toContain('order_date');
});

test('a table is found by its flat name too', async ({ sql, adminApi }) => {
  const { rows, version } = await tableState(adminApi, ORDERS);
  await sql.goto();
  const outcome = await sql.runSql('SELECT count(*) AS n FROM silver_sales_orders');
  expect(outcome.error).toBeNull();
  expect(outcome.figures.Tables).toContain(`${ORDERS} v${version}`);
  const [[n]] = await sql.resultRows(1);
  expect(digits(n)).toBe(String(rows));
});

test('a quoted flat name reads the table too, on its first use in the page', async ({ sql, adminApi }) => {
  const { rows } = await tableState(adminApi, ORDERS);
  await sql.goto();
  const outcome = await sql.runSql('SELECT count(*) AS n FROM "silver_sales_orders"');
  expect(outcome.error).toBeNull();
  expect(digits((await sql.resultRows(1))[0][0])).toBe(String(rows));
});

test("a layer the analyst attached with a statement of their own still gets the table's view", async ({ sql, adminApi }) => {
  const table = 'gold.sales.daily_revenue';
  const { rows } = await tableState(adminApi, table);
  await sql.goto();
  // The page has not made the gold database yet (the draft reads silver): the view's statements meet this one's.
  expect((await sql.runSql("ATTACH ':memory:' AS gold")).error).toBeNull();
  const outcome = await sql.runSql(`SELECT count(*) AS n FROM ${table}`);
  expect(outcome.error).toBeNull();
  expect(digits((await sql.resultRows(1))[0][0])).toBe(String(rows));
});

// Ingest with mergeSchema widens a column (INT to BIGINT): the older file keeps INT32, the newer has INT64 with values
// an INT cannot hold. Both files have the same column names; the console must still read every row of both.
test('a table whose column was widened from INT to BIGINT reads every row', async ({ sql, adminApi }) => {
  const table = `bronze.e2e.${uniqueName('widened')}`;
  const dir = await mkdtemp(join(tmpdir(), 'e2e-widened-'));
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    const ingest = async (name: string, select: string, fields: Record<string, string> = {}) => {
      const path = join(dir, name);
      await conn.run(`COPY (${select}) TO '${path}' (FORMAT PARQUET)`);
      const res = await adminApi.post(`/api/tables/${table}/ingest`, { multipart: { ...fields, file: { name, mimeType: 'application/octet-stream', buffer: await readFile(path) } } });
      expect(res.status(), await res.text()).toBe(200);
    };
    await ingest('narrow.parquet', 'SELECT i::INTEGER AS id FROM range(1, 4) t(i)');
    await ingest('wide.parquet', 'SELECT (5000000000 + i)::BIGINT AS id FROM range(1, 3) t(i)', { mergeSchema: 'true' });
  } finally {
    conn.closeSync();
    db.closeSync();
    await rm(dir, { recursive: true, force: true });
  }
  expect((await tableState(adminApi, table)).rows).toBe(5);
  await sql.goto();
  const outcome = await sql.runSql(`SELECT count(*) AS n, max(id) AS top, count(DISTINCT _source_file) AS files FROM ${table}`);
  expect(outcome.error).toBeNull();
  expect((await sql.resultRows(1))[0].map(digits)).toEqual(['5', '5000000002', '2']);
});

// The history beside the editor lists each run once it is recorded on the server, newest first, and a click loads its
// SQL back into the editor.
test('runs show up in the history, newest first, and load back into the editor', async ({ sql }) => {
  await sql.goto();
  const history = sql.sidePanel.getByRole('tabpanel').getByRole('listitem');
  for (const n of [1, 2, 3]) {
    const query = `SELECT ${n} AS run_${n}_${Date.now()}`;
    expect((await sql.runSql(query)).error).toBeNull();
    await expect(history.first()).toContainText(query);
  }
  await expect(history.nth(1)).toContainText('AS run_2_');
  await history.nth(2).getByRole('button').click();
  await expect.poll(() => sql.text()).toMatch(/^SELECT 1 AS run_1_\d+$/);
});

test('VERSION AS OF reads the row count of that old version', async ({ sql, adminApi }) => {
  const counts = await rowCountsFromHistory(adminApi, ORDERS);
  const latest = await tableState(adminApi, ORDERS);
  // The replayed metrics must agree with the table as it is, or they are no oracle for its past.
  expect(counts.get(latest.version)).toBe(latest.rows);
  // An old version (not the first, so that it spans commits) whose count differs from today's.
  const old = [...counts].find(([v, n]) => v > 0 && v < latest.version && n !== latest.rows) ?? [...counts].find(([v, n]) => v < latest.version && n !== latest.rows);
  if (!old) throw new Error(`${ORDERS} has no older version with another row count: ${JSON.stringify([...counts])}`);
  const [version, expected] = old;

  await sql.goto();
  const outcome = await sql.runSql(`SELECT count(*) AS n FROM ${ORDERS} VERSION AS OF ${version}`);
  expect(outcome.error).toBeNull();
  expect(outcome.figures.Tables).toContain(`${ORDERS} v${version}`);
  expect(digits((await sql.resultRows(1))[0][0])).toBe(String(expected));

  // The flat name travels in time as well.
  const flat = await sql.runSql(`SELECT count(*) AS n FROM silver_sales_orders VERSION AS OF ${version}`);
  expect(flat.error).toBeNull();
  expect(digits((await sql.resultRows(1))[0][0])).toBe(String(expected));
});

test('a statement naming a missing column shows an error that names it', async ({ sql }) => {
  await sql.goto();
  const outcome = await sql.runSql(`SELECT no_such_column FROM ${ORDERS}`);
  expect(outcome.error).toContain('no_such_column');
  await expect(sql.result).toBeHidden();
});

test('the error is marked where it is in the SQL, also after a time-travel rewrite', async ({ sql }) => {
  await sql.goto();
  // The table reference before the mistake is rewritten (a view name for the version): the mark must not move.
  const outcome = await sql.runSql(`SELECT order_id\nFROM silver_sales_orders VERSION AS OF 1\nWHERE no_such_column > 0`);
  expect(outcome.error).toContain('no_such_column');
  expect(outcome.error).toContain('at line 3, column 7');
  await expect(sql.errorMark).toHaveText('no_such_column');
  // Editing the SQL clears the stale mark.
  await sql.editor.press('End');
  await sql.page.keyboard.type(' ');
  await expect(sql.errorMark).toHaveCount(0);
});

test('a long query is cancelled and the editor runs the next one', async ({ sql }) => {
  await sql.goto();
  await sql.setSql(LONG_QUERY);
  await sql.run();
  await sql.waitForRunning();
  await sql.cancel();
  await expect(sql.cancelledNotice).toBeVisible();
  await expect(sql.result).toBeHidden();
  await expect(sql.statusLine).toHaveText('');
  await expect(sql.runButton).toBeEnabled();
  // The engine answers again (restarted if the cancel did not reach it in time), tables included.
  const outcome = await sql.runSql(`SELECT 42 AS answer, count(*) > 0 AS has_rows FROM ${ORDERS}`);
  expect(outcome.error).toBeNull();
  expect(outcome.columns).toEqual(['answer', 'has_rows']);
  expect(await sql.resultRows(1)).toEqual([['42', 'true']]);
  await expect(sql.cancelledNotice).toBeHidden();
});

test('a grouped result charts and exports as CSV', async ({ sql }) => {
  await sql.goto();
  const outcome = await sql.runSql(`SELECT country, count(*) AS orders FROM ${ORDERS} GROUP BY country ORDER BY country`);
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

test('a result exports as Parquet that DuckDB reads back with the same rows and types', async ({ sql, adminApi }) => {
  const { rows } = await tableState(adminApi, ORDERS);
  await sql.goto();
  const outcome = await sql.runSql(`SELECT country, count(*) AS orders, sum(amount) AS revenue FROM ${ORDERS} GROUP BY country ORDER BY country`);
  expect(outcome.columns).toEqual(['country', 'orders', 'revenue']);
  const shownRows = Number(digits(outcome.figures.Rows));
  const firstShown = (await sql.resultRows(1))[0];

  const download = await sql.export('Parquet');
  expect(download.suggestedFilename()).toMatch(/\.parquet$/);
  const path = await download.path();
  const bytes = await readFile(path);
  expect(bytes.subarray(0, 4).toString('latin1')).toBe('PAR1');

  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    const read = await conn.runAndReadAll(`SELECT * FROM read_parquet('${path.replace(/'/g, "''")}') ORDER BY country`);
    expect(read.columnNames()).toEqual(['country', 'orders', 'revenue']);
    expect(read.columnTypes().map((t) => t.toString())).toEqual(['VARCHAR', 'BIGINT', expect.stringMatching(/^DECIMAL\(\d+,2\)$/)]);
    const exported = read.getRowObjectsJson() as { country: string | null; orders: string | number; revenue: string | number }[];
    expect(exported).toHaveLength(shownRows);
    // Every order of the table is counted once, and the first row is the one the grid shows.
    expect(exported.reduce((n, r) => n + Number(r.orders), 0)).toBe(rows);
    expect(String(exported[0].country ?? 'NULL')).toBe(firstShown[0]);
    expect(String(exported[0].orders)).toBe(digits(firstShown[1]));
  } finally {
    conn.closeSync();
    db.closeSync();
  }
});

test('a million-row result scrolls to its last row', async ({ sql }) => {
  await sql.goto();
  const outcome = await sql.runSql('SELECT range AS n, range * 2 AS twice FROM range(1000000)');
  expect(outcome.error).toBeNull();
  expect(digits(outcome.figures.Rows)).toBe('1000000');
  await expect(sql.gridRow(1)).toBeVisible();
  await sql.scrollGridToEnd();
  const last = sql.gridRow(1_000_000);
  await expect(last).toBeInViewport();
  expect((await last.getByRole('gridcell').allInnerTexts()).map(digits)).toEqual(['999999', '1999998']);
  await expect(last).toHaveAttribute('aria-rowindex', '1000001');
  // The last row sits fully inside the grid (not cut off by the horizontal scroll bar), and the first one is gone.
  const visibleBottom = await sql.grid.evaluate((el) => el.getBoundingClientRect().top + el.clientTop + el.clientHeight);
  const row = (await last.boundingBox())!;
  expect(row.y + row.height).toBeLessThanOrEqual(visibleBottom + 0.5);
  await expect(sql.gridRow(1)).toHaveCount(0);
  // And back to the top.
  await sql.page.keyboard.press('Home');
  await expect(sql.gridRow(1)).toBeInViewport();
});
