import { LakehouseError } from '@lakehouse/core';
import type { Db } from './db.js';

/** One schema change: statements applied together in one transaction, recorded under `version` once applied. */
export interface Migration {
  version: number;
  name: string;
  statements: readonly string[];
}

/**
 * Key of the transaction-scoped advisory lock that serializes migrations across BFF instances sharing a database
 * (PGlite implements `pg_advisory_xact_lock` too; there it only serializes within the one process).
 */
export const MIGRATION_LOCK_KEY = 7_406_315_001;

const ROLES = `'viewer', 'analyst', 'steward', 'admin'`;

/** The catalog schema's migrations in application order; versions are strictly increasing and never reused. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial catalog schema',
    statements: [
      `CREATE TABLE users (
        id text PRIMARY KEY,
        name text NOT NULL UNIQUE,
        role text NOT NULL CHECK (role IN (${ROLES})),
        created_at timestamptz NOT NULL DEFAULT now()
      )`,
      `CREATE TABLE tokens (
        id text PRIMARY KEY,
        user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        token_hash text NOT NULL UNIQUE,
        one_time boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz,
        revoked_at timestamptz,
        last_used_at timestamptz
      )`,
      `CREATE INDEX tokens_user_id_idx ON tokens (user_id)`,
      `CREATE TABLE grants (
        id text PRIMARY KEY,
        user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        privilege text NOT NULL CHECK (privilege IN ('SELECT', 'MODIFY', 'MANAGE')),
        securable text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (user_id, privilege, securable)
      )`,
      `CREATE TABLE tables (
        name text PRIMARY KEY,
        owner text,
        registered_at timestamptz NOT NULL DEFAULT now()
      )`,
      `CREATE TABLE table_tags (
        table_name text NOT NULL REFERENCES tables (name) ON DELETE CASCADE ON UPDATE CASCADE,
        tag text NOT NULL,
        PRIMARY KEY (table_name, tag)
      )`,
      `CREATE TABLE audit_log (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at timestamptz NOT NULL DEFAULT now(),
        user_id text,
        user_name text,
        action text NOT NULL,
        table_name text,
        outcome text NOT NULL CHECK (outcome IN ('ok', 'denied', 'error')),
        details jsonb NOT NULL DEFAULT '{}'::jsonb
      )`,
      `CREATE INDEX audit_log_at_idx ON audit_log (at)`,
      `CREATE INDEX audit_log_user_id_idx ON audit_log (user_id, at)`,
      `CREATE INDEX audit_log_table_name_idx ON audit_log (table_name, at)`,
      `CREATE TABLE jobs (
        id text PRIMARY KEY,
        kind text NOT NULL,
        table_name text,
        state text NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
        progress double precision NOT NULL DEFAULT 0 CHECK (progress >= 0 AND progress <= 1),
        message text,
        result jsonb,
        error jsonb,
        created_by text,
        created_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz
      )`,
      `CREATE INDEX jobs_table_name_idx ON jobs (table_name, created_at)`,
      `CREATE INDEX jobs_created_at_idx ON jobs (created_at)`,
      `CREATE TABLE query_history (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        user_id text NOT NULL,
        sql text NOT NULL,
        tables jsonb NOT NULL DEFAULT '{}'::jsonb,
        started_at timestamptz NOT NULL DEFAULT now(),
        duration_ms double precision NOT NULL,
        "rows" bigint,
        status text NOT NULL CHECK (status IN ('ok', 'error')),
        error text
      )`,
      `CREATE INDEX query_history_user_id_idx ON query_history (user_id, started_at)`,
      `CREATE TABLE saved_queries (
        id text PRIMARY KEY,
        user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        name text NOT NULL,
        sql text NOT NULL,
        table_versions jsonb NOT NULL DEFAULT '{}'::jsonb,
        created_at timestamptz NOT NULL DEFAULT now()
      )`,
      `CREATE INDEX saved_queries_user_id_idx ON saved_queries (user_id, created_at)`,
      `CREATE TABLE settings (
        key text PRIMARY KEY,
        value text NOT NULL
      )`,
    ],
  },
  {
    version: 2,
    name: 'maintenance locks and schedules',
    statements: [
      // At most one maintenance job per table: the row is the lock; an expired row may be taken over.
      `CREATE TABLE maintenance_locks (
        table_name text PRIMARY KEY,
        owner text NOT NULL,
        job_id text,
        acquired_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL
      )`,
      `CREATE TABLE maintenance_schedules (
        id text PRIMARY KEY,
        table_name text NOT NULL,
        kind text NOT NULL CHECK (kind IN ('optimize', 'vacuum', 'checkpoint')),
        interval_minutes integer NOT NULL CHECK (interval_minutes > 0),
        params jsonb NOT NULL DEFAULT '{}'::jsonb,
        enabled boolean NOT NULL DEFAULT true,
        next_run_at timestamptz NOT NULL,
        last_run_at timestamptz,
        last_job_id text,
        created_by text,
        created_at timestamptz NOT NULL DEFAULT now()
      )`,
      `CREATE INDEX maintenance_schedules_due_idx ON maintenance_schedules (enabled, next_run_at)`,
      `CREATE INDEX maintenance_schedules_table_idx ON maintenance_schedules (table_name)`,
    ],
  },
];

/**
 * Applies the pending `migrations` in order and returns the versions this call applied. Each migration runs in its own
 * transaction holding `pg_advisory_xact_lock(MIGRATION_LOCK_KEY)` and re-checks `schema_migrations` under the lock, so
 * concurrent callers (several instances starting at once) apply each migration exactly once and all succeed.
 */
export async function runMigrations(db: Db, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  checkOrder(migrations);
  const applied: number[] = [];
  for (const migration of migrations) {
    const done = await db.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
      await tx.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
      const existing = await tx.query('SELECT 1 FROM schema_migrations WHERE version = $1', [migration.version]);
      if (existing.length > 0) return false;
      for (const statement of migration.statements) await tx.query(statement);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
      return true;
    });
    if (done) applied.push(migration.version);
  }
  return applied;
}

/** The migration versions recorded as applied in `db`, ascending (empty before the first migration). */
export async function appliedMigrations(db: Db): Promise<number[]> {
  const present = await db.query<{ present: boolean }>(`SELECT to_regclass('schema_migrations') IS NOT NULL AS present`);
  if (!present[0]?.present) return [];
  const rows = await db.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
  return rows.map((r) => Number(r.version));
}

function checkOrder(migrations: readonly Migration[]): void {
  for (let i = 1; i < migrations.length; i++) {
    if (migrations[i].version <= migrations[i - 1].version) {
      throw new LakehouseError('INTERNAL', `catalog migrations out of order: version ${migrations[i].version} follows ${migrations[i - 1].version}`, {
        version: migrations[i].version,
      });
    }
  }
}
