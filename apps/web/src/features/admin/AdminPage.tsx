import type { MaintenanceAdviceItem, MaintenanceKind } from '@lakehouse/contracts';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from '../../lib/router.js';
import { formatBytes, formatCount } from '../../components/format.js';
import { Empty, ErrorMessage, Loading, Time } from '../../components/States.js';
import { useDocumentTitle } from '../../components/useDocumentTitle.js';
import { useAuth } from '../../lib/auth.js';
import { tableListQuery } from '../catalog/api.js';
import { adviceQuery, allJobsQuery, allSchedulesQuery, healthQuery, type MaintenanceBody } from './api.js';
import { adviceActionLabel, adviceUrgency, canManage, formatInterval, jobMetrics, KIND_LABEL, plural, sortAdvice } from './format.js';
import { JobProgress, jobTitle } from './JobProgress.js';
import { adminTableHref } from './links.js';
import { useMaintenanceJob } from './useMaintenanceJob.js';

const adviceKey = (a: Pick<MaintenanceAdviceItem, 'table' | 'kind'>) => `${a.table}|${a.kind}`;

/** Route `/admin`: the maintenance advisor across all tables (sorted by need, one-click runs), recent jobs, schedules and tables. */
export function AdminPage() {
  useDocumentTitle('Admin');
  const { me } = useAuth();
  const advice = useQuery(adviceQuery());
  // Recommendations run from this page stay listed (with their result) after the advice no longer names them.
  const [ran, setRan] = useState<Map<string, MaintenanceAdviceItem>>(new Map());
  const current = advice.data?.items ?? [];
  const currentKeys = new Set(current.map(adviceKey));
  const rows = sortAdvice([...current, ...[...ran.values()].filter((a) => !currentKeys.has(adviceKey(a)))]);
  const manageAny = me?.role === 'admin' || (me?.grants ?? []).some((g) => g.privilege === 'MANAGE');

  return (
    <section className="page admin-page" aria-labelledby="admin-title">
      <header className="page-header">
        <div>
          <h1 id="admin-title">Admin</h1>
          <p className="lead">Table maintenance: keep tables fast and cheap. Compact small files, free storage held only for time travel, checkpoint long logs.</p>
        </div>
        <div className="page-actions">
          <button type="button" className="btn" onClick={() => void advice.refetch()} disabled={advice.isFetching}>
            {advice.isFetching ? 'Checking…' : 'Check again'}
          </button>
        </div>
      </header>
      {!manageAny ? (
        <p className="callout" role="note">
          Read-only: your role ({me?.role}) can see the advice but not run maintenance. Admins, or users with MANAGE on a table, can.
        </p>
      ) : null}

      <section aria-labelledby="advisor-title" className="panel">
        <h2 id="advisor-title">Advisor</h2>
        {advice.error ? (
          <ErrorMessage error={advice.error} title="Could not compute the advice" retry={() => void advice.refetch()} />
        ) : !advice.data ? (
          <Loading label="Looking at every table…" />
        ) : rows.length === 0 ? (
          <Empty>Nothing to do: no table has small files to compact, storage to reclaim or a long log to checkpoint.</Empty>
        ) : (
          <ol className="advice-list" aria-label="Recommendations, most needed first">
            {rows.map((a) => (
              <AdviceRow
                key={adviceKey(a)}
                item={a}
                stale={!currentKeys.has(adviceKey(a))}
                canRun={canManage(me, a.table)}
                onRun={() => setRan((m) => new Map(m).set(adviceKey(a), a))}
              />
            ))}
          </ol>
        )}
        {advice.data && advice.data.errors.length > 0 ? (
          <details className="small">
            <summary>{advice.data.errors.length} tables could not be checked</summary>
            <ul>
              {advice.data.errors.map((e) => (
                <li key={e.table}>
                  <code>{e.table}</code>: {e.message}
                </li>
              ))}
            </ul>
          </details>
        ) : null}
      </section>

      <div className="admin-columns">
        <RecentJobs />
        <div>
          <SchedulesOverview />
          <TablesIndex />
        </div>
      </div>
    </section>
  );
}

