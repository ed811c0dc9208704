import { getCoreRowModel, useReactTable, type ColumnDef, type ColumnSizingState } from '@tanstack/react-table';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useMemo, useRef, useState } from 'react';
import { TypeId, typeInfo, type ResultSet } from '../../lib/duckdb/index.js';

// The result grid: TanStack Table owns the columns (headers, sizes, resizing), TanStack Virtual the rows. Rows are
// never materialized: only the visible ones are rendered, and each cell is read from the Arrow batches when drawn.

const ROW_HEIGHT = 26;
const HEAD_HEIGHT = 42;
const NO_ROWS: never[] = [];

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

  const rows = useVirtualizer({
    count: result.numRows,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
  });
  const right = useMemo(() => result.columns.map((_c, i) => isRightAligned(result, i)), [result]);

  return (
    <div
      className="result-grid"
      ref={scroller}
      // As tall as the rows need (plus room for a horizontal scroll bar), up to the CSS max-height.
      style={{ height: HEAD_HEIGHT + result.numRows * ROW_HEIGHT + 18 }}
      role="grid" aria-label={label} aria-rowcount={result.numRows + 1} aria-colcount={result.columns.length + 1} tabIndex={0}>
      <div className="rg-inner" style={{ width: totalWidth, height: rows.getTotalSize() + HEAD_HEIGHT }}>
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
        {rows.getVirtualItems().map((v) => (
          <div
            key={v.index}
            className={`rg-row ${v.index % 2 ? 'odd' : ''}`}
            role="row"
            aria-rowindex={v.index + 2}
            style={{ transform: `translateY(${v.start + HEAD_HEIGHT}px)`, width: totalWidth, height: ROW_HEIGHT }}
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
