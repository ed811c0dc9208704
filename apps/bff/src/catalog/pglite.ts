import { mkdir } from 'node:fs/promises';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { LakehouseError } from '@lakehouse/core';
import { toDbError, type Db, type Queryable } from './db.js';

/**
 * Opens embedded PGlite: persisted in `dir` (created if missing, reopened with its data when it exists), or in memory
 * when `dir` is null. One process at a time may open a directory; PGlite serializes queries and transactions itself.
 */
export async function openPglite(dir: string | null): Promise<Db> {
  let pg: PGlite;
  try {
    if (dir === null) {
      pg = await PGlite.create();
    } else {
      await mkdir(dir, { recursive: true });
      pg = await PGlite.create(dir);
    }
  } catch (e) {
    throw new LakehouseError('STORAGE_ERROR', `cannot open the PGlite catalog ${dir === null ? 'in memory' : `in ${dir}`}: ${e instanceof Error ? e.message : String(e)}`, { dir }, { cause: e });
  }
  return new PgliteDb(pg);
}

class PgliteDb implements Db {
  readonly backend = 'pglite' as const;

  constructor(private readonly pg: PGlite) {}

  query<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return run<T>(this.pg, sql, params);
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    try {
      return await this.pg.transaction((tx) => fn({ query: <R>(sql: string, params: readonly unknown[] = []) => run<R>(tx, sql, params) }));
    } catch (e) {
      throw toDbError(e, 'pglite', 'COMMIT');
    }
  }

  async close(): Promise<void> {
    if (!this.pg.closed) await this.pg.close();
  }
}

async function run<T>(target: PGlite | Transaction, sql: string, params: readonly unknown[]): Promise<T[]> {
  try {
    const result = await target.query<T>(sql, [...params]);
    return result.rows;
  } catch (e) {
    throw toDbError(e, 'pglite', sql);
  }
}
