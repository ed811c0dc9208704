// Shared helpers of the benchmarks: seeded randomness, timing, environment info, result files and table printing.
import { spawn } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';

/** One figure a benchmark reports; `goal` is informational (benchmarks report, they do not gate on speed). */
export interface Metric {
  name: string;
  value: number;
  unit: string;
  /** Human-readable goal such as `<= 1.5`; absent when the figure is only informative. */
  goal?: string;
  /** Whether `value` meets `goal` (absent without a goal). */
  met?: boolean;
}

/** A correctness check; a failed check makes `pnpm bench` exit 1. */
export interface Check {
  name: string;
  ok: boolean;
  details?: Record<string, unknown>;
}

/** What a benchmark returns: its figures, its correctness checks, its parameters and free-form notes. */
export interface BenchResult {
  name: string;
  params: Record<string, unknown>;
  metrics: Metric[];
  checks: Check[];
  notes: string[];
  /** Raw timing samples (ms) by series, for later comparison. */
  samples: Record<string, number[]>;
  /** A compact benchmark-specific table to print instead of the metric list. */
  table?: { header: string[]; rows: string[][] };
}

/** A named benchmark that `bench/run.ts` can run. */
export interface Benchmark {
  name: string;
  description: string;
  run(log: (msg: string) => void): Promise<BenchResult>;
}

/** Deterministic PRNG (mulberry32): the same seed always yields the same sequence of floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in [lo, hi] drawn from `rnd`. */
export function randInt(rnd: () => number, lo: number, hi: number): number {
  return lo + Math.floor(rnd() * (hi - lo + 1));
}

/** A UUID-shaped hex string drawn from `rnd` (deterministic for a seeded `rnd`). */
export function fakeUuid(rnd: () => number): string {
  const hex = (n: number): string => {
    let s = '';
    for (let i = 0; i < n; i++) s += Math.floor(rnd() * 16).toString(16);
    return s;
  };
  return `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;
}

/** Median of a non-empty sample (mean of the two middle values for even sizes). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Milliseconds taken by `fn` (high-resolution clock), with its result. */
export async function timed<T>(fn: () => Promise<T> | T): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

/** V8's full-collection hook, obtained even when node was started without --expose-gc (null if V8 refuses). */
const gcHook: (() => void) | null = (() => {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (typeof existing === 'function') return existing;
  try {
    v8.setFlagsFromString('--expose-gc');
    const fn: unknown = vm.runInNewContext('gc');
    return typeof fn === 'function' ? (fn as () => void) : null;
  } catch {
    return null;
  }
})();

/** Runs a full garbage collection (when available), so that a timed run does not pay for the previous run's garbage. */
export function collectGarbage(): void {
  gcHook?.();
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Collects garbage, then idles `ms` so that V8's concurrent sweeping and pending I/O callbacks finish before the next
 * timed section (on a 2-core machine they otherwise land inside it).
 */
export async function settle(ms: number): Promise<void> {
  collectGarbage();
  await sleep(ms);
}

/**
 * Measures several series interleaved: `warmup` untimed rounds, then `runs` rounds in which every series runs once,
 * in order, each after `settle(settleMs)` when `settleMs` > 0 (for heavy runs; light ones skip it). Interleaving
 * spreads machine noise evenly over the series being compared.
 */
export async function measureInterleaved(
  series: Record<string, () => Promise<unknown>>,
  opts: { warmup: number; runs: number; settleMs: number },
): Promise<Record<string, number[]>> {
  const names = Object.keys(series);
  for (let i = 0; i < opts.warmup; i++) for (const n of names) await series[n]();
  const out: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, [] as number[]]));
  for (let i = 0; i < opts.runs; i++) {
    for (const n of names) {
      if (opts.settleMs > 0) await settle(opts.settleMs);
      out[n].push((await timed(series[n])).ms);
    }
  }
  return out;
}

/** Rounds to `digits` decimals for display and JSON. */
export function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** A metric with its goal evaluated (`cmp` `<=`, `<` or `>=` against `target`). */
export function metric(name: string, value: number, unit: string, goal?: { cmp: '<=' | '<' | '>='; target: number }): Metric {
  const m: Metric = { name, value: round(value, 3), unit };
  if (goal) {
    m.goal = `${goal.cmp} ${goal.target}`;
    m.met = goal.cmp === '<=' ? value <= goal.target : goal.cmp === '<' ? value < goal.target : value >= goal.target;
  }
  return m;
}

/** A fresh temp directory; `cleanup` removes it. */
export async function tempDir(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `lakehouse-bench-${prefix}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Node, OS and CPU facts recorded with every result. */
export function environment(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    node: process.version,
    v8: process.versions.v8,
    platform: process.platform,
    arch: process.arch,
    cpuCount: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    totalMemoryMB: Math.round(os.totalmem() / 2 ** 20),
    gcBetweenRuns: gcHook !== null,
  };
}

