import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import {
  civilFromDays,
  daysFromCivil,
  parsePartitionValue,
  partitionPathSegment,
  partitionValueSqlLiteral,
  plainDecimalText,
  serializePartitionValue,
} from '../src/delta/partition-values.js';
import { parseSchemaString, type DataType } from '../src/delta/schema.js';
import { isLakehouseError } from '../src/errors.js';
import { FIXTURES_DIR } from './support/fixtures.js';

const DEC: DataType = { type: 'decimal', precision: 10, scale: 2 };
const DEC38: DataType = { type: 'decimal', precision: 38, scale: 0 };
const DAY_2024_01_01 = 19723;
const TS_2024_01_01_10 = 1_704_103_200_000_000;

describe('parsePartitionValue', () => {
  const cases: Array<[string | null | undefined, DataType, string | number | boolean | null]> = [
    [null, 'string', null],
    [undefined, 'integer', null],
    ['', 'string', null], // PROTOCOL.md: an empty string for any type is a null partition value
    ['', 'integer', null],
    ['', 'date', null],
    ['hello', 'string', 'hello'],
    [' padded ', 'string', ' padded '],
    ['/%20%f', 'string', '/%20%f'],
    ['😈', 'binary', '😈'],
    ['\u0001\u0002', 'binary', '\u0001\u0002'],
    ['-128', 'byte', -128],
    ['127', 'byte', 127],
    ['-32768', 'short', -32768],
    ['2147483647', 'integer', 2147483647],
    ['+7', 'integer', 7],
    ['9007199254740991', 'long', 9007199254740991],
    ['-9223372036854775808', 'long', -9223372036854775808],
    ['1.5', 'double', 1.5],
    ['-2.5E-3', 'double', -0.0025],
    ['NaN', 'double', NaN],
    ['-Infinity', 'double', -Infinity],
    ['1.1', 'float', Math.fround(1.1)],
    ['123.45', DEC, 123.45],
    ['1E+2', DEC, 100],
    ['-0.01', DEC, -0.01],
    ['12345678901234567890123456789012345678', DEC38, Number('12345678901234567890123456789012345678')],
    ['true', 'boolean', true],
    ['FALSE', 'boolean', false],
    ['1970-01-01', 'date', 0],
    ['2024-01-01', 'date', DAY_2024_01_01],
    ['2024-1-1', 'date', DAY_2024_01_01],
    ['1969-12-31', 'date', -1],
    ['2000-02-29', 'date', 11_016],
    ['1970-01-01 00:00:00', 'timestamp', 0],
    ['2024-01-01 10:00:00', 'timestamp', TS_2024_01_01_10],
    ['2024-01-01 10:00:00.123456', 'timestamp', TS_2024_01_01_10 + 123_456],
    ['2024-01-01 10:00:00.1', 'timestamp', TS_2024_01_01_10 + 100_000],
    ['2024-01-01T10:00:00.123456Z', 'timestamp', TS_2024_01_01_10 + 123_456],
    ['2024-01-01T11:00:00+01:00', 'timestamp', TS_2024_01_01_10],
    ['1969-12-31 23:59:59.999999', 'timestamp', -1],
    ['2024-01-01 10:00:00', 'timestamp_ntz', TS_2024_01_01_10],
  ];
  it.each(cases)('%j as %j → %j', (raw, type, expected) => {
    expect(parsePartitionValue(raw, type, 'c')).toEqual(expected);
  });

  const malformed: Array<[string, DataType]> = [
    ['abc', 'integer'],
    ['1.5', 'integer'],
    ['128', 'byte'],
    ['2147483648', 'integer'],
    ['9223372036854775808', 'long'],
    ['1,5', 'double'],
    ['x', DEC],
    ['yes', 'boolean'],
    ['2024-02-30', 'date'],
    ['2024/01/01', 'date'],
    ['2024-01-01', 'timestamp'],
    ['2024-01-01 25:00:00', 'timestamp'],
    ['noon', 'timestamp_ntz'],
  ];
  it.each(malformed)('%j as %j → CORRUPT_LOG naming column and value', (raw, type) => {
    let caught: unknown;
    try {
      parsePartitionValue(raw, type, 'my_col');
    } catch (e) {
      caught = e;
    }
    expect(isLakehouseError(caught, 'CORRUPT_LOG')).toBe(true);
    expect((caught as Error).message).toContain('"my_col"');
    expect((caught as Error).message).toContain(JSON.stringify(raw));
  });

  it('refuses non-primitive partition types', () => {
    expect(() => parsePartitionValue('x', { type: 'array', elementType: 'string', containsNull: true }, 'c')).toThrow(
      /cannot be a partition column/,
    );
  });
});

