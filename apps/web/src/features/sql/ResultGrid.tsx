import { getCoreRowModel, useReactTable, type ColumnDef, type ColumnSizingState } from '@tanstack/react-table';
import { useVirtualizer, type Virtualizer } from '@tanstack/react-virtual';
import { useEffect, useMemo, useRef, useState } from 'react';
import { TypeId, typeInfo, type ResultSet } from '../../lib/duckdb/index.js';

// The result grid: TanStack Table owns the columns (headers, sizes, resizing), TanStack Virtual the rows. Rows are
// never materialized: only the visible ones are rendered, and each cell is read from the Arrow batches when drawn.
//
// A million rows of 26 px are 26 million px: browsers position content in single-precision floats, so rows that far
// down land on 2-4 px steps (and beyond ~33M px not at all). The scrolled content is therefore capped at
// MAX_SCROLL_PX and the scroll position scaled onto the rows; the wheel is rescaled so one notch still moves the
// rows by the usual distance, while the scroll bar spans the whole result.

const ROW_HEIGHT = 26;
const HEAD_HEIGHT = 42;
const NO_ROWS: never[] = [];
const rowSize = () => ROW_HEIGHT;
/** Largest scroll height used as is (float precision is still better than 1/4 px there). */
const MAX_SCROLL_PX = 2_000_000;

/** Real (row) offset per pixel of scroll, for content of `real` px shown in `capped` px with a viewport of `view` px. */
function scaleOf(real: number, capped: number, view: number): number {
  return capped >= real || capped <= view ? 1 : (real - view) / (capped - view);
}

function isRightAligned(result: ResultSet, col: number): boolean {
  const id = typeInfo(result.columns[col].type).typeId;
  return id === TypeId.Int || id === TypeId.Float || id === TypeId.Decimal;
}

/** Initial width of a column from its name, its type and the first rows' text. */
function initialWidth(result: ResultSet, col: number): number {
  const c = result.columns[col];
  let chars = Math.max(c.name.length, Math.min(c.typeName.length, 18));
  for (let r = 0; r < Math.min(result.numRows, 50); r++) chars = Math.max(chars, Math.min(result.text(r, col).length, 48));
  return Math.max(72, Math.min(420, chars * 7.6 + 24));
}

