import { LakehouseError } from '../errors.js';
import { LAYERS, flatTableName, isTableName } from '../catalog/table-name.js';
import { quoteIdent } from './duckdb-types.js';
import { lexSql, type Lexeme } from './lexer.js';

// Rewriting of user SQL for the browser's DuckDB: finds the warehouse tables a query reads (three-part
// `layer.domain.table` and flat `layer_domain_table` names) and Spark's time travel (`VERSION AS OF n`,
// `TIMESTAMP AS OF '...'`) and replaces time-travel references with version-specific view names the DuckDB layer
// builds on demand. Strings, quoted identifiers that are not table names, and comments are never touched. Pure.

/** Which version of a table a reference reads. */
export type ReadPoint = { kind: 'latest' } | { kind: 'version'; version: number } | { kind: 'timestamp'; timestamp: string };

/** One table read by a query, at one read point. */
export interface TableRead {
  /** `layer.domain.table`. */
  table: string;
  at: ReadPoint;
  /** The SQL reference the rewritten query uses for this read (see `readViewSql`). */
  view: string;
  /** True when the query names the latest version by the flat name `layer_domain_table` (left as it is in the SQL). */
  flat: boolean;
}

/** A replacement of `original.slice(from, to)` by `text`. */
export interface SqlEdit {
  from: number;
  to: number;
  text: string;
}

/** What `rewriteTableRefs` returns. */
export interface RewrittenSql {
  /** The SQL to run (equal to the input when nothing needed rewriting). Line breaks are never added or removed. */
  sql: string;
  /** Distinct reads in order of first appearance. */
  reads: TableRead[];
  /** Replacements applied to the input, ascending and non-overlapping (to map positions back). */
  edits: SqlEdit[];
}

/** Options of `rewriteTableRefs`. */
export interface RewriteOptions {
  /** Known `layer.domain.table` names: flat names are recognised only for these. */
  tables: Iterable<string>;
  /** Versions to read tables at when the SQL names no version (a permalink pins the versions it first read). */
  pinned?: Readonly<Record<string, number>>;
}

/** A lexeme with its parenthesis nesting depth (an opening parenthesis is at the depth outside it). */
interface Token extends Lexeme {
  depth: number;
}

/** Lexes leniently (half-typed SQL never throws) and adds parenthesis depths. */
function tokenize(sql: string): Token[] {
  let depth = 0;
  return lexSql(sql).map((t) => {
    if (t.kind === 'close' && t.text === ')') depth = Math.max(0, depth - 1);
    const token = { ...t, depth };
    if (t.kind === 'open' && t.text === '(') depth++;
    return token;
  });
}

const isIdent = (t: Token | undefined): t is Token => t !== undefined && (t.kind === 'word' || t.kind === 'ident');
const isPunct = (t: Token | undefined, p: string): boolean => t !== undefined && t.kind !== 'string' && t.kind !== 'ident' && t.text === p;
const isKeyword = (t: Token | undefined, ...words: string[]): boolean => t !== undefined && t.kind === 'word' && words.includes(t.value.toLowerCase());

/** Words that end a table reference instead of naming its alias (DuckDB and Spark clause keywords). */
const NOT_AN_ALIAS = new Set(
  (
    'where join inner left right full outer cross natural on using group order limit offset union except intersect having ' +
    'window qualify sample tablesample positional asof anti semi lateral pivot unpivot returning set values when then else end ' +
    'fetch for and or not select from into by with as version timestamp'
  ).split(' '),
);

/** The view name (inside the layer's catalog and the domain's schema) of a table at a read point. */
export function readViewName(table: string, at: ReadPoint): string {
  const base = table.split('.')[2] ?? table;
  switch (at.kind) {
    case 'latest':
      return base;
    case 'version':
      return `${base}@v${at.version}`;
    case 'timestamp':
      return `${base}@t${at.timestamp}`;
  }
}

/**
 * The SQL reference of a table at a read point: `layer.domain.table` (unquoted) for the latest version, a quoted
 * three-part name such as `"silver"."sales"."orders@v12"` for a version or a timestamp. Distinct read points give
 * distinct references.
 */
