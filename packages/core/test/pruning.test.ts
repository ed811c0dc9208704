import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { parsePredicate, predicateToSql, type Expr } from '../src/delta/expression.js';
import {
  compareCodePoints,
  evaluatePredicate,
  mayMatch,
  parseStats,
  partitionColumnFacts,
  statsColumnFacts,
  type ColumnFacts,
  type FileStats,
} from '../src/delta/stats.js';
import { formatDateDays, parsePartitionValue, serializePartitionValue } from '../src/delta/partition-values.js';
import type { DataType } from '../src/delta/schema.js';
import { isLakehouseError } from '../src/errors.js';

const TYPES: Record<string, DataType> = {
  i: 'integer',
  l: 'long',
  s: 'string',
  d: 'date',
  ts: 'timestamp',
  ntz: 'timestamp_ntz',
  f: 'float',
  x: 'double',
  dec: { type: 'decimal', precision: 38, scale: 21 },
  dec2: { type: 'decimal', precision: 10, scale: 2 },
  b: 'boolean',
  p: 'string',
  pd: 'date',
  pts: 'timestamp',
  'st.n': 'integer',
};
const types = (c: string): DataType | undefined => TYPES[c];

/** mayMatch over a file described by its stats JSON (physical = logical names, nested via dotted names). */
function prunes(sql: string, statsJson: string | null, partitions: Record<string, string | null> = {}): boolean {
  const stats = parseStats(statsJson);
  const facts = (c: string): ColumnFacts | undefined => {
    if (c in partitions) return partitionColumnFacts(partitions[c], stats?.numRecords);
    return statsColumnFacts(stats, c.split('.'));
  };
  return !mayMatch(parsePredicate(sql), facts, types);
}

const s = (o: Record<string, unknown>): string => JSON.stringify(o);
const INTS = s({ numRecords: 10, minValues: { i: 1, st: { n: 1 } }, maxValues: { i: 5, st: { n: 5 } }, nullCount: { i: 0, st: { n: 0 } } });
const INTS_NULLS = s({ numRecords: 10, minValues: { i: 1 }, maxValues: { i: 5 }, nullCount: { i: 3 } });
const ALL_NULL = s({ numRecords: 4, minValues: {}, maxValues: {}, nullCount: { i: 4 } });
const ONE_VALUE = s({ numRecords: 3, minValues: { i: 3 }, maxValues: { i: 3 }, nullCount: { i: 0 } });
const ONE_VALUE_NULLS = s({ numRecords: 3, minValues: { i: 3 }, maxValues: { i: 3 }, nullCount: { i: 1 } });
const ONLY_MIN = s({ numRecords: 10, minValues: { i: 1 }, maxValues: {}, nullCount: { i: 0 } });
const NO_NULLCOUNT = s({ numRecords: 10, minValues: { i: 1 }, maxValues: { i: 5 } });
const EMPTY = s({ numRecords: 0, minValues: {}, maxValues: {}, nullCount: {} });

const LONG32 = 'a'.repeat(32);
const STRS = s({ numRecords: 5, minValues: { s: 'apple' }, maxValues: { s: 'melon' }, nullCount: { s: 0 } });
const STRS_TRUNC = s({ numRecords: 5, minValues: { s: 'a' }, maxValues: { s: LONG32 }, nullCount: { s: 0 } });
const STRS_ASTRAL = s({ numRecords: 5, minValues: { s: 'a' }, maxValues: { s: '😀' }, nullCount: { s: 0 } });
const STRS_FULLWIDTH = s({ numRecords: 5, minValues: { s: 'a' }, maxValues: { s: 'ｚ' }, nullCount: { s: 0 } });

