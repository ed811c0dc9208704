import { parseTableName, quoteIdent } from '@lakehouse/core';
import { useQuery } from '@tanstack/react-query';
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { formatCount } from '../../components/format.js';
import { ErrorMessage, Loading } from '../../components/States.js';
import { QueryError, formatCell, formatDate, formatTimestamp, isNumericType, isTemporalType, queryOnce, typeInfo, TypeId } from '../../lib/duckdb/index.js';
import { sqlKeys } from './api.js';

/** Buckets of a profile histogram. */
export const HISTOGRAM_BUCKETS = 20;
/** Most frequent values a profile lists. */
export const TOP_VALUES = 10;

/** A column's profile, computed in the browser. */
export interface Profile {
  typeName: string;
  rows: number;
  nulls: number;
  distinct: number;
  min: string | null;
  max: string | null;
  top: { value: string; count: number }[];
  /** Equal-width buckets over [min, max] for numbers, dates and timestamps; null for other types. */
  histogram: { from: number; to: number; count: number }[] | null;
  /** How bucket bounds are shown. */
  axis: 'number' | 'date' | 'timestamp';
  version: number | null;
  durationMs: number;
}

const num = (v: unknown): number => (typeof v === 'bigint' ? Number(v) : Number(v ?? 0));

/** Computes the profile of one column with three DuckDB-WASM queries (stats, top values, histogram). */
export async function profileColumn(table: string, column: string, version?: number): Promise<Profile> {
  const t0 = performance.now();
  const from = `${parseTableName(table).name}${version !== undefined ? ` VERSION AS OF ${version}` : ''}`;
  const c = quoteIdent(column);
  const opts = { tables: [table] };

  let stats;
  try {
    stats = await queryOnce(`SELECT count(*) AS n, count(${c}) AS non_null, count(DISTINCT ${c}) AS d, min(${c}) AS lo, max(${c}) AS hi FROM ${from}`, opts);
  } catch (e) {
    // Types without an order (some nested types) have no min/max.
    if (!(e instanceof QueryError) || e.kind !== 'sql') throw e;
    stats = await queryOnce(`SELECT count(*) AS n, count(${c}) AS non_null, count(DISTINCT ${c}) AS d, NULL AS lo, NULL AS hi, any_value(${c}) AS t FROM ${from}`, opts);
  }
  const r = stats.result;
  const typeCol = r.columns.length > 5 ? 5 : 3;
  const type = r.columns[typeCol].type;
  const rows = num(r.get(0, 0));
  const nonNull = num(r.get(0, 1));
  const lo = r.get(0, 3);
  const hi = r.get(0, 4);

  const top = await queryOnce(`SELECT CAST(${c} AS VARCHAR) AS v, count(*) AS n FROM ${from} WHERE ${c} IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ${TOP_VALUES}`, opts);
  const topValues = Array.from({ length: top.result.numRows }, (_x, i) => ({ value: String(top.result.get(i, 0)), count: num(top.result.get(i, 1)) }));

  let histogram: Profile['histogram'] = null;
  const temporal = isTemporalType(type);
  const axis: Profile['axis'] = temporal ? (typeInfo(type).typeId === TypeId.Date ? 'date' : 'timestamp') : 'number';
  if ((isNumericType(type) || temporal) && nonNull > 0) {
    const x = temporal ? `CAST(epoch_ms(CAST(${c} AS TIMESTAMP)) AS DOUBLE)` : `CAST(${c} AS DOUBLE)`;
    const h = await queryOnce(
      `WITH v AS (SELECT ${x} AS x FROM ${from} WHERE ${c} IS NOT NULL), b AS (SELECT min(x) AS lo, max(x) AS hi FROM v)
       SELECT CASE WHEN b.hi = b.lo THEN 0 ELSE least(CAST(floor((v.x - b.lo) / ((b.hi - b.lo) / ${HISTOGRAM_BUCKETS})) AS INTEGER), ${HISTOGRAM_BUCKETS - 1}) END AS bucket,
              count(*) AS n, any_value(b.lo) AS lo, any_value(b.hi) AS hi
       FROM v, b GROUP BY 1 ORDER BY 1`,
      opts,
    );
    const counts = new Array<number>(HISTOGRAM_BUCKETS).fill(0);
    let min = 0;
    let max = 0;
    for (let i = 0; i < h.result.numRows; i++) {
      counts[num(h.result.get(i, 0))] = num(h.result.get(i, 1));
      min = num(h.result.get(i, 2));
      max = num(h.result.get(i, 3));
    }
    const width = (max - min) / HISTOGRAM_BUCKETS;
    histogram = max === min ? [{ from: min, to: max, count: nonNull }] : counts.map((n, i) => ({ from: min + i * width, to: min + (i + 1) * width, count: n }));
  }

  return {
    typeName: r.columns[typeCol].typeName,
    rows,
    nulls: rows - nonNull,
    distinct: num(r.get(0, 2)),
    min: lo === null || lo === undefined ? null : formatCell(lo, r.columns[3].type),
    max: hi === null || hi === undefined ? null : formatCell(hi, r.columns[4].type),
    top: topValues,
    histogram,
    axis,
    version: stats.views[0]?.version ?? null,
    durationMs: performance.now() - t0,
  };
}

