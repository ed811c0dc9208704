import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import {
  LakehouseError,
  ManualClock,
  append,
  createTable,
  deltaTypeFromDuckDb,
  type StructField,
  type StructType,
} from '@lakehouse/core';
import { DuckDbEngine } from '@lakehouse/core/node';
import { executeSql } from '../sql/execute.js';
import { registerViews } from '../sql/views.js';
import { Warehouse } from '../warehouse/warehouse.js';
import {
  BASE_MS,
  CORRECTIONS_FROM_DAY,
  COUPON_FROM_DAY,
  CUSTOMER_BATCHES,
  DAYS,
  HEARTBEAT_BATCHES,
  INGEST_HOURS,
  batchDate,
  customersRawSql,
  demoSizes,
  eurRatesValues,
  eventsRawSql,
  heartbeatBatchTime,
  heartbeatsRawSql,
  ordersRawSql,
  type DemoSizes,
} from './data.js';

/** One table of the demo warehouse: what it holds, how it is partitioned and which demo tables it is built from. */
export interface DemoTable {
  name: string;
  description: string;
  partitionBy: string[];
  /** Demo tables read to build it (empty for bronze). */
  sources: string[];
}

/** The demo tables in dependency order (sources before the tables built from them). */
export const DEMO_TABLES: readonly DemoTable[] = [
  {
    name: 'bronze.sales.customers_raw',
    description: 'Customers as exported by the CRM: a full export, then a week of changes. Raw text, not deduplicated.',
    partitionBy: ['ingest_date'],
    sources: [],
  },
  {
    name: 'bronze.sales.orders_raw',
    description: "Orders from the web shop's daily CSV export, one ingest per day, as received (text timestamps and prices, re-sent lines, late corrections).",
    partitionBy: ['ingest_date'],
    sources: [],
  },
  {
    name: 'bronze.web.events_raw',
    description: 'Clickstream events from the web tracker, one batch per day, as received (duplicates from retries, crawlers included).',
    partitionBy: ['ingest_date'],
    sources: [],
  },
  {
    name: 'bronze.web.heartbeats_raw',
    description: "Heartbeats of the shop's servers, streamed in hourly micro-batches: one small file per commit (a table that needs OPTIMIZE).",
    partitionBy: ['ingest_date'],
    sources: [],
  },
  {
    name: 'silver.sales.customers',
    description: 'Customers cleaned and typed: trimmed lower-case emails, upper-case countries, typed sign-up dates; latest record per customer and email.',
    partitionBy: [],
    sources: ['bronze.sales.customers_raw'],
  },
  {
    name: 'silver.sales.orders',
    description: 'One row per order: typed timestamps and decimal prices, deduplicated on order_id, late corrections merged, test orders removed.',
    partitionBy: ['order_date'],
    sources: ['bronze.sales.orders_raw'],
  },
  {
    name: 'silver.web.sessions',
    description: 'One row per web session (crawlers and duplicate events removed): start, end, duration, landing and exit pages, device, conversion.',
    partitionBy: ['session_date'],
    sources: ['bronze.web.events_raw'],
  },
  {
    name: 'gold.sales.daily_revenue',
    description: 'Revenue in EUR per order date and country (cancelled and returned orders excluded), refreshed after each silver load.',
    partitionBy: [],
    sources: ['silver.sales.orders'],
  },
  {
    name: 'gold.web.daily_active_users',
    description: 'Daily active users, visitors, sessions and conversion rate of the web shop.',
    partitionBy: [],
    sources: ['silver.web.sessions'],
  },
];

/** Options of a demo build. */
export interface DemoOptions {
  /** Row-count multiplier: 1 (default) gives about one million orders; tests use small values such as 0.01. */
  scale?: number;
  /** Steps run at the same time (default: 2, or 1 on a single-core machine; invalid values mean 1). */
  workers?: number;
}

/** Table property marking the tables the demo built (only those are completed after an interrupted build). */
export const DEMO_PROPERTY = 'lakehouse.demo';

/** Properties of every demo table: the marker, and in-commit timestamps so that history shows the story's dates. */
const PROPERTIES: Record<string, string> = { [DEMO_PROPERTY]: 'true', 'delta.enableInCommitTimestamps': 'true' };
const TBLPROPERTIES = `TBLPROPERTIES (${Object.entries(PROPERTIES)
  .map(([k, v]) => `'${k}' = '${v}'`)
  .join(', ')})`;
/** The user recorded in the commits of the SQL steps. */
const ENGINEER = 'analytics-engineer';

