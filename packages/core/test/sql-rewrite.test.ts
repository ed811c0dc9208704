import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLakehouseError } from '../src/errors.js';
import {
  classifyStatement,
  originalOffset,
  readViewSql,
  rewriteTableRefs,
  splitStatements,
  type ReadPoint,
  type StatementClass,
} from '../src/sql/rewrite.js';

const TABLES = ['silver.sales.orders', 'gold.sales.daily_revenue', 'bronze.shop.order_items', 'silver.crm.customers'];
const latest: ReadPoint = { kind: 'latest' };
const v = (version: number): ReadPoint => ({ kind: 'version', version });
const ts = (timestamp: string): ReadPoint => ({ kind: 'timestamp', timestamp });

interface Case {
  name: string;
  sql: string;
  /** Expected rewritten SQL (defaults to the input). */
  out?: string;
  reads: [string, ReadPoint][];
  pinned?: Record<string, number>;
}

const cases: Case[] = [
  { name: 'three-part name', sql: 'SELECT count(*) FROM silver.sales.orders', reads: [['silver.sales.orders', latest]] },
  { name: 'flat name of a known table', sql: 'SELECT * FROM silver_sales_orders LIMIT 5', reads: [['silver.sales.orders', latest]] },
  { name: 'unknown flat name is not a table', sql: 'SELECT * FROM silver_sales_nope', reads: [] },
  {
    name: 'unknown three-part name with a layer is still a reference (the view layer reports it missing)',
    sql: 'SELECT * FROM gold.x.y',
    reads: [['gold.x.y', latest]],
  },
  { name: 'three-part name without a layer is not a table', sql: 'SELECT * FROM main.sales.orders', reads: [] },
  { name: 'case-insensitive bare parts', sql: 'select * from Silver.Sales.ORDERS', reads: [['silver.sales.orders', latest]] },
  { name: 'quoted parts', sql: 'SELECT * FROM "silver"."sales"."orders"', reads: [['silver.sales.orders', latest]] },
  { name: 'quoted parts are case-sensitive', sql: 'SELECT * FROM "Silver"."sales"."orders"', reads: [] },
  { name: 'one quoted identifier with dots is not a table', sql: 'SELECT 1 AS "silver.sales.orders"', reads: [] },
  { name: 'quoted flat name outside FROM and JOIN is not a reference (a column)', sql: 'SELECT 1 AS x, "silver_sales_orders" FROM t', reads: [] },
  { name: 'quoted flat name after FROM', sql: 'SELECT * FROM "silver_sales_orders" LIMIT 5', reads: [['silver.sales.orders', latest]] },
  {
    name: 'quoted flat name after JOIN',
    sql: 'SELECT * FROM t JOIN "silver_crm_customers" c ON c.id = t.id',
    reads: [['silver.crm.customers', latest]],
  },
  { name: 'quoted flat name is case-sensitive', sql: 'SELECT * FROM "Silver_Sales_Orders"', reads: [] },
  {
    name: 'VERSION AS OF on a quoted flat name keeps it as a quoted alias',
    sql: 'SELECT "silver_sales_orders".amount FROM "silver_sales_orders" VERSION AS OF 2',
    out: 'SELECT "silver_sales_orders".amount FROM "silver"."sales"."orders@v2" AS "silver_sales_orders"',
    reads: [['silver.sales.orders', v(2)]],
  },
  { name: 'string literal', sql: "SELECT 'silver.sales.orders VERSION AS OF 3' AS s", reads: [] },
  { name: 'string with doubled quote', sql: "SELECT 'it''s silver.sales.orders' FROM silver_crm_customers", reads: [['silver.crm.customers', latest]] },
  { name: 'E-string with backslash escape', sql: "SELECT E'\\' silver.sales.orders' AS s", reads: [] },
  { name: 'dollar-quoted string', sql: 'SELECT $$ silver.sales.orders $$, $t$ gold_sales_daily_revenue $t$', reads: [] },
  { name: 'line comment', sql: '-- FROM silver.sales.orders VERSION AS OF 1\nSELECT 1', reads: [] },
  { name: 'block comment, nested', sql: 'SELECT /* a /* silver.sales.orders */ silver_sales_orders */ 1', reads: [] },
  { name: 'qualified column is not a read', sql: 'SELECT silver.sales.orders.amount, x.silver_sales_orders FROM t', reads: [] },
  { name: 'alias after AS is not a read', sql: 'SELECT o.amount AS silver_sales_orders FROM t o', reads: [] },
  { name: 'function call named like a table is not a read', sql: 'SELECT silver_sales_orders(1)', reads: [] },
  {
    name: 'VERSION AS OF on a three-part name',
    sql: 'SELECT * FROM silver.sales.orders VERSION AS OF 12 WHERE amount > 1',
    out: 'SELECT * FROM "silver"."sales"."orders@v12" AS "orders" WHERE amount > 1',
    reads: [['silver.sales.orders', v(12)]],
  },
  {
    name: 'VERSION AS OF on a flat name keeps the flat name as alias',
    sql: 'SELECT silver_sales_orders.amount FROM silver_sales_orders version as of 0',
    out: 'SELECT silver_sales_orders.amount FROM "silver"."sales"."orders@v0" AS silver_sales_orders',
    reads: [['silver.sales.orders', v(0)]],
  },
  {
    name: 'explicit alias is kept',
    sql: 'SELECT o.id FROM silver.sales.orders VERSION AS OF 3 AS o JOIN silver.sales.orders n ON o.id = n.id',
    out: 'SELECT o.id FROM "silver"."sales"."orders@v3" AS o JOIN silver.sales.orders n ON o.id = n.id',
    reads: [
      ['silver.sales.orders', v(3)],
      ['silver.sales.orders', latest],
    ],
  },
  {
    name: 'alias without AS',
    sql: 'SELECT o.id FROM silver.sales.orders FOR VERSION AS OF 3 o',
    out: 'SELECT o.id FROM "silver"."sales"."orders@v3" o',
    reads: [['silver.sales.orders', v(3)]],
  },
  {
    name: 'TIMESTAMP AS OF a string',
    sql: "SELECT * FROM gold.sales.daily_revenue TIMESTAMP AS OF '2024-05-01 10:00:00'",
    out: 'SELECT * FROM "gold"."sales"."daily_revenue@t2024-05-01 10:00:00" AS "daily_revenue"',
    reads: [['gold.sales.daily_revenue', ts('2024-05-01 10:00:00')]],
  },
  {
    name: 'TIMESTAMP AS OF TIMESTAMP literal and SYSTEM_TIME',
    sql: "SELECT * FROM silver_sales_orders FOR SYSTEM_TIME AS OF TIMESTAMP '2024-05-01T00:00:00Z' t",
    out: 'SELECT * FROM "silver"."sales"."orders@t2024-05-01T00:00:00Z" t',
    reads: [['silver.sales.orders', ts('2024-05-01T00:00:00Z')]],
  },
  {
    name: 'same table at two versions, repeated reads listed once',
    sql: 'SELECT * FROM silver.sales.orders VERSION AS OF 1 EXCEPT SELECT * FROM silver.sales.orders VERSION AS OF 2 UNION SELECT * FROM silver.sales.orders VERSION AS OF 1',
    out: 'SELECT * FROM "silver"."sales"."orders@v1" AS "orders" EXCEPT SELECT * FROM "silver"."sales"."orders@v2" AS "orders" UNION SELECT * FROM "silver"."sales"."orders@v1" AS "orders"',
    reads: [
      ['silver.sales.orders', v(1)],
      ['silver.sales.orders', v(2)],
    ],
  },
  {
    name: 'subquery and parenthesis right after the reference',
    sql: 'SELECT * FROM (SELECT * FROM silver.sales.orders VERSION AS OF 4)',
    out: 'SELECT * FROM (SELECT * FROM "silver"."sales"."orders@v4" AS "orders")',
    reads: [['silver.sales.orders', v(4)]],
  },
  {
    name: 'pinned versions rewrite unversioned references, explicit versions win',
    sql: 'SELECT * FROM silver.sales.orders o JOIN silver_crm_customers ON 1=1 JOIN gold.sales.daily_revenue VERSION AS OF 7 d ON true JOIN bronze.shop.order_items i ON true',
    pinned: { 'silver.sales.orders': 5, 'silver.crm.customers': 2, 'gold.sales.daily_revenue': 9 },
    out: 'SELECT * FROM "silver"."sales"."orders@v5" o JOIN "silver"."crm"."customers@v2" AS silver_crm_customers ON 1=1 JOIN "gold"."sales"."daily_revenue@v7" d ON true JOIN bronze.shop.order_items i ON true',
    reads: [
      ['silver.sales.orders', v(5)],
      ['silver.crm.customers', v(2)],
      ['gold.sales.daily_revenue', v(7)],
      ['bronze.shop.order_items', latest],
    ],
  },
  {
    name: 'multi-line statement keeps its lines',
    sql: 'SELECT *\nFROM silver.sales.orders\n  VERSION AS OF 2\nWHERE x',
    out: 'SELECT *\nFROM "silver"."sales"."orders@v2" AS "orders"\nWHERE x',
    reads: [['silver.sales.orders', v(2)]],
  },
  { name: 'unterminated string does not throw', sql: "SELECT * FROM silver.sales.orders WHERE a = 'open", reads: [['silver.sales.orders', latest]] },
];

