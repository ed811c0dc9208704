import type { Job, MaintenanceKind } from '@lakehouse/contracts';
import { useQueryClient } from '@tanstack/react-query';
import { useCallback, useEffect, useRef, useState } from 'react';
import { cancelJob, followJob, FINISHED_STATES } from '../../lib/jobs.js';
import { tableKeys } from '../catalog/api.js';
import { maintenanceKeys, startMaintenance, type MaintenanceBody } from './api.js';

/** A maintenance job as a page follows it: the latest state from the server, and an error of starting or following it. */
export interface MaintenanceJobState {
  job: Job | null;
  error: unknown;
  /** True from the click until the job ends. */
  busy: boolean;
  /** A cancel request is in flight or was accepted. */
  cancelling: boolean;
}

/**
 * Starts maintenance jobs of one table (or attaches to a running one) and follows their progress over server-sent
 * events; when a job ends, the maintenance queries and the table's detail are refreshed. One job at a time per hook.
 */
export function useMaintenanceJob(table: string) {
  const queryClient = useQueryClient();
  const [state, setState] = useState<MaintenanceJobState>({ job: null, error: null, busy: false, cancelling: false });
  const abort = useRef<AbortController | null>(null);

  useEffect(() => () => abort.current?.abort(), []);

  const follow = useCallback(
    async (job: Job) => {
      abort.current?.abort();
      const ctl = new AbortController();
      abort.current = ctl;
      setState({ job, error: null, busy: !FINISHED_STATES.has(job.state), cancelling: false });
      try {
        const final = await followJob(job.id, (j) => setState((s) => ({ ...s, job: j })), ctl.signal);
        if (ctl.signal.aborted) return;
        setState((s) => ({ ...s, job: final, busy: false }));
      } catch (e) {
        if (ctl.signal.aborted) return;
        setState((s) => ({ ...s, error: e, busy: false }));
      } finally {
        if (!ctl.signal.aborted) {
          await Promise.all([
            queryClient.invalidateQueries({ queryKey: maintenanceKeys.all }),
            queryClient.invalidateQueries({ queryKey: tableKeys.all }),
          ]);
        }
      }
    },
    [queryClient],
  );

  const start = useCallback(
    async <K extends MaintenanceKind>(kind: K, body: MaintenanceBody[K]) => {
      setState({ job: null, error: null, busy: true, cancelling: false });
      let job: Job;
      try {
        job = await startMaintenance(table, kind, body);
      } catch (e) {
        setState({ job: null, error: e, busy: false, cancelling: false });
        return;
      }
      await follow(job);
    },
    [table, follow],
  );

  const cancel = useCallback(async () => {
    const id = state.job?.id;
    if (!id) return;
    setState((s) => ({ ...s, cancelling: true }));
    try {
      await cancelJob(id);
    } catch (e) {
      setState((s) => ({ ...s, cancelling: false, error: e }));
    }
  }, [state.job?.id]);

  const reset = useCallback(() => {
    abort.current?.abort();
    setState({ job: null, error: null, busy: false, cancelling: false });
  }, []);

  return { ...state, start, follow, cancel, reset };
}
