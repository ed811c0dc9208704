import { Link } from '../lib/router.js';
import { ErrorMessage } from './States.js';

/** A page that crashed or failed to load (e.g. a stale chunk after a deploy): why, with a reload. */
export function RouteError({ error }: { error: unknown }) {
  const chunk = error instanceof Error && /dynamically imported module|Importing a module script failed|Failed to fetch/i.test(error.message);
  return (
    <section className="page" aria-labelledby="route-error-title">
      <h1 id="route-error-title">This page failed</h1>
      <ErrorMessage
        error={error}
        title={chunk ? 'Part of the console could not be loaded (was it updated?). Reload the page.' : 'Something went wrong while showing this page'}
      />
      <p>
        <button type="button" className="btn" onClick={() => window.location.reload()}>
          Reload
        </button>{' '}
        <Link to="/catalog">Go to the catalog</Link>
      </p>
    </section>
  );
}

/** The page for an unknown address. */
export function NotFound() {
  return (
    <section className="page" aria-labelledby="not-found-title">
      <h1 id="not-found-title">Page not found</h1>
      <p>There is no page at this address.</p>
      <p>
        <Link to="/catalog">Go to the catalog</Link>
      </p>
    </section>
  );
}
