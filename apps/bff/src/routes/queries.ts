import { LakehouseError, isTableName } from '@lakehouse/core';
import { Router } from 'express';
import { z } from 'zod';
import type { AppDeps } from '../app.js';
import { QueryRunSchema, SaveQuerySchema, type QueryHistoryEntry, type SavedQuery as SavedQueryBody } from '@lakehouse/contracts';
import type { SavedQuery } from '../catalog/store.js';
import { auditRequest, principalOf } from '../http/context.js';

// Per-user query history and saved queries (permalinks). The browser runs queries itself (DuckDB-WASM) and reports
// each run here. A saved query pins its SQL and the table versions it read, so reopening its link reruns it against
// those versions (the console rewrites unversioned table references to VERSION AS OF the pinned version).
//
// Access: history is private (each user sees only their own). A saved query is listed only for its owner, but any
// signed-in user who has its link (an unguessable UUID) may open it: permalinks exist to be shared. Opening one gives
// the SQL text only; running it still needs SELECT on every table it reads, which the scan endpoint checks per table.

/** Table names must be `layer.domain.table` (the contract checks only the shape of the map). */
function checkTableNames(r: Record<string, number>, ctx: z.RefinementCtx): void {
  const names = Object.keys(r);
  if (names.length > 200) ctx.addIssue({ code: 'custom', message: `at most 200 tables, got ${names.length}` });
  for (const name of names) {
    if (!isTableName(name)) ctx.addIssue({ code: 'custom', path: [name], message: `"${name}" is not a table name layer.domain.table` });
  }
}

const QueryRunBody = QueryRunSchema.superRefine((run, ctx) => checkTableNames(run.tables, ctx));
const SaveQueryBody = SaveQuerySchema.superRefine((q, ctx) => checkTableNames(q.tableVersions, ctx));

const HistoryQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(50) });
const SavedListQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) });

/** Query history and saved queries of the signed-in user under /api/queries. */
export function queriesRouter(deps: AppDeps): Router {
  const r = Router();
  const { catalog } = deps;

  const dto = async (q: SavedQuery, ownerName?: string): Promise<SavedQueryBody> => ({
    id: q.id,
    name: q.name,
    sql: q.sql,
    tableVersions: q.tableVersions,
    createdAt: q.createdAt,
    owner: { id: q.userId, name: ownerName ?? (await catalog.getUser(q.userId))?.name ?? null },
  });

  r.post('/queries/history', async (req, res) => {
    const p = principalOf(res);
    const run = QueryRunBody.parse(req.body ?? {});
    await catalog.recordQuery({ userId: p.id, ...run });
    res.status(204).end();
  });

  r.get('/queries/history', async (req, res) => {
    const p = principalOf(res);
    const { limit } = HistoryQuery.parse(req.query);
    const items: QueryHistoryEntry[] = (await catalog.listQueries(p.id, limit)).map(({ userId: _userId, ...rest }) => rest);
    res.json({ items });
  });

  r.post('/queries/saved', async (req, res) => {
    const p = principalOf(res);
    const body = SaveQueryBody.parse(req.body ?? {});
    const saved = await catalog.saveQuery(p.id, body.name, body.sql, body.tableVersions);
    await auditRequest(catalog, res, 'save query', null, 'ok', { queryId: saved.id, name: saved.name, tables: saved.tableVersions });
    res.status(201).json(await dto(saved, p.name));
  });

  r.get('/queries/saved', async (req, res) => {
    const p = principalOf(res);
    const { limit } = SavedListQuery.parse(req.query);
    const items = await catalog.listSavedQueries(p.id, limit);
    res.json({ items: await Promise.all(items.map((q) => dto(q, p.name))) });
  });

  r.get('/queries/saved/:id', async (req, res) => {
    const p = principalOf(res);
    const id = String(req.params.id);
    const saved = /^[0-9a-f-]{36}$/i.test(id) ? await catalog.getSavedQuery(id) : null;
    if (!saved) throw new LakehouseError('NOT_FOUND', `no saved query ${id}`, { id });
    res.json(await dto(saved, saved.userId === p.id ? p.name : undefined));
  });

  return r;
}

