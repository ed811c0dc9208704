import type { Job, MaintenanceSchedule } from '@lakehouse/contracts';
import type { AppDeps } from '../app.js';
import { maintenanceService, parseMaintenanceParams } from './service.js';

/** What one scheduler tick did with a due schedule: the job it started, or why it could not. */
export interface ScheduledRun {
  schedule: MaintenanceSchedule;
  job: Job | null;
  error: string | null;
}

/**
 * Runs due maintenance schedules. Each tick claims the schedules due at the clock's now in one statement (so with
 * several BFF instances each due run is claimed by exactly one) and starts their jobs as the system (no user);
 * a table busy with another maintenance job skips this run (audited) and runs at the next slot. Scheduled VACUUMs
 * never go below the table's retention.
 */
export class MaintenanceScheduler {
  private timer: ReturnType<typeof setInterval> | null = null;
  private ticking: Promise<ScheduledRun[]> | null = null;

  constructor(private readonly deps: AppDeps) {}

  /** Claims and starts every schedule due now; returns what happened to each (one tick at a time per instance). */
  tick(): Promise<ScheduledRun[]> {
    this.ticking ??= this.runDue().finally(() => {
      this.ticking = null;
    });
    return this.ticking;
  }

  private async runDue(): Promise<ScheduledRun[]> {
    const { catalog, clock } = this.deps;
    const due = await catalog.claimDueSchedules(new Date(clock.now()).toISOString());
    const out: ScheduledRun[] = [];
    for (const schedule of due) {
      try {
        const params = parseMaintenanceParams(schedule.kind, schedule.params);
        if (schedule.kind === 'vacuum') (params as { allowShortRetention: boolean }).allowShortRetention = false;
        const { job } = await maintenanceService(this.deps).start(schedule.kind, schedule.table, params, { id: null, name: 'scheduler', isAdmin: false });
        await catalog.updateSchedule(schedule.id, { lastJobId: job.id });
        out.push({ schedule: { ...schedule, lastJobId: job.id }, job, error: null });
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        await catalog
          .audit({ userId: null, userName: 'scheduler', action: `scheduled ${schedule.kind}`, table: schedule.table, outcome: 'error', details: { scheduleId: schedule.id, message } })
          .catch(() => undefined);
        out.push({ schedule, job: null, error: message });
      }
    }
    return out;
  }

  /** Polls every `intervalMs` (the timer does not keep the process alive). */
  startPolling(intervalMs: number): void {
    this.stop();
    this.timer = setInterval(() => {
      void this.tick().catch((e: unknown) => console.error('maintenance scheduler tick failed', e));
    }, intervalMs);
    this.timer.unref();
  }

  /** Stops polling (a tick in progress finishes). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

const schedulers = new WeakMap<AppDeps, MaintenanceScheduler>();

/** The one scheduler of an app (created on first use). */
export function maintenanceScheduler(deps: AppDeps): MaintenanceScheduler {
  let s = schedulers.get(deps);
  if (!s) {
    s = new MaintenanceScheduler(deps);
    schedulers.set(deps, s);
  }
  return s;
}
