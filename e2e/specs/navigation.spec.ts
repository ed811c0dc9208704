import { expect, test } from '../fixtures.js';
import { TOP_LEVEL_PATHS, type TopLevelPage } from '../pages/Shell.js';

// The shell: main navigation to every top-level page, what non-admins are offered, theme, command palette, narrow windows.

const PAGES: { name: TopLevelPage; heading: RegExp }[] = [
  { name: 'Catalog', heading: /^Catalog$/ },
  { name: 'SQL', heading: /^SQL/ },
  { name: 'Quality', heading: /^Quality$/ },
  { name: 'Lineage', heading: /^Lineage$/ },
  { name: 'Monitoring', heading: /^Monitoring$/ },
  { name: 'Admin', heading: /^Admin$/ },
];

test('the main navigation reaches every top-level page', async ({ page, shell }) => {
  await page.goto('/catalog');
  await expect(shell.navLinks()).toHaveText(PAGES.map((p) => p.name));
  // Backwards, so that every click changes the page.
  for (const p of [...PAGES].reverse()) {
    await shell.goTo(p.name);
    await expect(shell.heading()).toHaveText(p.heading);
    await expect(shell.navLink(p.name)).toHaveAttribute('aria-current', 'page');
  }
});

for (const p of PAGES) {
  test(`${TOP_LEVEL_PATHS[p.name]} opens directly with its heading`, async ({ page, shell }) => {
    await page.goto(TOP_LEVEL_PATHS[p.name]);
    await expect(shell.heading()).toHaveText(p.heading);
    await expect(shell.navLink(p.name)).toHaveAttribute('aria-current', 'page');
  });
}

test.describe('as a viewer', () => {
  test.use({ role: 'viewer' });

  test('the navigation offers no Admin page', async ({ page, shell }) => {
    await page.goto('/catalog');
    await expect(shell.signedInUser).toContainText('viewer');
    await expect(shell.navLinks()).toHaveText(PAGES.filter((p) => p.name !== 'Admin').map((p) => p.name));
  });
});

test('the brand link goes home to the catalog', async ({ page, shell }) => {
  await page.goto('/quality');
  await shell.homeLink.click();
  await expect(page).toHaveURL(/\/catalog$/);
  await expect(shell.heading()).toHaveText('Catalog');
});

test('an unknown address shows that there is no such page, inside the console', async ({ page, shell }) => {
  await page.goto('/no/such/page');
  await expect(shell.heading()).toHaveText('Page not found');
  await expect(shell.navLinks()).toHaveText(PAGES.map((p) => p.name));
  await page.getByRole('main').getByRole('link', { name: 'Go to the catalog' }).click();
  await expect(page).toHaveURL(/\/catalog$/);
  await expect(shell.heading()).toHaveText('Catalog');
});

test("a page whose code cannot be loaded says so with a reload, and the other pages still work", async ({ page, shell }) => {
  // As after a deploy that replaced the admin page's chunk.
  await page.route('**/assets/AdminPage-*.js', (route) => route.abort());
  await page.goto('/catalog');
  await expect(shell.heading()).toHaveText('Catalog');
  await shell.goTo('Admin');
  await expect(shell.heading()).toHaveText('This page failed');
  await expect(page.getByRole('alert')).toContainText('Part of the console could not be loaded');
  await expect(page.getByRole('main').getByRole('button', { name: 'Reload' })).toBeVisible();
  // The next page starts without the failed page's error.
  await shell.goTo('Quality');
  await expect(shell.heading()).toHaveText('Quality');
  // The browser's back button returns to the failed page's address.
  await page.goBack();
  await expect(page).toHaveURL(/\/admin$/);
});

test('the theme toggle switches between light and dark and is remembered', async ({ page, shell }) => {
  await page.goto('/catalog');
  const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  const before = await shell.theme();
  const beforeBackground = await background();
  const after = await shell.toggleTheme();
  expect(after).not.toBe(before);
  await expect(page.locator('html')).toHaveAttribute('data-theme', after);
  // The page really changed colour, not just the toggle's label.
  await expect.poll(background).not.toBe(beforeBackground);
  await page.reload();
  await expect(shell.themeToggle).toBeVisible();
  expect(await shell.theme()).toBe(after);
  await shell.toggleTheme();
  expect(await shell.theme()).toBe(before);
});

test('the command palette opens a table by name', async ({ page, shell }) => {
  await page.goto('/catalog');
  await shell.openPalette(true);
  await shell.paletteInput.fill('daily_revenue');
  await expect(shell.paletteOptions.first()).toContainText('gold.sales.daily_revenue');
  await page.keyboard.press('Enter');
  await expect(shell.palette).toBeHidden();
  await expect(page).toHaveURL(/\/tables\/gold\.sales\.daily_revenue/);
  await expect(page.getByRole('heading', { level: 1, name: 'gold.sales.daily_revenue' })).toBeVisible();
});

test('the command palette finds a column and Escape closes it', async ({ page, shell }) => {
  await page.goto('/catalog');
  await shell.openPalette();
  await shell.paletteInput.fill('coupon_code');
  await expect(shell.paletteOptions.filter({ hasText: 'silver.sales.orders.coupon_code' })).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(shell.palette).toBeHidden();
  await expect(page).toHaveURL(/\/catalog$/);
});

test('Ctrl-K finds a column and opens its table at that column', async ({ page, shell, tablePage }) => {
  await page.goto('/catalog');
  await shell.openPalette(true);
  await shell.paletteInput.fill('coupon');
  const option = shell.paletteOptions.filter({ hasText: 'silver.sales.orders.coupon_code' });
  await expect(option).toBeVisible();
  // Options are reached with the arrow keys; Enter opens the active one.
  const count = await shell.paletteOptions.count();
  for (let i = 0; i < count && (await option.getAttribute('aria-selected')) !== 'true'; i++) await page.keyboard.press('ArrowDown');
  await expect(option).toHaveAttribute('aria-selected', 'true');
  await page.keyboard.press('Enter');
  await expect(shell.palette).toBeHidden();
  await expect(page).toHaveURL(/\/tables\/silver\.sales\.orders\?(.*&)?tab=schema(&|$)/);
  await expect(page).toHaveURL(/[?&]column=coupon_code(&|$)/);
  await expect(tablePage.tab('Schema')).toHaveAttribute('aria-selected', 'true');
  await expect(tablePage.schemaTable().getByRole('rowheader', { name: 'coupon_code', exact: true })).toBeInViewport();
});

test.describe('in a narrow window', () => {
  test.use({ viewport: { width: 420, height: 800 } });

  test('the menu button opens the navigation', async ({ page, shell }) => {
    await page.goto('/catalog');
    await expect(shell.menuButton).toBeVisible();
    await expect(shell.navLink('SQL')).toBeHidden();
    await shell.goTo('SQL');
    await expect(shell.heading()).toHaveText(/^SQL/);
    // Navigating closes the menu again.
    await expect(shell.menuButton).toHaveAttribute('aria-expanded', 'false');
  });
});
