import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AddAction } from '../src/delta/actions.js';
import { fileKey } from '../src/delta/paths.js';
import type { DataType, StructField, StructType } from '../src/delta/schema.js';
import { isLakehouseError } from '../src/errors.js';
import { writeDataFiles, type WriteDataFilesOptions } from '../src/node/duckdb-writer.js';
import { FsStorage } from '../src/node/fs-storage.js';
import { duckDbType, quoteIdent, quoteString } from '../src/sql/duckdb-types.js';
import { MemoryStorage } from '../src/storage/memory.js';
import { ManualClock, type Storage } from '../src/storage/storage.js';

// ---------- schema helpers ----------

function field(name: string, type: DataType, extra: Partial<StructField> = {}): StructField {
  return { name, type, nullable: true, metadata: {}, ...extra };
}
const struct = (...fields: StructField[]): StructType => ({ type: 'struct', fields });

const ORDERS_SCHEMA = struct(
  field('id', 'long', { nullable: false }),
  field('name', 'string'),
  field('amount', { type: 'decimal', precision: 38, scale: 2 }),
  field('qty', 'integer'),
  field('tiny', 'byte'),
  field('small', 'short'),
  field('ratio', 'double'),
  field('f', 'float'),
  field('day', 'date'),
  field('ts', 'timestamp'),
  field('ntz', 'timestamp_ntz'),
  field('flag', 'boolean'),
  field('info', struct(field('a', 'integer'), field('b', struct(field('c', 'string'))))),
  field('tags', { type: 'array', elementType: 'string', containsNull: true }),
  field('attrs', { type: 'map', keyType: 'string', valueType: 'integer', valueContainsNull: true }),
  field('bin', 'binary'),
  field('part', 'string'),
  field('pday', 'date'),
);
const ORDERS_PARTITIONS = ['part', 'pday'];

const LONG_NAME = 'this string is definitely longer than thirty-two characters';
// 31 ASCII characters, an emoji (two UTF-16 units) at code point 32, then more: the min bound is cut after the emoji.
const EMOJI_EDGE = `${'a'.repeat(31)}😈zz`;

// The source has TIMESTAMPTZ for `ts` (converted by the writer) and a plain TIMESTAMP for `ntz`.
const ORDERS_SQL = `
CREATE OR REPLACE TABLE src (
  id BIGINT, name VARCHAR, amount DECIMAL(38,2), qty INTEGER, tiny TINYINT, small SMALLINT, ratio DOUBLE, f FLOAT,
  day DATE, ts TIMESTAMPTZ, ntz TIMESTAMP, flag BOOLEAN, info STRUCT(a INTEGER, b STRUCT(c VARCHAR)),
  tags VARCHAR[], attrs MAP(VARCHAR, INTEGER), bin BLOB, part VARCHAR, pday DATE);
INSERT INTO src VALUES
 (1, 'héllo wörld', 123456789012345678901234567890123456.78, 10, -128, 32767, 1.5, 0.1, DATE '2024-01-01',
  TIMESTAMPTZ '2024-01-01 10:00:00.123456+00', TIMESTAMP '2024-01-01 10:00:00.999999', true,
  {'a': 1, 'b': {'c': 'x'}}, ['a', 'b'], MAP {'k': 1}, '\\xAA\\xBB'::BLOB, 'a/b: c', DATE '2024-01-01'),
 (9007199254740993, '日本語テキスト', -98765432109876543210987654321.01, NULL, 127, -32768, -2.25, 3.5,
  DATE '1970-01-01', TIMESTAMPTZ '1999-12-31 23:59:59.999999-05', NULL, false, NULL, NULL, NULL, NULL,
  'a/b: c', DATE '2024-01-01'),
 (3, ${quoteString(LONG_NAME)}, 0.01, 7, 0, 0, 2.0, -1.25, DATE '2000-02-29', NULL,
  TIMESTAMP '2030-06-15 00:00:00', NULL, {'a': NULL, 'b': NULL}, [], MAP {}, ''::BLOB, NULL, NULL),
 (4, NULL, NULL, 8, NULL, NULL, NULL, NULL, NULL, TIMESTAMPTZ '1970-01-01 00:00:00+00', NULL, true,
  {'a': 2, 'b': {'c': NULL}}, ['z', NULL], MAP {'a': NULL}, NULL, NULL, NULL),
 (5, 'zzz', 5.50, 1, 1, 1, 'NaN'::DOUBLE, 1.0, DATE '2024-03-01', TIMESTAMPTZ '2024-03-01 12:34:56.789+00',
  TIMESTAMP '2024-03-01 12:34:56.789', false, {'a': 5, 'b': {'c': ${quoteString(LONG_NAME)}}}, ['q'], MAP {'x': 9},
  'abc'::BLOB, 'plain', DATE '2024-01-01'),
 (6, 'aaa', -5.50, 2, 2, 2, 2.5, 2.0, DATE '2024-03-02', TIMESTAMPTZ '2024-03-02 00:00:00+00',
  TIMESTAMP '2024-03-02 00:00:00', true, NULL, NULL, NULL, NULL, 'plain', DATE '2024-01-01'),
 (7, 'ünï', 1.00, 3, 3, 3, 0.0, 0.0, DATE '2024-04-01', NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'ünï', NULL),
 (8, '/%20%f', 2.00, 4, 4, 4, 1.0, 1.0, DATE '2024-02-29', TIMESTAMPTZ '2024-02-29 23:59:59.9999+00',
  TIMESTAMP '2024-02-29 23:59:59.9999', false, NULL, NULL, NULL, NULL, '/%20%f', DATE '2024-02-29'),
 (9, ${quoteString(EMOJI_EDGE)}, 3.00, 5, 5, 5, 1.0, 1.0, DATE '2024-05-01', NULL, NULL, true, NULL, NULL, NULL,
  NULL, 'plain', DATE '2024-01-02'),
 (10, 'b', 4.00, 6, 6, 6, 1.0, 1.0, DATE '2024-05-02', NULL, NULL, false, NULL, NULL, NULL, NULL, 'plain',
  DATE '2024-01-02');
`;

// ---------- exact JSON (numbers kept as their text) ----------

class JNum {
  constructor(readonly text: string) {}
}
type J = null | boolean | string | JNum | J[] | { [k: string]: J };

