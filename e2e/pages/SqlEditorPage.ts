import { expect, type Download, type Locator, type Page } from '@playwright/test';

/** What a finished read left on the page. */
export interface SqlOutcome {
  /** Column names of the result grid (empty on error). */
  columns: string[];
  /** The figures above the result, by their term ("Rows", "Time", "Files read", "Fetched", "Tables"). */
  figures: Record<string, string>;
  /** The error shown instead of a result (title and message), or null. */
  error: string | null;
}

/** A kind of chart the Chart view draws. */
export type ChartKind = 'Bar' | 'Line' | 'Scatter';

/** The SQL editor (`/sql`): editor, toolbar (Run, Run statement, Cancel, Save), errors, result grid, figures, chart, export. */
export class SqlEditorPage {
  /** CodeMirror's content element (a textbox named "SQL editor"). */
  readonly editor: Locator;
  readonly toolbar: Locator;
  /** "Run" (or "Run selection" while text is selected); the key hint is not part of its name. */
  readonly runButton: Locator;
  readonly runStatementButton: Locator;
  readonly cancelButton: Locator;
  readonly saveButton: Locator;
  /** The toolbar's live line: "Starting DuckDB… 1.2 s", "Running… 0.3 s", empty when idle. */
  readonly statusLine: Locator;
  /** The error the last statement ended with. */
  readonly error: Locator;
  /** The callout of a write run on the server ("Queued on the server…", "Writing: …", "Committed INSERT to ... (version 3)"). */
  readonly writeStatus: Locator;
  /** The result region: figures, Table/Chart tabs, export buttons, and the grid or chart. */
  readonly result: Locator;
  /** The virtualised result grid (only rows near the viewport exist). */
  readonly grid: Locator;
  readonly chart: Locator;
  readonly exportCsvButton: Locator;
  readonly exportParquetButton: Locator;
  /** The history and saved-query panel beside the editor. */
  readonly sidePanel: Locator;
  /** The notice a cancelled read leaves ("Cancelled · The query was cancelled."). */
  readonly cancelledNotice: Locator;
  /** The hint shown before anything ran ("Write a query and press Ctrl+Enter"). */
  readonly emptyHint: Locator;
  /** The banner of an open permalink: its name, the versions it pins. */
  readonly permalinkBanner: Locator;
  /** The progress bar of a running write. */
  readonly writeProgress: Locator;
  /**
   * The error mark in the editor (CodeMirror's lint range: it has no role, so it is found by the class CodeMirror gives
   * it; its text is the marked part of the SQL).
   */
  readonly errorMark: Locator;

  constructor(readonly page: Page) {
    const main = page.getByRole('main');
    this.editor = main.getByRole('textbox', { name: 'SQL editor' });
    this.toolbar = main.getByRole('toolbar', { name: 'Query' });
    this.runButton = this.toolbar.getByRole('button', { name: /^Run( selection)?$/ });
    this.runStatementButton = this.toolbar.getByRole('button', { name: 'Run statement' });
    this.cancelButton = this.toolbar.getByRole('button', { name: 'Cancel', exact: true });
    this.saveButton = this.toolbar.getByRole('button', { name: /^Save/ });
    this.statusLine = this.toolbar.getByRole('status');
    this.error = main.getByRole('alert').first();
    // The callout, not the toolbar's status line ("Writing… 0.2 s").
    this.writeStatus = main.getByRole('status').filter({ hasText: /Committed|Writing:|Queued on the server|Submitting the write/ });
    this.result = main.getByRole('region', { name: 'Result', exact: true });
    this.grid = this.result.getByRole('grid', { name: 'Query result' });
    this.chart = this.result.getByRole('img', { name: / chart of / });
    this.exportCsvButton = this.result.getByRole('button', { name: 'Export CSV' });
    this.exportParquetButton = this.result.getByRole('button', { name: 'Export Parquet' });
    this.sidePanel = main.getByRole('complementary', { name: 'Query history and saved queries' });
    this.cancelledNotice = main.getByRole('status').filter({ hasText: 'The query was cancelled' });
    this.emptyHint = main.getByText(/^Write a query and press/);
    this.permalinkBanner = main.getByRole('region', { name: 'Saved query' });
    this.writeProgress = main.getByRole('progressbar', { name: 'Write progress' });
    this.errorMark = this.editor.locator('.cm-lintRange-error');
  }

