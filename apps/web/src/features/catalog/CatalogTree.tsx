import type { TableSummary } from '@lakehouse/contracts';
import { useState } from 'react';
import { Link } from '../../lib/router.js';
import { compareText } from '../../components/format.js';
import { LAYERS, type Layer } from './api.js';

/** Tables grouped by layer, then domain, names sorted. */
export function groupByLayerAndDomain(tables: readonly TableSummary[]): Map<Layer, Map<string, TableSummary[]>> {
  const out = new Map<Layer, Map<string, TableSummary[]>>(LAYERS.map((l) => [l, new Map()]));
  for (const t of [...tables].sort((a, b) => compareText(a.name, b.name))) {
    const domains = out.get(t.layer)!;
    const list = domains.get(t.domain) ?? [];
    list.push(t);
    domains.set(t.domain, list);
  }
  for (const [l, domains] of out) out.set(l, new Map([...domains].sort(([a], [b]) => compareText(a, b))));
  return out;
}

/** The catalog tree: layers → domains → tables with counts; the selected layer/domain/table is marked as current. */
export function CatalogTree({ tables, layer, domain, table }: { tables: readonly TableSummary[]; layer?: string; domain?: string; table?: string }) {
  const tree = groupByLayerAndDomain(tables);
  const [open, setOpen] = useState<Set<string>>(() => new Set([...LAYERS, ...(layer && domain ? [`${layer}.${domain}`] : [])]));
  const toggle = (key: string) =>
    setOpen((s) => {
      const n = new Set(s);
      if (n.has(key)) n.delete(key);
      else n.add(key);
      return n;
    });
  const isOpen = (key: string) => open.has(key) || (table !== undefined && table.startsWith(key + '.'));

  return (
    <nav aria-label="Catalog tree" className="tree">
      <ul className="tree-level">
        <li>
          <Link to="/catalog" className="tree-link" aria-current={!layer && !table ? 'page' : undefined}>
            <span>All tables</span>{' '}
            <span className="count">{tables.length}</span>
          </Link>
        </li>
        {LAYERS.map((l) => {
          const domains = tree.get(l)!;
          const count = [...domains.values()].reduce((n, ts) => n + ts.length, 0);
          return (
            <li key={l}>
              <div className="tree-row">
                <button
                  type="button"
                  className="tree-toggle"
                  aria-expanded={isOpen(l)}
                  aria-label={`${isOpen(l) ? 'Collapse' : 'Expand'} ${l}`}
                  onClick={() => toggle(l)}
                  disabled={domains.size === 0}
                >
                  <span aria-hidden="true">{isOpen(l) ? '▾' : '▸'}</span>
                </button>
                <Link to={`/catalog/${l}`} className="tree-link" aria-current={layer === l && !domain ? 'page' : undefined}>
                  <span className={`layer-dot layer-${l}`} aria-hidden="true" />
                  <span>{l}</span>{' '}
                  <span className="count">
                    {count}
                    <span className="sr-only"> {count === 1 ? 'table' : 'tables'}</span>
                  </span>
                </Link>
              </div>
              {isOpen(l) && domains.size > 0 ? (
                <ul className="tree-level">
                  {[...domains].map(([d, ts]) => {
                    const key = `${l}.${d}`;
                    return (
                      <li key={d}>
                        <div className="tree-row">
                          <button
                            type="button"
                            className="tree-toggle"
                            aria-expanded={isOpen(key)}
                            aria-label={`${isOpen(key) ? 'Collapse' : 'Expand'} ${key}`}
                            onClick={() => toggle(key)}
                          >
                            <span aria-hidden="true">{isOpen(key) ? '▾' : '▸'}</span>
                          </button>
                          <Link to={`/catalog/${l}/${d}`} className="tree-link" aria-current={layer === l && domain === d ? 'page' : undefined}>
                            <span>{d}</span>{' '}
                            <span className="count">
                              {ts.length}
                              <span className="sr-only"> {ts.length === 1 ? 'table' : 'tables'}</span>
                            </span>
                          </Link>
                        </div>
                        {isOpen(key) ? (
                          <ul className="tree-level">
                            {ts.map((t) => (
                              <li key={t.name}>
                                <Link to={`/tables/${t.name}`} className="tree-link tree-table" aria-current={table === t.name ? 'page' : undefined}>
                                  {t.table}
                                </Link>
                              </li>
                            ))}
                          </ul>
                        ) : null}
                      </li>
                    );
                  })}
                </ul>
              ) : null}
            </li>
          );
        })}
      </ul>
    </nav>
  );
}
