import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isLakehouseError } from '../src/errors.js';
import type { ObjectInfo, Storage } from '../src/storage/storage.js';

/** A fresh, empty storage and how to dispose of it. */
export interface StorageFixture {
  storage: Storage;
  cleanup(): Promise<void>;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

function bytes(s: string): Uint8Array {
  return enc.encode(s);
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Asserts byte equality with a readable failure (no multi-megabyte diffs). */
function expectBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual).toBeInstanceOf(Uint8Array);
  expect(actual.byteLength).toBe(expected.byteLength);
  if (!bytesEqual(actual, expected)) {
    const i = actual.findIndex((v, j) => v !== expected[j]);
    expect.fail(`bytes differ first at offset ${i}: ${actual[i]} !== ${expected[i]}`);
  }
}

async function expectNotFound(p: Promise<unknown>, key: string): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isLakehouseError(err, 'FILE_NOT_FOUND'), `expected FILE_NOT_FOUND for ${key}, got ${String(err)}`).toBe(true);
  expect((err as Error).message).toContain(key);
}

function keysOf(infos: ObjectInfo[]): string[] {
  return infos.map((o) => o.key);
}

/** A payload of `n` bytes, distinct per `seed` at every offset (so a mix of two payloads is detectable). */
function payload(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed * 101 + (i >> 8)) & 0xff;
  out[0] = seed & 0xff; // seeds < 256 differ at offset 0 too
  return out;
}

/**
 * Registers the Storage contract tests for one adapter. `make` must return an empty storage each time.
 * Keys used never make one key a "directory" of another (`a` and `a/b`), which object stores allow but
 * filesystems cannot represent.
 */
