import { LakehouseError } from '../errors.js';
import { quoteIdent, quoteString } from '../sql/duckdb-types.js';
import { parseDateDays, parseTimestampMicros } from './partition-values.js';

/**
 * A constant. `DATE '...'` / `TIMESTAMP '...'` (or `TIMESTAMPTZ '...'`) typed literals keep the string and set `type`;
 * a timestamp without a zone offset means UTC. `text` is the exact
 * source text of a numeric literal, present only when the JS number cannot represent it exactly (e.g. a BIGINT
 * beyond 2^53 or a decimal with more than ~16 significant digits); predicateToSql renders it verbatim.
 */
export type Literal = {
  kind: 'literal';
  value: string | number | boolean | null;
  type?: 'date' | 'timestamp';
  text?: string;
};

/** A comparison operator (after normalization of `==` and `!=`). */
export type CompareOp = '=' | '<>' | '<' | '<=' | '>' | '>=';

/** A parsed SQL boolean expression. Column names are logical; nested fields are dotted paths such as `a.b`. */
export type Expr =
  | { kind: 'column'; name: string }
  | Literal
  | { kind: 'compare'; op: CompareOp; left: Expr; right: Expr }
  | { kind: 'in'; expr: Expr; list: Expr[]; negated: boolean }
  | { kind: 'isNull'; expr: Expr; negated: boolean }
  | { kind: 'and'; args: Expr[] }
  | { kind: 'or'; args: Expr[] }
  | { kind: 'not'; arg: Expr };

// ---------------------------------------------------------------------------------------------------------------
// Lexer

type TokKind = 'ident' | 'qident' | 'string' | 'number' | 'op' | 'punct' | 'eof';
interface Token {
  kind: TokKind;
  /** Identifier / string content (unescaped), number text, operator or punctuation. */
  text: string;
  pos: number;
}

const KEYWORDS = new Set(['AND', 'OR', 'NOT', 'IN', 'IS', 'NULL', 'TRUE', 'FALSE', 'BETWEEN', 'LIKE']);

function syntaxError(sql: string, pos: number, message: string): LakehouseError {
  return new LakehouseError('INVALID_INPUT', `invalid predicate at position ${pos}: ${message}`, {
    predicate: sql,
    position: pos,
  });
}

function describe(t: Token): string {
  switch (t.kind) {
    case 'eof':
      return 'end of input';
    case 'string':
      return `string '${t.text}'`;
    case 'qident':
      return `identifier "${t.text}"`;
    default:
      return `'${t.text}'`;
  }
}

function tokenize(sql: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const start = i;
    if (/[A-Za-z_]/.test(c)) {
      while (i < n && /[A-Za-z0-9_]/.test(sql[i])) i++;
      out.push({ kind: 'ident', text: sql.slice(start, i), pos: start });
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(sql[i + 1] ?? ''))) {
      const m = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/.exec(sql.slice(i));
      const text = m ? m[0] : c;
      i += text.length;
      if (i < n && /[A-Za-z_]/.test(sql[i])) throw syntaxError(sql, start, `malformed number '${sql.slice(start, i + 1)}'`);
      out.push({ kind: 'number', text, pos: start });
      continue;
    }
    if (c === "'" || c === '"' || c === '`') {
      let text = '';
      i++;
      for (;;) {
        if (i >= n) {
          const what = c === "'" ? 'string literal' : 'quoted identifier';
          throw syntaxError(sql, start, `unterminated ${what} (expected closing ${c})`);
        }
        if (sql[i] === c) {
          if (sql[i + 1] === c) {
            text += c;
            i += 2;
            continue;
          }
          i++;
          break;
        }
        text += sql[i++];
      }
      out.push({ kind: c === "'" ? 'string' : 'qident', text, pos: start });
      continue;
    }
    const two = sql.slice(i, i + 2);
    if (['<=', '>=', '<>', '!=', '=='].includes(two)) {
      out.push({ kind: 'op', text: two, pos: start });
      i += 2;
      continue;
    }
    if (c === '=' || c === '<' || c === '>') {
      out.push({ kind: 'op', text: c, pos: start });
      i++;
      continue;
    }
    if (c === '(' || c === ')' || c === ',' || c === '.' || c === '-' || c === '+') {
      out.push({ kind: 'punct', text: c, pos: start });
      i++;
      continue;
    }
    throw syntaxError(sql, start, `unexpected character '${c}'`);
  }
  out.push({ kind: 'eof', text: '', pos: n });
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Numbers

