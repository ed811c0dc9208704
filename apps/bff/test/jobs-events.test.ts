import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/app.js';

function states(text: string): string[] {
  return text
    .split('\n\n')
    .filter((b) => b.startsWith('data: '))
    .map((b) => JSON.parse(b.slice(6)).state as string);
}

describe('GET /api/jobs/{id}/events', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  }, 120_000);
  afterAll(() => s?.close());

  it('delivers the final state of a job that finishes while the stream reads the stored state', async () => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const { job, done } = await s.deps.jobs.start('test', null, null, async (ctx) => {
      ctx.progress(0.5, 'half way');
      await gate;
      return { ok: true };
    });
    // The stored state the route reads is "running"; the job finishes before the route gets it back.
    const catalog = s.deps.catalog;
    const getJob = catalog.getJob.bind(catalog);
    catalog.getJob = async (id: string) => {
      const stale = await getJob(id);
      open();
      await done;
      return stale;
    };
    try {
      const events = await s.call(`/api/jobs/${job.id}/events`, { token: s.adminToken });
      const seen = states(await events.text());
      expect(seen.at(-1)).toBe('succeeded');
    } finally {
      catalog.getJob = getJob;
    }
  }, 60_000);

  it('sends the stored state and ends at once for a finished job', async () => {
    const { job, done } = await s.deps.jobs.start('test', null, null, async () => ({ n: 1 }));
    await done;
    const events = await s.call(`/api/jobs/${job.id}/events`, { token: s.adminToken });
    expect(states(await events.text())).toEqual(['succeeded']);
  }, 60_000);
});
