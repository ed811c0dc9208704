import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.js';
import { ApiError } from './lib/api.js';
import { adoptLoginLink, AuthProvider, sessionExpected, startDuckDbEarly } from './lib/auth.js';
import './styles.css';
// The SQL editor's styles (also the sample tab's and column profile's) ship with the console's (6 KB): as a stylesheet
// of its own, the editor's lazily imported code waited for one more request, which took 100-300 ms while DuckDB-WASM
// started (interleaved A/B: from the click on SQL to the editor, -50 ms median).
import './features/sql/sql.css';

// Signed in (or opening a login link): DuckDB-WASM's start (about a second of download, compile and open, mostly in
// its worker) begins now, in parallel with the first render and the sign-in, rather than when the editor asks for it.
// (The SQL editor's own code still loads at idle: evaluating it now would delay the first pages.)
if (sessionExpected()) startDuckDbEarly();

/**
 * Builds the views the SQL editor's draft reads (scan plans and Parquet footers fetched while DuckDB-WASM starts) as
 * soon as there is a session: most sessions run the draft soon.
 */
function prewarmSqlDraft(): void {
  void import('./features/sql/prewarm.js').then((m) => m.prewarmSqlDraft()).catch(() => undefined);
}

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // Retry only what may pass on a second try: network trouble and server errors, not refusals or bad input.
      retry: (failures, error) => failures < 2 && (!(error instanceof ApiError) || error.status === 0 || error.status >= 500),
      refetchOnWindowFocus: false,
    },
  },
});

/**
 * How long the first render waits for a login link's exchange (index.html sends it before this code loads, so it has
 * usually been answered): waiting renders the console signed in at once instead of a "Signing in" page first.
 */
const LOGIN_LINK_WAIT_MS = 500;

function render(): void {
  createRoot(document.getElementById('root')!).render(
    <StrictMode>
      <QueryClientProvider client={queryClient}>
        <AuthProvider onSession={prewarmSqlDraft}>
          <App />
        </AuthProvider>
      </QueryClientProvider>
    </StrictMode>,
  );
}

void adoptLoginLink(queryClient, LOGIN_LINK_WAIT_MS).then(render, render);