const DATES = s({ numRecords: 5, minValues: { d: '2024-01-01' }, maxValues: { d: '2024-01-31' }, nullCount: { d: 0 } });
const TS = s({
  numRecords: 5,
  minValues: { ts: '2024-01-01T00:00:00.000Z', ntz: '2024-01-01T00:00:00.000' },
  maxValues: { ts: '2024-01-01T10:00:00.123Z', ntz: '2024-01-01T10:00:00.123' },
  nullCount: { ts: 0, ntz: 0 },
});
const TS_OFFSET = s({
  numRecords: 5,
  minValues: { ts: '2024-01-01T01:00:00.000+01:00' },
  maxValues: { ts: '2024-01-01T11:00:00.000+01:00' },
  nullCount: { ts: 0 },
});
// 2^53 + 1 and a decimal with 22 significant digits: JSON.parse rounds both.
const BIG = '{"numRecords":2,"minValues":{"l":1,"dec":0.1},"maxValues":{"l":9007199254740993,"dec":0.1000000000000000000001},"nullCount":{"l":0,"dec":0}}';
const FLOATS = s({ numRecords: 2, minValues: { f: 1.1, x: 1.1, dec2: 0.1 }, maxValues: { f: 1.1, x: 1.1, dec2: 0.3 }, nullCount: {} });
const NAN = s({ numRecords: 2, minValues: { x: 'NaN' }, maxValues: { x: 'NaN' }, nullCount: { x: 0 } });
const BOOLS = s({ numRecords: 2, minValues: { b: false }, maxValues: { b: false }, nullCount: { b: 0 } });
const WIDE = s({ numRecords: 10, tightBounds: false, minValues: { i: 1 }, maxValues: { i: 5 }, nullCount: { i: 0 } });