describe('serializePartitionValue', () => {
  const cases: Array<[unknown, DataType, string | null]> = [
    [null, 'string', null],
    [undefined, 'date', null],
    ['', 'string', null],
    ['x', 'string', 'x'],
    [new Uint8Array([104, 105]), 'binary', 'hi'],
    [new Uint8Array([0xf0, 0x9f, 0x98, 0x88]), 'binary', '😈'],
    [42, 'integer', '42'],
    [-128, 'byte', '-128'],
    [1234567890123456789n, 'long', '1234567890123456789'],
    ['-17', 'long', '-17'],
    [1.5, 'double', '1.5'],
    [NaN, 'double', 'NaN'],
    [1.1, 'float', String(Math.fround(1.1))],
    [1.5, DEC, '1.50'],
    [0.1 + 0.2, DEC, '0.30'],
    ['-3', DEC, '-3.00'],
    ['1E+2', DEC, '100.00'],
    [7n, DEC, '7.00'],
    [true, 'boolean', 'true'],
    [false, 'boolean', 'false'],
    [DAY_2024_01_01, 'date', '2024-01-01'],
    [-719162, 'date', '0001-01-01'],
    [new Date('2024-01-01T23:30:00Z'), 'date', '2024-01-01'],
    ['2024-1-2', 'date', '2024-01-02'],
    [TS_2024_01_01_10, 'timestamp', '2024-01-01T10:00:00Z'],
    [TS_2024_01_01_10 + 1, 'timestamp', '2024-01-01T10:00:00.000001Z'],
    [-1, 'timestamp', '1969-12-31T23:59:59.999999Z'],
    [new Date('2024-01-01T10:00:00.5Z'), 'timestamp', '2024-01-01T10:00:00.500000Z'],
    ['2024-01-01T11:00:00+01:00', 'timestamp', '2024-01-01T10:00:00Z'],
    [TS_2024_01_01_10, 'timestamp_ntz', '2024-01-01 10:00:00'],
  ];
  it.each(cases)('%s as %j → %j', (value, type, expected) => {
    expect(serializePartitionValue(value, type)).toBe(expected);
  });

  const invalid: Array<[unknown, DataType]> = [
    [1.5, 'integer'],
    [128, 'byte'],
    [2n ** 63n, 'long'],
    ['x', 'long'],
    [5, 'string'],
    ['1.234', DEC],
    [123456789, DEC],
    ['maybe', 'boolean'],
    ['2024-13-01', 'date'],
    ['2024-01-01T10:00:00+01:00', 'timestamp_ntz'],
    [new Uint8Array([0xff]), 'binary'],
    [{}, 'double'],
  ];
  it.each(invalid)('%s as %j → INVALID_INPUT', (value, type) => {
    let caught: unknown;
    try {
      serializePartitionValue(value, type);
    } catch (e) {
      caught = e;
    }
    expect(isLakehouseError(caught, 'INVALID_INPUT')).toBe(true);
  });
});

