import { useQuery, useQueryClient, type QueryClient } from '@tanstack/react-query';
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { GrantSchema } from '@lakehouse/contracts';
import { authKeys, fetchMe, LoginResponseSchema, tokenFromInput, type Me } from '../features/auth/api.js';
import { api, apiSent, getSessionToken, onUnauthenticated, setSessionToken, type ApiError } from './api.js';
import { matchPath, navigate } from './router.js';

/** What the console knows about the session. */
export interface AuthState {
  /** `signed-out`: no session token; `checking`: token present, /api/me not answered yet; `signed-in`: `me` is known. */
  status: 'signed-out' | 'checking' | 'signed-in';
  me: Me | null;
  /** Why the last session ended (expired, revoked), to show on the sign-in page. */
  notice: string | null;
  /** Error of /api/me other than an expired session (e.g. the server is down). */
  error: ApiError | Error | null;
  /** Exchanges a login token for a session token and stores it for this tab. */
  signIn(loginToken: string): Promise<void>;
  /** Forgets the session token and every cached answer. */
  signOut(notice?: string): void;
}

const AuthContext = createContext<AuthState | null>(null);

/** POST /api/auth/login's answer; servers that send the user's grants spare the console GET /api/me. */
const SignInSchema = LoginResponseSchema.extend({ grants: GrantSchema.array().optional() });

/** A session token, and the user when the login answer described them fully. */
interface Session {
  token: string;
  me: Me | null;
}

/** The exchange index.html's early script started for a login link (`/login#token=...`), before this code loaded. */
interface EarlyLogin {
  token: string;
  response: Promise<Response>;
}

function takeEarlyLogin(loginToken: string): Promise<Response> | null {
  const w = window as { __lakehouseLogin?: EarlyLogin };
  const early = w.__lakehouseLogin;
  if (!early || early.token !== loginToken || !(early.response instanceof Promise)) return null;
  delete w.__lakehouseLogin;
  return early.response;
}

async function exchange(loginToken: string): Promise<Session> {
  const early = takeEarlyLogin(loginToken);
  const r = early
    ? await apiSent('/api/auth/login', early, SignInSchema)
    : await api('/api/auth/login', SignInSchema, { method: 'POST', body: { token: loginToken } });
  const me = r.grants ? { id: r.user.id, name: r.user.name, role: r.user.role, grants: r.grants } : null;
  return { token: r.token, me };
}

// A one-time token must be exchanged exactly once, even when React runs an effect twice.
const exchanges = new Map<string, Promise<Session>>();

function exchangeOnce(loginToken: string): Promise<Session> {
  let p = exchanges.get(loginToken);
  if (!p) {
    p = exchange(loginToken);
    exchanges.set(loginToken, p);
    p.catch(() => exchanges.delete(loginToken));
  }
  return p;
}

/** The token of the login link the page is at (`/login#token=...`), or null. */
export function loginLinkToken(): string | null {
  return matchPath('/login', location.pathname) && location.hash.includes('token=') ? tokenFromInput(location.hash) : null;
}

/** True when the page was opened with a session of this tab or with a login link (`/login#token=...`). */
export function sessionExpected(): boolean {
  return getSessionToken() !== null || loginLinkToken() !== null;
}

/** A login link's exchange that failed before the console's first render, for the login route to show. */
let linkFailure: { token: string; error: unknown } | null = null;

/** Why the exchange of the login link `token` failed before the first render, or null when it did not. */
export function loginLinkFailure(token: string): unknown {
  return linkFailure?.token === token ? linkFailure.error : null;
}

/**
 * For a page opened with a login link: waits up to `waitMs` for the exchange of its token (index.html's early one,
 * usually answered while the console's code loads). Signed in by then: the session is kept (token stored, the user
 * cached in `queryClient`) and `/catalog` replaces the link in the address bar, so the first render is the signed-in
 * console, with no "Signing in" page and no navigation. Refused by then: the error waits for the login route. Resolves
 * true when signed in; otherwise the login route goes on (sharing a pending exchange). Call before the first render.
 */
