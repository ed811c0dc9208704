import { EventEmitter } from 'node:events';
import type { ErrorBody, Job } from '@lakehouse/contracts';
import { LakehouseError, type Clock } from '@lakehouse/core';
import type { CatalogStore } from '../catalog/store.js';
import { errorBody } from '../http/errors.js';

/** What a job's body gets: progress reporting and the cancellation signal. */
export interface JobContext {
  /** Reports progress (0..1) with a message; throttled writes to the catalog. */
  progress(fraction: number, message: string): void;
  signal: AbortSignal;
}

/** Runs long operations as jobs: state in the catalog store, live updates as events, cancellation by AbortSignal. */
export class JobRunner {
  private readonly events = new EventEmitter();
  private readonly controllers = new Map<string, AbortController>();

  constructor(
    private readonly catalog: CatalogStore,
    private readonly clock: Clock,
  ) {
    this.events.setMaxListeners(0);
  }

  /** Starts `body` as a job and returns it at once; `done` settles with the job's result or error. */
  async start<T extends Record<string, unknown>>(
    kind: string,
    table: string | null,
    createdBy: string | null,
    body: (ctx: JobContext) => Promise<T>,
  ): Promise<{ job: Job; done: Promise<T> }> {
    const job = await this.catalog.createJob(kind, table, createdBy);
    const controller = new AbortController();
    this.controllers.set(job.id, controller);
    let lastWrite = 0;
    const emit = (j: Job) => this.events.emit(job.id, j);
    const ctx: JobContext = {
      signal: controller.signal,
      progress: (fraction, message) => {
        const p = Math.max(0, Math.min(1, fraction));
        const now = this.clock.now();
        const snapshot: Job = { ...job, state: 'running', progress: p, message };
        emit(snapshot);
        if (now - lastWrite > 250) {
          lastWrite = now;
          void this.catalog.updateJob(job.id, { state: 'running', progress: p, message }).catch(() => undefined);
        }
      },
    };
    const done = (async () => {
      await this.catalog.updateJob(job.id, { state: 'running', progress: 0 });
      try {
        const result = await body(ctx);
        if (controller.signal.aborted) throw new LakehouseError('CANCELLED', 'the job was cancelled');
        emit(await this.catalog.updateJob(job.id, { state: 'succeeded', progress: 1, result, finishedAt: new Date(this.clock.now()).toISOString() }));
        return result;
      } catch (e) {
        const cancelled = controller.signal.aborted || (e instanceof LakehouseError && e.code === 'CANCELLED');
        const error: ErrorBody = errorBody(e);
        emit(
          await this.catalog.updateJob(job.id, {
            state: cancelled ? 'cancelled' : 'failed',
            error,
            message: error.message,
            finishedAt: new Date(this.clock.now()).toISOString(),
          }),
        );
        throw e;
      } finally {
        this.controllers.delete(job.id);
      }
    })();
    done.catch(() => undefined);
    return { job, done };
  }

  /** Requests cancellation; false when the job is not running in this process. */
  cancel(id: string): boolean {
    const c = this.controllers.get(id);
    if (!c) return false;
    c.abort();
    return true;
  }

  /** Subscribes to a job's updates; returns the unsubscribe function. */
  subscribe(id: string, listener: (job: Job) => void): () => void {
    this.events.on(id, listener);
    return () => this.events.off(id, listener);
  }
}

/**
 * Answers a request that started a job: 202 with the job when the client sent `Prefer: respond-async`, otherwise
 * waits and sends the job's result (a failure goes to `onError`, then to the error handler).
 */
export async function respondWithJob(
  req: { headers: Record<string, string | string[] | undefined> },
  res: { status(code: number): { json(body: unknown): unknown }; json(body: unknown): unknown },
  job: Job,
  done: Promise<unknown>,
  onError: (e: unknown) => Promise<void>,
): Promise<void> {
  if (/respond-async/i.test(String(req.headers.prefer ?? ''))) {
    res.status(202).json(job);
    return;
  }
  try {
    res.json(await done);
  } catch (e) {
    await onError(e);
    throw e;
  }
}