/** Column comments of the bronze tables. */
const COLUMN_COMMENTS: Record<string, Record<string, string>> = {
  'bronze.sales.orders_raw': {
    order_id: 'Order number of the shop (re-sent lines and late corrections repeat it)',
    order_ts: 'When the order was placed, as text YYYY-MM-DD HH:MM:SS (UTC)',
    customer_id: 'CRM customer id; TEST- ids are test orders',
    unit_price: 'Price per unit after discount, as text, in the order currency',
    currency: 'ISO 4217 currency of the prices',
    country: 'ISO 3166 shipping country as typed by the shop',
    status: 'Order status at export time',
    updated_at: 'Last change of the order, as ISO-8601 text',
    _ingested_at: 'When the lakehouse ingested the file',
    _source: 'System the file came from',
    _source_file: 'Name of the ingested file',
    ingest_date: 'Day of ingestion (partition)',
  },
  'bronze.sales.customers_raw': {
    customer_id: 'CRM customer id',
    email: 'Email as entered by the customer (not validated)',
    signup_date: 'Sign-up date as text YYYY-MM-DD',
    segment: 'consumer, business or vip',
    _ingested_at: 'When the lakehouse ingested the file',
    _source: 'System the file came from',
    _source_file: 'Name of the ingested file',
    ingest_date: 'Day of ingestion (partition)',
  },
  'bronze.web.events_raw': {
    event_id: 'Tracker event id (retries repeat it)',
    event_ts: 'Event time from the device clock (UTC)',
    session_id: 'Tracker session id',
    user_id: 'CRM customer id of a signed-in visitor, null when anonymous',
    anonymous_id: 'Cookie id of the browser',
    page_path: 'Path and query of the page',
    user_agent: 'Browser user agent',
    _ingested_at: 'When the lakehouse ingested the batch',
    _source: 'System the batch came from',
    _source_file: 'Name of the ingested file',
    ingest_date: 'Day of ingestion (partition)',
  },
  'bronze.web.heartbeats_raw': {
    ping_id: 'Heartbeat id',
    ping_ts: 'When the host answered the ping (UTC)',
    host: 'Server that answered',
    latency_ms: 'Answer time in milliseconds',
    status_code: 'HTTP status of the health endpoint',
    _ingested_at: 'When the lakehouse ingested the micro-batch',
    _source: 'System the batch came from',
    _source_file: 'Name of the ingested file',
    ingest_date: 'Day of ingestion (partition)',
  },
};

/** Folder of a `layer.domain.table` name under the warehouse. */
export function tableDir(warehouse: string, name: string): string {
  return join(warehouse, ...name.split('.'));
}

/** What a step runs with: a warehouse and clock of its own set to the step's story time, and the worker's DuckDB. */
interface StepContext {
  warehouse: Warehouse;
  clock: ManualClock;
  sizes: DemoSizes;
  /** A DuckDB engine on the worker's own connection (for generated bronze rows). */
  engine: () => Promise<DuckDbEngine>;
  /** Called once the step has fixed the versions of the tables it reads (later writes to them may then start). */
  sourcesPinned: () => void;
}

/** One commit of the demo's story: the table, the version it produces, when it happens, and how. */
interface Step {
  table: string;
  version: number;
  /** Demo tables the step reads. */
  reads: string[];
  /** Story time of the commit (epoch ms). */
  at: number;
  what: string;
  /** Runs the step and returns the committed version. */
  run: (ctx: StepContext) => Promise<number>;
}

const at = (day: number, hour: number): number => BASE_MS + day * 86_400_000 + Math.round(hour * 3_600_000);
const dateLit = (d: number): string => `DATE '${batchDate(d)}'`;
const info = (name: string): DemoTable => DEMO_TABLES.find((t) => t.name === name)!;
const quoteSql = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/** A bronze batch: the first creates the table (schema from the generated rows, with column comments), later ones append. */
function bronzeStep(table: string, version: number, day: number, hour: number, source: string, rowsSql: (d: number, s: DemoSizes) => string, mergeSchema = false): Step {
  return {
    table,
    version,
    reads: [],
    at: at(day, hour),
    what: `ingest batch of ${batchDate(day)}`,
    run: async (ctx) => {
      const engine = await ctx.engine();
      const ref = ctx.warehouse.ref(table);
      const sourceSql = rowsSql(day, ctx.sizes);
      if (version === 0) {
        const comments = COLUMN_COMMENTS[table] ?? {};
        const cols = await engine.describe(sourceSql);
        const fields: StructField[] = cols.map((c) => ({
          name: c.name,
          type: deltaTypeFromDuckDb(c.engineType, c.name),
          nullable: true,
          metadata: comments[c.name] ? { comment: comments[c.name] } : {},
        }));
        const schema: StructType = { type: 'struct', fields };
        const m = await createTable(ref, {
          schema,
          partitionColumns: info(table).partitionBy,
          properties: PROPERTIES,
          description: info(table).description,
          name: table,
          sourceSql,
          engine,
          clock: ctx.clock,
          userName: source,
        });
        return m.version;
      }
      const m = await append(ref, engine, { sourceSql, mergeSchema, clock: ctx.clock, userName: source });
      return m.version;
    },
  };
}