export function readViewSql(table: string, at: ReadPoint): string {
  const [layer, domain] = table.split('.');
  if (at.kind === 'latest') return table;
  return `${quoteIdent(layer)}.${quoteIdent(domain)}.${quoteIdent(readViewName(table, at))}`;
}

/** A stable key of a read point: `latest`, `v12`, `t2024-05-01`. */
export function readPointKey(at: ReadPoint): string {
  return at.kind === 'latest' ? 'latest' : at.kind === 'version' ? `v${at.version}` : `t${at.timestamp}`;
}

interface NameRef {
  table: string;
  /** Index of the first and last token of the name. */
  first: number;
  last: number;
  /** The written name as an alias when a rewrite replaces it: the table part (three-part) or the flat name. */
  alias: string;
}

/** The known tables by flat name (`layer_domain_table` → `layer.domain.table`). */
function flatNames(tables: Iterable<string>): Map<string, string> {
  const flat = new Map<string, string>();
  for (const name of tables) if (isTableName(name)) flat.set(flatTableName(name), name);
  return flat;
}

/**
 * Reads a table name starting at token `k`: three parts (bare or quoted) with a layer first, or a known flat name (bare,
 * or with `quotedFlat` quoted exactly as named).
 */
function nameAt(tokens: Token[], k: number, flat: ReadonlyMap<string, string>, quotedFlat: boolean): NameRef | null {
  const t = tokens[k];
  if (!isIdent(t)) return null;
  if (isPunct(tokens[k - 1], '.')) return null;
  const a = tokens[k + 2];
  const b = tokens[k + 4];
  if (isPunct(tokens[k + 1], '.') && isIdent(a) && isPunct(tokens[k + 3], '.') && isIdent(b)) {
    const part = (x: Token): string => (x.kind === 'word' ? x.value.toLowerCase() : x.value);
    const name = `${part(t)}.${part(a)}.${part(b)}`;
    if (!isPunct(tokens[k + 5], '.') && (LAYERS as readonly string[]).includes(part(t)) && isTableName(name)) {
      return { table: name, first: k, last: k + 4, alias: quoteIdent(part(b)) };
    }
    return null;
  }
  if (isPunct(tokens[k + 1], '.')) return null;
  if (t.kind === 'word') {
    const table = flat.get(t.value.toLowerCase());
    return table ? { table, first: k, last: k, alias: t.value.toLowerCase() } : null;
  }
  const table = quotedFlat ? flat.get(t.value) : undefined;
  return table ? { table, first: k, last: k, alias: quoteIdent(t.value) } : null;
}

/** Parses `[FOR] VERSION|SYSTEM_VERSION AS OF n` or `[FOR] TIMESTAMP|SYSTEM_TIME AS OF '...'` at token `k`. */
function timeTravelAt(tokens: Token[], k: number): { at: ReadPoint; last: number } | null {
  let j = k;
  if (isKeyword(tokens[j], 'for') && isKeyword(tokens[j + 1], 'version', 'system_version', 'timestamp', 'system_time')) j++;
  const kw = tokens[j];
  if (!isKeyword(kw, 'version', 'system_version', 'timestamp', 'system_time')) return null;
  if (!isKeyword(tokens[j + 1], 'as') || !isKeyword(tokens[j + 2], 'of')) return null;
  const v = tokens[j + 3];
  const isVersion = isKeyword(kw, 'version', 'system_version');
  if (isVersion) {
    if (v?.kind !== 'number' || !/^\d+$/.test(v.value) || !Number.isSafeInteger(Number(v.value))) {
      throw new LakehouseError('INVALID_INPUT', `VERSION AS OF needs a non-negative integer version, got ${v ? `"${v.value}"` : 'nothing'}`, {
        offset: v?.start ?? kw.end,
      });
    }
    return { at: { kind: 'version', version: Number(v.value) }, last: j + 3 };
  }
  // TIMESTAMP AS OF '...' or TIMESTAMP AS OF TIMESTAMP '...'
  let s = v;
  let last = j + 3;
  if (isKeyword(s, 'timestamp') && tokens[j + 4]?.kind === 'string') {
    s = tokens[j + 4];
    last = j + 4;
  }
  if (s?.kind !== 'string' || s.value.trim() === '') {
    throw new LakehouseError('INVALID_INPUT', `TIMESTAMP AS OF needs a timestamp string such as '2024-05-01 12:00:00', got ${s ? `"${s.value}"` : 'nothing'}`, {
      offset: s?.start ?? kw.end,
    });
  }
  return { at: { kind: 'timestamp', timestamp: s.value.trim() }, last };
}