function parseExactJson(text: string): J {
  let i = 0;
  const ws = (): void => {
    while (/\s/.test(text[i] ?? '')) i++;
  };
  const value = (): J => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const o: { [k: string]: J } = {};
      ws();
      if (text[i] === '}') {
        i++;
        return o;
      }
      for (;;) {
        ws();
        const k = value() as string;
        ws();
        if (text[i++] !== ':') throw new Error(`expected : at ${i}`);
        o[k] = value();
        ws();
        const d = text[i++];
        if (d === '}') return o;
        if (d !== ',') throw new Error(`expected , at ${i}`);
      }
    }
    if (c === '[') {
      i++;
      const a: J[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return a;
      }
      for (;;) {
        a.push(value());
        ws();
        const d = text[i++];
        if (d === ']') return a;
        if (d !== ',') throw new Error(`expected , at ${i}`);
      }
    }
    if (c === '"') {
      const m = /^"(?:[^"\\]|\\.)*"/.exec(text.slice(i));
      if (!m) throw new Error(`bad string at ${i}`);
      i += m[0].length;
      return JSON.parse(m[0]) as string;
    }
    for (const [lit, v] of [['true', true], ['false', false], ['null', null]] as const) {
      if (text.startsWith(lit, i)) {
        i += lit.length;
        return v;
      }
    }
    const m = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i));
    if (!m) throw new Error(`bad JSON at ${i}: ${text.slice(i, i + 20)}`);
    i += m[0].length;
    return new JNum(m[0]);
  };
  const v = value();
  ws();
  if (i !== text.length) throw new Error('trailing JSON');
  return v;
}

// ---------- expected stats, computed independently from each written file ----------

interface Leaf {
  path: string[];
  sql: string;
  type: DataType;
}

function leavesOf(fields: StructField[], physical: (f: StructField) => string, parent: string[] = [], sql = ''): Leaf[] {
  return fields.flatMap((f) => {
    const name = physical(f);
    const expr = sql === '' ? quoteIdent(name) : `struct_extract(${sql}, ${quoteString(name)})`;
    if (typeof f.type === 'object' && f.type.type === 'struct') return leavesOf(f.type.fields, physical, [...parent, name], expr);
    return [{ path: [...parent, name], sql: expr, type: f.type }];
  });
}

function getPath(o: J | undefined, p: string[]): J | undefined {
  let cur: J | undefined = o;
  for (const k of p) {
    if (cur === null || cur === undefined || typeof cur !== 'object' || Array.isArray(cur) || cur instanceof JNum) return undefined;
    cur = cur[k];
  }
  return cur;
}

function leafPaths(o: J, prefix: string[] = []): string[] {
  if (o === null || typeof o !== 'object' || Array.isArray(o) || o instanceof JNum) return [prefix.join('.')];
  return Object.entries(o).flatMap(([k, v]) => leafPaths(v, [...prefix, k]));
}

/** '2024-01-01 10:00:00.123456+00' or '2024-01-01 10:00:00' (DuckDB JSON) → ISO cut to milliseconds. */
function isoMillis(duck: string): string {
  const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:\.(\d+))?/.exec(duck);
  if (!m) throw new Error(`unexpected timestamp ${duck}`);
  return `${m[1]}T${m[2]}.${(m[3] ?? '').padEnd(3, '0').slice(0, 3)}Z`;
}

/** The stats bound we expect for a DuckDB min/max (undefined: the writer must leave it out). */
function expectedBound(v: unknown, type: DataType, agg: 'min' | 'max'): unknown {
  if (v === null || v === undefined) return undefined;
  if (typeof type === 'object') {
    return type.type === 'decimal' ? { exact: String(v) } : undefined;
  }
  switch (type) {
    case 'binary':
      return undefined;
    case 'long':
      return { exact: String(v) };
    case 'float':
    case 'double':
      return typeof v === 'number' && Number.isFinite(v) ? { number: v } : undefined;
    case 'byte':
    case 'short':
    case 'integer':
      return { number: Number(v) };
    case 'string': {
      const chars = Array.from(String(v));
      if (chars.length <= 32) return String(v);
      return agg === 'min' ? chars.slice(0, 32).join('') : undefined;
    }
    case 'timestamp':
    case 'timestamp_ntz':
      return isoMillis(String(v));
    default:
      return v;
  }
}

function actualBound(v: J | undefined, type: DataType): unknown {
  if (v === undefined) return undefined;
  if (v instanceof JNum) {
    const exact = typeof type === 'object' || type === 'long';
    return exact ? { exact: v.text } : { number: Number(v.text) };
  }
  return v;
}

async function checkStats(conn: DuckDBConnection, file: string, add: AddAction, dataFields: StructField[], physical: (f: StructField) => string): Promise<void> {
  const stats = parseExactJson(add.stats as string) as { [k: string]: J };
  const leaves = leavesOf(dataFields, physical);
  const cols = leaves.flatMap((l, k) => {
    const nested = typeof l.type === 'object' && l.type.type !== 'decimal';
    return [`count(*) - count(${l.sql}) AS z${k}`, ...(nested ? [] : [`min(${l.sql}) AS lo${k}`, `max(${l.sql}) AS hi${k}`])];
  });
  const r = (await conn.runAndReadAll(`SELECT count(*) AS n, ${cols.join(', ')} FROM read_parquet(${quoteString(file)})`)).getRowObjectsJson()[0];
  expect(stats.numRecords).toEqual(new JNum(String(r.n)));
  const expectedMin: string[] = [];
  const expectedMax: string[] = [];
  leaves.forEach((l, k) => {
    const where = `${l.path.join('.')} in ${add.path}`;
    expect(getPath(stats.nullCount, l.path), `nullCount ${where}`).toEqual(new JNum(String(r[`z${k}`])));
    const lo = expectedBound(r[`lo${k}`], l.type, 'min');
    const hi = expectedBound(r[`hi${k}`], l.type, 'max');
    expect(actualBound(getPath(stats.minValues, l.path), l.type), `minValues ${where}`).toEqual(lo);
    expect(actualBound(getPath(stats.maxValues, l.path), l.type), `maxValues ${where}`).toEqual(hi);
    if (lo !== undefined) expectedMin.push(l.path.join('.'));
    if (hi !== undefined) expectedMax.push(l.path.join('.'));
  });
  // Nothing else in the stats: no partition columns, no bounds for nested arrays/maps or binary.
  expect(leafPaths(stats.nullCount).sort()).toEqual(leaves.map((l) => l.path.join('.')).sort());
  expect(leafPaths(stats.minValues).filter((p) => p !== '').sort()).toEqual(expectedMin.sort());
  expect(leafPaths(stats.maxValues).filter((p) => p !== '').sort()).toEqual(expectedMax.sort());
}

// ---------- storage helpers ----------

interface StorageCase {
  name: string;
  make(): Promise<{ storage: Storage; cleanup(): Promise<void> }>;
}

const STORAGES: StorageCase[] = [
  {
    name: 'MemoryStorage',
    async make() {
      return { storage: new MemoryStorage(new ManualClock()), cleanup: async () => undefined };
    },
  },
  {
    name: 'FsStorage',
    async make() {
      const dir = await mkdtemp(path.join(tmpdir(), 'duckdb-writer-test-'));
      return { storage: new FsStorage(dir), cleanup: () => rm(dir, { recursive: true, force: true }) };
    },
  },
];