describe('round trips', () => {
  const arbs: Array<[DataType, fc.Arbitrary<string | number | boolean>]> = [
    ['string', fc.string({ minLength: 1 })],
    ['binary', fc.string({ minLength: 1, unit: 'binary' })],
    ['byte', fc.integer({ min: -128, max: 127 })],
    ['short', fc.integer({ min: -32768, max: 32767 })],
    ['integer', fc.integer()],
    ['long', fc.maxSafeInteger()],
    ['float', fc.float({ noDefaultInfinity: false }).map((f) => (Object.is(f, -0) ? 0 : f))],
    ['double', fc.double().map((f) => (Object.is(f, -0) ? 0 : f))],
    [DEC, fc.integer({ min: -99_999_999, max: 99_999_999 }).map((c) => Number((c / 100).toFixed(2)))],
    ['boolean', fc.boolean()],
    ['date', fc.integer({ min: -719162, max: 2_932_896 })], // 0001-01-01 .. 9999-12-31
    // 0001-01-01 .. about 2255 (micros beyond 2^53 lose precision in a JS number)
    ['timestamp', fc.bigInt({ min: -62_135_596_800_000_000n, max: 2n ** 53n - 1n }).map(Number)],
    ['timestamp_ntz', fc.bigInt({ min: -(2n ** 52n), max: 2n ** 52n }).map(Number)],
  ];
  it.each(arbs)('parse(serialize(v)) = v for %j', (type, arb) => {
    fc.assert(
      fc.property(arb, (v) => {
        const raw = serializePartitionValue(v, type);
        expect(parsePartitionValue(raw, type, 'c')).toEqual(v);
      }),
      { numRuns: 300 },
    );
  });

  it('serialize(parse(raw)) is a fixed point for texts in other accepted spellings', () => {
    const raws: Array<[string, DataType]> = [
      ['2024-1-2', 'date'],
      ['2024-01-01T10:00:00.120Z', 'timestamp'],
      ['2024-01-01T12:00:00+02:00', 'timestamp'],
      ['1E+1', DEC],
      ['+5', 'long'],
      ['TRUE', 'boolean'],
    ];
    for (const [raw, type] of raws) {
      const once = serializePartitionValue(parsePartitionValue(raw, type, 'c'), type);
      expect(parsePartitionValue(once, type, 'c')).toEqual(parsePartitionValue(raw, type, 'c'));
      expect(serializePartitionValue(parsePartitionValue(once, type, 'c'), type)).toBe(once);
    }
  });

  it('days and civil dates agree with Date.UTC', () => {
    fc.assert(
      fc.property(fc.integer({ min: -719162, max: 2_932_896 }), (days) => {
        const { year, month, day } = civilFromDays(days);
        expect(daysFromCivil(year, month, day)).toBe(days);
        const d = new Date(days * 86_400_000);
        expect([year, month, day]).toEqual([d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()]);
      }),
    );
  });

  it('plainDecimalText rewrites exponents exactly', () => {
    expect(plainDecimalText('1.5E+2')).toBe('150');
    expect(plainDecimalText('-1.5e-3')).toBe('-0.0015');
    expect(plainDecimalText('000.100')).toBe('0.1');
    expect(plainDecimalText('-0.0')).toBe('0');
    expect(plainDecimalText('12345678901234567890.5')).toBe('12345678901234567890.5');
    expect(plainDecimalText('abc')).toBeUndefined();
  });
});

describe('partitionPathSegment', () => {
  const cases: Array<[string, string | null, string]> = [
    ['letter', 'a', 'letter=a'],
    ['letter', null, 'letter=__HIVE_DEFAULT_PARTITION__'],
    ['letter', '', 'letter=__HIVE_DEFAULT_PARTITION__'],
    ['letter', '/%20%f', 'letter=%2F%2520%25f'],
    ['data', '😈', 'data=😈'],
    ['ts', '2024-01-01 10:00:00', 'ts=2024-01-01 10%3A00%3A00'],
    ['c', 'a=b?c#d', 'c=a%3Db%3Fc%23d'],
    ['c', '"*\'\\{[]^', 'c=%22%2A%27%5C%7B%5B%5D%5E'],
    ['c', 'tab\there\nnl\u007f', 'c=tab%09here%0Anl%7F'],
    ['c', 'spaces <ok> |', 'c=spaces <ok> |'],
    ['my:col', 'x', 'my%3Acol=x'],
  ];
  it.each(cases)('%j = %j → %j', (col, raw, expected) => {
    expect(partitionPathSegment(col, raw)).toBe(expected);
  });
});