describe('rewriteTableRefs', () => {
  it.each(cases)('$name', ({ sql, out, reads, pinned }) => {
    const r = rewriteTableRefs(sql, { tables: TABLES, pinned });
    expect(r.sql).toBe(out ?? sql);
    expect(r.reads.map((x) => [x.table, x.at])).toEqual(reads);
    for (const x of r.reads) expect(x.view).toBe(readViewSql(x.table, x.at));
  });

  it.each([
    ['SELECT * FROM silver.sales.orders VERSION AS OF -1', /non-negative integer/],
    ['SELECT * FROM silver.sales.orders VERSION AS OF 1.5', /non-negative integer/],
    ['SELECT * FROM silver.sales.orders VERSION AS OF', /got nothing/],
    ['SELECT * FROM silver.sales.orders TIMESTAMP AS OF now()', /timestamp string/],
    ["SELECT * FROM silver_sales_orders TIMESTAMP AS OF ''", /timestamp string/],
  ])('refuses %s', (sql, message) => {
    let err: unknown;
    try {
      rewriteTableRefs(sql, { tables: TABLES });
    } catch (e) {
      err = e;
    }
    expect(isLakehouseError(err, 'INVALID_INPUT')).toBe(true);
    expect((err as Error).message).toMatch(message);
  });

  it.each([
    ['SELECT * FROM silver.sales.orders', [false]],
    ['SELECT * FROM silver_sales_orders', [true]],
    ['SELECT * FROM "silver_sales_orders"', [true]],
    ['SELECT * FROM silver.sales.orders a JOIN silver_sales_orders b USING (order_id)', [true]],
    ['SELECT * FROM silver_sales_orders VERSION AS OF 2', [false]],
    ['SELECT * FROM silver_sales_orders VERSION AS OF 2 a, silver.sales.orders b', [false, false]],
    ['SELECT * FROM silver_sales_orders', [false], { 'silver.sales.orders': 3 }],
  ] as const)('flags reads by flat name at the latest version: %s', (sql, flat, pinned?: Record<string, number>) => {
    expect(rewriteTableRefs(sql, { tables: TABLES, pinned }).reads.map((r) => r.flat)).toEqual(flat);
  });

  it('maps offsets of the rewritten SQL back to the input', () => {
    const sql = 'SELECT * FROM silver.sales.orders VERSION AS OF 12 WHERE amont > 1';
    const r = rewriteTableRefs(sql, { tables: TABLES });
    const bad = r.sql.indexOf('amont');
    expect(originalOffset(r.edits, bad)).toBe(sql.indexOf('amont'));
    expect(originalOffset(r.edits, r.sql.indexOf('"silver"') + 3)).toBe(sql.indexOf('silver.sales'));
    expect(originalOffset(r.edits, 2)).toBe(2);
    expect(originalOffset([], 40)).toBe(40);
  });
});