export function storageContract(name: string, make: () => Promise<StorageFixture>): void {
  describe(`Storage contract: ${name}`, () => {
    let fixture: StorageFixture;
    let s: Storage;
    beforeEach(async () => {
      fixture = await make();
      s = fixture.storage;
    });
    afterEach(async () => {
      await fixture.cleanup();
    });

    it('round-trips put/get', async () => {
      await s.put('a.txt', bytes('hello'));
      expect(dec.decode(await s.get('a.txt'))).toBe('hello');
      expect(typeof s.root).toBe('string');
    });

    it('stores arbitrary binary bytes, including zeros and an empty object', async () => {
      const all = new Uint8Array(256 * 3);
      for (let i = 0; i < all.length; i++) all[i] = i % 256;
      all.fill(0, 300, 400);
      await s.put('bin/all.bin', all);
      await s.put('bin/empty.bin', new Uint8Array(0));
      await s.put('bin/zeros.bin', new Uint8Array(1000));
      expectBytes(await s.get('bin/all.bin'), all);
      expectBytes(await s.get('bin/empty.bin'), new Uint8Array(0));
      expectBytes(await s.get('bin/zeros.bin'), new Uint8Array(1000));
      expect((await s.head('bin/empty.bin'))?.size).toBe(0);
    });

    it('does not alias the caller buffer nor the returned buffer', async () => {
      const data = bytes('immutable');
      await s.put('k', data);
      data[0] = 0x58;
      const got = await s.get('k');
      expect(dec.decode(got)).toBe('immutable');
      got[0] = 0x59;
      expect(dec.decode(await s.get('k'))).toBe('immutable');
    });

    describe('ranged get', () => {
      const data = bytes('0123456789abcdefghij'); // 20 bytes
      const cases: { name: string; start: number; end: number; want: string }[] = [
        { name: 'start', start: 0, end: 4, want: '0123' },
        { name: 'middle', start: 7, end: 12, want: '789ab' },
        { name: 'end', start: 16, end: 20, want: 'ghij' },
        { name: 'whole', start: 0, end: 20, want: '0123456789abcdefghij' },
        { name: 'end past the size is clipped', start: 15, end: 100, want: 'fghij' },
        { name: 'empty range', start: 5, end: 5, want: '' },
        { name: 'start at the size', start: 20, end: 30, want: '' },
        { name: 'start past the size', start: 25, end: 30, want: '' },
      ];
      for (const c of cases) {
        it(`${c.name}: [${c.start}, ${c.end})`, async () => {
          await s.put('r/data.bin', data);
          const got = await s.get('r/data.bin', { start: c.start, end: c.end });
          expect(got).toBeInstanceOf(Uint8Array);
          expect(dec.decode(got)).toBe(c.want);
        });
      }

      it('of a missing key is FILE_NOT_FOUND', async () => {
        await expectNotFound(s.get('r/missing.bin', { start: 0, end: 4 }), 'r/missing.bin');
      });

      it('of a large object returns exact bytes at a far offset', async () => {
        const big = payload(3 * 1024 * 1024 + 17, 9);
        await s.put('r/big.bin', big);
        const start = 2 * 1024 * 1024 + 5;
        expectBytes(await s.get('r/big.bin', { start, end: start + 70_000 }), big.slice(start, start + 70_000));
        expectBytes(await s.get('r/big.bin', { start: big.length - 3, end: big.length + 1000 }), big.slice(-3));
      });
    });

    it('head reports key and size for a present object and null for an absent one', async () => {
      await s.put('h/x.bin', bytes('12345'));
      const h = await s.head('h/x.bin');
      expect(h).not.toBeNull();
      expect(h?.key).toBe('h/x.bin');
      expect(h?.size).toBe(5);
      expect(Number.isFinite(h?.lastModified)).toBe(true);
      expect(await s.head('h/y.bin')).toBeNull();
      expect(await s.head('nope/y.bin')).toBeNull();
    });

    it('a key prefix that is only a "directory" is not an object', async () => {
      await s.put('d/sub/f.bin', bytes('x'));
      expect(await s.head('d/sub')).toBeNull();
      expect(await s.head('d')).toBeNull();
      await expectNotFound(s.get('d/sub'), 'd/sub');
      await s.delete('d/sub'); // not an object: no-op
      expect(dec.decode(await s.get('d/sub/f.bin'))).toBe('x');
    });

    it('get of a missing key is FILE_NOT_FOUND naming the key', async () => {
      await expectNotFound(s.get('missing/key.json'), 'missing/key.json');
      await s.put('file.bin', bytes('x'));
      await expectNotFound(s.get('file.bin/child'), 'file.bin/child');
    });

    it('lists by prefix, sorted by key, with sizes and only matching keys', async () => {
      const keys = ['t/b.bin', 't/a.bin', 't/c/d.bin', 'u/a.bin', 'top.bin', 't/aa.bin'];
      for (const [i, k] of keys.entries()) await s.put(k, new Uint8Array(i + 1));
      const listed = await s.list('t/');
      expect(keysOf(listed)).toEqual(['t/a.bin', 't/aa.bin', 't/b.bin', 't/c/d.bin']);
      expect(listed.map((o) => o.size)).toEqual([2, 6, 1, 3]);
      for (const o of listed) expect(Number.isFinite(o.lastModified)).toBe(true);
      expect(keysOf(await s.list(''))).toEqual(['t/a.bin', 't/aa.bin', 't/b.bin', 't/c/d.bin', 'top.bin', 'u/a.bin']);
    });

    it('sorts by the whole key, not directory by directory', async () => {
      // '-' (0x2d) < '.' (0x2e) < '/' (0x2f) < '0' (0x30): a nested key sorts between siblings.
      const keys = ['x/a0', 'x/a/b', 'x/a.b', 'x/a-b', 'x/a/a/z', 'x/a_'];
      for (const k of keys) await s.put(k, bytes(k));
      expect(keysOf(await s.list('x/'))).toEqual(['x/a-b', 'x/a.b', 'x/a/a/z', 'x/a/b', 'x/a0', 'x/a_']);
    });

    it('lists with a prefix that ends mid-name', async () => {
      const log = 't/_delta_log/';
      const keys = [
        `${log}00000000000000000000.json`,
        `${log}00000000000000000001.json`,
        `${log}00000000000000000010.checkpoint.parquet`,
        `${log}00000000000000000010.json`,
        `${log}00000000000000000100.json`,
        `${log}_last_checkpoint`,
        't/part-0.parquet',
        'tt/x.bin',
      ];
      for (const k of [...keys].reverse()) await s.put(k, bytes(k));
      expect(keysOf(await s.list(`${log}000000000000000000`))).toEqual(keys.slice(0, 4));
      expect(keysOf(await s.list(`${log}0000000000000000001`))).toEqual(keys.slice(2, 4));
      expect(keysOf(await s.list(`${log}_`))).toEqual([`${log}_last_checkpoint`]);
      // The partial name may also match a directory, which is then listed recursively.
      expect(keysOf(await s.list('t/_de'))).toEqual(keys.slice(0, 6));
      expect(keysOf(await s.list('t'))).toEqual(keys);
      expect(keysOf(await s.list('t/part'))).toEqual(['t/part-0.parquet']);
      // A prefix equal to a whole key lists that key.
      expect(keysOf(await s.list(`${log}_last_checkpoint`))).toEqual([`${log}_last_checkpoint`]);
    });

    it('lists with startAfter (strictly greater keys only)', async () => {
      const log = 't/_delta_log/';
      const keys = [0, 1, 2, 3, 4].map((v) => `${log}${String(v).padStart(20, '0')}.json`);
      for (const k of keys) await s.put(k, bytes(k));
      expect(keysOf(await s.list(log, { startAfter: keys[1] }))).toEqual(keys.slice(2));
      expect(keysOf(await s.list(log, { startAfter: `${log}00000000000000000002` }))).toEqual(keys.slice(2));
      expect(keysOf(await s.list(log, { startAfter: keys[4] }))).toEqual([]);
      expect(keysOf(await s.list(log, { startAfter: 'a' }))).toEqual(keys);
      expect(keysOf(await s.list(log, { startAfter: 'u' }))).toEqual([]);
    });

    it('startAfter works across directory boundaries', async () => {
      const keys = ['a/b/c', 'a/b/d/e', 'a/b2', 'a/c'];
      for (const k of keys) await s.put(k, bytes(k));
      const cases: [string, string[]][] = [
        ['a/', keys],
        ['a/b', keys],
        ['a/b/', keys],
        ['a/b/c', ['a/b/d/e', 'a/b2', 'a/c']],
        ['a/b/d', ['a/b/d/e', 'a/b2', 'a/c']],
        ['a/b/z', ['a/b2', 'a/c']],
        ['a/b0', ['a/b2', 'a/c']],
        ['a/b2', ['a/c']],
        ['a/c', []],
      ];
      for (const [startAfter, want] of cases) {
        expect(keysOf(await s.list('a/', { startAfter })), `startAfter ${startAfter}`).toEqual(want);
      }
    });

    it('lists a missing prefix as empty', async () => {
      expect(await s.list('')).toEqual([]);
      await s.put('t/_delta_log/00000000000000000000.json', bytes('{}'));
      expect(await s.list('nope/')).toEqual([]);
      expect(await s.list('nope')).toEqual([]);
      expect(await s.list('nope/deeper/still/')).toEqual([]);
      expect(await s.list('t/_delta_log/zzz')).toEqual([]);
      expect(await s.list('t/_delta_log/00000000000000000000.json/')).toEqual([]);
    });

    it('handles deeply nested keys', async () => {
      const deep = 'a/b/c/d/e/f/g/h.bin';
      await s.put(deep, bytes('deep'));
      await s.put('a/b/x.bin', bytes('x'));
      expect(dec.decode(await s.get(deep))).toBe('deep');
      expect(keysOf(await s.list('a/b/c/'))).toEqual([deep]);
      expect(keysOf(await s.list('a/'))).toEqual([deep, 'a/b/x.bin']);
      expect((await s.head(deep))?.size).toBe(4);
    });

    it('put replaces an existing object', async () => {
      await s.put('p.bin', bytes('first version'));
      await s.put('p.bin', bytes('second'));
      expect(dec.decode(await s.get('p.bin'))).toBe('second');
      expect((await s.head('p.bin'))?.size).toBe(6);
      const listed = await s.list('p');
      expect(listed.map((o) => [o.key, o.size])).toEqual([['p.bin', 6]]);
    });

    it('putIfAbsent creates a new object and refuses an existing one, keeping the old bytes', async () => {
      expect(await s.putIfAbsent('c/0.json', bytes('winner'))).toBe(true);
      expect(dec.decode(await s.get('c/0.json'))).toBe('winner');
      expect(await s.putIfAbsent('c/0.json', bytes('loser, longer payload'))).toBe(false);
      expect(dec.decode(await s.get('c/0.json'))).toBe('winner');
      expect((await s.head('c/0.json'))?.size).toBe(6);
      await s.put('c/1.json', bytes('by put'));
      expect(await s.putIfAbsent('c/1.json', bytes('no'))).toBe(false);
      expect(dec.decode(await s.get('c/1.json'))).toBe('by put');
      expect(keysOf(await s.list('c/'))).toEqual(['c/0.json', 'c/1.json']);
    });

    it('delete removes the object; get is then FILE_NOT_FOUND', async () => {
      await s.put('del/x.bin', bytes('x'));
      await s.put('del/y.bin', bytes('y'));
      await s.delete('del/x.bin');
      await expectNotFound(s.get('del/x.bin'), 'del/x.bin');
      expect(await s.head('del/x.bin')).toBeNull();
      expect(keysOf(await s.list('del/'))).toEqual(['del/y.bin']);
      // After a delete the key can be created again, even with putIfAbsent.
      expect(await s.putIfAbsent('del/x.bin', bytes('again'))).toBe(true);
      expect(dec.decode(await s.get('del/x.bin'))).toBe('again');
    });

    it('delete of a missing key is not an error', async () => {
      await expect(s.delete('never/was.bin')).resolves.toBeUndefined();
      await s.put('once.bin', bytes('1'));
      await s.delete('once.bin');
      await expect(s.delete('once.bin')).resolves.toBeUndefined();
    });

    it('16 concurrent putIfAbsent racers on one key: exactly one wins and its bytes are stored', async () => {
      for (let round = 0; round < 5; round++) {
        const key = `race/${round}/00000000000000000001.json`;
        const payloads = Array.from({ length: 16 }, (_, i) => payload(1000 + i * 37, i + 1));
        const results = await Promise.all(payloads.map((p) => s.putIfAbsent(key, p)));
        const winners = results.flatMap((won, i) => (won ? [i] : []));
        expect(winners, `round ${round}`).toHaveLength(1);
        expectBytes(await s.get(key), payloads[winners[0]]);
        expect(keysOf(await s.list(`race/${round}/`))).toEqual([key]);
      }
    });

    it('a reader polling during concurrent putIfAbsent of 4 MiB never sees a partial object', async () => {
      const key = 'big/00000000000000000007.json';
      const size = 4 * 1024 * 1024;
      const payloads = [1, 2, 3, 4].map((seed) => payload(size, seed));
      let done = false;
      let polls = 0;
      const seen: string[] = [];
      const reader = async (): Promise<void> => {
        while (!done) {
          polls++;
          try {
            const got = await s.get(key);
            const which = payloads.findIndex((p) => bytesEqual(got, p));
            seen.push(which >= 0 ? `payload ${which}` : `partial or mixed object of ${got.byteLength} bytes`);
          } catch (e) {
            if (!isLakehouseError(e, 'FILE_NOT_FOUND')) throw e;
          }
          const h = await s.head(key);
          if (h !== null && h.size !== size) seen.push(`head size ${h.size}`);
          const listed = await s.list('big/');
          for (const o of listed) if (o.size !== size) seen.push(`listed size ${o.size}`);
          await new Promise((r) => setTimeout(r, 0));
        }
      };
      const readers = [reader(), reader()];
      const results = await Promise.all(payloads.map((p) => s.putIfAbsent(key, p)));
      done = true;
      await Promise.all(readers);
      const winner = results.indexOf(true);
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(polls).toBeGreaterThan(0);
      expect(seen.filter((v) => v !== `payload ${winner}`)).toEqual([]);
      expectBytes(await s.get(key), payloads[winner]);
    });

    it('matches an in-memory model under random operations (property)', async () => {
      const dirs = ['a', 'a-b', 'a.b', 'd0', '_delta_log'];
      const leaves = ['f.bin', 'a.bin', 'g-1.bin', '00000000000000000001.json', '00000000000000000010.json'];
      const keyArb = fc
        .tuple(fc.array(fc.constantFrom(...dirs), { maxLength: 2 }), fc.constantFrom(...leaves))
        .map(([ds, leaf]) => [...ds, leaf].join('/'));
      const opArb = fc.oneof(
        fc.record({ op: fc.constant('put' as const), key: keyArb, n: fc.nat(40) }),
        fc.record({ op: fc.constant('putIfAbsent' as const), key: keyArb, n: fc.nat(40) }),
        fc.record({ op: fc.constant('delete' as const), key: keyArb, n: fc.constant(0) }),
      );
      let run = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(opArb, { maxLength: 25 }),
          fc.array(fc.tuple(keyArb, fc.nat(12), fc.option(keyArb, { nil: undefined })), { minLength: 1, maxLength: 5 }),
          async (ops, queries) => {
            const base = `prop${run++}/`;
            const model = new Map<string, Uint8Array>();
            for (const [i, o] of ops.entries()) {
              const key = base + o.key;
              const data = payload(o.n, i);
              if (o.op === 'put') {
                await s.put(key, data);
                model.set(key, data);
              } else if (o.op === 'putIfAbsent') {
                const won = await s.putIfAbsent(key, data);
                expect(won).toBe(!model.has(key));
                if (won) model.set(key, data);
              } else {
                await s.delete(key);
                model.delete(key);
              }
            }
            const sorted = [...model.keys()].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
            for (const [qKey, cut, after] of queries) {
              // Any string prefix of a key shape, possibly ending mid-name.
              const prefix = base + qKey.slice(0, Math.max(0, qKey.length - cut));
              const startAfter = after === undefined ? undefined : base + after;
              const want = sorted.filter((k) => k.startsWith(prefix) && (startAfter === undefined || k > startAfter));
              const got = await s.list(prefix, startAfter === undefined ? {} : { startAfter });
              expect(got.map((o) => [o.key, o.size])).toEqual(want.map((k) => [k, model.get(k)?.byteLength]));
            }
            for (const [k, v] of model) expectBytes(await s.get(k), v);
          },
        ),
        { numRuns: 40 },
      );
    });
  });
}