/** A local file with the object's bytes (the object itself for FsStorage). */
async function localCopy(storage: Storage, key: string, scratch: string, n: number): Promise<string> {
  if (storage.localPath) return storage.localPath(key);
  const file = path.join(scratch, `copy-${n}.parquet`);
  await writeFile(file, await storage.get(key));
  return file;
}

function partitionLiteral(v: string | null, type: DataType): string {
  return v === null ? `CAST(NULL AS ${duckDbType(type)})` : `CAST(${quoteString(v)} AS ${duckDbType(type)})`;
}

async function count(conn: DuckDBConnection, sql: string): Promise<number> {
  return Number((await conn.runAndReadAll(`SELECT count(*) AS n FROM (${sql})`)).getRowObjectsJson()[0].n);
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    return isLakehouseError(e) ? e.code : `not a LakehouseError: ${String(e)}`;
  }
  return undefined;
}

// ---------- tests ----------

let instance: DuckDBInstance;
let conn: DuckDBConnection;
let scratch: string;

beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:');
  conn = await instance.connect();
  scratch = await mkdtemp(path.join(tmpdir(), 'duckdb-writer-scratch-'));
  await conn.run(`SET TimeZone = 'UTC'`);
  await conn.run(ORDERS_SQL);
});

afterAll(async () => {
  conn.closeSync();
  instance.closeSync();
  await rm(scratch, { recursive: true, force: true });
});

function baseOptions(storage: Storage, extra: Partial<WriteDataFilesOptions> = {}): WriteDataFilesOptions {
  return {
    connection: conn,
    storage,
    tableKey: 'silver/sales/orders',
    source: 'src',
    schema: ORDERS_SCHEMA,
    partitionColumns: ORDERS_PARTITIONS,
    clock: new ManualClock(Date.UTC(2024, 5, 1)),
    ...extra,
  };
}

describe.each(STORAGES)('writeDataFiles with $name', (storageCase) => {
  let storage: Storage;
  let cleanup: () => Promise<void>;
  let adds: AddAction[];
  let tzAfter: string;
  const tableKey = storageCase.name === 'FsStorage' ? '' : 'silver/sales/orders';
  const files: string[] = [];

  beforeAll(async () => {
    ({ storage, cleanup } = await storageCase.make());
    // A session time zone far from UTC: the writer must still store UTC instants and restore the setting.
    await conn.run(`SET TimeZone = 'America/New_York'`);
    adds = await writeDataFiles(
      baseOptions(storage, { tableKey, source: storageCase.name === 'FsStorage' ? 'SELECT * FROM src ORDER BY id -- every row' : 'src' }),
    );
    tzAfter = String((await conn.runAndReadAll(`SELECT current_setting('TimeZone') AS tz`)).getRowObjectsJson()[0].tz);
    await conn.run(`SET TimeZone = 'UTC'`);
    const prefix = tableKey === '' ? '' : `${tableKey}/`;
    for (const [n, add] of adds.entries()) files.push(await localCopy(storage, prefix + decodeURIComponent(add.path), scratch, n + (storageCase.name === 'FsStorage' ? 100 : 0)));
  });
  afterAll(() => cleanup());

  it('restores the session time zone', () => {
    expect(tzAfter).toBe('America/New_York');
  });

  it('writes one file per partition tuple, with serialized partition values', () => {
    const tuples = adds.map((a) => JSON.stringify(a.partitionValues)).sort();
    expect(tuples).toEqual(
      [
        { part: '/%20%f', pday: '2024-02-29' },
        { part: 'a/b: c', pday: '2024-01-01' },
        { part: 'plain', pday: '2024-01-01' },
        { part: 'plain', pday: '2024-01-02' },
        { part: 'ünï', pday: null },
        { part: null, pday: null },
      ]
        .map((t) => JSON.stringify(t))
        .sort(),
    );
    for (const a of adds) {
      expect(a.dataChange).toBe(true);
      expect(a.modificationTime).toBe(Date.UTC(2024, 5, 1));
    }
  });

  it('percent-encodes add.path as Spark does and the paths decode to the written keys', async () => {
    const byPart = new Map(adds.map((a) => [`${a.partitionValues.part}|${a.partitionValues.pday}`, a.path]));
    const name = /^part-\d{5}-[0-9a-f-]{36}\.c000\.snappy\.parquet$/;
    const expectations: [string, string][] = [
      ['/%20%f|2024-02-29', 'part=%252F%252520%2525f/pday=2024-02-29/'],
      ['a/b: c|2024-01-01', 'part=a%252Fb%253A%20c/pday=2024-01-01/'],
      ['ünï|null', 'part=ünï/pday=__HIVE_DEFAULT_PARTITION__/'],
      ['null|null', 'part=__HIVE_DEFAULT_PARTITION__/pday=__HIVE_DEFAULT_PARTITION__/'],
    ];
    for (const [k, dir] of expectations) {
      const p = byPart.get(k) as string;
      expect(p.startsWith(dir), `${p} starts with ${dir}`).toBe(true);
      expect(p.slice(dir.length)).toMatch(name);
    }
    const listed = (await storage.list(tableKey === '' ? '' : `${tableKey}/`)).map((o) => o.key).sort();
    const decoded = adds.map((a) => fileKey(tableKey, a.path, storage.root)).sort();
    expect(decoded).toEqual(listed);
    expect(new Set(decoded).size).toBe(adds.length);
    for (const a of adds) {
      const head = await storage.head(fileKey(tableKey, a.path, storage.root));
      expect(head?.size).toBe(a.size);
    }
  });

  it('the rows read back (with partition values from the adds) equal the source', async () => {
    const dataCols = ORDERS_SCHEMA.fields.filter((f) => !ORDERS_PARTITIONS.includes(f.name));
    const selects = adds.map((a, n) => {
      const cols = dataCols.map((f) => (f.name === 'ts' ? `CAST("ts" AS TIMESTAMP) AS "ts"` : quoteIdent(f.name)));
      const parts = ORDERS_PARTITIONS.map((p) => {
        const t = ORDERS_SCHEMA.fields.find((f) => f.name === p)?.type as DataType;
        return `${partitionLiteral(a.partitionValues[p], t)} AS ${quoteIdent(p)}`;
      });
      return `SELECT ${[...cols, ...parts].join(', ')} FROM read_parquet(${quoteString(files[n])})`;
    });
    const all = ORDERS_SCHEMA.fields.map((f) => quoteIdent(f.name)).join(', ');
    const readBack = `SELECT ${all} FROM (${selects.join(' UNION ALL ')})`;
    const expected = `SELECT ${ORDERS_SCHEMA.fields.map((f) => (f.name === 'ts' ? `CAST("ts" AS TIMESTAMP) AS "ts"` : quoteIdent(f.name))).join(', ')} FROM src`;
    expect(await count(conn, readBack)).toBe(10);
    expect(await count(conn, `${expected} EXCEPT ALL ${readBack}`)).toBe(0);
    expect(await count(conn, `${readBack} EXCEPT ALL ${expected}`)).toBe(0);
    // Spot check of a UTC conversion: '1999-12-31 23:59:59.999999-05' is 04:59:59.999999 UTC.
    const ts = (await conn.runAndReadAll(`SELECT CAST(ts AS VARCHAR) AS t FROM (${readBack}) WHERE id = 9007199254740993`)).getRowObjectsJson();
    expect(ts[0].t).toBe('2000-01-01 04:59:59.999999');
  });

  it('stats equal what DuckDB computes over each file', async () => {
    const dataFields = ORDERS_SCHEMA.fields.filter((f) => !ORDERS_PARTITIONS.includes(f.name));
    expect(adds.length).toBe(6);
    for (const [n, add] of adds.entries()) await checkStats(conn, files[n], add, dataFields, (f) => f.name);
  });

  it('keeps exact big numbers and cuts strings at 32 code points in the stats text', () => {
    const first = adds.find((a) => a.partitionValues.part === 'a/b: c') as AddAction;
    expect(first.stats).toContain('"amount":123456789012345678901234567890123456.78');
    expect(first.stats).toContain('"amount":-98765432109876543210987654321.01');
    expect(first.stats).toContain('"id":9007199254740993');
    expect(first.stats).toContain('"ts":"2000-01-01T04:59:59.999Z"');
    const edge = adds.find((a) => a.partitionValues.pday === '2024-01-02') as AddAction;
    expect(edge.stats).toContain(`"name":${JSON.stringify(`${'a'.repeat(31)}😈`)}`);
  });

  it('stores partition columns only in the path, timestamps UTC-adjusted and timestamp_ntz not', async () => {
    const schema = (await conn.runAndReadAll(`SELECT name, logical_type FROM parquet_schema(${quoteString(files[0])})`)).getRowObjectsJson();
    const names = schema.map((r) => String(r.name));
    expect(names).not.toContain('part');
    expect(names).not.toContain('pday');
    expect(names).toContain('amount');
    const logical = (n: string): string => String(schema.find((r) => r.name === n)?.logical_type);
    expect(logical('ts')).toContain('isAdjustedToUTC=1');
    expect(logical('ntz')).toContain('isAdjustedToUTC=0');
    const meta = (await conn.runAndReadAll(`SELECT DISTINCT compression FROM parquet_metadata(${quoteString(files[0])})`)).getRowObjectsJson();
    expect(meta.map((r) => String(r.compression))).toEqual(['SNAPPY']);
  });
});

