import type { Page, TestInfo } from '@playwright/test';
import { expect, test } from '../fixtures.js';
import { tableState, uniqueName } from '../support/api.js';

// The SQL editor in each of its states, with a screenshot of each (in the test's output folder under
// .tmp/playwright-results/, and attached to the report) for a person to look at, and assertions on what must hold in
// that state: what is shown, what is enabled, that nothing overflows.

const LONG_QUERY = 'SELECT sum(a.range * b.range) AS s FROM range(1000000) a, range(1000000) b';
const GROUPED = 'SELECT country, count(*) AS orders, sum(amount) AS revenue\nFROM silver.sales.orders\nGROUP BY country\nORDER BY country';

/** Saves a screenshot of the page as `<name>.png` in the test's output folder and attaches it to the report. */
async function shot(page: Page, testInfo: TestInfo, name: string): Promise<void> {
  const path = testInfo.outputPath(`${name}.png`);
  await page.screenshot({ path, animations: 'disabled', caret: 'hide' });
  await testInfo.attach(name, { path, contentType: 'image/png' });
}

/** Widest element that sticks out of the viewport to the right, or null when nothing does (the page never scrolls sideways). */
async function overflow(page: Page): Promise<string | null> {
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    if (document.documentElement.scrollWidth <= width) return null;
    let worst: string | null = null;
    let right = width;
    for (const el of document.querySelectorAll('body *')) {
      const r = el.getBoundingClientRect();
      if (r.right > right + 1) {
        right = r.right;
        worst = `${el.tagName.toLowerCase()}.${[...el.classList].join('.')} ends at ${Math.round(r.right)} px of ${width}`;
      }
    }
    return worst ?? `the page is ${document.documentElement.scrollWidth} px wide in ${width}`;
  });
}

test.describe('as an analyst', () => {
  test.use({ role: 'analyst' });

  test('empty, then running a long query', async ({ page, sql }, testInfo) => {
    await sql.goto('');
    await expect(sql.emptyHint).toBeVisible();
    await expect(page.getByText('DuckDB-WASM ready')).toBeVisible();
    await expect(sql.cancelButton).toBeDisabled();
    await shot(page, testInfo, 'sql-empty');

    await sql.setSql(LONG_QUERY);
    await sql.run();
    await sql.waitForRunning();
    await expect(sql.runButton).toBeDisabled();
    await expect(sql.emptyHint).toBeHidden();
    await expect(page.getByRole('progressbar', { name: 'Query running' })).toBeVisible();
    await shot(page, testInfo, 'sql-running');
    await sql.cancel();
    await expect(sql.cancelledNotice).toBeVisible();
    await expect(page.getByRole('progressbar', { name: 'Query running' })).toBeHidden();
    await shot(page, testInfo, 'sql-cancelled');
  });

  test('a result, its chart, and an error marked in the SQL', async ({ page, sql }, testInfo) => {
    await sql.goto();
    const outcome = await sql.runSql(GROUPED);
    expect(outcome.error).toBeNull();
    expect(await overflow(page)).toBeNull();
    await shot(page, testInfo, 'sql-result');

    await sql.showChart({ kind: 'Bar', x: 'country', y: 'revenue' });
    await expect(sql.chart.locator('.recharts-bar-rectangle').first()).toBeVisible();
    await shot(page, testInfo, 'sql-chart');
    await sql.showTable();

    const failed = await sql.runSql('SELECT country,\n       count(*) AS orders,\n       sum(amout) AS revenue\nFROM silver.sales.orders\nGROUP BY country');
    expect(failed.error).toContain('amout');
    expect(failed.error).toContain('at line 3');
    await expect(sql.errorMark).toHaveText('amout');
    // The error replaces the result of the statement before it.
    await expect(sql.result).toBeHidden();
    await shot(page, testInfo, 'sql-error');
  });

  test.describe('in a narrow window', () => {
    test.use({ viewport: { width: 420, height: 800 } });

    test('the editor, its toolbar and a result fit', async ({ page, sql }, testInfo) => {
      await sql.goto();
      const outcome = await sql.runSql(GROUPED);
      expect(outcome.error).toBeNull();
      for (const b of [sql.runButton, sql.runStatementButton, sql.cancelButton, sql.saveButton, sql.exportCsvButton, sql.exportParquetButton]) await expect(b).toBeInViewport();
      expect(await overflow(page)).toBeNull();
      await shot(page, testInfo, 'sql-narrow');
      await sql.result.scrollIntoViewIfNeeded();
      await shot(page, testInfo, 'sql-narrow-result');
    });
  });
});