describe('mayMatch over file stats', () => {
  // [predicate, stats, pruned?]
  const cases: Array<[string, string | null, boolean]> = [
    // integer comparisons, bounds inclusive
    ['i > 10', INTS, true],
    ['i > 5', INTS, true],
    ['i >= 5', INTS, false],
    ['i > 4', INTS, false],
    ['i < 1', INTS, true],
    ['i <= 1', INTS, false],
    ['i = 3', INTS, false],
    ['i = 6', INTS, true],
    ['i = 0', INTS, true],
    ['i == 5', INTS, false],
    ['10 < i', INTS, true],
    ['1 >= i', INTS, false],
    ['i = 2.5', INTS, false],
    ['i > 4.5', INTS, false],
    ['i > 5.5', INTS, true],
    ["i = '7'", INTS, true],
    ['st.n > 5', INTS, true],
    ['st.n = 5', INTS, false],
    // <>: prunable only when every value equals the literal
    ['i <> 3', INTS, false],
    ['i <> 3', ONE_VALUE, true],
    ['i <> 3', ONE_VALUE_NULLS, true],
    ['i <> 4', ONE_VALUE, false],
    ['i != 3', ONE_VALUE, true],
    // IN / NOT IN / BETWEEN
    ['i IN (7, 8, 9)', INTS, true],
    ['i IN (7, 5)', INTS, false],
    ['i IN (NULL)', INTS, true],
    ['i NOT IN (3)', ONE_VALUE, true],
    ['i NOT IN (3, NULL)', INTS, true],
    ['i NOT IN (4)', ONE_VALUE, false],
    ['i BETWEEN 6 AND 9', INTS, true],
    ['i BETWEEN 0 AND 1', INTS, false],
    ['i NOT BETWEEN 0 AND 9', INTS, true],
    ['i NOT BETWEEN 2 AND 9', INTS, false],
    // NOT pushed down with operator negation and De Morgan
    ['NOT i < 6', INTS, true],
    ['NOT i < 5', INTS, false],
    ['NOT (i >= 1 AND i <= 5)', INTS, true],
    ['NOT (i > 3 OR i < 2)', ONE_VALUE, false],
    ['NOT (i >= 3 OR i = 0)', ONE_VALUE, true],
    ['NOT NOT i > 5', INTS, true],
    ['NOT i IN (1, 2, 3, 4, 5)', ONE_VALUE, true],
    // AND / OR
    ['i > 10 OR i < 0', INTS, true],
    ['i > 10 OR i = 2', INTS, false],
    ['i = 2 AND i = 4', INTS, false],
    ['i = 2 AND i > 7', INTS, true],
    // nulls
    ['i IS NULL', INTS, true],
    ['i IS NULL', INTS_NULLS, false],
    ['i IS NULL', NO_NULLCOUNT, false],
    ['i IS NOT NULL', ALL_NULL, true],
    ['i IS NOT NULL', INTS_NULLS, false],
    ['NOT i IS NULL', ALL_NULL, true],
    ['NOT i IS NOT NULL', INTS, true],
    ['i = 1', ALL_NULL, true],
    ['NOT i = 1', ALL_NULL, true],
    ['i <> 1', ALL_NULL, true],
    ['i IS NULL', ALL_NULL, false],
    ['i = NULL', INTS_NULLS, true],
    ['NOT i = NULL', INTS_NULLS, true],
    ['i = 1 OR NULL', INTS, false],
    ['i = 9 OR NULL', INTS, true],
    // missing facts: unknown, never pruned
    ['i > 100', ONLY_MIN, false],
    ['i < 0', ONLY_MIN, true],
    ['i > 100', null, false],
    ['i > 100', 'not json', false],
    ['i IS NULL', null, false],
    ['zz = 1', INTS, false],
    ['i > 100', s({ numRecords: 3 }), false],
    ['i > 100', EMPTY, true],
    ['i IS NULL', EMPTY, true],
    // wide bounds (tightBounds=false) still bound the values
    ['i > 5', WIDE, true],
    ['i IS NULL', WIDE, true],
    // strings: code point order, truncated max
    ["s = 'banana'", STRS, false],
    ["s = 'zebra'", STRS, true],
    ["s < 'apple'", STRS, true],
    ["s > 'melon'", STRS, true],
    ["s >= 'melon'", STRS, false],
    ["s > 'melo'", STRS, false],
    [`s > '${'a'.repeat(40)}'`, STRS_TRUNC, false],
    [`s > 'b'`, STRS_TRUNC, false],
    [`s < 'a'`, STRS_TRUNC, true],
    ["s > 'ｚ'", STRS_ASTRAL, false], // U+1F600 > U+FF5A although '\uD83D' < '\uFF5A'
    ["s >= '😀'", STRS_FULLWIDTH, true],
    ["s = 5", STRS, false],
    // dates
    ["d = '2024-02-01'", DATES, true],
    ["d = '2024-01-15'", DATES, false],
    ["d < DATE '2024-01-01'", DATES, true],
    ["d <= '2024-01-01'", DATES, false],
    ["d > '2024-1-31'", DATES, true],
    ["d < TIMESTAMP '2024-01-01 00:00:01'", DATES, false],
    ["d > TIMESTAMP '2024-01-31 00:00:01'", DATES, true],
    ["d = 'not a date'", DATES, false],
    ['d = 20240101', DATES, false],
    // timestamps: stats truncated to milliseconds, so max + 999 µs may still match
    ["ts > TIMESTAMP '2024-01-01 10:00:00.123500'", TS, false],
    ["ts > TIMESTAMP '2024-01-01 10:00:00.123999'", TS, true],
    ["ts > TIMESTAMP '2024-01-01 10:00:00.124'", TS, true],
    ["ts >= '2024-01-01 10:00:00.123999'", TS, false],
    ["ts < '2024-01-01'", TS, true],
    ["ts <= '2024-01-01'", TS, false],
    ["ts < DATE '2024-01-01'", TS, true],
    ["ts > TIMESTAMP '2024-01-01T11:00:00.124+01:00'", TS, true],
    ["ts > TIMESTAMP '2024-01-01T11:00:00.123+01:00'", TS, false],
    ["ts = TIMESTAMP '2024-01-01 10:00:00.123'", TS, false],
    ["ts <> TIMESTAMP '2024-01-01 10:00:00.123'", s({ numRecords: 1, minValues: { ts: '2024-01-01T10:00:00.123Z' }, maxValues: { ts: '2024-01-01T10:00:00.123Z' }, nullCount: { ts: 0 } }), false],
    ["ts > '2024-01-01 10:00:01'", TS_OFFSET, true],
    ["ts >= '2024-01-01 10:00:00'", TS_OFFSET, false],
    ["ts < '2024-01-01 00:00:00'", TS_OFFSET, true],
    ["ntz > TIMESTAMP '2024-01-01 10:00:00.124'", TS, true],
    ["ntz > TIMESTAMP '2024-01-01 10:00:00.1235'", TS, false],
    ["ntz > TIMESTAMP '2024-01-01 10:00:00.124+00:00'", TS, false],
    // numbers a double cannot hold exactly
    ['l > 9007199254740992', BIG, false],
    ['l >= 9007199254740994', BIG, false],
    ['l > 9007199254741100', BIG, true],
    ['l < 1', BIG, true],
    ['dec > 0.1', BIG, false],
    ['dec > 0.1000000000000000000001', BIG, false],
    ['dec > 0.2', BIG, true],
    ['f > 1.1', FLOATS, false], // the float 1.1f is 1.100000023841858 > 1.1
    ['f > 1.2', FLOATS, true],
    ['x > 1.1', FLOATS, true],
    ['x >= 1.1', FLOATS, false],
    ['dec2 > 0.3', FLOATS, true],
    ['dec2 < 0.1', FLOATS, true],
    ['dec2 = 0.2', FLOATS, false],
    ['x > 1e300', NAN, false],
    ['x = 0', NAN, false],
    // booleans, constants, column vs column
    ['b', BOOLS, true],
    ['NOT b', BOOLS, false],
    ['b = TRUE', BOOLS, true],
    ['b <> FALSE', BOOLS, true],
    ['1 = 2', INTS, true],
    ['1 = 1', INTS, false],
    ['FALSE', INTS, true],
    ['NULL', INTS, true],
    ['i < l', INTS, false],
  ];
  it.each(cases)('%s with %s → pruned=%s', (sql, stats, pruned) => {
    expect(prunes(sql, stats)).toBe(pruned);
  });
});

