import { randomUUID } from 'node:crypto';
import {
  CheckpointRequestSchema,
  OptimizeRequestSchema,
  VacuumRequestSchema,
  type Job,
  type MaintenanceKind,
} from '@lakehouse/contracts';
import {
  DEFAULT_DELETED_FILE_RETENTION_MS,
  LakehouseError,
  checkpointNow,
  cleanupLog,
  optimize,
  parseIntervalMs,
  planOptimize,
  vacuum,
  Snapshot,
  type Clock,
  type OptimizeMetrics,
  type TableRef,
  type OptimizePlan,
  type VacuumResult,
} from '@lakehouse/core';
import type { AppDeps } from '../app.js';
import type { JobContext } from '../jobs/runner.js';

/** How long a maintenance lock lives without a heartbeat (a crashed instance's lock frees itself after this). */
export const MAINTENANCE_LOCK_TTL_MS = 60_000;

const HOUR = 3.6e6;

/** Who starts a maintenance job: a user (id and name) or the scheduler (null). */
export interface MaintenanceActor {
  id: string | null;
  name: string;
  /** Only admins may VACUUM with a retention shorter than the table's. */
  isAdmin: boolean;
}

/** Validated parameters of each maintenance kind (the request bodies of the API). */
export interface MaintenanceParams {
  optimize: { where?: string; zorderBy?: string[]; dryRun: boolean };
  vacuum: { retentionHours?: number; dryRun: boolean; allowShortRetention: boolean };
  checkpoint: Record<string, never>;
}

/** Parses and validates the parameters of a maintenance kind (INVALID_INPUT via zod on malformed bodies). */
export function parseMaintenanceParams<K extends MaintenanceKind>(kind: K, body: unknown): MaintenanceParams[K] {
  const schema = kind === 'optimize' ? OptimizeRequestSchema : kind === 'vacuum' ? VacuumRequestSchema : CheckpointRequestSchema;
  return schema.parse(body ?? {}) as MaintenanceParams[K];
}

/** A summary of an OPTIMIZE plan small enough for a job result (at most 50 bins listed). */
function planSummary(plan: OptimizePlan): Record<string, unknown> {
  return {
    version: plan.version,
    mode: plan.mode,
    zOrderBy: plan.zOrderBy,
    predicate: plan.predicate,
    targetFileSize: plan.targetFileSize,
    minFileSize: plan.minFileSize,
    numFiles: plan.numFiles,
    numBytes: plan.numBytes,
    numPartitions: plan.numPartitions,
    numFilesConsidered: plan.numFilesConsidered,
    numBins: plan.bins.length,
    expectedOutputFiles: plan.bins.reduce((s, b) => s + b.expectedOutputFiles, 0),
    bins: plan.bins.slice(0, 50).map((b) => ({ partitionValues: b.partitionValues, numFiles: b.files.length, totalBytes: b.totalBytes, expectedOutputFiles: b.expectedOutputFiles })),
  };
}

function optimizeResult(m: OptimizeMetrics): Record<string, unknown> {
  return { ...m, plan: planSummary(m.plan) };
}

function vacuumResult(r: VacuumResult): Record<string, unknown> {
  return { ...r };
}

/**
 * Runs table maintenance (OPTIMIZE, VACUUM, checkpoint) as jobs of the JobRunner, at most one per table at a time
 * across every BFF instance sharing the catalog: a job holds the table's lock row (renewed by a heartbeat, released
 * when it ends; a crashed instance's lock expires after MAINTENANCE_LOCK_TTL_MS). Dry runs change nothing and take
 * no lock. Every start, refusal and end is audited.
 */
export class MaintenanceService {
  /** Lock lifetime without heartbeat (tests shorten it). */
  lockTtlMs = MAINTENANCE_LOCK_TTL_MS;
  /** Test seam: called synchronously on every progress report of a running job (after the job got it). */
  onProgress: ((job: Job, fraction: number, message: string) => void) | null = null;
  /** Test seam: awaited inside the job (lock held, job running) before the operation starts. */
  beforeRun: ((job: Job) => Promise<void>) | null = null;

  constructor(private readonly deps: AppDeps) {}

