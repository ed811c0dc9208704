import { ErrorBodySchema, type ApiErrorCode } from '@lakehouse/contracts';

// The one HTTP client of the console: bearer token from sessionStorage, JSON in and out, typed errors.

const SESSION_KEY = 'lakehouse.session';

/** Anything that validates unknown JSON into a `T` (every zod schema of `@lakehouse/contracts` fits). */
export interface Schema<T> {
  parse(data: unknown): T;
}

/** Error codes the client adds to the API's own: the request never got an answer, or the answer was not what the contract says. */
export type ClientErrorCode = 'NETWORK_ERROR' | 'BAD_RESPONSE';

/** A failed API call; `code` is the API's error code (or a client code), `message` is fit to show to a person. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly code: ApiErrorCode | ClientErrorCode,
    message: string,
    /** HTTP status, 0 when the request never got a response. */
    readonly status: number,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** True when `e` is an `ApiError` with one of the given codes (any code when none are given). */
export function isApiError(e: unknown, ...codes: (ApiErrorCode | ClientErrorCode)[]): e is ApiError {
  return e instanceof ApiError && (codes.length === 0 || codes.includes(e.code));
}

/** The session token of this tab, or null when signed out. */
export function getSessionToken(): string | null {
  try {
    return sessionStorage.getItem(SESSION_KEY);
  } catch {
    return null;
  }
}

/** Stores (or, with null, removes) the session token of this tab. */
export function setSessionToken(token: string | null): void {
  try {
    if (token === null) sessionStorage.removeItem(SESSION_KEY);
    else sessionStorage.setItem(SESSION_KEY, token);
  } catch {
    // Storage disabled: the session lasts as long as the page.
  }
}

const unauthenticatedListeners = new Set<(e: ApiError) => void>();

/** Calls `listener` whenever an authenticated call is refused with UNAUTHENTICATED; returns the unsubscribe function. */
export function onUnauthenticated(listener: (e: ApiError) => void): () => void {
  unauthenticatedListeners.add(listener);
  return () => unauthenticatedListeners.delete(listener);
}

/** Options of one API call. */
export interface ApiOptions {
  method?: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /** Sent as JSON. */
  body?: unknown;
  /** Extra headers (e.g. `Prefer: respond-async`). */
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Query parameters; undefined, null and empty-string values are left out. */
  query?: Record<string, string | number | boolean | null | undefined>;
}

/** `path` plus the non-empty query parameters, encoded. */
export function apiUrl(path: string, query?: ApiOptions['query']): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

/**
 * Sends one request to the BFF with the session token and returns the raw response when it is a success.
 * Non-2xx answers are thrown as `ApiError` carrying the API's `{code, message, details}`.
 */
export async function apiResponse(path: string, options: ApiOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json', ...options.headers };
  const token = getSessionToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  return settle(fetch(apiUrl(path, options.query), { method: options.method ?? 'GET', headers, body, signal: options.signal }), token !== null);
}

/** The response of a request already sent, as `apiResponse` returns it (errors thrown as `ApiError`). */
async function settle(response: Promise<Response>, authenticated: boolean): Promise<Response> {
  let res: Response;
  try {
    res = await response;
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new ApiError('NETWORK_ERROR', `the server did not answer (${(e as Error).message}); is the lakehouse server running?`, 0);
  }
  if (res.ok) return res;
  const error = await errorOf(res);
  if (error.code === 'UNAUTHENTICATED' && authenticated) for (const l of unauthenticatedListeners) l(error);
  throw error;
}

async function errorOf(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  try {
    const body = ErrorBodySchema.parse(JSON.parse(text));
    return new ApiError(body.code, body.message, res.status, body.details);
  } catch {
    return new ApiError(res.status === 401 ? 'UNAUTHENTICATED' : 'INTERNAL', `${res.status} ${res.statusText || 'error'}${text ? `: ${text.slice(0, 200)}` : ''}`, res.status);
  }
}

/** Calls the API and returns the JSON body validated by `schema`; a body that breaks the contract throws BAD_RESPONSE. */
export async function api<T>(path: string, schema: Schema<T>, options: ApiOptions = {}): Promise<T> {
  return bodyOf(path, await apiResponse(path, options), schema);
}

/**
 * Like `api`, for an unauthenticated request to `path` that was sent already (e.g. by index.html's early script):
 * the same errors (`ApiError`) and the same validation of the body by `schema`.
 */
export async function apiSent<T>(path: string, response: Promise<Response>, schema: Schema<T>): Promise<T> {
  return bodyOf(path, await settle(response, false), schema);
}

async function bodyOf<T>(path: string, res: Response, schema: Schema<T>): Promise<T> {
  let json: unknown;
  try {
    json = await res.json();
  } catch {
    throw new ApiError('BAD_RESPONSE', `${path} did not answer with JSON`, res.status);
  }
  try {
    return schema.parse(json);
  } catch (e) {
    throw new ApiError('BAD_RESPONSE', `${path} answered with an unexpected shape: ${(e as Error).message.slice(0, 300)}`, res.status);
  }
}

/** Message of any error, fit to show to a person. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
