import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * The golden Delta tables live read-only in `../shared/delta-tables` beside the checkout. A clone made elsewhere
 * (e.g. into a temporary folder) finds them beside the repository it was cloned from; LAKEHOUSE_SHARED_DIR overrides.
 * Tests read the result from process.env.LAKEHOUSE_SHARED_DIR.
 */
function sharedDir(): string {
  const repo = dirname(fileURLToPath(import.meta.url));
  const candidates = [process.env.LAKEHOUSE_SHARED_DIR, join(repo, '..', 'shared')];
  try {
    const origin = execFileSync('git', ['-C', repo, 'config', '--get', 'remote.origin.url'], { encoding: 'utf8' }).trim();
    if (origin && !/^[a-z+]+:\/\//i.test(origin) && !origin.includes('@')) candidates.push(join(resolve(repo, origin), '..', 'shared'));
  } catch {
    // Not a clone: only the candidates above.
  }
  const found = candidates.find((c): c is string => !!c && existsSync(join(c, 'delta-tables', 'expected.json')));
  if (!found) throw new Error(`the golden Delta tables are missing: looked for delta-tables/expected.json in ${candidates.filter(Boolean).join(', ')}`);
  return resolve(found);
}

const env = { LAKEHOUSE_SHARED_DIR: sharedDir() };

export default defineConfig({
  test: {
    projects: [
      { test: { name: 'core', root: 'packages/core', include: ['test/**/*.test.ts'], testTimeout: 60_000, hookTimeout: 60_000, env } },
      { test: { name: 'bff', root: 'apps/bff', include: ['test/**/*.test.ts'], testTimeout: 60_000, hookTimeout: 60_000, env } },
      { test: { name: 'web', root: 'apps/web', include: ['test/**/*.test.ts'], environment: 'node', env } },
    ],
  },
});
