import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataType, PrimitiveTypeName } from '../src/delta/schema.js';
import { typeToString } from '../src/delta/schema.js';
import { isLakehouseError } from '../src/errors.js';
import { deltaTypeFromDuckDb, duckDbType, quoteIdent, quoteString } from '../src/sql/duckdb-types.js';

const dec = (precision: number, scale: number): DataType => ({ type: 'decimal', precision, scale });
const arr = (elementType: DataType): DataType => ({ type: 'array', elementType, containsNull: true });
const map = (keyType: DataType, valueType: DataType): DataType => ({ type: 'map', keyType, valueType, valueContainsNull: true });
const struct = (...fields: [string, DataType][]): DataType => ({
  type: 'struct',
  fields: fields.map(([name, type]) => ({ name, type, nullable: true, metadata: {} })),
});

function errorCode(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return isLakehouseError(e) ? e.code : `not a LakehouseError: ${String(e)}`;
  }
  return undefined;
}

function errorMessage(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
  return '';
}

describe('duckDbType', () => {
  it.each<[DataType, string]>([
    ['string', 'VARCHAR'],
    ['long', 'BIGINT'],
    ['integer', 'INTEGER'],
    ['short', 'SMALLINT'],
    ['byte', 'TINYINT'],
    ['float', 'FLOAT'],
    ['double', 'DOUBLE'],
    ['boolean', 'BOOLEAN'],
    ['binary', 'BLOB'],
    ['date', 'DATE'],
    ['timestamp', 'TIMESTAMP'],
    ['timestamp_ntz', 'TIMESTAMP'],
    [dec(10, 2), 'DECIMAL(10,2)'],
    [dec(38, 0), 'DECIMAL(38,0)'],
    [struct(['a', 'integer'], ['b c', 'string']), 'STRUCT("a" INTEGER, "b c" VARCHAR)'],
    [struct(['say "hi"', 'long']), 'STRUCT("say ""hi""" BIGINT)'],
    [arr('string'), 'VARCHAR[]'],
    [arr(arr('integer')), 'INTEGER[][]'],
    [map('string', dec(5, 1)), 'MAP(VARCHAR, DECIMAL(5,1))'],
    [arr(struct(['x', map('string', arr('date'))])), 'STRUCT("x" MAP(VARCHAR, DATE[]))[]'],
  ])('%j → %s', (t, expected) => {
    expect(duckDbType(t)).toBe(expected);
  });

  it.each<[DataType, string]>([
    [dec(39, 0), 'INVALID_INPUT'],
    [dec(10, 11), 'INVALID_INPUT'],
    [dec(0, 0), 'INVALID_INPUT'],
    ['variant', 'UNSUPPORTED_FEATURE'],
    [struct(['v', 'variant']), 'UNSUPPORTED_FEATURE'],
    [{ type: 'struct', fields: [] }, 'INVALID_INPUT'],
  ])('refuses %j with %s', (t, code) => {
    expect(errorCode(() => duckDbType(t))).toBe(code);
  });
});

describe('deltaTypeFromDuckDb', () => {
  it.each<[string, DataType]>([
    ['VARCHAR', 'string'],
    ['BIGINT', 'long'],
    ['INTEGER', 'integer'],
    ['SMALLINT', 'short'],
    ['TINYINT', 'byte'],
    ['UTINYINT', 'short'],
    ['USMALLINT', 'integer'],
    ['UINTEGER', 'long'],
    ['UBIGINT', dec(20, 0)],
    ['HUGEINT', dec(38, 0)],
    ['FLOAT', 'float'],
    ['DOUBLE', 'double'],
    ['BOOLEAN', 'boolean'],
    ['BLOB', 'binary'],
    ['DATE', 'date'],
    ['TIMESTAMP', 'timestamp'],
    ['TIMESTAMP WITH TIME ZONE', 'timestamp'],
    ['TIMESTAMP_NS', 'timestamp'],
    ['TIMESTAMP_MS', 'timestamp'],
    ['TIMESTAMP_S', 'timestamp'],
    ['UUID', 'string'],
    ['JSON', 'string'],
    ["ENUM('a', 'it''s', 'x)')", 'string'],
    ['DECIMAL(18,3)', dec(18, 3)],
    ['DECIMAL(38,10)', dec(38, 10)],
    ['DECIMAL', dec(18, 3)],
    ['integer', 'integer'],
    ['VARCHAR[]', arr('string')],
    ['INTEGER[3]', arr('integer')],
    ['DOUBLE[][]', arr(arr('double'))],
    ['MAP(VARCHAR, INTEGER)', map('string', 'integer')],
    ['MAP(VARCHAR, MAP(INTEGER, DATE[]))', map('string', map('integer', arr('date')))],
    ['STRUCT(a INTEGER, b VARCHAR[])', struct(['a', 'integer'], ['b', arr('string')])],
    ['STRUCT("a" INTEGER, "b c" MAP(VARCHAR, INTEGER))', struct(['a', 'integer'], ['b c', map('string', 'integer')])],
    ['STRUCT("say ""hi""" BIGINT, "x,y" DECIMAL(4,2))', struct(['say "hi"', 'long'], ['x,y', dec(4, 2)])],
    ['STRUCT(s STRUCT(t TIMESTAMP WITH TIME ZONE))[]', arr(struct(['s', struct(['t', 'timestamp'])]))],
    ['"NULL"', 'string'],
  ])('%s → %j', (duck, expected) => {
    expect(deltaTypeFromDuckDb(duck, 'col')).toEqual(expected);
  });

  it.each<[string, string]>([
    ['TIME', 'INVALID_INPUT'],
    ['INTERVAL', 'INVALID_INPUT'],
    ['TIME WITH TIME ZONE', 'INVALID_INPUT'],
    ['UHUGEINT', 'INVALID_INPUT'],
    ['UNION(a INTEGER, b VARCHAR)', 'INVALID_INPUT'],
    ['STRUCT(a INTEGER, t TIME)', 'INVALID_INPUT'],
    ['DECIMAL(40,2)', 'INVALID_INPUT'],
    ['NOT A TYPE', 'INVALID_INPUT'],
    ['STRUCT(a INTEGER', 'INVALID_INPUT'],
    ['MAP(VARCHAR)', 'INVALID_INPUT'],
  ])('refuses %s with %s', (duck, code) => {
    expect(errorCode(() => deltaTypeFromDuckDb(duck, 'col'))).toBe(code);
  });

  it('names the column, and the nested path, in the error', () => {
    expect(errorMessage(() => deltaTypeFromDuckDb('INTERVAL', 'duration'))).toContain('"duration"');
    expect(errorMessage(() => deltaTypeFromDuckDb('STRUCT(a STRUCT(t TIME))', 'event'))).toContain('"event.a.t"');
  });
});