function bound(v: number, axis: Profile['axis']): string {
  if (axis === 'date') return formatDate(v);
  if (axis === 'timestamp') return formatTimestamp(v);
  return Math.abs(v) >= 1e6 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(2) : String(Math.round(v * 1000) / 1000);
}

/** Profiles one column in the browser: distinct count, nulls, min/max, top values and a histogram. */
export function ColumnProfile({ table, column, version }: { table: string; column: string; version?: number }) {
  const q = useQuery({
    queryKey: [...sqlKeys.all, 'profile', table, version ?? 'latest', column] as const,
    queryFn: () => profileColumn(table, column, version),
    staleTime: version === undefined ? 30_000 : Infinity,
    retry: false,
  });
  if (q.isPending) return <Loading label={`Profiling ${column} in your browser…`} />;
  if (q.error) return <ErrorMessage error={q.error} title={`Could not profile ${column}`} retry={() => void q.refetch()} />;
  const p = q.data;
  const maxTop = Math.max(1, ...p.top.map((t) => t.count));
  const share = (n: number) => (p.rows > 0 ? `${((100 * n) / p.rows).toFixed(n > 0 && n < p.rows / 1000 ? 3 : 1)}%` : '—');
  return (
    <div className="column-profile">
      <p className="muted small">
        <code>{column}</code> · {p.typeName}
        {p.version !== null ? ` · version ${p.version}` : ''} · computed in {Math.round(p.durationMs)} ms in your browser
      </p>
      <dl className="profile-facts">
        <div>
          <dt>Rows</dt>
          <dd>{formatCount(p.rows)}</dd>
        </div>
        <div>
          <dt>Distinct</dt>
          <dd>{formatCount(p.distinct)}</dd>
        </div>
        <div>
          <dt>Nulls</dt>
          <dd>
            {formatCount(p.nulls)} <span className="muted">({share(p.nulls)})</span>
          </dd>
        </div>
        <div>
          <dt>Min</dt>
          <dd className="mono">{p.min ?? '—'}</dd>
        </div>
        <div>
          <dt>Max</dt>
          <dd className="mono">{p.max ?? '—'}</dd>
        </div>
      </dl>
      {p.histogram ? (
        <figure className="profile-histogram">
          <figcaption className="small muted">Distribution ({p.histogram.length} equal-width buckets)</figcaption>
          <div className="profile-chart" role="img" aria-label={`Histogram of ${column}`}>
            <ResponsiveContainer width="100%" height="100%">
              <BarChart data={p.histogram.map((b) => ({ ...b, label: bound(b.from, p.axis) }))} margin={{ top: 4, right: 8, bottom: 4, left: 0 }} barCategoryGap={1}>
                <CartesianGrid stroke="var(--border)" strokeDasharray="3 3" vertical={false} />
                <XAxis dataKey="label" stroke="var(--muted)" tick={{ fill: 'var(--muted)', fontSize: 10 }} interval="preserveStartEnd" minTickGap={24} />
                <YAxis stroke="var(--muted)" tick={{ fill: 'var(--muted)', fontSize: 10 }} width={48} />
                <Tooltip
                  contentStyle={{ background: 'var(--surface)', border: '1px solid var(--border-strong)', color: 'var(--text)' }}
                  labelFormatter={(_l: unknown, payload: readonly { payload?: { from: number; to: number } }[]) => {
                    const b = payload?.[0]?.payload;
                    return b ? `${bound(b.from, p.axis)} – ${bound(b.to, p.axis)}` : '';
                  }}
                  formatter={(v: unknown) => [formatCount(Number(v)), 'rows']}
                />
                <Bar dataKey="count" fill="var(--accent)" isAnimationActive={false} />
              </BarChart>
            </ResponsiveContainer>
          </div>
        </figure>
      ) : null}
      <h3 className="small profile-top-title">Top values</h3>
      {p.top.length === 0 ? (
        <p className="muted small">No values (every row is NULL).</p>
      ) : (
        <table className="profile-top">
          <tbody>
            {p.top.map((t) => (
              <tr key={t.value}>
                <td className="mono profile-value" title={t.value}>
                  {t.value}
                </td>
                <td className="profile-bar-cell">
                  <span className="profile-bar" style={{ width: `${(100 * t.count) / maxTop}%` }} />
                </td>
                <td className="num">{formatCount(t.count)}</td>
                <td className="num muted">{share(t.count)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
