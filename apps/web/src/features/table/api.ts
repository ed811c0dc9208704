import { FilesPageSchema, HistoryPageSchema, TableDetailSchema, type FilesPage, type HistoryPage, type PatchTable, type TableDetail } from '@lakehouse/contracts';
import { queryOptions } from '@tanstack/react-query';
import { api } from '../../lib/api.js';
import { tableKeys } from '../catalog/api.js';

/** Query keys of one table's history and files (under the table keys, so invalidating a table reaches them). */
export const tablePageKeys = {
  history: (name: string, offset: number, limit: number) => [...tableKeys.all, 'history', name, { offset, limit }] as const,
  files: (name: string, version: number | undefined, offset: number, limit: number) =>
    [...tableKeys.all, 'files', name, version ?? 'latest', { offset, limit }] as const,
  fileSizes: (name: string, version: number | undefined) => [...tableKeys.all, 'file-sizes', name, version ?? 'latest'] as const,
};

/** Query of one page of GET /api/tables/{name}/history (newest first). */
export function historyQuery(name: string, offset: number, limit: number) {
  return queryOptions({
    queryKey: tablePageKeys.history(name, offset, limit),
    queryFn: ({ signal }): Promise<HistoryPage> =>
      api(`/api/tables/${encodeURIComponent(name)}/history`, HistoryPageSchema, { query: { offset, limit }, signal }),
    staleTime: 30_000,
  });
}

/** Query of one page of GET /api/tables/{name}/files. */
export function filesQuery(name: string, version: number | undefined, offset: number, limit: number) {
  return queryOptions({
    queryKey: tablePageKeys.files(name, version, offset, limit),
    queryFn: ({ signal }): Promise<FilesPage> =>
      api(`/api/tables/${encodeURIComponent(name)}/files`, FilesPageSchema, { query: { offset, limit, version }, signal }),
    staleTime: version === undefined ? 30_000 : Infinity,
  });
}

/** Most files the size histogram reads (in pages of 1000). */
export const HISTOGRAM_MAX_FILES = 10_000;

/** Query of the sizes of a table's files (up to `HISTOGRAM_MAX_FILES`) for the histogram; `total` is the table's file count. */
export function fileSizesQuery(name: string, version: number | undefined) {
  return queryOptions({
    queryKey: tablePageKeys.fileSizes(name, version),
    queryFn: async ({ signal }): Promise<{ sizes: number[]; total: number }> => {
      const sizes: number[] = [];
      let total = 0;
      for (let offset = 0; offset < HISTOGRAM_MAX_FILES; offset += 1000) {
        const page = await api(`/api/tables/${encodeURIComponent(name)}/files`, FilesPageSchema, { query: { offset, limit: 1000, version }, signal });
        total = page.total;
        for (const f of page.items) sizes.push(f.size);
        if (offset + page.items.length >= page.total || page.items.length === 0) break;
      }
      return { sizes, total };
    },
    staleTime: version === undefined ? 30_000 : Infinity,
  });
}

/** PATCH /api/tables/{name}: edits description, column comments, owner or tags; answers the new detail. */
export function patchTable(name: string, patch: PatchTable): Promise<TableDetail> {
  return api(`/api/tables/${encodeURIComponent(name)}`, TableDetailSchema, { method: 'PATCH', body: patch });
}
