import { LakehouseError } from '../errors.js';
import type { CompareOp, Expr, Literal } from './expression.js';
import { parseDateDays, parseTimestampMicros } from './partition-values.js';
import type { DataType } from './schema.js';
import { typeToString } from './schema.js';

// PROTOCOL.md: Per-file Statistics. Pruning is conservative: a file is dropped only when no row of it can satisfy
// the predicate under SQL three-valued logic, given bounds that may be approximate (strings cut at a prefix,
// timestamps cut to milliseconds, big numbers rounded by JSON parsing, wide bounds after deletion vectors).

/** Parsed per-file stats; minValues/maxValues/nullCount are nested objects keyed by PHYSICAL column names. */
export interface FileStats {
  numRecords?: number;
  minValues: Record<string, unknown>;
  maxValues: Record<string, unknown>;
  nullCount: Record<string, unknown>;
  tightBounds?: boolean;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses add.stats JSON; returns null on absent or malformed stats (a file without stats is never pruned). */
export function parseStats(json: string | null | undefined): FileStats | null {
  if (json === null || json === undefined || json === '') return null;
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    return null;
  }
  if (!isRecord(raw)) return null;
  const stats: FileStats = {
    minValues: isRecord(raw.minValues) ? raw.minValues : {},
    maxValues: isRecord(raw.maxValues) ? raw.maxValues : {},
    nullCount: isRecord(raw.nullCount) ? raw.nullCount : {},
  };
  if (typeof raw.numRecords === 'number' && Number.isInteger(raw.numRecords) && raw.numRecords >= 0) {
    stats.numRecords = raw.numRecords;
  }
  if (typeof raw.tightBounds === 'boolean') stats.tightBounds = raw.tightBounds;
  return stats;
}

/** Per-column facts used for pruning a file. All fields optional: unknown means "could be anything". */
export interface ColumnFacts {
  min?: unknown;
  max?: unknown;
  nullCount?: number;
  numRecords?: number;
  /** True for partition values: every row holds exactly `min` (=== max; null/undefined means every row is null). */
  exact?: boolean;
}

function valueAt(obj: Record<string, unknown>, path: readonly string[]): unknown {
  let cur: unknown = obj;
  for (const p of path) {
    if (!isRecord(cur) || !Object.prototype.hasOwnProperty.call(cur, p)) return undefined;
    cur = cur[p];
  }
  return cur;
}

/**
 * Facts for one column from a file's stats, `physicalPath` being the physical names from the top-level column down
 * to the nested field. With wide bounds (tightBounds=false) a nullCount other than 0 or numRecords is dropped, as
 * the protocol says it carries no information. Missing stats give facts that are all unknown.
 */
export function statsColumnFacts(stats: FileStats | null, physicalPath: readonly string[]): ColumnFacts {
  if (!stats) return {};
  const facts: ColumnFacts = {};
  if (stats.numRecords !== undefined) facts.numRecords = stats.numRecords;
  const min = valueAt(stats.minValues, physicalPath);
  const max = valueAt(stats.maxValues, physicalPath);
  if (min !== undefined && min !== null && !isRecord(min)) facts.min = min;
  if (max !== undefined && max !== null && !isRecord(max)) facts.max = max;
  const nc = valueAt(stats.nullCount, physicalPath);
  if (typeof nc === 'number' && Number.isInteger(nc) && nc >= 0) {
    const informative = stats.tightBounds !== false || nc === 0 || nc === stats.numRecords;
    if (informative) facts.nullCount = nc;
  }
  return facts;
}

/** Exact facts for a partition column of a file: every row holds `value` (normalized or raw; null = all null). */
export function partitionColumnFacts(value: string | number | boolean | null, numRecords?: number): ColumnFacts {
  const facts: ColumnFacts = { min: value, max: value, exact: true, nullCount: value === null ? numRecords : 0 };
  if (numRecords !== undefined) facts.numRecords = numRecords;
  return facts;
}

// ---------------------------------------------------------------------------------------------------------------
// Value domains

/** Comparison domain: numbers (num/bool 0-1/date days/ts micros) or strings (code point order). */
type Domain = 'num' | 'str' | 'bool' | 'date' | 'ts';
type Key = number | string;

