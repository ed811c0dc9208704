import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';

const dir = mkdtempSync(join(tmpdir(), 'lh-cli-maint-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, (l) => out.push(l), (l) => err.push(l));
  return { code, out, err };
}

const json = (r: { out: string[] }) => JSON.parse(r.out.join('\n'));

function dataFiles(d: string): number {
  let n = 0;
  for (const e of readdirSync(d, { withFileTypes: true, recursive: true })) if (e.isFile() && e.name.endsWith('.parquet') && !e.parentPath.includes('_delta_log')) n++;
  return n;
}

describe('lakehouse table optimize | vacuum | checkpoint', () => {
  const wh = join(dir, 'wh');
  const t = join(wh, 'silver', 'shop', 'orders');
  mkdirSync(join(wh, 'silver', 'shop'), { recursive: true });

  it('compacts the small files of several appends, keeps the rows, and reports metrics as JSON', async () => {
    const csv = (k: number) => {
      const f = join(dir, `part${k}.csv`);
      writeFileSync(f, 'id,region\n' + Array.from({ length: 5 }, (_, i) => `${k * 10 + i},${i % 2 ? 'eu' : 'us'}`).join('\n') + '\n');
      return f;
    };
    expect((await run('table', 'create', t, '--from', csv(0))).code).toBe(0);
    for (let k = 1; k < 8; k++) expect((await run('table', 'append', t, csv(k))).code).toBe(0);
    expect(dataFiles(t)).toBe(8);

    const dry = await run('table', 'optimize', t, '--dry-run', '--json');
    expect(dry.code).toBe(0);
    expect(json(dry)).toMatchObject({ dryRun: true, committed: false, plan: { numFiles: 8, numBins: 1 } });
    expect(dataFiles(t)).toBe(8);

    // By name under --warehouse.
    const r = await run('table', 'optimize', 'silver.shop.orders', '--warehouse', wh, '--json');
    expect(r.code).toBe(0);
    const m = json(r);
    expect(m).toMatchObject({ committed: true, version: 8, numFilesRemoved: 8, numFilesAdded: 1, numRowsWritten: 40 });
    const info = json(await run('table', 'info', t, '--json'));
    expect(info.files).toBe(1);
    const rows = await run('table', 'scan', t, '--format', 'csv');
    expect(rows.out.length - 1).toBe(40);

    const text = await run('table', 'optimize', t);
    expect(text.out[0]).toMatch(/^nothing to optimize/);
  });

  it('vacuum: short retention refused without override; dry run lists; the real run deletes', async () => {
    const refused = await run('table', 'vacuum', t, '--retention-hours', '0', '--json');
    expect(refused.code).toBe(1);
    expect(refused.err.join('\n')).toContain('INVALID_INPUT');
    expect(dataFiles(t)).toBe(9);

    const dry = await run('table', 'vacuum', t, '--retention-hours', '0', '--allow-short-retention', '--dry-run', '--json');
    expect(dry.code).toBe(0);
    const d = json(dry);
    expect(d).toMatchObject({ dryRun: true, numFilesToDelete: 8, numFilesDeleted: 0 });
    expect(d.timeTravel.lostVersions).toEqual({ from: 0, to: 7 });
    expect(dataFiles(t)).toBe(9);

    const real = await run('table', 'vacuum', t, '--retention-hours', '0', '--allow-short-retention', '--json');
    expect(real.code).toBe(0);
    expect(json(real)).toMatchObject({ dryRun: false, numFilesDeleted: 8 });
    expect(dataFiles(t)).toBe(1);
    expect((await run('table', 'scan', t, '--format', 'csv')).out.length - 1).toBe(40);

    expect((await run('table', 'vacuum', t, '--retention-hours', 'soon')).code).toBe(1);
  });

  it('checkpoint --json, and errors for unknown tables and bad flags', async () => {
    const c = await run('table', 'checkpoint', t, '--json');
    expect(c.code).toBe(0);
    // Version 10 (VACUUM END) may already have its automatic checkpoint; either way one exists for it now.
    expect(json(c)).toMatchObject({ version: 10, numAddFiles: 1 });
    expect(existsSync(join(t, '_delta_log', '00000000000000000010.checkpoint.parquet'))).toBe(true);
    expect(existsSync(join(t, '_delta_log', '_last_checkpoint'))).toBe(true);
    const missing = await run('table', 'optimize', 'silver.shop.nothing', '--warehouse', wh);
    expect(missing.code).toBe(1);
    expect(missing.err.join('\n')).toContain('silver.shop.nothing');
    expect((await run('table', 'checkpoint', t, '--dry-run')).code).toBe(1);
    expect((await run('table', 'optimize', t, '--zorder-by', 'nope')).err.join('\n')).toContain('"nope"');
  });
});
