import { randomUUID } from 'node:crypto';
import {
  MaintenanceKindSchema,
  PrivilegeSchema,
  RoleSchema,
  type AuditEntry,
  type ErrorBody,
  type Grant,
  type Job,
  type MaintenanceSchedule,
  type Privilege,
  type Role,
  type User,
} from '@lakehouse/contracts';
import { LakehouseError } from '@lakehouse/core';
import { sqlStateOf, type Db, type DbBackend } from './db.js';
import { runMigrations } from './migrations.js';
import type {
  AuditFilter,
  AuditInput,
  CatalogStore,
  JobUpdate,
  LockAttempt,
  MaintenanceLock,
  QueryHistoryEntry,
  QueryHistoryInput,
  SavedQuery,
  ScheduleInput,
  ScheduleUpdate,
  TableRecord,
  TokenRecord,
} from './store.js';

const UNIQUE_VIOLATION = '23505';
const FOREIGN_KEY_VIOLATION = '23503';

const OUTCOMES: ReadonlySet<string> = new Set(['ok', 'denied', 'error']);
const JOB_STATES: ReadonlySet<string> = new Set(['queued', 'running', 'succeeded', 'failed', 'cancelled']);
const TERMINAL_JOB_STATES: ReadonlySet<string> = new Set(['succeeded', 'failed', 'cancelled']);

const DEFAULT_AUDIT_LIMIT = 100;
const DEFAULT_JOB_LIMIT = 100;
const DEFAULT_QUERY_LIMIT = 50;
const DEFAULT_SAVED_QUERY_LIMIT = 100;
const MAX_LIMIT = 1000;

interface UserRow {
  id: string;
  name: string;
  role: string;
  created_at: unknown;
}

interface TokenRow {
  id: string;
  user_id: string;
  created_at: unknown;
  expires_at: unknown;
  revoked_at: unknown;
  one_time: boolean;
}

interface GrantRow {
  id: string;
  user_id: string;
  privilege: string;
  securable: string;
  created_at: unknown;
}

interface TableRow {
  name: string;
  owner: string | null;
  registered_at: unknown;
  tags: unknown;
}

interface AuditRow {
  id: unknown;
  at: unknown;
  user_id: string | null;
  user_name: string | null;
  action: string;
  table_name: string | null;
  outcome: string;
  details: unknown;
}

interface JobRow {
  id: string;
  kind: string;
  table_name: string | null;
  state: string;
  progress: unknown;
  message: string | null;
  result: unknown;
  error: unknown;
  created_by: string | null;
  created_at: unknown;
  finished_at: unknown;
}

interface QueryRow {
  id: unknown;
  user_id: string;
  sql: string;
  tables: unknown;
  started_at: unknown;
  duration_ms: unknown;
  rows: unknown;
  status: string;
  error: string | null;
}

interface SavedQueryRow {
  id: string;
  user_id: string;
  name: string;
  sql: string;
  table_versions: unknown;
  created_at: unknown;
}

const TABLE_SELECT = `SELECT t.name, t.owner, t.registered_at,
    COALESCE(jsonb_agg(g.tag ORDER BY g.tag) FILTER (WHERE g.tag IS NOT NULL), '[]'::jsonb) AS tags
  FROM tables t LEFT JOIN table_tags g ON g.table_name = t.name`;

/**
 * The CatalogStore over SQL, identical on PGlite and PostgreSQL. Every method is a single statement or one transaction,
 * so several BFF instances may share one PostgreSQL database. Timestamps come back as ISO-8601 strings, ids are UUIDs
 * (audit and query history ids are increasing integers). Listing orders: users by name, tokens by creation, grants by
 * securable then privilege, tables by name with tags sorted, audit newest first, jobs newest first, queries newest first.
 */
export class SqlCatalogStore implements CatalogStore {
  constructor(private readonly db: Db) {}

  /** The engine behind the store. */
  get backend(): DbBackend {
    return this.db.backend;
  }

  /** Applies pending migrations under the migration advisory lock (idempotent, safe from several instances). */
  async migrate(): Promise<void> {
    await runMigrations(this.db);
  }

  /** Closes the underlying database. */
  close(): Promise<void> {
    return this.db.close();
  }

  // ---- users ----

  /** Creates a user; INVALID_INPUT when the name is empty or taken, or the role unknown. */
  async createUser(name: string, role: Role): Promise<User> {
    requireText(name, 'user name');
    checkRole(role);
    try {
      const rows = await this.db.query<UserRow>('INSERT INTO users (id, name, role) VALUES ($1, $2, $3) RETURNING *', [randomUUID(), name, role]);
      return toUser(rows[0]);
    } catch (e) {
      if (sqlStateOf(e) === UNIQUE_VIOLATION) throw new LakehouseError('INVALID_INPUT', `user name "${name}" is already taken`, { name });
      throw e;
    }
  }