/** A step run as one SQL statement through the SQL service (the commit records its lineage). */
function sqlStep(table: string, version: number, day: number, hour: number, what: string, sql: string): Step {
  return {
    table,
    version,
    reads: info(table).sources,
    at: at(day, hour),
    what,
    run: async (ctx) => {
      // The SQL service reports 0.4 once the views of the sources are registered (their files fixed).
      const onProgress = (fraction: number): void => {
        if (fraction >= 0.4) ctx.sourcesPinned();
      };
      return (await executeSql({ warehouse: ctx.warehouse, clock: ctx.clock, userName: ENGINEER, onProgress }, sql)).version;
    },
  };
}

/**
 * An INSERT that adds columns (schema evolution), which the SQL service refuses: the same SELECT over views of the
 * sources, written with the core append and mergeSchema, recording the lineage the SQL service would.
 */
function evolvingInsertStep(table: string, version: number, day: number, hour: number, what: string, sources: string[], select: string): Step {
  return {
    table,
    version,
    reads: sources,
    at: at(day, hour),
    what,
    run: async (ctx) => {
      const instance = await DuckDBInstance.create(':memory:');
      const conn = await instance.connect();
      try {
        await conn.run("SET TimeZone='UTC'");
        const sourceVersions = await registerViews(conn, ctx.warehouse, sources);
        ctx.sourcesPinned();
        const sql = `INSERT INTO ${table} BY NAME\n${select}`;
        const lineage = { statement: 'INSERT', sources, target: table, sql, sourceVersions };
        const m = await append(ctx.warehouse.ref(table), new DuckDbEngine(conn, ctx.clock), {
          sourceSql: select,
          mergeSchema: true,
          clock: ctx.clock,
          userName: ENGINEER,
          commitExtra: { lineage },
        });
        return m.version;
      } finally {
        conn.closeSync();
        instance.closeSync();
      }
    },
  };
}

/** The cleaning SELECT of silver.sales.orders over the bronze batches of days `from`..`to`. */
function ordersSelect(from: number, to: number): string {
  const coupon = from >= COUPON_FROM_DAY;
  return `SELECT
  order_id,
  CAST(order_ts AS TIMESTAMP) AS order_ts,
  CAST(CAST(order_ts AS TIMESTAMP) AS DATE) AS order_date,
  customer_id,
  product,
  category,
  quantity,
  CAST(unit_price AS DECIMAL(10,2)) AS unit_price,
  CAST(quantity * CAST(unit_price AS DECIMAL(10,2)) AS DECIMAL(12,2)) AS amount,
  currency,
  upper(country) AS country,
  status,
  payment_method,
  CAST(updated_at AS TIMESTAMP) AS updated_at,${coupon ? '\n  coupon_code,' : ''}
  _source_file AS source_file,
  _ingested_at AS ingested_at
FROM bronze.sales.orders_raw
WHERE ingest_date BETWEEN ${dateLit(from)} AND ${dateLit(to)}
QUALIFY row_number() OVER (PARTITION BY order_id ORDER BY updated_at DESC, _ingested_at DESC, status) = 1`;
}

/** The aggregation of gold.sales.daily_revenue. */
const DAILY_REVENUE = `SELECT
  o.order_date,
  o.country,
  count(*) AS orders,
  count(DISTINCT o.customer_id) AS customers,
  sum(o.quantity) AS units,
  CAST(sum(o.amount * fx.eur_rate) AS DECIMAL(18,2)) AS revenue_eur,
  CAST(sum(o.amount * fx.eur_rate) / count(*) AS DECIMAL(12,2)) AS avg_order_value_eur
FROM silver.sales.orders AS o
JOIN ${eurRatesValues()} ON o.currency = fx.currency
WHERE o.status NOT IN ('cancelled', 'returned') AND o.quantity > 0
GROUP BY o.order_date, o.country`;

