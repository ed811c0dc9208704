import type { Job, MaintenanceKind } from '@lakehouse/contracts';
import { formatDateTime } from '../../components/format.js';
import { ErrorMessage } from '../../components/States.js';
import { jobMetrics, KIND_LABEL } from './format.js';

const STATE_LABEL: Record<Job['state'], string> = { queued: 'Queued', running: 'Running', succeeded: 'Done', failed: 'Failed', cancelled: 'Cancelled' };

/** The label of a job for people: "OPTIMIZE (dry run)", "VACUUM", "Checkpoint". */
export function jobTitle(job: Pick<Job, 'kind' | 'result'>, dryRun?: boolean): string {
  const label = KIND_LABEL[job.kind as MaintenanceKind] ?? job.kind;
  const dry = dryRun ?? job.result?.dryRun === true;
  return dry ? `${label} (dry run)` : label;
}

/** A job's live progress bar, state, message, cancel button (while it runs) and, once done, its metrics. */
export function JobProgress({
  job,
  error,
  cancelling,
  onCancel,
  title,
  showMetrics = true,
}: {
  job: Job | null;
  error?: unknown;
  cancelling?: boolean;
  onCancel?: () => void;
  title?: string;
  showMetrics?: boolean;
}) {
  if (!job) return error ? <ErrorMessage error={error} title="Could not start the job" /> : null;
  const running = job.state === 'queued' || job.state === 'running';
  const pct = Math.round(job.progress * 100);
  const metrics = job.state === 'succeeded' && showMetrics ? jobMetrics(job) : [];
  const name = title ?? jobTitle(job);
  return (
    <div className={`job job-${job.state}`} aria-label={`${name} job`} role="group">
      <div className="job-head">
        <strong>{name}</strong>
        <span className={`job-state state-${job.state}`} role="status">
          {STATE_LABEL[job.state]}
        </span>
        {running && onCancel ? (
          <button type="button" className="btn btn-small" onClick={onCancel} disabled={cancelling}>
            {cancelling ? 'Cancelling…' : 'Cancel'}
          </button>
        ) : null}
      </div>
      <div className="progress" role="progressbar" aria-label={`${name} progress`} aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct} aria-valuetext={`${pct}%${job.message ? `: ${job.message}` : ''}`}>
        <div className="progress-fill" style={{ width: `${pct}%` }} />
      </div>
      <p className="muted small job-message">
        {pct}%{running && job.message ? ` · ${job.message}` : ''}
        {job.finishedAt ? ` · finished ${formatDateTime(job.finishedAt)}` : ''}
      </p>
      {job.state === 'cancelled' ? <p className="small">Cancelled: the table stays at its last committed version.</p> : null}
      {job.state === 'failed' && job.error ? <ErrorMessage error={new Error(job.error.message)} title={`${name} failed (${job.error.code})`} /> : null}
      {error ? <ErrorMessage error={error} title="Lost track of the job" /> : null}
      {metrics.length > 0 ? (
        <dl className="metrics" aria-label={`${name} result`}>
          {metrics.map(([k, v]) => (
            <div key={k}>
              <dt>{k}</dt>
              <dd>{v}</dd>
            </div>
          ))}
        </dl>
      ) : null}
    </div>
  );
}
