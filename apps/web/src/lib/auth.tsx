import { useQuery, useQueryClient } from '@tanstack/react-query';
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { whenIdle } from './idle.js';
import { authKeys, exchangeLoginToken, fetchMe, type Me } from '../features/auth/api.js';
import { getSessionToken, onUnauthenticated, setSessionToken, type ApiError } from './api.js';

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

// A one-time token must be exchanged exactly once, even when React runs an effect twice.
const exchanges = new Map<string, Promise<string>>();

function exchangeOnce(loginToken: string): Promise<string> {
  let p = exchanges.get(loginToken);
  if (!p) {
    p = exchangeLoginToken(loginToken).then((r) => r.token);
    exchanges.set(loginToken, p);
    p.catch(() => exchanges.delete(loginToken));
  }
  return p;
}

/** Provides `useAuth()`: the session token lives in sessionStorage, the user comes from GET /api/me. */
export function AuthProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const [token, setToken] = useState<string | null>(() => getSessionToken());
  const [notice, setNotice] = useState<string | null>(null);

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
      setSessionToken(session);
      queryClient.clear();
      setNotice(null);
      setToken(session);
    },
    [queryClient],
  );

  useEffect(() => onUnauthenticated((e) => signOut(`Your session ended: ${e.message}`)), [signOut]);

  const me = useQuery({
    queryKey: authKeys.me(),
    queryFn: ({ signal }) => fetchMe(signal),
    enabled: token !== null,
    staleTime: 5 * 60_000,
    retry: (n, e) => n < 2 && !(e as ApiError).code?.startsWith('UNAUTH'),
  });

  // With a session (or a login link being exchanged), start DuckDB-WASM while the browser is idle: its ~1.5 s start
  // then overlaps signing in and reading the catalog instead of delaying the first query. Loaded by a dynamic import,
  // so the initial JS stays small; a signed-out visitor never loads it.
  const signedIn = token !== null || (location.pathname.endsWith('/login') && location.hash.includes('token='));
  useEffect(() => {
    if (!signedIn) return;
    return whenIdle(() => void import('./duckdb/engine.js').then((m) => m.getDuckDb()).catch(() => undefined), 1_000);
  }, [signedIn]);

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