  /**
   * Validates the request against the table (existence, predicate and ZORDER columns, VACUUM retention), takes the
   * lock (CONCURRENT_COMMIT naming the running job when taken) and starts the job; returns it at once.
   */
  async start<K extends MaintenanceKind>(kind: K, table: string, params: MaintenanceParams[K], actor: MaintenanceActor): Promise<{ job: Job; done: Promise<Record<string, unknown>> }> {
    const { warehouse, catalog, clock, jobs, engines } = this.deps;
    const snapshot = await warehouse.snapshot(table, { fresh: true });
    const ref = warehouse.ref(table);
    let dryRun = false;
    if (kind === 'optimize') {
      const p = params as MaintenanceParams['optimize'];
      planOptimize(snapshot, { predicate: p.where, zOrderBy: p.zorderBy }); // validates; the job plans again on the latest version
      dryRun = p.dryRun;
    } else if (kind === 'vacuum') {
      const p = params as MaintenanceParams['vacuum'];
      dryRun = p.dryRun;
      const tableRetention = parseIntervalMs(snapshot.properties['delta.deletedFileRetentionDuration']) ?? DEFAULT_DELETED_FILE_RETENTION_MS;
      if (p.retentionHours !== undefined && p.retentionHours * HOUR < tableRetention) {
        if (!p.allowShortRetention) {
          throw new LakehouseError(
            'INVALID_INPUT',
            `retention of ${p.retentionHours} hours is shorter than ${table}'s delta.deletedFileRetentionDuration (${tableRetention / HOUR} hours); ` +
              'readers and writers may still need those files. An admin may override with allowShortRetention: true',
            { table, retentionHours: p.retentionHours, tableRetentionHours: tableRetention / HOUR },
          );
        }
        if (!actor.isAdmin) {
          throw new LakehouseError('FORBIDDEN', `only admins may VACUUM ${table} with a retention shorter than the table's (${tableRetention / HOUR} hours)`, {
            table,
            retentionHours: p.retentionHours,
            tableRetentionHours: tableRetention / HOUR,
          });
        }
      }
    }

    const owner = randomUUID();
    const locked = !dryRun;
    if (locked) {
      const attempt = await catalog.acquireMaintenanceLock(table, owner, this.lockTtlMs, new Date(clock.now()).toISOString());
      if (!attempt.acquired) {
        const running = attempt.holder.jobId ? await catalog.getJob(attempt.holder.jobId) : null;
        throw new LakehouseError(
          'CONCURRENT_COMMIT',
          `${table} is already being maintained${running ? ` by ${running.kind} job ${running.id}` : ''}; wait for it to finish or cancel it`,
          { table, jobId: attempt.holder.jobId, kind: running?.kind ?? null, lockExpiresAt: attempt.holder.expiresAt },
        );
      }
    }
    let heartbeat: ReturnType<typeof setInterval> | null = null;
    const release = async (): Promise<void> => {
      if (heartbeat) clearInterval(heartbeat);
      heartbeat = null;
      if (locked) await catalog.releaseMaintenanceLock(table, owner).catch(() => undefined);
    };
    let started: { job: Job; done: Promise<Record<string, unknown>> };
    try {
      let jobRef: Job | null = null;
      let jobKnown: (j: Job) => void = () => undefined;
      const jobReady = new Promise<Job>((resolve) => {
        jobKnown = resolve;
      });
      started = await jobs.start(kind, table, actor.id, async (ctx: JobContext) => {
        jobRef = await jobReady;
        const progress = (f: number, m: string): void => {
          ctx.progress(f, m);
          if (this.onProgress && jobRef) this.onProgress(jobRef, f, m);
        };
        try {
          if (this.beforeRun && jobRef) await this.beforeRun(jobRef);
          throwIfAborted(ctx.signal, kind);
          const result = await this.run(kind, ref, params, ctx.signal, progress, actor, engines);
          await this.audit(actor, `${kind} finished`, table, 'ok', { jobId: jobRef?.id, ...auditMetrics(kind, result) });
          return result;
        } catch (e) {
          await this.audit(actor, `${kind} finished`, table, 'error', { jobId: jobRef?.id, code: (e as { code?: string }).code ?? 'INTERNAL', message: (e as Error).message });
          throw e;
        } finally {
          await release();
        }
      });
      jobKnown(started.job);
    } catch (e) {
      await release();
      throw e;
    }
    if (locked) {
      await catalog.renewMaintenanceLock(table, owner, this.lockTtlMs, new Date(clock.now()).toISOString(), started.job.id);
      heartbeat = setInterval(() => {
        void catalog.renewMaintenanceLock(table, owner, this.lockTtlMs, new Date(clock.now()).toISOString()).catch(() => undefined);
      }, Math.max(1000, Math.floor(this.lockTtlMs / 3)));
      heartbeat.unref();
      // The body may already have finished (and released) before the interval was set.
      void started.done.finally(() => release()).catch(() => undefined);
    }
    await this.audit(actor, kind, table, 'ok', { jobId: started.job.id, params });
    return started;
  }

