import { LakehouseError } from '../errors.js';

// The one SQL lexer of the project (DuckDB / PostgreSQL lexical rules): the browser's table-reference rewriting and
// the BFF's write-statement analysis both build on it. Pure.

/** What a lexeme is. `ident` is a double-quoted identifier; `open`/`close` are ( [ { and ) ] }. */
export type LexemeKind = 'word' | 'ident' | 'string' | 'number' | 'op' | 'open' | 'close' | 'comma' | 'semicolon' | 'dot' | 'param';

/** One lexeme of SQL text, with its offsets in the text. */
export interface Lexeme {
  kind: LexemeKind;
  /** Raw text, quotes included. */
  text: string;
  /** Unquoted value for identifiers and strings (`""`, `''` and E'' escapes undone); the raw text otherwise. */
  value: string;
  start: number;
  end: number;
}

/** Options of `lexSql`. */
export interface LexOptions {
  /**
   * Strict: INVALID_INPUT (with `details.offset`) for an unterminated string, quoted identifier, dollar-quoted string
   * or comment. Lenient (default): such a construct runs to the end of the text, so half-typed SQL never throws.
   */
  strict?: boolean;
}

const WORD = /[\p{L}_][\p{L}\p{N}_$]*/uy;
const NUMBER = /(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/y;
const DOLLAR_TAG = /\$([A-Za-z_][A-Za-z0-9_]*)?\$/y;
const POSITIONAL = /\$\d+/y;
const OPS = ['->>', '::', '<=', '>=', '<>', '!=', '==', '||', '->', '=>', ':=', '**', '//', '<<', '>>', '!~~', '~~'];

/** True for a character that continues an unquoted identifier. */
export function isWordChar(c: string | undefined): boolean {
  return c !== undefined && /[\p{L}\p{N}_$]/u.test(c);
}

/**
 * Splits SQL into lexemes, skipping whitespace and comments (`--` to the end of the line, nested `/* *\/`). Strings
 * ('', E'' with backslash escapes, $tag$ $tag$), quoted identifiers and comments never produce words, so keywords
 * and names inside them are never seen. Never throws in lenient mode.
 */
export function lexSql(sql: string, options: LexOptions = {}): Lexeme[] {
  const strict = options.strict ?? false;
  const out: Lexeme[] = [];
  const n = sql.length;
  let i = 0;
  const push = (kind: LexemeKind, start: number, end: number, value?: string): void => {
    const text = sql.slice(start, end);
    out.push({ kind, text, value: value ?? text, start, end });
  };
  const unterminated = (what: string, start: number): void => {
    if (strict) throw new LakehouseError('INVALID_INPUT', `unterminated ${what} starting at offset ${start}`, { offset: start });
  };
  while (i < n) {
    const c = sql[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '-' && sql[i + 1] === '-') {
      const eol = sql.indexOf('\n', i);
      i = eol < 0 ? n : eol;
      continue;
    }
    if (c === '/' && sql[i + 1] === '*') {
      const start = i;
      let level = 1;
      i += 2;
      while (i < n && level > 0) {
        if (sql[i] === '/' && sql[i + 1] === '*') {
          level++;
          i += 2;
        } else if (sql[i] === '*' && sql[i + 1] === '/') {
          level--;
          i += 2;
        } else i++;
      }
      if (level > 0) unterminated('/* comment', start);
      continue;
    }
    const isString = c === "'" || ((c === 'e' || c === 'E') && sql[i + 1] === "'" && !isWordChar(sql[i - 1]));
    if (isString || c === '"') {
      // A quoted string or identifier: the quote doubled stands for itself; E'' strings also take backslash escapes.
      const start = i;
      const quote = isString ? "'" : '"';
      const escapes = isString && c !== "'";
      i += escapes ? 2 : 1;
      let value = '';
      let closed = false;
      while (i < n) {
        if (escapes && sql[i] === '\\' && i + 1 < n) {
          value += sql[i + 1];
          i += 2;
        } else if (sql[i] === quote) {
          if (sql[i + 1] === quote) {
            value += quote;
            i += 2;
          } else {
            i++;
            closed = true;
            break;
          }
        } else value += sql[i++];
      }
      if (!closed) unterminated(isString ? 'string' : 'quoted identifier', start);
      push(isString ? 'string' : 'ident', start, i, value);
      continue;
    }
    if (c === '$') {
      DOLLAR_TAG.lastIndex = i;
      const tag = DOLLAR_TAG.exec(sql);
      if (tag) {
        const close = sql.indexOf(tag[0], i + tag[0].length);
        if (close < 0) unterminated(`${tag[0]} string`, i);
        const end = close < 0 ? n : close + tag[0].length;
        push('string', i, end, sql.slice(i + tag[0].length, close < 0 ? n : close));
        i = end;
        continue;
      }
      POSITIONAL.lastIndex = i;
      const param = POSITIONAL.exec(sql);
      if (param) {
        push('param', i, i + param[0].length);
        i += param[0].length;
        continue;
      }
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(sql[i + 1] ?? '') && !endsOperand(out[out.length - 1]))) {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(sql);
      if (m) {
        push('number', i, i + m[0].length);
        i += m[0].length;
        continue;
      }
    }
    WORD.lastIndex = i;
    const w = WORD.exec(sql);
    if (w) {
      push('word', i, i + w[0].length);
      i += w[0].length;
      continue;
    }
    if (c === '(' || c === '[' || c === '{') push('open', i, i + 1);
    else if (c === ')' || c === ']' || c === '}') push('close', i, i + 1);
    else if (c === ',') push('comma', i, i + 1);
    else if (c === ';') push('semicolon', i, i + 1);
    else if (c === '.') push('dot', i, i + 1);
    else if (c === '?') push('param', i, i + 1);
    else {
      const op = OPS.find((o) => sql.startsWith(o, i)) ?? c;
      push('op', i, i + op.length);
      i += op.length - 1;
    }
    i++;
  }
  return out;
}

/** True when the lexeme ends an operand (a name, a number or a closing bracket): a following `.` is then a dot. */
export function endsOperand(t: Lexeme | undefined): boolean {
  return t !== undefined && (t.kind === 'word' || t.kind === 'ident' || t.kind === 'number' || t.kind === 'close');
}
