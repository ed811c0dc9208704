import {
  CreateScheduleSchema,
  MaintenanceKindSchema,
  TablePropertiesPatchSchema,
  TablePropertiesPutSchema,
  UpdateScheduleSchema,
  type MaintenanceKind,
  type MaintenanceSchedule,
} from '@lakehouse/contracts';
import { EDITABLE_DELTA_PROPERTIES, LakehouseError, setTableProperties } from '@lakehouse/core';
import { Router, type Response } from 'express';
import { z } from 'zod';
import type { AppDeps } from '../app.js';
import { can } from '../auth/policy.js';
import { auditRequest, requireCapability } from '../http/context.js';
import { adviseAll, tableHealth } from '../maintenance/health.js';
import { maintenanceService, parseMaintenanceParams } from '../maintenance/service.js';
import { tableParam } from './tables.js';

const MAINTENANCE_KINDS: readonly string[] = MaintenanceKindSchema.options;

const JobsQuery = z.object({
  kind: MaintenanceKindSchema.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

/**
 * Table maintenance API: OPTIMIZE / VACUUM / checkpoint as jobs (202 + the job; progress at /api/jobs/{id}/events,
 * cancel at /api/jobs/{id}/cancel), the table's maintenance jobs, health, the advisor across tables, table property
 * edits and schedules. Running maintenance, editing properties and schedules need MANAGE on the table (admins, or a
 * MANAGE grant); refusals answer 403 and are audited. A second job on a table whose lock is held answers 409
 * CONCURRENT_COMMIT naming the running job.
 */
export function maintenanceRouter(deps: AppDeps): Router {
  const r = Router();
  const { catalog, warehouse, clock } = deps;

  for (const kind of MAINTENANCE_KINDS as MaintenanceKind[]) {
    r.post(`/tables/:name/${kind}`, async (req, res) => {
      const name = tableParam(req.params.name);
      const p = await requireCapability(catalog, res, 'manage', kind, name);
      try {
        const params = parseMaintenanceParams(kind, req.body);
        const { job } = await maintenanceService(deps).start(kind, name, params, { id: p.id, name: p.name, isAdmin: can(p, 'admin') });
        res.status(202).json(job);
      } catch (e) {
        const code = (e as { code?: string }).code;
        await auditRequest(catalog, res, kind, name, code === 'FORBIDDEN' ? 'denied' : 'error', { message: (e as Error).message, code: code ?? null });
        throw e;
      }
    });
  }

  r.get('/tables/:name/maintenance', async (req, res) => {
    const name = tableParam(req.params.name);
    await requireCapability(catalog, res, 'read_metadata', 'read maintenance history', name);
    const q = JobsQuery.parse(req.query);
    const jobs = await catalog.listJobs({ table: name, limit: 1000 });
    const items = jobs.filter((j) => (q.kind ? j.kind === q.kind : MAINTENANCE_KINDS.includes(j.kind))).slice(0, q.limit);
    res.json({ items });
  });

  r.get('/maintenance/jobs', async (req, res) => {
    await requireCapability(catalog, res, 'read_metadata', 'read maintenance history');
    const q = JobsQuery.extend({ table: z.string().optional() }).parse(req.query);
    const table = q.table === undefined ? undefined : tableParam(q.table);
    const jobs = await catalog.listJobs({ ...(table ? { table } : {}), limit: 1000 });
    const items = jobs.filter((j) => j.table !== null && (q.kind ? j.kind === q.kind : MAINTENANCE_KINDS.includes(j.kind))).slice(0, q.limit);
    res.json({ items });
  });

  r.get('/tables/:name/health', async (req, res) => {
    const name = tableParam(req.params.name);
    await requireCapability(catalog, res, 'read_metadata', 'read table health', name);
    res.json(await tableHealth(deps, name));
  });

  r.get('/maintenance/advice', async (_req, res) => {
    await requireCapability(catalog, res, 'read_metadata', 'read maintenance advice');
    res.json(await adviseAll(deps));
  });

  const changeProperties = async (res: Response, name: string, set: Record<string, string>, unset: string[]): Promise<void> => {
    const p = await requireCapability(catalog, res, 'manage', 'set table properties', name);
    try {
      const result = await setTableProperties(warehouse.ref(name), { set, unset, clock, userName: p.name, commitExtra: { engineInfo: 'lakehouse-bff' } });
      await auditRequest(catalog, res, 'set table properties', name, 'ok', { set, unset, version: result.version, changed: result.changed });
      res.json(result);
    } catch (e) {
      await auditRequest(catalog, res, 'set table properties', name, 'error', { set, unset, message: (e as Error).message });
      throw e;
    }
  };

  r.patch('/tables/:name/properties', async (req, res) => {
    const name = tableParam(req.params.name);
    const body = TablePropertiesPatchSchema.parse(req.body ?? {});
    await warehouse.snapshot(name, { fresh: true });
    await changeProperties(res, name, body.set, body.unset);
  });

  // PUT: the body is the complete set of user properties and editable Delta properties; others of those are unset
  // (Delta properties this editor does not manage, e.g. column mapping, are left alone).
  r.put('/tables/:name/properties', async (req, res) => {
    const name = tableParam(req.params.name);
    const body = TablePropertiesPutSchema.parse(req.body ?? {});
    const snapshot = await warehouse.snapshot(name, { fresh: true });
    const managed = (k: string) => !k.toLowerCase().startsWith('delta.') || EDITABLE_DELTA_PROPERTIES.includes(k);
    const set = Object.fromEntries(Object.entries(body.properties).filter(([k, v]) => snapshot.properties[k] !== v));
    const unset = Object.keys(snapshot.properties).filter((k) => managed(k) && !(k in body.properties));
    if (Object.keys(set).length === 0 && unset.length === 0) {
      await requireCapability(catalog, res, 'manage', 'set table properties', name);
      res.json({ version: snapshot.version, committed: false, changed: [], protocolUpgraded: false, properties: { ...snapshot.properties } });
      return;
    }
    await changeProperties(res, name, set, unset);
  });

  // ---- schedules ----

  const validateParams = (kind: MaintenanceKind, params: Record<string, unknown>): Record<string, unknown> => {
    const parsed = parseMaintenanceParams(kind, params) as Record<string, unknown>;
    if (kind === 'vacuum' && parsed.allowShortRetention === true) {
      throw new LakehouseError('INVALID_INPUT', 'a scheduled VACUUM cannot override the table retention (allowShortRetention); run it by hand', { kind });
    }
    return params;
  };

  const scheduleOf = async (res: Response, id: string, action: string): Promise<MaintenanceSchedule> => {
    const s = await catalog.getSchedule(id);
    if (!s) throw new LakehouseError('NOT_FOUND', `no schedule ${id}`, { scheduleId: id });
    await requireCapability(catalog, res, 'manage', action, s.table);
    return s;
  };

  r.get('/schedules', async (_req, res) => {
    await requireCapability(catalog, res, 'read_metadata', 'list schedules');
    res.json({ items: await catalog.listSchedules() });
  });

  r.get('/tables/:name/schedules', async (req, res) => {
    const name = tableParam(req.params.name);
    await requireCapability(catalog, res, 'read_metadata', 'list schedules', name);
    res.json({ items: await catalog.listSchedules({ table: name }) });
  });

  r.post('/tables/:name/schedules', async (req, res) => {
    const name = tableParam(req.params.name);
    const p = await requireCapability(catalog, res, 'manage', 'create schedule', name);
    const body = CreateScheduleSchema.parse(req.body ?? {});
    await warehouse.snapshot(name);
    const params = validateParams(body.kind, body.params);
    const nextRunAt = body.firstRunAt ?? new Date(clock.now() + body.intervalMinutes * 60_000).toISOString();
    const s = await catalog.createSchedule({ table: name, kind: body.kind, intervalMinutes: body.intervalMinutes, params, enabled: body.enabled, nextRunAt, createdBy: p.id });
    await auditRequest(catalog, res, 'create schedule', name, 'ok', { scheduleId: s.id, kind: s.kind, intervalMinutes: s.intervalMinutes, params });
    res.status(201).json(s);
  });

  r.patch('/schedules/:id', async (req, res) => {
    const s = await scheduleOf(res, String(req.params.id), 'edit schedule');
    const body = UpdateScheduleSchema.parse(req.body ?? {});
    if (body.params) validateParams(s.kind, body.params);
    const updated = await catalog.updateSchedule(s.id, body);
    await auditRequest(catalog, res, 'edit schedule', s.table, 'ok', { scheduleId: s.id, fields: Object.keys(body) });
    res.json(updated);
  });

  r.delete('/schedules/:id', async (req, res) => {
    const s = await scheduleOf(res, String(req.params.id), 'delete schedule');
    await catalog.deleteSchedule(s.id);
    await auditRequest(catalog, res, 'delete schedule', s.table, 'ok', { scheduleId: s.id });
    res.status(204).end();
  });

  return r;
}
