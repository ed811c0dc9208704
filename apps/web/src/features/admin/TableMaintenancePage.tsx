import { JobSchema, type TableHealth } from '@lakehouse/contracts';
import { useQuery } from '@tanstack/react-query';
import { lazy, Suspense, type ReactNode } from 'react';
import { Link, useParams } from '../../lib/router.js';
import { formatBytes, formatCount } from '../../components/format.js';
import { Empty, ErrorMessage, Loading, Time } from '../../components/States.js';
import { useDocumentTitle } from '../../components/useDocumentTitle.js';
import { api, isApiError } from '../../lib/api.js';
import { useAuth } from '../../lib/auth.js';
import { tableDetailQuery } from '../catalog/api.js';
import { tableHref } from '../table/links.js';
import { healthQuery, tableJobsQuery } from './api.js';
import { canManage, formatDuration, healthBins, jobMetrics, plural } from './format.js';
import { JobProgress, jobTitle } from './JobProgress.js';
import { OptimizePanel, VacuumPanel } from './OperationPanels.js';
import { PropertiesEditor } from './PropertiesEditor.js';
import { SchedulesPanel } from './SchedulesPanel.js';
import { useMaintenanceJob } from './useMaintenanceJob.js';

const FileSizeHistogram = lazy(() => import('../table/FileSizeHistogram.js').then((m) => ({ default: m.FileSizeHistogram })));

/** Route `/admin/tables/:name`: a table's health, OPTIMIZE / VACUUM / checkpoint with previews, properties, schedules and job history. */
export function TableMaintenancePage() {
  const { name = '' } = useParams();
  useDocumentTitle(`Maintenance · ${name}`);
  const { me } = useAuth();
  const health = useQuery(healthQuery(name));
  const detail = useQuery(tableDetailQuery(name));
  const manage = canManage(me, name);

  const header = (
    <header className="page-header">
      <div>
        <nav aria-label="Breadcrumb" className="breadcrumb">
          <Link to="/admin">Admin</Link> / maintenance
        </nav>
        <h1 id="maint-title" className="mono-title">
          {name}
        </h1>
      </div>
      <div className="page-actions">
        <Link className="btn" to={tableHref(name)}>
          Open table
        </Link>
      </div>
    </header>
  );

  if (health.error) {
    const notFound = isApiError(health.error, 'TABLE_NOT_FOUND', 'NOT_FOUND', 'INVALID_INPUT');
    return (
      <section className="page" aria-labelledby="maint-title">
        {header}
        <ErrorMessage error={health.error} title={notFound ? 'No such table' : 'Could not read the table health'} retry={notFound ? undefined : () => void health.refetch()} />
        <Link to="/admin">Back to the advisor</Link>
      </section>
    );
  }
  const h = health.data;
  return (
    <section className="page maint-page" aria-labelledby="maint-title">
      {header}
      {!manage ? (
        <p className="callout" role="note">
          Read-only: your role ({me?.role}) can see this table’s health but not run maintenance or change its properties.
        </p>
      ) : null}
      {!h ? (
        <Loading label={`Reading the health of ${name}…`} />
      ) : (
        <>
          <HealthPanel health={h} />
          {h.runningJobId && manage ? <RunningJob table={name} jobId={h.runningJobId} /> : null}
          {manage ? (
            <div className="maint-ops">
              <OptimizePanel table={name} health={h} columns={(detail.data?.columns ?? []).filter((c) => !c.isPartition).map((c) => c.name)} />
              <VacuumPanel table={name} health={h} />
              <CheckpointPanel table={name} health={h} />
            </div>
          ) : null}
          <div className="maint-columns">
            <PropertiesEditor table={name} properties={h.properties} canEdit={manage} />
            <SchedulesPanel table={name} canEdit={manage} />
          </div>
          <JobHistory table={name} />
        </>
      )}
    </section>
  );
}

