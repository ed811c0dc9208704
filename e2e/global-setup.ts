// Global setup of the browser tests: builds the console when its sources changed, starts a BFF on a temporary copy of
// a small demo warehouse, signs in with the printed one-time login URL, creates an analyst and a viewer, and writes
// base URL and tokens to a JSON file whose path the tests find in LAKEHOUSE_E2E_ENV. The returned function is the
// global teardown: it stops the server (SIGTERM) and removes the temporary folder.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FullConfig } from '@playwright/test';
import { ENV_VAR, type E2eEnv, type E2eUser, type Role } from './support/env.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Row-count multiplier of the demo warehouse (the generator's floor is about 200 orders a day). */
const DEMO_SCALE = process.env.LAKEHOUSE_E2E_DEMO_SCALE ?? '0.01';
const SERVER_LOG = join(ROOT, '.tmp', 'e2e-server.log');

const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;
const log = (line: string) => process.stdout.write(`[e2e setup] ${line}\n`);

/** Newest modification time (ms) under the given files and folders, 0 when none exist. */
function newestMtime(paths: string[]): number {
  let newest = 0;
  const visit = (p: string) => {
    if (!existsSync(p)) return;
    const st = statSync(p);
    if (st.isDirectory()) {
      for (const e of readdirSync(p)) if (e !== 'node_modules' && e !== 'dist') visit(join(p, e));
    } else newest = Math.max(newest, st.mtimeMs);
  };
  paths.forEach(visit);
  return newest;
}

/** Runs a command in the repository root; resolves with its exit code and combined output. */
function runCommand(cmd: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.once('error', (e) => resolve({ code: null, output: output + e.message }));
    child.once('close', (code) => resolve({ code, output }));
  });
}

/** Builds the console unless apps/web/dist is newer than every source it is built from (the rule of `./dev start`). */
async function ensureWebBuild(): Promise<void> {
  if (process.env.LAKEHOUSE_E2E_SKIP_BUILD === '1') return;
  const index = join(ROOT, 'apps/web/dist/index.html');
  const sources = ['apps/web/src', 'apps/web/index.html', 'apps/web/vite.config.ts', 'apps/web/public', 'packages/core/src', 'packages/contracts/src'].map((p) => join(ROOT, p));
  if (existsSync(index) && statSync(index).mtimeMs >= newestMtime(sources)) return;
  const started = Date.now();
  log('building the console (pnpm --filter @lakehouse/web build) ...');
  const r = await runCommand('pnpm', ['--filter', '@lakehouse/web', 'build']);
  if (r.code !== 0) throw new Error(`building the console failed (exit ${r.code}):\n${r.output.slice(-4000)}`);
  log(`console built in ${seconds(started)}`);
}

/**
 * A folder holding the demo tables at DEMO_SCALE, built once per version of the demo generator and kept under
 * .tmp/e2e-demo/ (copying it takes milliseconds, building it about ten seconds). Null when the generator cannot be
 * driven with a scale; the server then builds its default demo itself.
 */
