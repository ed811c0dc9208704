/** The tabs of the table page, in order; `?tab=` takes one of these. */
export const TABLE_TABS = ['overview', 'schema', 'sample', 'history', 'files'] as const;
/** A tab of the table page. */
export type TableTab = (typeof TABLE_TABS)[number];

/** Link to a table page, optionally at a tab, a version and a highlighted column (the deep-link format of `/tables/:name`). */
export function tableHref(name: string, options: { tab?: TableTab; version?: number; column?: string } = {}): string {
  const p = new URLSearchParams();
  if (options.tab && options.tab !== 'overview') p.set('tab', options.tab);
  if (options.version !== undefined) p.set('version', String(options.version));
  if (options.column) p.set('column', options.column);
  const qs = p.toString();
  return `/tables/${name}${qs ? `?${qs}` : ''}`;
}
