import { LAYERS, LakehouseError, flatTableName, lexSql, parseTableName, quoteIdent, type Layer, type Lexeme } from '@lakehouse/core';
import type { SqlResult } from '@lakehouse/contracts';

// Pure analysis of one SQL write statement: the core's lexer with nesting depths, and a
// recursive-descent reader of the six supported statement shapes. No database: the SELECT parts are kept as text and
// checked by DuckDB later (json_serialize_sql), which also names the tables they read.

/** The kind of a supported write statement (the `statement` field of SqlResult). */
export type StatementKind = SqlResult['statement'];

/** The statements a request may contain, for refusal messages. */
export const ALLOWED_STATEMENTS: readonly string[] = [
  'CREATE TABLE ... AS SELECT',
  'INSERT INTO',
  'INSERT OVERWRITE',
  'DELETE FROM',
  'UPDATE',
  'MERGE INTO',
];

/** The table a statement writes: its validated name, parts, and the name as written in the SQL. */
export interface TargetTable {
  /** Validated `layer.domain.table`. */
  name: string;
  layer: Layer;
  domain: string;
  table: string;
  /** The name as written (three-part or flat), lower-cased. */
  written: string;
}

interface StatementBase {
  /** The statement text without the trailing semicolon. */
  sql: string;
  target: TargetTable;
  /** SELECT statements (DuckDB SQL) whose table references are the statement's sources. */
  selects: string[];
}

/** CREATE TABLE [IF NOT EXISTS] t [USING DELTA] [PARTITIONED BY (...)] [COMMENT '...'] [TBLPROPERTIES (...)] AS SELECT ... */
export interface CreateTableAsSelectStatement extends StatementBase {
  kind: 'CREATE_TABLE_AS_SELECT';
  ifNotExists: boolean;
  partitionedBy: string[];
  comment: string | null;
  properties: Record<string, string>;
  /** The SELECT producing the rows. */
  query: string;
}

/** INSERT INTO / INSERT OVERWRITE [TABLE] t [BY NAME] [(cols)] SELECT ... | VALUES ... */
export interface InsertStatement extends StatementBase {
  kind: 'INSERT' | 'INSERT_OVERWRITE';
  /** The target column list, or null when absent (all columns, by position). */
  columns: string[] | null;
  /** DuckDB's BY NAME: match source columns to table columns by name instead of position. */
  byName: boolean;
  /** The SELECT producing the rows (VALUES lists are wrapped in a SELECT). */
  query: string;
}

/** DELETE FROM t [[AS] alias] [WHERE cond]; the condition is free of the target's alias. */
export interface DeleteStatement extends StatementBase {
  kind: 'DELETE';
  where: string | null;
}

/** UPDATE t [[AS] alias] SET col = expr, ... [WHERE cond]; expressions and condition are free of the target's alias. */
export interface UpdateStatement extends StatementBase {
  kind: 'UPDATE';
  /** Column → SQL expression. */
  set: Record<string, string>;
  where: string | null;
}

/** A WHEN MATCHED clause of a MERGE. */
export interface MergeMatchedClause {
  condition?: string;
  action: { kind: 'update'; set: Record<string, string> } | { kind: 'updateAll' } | { kind: 'delete' };
}

/** A WHEN NOT MATCHED clause of a MERGE. */
export interface MergeNotMatchedClause {
  condition?: string;
  action: { kind: 'insert'; values: Record<string, string> } | { kind: 'insertAll' };
}

/** MERGE INTO t [[AS] a] USING (select) | table [[AS] b] ON cond WHEN ...; clause texts use the two aliases. */
export interface MergeStatement extends StatementBase {
  kind: 'MERGE';
  targetAlias: string;
  sourceAlias: string;
  /** The USING clause: a subquery, or a warehouse table (name as written). */
  source: { kind: 'query'; sql: string } | { kind: 'table'; written: string };
  /** The source rows as one SELECT. */
  sourceSql: string;
  on: string;
  whenMatched: MergeMatchedClause[];
  whenNotMatched: MergeNotMatchedClause[];
}

/** One analyzed write statement. */
export type AnalyzedStatement = CreateTableAsSelectStatement | InsertStatement | DeleteStatement | UpdateStatement | MergeStatement;

/** Options of the analysis. */
export interface AnalyzeOptions {
  /** Names of the existing tables, used to map a flat `layer_domain_table` name back when its split is ambiguous. */
  tables?: readonly string[];
}

// ---------------------------------------------------------------------------------------------------------------
// Tokenizer

/** A lexeme with its nesting: parentheses, brackets, braces and CASE ... END around it, and whether one is a subquery. */
export interface Token extends Lexeme {
  /** Nesting level (open/close tokens count as outside). */
  depth: number;
  /** True when some enclosing parenthesis is a subquery (starts with SELECT, WITH, FROM, VALUES or TABLE). */
  inSubquery: boolean;
}

const QUERY_STARTS = new Set(['select', 'with', 'from', 'values', 'table']);
const CLOSERS: Record<string, string> = { '(': ')', '[': ']', '{': '}' };

function invalid(message: string, details: Record<string, unknown> = {}): LakehouseError {
  return new LakehouseError('INVALID_INPUT', message, details);
}

