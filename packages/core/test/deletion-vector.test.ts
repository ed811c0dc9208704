import { readFileSync, readdirSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AddAction, DeletionVectorDescriptor } from '../src/delta/actions.js';
import {
  crc32,
  deletionVectorPathOrInlineDv,
  deletionVectorRelativePath,
  deletionVectorUniqueId,
  encodeDeletionVectorFile,
  inlineDeletionVectorDescriptor,
  loadDeletionVector,
  parseRoaringBitmapArray,
  serializeRoaringBitmapArray,
} from '../src/delta/deletion-vector.js';
import { LakehouseError } from '../src/errors.js';
import { z85Decode, z85Encode, z85EncodePadded } from '../src/delta/z85.js';
import { FIXTURES_DIR } from './support/fixtures.js';

const TABLES = FIXTURES_DIR;
const DV_TABLE = `${TABLES}table-with-dv-small/`;
const FIXTURE_DV_FILE = 'deletion_vector_61d16c75-6994-46b7-a15b-8b538852e50e.bin';

type ReadFile = (path: string, range: { start: number; end: number }) => Promise<Uint8Array>;

/** A readFile over in-memory files that records each request. */
function memoryReader(files: Record<string, Uint8Array>, calls: string[] = []): ReadFile {
  return async (path, range) => {
    calls.push(`${path}[${range.start},${range.end})`);
    const f = files[path];
    if (f === undefined) throw new LakehouseError('FILE_NOT_FOUND', `no file ${path}`);
    return f.slice(range.start, range.end);
  };
}

const noFiles: ReadFile = async (path) => {
  throw new Error(`readFile must not be called for an inline DV (asked for ${path})`);
};

async function expectLakehouseError(p: Promise<unknown> | (() => unknown), code: string, messagePart: RegExp): Promise<void> {
  let error: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(LakehouseError);
  expect((error as LakehouseError).code).toBe(code);
  expect((error as LakehouseError).message).toMatch(messagePart);
}

/** Little-endian byte builder for hand-made Roaring payloads. */
class Bytes {
  private readonly out: number[] = [];
  u8(v: number): this {
    this.out.push(v & 0xff);
    return this;
  }
  u16(v: number): this {
    return this.u8(v).u8(v >>> 8);
  }
  u32(v: number): this {
    return this.u16(v & 0xffff).u16(v >>> 16);
  }
  raw(b: Uint8Array): this {
    for (const x of b) this.out.push(x);
    return this;
  }
  get length(): number {
    return this.out.length;
  }
  build(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

describe('Z85', () => {
  it('matches the ZeroMQ RFC 32 test vector', () => {
    const bytes = Uint8Array.from([0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b]);
    expect(z85Encode(bytes)).toBe('HelloWorld');
    expect(Array.from(z85Decode('HelloWorld'))).toEqual(Array.from(bytes));
  });

  it('round trips any byte string whose length is a multiple of 4', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 64 }).map((a) => a.slice(0, a.length - (a.length % 4))),
        (arr) => {
          const bytes = Uint8Array.from(arr);
          const s = z85Encode(bytes);
          expect(s.length).toBe((bytes.length / 4) * 5);
          expect(Array.from(z85Decode(s))).toEqual(arr);
        },
      ),
    );
  });

  it('pads to a multiple of 4 with zeros when asked', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        const decoded = z85Decode(z85EncodePadded(bytes));
        expect(decoded.length - bytes.length).toBeGreaterThanOrEqual(0);
        expect(decoded.length - bytes.length).toBeLessThan(4);
        expect(Array.from(decoded.subarray(0, bytes.length))).toEqual(Array.from(bytes));
        expect(decoded.subarray(bytes.length).every((b) => b === 0)).toBe(true);
      }),
    );
  });

  it.each([
    ['Hell', /multiple of 5/],
    ['Hello World', /multiple of 5/],
    ['Hell~', /invalid Z85 character/],
    ['Hell"', /invalid Z85 character/],
    ['#####', /exceeds 32 bits/],
  ])('refuses %j', async (s, message) => {
    await expectLakehouseError(() => z85Decode(s), 'INVALID_INPUT', message);
  });

  it('refuses to encode a length that is not a multiple of 4', async () => {
    await expectLakehouseError(() => z85Encode(new Uint8Array(3)), 'INVALID_INPUT', /multiple of 4/);
  });
});

