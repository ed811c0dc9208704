/** Link to a table's maintenance page (the deep-link format of `/admin/tables/:name`). */
export function adminTableHref(name: string): string {
  return `/admin/tables/${name}`;
}