/** A literal or value mapped into a domain; true value lies within [v - slack, v + slack] (strings: slack 0). */
interface Coerced {
  d: Domain;
  v: Key;
  slack: number;
}

const NUMERIC = new Set(['byte', 'short', 'integer', 'long', 'float', 'double']);
const NUMBER_TEXT_RE = /^\s*[+-]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|Infinity)\s*$/;
const MICROS_PER_DAY = 86_400_000_000;
/** Stats truncate timestamps to milliseconds: a max of t stands for values up to t + 999 µs. */
const TIMESTAMP_MAX_WIDEN = 999;
/** Stats cut long strings to a prefix (32 characters in Spark): a max this long may not bound the values. */
const STRING_PREFIX_LENGTH = 32;
/** Relative error of a decimal text rounded to a double, with margin. */
const DOUBLE_REL = 2 ** -50;
/** Relative error between a float and the shortest decimal text printed for it, with margin. */
const FLOAT_REL = 2 ** -22;

function domainOf(t: DataType): Domain | undefined {
  if (typeof t === 'object') return t.type === 'decimal' ? 'num' : undefined;
  if (NUMERIC.has(t)) return 'num';
  switch (t) {
    case 'string':
    case 'binary':
      return 'str';
    case 'boolean':
      return 'bool';
    case 'date':
      return 'date';
    case 'timestamp':
    case 'timestamp_ntz':
      return 'ts';
    default:
      return undefined;
  }
}

/** How far the double we hold for a value of this numeric type may be from the true value. */
function typeSlack(v: number, t: DataType): number {
  if (t === 'float') return Math.abs(v) * FLOAT_REL;
  if (t === 'long' && !Number.isSafeInteger(v)) return Math.abs(v) * DOUBLE_REL;
  if (typeof t === 'object' && t.type === 'decimal' && (t.precision > 15 || Math.abs(v) >= 2 ** 53)) {
    return Math.abs(v) * DOUBLE_REL;
  }
  return 0;
}

/**
 * A column value (stats bound, partition value or row value) in its column's domain; undefined when unusable.
 * Dates may be texts, day numbers or Date objects; timestamps texts, microsecond numbers/bigints or Date objects.
 */
function normColumnValue(v: unknown, d: Domain): Key | undefined {
  switch (d) {
    case 'num':
      if (typeof v === 'number') return Number.isNaN(v) ? undefined : v;
      if (typeof v === 'bigint') return Number(v);
      if (typeof v === 'string' && NUMBER_TEXT_RE.test(v)) return Number(v);
      return undefined;
    case 'str':
      return typeof v === 'string' ? v : undefined;
    case 'bool':
      if (typeof v === 'boolean') return v ? 1 : 0;
      if (v === 'true' || v === 'false') return v === 'true' ? 1 : 0;
      return undefined;
    case 'date':
      if (typeof v === 'number') return Number.isInteger(v) ? v : undefined;
      if (v instanceof Date) return Number.isNaN(v.getTime()) ? undefined : Math.floor(v.getTime() / 86_400_000);
      return typeof v === 'string' ? parseDateDays(v) : undefined;
    case 'ts':
      if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
      if (typeof v === 'bigint') return Number(v);
      if (v instanceof Date) return Number.isNaN(v.getTime()) ? undefined : v.getTime() * 1000;
      return typeof v === 'string' ? parseTimestampMicros(v)?.micros : undefined;
  }
}

