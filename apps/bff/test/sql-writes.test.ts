import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LakehouseError,
  ManualClock,
  createTable,
  isLakehouseError,
  padVersion,
  quoteString,
  type StructType,
} from '@lakehouse/core';
import { DuckDbEngine, tableQuerySql } from '@lakehouse/core/node';
import { analyzeSql, tokenize, type AnalyzedStatement } from '../src/sql/analyze.js';
import { executeSql, type SqlContext } from '../src/sql/execute.js';
import { viewStatements } from '../src/sql/views.js';
import { Warehouse } from '../src/warehouse/warehouse.js';

const dirs: string[] = [];
const clock = new ManualClock(Date.UTC(2024, 0, 1));
let engine: DuckDbEngine;
beforeAll(async () => {
  engine = await DuckDbEngine.create(clock);
});
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));


const ORDERS: StructType = {
  type: 'struct',
  fields: [
    { name: 'id', type: 'long', nullable: true, metadata: {} },
    { name: 'region', type: 'string', nullable: true, metadata: {} },
    { name: 'amount', type: 'string', nullable: true, metadata: {} },
    { name: 'note', type: 'string', nullable: true, metadata: {} },
  ],
};

/** A fresh warehouse with bronze.sales.orders (4 rows) and bronze.sales.refunds (id 2). */
async function fresh(): Promise<Warehouse> {
  const dir = mkdtempSync(join(tmpdir(), 'lh-sqlw-'));
  dirs.push(dir);
  const wh = new Warehouse(dir, clock);
  await createTable(wh.ref('bronze.sales.orders'), {
    schema: ORDERS,
    sourceSql: `SELECT * FROM (VALUES (1::BIGINT, 'eu', '10.50', 'first'), (2, 'us', '3', 'second'), (3, 'eu', NULL, 'no amount'), (4, 'apac', '7.25', NULL)) AS v(id, region, amount, note)`,
    engine,
    clock,
  });
  await createTable(wh.ref('bronze.sales.refunds'), {
    schema: { type: 'struct', fields: [{ name: 'id', type: 'long', nullable: true, metadata: {} }] },
    sourceSql: 'SELECT 2::BIGINT AS id',
    engine,
    clock,
  });
  return wh;
}

function ctx(wh: Warehouse, extra: Partial<SqlContext> = {}): SqlContext {
  return { warehouse: wh, clock, userName: 'ana', ...extra };
}

/** Rows of the latest version, projected by `select` and sorted. */
async function rows(wh: Warehouse, name: string, select = '*'): Promise<Record<string, unknown>[]> {
  const { sql } = await tableQuerySql(await wh.snapshot(name));
  return engine.queryRows(`SELECT ${select} FROM (${sql}) AS t ORDER BY ALL`);
}

/** The commitInfo of a version, read from the log file. */
function commitInfo(wh: Warehouse, name: string, version: number): Record<string, unknown> {
  const text = readFileSync(join(wh.dir(name), '_delta_log', `${padVersion(version)}.json`), 'utf8');
  const line = text.split('\n').find((l) => l.includes('"commitInfo"'));
  return (JSON.parse(line!) as { commitInfo: Record<string, unknown> }).commitInfo;
}

/** Version of every table in the warehouse. */
async function versions(wh: Warehouse): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const n of await wh.discover()) out[n] = (await wh.snapshot(n)).version;
  return out;
}

async function codeOf(p: Promise<unknown>): Promise<{ code: string; message: string; details: Record<string, unknown> }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof LakehouseError) return { code: e.code, message: e.message, details: { ...e.details } };
    throw e;
  }
  throw new Error('expected the statement to fail');
}

// ---------------------------------------------------------------------------------------------------------------