describe('writeDataFiles: timestamp columns', () => {
  // The writer converts without ICU's calendar (make_timestamptz(epoch_us(...))); the values must be CAST's, whatever
  // the source type and the session's time zone, infinities and nulls included.
  it.each([
    ['TIMESTAMP', `TIMESTAMP`],
    ['TIMESTAMPTZ', `TIMESTAMPTZ`],
    ['VARCHAR', `VARCHAR`],
  ])('writes a %s source as the instants CAST gives', async (_label, sourceType) => {
    const storage = new MemoryStorage();
    const schema = struct(field('id', 'long'), field('ts', 'timestamp'), field('ntz', 'timestamp_ntz'));
    const values = [
      `'2024-01-01 10:00:00.123456'`,
      `'1900-03-01 01:02:03.000001'`,
      `'1969-12-31 23:59:59.999999'`,
      `'infinity'`,
      `'-infinity'`,
      `NULL`,
    ];
    const source = `SELECT * FROM (VALUES ${values.map((v, i) => `(${i}, CAST(${v} AS ${sourceType}), CAST(${v} AS ${sourceType}))`).join(', ')}) AS t(id, ts, ntz)`;
    await conn.run(`SET TimeZone = 'America/New_York'`);
    try {
      const adds = await writeDataFiles({ ...baseOptions(storage), tableKey: 't', source, schema, partitionColumns: [] });
      expect(String((await conn.runAndReadAll(`SELECT current_setting('TimeZone') AS tz`)).getRowObjectsJson()[0].tz)).toBe('America/New_York');
      const dir = await mkdtemp(path.join(scratch, 'ts-'));
      const files = await Promise.all(adds.map((a, n) => localCopy(storage, `t/${decodeURIComponent(a.path)}`, dir, n)));
      await conn.run(`SET TimeZone = 'UTC'`);
      const back = (
        await conn.runAndReadAll(`SELECT id, CAST(ts AS VARCHAR) AS ts, CAST(ntz AS VARCHAR) AS ntz FROM read_parquet([${files.map(quoteString).join(', ')}]) ORDER BY id`)
      ).getRowObjectsJson();
      // What the CAST of the same source gives in UTC: the reference.
      const expected = (
        await conn.runAndReadAll(`SELECT CAST(id AS BIGINT) AS id, CAST(CAST(CAST(ts AS TIMESTAMP) AS TIMESTAMPTZ) AS VARCHAR) AS ts, CAST(CAST(ntz AS TIMESTAMP) AS VARCHAR) AS ntz FROM (${source}) ORDER BY id`)
      ).getRowObjectsJson();
      expect(back).toEqual(expected);
      expect(back[0].ts).toBe('2024-01-01 10:00:00.123456+00');
      expect(back[1].ts).toBe('1900-03-01 01:02:03.000001+00');
      expect(back[3].ts).toBe('infinity');
      expect(back[5].ts).toBeNull();
    } finally {
      await conn.run(`SET TimeZone = 'UTC'`);
    }
  });
});

