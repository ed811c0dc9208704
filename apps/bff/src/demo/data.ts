import { quoteString } from '@lakehouse/core';

// DuckDB SELECTs generating the raw rows of the demo's bronze tables. Every value comes from DuckDB's hash() over
// integers (seedless and stable), so the same scale yields the same rows on every machine and every run. Rare
// "mistakes" of the sources (malformed emails, duplicates, negative quantities, impossible dates...) are planted on
// purpose for quality checks; their rates are in the comments next to them.

/** First day of ingestion (UTC); batch `d` is ingested on this date plus `d` days. */
export const BASE_DATE = '2024-05-01';
/** Number of daily batches of the bronze tables. */
export const DAYS = 14;
/** Epoch ms of BASE_DATE 00:00 UTC. */
export const BASE_MS = Date.parse(`${BASE_DATE}T00:00:00Z`);

/** Row counts of one build; scale 1 gives about one million orders. */
export interface DemoSizes {
  /** New orders per daily batch. */
  ordersPerDay: number;
  /** Customers of the first CRM export. */
  customers: number;
  /** Web sessions per daily batch (about 8 events each). */
  sessionsPerDay: number;
}

/** The row counts of a scale (each at least a small floor, so a tiny scale still has every planted problem). */
export function demoSizes(scale: number): DemoSizes {
  return {
    ordersPerDay: Math.max(200, Math.round(71_000 * scale)),
    customers: Math.max(200, Math.round(40_000 * scale)),
    sessionsPerDay: Math.max(40, Math.round(4_500 * scale)),
  };
}

/** The date of batch `d` as YYYY-MM-DD. */
export function batchDate(d: number): string {
  return new Date(BASE_MS + d * 86_400_000).toISOString().slice(0, 10);
}

const sqlList = (items: readonly string[]): string => `[${items.map(quoteString).join(', ')}]`;

/** [name, category, list price]: the shop's catalog, most popular first. */
const PRODUCTS: readonly [string, string, string][] = [
  ['USB-C Cable 2m', 'Accessories', '14.90'],
  ['Echo Buds Pro', 'Audio', '199.00'],
  ['Pulse Phone 12', 'Phones', '799.00'],
  ['Phone Case Clear', 'Accessories', '19.90'],
  ['Wireless Mouse', 'Accessories', '29.90'],
  ['USB-C Charger 65W', 'Accessories', '49.90'],
  ['Aurora Laptop 14', 'Computers', '1299.00'],
  ['Screen Protector 2-Pack', 'Accessories', '12.90'],
  ['Slate Tablet 11', 'Tablets', '579.00'],
  ['Stride Smartwatch', 'Wearables', '299.00'],
  ['Boom Portable Speaker', 'Audio', '129.00'],
  ['Mechanical Keyboard', 'Accessories', '119.00'],
  ['27in 4K Monitor', 'Displays', '429.00'],
  ['Pulse Phone 12 Mini', 'Phones', '649.00'],
  ['Echo Over-Ear Headphones', 'Audio', '279.00'],
  ['Glow Smart Bulb 4-Pack', 'Smart Home', '59.90'],
  ['Laptop Sleeve 14in', 'Accessories', '34.90'],
  ['Stride Fitness Band', 'Wearables', '89.00'],
  ['Quest Game Controller', 'Gaming', '69.90'],
  ['Pulse Phone SE', 'Phones', '429.00'],
  ['Slate Tablet Mini', 'Tablets', '399.00'],
  ['24in Office Monitor', 'Displays', '179.00'],
  ['Arcade Gaming Headset', 'Gaming', '99.00'],
  ['Guard Video Doorbell', 'Smart Home', '179.00'],
  ['Nimbus Chromebook', 'Computers', '349.00'],
  ['Studio Soundbar', 'Audio', '449.00'],
  ['Hearth Smart Thermostat', 'Smart Home', '229.00'],
  ['34in Ultrawide Monitor', 'Displays', '649.00'],
  ['Vertex Desktop Tower', 'Computers', '1649.00'],
  ['Aurora Laptop 16 Pro', 'Computers', '2199.00'],
];

