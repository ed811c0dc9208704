import type { APIRequestContext } from '@playwright/test';
import { expect, test } from '../fixtures.js';
import { MaintenancePage } from '../pages/MaintenancePage.js';
import { runWrite, tableState, uniqueName } from '../support/api.js';

// Table maintenance from the admin pages: OPTIMIZE previewed and run on the demo's table of many small files, a VACUUM
// dry run and its time-travel impact, and what non-admins are (not) offered. Expected values come from the files and
// history APIs, not from the maintenance API the pages show.

/** The demo table written in hourly micro-batches: one small file per commit, in two daily partitions. */
const SMALL_FILES_TABLE = 'bronze.web.heartbeats_raw';
/** A demo table rebuilt by INSERT OVERWRITE: the files of its first version are only kept for time travel. */
const OVERWRITTEN_TABLE = 'gold.sales.daily_revenue';

interface DataFile {
  path: string;
  size: number;
  partitionValues: Record<string, string | null>;
}

/** Every data file of a table (at `version`), from GET /api/tables/{name}/files. */
async function allFiles(api: APIRequestContext, name: string, version?: number): Promise<DataFile[]> {
  const out: DataFile[] = [];
  for (let offset = 0; ; offset += 1000) {
    const res = await api.get(`/api/tables/${name}/files`, { params: { offset, limit: 1000, ...(version === undefined ? {} : { version }) } });
    expect(res.status(), await res.text()).toBe(200);
    const page = (await res.json()) as { items: DataFile[]; total: number };
    out.push(...page.items);
    if (out.length >= page.total || page.items.length === 0) return out;
  }
}

const countFiles = (n: number) => `${n} file${n === 1 ? '' : 's'}`;

test('an admin previews OPTIMIZE on a table of many small files, runs it, and sees progress and the new histogram', async ({ page, adminApi }, testInfo) => {
  const maint = new MaintenancePage(page);
  const files = await allFiles(adminApi, SMALL_FILES_TABLE);
  const partitions = new Set(files.map((f) => JSON.stringify(f.partitionValues))).size;
  // The demo must give OPTIMIZE something to do: many files, several per partition.
  expect(files.length).toBeGreaterThanOrEqual(20);
  expect(files.length).toBeGreaterThan(2 * partitions);
  const before = await tableState(adminApi, SMALL_FILES_TABLE);

  await maint.gotoTable(SMALL_FILES_TABLE);
  await expect(maint.figure('Files')).toHaveText(String(files.length));
  await expect(maint.histogramCaption).toHaveText(`File sizes (v${before.version}: ${countFiles(files.length)})`);

  // Preview: a dry run names files before → after and the partitions, and commits nothing.
  await maint.optimizePanel.getByRole('button', { name: 'Preview' }).click();
  await expect(maint.optimizePreview).toContainText(`${files.length} files → ${partitions}`);
  await expect(maint.optimizePreview).toContainText(`in ${partitions} partition`);
  await expect(maint.optimizePreview.getByRole('table').getByRole('row')).toHaveCount(partitions + 1);
  await page.screenshot({ path: testInfo.outputPath('optimize-preview.png'), fullPage: true });
  expect((await tableState(adminApi, SMALL_FILES_TABLE)).version).toBe(before.version);

  // Run: the job's progress bar ends at 100% with the metrics, and the page's figures and histogram refresh.
  await maint.optimizePanel.getByRole('button', { name: 'Run OPTIMIZE' }).click();
  const job = await maint.expectJobDone(maint.optimizePanel, 'OPTIMIZE');
  const metrics = await maint.jobMetrics(job);
  expect(metrics.Files).toBe(`${files.length} → ${partitions}`);
  expect(metrics.Partitions).toBe(String(partitions));
  expect(metrics.Version).toBe(String(before.version + 1));
  await expect(maint.figure('Files')).toHaveText(String(partitions));
  await expect(maint.figure('Version')).toHaveText(String(before.version + 1));
  await expect(maint.histogramCaption).toHaveText(`File sizes (v${before.version + 1}: ${countFiles(partitions)})`);
  await expect(maint.histogram).toHaveAttribute('aria-label', new RegExp(`^File sizes: ${partitions} files of < 1 MiB;`));
  await expect(maint.figure('Last OPTIMIZE')).toContainText(`v${before.version + 1}`);
  await page.screenshot({ path: testInfo.outputPath('optimize-done.png'), fullPage: true });

  // The server agrees: one file per partition, the same rows, and the job in the history.
  const after = await allFiles(adminApi, SMALL_FILES_TABLE);
  expect(after).toHaveLength(partitions);
  expect(await tableState(adminApi, SMALL_FILES_TABLE)).toEqual({ version: before.version + 1, rows: before.rows });
  const history = page.getByRole('main').getByRole('table', { name: 'Job history' });
  await expect(history.getByRole('row').nth(1)).toContainText('OPTIMIZE');
  await expect(history.getByRole('row').nth(1)).toContainText(`Files: ${files.length} → ${partitions}`);
});

