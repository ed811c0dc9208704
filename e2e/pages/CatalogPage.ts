import { expect, type Locator, type Page } from '@playwright/test';

/** A full table name, `layer.domain.table`. */
const TABLE_NAME = /^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$/;

/** A medallion layer. */
export type Layer = 'bronze' | 'silver' | 'gold';

/** The catalog (`/catalog`, `/catalog/<layer>`, `/catalog/<layer>/<domain>`): tree, search, filters, medallion grid or list. */
export class CatalogPage {
  readonly heading: Locator;
  readonly searchBox: Locator;
  readonly layerSelect: Locator;
  readonly tagSelect: Locator;
  readonly medallionViewButton: Locator;
  readonly listViewButton: Locator;
  /** The tree of layers, domains and tables beside the page. */
  readonly tree: Locator;
  /** The list view's table of tables. */
  readonly list: Locator;
  /** The line counting what the filters left ("8 tables · 1.2K rows · 3 MB"). */
  readonly summary: Locator;
  /** Shown when no table matches. */
  readonly empty: Locator;

  constructor(readonly page: Page) {
    const main = page.getByRole('main');
    this.heading = main.getByRole('heading', { level: 1 });
    this.searchBox = main.getByRole('searchbox', { name: 'Search tables' });
    this.layerSelect = main.getByRole('combobox', { name: /^Layer\b/ });
    this.tagSelect = main.getByRole('combobox', { name: /^Tag\b/ });
    this.medallionViewButton = main.getByRole('button', { name: 'Medallion', exact: true });
    this.listViewButton = main.getByRole('button', { name: 'List', exact: true });
    this.tree = page.getByRole('navigation', { name: 'Catalog tree' });
    this.list = main.getByRole('table', { name: 'Tables' });
    this.summary = main.getByRole('status', { name: 'Catalog summary' }).filter({ hasText: /^\d[\d,]* tables? · / });
    this.empty = main.getByText(/No table matches these filters|The warehouse has no tables yet/);
  }

  /** Opens the catalog (optionally one layer or one domain of a layer) and waits for its table count. */
  async goto(layer?: Layer, domain?: string): Promise<void> {
    await this.page.goto(`/catalog${layer ? `/${layer}` : ''}${layer && domain ? `/${domain}` : ''}`);
    await this.waitForTables();
  }

  /** Waits until the catalog shows its tables (or says that none match). */
  async waitForTables(): Promise<void> {
    await expect(this.summary.or(this.empty).first()).toBeVisible();
  }

  /** The card of a table in the medallion view, named by its full name. */
  card(name: string): Locator {
    return this.page.getByRole('main').getByRole('article', { name, exact: true });
  }

  /** Types a search and waits until the URL carries it (the page searches 250 ms after the last key). */
  async search(text: string): Promise<void> {
    await this.searchBox.fill(text);
    if (text.trim()) await expect(this.page).toHaveURL(new RegExp(`[?&]q=${encodeURIComponent(text).replace(/%20/g, '(\\+|%20)')}(&|$)`));
    else await expect(this.page).not.toHaveURL(/[?&]q=/);
  }

  /** Switches to the list view. */
  async showList(): Promise<void> {
    await this.listViewButton.click();
    await expect(this.listViewButton).toHaveAttribute('aria-pressed', 'true');
    await expect(this.list).toBeVisible();
  }

  /** Full names of the tables shown (list view rows, or medallion cards), in display order; poll it to wait for a change. */
  async tableNames(): Promise<string[]> {
    await this.waitForTables();
    if (await this.list.isVisible()) {
      return (await this.list.getByRole('link', { name: TABLE_NAME }).allInnerTexts()).map((t) => t.trim());
    }
    const cards = this.page.getByRole('main').getByRole('article');
    const n = await cards.count();
    const names: string[] = [];
    for (let i = 0; i < n; i++) names.push((await cards.nth(i).getAttribute('aria-label')) ?? '');
    return names;
  }

  /** Opens a table from the list or its card, and waits for its page. */
  async openTable(name: string): Promise<void> {
    const link = (await this.list.isVisible()) ? this.list.getByRole('link', { name, exact: true }) : this.card(name).getByRole('link').first();
    await link.click();
    await expect(this.page).toHaveURL(new RegExp(`/tables/${name.replace(/\./g, '\\.')}(\\?|$)`));
    await expect(this.page.getByRole('heading', { level: 1, name })).toBeVisible();
  }

  /** Opens a table through the tree: expands its layer and domain when collapsed, then follows the table link. */
  async openTableInTree(name: string): Promise<void> {
    const [layer, domain, table] = name.split('.');
    for (const key of [layer, `${layer}.${domain}`]) {
      const expand = this.tree.getByRole('button', { name: `Expand ${key}`, exact: true });
      if (await expand.isVisible()) await expand.click();
    }
    // Tree links are named with their count ("sales 3 tables"); scope layer → domain so equal table names cannot clash.
    const item = (within: Locator, label: string) =>
      within.getByRole('listitem').filter({ has: this.page.getByRole('link', { name: new RegExp(`^${label} \\d+ tables?$`) }) });
    const domainItem = item(item(this.tree, layer), domain);
    await domainItem.getByRole('link', { name: table, exact: true }).click();
    await expect(this.page.getByRole('heading', { level: 1, name })).toBeVisible();
  }
}