const slug = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');

/** [ISO code, currency, weight in percent, three cities]. */
const COUNTRIES: readonly [string, string, number, [string, string, string]][] = [
  ['DE', 'EUR', 24, ['Berlin', 'Hamburg', 'Munich']],
  ['US', 'USD', 18, ['New York', 'Austin', 'Seattle']],
  ['FR', 'EUR', 12, ['Paris', 'Lyon', 'Marseille']],
  ['GB', 'GBP', 10, ['London', 'Manchester', 'Leeds']],
  ['NL', 'EUR', 7, ['Amsterdam', 'Rotterdam', 'Utrecht']],
  ['ES', 'EUR', 7, ['Madrid', 'Barcelona', 'Valencia']],
  ['IT', 'EUR', 6, ['Milan', 'Rome', 'Turin']],
  ['AT', 'EUR', 4, ['Vienna', 'Graz', 'Linz']],
  ['SE', 'SEK', 4, ['Stockholm', 'Gothenburg', 'Malmo']],
  ['PL', 'PLN', 4, ['Warsaw', 'Krakow', 'Wroclaw']],
  ['CH', 'CHF', 4, ['Zurich', 'Geneva', 'Basel']],
];

/** Exchange rates to EUR of the currencies above (fixed: the demo's gold tables convert with them). */
export const EUR_RATES: readonly [string, string][] = [
  ['EUR', '1.0000'],
  ['USD', '0.9300'],
  ['GBP', '1.1700'],
  ['SEK', '0.0860'],
  ['PLN', '0.2330'],
  ['CHF', '1.0200'],
];

/** 100 slots of 1-based country indexes, each country taking its weight in slots. */
const COUNTRY_SLOTS = COUNTRIES.flatMap(([, , w], k) => Array.from({ length: w }, () => k + 1));
if (COUNTRY_SLOTS.length !== 100) throw new Error('country weights must add up to 100');

const FIRST_NAMES = [
  'Anna', 'Ben', 'Chloe', 'David', 'Elena', 'Felix', 'Grace', 'Hugo', 'Ines', 'Jonas', 'Kenji', 'Lea', 'Mateo', 'Nora', 'Oliver', 'Paula',
  'Quentin', 'Rosa', 'Samuel', 'Tara', 'Umar', 'Vera', 'William', 'Xenia', 'Yusuf', 'Zoe', 'Amira', 'Bruno', 'Clara', 'Dmitri', 'Emma', 'Finn',
  'Giulia', 'Hannah', 'Ivan', 'Julia', 'Lukas', 'Maja', 'Noah', 'Sofia',
];
const LAST_NAMES = [
  'Mueller', 'Smith', 'Martin', 'Garcia', 'Rossi', 'Schmidt', 'Johnson', 'Bernard', 'Lopez', 'Bianchi', 'Fischer', 'Brown', 'Dubois', 'Novak',
  'Jansen', 'Nielsen', 'Kowalski', 'Andersson', 'Weber', 'Taylor', 'Moreau', 'Romano', 'Wagner', 'Wilson', 'Laurent', 'Fernandez', 'de Vries',
  'Hofer', 'Berg', 'Meyer', 'Tanaka', 'Okafor', 'Haddad', 'Silva', 'Kim', 'Petrov', 'OBrien', 'Costa', 'Yilmaz', 'Sato',
];
const EMAIL_DOMAINS = ['gmail.com', 'outlook.com', 'yahoo.com', 'gmx.de', 'web.de', 'icloud.com', 'proton.me', 'orange.fr', 'hotmail.co.uk', 'mail.com'];

/** User agents: browsers of desktops, phones and a tablet, then two crawlers. */
const USER_AGENTS: readonly string[] = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
  'Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80',
  'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0',
  'Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)',
];
/** Indexes (1-based) of USER_AGENTS by share of sessions: 97 human slots, then the crawlers. */
const UA_SLOTS = [...[1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 5, 5, 6, 6, 7, 8].flatMap((x) => [x, x, x, x]), 1, 9, 9, 10];
if (UA_SLOTS.length !== 100) throw new Error('user agent slots must be 100');

