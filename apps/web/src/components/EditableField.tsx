import { useId, useState, type ReactNode } from 'react';
import { ErrorMessage } from './States.js';

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

/**
 * A value with an "Edit" button when `canEdit`: the editor saves through `onSave` (empty text saves null) and stays
 * open with the error when saving fails. Without `canEdit` only the value (or `empty`) is shown.
 */
export function EditableField({
  label,
  value,
  canEdit,
  onSave,
  multiline = false,
  empty,
  maxLength = 10_000,
  compact = false,
}: {
  /** Names the field for the edit button and the input (`Edit description`). */
  label: string;
  value: string | null;
  canEdit: boolean;
  onSave: (value: string | null) => Promise<unknown>;
  multiline?: boolean;
  /** Shown when the value is null or empty. */
  empty: ReactNode;
  maxLength?: number;
  /** Smaller controls, for table cells. */
  compact?: boolean;
}) {
  const id = useId();
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(value ?? '');
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const start = () => {
    setDraft(value ?? '');
    setError(null);
    setEditing(true);
  };
  const save = async (e: { preventDefault(): void }) => {
    e.preventDefault();
    setSaving(true);
    setError(null);
    try {
      const next = draft.trim() === '' ? null : multiline ? draft : draft.trim();
      await onSave(next);
      setEditing(false);
    } catch (err) {
      setError(err);
    } finally {
      setSaving(false);
    }
  };

  if (editing) {
    return (
      <form className={`editable editing ${compact ? 'compact' : ''}`} onSubmit={save}>
        <label htmlFor={id} className="sr-only">
          {label}
        </label>
        {multiline ? (
          <textarea
            id={id}
            className="input"
            rows={compact ? 2 : 4}
            value={draft}
            maxLength={maxLength}
            autoFocus
            onChange={(e) => setDraft(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Escape') setEditing(false);
              if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) void save(e);
            }}
          />
        ) : (
          <input
            id={id}
            className="input"
            value={draft}
            maxLength={maxLength}
            autoFocus
            onChange={(e) => setDraft(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Escape') setEditing(false);
            }}
          />
        )}
        <div className="editable-actions">
          <button type="submit" className="btn btn-primary" disabled={saving}>
            {saving ? 'Saving…' : 'Save'}
          </button>
          <button type="button" className="btn" onClick={() => setEditing(false)} disabled={saving}>
            Cancel
          </button>
        </div>
        {error ? <ErrorMessage error={error} title={`Could not save the ${lowerFirst(label)}`} /> : null}
      </form>
    );
  }
  return (
    <div className={`editable ${compact ? 'compact' : ''}`}>
      <span className={`editable-value ${multiline ? 'multiline' : ''}`}>{value ? value : <span className="muted">{empty}</span>}</span>
      {canEdit ? (
        <button type="button" className="btn btn-ghost btn-small" onClick={start} aria-label={`Edit ${lowerFirst(label)}`}>
          Edit
        </button>
      ) : null}
    </div>
  );
}