  /** The user with this id, or null. */
  async getUser(id: string): Promise<User | null> {
    const rows = await this.db.query<UserRow>('SELECT * FROM users WHERE id = $1', [id]);
    return rows.length === 0 ? null : toUser(rows[0]);
  }

  /** The user with this (exact, case-sensitive) name, or null. */
  async getUserByName(name: string): Promise<User | null> {
    const rows = await this.db.query<UserRow>('SELECT * FROM users WHERE name = $1', [name]);
    return rows.length === 0 ? null : toUser(rows[0]);
  }

  /** All users, by name. */
  async listUsers(): Promise<User[]> {
    const rows = await this.db.query<UserRow>('SELECT * FROM users ORDER BY name');
    return rows.map(toUser);
  }

  /** Changes a user's role; NOT_FOUND when absent, INVALID_INPUT for an unknown role. */
  async setUserRole(id: string, role: Role): Promise<User> {
    checkRole(role);
    const rows = await this.db.query<UserRow>('UPDATE users SET role = $2 WHERE id = $1 RETURNING *', [id, role]);
    if (rows.length === 0) throw new LakehouseError('NOT_FOUND', `user ${id} not found`, { userId: id });
    return toUser(rows[0]);
  }

  /** How many users exist. */
  async countUsers(): Promise<number> {
    const rows = await this.db.query<{ n: unknown }>('SELECT count(*) AS n FROM users');
    return Number(rows[0].n);
  }

  // ---- tokens ----

  /** Stores a token's hash; NOT_FOUND for an unknown user, INVALID_INPUT for a reused hash or a bad expiry. */
  async createToken(userId: string, tokenHash: string, options: { expiresAt?: string | null; oneTime?: boolean } = {}): Promise<TokenRecord> {
    requireText(tokenHash, 'token hash');
    const expiresAt = options.expiresAt == null ? null : isoParam(options.expiresAt, 'expiresAt');
    try {
      const rows = await this.db.query<TokenRow>(
        'INSERT INTO tokens (id, user_id, token_hash, one_time, expires_at) VALUES ($1, $2, $3, $4, $5::timestamptz) RETURNING *',
        [randomUUID(), userId, tokenHash, options.oneTime === true, expiresAt],
      );
      return toToken(rows[0]);
    } catch (e) {
      const state = sqlStateOf(e);
      if (state === FOREIGN_KEY_VIOLATION) throw new LakehouseError('NOT_FOUND', `user ${userId} not found`, { userId });
      if (state === UNIQUE_VIOLATION) throw new LakehouseError('INVALID_INPUT', 'a token with this hash already exists', { userId });
      throw e;
    }
  }

  /**
   * The live token with this hash and its user, or null. A single UPDATE ... RETURNING marks it used (and revokes a
   * one-time token), so of concurrent uses of a one-time token exactly one succeeds.
   */
  async useToken(tokenHash: string, now: string): Promise<{ token: TokenRecord; user: User } | null> {
    const at = isoParam(now, 'now');
    const rows = await this.db.query<TokenRow & { user_name: string; user_role: string; user_created_at: unknown }>(
      `WITH used AS (
        UPDATE tokens
          SET last_used_at = $2::timestamptz,
              revoked_at = CASE WHEN one_time THEN $2::timestamptz ELSE revoked_at END
          WHERE token_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2::timestamptz)
          RETURNING id, user_id, created_at, expires_at, revoked_at, one_time
      )
      SELECT used.*, u.name AS user_name, u.role AS user_role, u.created_at AS user_created_at
        FROM used JOIN users u ON u.id = used.user_id`,
      [tokenHash, at],
    );
    if (rows.length === 0) return null;
    const r = rows[0];
    return { token: toToken(r), user: toUser({ id: r.user_id, name: r.user_name, role: r.user_role, created_at: r.user_created_at }) };
  }

  /** Revokes a token at `now`; false when it does not exist or is already revoked. */
  async revokeToken(id: string, now: string): Promise<boolean> {
    const at = isoParam(now, 'now');
    const rows = await this.db.query('UPDATE tokens SET revoked_at = $2::timestamptz WHERE id = $1 AND revoked_at IS NULL RETURNING id', [id, at]);
    return rows.length > 0;
  }

  /** The user's tokens (revoked and expired ones included), oldest first. */
  async listTokens(userId: string): Promise<TokenRecord[]> {
    const rows = await this.db.query<TokenRow>('SELECT * FROM tokens WHERE user_id = $1 ORDER BY created_at, id', [userId]);
    return rows.map(toToken);
  }

  // ---- grants ----

