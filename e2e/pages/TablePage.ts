import { expect, type Locator, type Page } from '@playwright/test';

/** A tab of the table page, as labelled. */
export type TableTabName = 'Overview' | 'Schema' | 'Sample' | 'History' | 'Files';

/** One column as the Schema tab shows it. */
export interface SchemaColumn {
  name: string;
  type: string;
  /** The row carries the "partition" badge. */
  partition: boolean;
  /** Further cells of the row (nullable, comment, ...), keyed by their column header. */
  cells: Record<string, string>;
}

/** A table's page (`/tables/<layer.domain.table>`): heading, breadcrumb, tabs and their panel. */
export class TablePage {
  readonly breadcrumb: Locator;
  readonly tabList: Locator;
  /** The panel of the selected tab. */
  readonly panel: Locator;
  /** The link that opens the SQL editor on this table. */
  readonly queryInSqlLink: Locator;
  /** The banner shown when an older version is open. */
  readonly versionNotice: Locator;
  /** The first alert in the page (table not found, read errors). */
  readonly error: Locator;

  constructor(readonly page: Page) {
    const main = page.getByRole('main');
    this.breadcrumb = main.getByRole('navigation', { name: 'Breadcrumb' });
    this.tabList = main.getByRole('tablist', { name: 'Table sections' });
    this.panel = main.getByRole('tabpanel');
    this.queryInSqlLink = main.getByRole('link', { name: 'Query in SQL' });
    this.versionNotice = main.getByRole('status').filter({ hasText: /Viewing version/ });
    this.error = main.getByRole('alert').first();
  }

  /** The page heading (the table's full name). */
  heading(name?: string): Locator {
    return this.page.getByRole('main').getByRole('heading', { level: 1, ...(name ? { name, exact: true } : {}) });
  }

  /** Opens a table's page, optionally at a tab and a version, and waits for its heading. */
  async goto(name: string, options: { tab?: TableTabName; version?: number } = {}): Promise<void> {
    const q = new URLSearchParams();
    if (options.tab && options.tab !== 'Overview') q.set('tab', options.tab.toLowerCase());
    if (options.version !== undefined) q.set('version', String(options.version));
    await this.page.goto(`/tables/${name}${q.size ? `?${q}` : ''}`);
    await expect(this.heading(name)).toBeVisible();
    if (options.tab) await expect(this.tab(options.tab)).toHaveAttribute('aria-selected', 'true');
  }

  /** A tab by its label. */
  tab(name: TableTabName): Locator {
    return this.tabList.getByRole('tab', { name, exact: true });
  }

  /** Selects a tab and waits until it is the selected one. */
  async selectTab(name: TableTabName): Promise<void> {
    await this.tab(name).click();
    await expect(this.tab(name)).toHaveAttribute('aria-selected', 'true');
  }

  /** Labels of the tabs in order. */
  async tabNames(): Promise<string[]> {
    return (await this.tabList.getByRole('tab').allInnerTexts()).map((t) => t.trim());
  }

  /** The Sample tab's grid of the first rows (read in the browser). */
  sampleGrid(): Locator {
    return this.panel.getByRole('grid', { name: /^Sample of / });
  }

  /** Opens the Sample tab when needed, waits for its rows and returns the grid's column names (row-number corner left out). */
  async readSampleColumns(): Promise<string[]> {
    if ((await this.tab('Sample').getAttribute('aria-selected')) !== 'true') await this.selectTab('Sample');
    const grid = this.sampleGrid();
    await expect(grid.getByRole('gridcell').first()).toBeVisible();
    const headers = await grid.getByRole('columnheader').allInnerTexts();
    return headers.slice(1).map((h) => h.split('\n')[0].trim());
  }

  /** The Schema tab's table of columns. */
  schemaTable(): Locator {
    return this.panel.getByRole('table', { name: /^Columns of / });
  }

  /**
   * Opens the Schema tab when needed and reads its columns: the header cells name the columns of the schema table;
   * the cells under "Column" (or "Name") and "Type" give name and type.
   */
  async readSchema(): Promise<SchemaColumn[]> {
    if ((await this.tab('Schema').getAttribute('aria-selected')) !== 'true') await this.selectTab('Schema');
    const table = this.schemaTable();
    await expect(table.getByRole('row').nth(1)).toBeVisible();
    const headers = (await table.getByRole('columnheader').allInnerTexts()).map((h) => h.trim());
    const nameAt = headers.findIndex((h) => /^(column|name)\b/i.test(h));
    const typeAt = headers.findIndex((h) => /^type\b/i.test(h));
    if (nameAt < 0 || typeAt < 0) throw new Error(`the schema table has no "Column"/"Type" headers: ${JSON.stringify(headers)}`);
    const rows = table.getByRole('row').filter({ has: this.page.getByRole('cell') });
    const out: SchemaColumn[] = [];
    for (const row of await rows.all()) {
      const cells = (await row.getByRole('cell').or(row.getByRole('rowheader')).allInnerTexts()).map((c) => c.trim());
      const byHeader: Record<string, string> = {};
      headers.forEach((h, i) => {
        if (cells[i] !== undefined) byHeader[h] = cells[i];
      });
      // The name cell ends with a "partition" badge on partition columns (no separator in its text).
      const badge = /\s*partition$/.exec(cells[nameAt]);
      out.push({ name: badge ? cells[nameAt].slice(0, badge.index) : cells[nameAt], type: cells[typeAt], partition: badge !== null, cells: byHeader });
    }
    return out;
  }
}