/** The sessionization of silver.web.sessions over the bronze batches of days `from`..`to`. */
function sessionsSelect(from: number, to: number): string {
  return `WITH events AS (
  SELECT *
  FROM bronze.web.events_raw
  WHERE ingest_date BETWEEN ${dateLit(from)} AND ${dateLit(to)} AND user_agent NOT ILIKE '%bot%'
  QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY _ingested_at) = 1
)
SELECT
  session_id,
  max(user_id) AS user_id,
  max(anonymous_id) AS anonymous_id,
  CAST(min(event_ts) AS DATE) AS session_date,
  min(event_ts) AS session_start,
  max(event_ts) AS session_end,
  CAST(date_diff('second', min(event_ts), max(event_ts)) AS INTEGER) AS duration_seconds,
  CAST(count(*) AS INTEGER) AS events,
  CAST(count(*) FILTER (WHERE event_type = 'page_view') AS INTEGER) AS page_views,
  arg_min(page_path, event_ts) AS landing_page,
  arg_max(page_path, event_ts) AS exit_page,
  arg_min(referrer, event_ts) AS referrer,
  CASE WHEN max(user_agent) LIKE '%iPad%' THEN 'tablet' WHEN max(user_agent) LIKE '%Mobile%' THEN 'mobile' ELSE 'desktop' END AS device,
  max(country) AS country,
  bool_or(event_type = 'purchase') AS converted
FROM events
GROUP BY session_id`;
}

/** The aggregation of gold.web.daily_active_users. */
const DAILY_ACTIVE_USERS = `SELECT
  session_date AS activity_date,
  count(DISTINCT user_id) AS active_users,
  count(DISTINCT coalesce(user_id, anonymous_id)) AS visitors,
  count(*) AS sessions,
  count(*) FILTER (WHERE converted) AS converting_sessions,
  CAST(count(*) FILTER (WHERE converted) / count(*) AS DECIMAL(7,4)) AS conversion_rate,
  count(DISTINCT user_id) FILTER (WHERE device = 'mobile') AS mobile_users
FROM silver.web.sessions
GROUP BY session_date`;

const ctas = (name: string, select: string): string => {
  const t = info(name);
  const partition = t.partitionBy.length > 0 ? `PARTITIONED BY (${t.partitionBy.join(', ')})\n` : '';
  return `CREATE TABLE ${name}\n${partition}COMMENT ${quoteSql(t.description)}\n${TBLPROPERTIES}\nAS ${select}`;
};