  /** Adds a grant, or returns the identical existing one; NOT_FOUND for an unknown user, INVALID_INPUT for a bad privilege. */
  async grant(userId: string, privilege: Privilege, securable: string): Promise<Grant> {
    if (!PrivilegeSchema.safeParse(privilege).success) {
      throw new LakehouseError('INVALID_INPUT', `unknown privilege "${String(privilege)}" (expected ${PrivilegeSchema.options.join(', ')})`, { privilege });
    }
    requireText(securable, 'securable');
    // A concurrent revoke may delete the row between the two statements: retry once more in that case.
    for (let attempt = 0; attempt < 3; attempt++) {
      let inserted: GrantRow[];
      try {
        inserted = await this.db.query<GrantRow>(
          `INSERT INTO grants (id, user_id, privilege, securable) VALUES ($1, $2, $3, $4)
            ON CONFLICT (user_id, privilege, securable) DO NOTHING RETURNING *`,
          [randomUUID(), userId, privilege, securable],
        );
      } catch (e) {
        if (sqlStateOf(e) === FOREIGN_KEY_VIOLATION) throw new LakehouseError('NOT_FOUND', `user ${userId} not found`, { userId });
        throw e;
      }
      if (inserted.length > 0) return toGrant(inserted[0]);
      const existing = await this.db.query<GrantRow>('SELECT * FROM grants WHERE user_id = $1 AND privilege = $2 AND securable = $3', [
        userId,
        privilege,
        securable,
      ]);
      if (existing.length > 0) return toGrant(existing[0]);
    }
    throw new LakehouseError('INTERNAL', `grant of ${privilege} on ${securable} kept being revoked while it was added`, { userId, privilege, securable });
  }

  /** Removes a grant; false when there was none. */
  async revokeGrant(id: string): Promise<boolean> {
    const rows = await this.db.query('DELETE FROM grants WHERE id = $1 RETURNING id', [id]);
    return rows.length > 0;
  }

  /** Grants (of one user when `userId` is given), by securable then privilege. */
  async listGrants(filter: { userId?: string } = {}): Promise<Grant[]> {
    const rows =
      filter.userId === undefined
        ? await this.db.query<GrantRow>('SELECT * FROM grants ORDER BY securable, privilege, user_id')
        : await this.db.query<GrantRow>('SELECT * FROM grants WHERE user_id = $1 ORDER BY securable, privilege', [filter.userId]);
    return rows.map(toGrant);
  }

  // ---- tables ----