const REFERRERS = ['https://www.google.com/', 'https://www.google.com/', 'https://www.bing.com/', 'https://www.instagram.com/', 'https://news.example.com/deals', 'https://duckduckgo.com/'];
const SEARCH_TERMS = ['laptop', 'usb c cable', 'headphones', 'smartwatch', 'monitor 4k', 'phone case', 'charger', 'tablet', 'speaker', 'gaming headset'];
const COUPONS = ['SPRING10', 'WELCOME15', 'FREESHIP', 'VIP20', 'MAYDAYS'];

const PRODUCT_NAMES = sqlList(PRODUCTS.map((p) => p[0]));
const PRODUCT_CATEGORIES = sqlList(PRODUCTS.map((p) => p[1]));
const PRODUCT_PRICES = `[${PRODUCTS.map((p) => `${p[2]}::DECIMAL(10,2)`).join(', ')}]`;
const PRODUCT_SLUGS = sqlList(PRODUCTS.map((p) => slug(p[0])));
const CATEGORY_SLUGS = sqlList(PRODUCTS.map((p) => slug(p[1])));
const COUNTRY_CODES = sqlList(COUNTRIES.map((c) => c[0]));
const CURRENCIES = sqlList(COUNTRIES.map((c) => c[1]));
const CITIES = sqlList(COUNTRIES.flatMap((c) => c[3]));
const SLOTS = `[${COUNTRY_SLOTS.join(', ')}]`;

/** 1-based index into a product list: skewed so that cheap accessories sell most (integer arithmetic only). */
const productIdx = (h: string): string => `CAST(1 + ((${h}) % 900) * ((${h}) % 900) // 27000 AS BIGINT)`;
/** 1-based country index of customer `k` (the same expression everywhere, so orders and events agree with the CRM). */
const countryIdx = (k: string): string => `${SLOTS}[CAST(1 + hash(${k}, 101) % 100 AS BIGINT)]`;
const padded = (prefix: string, n: string): string => `'${prefix}' || lpad(CAST(${n} AS VARCHAR), 6, '0')`;
/** Timestamp literal of BASE_DATE plus `hours` (may be fractional or negative) plus `d` days. */
const batchTs = (d: number, hours: number): string => {
  const iso = new Date(BASE_MS + d * 86_400_000 + hours * 3_600_000).toISOString();
  return `TIMESTAMP '${iso.slice(0, 10)} ${iso.slice(11, 19)}'`;
};
const dateLit = (d: number): string => `DATE '${batchDate(d)}'`;
const compact = (d: number): string => batchDate(d).replace(/-/g, '');

/** Hour of the day (UTC) at which each source's daily batch is ingested. */
export const INGEST_HOURS = { customers: 1.5, orders: 2, events: 2.5 } as const;

/** First ingest batch whose orders carry `coupon_code` (the shop export gained that column). */
export const COUPON_FROM_DAY = 10;
/** First ingest batch that also re-sends orders of the two batches before it with a changed status (late corrections). */
export const CORRECTIONS_FROM_DAY = 12;
/** The ingest batch with test orders (a QA run against the live shop, all on one order date). */
export const TEST_ORDERS_DAY = 5;

/**
 * Raw orders of ingest batch `d`, as the shop's daily CSV export would have them: text timestamps and prices. About
 * 0.7% exact duplicate lines (re-sent), 1% null customer ids, 0.3% unknown customers, 0.4% negative quantities,
 * 0.4% impossible order dates (1970-01-01 or 2099-12-31), 1.7% lower-case and 1% null countries. In the batch of
 * TEST_ORDERS_DAY, 12.5% of the orders placed from 10:00 to 14:00 have TEST- customers; from CORRECTIONS_FROM_DAY
 * on, 6% extra lines re-send orders of the two previous batches with a new status (duplicate order ids).
 */
