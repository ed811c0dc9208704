import type { ReactNode } from 'react';
import { errorMessage, isApiError } from '../lib/api.js';
import { formatDateTime, formatRelative } from './format.js';

/** A polite "loading" line for screen readers and eyes. */
export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <p className="muted loading" role="status">
      <span className="spinner" aria-hidden="true" /> {label}
    </p>
  );
}

/** An error as an alert: the API's message and code, and a retry button when `retry` is given. */
export function ErrorMessage({ error, title = 'Something went wrong', retry }: { error: unknown; title?: string; retry?: () => void }) {
  return (
    <div className="callout callout-error" role="alert">
      <strong>{title}</strong>
      <p>{errorMessage(error)}</p>
      {isApiError(error) ? <p className="muted small">Code: {error.code}</p> : null}
      {retry ? (
        <button type="button" className="btn" onClick={retry}>
          Try again
        </button>
      ) : null}
    </div>
  );
}

/** A quiet note for an empty list. */
export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty muted">{children}</p>;
}

/** A time shown relative to now, with the exact local time as tooltip. */
export function Time({ iso }: { iso: string }) {
  return (
    <time dateTime={iso} title={formatDateTime(iso)}>
      {formatRelative(iso)}
    </time>
  );
}
