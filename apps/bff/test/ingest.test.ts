import { once } from 'node:events';
import { createReadStream, createWriteStream, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { LakehouseError, ManualClock, createTable, isLakehouseError, quoteString, type StructType } from '@lakehouse/core';
import { queryTable } from '@lakehouse/core/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectFormat, ingestFile, ingestOptionsFromFields, type IngestContext } from '../src/ingest/ingest.js';
import { receiveUpload } from '../src/ingest/receive.js';
import { EnginePool } from '../src/warehouse/engines.js';
import { Warehouse } from '../src/warehouse/warehouse.js';

const root = mkdtempSync(join(tmpdir(), 'lh-ingest-'));
const uploads = join(root, 'uploads');
const clock = new ManualClock(Date.UTC(2024, 5, 3, 10, 30, 15, 123));
const warehouse = new Warehouse(join(root, 'wh'), clock);
let engines: EnginePool;
let server: Server;
let base: string;

/** What the test server did with one request. */
interface Outcome {
  /** The `rid` query parameter of the request, if any. */
  rid: string | null;
  status: number;
  body: Record<string, unknown>;
  error: LakehouseError | null;
}
const outcomes: Outcome[] = [];

const STATUS: Record<string, number> = { INVALID_INPUT: 400, SCHEMA_MISMATCH: 400, PAYLOAD_TOO_LARGE: 413, CANCELLED: 409 };

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const maxBytes = Number(url.searchParams.get('maxBytes') ?? 1e10);
  const rid = url.searchParams.get('rid');
  let outcome: Omit<Outcome, 'rid'>;
  try {
    const rawFields = Object.fromEntries([...url.searchParams].filter(([k]) => ['fileName', 'format', 'mode', 'mergeSchema', 'idempotencyKey'].includes(k)));
    const up = await receiveUpload(req, { tmpDir: uploads, maxBytes, rawFields });
    if (url.pathname === '/receive') {
      rmSync(up.path);
      outcome = { status: 200, body: { ...up }, error: null };
    } else {
      const ctx: IngestContext = { warehouse, engines, clock, userName: url.searchParams.get('user') };
      const result = await ingestFile(ctx, { table: url.searchParams.get('table') ?? '', path: up.path, fileName: up.fileName, ...ingestOptionsFromFields(up.fields) });
      outcome = { status: 200, body: { ...result }, error: null };
    }
  } catch (e) {
    const error = isLakehouseError(e) ? e : new LakehouseError('INTERNAL', String(e));
    outcome = { status: STATUS[error.code] ?? 500, body: { code: error.code, message: error.message }, error };
  }
  outcomes.push({ rid, ...outcome });
  if (!res.destroyed) {
    res.writeHead(outcome.status, { 'content-type': 'application/json', ...(outcome.error ? { connection: 'close' } : {}) });
    res.end(JSON.stringify(outcome.body));
  }
}

beforeAll(async () => {
  mkdirSync(uploads, { recursive: true });
  engines = await EnginePool.create(2, clock);
  server = createServer((req, res) => void handle(req, res));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  server.close();
  rmSync(root, { recursive: true, force: true });
});

/** Uploads one file with fetch + FormData to the test server (ingest unless `path` says otherwise). */
async function upload(
  table: string,
  fileName: string,
  content: string | Uint8Array,
  fields: Record<string, string> = {},
  query: Record<string, string> = {},
): Promise<Outcome> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  form.append('file', new Blob([content]), fileName);
  const rid = String(++requests);
  const qs = new URLSearchParams({ table, user: 'alice', rid, ...query });
  await fetch(`${base}/ingest?${qs}`, { method: 'POST', body: form })
    .then((r) => r.arrayBuffer())
    .catch(() => undefined);
  const o = outcomes.find((x) => x.rid === rid);
  expect(o).toBeDefined();
  return o as Outcome;
}
let requests = 0;

/** The outcome of the request after the `n` already recorded. */
async function waitOutcome(n: number): Promise<Outcome> {
  for (let i = 0; i < 1000 && outcomes.length <= n; i++) await new Promise((r) => setTimeout(r, 10));
  expect(outcomes.length).toBeGreaterThan(n);
  return outcomes[n];
}

async function versionOf(table: string): Promise<number> {
  return (await warehouse.exists(table)) ? (await warehouse.snapshot(table)).version : -1;
}

async function rowsOf(table: string, orderBy?: string): Promise<Record<string, unknown>[]> {
  const snap = await warehouse.snapshot(table);
  const rows = await engines.with((e) => queryTable(e.connection, snap));
  return orderBy ? rows.sort((a, b) => String(a[orderBy]).localeCompare(String(b[orderBy]), 'en', { numeric: true })) : rows;
}