/**
 * Finds the warehouse tables `sql` reads and rewrites time travel. A three-part name whose first part is a layer is a
 * table reference (bare parts match case-insensitively, quoted parts exactly); a flat name counts only when it is a
 * known table, bare anywhere or quoted (exactly) right after FROM or JOIN. Names preceded by a dot, followed by a dot
 * (qualified columns) or by `(`, and after `AS` (aliases) are not references. `name VERSION AS OF n` /
 * `TIMESTAMP AS OF '...'` (with optional `FOR`, or the SQL:2011 words `SYSTEM_VERSION` / `SYSTEM_TIME`) becomes
 * `"layer"."domain"."table@vN"` / `...@t<timestamp>`, aliased with the written name unless an alias follows, so
 * qualified columns keep resolving; with `pinned`, unversioned references of pinned tables are rewritten the same way
 * to the pinned version. INVALID_INPUT for a non-integer version or a timestamp that is not a string literal.
 */
export function rewriteTableRefs(sql: string, options: RewriteOptions): RewrittenSql {
  const flat = flatNames(options.tables);
  const pinned = options.pinned ?? {};
  const tokens = tokenize(sql);
  const edits: SqlEdit[] = [];
  const reads = new Map<string, TableRead>();
  for (let k = 0; k < tokens.length; k++) {
    if (isKeyword(tokens[k - 1], 'as')) continue;
    // A quoted flat name only right after FROM or JOIN: elsewhere a quoted name is mostly a column's.
    const ref = nameAt(tokens, k, flat, isKeyword(tokens[k - 1], 'from', 'join'));
    if (!ref) continue;
    if (isPunct(tokens[ref.last + 1], '(')) continue;
    const travel = timeTravelAt(tokens, ref.last + 1);
    const pin = pinned[ref.table];
    const at: ReadPoint = travel ? travel.at : pin !== undefined ? { kind: 'version', version: pin } : { kind: 'latest' };
    const view = readViewSql(ref.table, at);
    const key = `${ref.table}\n${readPointKey(at)}`;
    const flatRef = ref.first === ref.last && at.kind === 'latest';
    const seen = reads.get(key);
    if (!seen) reads.set(key, { table: ref.table, at, view, flat: flatRef });
    else if (flatRef) seen.flat = true;
    const last = travel ? travel.last : ref.last;
    if (at.kind !== 'latest') {
      const next = tokens[last + 1];
      const hasAlias = isKeyword(next, 'as') || (isIdent(next) && !(next.kind === 'word' && NOT_AN_ALIAS.has(next.value.toLowerCase())));
      edits.push({ from: tokens[ref.first].start, to: tokens[last].end, text: hasAlias ? view : `${view} AS ${ref.alias}` });
    }
    k = last;
  }
  return { sql: applyEdits(sql, edits), reads: [...reads.values()], edits };
}

function applyEdits(sql: string, edits: readonly SqlEdit[]): string {
  if (edits.length === 0) return sql;
  let out = '';
  let at = 0;
  for (const e of edits) {
    out += sql.slice(at, e.from) + e.text;
    at = e.to;
  }
  return out + sql.slice(at);
}

/**
 * Maps an offset in rewritten SQL back to the input SQL: positions outside edits shift by the edits before them;
 * a position inside a replacement maps to the start of the text it replaced.
 */
export function originalOffset(edits: readonly SqlEdit[], offset: number): number {
  let delta = 0;
  for (const e of edits) {
    const newFrom = e.from + delta;
    const newTo = newFrom + e.text.length;
    if (offset < newFrom) break;
    if (offset < newTo) return e.from;
    delta += e.text.length - (e.to - e.from);
  }
  return offset - delta;
}

/** One statement of a script, with its offsets in the script. */
export interface SqlStatement {
  /** The statement text without the terminating semicolon (leading and trailing space trimmed). */
  sql: string;
  from: number;
  to: number;
}

