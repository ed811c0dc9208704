import type { Column, TableSummary } from '@lakehouse/contracts';
import { useQueries, useQuery } from '@tanstack/react-query';
import { useMemo, useState, type KeyboardEvent } from 'react';
import { useNavigate } from '../lib/router.js';
import { tableDetailQuery, tableListQuery } from '../features/catalog/api.js';
import { Dialog } from './Dialog.js';
import { compareText } from './format.js';
import { ErrorMessage } from './States.js';

/** Most tables whose columns the palette loads (details are cached, so this is paid once). */
const MAX_DETAILED_TABLES = 300;
const MAX_RESULTS = 40;

type PaletteResult =
  | { kind: 'page'; id: string; label: string; to: string; score: number }
  | { kind: 'table'; id: string; table: TableSummary; to: string; score: number }
  | { kind: 'column'; id: string; table: string; column: Column; to: string; score: number };

const PAGES = [
  { label: 'Catalog', to: '/catalog' },
  { label: 'SQL editor', to: '/sql' },
  { label: 'Quality', to: '/quality' },
  { label: 'Lineage', to: '/lineage' },
  { label: 'Monitoring', to: '/monitoring' },
  { label: 'Admin', to: '/admin' },
];

/** Lower is better; null when some word of the query is missing from the text. */
function score(query: string, name: string, extra = ''): number | null {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return 3;
  const n = name.toLowerCase();
  const hay = `${n} ${extra.toLowerCase()}`;
  if (!words.every((w) => hay.includes(w))) return null;
  const q = words.join(' ');
  if (n === q || n.endsWith(`.${q}`)) return 0;
  if (n.startsWith(q) || n.includes(`.${q}`) || n.includes(`_${q}`)) return 1;
  if (n.includes(q)) return 2;
  return 3;
}

/** The Ctrl/Cmd-K palette: finds pages, tables (name, description, tags) and columns (name, comment, type) and opens them. */
export function CommandPalette({ open, onClose }: { open: boolean; onClose: () => void }) {
  return (
    <Dialog open={open} onClose={onClose} title="Go to table or column" className="palette">
      <PaletteBody onClose={onClose} />
    </Dialog>
  );
}

function PaletteBody({ onClose }: { onClose: () => void }) {
  const navigate = useNavigate();
  const [query, setQuery] = useState('');
  const [active, setActive] = useState(0);
  const list = useQuery(tableListQuery());
  const tables = useMemo(() => list.data ?? [], [list.data]);
  const details = useQueries({
    queries: tables.slice(0, MAX_DETAILED_TABLES).map((t) => ({ ...tableDetailQuery(t.name), staleTime: 5 * 60_000 })),
  });
  const pendingDetails = details.filter((d) => d.isPending).length;
  const detailData = details.map((d) => d.data);

  const results = ((): PaletteResult[] => {
    const out: PaletteResult[] = [];
    for (const p of PAGES) {
      const s = score(query, p.label);
      if (s !== null && query.trim()) out.push({ kind: 'page', id: `page:${p.to}`, label: p.label, to: p.to, score: s + 0.5 });
    }
    for (const t of tables) {
      const s = score(query, t.name, `${t.description ?? ''} ${t.tags.join(' ')}`);
      if (s !== null) out.push({ kind: 'table', id: `table:${t.name}`, table: t, to: `/tables/${t.name}`, score: s });
    }
    if (query.trim()) {
      for (const d of detailData) {
        if (!d) continue;
        for (const c of d.columns) {
          const s = score(query, `${d.name}.${c.name}`, `${c.comment ?? ''} ${c.type}`);
          const sc = score(query, c.name);
          const best = Math.min(s ?? 9, sc ?? 9);
          if (best < 9) {
            out.push({
              kind: 'column',
              id: `column:${d.name}.${c.name}`,
              table: d.name,
              column: c,
              to: `/tables/${d.name}?tab=schema&column=${encodeURIComponent(c.name)}`,
              score: best + 0.25,
            });
          }
        }
      }
    }
    const kindOrder = { table: 0, column: 1, page: 2 } as const;
    return out.sort((a, b) => a.score - b.score || kindOrder[a.kind] - kindOrder[b.kind] || compareText(a.id, b.id)).slice(0, MAX_RESULTS);
  })();

  const current = Math.min(active, Math.max(results.length - 1, 0));
  const go = (r: PaletteResult | undefined) => {
    if (!r) return;
    onClose();
    navigate(r.to);
  };
  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'ArrowDown') {
      e.preventDefault();
      setActive(Math.min(current + 1, results.length - 1));
    } else if (e.key === 'ArrowUp') {
      e.preventDefault();
      setActive(Math.max(current - 1, 0));
    } else if (e.key === 'Enter') {
      e.preventDefault();
      go(results[current]);
    }
  };
  const optionId = (i: number) => `palette-option-${i}`;

  return (
    <div className="palette-content">
      <input
        type="text"
        className="input palette-input"
        role="combobox"
        aria-label="Search tables and columns"
        aria-expanded="true"
        aria-controls="palette-listbox"
        aria-autocomplete="list"
        aria-activedescendant={results.length > 0 ? optionId(current) : undefined}
        placeholder="Type a table or column name…"
        data-autofocus
        value={query}
        onChange={(e) => {
          setQuery(e.target.value);
          setActive(0);
        }}
        onKeyDown={onKeyDown}
      />
      {list.error ? <ErrorMessage error={list.error} title="Could not list tables" /> : null}
      <ul id="palette-listbox" role="listbox" aria-label="Results" className="palette-results">
        {results.map((r, i) => (
          <li
            key={r.id}
            id={optionId(i)}
            role="option"
            aria-selected={i === current}
            className={`palette-option ${i === current ? 'active' : ''}`}
            onMouseMove={() => setActive(i)}
            onClick={() => go(r)}
          >
            {r.kind === 'table' ? (
              <>
                <span className={`layer-dot layer-${r.table.layer}`} aria-hidden="true" />
                <span className="palette-main">{r.table.name}</span>
                <span className="palette-kind">table</span>
                {r.table.description ? <span className="palette-sub">{r.table.description}</span> : null}
              </>
            ) : r.kind === 'column' ? (
              <>
                <span className="layer-dot layer-none" aria-hidden="true" />
                <span className="palette-main">
                  {r.table}.<strong>{r.column.name}</strong>
                </span>
                <span className="palette-kind">column · {r.column.type.length > 30 ? `${r.column.type.slice(0, 30)}…` : r.column.type}</span>
                {r.column.comment ? <span className="palette-sub">{r.column.comment}</span> : null}
              </>
            ) : (
              <>
                <span className="layer-dot layer-none" aria-hidden="true" />
                <span className="palette-main">{r.label}</span>
                <span className="palette-kind">page</span>
              </>
            )}
          </li>
        ))}
      </ul>
      <p className="palette-status muted small" role="status">
        {list.isPending
          ? 'Loading tables…'
          : results.length === 0
            ? `Nothing matches “${query}”.`
            : `${results.length}${results.length === MAX_RESULTS ? '+' : ''} result${results.length === 1 ? '' : 's'}`}
        {pendingDetails > 0 ? ` · reading columns of ${pendingDetails} table${pendingDetails === 1 ? '' : 's'}…` : ''}
        {tables.length > MAX_DETAILED_TABLES ? ` · columns searched in the first ${MAX_DETAILED_TABLES} tables` : ''}
        <span className="palette-hint"> ↑↓ to move · Enter to open · Esc to close</span>
      </p>
    </div>
  );
}