  /** Registers a table (idempotent: an already registered table keeps its owner and tags) and returns its record. */
  async registerTable(name: string, owner: string | null = null): Promise<TableRecord> {
    requireText(name, 'table name');
    await this.db.query('INSERT INTO tables (name, owner) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [name, owner]);
    const table = await this.getTable(name);
    if (table === null) throw new LakehouseError('INTERNAL', `table ${name} vanished while it was registered`, { table: name });
    return table;
  }

  /** The registered table, or null. */
  async getTable(name: string): Promise<TableRecord | null> {
    const rows = await this.db.query<TableRow>(`${TABLE_SELECT} WHERE t.name = $1 GROUP BY t.name`, [name]);
    return rows.length === 0 ? null : toTable(rows[0]);
  }

  /** All registered tables, by name. */
  async listTables(): Promise<TableRecord[]> {
    const rows = await this.db.query<TableRow>(`${TABLE_SELECT} GROUP BY t.name ORDER BY t.name`);
    return rows.map(toTable);
  }

  /** Sets (or clears) a table's owner; NOT_FOUND for an unregistered table. */
  async setTableOwner(name: string, owner: string | null): Promise<void> {
    const rows = await this.db.query('UPDATE tables SET owner = $2 WHERE name = $1 RETURNING name', [name, owner]);
    if (rows.length === 0) throw tableNotFound(name);
  }

  /** Replaces the table's tags (duplicates dropped) atomically; NOT_FOUND for an unregistered table. */
  async setTableTags(name: string, tags: string[]): Promise<void> {
    for (const tag of tags) requireText(tag, 'tag');
    const unique = [...new Set(tags)];
    await this.db.transaction(async (tx) => {
      // Locking the table row serializes concurrent replacements of the same table's tags.
      const found = await tx.query('SELECT name FROM tables WHERE name = $1 FOR UPDATE', [name]);
      if (found.length === 0) throw tableNotFound(name);
      await tx.query('DELETE FROM table_tags WHERE table_name = $1', [name]);
      if (unique.length > 0) {
        await tx.query(
          `INSERT INTO table_tags (table_name, tag) SELECT $1, tag FROM jsonb_array_elements_text($2::jsonb) AS tag
            ON CONFLICT DO NOTHING`,
          [name, JSON.stringify(unique)],
        );
      }
    });
  }

  // ---- audit ----

  /** Appends to the audit log (timestamped by the database); INVALID_INPUT for an empty action or unknown outcome. */
  async audit(entry: AuditInput): Promise<void> {
    requireText(entry.action, 'audit action');
    if (!OUTCOMES.has(entry.outcome)) throw new LakehouseError('INVALID_INPUT', `unknown audit outcome "${String(entry.outcome)}"`, { outcome: entry.outcome });
    await this.db.query(
      'INSERT INTO audit_log (user_id, user_name, action, table_name, outcome, details) VALUES ($1, $2, $3, $4, $5, $6::jsonb)',
      [entry.userId, entry.userName, entry.action, entry.table, entry.outcome, JSON.stringify(entry.details ?? {})],
    );
  }

  /**
   * A page of the audit log, newest first, with the number of entries matching the filter. `since` and `until` are
   * inclusive bounds; `limit` defaults to 100 (at most 1000), `offset` to 0.
   */
  async listAudit(filter: AuditFilter = {}): Promise<{ items: AuditEntry[]; total: number }> {
    const limit = pageParam(filter.limit, DEFAULT_AUDIT_LIMIT, 1, MAX_LIMIT, 'limit');
    const offset = pageParam(filter.offset, 0, 0, Number.MAX_SAFE_INTEGER, 'offset');
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (clause: (p: string) => string, value: unknown): void => {
      params.push(value);
      where.push(clause(`$${params.length}`));
    };
    if (filter.userId !== undefined) add((p) => `user_id = ${p}`, filter.userId);
    if (filter.action !== undefined) add((p) => `action = ${p}`, filter.action);
    if (filter.table !== undefined) add((p) => `table_name = ${p}`, filter.table);
    if (filter.outcome !== undefined) add((p) => `outcome = ${p}`, filter.outcome);
    if (filter.since !== undefined) add((p) => `at >= ${p}::timestamptz`, isoParam(filter.since, 'since'));
    if (filter.until !== undefined) add((p) => `at <= ${p}::timestamptz`, isoParam(filter.until, 'until'));
    const whereSql = where.length === 0 ? '' : ` WHERE ${where.join(' AND ')}`;
    const n = params.length;
    const [rows, count] = await Promise.all([
      this.db.query<AuditRow>(`SELECT * FROM audit_log${whereSql} ORDER BY at DESC, id DESC LIMIT $${n + 1} OFFSET $${n + 2}`, [...params, limit, offset]),
      this.db.query<{ total: unknown }>(`SELECT count(*) AS total FROM audit_log${whereSql}`, params),
    ]);
    return { items: rows.map(toAudit), total: Number(count[0].total) };
  }

  // ---- jobs ----

  /** Creates a queued job with progress 0. */
  async createJob(kind: string, table: string | null, createdBy: string | null): Promise<Job> {
    requireText(kind, 'job kind');
    const rows = await this.db.query<JobRow>(
      `INSERT INTO jobs (id, kind, table_name, state, progress, created_by) VALUES ($1, $2, $3, 'queued', 0, $4) RETURNING *`,
      [randomUUID(), kind, table, createdBy],
    );
    return toJob(rows[0]);
  }

  /**
   * Updates the given fields of a job and returns it; NOT_FOUND when absent, INVALID_INPUT for an unknown state or a
   * progress outside [0, 1]. Entering a terminal state sets `finishedAt` to now unless given or already set.
   */
  async updateJob(id: string, update: JobUpdate): Promise<Job> {
    const sets: string[] = [];
    const params: unknown[] = [id];
    const set = (column: string, value: unknown, cast = ''): void => {
      params.push(value);
      sets.push(`${column} = $${params.length}${cast}`);
    };
    if (update.state !== undefined) {
      if (!JOB_STATES.has(update.state)) throw new LakehouseError('INVALID_INPUT', `unknown job state "${String(update.state)}"`, { state: update.state });
      set('state', update.state);
    }
    if (update.progress !== undefined) {
      if (!Number.isFinite(update.progress) || update.progress < 0 || update.progress > 1) {
        throw new LakehouseError('INVALID_INPUT', `job progress must be between 0 and 1, got ${update.progress}`, { progress: update.progress });
      }
      set('progress', update.progress);
    }
    if (update.message !== undefined) set('message', update.message);
    if (update.result !== undefined) set('result', update.result === null ? null : JSON.stringify(update.result), '::jsonb');
    if (update.error !== undefined) set('error', update.error === null ? null : JSON.stringify(update.error), '::jsonb');
    if (update.finishedAt !== undefined) {
      set('finished_at', update.finishedAt === null ? null : isoParam(update.finishedAt, 'finishedAt'), '::timestamptz');
    } else if (update.state !== undefined && TERMINAL_JOB_STATES.has(update.state)) {
      sets.push('finished_at = COALESCE(finished_at, now())');
    }
    const rows =
      sets.length === 0
        ? await this.db.query<JobRow>('SELECT * FROM jobs WHERE id = $1', params)
        : await this.db.query<JobRow>(`UPDATE jobs SET ${sets.join(', ')} WHERE id = $1 RETURNING *`, params);
    if (rows.length === 0) throw new LakehouseError('NOT_FOUND', `job ${id} not found`, { jobId: id });
    return toJob(rows[0]);
  }

  /** The job, or null. */
  async getJob(id: string): Promise<Job | null> {
    const rows = await this.db.query<JobRow>('SELECT * FROM jobs WHERE id = $1', [id]);
    return rows.length === 0 ? null : toJob(rows[0]);
  }

  /** Jobs (of one table when given), newest first; `limit` defaults to 100 (at most 1000). */
  async listJobs(filter: { table?: string; limit?: number } = {}): Promise<Job[]> {
    const limit = pageParam(filter.limit, DEFAULT_JOB_LIMIT, 1, MAX_LIMIT, 'limit');
    const rows =
      filter.table === undefined
        ? await this.db.query<JobRow>('SELECT * FROM jobs ORDER BY created_at DESC, id DESC LIMIT $1', [limit])
        : await this.db.query<JobRow>('SELECT * FROM jobs WHERE table_name = $1 ORDER BY created_at DESC, id DESC LIMIT $2', [filter.table, limit]);
    return rows.map(toJob);
  }

  // ---- query history ----

  /** Records an executed query; it started `durationMs` before now. INVALID_INPUT for a bad status or duration. */
  async recordQuery(entry: QueryHistoryInput): Promise<void> {
    if (entry.status !== 'ok' && entry.status !== 'error') throw new LakehouseError('INVALID_INPUT', `unknown query status "${String(entry.status)}"`, { status: entry.status });
    if (!Number.isFinite(entry.durationMs) || entry.durationMs < 0) {
      throw new LakehouseError('INVALID_INPUT', `query duration must be a non-negative number of milliseconds, got ${entry.durationMs}`, { durationMs: entry.durationMs });
    }
    await this.db.query(
      `INSERT INTO query_history (user_id, sql, tables, started_at, duration_ms, "rows", status, error)
        VALUES ($1, $2, $3::jsonb, now() - $4::double precision * interval '1 millisecond', $4::double precision, $5, $6, $7)`,
      [entry.userId, entry.sql, JSON.stringify(entry.tables), entry.durationMs, entry.rows, entry.status, entry.error],
    );
  }

  /** The user's most recently recorded queries first; `limit` defaults to 50 (at most 1000). */
  async listQueries(userId: string, limit?: number): Promise<QueryHistoryEntry[]> {
    const n = pageParam(limit, DEFAULT_QUERY_LIMIT, 1, MAX_LIMIT, 'limit');
    const rows = await this.db.query<QueryRow>('SELECT * FROM query_history WHERE user_id = $1 ORDER BY id DESC LIMIT $2', [userId, n]);
    return rows.map(toQuery);
  }

  // ---- saved queries ----

  /** Saves a query under a new UUID; INVALID_INPUT for an empty name or SQL or a version that is not a non-negative integer, NOT_FOUND for an unknown user. */
  async saveQuery(userId: string, name: string, sql: string, tableVersions: Record<string, number>): Promise<SavedQuery> {
    requireText(name, 'query name');
    requireText(sql, 'query SQL');
    for (const [table, version] of Object.entries(tableVersions)) {
      if (!Number.isSafeInteger(version) || version < 0) {
        throw new LakehouseError('INVALID_INPUT', `version of ${table} must be a non-negative integer, got ${String(version)}`, { table, version });
      }
    }
    try {
      const rows = await this.db.query<SavedQueryRow>(
        'INSERT INTO saved_queries (id, user_id, name, sql, table_versions) VALUES ($1, $2, $3, $4, $5::jsonb) RETURNING *',
        [randomUUID(), userId, name, sql, JSON.stringify(tableVersions)],
      );
      return toSavedQuery(rows[0]);
    } catch (e) {
      if (sqlStateOf(e) === FOREIGN_KEY_VIOLATION) throw new LakehouseError('NOT_FOUND', `user ${userId} not found`, { userId });
      throw e;
    }
  }

  /** The saved query, or null. */
  async getSavedQuery(id: string): Promise<SavedQuery | null> {
    const rows = await this.db.query<SavedQueryRow>('SELECT * FROM saved_queries WHERE id = $1', [id]);
    return rows.length === 0 ? null : toSavedQuery(rows[0]);
  }

  /** The user's saved queries, newest first; `limit` defaults to 100 (at most 1000). */
  async listSavedQueries(userId: string, limit?: number): Promise<SavedQuery[]> {
    const n = pageParam(limit, DEFAULT_SAVED_QUERY_LIMIT, 1, MAX_LIMIT, 'limit');
    const rows = await this.db.query<SavedQueryRow>('SELECT * FROM saved_queries WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2', [userId, n]);
    return rows.map(toSavedQuery);
  }

  // ---- settings ----

  /** A persistent setting, or null. */
  async getSetting(key: string): Promise<string | null> {
    const rows = await this.db.query<{ value: string }>('SELECT value FROM settings WHERE key = $1', [key]);
    return rows.length === 0 ? null : rows[0].value;
  }

  /** Sets a setting unless already set (INSERT ... ON CONFLICT DO NOTHING) and returns the value in force; concurrent callers all get the first writer's value. */
  async setSettingIfAbsent(key: string, value: string): Promise<string> {
    requireText(key, 'setting key');
    await this.db.query('INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING', [key, value]);
    const current = await this.getSetting(key);
    if (current === null) throw new LakehouseError('INTERNAL', `setting ${key} vanished right after it was set`, { key });
    return current;
  }

  // ---- maintenance locks and schedules ----

  /**
   * Takes a table's maintenance lock in one INSERT ... ON CONFLICT DO UPDATE ... WHERE expired statement: of concurrent
   * callers (any instance) exactly one gets a free or expired lock; the others learn the holder.
   */
  async acquireMaintenanceLock(table: string, owner: string, ttlMs: number, now: string): Promise<LockAttempt> {
    requireText(table, 'table');
    requireText(owner, 'lock owner');
    const at = isoParam(now, 'now');
    const expires = expiryOf(at, ttlMs);
    for (let attempt = 0; attempt < 5; attempt++) {
      const rows = await this.db.query<LockRow>(
        `INSERT INTO maintenance_locks (table_name, owner, job_id, acquired_at, expires_at) VALUES ($1, $2, NULL, $3::timestamptz, $4::timestamptz)
         ON CONFLICT (table_name) DO UPDATE SET owner = EXCLUDED.owner, job_id = NULL, acquired_at = EXCLUDED.acquired_at, expires_at = EXCLUDED.expires_at
         WHERE maintenance_locks.expires_at <= EXCLUDED.acquired_at OR maintenance_locks.owner = EXCLUDED.owner
         RETURNING *`,
        [table, owner, at, expires],
      );
      if (rows.length > 0) return { acquired: true, lock: toLock(rows[0]) };
      const held = await this.db.query<LockRow>('SELECT * FROM maintenance_locks WHERE table_name = $1', [table]);
      if (held.length > 0) return { acquired: false, holder: toLock(held[0]) };
      // Released between the two statements: try again.
    }
    throw new LakehouseError('CONCURRENT_COMMIT', `the maintenance lock of ${table} is contended; try again`, { table });
  }

  /** Moves the lock's expiry to now + ttl (and records the job) while `owner` holds it. */
  async renewMaintenanceLock(table: string, owner: string, ttlMs: number, now: string, jobId?: string): Promise<boolean> {
    const at = isoParam(now, 'now');
    const rows = await this.db.query(
      `UPDATE maintenance_locks SET expires_at = $3::timestamptz, job_id = COALESCE($4, job_id) WHERE table_name = $1 AND owner = $2 RETURNING table_name`,
      [table, owner, expiryOf(at, ttlMs), jobId ?? null],
    );
    return rows.length > 0;
  }

  /** Deletes the lock row when `owner` holds it. */
  async releaseMaintenanceLock(table: string, owner: string): Promise<boolean> {
    const rows = await this.db.query('DELETE FROM maintenance_locks WHERE table_name = $1 AND owner = $2 RETURNING table_name', [table, owner]);
    return rows.length > 0;
  }

  /** The lock when it has not expired at `now`. */
  async getMaintenanceLock(table: string, now: string): Promise<MaintenanceLock | null> {
    const rows = await this.db.query<LockRow>('SELECT * FROM maintenance_locks WHERE table_name = $1 AND expires_at > $2::timestamptz', [table, isoParam(now, 'now')]);
    return rows.length === 0 ? null : toLock(rows[0]);
  }

  /** Inserts a schedule after checking kind, interval and first run time. */
  async createSchedule(input: ScheduleInput): Promise<MaintenanceSchedule> {
    requireText(input.table, 'table');
    checkSchedule(input.kind, input.intervalMinutes);
    const rows = await this.db.query<ScheduleRow>(
      `INSERT INTO maintenance_schedules (id, table_name, kind, interval_minutes, params, enabled, next_run_at, created_by)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7::timestamptz, $8) RETURNING *`,
      [randomUUID(), input.table, input.kind, input.intervalMinutes, JSON.stringify(input.params ?? {}), input.enabled, isoParam(input.nextRunAt, 'nextRunAt'), input.createdBy],
    );
    return toSchedule(rows[0]);
  }

  /** The schedule, or null. */
  async getSchedule(id: string): Promise<MaintenanceSchedule | null> {
    const rows = await this.db.query<ScheduleRow>('SELECT * FROM maintenance_schedules WHERE id = $1', [id]);
    return rows.length === 0 ? null : toSchedule(rows[0]);
  }

  /** Schedules by table, kind, id. */
  async listSchedules(filter: { table?: string } = {}): Promise<MaintenanceSchedule[]> {
    const rows =
      filter.table === undefined
        ? await this.db.query<ScheduleRow>('SELECT * FROM maintenance_schedules ORDER BY table_name, kind, id')
        : await this.db.query<ScheduleRow>('SELECT * FROM maintenance_schedules WHERE table_name = $1 ORDER BY kind, id', [filter.table]);
    return rows.map(toSchedule);
  }

  /** Updates the given fields; NOT_FOUND when absent. */
  async updateSchedule(id: string, update: ScheduleUpdate): Promise<MaintenanceSchedule> {
    const sets: string[] = [];
    const params: unknown[] = [id];
    const set = (column: string, value: unknown, cast = ''): void => {
      params.push(value);
      sets.push(`${column} = $${params.length}${cast}`);
    };
    if (update.intervalMinutes !== undefined) {
      checkSchedule('optimize', update.intervalMinutes);
      set('interval_minutes', update.intervalMinutes);
    }
    if (update.params !== undefined) set('params', JSON.stringify(update.params), '::jsonb');
    if (update.enabled !== undefined) set('enabled', update.enabled);
    if (update.nextRunAt !== undefined) set('next_run_at', isoParam(update.nextRunAt, 'nextRunAt'), '::timestamptz');
    if (update.lastRunAt !== undefined) set('last_run_at', update.lastRunAt === null ? null : isoParam(update.lastRunAt, 'lastRunAt'), '::timestamptz');
    if (update.lastJobId !== undefined) set('last_job_id', update.lastJobId);
    const rows =
      sets.length === 0
        ? await this.db.query<ScheduleRow>('SELECT * FROM maintenance_schedules WHERE id = $1', params)
        : await this.db.query<ScheduleRow>(`UPDATE maintenance_schedules SET ${sets.join(', ')} WHERE id = $1 RETURNING *`, params);
    if (rows.length === 0) throw new LakehouseError('NOT_FOUND', `schedule ${id} not found`, { scheduleId: id });
    return toSchedule(rows[0]);
  }

  /** Deletes a schedule. */
  async deleteSchedule(id: string): Promise<boolean> {
    const rows = await this.db.query('DELETE FROM maintenance_schedules WHERE id = $1 RETURNING id', [id]);
    return rows.length > 0;
  }

  /**
   * One UPDATE over the due rows (locked with FOR UPDATE SKIP LOCKED, re-checked after locking) that moves each
   * `next_run_at` to the first slot after `now` and sets `last_run_at`; returns the claimed schedules.
   */
  async claimDueSchedules(now: string, limit = 100): Promise<MaintenanceSchedule[]> {
    const at = isoParam(now, 'now');
    const rows = await this.db.query<ScheduleRow>(
      `UPDATE maintenance_schedules s
         SET next_run_at = s.next_run_at + (s.interval_minutes * (floor(extract(epoch from ($1::timestamptz - s.next_run_at)) / 60 / s.interval_minutes) + 1)) * interval '1 minute',
             last_run_at = $1::timestamptz
       WHERE s.id IN (SELECT id FROM maintenance_schedules WHERE enabled AND next_run_at <= $1::timestamptz ORDER BY next_run_at LIMIT $2 FOR UPDATE SKIP LOCKED)
         AND s.enabled AND s.next_run_at <= $1::timestamptz
       RETURNING *`,
      [at, limit],
    );
    return rows.map(toSchedule);
  }
}

// ---- helpers ----

function requireText(value: unknown, what: string): void {
  if (typeof value !== 'string' || value.length === 0) throw new LakehouseError('INVALID_INPUT', `${what} must be a non-empty string`, { [what]: value });
}

function checkRole(role: unknown): void {
  if (!RoleSchema.safeParse(role).success) {
    throw new LakehouseError('INVALID_INPUT', `unknown role "${String(role)}" (expected ${RoleSchema.options.join(', ')})`, { role });
  }
}

function isoParam(value: string, field: string): string {
  const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) throw new LakehouseError('INVALID_INPUT', `${field} is not an ISO-8601 timestamp: ${String(value)}`, { [field]: value });
  return new Date(ms).toISOString();
}

