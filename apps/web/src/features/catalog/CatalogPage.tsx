import type { TableSummary } from '@lakehouse/contracts';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useEffect, useMemo, useState } from 'react';
import { Link, useNavigate, useParams, useSearchParams } from '../../lib/router.js';
import { formatBytes, formatCompact, formatCount } from '../../components/format.js';
import { Empty, ErrorMessage, Loading, Time } from '../../components/States.js';
import { useDocumentTitle } from '../../components/useDocumentTitle.js';
import { isLayer, LAYERS, tableListQuery } from './api.js';
import { CatalogTree } from './CatalogTree.js';
import { MedallionGrid, TagList } from './MedallionGrid.js';

type SortKey = 'name' | 'rows' | 'bytes' | 'lastUpdated';

/**
 * Route `/catalog`, `/catalog/:layer`, `/catalog/:layer/:domain` (query `?q=` search, `?tag=` filter, `?view=list`):
 * the catalog tree, search and filters, and the medallion at a glance (or a list).
 */
export function CatalogPage() {
  const params = useParams();
  const navigate = useNavigate();
  const [search, setSearch] = useSearchParams();
  const layer = isLayer(params.layer) ? params.layer : undefined;
  const domain = layer ? params.domain : undefined;
  const q = search.get('q') ?? '';
  const tag = search.get('tag') ?? '';
  const view = search.get('view') === 'list' ? 'list' : 'grid';

  const all = useQuery(tableListQuery());
  const filtered = useQuery({ ...tableListQuery({ q, layer, domain, tag }), placeholderData: keepPreviousData });

  const [treeOpen, setTreeOpen] = useState(false);
  const [draft, setDraft] = useState(q);
  useEffect(() => setDraft(q), [q]);
  useEffect(() => {
    if (draft === q) return;
    const t = setTimeout(() => {
      setSearch(
        (s) => {
          const n = new URLSearchParams(s);
          if (draft.trim()) n.set('q', draft);
          else n.delete('q');
          return n;
        },
        { replace: true },
      );
    }, 250);
    return () => clearTimeout(t);
  }, [draft, q, setSearch]);

  const setParam = (key: string, value: string | null) =>
    setSearch((s) => {
      const n = new URLSearchParams(s);
      if (value) n.set(key, value);
      else n.delete(key);
      return n;
    });

  const allTags = useMemo(() => [...new Set((all.data ?? []).flatMap((t) => t.tags))].sort(), [all.data]);
  const tables = filtered.data ?? [];
  const totals = { rows: tables.reduce((n, t) => n + (t.rows ?? 0), 0), bytes: tables.reduce((n, t) => n + t.bytes, 0) };
  const title = domain ? `${layer}.${domain}` : layer ? `${layer}` : 'Catalog';
  useDocumentTitle(title === 'Catalog' ? title : `${title} · Catalog`);
  const keepQuery = search.toString() ? `?${search.toString()}` : '';

  if (params.layer && !layer) {
    return (
      <section className="page">
        <h1>Catalog</h1>
        <ErrorMessage error={new Error(`“${params.layer}” is not a layer: the layers are bronze, silver and gold.`)} title="No such layer" />
        <Link to="/catalog">Back to the catalog</Link>
      </section>
    );
  }

  return (
    <div className="catalog">
      <aside className={`catalog-aside ${treeOpen ? 'open' : ''}`}>
        <button type="button" className="btn btn-ghost tree-toggle-all" aria-expanded={treeOpen} aria-controls="catalog-tree" onClick={() => setTreeOpen((o) => !o)}>
          <span aria-hidden="true">{treeOpen ? '▾' : '▸'}</span> Browse layers and domains
        </button>
        <div id="catalog-tree" className="catalog-tree-box">
          {all.data ? <CatalogTree tables={all.data} layer={layer} domain={domain} /> : all.error ? null : <Loading />}
        </div>
      </aside>
      <section className="page catalog-main" aria-labelledby="catalog-title">
        <header className="page-header">
          <div>
            {layer ? (
              <nav aria-label="Breadcrumb" className="breadcrumb">
                <Link to={`/catalog${keepQuery}`}>Catalog</Link>
                {domain ? (
                  <>
                    {' / '}
                    <Link to={`/catalog/${layer}${keepQuery}`}>{layer}</Link>
                  </>
                ) : null}
              </nav>
            ) : null}
            <h1 id="catalog-title">{title}</h1>
          </div>
          <p className="muted catalog-summary" role="status" aria-label="Catalog summary">
            {filtered.data
              ? `${formatCount(tables.length)} table${tables.length === 1 ? '' : 's'} · ${formatCompact(totals.rows)} rows · ${formatBytes(totals.bytes)}`
              : ''}
          </p>
        </header>

        <form className="toolbar" role="search" aria-label="Find tables" onSubmit={(e) => e.preventDefault()}>
          <label className="field field-grow">
            <span className="field-label">Search</span>
            <input
              type="search"
              className="input"
              aria-label="Search tables"
              placeholder="Name, description, column or tag"
              value={draft}
              onChange={(e) => setDraft(e.target.value)}
            />
          </label>
          <label className="field">
            <span className="field-label">Layer</span>
            <select
              className="input"
              value={layer ?? ''}
              onChange={(e) => navigate(`/catalog${e.target.value ? `/${e.target.value}` : ''}${keepQuery}`)}
            >
              <option value="">All layers</option>
              {LAYERS.map((l) => (
                <option key={l} value={l}>
                  {l}
                </option>
              ))}
            </select>
          </label>
          <label className="field">
            <span className="field-label">Tag</span>
            <select className="input" value={tag} onChange={(e) => setParam('tag', e.target.value || null)}>
              <option value="">Any tag</option>
              {allTags.map((t) => (
                <option key={t} value={t}>
                  {t}
                </option>
              ))}
              {tag && !allTags.includes(tag) ? <option value={tag}>{tag}</option> : null}
            </select>
          </label>
          <div className="field">
            <span className="field-label" id="view-label">
              View
            </span>
            <div className="segmented" role="group" aria-labelledby="view-label">
              <button type="button" className="btn" aria-pressed={view === 'grid'} onClick={() => setParam('view', null)}>
                Medallion
              </button>
              <button type="button" className="btn" aria-pressed={view === 'list'} onClick={() => setParam('view', 'list')}>
                List
              </button>
            </div>
          </div>
        </form>

        {q || tag ? (
          <p className="filters-active">
            {q ? (
              <span className="chip">
                matching “{q}”
                <button type="button" className="chip-x" aria-label="Clear search" onClick={() => setParam('q', null)}>
                  ✕
                </button>
              </span>
            ) : null}
            {tag ? (
              <span className="chip">
                tag {tag}
                <button type="button" className="chip-x" aria-label="Clear tag filter" onClick={() => setParam('tag', null)}>
                  ✕
                </button>
              </span>
            ) : null}
          </p>
        ) : null}

        {filtered.error ? (
          <ErrorMessage error={filtered.error} title="Could not list tables" retry={() => void filtered.refetch()} />
        ) : !filtered.data ? (
          <Loading label="Loading tables…" />
        ) : tables.length === 0 ? (
          <Empty>
            {q || tag || layer
              ? 'No table matches these filters.'
              : 'The warehouse has no tables yet. Ingest a file (lakehouse ingest <file> bronze.<domain>.<table>) or create one with SQL.'}
          </Empty>
        ) : view === 'grid' ? (
          <section aria-labelledby="medallion-title" className={filtered.isPlaceholderData ? 'stale' : undefined}>
            <h2 id="medallion-title" className="section-title">
              Medallion at a glance
            </h2>
            <MedallionGrid tables={tables} layers={layer ? [layer] : LAYERS} />
          </section>
        ) : (
          <TableList tables={tables} stale={filtered.isPlaceholderData} />
        )}
      </section>
    </div>
  );
}

