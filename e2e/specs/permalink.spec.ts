import { expect, test } from '../fixtures.js';
import { SqlEditorPage } from '../pages/SqlEditorPage.js';
import { runWrite, tableState, uniqueName } from '../support/api.js';

// A saved query's permalink pins the SQL and the table versions it read: opened later, by someone else, after the
// table took new rows, it shows the same SQL and the same answer. The test writes to a table of its own.
test.use({ role: 'analyst' });

const squash = (s: string) => s.replace(/\s+/g, ' ').trim();

test('a permalink opened in a new page gives the same SQL and answer after the table moved on', async ({ sql, adminApi, openAs }) => {
  const table = `silver.e2e.${uniqueName('permalink')}`;
  await runWrite(adminApi, `CREATE TABLE ${table} AS SELECT range AS id, range % 3 AS k FROM range(10)`);
  const query = `SELECT count(*) AS n, sum(id) AS total FROM ${table}`;

  await sql.goto(query);
  const first = await sql.runSql(query);
  expect(first.error).toBeNull();
  const answer = await sql.resultRows(1);
  expect(answer).toEqual([['10', '45']]);
  const url = await sql.save(uniqueName('permalink'));
  await expect(sql.permalinkBanner).toContainText(`${table} at version 0`);

  // The table moves on: five more rows through the API.
  const appended = await runWrite(adminApi, `INSERT INTO ${table} SELECT range + 10 AS id, 0 AS k FROM range(5)`);
  expect(appended.version).toBe(1);
  expect((await tableState(adminApi, table)).rows).toBe(15);

  // Someone else opens the link in a fresh browser.
  const other = new SqlEditorPage(await openAs('admin'));
  await other.page.goto(url);
  await expect(other.permalinkBanner).toContainText(`${table} at version 0`);
  const reopened = await other.waitForOutcome();
  expect(reopened.error).toBeNull();
  expect(squash(await other.text())).toBe(squash(query));
  expect(await other.resultRows(1)).toEqual(answer);
  expect(reopened.figures.Tables).toContain(`${table} v0`);

  // Unpinned, the same SQL reads the table as it is now.
  await other.permalinkBanner.getByRole('button', { name: 'Run on the latest versions' }).click();
  await other.run();
  const latest = await other.waitForOutcome();
  expect(latest.figures.Tables).toContain(`${table} v1`);
  expect(await other.resultRows(1)).toEqual([['15', String(45 + 10 + 11 + 12 + 13 + 14)]]);
});
