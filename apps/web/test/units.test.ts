import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareText, formatBytes, formatCompact, formatCount, formatRelative } from '../src/components/format.js';
import { tokenFromInput } from '../src/features/auth/api.js';
import { binSizes } from '../src/features/table/histogram.js';
import { isNested, parseTypeString, typeLabel } from '../src/features/table/typeTree.js';

describe('file-size histogram bins', () => {
  it('puts every size in exactly one bin whose range holds it', () => {
    fc.assert(
      fc.property(fc.oneof(fc.array(fc.integer({ min: 1, max: 2 ** 40 }), { minLength: 1, maxLength: 300 }), fc.integer({ min: 1, max: 2 ** 40 }).chain((base) => fc.array(fc.integer({ min: base, max: base + 3 }), { minLength: 1, maxLength: 300 }))), (sizes) => {
        const bins = binSizes(sizes);
        expect(bins.reduce((n, b) => n + b.files, 0)).toBe(sizes.length);
        for (const s of sizes) {
          const holders = bins.filter((b, i) => s >= b.from && (s < b.to || (i === bins.length - 1 && s <= b.to)));
          expect(holders.length).toBeGreaterThanOrEqual(1);
        }
        expect(new Set(bins.map((b) => b.label)).size).toBe(bins.length);
      }),
    );
  });

  it('uses power-of-two bins for sizes spanning more than a factor 8', () => {
    const bins = binSizes([1024, 2048, 1024 * 1024]);
    expect(bins.map((b) => b.from)).toEqual([1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072, 262144, 524288, 1048576]);
    expect(bins[0].files).toBe(1);
    expect(bins[bins.length - 1].files).toBe(1);
  });

  it('is empty for no files and a single bin for equal sizes', () => {
    expect(binSizes([])).toEqual([]);
    expect(binSizes([5, 5, 5])).toEqual([{ from: 5, to: 5, label: '5 B', files: 3 }]);
  });
});

describe('Delta type strings of the schema view', () => {
  it.each(['long', 'decimal(10,2)', 'array<string>', 'map<string, long>', 'array<map<string, decimal(38,18)>>'])(
    '%s round-trips',
    (s) => {
      expect(typeLabel(parseTypeString(s))).toBe(s);
    },
  );

  it('parses nested structs into a tree and labels them by field count', () => {
    const t = parseTypeString('struct<a: long, b: array<struct<c: date>>>');
    expect(t).toEqual({
      kind: 'struct',
      fields: [
        { name: 'a', type: { kind: 'primitive', name: 'long' } },
        { name: 'b', type: { kind: 'array', element: { kind: 'struct', fields: [{ name: 'c', type: { kind: 'primitive', name: 'date' } }] } } },
      ],
    });
    expect(typeLabel(t)).toBe('struct<2 fields>');
    expect(typeLabel(parseTypeString('map<string, struct<x: double>>'))).toBe('map<string, struct<1 field>>');
    expect(parseTypeString('not a <type')).toEqual({ kind: 'primitive', name: 'not a <type' });
  });

  it('tells nested types from primitives', () => {
    expect(isNested(parseTypeString('struct<a: long>'))).toBe(true);
    expect(isNested(parseTypeString('decimal(38,0)'))).toBe(false);
  });
});

describe('sign-in token input', () => {
  it.each([
    ['lh_abc', 'lh_abc'],
    ['  lh_abc  ', 'lh_abc'],
    ['http://127.0.0.1:8080/login#token=lh_x-y_z', 'lh_x-y_z'],
    ['http://h/login?token=lh_%41B', 'lh_AB'],
  ])('%s -> %s', (input, token) => {
    expect(tokenFromInput(input)).toBe(token);
  });
});

describe('formatting', () => {
  it.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1536, '1.5 KiB'],
    [10 * 1024 ** 3, '10 GiB'],
  ])('formatBytes(%i) = %s', (n, s) => {
    expect(formatBytes(n)).toBe(s);
  });
  it('formatCount groups thousands and shows a dash for unknown', () => {
    expect(formatCount(1234567)).toBe('1,234,567');
    expect(formatCount(null)).toBe('—');
  });

  // The formatters avoid Intl (ICU's setup costs a cold start tens of milliseconds); Intl is the oracle here.
  const seeded = (seed: number) => () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const rnd = seeded(7);
  const samples = [
    0, 1, 7, 999, 1000, 1049, 1050, 1150, 1250, 9999, 12345, 99_949, 99_950, 986_056, 999_949, 999_950, 1e6, 1_234_567, 1.5e9, 2.5e12, 9.99e14,
    0.05, 0.15, 1.0005, 1.15, 12.34, 12.345, 0.1 + 0.2, 1234.5678, 2 ** 53 - 1,
    ...Array.from({ length: 200 }, () => Math.floor(rnd() * 10 ** Math.floor(rnd() * 15))),
    ...Array.from({ length: 100 }, () => Math.round(rnd() * 10 ** Math.floor(rnd() * 8)) / 10 ** Math.floor(rnd() * 5)),
  ];
  const values = [...samples, ...samples.filter((n) => n !== 0).map((n) => -n), -0.0001, -0.04];
  // Intl writes a negative number that rounds to zero as `-0`; the console writes `0`.
  const noNegativeZero = (text: string) => text.replace(/^-0$/, '0');
  it('formatCount is Intl.NumberFormat en-US, for integers and decimals of either sign', () => {
    const intl = new Intl.NumberFormat('en-US');
    for (const n of values) expect(formatCount(n), String(n)).toBe(noNegativeZero(intl.format(n)));
  });
  it('formatCompact is the compact en-US notation with at most one decimal (986.1K, 1M, 1.5B)', () => {
    const intl = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });
    for (const n of values) expect(formatCompact(n), String(n)).toBe(noNegativeZero(intl.format(n)));
    expect(formatCompact(986_056)).toBe('986.1K');
    expect(formatCompact(null)).toBe('—');
  });
  it('formatRelative reads as Intl.RelativeTimeFormat en with numeric "auto" (now, yesterday, 5 minutes ago)', () => {
    const rtf = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });
    const units: [Intl.RelativeTimeFormatUnit, number][] = [['second', 60], ['minute', 60], ['hour', 24], ['day', 30], ['month', 12], ['year', Infinity]];
    const oracle = (seconds: number): string => {
      let v = seconds;
      for (const [unit, size] of units) {
        if (Math.abs(v) < size) return rtf.format(Math.round(v), unit);
        v /= size;
      }
      throw new Error('unreachable');
    };
    const now = Date.parse('2026-11-26T12:00:00Z');
    const offsets = [0, 0.4, -0.4, 1, -1, 59, -59, 60, -60, 89, -90, 3599, 3600, -3600, 86_399, 86_400, -86_400, -129_600, 172_800, 2_592_000, -2_592_000, 31_104_000, -31_104_000, -5e9, 5e10];
    for (const s of [...offsets, ...Array.from({ length: 300 }, () => Math.round((rnd() - 0.5) * 10 ** Math.floor(rnd() * 11)))]) {
      expect(formatRelative(new Date(now + s * 1000).toISOString(), now), String(s)).toBe(oracle(Math.round(s)));
    }
    expect(formatRelative('not a time', now)).toBe('not a time');
  });
  it('compareText orders names by code units, as a plain sort does', () => {
    const names = ['orders', 'order_items', 'Orders', 'customers', 'c2', 'c_1', 'a', ''];
    expect([...names].sort(compareText)).toEqual([...names].sort());
    expect(compareText('same', 'same')).toBe(0);
  });
});
