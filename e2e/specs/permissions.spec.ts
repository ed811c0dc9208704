import { expect, test } from '../fixtures.js';
import { newUser, runWrite, tableState, uniqueName } from '../support/api.js';

// What the console refuses, checked from both sides: the page says why, and the API shows that nothing changed.
test.use({ role: null });

test('a viewer who types an INSERT is refused and the table stays as it was', async ({ adminApi, loginPage, sql }, testInfo) => {
  const table = `silver.e2e.${uniqueName('viewer_write')}`;
  await runWrite(adminApi, `CREATE TABLE ${table} AS SELECT range AS id FROM range(3)`);
  const before = await tableState(adminApi, table);
  const viewer = await newUser(adminApi, 'viewer');

  await loginPage.signInWithUrl(viewer.token, viewer.name);
  await sql.goto();
  const outcome = await sql.runSql(`INSERT INTO ${table} VALUES (99)`);
  expect(outcome.error).toContain('Not allowed');
  expect(outcome.error).toContain('MODIFY grant');
  await expect(sql.writeStatus.filter({ hasText: 'Committed' })).toHaveCount(0);
  await sql.page.screenshot({ path: testInfo.outputPath('sql-write-refused.png') });

  expect(await tableState(adminApi, table)).toEqual(before);
  const history = await adminApi.get(`/api/tables/${table}/history`);
  expect(((await history.json()) as { total: number }).total).toBe(1);
});