function TableList({ tables, stale }: { tables: TableSummary[]; stale: boolean }) {
  const [sort, setSort] = useState<{ key: SortKey; desc: boolean }>({ key: 'name', desc: false });
  const sorted = [...tables].sort((a, b) => {
    const va = a[sort.key] ?? -1;
    const vb = b[sort.key] ?? -1;
    const c = va < vb ? -1 : va > vb ? 1 : 0;
    return sort.desc ? -c : c;
  });
  const header = (key: SortKey, label: string, numeric = false) => (
    <th scope="col" className={numeric ? 'num' : undefined} aria-sort={sort.key === key ? (sort.desc ? 'descending' : 'ascending') : undefined}>
      <button type="button" className="th-sort" onClick={() => setSort((s) => ({ key, desc: s.key === key ? !s.desc : key !== 'name' }))}>
        {label}
        <span aria-hidden="true">{sort.key === key ? (sort.desc ? ' ↓' : ' ↑') : ''}</span>
      </button>
    </th>
  );
  return (
    <div className={`table-wrap ${stale ? 'stale' : ''}`}>
      <table className="grid-table" aria-label="Tables">
        <thead>
          <tr>
            {header('name', 'Table')}
            <th scope="col">Description</th>
            <th scope="col">Tags</th>
            {header('rows', 'Rows', true)}
            {header('bytes', 'Size', true)}
            {header('lastUpdated', 'Updated')}
          </tr>
        </thead>
        <tbody>
          {sorted.map((t) => (
            <tr key={t.name}>
              <td>
                <span className={`layer-dot layer-${t.layer}`} aria-hidden="true" /> <Link to={`/tables/${t.name}`}>{t.name}</Link>
              </td>
              <td className="cell-desc">{t.description ?? <span className="muted">—</span>}</td>
              <td>
                <TagList tags={t.tags} />
              </td>
              <td className="num">{formatCount(t.rows)}</td>
              <td className="num">{formatBytes(t.bytes)}</td>
              <td>
                <Time iso={t.lastUpdated} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
