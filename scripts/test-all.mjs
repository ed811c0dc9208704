// Runs every suite (lint, typecheck, vitest projects, Playwright browser tests) and ends with one line "N passed, N failed".
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';

let passed = 0;
let failed = 0;
let skipped = 0;

function run(label, cmd, args) {
  console.log(`\n=== ${label}: ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: process.env });
  return r.status === 0;
}

function gate(label, cmd, args) {
  const ok = run(label, cmd, args);
  if (ok) passed++;
  else failed++;
  console.log(`=== ${label}: ${ok ? 'ok' : 'FAILED'}`);
}

gate('lint', 'pnpm', ['-s', 'eslint', '.', '--max-warnings=0']);
gate('typecheck', 'pnpm', ['-s', 'tsc', '-b']);

mkdirSync('.tmp', { recursive: true });
const report = '.tmp/vitest-report.json';
rmSync(report, { force: true });
const ok = run('unit and integration tests', 'pnpm', ['-s', 'vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`]);
try {
  const r = JSON.parse(readFileSync(report, 'utf8'));
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  skipped += r.numPendingTests + r.numTodoTests;
  if (!ok && r.numFailedTests === 0) failed++; // a suite that failed to load counts as a failure
} catch {
  failed++;
  console.log('=== vitest wrote no report');
}

// Browser tests: the global setup builds the console when needed and starts a server on a temporary demo warehouse.
const e2eReport = '.tmp/playwright-report.json';
rmSync(e2eReport, { force: true });
const e2eOk = run('browser tests', 'pnpm', ['-s', 'playwright', 'test', '-c', 'e2e/playwright.config.ts']);
try {
  const { stats, errors = [] } = JSON.parse(readFileSync(e2eReport, 'utf8'));
  passed += stats.expected + stats.flaky;
  failed += stats.unexpected;
  skipped += stats.skipped;
  if (stats.flaky > 0) console.log(`=== ${stats.flaky} browser test(s) passed only on a retry`);
  // A failed global setup (console build, server start) or an error outside any test counts as one failure.
  if ((!e2eOk || errors.length > 0) && stats.unexpected === 0) failed++;
} catch {
  failed++;
  console.log('=== playwright wrote no report');
}

console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed === 0 ? 0 : 1);