describe('analyzeSql: supported statements', () => {
  const cases: { sql: string; tables?: string[]; expected: Partial<AnalyzedStatement> & Record<string, unknown> }[] = [
    {
      sql: 'CREATE TABLE silver.sales.orders AS SELECT * FROM bronze.sales.orders',
      expected: { kind: 'CREATE_TABLE_AS_SELECT', ifNotExists: false, partitionedBy: [], comment: null, query: 'SELECT * FROM bronze.sales.orders' },
    },
    {
      sql: "create table if not exists silver_sales_orders partitioned by (region, \"Day\") comment 'it''s; AS SELECT' tblproperties ('delta.appendOnly' = 'true') as select 1 as a;",
      expected: {
        kind: 'CREATE_TABLE_AS_SELECT',
        ifNotExists: true,
        partitionedBy: ['region', 'Day'],
        comment: "it's; AS SELECT",
        properties: { 'delta.appendOnly': 'true' },
        query: 'select 1 as a',
      },
    },
    {
      sql: "INSERT INTO bronze.sales.orders VALUES (1, 'a;b'), (2, '--x')",
      expected: { kind: 'INSERT', columns: null, byName: false, query: "SELECT * FROM (VALUES (1, 'a;b'), (2, '--x')) AS __values" },
    },
    {
      sql: "INSERT INTO bronze.sales.orders(id, \"note\") SELECT 1, 'x' -- trailing; comment",
      expected: { kind: 'INSERT', columns: ['id', 'note'], query: "SELECT 1, 'x'" },
    },
    {
      sql: 'INSERT INTO bronze.sales.orders BY NAME SELECT 1 AS id',
      expected: { kind: 'INSERT', columns: null, byName: true, query: 'SELECT 1 AS id' },
    },
    {
      sql: 'INSERT OVERWRITE TABLE gold.kpi.daily SELECT /* DELETE FROM x; */ 1 AS a',
      expected: { kind: 'INSERT_OVERWRITE', query: 'SELECT /* DELETE FROM x; */ 1 AS a' },
    },
    { sql: 'DELETE FROM bronze.sales.orders;', expected: { kind: 'DELETE', where: null, selects: [] } },
    {
      sql: "DELETE FROM bronze.sales.orders AS o WHERE o.note = 'o.note' AND o.id IN (SELECT id FROM bronze.sales.refunds)",
      expected: { kind: 'DELETE', where: "note = 'o.note' AND id IN (SELECT id FROM bronze.sales.refunds)" },
    },
    {
      sql: "DELETE FROM bronze.sales.orders WHERE orders.note = 'x; DROP TABLE y' -- ; SELECT 1",
      expected: { kind: 'DELETE', where: "note = 'x; DROP TABLE y'" },
    },
    {
      sql: "UPDATE silver.sales.orders o SET o.amount = o.amount * 2, note = 'a, b = c' WHERE o.id = 1",
      expected: { kind: 'UPDATE', set: { amount: 'amount * 2', note: "'a, b = c'" }, where: 'id = 1' },
    },
    {
      sql: "UPDATE silver.sales.orders SET status = CASE WHEN amount > 10 THEN 'big' ELSE 'small' END, n = coalesce(n, 0) + 1 WHERE silver.sales.orders.id > 0",
      expected: { kind: 'UPDATE', set: { status: "CASE WHEN amount > 10 THEN 'big' ELSE 'small' END", n: 'coalesce(n, 0) + 1' }, where: 'id > 0' },
    },
    {
      sql: `MERGE INTO silver.sales.orders AS t
            USING (SELECT id, amount FROM bronze.sales.orders WHERE note <> 'WHEN MATCHED') AS s
            ON t.id = s.id
            WHEN MATCHED AND s.amount = 0 THEN DELETE
            WHEN MATCHED THEN UPDATE SET t.amount = s.amount, note = CASE WHEN s.amount > 1 THEN 'x' END
            WHEN NOT MATCHED AND s.amount > 0 THEN INSERT (id, amount) VALUES (s.id, coalesce(s.amount, 0))`,
      expected: {
        kind: 'MERGE',
        targetAlias: 't',
        sourceAlias: 's',
        source: { kind: 'query', sql: "SELECT id, amount FROM bronze.sales.orders WHERE note <> 'WHEN MATCHED'" },
        on: 't.id = s.id',
        whenMatched: [
          { condition: 's.amount = 0', action: { kind: 'delete' } },
          { action: { kind: 'update', set: { amount: 's.amount', note: "CASE WHEN s.amount > 1 THEN 'x' END" } } },
        ],
        whenNotMatched: [{ condition: 's.amount > 0', action: { kind: 'insert', values: { id: 's.id', amount: 'coalesce(s.amount, 0)' } } }],
      },
    },
    {
      sql: 'MERGE INTO silver_sales_orders USING bronze.sales.orders ON silver_sales_orders.id = bronze.sales.orders.id WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED BY TARGET THEN INSERT *',
      expected: {
        kind: 'MERGE',
        targetAlias: 'silver_sales_orders',
        sourceAlias: 'orders',
        sourceSql: 'SELECT * FROM "bronze"."sales"."orders"',
        on: 'silver_sales_orders.id = "orders".id',
        whenMatched: [{ action: { kind: 'updateAll' } }],
        whenNotMatched: [{ action: { kind: 'insertAll' } }],
      },
    },
    {
      sql: 'INSERT INTO bronze.a.b (SELECT 1) UNION ALL (SELECT 2)',
      expected: { kind: 'INSERT', columns: null, query: 'SELECT * FROM ((SELECT 1) UNION ALL (SELECT 2)) AS __query' },
    },
    {
      sql: "UPDATE bronze.a.b SET x = y IS DISTINCT FROM z WHERE extract(year FROM d) = 2024 AND s = $$it's -- no comment$$",
      expected: { kind: 'UPDATE', set: { x: 'y IS DISTINCT FROM z' }, where: "extract(year FROM d) = 2024 AND s = $$it's -- no comment$$" },
    },
    {
      sql: "MERGE INTO bronze.a.b USING (VALUES (1, 'x')) AS v(id, s) ON b.id = v.id WHEN NOT MATCHED THEN INSERT (id) VALUES (v.id)",
      expected: {
        kind: 'MERGE',
        targetAlias: 'b',
        sourceAlias: 'v',
        sourceSql: `SELECT * FROM (\nSELECT * FROM (VALUES (1, 'x')) AS __values\n) AS __using("id", "s")`,
        whenNotMatched: [{ action: { kind: 'insert', values: { id: 'v.id' } } }],
      },
    },
    {
      sql: 'INSERT INTO silver_sales_order_items SELECT 1',
      tables: ['silver.sales.order_items', 'bronze.sales.orders'],
      expected: { kind: 'INSERT', query: 'SELECT 1' },
    },
  ];
  it.each(cases)('$sql', ({ sql, tables, expected }) => {
    const s = analyzeSql(sql, { tables });
    expect(s).toMatchObject(expected);
  });

  it('names the target with its parts, from three-part and flat names', () => {
    expect(analyzeSql('DELETE FROM Silver.Sales.Orders').target).toEqual({ name: 'silver.sales.orders', layer: 'silver', domain: 'sales', table: 'orders', written: 'silver.sales.orders' });
    expect(analyzeSql('DELETE FROM gold_kpi_daily').target).toMatchObject({ name: 'gold.kpi.daily', written: 'gold_kpi_daily' });
    expect(analyzeSql('INSERT INTO silver_sales_order_items SELECT 1', { tables: ['silver.sales.order_items'] }).target.name).toBe('silver.sales.order_items');
  });

  it('lists the SELECT parts whose tables are the sources', () => {
    expect(analyzeSql('DELETE FROM bronze.a.b WHERE id IN (SELECT id FROM bronze.a.c)').selects).toEqual(['SELECT 1 WHERE id IN (SELECT id FROM bronze.a.c)']);
    expect(analyzeSql('UPDATE bronze.a.b SET x = (SELECT max(x) FROM bronze.a.c) WHERE y = 1').selects).toEqual(['SELECT (SELECT max(x) FROM bronze.a.c) WHERE y = 1']);
    const m = analyzeSql('MERGE INTO bronze.a.b t USING bronze.a.c s ON t.id = s.id WHEN NOT MATCHED THEN INSERT *');
    expect(m.selects[0]).toBe('SELECT * FROM "bronze"."a"."c"');
  });

  it('keeps string literals and comments intact whatever they contain (property)', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (s, c) => {
        // Block comments nest in DuckDB: keep the generated text free of comment delimiters, and nest one comment.
        const comment = c.replace(/[/*]/g, '');
        const lit = quoteString(s);
        const sql = `DELETE FROM bronze.a.b /*${comment} /* nested */ */ WHERE note = ${lit} OR x = 1 -- ${c.replace(/[\r\n]/g, ' ')}`;
        const a = analyzeSql(sql);
        expect(a.kind).toBe('DELETE');
        expect(a.kind === 'DELETE' && a.where).toBe(`note = ${lit} OR x = 1`);
      }),
      { numRuns: 300 },
    );
  });

  it('tracks the nesting depth of parentheses and CASE ... END', () => {
    const t = tokenize("SELECT (a, CASE WHEN b THEN ')' END) , c");
    const depthOf = (text: string): number => t.find((x) => x.text === text)!.depth;
    expect([depthOf('a'), depthOf('WHEN'), depthOf("')'"), depthOf('END'), depthOf('c')]).toEqual([1, 2, 2, 1, 0]);
  });
});

describe('analyzeSql: refusals', () => {
  const cases: { sql: string; message: RegExp; tables?: string[] }[] = [
    { sql: 'SELECT * FROM bronze.sales.orders', message: /a query \(SELECT\) is not supported.*allowed statements: CREATE TABLE \.\.\. AS SELECT, INSERT INTO/ },
    { sql: 'WITH x AS (SELECT 1) SELECT * FROM x', message: /a query \(WITH\)/ },
    { sql: '(SELECT 1)', message: /a query/ },
    { sql: 'DROP TABLE bronze.sales.orders', message: /^DROP TABLE is not supported/ },
    { sql: 'ALTER TABLE bronze.a.b ADD COLUMN y INT', message: /^ALTER TABLE is not supported/ },
    { sql: "COPY bronze.sales.orders TO '/tmp/x.csv'", message: /^COPY is not supported/ },
    { sql: "ATTACH '/tmp/x.db' AS x", message: /^ATTACH is not supported/ },
    { sql: 'PRAGMA version', message: /^PRAGMA is not supported/ },
    { sql: "SET threads = 1", message: /^SET is not supported/ },
    { sql: 'CREATE TABLE silver.a.b (id INT)', message: /column list/ },
    { sql: 'CREATE TABLE silver.a.b', message: /CREATE TABLE without AS SELECT/ },
    { sql: 'CREATE VIEW silver.a.b AS SELECT 1', message: /^CREATE VIEW is not supported/ },
    { sql: 'CREATE OR REPLACE TABLE silver.a.b AS SELECT 1', message: /CREATE OR REPLACE/ },
    { sql: 'CREATE TABLE silver.a.b USING parquet AS SELECT 1', message: /only Delta tables/ },
    { sql: 'CREATE TABLE silver.a.b AS DELETE FROM x', message: /must be followed by a SELECT/ },
    { sql: "INSERT INTO 'out.csv' SELECT 1", message: /only warehouse tables can be written/ },
    { sql: "INSERT INTO read_csv('x') SELECT 1", message: /invalid table name "read_csv"/ },
    { sql: 'INSERT INTO foo SELECT 1', message: /invalid table name "foo"/ },
    { sql: 'INSERT INTO platinum.a.b SELECT 1', message: /invalid table name "platinum.a.b".*layer must be one of/ },
    { sql: 'INSERT INTO silver_sales_order_items SELECT 1', message: /"silver_sales_order_items".*ambiguous/ },
    { sql: 'INSERT INTO silver_x_y_z SELECT 1', tables: ['silver.x_y.z', 'silver.x.y_z'], message: /ambiguous.*silver\.x_y\.z/ },
    { sql: 'INSERT OR REPLACE INTO bronze.a.b SELECT 1', message: /INSERT OR REPLACE/ },
    { sql: 'INSERT INTO bronze.a.b SELECT 1 RETURNING *', message: /RETURNING/ },
    { sql: 'INSERT INTO bronze.a.b SELECT 1 ON CONFLICT DO NOTHING', message: /ON CONFLICT/ },
    { sql: 'INSERT INTO bronze.a.b (a, a) SELECT 1, 2', message: /column "a" appears twice/ },
    { sql: 'DELETE FROM bronze.sales.orders; DROP TABLE bronze.sales.orders', message: /exactly one statement/ },
    { sql: 'SELECT 1; SELECT 2', message: /exactly one statement/ },
    { sql: "INSERT INTO bronze.a.b SELECT 'unterminated", message: /unterminated string/ },
    { sql: 'INSERT INTO bronze.a.b SELECT 1 /* open', message: /unterminated \/\* comment/ },
    { sql: 'DELETE FROM bronze.a.b WHERE (id = 1', message: /unbalanced/ },
    { sql: 'DELETE FROM bronze.a.b WHERE id = 1)', message: /unbalanced "\)"/ },
    { sql: '', message: /empty/ },
    { sql: '  -- only a comment\n;', message: /empty/ },
    { sql: 'UPDATE silver.a.b SET x = 1 FROM bronze.a.c', message: /UPDATE \.\.\. FROM is not supported/ },
    { sql: 'UPDATE silver.a.b SET other.x = 1', message: /does not belong to the target/ },
    { sql: 'UPDATE silver.a.b SET x = 1, x = 2', message: /assigned twice/ },
    { sql: 'DELETE FROM bronze.a.b USING bronze.a.c WHERE true', message: /DELETE \.\.\. USING/ },
    { sql: 'DELETE FROM bronze.a.b AS o WHERE EXISTS (SELECT 1 FROM bronze.a.c c WHERE c.id = o.id)', message: /correlated/ },
    { sql: 'MERGE INTO silver.a.b t USING bronze.a.c s ON t.id = s.id WHEN NOT MATCHED BY SOURCE THEN DELETE', message: /BY SOURCE/ },
    { sql: 'MERGE INTO silver.a.b t USING bronze.a.c s ON t.id = s.id', message: /at least one WHEN/ },
    { sql: 'MERGE INTO silver.a.b USING bronze.a.b ON b.id = b.id WHEN MATCHED THEN DELETE', message: /both called "b"/ },
    { sql: 'MERGE INTO silver.a.b t USING bronze.a.c s ON t.id = s.id WHEN NOT MATCHED THEN INSERT (a, b) VALUES (1)', message: /2 columns but 1 values/ },
  ];
  it.each(cases)('$sql', ({ sql, message, tables }) => {
    let err: unknown;
    try {
      analyzeSql(sql, { tables });
    } catch (e) {
      err = e;
    }
    expect(isLakehouseError(err, 'INVALID_INPUT')).toBe(true);
    expect((err as Error).message).toMatch(message);
  });
});

describe('viewStatements', () => {
  it('attaches each layer and creates each schema once, with three-part and flat views', () => {
    expect(
      viewStatements([
        { name: 'bronze.sales.orders', scanSql: 'SELECT 1' },
        { name: 'bronze.sales.refunds', scanSql: 'SELECT 2' },
        { name: 'silver.crm.users', scanSql: 'SELECT 3' },
      ]),
    ).toEqual([
      `ATTACH IF NOT EXISTS ':memory:' AS "bronze"`,
      'CREATE SCHEMA IF NOT EXISTS "bronze"."sales"',
      'CREATE OR REPLACE VIEW "bronze"."sales"."orders" AS SELECT 1',
      'CREATE OR REPLACE VIEW main."bronze_sales_orders" AS SELECT 1',
      'CREATE OR REPLACE VIEW "bronze"."sales"."refunds" AS SELECT 2',
      'CREATE OR REPLACE VIEW main."bronze_sales_refunds" AS SELECT 2',
      `ATTACH IF NOT EXISTS ':memory:' AS "silver"`,
      'CREATE SCHEMA IF NOT EXISTS "silver"."crm"',
      'CREATE OR REPLACE VIEW "silver"."crm"."users" AS SELECT 3',
      'CREATE OR REPLACE VIEW main."silver_crm_users" AS SELECT 3',
    ]);
    expect(viewStatements([{ name: 'gold.a.b', scanSql: 'SELECT 1' }], new Set(['gold']))[0]).toBe('CREATE SCHEMA IF NOT EXISTS "gold"."a"');
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('executeSql', () => {
  const CTAS_SILVER = `CREATE TABLE silver.sales.orders PARTITIONED BY (region) COMMENT 'clean orders' AS
    SELECT id, region, CAST(amount AS DECIMAL(10,2)) AS amount FROM bronze.sales.orders WHERE amount IS NOT NULL`;

  it('CREATE TABLE AS SELECT: casts and filters from bronze, partitioned, with a description', async () => {
    const wh = await fresh();
    const r = await executeSql(ctx(wh), CTAS_SILVER);
    expect(r).toMatchObject({ statement: 'CREATE_TABLE_AS_SELECT', target: 'silver.sales.orders', sources: ['bronze.sales.orders'], version: 0 });
    expect(r.metrics.numOutputRows).toBe(3);
    const snap = await wh.snapshot('silver.sales.orders');
    expect(snap.partitionColumns).toEqual(['region']);
    expect(snap.metadata.description).toBe('clean orders');
    expect(snap.schema.fields.map((f) => [f.name, f.type])).toEqual([
      ['id', 'long'],
      ['region', 'string'],
      ['amount', { type: 'decimal', precision: 10, scale: 2 }],
    ]);
    expect(await rows(wh, 'silver.sales.orders', 'id::INT AS id, region, amount::VARCHAR AS amount')).toEqual([
      { id: 1, region: 'eu', amount: '10.50' },
      { id: 2, region: 'us', amount: '3.00' },
      { id: 4, region: 'apac', amount: '7.25' },
    ]);
    const ci = commitInfo(wh, 'silver.sales.orders', 0);
    expect(ci.operation).toBe('CREATE TABLE AS SELECT');
    expect(ci.userName).toBe('ana');
  });

  it('CREATE TABLE AS SELECT records its lineage', async () => {
    const wh = await fresh();
    await executeSql(ctx(wh), CTAS_SILVER);
    expect(commitInfo(wh, 'silver.sales.orders', 0).lineage).toMatchObject({
      statement: 'CREATE_TABLE_AS_SELECT',
      sources: ['bronze.sales.orders'],
      target: 'silver.sales.orders',
    });
  });

  it('CREATE TABLE on an existing table: TABLE_EXISTS, or nothing with IF NOT EXISTS', async () => {
    const wh = await fresh();
    expect((await codeOf(executeSql(ctx(wh), 'CREATE TABLE bronze.sales.refunds AS SELECT 1 AS id'))).code).toBe('TABLE_EXISTS');
    const r = await executeSql(ctx(wh), 'CREATE TABLE IF NOT EXISTS bronze.sales.refunds AS SELECT 1 AS id');
    expect(r).toMatchObject({ version: 0, metrics: { skipped: 1 } });
    expect(await rows(wh, 'bronze.sales.refunds', 'id::INT AS id')).toEqual([{ id: 2 }]);
  });

  it('INSERT by position, with a reordered partial column list, VALUES with NULLs, and records lineage', async () => {
    const wh = await fresh();
    await executeSql(ctx(wh), CTAS_SILVER);
    const a = await executeSql(ctx(wh), "INSERT INTO silver.sales.orders SELECT id + 10, region, 1.5 FROM bronze.sales.orders WHERE region = 'us'");
    expect(a).toMatchObject({ statement: 'INSERT', target: 'silver.sales.orders', sources: ['bronze.sales.orders'], version: 1, metrics: { numOutputRows: 1 } });
    const b = await executeSql(ctx(wh), "INSERT INTO silver.sales.orders (amount, id) VALUES (5.5, 20), (NULL, 21)");
    expect(b).toMatchObject({ statement: 'INSERT', sources: [], version: 2 });
    expect(await rows(wh, 'silver.sales.orders', 'id::INT AS id, region, amount::VARCHAR AS amount')).toEqual([
      { id: 1, region: 'eu', amount: '10.50' },
      { id: 2, region: 'us', amount: '3.00' },
      { id: 4, region: 'apac', amount: '7.25' },
      { id: 12, region: 'us', amount: '1.50' },
      { id: 20, region: null, amount: '5.50' },
      { id: 21, region: null, amount: null },
    ]);
    const ci = commitInfo(wh, 'silver.sales.orders', 1);
    expect(ci.operation).toBe('WRITE');
    expect(ci.userName).toBe('ana');
    expect(ci.lineage).toEqual({
      statement: 'INSERT',
      sources: ['bronze.sales.orders'],
      target: 'silver.sales.orders',
      sql: "INSERT INTO silver.sales.orders SELECT id + 10, region, 1.5 FROM bronze.sales.orders WHERE region = 'us'",
      sourceVersions: { 'bronze.sales.orders': 0 },
    });
    // An all-NULL VALUES column takes the column's type (DuckDB alone would call it INTEGER).
    await executeSql(ctx(wh), "INSERT INTO bronze.sales.orders VALUES (7, 'eu', '1', NULL)");
    expect(await rows(wh, 'bronze.sales.orders', 'id::INT AS id, note')).toContainEqual({ id: 7, note: null });
  });

  it('INSERT reading its own target sees the version it appends to', async () => {
    const wh = await fresh();
    const r = await executeSql(ctx(wh), 'INSERT INTO bronze.sales.orders SELECT id + 100, region, amount, note FROM bronze_sales_orders WHERE id <= 2');
    expect(r.sources).toEqual(['bronze.sales.orders']);
    expect((await rows(wh, 'bronze.sales.orders', 'id::INT AS id')).map((x) => x.id)).toEqual([1, 2, 3, 4, 101, 102]);
    expect((commitInfo(wh, 'bronze.sales.orders', 1).lineage as Record<string, unknown>).sourceVersions).toEqual({ 'bronze.sales.orders': 0 });
  });

  it('INSERT BY NAME matches columns by name', async () => {
    const wh = await fresh();
    await executeSql(ctx(wh), "INSERT INTO bronze.sales.refunds BY NAME SELECT 9 AS id");
    expect(await rows(wh, 'bronze.sales.refunds', 'id::INT AS id')).toEqual([{ id: 2 }, { id: 9 }]);
  });

  it('INSERT OVERWRITE replaces every row', async () => {
    const wh = await fresh();
    await executeSql(ctx(wh), CTAS_SILVER);
    await executeSql(ctx(wh), 'CREATE TABLE gold.sales.totals AS SELECT region, sum(amount) AS total FROM silver.sales.orders GROUP BY region');
    await executeSql(ctx(wh), "INSERT INTO silver.sales.orders VALUES (30, 'eu', 1)");
    const r = await executeSql(ctx(wh), 'INSERT OVERWRITE TABLE gold.sales.totals SELECT region, sum(amount) FROM silver.sales.orders GROUP BY region');
    expect(r).toMatchObject({ statement: 'INSERT_OVERWRITE', target: 'gold.sales.totals', sources: ['silver.sales.orders'], version: 1 });
    expect(await rows(wh, 'gold.sales.totals', 'region, total::VARCHAR AS total')).toEqual([
      { region: 'apac', total: '7.25' },
      { region: 'eu', total: '11.50' },
      { region: 'us', total: '3.00' },
    ]);
    expect(commitInfo(wh, 'gold.sales.totals', 1)).toMatchObject({ operation: 'WRITE', lineage: { statement: 'INSERT_OVERWRITE', sources: ['silver.sales.orders'] } });
  });

  it('DELETE with an aliased subquery condition, and DELETE without WHERE', async () => {
    const wh = await fresh();
    const r = await executeSql(ctx(wh), 'DELETE FROM bronze.sales.orders AS o WHERE o.id IN (SELECT id FROM bronze.sales.refunds) OR o.note IS NULL');
    expect(r).toMatchObject({ statement: 'DELETE', target: 'bronze.sales.orders', sources: ['bronze.sales.refunds'], version: 1, metrics: { numDeletedRows: 2 } });
    expect((await rows(wh, 'bronze.sales.orders', 'id::INT AS id')).map((x) => x.id)).toEqual([1, 3]);
    expect(commitInfo(wh, 'bronze.sales.orders', 1)).toMatchObject({
      operation: 'DELETE',
      lineage: { statement: 'DELETE', sources: ['bronze.sales.refunds'], target: 'bronze.sales.orders' },
    });
    const all = await executeSql(ctx(wh), 'DELETE FROM bronze_sales_orders');
    expect(all).toMatchObject({ version: 2, metrics: { numDeletedRows: 2 } });
    expect(await rows(wh, 'bronze.sales.orders')).toEqual([]);
  });

  it('flat names work for targets and sources', async () => {
    const wh = await fresh();
    await executeSql(ctx(wh), CTAS_SILVER);
    const r = await executeSql(
      ctx(wh),
      'CREATE TABLE gold_sales_regions AS WITH x AS (SELECT * FROM silver_sales_orders) SELECT region, count(*)::BIGINT AS n FROM x GROUP BY region',
    );
    expect(r).toMatchObject({ target: 'gold.sales.regions', sources: ['silver.sales.orders'] });
    expect(await rows(wh, 'gold.sales.regions', 'region, n::INT AS n')).toEqual([
      { region: 'apac', n: 1 },
      { region: 'eu', n: 1 },
      { region: 'us', n: 1 },
    ]);
  });

  it('runs concurrent statements in isolated engines', async () => {
    const wh = await fresh();
    const results = await Promise.all([
      executeSql(ctx(wh), 'INSERT INTO bronze.sales.refunds VALUES (5)'),
      executeSql(ctx(wh), 'INSERT INTO bronze.sales.refunds SELECT 6'),
      executeSql(ctx(wh), "CREATE TABLE silver.sales.refunds AS SELECT id FROM bronze.sales.refunds"),
    ]);
    expect(results.map((r) => r.target)).toEqual(['bronze.sales.refunds', 'bronze.sales.refunds', 'silver.sales.refunds']);
    expect((await rows(wh, 'bronze.sales.refunds', 'id::INT AS id')).map((x) => x.id)).toEqual([2, 5, 6]);
    expect((await wh.snapshot('bronze.sales.refunds')).version).toBe(2);
  });

  describe('a failing statement leaves every table at its previous version', () => {
    const cases: { name: string; sql: string; code: string; message: RegExp; column?: string }[] = [
      { name: 'bad column', sql: 'INSERT INTO bronze.sales.refunds SELECT nope FROM bronze.sales.orders', code: 'INVALID_INPUT', message: /nope/ },
      { name: 'bad column in CTAS', sql: 'CREATE TABLE silver.sales.x AS SELECT nope FROM bronze.sales.orders', code: 'INVALID_INPUT', message: /nope/ },
      { name: 'bad DELETE predicate', sql: 'DELETE FROM bronze.sales.orders WHERE nope = 1', code: 'INVALID_INPUT', message: /nope/ },
      {
        name: 'extra column (schema enforcement)',
        sql: "INSERT INTO bronze.sales.refunds BY NAME SELECT 1 AS id, 'x' AS extra",
        code: 'SCHEMA_MISMATCH',
        message: /"extra"/,
        column: 'extra',
      },
      {
        name: 'value that does not fit the column type',
        sql: "INSERT INTO bronze.sales.refunds SELECT 'abc'",
        code: 'SCHEMA_MISMATCH',
        message: /"id".*"abc"/,
        column: 'id',
      },
      { name: 'wrong number of columns', sql: 'INSERT INTO bronze.sales.refunds SELECT 1, 2', code: 'SCHEMA_MISMATCH', message: /2 column\(s\) but 1 are expected \(id\)/ },
      { name: 'unknown column in the column list', sql: 'INSERT INTO bronze.sales.refunds (nope) SELECT 1', code: 'SCHEMA_MISMATCH', message: /"nope"/ },
      { name: 'unknown source table', sql: 'INSERT INTO bronze.sales.refunds SELECT id FROM bronze.sales.nope', code: 'TABLE_NOT_FOUND', message: /bronze\.sales\.nope/ },
      { name: 'unknown flat source', sql: 'INSERT INTO bronze.sales.refunds SELECT id FROM silver_sales_nope', code: 'TABLE_NOT_FOUND', message: /silver_sales_nope/ },
      { name: 'a file is not a table', sql: "INSERT INTO bronze.sales.refunds SELECT 1 FROM '/etc/passwd'", code: 'TABLE_NOT_FOUND', message: /\/etc\/passwd/ },
      { name: 'unknown target table', sql: 'DELETE FROM silver.sales.nope WHERE true', code: 'TABLE_NOT_FOUND', message: /silver\.sales\.nope/ },
      { name: 'unknown subquery table', sql: 'DELETE FROM bronze.sales.orders WHERE id IN (SELECT id FROM gold.x.y)', code: 'TABLE_NOT_FOUND', message: /gold\.x\.y/ },
      { name: 'table functions', sql: "INSERT INTO bronze.sales.refunds SELECT 1 FROM read_csv('/etc/passwd')", code: 'INVALID_INPUT', message: /read_csv/ },
      { name: 'SELECT refused', sql: 'SELECT * FROM bronze.sales.orders', code: 'INVALID_INPUT', message: /allowed statements/ },
      { name: 'DuckDB syntax error', sql: 'INSERT INTO bronze.sales.refunds SELECT 1 +', code: 'INVALID_INPUT', message: /not a valid SELECT/ },
      { name: 'CTAS reading the table it creates', sql: 'CREATE TABLE silver.sales.x AS SELECT * FROM silver.sales.x', code: 'TABLE_NOT_FOUND', message: /silver\.sales\.x/ },
    ];
    it.each(cases)('$name', async ({ sql, code, message, column }) => {
      const wh = await fresh();
      const before = await versions(wh);
      const err = await codeOf(executeSql(ctx(wh), sql));
      expect(err.code).toBe(code);
      expect(err.message).toMatch(message);
      if (column) expect(err.details.column).toBe(column);
      expect(await versions(wh)).toEqual(before);
      expect(await rows(wh, 'bronze.sales.refunds', 'id::INT AS id')).toEqual([{ id: 2 }]);
    });
  });

  describe('cancellation', () => {
    it('an already aborted signal changes nothing', async () => {
      const wh = await fresh();
      const ac = new AbortController();
      ac.abort();
      expect((await codeOf(executeSql(ctx(wh, { signal: ac.signal }), 'DELETE FROM bronze.sales.orders'))).code).toBe('CANCELLED');
      expect((await wh.snapshot('bronze.sales.orders')).version).toBe(0);
    });

    const steps = [0.1, 0.2, 0.4, 0.5];
    it.each(steps)('aborting at progress %s (before the commit) throws CANCELLED and keeps the version', async (at) => {
      const wh = await fresh();
      const ac = new AbortController();
      const seen: number[] = [];
      const c = ctx(wh, {
        signal: ac.signal,
        onProgress: (f) => {
          seen.push(f);
          if (f === at) ac.abort();
        },
      });
      const err = await codeOf(executeSql(c, 'INSERT INTO bronze.sales.orders SELECT * FROM bronze.sales.orders'));
      expect(err.code).toBe('CANCELLED');
      expect(seen).toContain(at);
      expect(seen).not.toContain(1);
      expect(await versions(wh)).toEqual({ 'bronze.sales.orders': 0, 'bronze.sales.refunds': 0 });
    });

    it('reports progress up to the commit when not aborted', async () => {
      const wh = await fresh();
      const seen: [number, string][] = [];
      await executeSql(ctx(wh, { onProgress: (f, m) => seen.push([f, m]) }), 'DELETE FROM bronze.sales.orders WHERE id = 1');
      expect(seen.map((s) => s[0])).toEqual([0.1, 0.2, 0.4, 0.5, 1]);
      expect(seen[4][1]).toMatch(/committed version 1 of bronze\.sales\.orders/);
    });
  });

  describe('UPDATE', () => {
    it('updates the matching rows through an alias and records lineage', async () => {
      const wh = await fresh();
      await executeSql(ctx(wh), CTAS_SILVER);
      const r = await executeSql(ctx(wh), "UPDATE silver.sales.orders AS o SET o.amount = o.amount * 2 WHERE o.region = 'eu' OR o.id IN (SELECT id FROM bronze.sales.refunds)");
      expect(r).toMatchObject({ statement: 'UPDATE', target: 'silver.sales.orders', sources: ['bronze.sales.refunds'], version: 1, metrics: { numUpdatedRows: 2 } });
      expect(await rows(wh, 'silver.sales.orders', 'id::INT AS id, amount::VARCHAR AS amount')).toEqual([
        { id: 1, amount: '21.00' },
        { id: 2, amount: '6.00' },
        { id: 4, amount: '7.25' },
      ]);
      expect(commitInfo(wh, 'silver.sales.orders', 1)).toMatchObject({
        userName: 'ana',
        lineage: { statement: 'UPDATE', sources: ['bronze.sales.refunds'], target: 'silver.sales.orders' },
      });
    });

    it('a failing UPDATE leaves the table alone', async () => {
      const wh = await fresh();
      const err = await codeOf(executeSql(ctx(wh), 'UPDATE bronze.sales.orders SET nope = 1'));
      expect(['INVALID_INPUT', 'SCHEMA_MISMATCH']).toContain(err.code);
      expect(err.message).toMatch(/nope/);
      expect((await wh.snapshot('bronze.sales.orders')).version).toBe(0);
    });
  });

  describe('MERGE and the bronze → silver → gold chain', () => {
    it('CTAS silver from bronze, MERGE upsert into silver, CTAS gold aggregate', async () => {
      const wh = await fresh();
      await executeSql(ctx(wh), CTAS_SILVER);
      // A new bronze batch: id 2 corrected, id 5 new, id 4 cancelled.
      await executeSql(ctx(wh), "INSERT INTO bronze.sales.orders VALUES (2, 'us', '4.00', 'fix'), (5, 'eu', '2', 'new'), (4, 'apac', '0', 'cancel')");
      const m = await executeSql(
        ctx(wh),
        `MERGE INTO silver.sales.orders AS t
         USING (SELECT id, region, CAST(amount AS DECIMAL(10,2)) AS amount FROM bronze.sales.orders WHERE note IN ('fix', 'new', 'cancel')) AS s
         ON t.id = s.id
         WHEN MATCHED AND s.amount = 0 THEN DELETE
         WHEN MATCHED THEN UPDATE SET amount = s.amount
         WHEN NOT MATCHED THEN INSERT *`,
      );
      expect(m).toMatchObject({
        statement: 'MERGE',
        target: 'silver.sales.orders',
        sources: ['bronze.sales.orders'],
        version: 1,
        metrics: { numTargetRowsUpdated: 1, numTargetRowsDeleted: 1, numTargetRowsInserted: 1 },
      });
      expect(await rows(wh, 'silver.sales.orders', 'id::INT AS id, region, amount::VARCHAR AS amount')).toEqual([
        { id: 1, region: 'eu', amount: '10.50' },
        { id: 2, region: 'us', amount: '4.00' },
        { id: 5, region: 'eu', amount: '2.00' },
      ]);
      expect(commitInfo(wh, 'silver.sales.orders', 1)).toMatchObject({
        lineage: { statement: 'MERGE', sources: ['bronze.sales.orders'], target: 'silver.sales.orders', sourceVersions: { 'bronze.sales.orders': 1 } },
      });
      const g = await executeSql(ctx(wh), 'CREATE TABLE gold.sales.revenue AS SELECT region, sum(amount) AS revenue, count(*) AS orders FROM silver.sales.orders GROUP BY region');
      expect(g.sources).toEqual(['silver.sales.orders']);
      expect(await rows(wh, 'gold.sales.revenue', 'region, revenue::VARCHAR AS revenue, orders::INT AS orders')).toEqual([
        { region: 'eu', revenue: '12.50', orders: 2 },
        { region: 'us', revenue: '4.00', orders: 1 },
      ]);
    });

    it('MERGE from a table by name, with flat names and full-name qualifiers', async () => {
      const wh = await fresh();
      await executeSql(ctx(wh), 'CREATE TABLE silver.sales.refunds AS SELECT id, 0 AS n FROM bronze.sales.refunds WHERE false');
      const sql = `MERGE INTO silver_sales_refunds USING bronze.sales.refunds ON silver_sales_refunds.id = bronze.sales.refunds.id
                   WHEN MATCHED THEN UPDATE SET n = silver_sales_refunds.n + 1
                   WHEN NOT MATCHED THEN INSERT (id, n) VALUES (refunds.id, 1)`;
      await executeSql(ctx(wh), sql);
      await executeSql(ctx(wh), sql);
      expect(await rows(wh, 'silver.sales.refunds', 'id::INT AS id, n::INT AS n')).toEqual([{ id: 2, n: 2 }]);
    });

    it('a failing MERGE leaves every table alone', async () => {
      const wh = await fresh();
      const before = await versions(wh);
      const err = await codeOf(
        executeSql(ctx(wh), 'MERGE INTO bronze.sales.orders t USING bronze.sales.refunds s ON t.id = s.nope WHEN MATCHED THEN DELETE'),
      );
      expect(err.message).toMatch(/nope/);
      expect(await versions(wh)).toEqual(before);
    });
  });
});
