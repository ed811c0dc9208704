import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';

const dir = mkdtempSync(join(tmpdir(), 'lh-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const FIXTURES = `${process.env.LAKEHOUSE_SHARED_DIR ?? fileURLToPath(new URL('../../../../shared', import.meta.url))}/delta-tables/`;
const REPO = resolve(fileURLToPath(new URL('../../../', import.meta.url)));

async function run(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, (l) => out.push(l), (l) => err.push(l));
  return { code, out, err };
}

describe('lakehouse table commands', () => {
  const t = join(dir, 'sales');
  const csv = join(dir, 'a.csv');
  writeFileSync(csv, 'id,region,amount\n1,eu,10.5\n2,us,3\n3,eu,\n');

  it('create from CSV, append JSON, scan with a filter, delete, history, time travel', async () => {
    expect((await run('table', 'create', t, '--from', csv, '--partition-by', 'region', '--description', 'sales')).code).toBe(0);
    const json = join(dir, 'b.json');
    writeFileSync(json, '{"id": 4, "region": "apac", "amount": 7.25}\n{"id": 5, "region": "eu", "amount": 1}\n');
    const a = await run('table', 'append', t, json);
    expect(a.code).toBe(0);
    expect(a.out[0]).toContain('appended 2 rows');

    const scan = await run('table', 'scan', t, '--where', "region = 'eu'", '--format', 'csv');
    expect(scan.code).toBe(0);
    expect(scan.out[0]).toBe('id,region,amount');
    expect(scan.out.slice(1).sort()).toEqual(['1,eu,10.5', '3,eu,', '5,eu,1']);

    expect((await run('table', 'delete', t, '--where', 'id = 1')).code).toBe(0);
    const info = JSON.parse((await run('table', 'info', t, '--json')).out.join('\n'));
    expect(info).toMatchObject({ version: 2, rows: 4, partitionColumns: ['region'], description: 'sales' });
    expect(info.schema.map((c: { name: string }) => c.name)).toEqual(['id', 'region', 'amount']);

    const old = await run('table', 'scan', t, '--version', '0', '--format', 'jsonl');
    expect(old.out).toHaveLength(3);
    const hist = JSON.parse((await run('table', 'history', t, '--json')).out.join('\n'));
    expect(hist.map((h: { operation: string }) => h.operation)).toEqual(['DELETE', 'WRITE', 'CREATE TABLE AS SELECT']);

    const limited = await run('table', 'scan', t, '--limit', '1');
    expect(limited.out).toHaveLength(1);
    expect((await run('table', 'checkpoint', t)).out[0]).toContain('checkpoint written at version 2');
  });

  it('ingest loads a file into a bronze table of a warehouse and leaves the file in place', async () => {
    const wh = join(dir, 'wh');
    const file = join(dir, 'clicks.csv');
    writeFileSync(file, 'user,page\nu1,/a\nu2,/b\n');
    const r = await run('ingest', file, 'bronze.web.clicks', '--warehouse', wh, '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out[0])).toMatchObject({ table: 'bronze.web.clicks', version: 0, created: true, rows: 2 });
    expect(existsSync(file)).toBe(true);
    const info = JSON.parse((await run('table', 'info', join(wh, 'bronze/web/clicks'), '--json')).out.join('\n'));
    expect(info.rows).toBe(2);
    expect(info.partitionColumns).toEqual(['_ingest_date']);
    const refused = await run('ingest', file, 'gold.web.clicks', '--warehouse', wh);
    expect(refused.code).toBe(1);
    expect(refused.err[0]).toContain('error[INVALID_INPUT]');
  });

  it('reads golden tables of other engines', async () => {
    const r = await run('table', 'info', join(FIXTURES, 'table-with-dv-small'), '--json');
    expect(JSON.parse(r.out.join('\n'))).toMatchObject({ version: 1, rows: 8 });
    const s = await run('table', 'scan', join(FIXTURES, 'simple_table'), '--format', 'jsonl');
    expect(s.out).toHaveLength(3);
    const byTs = await run('table', 'info', join(FIXTURES, 'simple_table'), '--version', '0', '--json');
    expect(JSON.parse(byTs.out.join('\n')).rows).toBe(5);
  });

  it.each([
    [['table', 'info', join(FIXTURES, 'simple_table_features')], 2, 'error[UNSUPPORTED_FEATURE]', 'blahabl'],
    [['table', 'info', join(FIXTURES, 'deltalog-invalid-protocol-version')], 2, 'error[UNSUPPORTED_FEATURE]', '99'],
    [['table', 'info', join(dir, 'missing')], 1, 'error[TABLE_NOT_FOUND]', 'missing'],
    [['table', 'info', join(FIXTURES, 'simple_table'), '--version', '99'], 1, 'error[VERSION_NOT_FOUND]', '99'],
    [['table', 'info', join(FIXTURES, 'simple_table'), '--version', 'x'], 1, 'error[INVALID_INPUT]', '--version'],
    [['table', 'scan', join(FIXTURES, 'simple_table'), '--format', 'xml'], 1, 'error[INVALID_INPUT]', 'jsonl or csv'],
    [['table', 'frobnicate'], 1, 'error[INVALID_INPUT]', 'frobnicate'],
    [['table', 'info', join(FIXTURES, 'simple_table'), '--bogus'], 1, 'error[INVALID_INPUT]', 'bogus'],
  ])('%j exits %i with %s', async (argv, code, prefix, word) => {
    const r = await run(...(argv as string[]));
    expect(r.code).toBe(code);
    expect(r.err[0].startsWith(prefix)).toBe(true);
    expect(r.err[0]).toContain(word);
  });

  it('a table made not-Delta (only data files) is refused with exit 2', async () => {
    const p = join(dir, 'notdelta');
    writeFileSync(join(dir, 'x.csv'), 'a\n1\n');
    rmSync(p, { recursive: true, force: true });
    spawnSync('mkdir', ['-p', p]);
    writeFileSync(join(p, 'part-0.parquet'), 'not really');
    const r = await run('table', 'info', p);
    expect(r.code).toBe(2);
    expect(r.err[0]).toContain('NOT_A_DELTA_TABLE');
  });

  it('the real command line sets exit codes and writes errors to stderr', () => {
    const r = spawnSync('pnpm', ['-s', 'lakehouse', 'table', 'info', join(FIXTURES, 'simple_table_features')], { cwd: REPO, encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('error[UNSUPPORTED_FEATURE]');
    const ok = spawnSync('pnpm', ['-s', 'lakehouse', 'table', 'history', join(FIXTURES, 'simple_table')], { cwd: REPO, encoding: 'utf8' });
    expect(ok.status).toBe(0);
    expect(ok.stdout.split('\n').filter((l) => /^\s+\d+\s/.test(l))).toHaveLength(5);
  });
});