/** One recommendation: table, what and why, the action button, and the live job once started. */
function AdviceRow({ item, stale, canRun, onRun }: { item: MaintenanceAdviceItem; stale: boolean; canRun: boolean; onRun: () => void }) {
  const job = useMaintenanceJob(item.table);
  const health = useQuery(healthQuery(item.table));
  const urgency = adviceUrgency(item.score);
  const run = () => {
    onRun();
    // The advice names the request that acts on it; its body is one of the maintenance bodies.
    void job.start(item.kind, item.action.body as MaintenanceBody[MaintenanceKind]);
  };
  const h = health.data;
  return (
    <li className={`advice advice-${stale ? 'done' : urgency}`} aria-label={`${KIND_LABEL[item.kind]} ${item.table}`}>
      <div className="advice-main">
        <div className="advice-title">
          <span className={`kind-badge kind-${item.kind}`}>{KIND_LABEL[item.kind]}</span>
          <Link to={adminTableHref(item.table)} className="mono">
            {item.table}
          </Link>
          <span className={`urgency urgency-${stale ? 'done' : urgency}`}>{stale ? 'done: no longer advised' : `${urgency} need`}</span>
        </div>
        <p className="advice-message">{item.message}</p>
        {h ? (
          <p className="muted small advice-health">
            Now: {plural(h.numFiles, 'file')} · {formatCount(h.smallFiles)} small · {formatBytes(h.totalBytes)} · {formatBytes(h.timeTravel.bytes)} held for time travel ·{' '}
            {plural(h.commitsSinceCheckpoint, 'commit')} since checkpoint · v{h.version}
          </p>
        ) : null}
      </div>
      {canRun ? (
        <div className="advice-actions">
          {stale ? null : (
            <button type="button" className="btn btn-primary" onClick={run} disabled={job.busy}>
              {adviceActionLabel(item)}
            </button>
          )}
          <Link className="btn" to={adminTableHref(item.table)}>
            Details
          </Link>
        </div>
      ) : null}
      {job.job || job.error ? (
        <div className="advice-job">
          <JobProgress job={job.job} error={job.error} cancelling={job.cancelling} onCancel={() => void job.cancel()} />
        </div>
      ) : null}
    </li>
  );
}

/** The latest maintenance jobs of every table, with their metrics. */
function RecentJobs() {
  const jobs = useQuery(allJobsQuery(15));
  return (
    <section aria-labelledby="recent-jobs-title" className="panel">
      <h2 id="recent-jobs-title">Recent jobs</h2>
      {jobs.error ? (
        <ErrorMessage error={jobs.error} title="Could not list the jobs" retry={() => void jobs.refetch()} />
      ) : !jobs.data ? (
        <Loading label="Loading jobs…" />
      ) : jobs.data.length === 0 ? (
        <Empty>No maintenance has run yet.</Empty>
      ) : (
        <ul className="job-list">
          {jobs.data.map((j) => (
            <li key={j.id}>
              <div className="job-list-head">
                <strong>{jobTitle(j)}</strong>{' '}
                {j.table ? (
                  <Link to={adminTableHref(j.table)} className="mono small">
                    {j.table}
                  </Link>
                ) : null}
                <span className={`job-state state-${j.state}`}>{j.state}</span>
                <span className="muted small">
                  <Time iso={j.createdAt} />
                </span>
              </div>
              <p className="muted small">
                {j.state === 'failed' && j.error
                  ? j.error.message
                  : jobMetrics(j)
                      .map(([k, v]) => `${k}: ${v}`)
                      .join(' · ') || j.message}
              </p>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** Every maintenance schedule. */
function SchedulesOverview() {
  const schedules = useQuery(allSchedulesQuery());
  return (
    <section aria-labelledby="schedules-title" className="panel">
      <h2 id="schedules-title">Schedules</h2>
      {schedules.error ? (
        <ErrorMessage error={schedules.error} title="Could not list the schedules" />
      ) : !schedules.data ? (
        <Loading label="Loading schedules…" />
      ) : schedules.data.length === 0 ? (
        <Empty>No schedules. Open a table to run OPTIMIZE nightly or VACUUM weekly.</Empty>
      ) : (
        <ul className="plain-list">
          {schedules.data.map((s) => (
            <li key={s.id}>
              <strong>{KIND_LABEL[s.kind as MaintenanceKind]}</strong> {formatInterval(s.intervalMinutes)} on{' '}
              <Link to={adminTableHref(s.table)} className="mono small">
                {s.table}
              </Link>{' '}
              <span className="muted small">{s.enabled ? <>next <Time iso={s.nextRunAt} /></> : 'paused'}</span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** Links to the maintenance page of every table. */
function TablesIndex() {
  const tables = useQuery(tableListQuery());
  return (
    <section aria-labelledby="tables-title" className="panel">
      <h2 id="tables-title">Tables</h2>
      {tables.error ? (
        <ErrorMessage error={tables.error} title="Could not list the tables" />
      ) : !tables.data ? (
        <Loading label="Loading tables…" />
      ) : (
        <ul className="plain-list table-index">
          {tables.data.map((t) => (
            <li key={t.name}>
              <Link to={adminTableHref(t.name)} className="mono">
                {t.name}
              </Link>{' '}
              <span className="muted small">
                {plural(t.files, 'file')} · {formatBytes(t.bytes)}
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