test('a write shows its progress, then its commit', async ({ page, sql, adminApi }, testInfo) => {
  const table = `silver.e2e.${uniqueName('screens')}`;
  // Hold the job's event stream until the running state has been looked at: the write itself is not slowed down,
  // only the page's news of it, so the running state is on screen however fast the server is.
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  await page.route('**/api/jobs/*/events', async (route) => {
    await held;
    // The server ends the stream once the job is over: fetched whole, then handed to the page.
    await route.fulfill({ response: await route.fetch() });
  });
  await sql.goto();
  await sql.setSql(`CREATE TABLE ${table} AS\nSELECT range AS id, range % 10 AS bucket\nFROM range(100000)`);
  await sql.run();
  await expect(sql.writeStatus).toContainText(/Queued on the server|Writing:|Submitting/);
  await expect(sql.writeProgress).toBeVisible();
  await shot(page, testInfo, 'sql-write-running');
  release();
  await expect(sql.writeStatus).toContainText(`Committed CREATE TABLE AS SELECT to ${table} (version 0)`);
  await expect(sql.writeStatus).toContainText('100,000 rows written');
  await expect(sql.writeStatus.getByRole('link', { name: table, exact: true })).toHaveAttribute('href', `/tables/${table}`);
  await expect(sql.writeProgress).toBeHidden();
  await expect(sql.emptyHint).toBeHidden();
  await expect(sql.cancelButton).toBeDisabled();
  await shot(page, testInfo, 'sql-write-done');
  expect((await tableState(adminApi, table)).rows).toBe(100_000);
});

test('the dark theme', async ({ page, sql, shell }, testInfo) => {
  await sql.goto();
  if ((await shell.theme()) !== 'dark') await shell.toggleTheme();
  const outcome = await sql.runSql(GROUPED);
  expect(outcome.error).toBeNull();
  // Text and background of the editor and the grid are far apart in lightness.
  const contrast = async (selector: string) =>
    page.evaluate((sel) => {
      const el = document.querySelector(sel);
      if (!el) throw new Error(`no ${sel}`);
      const lum = (css: string) => {
        const [r, g, b] = (css.match(/[\d.]+/g) ?? ['0', '0', '0']).slice(0, 3).map((v) => Number(v) / 255).map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
      };
      let bgEl: Element | null = el;
      let bg = 'rgba(0, 0, 0, 0)';
      while (bgEl && /rgba\(.*, 0\)$|transparent/.test((bg = getComputedStyle(bgEl).backgroundColor))) bgEl = bgEl.parentElement;
      const [a, b] = [lum(getComputedStyle(el).color), lum(bg)].sort((x, y) => y - x);
      return (a + 0.05) / (b + 0.05);
    }, selector);
  expect(await contrast('.cm-content')).toBeGreaterThanOrEqual(4.5);
  expect(await contrast('.result-grid [role="gridcell"]')).toBeGreaterThanOrEqual(4.5);
  expect(await contrast('.sql-toolbar .btn-primary')).toBeGreaterThanOrEqual(4.5);
  await shot(page, testInfo, 'sql-dark-result');
  await sql.showChart({ kind: 'Bar', x: 'country', y: 'orders' });
  await shot(page, testInfo, 'sql-dark-chart');
  await sql.showTable();
  await sql.runSql('SELECT no_such_column FROM silver.sales.orders');
  await expect(sql.errorMark).toHaveText('no_such_column');
  await shot(page, testInfo, 'sql-dark-error');
});
