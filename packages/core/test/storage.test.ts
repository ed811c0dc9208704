import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, symlink, writeFile, mkdir, utimes } from 'node:fs/promises';
import * as fsp from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isLakehouseError } from '../src/errors.js';
import { FsStorage } from '../src/node/fs-storage.js';
import { FsStorage as FsStorageFromIndex } from '../src/node/index.js';
import { MemoryStorage } from '../src/storage/memory.js';
import { DelegatingStorage, ManualClock } from '../src/storage/storage.js';
import { storageContract } from './storage-contract.js';

// Pass-through spies so tests can check which directories `list` reads.
vi.mock('node:fs/promises', async (importOriginal) => {
  const orig = await importOriginal<typeof import('node:fs/promises')>();
  return { ...orig, readdir: vi.fn(orig.readdir), stat: vi.fn(orig.stat) };
});

async function tempRoot(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), 'lh-fs-storage-'));
}

storageContract('MemoryStorage', async () => ({ storage: new MemoryStorage(), cleanup: async () => undefined }));

storageContract('FsStorage', async () => {
  const dir = await tempRoot();
  return { storage: new FsStorage(dir), cleanup: () => rm(dir, { recursive: true, force: true }) };
});

// A pass-through wrapper keeps every guarantee of the storage it wraps.
storageContract('DelegatingStorage(MemoryStorage)', async () => ({ storage: new DelegatingStorage(new MemoryStorage()), cleanup: async () => undefined }));
storageContract('DelegatingStorage(FsStorage)', async () => {
  const dir = await tempRoot();
  return { storage: new DelegatingStorage(new FsStorage(dir)), cleanup: () => rm(dir, { recursive: true, force: true }) };
});

