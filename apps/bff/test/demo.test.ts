import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock, createTable, isLakehouseError, padVersion, readHistory, type Action, type CommitInfoAction } from '@lakehouse/core';
import { DuckDbEngine, tableQuerySql } from '@lakehouse/core/node';
import { DEMO_PROPERTY, DEMO_TABLES, ensureDemoWarehouse, tableDir } from '../src/demo/demo.js';
import { Warehouse } from '../src/warehouse/warehouse.js';

// Two builds of the demo at a small scale (one with a single worker, so that determinism does not depend on the
// scheduling), then checks of their tables, histories, planted quality problems, and of a resumed build.
const SCALE = 0.01;
const dirs: string[] = [];
let dirA: string;
let dirB: string;
let createdA: string[];
let createdB: string[];
const logA: string[] = [];
let engine: DuckDbEngine;
const clock = new ManualClock(Date.UTC(2024, 6, 1));

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'lh-demo-'));
  dirs.push(d);
  return d;
}

beforeAll(async () => {
  engine = await DuckDbEngine.create();
  dirA = tempDir();
  dirB = tempDir();
  createdA = await ensureDemoWarehouse(dirA, (l) => logA.push(l), { scale: SCALE });
  createdB = await ensureDemoWarehouse(dirB, () => undefined, { scale: SCALE, workers: 1 });
}, 300_000);
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** The actions of one commit file. */
function commitActions(dir: string, name: string, version: number): Action[] {
  const text = readFileSync(join(tableDir(dir, name), '_delta_log', `${padVersion(version)}.json`), 'utf8');
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Action);
}

/** commitInfo of every version, oldest first. */
async function history(dir: string, name: string): Promise<{ version: number; timestamp: number; commitInfo: CommitInfoAction | null }[]> {
  const wh = new Warehouse(dir, clock);
  return (await readHistory(wh.ref(name))).reverse();
}

/** The SELECT of a table's latest version in a warehouse. */
async function scanSql(dir: string, name: string): Promise<string> {
  const wh = new Warehouse(dir, clock);
  return (await tableQuerySql(await wh.snapshot(name))).sql;
}

/** The first column of the first row of a query over a table of warehouse A (the table is `t`). */
async function scalar(name: string, query: string, dir = dirA): Promise<number> {
  return engine.queryNumber(`WITH t AS (${await scanSql(dir, name)}) ${query}`);
}

/** Rows of one table in `a` missing from `b` plus rows of `b` missing from `a`, as multisets. */
async function rowDifference(a: string, b: string, name: string): Promise<number> {
  const [x, y] = [await scanSql(a, name), await scanSql(b, name)];
  return engine.queryNumber(`SELECT (SELECT count(*) FROM ((${x}) EXCEPT ALL (${y}))) + (SELECT count(*) FROM ((${y}) EXCEPT ALL (${x})))`);
}

const lineageOf = (ci: CommitInfoAction | null): Record<string, unknown> => ((ci as Record<string, unknown> | null)?.lineage ?? {}) as Record<string, unknown>;

