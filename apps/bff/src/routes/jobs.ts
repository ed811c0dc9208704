import { LakehouseError } from '@lakehouse/core';
import { Router } from 'express';
import type { AppDeps } from '../app.js';
import { auditRequest, principalOf } from '../http/context.js';
import { can } from '../auth/policy.js';

/** Job state, live progress (server-sent events) and cancellation. */
export function jobsRouter(deps: AppDeps): Router {
  const r = Router();
  const { catalog, jobs } = deps;

  const load = async (id: string, res: Parameters<typeof principalOf>[0]) => {
    const job = await catalog.getJob(id);
    const p = principalOf(res);
    if (!job || (job.createdBy !== p.id && !can(p, 'admin'))) throw new LakehouseError('NOT_FOUND', `no job ${id}`);
    return job;
  };

  r.get('/jobs/:id', async (req, res) => {
    res.json(await load(String(req.params.id), res));
  });

  r.get('/jobs/:id/events', async (req, res) => {
    const job = await load(String(req.params.id), res);
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
    const send = (j: unknown) => res.write(`data: ${JSON.stringify(j)}\n\n`);
    const finished = (s: string) => s === 'succeeded' || s === 'failed' || s === 'cancelled';
    send(job);
    if (finished(job.state)) {
      res.end();
      return;
    }
    const off = jobs.subscribe(job.id, (j) => {
      send(j);
      if (finished(j.state)) {
        off();
        res.end();
      }
    });
    req.on('close', off);
  });

  r.post('/jobs/:id/cancel', async (req, res) => {
    const job = await load(String(req.params.id), res);
    const ok = jobs.cancel(job.id);
    await auditRequest(catalog, res, 'cancel job', job.table, ok ? 'ok' : 'error', { jobId: job.id });
    if (!ok) throw new LakehouseError('INVALID_INPUT', `job ${job.id} is not running (state ${job.state})`);
    res.status(202).json({ id: job.id, cancelling: true });
  });
  return r;
}