export async function adoptLoginLink(queryClient: QueryClient, waitMs: number): Promise<boolean> {
  const token = loginLinkToken();
  if (token === null) return false;
  const exchange = exchangeOnce(token);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    exchange.then((session) => ({ session }), (error: unknown) => ({ error })),
    new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), waitMs))),
  ]);
  clearTimeout(timer);
  if (outcome === null) return false;
  if ('error' in outcome) {
    linkFailure = { token, error: outcome.error };
    return false;
  }
  setSessionToken(outcome.session.token);
  if (outcome.session.me) queryClient.setQueryData(authKeys.me(), outcome.session.me);
  // As the login route does: the token leaves the address bar and the history.
  navigate('/catalog', { replace: true });
  return true;
}

/**
 * Starts DuckDB-WASM in the background (the SQL editor, sample tab and column profiles use it): its worker, wasm
 * download and compile overlap signing in and the first pages instead of delaying the first query. A dynamic import,
 * so the initial JavaScript stays small and a signed-out visitor never loads it. Idempotent; never throws.
 */
export function startDuckDbEarly(): void {
  void import('./duckdb/engine.js').then((m) => m.getDuckDb()).catch(() => undefined);
}

/**
 * Provides `useAuth()`: the session token lives in sessionStorage, the user comes from the login answer or GET /api/me.
 * `onSession` is called once per session token, as soon as there is one (at sign-in before the shell renders, or when
 * the page opens with one), for work that only needs the token.
 */
export function AuthProvider({ children, onSession }: { children: ReactNode; onSession?: (token: string) => void }) {
  const queryClient = useQueryClient();
  const [token, setToken] = useState<string | null>(() => getSessionToken());
  const [notice, setNotice] = useState<string | null>(null);
  const announced = useRef<string | null>(null);
  const announce = useCallback(
    (t: string) => {
      if (announced.current === t) return;
      announced.current = t;
      onSession?.(t);
    },
    [onSession],
  );

  const signOut = useCallback(
    (why?: string) => {
      setSessionToken(null);
      setToken(null);
      setNotice(why ?? null);
      queryClient.clear();
    },
    [queryClient],
  );

  const signIn = useCallback(
    async (loginToken: string) => {
      const session = await exchangeOnce(loginToken);
      setSessionToken(session.token);
      announce(session.token);
      queryClient.clear();
      // The login answer described the user: the shell shows without waiting for GET /api/me.
      if (session.me) queryClient.setQueryData(authKeys.me(), session.me);
      setNotice(null);
      setToken(session.token);
    },
    [queryClient, announce],
  );

  useEffect(() => onUnauthenticated((e) => signOut(`Your session ended: ${e.message}`)), [signOut]);

  const me = useQuery({
    queryKey: authKeys.me(),
    queryFn: ({ signal }) => fetchMe(signal),
    enabled: token !== null,
    staleTime: 5 * 60_000,
    retry: (n, e) => n < 2 && !(e as ApiError).code?.startsWith('UNAUTH'),
  });

  // Signing in later (a pasted token): start DuckDB-WASM then (main.tsx starts it at once for a page opened with a
  // session or a login link).
  useEffect(() => {
    if (token === null) return;
    startDuckDbEarly();
    announce(token);
  }, [token, announce]);

  const value = useMemo<AuthState>(() => {
    const status = token === null ? 'signed-out' : me.data ? 'signed-in' : 'checking';
    return { status, me: me.data ?? null, notice, error: token !== null && me.error ? me.error : null, signIn, signOut };
  }, [token, me.data, me.error, notice, signIn, signOut]);

  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

/** The session; only inside `AuthProvider`. */
export function useAuth(): AuthState {
  const ctx = useContext(AuthContext);
  if (!ctx) throw new Error('useAuth() outside <AuthProvider>');
  return ctx;
}

/** True when the grant's securable (`layer`, `layer.domain` or `layer.domain.table`) covers the table. */
function covers(securable: string, table: string): boolean {
  return table === securable || table.startsWith(securable + '.');
}

/**
 * Whether the user may edit a table's description, comments, owner and tags: stewards and admins, or a MANAGE grant on
 * the table, its domain or its layer (mirrors the BFF's rule; the server still decides).
 */
export function canEditMetadata(me: Me | null, table: string): boolean {
  if (!me) return false;
  if (me.role === 'admin' || me.role === 'steward') return true;
  return me.grants.some((g) => g.privilege === 'MANAGE' && covers(g.securable, table));
}

/** Whether the user may read the table's data (sample, profiles, SQL): analysts and up, or any grant on it (the server still decides). */
export function canSelect(me: Me | null, table: string): boolean {
  if (!me) return false;
  if (me.role !== 'viewer') return true;
  return me.grants.some((g) => covers(g.securable, table));
}