/** Directory of the result files (`bench/results`, git-ignored). */
export const RESULTS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');

/** Writes `bench/results/<name>.json` with the result and the environment; returns the file path. */
export async function writeResult(result: BenchResult, extra: Record<string, unknown>): Promise<string> {
  await mkdir(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${result.name}.json`);
  const samples = Object.fromEntries(Object.entries(result.samples).map(([k, xs]) => [k, xs.map((x) => round(x, 3))]));
  await writeFile(file, JSON.stringify({ ...extra, ...result, samples, environment: environment() }, null, 2) + '\n');
  return file;
}

/** Renders rows as a plain-text table with left-aligned columns. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]): string =>
    r
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** Formats a number for the table: integers as is, others with up to 3 significant decimals. */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (Number.isInteger(x)) return String(x);
  const abs = Math.abs(x);
  return abs >= 100 ? x.toFixed(1) : abs >= 1 ? x.toFixed(2) : x.toFixed(3);
}

/** Root of the repository (the parent of `bench/`). */
export const REPO_ROOT = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

/** Resident memory of a process from /proc/<pid>/status, in MiB: current (VmRSS) and peak so far (VmHWM); null when unreadable. */
export async function processMemory(pid: number): Promise<{ rssMB: number; hwmMB: number } | null> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => null);
  if (text === null) return null;
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? Number.NaN);
  return { rssMB: kb('VmRSS') / 1024, hwmMB: kb('VmHWM') / 1024 };
}

/** A BFF server running as a child process (`lakehouse serve`), signed in as its first admin. */
export interface BffProcess {
  url: string;
  pid: number;
  /** Bearer token of the admin (exchanged from the one-time login token). */
  token: string;
  /** Sends SIGTERM and resolves when the process has exited (SIGKILL after 15 s). */
  stop(): Promise<void>;
}

/**
 * Starts `node --import tsx [nodeArgs] apps/bff/src/cli/main.ts serve --warehouse <dir> --port 0 --no-demo` (extra `env`
 * on top of ours), waits for its URL and login URL on stdout (120 s at most: PGlite creates its catalog first) and
 * signs in; rejects with the server's stderr when it exits or stalls first.
 */
export async function startBffProcess(warehouse: string, options: { env?: Record<string, string>; nodeArgs?: string[] } = {}): Promise<BffProcess> {
  const args = ['--import', 'tsx', ...(options.nodeArgs ?? []), 'apps/bff/src/cli/main.ts', 'serve', '--warehouse', warehouse, '--port', '0', '--no-demo'];
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    const { url, loginToken } = await new Promise<{ url: string; loginToken: string }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the server did not start within 120 s: ${stderr}`)), 120_000);
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        const url = /serving .* on (http:\/\/\S+)/.exec(stdout)?.[1];
        const loginToken = /\/login#token=(\S+)/.exec(stdout)?.[1];
        if (url && loginToken && stdout.includes('API: ')) {
          clearTimeout(timer);
          resolve({ url, loginToken });
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the server exited (${String(code)}) before it was ready: ${stderr}`));
      });
    });
    const login = await fetch(`${url}/api/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token: loginToken }) });
    if (!login.ok) throw new Error(`login failed: ${login.status} ${await login.text()}`);
    const { token } = (await login.json()) as { token: string };
    return { url, pid: child.pid as number, token, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