describe('rewritten SQL runs in DuckDB', () => {
  let conn: DuckDBConnection;
  beforeAll(async () => {
    conn = await (await DuckDBInstance.create(':memory:')).connect();
    await conn.run(`ATTACH ':memory:' AS silver`);
    await conn.run('CREATE SCHEMA silver.sales');
    await conn.run(`CREATE VIEW silver.sales.orders AS SELECT 3 AS id, 30 AS amount`);
    await conn.run(`CREATE VIEW silver.sales."orders@v1" AS SELECT 1 AS id, 10 AS amount`);
    await conn.run(`CREATE VIEW main.silver_sales_orders AS SELECT * FROM silver.sales.orders`);
  });
  afterAll(() => conn?.closeSync());

  it.each([
    ['SELECT orders.amount FROM silver.sales.orders VERSION AS OF 1', 10],
    ['SELECT silver_sales_orders.amount FROM silver_sales_orders VERSION AS OF 1', 10],
    ['SELECT o.amount FROM silver.sales.orders VERSION AS OF 1 o', 10],
    ['SELECT sum(amount) FROM silver_sales_orders', 30],
  ])('%s', async (sql, expected) => {
    const r = await conn.runAndReadAll(rewriteTableRefs(sql, { tables: TABLES }).sql);
    expect(Number(r.getRows()[0][0])).toBe(expected);
  });
});