async function demoTemplate(): Promise<string | null> {
  const demoDir = join(ROOT, 'apps/bff/src/demo');
  // Keyed by the scale and every file of the generator (subfolders included), so any change to it rebuilds the template.
  const hash = createHash('sha256').update(`scale=${DEMO_SCALE}\n`);
  const hashTree = (dir: string, rel: string): void => {
    for (const f of readdirSync(dir).sort()) {
      const path = join(dir, f);
      if (statSync(path).isDirectory()) hashTree(path, `${rel}${f}/`);
      else hash.update(`${rel}${f}\n`).update(readFileSync(path));
    }
  };
  hashTree(demoDir, '');
  const cacheRoot = join(ROOT, '.tmp', 'e2e-demo');
  const key = hash.digest('hex').slice(0, 16);
  const dir = join(cacheRoot, key);
  if (existsSync(dir)) return dir;
  mkdirSync(cacheRoot, { recursive: true });
  // Drop the templates of older generators, and partial builds that a killed run left behind an hour ago or more.
  for (const old of readdirSync(cacheRoot)) {
    const path = join(cacheRoot, old);
    if (old.includes('.partial-') ? statSync(path).mtimeMs < Date.now() - 3_600_000 : old !== key) rmSync(path, { recursive: true, force: true });
  }
  const partial = `${dir}.partial-${process.pid}`;
  const started = Date.now();
  log(`building the demo warehouse at scale ${DEMO_SCALE} ...`);
  const r = await runCommand(process.execPath, ['--import', 'tsx', 'e2e/support/build-demo.ts', partial, DEMO_SCALE]);
  if (r.code !== 0) {
    rmSync(partial, { recursive: true, force: true });
    log(`could not build a small demo warehouse (exit ${r.code}); the server builds its default one instead:\n${r.output.slice(-2000)}`);
    return null;
  }
  try {
    renameSync(partial, dir);
  } catch (e) {
    // Another run finished the same template first: use that one.
    rmSync(partial, { recursive: true, force: true });
    if (!existsSync(dir)) throw e;
  }
  log(`demo warehouse built in ${seconds(started)}`);
  return dir;
}

/** What the server printed on start. */
interface Started {
  url: string;
  loginUrl: string;
}

/**
 * Starts `lakehouse serve` on a free port (`--port 0`; the server prints the port it got) and resolves with its URL and
 * one-time login URL once it is listening. With `hasDemo` the warehouse already holds the demo (`--no-demo`);
 * `webDist` is a copy of the built console to serve.
 */