/**
 * Splits SQL into tokens (the core's strict lexer) and gives each its nesting depth. Strings, quoted identifiers and
 * comments never produce keywords. INVALID_INPUT for unterminated strings or comments and for unbalanced
 * parentheses, brackets or CASE ... END.
 */
export function tokenize(sql: string): Token[] {
  const out: Token[] = [];
  const stack: { open: string; query: boolean; empty: boolean }[] = [];
  for (const t of lexSql(sql, { strict: true })) {
    const { kind, text, start } = t;
    const top = stack[stack.length - 1];
    if (top?.empty) {
      top.empty = false;
      if (top.open === '(' && kind === 'word' && QUERY_STARTS.has(text.toLowerCase())) top.query = true;
    }
    if (kind === 'close' || (kind === 'word' && text.toLowerCase() === 'end' && top?.open === 'case')) {
      const expected = top ? (top.open === 'case' ? 'END' : CLOSERS[top.open]) : null;
      if (!top || (kind === 'close' && expected !== text) || (kind === 'word' && top.open !== 'case')) {
        throw invalid(`unbalanced "${text}" at offset ${start}${expected ? `: expected ${expected}` : ''}`, { offset: start });
      }
      stack.pop();
    }
    out.push({ ...t, depth: stack.length, inSubquery: stack.some((s) => s.query) });
    if (kind === 'open') stack.push({ open: text, query: false, empty: true });
    if (kind === 'word' && text.toLowerCase() === 'case') stack.push({ open: 'case', query: false, empty: false });
  }
  const open = stack[stack.length - 1];
  if (open) throw invalid(`unbalanced "${open.open === 'case' ? 'CASE' : open.open}": missing ${open.open === 'case' ? 'END' : CLOSERS[open.open]}`);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Table names

/**
 * Maps a name written in SQL (`layer.domain.table`, `layer_domain_table`, or `main.layer_domain_table`) to the
 * validated table name. A flat name is matched against `known` tables first; otherwise it must split unambiguously
 * (exactly layer_domain_table). INVALID_INPUT naming the name when it is not a valid table name.
 */
export function resolveTableName(parts: readonly string[], known: readonly string[] = []): TargetTable {
  const lower = parts.map((p) => p.toLowerCase());
  const written = lower.join('.');
  if (lower.length === 3) {
    const p = parseTableName(written);
    return { name: p.name, layer: p.layer, domain: p.domain, table: p.table, written };
  }
  if (lower.length === 1 || (lower.length === 2 && lower[0] === 'main')) {
    const flat = lower[lower.length - 1];
    const matches = known.filter((k) => flatTableName(k) === flat);
    if (matches.length > 1) {
      throw invalid(`table name "${written}" is ambiguous: it is the flat name of ${matches.join(' and ')}; write layer.domain.table`, { name: written });
    }
    const [layer, ...rest] = flat.split('_');
    const candidate = matches[0] ?? (rest.length === 2 && (LAYERS as readonly string[]).includes(layer) ? `${layer}.${rest[0]}.${rest[1]}` : null);
    if (candidate === null) {
      const why = !(LAYERS as readonly string[]).includes(layer)
        ? `it does not start with a layer (${LAYERS.join(', ')})`
        : rest.length < 2
          ? 'it has no domain and table parts'
          : 'its split into domain and table is ambiguous';
      throw invalid(`invalid table name "${written}": expected layer.domain.table or the flat layer_domain_table, and ${why}`, { name: written });
    }
    const p = parseTableName(candidate);
    return { name: p.name, layer: p.layer, domain: p.domain, table: p.table, written };
  }
  throw invalid(`invalid table name "${written}": expected layer.domain.table (e.g. silver.sales.orders) or the flat layer_domain_table`, { name: written });
}

// ---------------------------------------------------------------------------------------------------------------
// Parser

function refuse(found: string): LakehouseError {
  return new LakehouseError('INVALID_INPUT', `${found} is not supported here; allowed statements: ${ALLOWED_STATEMENTS.join(', ')}`, {
    found,
    allowed: [...ALLOWED_STATEMENTS],
  });
}

class Reader {
  i = 0;
  constructor(
    readonly sql: string,
    readonly toks: Token[],
    readonly known: readonly string[],
  ) {}

  get end(): boolean {
    return this.i >= this.toks.length;
  }

  peek(k = 0): Token | undefined {
    return this.toks[this.i + k];
  }

  isKw(k: number, ...words: string[]): boolean {
    const t = this.toks[this.i + k];
    return t !== undefined && t.kind === 'word' && words.includes(t.value.toLowerCase());
  }

  /** Consumes the keywords if they all follow, returning whether they did. */
  accept(...words: string[]): boolean {
    for (let k = 0; k < words.length; k++) if (!this.isKw(k, words[k])) return false;
    this.i += words.length;
    return true;
  }

  expect(word: string, context: string): void {
    if (!this.accept(word)) throw invalid(`expected ${word.toUpperCase()} ${context}, found ${this.describe(this.peek())}`);
  }

  describe(t: Token | undefined): string {
    return t ? `"${t.text}"` : 'the end of the statement';
  }

  /** Text of tokens [a, b) as written (comments inside kept, none at the ends). */
  text(a: number, b: number): string {
    return a < b ? this.sql.slice(this.toks[a].start, this.toks[b - 1].end) : '';
  }

  /** Index of the first depth-0 token at or after `from` matching `pred` (toks.length when none). */
  findTop(from: number, pred: (t: Token) => boolean): number {
    for (let j = from; j < this.toks.length; j++) if (this.toks[j].depth === 0 && pred(this.toks[j])) return j;
    return this.toks.length;
  }

  /** Index just past the group opened at `open`. */
  closeOf(open: number): number {
    const d = this.toks[open].depth;
    for (let j = open + 1; j < this.toks.length; j++) if (this.toks[j].kind === 'close' && this.toks[j].depth === d) return j + 1;
    return this.toks.length;
  }

  /** Reads a dotted name (identifiers separated by dots), returning its parts. */
  name(what: string): string[] {
    const parts: string[] = [];
    for (;;) {
      const t = this.peek();
      if (!t || (t.kind !== 'word' && t.kind !== 'ident')) {
        throw invalid(`expected ${what}, found ${t?.kind === 'string' ? `the string ${t.text} (only warehouse tables can be written)` : this.describe(t)}`);
      }
      parts.push(t.value);
      this.i++;
      if (this.peek()?.kind !== 'dot') return parts;
      this.i++;
    }
  }

  table(what: string): TargetTable {
    return resolveTableName(this.name(what), this.known);
  }

  /** An optional alias: `AS x`, or a plain word that is not one of `stop`. */
  alias(stop: string[]): string | null {
    if (this.accept('as')) return this.name('an alias after AS').join('.');
    const t = this.peek();
    if (t && t.kind === 'ident') {
      this.i++;
      return t.value;
    }
    if (t && t.kind === 'word' && !stop.includes(t.value.toLowerCase())) {
      this.i++;
      return t.value;
    }
    return null;
  }

  /** A parenthesized list of identifiers. */
  identList(what: string): string[] {
    if (this.peek()?.kind !== 'open' || this.peek()?.text !== '(') throw invalid(`expected ( before ${what}, found ${this.describe(this.peek())}`);
    this.i++;
    const out: string[] = [];
    for (;;) {
      const t = this.peek();
      if (!t || (t.kind !== 'word' && t.kind !== 'ident')) throw invalid(`expected a column name in ${what}, found ${this.describe(t)}`);
      out.push(t.value);
      this.i++;
      const sep = this.peek();
      if (sep?.kind === 'comma') {
        this.i++;
        continue;
      }
      if (sep?.kind === 'close') {
        this.i++;
        break;
      }
      throw invalid(`expected , or ) in ${what}, found ${this.describe(sep)}`);
    }
    const seen = new Set<string>();
    for (const c of out) {
      if (seen.has(c.toLowerCase())) throw invalid(`column "${c}" appears twice in ${what}`, { column: c });
      seen.add(c.toLowerCase());
    }
    return out;
  }

  /** True when the tokens at the cursor start a query. */
  atQuery(): boolean {
    const t = this.peek();
    if (!t) return false;
    if (t.kind === 'word') return QUERY_STARTS.has(t.value.toLowerCase()) && t.value.toLowerCase() !== 'table';
    if (t.kind === 'open' && t.text === '(') {
      const u = this.peek(1);
      return u !== undefined && u.kind === 'word' && QUERY_STARTS.has(u.value.toLowerCase());
    }
    return false;
  }

  /** The rest of the statement as a query (VALUES lists wrapped in a SELECT). */
  restQuery(context: string): string {
    if (!this.atQuery()) throw invalid(`${context} must be followed by a SELECT or VALUES, found ${this.describe(this.peek())}`);
    const from = this.i;
    if (this.findTop(from, (t) => t.kind === 'word' && t.value.toLowerCase() === 'returning') < this.toks.length) {
      throw invalid(`RETURNING is not supported in ${context}`);
    }
    for (let j = from; j + 1 < this.toks.length; j++) {
      const [a, b] = [this.toks[j], this.toks[j + 1]];
      if (a.depth === 0 && a.kind === 'word' && b.kind === 'word' && a.value.toLowerCase() === 'on' && b.value.toLowerCase() === 'conflict') {
        throw invalid(`ON CONFLICT is not supported in ${context}; use MERGE INTO`);
      }
    }
    this.i = this.toks.length;
    const text = this.text(from, this.toks.length);
    return this.isKwAt(from, 'values') ? `SELECT * FROM (${text}) AS __values` : this.toks[from].kind === 'open' ? `SELECT * FROM (${text}) AS __query` : text;
  }

  isKwAt(j: number, word: string): boolean {
    const t = this.toks[j];
    return t !== undefined && t.kind === 'word' && t.value.toLowerCase() === word;
  }
}

/** Rewrites qualified references `<qualifier>.col` in tokens [a, b): to `<replacement>.col`, or to `col` when replacement is null. */
function requalify(r: Reader, a: number, b: number, qualifiers: string[][], replacement: string | null, context: string): string {
  if (a >= b) return '';
  const edits: { start: number; end: number; text: string }[] = [];
  const quals = qualifiers.map((q) => q.map((p) => p.toLowerCase())).sort((x, y) => y.length - x.length);
  for (let j = a; j < b; j++) {
    const prev = r.toks[j - 1];
    if (j > a && prev?.kind === 'dot') continue;
    for (const q of quals) {
      let k = 0;
      let ok = true;
      for (; k < q.length; k++) {
        const t = r.toks[j + 2 * k];
        const dot = r.toks[j + 2 * k + 1];
        if (j + 2 * k + 1 >= b || !t || (t.kind !== 'word' && t.kind !== 'ident') || t.value.toLowerCase() !== q[k] || dot?.kind !== 'dot') {
          ok = false;
          break;
        }
      }
      const next = r.toks[j + 2 * q.length];
      if (!ok || !next || j + 2 * q.length >= b || (next.kind !== 'word' && next.kind !== 'ident' && !(next.kind === 'op' && next.text === '*'))) continue;
      if (replacement === null && r.toks[j].inSubquery) {
        throw invalid(`${context} refers to the target table (${q.join('.')}) inside a subquery; correlated subqueries are not supported here, use MERGE INTO`);
      }
      const dotEnd = r.toks[j + 2 * q.length - 1].end;
      edits.push({ start: r.toks[j].start, end: dotEnd, text: replacement === null ? '' : `${quoteIdent(replacement)}.` });
      j += 2 * q.length - 1;
      break;
    }
  }
  let out = '';
  let pos = r.toks[a].start;
  for (const e of edits) {
    out += r.sql.slice(pos, e.start) + e.text;
    pos = e.end;
  }
  return out + r.sql.slice(pos, r.toks[b - 1].end);
}

/** Qualifiers that name the target when it has no alias. */
function targetQualifiers(t: TargetTable): string[][] {
  const flat = flatTableName(t.name);
  const threePart = t.written.split('.').length === 3;
  const out = threePart ? [[t.layer, t.domain, t.table], [t.domain, t.table], [t.table]] : [[flat], ['main', flat]];
  const seen = new Set<string>();
  return out.filter((q) => !seen.has(q.join('.')) && seen.add(q.join('.')));
}

/** Splits tokens [a, b) at depth-0 commas into `column = expr` assignments. */
function assignments(r: Reader, a: number, b: number, qualifiers: string[][], replacement: string | null, context: string): Record<string, string> {
  if (a >= b) throw invalid(`${context} has no assignments`);
  const out: Record<string, string> = {};
  let from = a;
  while (from < b) {
    let to = from;
    while (to < b && !(r.toks[to].depth === 0 && r.toks[to].kind === 'comma')) to++;
    let eq = from;
    while (eq < to && !(r.toks[eq].depth === 0 && r.toks[eq].kind === 'op' && r.toks[eq].text === '=')) eq++;
    if (eq === to || eq === from || eq + 1 === to) throw invalid(`expected "column = expression" in ${context}, found "${r.text(from, to)}"`);
    const lhs = r.toks.slice(from, eq);
    const names = lhs.filter((_, k) => k % 2 === 0);
    if (lhs.some((t, k) => (k % 2 === 0 ? t.kind !== 'word' && t.kind !== 'ident' : t.kind !== 'dot'))) {
      throw invalid(`expected a column name before = in ${context}, found "${r.text(from, eq)}"`);
    }
    const qualifier = names.slice(0, -1).map((t) => t.value.toLowerCase());
    if (qualifier.length > 0 && !qualifiers.some((q) => q.length === qualifier.length && q.every((p, k) => p.toLowerCase() === qualifier[k]))) {
      throw invalid(`the assigned column "${r.text(from, eq)}" in ${context} does not belong to the target table`);
    }
    const column = names[names.length - 1].value;
    if (Object.keys(out).some((c) => c.toLowerCase() === column.toLowerCase())) throw invalid(`column "${column}" is assigned twice in ${context}`, { column });
    out[column] = requalify(r, eq + 1, to, qualifiers, replacement, context);
    from = to + 1;
    if (to < b && from >= b) throw invalid(`trailing comma in ${context}`);
  }
  return out;
}

function stripSemicolon(toks: Token[]): Token[] {
  const semis = toks.filter((t) => t.kind === 'semicolon');
  const last = toks[toks.length - 1];
  if (semis.length === 0) return toks;
  if (semis.length === 1 && last.kind === 'semicolon') return toks.slice(0, -1);
  const firstSemi = toks.findIndex((t) => t.kind === 'semicolon');
  if (firstSemi === toks.length - 1 || toks.slice(firstSemi).every((t) => t.kind === 'semicolon')) return toks.slice(0, firstSemi);
  throw invalid(`exactly one statement is allowed per request, found more after the ";" at offset ${toks[firstSemi].start}`, { offset: toks[firstSemi].start });
}

/**
 * Classifies one SQL write statement and extracts what executing it needs (target, clauses, source SELECTs). Pure.
 * INVALID_INPUT naming what was found for anything else (SELECT, DDL, COPY, several statements, bad target names).
 */
export function analyzeSql(sql: string, options: AnalyzeOptions = {}): AnalyzedStatement {
  const toks = stripSemicolon(tokenize(sql));
  if (toks.length === 0) throw invalid('the SQL text is empty: write one statement');
  const text = sql.slice(toks[0].start, toks[toks.length - 1].end);
  const r = new Reader(sql, toks, options.tables ?? []);
  const first = toks[0];
  const head = first.kind === 'word' ? first.value.toUpperCase() : first.text;
  switch (first.kind === 'word' ? first.value.toLowerCase() : '') {
    case 'create':
      return createTable(r, text);
    case 'insert':
      return insert(r, text);
    case 'delete':
      return deleteFrom(r, text);
    case 'update':
      return update(r, text);
    case 'merge':
      return mergeInto(r, text);
    case '':
      if (!r.atQuery()) throw refuse(`a statement starting with "${first.text}"`);
      throw refuse('a query (SELECT)');
    case 'with':
    case 'select':
    case 'from':
    case 'values':
    case 'table':
      throw refuse(`a query (${head})`);
    default: {
      const second = toks[1]?.kind === 'word' ? ` ${toks[1].value.toUpperCase()}` : '';
      throw refuse(`${head}${['DROP', 'ALTER', 'TRUNCATE', 'CREATE'].includes(head) ? second : ''}`);
    }
  }
}

function createTable(r: Reader, sql: string): CreateTableAsSelectStatement {
  r.i = 1;
  if (r.isKw(0, 'or')) throw refuse('CREATE OR REPLACE');
  if (!r.accept('table')) throw refuse(`CREATE ${r.peek()?.text.toUpperCase() ?? ''}`.trim());
  const ifNotExists = r.accept('if', 'not', 'exists');
  const target = r.table('a table name after CREATE TABLE');
  let partitionedBy: string[] = [];
  let comment: string | null = null;
  const properties: Record<string, string> = {};
  for (;;) {
    if (r.end) throw refuse('CREATE TABLE without AS SELECT');
    if (r.accept('as')) break;
    const t = r.peek()!;
    if (t.kind === 'open') throw refuse('CREATE TABLE with a column list (without AS SELECT)');
    if (r.accept('using')) {
      const fmt = r.peek();
      if (!fmt || fmt.value.toLowerCase() !== 'delta') throw invalid(`only Delta tables can be created, found USING ${fmt?.text ?? ''}`.trim());
      r.i++;
    } else if (r.accept('partitioned', 'by')) {
      partitionedBy = r.identList('PARTITIONED BY');
    } else if (r.accept('comment')) {
      const s = r.peek();
      if (s?.kind !== 'string') throw invalid(`expected a string after COMMENT, found ${r.describe(s)}`);
      comment = s.value;
      r.i++;
    } else if (r.accept('tblproperties')) {
      Object.assign(properties, tblProperties(r));
    } else {
      throw invalid(`unexpected ${r.describe(t)} in CREATE TABLE: expected USING DELTA, PARTITIONED BY, COMMENT, TBLPROPERTIES or AS SELECT`);
    }
  }
  const query = r.restQuery('CREATE TABLE ... AS');
  return { kind: 'CREATE_TABLE_AS_SELECT', sql, target, selects: [query], ifNotExists, partitionedBy, comment, properties, query };
}

function tblProperties(r: Reader): Record<string, string> {
  const out: Record<string, string> = {};
  if (r.peek()?.kind !== 'open') throw invalid(`expected ( after TBLPROPERTIES, found ${r.describe(r.peek())}`);
  r.i++;
  for (;;) {
    const k = r.peek();
    let key: string;
    if (k?.kind === 'string') {
      key = k.value;
      r.i++;
    } else if (k?.kind === 'word' || k?.kind === 'ident') {
      key = r.name('a property name').join('.');
    } else throw invalid(`expected a property name in TBLPROPERTIES, found ${r.describe(k)}`);
    if (r.peek()?.kind === 'op' && r.peek()?.text === '=') r.i++;
    const v = r.peek();
    if (!v || !['string', 'number', 'word'].includes(v.kind)) throw invalid(`expected a value for property ${key} in TBLPROPERTIES, found ${r.describe(v)}`);
    out[key] = v.value;
    r.i++;
    const sep = r.peek();
    r.i++;
    if (sep?.kind === 'comma') continue;
    if (sep?.kind === 'close') return out;
    throw invalid(`expected , or ) in TBLPROPERTIES, found ${r.describe(sep)}`);
  }
}

function insert(r: Reader, sql: string): InsertStatement {
  r.i = 1;
  if (r.isKw(0, 'or')) throw refuse(`INSERT OR ${r.peek(1)?.text.toUpperCase() ?? ''}`.trim());
  const overwrite = r.accept('overwrite');
  if (!overwrite && !r.accept('into')) throw invalid(`expected INTO or OVERWRITE after INSERT, found ${r.describe(r.peek())}`);
  r.accept('table');
  const kind = overwrite ? 'INSERT_OVERWRITE' : 'INSERT';
  const target = r.table(`a table name after ${overwrite ? 'INSERT OVERWRITE' : 'INSERT INTO'}`);
  if (r.isKw(0, 'partition')) throw invalid('INSERT ... PARTITION (...) is not supported: filter the rows in the SELECT instead');
  if (r.isKw(0, 'replace')) throw invalid('INSERT ... REPLACE WHERE is not supported');
  let byName = false;
  if (r.accept('by', 'name')) byName = true;
  else r.accept('by', 'position');
  let columns: string[] | null = null;
  if (r.peek()?.kind === 'open' && !r.atQuery()) {
    columns = r.identList(`the column list of ${overwrite ? 'INSERT OVERWRITE' : 'INSERT INTO'} ${target.written}`);
    if (byName) throw invalid('INSERT ... BY NAME cannot have a column list');
  }
  if (r.isKw(0, 'default') && r.isKw(1, 'values')) throw invalid('INSERT ... DEFAULT VALUES is not supported');
  const query = r.restQuery(overwrite ? 'INSERT OVERWRITE' : 'INSERT INTO');
  return { kind, sql, target, selects: [query], columns, byName, query };
}

function deleteFrom(r: Reader, sql: string): DeleteStatement {
  r.i = 1;
  r.expect('from', 'after DELETE');
  const target = r.table('a table name after DELETE FROM');
  const alias = r.alias(['where', 'using', 'returning']);
  if (r.isKw(0, 'using')) throw invalid('DELETE ... USING is not supported: use a subquery in WHERE, or MERGE INTO ... WHEN MATCHED THEN DELETE');
  let where: string | null = null;
  if (r.accept('where')) {
    if (r.end) throw invalid('WHERE has no condition');
    const j = r.findTop(r.i, (t) => t.kind === 'word' && t.value.toLowerCase() === 'returning');
    if (j < r.toks.length) throw invalid('RETURNING is not supported in DELETE');
    where = requalify(r, r.i, r.toks.length, alias ? [[alias]] : targetQualifiers(target), null, 'the WHERE clause of DELETE');
    r.i = r.toks.length;
  }
  if (!r.end) throw invalid(`unexpected ${r.describe(r.peek())} after DELETE FROM ${target.written}: expected WHERE`);
  return { kind: 'DELETE', sql, target, selects: where ? [`SELECT 1 WHERE ${where}`] : [], where };
}

function update(r: Reader, sql: string): UpdateStatement {
  r.i = 1;
  const target = r.table('a table name after UPDATE');
  const alias = r.alias(['set']);
  r.expect('set', `after UPDATE ${target.written}`);
  const qualifiers = alias ? [[alias]] : targetQualifiers(target);
  const whereAt = r.findTop(r.i, (t) => t.kind === 'word' && t.value.toLowerCase() === 'where');
  if (r.findTop(r.i, (t) => t.kind === 'word' && t.value.toLowerCase() === 'returning') < r.toks.length) throw invalid('RETURNING is not supported in UPDATE');
  const fromAt = r.findTop(r.i, (t) => t.kind === 'word' && t.value.toLowerCase() === 'from');
  if (fromAt < whereAt && !r.isKwAt(fromAt - 1, 'distinct')) throw invalid('UPDATE ... FROM is not supported: use MERGE INTO to update from another table');
  const set = assignments(r, r.i, whereAt, qualifiers, null, 'the SET clause of UPDATE');
  let where: string | null = null;
  if (whereAt < r.toks.length) {
    if (whereAt + 1 >= r.toks.length) throw invalid('WHERE has no condition');
    where = requalify(r, whereAt + 1, r.toks.length, qualifiers, null, 'the WHERE clause of UPDATE');
  }
  const probe = `SELECT ${Object.values(set).join(', ')}${where ? ` WHERE ${where}` : ''}`;
  return { kind: 'UPDATE', sql, target, selects: [probe], set, where };
}

function mergeInto(r: Reader, sql: string): MergeStatement {
  r.i = 1;
  r.expect('into', 'after MERGE');
  const target = r.table('a table name after MERGE INTO');
  const tAlias = r.alias(['using']);
  r.expect('using', `after MERGE INTO ${target.written}`);
  let source: MergeStatement['source'];
  let sourceSql: string;
  let sourceQualifiers: string[][] = [];
  let defaultSourceAlias = 'source';
  if (r.peek()?.kind === 'open') {
    const open = r.i;
    const close = r.closeOf(open);
    if (!r.atQuery()) throw invalid(`the USING clause of MERGE must be a table or a (SELECT ...), found ${r.describe(r.peek(1))}`);
    sourceSql = r.text(open + 1, close - 1);
    if (r.isKwAt(open + 1, 'values')) sourceSql = `SELECT * FROM (${sourceSql}) AS __values`;
    source = { kind: 'query', sql: sourceSql };
    r.i = close;
  } else {
    const parts = r.name('a source table or (SELECT ...) after USING');
    const written = parts.map((p) => p.toLowerCase());
    source = { kind: 'table', written: written.join('.') };
    sourceSql = `SELECT * FROM ${written.map(quoteIdent).join('.')}`;
    sourceQualifiers = [written];
    defaultSourceAlias = written[written.length - 1];
  }
  const sAlias = r.alias(['on']);
  if (sAlias && r.peek()?.kind === 'open') {
    const cols = r.identList(`the column aliases of ${sAlias}`);
    sourceSql = `SELECT * FROM (\n${sourceSql}\n) AS __using(${cols.map(quoteIdent).join(', ')})`;
    if (source.kind === 'query') source = { kind: 'query', sql: sourceSql };
  }
  r.expect('on', 'after the USING clause of MERGE');
  const targetAlias = tAlias ?? target.written.split('.').pop()!;
  const sourceAlias = sAlias ?? defaultSourceAlias;
  if (targetAlias.toLowerCase() === sourceAlias.toLowerCase()) {
    throw invalid(`the target and the source of MERGE are both called "${targetAlias}": give them different aliases (MERGE INTO t AS t USING ... AS s)`);
  }
  // References by full name become alias references; alias references stay as written.
  const isAlias = (q: string[], alias: string): boolean => q.length === 1 && q[0] === alias.toLowerCase();
  const tq = tAlias ? [] : targetQualifiers(target).filter((q) => !isAlias(q, targetAlias) && !isAlias(q, sourceAlias));
  const sq = sAlias ? [] : [...sourceQualifiers, ...(sourceQualifiers[0]?.length === 3 ? [sourceQualifiers[0].slice(1)] : [])].filter((q) => !isAlias(q, sourceAlias) && !isAlias(q, targetAlias));
  const rewrite = (a: number, b: number, context: string): string => {
    const once = requalify(r, a, b, tq, targetAlias, context);
    if (sq.length === 0) return once;
    const sub = new Reader(once, tokenize(once), r.known);
    return requalify(sub, 0, sub.toks.length, sq, sourceAlias, context);
  };
  const isWhen = (t: Token): boolean => t.kind === 'word' && t.value.toLowerCase() === 'when';
  const onEnd = r.findTop(r.i, isWhen);
  if (onEnd === r.i) throw invalid('ON has no condition in MERGE');
  const on = rewrite(r.i, onEnd, 'the ON clause of MERGE');
  r.i = onEnd;
  const whenMatched: MergeMatchedClause[] = [];
  const whenNotMatched: MergeNotMatchedClause[] = [];
  const exprs: string[] = [on];
  if (r.end) throw invalid('MERGE needs at least one WHEN MATCHED or WHEN NOT MATCHED clause');
  while (!r.end) {
    r.expect('when', 'to start a MERGE clause');
    let matched: boolean;
    if (r.accept('matched')) matched = true;
    else if (r.accept('not', 'matched')) {
      matched = false;
      if (r.accept('by', 'source')) throw invalid('WHEN NOT MATCHED BY SOURCE is not supported in MERGE');
      r.accept('by', 'target');
    } else throw invalid(`expected MATCHED or NOT MATCHED after WHEN, found ${r.describe(r.peek())}`);
    let condition: string | undefined;
    if (r.accept('and')) {
      const then = r.findTop(r.i, (t) => t.kind === 'word' && t.value.toLowerCase() === 'then');
      if (then === r.i) throw invalid('WHEN ... AND has no condition in MERGE');
      condition = rewrite(r.i, then, 'a WHEN condition of MERGE');
      exprs.push(condition);
      r.i = then;
    }
    r.expect('then', 'in a MERGE clause');
    const clauseEnd = r.findTop(r.i, isWhen);
    const extra = (): void => {
      if (r.i < clauseEnd) throw invalid(`unexpected ${r.describe(r.peek())} in a MERGE clause`);
    };
    if (matched) {
      if (r.accept('delete')) {
        extra();
        whenMatched.push({ ...(condition ? { condition } : {}), action: { kind: 'delete' } });
      } else if (r.accept('update', 'set')) {
        if (r.peek()?.kind === 'op' && r.peek()?.text === '*' && r.i + 1 === clauseEnd) {
          r.i++;
          whenMatched.push({ ...(condition ? { condition } : {}), action: { kind: 'updateAll' } });
        } else {
          const set = assignments(r, r.i, clauseEnd, [[targetAlias], ...tq], targetAlias, 'the UPDATE SET of MERGE');
          exprs.push(...Object.values(set));
          whenMatched.push({ ...(condition ? { condition } : {}), action: { kind: 'update', set: rewriteAll(set, sq, sourceAlias) } });
          r.i = clauseEnd;
        }
      } else throw invalid(`expected UPDATE SET or DELETE after WHEN MATCHED ... THEN, found ${r.describe(r.peek())}`);
    } else {
      if (!r.accept('insert')) throw invalid(`expected INSERT after WHEN NOT MATCHED ... THEN, found ${r.describe(r.peek())}`);
      if (r.peek()?.kind === 'op' && r.peek()?.text === '*') {
        r.i++;
        extra();
        whenNotMatched.push({ ...(condition ? { condition } : {}), action: { kind: 'insertAll' } });
      } else {
        const cols = r.identList('the INSERT column list of MERGE');
        r.expect('values', 'after the INSERT column list of MERGE');
        if (r.peek()?.kind !== 'open') throw invalid(`expected ( after VALUES in MERGE, found ${r.describe(r.peek())}`);
        const open = r.i;
        const close = r.closeOf(open);
        const values: string[] = [];
        let from = open + 1;
        for (let j = open + 1; j < close; j++) {
          const t = r.toks[j];
          if ((t.kind === 'comma' && t.depth === r.toks[open].depth + 1) || j === close - 1) {
            if (from === j) throw invalid('empty value in the INSERT VALUES of MERGE');
            values.push(rewrite(from, j, 'the INSERT VALUES of MERGE'));
            from = j + 1;
          }
        }
        if (values.length !== cols.length) {
          throw invalid(`the INSERT of MERGE lists ${cols.length} columns but ${values.length} values`, { columns: cols });
        }
        r.i = close;
        extra();
        exprs.push(...values);
        whenNotMatched.push({ ...(condition ? { condition } : {}), action: { kind: 'insert', values: Object.fromEntries(cols.map((c, k) => [c, values[k]])) } });
      }
    }
  }
  const selects = [sourceSql, `SELECT ${exprs.map((e) => `(${e})`).join(', ')}`];
  return { kind: 'MERGE', sql, target, selects, targetAlias, sourceAlias, source, sourceSql, on, whenMatched, whenNotMatched };
}

function rewriteAll(set: Record<string, string>, qualifiers: string[][], alias: string): Record<string, string> {
  if (qualifiers.length === 0) return set;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(set)) {
    const r = new Reader(v, tokenize(v), []);
    out[k] = requalify(r, 0, r.toks.length, qualifiers, alias, 'the UPDATE SET of MERGE');
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// DuckDB's json_serialize_sql output

/** A table reference found in a serialized SELECT. */
export interface SerializedTableRef {
  catalog: string;
  schema: string;
  table: string;
}

/** What a serialized SELECT reads: base tables (CTE names removed) and table functions. */
export interface SerializedReads {
  tables: SerializedTableRef[];
  tableFunctions: string[];
}

/**
 * The base tables and table functions of one `json_serialize_sql` result. Unqualified references to a CTE name of
 * the statement are not tables. INVALID_INPUT with DuckDB's message when the text did not parse as one SELECT.
 */
export function serializedReads(json: unknown, context: string): SerializedReads {
  const root = json as { error?: boolean; error_message?: string; statements?: unknown[] };
  if (!root || typeof root !== 'object') throw invalid(`could not analyze ${context}`);
  if (root.error) throw invalid(`${context} is not a valid SELECT: ${root.error_message ?? 'parse error'}`);
  if (!Array.isArray(root.statements) || root.statements.length !== 1) throw invalid(`${context} must be exactly one SELECT`);
  const tables: SerializedTableRef[] = [];
  const tableFunctions: string[] = [];
  const ctes = new Set<string>();
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) {
      v.forEach(walk);
      return;
    }
    if (!v || typeof v !== 'object') return;
    const o = v as Record<string, unknown>;
    if (o.type === 'BASE_TABLE' && typeof o.table_name === 'string') {
      tables.push({ catalog: String(o.catalog_name ?? ''), schema: String(o.schema_name ?? ''), table: o.table_name });
    }
    if (o.type === 'TABLE_FUNCTION') {
      const fn = o.function as { function_name?: unknown } | undefined;
      if (fn && typeof fn.function_name === 'string') tableFunctions.push(fn.function_name);
    }
    const cteMap = o.cte_map as { map?: { key?: unknown }[] } | undefined;
    if (cteMap && Array.isArray(cteMap.map)) for (const e of cteMap.map) if (typeof e.key === 'string') ctes.add(e.key.toLowerCase());
    for (const child of Object.values(o)) walk(child);
  };
  walk(root.statements[0]);
  return { tables: tables.filter((t) => t.catalog !== '' || t.schema !== '' || !ctes.has(t.table.toLowerCase())), tableFunctions };
}

