import type { Job } from '@lakehouse/contracts';
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
    const id = String(req.params.id);
    // Subscribe before reading the stored state, so an update that lands in between is still delivered.
    const early: Job[] = [];
    let forward: (j: Job) => void = (j) => early.push(j);
    const off = jobs.subscribe(id, (j) => forward(j));
    let job: Job;
    try {
      job = await load(id, res);
    } catch (e) {
      off();
      throw e;
    }
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
    const finished = (s: string) => s === 'succeeded' || s === 'failed' || s === 'cancelled';
    const send = (j: Job): void => {
      if (res.writableEnded) return;
      res.write(`data: ${JSON.stringify(j)}\n\n`);
      if (finished(j.state)) {
        off();
        res.end();
      }
    };
    req.on('close', off);
    // The stored state first, unless a live update already moved past it; then whatever arrived meanwhile.
    const latest = early.at(-1);
    send(latest && finished(latest.state) ? latest : job);
    for (const j of early) send(j);
    forward = send;
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