describe('mayMatch over partition values (exact facts)', () => {
  const part = (p: string | null, pd: string | null = '2024-01-01', pts: string | null = '2024-01-01 10:00:00') => ({ p, pd, pts });
  const cases: Array<[string, Record<string, string | null>, boolean]> = [
    ["p = 'x'", part('y'), true],
    ["p = 'y'", part('y'), false],
    ["p <> 'y'", part('y'), true],
    ["p <> 'x'", part('y'), false],
    ["p IN ('a', 'b')", part('y'), true],
    ["p NOT IN ('a', 'b')", part('y'), false],
    ["p NOT IN ('y')", part('y'), true],
    ['p IS NULL', part('y'), true],
    ['p IS NULL', part(null), false],
    ['p IS NOT NULL', part(null), true],
    ["p = 'x'", part(null), true],
    ["p <> 'x'", part(null), true],
    ["p NOT IN ('a')", part(null), true],
    ["NOT p = 'x'", part(null), true],
    [`p = '${'q'.repeat(40)}'`, part('q'.repeat(40)), false],
    [`p < '${'q'.repeat(40)}'`, part('q'.repeat(40)), true],
    ["pd = DATE '2024-01-01'", part('a'), false],
    ["pd > '2024-01-01'", part('a'), true],
    ["pd = '2024-01-01' AND p = 'b'", part('a'), true],
    ["pd = '2024-01-01' OR p = 'b'", part('a'), false],
    ["pts > TIMESTAMP '2024-01-01 10:00:00'", part('a'), true], // exact: no millisecond widening
    ["pts = TIMESTAMP '2024-01-01T10:00:00Z'", part('a'), false],
    ["pts = '2024-01-01 10:00:00.000001'", part('a'), true],
    ["pts > '2024-01-01 09:59:59.999999'", part('a', null, '2024-01-01T10:00:00.000000Z'), false],
    ['pd IS NULL AND pts IS NULL', part('a', null, null), false],
  ];
  it.each(cases)('%s with %j → pruned=%s', (sql, partitions, pruned) => {
    expect(prunes(sql, INTS, partitions)).toBe(pruned);
  });
});

