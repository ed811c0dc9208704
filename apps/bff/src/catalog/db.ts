import { LakehouseError } from '@lakehouse/core';

/** A result row as the driver returns it (column name to value). */
export type Row = Record<string, unknown>;

/** Which database engine serves the catalog. */
export type DbBackend = 'pglite' | 'postgres';

/** Something SQL can be sent to: the database itself or an open transaction. */
export interface Queryable {
  /**
   * Runs one statement with `$1`-style parameters and returns its rows (RETURNING rows for writes).
   * Driver errors are rethrown as STORAGE_ERROR LakehouseErrors whose details carry the `sqlState`.
   */
  query<T = Row>(sql: string, params?: readonly unknown[]): Promise<T[]>;
}

/** The small database surface the catalog needs; implemented over PGlite and over a `pg` Pool. */
export interface Db extends Queryable {
  /** The engine behind this handle. */
  readonly backend: DbBackend;
  /** Runs `fn` in one transaction on one connection: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Releases the database (closes PGlite, ends the pool); the handle is unusable afterwards. */
  close(): Promise<void>;
}

/** The SQLSTATE of a database error (raw driver error or one wrapped by `toDbError`), or undefined. */
export function sqlStateOf(e: unknown): string | undefined {
  if (e instanceof LakehouseError) {
    const s = e.details.sqlState;
    return typeof s === 'string' ? s : undefined;
  }
  if (typeof e === 'object' && e !== null && 'code' in e) {
    const code = (e as { code: unknown }).code;
    return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
  }
  return undefined;
}

/** Wraps a driver error as a STORAGE_ERROR LakehouseError (LakehouseErrors pass through unchanged). */
export function toDbError(e: unknown, backend: DbBackend, sql: string): LakehouseError {
  if (e instanceof LakehouseError) return e;
  const message = e instanceof Error ? e.message : String(e);
  const details: Record<string, unknown> = { backend, statement: firstLine(sql) };
  const state = sqlStateOf(e);
  if (state !== undefined) details.sqlState = state;
  if (typeof e === 'object' && e !== null && 'constraint' in e && typeof e.constraint === 'string') details.constraint = e.constraint;
  return new LakehouseError('STORAGE_ERROR', `catalog database (${backend}) error: ${message}`, details, { cause: e });
}

function firstLine(sql: string): string {
  const line = sql.trim().split('\n', 1)[0];
  return line.length > 120 ? `${line.slice(0, 117)}...` : line;
}