export function ordersRawSql(d: number, sizes: DemoSizes): string {
  const n = sizes.ordersPerDay;
  const corrections = d >= CORRECTIONS_FROM_DAY ? Math.round(n * 0.06) : 0;
  const ingestedAt = batchTs(d, INGEST_HOURS.orders);
  const coupon = d >= COUPON_FROM_DAY;
  return `WITH lines AS (
  SELECT ${d}::BIGINT AS od, CAST(CASE WHEN i > 0 AND hash(i, ${d}, 1) % 150 = 0 THEN i - 1 ELSE i END AS BIGINT) AS oi, NULL::VARCHAR AS fix, 0::BIGINT AS j
  FROM range(${n}) t(i)
  UNION ALL
  SELECT CAST(g // ${n} AS BIGINT) AS od, CAST(g % ${n} AS BIGINT) AS oi, ${sqlList(['cancelled', 'returned', 'delivered', 'delivered'])}[CAST(1 + hash(j, ${d}, 2) % 4 AS BIGINT)] AS fix, j
  FROM (SELECT j, ${n * (CORRECTIONS_FROM_DAY - 2)} + hash(j, ${d}, 3) % ${n * 2} AS g FROM range(${corrections}) t(j))
), o AS (
  SELECT *, ${n} * od + oi AS g, 1 + hash(${n} * od + oi, 1) % ${sizes.customers} AS k, ${productIdx(`hash(${n} * od + oi, 4)`)} AS p,
    ${batchTs(-1, INGEST_HOURS.orders)} + to_days(CAST(od AS INTEGER)) + to_seconds(CAST(hash(${n} * od + oi, 9) % 86400 AS BIGINT)) AS placed
  FROM lines
), v AS (
  SELECT *,
    CASE WHEN hash(g, 10) % 500 = 0 THEN TIMESTAMP '1970-01-01 00:00:00' + to_seconds(CAST(hash(g, 9) % 86400 AS BIGINT))
         WHEN hash(g, 10) % 500 = 1 THEN TIMESTAMP '2099-12-31 00:00:00' + to_seconds(CAST(hash(g, 9) % 86400 AS BIGINT))
         ELSE placed END AS ts,
    CASE hash(g, 7) % 10 WHEN 0 THEN 10 WHEN 1 THEN 15 ELSE 0 END AS discount,
    ${COUNTRY_CODES}[${countryIdx('k')}] AS c,
    ${CURRENCIES}[${countryIdx('k')}] AS currency
  FROM o
)
SELECT
  1000000 + g AS order_id,
  strftime(ts, '%Y-%m-%d %H:%M:%S') AS order_ts,
  CASE WHEN hash(g, 2) % 100 = 0 THEN NULL
       WHEN od = ${TEST_ORDERS_DAY} AND hash(g, 9) % 86400 BETWEEN 28800 AND 43200 AND hash(g, 2) % 8 = 1 THEN 'TEST-' || lpad(CAST(hash(g, 3) % 20 AS VARCHAR), 3, '0')
       WHEN hash(g, 2) % 300 = 7 THEN ${padded('C', `${sizes.customers * 2} + hash(g, 3) % 5000`)}
       ELSE ${padded('C', 'k')} END AS customer_id,
  ${PRODUCT_NAMES}[p] AS product,
  ${PRODUCT_CATEGORIES}[p] AS category,
  CAST(CASE WHEN hash(g, 5) % 250 = 0 THEN -1 - CAST(hash(g, 6) % 3 AS INTEGER)
            WHEN hash(g, 5) % 10 < 7 THEN 1
            WHEN hash(g, 5) % 10 < 9 THEN 2
            ELSE 2 + CAST(hash(g, 6) % 4 AS INTEGER) END AS INTEGER) AS quantity,
  CAST(CAST(round(${PRODUCT_PRICES}[p] * (100 - discount) / 100.0, 2) AS DECIMAL(10,2)) AS VARCHAR) AS unit_price,
  currency,
  CASE WHEN hash(g, 8) % 60 = 0 THEN lower(c) WHEN hash(g, 8) % 97 = 1 THEN NULL ELSE c END AS country,
  coalesce(fix, CASE WHEN hash(g, 13) % 10 = 0 THEN 'placed' ELSE 'paid' END) AS status,
  ${sqlList(['card', 'card', 'card', 'paypal', 'paypal', 'invoice', 'klarna', 'apple_pay'])}[CAST(1 + hash(g, 14) % 8 AS BIGINT)] AS payment_method,
  strftime(CASE WHEN fix IS NULL THEN ts + to_seconds(CAST(hash(g, 11) % 1800 AS BIGINT))
                ELSE ${ingestedAt} - to_seconds(CAST(600 + hash(j, ${d}, 12) % 3000 AS BIGINT)) END, '%Y-%m-%dT%H:%M:%SZ') AS updated_at,
  ${coupon ? `CASE WHEN od >= ${COUPON_FROM_DAY} AND hash(g, 15) % 7 = 0 THEN ${sqlList(COUPONS)}[CAST(1 + hash(g, 16) % ${COUPONS.length} AS BIGINT)] END AS coupon_code,` : ''}
  ${ingestedAt} AS _ingested_at,
  'webshop-export' AS _source,
  'orders_${compact(d)}.csv' AS _source_file,
  ${dateLit(d)} AS ingest_date
FROM v`;
}

