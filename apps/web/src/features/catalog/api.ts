import { TableDetailSchema, TableListSchema, type TableDetail, type TableSummary } from '@lakehouse/contracts';
import { queryOptions } from '@tanstack/react-query';
import { api } from '../../lib/api.js';

/** Filters of GET /api/tables (all optional; `q` searches name, description, columns, comments and tags). */
export interface TableFilter {
  q?: string;
  layer?: string;
  domain?: string;
  tag?: string;
}

/** Query keys of table listings and details (shared by the catalog, the table page and the command palette). */
export const tableKeys = {
  all: ['tables'] as const,
  lists: () => [...tableKeys.all, 'list'] as const,
  list: (filter: TableFilter) => [...tableKeys.lists(), normalize(filter)] as const,
  details: () => [...tableKeys.all, 'detail'] as const,
  detail: (name: string, version?: number) => [...tableKeys.details(), name, version ?? 'latest'] as const,
};

function normalize(filter: TableFilter): TableFilter {
  const out: TableFilter = {};
  if (filter.q?.trim()) out.q = filter.q.trim();
  if (filter.layer) out.layer = filter.layer;
  if (filter.domain) out.domain = filter.domain;
  if (filter.tag) out.tag = filter.tag;
  return out;
}

/** Query of GET /api/tables with a filter. */
export function tableListQuery(filter: TableFilter = {}) {
  const f = normalize(filter);
  return queryOptions({
    queryKey: tableKeys.list(f),
    queryFn: ({ signal }): Promise<TableSummary[]> => api('/api/tables', TableListSchema, { query: { ...f }, signal }).then((r) => r.tables),
    staleTime: 30_000,
  });
}

/** Query of GET /api/tables/{name}[?version=]. */
export function tableDetailQuery(name: string, version?: number) {
  return queryOptions({
    queryKey: tableKeys.detail(name, version),
    queryFn: ({ signal }): Promise<TableDetail> =>
      api(`/api/tables/${encodeURIComponent(name)}`, TableDetailSchema, { query: { version }, signal }),
    // A past version never changes.
    staleTime: version === undefined ? 30_000 : Infinity,
  });
}

/** The medallion layers in order. */
export const LAYERS = ['bronze', 'silver', 'gold'] as const;
/** A medallion layer. */
export type Layer = (typeof LAYERS)[number];

/** True when `s` names a layer. */
export function isLayer(s: string | undefined): s is Layer {
  return s === 'bronze' || s === 'silver' || s === 'gold';
}