  private async run(
    kind: MaintenanceKind,
    ref: ReturnType<AppDeps['warehouse']['ref']>,
    params: MaintenanceParams[MaintenanceKind],
    signal: AbortSignal,
    onProgress: (f: number, m: string) => void,
    actor: MaintenanceActor,
    engines: AppDeps['engines'],
  ): Promise<Record<string, unknown>> {
    const { clock } = this.deps;
    const commitExtra = { engineInfo: 'lakehouse-bff' };
    if (kind === 'optimize') {
      const p = params as MaintenanceParams['optimize'];
      const m = await engines.with((engine) =>
        optimize(ref, engine, { predicate: p.where, zOrderBy: p.zorderBy, dryRun: p.dryRun, signal, onProgress, clock, userName: actor.name, commitExtra }),
      );
      return optimizeResult(m);
    }
    if (kind === 'vacuum') {
      const p = params as MaintenanceParams['vacuum'];
      const r = await vacuum(ref, {
        dryRun: p.dryRun,
        retentionHours: p.retentionHours,
        allowShortRetention: p.allowShortRetention,
        maxListedFiles: 1000,
        signal,
        onProgress,
        clock,
        userName: actor.name,
        commitExtra,
      });
      return vacuumResult(r);
    }
    const m = await checkpointNow(ref, { signal, onProgress: (f, msg) => onProgress(0.8 * f, msg), clock });
    return { ...m, logCleanup: await cleanupExpiredLog(ref, clock, signal) };
  }

  private async audit(actor: MaintenanceActor, action: string, table: string, outcome: 'ok' | 'error', details: Record<string, unknown>): Promise<void> {
    try {
      await this.deps.catalog.audit({ userId: actor.id, userName: actor.name, action, table, outcome, details });
    } catch (e) {
      console.error('audit failed', e);
    }
  }
}

function throwIfAborted(signal: AbortSignal, kind: string): void {
  if (signal.aborted) throw new LakehouseError('CANCELLED', `${kind} was cancelled before it started`);
}

function auditMetrics(kind: MaintenanceKind, r: Record<string, unknown>): Record<string, unknown> {
  const pick = (keys: string[]) => Object.fromEntries(keys.filter((k) => k in r).map((k) => [k, r[k]]));
  if (kind === 'optimize') return pick(['version', 'committed', 'dryRun', 'numFilesRemoved', 'numFilesAdded', 'numBytesRemoved', 'numBytesAdded']);
  if (kind === 'vacuum') return pick(['version', 'dryRun', 'numFilesToDelete', 'bytesToDelete', 'numFilesDeleted', 'bytesDeleted']);
  return pick(['version', 'written', 'numAddFiles']);
}

const services = new WeakMap<AppDeps, MaintenanceService>();

/** The one MaintenanceService of an app (created on first use). */
export function maintenanceService(deps: AppDeps): MaintenanceService {
  let s = services.get(deps);
  if (!s) {
    s = new MaintenanceService(deps);
    services.set(deps, s);
  }
  return s;
}

/**
 * Log cleanup after a checkpoint, as Delta does unless `delta.enableExpiredLogCleanup` is false: commits older than
 * `delta.logRetentionDuration` (30 days) before the newest checkpoint ahead of that boundary are deleted. Returns what
 * it did (null when the table turns cleanup off).
 */
export async function cleanupExpiredLog(
  ref: TableRef,
  clock: Clock,
  signal?: AbortSignal,
): Promise<{ numFilesDeleted: number; earliestVersionBefore: number; earliestVersionAfter: number } | null> {
  const snapshot = await Snapshot.load(ref);
  if (snapshot.properties['delta.enableExpiredLogCleanup']?.toLowerCase() === 'false') return null;
  const r = await cleanupLog(ref, { dryRun: false, clock, signal });
  return { numFilesDeleted: r.numFilesDeleted, earliestVersionBefore: r.earliestVersionBefore, earliestVersionAfter: r.earliestVersionAfter };
}