/** Coerces a non-null literal to a column's type; a date column compared with a timestamp moves to the ts domain. */
function coerceLiteral(lit: Literal, t: DataType): Coerced | undefined {
  const d = domainOf(t);
  const v = lit.value;
  if (d === undefined || v === null) return undefined;
  switch (d) {
    case 'num': {
      let n: number;
      let rel = 0;
      if (typeof v === 'number' && lit.type === undefined) {
        n = v;
        if (lit.text !== undefined) rel = DOUBLE_REL;
      } else if (typeof v === 'string' && lit.type === undefined && NUMBER_TEXT_RE.test(v)) {
        n = Number(v);
        rel = DOUBLE_REL;
      } else return undefined;
      if (Number.isNaN(n)) return undefined;
      if (t === 'float') rel = Math.max(rel, FLOAT_REL);
      return { d, v: n, slack: Number.isFinite(n) ? Math.abs(n) * rel : 0 };
    }
    case 'str':
      return typeof v === 'string' && lit.type === undefined ? { d, v, slack: 0 } : undefined;
    case 'bool':
      return typeof v === 'boolean' ? { d, v: v ? 1 : 0, slack: 0 } : undefined;
    case 'date': {
      if (typeof v !== 'string') return undefined;
      if (lit.type === 'timestamp') {
        const ts = parseTimestampMicros(v);
        return ts ? { d: 'ts', v: ts.micros, slack: 0 } : undefined;
      }
      const days = parseDateDays(v);
      return days === undefined ? undefined : { d, v: days, slack: 0 };
    }
    case 'ts': {
      if (typeof v !== 'string') return undefined;
      if (lit.type === 'date') {
        const days = parseDateDays(v);
        return days === undefined ? undefined : { d, v: days * MICROS_PER_DAY, slack: 0 };
      }
      const ts = parseTimestampMicros(v);
      if (!ts || (t === 'timestamp_ntz' && ts.hasOffset)) return undefined;
      return { d, v: ts.micros, slack: 0 };
    }
  }
}

/** Orders strings by code point (= UTF-8 byte order), not by UTF-16 code unit as JS `<` does. */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      // Surrogates (code points >= U+10000) sort after U+E000..U+FFFF in code point order.
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x < y ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

