import { SqlRequestSchema } from '@lakehouse/contracts';
import { Router } from 'express';
import type { AppDeps } from '../app.js';
import { auditRequest, principalOf, requireCapability } from '../http/context.js';
import { respondWithJob } from '../jobs/runner.js';
import { executeSql } from '../sql/execute.js';

/** POST /api/sql: one write statement run server-side as a job (`Prefer: respond-async` returns the job at once). */
export function sqlRouter(deps: AppDeps): Router {
  const r = Router();
  const { catalog, warehouse, clock, jobs } = deps;
  r.post('/sql', async (req, res) => {
    const { sql } = SqlRequestSchema.parse(req.body ?? {});
    const p = principalOf(res);
    let target: string | null = null;
    const { job, done } = await jobs.start('sql', null, p.id, (ctx) =>
      executeSql(
        {
          warehouse,
          clock,
          userName: p.name,
          signal: ctx.signal,
          onProgress: (f, m) => ctx.progress(f, m),
          authorize: async (stmt) => {
            target = stmt.target;
            await requireCapability(catalog, res, 'modify', `sql ${stmt.kind}`, stmt.target);
            for (const s of stmt.sources) if (s !== stmt.target) await requireCapability(catalog, res, 'select', `sql ${stmt.kind}`, s);
          },
        },
        sql,
      ).then(async (result) => {
        if (!(await catalog.getTable(result.target))) await catalog.registerTable(result.target, p.name);
        await auditRequest(catalog, res, `sql ${result.statement}`, result.target, 'ok', { version: result.version, sources: result.sources, jobId: job.id });
        return result;
      }),
    );
    await respondWithJob(req, res, job, done, async (e) => {
      if ((e as { code?: string }).code !== 'FORBIDDEN') await auditRequest(catalog, res, 'sql', target, 'error', { message: (e as Error).message, jobId: job.id });
    });
  });
  return r;
}
