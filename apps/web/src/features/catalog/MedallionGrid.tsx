import type { TableSummary } from '@lakehouse/contracts';
import { Link } from '../../lib/router.js';
import { compareText, formatBytes, formatCompact, formatCount } from '../../components/format.js';
import { Time } from '../../components/States.js';
import { LAYERS, type Layer } from './api.js';

/** Tags of a table as links that filter the catalog by tag. */
export function TagList({ tags, linkTags = true }: { tags: readonly string[]; linkTags?: boolean }) {
  if (tags.length === 0) return null;
  return (
    <ul className="tags" aria-label="Tags">
      {tags.map((t) =>
        linkTags ? (
          <li key={t}>
            <Link className="tag" to={`/catalog?tag=${encodeURIComponent(t)}`}>
              {t}
            </Link>
          </li>
        ) : (
          <li key={t} className="tag">
            {t}
          </li>
        ),
      )}
    </ul>
  );
}

/** One table as a card: name, description, rows, size, last update and tags. */
export function TableCard({ table }: { table: TableSummary }) {
  return (
    <article className={`table-card layer-border-${table.layer}`} aria-label={table.name}>
      <h5 className="table-card-title">
        <Link to={`/tables/${table.name}`}>{table.table}</Link>
      </h5>
      {table.description ? <p className="table-card-desc">{table.description}</p> : null}
      <dl className="table-card-facts">
        <div>
          <dt>Rows</dt>
          <dd title={formatCount(table.rows)}>{formatCompact(table.rows)}</dd>
        </div>
        <div>
          <dt>Size</dt>
          <dd>{formatBytes(table.bytes)}</dd>
        </div>
        <div>
          <dt>Updated</dt>
          <dd>
            <Time iso={table.lastUpdated} />
          </dd>
        </div>
      </dl>
      <TagList tags={table.tags} />
    </article>
  );
}

/**
 * "Medallion at a glance": one section per domain with a column per layer (bronze | silver | gold, or only `layers`)
 * listing that domain's tables.
 */
export function MedallionGrid({ tables, layers = LAYERS }: { tables: readonly TableSummary[]; layers?: readonly Layer[] }) {
  const domains = [...new Set(tables.map((t) => t.domain))].sort();
  return (
    <div className="medallion">
      {domains.map((d) => {
        const inDomain = tables.filter((t) => t.domain === d);
        return (
          <section key={d} className="medallion-domain" aria-labelledby={`domain-${d}`}>
            <h3 id={`domain-${d}`} className="medallion-domain-title">
              {d} <span className="count">{inDomain.length}</span>
            </h3>
            <div className="medallion-columns" style={{ gridTemplateColumns: `repeat(${layers.length}, minmax(0, 1fr))` }}>
              {layers.map((l) => {
                const ts = inDomain.filter((t) => t.layer === l).sort((a, b) => compareText(a.table, b.table));
                return (
                  <div key={l} className={`medallion-column layer-bg-${l}`} role="group" aria-label={`${d} ${l}`}>
                    <h4 className="medallion-layer">
                      <Link to={`/catalog/${l}/${d}`}>
                        <span className={`layer-dot layer-${l}`} aria-hidden="true" /> {l}
                      </Link>
                    </h4>
                    {ts.length === 0 ? <p className="muted small">No {l} tables</p> : ts.map((t) => <TableCard key={t.name} table={t} />)}
                  </div>
                );
              })}
            </div>
          </section>
        );
      })}
    </div>
  );
}