/** Canonical (sign, significant digits, exponent) key of a decimal text, to test two texts for numeric equality. */
function decimalKey(text: string): string {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!m) return text;
  const digits = (m[2] ?? '') + (m[3] ?? '');
  const exp = Number(m[4] ?? 0) + (m[2] ?? '').length;
  const lead = digits.length - digits.replace(/^0+/, '').length;
  const sig = digits.replace(/^0+/, '').replace(/0+$/, '');
  if (sig === '') return '0';
  return `${m[1] === '-' ? '-' : ''}${sig}e${exp - lead}`;
}

function numberLiteral(text: string, negative: boolean): Literal {
  const signed = negative ? `-${text}` : text;
  const value = Number(signed);
  const lit: Literal = { kind: 'literal', value: Object.is(value, -0) ? 0 : value };
  if (!Number.isFinite(value) || decimalKey(signed) !== decimalKey(String(value))) lit.text = signed;
  return lit;
}

// ---------------------------------------------------------------------------------------------------------------
// Parser (recursive descent; precedence OR < AND < NOT < predicate)

class Parser {
  private i = 0;
  constructor(
    private readonly sql: string,
    private readonly toks: Token[],
  ) {}

  private peek(offset = 0): Token {
    return this.toks[Math.min(this.i + offset, this.toks.length - 1)];
  }
  private next(): Token {
    const t = this.peek();
    if (t.kind !== 'eof') this.i++;
    return t;
  }
  private isKw(t: Token, kw: string): boolean {
    return t.kind === 'ident' && t.text.toUpperCase() === kw;
  }
  private acceptKw(kw: string): boolean {
    if (this.isKw(this.peek(), kw)) {
      this.i++;
      return true;
    }
    return false;
  }
  private acceptPunct(p: string): boolean {
    const t = this.peek();
    if (t.kind === 'punct' && t.text === p) {
      this.i++;
      return true;
    }
    return false;
  }
  private fail(expected: string, t: Token = this.peek()): LakehouseError {
    return syntaxError(this.sql, t.pos, `expected ${expected}, found ${describe(t)}`);
  }
  private expectPunct(p: string, expected: string): void {
    if (!this.acceptPunct(p)) throw this.fail(expected);
  }

  parseAll(): Expr {
    if (this.peek().kind === 'eof') throw this.fail('an expression');
    const e = this.parseOr();
    if (this.peek().kind !== 'eof') throw this.fail('AND, OR or end of input');
    return e;
  }

  private parseOr(): Expr {
    const args = [this.parseAnd()];
    while (this.acceptKw('OR')) args.push(this.parseAnd());
    return args.length === 1 ? args[0] : { kind: 'or', args };
  }

  private parseAnd(): Expr {
    const args = [this.parseNot()];
    while (this.acceptKw('AND')) args.push(this.parseNot());
    return args.length === 1 ? args[0] : { kind: 'and', args };
  }

  private parseNot(): Expr {
    if (this.acceptKw('NOT')) return { kind: 'not', arg: this.parseNot() };
    return this.parsePredicate();
  }

  private parsePredicate(): Expr {
    const left = this.parseOperand();
    const t = this.peek();
    if (t.kind === 'op') {
      this.i++;
      const op: CompareOp = t.text === '==' ? '=' : t.text === '!=' ? '<>' : (t.text as CompareOp);
      const right = this.parseOperand();
      return { kind: 'compare', op, left, right };
    }
    if (this.isKw(t, 'IS')) {
      this.i++;
      const negated = this.acceptKw('NOT');
      if (!this.acceptKw('NULL')) throw this.fail(negated ? 'NULL after IS NOT' : 'NULL or NOT NULL after IS');
      return { kind: 'isNull', expr: left, negated };
    }
    let negated = false;
    if (this.isKw(t, 'NOT')) {
      const after = this.peek(1);
      if (this.isKw(after, 'IN') || this.isKw(after, 'BETWEEN') || this.isKw(after, 'LIKE')) {
        this.i++;
        negated = true;
      }
    }
    const kw = this.peek();
    if (this.acceptKw('IN')) {
      this.expectPunct('(', "'(' after IN");
      const list = [this.parseOperand()];
      while (this.acceptPunct(',')) list.push(this.parseOperand());
      this.expectPunct(')', "',' or ')' in the IN list");
      return { kind: 'in', expr: left, list, negated };
    }
    if (this.acceptKw('BETWEEN')) {
      const lo = this.parseOperand();
      if (!this.acceptKw('AND')) throw this.fail('AND in BETWEEN ... AND ...');
      const hi = this.parseOperand();
      if (negated) {
        return {
          kind: 'or',
          args: [
            { kind: 'compare', op: '<', left, right: lo },
            { kind: 'compare', op: '>', left, right: hi },
          ],
        };
      }
      return {
        kind: 'and',
        args: [
          { kind: 'compare', op: '>=', left, right: lo },
          { kind: 'compare', op: '<=', left, right: hi },
        ],
      };
    }
    if (this.isKw(kw, 'LIKE')) {
      throw syntaxError(this.sql, kw.pos, 'LIKE is not supported (use =, <>, <, <=, >, >=, IN, BETWEEN or IS NULL)');
    }
    return left;
  }

