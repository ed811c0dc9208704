import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parsePredicate, predicateToSql, referencedColumns, type Expr, type Literal } from '../src/delta/expression.js';
import { isLakehouseError } from '../src/errors.js';

const col = (name: string): Expr => ({ kind: 'column', name });
const lit = (value: Literal['value'], type?: Literal['type']): Literal =>
  type ? { kind: 'literal', value, type } : { kind: 'literal', value };
const cmp = (left: Expr, op: '=' | '<>' | '<' | '<=' | '>' | '>=', right: Expr): Expr => ({ kind: 'compare', op, left, right });
const and = (...args: Expr[]): Expr => ({ kind: 'and', args });
const or = (...args: Expr[]): Expr => ({ kind: 'or', args });
const not = (arg: Expr): Expr => ({ kind: 'not', arg });

describe('parsePredicate', () => {
  const cases: Array<[string, Expr]> = [
    ['a = 1', cmp(col('a'), '=', lit(1))],
    ['a == 1', cmp(col('a'), '=', lit(1))],
    ['a != 1', cmp(col('a'), '<>', lit(1))],
    ['a <> 1', cmp(col('a'), '<>', lit(1))],
    ['a<=-2.5', cmp(col('a'), '<=', lit(-2.5))],
    ['a >= .5', cmp(col('a'), '>=', lit(0.5))],
    ['a > 1e3', cmp(col('a'), '>', lit(1000))],
    ['a < - 7', cmp(col('a'), '<', lit(-7))],
    ['MixedCase_1 = TRUE', cmp(col('MixedCase_1'), '=', lit(true))],
    ['flag = false', cmp(col('flag'), '=', lit(false))],
    ['x IS NULL', { kind: 'isNull', expr: col('x'), negated: false }],
    ['x is not null', { kind: 'isNull', expr: col('x'), negated: true }],
    ['x = Null', cmp(col('x'), '=', lit(null))],
    // precedence: NOT binds tighter than AND, AND tighter than OR
    ['a = 1 OR b = 2 AND c = 3', or(cmp(col('a'), '=', lit(1)), and(cmp(col('b'), '=', lit(2)), cmp(col('c'), '=', lit(3))))],
    ['(a = 1 OR b = 2) AND c = 3', and(or(cmp(col('a'), '=', lit(1)), cmp(col('b'), '=', lit(2))), cmp(col('c'), '=', lit(3)))],
    ['NOT a = 1 AND b = 2', and(not(cmp(col('a'), '=', lit(1))), cmp(col('b'), '=', lit(2)))],
    ['NOT (a = 1 AND b = 2)', not(and(cmp(col('a'), '=', lit(1)), cmp(col('b'), '=', lit(2))))],
    ['NOT NOT a', not(not(col('a')))],
    ['a AND b AND c', and(col('a'), col('b'), col('c'))],
    ['(a AND b) AND c', and(and(col('a'), col('b')), col('c'))],
    ['a OR b OR c', or(col('a'), col('b'), col('c'))],
    // quoting and escapes
    ['"my col" = \'it\'\'s\'', cmp(col('my col'), '=', lit("it's"))],
    ['"say ""hi""" = 1', cmp(col('say "hi"'), '=', lit(1))],
    ['`back``tick` = 1', cmp(col('back`tick'), '=', lit(1))],
    ['a.b.c = 1', cmp(col('a.b.c'), '=', lit(1))],
    ['"a b".`c` = 1', cmp(col('a b.c'), '=', lit(1))],
    ["s = ''", cmp(col('s'), '=', lit(''))],
    ["s = '😈 é'", cmp(col('s'), '=', lit('😈 é'))],
    // IN, BETWEEN
    ['a IN (1, 2, NULL)', { kind: 'in', expr: col('a'), list: [lit(1), lit(2), lit(null)], negated: false }],
    ["a not in ('x')", { kind: 'in', expr: col('a'), list: [lit('x')], negated: true }],
    ['NOT a IN (1)', not({ kind: 'in', expr: col('a'), list: [lit(1)], negated: false })],
    ['a BETWEEN 1 AND 5', and(cmp(col('a'), '>=', lit(1)), cmp(col('a'), '<=', lit(5)))],
    ['a NOT BETWEEN 1 AND 5', or(cmp(col('a'), '<', lit(1)), cmp(col('a'), '>', lit(5)))],
    [
      'a BETWEEN 1 AND 5 AND b = 2',
      and(and(cmp(col('a'), '>=', lit(1)), cmp(col('a'), '<=', lit(5))), cmp(col('b'), '=', lit(2))),
    ],
    // typed literals, and date/timestamp as plain column names
    ["d = DATE '2024-01-01'", cmp(col('d'), '=', lit('2024-01-01', 'date'))],
    ["ts < timestamp '2024-01-01 10:00:00'", cmp(col('ts'), '<', lit('2024-01-01 10:00:00', 'timestamp'))],
    ["ts < TIMESTAMP '2024-01-01T10:00:00.123+01:00'", cmp(col('ts'), '<', lit('2024-01-01T10:00:00.123+01:00', 'timestamp'))],
    ["ts < TIMESTAMPTZ '2024-01-01 10:00:00+01:00'", cmp(col('ts'), '<', lit('2024-01-01 10:00:00+01:00', 'timestamp'))],
    ["date = '2024-01-01'", cmp(col('date'), '=', lit('2024-01-01'))],
    ['timestamp IS NULL', { kind: 'isNull', expr: col('timestamp'), negated: false }],
    // column vs column, literal on the left
    ['a < b', cmp(col('a'), '<', col('b'))],
    ['5 > a', cmp(lit(5), '>', col('a'))],
    ['(a = 1) = TRUE', cmp(cmp(col('a'), '=', lit(1)), '=', lit(true))],
  ];
  it.each(cases)('%s', (sql, expected) => {
    expect(parsePredicate(sql)).toEqual(expected);
  });

  it('keeps the exact text of numbers a double cannot hold', () => {
    expect(parsePredicate('id = 9007199254740993')).toEqual(
      cmp(col('id'), '=', { kind: 'literal', value: 9007199254740992, text: '9007199254740993' }),
    );
    expect(parsePredicate('x = -0.1000000000000000000001')).toEqual(
      cmp(col('x'), '=', { kind: 'literal', value: -0.1, text: '-0.1000000000000000000001' }),
    );
    // exactly representable (or the shortest text of a double): no text kept
    expect(parsePredicate('x = 9007199254740992')).toEqual(cmp(col('x'), '=', lit(9007199254740992)));
    expect(parsePredicate('x = 0.30000000000000004')).toEqual(cmp(col('x'), '=', lit(0.30000000000000004)));
    expect(predicateToSql(parsePredicate('id = 9007199254740993'))).toBe('"id" = 9007199254740993');
  });

  const errors: Array<[string, number, RegExp]> = [
    ["a LIKE 'x%'", 2, /LIKE is not supported/],
    ["a NOT LIKE 'x%'", 6, /LIKE is not supported/],
    ['', 0, /expected an expression/],
    ['a =', 3, /expected a column name or a value, found end of input/],
    ["a = 'abc", 4, /unterminated string literal/],
    ['"abc = 1', 0, /unterminated quoted identifier/],
    ['(a = 1', 6, /expected '\)'/],
    ['a = 1)', 5, /expected AND, OR or end of input, found '\)'/],
    ['a = 1 b = 2', 6, /expected AND, OR or end of input, found 'b'/],
    ['a IN 1', 5, /expected '\(' after IN/],
    ['a IN (1 2)', 8, /expected ',' or '\)' in the IN list/],
    ['a IS 5', 5, /expected NULL or NOT NULL after IS/],
    ['a BETWEEN 1 OR 2', 12, /expected AND in BETWEEN/],
    ["d = DATE '2024-02-30'", 9, /expected a date 'YYYY-MM-DD' after DATE/],
    ["t = TIMESTAMP 'noon'", 14, /expected a timestamp/],
    ['a = 1 AND', 9, /expected a column name or a value/],
    ['AND = 1', 0, /expected a column name or a value/],
    ['a = -b', 5, /expected a number after '-'/],
    ['a = 12abc', 4, /malformed number/],
    ['a ; b', 2, /unexpected character ';'/],
    ['"" = 1', 0, /empty quoted identifier/],
    ['"a.b" = 1', 0, /containing '\.'/],
    ['a. = 1', 3, /expected a column name/],
  ];
  it.each(errors)('rejects %j at position %i', (sql, position, message) => {
    let caught: unknown;
    try {
      parsePredicate(sql);
    } catch (e) {
      caught = e;
    }
    expect(isLakehouseError(caught, 'INVALID_INPUT')).toBe(true);
    const err = caught as Error & { details: Record<string, unknown> };
    expect(err.message).toMatch(message);
    expect(err.message).toContain(`position ${position}`);
    expect(err.details.position).toBe(position);
  });
});