function pageParam(value: number | undefined, fallback: number, min: number, max: number, field: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new LakehouseError('INVALID_INPUT', `${field} must be an integer between ${min} and ${max}, got ${value}`, { [field]: value });
  }
  return value;
}

function tableNotFound(name: string): LakehouseError {
  return new LakehouseError('NOT_FOUND', `table ${name} is not registered in the catalog`, { table: name });
}

function iso(value: unknown): string {
  return (value instanceof Date ? value : new Date(String(value))).toISOString();
}

function isoOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : iso(value);
}

function json(value: unknown): unknown {
  return typeof value === 'string' ? JSON.parse(value) : value;
}

function toUser(r: UserRow): User {
  return { id: r.id, name: r.name, role: r.role as Role, createdAt: iso(r.created_at) };
}

function toToken(r: TokenRow): TokenRecord {
  return {
    id: r.id,
    userId: r.user_id,
    createdAt: iso(r.created_at),
    expiresAt: isoOrNull(r.expires_at),
    revokedAt: isoOrNull(r.revoked_at),
    oneTime: r.one_time,
  };
}

function toGrant(r: GrantRow): Grant {
  return { id: r.id, userId: r.user_id, privilege: r.privilege as Privilege, securable: r.securable, createdAt: iso(r.created_at) };
}

