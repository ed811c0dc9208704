import type { AuditEntry, Grant, Job, MaintenanceKind, MaintenanceSchedule, Privilege, Role, User } from '@lakehouse/contracts';

/** A stored token (the secret itself is never stored, only its SHA-256 hash). */
export interface TokenRecord {
  id: string;
  userId: string;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  /** One-time login tokens are revoked by their first use. */
  oneTime: boolean;
}

/** A table known to the catalog (registered by a write, or discovered in the warehouse layout). */
export interface TableRecord {
  name: string;
  owner: string | null;
  tags: string[];
  registeredAt: string;
}

/** What to record in the audit log. */
export interface AuditInput {
  userId: string | null;
  userName: string | null;
  action: string;
  table: string | null;
  outcome: 'ok' | 'denied' | 'error';
  details?: Record<string, unknown>;
}

/** Filters of the audit log listing (all optional, ANDed). */
export interface AuditFilter {
  userId?: string;
  action?: string;
  table?: string;
  outcome?: 'ok' | 'denied' | 'error';
  since?: string;
  until?: string;
  limit?: number;
  offset?: number;
}

/** Fields of a job that change while it runs. */
export interface JobUpdate {
  state?: Job['state'];
  progress?: number;
  message?: string | null;
  result?: Record<string, unknown> | null;
  error?: Job['error'];
  finishedAt?: string | null;
}

/** One executed query for the per-user history. */
export interface QueryHistoryInput {
  userId: string;
  sql: string;
  /** Tables read, with the versions they were read at. */
  tables: Record<string, number>;
  durationMs: number;
  rows: number | null;
  status: 'ok' | 'error';
  error: string | null;
}

/** A stored query history entry. */
export interface QueryHistoryEntry extends QueryHistoryInput {
  id: number;
  startedAt: string;
}

/** A saved query: its SQL and the table versions it read, so reopening it reproduces the same answer. */
export interface SavedQuery {
  id: string;
  userId: string;
  name: string;
  sql: string;
  /** `layer.domain.table` → the version the query read when it was saved. */
  tableVersions: Record<string, number>;
  createdAt: string;
}

/** The holder of a table's maintenance lock. */
export interface MaintenanceLock {
  table: string;
  /** Random token of the acquirer (only it may renew or release). */
  owner: string;
  /** The job running under the lock (null between acquiring and starting the job). */
  jobId: string | null;
  acquiredAt: string;
  expiresAt: string;
}

/** Outcome of trying to take a table's maintenance lock. */
export type LockAttempt = { acquired: true; lock: MaintenanceLock } | { acquired: false; holder: MaintenanceLock };

/** A schedule to store. */
export interface ScheduleInput {
  table: string;
  kind: MaintenanceKind;
  intervalMinutes: number;
  params: Record<string, unknown>;
  enabled: boolean;
  nextRunAt: string;
  createdBy: string | null;
}

/** Fields of a schedule that may change. */
export interface ScheduleUpdate {
  intervalMinutes?: number;
  params?: Record<string, unknown>;
  enabled?: boolean;
  nextRunAt?: string;
  lastRunAt?: string | null;
  lastJobId?: string | null;
}

/**
 * Everything the BFF keeps that Delta has no place for. One schema and one set of migrations serve embedded PGlite
 * and PostgreSQL; every method is safe to call concurrently from several BFF instances sharing one database.
 */
export interface CatalogStore {
  /** `pglite` or `postgres`. */
  readonly backend: 'pglite' | 'postgres';
  /** Applies pending migrations (idempotent; serialized across instances by an advisory lock). */
  migrate(): Promise<void>;
  close(): Promise<void>;

  /** Creates a user; INVALID_INPUT when the name is taken. */
  createUser(name: string, role: Role): Promise<User>;
  getUser(id: string): Promise<User | null>;
  getUserByName(name: string): Promise<User | null>;
  listUsers(): Promise<User[]>;
  /** Changes a user's role; NOT_FOUND when absent. */
  setUserRole(id: string, role: Role): Promise<User>;
  countUsers(): Promise<number>;