describe('splitStatements', () => {
  it.each([
    ['SELECT 1', ['SELECT 1']],
    ['SELECT 1; SELECT 2;', ['SELECT 1', 'SELECT 2']],
    ["SELECT ';'; SELECT \"a;b\" FROM t -- ;\n", ["SELECT ';'", 'SELECT "a;b" FROM t -- ;']],
    ['  ;; /* only a comment */ ;\n', []],
    ['SELECT 1 /* ; */ ;\n  SELECT 2', ['SELECT 1 /* ; */', 'SELECT 2']],
  ])('%j', (sql, expected) => {
    const parts = splitStatements(sql);
    expect(parts.map((p) => p.sql)).toEqual(expected);
    for (const p of parts) expect(sql.slice(p.from, p.to)).toBe(p.sql);
  });
});

describe('classifyStatement', () => {
  const q: StatementClass = { kind: 'query' };
  const w = (operation: string, target: string): StatementClass => ({ kind: 'write', operation, target }) as StatementClass;
  it.each<[string, StatementClass]>([
    ['SELECT * FROM silver.sales.orders', q],
    ['  -- note\n  select 1', q],
    ['DESCRIBE silver.sales.orders', q],
    ['INSERT INTO silver.sales.orders SELECT * FROM bronze.shop.order_items', w('INSERT', 'silver.sales.orders')],
    ['insert into silver_sales_orders values (1)', w('INSERT', 'silver.sales.orders')],
    ['INSERT INTO "silver_sales_orders" VALUES (1)', w('INSERT', 'silver.sales.orders')],
    ['DELETE FROM "silver_sales_orders" WHERE id = 1', w('DELETE', 'silver.sales.orders')],
    ['UPDATE "silver_sales_orders" SET amount = 0', w('UPDATE', 'silver.sales.orders')],
    ['INSERT INTO "Silver_Sales_Orders" VALUES (1)', q],
    ['INSERT OVERWRITE TABLE gold.sales.daily_revenue SELECT 1', w('INSERT_OVERWRITE', 'gold.sales.daily_revenue')],
    ['INSERT OVERWRITE gold_sales_daily_revenue SELECT 1', w('INSERT_OVERWRITE', 'gold.sales.daily_revenue')],
    ['INSERT INTO scratch VALUES (1)', q],
    ['MERGE INTO silver.sales.orders t USING x s ON t.id = s.id WHEN MATCHED THEN DELETE', w('MERGE', 'silver.sales.orders')],
    ['DELETE FROM silver.sales.orders WHERE id = 1', w('DELETE', 'silver.sales.orders')],
    ['UPDATE silver.sales.orders SET amount = 0', w('UPDATE', 'silver.sales.orders')],
    ['CREATE TABLE gold.sales.top AS SELECT 1', w('CREATE_TABLE_AS_SELECT', 'gold.sales.top')],
    ['CREATE OR REPLACE TABLE IF NOT EXISTS gold_sales_new AS SELECT 1', w('CREATE_TABLE_AS_SELECT', 'gold_sales_new')],
    ['CREATE TEMP TABLE t AS SELECT 1', q],
    ['CREATE TABLE t AS SELECT 1', q],
    ['CREATE VIEW v AS SELECT * FROM silver.sales.orders', q],
    ['WITH x AS (SELECT * FROM silver.sales.orders) INSERT INTO gold.sales.daily_revenue SELECT * FROM x', w('INSERT', 'gold.sales.daily_revenue')],
    ['WITH x AS (DELETE FROM silver.sales.orders) SELECT 1', q],
    ["SELECT 'DELETE FROM silver.sales.orders'", q],
  ])('%s', (sql, expected) => {
    expect(classifyStatement(sql, TABLES)).toEqual(expected);
  });
});
