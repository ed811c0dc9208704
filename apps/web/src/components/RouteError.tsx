import { isRouteErrorResponse, Link, useRouteError } from 'react-router';
import { ErrorMessage } from './States.js';

/** Error element of the routes: a page that crashed or failed to load (e.g. a stale chunk after a deploy) shows why, with a reload. */
export function RouteError() {
  const error = useRouteError();
  const chunk = error instanceof Error && /dynamically imported module|Importing a module script failed|Failed to fetch/i.test(error.message);
  return (
    <section className="page" aria-labelledby="route-error-title">
      <h1 id="route-error-title">{isRouteErrorResponse(error) && error.status === 404 ? 'Page not found' : 'This page failed'}</h1>
      <ErrorMessage
        error={isRouteErrorResponse(error) ? new Error(`${error.status} ${error.statusText}`) : error}
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