  private parseOperand(): Expr {
    const t = this.peek();
    if (t.kind === 'punct' && t.text === '(') {
      this.i++;
      const e = this.parseOr();
      this.expectPunct(')', "')'");
      return e;
    }
    if (t.kind === 'punct' && (t.text === '-' || t.text === '+')) {
      this.i++;
      const num = this.peek();
      if (num.kind !== 'number') throw this.fail(`a number after '${t.text}'`);
      this.i++;
      return numberLiteral(num.text, t.text === '-');
    }
    if (t.kind === 'number') {
      this.i++;
      return numberLiteral(t.text, false);
    }
    if (t.kind === 'string') {
      this.i++;
      return { kind: 'literal', value: t.text };
    }
    if (t.kind === 'ident') {
      const up = t.text.toUpperCase();
      if (up === 'TRUE' || up === 'FALSE') {
        this.i++;
        return { kind: 'literal', value: up === 'TRUE' };
      }
      if (up === 'NULL') {
        this.i++;
        return { kind: 'literal', value: null };
      }
      if ((up === 'DATE' || up === 'TIMESTAMP' || up === 'TIMESTAMPTZ') && this.peek(1).kind === 'string') {
        this.i++;
        const s = this.next();
        if (up === 'DATE' && parseDateDays(s.text) === undefined) {
          throw syntaxError(this.sql, s.pos, `expected a date 'YYYY-MM-DD' after DATE, found '${s.text}'`);
        }
        if (up !== 'DATE' && parseTimestampMicros(s.text) === undefined) {
          throw syntaxError(
            this.sql,
            s.pos,
            `expected a timestamp 'YYYY-MM-DD HH:MM:SS[.ffffff][Z|±HH:MM]' after ${up}, found '${s.text}'`,
          );
        }
        return { kind: 'literal', value: s.text, type: up === 'DATE' ? 'date' : 'timestamp' };
      }
      if (KEYWORDS.has(up)) throw this.fail('a column name or a value');
      return this.parseColumn();
    }
    if (t.kind === 'qident') return this.parseColumn();
    throw this.fail('a column name or a value');
  }

  private parseColumn(): Expr {
    const parts = [this.identPart()];
    while (this.peek().kind === 'punct' && this.peek().text === '.') {
      this.i++;
      parts.push(this.identPart());
    }
    return { kind: 'column', name: parts.join('.') };
  }

  private identPart(): string {
    const t = this.peek();
    if (t.kind === 'ident') {
      if (KEYWORDS.has(t.text.toUpperCase())) throw this.fail('a column name');
      this.i++;
      return t.text;
    }
    if (t.kind === 'qident') {
      if (t.text === '') throw syntaxError(this.sql, t.pos, 'empty quoted identifier');
      if (t.text.includes('.')) {
        throw syntaxError(
          this.sql,
          t.pos,
          `column names containing '.' are not supported ("${t.text}"); write nested fields as a dotted path`,
        );
      }
      this.i++;
      return t.text;
    }
    throw this.fail('a column name');
  }
}

/**
 * Parses a SQL boolean expression subset (OR/AND/NOT, comparisons, [NOT] IN, IS [NOT] NULL, [NOT] BETWEEN, literals
 * incl. DATE/TIMESTAMP, quoted identifiers and dotted paths). Throws INVALID_INPUT with the 0-based position
 * (also in details.position) and what was expected.
 */