describe('writeDataFiles: ENUM sources of string columns', () => {
  it('writes them uncast as plain Parquet strings with their statistics, and casts an ENUM partition column', async () => {
    const storage = new MemoryStorage();
    const schema = struct(field('id', 'long'), field('kind', 'string'), field('src', 'string'), field('p', 'string'));
    const source = `SELECT range AS id, CAST(CASE WHEN range % 3 = 0 THEN 'b''x' WHEN range % 3 = 1 THEN 'a' ELSE NULL END AS ENUM('a', 'b''x')) AS kind, CAST('cli' AS ENUM('cli')) AS src, CAST(CASE WHEN range < 5 THEN 'p1' ELSE 'p2' END AS ENUM('p1', 'p2')) AS p FROM range(10)`;
    const adds = await writeDataFiles({ ...baseOptions(storage), tableKey: 't', source, schema, partitionColumns: ['p'] });
    expect(adds.map((a) => a.partitionValues.p).sort()).toEqual(['p1', 'p2']);
    const dir = await mkdtemp(path.join(scratch, 'enum-'));
    const files = await Promise.all(adds.map((a, n) => localCopy(storage, `t/${decodeURIComponent(a.path)}`, dir, n)));
    const list = `[${files.map(quoteString).join(', ')}]`;
    const types = (await conn.runAndReadAll(`SELECT DISTINCT name, type, converted_type FROM parquet_schema(${list}) WHERE name IN ('kind', 'src') ORDER BY name`)).getRowObjectsJson();
    expect(types).toEqual([
      { name: 'kind', type: 'BYTE_ARRAY', converted_type: 'UTF8' },
      { name: 'src', type: 'BYTE_ARRAY', converted_type: 'UTF8' },
    ]);
    const back = (await conn.runAndReadAll(`SELECT id, kind, src, typeof(kind) AS t FROM read_parquet(${list}) ORDER BY id`)).getRowObjectsJson();
    expect(back.map((r) => r.kind)).toEqual(["b'x", 'a', null, "b'x", 'a', null, "b'x", 'a', null, "b'x"]);
    expect(new Set(back.map((r) => r.src))).toEqual(new Set(['cli']));
    expect(back[0].t).toBe('VARCHAR');
    const first = adds.find((a) => a.partitionValues.p === 'p1');
    const stats = JSON.parse(first?.stats as string);
    expect(stats).toMatchObject({ numRecords: 5, minValues: { kind: 'a', src: 'cli' }, maxValues: { kind: "b'x", src: 'cli' }, nullCount: { kind: 1, src: 0 } });
  });
});

