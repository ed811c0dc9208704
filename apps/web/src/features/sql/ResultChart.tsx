import { useMemo, useState } from 'react';
import { Bar, BarChart, CartesianGrid, Line, LineChart, ResponsiveContainer, Scatter, ScatterChart, Tooltip, XAxis, YAxis } from 'recharts';
import { formatCount } from '../../components/format.js';
import { cellNumber, formatCell, isNumericType, isTemporalType, type ResultSet } from '../../lib/duckdb/index.js';

/** A chart kind of the result view. */
export type ChartKind = 'bar' | 'line' | 'scatter';

/** Most points drawn per kind (SVG charts slow down beyond these; the first rows are charted). */
const MAX_POINTS: Record<ChartKind, number> = { bar: 500, line: 5000, scatter: 3000 };

interface Point {
  x: number | string;
  y: number | null;
}

function defaultColumns(result: ResultSet): { x: number; y: number } {
  const numeric = result.columns.map((c) => isNumericType(c.type));
  const y = numeric.lastIndexOf(true);
  const x = result.columns.findIndex((_c, i) => i !== y);
  return { x: Math.max(0, x), y: Math.max(0, y) };
}

function defaultKind(result: ResultSet, x: number): ChartKind {
  const t = result.columns[x]?.type;
  if (!t) return 'bar';
  if (isTemporalType(t)) return 'line';
  if (isNumericType(t)) return 'scatter';
  return 'bar';
}

/** A chart of a result: bar, line or scatter, with the X and Y columns picked from the result's columns. */
export function ResultChart({ result }: { result: ResultSet }) {
  const initial = useMemo(() => defaultColumns(result), [result]);
  const [xCol, setX] = useState(initial.x);
  const [yCol, setY] = useState(initial.y);
  const [kind, setKind] = useState<ChartKind>(() => defaultKind(result, initial.x));
  const x = Math.min(xCol, result.columns.length - 1);
  const y = Math.min(yCol, result.columns.length - 1);
  const xType = result.columns[x]?.type;
  const xNumeric = xType ? isNumericType(xType) || isTemporalType(xType) : false;
  const xTemporal = xType ? isTemporalType(xType) : false;
  const yNumeric = result.columns[y] ? isNumericType(result.columns[y].type) : false;

  const limit = MAX_POINTS[kind];
  const data = useMemo<Point[]>(() => {
    const out: Point[] = [];
    const n = Math.min(result.numRows, limit);
    for (let r = 0; r < n; r++) {
      const xv = result.get(r, x);
      // A point without an x has no place on a numeric or time axis.
      if (xv === null && xNumeric && kind !== 'bar') continue;
      out.push({
        x: xNumeric && kind !== 'bar' ? (cellNumber(xv, result.columns[x].type) ?? Number.NaN) : formatCell(xv, result.columns[x].type),
        y: cellNumber(result.get(r, y), result.columns[y].type),
      });
    }
    return out;
  }, [result, x, y, kind, limit, xNumeric]);

  const formatX = (v: unknown) => (xTemporal && typeof v === 'number' ? formatCell(v, result.columns[x].type) : String(v));
  const pick = (label: string, value: number, set: (n: number) => void) => (
    <label className="field">
      <span className="field-label">{label}</span>
      <select className="input" value={value} onChange={(e) => set(Number(e.target.value))}>
        {result.columns.map((c, i) => (
          <option key={i} value={i}>
            {c.name} ({c.typeName})
          </option>
        ))}
      </select>
    </label>
  );
  const axisProps = { stroke: 'var(--muted)', tick: { fill: 'var(--muted)', fontSize: 11 } };
  const tooltip = (
    <Tooltip
      contentStyle={{ background: 'var(--surface)', border: '1px solid var(--border-strong)', color: 'var(--text)' }}
      labelFormatter={(v: unknown) => formatX(v)}
      formatter={(v: unknown) => [String(v), result.columns[y]?.name ?? 'y']}
    />
  );

  return (
    <div className="result-chart">
      <div className="toolbar chart-controls">
        <div className="field">
          <span className="field-label">Chart</span>
          <div className="segmented" role="group" aria-label="Chart type">
            {(['bar', 'line', 'scatter'] as const).map((k) => (
              <button key={k} type="button" className="btn btn-small" aria-pressed={kind === k} onClick={() => setKind(k)}>
                {k[0].toUpperCase() + k.slice(1)}
              </button>
            ))}
          </div>
        </div>
        {pick('X axis', x, setX)}
        {pick('Y axis', y, setY)}
        <p className="muted small chart-note">
          {result.numRows > limit ? `First ${formatCount(limit)} of ${formatCount(result.numRows)} rows charted.` : `${formatCount(result.numRows)} rows.`}
          {!yNumeric ? ' The Y column is not numeric: pick a number column.' : ''}
        </p>
      </div>
      <div className="chart-area" role="img" aria-label={`${kind} chart of ${result.columns[y]?.name} by ${result.columns[x]?.name}`}>
        <ResponsiveContainer width="100%" height="100%">
          {kind === 'bar' ? (
            <BarChart data={data} margin={{ top: 8, right: 16, bottom: 8, left: 8 }}>
              <CartesianGrid stroke="var(--border)" strokeDasharray="3 3" />
              <XAxis dataKey="x" {...axisProps} />
              <YAxis {...axisProps} />
              {tooltip}
              <Bar dataKey="y" fill="var(--accent)" isAnimationActive={false} />
            </BarChart>
          ) : kind === 'line' ? (
            <LineChart data={data} margin={{ top: 8, right: 16, bottom: 8, left: 8 }}>
              <CartesianGrid stroke="var(--border)" strokeDasharray="3 3" />
              <XAxis dataKey="x" type={xNumeric ? 'number' : 'category'} domain={['auto', 'auto']} tickFormatter={formatX} {...axisProps} />
              <YAxis {...axisProps} />
              {tooltip}
              <Line dataKey="y" stroke="var(--accent)" dot={data.length < 200} isAnimationActive={false} />
            </LineChart>
          ) : (
            <ScatterChart margin={{ top: 8, right: 16, bottom: 8, left: 8 }}>
              <CartesianGrid stroke="var(--border)" strokeDasharray="3 3" />
              <XAxis dataKey="x" type={xNumeric ? 'number' : 'category'} domain={['auto', 'auto']} tickFormatter={formatX} name={result.columns[x]?.name} {...axisProps} />
              <YAxis dataKey="y" type="number" name={result.columns[y]?.name} {...axisProps} />
              {tooltip}
              <Scatter data={data} fill="var(--accent)" isAnimationActive={false} />
            </ScatterChart>
          )}
        </ResponsiveContainer>
      </div>
    </div>
  );
}
