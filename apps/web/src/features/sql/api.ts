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
import { api, apiResponse, type Schema } from '../../lib/api.js';

// Job following is shared with the admin feature (lib/jobs.ts); re-exported for the SQL page.
export { cancelJob, followJob } from '../../lib/jobs.js';

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

/** The result of a finished write job, when it has the shape of a SQL result. */
export function writeResultOf(job: Job): SqlResult | null {
  const r = SqlResultSchema.safeParse(job.result);
  return r.success ? r.data : null;
}
