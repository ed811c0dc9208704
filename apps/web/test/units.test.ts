import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatBytes, formatCount } from '../src/components/format.js';
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
});