describe('derived fields', () => {
  const u = (pathOrInlineDv: string): DeletionVectorDescriptor => ({
    storageType: 'u',
    pathOrInlineDv,
    offset: 1,
    sizeInBytes: 36,
    cardinality: 2,
  });

  it.each([
    // PROTOCOL.md "JSON Example 1": random prefix "ab" + Z85 UUID.
    ['ab^-aqEH.-t@S}K{vb[*k^', 'ab/deletion_vector_d2c639aa-8816-431a-aaf6-d3fe2512ff61.bin'],
    // The golden table's descriptor: no prefix, and the file exists next to the data file.
    ['vBn[lx{q8@P<9BNH/isA', FIXTURE_DV_FILE],
  ])('relative path of %j is %s', (pathOrInlineDv, expected) => {
    expect(deletionVectorRelativePath(u(pathOrInlineDv))).toBe(expected);
  });

  it('the golden descriptor names a file that exists in the table folder', () => {
    expect(readdirSync(DV_TABLE)).toContain(FIXTURE_DV_FILE);
  });

  it('round trips UUIDs and prefixes through pathOrInlineDv', () => {
    fc.assert(
      fc.property(fc.uuid(), fc.stringMatching(/^[a-zA-Z0-9]{0,3}$/), (uuid, prefix) => {
        const encoded = deletionVectorPathOrInlineDv(uuid, prefix);
        expect(encoded.length).toBe(prefix.length + 20);
        const expected = `${prefix ? `${prefix}/` : ''}deletion_vector_${uuid.toLowerCase()}.bin`;
        expect(deletionVectorRelativePath(u(encoded))).toBe(expected);
      }),
    );
  });

  it('encodes the protocol example UUID to its Z85 form', () => {
    expect(deletionVectorPathOrInlineDv('d2c639aa-8816-431a-aaf6-d3fe2512ff61', 'ab')).toBe('ab^-aqEH.-t@S}K{vb[*k^');
  });

  it.each([
    [{ ...u('short'), storageType: 'u' as const }, 'CORRUPT_LOG', /shorter than/],
    [u('ab~~~~~~~~~~~~~~~~~~~~'), 'CORRUPT_LOG', /Z85/],
    [{ storageType: 'p' as const, pathOrInlineDv: 's3://x/y.bin', offset: 1, sizeInBytes: 1, cardinality: 1 }, 'INVALID_INPUT', /storageType 'p'/],
  ])('relative path refuses %j', async (dv, code, message) => {
    await expectLakehouseError(() => deletionVectorRelativePath(dv), code, message);
  });

  it.each<[DeletionVectorDescriptor, string]>([
    [u('ab^-aqEH.-t@S}K{vb[*k^'), 'uab^-aqEH.-t@S}K{vb[*k^@1'],
    [{ storageType: 'u', pathOrInlineDv: 'vBn[lx{q8@P<9BNH/isA', offset: 0, sizeInBytes: 36, cardinality: 2 }, 'uvBn[lx{q8@P<9BNH/isA@0'],
    [{ storageType: 'p', pathOrInlineDv: 's3://t/dv.bin', offset: 4, sizeInBytes: 40, cardinality: 6 }, 'ps3://t/dv.bin@4'],
    [{ storageType: 'i', pathOrInlineDv: 'wi5b=000010000', sizeInBytes: 40, cardinality: 6 }, 'iwi5b=000010000'],
  ])('unique id of %j is %s', (dv, expected) => {
    expect(deletionVectorUniqueId(dv)).toBe(expected);
  });
});