/** Health figures and the file-size histogram of the latest version. */
function HealthPanel({ health: h }: { health: TableHealth }) {
  const figures: [string, ReactNode][] = [
    ['Version', String(h.version)],
    ['Files', formatCount(h.numFiles)],
    ['Size', formatBytes(h.totalBytes)],
    ['Small files', `${formatCount(h.smallFiles)} under ${formatBytes(h.smallFileThreshold)} (${formatBytes(h.smallFileBytes)})`],
    ['Target file size', formatBytes(h.targetFileSize)],
    ['Partitions', h.partitions.count === 0 ? 'none' : `${formatCount(h.partitions.count)} · skew ${h.partitions.skew.toFixed(1)}× (largest ${formatBytes(h.partitions.maxBytes)}, median ${formatBytes(h.partitions.medianBytes)})`],
    ['Commits since checkpoint', `${h.commitsSinceCheckpoint}${h.lastCheckpointVersion !== null ? ` (last at v${h.lastCheckpointVersion})` : ' (no checkpoint yet)'}`],
    ['Held only for time travel', `${formatBytes(h.timeTravel.bytes)} in ${plural(h.timeTravel.files, 'file')}`],
    ['Last OPTIMIZE', h.lastOptimize ? <LastRun run={h.lastOptimize} /> : 'never'],
    ['Last VACUUM', h.lastVacuum ? <LastRun run={h.lastVacuum} /> : 'never'],
  ];
  return (
    <section aria-labelledby="health-title" className="panel health">
      <h2 id="health-title">Health</h2>
      <div className="health-grid">
        <dl className="facts" aria-label="Health figures">
          {figures.map(([k, v]) => (
            <div key={k} className="fact">
              <dt>{k}</dt>
              <dd>{v}</dd>
            </div>
          ))}
        </dl>
        <figure className="health-chart" aria-labelledby="histogram-caption">
          <figcaption id="histogram-caption" className="small muted">
            File sizes (v{h.version}: {plural(h.numFiles, 'file')})
          </figcaption>
          {h.numFiles === 0 ? (
            <Empty>No files.</Empty>
          ) : (
            <Suspense fallback={<Loading label="Loading the chart…" />}>
              <FileSizeHistogram bins={healthBins(h.histogram)} />
            </Suspense>
          )}
        </figure>
      </div>
    </section>
  );
}

function LastRun({ run }: { run: NonNullable<TableHealth['lastOptimize']> }) {
  return (
    <>
      v{run.version}, <Time iso={run.timestamp} />
    </>
  );
}

/** A job that holds the table's lock (started elsewhere): follow it or cancel it. */
function RunningJob({ table, jobId }: { table: string; jobId: string }) {
  const job = useMaintenanceJob(table);
  return (
    <div className="callout" role="status">
      {job.job ? (
        <JobProgress job={job.job} error={job.error} cancelling={job.cancelling} onCancel={() => void job.cancel()} />
      ) : (
        <>
          A maintenance job is running on this table.{' '}
          <button
            type="button"
            className="btn btn-small"
            onClick={() => {
              void fetchAndFollow(job, jobId);
            }}
          >
            Follow it
          </button>
        </>
      )}
    </div>
  );
}

async function fetchAndFollow(job: ReturnType<typeof useMaintenanceJob>, id: string) {
  await job.follow(await api(`/api/jobs/${encodeURIComponent(id)}`, JobSchema));
}

/** Checkpoint now. */
function CheckpointPanel({ table, health }: { table: string; health: TableHealth }) {
  const job = useMaintenanceJob(table);
  return (
    <section aria-labelledby="checkpoint-title" className="panel op-panel">
      <h2 id="checkpoint-title">Checkpoint</h2>
      <p className="small">
        {health.commitsSinceCheckpoint} commits since the last checkpoint. A checkpoint lets readers load the table from one file instead of replaying every commit.
      </p>
      <div className="op-actions">
        <button type="button" className="btn btn-primary" onClick={() => void job.start('checkpoint', {})} disabled={job.busy}>
          Checkpoint now
        </button>
      </div>
      <JobProgress job={job.job} error={job.error} cancelling={job.cancelling} onCancel={() => void job.cancel()} />
    </section>
  );
}

/** The table's maintenance jobs with their metrics, newest first. */
function JobHistory({ table }: { table: string }) {
  const jobs = useQuery(tableJobsQuery(table));
  return (
    <section aria-labelledby="history-title" className="panel">
      <h2 id="history-title">Job history</h2>
      {jobs.error ? (
        <ErrorMessage error={jobs.error} title="Could not list the jobs" retry={() => void jobs.refetch()} />
      ) : !jobs.data ? (
        <Loading label="Loading jobs…" />
      ) : jobs.data.length === 0 ? (
        <Empty>No maintenance has run on this table yet.</Empty>
      ) : (
        <div className="table-wrap">
          <table className="grid-table compact job-history-table" aria-labelledby="history-title">
            <thead>
              <tr>
                <th scope="col">Job</th>
                <th scope="col">State</th>
                <th scope="col">Started</th>
                <th scope="col">Took</th>
                <th scope="col">Result</th>
              </tr>
            </thead>
            <tbody>
              {jobs.data.map((j) => (
                <tr key={j.id}>
                  <td>{jobTitle(j)}</td>
                  <td>
                    <span className={`job-state state-${j.state}`}>{j.state}</span>
                  </td>
                  <td>
                    <Time iso={j.createdAt} />
                  </td>
                  <td>{j.finishedAt ? formatDuration(Date.parse(j.finishedAt) - Date.parse(j.createdAt)) : '—'}</td>
                  <td className="small">
                    {j.state === 'failed' && j.error
                      ? j.error.message
                      : jobMetrics(j)
                          .map(([k, v]) => `${k}: ${v}`)
                          .join(' · ') || (j.message ?? '')}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
