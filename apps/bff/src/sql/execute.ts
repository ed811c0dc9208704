import { sep } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { SqlResult } from '@lakehouse/contracts';
import {
  LakehouseError,
  append,
  createTable,
  deleteRows,
  deltaTypeFromDuckDb,
  duckDbType,
  isLakehouseError,
  merge,
  overwrite,
  quoteIdent,
  quoteString,
  type Clock,
  type CreateTableOptions,
  type DataEngine,
  type Snapshot,
  type StructField,
  updateRows,
} from '@lakehouse/core';
import { DuckDbEngine } from '@lakehouse/core/node';
import type { Warehouse } from '../warehouse/warehouse.js';
import {
  analyzeSql,
  nullColumnPositions,
  resolveTableName,
  serializedReads,
  type AnalyzedStatement,
  type CreateTableAsSelectStatement,
  type InsertStatement,
} from './analyze.js';
import { registerViews } from './views.js';

/** What a statement runs with: the warehouse, the clock of its commits, the user recorded in them, cancellation and progress. */
export interface SqlContext {
  warehouse: Warehouse;
  clock: Clock;
  userName: string | null;
  /** Aborting before the commit throws CANCELLED and leaves every table at its previous version. */
  signal?: AbortSignal;
  /** Called at each step with the fraction done (0..1) and what is happening. */
  onProgress?: (fraction: number, message: string) => void;
  /** Called once the target and source tables are known, before any data is read; throw to refuse the statement. */
  authorize?: (statement: { kind: SqlResult['statement']; target: string; sources: string[] }) => Promise<void>;
}

/** A locked-down DuckDB connection for one statement; `close()` releases its instance for good. */
export interface SqlSandbox {
  readonly connection: DuckDBConnection;
  close(): void;
}

/** Prepared sandboxes kept per warehouse root. */
const SANDBOX_POOL_SIZE = 2;
/** Idle prepared sandboxes are closed after this long without statements. */
const SANDBOX_IDLE_MS = 60_000;

/**
 * A fresh in-memory DuckDB instance with one connection, TimeZone UTC, file access limited to `root` (a folder path
 * ending with the separator), external access off and the configuration locked, so that no statement can widen it.
 */
async function prepareSandbox(root: string): Promise<SqlSandbox> {
  const instance = await DuckDBInstance.create(':memory:');
  try {
    const connection = await instance.connect();
    try {
      await connection.run("SET TimeZone='UTC'");
      await connection.run(`SET allowed_directories=[${quoteString(root)}]`);
      await connection.run('SET enable_external_access=false');
      await connection.run('SET lock_configuration=true');
    } catch (e) {
      connection.closeSync();
      throw e;
    }
    return {
      connection,
      close: () => {
        connection.closeSync();
        instance.closeSync();
      },
    };
  } catch (e) {
    instance.closeSync();
    throw e;
  }
}

/**
 * Sandboxes prepared ahead of time for one warehouse root, each handed out once and never reused (a statement
 * cannot leave state behind for the next), refilled in the background; idle ones are closed after SANDBOX_IDLE_MS.
 */
class SandboxPool {
  private readonly ready: Promise<SqlSandbox>[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly root: string,
    private readonly onIdle: () => void,
  ) {}

  async take(): Promise<SqlSandbox> {
    this.touch();
    const prepared = this.ready.shift();
    this.refill();
    if (prepared) {
      try {
        return await prepared;
      } catch {
        // A failed background preparation: prepare one now (and report its error, if any).
      }
    }
    return prepareSandbox(this.root);
  }

  private refill(): void {
    while (this.ready.length < SANDBOX_POOL_SIZE) {
      const p = prepareSandbox(this.root);
      p.catch(() => undefined);
      this.ready.push(p);
    }
  }

  private touch(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.closeIdle(), SANDBOX_IDLE_MS);
    this.timer.unref();
  }

  private closeIdle(): void {
    this.timer = null;
    this.onIdle();
    for (const p of this.ready.splice(0)) p.then((s) => s.close(), () => undefined);
  }
}

const sandboxPools = new Map<string, SandboxPool>();