/** Customers of CRM export batch `d`: 0 is the full export, 7 the changes of the week (new emails, new sign-ups). */
export const CUSTOMER_BATCHES = [0, 7] as const;

/**
 * Raw customers of a CRM export: 1% exact duplicate lines, 0.5% null ids, 2.5% null emails, 5% malformed ones (no @
 * or no domain) and 2.5% with spaces and capitals (which silver cleans), 0.7% impossible sign-up dates. The second
 * export re-sends about 8% of the customers with a new email address and adds 5% new customers.
 */
export function customersRawSql(d: number, sizes: DemoSizes): string {
  const c = sizes.customers;
  const rows =
    d === CUSTOMER_BATCHES[0]
      ? `SELECT k, 0 AS v FROM range(1, ${c + 1}) t(k)`
      : `SELECT k, 1 AS v FROM range(1, ${c + 1}) t(k) WHERE hash(k, 202) % 12 = 0
         UNION ALL SELECT k, 0 AS v FROM range(${c + 1}, ${c + Math.round(c / 20) + 1}) t(k)`;
  return `WITH r AS (
  SELECT k, v, unnest(CASE WHEN hash(k, v, 201) % 100 = 0 THEN [1, 2] ELSE [1] END) AS copy FROM (${rows})
), p AS (
  SELECT *, ${sqlList(FIRST_NAMES)}[CAST(1 + hash(k, 11) % ${FIRST_NAMES.length} AS BIGINT)] AS first_name,
    ${sqlList(LAST_NAMES)}[CAST(1 + hash(k, 12) % ${LAST_NAMES.length} AS BIGINT)] AS last_name,
    ${countryIdx('k')} AS ci
  FROM r
), e AS (
  SELECT *, replace(lower(first_name || '.' || last_name), ' ', '') || CASE WHEN v = 0 THEN CAST(k % 100 AS VARCHAR) ELSE '.' || CAST(10 + hash(k, 13) % 90 AS VARCHAR) END AS local,
    ${sqlList(EMAIL_DOMAINS)}[CAST(1 + hash(k, v, 14) % ${EMAIL_DOMAINS.length} AS BIGINT)] AS domain
  FROM p
)
SELECT
  CASE WHEN hash(k, 204) % 200 = 0 THEN NULL ELSE ${padded('C', 'k')} END AS customer_id,
  first_name,
  last_name,
  CASE WHEN hash(k, v, 205) % 40 = 0 THEN NULL
       WHEN hash(k, v, 205) % 40 = 1 THEN local || domain
       WHEN hash(k, v, 205) % 40 = 2 THEN local || '@'
       WHEN hash(k, v, 205) % 40 = 3 THEN ' ' || upper(first_name[1]) || local[2:] || '@' || domain || ' '
       ELSE local || '@' || domain END AS email,
  ${COUNTRY_CODES}[ci] AS country,
  ${CITIES}[3 * (ci - 1) + 1 + CAST(hash(k, 15) % 3 AS INTEGER)] AS city,
  CASE WHEN hash(k, 206) % 300 = 0 THEN '2099-01-01' WHEN hash(k, 206) % 300 = 1 THEN '1900-01-01'
       ELSE strftime(DATE '2019-01-01' + CAST(hash(k, 16) % 1940 AS INTEGER), '%Y-%m-%d') END AS signup_date,
  ${sqlList(['consumer', 'consumer', 'consumer', 'consumer', 'consumer', 'consumer', 'consumer', 'business', 'business', 'vip'])}[CAST(1 + hash(k, 17) % 10 AS BIGINT)] AS segment,
  hash(k, 18) % 3 = 0 AS marketing_opt_in,
  ${batchTs(d, INGEST_HOURS.customers)} AS _ingested_at,
  'crm-export' AS _source,
  '${d === 0 ? 'customers_full' : 'customers_changes'}_${compact(d)}.csv' AS _source_file,
  ${dateLit(d)} AS ingest_date
FROM e`;
}

