// The SQL editor's draft: what the editor holds, kept in localStorage between visits (and what it opens on).

const DRAFT_KEY = 'lakehouse.sql.draft';

/** The text a fresh editor opens on (no draft yet). */
export const DEFAULT_SQL = '-- Ctrl/Cmd-Enter runs the selection or everything; Shift-Ctrl/Cmd-Enter runs the statement at the cursor.\nSELECT count(*) FROM silver.sales.orders;\n';

/** The saved draft, or null when there is none (or storage is disabled). */
export function readDraft(): string | null {
  try {
    return localStorage.getItem(DRAFT_KEY);
  } catch {
    return null;
  }
}

/** Saves the draft; never throws (storage full or disabled: the draft is not kept). */
export function writeDraft(text: string): void {
  try {
    localStorage.setItem(DRAFT_KEY, text);
  } catch {
    // Storage full or disabled: the draft is not kept.
  }
}

/** The text the editor opens on at `/sql` without `?q=`: the draft, else the default. */
export function initialSql(): string {
  return readDraft() ?? DEFAULT_SQL;
}
