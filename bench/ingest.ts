// ingest: a ~1 GiB CSV (generated deterministically, streamed to a temp file) loaded into a bronze table two ways,
// against DuckDB's own `COPY (SELECT * FROM read_csv(file)) TO out (FORMAT parquet)` on the same file in this process:
// - `lakehouse ingest <file> <table>`, the command line, as a child process (its start included) reading the file
//   where it lies, as DuckDB's COPY does: the goal's figure;
// - through the real HTTP API of a BFF child process, the upload on loopback included (the file as the raw request
//   body, the API's path for large files; then once more as a multipart form): reported beside it.
// Reports the throughputs, their ratios and the peak RSS of both processes, and where the server's time went: a probe
// preloaded into the server process times every DuckDB statement (src/ is not touched), so the breakdown comes from
// the measured run itself. BENCH_INGEST_MB sets the size (default 1024).
import { execFile, spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { open, readFile, rm, stat } from 'node:fs/promises';
import * as http from 'node:http';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { BenchResult, Benchmark, Check, Metric } from './lib.js';
import { REPO_ROOT, fmt, median, metric, processMemory, randInt, round, seededRandom, settle, startBffProcess, tempDir, timed } from './lib.js';

const SEED = 1_337_001;
const DEFAULT_MB = 1024;
const TABLE = 'bronze.bench.events';
const MULTIPART_TABLE = 'bronze.bench.events_multipart';
const CLI_TABLE = 'bronze.bench.events_cli';
/** Rounds of ours and DuckDB's COPY, alternating which goes first (BENCH_INGEST_ROUNDS). */
const ROUNDS = Math.max(1, Number(process.env.BENCH_INGEST_ROUNDS ?? 3));
const FILE_NAME = 'events.csv';
const RATIO_GOAL = 0.8;
const RSS_SAMPLE_MS = 100;
const CHUNK_BYTES = 4 << 20;
const MAX_ROW_BYTES = 1024;
const BASE_TS = Date.UTC(2024, 0, 1);
const TS_STEP_MS = 250;
const DAY_MS = 86_400_000;
const MiB = 2 ** 20;
const WORDS = (
  'alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec romeo ' +
  'sierra tango uniform victor whiskey xray yankee zulu order invoice refund parcel courier warehouse customer ' +
  'priority standard express returned delivered pending cancelled north south east west central'
).split(' ');

/** What was generated: the ground truth the checks compare with. */
interface CsvFacts {
  bytes: number;
  rows: number;
  /** Rows with a non-empty `qty`. */
  qtyCount: number;
  qtySum: bigint;
  idSum: bigint;
}

/** ASCII codes used by the generator. */
const C = { comma: 44, newline: 10, space: 32, quote: 34, colon: 58, dot: 46, zero: 48 } as const;

/** Writes the decimal digits of a non-negative integer at `off`, left-padded with zeros to `width`; returns the new offset. */
function putInt(buf: Buffer, off: number, n: number, width = 1): number {
  let digits = 1;
  for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
  const len = Math.max(digits, width);
  for (let k = len - 1, x = n; k >= 0; k--, x = Math.floor(x / 10)) buf[off + k] = C.zero + (x % 10);
  return off + len;
}

/**
 * Streams a CSV of at least `targetBytes` to `file`: `id,ts,note,amount,qty` with increasing ids and timestamps
 * (`YYYY-MM-DD HH:MM:SS.mmm`), notes of 2-7 words (1 in 16 quoted with a comma inside), two-decimal amounts and 1 in
 * 50 `qty` empty (null). Bytes are written straight into a buffer that is flushed when nearly full: no per-row
 * strings for the GC, so that generating 1 GiB takes seconds, not minutes.
 */
async function generateCsv(file: string, targetBytes: number): Promise<CsvFacts> {
  const rnd = seededRandom(SEED);
  const words = WORDS.map((w) => Buffer.from(w, 'latin1'));
  const fh = await open(file, 'w');
  const facts: CsvFacts = { bytes: 0, rows: 0, qtyCount: 0, qtySum: 0n, idSum: 0n };
  let qtySum = 0;
  let idSum = 0;
  let dayNumber = -1;
  let date = Buffer.alloc(0);
  const buf = Buffer.allocUnsafe(CHUNK_BYTES);
  let o = buf.write('id,ts,note,amount,qty\n', 0, 'latin1');
  const flush = async (): Promise<void> => {
    let off = 0;
    while (off < o) off += (await fh.write(buf, off, o - off)).bytesWritten;
    facts.bytes += o;
    o = 0;
  };
  const word = (): void => {
    const w = words[randInt(rnd, 0, words.length - 1)];
    buf.set(w, o);
    o += w.length;
  };
  try {
    for (let i = 1; facts.bytes + o < targetBytes || facts.rows === 0; i++) {
      o = putInt(buf, o, i);
      buf[o++] = C.comma;
      const t = BASE_TS + (i - 1) * TS_STEP_MS;
      const day = Math.floor(t / DAY_MS);
      if (day !== dayNumber) {
        dayNumber = day;
        date = Buffer.from(new Date(day * DAY_MS).toISOString().slice(0, 10), 'latin1');
      }
      buf.set(date, o);
      o += date.length;
      buf[o++] = C.space;
      const ms = t - day * DAY_MS;
      o = putInt(buf, o, Math.floor(ms / 3_600_000), 2);
      buf[o++] = C.colon;
      o = putInt(buf, o, Math.floor(ms / 60_000) % 60, 2);
      buf[o++] = C.colon;
      o = putInt(buf, o, Math.floor(ms / 1000) % 60, 2);
      buf[o++] = C.dot;
      o = putInt(buf, o, ms % 1000, 3);
      buf[o++] = C.comma;
      const quoted = randInt(rnd, 0, 15) === 0;
      if (quoted) buf[o++] = C.quote;
      const nWords = randInt(rnd, 2, 7);
      word();
      for (let w = 1; w < nWords; w++) {
        buf[o++] = C.space;
        word();
      }
      if (quoted) {
        buf[o++] = C.comma;
        buf[o++] = C.space;
        word();
        buf[o++] = C.quote;
      }
      buf[o++] = C.comma;
      const cents = randInt(rnd, 0, 9_999_999);
      o = putInt(buf, o, Math.floor(cents / 100));
      buf[o++] = C.dot;
      o = putInt(buf, o, cents % 100, 2);
      buf[o++] = C.comma;
      if (randInt(rnd, 0, 49) !== 0) {
        const q = randInt(rnd, 1, 1000);
        o = putInt(buf, o, q);
        qtySum += q;
        facts.qtyCount++;
      }
      buf[o++] = C.newline;
      idSum += i;
      facts.rows++;
      if (o > CHUNK_BYTES - MAX_ROW_BYTES) await flush();
    }
    await flush();
  } finally {
    await fh.close();
  }
  facts.qtySum = BigInt(qtySum);
  facts.idSum = BigInt(idSum);
  return facts;
}

/** The outcome of one multipart upload: timings from the client's side and the parsed response. */
interface UploadOutcome {
  status: number;
  body: Record<string, unknown>;
  /** ms until the whole request body was handed to the socket. */
  uploadMs: number;
  /** ms until the response arrived. */
  totalMs: number;
}

/** How the file travels: as the raw request body (options in the query string) or as a multipart form's file field. */
type UploadMode = 'raw' | 'multipart';

/** POSTs `file` to `url` as the raw body or as the multipart field `file`, streaming it from disk (never in memory). */
async function uploadFile(url: string, token: string, file: string, fileName: string, mode: UploadMode): Promise<UploadOutcome> {
  const size = (await stat(file)).size;
  const boundary = `----lakehouse-bench-${Date.now().toString(16)}`;
  const head = mode === 'raw' ? '' : `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${fileName}"\r\nContent-Type: text/csv\r\n\r\n`;
  const tail = mode === 'raw' ? '' : `\r\n--${boundary}--\r\n`;
  const t0 = performance.now();
  const req = http.request(mode === 'raw' ? `${url}?fileName=${encodeURIComponent(fileName)}` : url, {
    method: 'POST',
    agent: false,
    headers: {
      Authorization: `Bearer ${token}`,
      'Content-Type': mode === 'raw' ? 'text/csv' : `multipart/form-data; boundary=${boundary}`,
      'Content-Length': String(Buffer.byteLength(head) + size + Buffer.byteLength(tail)),
    },
  });
  const response = new Promise<{ status: number; text: string; at: number }>((resolve, reject) => {
    req.once('response', (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(parts).toString('utf8'), at: performance.now() }));
      res.once('error', reject);
    });
    req.once('error', reject);
  });
  async function* body(): AsyncGenerator<Buffer> {
    if (head) yield Buffer.from(head);
    for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) yield chunk as Buffer;
    if (tail) yield Buffer.from(tail);
  }
  let uploadMs = Number.NaN;
  // A raw body streams straight from the file (as curl --data-binary would); a form wraps it in its boundaries.
  const source = mode === 'raw' ? createReadStream(file, { highWaterMark: 1 << 20 }) : Readable.from(body());
  const sent = pipeline(source, req).then(() => (uploadMs = performance.now() - t0));
  const r = await response;
  await sent.catch(() => undefined); // an early error response may cut the upload short
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(r.text) as Record<string, unknown>;
  } catch {
    parsed = { text: r.text.slice(0, 500) };
  }
  return { status: r.status, body: parsed, uploadMs, totalMs: r.at - t0 };
}

