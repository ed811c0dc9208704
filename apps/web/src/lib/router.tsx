import { Component, createContext, useCallback, useContext, useEffect, useMemo, useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent, type ReactNode } from 'react';

// The console's router: the History API, routes matched by path pattern, and the links and hooks its pages use.
// React Router's data router did the same for these few absolute paths at about 70 ms of a cold start's main thread
// and 89 KB of JavaScript.

/** Where the console is: the address bar's path, query and fragment. */
export interface Location {
  pathname: string;
  search: string;
  hash: string;
}

const listeners = new Set<() => void>();
let current: Location = readLocation();

function readLocation(): Location {
  if (typeof window === 'undefined') return { pathname: '/', search: '', hash: '' };
  const { pathname, search, hash } = window.location;
  return { pathname, search, hash };
}

/** Takes the address bar's location; tells the subscribers when it changed. */
function sync(): void {
  const next = readLocation();
  if (next.pathname === current.pathname && next.search === current.search && next.hash === current.hash) return;
  current = next;
  for (const listener of listeners) listener();
}

if (typeof window !== 'undefined') window.addEventListener('popstate', sync);

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/**
 * Goes to `to` (a path of the console, with an optional query and fragment): a new history entry, or with `replace`
 * the current one. Another origin is a page load.
 */
export function navigate(to: string, options: { replace?: boolean } = {}): void {
  const url = new URL(to, window.location.href);
  if (url.origin !== window.location.origin) {
    window.location.assign(url.href);
    return;
  }
  const path = url.pathname + url.search + url.hash;
  if (options.replace) window.history.replaceState(null, '', path);
  else window.history.pushState(null, '', path);
  sync();
}

/** The current location; the component re-renders when it changes. */
export function useLocation(): Location {
  return useSyncExternalStore(subscribe, () => current);
}

/** `navigate`, for components (a stable function). */
export function useNavigate(): typeof navigate {
  return navigate;
}

/** Path parameters of the route shown (`:name` segments, decoded; optional ones absent when not in the path). */
export type Params = Readonly<Record<string, string | undefined>>;

const ParamsContext = createContext<Params>({});

/** The parameters of the route the component is in. */
export function useParams(): Params {
  return useContext(ParamsContext);
}

/** Sets the query: new parameters, or a function of the current ones; with `replace`, no new history entry. */
export type SetSearchParams = (next: URLSearchParams | ((current: URLSearchParams) => URLSearchParams), options?: { replace?: boolean }) => void;

/** The query of the current location, and a stable function that changes it. */
export function useSearchParams(): [URLSearchParams, SetSearchParams] {
  const { search } = useLocation();
  const set = useCallback<SetSearchParams>((next, options) => {
    const params = typeof next === 'function' ? next(new URLSearchParams(current.search)) : next;
    const query = params.toString();
    navigate(`${current.pathname}${query ? `?${query}` : ''}`, options);
  }, []);
  const params = useMemo(() => new URLSearchParams(search), [search]);
  return [params, set];
}

/**
 * The parameters of `pathname` under `pattern` (`/catalog/:layer?/:domain?`, `*` for any rest), or null when it does
 * not match. Literal segments match regardless of case; a trailing slash is ignored.
 */
export function matchPath(pattern: string, pathname: string): Record<string, string> | null {
  const want = pattern.split('/').filter(Boolean);
  const have = pathname.split('/').filter(Boolean);
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const seg = want[i];
    if (seg === '*') return params;
    const value = have[i];
    if (seg.startsWith(':')) {
      const optional = seg.endsWith('?');
      const name = seg.slice(1, optional ? -1 : undefined);
      if (value === undefined) {
        if (optional) continue;
        return null;
      }
      try {
        params[name] = decodeURIComponent(value);
      } catch {
        return null;
      }
    } else if (value === undefined || value.toLowerCase() !== seg.toLowerCase()) return null;
  }
  return have.length <= want.length ? params : null;
}

/** A page of the console: its path pattern (see `matchPath`) and what it shows. */
export interface Route {
  path: string;
  element: ReactNode;
}

/** Shows the first of `routes` whose path matches the location, with its parameters; `error` shows a page that threw. */
export function Routes({ routes, error }: { routes: readonly Route[]; error: (e: unknown) => ReactNode }) {
  const { pathname } = useLocation();
  for (const route of routes) {
    const params = matchPath(route.path, pathname);
    if (params === null) continue;
    return (
      <ParamsContext.Provider value={params}>
        {/* A new page starts without the previous page's error. */}
        <PageErrorBoundary key={pathname} fallback={error}>
          {route.element}
        </PageErrorBoundary>
      </ParamsContext.Provider>
    );
  }
  return null;
}

class PageErrorBoundary extends Component<{ fallback: (e: unknown) => ReactNode; children: ReactNode }, { error: unknown; failed: boolean }> {
  override state = { error: null as unknown, failed: false };

  static getDerivedStateFromError(error: unknown) {
    return { error, failed: true };
  }

  override render() {
    return this.state.failed ? this.props.fallback(this.state.error) : this.props.children;
  }
}

/** Props of `Link`: an anchor's, with `to` (a path of the console) instead of `href`. */
export interface LinkProps extends Omit<AnchorHTMLAttributes<HTMLAnchorElement>, 'href'> {
  to: string;
  /** Replace the current history entry instead of adding one. */
  replace?: boolean;
}

/** A link within the console: a plain click navigates in the page; modified clicks and other targets act as links do. */
export function Link({ to, replace, onClick, target, ...rest }: LinkProps) {
  const click = (e: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(e);
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.altKey || e.ctrlKey || e.shiftKey || (target && target !== '_self')) return;
    e.preventDefault();
    navigate(to, { replace });
  };
  return <a href={to} target={target} onClick={click} {...rest} />;
}

/** Props of `NavLink`: a `Link` whose class may depend on whether the location is at or under `to`. */
export interface NavLinkProps extends Omit<LinkProps, 'className'> {
  className?: string | ((state: { isActive: boolean }) => string);
}

/**
 * A navigation link: active when the location is `to` or a path under it, and then marked `aria-current="page"` and
 * (for a string class name) given the class `active`.
 */
export function NavLink({ className, to, ...rest }: NavLinkProps) {
  const { pathname } = useLocation();
  const path = to.replace(/[?#].*$/, '').replace(/\/+$/, '').toLowerCase();
  const here = pathname.replace(/\/+$/, '').toLowerCase();
  const isActive = here === path || here.startsWith(`${path}/`);
  const classes = typeof className === 'function' ? className({ isActive }) : [className, isActive ? 'active' : ''].filter(Boolean).join(' ');
  return <Link to={to} aria-current={isActive ? 'page' : undefined} className={classes || undefined} {...rest} />;
}

/** Goes to `to` once rendered (by default replacing the current entry, as a redirect does). */
export function Navigate({ to, replace = true }: { to: string; replace?: boolean }) {
  useEffect(() => navigate(to, { replace }), [to, replace]);
  return null;
}
