// The `test` of every spec: base URL from the global setup, a page already signed in as `role` (admin unless a spec
// says `test.use({ role: 'viewer' })`, or `null` for a signed-out page), an admin API client, and the page objects.
import { test as base, expect, type APIRequestContext, type Page } from '@playwright/test';
import { CatalogPage } from './pages/CatalogPage.js';
import { LoginPage } from './pages/LoginPage.js';
import { Shell } from './pages/Shell.js';
import { SqlEditorPage } from './pages/SqlEditorPage.js';
import { TablePage } from './pages/TablePage.js';
import { readEnv, type E2eEnv } from './support/env.js';

/** Where the console keeps the session token (apps/web/src/lib/api.ts, SESSION_KEY). */
const SESSION_KEY = 'lakehouse.session';

/** A role a page can be signed in as. */
export type SignInRole = 'admin' | 'analyst' | 'viewer';

interface Fixtures {
  /** Who the `page` is signed in as before the test starts; null leaves it signed out (and on no page). */
  role: SignInRole | null;
  /** The admin API, authenticated (for arranging state a test needs). */
  adminApi: APIRequestContext;
  loginPage: LoginPage;
  shell: Shell;
  catalog: CatalogPage;
  tablePage: TablePage;
  sql: SqlEditorPage;
  /**
   * Opens a page in a browser context of its own (another person, another tab's session) signed in with `token` (a
   * role's token from the global setup, or a user's a test created); the context is closed after the test.
   */
  openAs: (who: SignInRole | { token: string }) => Promise<Page>;
}

interface WorkerFixtures {
  /** Base URL, users and tables written by the global setup. */
  e2e: E2eEnv;
}

/** Playwright's `test` with the console's fixtures. */
export const test = base.extend<Fixtures, WorkerFixtures>({
  // Playwright requires the object pattern even when a fixture uses no other fixture.
  // eslint-disable-next-line no-empty-pattern
  e2e: [async ({}, use) => use(readEnv()), { scope: 'worker' }],
  baseURL: async ({ e2e }, use) => use(e2e.baseURL),
  role: ['admin', { option: true }],
  page: async ({ page, role, e2e }, use) => {
    // The login URL flow has its own specs (login.spec.ts); every other test starts with the token already in the
    // tab's session storage, where the console keeps it, which saves a page load and a token exchange per test.
    // Only the first page of the tab gets it, so that signing out inside a test sticks.
    if (role) {
      await page.addInitScript(
        ([key, token]) => {
          if (sessionStorage.getItem('e2e.signed-in') === null) {
            sessionStorage.setItem(key, token);
            sessionStorage.setItem('e2e.signed-in', '1');
          }
        },
        [SESSION_KEY, e2e.users[role].token] as const,
      );
    }
    await use(page);
  },
  openAs: async ({ browser, e2e, viewport, locale, timezoneId }, use) => {
    const contexts: import('@playwright/test').BrowserContext[] = [];
    await use(async (who) => {
      const token = typeof who === 'string' ? e2e.users[who].token : who.token;
      const context = await browser.newContext({ baseURL: e2e.baseURL, viewport, locale, timezoneId });
      contexts.push(context);
      await context.addInitScript(([key, value]) => sessionStorage.setItem(key, value), [SESSION_KEY, token] as const);
      return context.newPage();
    });
    for (const c of contexts) await c.close();
  },
  adminApi: async ({ playwright, e2e }, use) => {
    const ctx = await playwright.request.newContext({ baseURL: e2e.baseURL, extraHTTPHeaders: { Authorization: `Bearer ${e2e.adminSession}` } });
    await use(ctx);
    await ctx.dispose();
  },
  loginPage: async ({ page }, use) => use(new LoginPage(page)),
  shell: async ({ page }, use) => use(new Shell(page)),
  catalog: async ({ page }, use) => use(new CatalogPage(page)),
  tablePage: async ({ page }, use) => use(new TablePage(page)),
  sql: async ({ page }, use) => use(new SqlEditorPage(page)),
});

export { expect };