/** Every commit of the demo's story, in story order (which is also a valid dependency order). */
function demoSteps(): Step[] {
  const steps: Step[] = [];
  for (let d = 0; d < DAYS; d++) {
    const batch = CUSTOMER_BATCHES.indexOf(d as (typeof CUSTOMER_BATCHES)[number]);
    if (batch >= 0) steps.push(bronzeStep('bronze.sales.customers_raw', batch, d, INGEST_HOURS.customers, 'crm-export', customersRawSql));
    steps.push(bronzeStep('bronze.sales.orders_raw', d, d, INGEST_HOURS.orders, 'webshop-export', ordersRawSql, d === COUPON_FROM_DAY));
    steps.push(bronzeStep('bronze.web.events_raw', d, d, INGEST_HOURS.events, 'web-tracker', eventsRawSql));
  }
  for (let b = 0; b < HEARTBEAT_BATCHES; b++) {
    const { day, hour } = heartbeatBatchTime(b);
    steps.push(bronzeStep('bronze.web.heartbeats_raw', b, day, hour, 'heartbeat-agent', () => heartbeatsRawSql(b)));
  }
  const lastCustomers = CUSTOMER_BATCHES[CUSTOMER_BATCHES.length - 1];
  const last = DAYS - 1;
  steps.push(
    sqlStep(
      'silver.sales.customers',
      0,
      lastCustomers,
      4,
      'build from the CRM exports',
      ctas(
        'silver.sales.customers',
        `SELECT
  customer_id,
  first_name,
  last_name,
  lower(trim(email)) AS email,
  upper(country) AS country,
  city,
  TRY_CAST(signup_date AS DATE) AS signup_date,
  segment,
  marketing_opt_in,
  _ingested_at AS updated_at,
  _source_file AS source_file
FROM bronze.sales.customers_raw
WHERE customer_id IS NOT NULL
-- latest record per customer and address
QUALIFY row_number() OVER (PARTITION BY customer_id, lower(trim(email)) ORDER BY _ingested_at DESC) = 1`,
      ),
    ),
    sqlStep('silver.sales.orders', 0, COUPON_FROM_DAY - 1, 5, 'first build', ctas('silver.sales.orders', ordersSelect(0, COUPON_FROM_DAY - 1))),
    evolvingInsertStep(
      'silver.sales.orders',
      1,
      CORRECTIONS_FROM_DAY - 1,
      5,
      'load with the new coupon_code column',
      ['bronze.sales.orders_raw'],
      ordersSelect(COUPON_FROM_DAY, CORRECTIONS_FROM_DAY - 1),
    ),
    sqlStep('silver.web.sessions', 0, CORRECTIONS_FROM_DAY - 1, 5.25, 'first build', ctas('silver.web.sessions', sessionsSelect(0, CORRECTIONS_FROM_DAY - 1))),
    sqlStep('gold.sales.daily_revenue', 0, CORRECTIONS_FROM_DAY - 1, 5.5, 'first build', ctas('gold.sales.daily_revenue', DAILY_REVENUE)),
    sqlStep('gold.web.daily_active_users', 0, CORRECTIONS_FROM_DAY - 1, 5.75, 'first build', ctas('gold.web.daily_active_users', DAILY_ACTIVE_USERS)),
    sqlStep(
      'silver.sales.orders',
      2,
      last,
      5,
      'upsert new orders and late corrections',
      `MERGE INTO silver.sales.orders AS t
USING (
${ordersSelect(CORRECTIONS_FROM_DAY, last)}
) AS s
ON t.order_id = s.order_id
WHEN MATCHED AND s.updated_at > t.updated_at THEN UPDATE SET *
WHEN NOT MATCHED THEN INSERT *`,
    ),
    sqlStep('silver.sales.orders', 3, last, 5.1, 'remove test orders', `DELETE FROM silver.sales.orders WHERE customer_id LIKE 'TEST-%'`),
    sqlStep('silver.web.sessions', 1, last, 5.25, 'load the last batches', `INSERT INTO silver.web.sessions\n${sessionsSelect(CORRECTIONS_FROM_DAY, last)}`),
    sqlStep('gold.sales.daily_revenue', 1, last, 5.5, 'refresh', `INSERT OVERWRITE gold.sales.daily_revenue\n${DAILY_REVENUE}`),
    sqlStep('gold.web.daily_active_users', 1, last, 5.75, 'refresh', `INSERT OVERWRITE gold.web.daily_active_users\n${DAILY_ACTIVE_USERS}`),
  );
  return steps.sort((a, b) => a.at - b.at);
}

/**
 * What each step waits for: `done`, the earlier story steps that write a table it reads or writes; `pinned`, the
 * earlier steps that read the table it writes, until they have fixed the version they read (or are done). Every step
 * thus sees its sources at the version the story has at that point, whatever runs in parallel.
 */
function dependencies(steps: readonly Step[]): Map<Step, { done: Step[]; pinned: Step[] }> {
  const out = new Map<Step, { done: Step[]; pinned: Step[] }>();
  steps.forEach((s, i) => {
    const touched = new Set([s.table, ...s.reads]);
    const earlier = steps.slice(0, i);
    out.set(s, {
      done: earlier.filter((e) => touched.has(e.table)),
      pinned: earlier.filter((e) => !touched.has(e.table) && e.reads.includes(s.table)),
    });
  });
  return out;
}

/** A worker's DuckDB instance, opened on first use. */
class WorkerEngine {
  private instance: DuckDBInstance | null = null;
  private conn: DuckDBConnection | null = null;

  /** An engine on this worker's connection whose written files carry `clock`'s time. */
  async engine(clock: ManualClock): Promise<DuckDbEngine> {
    if (!this.conn) {
      this.instance = await DuckDBInstance.create(':memory:');
      this.conn = await this.instance.connect();
      await this.conn.run("SET TimeZone='UTC'");
    }
    return new DuckDbEngine(this.conn, clock);
  }

  close(): void {
    this.conn?.closeSync();
    this.instance?.closeSync();
  }
}

/**
 * Builds the demo warehouse under `warehouse`: bronze tables loaded in daily batches from deterministic generated
 * rows, silver and gold tables built from them with SQL statements whose commits record lineage (see DEMO_TABLES).
 * Commits carry story timestamps from 2024-05-01 (in-commit timestamps and file times); the same scale yields the
 * same rows on every run. Independent steps run two at a time. Idempotent and resumable: each step is one commit
 * producing a known version, so steps a table already has are skipped and an interrupted build is completed where
 * it stopped. Tables of the same names that the demo did not create (no `lakehouse.demo` property) are left alone,
 * and so are the demo tables built from them. Returns the names of the tables it created or completed, in
 * dependency order (empty when all were there). INVALID_INPUT for a scale outside (0, 100].
 */