describe('writeDataFiles: splitting, column mapping, edge cases', () => {
  it('rolls unpartitioned files at about maxRowsPerFile rows and writes one file per partition', async () => {
    const storage = new MemoryStorage();
    const schema = struct(field('id', 'long'), field('p', 'integer'), field('s', 'string'));
    const source = `SELECT range AS id, CAST(range % 2 AS INTEGER) AS p, 'r' || range AS s FROM range(50000)`;
    const unpartitioned = await writeDataFiles({ ...baseOptions(storage), tableKey: 'a', source, schema, partitionColumns: [], maxRowsPerFile: 10_000 });
    const counts = unpartitioned.map((a) => Number(JSON.parse(a.stats as string).numRecords));
    expect(counts.reduce((x, y) => x + y, 0)).toBe(50_000);
    // Whole row groups of at least 2,048 rows: each file within a DuckDB vector of the target.
    expect(unpartitioned.length).toBeGreaterThanOrEqual(4);
    for (const c of counts) expect(c).toBeLessThanOrEqual(10_000 + 2048);
    expect(new Set(unpartitioned.map((a) => a.path)).size).toBe(unpartitioned.length);

    // Partitions of 20,000, 20,000 and 10,000 rows: the first two are split, the third stays one file.
    const skewed = `SELECT range AS id, CAST(CASE WHEN range < 40000 THEN range % 2 ELSE 2 END AS INTEGER) AS p, 'r' || range AS s FROM range(50000)`;
    const partitioned = await writeDataFiles({ ...baseOptions(storage), tableKey: 'b', source: skewed, schema, partitionColumns: ['p'], maxRowsPerFile: 10_000 });
    const perPartition = new Map<string, number[]>();
    for (const a of partitioned) {
      const k = String(a.partitionValues.p);
      perPartition.set(k, [...(perPartition.get(k) ?? []), Number(JSON.parse(a.stats as string).numRecords)]);
    }
    expect([...perPartition.keys()].sort()).toEqual(['0', '1', '2']);
    expect(perPartition.get('2')).toEqual([10_000]);
    for (const k of ['0', '1']) {
      const c = perPartition.get(k) as number[];
      expect(c.reduce((x, y) => x + y, 0)).toBe(20_000);
      expect(c.length).toBeGreaterThanOrEqual(2);
      for (const n of c) expect(n).toBeLessThanOrEqual(10_000 + 2048);
    }
    expect(partitioned.every((a) => a.path.startsWith(`p=${a.partitionValues.p}/`))).toBe(true);
    expect(new Set(partitioned.map((a) => a.path)).size).toBe(partitioned.length);
    expect((await storage.list('b/')).length).toBe(partitioned.length);
    const pdir = await mkdtemp(path.join(scratch, 'split-p-'));
    const pfiles = await Promise.all(partitioned.map((a, n) => localCopy(storage, `b/${decodeURIComponent(a.path)}`, pdir, n)));
    for (const [n, a] of partitioned.entries()) await checkStats(conn, pfiles[n], a, [schema.fields[0], schema.fields[2]], (f) => f.name);
    const pBack = partitioned.map((a, n) => `SELECT id, CAST(${quoteString(String(a.partitionValues.p))} AS INTEGER) AS p, s FROM read_parquet(${quoteString(pfiles[n])})`).join(' UNION ALL ');
    expect(await count(conn, `SELECT * FROM (${skewed}) EXCEPT ALL (${pBack})`)).toBe(0);
    expect(await count(conn, pBack)).toBe(50_000);
    // The union of the split files is the source.
    const dir = await mkdtemp(path.join(scratch, 'split-'));
    const selects: string[] = [];
    for (const [n, a] of unpartitioned.entries()) {
      selects.push(`SELECT * FROM read_parquet(${quoteString(await localCopy(storage, `a/${decodeURIComponent(a.path)}`, dir, n))})`);
    }
    const readBack = `SELECT * FROM (${selects.join(' UNION ALL ')})`;
    expect(await count(conn, readBack)).toBe(50_000);
    expect(await count(conn, `SELECT id, p, s FROM (${source}) EXCEPT ALL ${readBack}`)).toBe(0);
  });

  it('with the source columns given, writes the same rows without describing the source; wrong names fail', async () => {
    const storage = new MemoryStorage();
    const schema = struct(field('id', 'long'), field('s', 'string'));
    const source = `SELECT range AS id, 'r' || range AS s FROM range(1000)`;
    const adds = await writeDataFiles({ ...baseOptions(storage), tableKey: 'given', source, schema, partitionColumns: [], sourceColumns: ['id', 's'] });
    const dir = await mkdtemp(path.join(scratch, 'given-'));
    const back = await Promise.all(adds.map(async (a, n) => `SELECT * FROM read_parquet(${quoteString(await localCopy(storage, `given/${decodeURIComponent(a.path)}`, dir, n))})`));
    expect(await count(conn, `SELECT * FROM (${source}) EXCEPT ALL (${back.join(' UNION ALL ')})`)).toBe(0);
    expect(await count(conn, back.join(' UNION ALL '))).toBe(1000);
    // Names the source does not have: the write fails (columns are bound by name, never by position) and leaves no file.
    const other = `SELECT 'r' || range AS s, range AS x FROM range(10)`;
    expect(await codeOf(writeDataFiles({ ...baseOptions(storage), tableKey: 'wrong', source: other, schema, partitionColumns: [], sourceColumns: ['id', 's'] }))).toBe('INVALID_INPUT');
    expect(await storage.list('wrong/')).toEqual([]);
  });

  it('streams rows with constant partition values into rolled files, checking every row', async () => {
    const schema = struct(field('id', 'long', { nullable: false }), field('s', 'string'), field('day', 'date'), field('src', 'string'));
    const source = `SELECT range AS id, 'r' || range AS s, DATE '2024-05-06' AS day, 'up/load=1 %' AS src FROM range(30000)`;
    for (const storageCase of STORAGES) {
      const { storage, cleanup } = await storageCase.make();
      try {
        const adds = await writeDataFiles({
          ...baseOptions(storage),
          tableKey: 't',
          source,
          schema,
          partitionColumns: ['day', 'src'],
          maxRowsPerFile: 10_000,
          constantPartitionValues: { day: '2024-05-06', src: 'up/load=1 %', other: 'ignored' },
        });
        expect(adds.length).toBeGreaterThanOrEqual(2);
        for (const a of adds) {
          expect(a.partitionValues).toEqual({ day: '2024-05-06', src: 'up/load=1 %' });
          expect(a.path.startsWith('day=2024-05-06/src=up%252Fload%253D1%20%2525/part-')).toBe(true);
        }
        const dir = await mkdtemp(path.join(scratch, 'const-'));
        const files = await Promise.all(adds.map((a, n) => localCopy(storage, `t/${decodeURIComponent(a.path)}`, dir, n)));
        for (const [n, a] of adds.entries()) await checkStats(conn, files[n], a, schema.fields.slice(0, 2), (f) => f.name);
        const back = `SELECT * FROM read_parquet([${files.map(quoteString).join(', ')}], hive_partitioning=false)`;
        expect(await count(conn, back)).toBe(30_000);
        expect(await count(conn, `SELECT id, s FROM (${source}) EXCEPT ALL ${back}`)).toBe(0);
        const names = (await conn.runAndReadAll(`SELECT name FROM parquet_schema(${quoteString(files[0])})`)).getRowObjectsJson().map((r) => r.name);
        expect(names).not.toContain('day');

        // One row with another value: the write fails and leaves nothing behind.
        const other = `SELECT range AS id, 'r' || range AS s, CASE WHEN range = 29000 THEN DATE '2024-05-07' ELSE DATE '2024-05-06' END AS day, 'up/load=1 %' AS src FROM range(30000)`;
        const before = (await storage.list('')).map((o) => o.key).sort();
        const err = await writeDataFiles({
          ...baseOptions(storage),
          tableKey: 't',
          source: other,
          schema,
          partitionColumns: ['day', 'src'],
          constantPartitionValues: { day: '2024-05-06', src: 'up/load=1 %' },
        }).catch((e: unknown) => e);
        expect(isLakehouseError(err, 'INVALID_INPUT')).toBe(true);
        expect(String((err as Error).message)).toMatch(/partition column\(s\) "day", "src"/);
        expect((await storage.list('')).map((o) => o.key).sort()).toEqual(before);
      } finally {
        await cleanup();
      }
    }
  });

  it('escapes partition values as Spark does whatever DuckDB would name the folders', async () => {
    const storage = new MemoryStorage();
    const schema = struct(field('id', 'integer'), field('p', 'string'));
    const values = ['a b', 'x=y', '100%', 'a/b', 'tab\there', '', 'q?#*', 'ünï "quoted"', '__HIVE_DEFAULT_PARTITION__x'];
    const source = `SELECT * FROM (VALUES ${values.map((v, i) => `(${i}, ${quoteString(v)})`).join(', ')}, (99, NULL)) t(id, p)`;
    const adds = await writeDataFiles({ ...baseOptions(storage), tableKey: 'e', source, schema, partitionColumns: ['p'] });
    const byId = new Map<number, AddAction>();
    const dir = await mkdtemp(path.join(scratch, 'esc-'));
    for (const [n, a] of adds.entries()) {
      const file = await localCopy(storage, `e/${decodeURIComponent(a.path)}`, dir, n);
      const ids = (await conn.runAndReadAll(`SELECT id FROM read_parquet(${quoteString(file)})`)).getRowObjectsJson().map((r) => Number(r.id));
      for (const id of ids) byId.set(id, a);
    }
    const expectations: [number, string | null, string][] = [
      [0, 'a b', 'p=a%20b/'],
      [1, 'x=y', 'p=x%253Dy/'],
      [2, '100%', 'p=100%2525/'],
      [3, 'a/b', 'p=a%252Fb/'],
      [4, 'tab\there', 'p=tab%2509here/'],
      [5, null, 'p=__HIVE_DEFAULT_PARTITION__/'],
      [6, 'q?#*', 'p=q%253F%2523%252A/'],
      [7, 'ünï "quoted"', 'p=ünï%20%2522quoted%2522/'],
      [8, '__HIVE_DEFAULT_PARTITION__x', 'p=__HIVE_DEFAULT_PARTITION__x/'],
      [99, null, 'p=__HIVE_DEFAULT_PARTITION__/'],
    ];
    for (const [id, value, prefix] of expectations) {
      const a = byId.get(id) as AddAction;
      expect(a.partitionValues.p, `row ${id}`).toBe(value);
      expect(a.path.startsWith(prefix), `${a.path} starts with ${prefix}`).toBe(true);
    }
    // '' and NULL are both the null partition (two files, as before, in the same folder).
    expect(byId.get(5)?.path.split('/')[0]).toBe(byId.get(99)?.path.split('/')[0]);
    const listed = (await storage.list('e/')).map((o) => o.key).sort();
    expect(adds.map((a) => fileKey('e', a.path, storage.root)).sort()).toEqual(listed);
  });

  it('reads back what the Parquet statistics lack: long-string bounds, all-null columns, array and map null counts', async () => {
    const storage = new MemoryStorage();
    const schema = struct(
      field('s', 'string'),
      field('n', 'integer'),
      field('tags', { type: 'array', elementType: 'string', containsNull: true }),
      field('m', { type: 'map', keyType: 'string', valueType: 'string', valueContainsNull: true }),
      field('st', struct(field('deep', 'string'))),
    );
    // Strings this long get no Parquet min/max from DuckDB at all.
    const source = `SELECT * FROM (VALUES
      (repeat('é', 300), NULL::INTEGER, ['a', NULL], MAP {'k': NULL}, {'deep': repeat('b', 600)}),
      (repeat('b', 600), NULL, NULL, NULL, NULL),
      ('short', NULL, [], MAP {}, {'deep': 'c'})) t(s, n, tags, m, st)`;
    const adds = await writeDataFiles({ ...baseOptions(storage), tableKey: 'l', source, schema, partitionColumns: [] });
    expect(adds).toHaveLength(1);
    const file = await localCopy(storage, `l/${decodeURIComponent(adds[0].path)}`, scratch, 900);
    await checkStats(conn, file, adds[0], schema.fields, (f) => f.name);
    const stats = JSON.parse(adds[0].stats as string);
    expect(stats.minValues.s).toBe('b'.repeat(32));
    expect(stats.maxValues.s).toBeUndefined();
    expect(stats.nullCount).toEqual({ s: 0, n: 3, tags: 1, m: 1, st: { deep: 1 } });
    expect(stats.minValues.n).toBeUndefined();
  });

  it('reads the source once: one COPY, no staging table, no read-back for primitive and struct columns', async () => {
    const seen: string[] = [];
    const spy = new Proxy(conn, {
      get(target, key) {
        const v: unknown = Reflect.get(target, key);
        if (typeof v !== 'function') return v;
        return (...args: unknown[]) => {
          if (key === 'run' || key === 'runAndReadAll') seen.push(String(args[0]));
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const dataFields = ORDERS_SCHEMA.fields.filter((f) => f.name !== 'tags' && f.name !== 'attrs');
    const schema = struct(...dataFields);
    const source = `SELECT * EXCLUDE (tags, attrs) REPLACE (CASE WHEN length(name) > 32 THEN 'long' ELSE name END AS name) FROM src`;
    const adds = await writeDataFiles({ ...baseOptions(new MemoryStorage()), connection: spy, source, schema });
    expect(adds.length).toBe(6);
    const heavy = seen.filter((q) => /\b(COPY|CREATE|read_parquet|GROUP BY)\b/i.test(q));
    expect(heavy).toHaveLength(1);
    expect(heavy[0]).toMatch(/^COPY \(SELECT/);
    expect(heavy[0]).toContain('RETURN_STATS true');
  });

  it('finds the writer statistics of columns with quotes, dots and reserved names', async () => {
    const storage = new MemoryStorage();
    const schema = struct(
      field('we"ird.name', 'integer'),
      field('filename', 'string'),
      field('s.t', struct(field('x"y', 'double'), field('list', { type: 'array', elementType: 'integer', containsNull: true }))),
      field('p', 'string'),
    );
    const source = `SELECT * FROM (VALUES (1, 'a', {'x"y': 1.5, 'list': [1]}, 'k'), (NULL, 'b', {'x"y': NULL, 'list': NULL}, 'k'), (3, NULL, NULL, 'k')) t("we""ird.name", filename, "s.t", p)`;
    for (const constantPartitionValues of [undefined, { p: 'k' }]) {
      const adds = await writeDataFiles({ ...baseOptions(storage), tableKey: 'w', source, schema, partitionColumns: ['p'], constantPartitionValues });
      expect(adds).toHaveLength(1);
      const file = await localCopy(storage, `w/${decodeURIComponent(adds[0].path)}`, scratch, 950);
      await checkStats(conn, file, adds[0], schema.fields.slice(0, 3), (f) => f.name);
      expect(JSON.parse(adds[0].stats as string)).toEqual({
        numRecords: 3,
        minValues: { 'we"ird.name': 1, filename: 'a', 's.t': { 'x"y': 1.5 } },
        maxValues: { 'we"ird.name': 3, filename: 'b', 's.t': { 'x"y': 1.5 } },
        nullCount: { 'we"ird.name': 1, filename: 1, 's.t': { 'x"y': 2, list: 2 } },
      });
    }
  });

  it.each<[string, StructType, string, string[], RegExp]>([
    ['a top-level primitive', struct(field('a', 'integer', { nullable: false }), field('b', 'string')), `SELECT * FROM (VALUES (1, 'x'), (NULL, 'y'), (NULL, 'z')) t(a, b)`, [], /column "a" is not nullable but 2 row/],
    ['a struct', struct(field('a', 'integer'), field('st', struct(field('x', 'integer')), { nullable: false })), `SELECT * FROM (VALUES (1, {'x': 1}), (2, NULL)) t(a, st)`, [], /column "st" is not nullable but 1 row/],
    ['an array', struct(field('a', 'integer'), field('arr', { type: 'array', elementType: 'integer', containsNull: true }, { nullable: false })), `SELECT * FROM (VALUES (1, [1]), (2, NULL), (3, [])) t(a, arr)`, [], /column "arr" is not nullable but 1 row/],
    ['a partition column', struct(field('a', 'integer'), field('p', 'string', { nullable: false })), `SELECT * FROM (VALUES (1, 'x'), (2, NULL), (3, NULL)) t(a, p)`, ['p'], /column "p" is not nullable but 2 row/],
  ])('refuses nulls in a non-nullable column (%s) with their count and leaves no files', async (_what, schema, source, partitionColumns, message) => {
    const storage = new MemoryStorage();
    const err = await writeDataFiles({ ...baseOptions(storage), tableKey: 'nn', source, schema, partitionColumns }).catch((e: unknown) => e);
    expect(isLakehouseError(err, 'INVALID_INPUT')).toBe(true);
    expect(String((err as Error).message)).toMatch(message);
    expect(await storage.list('')).toEqual([]);
  });

  it('leaves no scratch folder in a local table when the write fails', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'duckdb-writer-fail-'));
    try {
      const storage = new FsStorage(dir);
      const schema = struct(field('a', 'integer'));
      const err = await codeOf(writeDataFiles({ ...baseOptions(storage), tableKey: 'x/y', source: `SELECT CAST(range AS VARCHAR) || CASE WHEN range = 70000 THEN 'z' ELSE '' END AS a FROM range(100000)`, schema, partitionColumns: [] }));
      expect(err).toBe('INVALID_INPUT');
      expect(await storage.list('')).toEqual([]);
      // Not even the table's folder, which the write created.
      expect(readdirSync(dir)).toEqual([]);
      const ok = await writeDataFiles({ ...baseOptions(storage), tableKey: 'x/y', source: 'SELECT 1 AS a', schema, partitionColumns: [] });
      expect((await storage.list('')).map((o) => o.key)).toEqual([`x/y/${ok[0].path}`]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('writes physical names, field ids and physically keyed stats and partition values under column mapping', async () => {
    const cm = (name: string, id: number, type: DataType): StructField =>
      field(name, type, { metadata: { 'delta.columnMapping.id': id, 'delta.columnMapping.physicalName': `col-${id}` } });
    const schema = struct(
      cm('Customer Name', 1, 'string'),
      cm('Amount', 2, { type: 'decimal', precision: 10, scale: 2 }),
      cm('Address', 5, struct(cm('Street', 3, 'string'), cm('Zip', 4, 'integer'))),
      cm('Items', 7, { type: 'array', elementType: struct(cm('Sku', 6, 'string')), containsNull: true }),
      cm('Region', 8, 'string'),
    );
    const source = `SELECT * FROM (VALUES
      ('Ann', 1.25, {'Street': 'Main St', 'Zip': 12345}, [{'Sku': 'A-1'}, {'Sku': 'B-2'}], 'EU West'),
      ('Bob', NULL, NULL, NULL, 'EU West'),
      ('Cy', 3.50, {'Street': NULL, 'Zip': 7}, [], NULL)
    ) t("Customer Name", "Amount", "Address", "Items", "Region")`;
    const storage = new MemoryStorage();
    for (const mode of ['name', 'id'] as const) {
      // maxRowsPerFile 1: the two-row partition goes through the split pass (which must keep names and field ids).
      const adds = await writeDataFiles({ ...baseOptions(storage), tableKey: mode, source, schema, partitionColumns: ['Region'], columnMappingMode: mode, maxRowsPerFile: 1 });
      expect(adds.map((a) => a.partitionValues).sort((x, y) => String(x['col-8']).localeCompare(String(y['col-8'])))).toEqual([
        { 'col-8': 'EU West' },
        { 'col-8': null },
      ]);
      expect(adds.every((a) => /^col-8=(EU%20West|__HIVE_DEFAULT_PARTITION__)\//.test(a.path))).toBe(true);
      const dir = await mkdtemp(path.join(scratch, `cm-${mode}-`));
      const selects: string[] = [];
      for (const [n, a] of adds.entries()) {
        const file = await localCopy(storage, `${mode}/${decodeURIComponent(a.path)}`, dir, n);
        const ids = (await conn.runAndReadAll(`SELECT name, CAST(field_id AS VARCHAR) AS id FROM parquet_schema(${quoteString(file)}) WHERE field_id IS NOT NULL`)).getRowObjectsJson();
        expect(Object.fromEntries(ids.map((r) => [r.name, Number(r.id)]))).toEqual({
          'col-1': 1,
          'col-2': 2,
          'col-3': 3,
          'col-4': 4,
          'col-5': 5,
          'col-6': 6,
          'col-7': 7,
        });
        const names = (await conn.runAndReadAll(`SELECT name FROM parquet_schema(${quoteString(file)})`)).getRowObjectsJson().map((r) => r.name);
        for (const logical of ['Customer Name', 'Amount', 'Address', 'Street', 'Zip', 'Items', 'Sku', 'Region', 'col-8']) {
          expect(names).not.toContain(logical);
        }
        await checkStats(conn, file, a, schema.fields.slice(0, 4), (f) => f.metadata['delta.columnMapping.physicalName'] as string);
        selects.push(
          `SELECT "col-1" AS name, CAST("col-2" AS VARCHAR) AS amount, "col-5"."col-3" AS street, "col-5"."col-4" AS zip, ` +
            `to_json("col-7") AS items, ${partitionLiteral(a.partitionValues['col-8'], 'string')} AS region FROM read_parquet(${quoteString(file)})`,
        );
      }
      const got = (await conn.runAndReadAll(`SELECT * FROM (${selects.join(' UNION ALL ')}) ORDER BY name`)).getRowObjectsJson();
      expect(got).toEqual([
        { name: 'Ann', amount: '1.25', street: 'Main St', zip: 12345, items: '[{"col-6":"A-1"},{"col-6":"B-2"}]', region: 'EU West' },
        { name: 'Bob', amount: null, street: null, zip: null, items: null, region: 'EU West' },
        { name: 'Cy', amount: '3.50', street: null, zip: 7, items: '[]', region: null },
      ]);
    }
  });

  it('writes nothing for an empty source', async () => {
    const storage = new MemoryStorage();
    const adds = await writeDataFiles({ ...baseOptions(storage), source: 'SELECT * FROM src WHERE false;' });
    expect(adds).toEqual([]);
    expect(await storage.list('')).toEqual([]);
  });

  it('honours dataChange: false', async () => {
    const storage = new MemoryStorage();
    const adds = await writeDataFiles({ ...baseOptions(storage), source: 'SELECT * FROM src WHERE id = 1', dataChange: false });
    expect(adds.map((a) => a.dataChange)).toEqual([false]);
  });

  it.each<[string, Partial<WriteDataFilesOptions>, string]>([
    ['a missing column', { source: 'SELECT * EXCLUDE (qty) FROM src' }, 'SCHEMA_MISMATCH'],
    ['an extra column', { source: 'SELECT *, 1 AS extra FROM src' }, 'SCHEMA_MISMATCH'],
    ['a null in a non-nullable column', { source: 'SELECT * REPLACE (CASE WHEN id = 3 THEN NULL ELSE id END AS id) FROM src' }, 'INVALID_INPUT'],
    ['a value that does not convert', { source: `SELECT * REPLACE (CASE WHEN id = 3 THEN 'x' ELSE CAST(qty AS VARCHAR) END AS qty) FROM src` }, 'INVALID_INPUT'],
    ['an unknown partition column', { partitionColumns: ['nope'] }, 'INVALID_INPUT'],
    ['a nested partition column', { partitionColumns: ['info'] }, 'INVALID_INPUT'],
    ['only partition columns', { schema: struct(field('part', 'string')), partitionColumns: ['part'], source: 'SELECT part FROM src' }, 'INVALID_INPUT'],
    ['a variant column', { schema: struct(field('v', 'variant')), partitionColumns: [], source: 'SELECT 1 AS v' }, 'UNSUPPORTED_FEATURE'],
    ['maxRowsPerFile 0', { maxRowsPerFile: 0 }, 'INVALID_INPUT'],
    ['a broken query', { source: 'SELECT * FROM no_such_table' }, 'INVALID_INPUT'],
  ])('refuses %s and leaves no files', async (_name, extra, code) => {
    const storage = new MemoryStorage();
    expect(await codeOf(writeDataFiles({ ...baseOptions(storage), ...extra }))).toBe(code);
    expect(await storage.list('')).toEqual([]);
    // The staging table is gone and the connection is still usable.
    const temps = await conn.runAndReadAll(`SELECT table_name FROM duckdb_tables() WHERE table_name LIKE '__delta_write_%'`);
    expect(temps.getRowObjectsJson()).toEqual([]);
  });

  it('deletes the files it already wrote when a later file fails', async () => {
    const inner = new MemoryStorage();
    let puts = 0;
    const failing: Storage = {
      root: inner.root,
      list: (p, o) => inner.list(p, o),
      get: (k, r) => inner.get(k, r),
      head: (k) => inner.head(k),
      put: async (k, d) => {
        if (++puts === 3) throw new Error('disk full');
        await inner.put(k, d);
      },
      putIfAbsent: (k, d) => inner.putIfAbsent(k, d),
      delete: (k) => inner.delete(k),
    };
    await expect(writeDataFiles(baseOptions(failing))).rejects.toThrow('disk full');
    expect(await inner.list('')).toEqual([]);
  });
});