/**
 * A locked-down DuckDB connection for one statement over the warehouse at `root` (see prepareSandbox): DuckDB may
 * touch only files under `root`, and external access and configuration changes are refused. Each call returns a
 * new instance (prepared ahead of time when possible) that nothing else has used; close it when done.
 */
export function openSqlSandbox(root: string): Promise<SqlSandbox> {
  const dir = root.endsWith(sep) ? root : root + sep;
  let pool = sandboxPools.get(dir);
  if (!pool) {
    const created = new SandboxPool(dir, () => {
      if (sandboxPools.get(dir) === created) sandboxPools.delete(dir);
    });
    sandboxPools.set(dir, created);
    pool = created;
  }
  return pool.take();
}

/** Table functions a SELECT may use (they read no files). */
const ALLOWED_TABLE_FUNCTIONS = new Set(['range', 'generate_series', 'unnest']);

/** Longest statement text recorded in a commit's lineage. */
const MAX_LINEAGE_SQL = 64 * 1024;

function cancelled(cause?: unknown): LakehouseError {
  return new LakehouseError('CANCELLED', 'the statement was cancelled before its commit; no table changed', {}, cause ? { cause } : undefined);
}

/** A data engine that checks for cancellation before and after each call, so an abort stops an operation before it commits. */
function cancellable(inner: DataEngine, check: () => void): DataEngine {
  const guard = async <T>(fn: () => Promise<T>): Promise<T> => {
    check();
    const r = await fn();
    check();
    return r;
  };
  return {
    fileUrl: (table, file) => inner.fileUrl(table, file),
    describe: (sql) => guard(() => inner.describe(sql)),
    queryNumber: (sql) => guard(() => inner.queryNumber(sql)),
    queryRows: (sql) => guard(() => inner.queryRows(sql)),
    writeFiles: (table, layout, sql, options) => guard(() => inner.writeFiles(table, layout, sql, options)),
  };
}

/** Serializes each SELECT with DuckDB and maps its table references to warehouse tables (sorted, distinct). */
async function findSources(conn: DuckDBConnection, stmt: AnalyzedStatement, known: readonly string[]): Promise<{ sources: string[]; serialized: unknown[] }> {
  const names = new Set<string>();
  const serialized: unknown[] = [];
  const knownSet = new Set(known);
  for (const [k, select] of stmt.selects.entries()) {
    const r = await conn.runAndReadAll(`SELECT json_serialize_sql(${quoteString(select)}) AS j`);
    const json: unknown = JSON.parse(String(r.getRowObjectsJson()[0]?.j ?? 'null'));
    serialized.push(json);
    const context = stmt.selects.length === 1 ? `the SELECT of ${stmt.kind}` : `part ${k + 1} of ${stmt.kind}`;
    const reads = serializedReads(json, context);
    for (const fn of reads.tableFunctions) {
      if (!ALLOWED_TABLE_FUNCTIONS.has(fn.toLowerCase())) {
        throw new LakehouseError('INVALID_INPUT', `the table function ${fn}() is not allowed in SQL writes: read warehouse tables (layer.domain.table) instead`, {
          function: fn,
        });
      }
    }
    for (const ref of reads.tables) {
      const parts = [ref.catalog, ref.schema, ref.table].filter((p) => p !== '');
      const written = parts.join('.');
      let name: string;
      try {
        name = resolveTableName(parts, known).name;
      } catch {
        throw new LakehouseError('TABLE_NOT_FOUND', `table ${written} does not exist (tables are read as layer.domain.table or layer_domain_table)`, {
          table: written,
        });
      }
      if (!knownSet.has(name)) throw new LakehouseError('TABLE_NOT_FOUND', `table ${written} does not exist`, { table: written });
      names.add(name);
    }
  }
  return { sources: [...names].sort(), serialized };
}

/** Numeric metrics of an operation result (the version and flags left out). */
function numericMetrics(m: object): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(m)) if (k !== 'version' && typeof v === 'number' && Number.isFinite(v)) out[k] = v;
  return out;
}

