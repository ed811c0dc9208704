import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Router, type Request } from 'express';
import { LakehouseError } from '@lakehouse/core';
import type { AppDeps } from '../app.js';
import { auditRequest, requireCapability } from '../http/context.js';
import { ingestFile, ingestOptionsFromFields } from '../ingest/ingest.js';
import { respondWithJob } from '../jobs/runner.js';
import { receiveUpload } from '../ingest/receive.js';
import { tableParam } from './tables.js';

/** Query parameters a raw upload (the body is the file) may carry. */
const RAW_UPLOAD_PARAMS = new Set(['fileName', 'format', 'mode', 'mergeSchema', 'idempotencyKey']);

/** The options of a raw upload from the query string; INVALID_INPUT naming an unknown or repeated parameter. */
function rawUploadFields(query: Request['query']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(query)) {
    if (!RAW_UPLOAD_PARAMS.has(k)) {
      throw new LakehouseError('INVALID_INPUT', `unknown ingest parameter "${k}": use ${[...RAW_UPLOAD_PARAMS].join(', ')}`, { parameter: k });
    }
    if (typeof v !== 'string') throw new LakehouseError('INVALID_INPUT', `ingest parameter "${k}" must be given once`, { parameter: k });
    out[k] = v;
  }
  return out;
}

/**
 * POST /api/tables/{name}/ingest: the file as a multipart upload (field `file`, options as form fields) or as the raw
 * body (options in the query string), streamed to disk, then appended to a bronze table as a job.
 */
export function ingestRouter(deps: AppDeps): Router {
  const r = Router();
  const { catalog, warehouse, engines, clock, jobs, config } = deps;
  r.post('/tables/:name/ingest', async (req, res) => {
    const name = tableParam(req.params.name);
    const p = await requireCapability(catalog, res, 'modify', 'ingest', name);
    let upload;
    try {
      upload = await receiveUpload(req, {
        tmpDir: join(config.warehouse, '.lakehouse', 'uploads'),
        maxBytes: config.maxUploadBytes,
        rawFields: req.is('multipart') ? undefined : rawUploadFields(req.query),
      });
    } catch (e) {
      // The rest of the body was not read: close the connection instead of reusing it.
      res.set('Connection', 'close');
      await auditRequest(catalog, res, 'ingest', name, 'error', { message: (e as Error).message });
      throw e;
    }
    const options = (() => {
      try {
        return ingestOptionsFromFields(upload.fields);
      } catch (e) {
        void rm(upload.path, { force: true });
        throw e;
      }
    })();
    const { job, done } = await jobs.start('ingest', name, p.id, async (ctx) => {
      const result = await ingestFile(
        { warehouse, engines, clock, userName: p.name, signal: ctx.signal, onProgress: (f, m) => ctx.progress(f, m) },
        { table: name, path: upload.path, fileName: upload.fileName, ...options },
      );
      if (!(await catalog.getTable(name))) await catalog.registerTable(name, p.name);
      await auditRequest(catalog, res, 'ingest', name, 'ok', { version: result.version, rows: result.rows, file: upload.fileName, jobId: job.id });
      return result;
    });
    await respondWithJob(req, res, job, done, (e) => auditRequest(catalog, res, 'ingest', name, 'error', { message: (e as Error).message, jobId: job.id }));
  });
  return r;
}