  /**
   * Types `typed` after `sql` as a person would (so that completion opens) and returns the labels of the completion
   * list; retried until `expected` is among them (the catalog and the tables' columns load after the editor opens).
   */
  async completionsFor(sql: string, typed: string, expected: string): Promise<string[]> {
    const list = this.page.getByRole('listbox').filter({ has: this.page.getByRole('option') });
    let labels: string[] = [];
    await expect(async () => {
      await this.setSql(sql);
      await this.page.keyboard.type(typed);
      await expect(list).toBeVisible({ timeout: 2000 });
      labels = (await list.getByRole('option').locator('.cm-completionLabel').allInnerTexts()).map((l) => l.trim());
      expect(labels).toContain(expected);
    }).toPass({ timeout: 20_000 });
    await this.page.keyboard.press('Escape');
    return labels;
  }

  /** Opens the editor, optionally prefilled with `sql` (`/sql?q=`), and waits until it can be typed in. */
  async goto(sql?: string): Promise<void> {
    await this.page.goto(`/sql${sql === undefined ? '' : `?q=${encodeURIComponent(sql)}`}`);
    await expect(this.editor).toBeVisible();
  }

  /** The editor's text as shown (CodeMirror renders one block per line). */
  async text(): Promise<string> {
    return this.editor.innerText();
  }

  /** Replaces the editor's text with `sql`, inserted as-is (no auto-closed brackets, no completion accepted). */
  async setSql(sql: string): Promise<void> {
    await this.editor.click();
    await this.page.keyboard.press('ControlOrMeta+a');
    await this.page.keyboard.press('Delete');
    await this.page.keyboard.insertText(sql);
    const squash = (s: string) => s.replace(/\s+/g, ' ').trim();
    await expect.poll(async () => squash(await this.editor.innerText())).toBe(squash(sql));
  }

  /** Starts the editor's statements with the Run button (or Ctrl+Enter in the editor when `viaKeyboard`). */
  async run(viaKeyboard = false): Promise<void> {
    if (viaKeyboard) {
      await this.editor.click();
      await this.page.keyboard.press('ControlOrMeta+Enter');
    } else await this.runButton.click();
  }

  /** Cancels the running statement and waits until the page is idle again. */
  async cancel(): Promise<void> {
    await this.cancelButton.click();
    await expect(this.cancelButton).toBeDisabled();
  }

  /** Waits until nothing runs any more (Cancel disabled) and reports what the page shows. */
  async waitForOutcome(): Promise<SqlOutcome> {
    await expect(this.result.or(this.error).or(this.writeStatus).first()).toBeVisible();
    await expect(this.cancelButton).toBeDisabled();
    if (await this.error.isVisible()) return { columns: [], figures: {}, error: (await this.error.innerText()).trim() };
    if (!(await this.result.isVisible())) return { columns: [], figures: {}, error: null };
    return { columns: await this.resultColumns(), figures: await this.figures(), error: null };
  }

  /** Sets the SQL, runs it and waits for the outcome. */
  async runSql(sql: string): Promise<SqlOutcome> {
    await this.setSql(sql);
    await this.run();
    return this.waitForOutcome();
  }

  /** The figures of the shown result, term → value ("Rows" → "12"). */
  async figures(): Promise<Record<string, string>> {
    const terms = await this.result.getByRole('term').allInnerTexts();
    const values = await this.result.getByRole('definition').allInnerTexts();
    return Object.fromEntries(terms.map((t, i) => [t.trim(), (values[i] ?? '').trim()]));
  }

