import { expect, test } from '../fixtures.js';

// Signing in and out. Every test starts signed out and brings its own user, so none depends on another.
test.use({ role: null });

/** Creates a user with `role` and a reusable token through the admin API. */
async function newUser(adminApi: import('@playwright/test').APIRequestContext, role: 'viewer' | 'analyst' | 'steward' | 'admin') {
  const name = `login-${role}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const user = await adminApi.post('/api/users', { data: { name, role } });
  expect(user.status(), await user.text()).toBe(201);
  const { id } = (await user.json()) as { id: string };
  const issued = await adminApi.post(`/api/users/${id}/tokens`, { data: {} });
  expect(issued.status(), await issued.text()).toBe(201);
  return { name, role, token: ((await issued.json()) as { token: string }).token };
}

/** Counts the page's POST /api/auth/login requests from now on. */
function countExchanges(page: import('@playwright/test').Page): () => number {
  let n = 0;
  page.on('request', (r) => {
    if (r.method() === 'POST' && new URL(r.url()).pathname === '/api/auth/login') n++;
  });
  return () => n;
}

test('a login URL signs in, hides its token and lands in the console', async ({ page, adminApi, loginPage, shell }) => {
  const user = await newUser(adminApi, 'analyst');
  const exchanges = countExchanges(page);
  // Everything the page shows on its way in: the console opens signed in, without a "Signing in" page first.
  await page.addInitScript(() => {
    const w = window as unknown as { __headings: string[] };
    w.__headings = [];
    new MutationObserver(() => {
      for (const h of document.querySelectorAll('h1')) if (!w.__headings.includes(h.textContent ?? '')) w.__headings.push(h.textContent ?? '');
    }).observe(document, { subtree: true, childList: true, characterData: true });
  });
  await loginPage.signInWithUrl(user.token);
  await expect(shell.signedInUser).toContainText(user.name);
  await expect(shell.signedInUser).toContainText('analyst');
  // The token left the address bar, and the console opened a page of its own.
  expect(page.url()).not.toContain(user.token);
  await expect(page).not.toHaveURL(/\/login/);
  await expect(shell.heading()).toBeVisible();
  expect(exchanges()).toBe(1);
  expect(await page.evaluate(() => (window as unknown as { __headings: string[] }).__headings)).not.toContain('Signing in');
});

test("a login URL starts DuckDB's worker from the page's first script, and the engine adopts it", async ({ page, adminApi, loginPage, shell }) => {
  const user = await newUser(adminApi, 'analyst');
  await loginPage.signInWithUrl(user.token);
  await expect(shell.signedInUser).toContainText(user.name);
  await page.waitForFunction(() => performance.getEntriesByName('lakehouse:duckdb-start').length > 0, undefined, { timeout: 60_000 });
  const started = await page.evaluate(() => ({
    detail: (performance.getEntriesByName('lakehouse:duckdb-import')[0] as PerformanceMeasure | undefined)?.detail as { earlyWorker?: boolean } | undefined,
    waiting: '__lakehouseDuckDbWorker' in window,
  }));
  expect(started.detail?.earlyWorker).toBe(true);
  expect(started.waiting).toBe(false);
});

test('a login URL whose exchange is slow shows that it is signing in, then the console', async ({ page, adminApi, loginPage, shell }) => {
  const user = await newUser(adminApi, 'analyst');
  const exchanges = countExchanges(page);
  // The server answers the exchange after the console's first render has stopped waiting for it (main.tsx).
  await page.route('**/api/auth/login', async (route) => {
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await route.continue();
  });
  await loginPage.signInWithUrl(user.token);
  await expect(page.getByRole('heading', { name: 'Signing in' })).toBeVisible();
  await expect(shell.signedInUser).toContainText(user.name);
  await expect(shell.heading()).toBeVisible();
  expect(page.url()).not.toContain(user.token);
  expect(exchanges()).toBe(1);
});

test('a login URL with an unknown token says the link did not work', async ({ page, loginPage }) => {
  const exchanges = countExchanges(page);
  await loginPage.signInWithUrl('lh_this-token-does-not-exist');
  await expect(loginPage.error).toContainText('This login link did not work');
  await expect(loginPage.error).toContainText(/invalid, expired or already used/);
  await expect(page.getByRole('link', { name: 'paste a token' })).toBeVisible();
  // The refusal is shown as the page's first exchange answered it: the token is not sent twice.
  expect(exchanges()).toBe(1);
  expect(page.url()).not.toContain('lh_this-token');
});

test('pasting a login URL into the sign-in form signs in', async ({ page, adminApi, loginPage, shell, e2e }) => {
  const user = await newUser(adminApi, 'viewer');
  await loginPage.goto();
  await expect(loginPage.submit).toBeDisabled();
  await loginPage.signInWithToken(`${e2e.baseURL}/login#token=${user.token}`);
  await expect(shell.signedInUser).toContainText(user.name);
  await expect(shell.signedInUser).toContainText('viewer');
  await expect(page.getByRole('heading', { name: 'Sign in', exact: true })).toBeHidden();
});

test('a wrong token in the sign-in form is refused with the reason', async ({ loginPage, shell }) => {
  await loginPage.goto();
  await loginPage.signInWithToken('lh_wrong');
  await expect(loginPage.error).toContainText('Sign-in failed');
  await expect(loginPage.heading).toBeVisible();
  await expect(shell.signedInUser).toBeHidden();
});

test('a signed-out visitor of a console page is asked to sign in', async ({ page, loginPage, shell }) => {
  await page.goto('/catalog');
  await expect(loginPage.heading).toBeVisible();
  await expect(loginPage.tokenInput).toBeVisible();
  await expect(shell.nav).toBeHidden();
  // Nobody to run queries yet: DuckDB's worker is not started (its files are only prefetched at idle).
  expect(await page.evaluate(() => '__lakehouseDuckDbWorker' in window || performance.getEntriesByName('lakehouse:duckdb-import').length > 0)).toBe(false);
});

test('signing out ends the session in this tab', async ({ page, adminApi, loginPage, shell }) => {
  const user = await newUser(adminApi, 'viewer');
  await loginPage.signInWithUrl(user.token, user.name);
  await shell.signOut();
  await expect(page.getByText('You signed out.')).toBeVisible();
  await page.goto('/catalog');
  await expect(loginPage.heading).toBeVisible();
  await expect(shell.signedInUser).toBeHidden();
});