describe('predicateToSql', () => {
  const cases: Array<[Expr, string]> = [
    [cmp(col('a'), '=', lit(1)), '"a" = 1'],
    [cmp(col('we"ird'), '<>', lit("it's")), `"we""ird" <> 'it''s'`],
    [cmp(col('s.t'), '>=', lit(-1.5)), '"s"."t" >= -1.5'],
    [or(and(col('a'), col('b')), col('c')), '"a" AND "b" OR "c"'],
    [and(or(col('a'), col('b')), col('c')), '("a" OR "b") AND "c"'],
    [and(and(col('a'), col('b')), col('c')), '("a" AND "b") AND "c"'],
    [not(and(col('a'), col('b'))), 'NOT ("a" AND "b")'],
    [not(cmp(col('a'), '<', lit(5))), 'NOT "a" < 5'],
    [{ kind: 'in', expr: col('a'), list: [lit('x'), lit(null)], negated: true }, `"a" NOT IN ('x', NULL)`],
    [{ kind: 'isNull', expr: cmp(col('a'), '=', lit(1)), negated: true }, '("a" = 1) IS NOT NULL'],
    [cmp(col('d'), '<', lit('2024-01-01', 'date')), `"d" < DATE '2024-01-01'`],
    [cmp(col('t'), '<', lit('2024-01-01 10:00:00', 'timestamp')), `"t" < TIMESTAMP '2024-01-01 10:00:00'`],
    [cmp(col('t'), '<', lit('2024-01-01T10:00:00+01:00', 'timestamp')), `"t" < TIMESTAMPTZ '2024-01-01T10:00:00+01:00'`],
    [cmp(col('t'), '<', lit('2024-01-01T10:00:00Z', 'timestamp')), `"t" < TIMESTAMPTZ '2024-01-01T10:00:00Z'`],
    [cmp(col('b'), '=', lit(false)), '"b" = FALSE'],
    [and(), 'TRUE'],
    [or(), 'FALSE'],
  ];
  it.each(cases)('renders %j', (e, sql) => {
    expect(predicateToSql(e)).toBe(sql);
  });
});

