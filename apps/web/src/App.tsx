import { lazy, useEffect } from 'react';
import { AppShell } from './components/AppShell.js';
import { NotFound, RouteError } from './components/RouteError.js';
import { ErrorMessage, Loading } from './components/States.js';
import { LoginRoute, SignInPage } from './features/auth/LoginRoute.js';
import { CatalogPage } from './features/catalog/CatalogPage.js';
import { PlaceholderPage } from './features/placeholders/PlaceholderPage.js';
import { TablePage } from './features/table/TablePage.js';
import { useAuth } from './lib/auth.js';
import { whenIdle } from './lib/idle.js';
import { matchPath, Navigate, Routes, useLocation, type Route } from './lib/router.js';

// The SQL editor carries CodeMirror and DuckDB-WASM: not loaded with the console, but fetched while the signed-in
// shell is idle (the SQL page is where most sessions go next), or on first visit.
let sqlPageModule: typeof import('./features/sql/SqlPage.js') | null = null;
const loadSqlPage = () =>
  import('./features/sql/SqlPage.js').then((m) => {
    sqlPageModule = m;
    return m;
  });
const LazySqlPage = lazy(() => loadSqlPage().then((m) => ({ default: m.SqlPage })));

/**
 * The SQL page: rendered at once when its code has loaded (it usually has, at idle, before the first visit); else
 * through `lazy` (a suspended render and a retry, which a navigation pays even for an already loaded module).
 */
function SqlPage() {
  return sqlPageModule ? <sqlPageModule.SqlPage /> : <LazySqlPage />;
}
// The admin pages (maintenance) are for few users: loaded on first visit.
const AdminPage = lazy(() => import('./features/admin/AdminPage.js').then((m) => ({ default: m.AdminPage })));
const TableMaintenancePage = lazy(() => import('./features/admin/TableMaintenancePage.js').then((m) => ({ default: m.TableMaintenancePage })));

/** Signed out: the sign-in page (at the same address, so a deep link opens after signing in); signed in: the shell. */
function AuthGate() {
  const { status, notice, error, signOut } = useAuth();
  if (status === 'signed-out') return <SignInPage notice={notice} />;
  if (status === 'checking') {
    return (
      <div className="signin">
        <main className="signin-card" aria-labelledby="checking-title">
          <h1 id="checking-title">Lakehouse</h1>
          {error ? (
            <>
              <ErrorMessage error={error} title="Could not reach the server" retry={() => window.location.reload()} />
              <button type="button" className="btn" onClick={() => signOut()}>
                Sign in again
              </button>
            </>
          ) : (
            <Loading label="Checking your session…" />
          )}
        </main>
      </div>
    );
  }
  return <SignedIn />;
}

/**
 * The shell of a signed-in user. The SQL page is where most sessions go next: its code loads once the page is idle,
 * or 300 ms after the shell shows (while DuckDB-WASM starts the page is seldom idle, and a click on SQL before the code
 * has run waits for it); the views its draft reads are built from the sign-in on (main.tsx).
 */
function SignedIn() {
  useEffect(() => whenIdle(() => void loadSqlPage().catch(() => undefined), 300), []);
  return (
    <AppShell>
      <Routes routes={pages} error={(e) => <RouteError error={e} />} />
    </AppShell>
  );
}

/** The pages of a signed-in user; their paths are the console's deep links (the first match is shown). */
export const pages: readonly Route[] = [
  { path: '/', element: <Navigate to="/catalog" /> },
  { path: '/catalog/:layer?/:domain?', element: <CatalogPage /> },
  { path: '/tables/:name', element: <TablePage /> },
  { path: '/sql', element: <SqlPage /> },
  { path: '/sql/saved/:id', element: <SqlPage /> },
  { path: '/quality', element: <PlaceholderPage section="quality" /> },
  { path: '/lineage', element: <PlaceholderPage section="lineage" /> },
  { path: '/monitoring', element: <PlaceholderPage section="monitoring" /> },
  { path: '/admin', element: <AdminPage /> },
  { path: '/admin/tables/:name', element: <TableMaintenancePage /> },
  { path: '*', element: <NotFound /> },
];

/** The console (wrap in `QueryClientProvider` and `AuthProvider`, as main.tsx does): `/login`, or the signed-in pages. */
export function App() {
  const { pathname } = useLocation();
  return matchPath('/login', pathname) ? <LoginRoute /> : <AuthGate />;
}
