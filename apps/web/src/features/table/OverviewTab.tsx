import type { PatchTable, TableDetail } from '@lakehouse/contracts';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Fragment, useState, type FormEvent } from 'react';
import { Link } from '../../lib/router.js';
import { EditableField } from '../../components/EditableField.js';
import { compareText, formatBytes, formatCount, formatDateTime } from '../../components/format.js';
import { ErrorMessage, Time } from '../../components/States.js';
import { tableKeys } from '../catalog/api.js';
import { patchTable } from './api.js';
import { tableHref } from './links.js';

const TAG_RE = /^[A-Za-z0-9_:.-]{1,64}$/;

/** A mutation that PATCHes the table and refreshes everything cached about tables (a description edit is a new version). */
export function usePatchTable(name: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (patch: PatchTable) => patchTable(name, patch),
    onSuccess: (detail) => {
      queryClient.setQueryData(tableKeys.detail(name), detail);
      // Listings, history and files refresh in the background; the edited detail is already in place.
      void queryClient.invalidateQueries({ queryKey: tableKeys.all, predicate: (q) => q.state.data !== detail });
    },
  });
}

/** Overview tab: description, owner and tags (editable when `canEdit`), size facts, partitioning, protocol and properties. */
export function OverviewTab({ detail, canEdit, version }: { detail: TableDetail; canEdit: boolean; version?: number }) {
  const patch = usePatchTable(detail.name);
  const properties = Object.entries(detail.properties).sort(([a], [b]) => compareText(a, b));
  const features = [...(detail.protocol.readerFeatures ?? []), ...(detail.protocol.writerFeatures ?? [])];
  return (
    <div className="overview">
      <div className="overview-main">
        <section aria-labelledby="ov-description" className="panel">
          <h2 id="ov-description">Description</h2>
          <EditableField
            label="Description"
            value={detail.description}
            canEdit={canEdit}
            multiline
            empty="No description yet."
            onSave={(description) => patch.mutateAsync({ description })}
          />
        </section>
        <section aria-labelledby="ov-owner" className="panel">
          <h2 id="ov-owner">Owner</h2>
          <EditableField label="Owner" value={detail.owner} canEdit={canEdit} maxLength={200} empty="No owner set." onSave={(owner) => patch.mutateAsync({ owner })} />
        </section>
        <section aria-labelledby="ov-tags" className="panel">
          <h2 id="ov-tags">Tags</h2>
          <TagEditor tags={detail.tags} canEdit={canEdit} onSave={(tags) => patch.mutateAsync({ tags })} />
        </section>
        <section aria-labelledby="ov-properties" className="panel">
          <h2 id="ov-properties">Properties</h2>
          {properties.length === 0 ? (
            <p className="muted">No table properties.</p>
          ) : (
            <div className="table-wrap">
              <table className="grid-table compact" aria-labelledby="ov-properties">
                <thead>
                  <tr>
                    <th scope="col">Key</th>
                    <th scope="col">Value</th>
                  </tr>
                </thead>
                <tbody>
                  {properties.map(([k, v]) => (
                    <tr key={k}>
                      <td className="mono">{k}</td>
                      <td className="mono">{v}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
      </div>
      <section aria-labelledby="ov-facts" className="panel overview-facts">
        <h2 id="ov-facts">Facts</h2>
        <dl className="facts">
          <dt>Rows</dt>
          <dd>{detail.rows === null ? <span title="Some files have no row count in their statistics">unknown</span> : formatCount(detail.rows)}</dd>
          <dt>Size</dt>
          <dd title={`${formatCount(detail.bytes)} bytes`}>{formatBytes(detail.bytes)}</dd>
          <dt>Files</dt>
          <dd>
            <Link to={tableHref(detail.name, { tab: 'files', version })}>{formatCount(detail.files)}</Link>
          </dd>
          <dt>Version</dt>
          <dd>
            <Link to={tableHref(detail.name, { tab: 'history', version })}>{detail.version}</Link>
          </dd>
          <dt>Last updated</dt>
          <dd>
            <Time iso={detail.lastUpdated} /> <span className="muted small">({formatDateTime(detail.lastUpdated)})</span>
          </dd>
          <dt>Partitioned by</dt>
          <dd>
            {detail.partitionColumns.length > 0
              ? detail.partitionColumns.map((c, i) => (
                  <Fragment key={c}>
                    {i > 0 ? ', ' : ''}
                    <code>{c}</code>
                  </Fragment>
                ))
              : 'not partitioned'}
          </dd>
          <dt>Columns</dt>
          <dd>
            <Link to={tableHref(detail.name, { tab: 'schema', version })}>{detail.columns.length}</Link>
          </dd>
          <dt>Protocol</dt>
          <dd>
            reader {detail.protocol.minReaderVersion}, writer {detail.protocol.minWriterVersion}
            {features.length > 0 ? <div className="muted small">features: {[...new Set(features)].join(', ')}</div> : null}
          </dd>
        </dl>
      </section>
    </div>
  );
}

/** Tags as chips; with `canEdit`, each has a remove button and a field adds new ones (saved at once through `onSave`). */
export function TagEditor({ tags, canEdit, onSave }: { tags: readonly string[]; canEdit: boolean; onSave: (tags: string[]) => Promise<unknown> }) {
  const [draft, setDraft] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [saving, setSaving] = useState(false);

  const save = async (next: string[]) => {
    setSaving(true);
    setError(null);
    try {
      await onSave(next);
      return true;
    } catch (e) {
      setError(e);
      return false;
    } finally {
      setSaving(false);
    }
  };
  const add = async (e: FormEvent) => {
    e.preventDefault();
    const t = draft.trim();
    if (!t) return;
    if (!TAG_RE.test(t)) {
      setError(new Error(`“${t}” is not a valid tag: use 1 to 64 letters, digits and _ : . -`));
      return;
    }
    if (tags.includes(t)) {
      setDraft('');
      return;
    }
    // Clear the field only if nobody typed something new while saving.
    if (await save([...tags, t])) setDraft((d) => (d.trim() === t ? '' : d));
  };

  return (
    <div className="tag-editor">
      {tags.length === 0 ? <p className="muted">No tags.</p> : null}
      <ul className="tags" aria-label="Tags">
        {tags.map((t) => (
          <li key={t} className="tag">
            <Link to={`/catalog?tag=${encodeURIComponent(t)}`}>{t}</Link>
            {canEdit ? (
              <button type="button" className="chip-x" aria-label={`Remove tag ${t}`} disabled={saving} onClick={() => void save(tags.filter((x) => x !== t))}>
                ✕
              </button>
            ) : null}
          </li>
        ))}
      </ul>
      {canEdit ? (
        <form className="tag-add" onSubmit={add}>
          <label htmlFor="tag-add-input" className="sr-only">
            New tag
          </label>
          <input id="tag-add-input" className="input" value={draft} placeholder="Add a tag" maxLength={64} onChange={(e) => setDraft(e.target.value)} />
          <button type="submit" className="btn" disabled={saving || !draft.trim()}>
            Add tag
          </button>
        </form>
      ) : null}
      {error ? <ErrorMessage error={error} title="Could not change the tags" /> : null}
    </div>
  );
}