describe('referencedColumns', () => {
  it('lists each referenced column once in order of appearance', () => {
    const e = parsePredicate("b = 1 AND (a IN (c, 2) OR NOT b IS NULL) AND x.y BETWEEN a AND 'z'");
    expect(referencedColumns(e)).toEqual(['b', 'a', 'c', 'x.y']);
    expect(referencedColumns(parsePredicate('1 = 1'))).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Round trip: parsePredicate(predicateToSql(e)) equals e for every generated expression.

const nameChar = fc.constantFrom('a', 'Z', '_', '0', ' ', '"', '`', "'", 'é', '😈', '(', '-');
const namePart = fc.string({ unit: nameChar, minLength: 1, maxLength: 5 });
const columnArb: fc.Arbitrary<Expr> = fc
  .array(namePart, { minLength: 1, maxLength: 3 })
  .map((parts) => ({ kind: 'column', name: parts.join('.') }));

const stringChar = fc.constantFrom('a', "'", '"', ' ', '\n', '\\', '%', 'é', '😈', '\u0000', 'ｚ');
const dateArb = fc.date({ min: new Date('1000-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true });
const literalArb: fc.Arbitrary<Expr> = fc.oneof(
  fc.constant(lit(null)),
  fc.boolean().map((b) => lit(b)),
  fc.integer({ min: -1_000_000, max: 1_000_000 }).map((n) => lit(n)),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => lit(Object.is(n, -0) ? 0 : n)),
  fc.string({ unit: stringChar, maxLength: 6 }).map((s) => lit(s)),
  dateArb.map((d) => lit(d.toISOString().slice(0, 10), 'date')),
  dateArb.map((d) => lit(d.toISOString().replace('T', ' ').replace('Z', ''), 'timestamp')),
  fc
    .tuple(dateArb, fc.constantFrom('Z', '+01:00', '-05:30', '+0200'))
    .map(([d, zone]) => lit(d.toISOString().replace('Z', zone), 'timestamp')),
);
const opArb = fc.constantFrom('=', '<>', '<', '<=', '>', '>=' as const);

const { expr: exprArb } = fc.letrec<{ expr: Expr; operand: Expr }>((tie) => ({
  expr: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    columnArb,
    literalArb,
    fc.record({ kind: fc.constant('compare' as const), op: opArb, left: tie('operand'), right: tie('operand') }),
    fc.record({
      kind: fc.constant('in' as const),
      expr: tie('operand'),
      list: fc.array(tie('operand'), { minLength: 1, maxLength: 3 }),
      negated: fc.boolean(),
    }),
    fc.record({ kind: fc.constant('isNull' as const), expr: tie('operand'), negated: fc.boolean() }),
    fc.record({ kind: fc.constant('and' as const), args: fc.array(tie('expr'), { minLength: 2, maxLength: 3 }) }),
    fc.record({ kind: fc.constant('or' as const), args: fc.array(tie('expr'), { minLength: 2, maxLength: 3 }) }),
    fc.record({ kind: fc.constant('not' as const), arg: tie('expr') }),
  ),
  operand: fc.oneof({ depthSize: 'small' }, columnArb, literalArb, tie('expr')),
}));

describe('round trip', () => {
  it('parsePredicate(predicateToSql(e)) equals e', () => {
    fc.assert(
      fc.property(exprArb, (e) => {
        const sql = predicateToSql(e);
        expect(parsePredicate(sql)).toEqual(e);
      }),
      { numRuns: 500 },
    );
  });
});
