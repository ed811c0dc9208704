import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Snapshot, append, createTable, deleteRows, type StructType, type TableRef } from '@lakehouse/core';
import { DuckDbEngine, FsStorage } from '@lakehouse/core/node';

/** One demo table: name, how to create it, and the writes that build its history. */
interface DemoTable {
  name: string;
  description: string;
  partitionBy: string[];
  create: string;
  then?: (table: TableRef, engine: DuckDbEngine) => Promise<void>;
}

const f = (name: string, type: StructType['fields'][number]['type'], nullable = true) => ({ name, type, nullable, metadata: {} });

// Deterministic pseudo-random values from DuckDB's hash(): the same warehouse on every machine.
const ORDERS_RAW = (day: number, n: number) => `
  SELECT (${day} * 100000 + i)::BIGINT AS order_id,
         'C' || lpad(((hash(i * 7 + ${day}) % 500) + 1)::VARCHAR, 4, '0') AS customer_id,
         (['laptop','phone','tablet','monitor','keyboard','mouse','headset'])[(hash(i + ${day}) % 7 + 1)::INT] AS product,
         ((hash(i * 31 + ${day}) % 5) + 1)::INTEGER AS quantity,
         round(((hash(i * 13 + ${day}) % 90000) / 100.0 + 10), 2)::DECIMAL(10,2) AS unit_price,
         CASE WHEN hash(i * 3 + ${day}) % 50 = 0 THEN NULL ELSE (['US','DE','FR','JP','BR'])[(hash(i * 17) % 5 + 1)::INT] END AS country,
         (DATE '2024-06-01' + ${day})::DATE AS order_date,
         (TIMESTAMP '2024-06-01 00:00:00' + INTERVAL (${day}) DAY + INTERVAL (hash(i) % 86400) SECOND) AS _ingested_at,
         'demo-shop' AS _source,
         'orders_' || strftime(DATE '2024-06-01' + ${day}, '%Y%m%d') || '.csv' AS _source_file,
         (DATE '2024-06-01' + ${day})::DATE AS ingest_date
  FROM range(${n}) t(i)`;

/** The demo tables of the README's first command (small, generated locally, deterministic). */
export const DEMO_TABLES: DemoTable[] = [
  {
    name: 'bronze.sales.orders_raw',
    description: 'Raw orders as ingested from the shop exports (one ingest per day).',
    partitionBy: ['ingest_date'],
    create: ORDERS_RAW(0, 5000),
    then: async (table, engine) => {
      for (let d = 1; d < 7; d++) await append(table, engine, { sourceSql: ORDERS_RAW(d, 5000) });
    },
  },
  {
    name: 'silver.sales.orders',
    description: 'Cleaned, typed orders; one row per order.',
    partitionBy: ['order_date'],
    create: `SELECT order_id, customer_id, product, quantity, unit_price, quantity * unit_price AS amount, country, order_date FROM (${ORDERS_RAW(0, 5000)})`,
    then: async (table, engine) => {
      for (let d = 1; d < 7; d++) {
        await append(table, engine, {
          sourceSql: `SELECT order_id, customer_id, product, quantity, unit_price, quantity * unit_price AS amount, country, order_date FROM (${ORDERS_RAW(d, 5000)})`,
        });
      }
      await deleteRows(table, engine, { predicate: 'quantity = 5 AND product = \'mouse\'' });
    },
  },
  {
    name: 'gold.sales.daily_revenue',
    description: 'Revenue per day and country.',
    partitionBy: [],
    create: `SELECT order_date, country, count(*)::BIGINT AS orders, sum(quantity * unit_price)::DECIMAL(18,2) AS revenue
             FROM (${Array.from({ length: 7 }, (_, d) => ORDERS_RAW(d, 5000)).join(' UNION ALL ')}) GROUP BY ALL`,
  },
];

/** Folder of a `layer.domain.table` name under the warehouse. */
export function tableDir(warehouse: string, name: string): string {
  return join(warehouse, ...name.split('.'));
}

/** Creates the demo tables that do not exist yet; returns the names it created. */
export async function ensureDemoWarehouse(warehouse: string, log: (line: string) => void): Promise<string[]> {
  const created: string[] = [];
  let engine: DuckDbEngine | null = null;
  for (const t of DEMO_TABLES) {
    const dir = tableDir(warehouse, t.name);
    if (existsSync(join(dir, '_delta_log'))) continue;
    engine ??= await DuckDbEngine.create();
    log(`creating ${t.name} ...`);
    const table: TableRef = { storage: new FsStorage(dir), tableKey: '' };
    const cols = await engine.describe(t.create);
    const { deltaTypeFromDuckDb } = await import('@lakehouse/core');
    const schema: StructType = { type: 'struct', fields: cols.map((c) => f(c.name, deltaTypeFromDuckDb(c.engineType, c.name))) };
    await createTable(table, { schema, partitionColumns: t.partitionBy, description: t.description, name: t.name, engine, sourceSql: t.create });
    await t.then?.(table, engine);
    await Snapshot.load(table);
    created.push(t.name);
  }
  return created;
}
