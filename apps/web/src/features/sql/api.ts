import {
  JobSchema,
  QueryHistoryListSchema,
  SavedQueryListSchema,
  SavedQuerySchema,
  SqlResultSchema,
  type Job,
  type QueryHistoryEntry,
  type QueryRun,
  type SavedQuery,
  type SqlResult,
} from '@lakehouse/contracts';
import { queryOptions } from '@tanstack/react-query';
import { ApiError, api, apiResponse, getSessionToken, type Schema } from '../../lib/api.js';

// The SQL feature's server calls: query history, saved queries (permalinks), and write statements run as jobs.

/** A query run as the history lists it. */
export type HistoryEntry = QueryHistoryEntry;
export type { QueryRun, SavedQuery };

const SavedSchema: Schema<SavedQuery> = SavedQuerySchema;
const SavedListSchema: Schema<SavedQuery[]> = { parse: (v) => SavedQueryListSchema.parse(v).items };
const HistorySchema: Schema<HistoryEntry[]> = { parse: (v) => QueryHistoryListSchema.parse(v).items };

/** Query keys of the SQL feature. */
export const sqlKeys = {
  all: ['sql'] as const,
  history: () => [...sqlKeys.all, 'history'] as const,
  savedList: () => [...sqlKeys.all, 'saved', 'list'] as const,
  saved: (id: string) => [...sqlKeys.all, 'saved', id] as const,
};

/** GET /api/queries/history: the signed-in user's recent runs, newest first. */
export function historyQuery(limit = 50) {
  return queryOptions({
    queryKey: [...sqlKeys.history(), limit] as const,
    queryFn: ({ signal }) => api('/api/queries/history', HistorySchema, { query: { limit }, signal }),
    staleTime: 5_000,
  });
}

/** GET /api/queries/saved: the signed-in user's saved queries, newest first. */
export function savedListQuery() {
  return queryOptions({
    queryKey: sqlKeys.savedList(),
    queryFn: ({ signal }) => api('/api/queries/saved', SavedListSchema, { signal }),
    staleTime: 30_000,
  });
}

/** GET /api/queries/saved/{id}: one saved query (any signed-in user with the link may open it). */
export function savedQuery(id: string) {
  return queryOptions({
    queryKey: sqlKeys.saved(id),
    queryFn: ({ signal }) => api(`/api/queries/saved/${encodeURIComponent(id)}`, SavedSchema, { signal }),
    // A saved query never changes.
    staleTime: Infinity,
  });
}

/** POST /api/queries/history: reports one run (best effort: a failure is logged, never shown). */
export async function recordRun(run: QueryRun): Promise<void> {
  try {
    await apiResponse('/api/queries/history', { method: 'POST', body: { ...run, sql: run.sql.slice(0, 1_000_000), error: run.error?.slice(0, 10_000) ?? null } });
  } catch (e) {
    console.warn('could not record the query in the history', e);
  }
}

/** POST /api/queries/saved: saves a query with the versions it read. */
export function saveQuery(body: { name: string; sql: string; tableVersions: Record<string, number> }): Promise<SavedQuery> {
  return api('/api/queries/saved', SavedSchema, { method: 'POST', body });
}

/** POST /api/sql with `Prefer: respond-async`: starts a write statement as a job and returns it at once. */
export function startWrite(sql: string): Promise<Job> {
  return api('/api/sql', JobSchema, { method: 'POST', body: { sql }, headers: { Prefer: 'respond-async' } });
}

/** POST /api/jobs/{id}/cancel. */
export async function cancelJob(id: string): Promise<void> {
  await apiResponse(`/api/jobs/${encodeURIComponent(id)}/cancel`, { method: 'POST' });
}

/** The result of a finished write job, when it has the shape of a SQL result. */
export function writeResultOf(job: Job): SqlResult | null {
  const r = SqlResultSchema.safeParse(job.result);
  return r.success ? r.data : null;
}

const FINISHED = new Set<Job['state']>(['succeeded', 'failed', 'cancelled']);
/** How long a job's event stream may stay silent before the job is looked up directly. */
const QUIET_STREAM_MS = 5_000;

/**
 * Follows a job's server-sent events (GET /api/jobs/{id}/events) until it finishes and returns the final job. Uses
 * fetch streaming because EventSource cannot send the bearer token. Falls back to GET /api/jobs/{id} when the stream
 * ends early.
 */
export async function followJob(id: string, onUpdate: (job: Job) => void, signal?: AbortSignal): Promise<Job> {
  const headers: Record<string, string> = { Accept: 'text/event-stream' };
  const token = getSessionToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(`/api/jobs/${encodeURIComponent(id)}/events`, { headers, signal });
  if (!res.ok || !res.body) {
    throw new ApiError(res.status === 404 ? 'NOT_FOUND' : 'INTERNAL', `could not follow job ${id}: ${res.status} ${res.statusText}`, res.status);
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  // The read in flight survives a quiet spell (a second read() would queue behind it and its chunk would be lost).
  let pending: Promise<ReadableStreamReadResult<string>> | null = null;
  for (;;) {
    // A quiet stream is checked on: an update the server sent before the stream subscribed would otherwise never come.
    let quiet: ReturnType<typeof setTimeout> | undefined;
    pending ??= reader.read();
    const next = await Promise.race([
      pending,
      new Promise<'quiet'>((resolve) => {
        quiet = setTimeout(() => resolve('quiet'), QUIET_STREAM_MS);
      }),
    ]).finally(() => clearTimeout(quiet));
    if (next === 'quiet') {
      const job = await api(`/api/jobs/${encodeURIComponent(id)}`, JobSchema, { signal });
      if (FINISHED.has(job.state)) {
        onUpdate(job);
        await reader.cancel().catch(() => undefined);
        return job;
      }
      continue;
    }
    pending = null;
    const { value, done } = next;
    if (done) break;
    buffer += value;
    let sep: number;
    while ((sep = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const event = buffer.slice(0, sep);
      buffer = buffer.slice(sep).replace(/^\r?\n\r?\n/, '');
      const data = event
        .split(/\r?\n/)
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).replace(/^ /, ''))
        .join('\n');
      if (!data) continue;
      const parsed = JobSchema.safeParse(JSON.parse(data));
      if (!parsed.success) continue;
      onUpdate(parsed.data);
      if (FINISHED.has(parsed.data.state)) {
        await reader.cancel().catch(() => undefined);
        return parsed.data;
      }
    }
  }
  // The stream ended before the job did (a proxy cut it): poll instead.
  for (;;) {
    const job = await api(`/api/jobs/${encodeURIComponent(id)}`, JobSchema, { signal });
    onUpdate(job);
    if (FINISHED.has(job.state)) return job;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}
