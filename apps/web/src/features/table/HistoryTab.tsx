import type { Commit } from '@lakehouse/contracts';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from '../../lib/router.js';
import { formatBytes, formatCount, formatDateTime } from '../../components/format.js';
import { Pager } from '../../components/Pager.js';
import { Empty, ErrorMessage, Loading, Time } from '../../components/States.js';
import { historyQuery } from './api.js';
import { tableHref } from './links.js';

const PAGE = 25;

/** `numOutputRows` → `output rows`. */
function metricLabel(key: string): string {
  return key
    .replace(/^num/, '')
    .replace(/TimeMs$/, 'Time')
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .trim();
}

function metricValue(key: string, value: string): string {
  if (!/^-?\d+(\.\d+)?$/.test(value)) return value;
  const n = Number(value);
  if (/bytes/i.test(key)) return formatBytes(n);
  if (/timeMs$/i.test(key) || /TimeMs$/.test(key)) return `${formatCount(n)} ms`;
  return formatCount(n);
}

function paramValue(v: unknown): string {
  if (typeof v === 'string') {
    // Delta stores many parameters as JSON text (`["order_date"]`); show them unquoted.
    try {
      const parsed: unknown = JSON.parse(v);
      if (Array.isArray(parsed)) return parsed.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(', ') || '[]';
    } catch {
      // Plain text.
    }
    return v;
  }
  return JSON.stringify(v);
}

const SHOWN_FACTS = 5;

function KeyValueList({ entries }: { entries: [string, string][] }) {
  return (
    <>
      {entries.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd title={v}>{v}</dd>
        </div>
      ))}
    </>
  );
}

/** Label/value pairs; beyond the first few, the rest (zeros last) sit behind a "more" disclosure. */
function KeyValues({ entries, label }: { entries: [string, string][]; label: string }) {
  if (entries.length === 0) return <span className="muted">—</span>;
  const ordered = [...entries.filter(([, v]) => v !== '0' && v !== '0 B'), ...entries.filter(([, v]) => v === '0' || v === '0 B')];
  const shown = ordered.length <= SHOWN_FACTS + 1 ? ordered : ordered.slice(0, SHOWN_FACTS);
  const rest = ordered.slice(shown.length);
  return (
    <div aria-label={label} role="group">
      <dl className="kv">
        <KeyValueList entries={shown} />
      </dl>
      {rest.length > 0 ? (
        <details className="kv-more">
          <summary>{rest.length} more</summary>
          <dl className="kv">
            <KeyValueList entries={rest} />
          </dl>
        </details>
      ) : null}
    </div>
  );
}

/** One commit's parameters and metrics as label/value pairs. */
function commitFacts(c: Commit) {
  return {
    params: Object.entries(c.operationParameters).map(([k, v]): [string, string] => [k, paramValue(v)]),
    metrics: Object.entries(c.operationMetrics).map(([k, v]): [string, string] => [metricLabel(k), metricValue(k, v)]),
  };
}

/**
 * History tab: the table's commits, newest first, with operation, user, time, parameters and metrics; each version links
 * to the table at that version (`?version=N`). `viewing` is marked as current.
 */
export function HistoryTab({ name, viewing, latest }: { name: string; viewing: number; latest?: number }) {
  const [offset, setOffset] = useState(0);
  const history = useQuery({ ...historyQuery(name, offset, PAGE), placeholderData: keepPreviousData });
  if (history.error) return <ErrorMessage error={history.error} title="Could not read the history" retry={() => void history.refetch()} />;
  if (!history.data) return <Loading label="Reading the history…" />;
  const page = history.data;
  if (page.items.length === 0) return <Empty>No commits.</Empty>;
  return (
    <div className={history.isPlaceholderData ? 'stale' : undefined}>
      <p className="muted small">
        {formatCount(page.total)} version{page.total === 1 ? '' : 's'} · select a version to open the table as it was then
      </p>
      <div className="table-wrap">
        <table className="grid-table history-table" aria-label={`History of ${name}`}>
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">Time</th>
              <th scope="col">Operation</th>
              <th scope="col">User</th>
              <th scope="col">Parameters</th>
              <th scope="col">Metrics</th>
            </tr>
          </thead>
          <tbody>
            {page.items.map((c) => {
              const { params, metrics } = commitFacts(c);
              const isLatest = latest !== undefined && c.version === latest;
              return (
                <tr key={c.version} className={c.version === viewing ? 'current' : undefined} aria-current={c.version === viewing ? 'true' : undefined}>
                  <th scope="row">
                    <Link to={isLatest ? tableHref(name) : tableHref(name, { version: c.version })} aria-label={`Open version ${c.version}`}>
                      {c.version}
                    </Link>
                    {isLatest ? <span className="badge badge-small">latest</span> : null}
                  </th>
                  <td>
                    <Time iso={c.timestamp} />
                    <div className="muted small">{formatDateTime(c.timestamp)}</div>
                  </td>
                  <td>
                    <span className="op">{c.operation ?? 'unknown'}</span>
                  </td>
                  <td>{c.userName ?? <span className="muted">—</span>}</td>
                  <td>
                    <KeyValues entries={params} label={`Parameters of version ${c.version}`} />
                  </td>
                  <td>
                    <KeyValues entries={metrics} label={`Metrics of version ${c.version}`} />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <Pager offset={offset} limit={PAGE} total={page.total} onOffset={setOffset} label="History pages" />
    </div>
  );
}
