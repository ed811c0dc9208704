import type { ErrorBody } from '@lakehouse/contracts';
import { LakehouseError } from '@lakehouse/core';
import type { ErrorRequestHandler } from 'express';
import { ZodError } from 'zod';
import { HTTP_STATUS } from './status.js';

/** The API error body for any thrown value (LakehouseError codes kept; zod issues become INVALID_INPUT). */
export function errorBody(e: unknown): ErrorBody {
  if (e instanceof LakehouseError) return { code: e.code, message: e.message, details: { ...e.details } };
  if (e instanceof ZodError) {
    const first = e.issues[0];
    const where = first?.path.length ? first.path.join('.') : 'request';
    return { code: 'INVALID_INPUT', message: `invalid ${where}: ${first?.message ?? 'bad input'}`, details: { issues: e.issues } };
  }
  const status = (e as { status?: number; type?: string } | null)?.status;
  if (status === 413) return { code: 'PAYLOAD_TOO_LARGE', message: 'request body too large', details: {} };
  if (status === 400 && (e as { type?: string }).type === 'entity.parse.failed') return { code: 'INVALID_INPUT', message: 'request body is not valid JSON', details: {} };
  return { code: 'INTERNAL', message: e instanceof Error ? e.message : String(e), details: {} };
}

/** The HTTP status of an error body. */
export function statusOf(body: ErrorBody): number {
  return HTTP_STATUS[body.code];
}

/** Express error handler: `{code, message, details}` with the status from the one table. */
export const errorHandler: ErrorRequestHandler = (err, _req, res, _next) => {
  const body = errorBody(err);
  if (body.code === 'INTERNAL') console.error(err);
  if (res.headersSent) {
    res.end();
    return;
  }
  res.status(statusOf(body)).json(body);
};
