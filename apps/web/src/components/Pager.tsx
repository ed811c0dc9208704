import { formatCount } from './format.js';

/** Previous/next buttons with "1–50 of 120"; calls `onOffset` with the new offset. */
export function Pager({ offset, limit, total, onOffset, label }: { offset: number; limit: number; total: number; onOffset: (offset: number) => void; label: string }) {
  if (total <= limit && offset === 0) return null;
  const last = Math.min(offset + limit, total);
  return (
    <nav className="pager" aria-label={label}>
      <button type="button" className="btn" disabled={offset === 0} onClick={() => onOffset(Math.max(0, offset - limit))}>
        Previous
      </button>
      <span className="pager-range" aria-live="polite">
        {total === 0 ? '0' : `${formatCount(offset + 1)}–${formatCount(last)}`} of {formatCount(total)}
      </span>
      <button type="button" className="btn" disabled={last >= total} onClick={() => onOffset(offset + limit)}>
        Next
      </button>
    </nav>
  );
}
