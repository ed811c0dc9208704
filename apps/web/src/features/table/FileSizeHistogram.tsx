import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { SizeBin } from './histogram.js';

/** A bar chart of file counts per size bin (Recharts; loaded lazily with the Files tab). */
export function FileSizeHistogram({ bins }: { bins: SizeBin[] }) {
  return (
    <div className="chart" role="img" aria-label={`File sizes: ${bins.map((b) => `${b.files} files of ${b.label}`).join('; ')}`}>
      <ResponsiveContainer width="100%" height={220}>
        <BarChart data={bins} margin={{ top: 8, right: 8, bottom: 8, left: 0 }}>
          <CartesianGrid vertical={false} className="chart-grid" />
          <XAxis dataKey="label" tick={{ fontSize: 11 }} interval="preserveStartEnd" className="chart-axis" />
          <YAxis allowDecimals={false} tick={{ fontSize: 11 }} width={40} className="chart-axis" />
          <Tooltip cursor={{ className: 'chart-cursor' }} wrapperClassName="chart-tooltip" formatter={(v) => [v, 'files']} />
          <Bar dataKey="files" className="chart-bar" isAnimationActive={false} />
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}
