import pg from 'pg';
import { LakehouseError } from '@lakehouse/core';
import { toDbError, type Db, type Queryable } from './db.js';

/**
 * Opens a `pg` Pool on `url` and checks it answers; STORAGE_ERROR (with the password redacted) when it does not.
 * Safe to share one database between several BFF instances.
 */
export async function openPostgres(url: string, options: { maxConnections?: number } = {}): Promise<Db> {
  const pool = new pg.Pool({ connectionString: url, max: options.maxConnections ?? 10 });
  // An idle client losing its connection must not crash the process: the pool drops it and the next query reconnects.
  pool.on('error', () => undefined);
  try {
    await pool.query('SELECT 1');
  } catch (e) {
    await pool.end().catch(() => undefined);
    const where = redactUrl(url);
    throw new LakehouseError('STORAGE_ERROR', `cannot connect to the PostgreSQL catalog at ${where}: ${e instanceof Error ? e.message : String(e)}`, { url: where }, { cause: e });
  }
  return new PostgresDb(pool);
}

/** `url` with any password replaced by `***` (for messages and logs). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return '<unparseable database URL>';
  }
}

class PostgresDb implements Db {
  readonly backend = 'postgres' as const;
  private closed = false;

  constructor(private readonly pool: pg.Pool) {}

  query<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return run<T>(this.pool, sql, params);
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (e) {
      throw toDbError(e, 'postgres', 'BEGIN');
    }
    let broken = false;
    try {
      await run(client, 'BEGIN', []);
      const value = await fn({ query: <R>(sql: string, params: readonly unknown[] = []) => run<R>(client, sql, params) });
      await run(client, 'COMMIT', []);
      return value;
    } catch (e) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true; // the connection is unusable: destroy it instead of returning it to the pool
      }
      throw e;
    } finally {
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}

async function run<T>(target: pg.Pool | pg.PoolClient, sql: string, params: readonly unknown[]): Promise<T[]> {
  try {
    const result = await target.query(sql, [...params]);
    return result.rows as T[];
  } catch (e) {
    throw toDbError(e, 'postgres', sql);
  }
}