function cmp(a: Key, b: Key): number {
  if (typeof a === 'string' && typeof b === 'string') return compareCodePoints(a, b);
  const x = a as number;
  const y = b as number;
  return x < y ? -1 : x > y ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------------------------
// Pruning: which truth values can the predicate take on some row of the file?

interface Outcomes {
  t: boolean;
  f: boolean;
  n: boolean;
}
const ALL: Outcomes = { t: true, f: true, n: true };
const NONE: Outcomes = { t: false, f: false, n: false };
const ONLY_NULL: Outcomes = { t: false, f: false, n: true };

interface Nullness {
  /** The file has no rows. */
  empty: boolean;
  /** Every row is null in this column. */
  allNull: boolean;
  /** No row is null in this column. */
  noNull: boolean;
}

function nullness(f: ColumnFacts | undefined): Nullness {
  if (!f) return { empty: false, allNull: false, noNull: false };
  const empty = f.numRecords === 0;
  if (f.exact) {
    const isNull = f.min === null || f.min === undefined;
    return { empty, allNull: isNull, noNull: !isNull };
  }
  const allNull = f.nullCount !== undefined && f.numRecords !== undefined && f.nullCount >= f.numRecords;
  return { empty, allNull, noNull: f.nullCount === 0 };
}

const FLIP: Record<CompareOp, CompareOp> = { '=': '=', '<>': '<>', '<': '>', '<=': '>=', '>': '<', '>=': '<=' };

interface Bounds {
  /** Every non-null value is >= lo (undefined: no lower bound). */
  lo?: Key;
  /** Every non-null value is <= hi (undefined: no upper bound). */
  hi?: Key;
  /** Every non-null value equals this exactly (undefined: not known). */
  point?: Key;
}

function columnBounds(f: ColumnFacts, t: DataType, d: Domain, target: Domain): Bounds {
  const conv = (k: Key): Key => (d === 'date' && target === 'ts' ? (k as number) * MICROS_PER_DAY : k);
  const min = f.min === undefined || f.min === null ? undefined : normColumnValue(f.min, d);
  const max = f.max === undefined || f.max === null ? undefined : normColumnValue(f.max, d);
  const b: Bounds = {};
  if (f.exact) {
    if (min === undefined) return b;
    const slack = typeof min === 'number' && d === 'num' ? typeSlack(min, t) : 0;
    if (slack === 0) return { lo: conv(min), hi: conv(min), point: conv(min) };
    return { lo: (min as number) - slack, hi: (min as number) + slack };
  }
  if (min !== undefined) {
    b.lo = typeof min === 'number' && d === 'num' ? min - typeSlack(min, t) : min;
  }
  if (max !== undefined) {
    if (typeof max === 'string') {
      if (max.length < STRING_PREFIX_LENGTH) b.hi = max;
    } else if (d === 'ts') b.hi = max + TIMESTAMP_MAX_WIDEN;
    else b.hi = d === 'num' ? max + typeSlack(max, t) : max;
  }
  if (b.lo !== undefined && b.hi !== undefined && cmp(b.lo, b.hi) === 0 && d !== 'ts') b.point = b.lo;
  if (b.lo !== undefined) b.lo = conv(b.lo);
  if (b.hi !== undefined) b.hi = conv(b.hi);
  if (b.point !== undefined) b.point = conv(b.point);
  return b;
}

function compareOutcomes(op: CompareOp, b: Bounds, lit: Coerced, mayBeNull: boolean): Outcomes {
  const vlo: Key = typeof lit.v === 'number' ? lit.v - lit.slack : lit.v;
  const vhi: Key = typeof lit.v === 'number' ? lit.v + lit.slack : lit.v;
  const canLt = b.lo === undefined || cmp(b.lo, vhi) < 0;
  const canLe = b.lo === undefined || cmp(b.lo, vhi) <= 0;
  const canGt = b.hi === undefined || cmp(b.hi, vlo) > 0;
  const canGe = b.hi === undefined || cmp(b.hi, vlo) >= 0;
  const canEq = canLe && canGe;
  const allEq = b.point !== undefined && lit.slack === 0 && cmp(b.point, lit.v) === 0;
  const n = mayBeNull;
  switch (op) {
    case '=':
      return { t: canEq, f: !allEq, n };
    case '<>':
      return { t: !allEq, f: canEq, n };
    case '<':
      return { t: canLt, f: canGe, n };
    case '<=':
      return { t: canLe, f: canGt, n };
    case '>':
      return { t: canGt, f: canLe, n };
    case '>=':
      return { t: canGe, f: canLt, n };
  }
}

type FactsFn = (column: string) => ColumnFacts | undefined;
type TypesFn = (column: string) => DataType | undefined;

function leafCompare(column: string, op: CompareOp, lit: Literal, facts: FactsFn, types: TypesFn): Outcomes {
  if (lit.value === null) return ONLY_NULL;
  const f = facts(column);
  const nl = nullness(f);
  if (nl.empty) return NONE;
  if (nl.allNull) return ONLY_NULL;
  const unknown: Outcomes = { t: true, f: true, n: !nl.noNull };
  const t = types(column);
  if (!f || !t) return unknown;
  const d = domainOf(t);
  const c = coerceLiteral(lit, t);
  if (!d || !c) return unknown;
  return compareOutcomes(op, columnBounds(f, t, d, c.d), c, !nl.noNull);
}

function analyze(e: Expr, facts: FactsFn, types: TypesFn): Outcomes {
  switch (e.kind) {
    case 'literal':
      if (e.value === null) return ONLY_NULL;
      if (typeof e.value === 'boolean') return { t: e.value, f: !e.value, n: false };
      return ALL;
    case 'column':
      return types(e.name) === 'boolean' ? leafCompare(e.name, '=', { kind: 'literal', value: true }, facts, types) : ALL;
    case 'compare': {
      const { left, right, op } = e;
      if (left.kind === 'column' && right.kind === 'literal') return leafCompare(left.name, op, right, facts, types);
      if (left.kind === 'literal' && right.kind === 'column') return leafCompare(right.name, FLIP[op], left, facts, types);
      if (left.kind === 'literal' && right.kind === 'literal') {
        try {
          const r = evaluatePredicate(e, () => undefined);
          return { t: r === true, f: r === false, n: r === null };
        } catch {
          return ALL;
        }
      }
      return ALL;
    }
    case 'in': {
      const any: Expr = { kind: 'or', args: e.list.map((item) => ({ kind: 'compare', op: '=', left: e.expr, right: item })) };
      return analyze(e.negated ? { kind: 'not', arg: any } : any, facts, types);
    }
    case 'isNull': {
      let o: Outcomes;
      if (e.expr.kind === 'column') {
        const nl = nullness(facts(e.expr.name));
        o = nl.empty ? NONE : { t: !nl.noNull, f: !nl.allNull, n: false };
      } else {
        const sub = analyze(e.expr, facts, types);
        o = { t: sub.n, f: sub.t || sub.f, n: false };
      }
      return e.negated ? { t: o.f, f: o.t, n: false } : o;
    }
    case 'and': {
      const os = e.args.map((a) => analyze(a, facts, types));
      return { t: os.every((o) => o.t), f: os.some((o) => o.f), n: os.some((o) => o.n) };
    }
    case 'or': {
      const os = e.args.map((a) => analyze(a, facts, types));
      return { t: os.some((o) => o.t), f: os.every((o) => o.f), n: os.some((o) => o.n) };
    }
    case 'not': {
      const o = analyze(e.arg, facts, types);
      return { t: o.f, f: o.t, n: o.n };
    }
  }
}

/**
 * Decides whether a file could contain rows matching `pred`. Returns false ONLY when no row can match (SQL
 * three-valued logic: rows where the predicate is NULL don't match). `facts(column)` gives facts for a LOGICAL
 * column name (undefined if unknown); `types` maps logical column name → DataType (for literal coercion).
 * Never throws: whatever it cannot interpret counts as "may match".
 */
export function mayMatch(
  pred: Expr,
  facts: (column: string) => ColumnFacts | undefined,
  types: (column: string) => DataType | undefined,
): boolean {
  try {
    return analyze(pred, facts, types).t;
  } catch {
    return true;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Exact evaluation

type ValuesFn = (column: string) => { value: unknown; type: DataType } | undefined;

/** An evaluated operand: a typed column value, a literal, or a truth value of a nested predicate. */
type Operand =
  | { kind: 'col'; name: string; value: unknown; type: DataType }
  | { kind: 'lit'; lit: Literal }
  | { kind: 'bool'; value: boolean | null };

function invalidInput(message: string, details: Record<string, unknown> = {}): LakehouseError {
  return new LakehouseError('INVALID_INPUT', message, details);
}

function lookup(values: ValuesFn, name: string): { value: unknown; type: DataType } {
  const v = values(name);
  if (!v) throw invalidInput(`predicate references column "${name}", which is not available here`, { column: name });
  return v;
}

function operand(e: Expr, values: ValuesFn): Operand {
  if (e.kind === 'column') {
    const { value, type } = lookup(values, e.name);
    return { kind: 'col', name: e.name, value, type };
  }
  if (e.kind === 'literal') return { kind: 'lit', lit: e };
  return { kind: 'bool', value: evalBool(e, values) };
}

function isNullOperand(o: Operand): boolean {
  if (o.kind === 'col') return o.value === null || o.value === undefined;
  if (o.kind === 'lit') return o.lit.value === null;
  return o.value === null;
}

function describeOperand(o: Operand): string {
  if (o.kind === 'col') return `column "${o.name}" (${typeToString(o.type)})`;
  if (o.kind === 'lit') return `literal ${JSON.stringify(o.lit.value)}`;
  return 'a boolean expression';
}

/** The natural domain of a literal when no column gives it a type. */
function literalAsOwnType(lit: Literal): DataType | undefined {
  if (lit.type === 'date') return 'date';
  if (lit.type === 'timestamp') return 'timestamp';
  if (typeof lit.value === 'number') return 'double';
  if (typeof lit.value === 'boolean') return 'boolean';
  if (typeof lit.value === 'string') return 'string';
  return undefined;
}

/** The type an operand carries by itself (a column's type; a literal's natural type). */
function ownType(o: Operand): DataType | undefined {
  if (o.kind === 'col') return o.type;
  if (o.kind === 'bool') return 'boolean';
  return literalAsOwnType(o.lit);
}

/**
 * Maps two non-null operands to comparable keys of one domain. A column (or a nested predicate) fixes the type a
 * literal is read as; between two literals a typed one (DATE/TIMESTAMP) or else the left one does. A date next to a
 * timestamp is widened to the timestamp domain.
 */
function keysOf(a: Operand, b: Operand): [Key, Key] {
  const mismatch = (): LakehouseError => invalidInput(`cannot compare ${describeOperand(a)} with ${describeOperand(b)}`);
  const intrinsic = (o: Operand): Coerced | undefined => {
    if (o.kind === 'bool') return { d: 'bool', v: o.value ? 1 : 0, slack: 0 };
    if (o.kind !== 'col') return undefined;
    const d = domainOf(o.type);
    const k = d === undefined ? undefined : normColumnValue(o.value, d);
    if (d === undefined || k === undefined) {
      throw invalidInput(`value ${JSON.stringify(o.value)} of column "${o.name}" is not a valid ${typeToString(o.type)}`, {
        column: o.name,
      });
    }
    return { d, v: k, slack: 0 };
  };
  let ka = intrinsic(a);
  let kb = intrinsic(b);
  if (!ka && !kb && a.kind === 'lit' && b.kind === 'lit') {
    const anchorB = b.lit.type !== undefined && a.lit.type === undefined;
    const anchor = anchorB ? b.lit : a.lit;
    const t = literalAsOwnType(anchor);
    const k = t === undefined ? undefined : coerceLiteral(anchor, t);
    if (!k) throw mismatch();
    if (anchorB) kb = k;
    else ka = k;
  }
  if (!ka && a.kind === 'lit') {
    const t = ownType(b);
    ka = t === undefined ? undefined : coerceLiteral(a.lit, t);
  }
  if (!kb && b.kind === 'lit') {
    const t = ownType(a);
    kb = t === undefined ? undefined : coerceLiteral(b.lit, t);
  }
  if (!ka || !kb) throw mismatch();
  if (ka.d === 'date' && kb.d === 'ts') ka = { d: 'ts', v: (ka.v as number) * MICROS_PER_DAY, slack: 0 };
  if (kb.d === 'date' && ka.d === 'ts') kb = { d: 'ts', v: (kb.v as number) * MICROS_PER_DAY, slack: 0 };
  if (ka.d !== kb.d) throw mismatch();
  return [ka.v, kb.v];
}

function applyOp(op: CompareOp, c: number): boolean {
  switch (op) {
    case '=':
      return c === 0;
    case '<>':
      return c !== 0;
    case '<':
      return c < 0;
    case '<=':
      return c <= 0;
    case '>':
      return c > 0;
    case '>=':
      return c >= 0;
  }
}

function evalCompare(op: CompareOp, left: Expr, right: Expr, values: ValuesFn): boolean | null {
  const a = operand(left, values);
  const b = operand(right, values);
  if (isNullOperand(a) || isNullOperand(b)) return null;
  const [x, y] = keysOf(a, b);
  return applyOp(op, cmp(x, y));
}

function not3(v: boolean | null): boolean | null {
  return v === null ? null : !v;
}

function evalBool(e: Expr, values: ValuesFn): boolean | null {
  switch (e.kind) {
    case 'literal':
      if (e.value === null || typeof e.value === 'boolean') return e.value;
      throw invalidInput(`literal ${JSON.stringify(e.value)} is not a boolean condition`);
    case 'column': {
      const { value, type } = lookup(values, e.name);
      if (type !== 'boolean') throw invalidInput(`column "${e.name}" of type ${typeToString(type)} is not a boolean condition`);
      if (value === null || value === undefined) return null;
      const k = normColumnValue(value, 'bool');
      if (k === undefined) throw invalidInput(`value ${JSON.stringify(value)} of column "${e.name}" is not a boolean`);
      return k === 1;
    }
    case 'compare':
      return evalCompare(e.op, e.left, e.right, values);
    case 'in': {
      let sawNull = false;
      for (const item of e.list) {
        const r = evalCompare('=', e.expr, item, values);
        if (r === true) return !e.negated;
        if (r === null) sawNull = true;
      }
      return sawNull ? null : e.negated;
    }
    case 'isNull': {
      const isNull = isNullOperand(operand(e.expr, values));
      return e.negated ? !isNull : isNull;
    }
    case 'and': {
      let sawNull = false;
      for (const a of e.args) {
        const r = evalBool(a, values);
        if (r === false) return false;
        if (r === null) sawNull = true;
      }
      return sawNull ? null : true;
    }
    case 'or': {
      let sawNull = false;
      for (const a of e.args) {
        const r = evalBool(a, values);
        if (r === true) return true;
        if (r === null) sawNull = true;
      }
      return sawNull ? null : false;
    }
    case 'not':
      return not3(evalBool(e.arg, values));
  }
}

/**
 * Exact evaluation with SQL three-valued logic over known column values (used for partition-only predicates such as
 * replaceWhere): true, false, or null (unknown). Values may be raw (partition strings, stats-like texts) or normalized
 * (days, micros). Throws INVALID_INPUT if a referenced column is not in `values`, or when a comparison mixes types
 * that cannot be compared (e.g. an integer column with 'abc').
 */
export function evaluatePredicate(
  pred: Expr,
  values: (column: string) => { value: unknown; type: DataType } | undefined,
): boolean | null {
  return evalBool(pred, values);
}