/** The SELECT an INSERT writes: source columns matched to the table's by position (or listed names), omitted ones NULL. */
async function insertSource(engine: DataEngine, stmt: InsertStatement, snapshot: Snapshot, nullColumns: Set<number>): Promise<string> {
  if (stmt.byName) return stmt.query;
  const fields = snapshot.schema.fields;
  const targets: StructField[] = (stmt.columns ?? fields.map((f) => f.name)).map((c) => {
    const f = fields.find((x) => x.name.toLowerCase() === c.toLowerCase());
    if (!f) throw new LakehouseError('SCHEMA_MISMATCH', `column "${c}" of the INSERT column list is not in table ${stmt.target.name}`, { column: c });
    return f;
  });
  const cols = await engine.describe(stmt.query);
  if (cols.length !== targets.length) {
    throw new LakehouseError(
      'SCHEMA_MISMATCH',
      `the data of the INSERT has ${cols.length} column(s) but ${targets.length} are expected (${targets.map((f) => f.name).join(', ')})`,
      { expected: targets.map((f) => f.name), found: cols.length },
    );
  }
  const aliases = cols.map((_, k) => `__c${k}`);
  const select = fields.map((f) => {
    const k = targets.indexOf(f);
    if (k < 0) {
      if (!f.nullable) throw new LakehouseError('SCHEMA_MISMATCH', `column "${f.name}" is NOT NULL but the INSERT gives it no value`, { column: f.name });
      return `CAST(NULL AS ${duckDbType(f.type)}) AS ${quoteIdent(f.name)}`;
    }
    const ref = quoteIdent(aliases[k]);
    return `${nullColumns.has(k) ? `CAST(${ref} AS ${duckDbType(f.type)})` : ref} AS ${quoteIdent(f.name)}`;
  });
  return `SELECT ${select.join(', ')} FROM (\n${stmt.query}\n) AS __ins(${aliases.map(quoteIdent).join(', ')})`;
}

/** Creates the table of a CTAS with the schema DuckDB infers for its SELECT. */
async function createAsSelect(
  ctx: SqlContext,
  engine: DataEngine,
  stmt: CreateTableAsSelectStatement,
  commitExtra: Record<string, unknown>,
): Promise<{ version: number } & object> {
  const cols = await engine.describe(stmt.query);
  const fields: StructField[] = cols.map((c) => ({ name: c.name, type: deltaTypeFromDuckDb(c.engineType, c.name), nullable: true, metadata: {} }));
  const partitionColumns = stmt.partitionedBy.map((p) => {
    const f = fields.find((x) => x.name.toLowerCase() === p.toLowerCase());
    if (!f) throw new LakehouseError('INVALID_INPUT', `partition column "${p}" is not a column of the SELECT (${fields.map((x) => x.name).join(', ')})`, { column: p });
    return f.name;
  });
  // commitExtra is recorded once createTable supports it (other operations take it already).
  const options: CreateTableOptions & { commitExtra: Record<string, unknown> } = {
    schema: { type: 'struct', fields },
    partitionColumns,
    properties: stmt.properties,
    ...(stmt.comment !== null ? { description: stmt.comment } : {}),
    sourceSql: stmt.query,
    engine,
    clock: ctx.clock,
    ...(ctx.userName ? { userName: ctx.userName } : {}),
    commitExtra,
  };
  return createTable(ctx.warehouse.ref(stmt.target.name), options);
}

/**
 * Runs one SQL write statement (CTAS, INSERT, INSERT OVERWRITE, DELETE, UPDATE, MERGE) against the warehouse as one
 * commit of the target, in a fresh in-memory DuckDB that can read only the warehouse folder (prepared ahead of time,
 * used by this statement only). Source and target tables are read at the version current when the statement starts
 * (their logs are listed after it started, not taken from the read caches); the commit records `lineage`
 * (statement, sources, target, sql).
 * INVALID_INPUT for refused statements, TABLE_NOT_FOUND for unknown tables, SCHEMA_MISMATCH from schema enforcement,
 * CANCELLED when `signal` aborts before the commit. A failed statement changes no table.
 */