describe('partitionValueSqlLiteral', () => {
  const cases: Array<[string | null, DataType, string]> = [
    ["it's", 'string', "'it''s'"],
    ['42', 'long', 'CAST(42 AS BIGINT)'],
    ['+7', 'integer', 'CAST(7 AS INTEGER)'],
    ['-3', 'short', 'CAST(-3 AS SMALLINT)'],
    ['1', 'byte', 'CAST(1 AS TINYINT)'],
    ['1.5', 'double', "CAST('1.5' AS DOUBLE)"],
    ['1.5', 'float', "CAST('1.5' AS FLOAT)"],
    ['1E+1', DEC, "CAST('10' AS DECIMAL(10,2))"],
    ['true', 'boolean', 'TRUE'],
    ['2024-1-1', 'date', "CAST('2024-01-01' AS DATE)"],
    ['2024-01-01T11:00:00.5+01:00', 'timestamp', "CAST('2024-01-01 10:00:00.500000' AS TIMESTAMP)"],
    ['2024-01-01 10:00:00', 'timestamp_ntz', "CAST('2024-01-01 10:00:00' AS TIMESTAMP)"],
    ['hé', 'binary', "CAST('\\x68\\xC3\\xA9' AS BLOB)"],
    [null, 'date', 'CAST(NULL AS DATE)'],
    ['', 'integer', 'CAST(NULL AS INTEGER)'],
  ];
  it.each(cases)('%j as %j → %s', (raw, type, sql) => {
    expect(partitionValueSqlLiteral(raw, type)).toBe(sql);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// DuckDB: the literals evaluate to the intended values and types.

let conn: DuckDBConnection;
let instance: DuckDBInstance;
beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:');
  conn = await instance.connect();
});
afterAll(() => {
  conn?.closeSync();
  instance?.closeSync();
});

async function duck(sql: string): Promise<Record<string, unknown>[]> {
  return (await conn.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
}

describe('partitionValueSqlLiteral in DuckDB', () => {
  const cases: Array<[string | null, DataType, string, string | null]> = [
    ["it's", 'string', 'VARCHAR', "it's"],
    ['9223372036854775807', 'long', 'BIGINT', '9223372036854775807'],
    ['-2147483648', 'integer', 'INTEGER', '-2147483648'],
    ['-3', 'short', 'SMALLINT', '-3'],
    ['127', 'byte', 'TINYINT', '127'],
    ['-Infinity', 'double', 'DOUBLE', '-Infinity'],
    ['1.5', 'float', 'FLOAT', '1.5'],
    ['12345678.91', DEC, 'DECIMAL(10,2)', '12345678.91'],
    ['1E+1', DEC, 'DECIMAL(10,2)', '10.00'],
    ['false', 'boolean', 'BOOLEAN', 'false'],
    ['2024-01-01', 'date', 'DATE', '2024-01-01'],
    ['2024-01-01 10:00:00.123456', 'timestamp', 'TIMESTAMP', '2024-01-01 10:00:00.123456'],
    ['2024-01-01T10:00:00Z', 'timestamp', 'TIMESTAMP', '2024-01-01 10:00:00'],
    ['2024-01-01 10:00:00', 'timestamp_ntz', 'TIMESTAMP', '2024-01-01 10:00:00'],
    ['😈', 'binary', 'BLOB', 'F09F9888'],
    ["a'b\\c", 'binary', 'BLOB', '6127625C63'],
    [null, 'date', 'DATE', null],
  ];
  it.each(cases)('%j as %j', async (raw, type, duckType, shown) => {
    const lit = partitionValueSqlLiteral(raw, type);
    const shownSql = duckType === 'BLOB' ? `hex(${lit})` : lit;
    const [row] = await duck(`SELECT ${shownSql} AS v, typeof(${lit}) AS t`);
    expect(row.t).toBe(duckType);
    expect(row.v === null ? null : String(row.v)).toBe(shown);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Golden fixture: DAT multi_partitioned (null partitions, escaped characters and emoji; binary partition column).

const TABLE = `${FIXTURES_DIR}dat_multi_partitioned/`;
type FileAction = { path: string; partitionValues?: Record<string, string | null> | null; stats?: string };

function readLog(): { schema: Map<string, DataType>; partitionColumns: string[]; commits: Array<Array<Record<string, FileAction>>> } {
  const dir = `${TABLE}delta/_delta_log/`;
  const commits = readdirSync(dir)
    .filter((f) => /^\d{20}\.json$/.test(f))
    .sort()
    .map((f) =>
      readFileSync(dir + f, 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as Record<string, FileAction>),
    );
  const meta = commits.flat().find((a) => 'metaData' in a)?.metaData as unknown as { schemaString: string; partitionColumns: string[] };
  const schema = new Map(parseSchemaString(meta.schemaString).fields.map((f) => [f.name, f.type]));
  return { schema, partitionColumns: meta.partitionColumns, commits };
}

describe('fixture dat_multi_partitioned', () => {
  const { schema, partitionColumns, commits } = readLog();
  const adds = commits.flatMap((c) => c.filter((a) => a.add).map((a) => a.add));

  it('has the partition columns and the awkward values the test relies on', () => {
    expect(partitionColumns).toEqual(['letter', 'date', 'data']);
    expect(schema.get('data')).toBe('binary');
    const values = adds.flatMap((a) => Object.values(a.partitionValues ?? {}));
    expect(values).toContain(null);
    expect(values).toContain('/%20%f');
    expect(values).toContain('😈');
    expect(adds.length).toBe(7);
  });

  it('every partition value of adds and removes parses with its column type', () => {
    let parsed = 0;
    for (const action of commits.flat()) {
      const file = action.add ?? action.remove;
      if (!file) continue;
      for (const [col, raw] of Object.entries(file.partitionValues ?? {})) {
        const type = schema.get(col) as DataType;
        const v = parsePartitionValue(raw, type, col);
        expect(v === null).toBe(raw === null);
        if (type === 'date' && v !== null) expect(serializePartitionValue(v, type)).toBe(raw);
        parsed++;
      }
    }
    expect(parsed).toBeGreaterThan(20);
  });

  it('path segments match the directories the files live in (add.path is URI-encoded once more)', () => {
    for (const add of adds) {
      const dirs = add.path.split('/').slice(0, -1).map(decodeURIComponent);
      const expected = partitionColumns.map((c) => partitionPathSegment(c, add.partitionValues?.[c] ?? null));
      expect(dirs).toEqual(expected);
    }
    const onDisk = readdirSync(`${TABLE}delta`).filter((d) => d.startsWith('letter='));
    expect(onDisk).toContain(partitionPathSegment('letter', '/%20%f'));
    expect(onDisk).toContain(partitionPathSegment('letter', null));
  });

  it('SQL literals of the partition values equal the DAT expected rows (checked in DuckDB)', async () => {
    // Each file holds one row whose `number` (from its stats) identifies the expected row.
    const versions: Array<[number, string]> = [
      [0, 'v0'],
      [1, 'v1'],
      [2, 'latest'],
    ];
    for (const [version, dir] of versions) {
      const live = new Map<string, FileAction>();
      for (const commit of commits.slice(0, version + 1)) {
        for (const a of commit) {
          if (a.add) live.set(a.add.path, a.add);
          if (a.remove) live.delete(a.remove.path);
        }
      }
      const expectedRows = await duck(
        `SELECT count(*) AS n FROM read_parquet('${TABLE}expected/${dir}/table_content.parquet/*.parquet')`,
      );
      expect(Number(expectedRows[0].n)).toBe(live.size);
      for (const add of live.values()) {
        const number = JSON.parse(add.stats as string).minValues.number as number;
        const cond = partitionColumns
          .map((c) => `${c} IS NOT DISTINCT FROM ${partitionValueSqlLiteral(add.partitionValues?.[c] ?? null, schema.get(c) as DataType)}`)
          .join(' AND ');
        const rows = await duck(
          `SELECT count(*) AS n FROM read_parquet('${TABLE}expected/${dir}/table_content.parquet/*.parquet') WHERE number = ${number} AND ${cond}`,
        );
        expect(Number(rows[0].n), `${dir} ${add.path}`).toBe(1);
      }
    }
  });
});
