import { LakehouseError, isTableName } from '@lakehouse/core';
import { Router } from 'express';
import { z } from 'zod';
import type { AppDeps } from '../app.js';
import type { QueryHistoryEntry, SavedQuery } from '../catalog/store.js';
import { auditRequest, principalOf } from '../http/context.js';

// Per-user query history and saved queries (permalinks). The browser runs queries itself (DuckDB-WASM) and reports
// each run here. A saved query pins its SQL and the table versions it read, so reopening its link reruns it against
// those versions (the console rewrites unversioned table references to VERSION AS OF the pinned version).
//
// Access: history is private (each user sees only their own). A saved query is listed only for its owner, but any
// signed-in user who has its link (an unguessable UUID) may open it: permalinks exist to be shared. Opening one gives
// the SQL text only; running it still needs SELECT on every table it reads, which the scan endpoint checks per table.

/** `layer.domain.table` → version: the versions a query read. */
const TableVersionsSchema = z.record(z.string(), z.number().int().min(0)).superRefine((r, ctx) => {
  const names = Object.keys(r);
  if (names.length > 200) ctx.addIssue({ code: 'custom', message: `at most 200 tables, got ${names.length}` });
  for (const name of names) {
    if (!isTableName(name)) ctx.addIssue({ code: 'custom', path: [name], message: `"${name}" is not a table name layer.domain.table` });
  }
});

/** POST /api/queries/history: one query run in the browser. */
export const QueryRunSchema = z
  .object({
    sql: z.string().min(1).max(1_000_000),
    /** Versions read by the unversioned table references (what a rerun must pin to reproduce the answer). */
    tables: TableVersionsSchema.default({}),
    durationMs: z.number().min(0).max(7 * 86_400_000),
    rows: z.number().int().min(0).nullable().default(null),
    status: z.enum(['ok', 'error']),
    error: z.string().max(10_000).nullable().default(null),
  })
  .strict();
/** POST /api/queries/history. */
export type QueryRun = z.infer<typeof QueryRunSchema>;

/** POST /api/queries/saved. */
export const SaveQuerySchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    sql: z.string().min(1).max(1_000_000),
    tableVersions: TableVersionsSchema.default({}),
  })
  .strict();
/** POST /api/queries/saved. */
export type SaveQuery = z.infer<typeof SaveQuerySchema>;

const HistoryQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(50) });
const SavedListQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) });

/** A saved query as the API returns it (the owner's name resolved). */
export interface SavedQueryDto {
  id: string;
  name: string;
  sql: string;
  tableVersions: Record<string, number>;
  createdAt: string;
  owner: { id: string; name: string | null };
}

/** A history entry as the API returns it. */
export type QueryHistoryDto = Omit<QueryHistoryEntry, 'userId'>;

/** Query history and saved queries of the signed-in user under /api/queries. */
export function queriesRouter(deps: AppDeps): Router {
  const r = Router();
  const { catalog } = deps;

  const dto = async (q: SavedQuery, ownerName?: string): Promise<SavedQueryDto> => ({
    id: q.id,
    name: q.name,
    sql: q.sql,
    tableVersions: q.tableVersions,
    createdAt: q.createdAt,
    owner: { id: q.userId, name: ownerName ?? (await catalog.getUser(q.userId))?.name ?? null },
  });

  r.post('/queries/history', async (req, res) => {
    const p = principalOf(res);
    const run = QueryRunSchema.parse(req.body ?? {});
    await catalog.recordQuery({ userId: p.id, ...run });
    res.status(204).end();
  });

  r.get('/queries/history', async (req, res) => {
    const p = principalOf(res);
    const { limit } = HistoryQuery.parse(req.query);
    const items: QueryHistoryDto[] = (await catalog.listQueries(p.id, limit)).map(({ userId: _userId, ...rest }) => rest);
    res.json({ items });
  });

  r.post('/queries/saved', async (req, res) => {
    const p = principalOf(res);
    const body = SaveQuerySchema.parse(req.body ?? {});
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