/** A virtualized grid over a query result: column names and types in sticky headers, resizable columns, NULLs marked. */
export function ResultGrid({ result, label = 'Query result' }: { result: ResultSet; label?: string }) {
  const scroller = useRef<HTMLDivElement>(null);
  const [sizing, setSizing] = useState<ColumnSizingState>({});

  const columns = useMemo<ColumnDef<never>[]>(
    () =>
      result.columns.map((c, i) => ({
        id: String(i),
        header: c.name,
        size: initialWidth(result, i),
        minSize: 48,
        maxSize: 2000,
        meta: { typeName: c.typeName },
      })),
    [result],
  );
  const table = useReactTable<never>({
    data: NO_ROWS,
    columns,
    getCoreRowModel: getCoreRowModel(),
    columnResizeMode: 'onChange',
    enableColumnResizing: true,
    state: { columnSizing: sizing },
    onColumnSizingChange: setSizing,
  });
  const headers = table.getHeaderGroups()[0]?.headers ?? [];
  const numberWidth = Math.max(48, String(result.numRows).length * 8 + 20);
  const totalWidth = numberWidth + headers.reduce((n, h) => n + h.getSize(), 0);

  const realHeight = HEAD_HEIGHT + result.numRows * ROW_HEIGHT;
  const cappedHeight = Math.min(realHeight, MAX_SCROLL_PX);
  const scale = useRef(1);
  const rows = useVirtualizer({
    count: result.numRows,
    getScrollElement: () => scroller.current,
    estimateSize: rowSize,
    overscan: 12,
    // Report the row offset (scroll position times the scale), not the raw scroll position.
    observeElementOffset: (instance: Virtualizer<HTMLDivElement, Element>, cb: (offset: number, isScrolling: boolean) => void) => {
      const el = instance.scrollElement;
      if (!el) return undefined;
      let idle: ReturnType<typeof setTimeout> | undefined;
      const report = (scrolling: boolean) => {
        scale.current = scaleOf(realHeight, cappedHeight, el.clientHeight);
        cb(el.scrollTop * scale.current, scrolling);
      };
      const onScroll = () => {
        report(true);
        clearTimeout(idle);
        idle = setTimeout(() => report(false), 150);
      };
      report(false);
      el.addEventListener('scroll', onScroll, { passive: true });
      return () => {
        el.removeEventListener('scroll', onScroll);
        clearTimeout(idle);
      };
    },
    scrollToFn: (offset, _options, instance) => {
      instance.scrollElement?.scrollTo({ top: offset / scale.current });
    },
  });
  // One wheel notch moves the rows by its usual distance even when the scroll position is scaled.
  useEffect(() => {
    const el = scroller.current;
    if (!el || cappedHeight >= realHeight) return;
    const onWheel = (e: WheelEvent) => {
      if (e.ctrlKey) return;
      const unit = e.deltaMode === 1 ? ROW_HEIGHT : e.deltaMode === 2 ? el.clientHeight : 1;
      e.preventDefault();
      el.scrollTop += (e.deltaY * unit) / scale.current;
      el.scrollLeft += e.deltaX * unit;
    };
    el.addEventListener('wheel', onWheel, { passive: false });
    return () => el.removeEventListener('wheel', onWheel);
  }, [cappedHeight, realHeight]);
  // Rows are placed relative to the scroll position (container coordinates stay below MAX_SCROLL_PX).
  const rowOffset = rows.scrollOffset ?? 0;
  const scrollTop = rowOffset / scale.current;
  const right = useMemo(() => result.columns.map((_c, i) => isRightAligned(result, i)), [result]);

  return (
    <div
      className="result-grid"
      ref={scroller}
      // As tall as the rows need (plus room for a horizontal scroll bar), up to the CSS max-height.
      style={{ height: realHeight + 18 }}
      role="grid"
      aria-label={label}
      aria-rowcount={result.numRows + 1}
      aria-colcount={result.columns.length + 1}
      tabIndex={0}
    >
      <div className="rg-inner" style={{ width: totalWidth, height: cappedHeight }}>
        <div className="rg-head" role="row" aria-rowindex={1} style={{ width: totalWidth }}>
          <div className="rg-cell rg-num rg-corner" role="columnheader" style={{ width: numberWidth }}>
            #
          </div>
          {headers.map((h, i) => (
            <div key={h.id} className="rg-cell rg-th" role="columnheader" aria-colindex={i + 2} style={{ width: h.getSize() }} title={`${result.columns[i].name} ${result.columns[i].typeName}`}>
              <span className="rg-name">{result.columns[i].name}</span>
              <span className="rg-type">{result.columns[i].typeName}</span>
              <span
                className={`rg-resizer ${h.column.getIsResizing() ? 'active' : ''}`}
                onMouseDown={h.getResizeHandler()}
                onTouchStart={h.getResizeHandler()}
                onDoubleClick={() => h.column.resetSize()}
                role="separator"
                aria-orientation="vertical"
                aria-label={`Resize ${result.columns[i].name}`}
              />
            </div>
          ))}
        </div>
        {rows.getVirtualItems().map((v, slot) => (
          <div
            // Keyed by slot, not by row: scrolling reuses the row elements and only changes their text and position.
            key={slot}
            className={`rg-row ${v.index % 2 ? 'odd' : ''}`}
            role="row"
            aria-rowindex={v.index + 2}
            style={{ top: v.start - rowOffset + scrollTop + HEAD_HEIGHT, width: totalWidth, height: ROW_HEIGHT }}
          >
            <div className="rg-cell rg-num" role="rowheader" style={{ width: numberWidth }}>
              {v.index + 1}
            </div>
            {headers.map((h, c) => {
              const value = result.get(v.index, c);
              const text = value === null ? 'NULL' : result.text(v.index, c);
              return (
                <div
                  key={h.id}
                  className={`rg-cell ${right[c] ? 'rg-right' : ''} ${value === null ? 'rg-null' : ''}`}
                  role="gridcell"
                  aria-colindex={c + 2}
                  style={{ width: h.getSize() }}
                  title={text.length > 40 ? text : undefined}
                >
                  {text}
                </div>
              );
            })}
          </div>
        ))}
      </div>
    </div>
  );
}