function startServer(warehouse: string, hasDemo: boolean, webDist: string | null, timeoutMs: number): { child: ChildProcess; started: Promise<Started> } {
  const env = { ...process.env };
  // The server must own a fresh catalog in the temporary warehouse: a shared PostgreSQL would have no first start.
  delete env.DATABASE_URL;
  delete env.LAKEHOUSE_DEMO;
  env.LAKEHOUSE_DEMO_SCALE = DEMO_SCALE; // honoured if the CLI learns it; the template already holds the tables
  // A private copy of the console, so that a rebuild of apps/web/dist during the run (someone else's `vite build`
  // empties it first) cannot break pages; honoured once the CLI reads LAKEHOUSE_WEB_DIST, apps/web/dist until then.
  if (webDist) env.LAKEHOUSE_WEB_DIST = webDist;
  const args = ['--import', 'tsx', 'apps/bff/src/cli/main.ts', 'serve', '--warehouse', warehouse, '--port', '0', '--host', '127.0.0.1', ...(hasDemo ? ['--no-demo'] : [])];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  mkdirSync(join(ROOT, '.tmp'), { recursive: true });
  const out = createWriteStream(SERVER_LOG);
  child.stdout!.pipe(out, { end: false });
  child.stderr!.pipe(out, { end: false });
  const started = new Promise<Started>((resolve, reject) => {
    let text = '';
    let url: string | null = null;
    const timer = setTimeout(() => fail(`the server did not print its login URL within ${timeoutMs / 1000} s`), timeoutMs);
    const fail = (why: string) => {
      clearTimeout(timer);
      reject(new Error(`${why}; its output (${SERVER_LOG}):\n${text.slice(-3000)}`));
    };
    const onData = (chunk: Buffer) => {
      text += chunk.toString('utf8');
      url ??= /serving .* on (http:\/\/\S+)/.exec(text)?.[1] ?? null;
      const login = /(http:\/\/\S+\/login#token=\S+)/.exec(text)?.[1];
      if (url && login) {
        clearTimeout(timer);
        resolve({ url, loginUrl: login });
      } else if (/^API: /m.test(text)) {
        fail('the server started without a one-time login URL (its catalog was not fresh)');
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code, signal) => fail(`the server exited early (code ${code}, signal ${signal})`));
    child.once('error', (e) => fail(`the server could not be started: ${e.message}`));
  });
  return { child, started };
}

/** Stops the server with SIGTERM, and with SIGKILL when it has not exited after 15 s. */
async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

/** Calls the API and returns the JSON answer; throws with the API's error on any other status than `expect`. */
async function call<T>(baseURL: string, token: string | null, method: string, path: string, body: unknown, expect: number): Promise<T> {
  const res = await fetch(baseURL + path, {
    method,
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== expect) throw new Error(`${method} ${path} answered ${res.status} (expected ${expect}): ${text.slice(0, 500)}`);
  return JSON.parse(text) as T;
}

/** Creates a user with `role` (or, for `existing`, uses that one) and issues it a reusable token. */
async function userWithToken(baseURL: string, admin: string, role: Role, existing?: { id: string; name: string }): Promise<E2eUser> {
  const user = existing ?? (await call<{ id: string; name: string }>(baseURL, admin, 'POST', '/api/users', { name: `e2e-${role}`, role }, 201));
  const issued = await call<{ token: string }>(baseURL, admin, 'POST', `/api/users/${user.id}/tokens`, {}, 201);
  return { id: user.id, name: user.name, role, token: issued.token };
}

/** Playwright global setup; the returned function is the global teardown. */
export default async function globalSetup(_config: FullConfig): Promise<() => Promise<void>> {
  const t0 = Date.now();
  // The console build and the demo build are independent: run them side by side.
  const [, template] = await Promise.all([ensureWebBuild(), demoTemplate()]);
  const tPrepared = Date.now();

  const tmp = mkdtempSync(join(tmpdir(), 'lakehouse-e2e-'));
  const warehouse = join(tmp, 'warehouse');
  if (template) cpSync(template, warehouse, { recursive: true });
  else mkdirSync(warehouse);

  const dist = join(ROOT, 'apps/web/dist');
  const webDist = existsSync(join(dist, 'index.html')) ? join(tmp, 'web-dist') : null;
  if (webDist) cpSync(dist, webDist, { recursive: true });

  const { child, started } = startServer(warehouse, template !== null, webDist, template ? 180_000 : 900_000);
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const teardown = async () => {
    const t = Date.now();
    process.removeListener('exit', killOnExit);
    await stopServer(child);
    if (process.env.LAKEHOUSE_E2E_KEEP === '1') log(`kept ${tmp} (LAKEHOUSE_E2E_KEEP=1)`);
    else rmSync(tmp, { recursive: true, force: true });
    log(`server stopped and warehouse removed in ${seconds(t)}`);
  };
  try {
    const { url, loginUrl } = await started;
    const tServer = Date.now();
    const oneTime = decodeURIComponent(loginUrl.slice(loginUrl.indexOf('#token=') + '#token='.length));
    const login = await call<{ token: string; user: { id: string; name: string; role: Role } }>(url, null, 'POST', '/api/auth/login', { token: oneTime }, 200);
    const session = login.token;
    const users = {
      admin: await userWithToken(url, session, 'admin', login.user),
      analyst: await userWithToken(url, session, 'analyst'),
      viewer: await userWithToken(url, session, 'viewer'),
    };
    const list = await call<{ tables: { name: string }[] }>(url, session, 'GET', '/api/tables', undefined, 200);
    const env: E2eEnv = { baseURL: url, warehouse, adminSession: session, users, tables: list.tables.map((t) => t.name).sort() };
    const envFile = join(tmp, 'env.json');
    writeFileSync(envFile, JSON.stringify(env, null, 2));
    process.env[ENV_VAR] = envFile;
    log(
      `ready in ${seconds(t0)} (console and demo builds ${((tPrepared - t0) / 1000).toFixed(1)} s, server start ${((tServer - tPrepared) / 1000).toFixed(1)} s, ` +
        `users ${seconds(tServer)}): ${url} with ${env.tables.length} tables; server log in ${SERVER_LOG}`,
    );
  } catch (e) {
    await teardown();
    throw e;
  }
  return teardown;
}