describe('RoaringBitmapArray', () => {
  // Sorted unique sets mixing sparse values anywhere up to 2^53 - 1 (so several 32-bit buckets)
  // with dense runs long enough (> 4096 per 16-bit container) to need bitmap containers.
  const segment = fc.record({
    start: fc.oneof(fc.integer({ min: 0, max: 200_000 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER - 20_000 })),
    length: fc.oneof(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 4000, max: 20_000 })),
    step: fc.integer({ min: 1, max: 3 }),
  });
  const rowSets = fc
    .tuple(fc.array(segment, { maxLength: 6 }), fc.array(fc.maxSafeNat(), { maxLength: 20 }))
    .map(([segments, singles]) => {
      const set = new Set<number>(singles);
      for (const { start, length, step } of segments) {
        for (let i = 0; i < length; i++) set.add(Math.min(start + i * step, Number.MAX_SAFE_INTEGER));
      }
      return [...set].sort((a, b) => a - b);
    });

  it('round trips random sorted sets, including values >= 2^32 and dense ranges', () => {
    fc.assert(
      fc.property(rowSets, (rows) => {
        expect(parseRoaringBitmapArray(serializeRoaringBitmapArray(rows))).toEqual(rows);
      }),
      { numRuns: 60 },
    );
  });

  it('uses a bitmap container (8 KiB) above 4096 values and an array container up to 4096', () => {
    const range = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => from + i);
    // magic 4 + bucket count 8 + key 4 + cookie 4 + container count 4 + (descriptor 4 + offset 4) per container
    const header = 4 + 8 + 4 + 4 + 4 + 8;
    expect(serializeRoaringBitmapArray(range(4096)).length).toBe(header + 2 * 4096);
    expect(serializeRoaringBitmapArray(range(4097)).length).toBe(header + 8192);
    const rows = [...range(5000, 2 ** 40), 2 ** 40 + 70_000];
    expect(parseRoaringBitmapArray(serializeRoaringBitmapArray(rows))).toEqual(rows);
  });

  it('serializes an empty set as zero buckets', () => {
    const bytes = serializeRoaringBitmapArray([]);
    expect(bytes.length).toBe(12);
    expect(parseRoaringBitmapArray(bytes)).toEqual([]);
  });

  it('matches delta-kernel bytes for the protocol example rows 3, 4, 7, 11, 18, 29', async () => {
    // Portable encoding of PROTOCOL.md's example rows as used by delta-kernel's tests (sizeInBytes 44).
    const z85 = '^Bg9^0rr910000000000iXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L';
    const rows = [3, 4, 7, 11, 18, 29];
    expect(z85Encode(serializeRoaringBitmapArray(rows))).toBe(z85);
    const dv: DeletionVectorDescriptor = { storageType: 'i', pathOrInlineDv: z85, sizeInBytes: 44, cardinality: 6 };
    expect(await loadDeletionVector(dv, noFiles)).toEqual(rows);
  });

  it("refuses the protocol's native-format inline example as unsupported", async () => {
    const dv: DeletionVectorDescriptor = {
      storageType: 'i',
      pathOrInlineDv: 'wi5b=000010000siXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L',
      sizeInBytes: 40,
      cardinality: 6,
    };
    await expectLakehouseError(loadDeletionVector(dv, noFiles), 'UNSUPPORTED_FEATURE', /native format/);
  });

  it('parses hand-built run containers, with and without the offset header', () => {
    const expected: number[] = [];
    const b = new Bytes().u32(1681511377).u32(2).u32(0); // magic, 2 buckets

    // Bucket 0: SERIAL_COOKIE with 2 containers (< NO_OFFSET_THRESHOLD, so no offset header).
    b.u32(0).u32(12347 | ((2 - 1) << 16)).u8(0b01); // key, cookie, run flags: container 0 is a run
    b.u16(0).u16(4 - 1); // container key 0, cardinality 4
    b.u16(2).u16(1 - 1); // container key 2, cardinality 1
    b.u16(2).u16(10).u16(2).u16(100).u16(0); // 2 runs: 10..12 and 100
    expected.push(10, 11, 12, 100);
    b.u16(7); // array container [7]
    expected.push(2 * 65536 + 7);

    // Bucket 3: SERIAL_COOKIE with 4 containers (offset header present): run, bitmap, array, run.
    const base = 3 * 2 ** 32;
    const bucketStart = b.length + 4;
    b.u32(3).u32(12347 | ((4 - 1) << 16)).u8(0b1001);
    b.u16(0).u16(65536 - 1); // full container as a single run
    b.u16(1).u16(4097 - 1); // bitmap container: 0..4096
    b.u16(5).u16(2 - 1); // array container [1, 2]
    b.u16(9).u16(6 - 1); // run container 65530..65535
    const headerSize = 4 + 1 + 4 * 4 + 4 * 4;
    const sizes = [2 + 4, 8192, 4, 2 + 4];
    let offset = headerSize;
    for (const s of sizes) {
      b.u32(offset);
      offset += s;
    }
    b.u16(1).u16(0).u16(65535);
    for (let v = 0; v < 65536; v++) expected.push(base + v);
    const bitmap = new Uint8Array(8192);
    for (let v = 0; v <= 4096; v++) {
      bitmap[v >> 3] |= 1 << (v & 7);
      expected.push(base + 65536 + v);
    }
    b.raw(bitmap);
    b.u16(1).u16(2);
    expected.push(base + 5 * 65536 + 1, base + 5 * 65536 + 2);
    b.u16(1).u16(65530).u16(5);
    for (let v = 65530; v <= 65535; v++) expected.push(base + 9 * 65536 + v);
    expect(b.length - bucketStart).toBe(offset);

    expect(parseRoaringBitmapArray(b.build())).toEqual(expected);
  });

  it.each<[string, Uint8Array, RegExp]>([
    ['a bad magic number', new Bytes().u32(42).u32(0).u32(0).build(), /bad magic number 42/],
    ['a truncated header', new Bytes().u32(1681511377).u32(0).build(), /truncated/],
    ['trailing bytes', new Bytes().u32(1681511377).u32(0).u32(0).u8(0).build(), /trailing/],
    ['a bad cookie', new Bytes().u32(1681511377).u32(1).u32(0).u32(0).u32(12345).build(), /cookie/],
    [
      'descending bucket keys',
      new Bytes().u32(1681511377).u32(2).u32(0).u32(5).u32(12346).u32(0).u32(4).u32(12346).u32(0).build(),
      /ascending/,
    ],
    ['a bucket key beyond 2^53', new Bytes().u32(1681511377).u32(1).u32(0).u32(2 ** 21).u32(12346).u32(0).build(), /2\^53/],
    [
      'a run container whose runs overlap',
      new Bytes().u32(1681511377).u32(1).u32(0).u32(0).u32(12347).u8(1).u16(0).u16(5).u16(2).u16(0).u16(2).u16(2).u16(2).build(),
      /overlapping/,
    ],
    [
      'an array container whose cardinality is wrong',
      new Bytes().u32(1681511377).u32(1).u32(0).u32(0).u32(12346).u32(1).u16(0).u16(2).u32(16).u16(1).u16(2).build(),
      /truncated/,
    ],
    [
      'a bitmap container whose popcount differs from its header',
      new Bytes().u32(1681511377).u32(1).u32(0).u32(0).u32(12346).u32(1).u16(0).u16(5000).u32(16).raw(new Uint8Array(8192).fill(1)).build(),
      /holds 8192 values but its header says 5001/,
    ],
  ])('refuses %s with CORRUPT_LOG', async (_name, bytes, message) => {
    await expectLakehouseError(() => parseRoaringBitmapArray(bytes), 'CORRUPT_LOG', message);
  });

  it.each<[string, number[]]>([
    ['unsorted rows', [3, 2]],
    ['duplicate rows', [2, 2]],
    ['negative rows', [-1]],
    ['fractional rows', [1.5]],
    ['rows beyond 2^53', [2 ** 53]],
  ])('serialization refuses %s', async (_name, rows) => {
    await expectLakehouseError(() => serializeRoaringBitmapArray(rows), 'INVALID_INPUT', /row index/);
  });
});