describe('DelegatingStorage', () => {
  it('has localPath exactly when the wrapped storage has it, with its answers', async () => {
    const dir = await tempRoot();
    try {
      const fs = new FsStorage(dir);
      expect(new DelegatingStorage(fs).localPath?.('a/b.json')).toBe(fs.localPath('a/b.json'));
      expect(new DelegatingStorage(new MemoryStorage()).localPath).toBeUndefined();
      expect(new DelegatingStorage(fs).root).toBe(fs.root);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

const enc = new TextEncoder();
const dec = new TextDecoder();

async function errorOf(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => undefined,
    (e: unknown) => e,
  );
}

describe('FsStorage specifics', () => {
  let dir: string;
  let s: FsStorage;
  beforeEach(async () => {
    dir = await tempRoot();
    s = new FsStorage(dir);
  });
  afterEach(async () => {
    vi.mocked(fsp.readdir).mockClear();
    vi.mocked(fsp.stat).mockClear();
    await rm(dir, { recursive: true, force: true });
  });

  it('is exported from the node entry', () => {
    expect(FsStorageFromIndex).toBe(FsStorage);
  });

  const badKeys = ['../x', '..', 'a/../../x', 'a/..', '/etc/passwd', 'a//b', 'a/', './a', 'a/./b', '', 'a\0b', '.lh-tmp-0123456789abcdef01234567'];
  for (const key of badKeys) {
    it(`refuses key ${JSON.stringify(key)} with INVALID_INPUT in every operation`, async () => {
      const ops: [string, () => Promise<unknown>][] = [
        ['get', () => s.get(key)],
        ['head', () => s.head(key)],
        ['put', () => s.put(key, enc.encode('x'))],
        ['putIfAbsent', () => s.putIfAbsent(key, enc.encode('x'))],
        ['delete', () => s.delete(key)],
        ['localPath', async () => s.localPath(key)],
      ];
      for (const [op, run] of ops) {
        const err = await errorOf(run());
        expect(isLakehouseError(err, 'INVALID_INPUT'), `${op}(${JSON.stringify(key)}) gave ${String(err)}`).toBe(true);
      }
      // Nothing was written anywhere, in particular not outside the root.
      expect(await readdir(dir)).toEqual([]);
    });
  }

  it('refuses list prefixes that escape the root', async () => {
    for (const prefix of ['../', '../x', 'a/../b', '/etc/', 'a//b']) {
      const err = await errorOf(s.list(prefix));
      expect(isLakehouseError(err, 'INVALID_INPUT'), `list(${prefix}) gave ${String(err)}`).toBe(true);
    }
  });

  it('localPath is the absolute file path of the key', async () => {
    await s.put('t/_delta_log/00000000000000000000.json', enc.encode('{"a":1}'));
    const p = s.localPath('t/_delta_log/00000000000000000000.json');
    expect(path.isAbsolute(p)).toBe(true);
    expect(p).toBe(path.join(dir, 't', '_delta_log', '00000000000000000000.json'));
    expect(await readFile(p, 'utf8')).toBe('{"a":1}');
    expect(s.root).toBe(path.resolve(dir));
  });

  it('leaves no temp files behind and never lists temp files', async () => {
    await s.put('t/a.bin', enc.encode('a'));
    await s.put('t/a.bin', enc.encode('b'));
    expect(await s.putIfAbsent('t/b.bin', enc.encode('b'))).toBe(true);
    expect(await s.putIfAbsent('t/b.bin', enc.encode('c'))).toBe(false);
    expect((await readdir(path.join(dir, 't'))).sort()).toEqual(['a.bin', 'b.bin']);
    // A temp file left by a crashed writer is invisible; other dot-files (e.g. Hadoop .crc) are objects.
    await writeFile(path.join(dir, 't', '.lh-tmp-00112233445566778899aabb'), 'partial');
    await writeFile(path.join(dir, 't', '.a.bin.crc'), 'crc');
    expect((await s.list('t/')).map((o) => o.key)).toEqual(['t/.a.bin.crc', 't/a.bin', 't/b.bin']);
  });

  it('list reads only the prefix directory, and stats only matching files', async () => {
    const log = path.join(dir, 't', '_delta_log');
    await mkdir(log, { recursive: true });
    for (let v = 0; v < 3000; v++) await writeFile(path.join(log, `${String(v).padStart(20, '0')}.json`), '{}');
    await mkdir(path.join(dir, 't', 'data', 'p=1'), { recursive: true });
    await writeFile(path.join(dir, 't', 'data', 'p=1', 'x.parquet'), 'x');
    await mkdir(path.join(dir, 'other'), { recursive: true });
    const readdirSpy = vi.mocked(fsp.readdir);
    const statSpy = vi.mocked(fsp.stat);
    readdirSpy.mockClear();
    statSpy.mockClear();

    const t0 = performance.now();
    const some = await s.list('t/_delta_log/0000000000000000299');
    const ms = performance.now() - t0;
    expect(some.map((o) => o.key)).toEqual(
      Array.from({ length: 10 }, (_, i) => `t/_delta_log/${String(2990 + i).padStart(20, '0')}.json`),
    );
    expect(readdirSpy.mock.calls.map((c) => c[0])).toEqual([log]);
    expect(statSpy).toHaveBeenCalledTimes(10);
    expect(ms).toBeLessThan(2000);

    readdirSpy.mockClear();
    statSpy.mockClear();
    const after = await s.list('t/_delta_log/', { startAfter: `t/_delta_log/${String(2994).padStart(20, '0')}.json` });
    expect(after).toHaveLength(5);
    expect(readdirSpy.mock.calls.map((c) => c[0])).toEqual([log]);
    expect(statSpy).toHaveBeenCalledTimes(5);

    const all = await s.list('t/_delta_log/');
    expect(all).toHaveLength(3000);
    expect(all.every((o, i) => i === 0 || all[i - 1].key < o.key)).toBe(true);
  });

  it('lastModified is the file mtime in epoch ms', async () => {
    await s.put('m.bin', enc.encode('m'));
    const when = new Date(Date.UTC(2023, 4, 6, 7, 8, 9));
    await utimes(s.localPath('m.bin'), when, when);
    expect((await s.head('m.bin'))?.lastModified).toBe(when.getTime());
    expect((await s.list('m'))[0].lastModified).toBe(when.getTime());
  });

  it('with an injected clock, written files take their mtime from it', async () => {
    const clock = new ManualClock(Date.UTC(2020, 0, 2, 3, 4, 5));
    const cs = new FsStorage(dir, clock);
    await cs.put('c/a.bin', enc.encode('a'));
    clock.advance(60_000);
    expect(await cs.putIfAbsent('c/b.bin', enc.encode('b'))).toBe(true);
    const listed = await cs.list('c/');
    expect(listed.map((o) => o.lastModified)).toEqual([Date.UTC(2020, 0, 2, 3, 4, 5), Date.UTC(2020, 0, 2, 3, 5, 5)]);
  });

  it('symlinked files are objects; symlinked directories are not followed', async () => {
    await s.put('real/f.bin', enc.encode('data'));
    await symlink(path.join(dir, 'real', 'f.bin'), path.join(dir, 'real', 'link.bin'));
    await symlink(path.join(dir, 'real'), path.join(dir, 'loop'));
    expect((await s.list('')).map((o) => [o.key, o.size])).toEqual([
      ['real/f.bin', 4],
      ['real/link.bin', 4],
    ]);
    expect(dec.decode(await s.get('real/link.bin'))).toBe('data');
  });

  it('refuses a put where a directory is in the way, naming the path', async () => {
    await s.put('x/y/z.bin', enc.encode('z'));
    const err = await errorOf(s.put('x/y', enc.encode('file over dir')));
    expect(isLakehouseError(err, 'STORAGE_ERROR')).toBe(true);
    expect((err as Error).message).toContain(path.join(dir, 'x', 'y'));
    const err2 = await errorOf(s.put('x/y/z.bin/w', enc.encode('under a file')));
    expect(isLakehouseError(err2, 'STORAGE_ERROR')).toBe(true);
    expect((err2 as Error).message).toContain(path.join(dir, 'x', 'y', 'z.bin'));
    expect(await readdir(path.join(dir, 'x', 'y'))).toEqual(['z.bin']);
  });

  it('refuses invalid byte ranges with INVALID_INPUT', async () => {
    await s.put('r.bin', enc.encode('0123456789'));
    for (const range of [
      { start: -1, end: 3 },
      { start: 5, end: 4 },
      { start: 0.5, end: 3 },
    ]) {
      expect(isLakehouseError(await errorOf(s.get('r.bin', range)), 'INVALID_INPUT')).toBe(true);
    }
    // A huge end is clipped to the size rather than allocated.
    expect(dec.decode(await s.get('r.bin', { start: 8, end: Number.MAX_SAFE_INTEGER }))).toBe('89');
  });

  it('4 processes racing putIfAbsent on the same keys: exactly one wins each key', async () => {
    const require = createRequire(import.meta.url);
    const tsxLoader = pathToFileURL(require.resolve('tsx')).href;
    const adapterUrl = pathToFileURL(path.join(path.dirname(fileURLToPath(import.meta.url)), '../src/node/fs-storage.ts')).href;
    const rounds = 30;
    const script = `
      import { FsStorage } from ${JSON.stringify(adapterUrl)};
      import { once } from 'node:events';
      const [root, id, rounds] = process.argv.slice(-3);
      const s = new FsStorage(root);
      const payload = new TextEncoder().encode('writer ' + id + ' '.repeat(Number(id) * 100));
      process.stdout.write('ready\\n');
      const [go] = await once(process.stdin, 'data');
      const t0 = Number(String(go).trim());
      const won = [];
      for (let r = 0; r < Number(rounds); r++) {
        // Every round starts at the same wall-clock instant in all processes.
        while (Date.now() < t0 + r * 25) {}
        if (await s.putIfAbsent('t/_delta_log/' + String(r).padStart(20, '0') + '.json', payload)) won.push(r);
      }
      process.stdout.write(JSON.stringify(won) + '\\n');
      process.exit(0);
    `;
    const children = [0, 1, 2, 3].map((id) => {
      const child = spawn(process.execPath, ['--import', tsxLoader, '--input-type=module', '-e', script, '--', dir, String(id), String(rounds)], {
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const ready = new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (out.includes('ready\n')) resolve();
        };
        child.stdout.on('data', check);
        child.on('exit', (code) => reject(new Error(`child ${id} exited early (${code}): ${err}`)));
      });
      const done = new Promise<number[]>((resolve, reject) => {
        child.on('exit', (code) => {
          if (code !== 0) reject(new Error(`child ${id} failed (${code}): ${err}`));
          else resolve(JSON.parse(out.split('\n')[1]) as number[]);
        });
      });
      return { child, ready, done };
    });
    await Promise.all(children.map((c) => c.ready));
    const t0 = Date.now() + 100;
    for (const c of children) c.child.stdin.write(`${t0}\n`);
    const wins = await Promise.all(children.map((c) => c.done));

    for (let r = 0; r < rounds; r++) {
      const winners = wins.flatMap((w, id) => (w.includes(r) ? [id] : []));
      expect(winners, `round ${r}`).toHaveLength(1);
      const key = `t/_delta_log/${String(r).padStart(20, '0')}.json`;
      expect(dec.decode(await s.get(key))).toBe(`writer ${winners[0]}${' '.repeat(winners[0] * 100)}`);
    }
    expect((await s.list('t/_delta_log/')).length).toBe(rounds);
    expect((await readdir(path.join(dir, 't', '_delta_log'))).filter((n) => n.startsWith('.'))).toEqual([]);
  });
});
