import { expect, type Locator, type Page } from '@playwright/test';

/** The admin area: the advisor at `/admin` and a table's maintenance page at `/admin/tables/<name>`. */
export class MaintenancePage {
  readonly main: Locator;
  /** The health figures (a description list: term → value). */
  readonly healthFigures: Locator;
  /** The caption of the file-size histogram ("File sizes (v48: 2 files)"). */
  readonly histogramCaption: Locator;
  /** The histogram chart (its accessible name lists the files per size bucket). */
  readonly histogram: Locator;
  readonly optimizePanel: Locator;
  readonly vacuumPanel: Locator;
  readonly optimizePreview: Locator;
  readonly vacuumDryRun: Locator;
  /** The "Read-only" note shown to users who may not run maintenance. */
  readonly readOnlyNote: Locator;
  /** Every button that starts or changes maintenance, wherever it is on the page. */
  readonly maintenanceButtons: Locator;

  constructor(readonly page: Page) {
    this.main = page.getByRole('main');
    this.healthFigures = this.main.locator('dl[aria-label="Health figures"]');
    this.histogramCaption = this.main.locator('#histogram-caption');
    this.histogram = this.main.getByRole('img', { name: /^File sizes:/ });
    this.optimizePanel = this.main.getByRole('region', { name: 'OPTIMIZE' });
    this.vacuumPanel = this.main.getByRole('region', { name: 'VACUUM' });
    this.optimizePreview = this.main.getByLabel('OPTIMIZE preview');
    this.vacuumDryRun = this.main.getByLabel('VACUUM dry run');
    this.readOnlyNote = this.main.getByRole('note').filter({ hasText: 'Read-only' });
    this.maintenanceButtons = this.main.getByRole('button', {
      name: /^(Run OPTIMIZE|Run VACUUM|Preview|Dry run|Checkpoint now|Save properties|Add schedule|Delete \d|Pause|Resume)/,
    });
  }

  /** Opens the advisor and waits until it has answered. */
  async gotoAdvisor(): Promise<void> {
    await this.page.goto('/admin');
    await expect(this.main.getByRole('heading', { name: 'Admin', level: 1 })).toBeVisible();
    await expect(this.main.getByRole('status').filter({ hasText: 'Looking at every table' })).toHaveCount(0);
  }

  /** Opens a table's maintenance page and waits for its health figures. */
  async gotoTable(name: string): Promise<void> {
    await this.page.goto(`/admin/tables/${name}`);
    await expect(this.main.getByRole('heading', { name, level: 1 })).toBeVisible();
    await expect(this.healthFigures).toBeVisible();
  }

  /** The value of one health figure ("Files", "Version", "Small files", ...). */
  figure(term: string): Locator {
    return this.healthFigures.locator('div.fact').filter({ has: this.page.getByRole('term').filter({ hasText: new RegExp(`^${term}$`) }) }).getByRole('definition');
  }

  /** A recommendation of the advisor (list item named "<KIND> <table>"). */
  advice(kind: 'OPTIMIZE' | 'VACUUM' | 'Checkpoint', table: string): Locator {
    return this.main.getByRole('listitem', { name: `${kind} ${table}` });
  }

  /** The live job box of a job title ("OPTIMIZE", "VACUUM (dry run)"...) inside `scope`. */
  job(scope: Locator, title: string): Locator {
    return scope.getByRole('group', { name: `${title} job` });
  }

  /** Waits until the job box inside `scope` shows its progress bar at 100% and the state "Done". */
  async expectJobDone(scope: Locator, title: string): Promise<Locator> {
    const job = this.job(scope, title);
    await expect(job.getByRole('status')).toHaveText('Done');
    await expect(job.getByRole('progressbar')).toHaveAttribute('aria-valuenow', '100');
    return job;
  }

  /** The metrics of a finished job as term → value. */
  async jobMetrics(job: Locator): Promise<Record<string, string>> {
    const list = job.locator('dl.metrics');
    await expect(list).toBeVisible();
    const terms = await list.getByRole('term').allInnerTexts();
    const values = await list.getByRole('definition').allInnerTexts();
    return Object.fromEntries(terms.map((t, i) => [t.trim(), (values[i] ?? '').trim()]));
  }
}