function toTable(r: TableRow): TableRecord {
  return { name: r.name, owner: r.owner, tags: json(r.tags) as string[], registeredAt: iso(r.registered_at) };
}

function toAudit(r: AuditRow): AuditEntry {
  return {
    id: Number(r.id),
    at: iso(r.at),
    userId: r.user_id,
    userName: r.user_name,
    action: r.action,
    table: r.table_name,
    outcome: r.outcome as AuditEntry['outcome'],
    details: (json(r.details) ?? {}) as Record<string, unknown>,
  };
}

function toJob(r: JobRow): Job {
  return {
    id: r.id,
    kind: r.kind,
    table: r.table_name,
    state: r.state as Job['state'],
    progress: Number(r.progress),
    message: r.message,
    result: (json(r.result) ?? null) as Record<string, unknown> | null,
    error: (json(r.error) ?? null) as ErrorBody | null,
    createdBy: r.created_by,
    createdAt: iso(r.created_at),
    finishedAt: isoOrNull(r.finished_at),
  };
}

function toQuery(r: QueryRow): QueryHistoryEntry {
  return {
    id: Number(r.id),
    userId: r.user_id,
    sql: r.sql,
    tables: json(r.tables) as Record<string, number>,
    startedAt: iso(r.started_at),
    durationMs: Number(r.duration_ms),
    rows: r.rows === null ? null : Number(r.rows),
    status: r.status as QueryHistoryEntry['status'],
    error: r.error,
  };
}