/**
 * Raw web events of tracker batch `d`: sessions of 1 to 15 events, 40% anonymous (null user_id), 0.8% duplicate
 * events (tracker retries, same event_id), 3% crawler sessions, 1% sessions with a device clock a year ahead.
 */
export function eventsRawSql(d: number, sizes: DemoSizes): string {
  const ingestedAt = batchTs(d, INGEST_HOURS.events);
  return `WITH sess AS (
  SELECT s, hash(s, ${d}, 301) AS h, 1 + hash(s, ${d}, 302) % 15 AS n, hash(s, ${d}, 301) % 10 < 6 AS known,
    1 + hash(s, ${d}, 303) % ${sizes.customers} AS k, md5(concat_ws(':', 'session', ${d}, s)) AS sid
  FROM range(${sizes.sessionsPerDay}) t(s)
), ev AS (
  SELECT *, unnest(range(CAST(n AS BIGINT))) AS e FROM sess
), ev2 AS (
  SELECT *, unnest(CASE WHEN hash(s, e, ${d}, 304) % 120 = 0 THEN [1, 2] ELSE [1] END) AS copy,
    known AND n >= 4 AND h % 100 BETWEEN 10 AND 19 AS converts,
    ${productIdx(`hash(s, e, ${d}, 305)`)} AS p,
    hash(s, e, ${d}, 306) AS he
  FROM ev
), typed AS (
  SELECT *, CASE WHEN converts AND e = n - 1 THEN 'purchase'
                 WHEN converts AND e = n - 2 THEN 'checkout'
                 WHEN e = 0 THEN 'page_view'
                 ELSE ${sqlList(['page_view', 'page_view', 'page_view', 'page_view', 'page_view', 'page_view', 'add_to_cart', 'search', 'click', 'click'])}[CAST(1 + he % 10 AS BIGINT)] END AS event_type,
    md5(concat_ws(':', sid, e)) AS x
  FROM ev2
)
SELECT
  concat_ws('-', x[1:8], x[9:12], x[13:16], x[17:20], x[21:32]) AS event_id,
  ${batchTs(-1, INGEST_HOURS.events)} + to_days(${d}) + to_seconds(CAST(hash(s, ${d}, 307) % 86400 AS BIGINT) + e * 45 + CAST(he % 30 AS BIGINT))
    + CASE WHEN h % 100 = 42 THEN INTERVAL 365 DAY ELSE INTERVAL 0 DAY END AS event_ts,
  sid[1:20] AS session_id,
  CASE WHEN known THEN ${padded('C', 'k')} END AS user_id,
  'anon-' || sid[21:32] AS anonymous_id,
  event_type,
  CASE event_type
    WHEN 'purchase' THEN '/checkout/confirmation'
    WHEN 'checkout' THEN '/checkout'
    WHEN 'add_to_cart' THEN '/cart'
    WHEN 'search' THEN '/search?q=' || replace(${sqlList(SEARCH_TERMS)}[CAST(1 + he % ${SEARCH_TERMS.length} AS BIGINT)], ' ', '+')
    WHEN 'click' THEN '/products/' || ${PRODUCT_SLUGS}[p] || '#reviews'
    ELSE CASE he % 7 WHEN 0 THEN '/' WHEN 1 THEN '/category/' || ${CATEGORY_SLUGS}[p] ELSE '/products/' || ${PRODUCT_SLUGS}[p] END
  END AS page_path,
  CASE WHEN e = 0 AND h % 3 > 0 THEN ${sqlList(REFERRERS)}[CAST(1 + h % ${REFERRERS.length} AS BIGINT)] END AS referrer,
  ${sqlList(USER_AGENTS)}[${`[${UA_SLOTS.join(', ')}]`}[CAST(1 + hash(s, ${d}, 308) % 100 AS BIGINT)]] AS user_agent,
  ${COUNTRY_CODES}[CASE WHEN known THEN ${countryIdx('k')} ELSE ${SLOTS}[CAST(1 + hash(s, ${d}, 309) % 100 AS BIGINT)] END] AS country,
  ${ingestedAt} AS _ingested_at,
  'web-tracker' AS _source,
  'events_${compact(d)}.ndjson' AS _source_file,
  ${dateLit(d)} AS ingest_date
FROM typed`;
}