test('the advisor lists a table of small files by need and one click compacts it, with live progress and refreshed numbers', async ({ page, adminApi }, testInfo) => {
  const maint = new MaintenancePage(page);
  const table = `bronze.e2e.${uniqueName('small_files')}`;
  const commits = 12;
  await runWrite(adminApi, `CREATE TABLE ${table} AS SELECT range AS id, 'batch 0' AS note FROM range(20)`);
  for (let b = 1; b < commits; b++) await runWrite(adminApi, `INSERT INTO ${table} SELECT range + ${b * 20} AS id, 'batch ${b}' AS note FROM range(20)`);
  const before = await tableState(adminApi, table);
  expect(await allFiles(adminApi, table)).toHaveLength(commits);

  await maint.gotoAdvisor();
  const row = maint.advice('OPTIMIZE', table);
  await expect(row).toContainText(`${commits} files under 8.0 MiB: OPTIMIZE would write about 1 file from ${commits}`);
  await expect(row.getByText(/^Now:/)).toContainText(`Now: ${commits} files`);
  await row.getByRole('button', { name: 'Run OPTIMIZE' }).click();
  const job = await maint.expectJobDone(row, 'OPTIMIZE');
  expect((await maint.jobMetrics(job)).Files).toBe(`${commits} → 1`);
  // The numbers refresh, and the advice, no longer given, stays listed as done with its result.
  await expect(row.getByText(/^Now:/)).toContainText(`Now: 1 file · 1 small`);
  await expect(row.getByText(/^Now:/)).toContainText(`v${before.version + 1}`);
  await expect(row).toContainText('done: no longer advised');
  await expect(row.getByRole('button', { name: 'Run OPTIMIZE' })).toHaveCount(0);
  await page.screenshot({ path: testInfo.outputPath('advisor-done.png'), fullPage: true });
  expect(await tableState(adminApi, table)).toEqual({ version: before.version + 1, rows: before.rows });
  expect(await allFiles(adminApi, table)).toHaveLength(1);
});

