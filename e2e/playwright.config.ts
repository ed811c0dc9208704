// Browser tests of the console: Debian's Chromium (no downloaded browsers), one worker, a BFF started by the global
// setup on a temporary demo warehouse. Run from the repository root: pnpm -s playwright test -c e2e/playwright.config.ts
import { fileURLToPath } from 'node:url';
import { defineConfig } from '@playwright/test';

const root = (p: string) => fileURLToPath(new URL(`../${p}`, import.meta.url));

export default defineConfig({
  testDir: './specs',
  outputDir: root('.tmp/playwright-results'),
  globalSetup: './global-setup.ts',
  // One browser at a time: the machine has two cores and the server needs one.
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: 0,
  // DuckDB-WASM starts cold in every new page (about a second here, more under load).
  timeout: 90_000,
  expect: { timeout: 20_000 },
  globalTimeout: 30 * 60_000,
  reporter: [['list'], ['json', { outputFile: root('.tmp/playwright-report.json') }]],
  use: {
    browserName: 'chromium',
    viewport: { width: 1280, height: 800 },
    locale: 'en-US',
    timezoneId: 'UTC',
    actionTimeout: 20_000,
    navigationTimeout: 30_000,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    },
  },
});