describe('parseStats / statsColumnFacts', () => {
  it('parses stats JSON and rejects malformed or absent stats', () => {
    expect(parseStats(INTS)).toEqual({
      numRecords: 10,
      minValues: { i: 1, st: { n: 1 } },
      maxValues: { i: 5, st: { n: 5 } },
      nullCount: { i: 0, st: { n: 0 } },
    });
    expect(parseStats('{"numRecords":3,"tightBounds":false}')).toEqual({
      numRecords: 3,
      tightBounds: false,
      minValues: {},
      maxValues: {},
      nullCount: {},
    });
    for (const bad of [null, undefined, '', '{', '[1]', '"x"', 'null']) expect(parseStats(bad)).toBeNull();
  });

  it('reads nested physical paths and drops uninformative null counts of wide bounds', () => {
    const st = parseStats(INTS) as FileStats;
    expect(statsColumnFacts(st, ['st', 'n'])).toEqual({ numRecords: 10, min: 1, max: 5, nullCount: 0 });
    expect(statsColumnFacts(st, ['st'])).toEqual({ numRecords: 10 });
    expect(statsColumnFacts(st, ['missing'])).toEqual({ numRecords: 10 });
    expect(statsColumnFacts(null, ['i'])).toEqual({});
    const wide = (nc: number) => parseStats(s({ numRecords: 10, tightBounds: false, nullCount: { i: nc } }));
    expect(statsColumnFacts(wide(3), ['i']).nullCount).toBeUndefined();
    expect(statsColumnFacts(wide(0), ['i']).nullCount).toBe(0);
    expect(statsColumnFacts(wide(10), ['i']).nullCount).toBe(10);
    const tight = parseStats(s({ numRecords: 10, nullCount: { i: 3 } }));
    expect(statsColumnFacts(tight, ['i']).nullCount).toBe(3);
  });
});

describe('compareCodePoints', () => {
  const cases: Array<[string, string, number]> = [
    ['a', 'b', -1],
    ['b', 'a', 1],
    ['a', 'a', 0],
    ['a', 'ab', -1],
    ['', 'a', -1],
    ['\uFF5A', '😀', -1], // U+FF5A < U+1F600 (JS '<' says the opposite)
    ['😀', '\uFFFF', 1],
    ['😀', '😁', -1],
    ['\uD7FF', '😀', -1],
    ['é', 'z', 1],
  ];
  it.each(cases)('%j vs %j → %i', (a, b, expected) => {
    expect(Math.sign(compareCodePoints(a, b))).toBe(expected);
    // UTF-8 byte order is the reference
    const enc = new TextEncoder();
    const [x, y] = [enc.encode(a), enc.encode(b)];
    let ref = 0;
    for (let i = 0; i < Math.min(x.length, y.length) && ref === 0; i++) ref = Math.sign(x[i] - y[i]);
    if (ref === 0) ref = Math.sign(x.length - y.length);
    expect(ref).toBe(expected);
  });
});

describe('evaluatePredicate', () => {
  const row: Record<string, { value: unknown; type: DataType }> = {
    p: { value: 'a', type: 'string' },
    n: { value: null, type: 'string' },
    d: { value: '2024-01-01', type: 'date' },
    days: { value: 19723, type: 'date' },
    ts: { value: '2024-01-01 10:00:00', type: 'timestamp' },
    i: { value: '42', type: 'integer' },
    b: { value: 'true', type: 'boolean' },
  };
  const values = (c: string) => row[c];
  const cases: Array<[string, boolean | null]> = [
    ["p = 'a'", true],
    ["p <> 'a'", false],
    ["n = 'a'", null],
    ["n <> 'a'", null],
    ['n IS NULL', true],
    ["p IN ('b', NULL)", null],
    ["p IN ('a', NULL)", true],
    ["p NOT IN ('b', NULL)", null],
    ["p NOT IN ('b')", true],
    ["n = 'a' OR p = 'a'", true],
    ["n = 'a' AND p = 'b'", false],
    ["n = 'a' AND p = 'a'", null],
    ["NOT (n = 'a')", null],
    ["d = DATE '2024-01-01'", true],
    ['d = days', true],
    ["days > '2023-12-31'", true],
    ["d < TIMESTAMP '2024-01-01 00:00:01'", true],
    ["ts = TIMESTAMP '2024-01-01T11:00:00+01:00'", true],
    ['ts > d', true],
    ['i = 42', true],
    ['i BETWEEN 40 AND 41', false],
    ["i = '42'", true],
    ['b', true],
    ['NOT b', false],
    ['(i = 42) = b', true],
    ["'2024-01-01' = DATE '2024-01-01'", true],
    ['1 < 2', true],
    ['NULL = NULL', null],
    ['NULL IS NULL', true],
  ];
  it.each(cases)('%s → %s', (sql, expected) => {
    expect(evaluatePredicate(parsePredicate(sql), values)).toBe(expected);
  });

  const errors: Array<[string, RegExp]> = [
    ['missing = 1', /column "missing"/],
    ["i = 'abc'", /cannot compare column "i" \(integer\) with literal "abc"/],
    ["p = DATE '2024-01-01'", /cannot compare/],
    ['p', /not a boolean condition/],
    ["1 = 'x'", /cannot compare/],
  ];
  it.each(errors)('%s throws INVALID_INPUT', (sql, message) => {
    let caught: unknown;
    try {
      evaluatePredicate(parsePredicate(sql), values);
    } catch (e) {
      caught = e;
    }
    expect(isLakehouseError(caught, 'INVALID_INPUT')).toBe(true);
    expect((caught as Error).message).toMatch(message);
  });
});