export async function ensureDemoWarehouse(warehouse: string, log: (line: string) => void, options: DemoOptions = {}): Promise<string[]> {
  const scale = options.scale ?? 1;
  if (!(scale > 0 && scale <= 100)) throw new LakehouseError('INVALID_INPUT', `demo scale must be in (0, 100], got ${scale}`, { scale });
  const root = resolve(warehouse);
  const wh = new Warehouse(root, new ManualClock(BASE_MS));

  const versions = new Map<string, number>();
  const skipped = new Set<string>();
  for (const t of DEMO_TABLES) {
    if (!(await wh.exists(t.name))) {
      versions.set(t.name, -1);
    } else {
      const snapshot = await wh.snapshot(t.name);
      versions.set(t.name, snapshot.version);
      if (snapshot.metadata.configuration[DEMO_PROPERTY] !== 'true') skipped.add(t.name);
    }
    if (!skipped.has(t.name) && t.sources.some((s) => skipped.has(s))) skipped.add(t.name);
  }
  const steps = demoSteps();
  const todo = steps.filter((s) => !skipped.has(s.table) && (versions.get(s.table) ?? -1) < s.version);
  if (skipped.size > 0) log(`demo: not touching ${[...skipped].join(', ')} (not created by the demo, or built from a table that was not)`);
  if (todo.length === 0) return [];

  const sizes = demoSizes(scale);
  const started = Date.now();
  log(`building the demo warehouse in ${root} (${todo.length} of ${steps.length} commits to write) ...`);
  const deps = dependencies(todo);
  const done = new Set<Step>();
  const pinned = new Set<Step>();
  const running = new Set<Step>();
  const touched = new Set<string>();
  let failure: { error: unknown } | null = null;
  let wake: () => void = () => undefined;
  let changed = new Promise<void>((r) => (wake = r));
  const signal = (): void => {
    const w = wake;
    changed = new Promise<void>((r) => (wake = r));
    w();
  };

  const runStep = async (step: Step, worker: WorkerEngine): Promise<void> => {
    const current = versions.get(step.table) ?? -1;
    if (current !== step.version - 1) {
      throw new LakehouseError('INTERNAL', `demo table ${step.table} is at version ${current} but the step "${step.what}" writes version ${step.version}`, {
        table: step.table,
      });
    }
    const clock = new ManualClock(step.at);
    const ctx: StepContext = {
      warehouse: new Warehouse(root, clock),
      clock,
      sizes,
      engine: () => worker.engine(clock),
      sourcesPinned: () => {
        if (pinned.has(step)) return;
        pinned.add(step);
        signal();
      },
    };
    const version = await step.run(ctx);
    if (version !== step.version) {
      throw new LakehouseError('INTERNAL', `demo step "${step.what}" of ${step.table} committed version ${version}, expected ${step.version}`, { table: step.table });
    }
    versions.set(step.table, version);
    touched.add(step.table);
    if (!steps.some((s) => s.table === step.table && s.version > version)) log(`  ${step.table} (${version + 1} commit${version === 0 ? '' : 's'})`);
  };

  const work = async (): Promise<void> => {
    const worker = new WorkerEngine();
    try {
      while (!failure && done.size < todo.length) {
        const next = todo.find((s) => {
          const d = deps.get(s)!;
          return !done.has(s) && !running.has(s) && d.done.every((x) => done.has(x)) && d.pinned.every((x) => pinned.has(x) || done.has(x));
        });
        if (!next) {
          await changed;
          continue;
        }
        running.add(next);
        try {
          await runStep(next, worker);
        } catch (e) {
          failure ??= { error: e };
        } finally {
          running.delete(next);
          done.add(next);
          signal();
        }
      }
    } finally {
      worker.close();
    }
  };
  const requested = options.workers ?? Math.min(2, availableParallelism());
  const workers = Number.isFinite(requested) && requested >= 1 ? Math.floor(requested) : 1;
  await Promise.all(Array.from({ length: workers }, work));
  if (failure) throw (failure as { error: unknown }).error;
  log(`demo warehouse built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return DEMO_TABLES.map((t) => t.name).filter((n) => touched.has(n));
}