function toSavedQuery(r: SavedQueryRow): SavedQuery {
  return {
    id: r.id,
    userId: r.user_id,
    name: r.name,
    sql: r.sql,
    tableVersions: (json(r.table_versions) ?? {}) as Record<string, number>,
    createdAt: iso(r.created_at),
  };
}

interface LockRow {
  table_name: string;
  owner: string;
  job_id: string | null;
  acquired_at: unknown;
  expires_at: unknown;
}

interface ScheduleRow {
  id: string;
  table_name: string;
  kind: string;
  interval_minutes: unknown;
  params: unknown;
  enabled: boolean;
  next_run_at: unknown;
  last_run_at: unknown;
  last_job_id: string | null;
  created_by: string | null;
  created_at: unknown;
}

function expiryOf(at: string, ttlMs: number): string {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new LakehouseError('INVALID_INPUT', `lock ttl must be a positive number of milliseconds, got ${ttlMs}`, { ttlMs });
  return new Date(Date.parse(at) + ttlMs).toISOString();
}

function checkSchedule(kind: string, intervalMinutes: number): void {
  if (!MaintenanceKindSchema.safeParse(kind).success) throw new LakehouseError('INVALID_INPUT', `unknown maintenance kind "${kind}"`, { kind });
  if (!Number.isInteger(intervalMinutes) || intervalMinutes <= 0) {
    throw new LakehouseError('INVALID_INPUT', `schedule interval must be a positive whole number of minutes, got ${intervalMinutes}`, { intervalMinutes });
  }
}

function toLock(r: LockRow): MaintenanceLock {
  return { table: r.table_name, owner: r.owner, jobId: r.job_id, acquiredAt: iso(r.acquired_at), expiresAt: iso(r.expires_at) };
}

function toSchedule(r: ScheduleRow): MaintenanceSchedule {
  return {
    id: r.id,
    table: r.table_name,
    kind: r.kind as MaintenanceSchedule['kind'],
    intervalMinutes: Number(r.interval_minutes),
    params: (json(r.params) ?? {}) as Record<string, unknown>,
    enabled: r.enabled,
    nextRunAt: iso(r.next_run_at),
    lastRunAt: isoOrNull(r.last_run_at),
    lastJobId: r.last_job_id,
    createdBy: r.created_by,
    createdAt: iso(r.created_at),
  };
}