/** One `lakehouse ingest` run: the whole process's wall time, its exit code, its JSON result and its peak RSS. */
interface CliOutcome {
  ms: number;
  code: number | null;
  result: Record<string, unknown>;
  peakRssMB: number;
  stderr: string;
}

/** Runs `lakehouse ingest <csv> <table> --warehouse <dir> --json` (the CLI under tsx, as `pnpm -s lakehouse` runs it). */
async function ingestWithCli(csv: string, warehouseDir: string, table: string): Promise<CliOutcome> {
  const t0 = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', 'apps/bff/src/cli/main.ts', 'ingest', csv, table, '--warehouse', warehouseDir, '--json'], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const sampler = sampleRss(child.pid as number);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (c) => resolve(c));
  });
  const ms = performance.now() - t0;
  const peakRssMB = await sampler.stop();
  let result: Record<string, unknown>;
  try {
    result = JSON.parse(stdout.trim().split('\n').pop() ?? '') as Record<string, unknown>;
  } catch {
    result = { text: stdout.slice(0, 500) };
  }
  return { ms, code, result, peakRssMB, stderr };
}

/** Samples a process's RSS every RSS_SAMPLE_MS; `stop` ends the sampling and resolves with the largest sample (MiB). */
function sampleRss(pid: number): { stop: () => Promise<number> } {
  let peak = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const m = await processMemory(pid);
      // A process that has exited but is not reaped yet has no VmRSS.
      if (m && Number.isFinite(m.rssMB)) peak = Math.max(peak, m.rssMB);
      await new Promise((r) => setTimeout(r, RSS_SAMPLE_MS));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return peak;
    },
  };
}