  /** Column names of the result grid (the row-number corner left out; each header also shows the type). */
  async resultColumns(): Promise<string[]> {
    await expect(this.grid).toBeVisible();
    const headers = this.grid.getByRole('columnheader');
    const n = await headers.count();
    const out: string[] = [];
    for (let i = 1; i < n; i++) {
      // "name (type)" is the header's title; its first line is the name.
      out.push((await headers.nth(i).innerText()).split('\n')[0].trim());
    }
    return out;
  }

  /** Data rows the grid has rendered (it is virtualised: about a screenful), as cell texts without the row number. */
  async resultRows(limit = 50): Promise<string[][]> {
    await expect(this.grid).toBeVisible();
    const rows = this.grid.getByRole('row').filter({ has: this.page.getByRole('gridcell') });
    const out: string[][] = [];
    for (const row of (await rows.all()).slice(0, limit)) out.push((await row.getByRole('gridcell').allInnerTexts()).map((c) => c.trim()));
    return out;
  }

  /** Switches the result to the Chart view, optionally picks the kind and axes, and waits for the chart. */
  async showChart(options: { kind?: ChartKind; x?: string; y?: string } = {}): Promise<void> {
    await this.result.getByRole('tab', { name: 'Chart', exact: true }).click();
    if (options.kind) await this.result.getByRole('group', { name: 'Chart type' }).getByRole('button', { name: options.kind, exact: true }).click();
    if (options.x) await this.pickColumn('X axis', options.x);
    if (options.y) await this.pickColumn('Y axis', options.y);
    await expect(this.chart).toBeVisible();
  }

  /** Picks a result column in the chart's axis select (options read "name (TYPE)"). */
  private async pickColumn(axis: 'X axis' | 'Y axis', column: string): Promise<void> {
    const select = this.result.getByRole('combobox', { name: new RegExp(`^${axis}`) });
    const labels = (await select.getByRole('option').allInnerTexts()).map((t) => t.trim());
    const label = labels.find((l) => l.startsWith(`${column} (`));
    if (!label) throw new Error(`${axis} offers no column ${column}: ${labels.join(', ')}`);
    await select.selectOption({ label });
  }

  /** Switches the result back to the Table view. */
  async showTable(): Promise<void> {
    await this.result.getByRole('tab', { name: 'Table', exact: true }).click();
    await expect(this.grid).toBeVisible();
  }

  /** Exports the shown result and returns the download. */
  async export(format: 'CSV' | 'Parquet'): Promise<Download> {
    const download = this.page.waitForEvent('download');
    await (format === 'CSV' ? this.exportCsvButton : this.exportParquetButton).click();
    return download;
  }

  /** Waits until a read is past starting DuckDB and planning, and DuckDB works on it ("Running… 0.4 s"). */
  async waitForRunning(): Promise<void> {
    await expect(this.statusLine).toContainText(/^Running/);
    await expect(this.cancelButton).toBeEnabled();
  }

  /** The grid row showing the `n`th row of the result (1-based, as its row header numbers it), once rendered. */
  gridRow(n: number): Locator {
    return this.grid.getByRole('row').filter({ has: this.page.getByRole('rowheader', { name: String(n), exact: true }) });
  }

  /** Scrolls the result grid to its last row the way a keyboard user does (focus the grid, press End). */
  async scrollGridToEnd(): Promise<void> {
    await this.grid.focus();
    await this.page.keyboard.press('End');
  }

  /** Saves the editor's query under `name` and returns the permalink the console navigated to. */
  async save(name: string): Promise<string> {
    await this.saveButton.click();
    const dialog = this.page.getByRole('dialog', { name: 'Save query' });
    await dialog.getByRole('textbox', { name: 'Name' }).fill(name);
    await dialog.getByRole('button', { name: 'Save and get link' }).click();
    await expect(dialog).toBeHidden();
    await expect(this.page).toHaveURL(/\/sql\/saved\/[^/?#]+$/);
    await expect(this.permalinkBanner).toContainText(name);
    return this.page.url();
  }
}