/** One row per currency with its fixed rate to EUR, as SQL VALUES (for the gold tables). */
export function eurRatesValues(): string {
  return `(VALUES ${EUR_RATES.map(([c, r]) => `('${c}', ${r})`).join(', ')}) AS fx(currency, eur_rate)`;
}

/** Micro-batches of the server heartbeats: every HEARTBEAT_EVERY_HOURS over the last HEARTBEAT_DAYS days. */
export const HEARTBEAT_DAYS = 2;
/** Hours between two heartbeat micro-batches (each is one commit writing one small file). */
export const HEARTBEAT_EVERY_HOURS = 1;
/** Number of heartbeat micro-batches (one commit each). */
export const HEARTBEAT_BATCHES = (HEARTBEAT_DAYS * 24) / HEARTBEAT_EVERY_HOURS;

/** Day and hour (story time) of heartbeat micro-batch `b`: hourly through the last HEARTBEAT_DAYS days. */
export function heartbeatBatchTime(b: number): { day: number; hour: number } {
  const hours = b * HEARTBEAT_EVERY_HOURS;
  return { day: DAYS - HEARTBEAT_DAYS + Math.floor(hours / 24), hour: (hours % 24) + 0.75 };
}

/**
 * Raw heartbeats of micro-batch `b`: one ping per host and minute-ish (60 rows), latency in ms, 2% 5xx answers. Tiny
 * on purpose: a streaming ingest that commits many small files (the demo's table for OPTIMIZE).
 */
export function heartbeatsRawSql(b: number): string {
  const { day, hour } = heartbeatBatchTime(b);
  const ingestedAt = batchTs(day, hour);
  return `SELECT
  md5(concat_ws(':', 'heartbeat', ${b}, i))[1:16] AS ping_id,
  ${ingestedAt} - to_seconds(CAST(3600 - i * 60 AS BIGINT)) AS ping_ts,
  ${sqlList(['web-1', 'web-2', 'web-3', 'api-1', 'api-2'])}[CAST(1 + i % 5 AS BIGINT)] AS host,
  CAST(20 + hash(${b}, i, 401) % 400 AS INTEGER) AS latency_ms,
  CAST(CASE WHEN hash(${b}, i, 402) % 50 = 0 THEN 503 ELSE 200 END AS INTEGER) AS status_code,
  ${ingestedAt} AS _ingested_at,
  'heartbeat-agent' AS _source,
  'heartbeats_${compact(day)}_${String(Math.floor(hour)).padStart(2, '0')}.json' AS _source_file,
  ${dateLit(day)} AS ingest_date
FROM range(60) t(i)`;
}
