import { useQueryClient } from '@tanstack/react-query';
import { Fragment, useEffect, useId, useState, type FormEvent } from 'react';
import { formatBytes } from '../../components/format.js';
import { ErrorMessage } from '../../components/States.js';
import { isApiError } from '../../lib/api.js';
import { tableKeys } from '../catalog/api.js';
import { maintenanceKeys, patchProperties } from './api.js';
import { EDITABLE_PROPERTIES, propertyDraft, propertyOfError, validatePropertyDraft, type EditableProperty, type PropertyDraft } from './format.js';

/** The maintenance-related table properties (retention, target file size, checkpoint interval, change data feed, append-only), validated inline. */
export function PropertiesEditor({ table, properties, canEdit }: { table: string; properties: Record<string, string>; canEdit: boolean }) {
  const id = useId();
  const queryClient = useQueryClient();
  const [draft, setDraft] = useState<PropertyDraft>(() => propertyDraft(properties));
  const [touched, setTouched] = useState(false);
  const [serverError, setServerError] = useState<{ property: EditableProperty | null; error: unknown } | null>(null);
  const [saving, setSaving] = useState(false);
  const [saved, setSaved] = useState<string | null>(null);
  const propsKey = JSON.stringify(properties);

  // A new version of the table (another edit, a job) resets the form unless the user is editing it.
  useEffect(() => {
    if (!touched) setDraft(propertyDraft(JSON.parse(propsKey) as Record<string, string>));
  }, [propsKey, touched]);

  const { errors, patch } = validatePropertyDraft(draft, properties);
  const set = (k: EditableProperty, v: string) => {
    setDraft((d) => ({ ...d, [k]: v }));
    setTouched(true);
    setSaved(null);
    setServerError(null);
  };

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    if (!patch) return;
    setSaving(true);
    setServerError(null);
    try {
      const r = await patchProperties(table, patch);
      setTouched(false);
      setSaved(r.committed ? `Saved as version ${r.version}${r.protocolUpgraded ? ' (the table protocol was upgraded)' : ''}.` : 'Nothing changed.');
      await Promise.all([queryClient.invalidateQueries({ queryKey: maintenanceKeys.all }), queryClient.invalidateQueries({ queryKey: tableKeys.all })]);
    } catch (err) {
      setServerError({ property: isApiError(err) ? propertyOfError(err.details, err.message) : null, error: err });
    } finally {
      setSaving(false);
    }
  };

  const errorOf = (k: EditableProperty): string | null => (touched ? (errors[k] ?? null) : null) ?? (serverError?.property === k ? (serverError.error as Error).message : null);

  if (!canEdit) {
    return (
      <section aria-labelledby={`${id}-title`} className="panel">
        <h2 id={`${id}-title`}>Properties</h2>
        <dl className="facts" aria-labelledby={`${id}-title`}>
          {EDITABLE_PROPERTIES.map((p) => (
            <Fragment key={p.key}>
              <dt>{p.label}</dt>
              <dd>{properties[p.key] !== undefined ? <code>{properties[p.key]}</code> : <span className="muted">default ({p.placeholder})</span>}</dd>
            </Fragment>
          ))}
        </dl>
      </section>
    );
  }

  return (
    <section aria-labelledby={`${id}-title`} className="panel">
      <h2 id={`${id}-title`}>Properties</h2>
      <form onSubmit={(e) => void onSubmit(e)} className="props-form" noValidate>
        {EDITABLE_PROPERTIES.map((p) => {
          const err = errorOf(p.key);
          const fid = `${id}-${p.key}`;
          if (p.kind === 'boolean') {
            return (
              <div key={p.key} className="prop-row">
                <label className="check">
                  <input type="checkbox" checked={draft[p.key] === 'true'} disabled={!canEdit} onChange={(e) => set(p.key, e.target.checked ? 'true' : properties[p.key] !== undefined ? 'false' : '')} />{' '}
                  {p.label}
                </label>
                <span className="muted small">
                  {p.help} <code>{p.key}</code>
                </span>
              </div>
            );
          }
          return (
            <div key={p.key} className="prop-row">
              <label className="field" htmlFor={fid}>
                <span className="field-label">{p.label}</span>
              </label>
              <input
                id={fid}
                className="input mono"
                value={draft[p.key]}
                placeholder={`default: ${p.placeholder}`}
                disabled={!canEdit}
                spellCheck={false}
                onChange={(e) => set(p.key, e.target.value)}
                aria-invalid={err ? true : undefined}
                aria-describedby={`${fid}-help${err ? ` ${fid}-error` : ''}`}
              />
              {err ? (
                <span id={`${fid}-error`} className="field-error">
                  {err}
                </span>
              ) : null}
              <span id={`${fid}-help`} className="muted small">
                {p.help} <code>{p.key}</code>
                {p.kind === 'bytes' && /^\d+$/.test(draft[p.key]) ? ` = ${formatBytes(Number(draft[p.key]))}` : ''}
              </span>
            </div>
          );
        })}
        {canEdit ? (
          <div className="op-actions">
            <button type="submit" className="btn btn-primary" disabled={!patch || saving}>
              {saving ? 'Saving…' : 'Save properties'}
            </button>
            <button
              type="button"
              className="btn"
              disabled={!touched || saving}
              onClick={() => {
                setDraft(propertyDraft(properties));
                setTouched(false);
                setServerError(null);
              }}
            >
              Reset
            </button>
            {saved ? (
              <span role="status" className="small ok">
                {saved}
              </span>
            ) : null}
          </div>
        ) : null}
        {serverError && serverError.property === null ? <ErrorMessage error={serverError.error} title="Could not save the properties" /> : null}
      </form>
    </section>
  );
}
