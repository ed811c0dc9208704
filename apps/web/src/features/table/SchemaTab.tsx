import type { Column, TableDetail } from '@lakehouse/contracts';
import { lazy, Suspense, useEffect, useState } from 'react';
import { Dialog } from '../../components/Dialog.js';
import { EditableField } from '../../components/EditableField.js';
import { formatCount, formatValue } from '../../components/format.js';
import { Loading } from '../../components/States.js';
import { canSelect, useAuth } from '../../lib/auth.js';
import { usePatchTable } from './OverviewTab.js';
import { isNested, parseTypeString, typeLabel, type TypeNode } from './typeTree.js';

// Profiles run DuckDB-WASM: loaded when the first profile opens.
const ColumnProfile = lazy(() => import('../sql/ColumnProfile.js').then((m) => ({ default: m.ColumnProfile })));

/** A type as a nested list: struct fields, array elements, map keys and values. */
export function TypeTree({ node }: { node: TypeNode }) {
  switch (node.kind) {
    case 'primitive':
      return <code>{node.name}</code>;
    case 'array':
      return (
        <ul className="type-tree">
          <li>
            <span className="type-field">element</span>: <TypeInline node={node.element} />
          </li>
        </ul>
      );
    case 'map':
      return (
        <ul className="type-tree">
          <li>
            <span className="type-field">key</span>: <TypeInline node={node.key} />
          </li>
          <li>
            <span className="type-field">value</span>: <TypeInline node={node.value} />
          </li>
        </ul>
      );
    case 'struct':
      return (
        <ul className="type-tree">
          {node.fields.map((f) => (
            <li key={f.name}>
              <span className="type-field">{f.name}</span>: <TypeInline node={f.type} />
            </li>
          ))}
        </ul>
      );
  }
}

function TypeInline({ node }: { node: TypeNode }) {
  if (!isNested(node)) return <code>{typeLabel(node)}</code>;
  return (
    <>
      <code>{typeLabel(node)}</code>
      <TypeTree node={node} />
    </>
  );
}

/** A column type as the API writes it; nested types open into a tree of fields, elements, keys and values. */
export function TypeCell({ type }: { type: string }) {
  const node = parseTypeString(type);
  if (!isNested(node)) return <code>{type}</code>;
  return (
    <details className="type-details">
      <summary title={type}>
        <code className="type-full">{type}</code>
      </summary>
      <TypeTree node={node} />
    </details>
  );
}

function nullShare(c: Column, rows: number | null): string {
  if (!c.stats || c.stats.nullCount === null) return '—';
  const n = c.stats.nullCount;
  if (!rows) return formatCount(n);
  const pct = (100 * n) / rows;
  return `${formatCount(n)} (${pct === 0 ? '0' : pct < 0.1 ? '<0.1' : pct.toFixed(1)}%)`;
}

/**
 * Schema tab: every column with type (nested types expandable), nullability, comment (editable when `canEdit`),
 * min/max/null counts from the file statistics, and a Profile button that opens `ColumnProfile`.
 */
export function SchemaTab({ detail, canEdit, version, highlight }: { detail: TableDetail; canEdit: boolean; version?: number; highlight?: string }) {
  const { me } = useAuth();
  const patch = usePatchTable(detail.name);
  const [profiled, setProfiled] = useState<string | null>(null);
  const mayProfile = canSelect(me, detail.name);

  useEffect(() => {
    if (!highlight) return;
    document.getElementById(`col-${highlight}`)?.scrollIntoView({ block: 'center' });
  }, [highlight]);

  const anyStats = detail.columns.some((c) => c.stats !== null);
  return (
    <div className="schema">
      <p className="muted small">
        {detail.columns.length} columns
        {detail.partitionColumns.length > 0 ? ` · partitioned by ${detail.partitionColumns.join(', ')}` : ''}
        {anyStats ? ' · min, max and nulls come from the file statistics of this version' : ' · the files of this version carry no column statistics'}
      </p>
      <div className="table-wrap">
        <table className="grid-table schema-table" aria-label={`Columns of ${detail.name}`}>
          <thead>
            <tr>
              <th scope="col">Column</th>
              <th scope="col">Type</th>
              <th scope="col">Nullable</th>
              <th scope="col">Comment</th>
              <th scope="col">Min</th>
              <th scope="col">Max</th>
              <th scope="col" className="num">
                Nulls
              </th>
              {mayProfile ? (
                <th scope="col">
                  <span className="sr-only">Profile</span>
                </th>
              ) : null}
            </tr>
          </thead>
          <tbody>
            {detail.columns.map((c) => (
              <tr key={c.name} id={`col-${c.name}`} className={highlight === c.name ? 'highlight' : undefined}>
                <th scope="row" className="col-name" aria-label={c.isPartition ? `${c.name}, partition column` : undefined}>
                  <span className="mono">{c.name}</span>
                  {c.isPartition ? (
                    <>
                      {' '}
                      <span className="badge badge-small" title="Partition column: its value is in the file path, one folder per value">
                        partition
                      </span>
                    </>
                  ) : null}
                </th>
                <td>
                  <TypeCell type={c.type} />
                </td>
                <td>{c.nullable ? 'yes' : <strong>not null</strong>}</td>
                <td className="cell-comment">
                  <EditableField
                    label={`Comment of ${c.name}`}
                    value={c.comment}
                    canEdit={canEdit}
                    compact
                    multiline
                    empty="—"
                    onSave={(comment) => patch.mutateAsync({ columnComments: { [c.name]: comment } })}
                  />
                </td>
                <td className="mono cell-stat" title={formatValue(c.stats?.min)}>
                  {c.isPartition && !c.stats ? <span className="muted">partition</span> : formatValue(c.stats?.min)}
                </td>
                <td className="mono cell-stat" title={formatValue(c.stats?.max)}>
                  {c.isPartition && !c.stats ? <span className="muted">partition</span> : formatValue(c.stats?.max)}
                </td>
                <td className="num">{nullShare(c, detail.rows)}</td>
                {mayProfile ? (
                  <td>
                    <button type="button" className="btn btn-small" onClick={() => setProfiled(c.name)} aria-label={`Profile ${c.name}`}>
                      Profile
                    </button>
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <Dialog open={profiled !== null} onClose={() => setProfiled(null)} title={`Profile of ${profiled ?? ''}`} className="dialog-wide">
        {profiled !== null ? (
          <Suspense fallback={<Loading label="Loading the profiler…" />}>
            <ColumnProfile table={detail.name} column={profiled} version={version} />
          </Suspense>
        ) : null}
      </Dialog>
    </div>
  );
}
