import type { TableHealth } from '@lakehouse/contracts';
import { parseIntervalMs } from '@lakehouse/core';
import { useId, useState, type FormEvent } from 'react';
import { formatBytes, formatCount } from '../../components/format.js';
import { ErrorMessage } from '../../components/States.js';
import { formatHours, lostVersionsText, optimizeSummary, plural, vacuumSummary } from './format.js';
import { JobProgress } from './JobProgress.js';
import { useMaintenanceJob } from './useMaintenanceJob.js';

/** OPTIMIZE: optional partition filter and Z-ORDER BY columns, a preview (dry run) of files and bytes before → after per partition, then the run. */
export function OptimizePanel({ table, health, columns }: { table: string; health: TableHealth; columns: string[] }) {
  const id = useId();
  const [where, setWhere] = useState('');
  const [zorder, setZorder] = useState<string[]>([]);
  const preview = useMaintenanceJob(table);
  const run = useMaintenanceJob(table);
  const body = { ...(where.trim() ? { where: where.trim() } : {}), ...(zorder.length > 0 ? { zorderBy: zorder } : {}) };
  const plan = preview.job?.state === 'succeeded' ? optimizeSummary(preview.job.result) : null;
  const busy = preview.busy || run.busy;

  const onPreview = (e: FormEvent) => {
    e.preventDefault();
    run.reset();
    void preview.start('optimize', { ...body, dryRun: true });
  };
  const toggle = (c: string) => setZorder((z) => (z.includes(c) ? z.filter((x) => x !== c) : [...z, c]));

  return (
    <section aria-labelledby={`${id}-title`} className="panel op-panel">
      <h2 id={`${id}-title`}>OPTIMIZE</h2>
      <p className="small">
        Compacts small files into files of about {formatBytes(health.targetFileSize)}; with Z-ORDER BY, also clusters rows by those columns. Readers are not blocked.
      </p>
      <form onSubmit={onPreview} className="op-form">
        <label className="field">
          <span className="field-label">Only partitions where (optional)</span>
          <input className="input mono" value={where} onChange={(e) => setWhere(e.target.value)} placeholder="ingest_date >= '2024-05-13'" spellCheck={false} />
        </label>
        {columns.length > 0 ? (
          <fieldset className="field zorder">
            <legend className="field-label">Z-ORDER BY (optional){zorder.length > 0 ? `: ${zorder.join(', ')}` : ''}</legend>
            <div className="zorder-options">
              {columns.map((c) => (
                <label key={c} className="check">
                  <input type="checkbox" checked={zorder.includes(c)} onChange={() => toggle(c)} /> <span className="mono">{c}</span>
                </label>
              ))}
            </div>
          </fieldset>
        ) : null}
        <div className="op-actions">
          <button type="submit" className="btn" disabled={busy}>
            Preview
          </button>
          <button
            type="button"
            className="btn btn-primary"
            disabled={busy}
            onClick={() => {
              preview.reset();
              void run.start('optimize', { ...body, dryRun: false });
            }}
          >
            Run OPTIMIZE
          </button>
        </div>
      </form>
      {preview.error && !preview.job ? <ErrorMessage error={preview.error} title="Could not preview OPTIMIZE" /> : null}
      {preview.job && preview.job.state !== 'succeeded' ? <JobProgress job={preview.job} error={preview.error} title="Preview" showMetrics={false} /> : null}
      {plan ? (
        <div className="preview" aria-label="OPTIMIZE preview">
          <h3>Preview of v{plan.version ?? health.version}</h3>
          {plan.filesBefore === 0 ? (
            <p>Nothing to compact: no partition has two or more files below the size OPTIMIZE rewrites.</p>
          ) : (
            <>
              <p className="preview-lead">
                <strong>
                  {plural(plan.filesBefore, 'file')} → {formatCount(plan.filesAfter)}
                </strong>{' '}
                ({formatBytes(plan.bytes)} rewritten) in {formatCount(plan.partitions)} partition{plan.partitions === 1 ? '' : 's'}
                {plan.mode === 'zorder' ? ', Z-ordered' : ''}. The table would then have {plural(health.numFiles - plan.filesBefore + plan.filesAfter, 'file')}.
              </p>
              <div className="table-wrap">
                <table className="grid-table compact" aria-label="Partitions OPTIMIZE would rewrite">
                  <thead>
                    <tr>
                      <th scope="col">Partition</th>
                      <th scope="col">Files before</th>
                      <th scope="col">Bytes</th>
                      <th scope="col">Files after</th>
                    </tr>
                  </thead>
                  <tbody>
                    {plan.bins.map((b, i) => (
                      <tr key={i}>
                        <td className="mono">{b.partition}</td>
                        <td>{formatCount(b.files)}</td>
                        <td>{formatBytes(b.bytes)}</td>
                        <td>{formatCount(b.outputFiles)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </>
          )}
        </div>
      ) : null}
      <JobProgress job={run.job} error={run.error} cancelling={run.cancelling} onCancel={() => void run.cancel()} />
    </section>
  );
}

/** VACUUM: a dry run listing the files and bytes it would free and the versions that stop being readable, then the run. */
export function VacuumPanel({ table, health }: { table: string; health: TableHealth }) {
  const id = useId();
  const tableHours = (parseIntervalMs(health.properties['delta.deletedFileRetentionDuration']) ?? 7 * 86_400_000) / 3.6e6;
  const [hours, setHours] = useState('');
  const [override, setOverride] = useState(false);
  const dry = useMaintenanceJob(table);
  const run = useMaintenanceJob(table);
  const parsedHours = hours.trim() === '' ? undefined : Number(hours);
  const hoursError = parsedHours !== undefined && !(Number.isFinite(parsedHours) && parsedHours >= 0) ? 'must be a number of hours, 0 or more' : null;
  const short = parsedHours !== undefined && parsedHours < tableHours;
  const overrideError = short && !override ? `shorter than the table's ${formatHours(tableHours)}: tick the override to use it` : null;
  const params = { ...(parsedHours !== undefined ? { retentionHours: parsedHours } : {}), ...(short && override ? { allowShortRetention: true } : {}) };
  const paramsKey = JSON.stringify(params);
  const [dryKey, setDryKey] = useState<string | null>(null);
  const summary = dry.job?.state === 'succeeded' ? vacuumSummary(dry.job.result) : null;
  const canRun = summary !== null && summary.files > 0 && dryKey === paramsKey && !run.busy && !dry.busy;

  const onDryRun = (e: FormEvent) => {
    e.preventDefault();
    if (hoursError || overrideError) return;
    run.reset();
    setDryKey(paramsKey);
    void dry.start('vacuum', { ...params, dryRun: true });
  };

  return (
    <section aria-labelledby={`${id}-title`} className="panel op-panel">
      <h2 id={`${id}-title`}>VACUUM</h2>
      <p className="small">
        Deletes files no version inside the retention needs ({formatHours(tableHours)} for this table). {formatBytes(health.timeTravel.bytes)} in{' '}
        {plural(health.timeTravel.files, 'file')} held only for time travel now.
      </p>
      <form onSubmit={onDryRun} className="op-form" noValidate>
        <label className="field">
          <span className="field-label">Retention in hours (empty: the table’s {tableHours})</span>
          <input
            className="input"
            inputMode="decimal"
            value={hours}
            onChange={(e) => setHours(e.target.value)}
            placeholder={String(tableHours)}
            aria-invalid={hoursError || overrideError ? true : undefined}
            aria-describedby={hoursError || overrideError ? `${id}-hours-error` : undefined}
          />
          {hoursError || overrideError ? (
            <span id={`${id}-hours-error`} className="field-error">
              {hoursError ?? overrideError}
            </span>
          ) : null}
        </label>
        {short ? (
          <label className="check">
            <input type="checkbox" checked={override} onChange={(e) => setOverride(e.target.checked)} /> Override the table’s retention (admins only; concurrent readers of old
            versions may fail)
          </label>
        ) : null}
        <div className="op-actions">
          <button type="submit" className="btn" disabled={dry.busy || run.busy}>
            Dry run
          </button>
          <button
            type="button"
            className="btn btn-danger"
            disabled={!canRun}
            title={canRun ? undefined : 'Do a dry run with these settings first'}
            onClick={() => void run.start('vacuum', { ...params, dryRun: false })}
          >
            {summary && canRun ? `Delete ${plural(summary.files, 'file')} (${formatBytes(summary.bytes)})` : 'Run VACUUM'}
          </button>
        </div>
      </form>
      {dry.error && !dry.job ? <ErrorMessage error={dry.error} title="Could not run the VACUUM dry run" /> : null}
      {dry.job && dry.job.state !== 'succeeded' ? <JobProgress job={dry.job} error={dry.error} title="Dry run" showMetrics={false} /> : null}
      {summary ? (
        <div className="preview" aria-label="VACUUM dry run">
          <h3>Dry run{summary.retentionHours !== null ? ` with ${formatHours(summary.retentionHours)} retention` : ''}</h3>
          {summary.files === 0 ? (
            <p>Nothing to delete: every stored file is still needed within the retention. Time travel loses nothing.</p>
          ) : (
            <>
              <p className="preview-lead">
                <strong>
                  {plural(summary.files, 'file')}, {formatBytes(summary.bytes)}
                </strong>{' '}
                would be deleted.
              </p>
              <p className={summary.lost ? 'callout callout-warn' : ''} role={summary.lost ? 'note' : undefined}>
                Time travel: {lostVersionsText(summary.lost)}
                {summary.oldestReadableVersion !== null && summary.lost ? `; every version from ${summary.oldestReadableVersion} on stays readable` : ''}.
              </p>
              <details>
                <summary>
                  Files to delete ({formatCount(summary.list.length)}
                  {summary.truncated ? ` of ${formatCount(summary.files)}` : ''})
                </summary>
                <ul className="file-list mono small">
                  {summary.list.slice(0, 200).map((f) => (
                    <li key={f.path}>
                      {f.path} <span className="muted">({formatBytes(f.size)}, {f.reason})</span>
                    </li>
                  ))}
                </ul>
              </details>
            </>
          )}
        </div>
      ) : null}
      <JobProgress job={run.job} error={run.error} cancelling={run.cancelling} onCancel={() => void run.cancel()} />
    </section>
  );
}
