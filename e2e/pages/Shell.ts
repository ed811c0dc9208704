import { expect, type Locator, type Page } from '@playwright/test';

/** A top-level page of the console, named as the main navigation names it. */
export type TopLevelPage = 'Catalog' | 'SQL' | 'Quality' | 'Lineage' | 'Monitoring' | 'Admin';

/** Path of each top-level page. */
export const TOP_LEVEL_PATHS: Readonly<Record<TopLevelPage, string>> = {
  Catalog: '/catalog',
  SQL: '/sql',
  Quality: '/quality',
  Lineage: '/lineage',
  Monitoring: '/monitoring',
  Admin: '/admin',
};

/** A colour theme. */
export type Theme = 'light' | 'dark';

/** The frame around every signed-in page: header, main navigation, search (command palette), theme, user. */
export class Shell {
  readonly nav: Locator;
  /** The narrow-window button that opens the navigation. */
  readonly menuButton: Locator;
  readonly homeLink: Locator;
  readonly main: Locator;
  /** The region naming the signed-in user and role. */
  readonly signedInUser: Locator;
  readonly signOutButton: Locator;
  readonly themeToggle: Locator;
  /** The header button that opens the command palette. */
  readonly searchButton: Locator;
  readonly palette: Locator;
  readonly paletteInput: Locator;
  readonly paletteOptions: Locator;
  /** The palette's live status line ("3 results", "Nothing matches ..."). */
  readonly paletteStatus: Locator;

  constructor(readonly page: Page) {
    this.nav = page.getByRole('navigation', { name: 'Main' });
    this.menuButton = page.getByRole('button', { name: 'Menu', exact: true });
    this.homeLink = page.getByRole('link', { name: 'Lakehouse home' });
    this.main = page.getByRole('main');
    this.signedInUser = page.getByLabel('Signed-in user');
    this.signOutButton = page.getByRole('button', { name: 'Sign out' });
    this.themeToggle = page.getByRole('button', { name: /^Switch to (light|dark) theme$/ });
    this.searchButton = page.getByRole('banner').getByRole('button', { name: 'Search tables and columns' });
    this.palette = page.getByRole('dialog', { name: 'Go to table or column' });
    this.paletteInput = this.palette.getByRole('combobox', { name: 'Search tables and columns' });
    this.paletteOptions = this.palette.getByRole('option');
    this.paletteStatus = this.palette.getByRole('status');
  }

  /** The main navigation's link to a top-level page. */
  navLink(name: TopLevelPage): Locator {
    return this.nav.getByRole('link', { name, exact: true });
  }

  /** The page's main heading (level 1) inside the main region. */
  heading(): Locator {
    return this.main.getByRole('heading', { level: 1 }).first();
  }

  /** Clicks a top-level page in the main navigation (opening the narrow-window menu first when needed). */
  async goTo(name: TopLevelPage): Promise<void> {
    const link = this.navLink(name);
    await expect(link.or(this.menuButton).filter({ visible: true }).first()).toBeVisible();
    if (!(await link.isVisible()) && (await this.menuButton.isVisible())) await this.menuButton.click();
    await link.click();
    await expect(this.page).toHaveURL(new RegExp(`${TOP_LEVEL_PATHS[name]}(?:[/?#]|$)`));
  }

  /** The links of the main navigation (assert on them with `toHaveText([...])`, which waits). */
  navLinks(): Locator {
    return this.nav.getByRole('link');
  }

  /** The theme in effect, as the toggle announces it ("Switch to light theme" means dark is on). */
  async theme(): Promise<Theme> {
    const label = (await this.themeToggle.getAttribute('aria-label')) ?? '';
    return label.includes('light') ? 'dark' : 'light';
  }

  /** Switches the theme and waits until the toggle announces the other one. */
  async toggleTheme(): Promise<Theme> {
    const next: Theme = (await this.theme()) === 'dark' ? 'light' : 'dark';
    await this.themeToggle.click();
    await expect(this.themeToggle).toHaveAccessibleName(`Switch to ${next === 'dark' ? 'light' : 'dark'} theme`);
    return next;
  }

  /** Opens the command palette with the header button (or with Ctrl+K when `viaKeyboard`). */
  async openPalette(viaKeyboard = false): Promise<void> {
    // A person presses the shortcut once the console shows; the shell listens for it from its first render on.
    await expect(this.searchButton).toBeVisible();
    if (viaKeyboard) {
      // The listener is attached just after the first paint: press again while no palette has appeared.
      await expect(async () => {
        if (!(await this.palette.isVisible())) await this.page.keyboard.press('Control+k');
        await expect(this.palette).toBeVisible({ timeout: 1_000 });
      }).toPass();
    } else await this.searchButton.click();
    await expect(this.paletteInput).toBeFocused();
  }

  /** Types into the palette and opens the option whose text contains `option` (the first one when omitted). */
  async paletteGo(query: string, option?: string | RegExp): Promise<void> {
    if (!(await this.palette.isVisible())) await this.openPalette();
    await this.paletteInput.fill(query);
    const target = option === undefined ? this.paletteOptions.first() : this.paletteOptions.filter({ hasText: option }).first();
    await target.click();
    await expect(this.palette).toBeHidden();
  }

  /** Signs out and waits for the sign-in page. */
  async signOut(): Promise<void> {
    await this.signOutButton.click();
    await expect(this.page.getByRole('heading', { name: 'Sign in', exact: true })).toBeVisible();
  }
}
