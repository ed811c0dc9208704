import {
  JobSchema,
  MaintenanceAdviceSchema,
  MaintenanceJobListSchema,
  MaintenanceScheduleListSchema,
  MaintenanceScheduleSchema,
  TableHealthSchema,
  TablePropertiesResultSchema,
  type CreateSchedule,
  type Job,
  type MaintenanceKind,
  type MaintenanceSchedule,
  type OptimizeRequest,
  type TablePropertiesPatch,
  type UpdateSchedule,
  type VacuumRequest,
} from '@lakehouse/contracts';
import { queryOptions } from '@tanstack/react-query';
import { api, apiResponse, type Schema } from '../../lib/api.js';

// The admin feature's server calls: health, advice, maintenance jobs, table properties and schedules.

const enc = encodeURIComponent;
const JobsSchema: Schema<Job[]> = { parse: (v) => MaintenanceJobListSchema.parse(v).items };
const SchedulesSchema: Schema<MaintenanceSchedule[]> = { parse: (v) => MaintenanceScheduleListSchema.parse(v).items };

/** Query keys of the admin feature (everything under `['maintenance']`, so one invalidation refreshes the pages). */
export const maintenanceKeys = {
  all: ['maintenance'] as const,
  advice: () => [...maintenanceKeys.all, 'advice'] as const,
  health: (table: string) => [...maintenanceKeys.all, 'health', table] as const,
  tableJobs: (table: string) => [...maintenanceKeys.all, 'jobs', table] as const,
  allJobs: () => [...maintenanceKeys.all, 'jobs', '*'] as const,
  schedules: (table: string) => [...maintenanceKeys.all, 'schedules', table] as const,
  allSchedules: () => [...maintenanceKeys.all, 'schedules', '*'] as const,
};

/** GET /api/maintenance/advice: recommendations across all tables, most needed first. */
export function adviceQuery() {
  return queryOptions({
    queryKey: maintenanceKeys.advice(),
    queryFn: ({ signal }) => api('/api/maintenance/advice', MaintenanceAdviceSchema, { signal }),
    staleTime: 15_000,
  });
}

/** GET /api/tables/{name}/health. */
export function healthQuery(table: string) {
  return queryOptions({
    queryKey: maintenanceKeys.health(table),
    queryFn: ({ signal }) => api(`/api/tables/${enc(table)}/health`, TableHealthSchema, { signal }),
    staleTime: 10_000,
  });
}

/** GET /api/tables/{name}/maintenance: the table's maintenance jobs, newest first. */
export function tableJobsQuery(table: string, limit = 50) {
  return queryOptions({
    queryKey: [...maintenanceKeys.tableJobs(table), limit] as const,
    queryFn: ({ signal }) => api(`/api/tables/${enc(table)}/maintenance`, JobsSchema, { query: { limit }, signal }),
    staleTime: 5_000,
  });
}

/** GET /api/maintenance/jobs: maintenance jobs of every table, newest first. */
export function allJobsQuery(limit = 20) {
  return queryOptions({
    queryKey: [...maintenanceKeys.allJobs(), limit] as const,
    queryFn: ({ signal }) => api('/api/maintenance/jobs', JobsSchema, { query: { limit }, signal }),
    staleTime: 5_000,
  });
}

/** GET /api/tables/{name}/schedules. */
export function schedulesQuery(table: string) {
  return queryOptions({
    queryKey: maintenanceKeys.schedules(table),
    queryFn: ({ signal }) => api(`/api/tables/${enc(table)}/schedules`, SchedulesSchema, { signal }),
    staleTime: 15_000,
  });
}

/** GET /api/schedules: every schedule. */
export function allSchedulesQuery() {
  return queryOptions({
    queryKey: maintenanceKeys.allSchedules(),
    queryFn: ({ signal }) => api('/api/schedules', SchedulesSchema, { signal }),
    staleTime: 15_000,
  });
}

/** Body of a maintenance request of each kind. */
export interface MaintenanceBody {
  optimize: OptimizeRequest;
  vacuum: VacuumRequest;
  checkpoint: Record<string, never>;
}

/** POST /api/tables/{name}/{kind}: starts a maintenance job (dry runs included) and returns it at once (202). */
export function startMaintenance<K extends MaintenanceKind>(table: string, kind: K, body: MaintenanceBody[K]): Promise<Job> {
  return api(`/api/tables/${enc(table)}/${kind}`, JobSchema, { method: 'POST', body });
}

/** PATCH /api/tables/{name}/properties. */
export function patchProperties(table: string, patch: TablePropertiesPatch) {
  return api(`/api/tables/${enc(table)}/properties`, TablePropertiesResultSchema, { method: 'PATCH', body: patch });
}

/** POST /api/tables/{name}/schedules. */
export function createSchedule(table: string, body: CreateSchedule): Promise<MaintenanceSchedule> {
  return api(`/api/tables/${enc(table)}/schedules`, MaintenanceScheduleSchema, { method: 'POST', body });
}

/** PATCH /api/schedules/{id}. */
export function updateSchedule(id: string, body: UpdateSchedule): Promise<MaintenanceSchedule> {
  return api(`/api/schedules/${enc(id)}`, MaintenanceScheduleSchema, { method: 'PATCH', body });
}

/** DELETE /api/schedules/{id}. */
export async function deleteSchedule(id: string): Promise<void> {
  await apiResponse(`/api/schedules/${enc(id)}`, { method: 'DELETE' });
}