test('a VACUUM dry run lists the files it would delete and the versions that would stop being readable, and deletes nothing', async ({ page, adminApi }, testInfo) => {
  const maint = new MaintenancePage(page);
  const latest = await tableState(adminApi, OVERWRITTEN_TABLE);
  const current = new Set((await allFiles(adminApi, OVERWRITTEN_TABLE)).map((f) => f.path));
  // Oracle: files of older versions that the latest no longer references, and the versions that need them.
  const removed = new Map<string, number>();
  const lost: number[] = [];
  for (let v = 0; v < latest.version; v++) {
    const old = (await allFiles(adminApi, OVERWRITTEN_TABLE, v)).filter((f) => !current.has(f.path));
    for (const f of old) removed.set(f.path, f.size);
    if (old.length > 0) lost.push(v);
  }
  expect(removed.size).toBeGreaterThan(0);
  const lostText = lost.length === 1 ? `version ${lost[0]} would no longer be readable` : `versions ${lost[0]}–${lost[lost.length - 1]} would no longer be readable`;

  await maint.gotoTable(OVERWRITTEN_TABLE);
  await expect(maint.figure('Held only for time travel')).toContainText(`in ${countFiles(removed.size)}`);

  // The files are younger than the table's retention (7 days): a shorter one needs the admin's explicit override.
  const retention = maint.vacuumPanel.getByLabel(/Retention in hours/);
  await retention.fill('0');
  await expect(maint.vacuumPanel.getByText(/shorter than the table's 168 hours/)).toBeVisible();
  await expect(retention).toHaveAttribute('aria-invalid', 'true');
  await maint.vacuumPanel.getByRole('button', { name: 'Dry run' }).click();
  await expect(maint.vacuumDryRun).toHaveCount(0);
  await maint.vacuumPanel.getByLabel(/Override the table’s retention/).check();
  await maint.vacuumPanel.getByRole('button', { name: 'Dry run' }).click();

  await expect(maint.vacuumDryRun).toContainText(`${countFiles(removed.size)},`);
  await expect(maint.vacuumDryRun).toContainText(`Time travel: ${lostText}`);
  await expect(maint.vacuumDryRun).toContainText(`every version from ${lost[lost.length - 1] + 1} on stays readable`);
  await maint.vacuumDryRun.getByText(/^Files to delete/).click();
  for (const path of removed.keys()) await expect(maint.vacuumDryRun.getByRole('listitem').filter({ hasText: path })).toBeVisible();
  await expect(maint.vacuumDryRun.getByRole('listitem')).toHaveCount(removed.size);
  await expect(maint.vacuumPanel.getByRole('button', { name: `Delete ${countFiles(removed.size)}` })).toBeEnabled();
  await page.screenshot({ path: testInfo.outputPath('vacuum-dry-run.png'), fullPage: true });

  // Nothing was deleted: the same version, and old versions still list (and keep) their files.
  expect((await tableState(adminApi, OVERWRITTEN_TABLE)).version).toBe(latest.version);
  const health = (await (await adminApi.get(`/api/tables/${OVERWRITTEN_TABLE}/health`)).json()) as { timeTravel: { files: number } };
  expect(health.timeTravel.files).toBe(removed.size);
});

for (const role of ['viewer', 'analyst'] as const) {
  test.describe(`as ${role === 'viewer' ? 'a viewer' : 'an analyst'}`, () => {
    test.use({ role });

    test('no maintenance buttons anywhere, and the API refuses maintenance', async ({ page, shell, e2e, playwright, adminApi }) => {
      const maint = new MaintenancePage(page);
      await page.goto(`/tables/${SMALL_FILES_TABLE}`);
      await expect(page.getByRole('main').getByRole('heading', { name: SMALL_FILES_TABLE, level: 1 })).toBeVisible();
      await expect(page.getByRole('main').getByRole('link', { name: 'Maintenance' })).toHaveCount(0);
      await expect(shell.nav.getByRole('link', { name: 'Admin' })).toHaveCount(0);

      // A deep link still opens, read-only.
      await maint.gotoTable(SMALL_FILES_TABLE);
      await expect(maint.readOnlyNote).toBeVisible();
      await expect(maint.figure('Files')).toBeVisible();
      await expect(maint.maintenanceButtons).toHaveCount(0);
      await expect(page.getByRole('main').getByRole('textbox')).toHaveCount(0);
      await maint.gotoAdvisor();
      await expect(maint.readOnlyNote).toBeVisible();
      await expect(maint.maintenanceButtons).toHaveCount(0);

      const before = await tableState(adminApi, SMALL_FILES_TABLE);
      const api = await playwright.request.newContext({ baseURL: e2e.baseURL, extraHTTPHeaders: { Authorization: `Bearer ${e2e.users[role].token}` } });
      try {
        const attempts = [
          api.post(`/api/tables/${SMALL_FILES_TABLE}/optimize`, { data: {} }),
          api.post(`/api/tables/${SMALL_FILES_TABLE}/optimize`, { data: { dryRun: true } }),
          api.post(`/api/tables/${SMALL_FILES_TABLE}/vacuum`, { data: { dryRun: false } }),
          api.post(`/api/tables/${SMALL_FILES_TABLE}/checkpoint`, { data: {} }),
          api.patch(`/api/tables/${SMALL_FILES_TABLE}/properties`, { data: { set: { 'delta.checkpointInterval': '5' } } }),
          api.post(`/api/tables/${SMALL_FILES_TABLE}/schedules`, { data: { kind: 'optimize', intervalMinutes: 1440 } }),
        ];
        for (const res of await Promise.all(attempts)) {
          expect(res.status(), `${res.url()}: ${await res.text()}`).toBe(403);
          expect(((await res.json()) as { code: string }).code).toBe('FORBIDDEN');
        }
        // Reading is allowed.
        expect((await api.get(`/api/tables/${SMALL_FILES_TABLE}/health`)).status()).toBe(200);
      } finally {
        await api.dispose();
      }
      expect(await tableState(adminApi, SMALL_FILES_TABLE)).toEqual(before);
      const schedules = (await (await adminApi.get(`/api/tables/${SMALL_FILES_TABLE}/schedules`)).json()) as { items: unknown[] };
      expect(schedules.items).toHaveLength(0);
    });
  });
}
