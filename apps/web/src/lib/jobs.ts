import { JobSchema, type Job } from '@lakehouse/contracts';
import { ApiError, api, apiResponse, getSessionToken } from './api.js';

// Long-running jobs of the BFF (SQL writes, maintenance): follow their server-sent events, cancel them.

/** POST /api/jobs/{id}/cancel. */
export async function cancelJob(id: string): Promise<void> {
  await apiResponse(`/api/jobs/${encodeURIComponent(id)}/cancel`, { method: 'POST' });
}

/** The states a job ends in. */
export const FINISHED_STATES: ReadonlySet<Job['state']> = new Set<Job['state']>(['succeeded', 'failed', 'cancelled']);
const FINISHED = FINISHED_STATES;
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