describe('evaluatePredicate agrees with DuckDB running predicateToSql', () => {
  let instance: DuckDBInstance;
  let conn: DuckDBConnection;
  beforeAll(async () => {
    instance = await DuckDBInstance.create(':memory:');
    conn = await instance.connect();
    await conn.run("SET TimeZone = 'UTC'");
  });
  afterAll(() => {
    conn?.closeSync();
    instance?.closeSync();
  });
  const row: Record<string, { value: unknown; type: DataType; sql: string }> = {
    i: { value: 42, type: 'integer', sql: 'CAST(42 AS INTEGER)' },
    s: { value: 'ｚ', type: 'string', sql: "'ｚ'" },
    d: { value: '2024-01-01', type: 'date', sql: "DATE '2024-01-01'" },
    ts: { value: '2024-01-01T10:00:00Z', type: 'timestamp', sql: "TIMESTAMPTZ '2024-01-01 10:00:00+00'" },
    ntz: { value: '2024-01-01 10:00:00', type: 'timestamp_ntz', sql: "TIMESTAMP '2024-01-01 10:00:00'" },
    n: { value: null, type: 'string', sql: 'CAST(NULL AS VARCHAR)' },
    x: { value: 1.5, type: 'double', sql: 'CAST(1.5 AS DOUBLE)' },
  };
  const preds = [
    'i = 42',
    'i > 41.5',
    'i IN (1, 42)',
    'i NOT IN (1, NULL)',
    "s < '😀'",
    "s > 'z'",
    "d = '2024-01-01'",
    "d < TIMESTAMP '2024-01-01 00:00:01'",
    "d BETWEEN DATE '2023-12-31' AND '2024-01-02'",
    "ts = TIMESTAMP '2024-01-01 10:00:00'",
    "ts = TIMESTAMP '2024-01-01T11:00:00+01:00'",
    "ts < TIMESTAMPTZ '2024-01-01 10:30:00+01:00'",
    "ts > '2024-01-01T10:30:00+01:00'",
    "ts >= DATE '2024-01-01'",
    "ntz = '2024-01-01 10:00:00'",
    "ntz > TIMESTAMP '2024-01-01 09:59:59.999999'",
    'n IS NULL',
    "n = 'a'",
    "NOT (n = 'a')",
    "n = 'a' OR i = 42",
    "n = 'a' AND i = 1",
    "n IN ('a', 'b') OR NOT i <> 42",
    'x BETWEEN 1 AND 2',
    'x > 1.5',
  ];
  it.each(preds)('%s', async (sql) => {
    const pred = parsePredicate(sql);
    const ours = evaluatePredicate(pred, (c) => row[c]);
    const from = Object.entries(row).map(([c, v]) => `${v.sql} AS "${c}"`).join(', ');
    const result = await conn.runAndReadAll(`SELECT (${predicateToSql(pred)}) AS r FROM (SELECT ${from})`);
    expect(ours).toBe(result.getRowObjectsJson()[0].r);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Property tests: soundness of pruning against row-wise evaluation, and precision on exact (partition) facts.

type Row = { i: number | null; s: string | null; d: number | null; ts: number | null };
const ROW_TYPES: Record<keyof Row, DataType> = { i: 'integer', s: 'string', d: 'date', ts: 'timestamp' };
const COLS = Object.keys(ROW_TYPES) as Array<keyof Row>;
const rowTypes = (c: string): DataType | undefined => ROW_TYPES[c as keyof Row];

const strChar = fc.constantFrom('a', 'b', 'z', 'ｚ', '😀', 'é', '\uFFFF');
const strArb = fc.oneof(
  fc.string({ unit: strChar, maxLength: 4 }),
  // long values whose stats get truncated to a 32-character prefix
  fc
    .tuple(fc.constantFrom('a', 'ab', '😀'), fc.integer({ min: 30, max: 36 }), fc.string({ unit: strChar, maxLength: 1 }))
    .map(([x, n, tail]) => x.repeat(n) + tail),
);
const dayArb = fc.integer({ min: 19720, max: 19730 });
// Microsecond timestamps within a few milliseconds, so that the millisecond truncation of stats matters.
const tsArb = fc.integer({ min: 0, max: 4_000 }).map((us) => 1_704_103_200_000_000 + us);
const nullable = <T,>(a: fc.Arbitrary<T>) => fc.option(a, { freq: 4, nil: null });
const rowArb: fc.Arbitrary<Row> = fc.record({
  i: nullable(fc.integer({ min: -5, max: 5 })),
  s: nullable(strArb),
  d: nullable(dayArb),
  ts: nullable(tsArb),
});

/** UTF-8 byte order, computed independently of the code under test. */
function utf8Order(a: string, b: string): number {
  const enc = new TextEncoder();
  const [x, y] = [enc.encode(a), enc.encode(b)];
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

function tsText(micros: number): string {
  return new Date(Math.floor(micros / 1000)).toISOString(); // truncated to milliseconds, as stats are
}

/** The stats a writer would record for these rows: min/max (strings cut to 32 chars, timestamps to ms), nullCount. */
function statsOf(rows: Row[]): string {
  const minValues: Record<string, unknown> = {};
  const maxValues: Record<string, unknown> = {};
  const nullCount: Record<string, number> = {};
  for (const c of COLS) {
    const vals = rows.map((r) => r[c]).filter((v): v is number | string => v !== null);
    nullCount[c] = rows.length - vals.length;
    if (vals.length === 0) continue;
    const sorted = [...vals].sort((a, b) => (typeof a === 'string' ? utf8Order(a, b as string) : (a as number) - (b as number)));
    const [lo, hi] = [sorted[0], sorted[sorted.length - 1]];
    if (c === 'i') [minValues.i, maxValues.i] = [lo, hi];
    if (c === 'd') [minValues.d, maxValues.d] = [formatDateDays(lo as number), formatDateDays(hi as number)];
    if (c === 'ts') [minValues.ts, maxValues.ts] = [tsText(lo as number), tsText(hi as number)];
    if (c === 's') {
      const cut = (x: string) => Array.from(x).slice(0, 32).join('');
      minValues.s = cut(lo as string);
      maxValues.s = Array.from(hi as string).length > 32 ? cut(hi as string) : hi; // a prefix: NOT an upper bound
    }
  }
  return JSON.stringify({ numRecords: rows.length, minValues, maxValues, nullCount });
}

function rowValues(r: Row) {
  return (c: string) => (c in ROW_TYPES ? { value: r[c as keyof Row], type: ROW_TYPES[c as keyof Row] } : undefined);
}

const litFor: Record<keyof Row, fc.Arbitrary<Expr>> = {
  i: fc.integer({ min: -6, max: 6 }).map((v) => ({ kind: 'literal', value: v })),
  s: strArb.map((v) => ({ kind: 'literal', value: v })),
  d: dayArb.map((v) => ({ kind: 'literal', value: formatDateDays(v), type: 'date' })),
  ts: tsArb.map((v) => ({ kind: 'literal', value: serializePartitionValue(v, 'timestamp') as string, type: 'timestamp' })),
};
const nullLit: Expr = { kind: 'literal', value: null };
const opArb = fc.constantFrom('=', '<>', '<', '<=', '>', '>=' as const);

const leafArb: fc.Arbitrary<Expr> = fc.constantFrom(...COLS).chain((c) => {
  const column: Expr = { kind: 'column', name: c };
  const litArb = fc.oneof({ weight: 9, arbitrary: litFor[c] }, { weight: 1, arbitrary: fc.constant(nullLit) });
  return fc.oneof(
    fc.tuple(opArb, litArb, fc.boolean()).map(([op, l, flip]): Expr =>
      flip ? { kind: 'compare', op, left: l, right: column } : { kind: 'compare', op, left: column, right: l },
    ),
    fc.record({ list: fc.array(litArb, { minLength: 1, maxLength: 3 }), negated: fc.boolean() }).map(
      ({ list, negated }): Expr => ({ kind: 'in', expr: column, list, negated }),
    ),
    fc.boolean().map((negated): Expr => ({ kind: 'isNull', expr: column, negated })),
  );
});
const { pred: predArb } = fc.letrec<{ pred: Expr }>((tie) => ({
  pred: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leafArb,
    fc.array(tie('pred'), { minLength: 2, maxLength: 3 }).map((args): Expr => ({ kind: 'and', args })),
    fc.array(tie('pred'), { minLength: 2, maxLength: 3 }).map((args): Expr => ({ kind: 'or', args })),
    tie('pred').map((arg): Expr => ({ kind: 'not', arg })),
  ),
}));

describe('pruning properties', () => {
  it('is sound: a file with a matching row is never pruned', () => {
    fc.assert(
      fc.property(fc.array(rowArb, { minLength: 1, maxLength: 8 }), predArb, (rows, pred) => {
        const stats = parseStats(statsOf(rows));
        const matches = rows.some((r) => evaluatePredicate(pred, rowValues(r)) === true);
        const may = mayMatch(pred, (c) => statsColumnFacts(stats, [c]), rowTypes);
        if (matches) expect(may).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('is exact on partition facts: prunes exactly the files where the predicate is not true', () => {
    fc.assert(
      fc.property(rowArb, predArb, (row, pred) => {
        // What the log holds: serialized values ('' reads back as null, per the protocol).
        const raw = (c: keyof Row) => serializePartitionValue(row[c], ROW_TYPES[c]);
        const facts = (c: string) => (c in ROW_TYPES ? partitionColumnFacts(raw(c as keyof Row), 7) : undefined);
        const stored = (c: string) =>
          c in ROW_TYPES ? { value: parsePartitionValue(raw(c as keyof Row), ROW_TYPES[c as keyof Row], c), type: ROW_TYPES[c as keyof Row] } : undefined;
        const expected = evaluatePredicate(pred, stored) === true;
        expect(mayMatch(pred, facts, rowTypes)).toBe(expected);
      }),
      { numRuns: 3000 },
    );
  });

  it('prunes selective predicates on files with exact stats', () => {
    // A fixed file; every predicate below is false or null on each of its rows, and mayMatch must see that.
    const rows: Row[] = [
      { i: 1, s: 'b', d: 19721, ts: 1_704_103_200_000_000 },
      { i: 3, s: 'c', d: 19725, ts: 1_704_103_200_500_000 },
      { i: null, s: null, d: 19723, ts: 1_704_103_201_000_000 },
    ];
    const stats = parseStats(statsOf(rows));
    const facts = (c: string) => statsColumnFacts(stats, [c]);
    const selective = [
      'i > 3',
      'i < 1',
      'i = 2 AND i = 4',
      'i IN (4, 5, -1)',
      "s > 'c'",
      "s < 'b'",
      "d < DATE '2023-12-30'",
      "d BETWEEN DATE '2024-01-05' AND DATE '2024-02-01'",
      "ts > TIMESTAMP '2024-01-01 10:00:01.001'",
      "ts < TIMESTAMP '2024-01-01 10:00:00'",
      'd IS NULL',
      'ts IS NULL OR i > 5',
      'NOT (i <= 3)',
      "NOT (d >= DATE '2023-12-30')",
    ];
    for (const sql of selective) {
      const pred = parsePredicate(sql);
      expect(rows.some((r) => evaluatePredicate(pred, rowValues(r)) === true), sql).toBe(false);
      expect(mayMatch(pred, facts, rowTypes), sql).toBe(false);
    }
  });
});