describe('quoteIdent / quoteString', () => {
  it.each([
    ['plain', '"plain"', "'plain'"],
    ['with "quotes"', '"with ""quotes"""', `'with "quotes"'`],
    ["it's", `"it's"`, "'it''s'"],
    ['ünï 😈 \\ back', '"ünï 😈 \\ back"', "'ünï 😈 \\ back'"],
  ])('%s', (raw, ident, literal) => {
    expect(quoteIdent(raw)).toBe(ident);
    expect(quoteString(raw)).toBe(literal);
  });
});

// Round trips through a real DuckDB: the type string duckDbType produces must be accepted by DuckDB, and what
// DuckDB prints for it must map back to the same Delta type.
describe('round trip through DuckDB', () => {
  let instance: DuckDBInstance;
  let conn: DuckDBConnection;
  beforeAll(async () => {
    instance = await DuckDBInstance.create(':memory:');
    conn = await instance.connect();
  });
  afterAll(() => {
    conn.closeSync();
    instance.closeSync();
  });

  const primitives: PrimitiveTypeName[] = [
    'string',
    'long',
    'integer',
    'short',
    'byte',
    'float',
    'double',
    'boolean',
    'binary',
    'date',
    'timestamp',
  ];
  const cases: DataType[] = [
    ...primitives,
    dec(1, 0),
    dec(18, 3),
    dec(38, 38),
    struct(['a', 'integer'], ['b c', struct(['"q"', dec(9, 2)], ['d', arr('date')])]),
    arr(arr(struct(['x', 'binary']))),
    map('string', struct(['v', map('integer', arr('timestamp'))])),
    map(dec(10, 0), arr('boolean')),
  ];

  it.each(cases.map((t) => [typeToString(t), t] as const))('%s', async (_name, t) => {
    const sqlType = duckDbType(t);
    const printed = (await conn.runAndReadAll(`SELECT typeof(CAST(NULL AS ${sqlType})) AS t`)).getRowObjectsJson()[0].t;
    expect(deltaTypeFromDuckDb(String(printed), 'c')).toEqual(t);
    // And the column type reported by a result set (another printing path).
    const described = (await conn.runAndReadAll(`DESCRIBE SELECT CAST(NULL AS ${sqlType}) AS c`)).getRowObjectsJson()[0];
    expect(deltaTypeFromDuckDb(String(described.column_type), 'c')).toEqual(t);
  });

  it('timestamp_ntz maps to TIMESTAMP and comes back as timestamp (DuckDB has one wall-clock timestamp)', async () => {
    expect(duckDbType('timestamp_ntz')).toBe('TIMESTAMP');
    const printed = (await conn.runAndReadAll(`SELECT typeof(CAST(NULL AS TIMESTAMP)) AS t`)).getRowObjectsJson()[0].t;
    expect(deltaTypeFromDuckDb(String(printed), 'c')).toBe('timestamp');
  });

  it('infers Delta types of what DuckDB reads from typical inputs', async () => {
    const r = await conn.runAndReadAll(
      `SELECT 1::UBIGINT a, 2::HUGEINT b, TIMESTAMPTZ '2024-01-01 00:00:00+00' c, 'x'::ENUM('x','y') d, uuid() e, ` +
        `{'k': [1, 2], 'm': MAP {'a': 1.5}} f`,
    );
    const types = r.columnNames().map((name, i) => [name, deltaTypeFromDuckDb(r.columnTypes()[i].toString(), name)]);
    expect(Object.fromEntries(types)).toEqual({
      a: dec(20, 0),
      b: dec(38, 0),
      c: 'timestamp',
      d: 'string',
      e: 'string',
      f: struct(['k', arr('integer')], ['m', map('string', dec(2, 1))]),
    });
  });

  it('refuses a TIME column by name', async () => {
    const r = await conn.runAndReadAll(`SELECT TIME '10:00:00' AS opens_at`);
    expect(errorMessage(() => deltaTypeFromDuckDb(r.columnTypes()[0].toString(), r.columnNames()[0]))).toMatch(
      /"opens_at".*TIME/,
    );
  });
});