export async function executeSql(ctx: SqlContext, sql: string): Promise<SqlResult> {
  const { warehouse, signal } = ctx;
  const progress = (fraction: number, message: string): void => ctx.onProgress?.(fraction, message);
  const check = (): void => {
    if (signal?.aborted) throw cancelled(signal.reason);
  };
  check();
  const known = await warehouse.discover();
  const stmt = analyzeSql(sql, { tables: known });
  const target = stmt.target.name;
  progress(0.1, `analyzed ${stmt.kind} into ${target}`);
  check();

  // The statement runs in a sandbox locked down before any of its SQL reaches DuckDB: only the warehouse folder.
  const sandbox = await openSqlSandbox(warehouse.root);
  const conn = sandbox.connection;
  const interrupt = (): void => conn.interrupt();
  signal?.addEventListener('abort', interrupt);
  try {
    const { sources, serialized } = await findSources(conn, stmt, known);
    progress(0.2, sources.length > 0 ? `reading ${sources.join(', ')}` : 'no source tables');
    await ctx.authorize?.({ kind: stmt.kind, target, sources });
    check();

    let snapshot: Snapshot | null = null;
    if (stmt.kind === 'CREATE_TABLE_AS_SELECT') {
      if (await warehouse.exists(target)) {
        if (!stmt.ifNotExists) throw new LakehouseError('TABLE_EXISTS', `table ${target} already exists`, { table: target });
        const existing = await warehouse.snapshot(target, { fresh: true });
        progress(1, `${target} already exists; nothing to do`);
        return { statement: stmt.kind, target, sources, version: existing.version, metrics: { skipped: 1 } };
      }
    } else {
      snapshot = await warehouse.snapshot(target, { fresh: true });
    }

    const pins = snapshot && sources.includes(target) ? { [target]: snapshot.version } : {};
    const sourceVersions = await registerViews(conn, warehouse, sources, pins, { fresh: true });
    progress(0.4, `registered views of ${sources.length} table(s)`);
    check();

    const lineage = {
      statement: stmt.kind,
      sources,
      target,
      sql: stmt.sql.length > MAX_LINEAGE_SQL ? `${stmt.sql.slice(0, MAX_LINEAGE_SQL)}…` : stmt.sql,
      sourceVersions,
    };
    const commitExtra = { lineage };
    const userName = ctx.userName ?? undefined;
    const engine = cancellable(new DuckDbEngine(conn, ctx.clock), check);
    const ref = warehouse.ref(target);
    progress(0.5, `writing ${target}`);

    let result: { version: number } & object;
    switch (stmt.kind) {
      case 'CREATE_TABLE_AS_SELECT':
        result = await createAsSelect(ctx, engine, stmt, commitExtra);
        break;
      case 'INSERT':
      case 'INSERT_OVERWRITE': {
        const sourceSql = await insertSource(engine, stmt, snapshot!, nullColumnPositions(serialized[0]));
        const common = { sourceSql, snapshot: snapshot!, clock: ctx.clock, userName, commitExtra };
        result = stmt.kind === 'INSERT' ? await append(ref, engine, common) : await overwrite(ref, engine, common);
        break;
      }
      case 'DELETE':
        result = await deleteRows(ref, engine, { predicate: stmt.where ?? 'true', snapshot: snapshot!, clock: ctx.clock, userName, commitExtra });
        break;
      case 'UPDATE':
        result = await updateRows(ref, engine, {
          set: stmt.set,
          ...(stmt.where !== null ? { predicate: stmt.where } : {}),
          snapshot: snapshot!,
          clock: ctx.clock,
          userName,
          commitExtra,
        });
        break;
      case 'MERGE':
        result = await merge(ref, engine, {
          sourceSql: stmt.sourceSql,
          sourceAlias: stmt.sourceAlias,
          targetAlias: stmt.targetAlias,
          on: stmt.on,
          whenMatched: stmt.whenMatched,
          whenNotMatched: stmt.whenNotMatched,
          snapshot: snapshot!,
          clock: ctx.clock,
          userName,
          commitExtra,
        });
        break;
    }
    progress(1, `committed version ${result.version} of ${target}`);
    return { statement: stmt.kind, target, sources, version: result.version, metrics: numericMetrics(result) };
  } catch (e) {
    if (signal?.aborted && !isLakehouseError(e, 'CANCELLED')) throw cancelled(e);
    throw e;
  } finally {
    signal?.removeEventListener('abort', interrupt);
    sandbox.close();
  }
}