export function parsePredicate(sql: string): Expr {
  return new Parser(sql, tokenize(sql)).parseAll();
}

// ---------------------------------------------------------------------------------------------------------------
// Rendering

const PREC_OR = 1;
const PREC_AND = 2;
const PREC_NOT = 3;
const PREC_PRED = 4;
const PREC_ATOM = 5;

function precedence(e: Expr): number {
  switch (e.kind) {
    case 'or':
      return e.args.length === 0 ? PREC_ATOM : PREC_OR;
    case 'and':
      return e.args.length === 0 ? PREC_ATOM : PREC_AND;
    case 'not':
      return PREC_NOT;
    case 'compare':
    case 'in':
    case 'isNull':
      return PREC_PRED;
    default:
      return PREC_ATOM;
  }
}


function renderLiteral(l: Literal): string {
  const v = l.value;
  if (v === null) return 'NULL';
  if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE';
  if (typeof v === 'number') {
    if (l.text !== undefined && /^-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/.test(l.text)) return l.text;
    if (Number.isNaN(v)) return "CAST('NaN' AS DOUBLE)";
    if (!Number.isFinite(v)) return `CAST('${v < 0 ? '-' : ''}Infinity' AS DOUBLE)`;
    return String(v);
  }
  if (l.type === 'date') return `DATE ${quoteString(v)}`;
  if (l.type === 'timestamp') {
    // DuckDB's TIMESTAMP '...' ignores a zone offset; TIMESTAMPTZ honours it, as the pruning does.
    const keyword = parseTimestampMicros(v)?.hasOffset ? 'TIMESTAMPTZ' : 'TIMESTAMP';
    return `${keyword} ${quoteString(v)}`;
  }
  return quoteString(v);
}

function render(e: Expr, minPrec: number): string {
  const s = renderBare(e);
  return precedence(e) < minPrec ? `(${s})` : s;
}

function renderBare(e: Expr): string {
  switch (e.kind) {
    case 'column':
      return e.name.split('.').map(quoteIdent).join('.');
    case 'literal':
      return renderLiteral(e);
    case 'compare':
      return `${render(e.left, PREC_ATOM)} ${e.op} ${render(e.right, PREC_ATOM)}`;
    case 'in':
      return `${render(e.expr, PREC_ATOM)} ${e.negated ? 'NOT IN' : 'IN'} (${e.list.map((x) => render(x, PREC_ATOM)).join(', ')})`;
    case 'isNull':
      return `${render(e.expr, PREC_ATOM)} IS ${e.negated ? 'NOT NULL' : 'NULL'}`;
    case 'and':
      return e.args.length === 0 ? 'TRUE' : e.args.map((a) => render(a, PREC_NOT)).join(' AND ');
    case 'or':
      return e.args.length === 0 ? 'FALSE' : e.args.map((a) => render(a, PREC_AND)).join(' OR ');
    case 'not':
      return `NOT ${render(e.arg, PREC_NOT)}`;
  }
}

/**
 * Renders an expression as DuckDB SQL: identifiers double-quoted (a dotted name becomes a quoted path "a"."b"),
 * strings single-quoted with '' escaping, parentheses only where precedence needs them; a timestamp literal with a
 * zone offset becomes TIMESTAMPTZ '...' (DuckDB ignores the offset in TIMESTAMP '...'), so the session time zone
 * must be UTC for zone-less literals to mean UTC. parsePredicate of the result
 * gives back an equal expression (for and/or with at least two arguments).
 */
export function predicateToSql(e: Expr): string {
  return render(e, 0);
}

/** Names of the columns an expression references, each once, in order of first appearance. */
export function referencedColumns(e: Expr): string[] {
  const seen = new Set<string>();
  const walk = (x: Expr): void => {
    switch (x.kind) {
      case 'column':
        seen.add(x.name);
        return;
      case 'literal':
        return;
      case 'compare':
        walk(x.left);
        walk(x.right);
        return;
      case 'in':
        walk(x.expr);
        x.list.forEach(walk);
        return;
      case 'isNull':
        walk(x.expr);
        return;
      case 'and':
      case 'or':
        x.args.forEach(walk);
        return;
      case 'not':
        walk(x.arg);
        return;
    }
  };
  walk(e);
  return [...seen];
}
