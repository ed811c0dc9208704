import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';

// A throwaway PostgreSQL server for tests: initdb in a temporary directory, started on a free port on 127.0.0.1 with
// trust authentication, removed by stop(). As root (CI containers), the server runs as the `postgres` OS user, since
// initdb and postgres refuse to run as root.

const run = promisify(execFile);

/** A running test server: `url` points at an empty database; `createDatabase` makes more, `stop` removes everything. */
export interface TestPostgres {
  url: string;
  createDatabase(): Promise<string>;
  stop(): Promise<void>;
}

/** Env var that turns "PostgreSQL binaries missing" from a skip (null) into a failure; CI sets it to 1. */
export const REQUIRE_POSTGRES_ENV = 'LAKEHOUSE_REQUIRE_POSTGRES';

/**
 * Starts a throwaway PostgreSQL server. Returns null only when no PostgreSQL binaries are found and
 * LAKEHOUSE_REQUIRE_POSTGRES is not `1`; otherwise any failure throws.
 */
export async function startPostgres(): Promise<TestPostgres | null> {
  const bin = findBinDir();
  if (bin === null) {
    if (process.env[REQUIRE_POSTGRES_ENV] === '1') {
      throw new Error(
        `${REQUIRE_POSTGRES_ENV}=1 but no PostgreSQL server binaries were found (looked in $PG_BIN, /usr/lib/postgresql/*/bin and $PATH); ` +
          'install them, e.g. `apt-get install -y postgresql`',
      );
    }
    return null;
  }

  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? osUser('postgres') : null;
  const exec = (file: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', join(bin, file), ...args], { timeout: 120_000 }) : run(join(bin, file), args, { timeout: 120_000 });

  const root = await mkdtemp(join(tmpdir(), 'lh-pg-'));
  if (owner !== null) await chown(root, owner.uid, owner.gid);
  const data = join(root, 'data');
  const log = join(root, 'server.log');
  let port = 0;
  let started = false;
  const stopSync = () => {
    spawnSync(asRoot ? 'runuser' : join(bin, 'pg_ctl'), asRoot ? ['-u', 'postgres', '--', join(bin, 'pg_ctl'), '-D', data, '-m', 'immediate', 'stop'] : ['-D', data, '-m', 'immediate', 'stop']);
  };

  try {
    await exec('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
    for (let attempt = 1; !started; attempt++) {
      port = await freePort();
      const serverOptions = [
        `-p ${port}`,
        `-k ${root}`,
        '-c listen_addresses=127.0.0.1',
        '-c fsync=off',
        '-c synchronous_commit=off',
        '-c full_page_writes=off',
      ].join(' ');
      try {
        await exec('pg_ctl', ['-D', data, '-l', log, '-w', '-t', '60', '-o', serverOptions, 'start']);
        started = true;
      } catch (e) {
        if (attempt >= 3) throw e; // most likely the port was taken between freePort() and the start: try another
      }
    }
  } catch (e) {
    const serverLog = existsSync(log) ? readFileSync(log, 'utf8').slice(-2000) : '';
    if (started) stopSync();
    await rm(root, { recursive: true, force: true });
    throw new Error(`cannot start the test PostgreSQL server from ${bin}: ${e instanceof Error ? e.message : String(e)}\n${serverLog}`, { cause: e });
  }

  process.once('exit', stopSync);
  let databases = 0;
  const createDatabase = async (): Promise<string> => {
    const name = `lakehouse_test_${++databases}`;
    const client = new pg.Client({ connectionString: `postgresql://postgres@127.0.0.1:${port}/postgres` });
    await client.connect();
    try {
      await client.query(`CREATE DATABASE ${name}`);
    } finally {
      await client.end();
    }
    return `postgresql://postgres@127.0.0.1:${port}/${name}`;
  };
  const url = await createDatabase();
  let stopped = false;
  return {
    url,
    createDatabase,
    async stop() {
      if (stopped) return;
      stopped = true;
      process.removeListener('exit', stopSync);
      try {
        await exec('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    },
  };
}

/** The directory holding initdb and pg_ctl: $PG_BIN, the newest /usr/lib/postgresql/<v>/bin, or one on $PATH. */
function findBinDir(): string | null {
  const has = (dir: string) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'));
  const candidates: string[] = [];
  if (process.env.PG_BIN) candidates.push(process.env.PG_BIN);
  if (existsSync('/usr/lib/postgresql')) {
    const versions = readdirSync('/usr/lib/postgresql')
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => `/usr/lib/postgresql/${v}/bin`));
  }
  candidates.push(...(process.env.PATH ?? '').split(delimiter).filter((d) => d !== ''));
  return candidates.find(has) ?? null;
}

function osUser(name: string): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
  if (line === undefined) throw new Error(`tests run as root but there is no "${name}" OS user to run PostgreSQL as (install the postgresql package)`);
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A throwaway PostgreSQL server for the calling test file: started before its tests, stopped after them. Returns a
 * getter of the server (null when startPostgres found no binaries).
 */
export function postgresForSuite(timeoutMs = 180_000): () => TestPostgres | null {
  let server: TestPostgres | null = null;
  beforeAll(async () => {
    server = await startPostgres();
  }, timeoutMs);
  afterAll(async () => {
    await server?.stop();
  }, timeoutMs);
  return () => server;
}