/** Counts and sums of the rows in the Parquet files under `glob` (checks that nothing was lost or duplicated). */
async function parquetFacts(conn: DuckDBConnection, glob: string): Promise<{ rows: number; qtyCount: number; qtySum: bigint; idSum: bigint }> {
  const r = await conn.runAndReadAll(
    `SELECT count(*)::VARCHAR AS n, count(qty)::VARCHAR AS q, sum(qty)::VARCHAR AS qs, sum(id)::VARCHAR AS ids ` +
      `FROM read_parquet('${glob.replace(/'/g, "''")}', hive_partitioning=false)`,
  );
  const row = r.getRowObjectsJson()[0] as Record<string, string | null>;
  return { rows: Number(row.n), qtyCount: Number(row.q), qtySum: BigInt(row.qs ?? 0), idSum: BigInt(row.ids ?? 0) };
}

/** The phase of an ingest a DuckDB statement belongs to (from the statements src/ingest and the writer run). */
function phaseOf(sql: string): string {
  if (/sniff_csv\(/.test(sql)) return /sample_size=-1/.test(sql) ? 'sniff_csv (every row: retry after a type miss)' : 'sniff_csv (sample of rows)';
  if (/^\s*DESCRIBE\b/i.test(sql)) return 'DESCRIBE (schema of file/source)';
  if (/CREATE TEMP TABLE/i.test(sql)) return 'stage: read_csv into sorted temp table';
  if (/FILTER \(WHERE .* IS NULL\)/.test(sql)) return 'not-null check on staging';
  if (/GROUP BY __pid, __chunk/.test(sql)) return 'file stats (GROUP BY on staging)';
  if (/^\s*SELECT __delta_file AS __file/.test(sql)) return 'stats read back from written files';
  if (/^\s*COPY\b[\s\S]*RETURN_STATS/i.test(sql)) return 'COPY source -> Parquet files (one streaming pass)';
  if (/^\s*COPY\b/i.test(sql)) return 'COPY staging -> Parquet files';
  return 'other statements';
}

/**
 * ES module preloaded into the server process (`--import data:...`): wraps DuckDBConnection.prototype.run and
 * runAndReadAll (of the very module file the BFF loads) and appends `{ms, end, sql}` per statement to the file named
 * by LAKEHOUSE_BENCH_SQL_LOG. runAndReadAll calls run inside: only the outer call of a connection is logged.
 */
const SQL_PROBE = `
import { appendFileSync } from 'node:fs';
import { createRequire } from 'node:module';
const file = process.env.LAKEHOUSE_BENCH_DUCKDB_MAIN;
const log = process.env.LAKEHOUSE_BENCH_SQL_LOG;
const { DuckDBConnection } = createRequire(file)(file);
const active = new WeakSet();
for (const name of ['run', 'runAndReadAll']) {
  const inner = DuckDBConnection.prototype[name];
  DuckDBConnection.prototype[name] = async function (sql, ...rest) {
    if (active.has(this)) return inner.call(this, sql, ...rest);
    active.add(this);
    const t = performance.now();
    try {
      return await inner.call(this, sql, ...rest);
    } finally {
      active.delete(this);
      appendFileSync(log, JSON.stringify({ ms: performance.now() - t, end: Date.now(), sql: String(sql) }) + '\\n');
    }
  };
}
`;

/** One DuckDB statement the server ran, as logged by SQL_PROBE. */
interface LoggedStatement {
  ms: number;
  end: number;
  sql: string;
}

/** Statement times by phase, largest first. */
function phases(statements: LoggedStatement[]): [string, { ms: number; n: number }][] {
  const out = new Map<string, { ms: number; n: number }>();
  for (const st of statements) {
    const p = phaseOf(st.sql);
    const e = out.get(p) ?? { ms: 0, n: 0 };
    e.ms += st.ms;
    e.n++;
    out.set(p, e);
  }
  return [...out.entries()].sort((a, b) => b[1].ms - a[1].ms);
}

/**
 * Waits for the file system to write out what earlier steps left dirty (the generated CSV, a previous run's files), so
 * that no measured run pays for another's writeback: whichever runs first would otherwise share the disk with it.
 */
async function settleDisk(): Promise<void> {
  await new Promise<void>((resolve) => execFile('sync', () => resolve()));
  await settle(500);
}

async function run(log: (msg: string) => void): Promise<BenchResult> {
  const mb = Number(process.env.BENCH_INGEST_MB ?? DEFAULT_MB);
  if (!Number.isFinite(mb) || mb <= 0) throw new Error(`BENCH_INGEST_MB must be a positive number of MiB, got "${process.env.BENCH_INGEST_MB}"`);
  const checks: Check[] = [];
  const notes: string[] = [];
  const { dir, cleanup } = await tempDir('ingest');
  const inst = await DuckDBInstance.create(':memory:');
  const conn = await inst.connect();
  try {
    const csv = path.join(dir, FILE_NAME);
    log(`generating ${mb} MiB of CSV ...`);
    const gen = await timed(() => generateCsv(csv, mb * MiB));
    const facts = gen.value;
    const csvMB = facts.bytes / MiB;
    log(`  ${facts.rows} rows, ${fmt(csvMB)} MiB in ${(gen.ms / 1000).toFixed(1)} s`);

    // (a) ours: the file as the raw request body to a BFF child process, which ingests before it answers. The probe logs
    // its SQL (of this first ingest only: the log is read before the multipart run).
    const warehouseDir = path.join(dir, 'warehouse');
    const sqlLog = path.join(dir, 'server-sql.jsonl');
    const server = await startBffProcess(warehouseDir, {
      nodeArgs: ['--import', `data:text/javascript,${encodeURIComponent(SQL_PROBE)}`],
      env: {
        LAKEHOUSE_BENCH_SQL_LOG: sqlLog,
        LAKEHOUSE_BENCH_DUCKDB_MAIN: createRequire(path.join(REPO_ROOT, 'apps', 'bff', 'package.json')).resolve('@duckdb/node-api'),
      },
    });
    // Rounds rotate which side goes first (this VM's speed drifts over minutes): ours into a fresh table each round
    // (the CLI's and the server's into the same warehouse), DuckDB's COPY in this process. The figures are the medians
    // of the rounds.
    const rounds = ROUNDS;
    const oursRuns: UploadOutcome[] = [];
    const cliRuns: CliOutcome[] = [];
    const duckRuns: number[] = [];
    let multipart: UploadOutcome;
    let loggedSql = '';
    let peakRssMB = 0;
    let startRssMB: number;
    let uploadEnd = Number.NaN;
    const out = path.join(dir, 'duckdb.parquet');
    const tableOf = (r: number): string => (r === 0 ? TABLE : `${TABLE}_${r}`);
    const cliTableOf = (r: number): string => `${CLI_TABLE}_${r}`;
    const sides = ['cli', 'duckdb', 'http'] as const;
    try {
      await rm(sqlLog, { force: true }); // statements of the server's start-up are not the ingest's
      startRssMB = (await processMemory(server.pid))?.rssMB ?? Number.NaN;
      for (let r = 0; r < rounds; r++) {
        for (const side of [...sides.slice(r % sides.length), ...sides.slice(0, r % sides.length)]) {
          await settleDisk();
          if (side === 'cli') {
            log(`round ${r + 1}/${rounds}: lakehouse ingest ${FILE_NAME} ${cliTableOf(r)} ...`);
            const o = await ingestWithCli(csv, warehouseDir, cliTableOf(r));
            cliRuns.push(o);
            log(`  exit ${String(o.code)} after ${(o.ms / 1000).toFixed(1)} s`);
            checks.push({
              name: `round ${r + 1}: lakehouse ingest exited 0 reporting every generated row`,
              ok: o.code === 0 && Number(o.result.rows) === facts.rows,
              details: { code: o.code, generated: facts.rows, reported: o.result.rows, stderr: o.code === 0 ? undefined : o.stderr },
            });
            continue;
          }
          if (side === 'duckdb') {
            log(`round ${r + 1}/${rounds}: DuckDB COPY (SELECT * FROM read_csv(file)) TO parquet ...`);
            const duck = await timed(() => conn.run(`COPY (SELECT * FROM read_csv('${csv.replace(/'/g, "''")}')) TO '${out.replace(/'/g, "''")}' (FORMAT parquet)`));
            duckRuns.push(duck.ms);
            log(`  ${(duck.ms / 1000).toFixed(1)} s`);
            if (r === 0) {
              const duckFacts = await parquetFacts(conn, out);
              checks.push({ name: 'DuckDB baseline wrote every row', ok: duckFacts.rows === facts.rows, details: { rows: duckFacts.rows, expected: facts.rows } });
            }
            await rm(out, { force: true });
            continue;
          }
          log(`round ${r + 1}/${rounds}: ingesting through POST /api/tables/${tableOf(r)}/ingest ...`);
          const sampler = sampleRss(server.pid);
          const started = Date.now();
          const o = await uploadFile(`${server.url}/api/tables/${tableOf(r)}/ingest`, server.token, csv, FILE_NAME, 'raw');
          const sampledPeak = await sampler.stop();
          const hwm = (await processMemory(server.pid))?.hwmMB ?? Number.NaN;
          peakRssMB = Math.max(peakRssMB, sampledPeak, Number.isFinite(hwm) ? hwm : 0);
          oursRuns.push(o);
          log(`  HTTP ${o.status} after ${(o.totalMs / 1000).toFixed(1)} s (upload ${(o.uploadMs / 1000).toFixed(1)} s)`);
          checks.push({ name: `round ${r + 1}: ingest answered 200 with every generated row`, ok: o.status === 200 && Number(o.body.rows) === facts.rows, details: { status: o.status, generated: facts.rows, reported: o.body.rows } });
          if (r === 0) {
            // The first round's statements give the breakdown of where the server's time went.
            uploadEnd = started + o.uploadMs;
            loggedSql = await readFile(sqlLog, 'utf8').catch(() => '');
          }
        }
      }
      // The same file as a multipart form (what a browser form sends), into another table: for comparison only.
      await settleDisk();
      log(`ingesting again as a multipart form into ${MULTIPART_TABLE} ...`);
      multipart = await uploadFile(`${server.url}/api/tables/${MULTIPART_TABLE}/ingest`, server.token, csv, FILE_NAME, 'multipart');
      log(`  HTTP ${multipart.status} after ${(multipart.totalMs / 1000).toFixed(1)} s (upload ${(multipart.uploadMs / 1000).toFixed(1)} s)`);
    } finally {
      await server.stop();
    }
    const ours = oursRuns[0];
    checks.push({ name: 'multipart ingest reports every generated row', ok: multipart.status === 200 && Number(multipart.body.rows) === facts.rows, details: { status: multipart.status, reported: multipart.body.rows } });

    // The first tables' files hold every row exactly once (counts and sums against the generator's).
    for (const [table, wrote] of [
      [TABLE, ours.status === 200],
      [cliTableOf(0), cliRuns[0].code === 0],
    ] as const) {
      const got = wrote ? await parquetFacts(conn, path.join(warehouseDir, ...table.split('.'), '**', '*.parquet')) : null;
      checks.push({
        name: `${table}: files hold every row once (count, count(qty), sum(qty), sum(id))`,
        ok: got !== null && got.rows === facts.rows && got.qtyCount === facts.qtyCount && got.qtySum === facts.qtySum && got.idSum === facts.idSum,
        details: got ? { rows: got.rows, expected: facts.rows, qtySum: String(got.qtySum), expectedQtySum: String(facts.qtySum) } : { wrote },
      });
    }
    await rm(warehouseDir, { recursive: true, force: true });
    const oursMs = median(oursRuns.map((o) => o.totalMs));
    const cliMs = median(cliRuns.map((o) => o.ms));
    const duckMs = median(duckRuns);
    const oursMBps = csvMB / (oursMs / 1000);
    const cliMBps = csvMB / (cliMs / 1000);
    const duckMBps = csvMB / (duckMs / 1000);

    // Where the server's time went: upload, each phase's DuckDB statements, and the rest (JS, snapshot, commit, catalog).
    const statements = loggedSql
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as LoggedStatement);
    const byPhase = phases(statements);
    const sqlMs = byPhase.reduce((sum, [, e]) => sum + e.ms, 0);
    const firstStart = statements.length > 0 ? Math.min(...statements.map((st) => st.end - st.ms)) : Number.NaN;
    checks.push({ name: 'the server probe logged the ingest statements', ok: statements.some((st) => /sniff_csv|read_csv/.test(st.sql)), details: { statements: statements.length } });

    const metrics: Metric[] = [
      metric('ours: lakehouse ingest (local file, process start included)', cliMBps, 'MiB/s'),
      metric('duckdb: COPY read_csv -> parquet', duckMBps, 'MiB/s'),
      metric('ratio lakehouse ingest/duckdb', cliMBps / duckMBps, 'x', { cmp: '>=', target: RATIO_GOAL }),
      metric('ours over HTTP: upload + ingest', oursMBps, 'MiB/s'),
      metric('ratio over HTTP/duckdb', oursMBps / duckMBps, 'x'),
      metric('multipart form: upload + ingest', csvMB / (multipart.totalMs / 1000), 'MiB/s'),
      metric('multipart form: ratio ours/duckdb', csvMB / (multipart.totalMs / 1000) / duckMBps, 'x'),
      metric('lakehouse ingest: wall time (median)', cliMs / 1000, 's'),
      metric('over HTTP: wall time (median)', oursMs / 1000, 's'),
      metric('duckdb: wall time (median)', duckMs / 1000, 's'),
      metric('lakehouse ingest: ratio per round (min)', Math.min(...cliRuns.map((o, i) => duckRuns[i] / o.ms)), 'x'),
      metric('lakehouse ingest: ratio per round (max)', Math.max(...cliRuns.map((o, i) => duckRuns[i] / o.ms)), 'x'),
      metric('over HTTP: ratio per round (min)', Math.min(...oursRuns.map((o, i) => duckRuns[i] / o.totalMs)), 'x'),
      metric('over HTTP: ratio per round (max)', Math.max(...oursRuns.map((o, i) => duckRuns[i] / o.totalMs)), 'x'),
      metric('lakehouse ingest: peak RSS', Math.max(...cliRuns.map((o) => o.peakRssMB)), 'MiB'),
      metric('server peak RSS during ingest', peakRssMB, 'MiB'),
      metric('server RSS before ingest', startRssMB, 'MiB'),
      metric('time: upload (client -> server disk, round 1)', ours.uploadMs / 1000, 's'),
      metric('time: upload end -> first DuckDB statement', (firstStart - uploadEnd) / 1000, 's'),
      ...byPhase.map(([name, e]) => metric(`time: ${name}${e.n > 1 ? ` (${e.n} stmts)` : ''}`, e.ms / 1000, 's')),
      metric('time: rest (JS, snapshot, commit, catalog, response; round 1)', (ours.totalMs - ours.uploadMs - sqlMs) / 1000, 's'),
    ];
    notes.push(
      `CSV: ${facts.rows} rows, ${round(csvMB, 1)} MiB, generated in ${(gen.ms / 1000).toFixed(1)} s`,
      `upload ${fmt(csvMB / (ours.uploadMs / 1000))} MiB/s; DuckDB statements in the server ${(sqlMs / 1000).toFixed(1)} s = ${fmt(csvMB / (sqlMs / 1000))} MiB/s`,
      'server: child process on loopback, PGlite catalog, 4 engines on one DuckDB instance (memory_limit 4GB); baseline: DuckDB defaults in the bench process',
    );
    return {
      name: 'ingest',
      params: { mb, rows: facts.rows, bytes: facts.bytes, seed: SEED },
      metrics,
      checks,
      notes,
      samples: {
        cliMs: cliRuns.map((o) => o.ms),
        oursMs: oursRuns.map((o) => o.totalMs),
        uploadMs: oursRuns.map((o) => o.uploadMs),
        duckdbMs: duckRuns,
        generateMs: [gen.ms],
        ...Object.fromEntries(byPhase.map(([name, e]) => [`server: ${name}`, [e.ms]])),
      },
    };
  } finally {
    conn.closeSync();
    inst.closeSync();
    await cleanup();
  }
}

/** `pnpm bench ingest`: CSV ingest through the API against DuckDB's own CSV-to-Parquet copy. */
export const ingest: Benchmark = {
  name: 'ingest',
  description: 'CSV ingest into bronze with `lakehouse ingest` and through the API vs DuckDB COPY read_csv -> parquet (BENCH_INGEST_MB, default 1024)',
  run,
};