/** Splits a script at top-level semicolons (not inside strings, quoted identifiers or comments); empty statements are dropped. */
export function splitStatements(sql: string): SqlStatement[] {
  const out: SqlStatement[] = [];
  const tokens = tokenize(sql);
  let start = 0;
  const flush = (end: number): void => {
    const text = sql.slice(start, end);
    const lead = text.length - text.trimStart().length;
    const trimmed = text.trim();
    const inner = tokens.some((t) => t.start >= start && t.end <= end);
    if (trimmed && inner) out.push({ sql: trimmed, from: start + lead, to: start + lead + trimmed.length });
  };
  for (const t of tokens) {
    if (t.kind === 'semicolon' && t.depth === 0) {
      flush(t.start);
      start = t.end;
    }
  }
  flush(sql.length);
  return out;
}

/** The write statements the BFF runs (the `statement` of its SqlResult). */
export type WriteOperation = 'CREATE_TABLE_AS_SELECT' | 'INSERT' | 'INSERT_OVERWRITE' | 'DELETE' | 'UPDATE' | 'MERGE';

/** How a statement runs: a query in the browser, or a write of a warehouse table on the server. */
export type StatementClass = { kind: 'query' } | { kind: 'write'; operation: WriteOperation; target: string };

/**
 * Classifies one statement. INSERT [OVERWRITE], MERGE, DELETE, UPDATE and CREATE TABLE ... AS whose target is a
 * warehouse table (a three-part name with a layer, a known flat name, or for CREATE a flat name starting with a
 * layer) are writes; everything else (SELECT, DESCRIBE, temporary tables of the browser's DuckDB...) is a query.
 * Leading WITH clauses are skipped.
 */
export function classifyStatement(sql: string, tables: Iterable<string> = []): StatementClass {
  const flat = flatNames(tables);
  const tokens = tokenize(sql);
  let k = 0;
  while (isPunct(tokens[k], '(')) k++;
  if (isKeyword(tokens[k], 'with')) {
    k++;
    while (k < tokens.length && !(tokens[k].depth === 0 && isKeyword(tokens[k], 'select', 'insert', 'update', 'delete', 'merge', 'values', 'from', 'table'))) k++;
  }
  const target = (j: number, creating: boolean): string | null => {
    const ref = nameAt(tokens, j, flat, true);
    if (ref) return ref.table;
    const t = tokens[j];
    if (creating && t?.kind === 'word' && !isPunct(tokens[j + 1], '.')) {
      const w = t.value.toLowerCase();
      if (LAYERS.some((l) => w.startsWith(`${l}_`))) return w;
    }
    return null;
  };
  const write = (operation: WriteOperation, j: number, creating = false): StatementClass => {
    const t = target(j, creating);
    return t ? { kind: 'write', operation, target: t } : { kind: 'query' };
  };
  const first = tokens[k];
  if (isKeyword(first, 'insert')) {
    let j = k + 1;
    if (isKeyword(tokens[j], 'or')) j += 2;
    if (isKeyword(tokens[j], 'overwrite')) {
      j++;
      if (isKeyword(tokens[j], 'table')) j++;
      return write('INSERT_OVERWRITE', j);
    }
    if (isKeyword(tokens[j], 'into')) j++;
    return write('INSERT', j);
  }
  if (isKeyword(first, 'merge')) return write('MERGE', isKeyword(tokens[k + 1], 'into') ? k + 2 : k + 1);
  if (isKeyword(first, 'delete')) return write('DELETE', isKeyword(tokens[k + 1], 'from') ? k + 2 : k + 1);
  if (isKeyword(first, 'update')) return write('UPDATE', k + 1);
  if (isKeyword(first, 'create')) {
    let j = k + 1;
    if (isKeyword(tokens[j], 'or') && isKeyword(tokens[j + 1], 'replace')) j += 2;
    if (!isKeyword(tokens[j], 'table')) return { kind: 'query' };
    j++;
    if (isKeyword(tokens[j], 'if') && isKeyword(tokens[j + 1], 'not') && isKeyword(tokens[j + 2], 'exists')) j += 3;
    return write('CREATE_TABLE_AS_SELECT', j, true);
  }
  return { kind: 'query' };
}