describe('CRC-32', () => {
  it('matches the standard check value', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });
});

describe('golden table table-with-dv-small', () => {
  const fileBytes = new Uint8Array(readFileSync(`${DV_TABLE}${FIXTURE_DV_FILE}`));

  function latestAddWithDv(): AddAction {
    const logDir = `${DV_TABLE}_delta_log/`;
    const adds: AddAction[] = [];
    for (const name of readdirSync(logDir).filter((n) => n.endsWith('.json')).sort()) {
      for (const line of readFileSync(`${logDir}${name}`, 'utf8').split('\n')) {
        if (line.trim() === '') continue;
        const action = JSON.parse(line) as { add?: AddAction };
        if (action.add?.deletionVector) adds.push(action.add);
      }
    }
    expect(adds).toHaveLength(1);
    return adds[0];
  }

  const fsReader: ReadFile = async (path, range) => {
    // `u` paths are relative to the table root.
    return new Uint8Array(readFileSync(`${DV_TABLE}${path}`)).slice(range.start, range.end);
  };

  it('loads the deleted rows 0 and 9 from the .bin file', async () => {
    const add = latestAddWithDv();
    const dv = add.deletionVector as DeletionVectorDescriptor;
    expect(dv.cardinality).toBe(2);
    expect(deletionVectorRelativePath(dv)).toBe(FIXTURE_DV_FILE);
    const rows = await loadDeletionVector(dv, fsReader);
    // Verified independently below with DuckDB: the commit's DELETE predicate is `value IN (0, 9)`
    // and the data file stores value i at row position i (10 rows, 8 remaining per expected.json).
    expect(rows).toEqual([0, 9]);
    const stats = JSON.parse(add.stats as string) as { numRecords: number };
    const expected = JSON.parse(readFileSync(`${TABLES}expected.json`, 'utf8')) as Record<string, { rows: number }>;
    expect(stats.numRecords - rows.length).toBe(expected['table-with-dv-small'].rows);
  });

  it('agrees with DuckDB on which row positions the DELETE removed', async () => {
    const add = latestAddWithDv();
    const instance = await DuckDBInstance.create(':memory:');
    const conn = await instance.connect();
    try {
      const file = `${DV_TABLE}${add.path}`.replace(/'/g, "''");
      const reader = await conn.runAndReadAll(
        `SELECT file_row_number FROM read_parquet('${file}', file_row_number = true) WHERE value IN (0, 9) ORDER BY 1`,
      );
      const positions = reader.getRowObjectsJson().map((r) => Number(r.file_row_number));
      const total = await conn.runAndReadAll(`SELECT count(*)::INTEGER AS n FROM read_parquet('${file}')`);
      expect(total.getRowObjectsJson()[0].n).toBe(10);
      expect(await loadDeletionVector(add.deletionVector as DeletionVectorDescriptor, fsReader)).toEqual(positions);
    } finally {
      conn.closeSync();
      instance.closeSync();
    }
  });

  it('encodes rows [0, 9] to exactly the bytes Spark wrote', () => {
    const encoded = encodeDeletionVectorFile([0, 9]);
    expect(encoded.offset).toBe(1);
    expect(encoded.sizeInBytes).toBe(36);
    expect(Array.from(encoded.bytes)).toEqual(Array.from(fileBytes));
  });

  const dv: DeletionVectorDescriptor = {
    storageType: 'u',
    pathOrInlineDv: 'vBn[lx{q8@P<9BNH/isA',
    offset: 1,
    sizeInBytes: 36,
    cardinality: 2,
  };
  const mutate = (f: (b: Uint8Array) => Uint8Array | void): Uint8Array => {
    const copy = fileBytes.slice();
    return f(copy) ?? copy;
  };
  const withValidCrc = (b: Uint8Array): Uint8Array => {
    new DataView(b.buffer).setUint32(5 + 36, crc32(b.subarray(5, 5 + 36)), false);
    return b;
  };

  it.each<[string, Uint8Array, DeletionVectorDescriptor, RegExp]>([
    ['a flipped bitmap byte', mutate((b) => void (b[20] ^= 0x01)), dv, /CRC-32 mismatch/],
    ['a flipped checksum byte', mutate((b) => void (b[44] ^= 0x80)), dv, /CRC-32 mismatch/],
    ['a wrong stored size', mutate((b) => void (b[4] = 35)), dv, /stored size 35/],
    ['an unknown version byte', mutate((b) => void (b[0] = 2)), dv, /version 2/],
    ['a truncated file', fileBytes.slice(0, 44), dv, /truncated/],
    ['a cardinality that disagrees', fileBytes, { ...dv, cardinality: 3 }, /cardinality is 3/],
    ['a broken bitmap with a valid CRC', mutate((b) => withValidCrc(((b[5] = 0), b))), dv, /bad magic/],
  ])('refuses %s with CORRUPT_LOG naming the file', async (_name, bytes, descriptor, message) => {
    const read = memoryReader({ [FIXTURE_DV_FILE]: bytes });
    let error: unknown;
    try {
      await loadDeletionVector(descriptor, read);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(LakehouseError);
    expect((error as LakehouseError).code).toBe('CORRUPT_LOG');
    expect((error as LakehouseError).message).toContain(FIXTURE_DV_FILE);
    expect((error as LakehouseError).message).toMatch(message);
  });
});

describe('loadDeletionVector', () => {
  it('round trips an inline DV through encode -> descriptor -> load without touching storage', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.maxSafeNat(), { maxLength: 50 }), async (unsorted) => {
        const rows = [...unsorted].sort((a, b) => a - b);
        const dv = inlineDeletionVectorDescriptor(rows);
        expect(dv.storageType).toBe('i');
        expect(dv.offset).toBeUndefined();
        expect(dv.cardinality).toBe(rows.length);
        // The descriptor survives the JSON log.
        const fromLog = JSON.parse(JSON.stringify(dv)) as DeletionVectorDescriptor;
        expect(await loadDeletionVector(fromLog, noFiles)).toEqual(rows);
      }),
      { numRuns: 50 },
    );
  });

  it('reads `u` and `p` DVs written by encodeDeletionVectorFile, also at a non-initial offset', async () => {
    const first = encodeDeletionVectorFile([1, 2, 3]);
    const second = encodeDeletionVectorFile([5, 2 ** 33, 2 ** 33 + 1]);
    // A file holding two DVs: version byte, then each DV's size + bitmap + CRC.
    const combined = new Uint8Array(first.bytes.length + second.bytes.length - 1);
    combined.set(first.bytes);
    combined.set(second.bytes.subarray(1), first.bytes.length);
    const secondOffset = first.bytes.length;

    const uuid = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
    const pathOrInlineDv = deletionVectorPathOrInlineDv(uuid, 'xy');
    const relative = `xy/deletion_vector_${uuid}.bin`;
    const absolute = `s3://bucket/table/${relative}`;
    const calls: string[] = [];
    const read = memoryReader({ [relative]: combined, [absolute]: combined }, calls);

    const u1: DeletionVectorDescriptor = { storageType: 'u', pathOrInlineDv, offset: first.offset, sizeInBytes: first.sizeInBytes, cardinality: 3 };
    expect(await loadDeletionVector(u1, read)).toEqual([1, 2, 3]);
    expect(calls).toEqual([`${relative}[0,${1 + 4 + first.sizeInBytes + 4})`]);

    const u2: DeletionVectorDescriptor = { ...u1, offset: secondOffset, sizeInBytes: second.sizeInBytes };
    expect(await loadDeletionVector(u2, read)).toEqual([5, 2 ** 33, 2 ** 33 + 1]);

    const p2: DeletionVectorDescriptor = { ...u2, storageType: 'p', pathOrInlineDv: absolute };
    expect(await loadDeletionVector(p2, read)).toEqual([5, 2 ** 33, 2 ** 33 + 1]);
    expect(calls.slice(-2).sort()).toEqual(
      [`${absolute}[0,1)`, `${absolute}[${secondOffset},${secondOffset + 4 + second.sizeInBytes + 4})`].sort(),
    );
  });

  it('passes FILE_NOT_FOUND through for a missing DV file', async () => {
    const dv: DeletionVectorDescriptor = { storageType: 'u', pathOrInlineDv: 'vBn[lx{q8@P<9BNH/isA', offset: 1, sizeInBytes: 36, cardinality: 2 };
    await expectLakehouseError(loadDeletionVector(dv, memoryReader({})), 'FILE_NOT_FOUND', /deletion_vector_61d16c75/);
  });

  it.each<[string, DeletionVectorDescriptor, RegExp]>([
    ['inline data that is not Z85', { storageType: 'i', pathOrInlineDv: 'abc', sizeInBytes: 4, cardinality: 0 }, /not valid Z85/],
    [
      'inline data shorter than sizeInBytes',
      { storageType: 'i', pathOrInlineDv: z85Encode(serializeRoaringBitmapArray([])), sizeInBytes: 16, cardinality: 0 },
      /does not fit sizeInBytes 16/,
    ],
    [
      'an inline cardinality that disagrees',
      { ...inlineDeletionVectorDescriptor([1, 2]), cardinality: 1 },
      /holds 2 row indexes but the descriptor's cardinality is 1/,
    ],
    ['a negative sizeInBytes', { storageType: 'i', pathOrInlineDv: '', sizeInBytes: -1, cardinality: 0 }, /sizeInBytes -1/],
  ])('refuses %s with CORRUPT_LOG', async (_name, dv, message) => {
    await expectLakehouseError(loadDeletionVector(dv, noFiles), 'CORRUPT_LOG', message);
  });
});