describe('demo warehouse', () => {
  it('creates every demo table in dependency order', () => {
    expect(createdA).toEqual(DEMO_TABLES.map((t) => t.name));
    expect(createdB).toEqual(createdA);
    expect(DEMO_TABLES.map((t) => t.name)).toEqual(
      expect.arrayContaining([
        'bronze.sales.orders_raw',
        'bronze.sales.customers_raw',
        'silver.sales.orders',
        'silver.sales.customers',
        'gold.sales.daily_revenue',
        'bronze.web.events_raw',
        'silver.web.sessions',
        'gold.web.daily_active_users',
      ]),
    );
    // Sources come before the tables built from them.
    DEMO_TABLES.forEach((t, i) => t.sources.forEach((s) => expect(DEMO_TABLES.findIndex((x) => x.name === s)).toBeLessThan(i)));
    expect(logA[0]).toMatch(/^building the demo warehouse/);
  });

  it.each([
    ['bronze.sales.orders_raw', ['ingest_date'], 14],
    ['bronze.sales.customers_raw', ['ingest_date'], 2],
    ['bronze.web.events_raw', ['ingest_date'], 14],
    ['bronze.web.heartbeats_raw', ['ingest_date'], 48],
    ['silver.sales.orders', ['order_date'], 4],
    ['silver.sales.customers', [], 1],
    ['silver.web.sessions', ['session_date'], 2],
    ['gold.sales.daily_revenue', [], 2],
    ['gold.web.daily_active_users', [], 2],
  ])('%s is partitioned by %j, has %i commits, a description and the demo marker', async (name, partitions, commits) => {
    const s = await new Warehouse(dirA, clock).snapshot(name);
    expect(s.partitionColumns).toEqual(partitions);
    expect(s.version).toBe(commits - 1);
    expect(s.metadata.description).toBe(DEMO_TABLES.find((t) => t.name === name)!.description);
    expect(s.metadata.configuration[DEMO_PROPERTY]).toBe('true');
    expect(await scalar(name, 'SELECT count(*) FROM t')).toBeGreaterThan(0);
  });

  it('bronze tables carry the ingest columns, column comments, and one ingest date per commit', async () => {
    for (const name of ['bronze.sales.orders_raw', 'bronze.sales.customers_raw', 'bronze.web.events_raw']) {
      const s = await new Warehouse(dirA, clock).snapshot(name);
      const fields = s.schema.fields.map((f) => f.name);
      expect(fields).toEqual(expect.arrayContaining(['_ingested_at', '_source', '_source_file', 'ingest_date']));
      expect(s.schema.fields.find((f) => f.name === '_source_file')!.metadata.comment).toBeTruthy();
      const dates = await scalar(name, 'SELECT count(DISTINCT ingest_date) FROM t');
      expect(dates).toBe(s.version + 1);
      expect(await scalar(name, 'SELECT count(*) FROM t WHERE _ingested_at IS NULL OR _source IS NULL OR _source_file IS NULL')).toBe(0);
    }
    const orders = (await history(dirA, 'bronze.sales.orders_raw')).map((h) => h.commitInfo?.operation);
    expect(orders).toEqual(['CREATE TABLE AS SELECT', ...Array.from({ length: 13 }, () => 'WRITE')]);
    expect(await scalar('bronze.sales.orders_raw', "SELECT count(*) FROM t WHERE unit_price NOT SIMILAR TO '[0-9]+\\.[0-9]{2}'")).toBe(0);
  });

  it('silver.sales.orders was created, evolved (coupon_code), merged and deleted from', async () => {
    const h = await history(dirA, 'silver.sales.orders');
    expect(h.map((x) => x.commitInfo?.operation)).toEqual(['CREATE TABLE AS SELECT', 'WRITE', 'MERGE', 'DELETE']);
    // Schema evolution: version 1 has a metaData action whose schema adds coupon_code.
    const schemaOf = (v: number): string[] => {
      const md = commitActions(dirA, 'silver.sales.orders', v).find((a) => 'metaData' in a);
      return md && 'metaData' in md ? (JSON.parse(md.metaData.schemaString) as { fields: { name: string }[] }).fields.map((f) => f.name) : [];
    };
    expect(schemaOf(0)).not.toContain('coupon_code');
    expect(schemaOf(1)).toContain('coupon_code');
    expect(h[1].commitInfo?.operationParameters).toMatchObject({ mergeSchema: true });
    const metrics = (v: number): Record<string, string> => (h[v].commitInfo?.operationMetrics ?? {}) as Record<string, string>;
    expect(Number(metrics(2).numTargetRowsUpdated)).toBeGreaterThan(0);
    expect(Number(metrics(2).numTargetRowsInserted)).toBeGreaterThan(0);
    expect(Number(metrics(3).numDeletedRows)).toBeGreaterThan(0);
    // The merge applied the late corrections: some orders are cancelled or returned, and order ids are unique.
    expect(await scalar('silver.sales.orders', "SELECT count(*) FROM t WHERE status IN ('cancelled', 'returned')")).toBeGreaterThan(0);
    expect(await scalar('silver.sales.orders', 'SELECT count(*) - count(DISTINCT order_id) FROM t')).toBe(0);
    expect(await scalar('silver.sales.orders', "SELECT count(*) FROM t WHERE customer_id LIKE 'TEST-%'")).toBe(0);
    expect(await scalar('silver.sales.orders', 'SELECT count(coupon_code) FROM t')).toBeGreaterThan(0);
  });

  it('every silver and gold commit records lineage from its sources, at the versions of the story', async () => {
    for (const t of DEMO_TABLES.filter((x) => x.sources.length > 0)) {
      for (const { version, commitInfo } of await history(dirA, t.name)) {
        const lineage = lineageOf(commitInfo);
        expect(lineage, `${t.name} v${version}`).toMatchObject({ target: t.name });
        expect(typeof lineage.sql).toBe('string');
        const sources = lineage.sources as string[];
        if (commitInfo?.operation === 'DELETE') expect(sources).toEqual([]);
        else expect(sources, `${t.name} v${version}`).toEqual(t.sources);
        expect(Object.keys(lineage.sourceVersions as object).sort()).toEqual(sources);
      }
    }
    const orders = await history(dirA, 'silver.sales.orders');
    expect(orders.map((h) => lineageOf(h.commitInfo).statement)).toEqual(['CREATE_TABLE_AS_SELECT', 'INSERT', 'MERGE', 'DELETE']);
    expect(orders.map((h) => (lineageOf(h.commitInfo).sourceVersions as Record<string, number>)['bronze.sales.orders_raw'])).toEqual([9, 11, 13, undefined]);
    const revenue = await history(dirA, 'gold.sales.daily_revenue');
    expect(revenue.map((h) => lineageOf(h.commitInfo).statement)).toEqual(['CREATE_TABLE_AS_SELECT', 'INSERT_OVERWRITE']);
    expect(revenue.map((h) => (lineageOf(h.commitInfo).sourceVersions as Record<string, number>)['silver.sales.orders'])).toEqual([1, 3]);
  });

  it('commit times follow the story from 2024-05-01 and are the same in both builds', async () => {
    for (const t of DEMO_TABLES) {
      const [a, b] = [await history(dirA, t.name), await history(dirB, t.name)];
      expect(a.map((h) => h.timestamp)).toEqual(b.map((h) => h.timestamp));
      for (const h of a) {
        expect(h.timestamp).toBeGreaterThanOrEqual(Date.UTC(2024, 4, 1));
        expect(h.timestamp).toBeLessThan(Date.UTC(2024, 4, 15));
      }
    }
    expect((await history(dirA, 'bronze.sales.orders_raw'))[0].timestamp).toBe(Date.UTC(2024, 4, 1, 2));
  });

  it.each([
    ['malformed emails', 'silver.sales.customers', "SELECT count(*) FROM t WHERE email NOT LIKE '%_@_%._%'"],
    ['null emails', 'silver.sales.customers', 'SELECT count(*) FROM t WHERE email IS NULL'],
    ['duplicate customer ids surviving into silver', 'silver.sales.customers', 'SELECT count(*) - count(DISTINCT customer_id) FROM t'],
    ['impossible sign-up dates', 'silver.sales.customers', "SELECT count(*) FROM t WHERE signup_date > DATE '2030-01-01' OR signup_date < DATE '1950-01-01'"],
    ['null customer ids in bronze customers', 'bronze.sales.customers_raw', 'SELECT count(*) FROM t WHERE customer_id IS NULL'],
    ['duplicate order ids in bronze', 'bronze.sales.orders_raw', 'SELECT count(*) - count(DISTINCT order_id) FROM t'],
    ['exact duplicate lines in bronze', 'bronze.sales.orders_raw', 'SELECT count(*) - (SELECT count(*) FROM (SELECT DISTINCT * FROM t)) FROM t'],
    ['test orders in bronze', 'bronze.sales.orders_raw', "SELECT count(*) FROM t WHERE customer_id LIKE 'TEST-%'"],
    ['null customer ids', 'silver.sales.orders', 'SELECT count(*) FROM t WHERE customer_id IS NULL'],
    ['negative quantities', 'silver.sales.orders', 'SELECT count(*) FROM t WHERE quantity < 0'],
    ['out-of-range order dates', 'silver.sales.orders', "SELECT count(*) FROM t WHERE order_date NOT BETWEEN DATE '2024-04-01' AND DATE '2024-06-01'"],
    ['null countries', 'silver.sales.orders', 'SELECT count(*) FROM t WHERE country IS NULL'],
    ['duplicate event ids', 'bronze.web.events_raw', 'SELECT count(*) - count(DISTINCT event_id) FROM t'],
    ['crawler traffic', 'bronze.web.events_raw', "SELECT count(*) FROM t WHERE user_agent ILIKE '%bot%'"],
    ['events from the future', 'bronze.web.events_raw', 'SELECT count(*) FROM t WHERE event_ts > _ingested_at'],
    ['anonymous sessions', 'silver.web.sessions', 'SELECT count(*) FROM t WHERE user_id IS NULL'],
  ])('plants %s in %s', async (_what, name, query) => {
    expect(await scalar(name, query)).toBeGreaterThan(0);
  });

  it('has orders of unknown customers (orphans) and realistic values', async () => {
    const orders = await scanSql(dirA, 'silver.sales.orders');
    const customers = await scanSql(dirA, 'silver.sales.customers');
    expect(
      await engine.queryNumber(
        `SELECT count(*) FROM (${orders}) o WHERE o.customer_id IS NOT NULL AND o.customer_id NOT IN (SELECT customer_id FROM (${customers}) c WHERE customer_id IS NOT NULL)`,
      ),
    ).toBeGreaterThan(0);
    const [row] = await engine.queryRows(
      `SELECT any_value(typeof(unit_price)) AS price, any_value(typeof(amount)) AS amount, any_value(typeof(order_ts)) AS ts, count(DISTINCT product) AS products, count(DISTINCT country) AS countries FROM (${orders})`,
    );
    expect(row).toMatchObject({ price: 'DECIMAL(10,2)', amount: 'DECIMAL(12,2)', ts: 'TIMESTAMP' });
    expect(Number(row.products)).toBeGreaterThanOrEqual(20);
    expect(Number(row.countries)).toBeGreaterThanOrEqual(8);
    expect(await scalar('bronze.web.events_raw', "SELECT count(*) FROM t WHERE page_path LIKE '/products/%' AND user_agent LIKE 'Mozilla/5.0 (%'")).toBeGreaterThan(0);
    expect(await scalar('gold.sales.daily_revenue', 'SELECT sum(revenue_eur) > 0 FROM t')).toBe(1);
  });

  it.each(DEMO_TABLES.map((t) => [t.name]))('%s has the same rows in both builds', async (name) => {
    expect(await scalar(name, 'SELECT count(*) FROM t', dirB)).toBe(await scalar(name, 'SELECT count(*) FROM t'));
    expect(await rowDifference(dirA, dirB, name)).toBe(0);
  });

  it('a second call creates nothing and writes no commit', async () => {
    const before = await Promise.all(DEMO_TABLES.map(async (t) => (await new Warehouse(dirA, clock).snapshot(t.name)).version));
    const log: string[] = [];
    expect(await ensureDemoWarehouse(dirA, (l) => log.push(l), { scale: SCALE })).toEqual([]);
    expect(log).toEqual([]);
    const after = await Promise.all(DEMO_TABLES.map(async (t) => (await new Warehouse(dirA, clock).snapshot(t.name)).version));
    expect(after).toEqual(before);
  });

  it('completes an interrupted build where it stopped and leaves tables it did not create alone', async () => {
    const dirC = tempDir();
    cpSync(dirB, dirC, { recursive: true });
    // As if the build had stopped after the MERGE of silver.sales.orders: its DELETE, the gold refresh and the web gold are missing.
    rmSync(join(tableDir(dirC, 'silver.sales.orders'), '_delta_log', `${padVersion(3)}.json`));
    rmSync(join(tableDir(dirC, 'gold.sales.daily_revenue'), '_delta_log', `${padVersion(1)}.json`));
    rmSync(tableDir(dirC, 'gold.web.daily_active_users'), { recursive: true });
    // A table of a demo name that the demo did not create.
    const foreign = 'gold.web.daily_active_users';
    const wh = new Warehouse(dirC, clock);
    await createTable(wh.ref(foreign), {
      schema: { type: 'struct', fields: [{ name: 'x', type: 'long', nullable: true, metadata: {} }] },
      sourceSql: 'SELECT 1::BIGINT AS x',
      engine,
      clock,
    });
    const log: string[] = [];
    expect(await ensureDemoWarehouse(dirC, (l) => log.push(l), { scale: SCALE })).toEqual(['silver.sales.orders', 'gold.sales.daily_revenue']);
    expect(log[0]).toBe(`demo: not touching ${foreign} (not created by the demo, or built from a table that was not)`);
    expect(log.join('\n')).toContain('(2 of 89 commits to write)');
    expect((await new Warehouse(dirC, clock).snapshot(foreign)).version).toBe(0);
    for (const name of ['silver.sales.orders', 'gold.sales.daily_revenue']) {
      expect((await history(dirC, name)).map((h) => h.timestamp)).toEqual((await history(dirA, name)).map((h) => h.timestamp));
      expect(await rowDifference(dirA, dirC, name)).toBe(0);
    }
  });

  it.each([0, -1, Number.NaN, 1000])('refuses scale %d', async (scale) => {
    const err = await ensureDemoWarehouse(tempDir(), () => undefined, { scale }).catch((e: unknown) => e);
    expect(isLakehouseError(err, 'INVALID_INPUT')).toBe(true);
  });
});