  /** Stores a token's hash; returns the record. */
  createToken(userId: string, tokenHash: string, options?: { expiresAt?: string | null; oneTime?: boolean }): Promise<TokenRecord>;
  /** The live (not revoked, not expired) token with this hash and its user, or null. One-time tokens are revoked atomically by this call. */
  useToken(tokenHash: string, now: string): Promise<{ token: TokenRecord; user: User } | null>;
  revokeToken(id: string, now: string): Promise<boolean>;
  listTokens(userId: string): Promise<TokenRecord[]>;

  /** Adds a grant (idempotent: returns the existing one when identical). */
  grant(userId: string, privilege: Privilege, securable: string): Promise<Grant>;
  /** Removes a grant; false when there was none. */
  revokeGrant(id: string): Promise<boolean>;
  listGrants(filter?: { userId?: string }): Promise<Grant[]>;

  /** Registers a table (idempotent); discovered tables are registered with `owner` null. */
  registerTable(name: string, owner?: string | null): Promise<TableRecord>;
  getTable(name: string): Promise<TableRecord | null>;
  listTables(): Promise<TableRecord[]>;
  setTableOwner(name: string, owner: string | null): Promise<void>;
  /** Replaces the table's tags. */
  setTableTags(name: string, tags: string[]): Promise<void>;

  /** Appends to the audit log. */
  audit(entry: AuditInput): Promise<void>;
  listAudit(filter?: AuditFilter): Promise<{ items: AuditEntry[]; total: number }>;

  createJob(kind: string, table: string | null, createdBy: string | null): Promise<Job>;
  updateJob(id: string, update: JobUpdate): Promise<Job>;
  getJob(id: string): Promise<Job | null>;
  listJobs(filter?: { table?: string; limit?: number }): Promise<Job[]>;

  recordQuery(entry: QueryHistoryInput): Promise<void>;
  listQueries(userId: string, limit?: number): Promise<QueryHistoryEntry[]>;

  /** Saves a query for a user under a new random id; INVALID_INPUT for an empty name or SQL, or a bad version. */
  saveQuery(userId: string, name: string, sql: string, tableVersions: Record<string, number>): Promise<SavedQuery>;
  /** The saved query with this id, or null. */
  getSavedQuery(id: string): Promise<SavedQuery | null>;
  /** The user's saved queries, newest first; `limit` defaults to 100 (at most 1000). */
  listSavedQueries(userId: string, limit?: number): Promise<SavedQuery[]>;

  /** A persistent setting (e.g. the URL signing key), or null. */
  getSetting(key: string): Promise<string | null>;
  /** Sets a setting only if it is not set yet; returns the value in force (safe across instances). */
  setSettingIfAbsent(key: string, value: string): Promise<string>;

  /**
   * Takes the maintenance lock of a table for `ttlMs` unless another owner holds an unexpired one (atomic: one
   * statement, safe across instances sharing the database); a lock past its expiry is taken over.
   */
  acquireMaintenanceLock(table: string, owner: string, ttlMs: number, now: string): Promise<LockAttempt>;
  /** Extends the lock and/or records its job; false when `owner` no longer holds it. */
  renewMaintenanceLock(table: string, owner: string, ttlMs: number, now: string, jobId?: string): Promise<boolean>;
  /** Releases the lock if `owner` holds it; false otherwise. */
  releaseMaintenanceLock(table: string, owner: string): Promise<boolean>;
  /** The unexpired lock of a table, or null. */
  getMaintenanceLock(table: string, now: string): Promise<MaintenanceLock | null>;

  /** Stores a maintenance schedule under a new id; INVALID_INPUT for a bad kind or interval. */
  createSchedule(input: ScheduleInput): Promise<MaintenanceSchedule>;
  getSchedule(id: string): Promise<MaintenanceSchedule | null>;
  /** Schedules (of one table when given), by table then kind. */
  listSchedules(filter?: { table?: string }): Promise<MaintenanceSchedule[]>;
  /** Changes a schedule; NOT_FOUND when absent. */
  updateSchedule(id: string, update: ScheduleUpdate): Promise<MaintenanceSchedule>;
  /** Deletes a schedule; false when absent. */
  deleteSchedule(id: string): Promise<boolean>;
  /**
   * Claims the enabled schedules due at `now`: each one's `next_run_at` moves forward by its interval (past `now`) in
   * the same statement, so of several instances polling at once exactly one gets each due run.
   */
  claimDueSchedules(now: string, limit?: number): Promise<MaintenanceSchedule[]>;
}