function dataFiles(table: string): string[] {
  const dir = warehouse.dir(table);
  try {
    return (readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith('.parquet') && !f.includes('_delta_log'));
  } catch {
    return [];
  }
}

function expectNoTempFiles(): void {
  expect(readdirSync(uploads)).toEqual([]);
}

/** Asserts a refused upload: the code, words of the message, the table untouched and no temp file left. */
async function expectRefused(o: Outcome, code: string, words: (string | RegExp)[], table: string, before: { version: number; files: number }): Promise<void> {
  expect(o.error?.code, o.error?.message).toBe(code);
  for (const w of words) expect(o.error?.message).toMatch(w);
  expect(await versionOf(table)).toBe(before.version);
  expect(dataFiles(table)).toHaveLength(before.files);
  expectNoTempFiles();
}

async function stateOf(table: string): Promise<{ version: number; files: number }> {
  return { version: await versionOf(table), files: dataFiles(table).length };
}

const ORDERS = 'id,customer,amount,ordered\n1,ann,10.5,2024-06-01\n2,bob,3,2024-06-02\n3,"cy, jr",,2024-06-02\n';

describe('ingest over HTTP (multipart → bronze table)', () => {
  const T = 'bronze.shop.orders';

  it('creates a table from a CSV with the ingest columns, partitioned by _ingest_date', async () => {
    const o = await upload(T, 'orders.csv', ORDERS);
    expect(o.error).toBeNull();
    expect(o.body).toEqual({ table: T, version: 0, created: true, rows: 3, files: 1, bytes: expect.any(Number), schemaEvolved: false });
    const snap = await warehouse.snapshot(T);
    expect(snap.partitionColumns).toEqual(['_ingest_date']);
    expect(snap.schema.fields.map((f) => [f.name, f.type])).toEqual([
      ['id', 'long'],
      ['customer', 'string'],
      ['amount', 'double'],
      ['ordered', 'date'],
      ['_ingested_at', 'timestamp'],
      ['_source', 'string'],
      ['_source_file', 'string'],
      ['_ingest_date', 'date'],
    ]);
    const rows = await rowsOf(T, 'id');
    expect(rows.map((r) => [r.id, r.customer, r.amount])).toEqual([
      ['1', 'ann', 10.5],
      ['2', 'bob', 3],
      ['3', 'cy, jr', null],
    ]);
    expect(rows[0]).toMatchObject({ _source: 'alice', _source_file: 'orders.csv', _ingest_date: '2024-06-03' });
    expect(String(rows[0]._ingested_at)).toMatch(/^2024-06-03[ T]10:30:15\.123/);
    expect(dataFiles(T)[0]).toMatch(/^_ingest_date=2024-06-03\//);
    expectNoTempFiles();
  });

  it('appends a second file; an anonymous upload is _source "upload"', async () => {
    clock.advance(86_400_000);
    const form = new FormData();
    form.append('file', new Blob(['id,customer,amount,ordered\n4,dee,1.25,2024-06-04\n']), 'more.csv');
    const n = outcomes.length;
    await fetch(`${base}/ingest?table=${T}`, { method: 'POST', body: form }).then((r) => r.arrayBuffer());
    const o = await waitOutcome(n);
    expect(o.body).toMatchObject({ version: 1, created: false, rows: 1, schemaEvolved: false });
    const rows = await rowsOf(T, 'id');
    expect(rows).toHaveLength(4);
    expect(rows[3]).toMatchObject({ id: '4', _source: 'upload', _source_file: 'more.csv', _ingest_date: '2024-06-04' });
    expect(new Set(dataFiles(T).map((f) => f.split('/')[0]))).toEqual(new Set(['_ingest_date=2024-06-03', '_ingest_date=2024-06-04']));
  });

  it('refuses wrong types for the existing table with SCHEMA_MISMATCH naming the column', async () => {
    const before = await stateOf(T);
    const o = await upload(T, 'bad.csv', 'id,customer,amount,ordered\n5,eve,lots,2024-06-05\n');
    await expectRefused(o, 'SCHEMA_MISMATCH', ['"amount"', 'lots'], T, before);
  });

  it('refuses a new column without mergeSchema, adds it with mergeSchema=true', async () => {
    const csv = 'id,customer,amount,ordered,coupon\n6,fay,2,2024-06-05,SUMMER\n';
    const before = await stateOf(T);
    await expectRefused(await upload(T, 'c.csv', csv), 'SCHEMA_MISMATCH', ['"coupon"', 'mergeSchema'], T, before);
    const o = await upload(T, 'c.csv', csv, { mergeSchema: 'true' });
    expect(o.body).toMatchObject({ version: before.version + 1, rows: 1, schemaEvolved: true });
    const snap = await warehouse.snapshot(T);
    expect(snap.schema.fields.map((f) => f.name)).toContain('coupon');
    const rows = await rowsOf(T, 'id');
    expect(rows.map((r) => r.coupon)).toEqual([null, null, null, null, 'SUMMER']);
  });

  it.each([
    ['an unterminated quote', 'id,customer,amount,ordered\n7,"gil,1,2024-06-01\n8,hal,2,2024-06-01\n', /line 2/, /unterminated quote/i],
    ['a row with too few columns', 'id,customer,amount,ordered\n7,gil,1,2024-06-01\n8,hal\n', /line 3/, /Expected Number of Columns: 4 Found: 2/],
    ['a row with too many columns', 'id,customer,amount,ordered\n7,gil,1,2024-06-01,x\n', /line 2/, /Found: 5/],
    [
      'a short row after the sniffer sample',
      'id,customer,amount,ordered\n' + Array.from({ length: 30_000 }, (_, i) => `${i},c${i},${i},2024-06-01\n`).join('') + '99,short\n',
      /line 30002/,
      /Expected Number of Columns/,
    ],
    [
      'a short row far past the sniffer sample',
      'id,customer,amount,ordered\n' + Array.from({ length: 60_000 }, (_, i) => `${i},c${i},${i},2024-06-01\n`).join('') + '99,short\n',
      /line 60002/,
      /Expected Number of Columns/,
    ],
  ])('refuses malformed CSV (%s) naming the line, leaving the table as it was', async (_what, csv, line, problem) => {
    const before = await stateOf(T);
    const o = await upload(T, 'broken.csv', csv);
    await expectRefused(o, 'INVALID_INPUT', [/malformed CSV file "broken\.csv"/, line, problem], T, before);
    expect(o.error?.message).not.toContain(uploads);
    // The same file as a new table: no table is created.
    const fresh = await upload('bronze.shop.broken', 'broken.csv', csv);
    await expectRefused(fresh, 'INVALID_INPUT', [line], 'bronze.shop.broken', { version: -1, files: 0 });
  });

  it('re-sniffs every row when a value past the sniffer sample does not fit the guessed type, and loads every row as it is', async () => {
    const t = 'bronze.shop.late_types';
    // 60,000 rows of integers and dates, then a row that is neither: the sample (the first rows) says BIGINT and DATE.
    const csv =
      'id,v,d\n' + Array.from({ length: 60_000 }, (_, i) => `${i},${i * 2},2024-01-0${1 + (i % 9)}\n`).join('') + '60000,abc,2024-13-45\n';
    const o = await upload(t, 'late.csv', csv);
    expect(o.error).toBeNull();
    expect(o.body).toMatchObject({ created: true, rows: 60_001 });
    const snap = await warehouse.snapshot(t);
    expect(Object.fromEntries(snap.schema.fields.map((f) => [f.name, f.type]))).toMatchObject({ id: 'long', v: 'string', d: 'string' });
    const last = await engines.with((e) => queryTable(e.connection, snap)).then((rows) => rows.find((r) => String(r.id) === '60000'));
    expect(last).toMatchObject({ v: 'abc', d: '2024-13-45' });
    const first = await engines.with((e) => queryTable(e.connection, snap)).then((rows) => rows.find((r) => String(r.id) === '7'));
    expect(first).toMatchObject({ v: '14', d: '2024-01-08' });
    // Appending another such file to the (now string) table works the same way.
    const again = await upload(t, 'late.csv', csv);
    expect(again.body).toMatchObject({ created: false, rows: 60_001 });
  });

  it('overwrites the table with mode=overwrite', async () => {
    const before = await versionOf(T);
    const o = await upload(T, 'all.csv', 'id,customer,amount,ordered,coupon\n10,ivy,9.5,2024-06-09,\n', { mode: 'overwrite' });
    expect(o.body).toMatchObject({ version: before + 1, created: false, rows: 1, schemaEvolved: false });
    expect((await rowsOf(T)).map((r) => r.id)).toEqual(['10']);
    const old = await engines.with(async (e) => queryTable(e.connection, await warehouse.snapshot(T, { version: before })));
    expect(old).toHaveLength(5);
  });

  it('reads NDJSON, JSON arrays and Parquet', async () => {
    const nd = await upload('bronze.events.clicks', 'clicks.ndjson', '{"user":"u1","n":1,"tags":["a"]}\n{"user":"u2","n":2,"tags":[]}\n');
    expect(nd.body).toMatchObject({ created: true, rows: 2 });
    expect((await rowsOf('bronze.events.clicks', 'user')).map((r) => [r.user, r.n, r.tags])).toEqual([
      ['u1', '1', ['a']],
      ['u2', '2', []],
    ]);
    // A JSON array, and format given explicitly for a file without a known extension.
    const arr = await upload('bronze.events.views', 'views.data', '[{"page":"/a","ms":12.5},{"page":"/b","ms":null}]', { format: 'json' });
    expect(arr.body).toMatchObject({ created: true, rows: 2 });
    expect((await rowsOf('bronze.events.views', 'page')).map((r) => [r.page, r.ms])).toEqual([
      ['/a', 12.5],
      ['/b', null],
    ]);
    // Parquet written by DuckDB, with types CSV cannot carry.
    const pq = join(root, 'gen.parquet');
    await engines.with((e) =>
      e.connection.run(
        `COPY (SELECT i::INTEGER AS id, (i * 1.5)::DECIMAL(10,2) AS price, DATE '2024-01-01' + i::INTEGER AS day, {'k': i} AS s FROM range(100) t(i)) TO ${quoteString(pq)} (FORMAT parquet)`,
      ),
    );
    const p = await upload('bronze.events.prices', 'prices.parquet', new Uint8Array(readFileSync(pq)));
    expect(p.body).toMatchObject({ created: true, rows: 100 });
    const snap = await warehouse.snapshot('bronze.events.prices');
    expect(snap.schema.fields.slice(0, 4).map((f) => f.type)).toEqual([
      'integer',
      { type: 'decimal', precision: 10, scale: 2 },
      'date',
      { type: 'struct', fields: [{ name: 'k', type: 'long', nullable: true, metadata: {} }] },
    ]);
    expect((await rowsOf('bronze.events.prices', 'id'))[3]).toMatchObject({ id: 3, price: '4.50', day: '2024-01-04', s: { k: '3' } });
    expectNoTempFiles();
  });

  it('refuses malformed JSON and non-Parquet bytes naming the file (and line)', async () => {
    const nd = await upload('bronze.events.bad', 'bad.ndjson', '{"a":1}\n{"a":2,\n{"a":3}\n');
    await expectRefused(nd, 'INVALID_INPUT', [/malformed NDJSON file "bad\.ndjson"/, /line 3/], 'bronze.events.bad', { version: -1, files: 0 });
    const arr = await upload('bronze.events.bad', 'bad.json', '[{"a":1},{"a":2}');
    await expectRefused(arr, 'INVALID_INPUT', [/malformed JSON file "bad\.json"/], 'bronze.events.bad', { version: -1, files: 0 });
    const pq = await upload('bronze.events.bad', 'bad.parquet', 'PAR1 not really parquet');
    await expectRefused(pq, 'INVALID_INPUT', [/cannot load "bad\.parquet": No magic bytes/], 'bronze.events.bad', { version: -1, files: 0 });
    expect(pq.error?.message).not.toContain(uploads);
  });

  it.each([
    ['silver.shop.orders', /ingest writes bronze tables; use SQL to build silver and gold/],
    ['gold.shop.revenue', /ingest writes bronze tables/],
    ['bronze.Shop.orders', /invalid table name/],
    ['orders', /expected layer\.domain\.table/],
  ])('refuses table %s', async (table, message) => {
    const o = await upload(table, 'orders.csv', ORDERS);
    expect(o.error?.code).toBe('INVALID_INPUT');
    expect(o.error?.message).toMatch(message);
    expectNoTempFiles();
  });

  it.each([
    ['orders.xlsx', {}, /cannot tell the format of "orders\.xlsx"/],
    ['orders.csv', { format: 'xml' }, /unknown format "xml"/],
    ['orders.csv', { mode: 'upsert' }, /mode must be append or overwrite/],
    ['orders.csv', { mergeSchema: 'yes' }, /mergeSchema must be true or false/],
  ])('refuses %s with fields %j', async (name, fields, message) => {
    const o = await upload('bronze.shop.other', name, ORDERS, fields);
    expect(o.error?.code).toBe('INVALID_INPUT');
    expect(o.error?.message).toMatch(message);
    expect(await versionOf('bronze.shop.other')).toBe(-1);
    // The route parses fields before ingestFile; a refused field leaves the temp file to the route, which we check here.
    for (const f of readdirSync(uploads)) rmSync(join(uploads, f));
  });

  it('refuses an empty file and a file with a reserved column name', async () => {
    await expectRefused(await upload('bronze.shop.x', 'empty.csv', ''), 'INVALID_INPUT', [/"empty\.csv" is empty/], 'bronze.shop.x', { version: -1, files: 0 });
    const o = await upload('bronze.shop.x', 'r.csv', 'id,_source\n1,a\n');
    await expectRefused(o, 'INVALID_INPUT', [/column "_source" of "r\.csv" is reserved/], 'bronze.shop.x', { version: -1, files: 0 });
  });

  it('keeps awkward data: column names Delta refuses, TIME values as text, gzip CSV, TSV', async () => {
    const o = await upload('bronze.misc.named', 'named.csv', 'Order ID,Unit Price (EUR),at\n1,2.5,10:30:00\n');
    expect(o.body).toMatchObject({ created: true, rows: 1 });
    const snap = await warehouse.snapshot('bronze.misc.named');
    expect(snap.schema.fields.slice(0, 3).map((f) => [f.name, f.type])).toEqual([
      ['Order_ID', 'long'],
      ['Unit_Price__EUR_', 'double'],
      ['at', 'string'],
    ]);
    expect((await rowsOf('bronze.misc.named'))[0]).toMatchObject({ Order_ID: '1', Unit_Price__EUR_: 2.5, at: '10:30:00' });
    // The same headers again append to the same columns; names that collide once cleaned are refused.
    expect((await upload('bronze.misc.named', 'named.csv', 'Order ID,Unit Price (EUR),at\n2,1,11:00:00\n')).body).toMatchObject({ version: 1, rows: 1 });
    const clash = await upload('bronze.misc.named', 'clash.csv', 'a b,a_b\n1,2\n');
    await expectRefused(clash, 'INVALID_INPUT', [/columns "a b" and "a_b"/], 'bronze.misc.named', { version: 1, files: 2 });

    const gz = await upload('bronze.misc.gz', 'data.csv.gz', new Uint8Array(gzipSync('a,b\n1,x\n2,y\n')));
    expect(gz.body).toMatchObject({ created: true, rows: 2 });
    // Day-first dates are detected over the whole file and kept as dates; a header-only file makes an empty table.
    const dates = await upload('bronze.misc.dates', 'd.csv', 'day,n\n03/06/2024,1\n13/06/2024,2\n');
    expect(dates.body).toMatchObject({ created: true, rows: 2 });
    expect((await rowsOf('bronze.misc.dates', 'n')).map((r) => r.day)).toEqual(['2024-06-03', '2024-06-13']);
    const empty = await upload('bronze.misc.empty', 'h.csv', 'a,b\n');
    expect(empty.body).toMatchObject({ created: true, rows: 0, files: 0 });
    expect((await warehouse.snapshot('bronze.misc.empty')).schema.fields.slice(0, 2).map((f) => f.type)).toEqual(['string', 'string']);
    const tsv = await upload('bronze.misc.tsv', 'data.tsv', 'a\tb\n1\tx,y\n');
    expect(tsv.body).toMatchObject({ created: true, rows: 1 });
    expect((await rowsOf('bronze.misc.tsv'))[0]).toMatchObject({ a: '1', b: 'x,y' });
    expectNoTempFiles();
  });

  it('an idempotency key makes a retried upload a no-op (new table and append)', async () => {
    const t = 'bronze.shop.keyed';
    const first = await upload(t, 'k.csv', 'a\n1\n', { idempotencyKey: 'batch-1' });
    expect(first.body).toMatchObject({ version: 0, created: true, rows: 1 });
    const retry = await upload(t, 'k.csv', 'a\n1\n', { idempotencyKey: 'batch-1' });
    expect(retry.body).toMatchObject({ version: 0, created: false, rows: 0, files: 0 });
    const second = await upload(t, 'k2.csv', 'a\n2\n', { idempotencyKey: 'batch-2' });
    expect(second.body).toMatchObject({ version: 1, rows: 1 });
    const again = await upload(t, 'k2.csv', 'a\n2\n', { idempotencyKey: 'batch-2' });
    expect(again.body).toMatchObject({ version: 1, rows: 0 });
    const noKey = await upload(t, 'k2.csv', 'a\n2\n');
    expect(noKey.body).toMatchObject({ version: 2, rows: 1 });
    expect((await rowsOf(t, 'a')).map((r) => r.a)).toEqual(['1', '2', '2']);
    const snap = await warehouse.snapshot(t);
    expect([...snap.txns.keys()].sort()).toEqual(['ingest:batch-1', 'ingest:batch-2']);
    expectNoTempFiles();
  });

  it('two concurrent first uploads to a new table: one creates it, the other appends', async () => {
    const t = 'bronze.shop.race';
    const [a, b] = await Promise.all([upload(t, 'a.csv', 'x\n1\n2\n'), upload(t, 'b.csv', 'x\n3\n')]);
    expect([a.error, b.error]).toEqual([null, null]);
    expect([a.body.created, b.body.created].sort()).toEqual([false, true]);
    expect([a.body.version, b.body.version].sort()).toEqual([0, 1]);
    expect((await rowsOf(t, 'x')).map((r) => r.x)).toEqual(['1', '2', '3']);
    expectNoTempFiles();
  });

  it('fills the ingest_date partition of an existing demo-style table', async () => {
    const t = 'bronze.shop.legacy';
    const f = (name: string, type: StructType['fields'][number]['type']) => ({ name, type, nullable: true, metadata: {} });
    const schema: StructType = {
      type: 'struct',
      fields: [f('id', 'long'), f('_ingested_at', 'timestamp'), f('_source', 'string'), f('_source_file', 'string'), f('ingest_date', 'date')],
    };
    await createTable(warehouse.ref(t), { schema, partitionColumns: ['ingest_date'], clock });
    const o = await upload(t, 'l.csv', 'id\n1\n');
    expect(o.body).toMatchObject({ version: 1, rows: 1 });
    expect((await rowsOf(t))[0]).toMatchObject({ id: '1', ingest_date: '2024-06-04', _source_file: 'l.csv' });
  });
});

describe('receiveUpload', () => {
  it('refuses a file over maxBytes with PAYLOAD_TOO_LARGE naming the limit, and accepts exactly maxBytes', async () => {
    const n = outcomes.length;
    const form = new FormData();
    form.append('file', new Blob(['x'.repeat(5000)]), 'big.csv');
    await fetch(`${base}/receive?maxBytes=1000`, { method: 'POST', body: form }).catch(() => undefined);
    const o = await waitOutcome(n);
    expect(o.error?.code).toBe('PAYLOAD_TOO_LARGE');
    expect(o.error?.message).toContain('1000 bytes');
    expect(o.status).toBe(413);
    expectNoTempFiles();

    const exact = new FormData();
    exact.append('mode', 'append');
    exact.append('file', new Blob(['y'.repeat(1000)]), 'dir/sub\\exact.csv');
    exact.append('mergeSchema', 'true');
    const m = outcomes.length;
    await fetch(`${base}/receive?maxBytes=1000`, { method: 'POST', body: exact }).then((r) => r.arrayBuffer());
    const ok = await waitOutcome(m);
    expect(ok.body).toMatchObject({ bytes: 1000, fileName: 'exact.csv', fields: { mode: 'append', mergeSchema: 'true' } });
    expect(String(ok.body.path)).toMatch(/\.csv$/);
  });

  it('refuses up front from Content-Length when the body is far over the limit', async () => {
    const n = outcomes.length;
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(8 * 1024 * 1024)]), 'huge.csv');
    await fetch(`${base}/receive?maxBytes=10`, { method: 'POST', body: form }).catch(() => undefined);
    const o = await waitOutcome(n);
    expect(o.error?.code).toBe('PAYLOAD_TOO_LARGE');
    expect(o.error?.message).toContain('10 bytes');
    expectNoTempFiles();
  });

  it('detects a client that disconnects mid-body', async () => {
    const n = outcomes.length;
    const boundary = 'XyZbOuNdArY';
    const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="cut.csv"\r\nContent-Type: text/csv\r\n\r\n`;
    const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write(
      `POST /ingest?table=bronze.shop.cut HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: 100000\r\n\r\n` +
        head +
        'a,b\n' +
        '1,2\n'.repeat(1000),
    );
    await new Promise((r) => setTimeout(r, 100));
    socket.destroy();
    const o = await waitOutcome(n);
    expect(o.error?.code).toBe('INVALID_INPUT');
    expect(o.error?.message).toMatch(/upload was truncated/);
    expect(await versionOf('bronze.shop.cut')).toBe(-1);
    expectNoTempFiles();
  });

  it('detects a body without the closing boundary', async () => {
    const n = outcomes.length;
    const boundary = 'b0undary';
    const body = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="cut.csv"\r\n\r\na,b\n1,2\n`;
    const r = request(`${base}/ingest?table=bronze.shop.cut`, {
      method: 'POST',
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': Buffer.byteLength(body) },
    });
    r.on('error', () => undefined);
    r.on('response', (res) => res.resume());
    r.end(body);
    const o = await waitOutcome(n);
    expect(o.error?.code).toBe('INVALID_INPUT');
    expect(o.error?.message).toMatch(/upload was truncated/);
    expect(o.status).toBe(400);
    expectNoTempFiles();
  });

  it.each([
    ['a form without a file', { 'content-type': 'multipart/form-data; boundary=B' }, '--B\r\nContent-Disposition: form-data; name="mode"\r\n\r\nappend\r\n--B--\r\n', /no file part/],
    [
      'a file under another field name',
      { 'content-type': 'multipart/form-data; boundary=B' },
      '--B\r\nContent-Disposition: form-data; name="upload"; filename="a.csv"\r\n\r\na\n1\r\n--B--\r\n',
      /unexpected file field "upload"/,
    ],
    [
      'two files',
      { 'content-type': 'multipart/form-data; boundary=B' },
      '--B\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\na\n1\r\n--B\r\nContent-Disposition: form-data; name="file"; filename="b.csv"\r\n\r\na\n2\r\n--B--\r\n',
      /one file per upload/,
    ],
  ])('refuses %s', async (_what, headers, body, message) => {
    const n = outcomes.length;
    await fetch(`${base}/receive`, { method: 'POST', headers, body }).then((r) => r.arrayBuffer());
    const o = await waitOutcome(n);
    expect(o.error?.code).toBe('INVALID_INPUT');
    expect(o.error?.message).toMatch(message);
    expectNoTempFiles();
  });

  it('streams a large upload to disk with flat memory', async () => {
    const MB = 1024 * 1024;
    const size = 200 * MB;
    const file = join(root, 'large.csv');
    // Generated streaming, with backpressure, never held in memory.
    const out = createWriteStream(file);
    const line = 'id,name,amount,comment\n';
    out.write(line);
    const row = (i: number) => `${i},name-${i % 997},${(i * 0.37).toFixed(2)},some text to pad the row out a little\n`;
    let written = line.length;
    let i = 0;
    while (written < size) {
      let chunk = '';
      while (chunk.length < MB) chunk += row(i++);
      written += chunk.length;
      if (!out.write(chunk)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'close');
    const bytes = statSync(file).size;

    const boundary = 'streamBoundary1234';
    const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="large.csv"\r\nContent-Type: text/csv\r\n\r\n`);
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    const n = outcomes.length;
    global.gc?.();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    const started = Date.now();
    const req = request(`${base}/receive`, {
      method: 'POST',
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': head.length + bytes + tail.length },
    });
    req.write(head);
    const src = createReadStream(file);
    src.pipe(req, { end: false });
    await once(src, 'end');
    req.end(tail);
    const [res] = (await once(req, 'response')) as [IncomingMessage];
    res.resume();
    const o = await waitOutcome(n);
    clearInterval(sampler);
    const seconds = (Date.now() - started) / 1000;
    expect(o.error).toBeNull();
    expect(o.body.bytes).toBe(bytes);
    const growth = (peak - baseline) / MB;
    console.log(`streamed ${(bytes / MB).toFixed(0)} MiB in ${seconds.toFixed(1)} s; RSS growth ${growth.toFixed(1)} MiB`);
    expect(growth).toBeLessThan(100);
    rmSync(file);
    expectNoTempFiles();
  }, 120_000);
});

describe('raw uploads (the body is the file)', () => {
  /** POSTs `body` as it is with the given headers and query; returns the server's outcome. */
  async function raw(path: string, body: string | Uint8Array, headers: Record<string, string>, query: Record<string, string>): Promise<Outcome> {
    const rid = String(++requests);
    await fetch(`${base}${path}?${new URLSearchParams({ rid, user: 'alice', ...query })}`, { method: 'POST', headers, body })
      .then((r) => r.arrayBuffer())
      .catch(() => undefined);
    const o = outcomes.find((x) => x.rid === rid);
    expect(o).toBeDefined();
    return o as Outcome;
  }

  it('ingests a raw CSV body named by fileName, with options from the query, as a multipart upload would', async () => {
    const T = 'bronze.raw.orders';
    const o = await raw('/ingest', ORDERS, { 'content-type': 'text/csv' }, { table: T, fileName: 'orders-june.csv' });
    expect(o.error?.message).toBeUndefined();
    expect(o.body).toMatchObject({ table: T, version: 0, created: true, rows: 3 });
    const rows = await rowsOf(T, 'id');
    expect(rows.map((r) => r.customer)).toEqual(['ann', 'bob', 'cy, jr']);
    expect(new Set(rows.map((r) => r._source_file))).toEqual(new Set(['orders-june.csv']));
    // mode=overwrite from the query string; the name from Content-Disposition.
    const again = await raw('/ingest', 'id,customer,amount,ordered\n9,zed,1,2024-06-09\n', { 'content-type': 'application/octet-stream', 'content-disposition': 'attachment; filename="more.csv"' }, { table: T, mode: 'overwrite' });
    expect(again.body).toMatchObject({ version: 1, rows: 1 });
    expect((await rowsOf(T)).map((r) => [String(r.id), r._source_file])).toEqual([['9', 'more.csv']]);
    expectNoTempFiles();
  });

  it('names an unnamed body by its Content-Type, and refuses one it cannot tell the format of', async () => {
    const ok = await raw('/receive', '{"a":1}\n', { 'content-type': 'application/x-ndjson' }, {});
    expect(ok.body).toMatchObject({ fileName: 'upload.ndjson', bytes: 8, fields: {} });
    const before = await stateOf('bronze.raw.unknown');
    const o = await raw('/ingest', 'a,b\n1,2\n', { 'content-type': 'application/octet-stream' }, { table: 'bronze.raw.unknown' });
    await expectRefused(o, 'INVALID_INPUT', [/cannot tell the format of "upload"/], 'bronze.raw.unknown', before);
  });

  it('refuses a body over maxBytes (with and without Content-Length), a Content-Encoding, and a body cut short', async () => {
    const big = await raw('/receive', 'x'.repeat(5000), { 'content-type': 'text/csv' }, { maxBytes: '1000' });
    expect(big.error?.code).toBe('PAYLOAD_TOO_LARGE');
    expect(big.error?.message).toContain('1000 bytes');
    expectNoTempFiles();

    // Chunked (no Content-Length): the limit trips while streaming.
    const n = outcomes.length;
    const r = request(`${base}/receive?maxBytes=1000`, { method: 'POST', headers: { 'content-type': 'text/csv', 'transfer-encoding': 'chunked' } });
    r.on('error', () => undefined);
    for (let i = 0; i < 10; i++) r.write('y'.repeat(500));
    r.end();
    const chunked = await waitOutcome(n);
    expect(chunked.error?.code).toBe('PAYLOAD_TOO_LARGE');
    expectNoTempFiles();

    const exact = await raw('/receive', 'z'.repeat(1000), { 'content-type': 'text/csv' }, { maxBytes: '1000', fileName: 'exact.csv', mode: 'append' });
    expect(exact.body).toMatchObject({ bytes: 1000, fileName: 'exact.csv', fields: { mode: 'append' } });

    const gz = await raw('/receive', gzipSync('a,b\n'), { 'content-type': 'text/csv', 'content-encoding': 'gzip' }, {});
    expect(gz.error?.code).toBe('INVALID_INPUT');
    expect(gz.error?.message).toMatch(/Content-Encoding gzip/);

    const m = outcomes.length;
    const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write(`POST /ingest?table=bronze.raw.cut&fileName=cut.csv HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nContent-Length: 100000\r\n\r\na,b\n${'1,2\n'.repeat(1000)}`);
    await new Promise((res) => setTimeout(res, 100));
    socket.destroy();
    const cut = await waitOutcome(m);
    expect(cut.error?.code).toBe('INVALID_INPUT');
    expect(cut.error?.message).toMatch(/upload was truncated/);
    expect(await versionOf('bronze.raw.cut')).toBe(-1);
    expectNoTempFiles();
  });
});

describe('ingestFile directly', () => {
  it('detects formats from extensions and options', () => {
    expect(detectFormat('a.CSV')).toEqual({ format: 'csv', delimiter: ',', compression: null });
    expect(detectFormat('a.tsv')).toEqual({ format: 'csv', delimiter: '\t', compression: null });
    expect(detectFormat('a.jsonl.gz')).toEqual({ format: 'ndjson', delimiter: ',', compression: 'gzip' });
    expect(detectFormat('noext', 'parquet').format).toBe('parquet');
    expect(() => detectFormat('a.parquet.gz')).toThrow(/Parquet/);
    expect(() => detectFormat('noext')).toThrow(/cannot tell the format/);
  });

  it('reports progress, and a cancelled ingest commits nothing and deletes the file', async () => {
    const t = 'bronze.jobs.cancel';
    const path = join(root, 'p.csv');
    writeFileSync(path, 'a\n1\n');
    const seen: [number, string][] = [];
    const ctx: IngestContext = { warehouse, engines, clock, userName: 'bob', onProgress: (f, m) => seen.push([f, m]) };
    const r = await ingestFile(ctx, { table: t, path, fileName: 'p.csv' });
    expect(r).toMatchObject({ version: 0, created: true });
    expect(seen[0][0]).toBe(0);
    expect(seen.at(-1)).toEqual([1, `created ${t} at version 0`]);
    expect(seen.map((s) => s[0])).toEqual([...seen.map((s) => s[0])].sort((a, b) => a - b));
    expect(() => statSync(path)).toThrow();

    writeFileSync(path, 'a\n2\n');
    const ac = new AbortController();
    ac.abort();
    await expect(ingestFile({ ...ctx, signal: ac.signal }, { table: t, path, fileName: 'p.csv' })).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(await versionOf(t)).toBe(0);
    expect(() => statSync(path)).toThrow();

    // Aborted while DuckDB is reading a larger file: the statement is interrupted.
    const big = join(root, 'big.csv');
    const out = createWriteStream(big);
    out.write('a,b,c\n');
    for (let k = 0; k < 40; k++) {
      if (!out.write(Array.from({ length: 50_000 }, (_, j) => `${k * 50_000 + j},x${j},${j * 0.5}\n`).join(''))) await once(out, 'drain');
    }
    out.end();
    await once(out, 'close');
    const ac2 = new AbortController();
    const started = Date.now();
    setTimeout(() => ac2.abort(), 30);
    const err = await ingestFile({ ...ctx, signal: ac2.signal }, { table: t, path: big, fileName: 'big.csv' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'CANCELLED' });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await versionOf(t)).toBe(0);
    expect(() => statSync(big)).toThrow();
    // The engine is usable afterwards.
    expect(await engines.with((e) => e.queryNumber('SELECT 41 + 1'))).toBe(42);
  });
});