/**
 * Positions of the output columns of a serialized SELECT that are a bare NULL (in every row of a VALUES list or
 * every branch of a UNION): DuckDB types those INTEGER, so an INSERT casts them to the target column's type.
 */
export function nullColumnPositions(json: unknown): Set<number> {
  const root = json as { statements?: { node?: unknown }[] };
  return nullPositions(root?.statements?.[0]?.node);
}

function isNullConstant(e: unknown): boolean {
  const o = e as { class?: string; value?: { is_null?: boolean } } | null;
  return o?.class === 'CONSTANT' && o.value?.is_null === true;
}

function nullPositions(node: unknown): Set<number> {
  const n = node as Record<string, unknown> | undefined;
  if (!n || typeof n !== 'object') return new Set();
  if (n.type === 'SET_OPERATION_NODE') {
    const l = nullPositions(n.left);
    const r = nullPositions(n.right);
    return new Set([...l].filter((x) => r.has(x)));
  }
  if (n.type !== 'SELECT_NODE' || !Array.isArray(n.select_list)) return new Set();
  const list = n.select_list as Record<string, unknown>[];
  const from = n.from_table as Record<string, unknown> | undefined;
  const plainStar = list.length === 1 && list[0].class === 'STAR' && !list[0].expr && (list[0].exclude_list as unknown[] | undefined)?.length === 0;
  if (plainStar && from?.type === 'EXPRESSION_LIST' && Array.isArray(from.values)) {
    const rows = from.values as unknown[][];
    const out = new Set<number>();
    (rows[0] ?? []).forEach((_, k) => {
      if (rows.every((row) => isNullConstant(row[k]))) out.add(k);
    });
    return out;
  }
  if (plainStar && from?.type === 'SUBQUERY') return nullPositions((from.subquery as { node?: unknown } | undefined)?.node);
  if (list.some((e) => e.class === 'STAR' || e.class === 'COLUMNS')) return new Set();
  return new Set(list.flatMap((e, k) => (isNullConstant(e) ? [k] : [])));
}
