import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LakehouseError, lexSql, type LexemeKind } from '../src/index.js';

const kinds = (sql: string): string[] => lexSql(sql).map((t) => `${t.kind}:${t.value}`);

describe('lexSql', () => {
  it.each<[string, string[]]>([
    ['SELECT a.b, 1.5e3 FROM t', ['word:SELECT', 'word:a', 'dot:.', 'word:b', 'comma:,', 'number:1.5e3', 'word:FROM', 'word:t']],
    [`'it''s' E'a\\'b' $$x'y$$ $q$ $$ $q$`, ["string:it's", "string:a'b", "string:x'y", 'string: $$ ']],
    ['"Odd ""name""" x', ['ident:Odd "name"', 'word:x']],
    ['a::int ->> b <> c != d || e', ['word:a', 'op:::', 'word:int', 'op:->>', 'word:b', 'op:<>', 'word:c', 'op:!=', 'word:d', 'op:||', 'word:e']],
    ['f($1, ?) [1] {a: 1};', ['word:f', 'open:(', 'param:$1', 'comma:,', 'param:?', 'close:)', 'open:[', 'number:1', 'close:]', 'open:{', 'word:a', 'op::', 'number:1', 'close:}', 'semicolon:;']],
    ['x /* a /* nested */ still comment */ y -- tail\nz', ['word:x', 'word:y', 'word:z']],
    ['t.5', ['word:t', 'dot:.', 'number:5']],
    ['.5 + x', ['number:.5', 'op:+', 'word:x']],
    ['ünïcödé_1$', ['word:ünïcödé_1$']],
  ])('%s', (sql, expected) => {
    expect(kinds(sql)).toEqual(expected);
  });

  it.each([
    ["SELECT 'open", 'unterminated string starting at offset 7'],
    ['SELECT "open', 'unterminated quoted identifier starting at offset 7'],
    ['SELECT /* a /* b */', 'unterminated /* comment starting at offset 7'],
    ['SELECT $t$ body', 'unterminated $t$ string starting at offset 7'],
  ])('strict mode refuses %s', (sql, message) => {
    let caught: unknown;
    try {
      lexSql(sql, { strict: true });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(LakehouseError);
    expect((caught as LakehouseError).code).toBe('INVALID_INPUT');
    expect((caught as LakehouseError).message).toBe(message);
    expect((caught as LakehouseError).details).toEqual({ offset: 7 });
    // Lenient mode runs the construct to the end of the text instead: SELECT, then (unless a comment) one lexeme to the end.
    const lenient = lexSql(sql);
    expect(lenient[0].value).toBe('SELECT');
    expect(lenient.length === 1 || lenient[1].end === sql.length).toBe(true);
  });

  it('covers the text: lexemes are ordered, disjoint, and their text is the source slice (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'ab1 .,;()[]\'"$-/*\n:<>=!|eE?'.split('')), maxLength: 60 }), (sql) => {
        const lexemes = lexSql(sql);
        let at = 0;
        for (const t of lexemes) {
          expect(t.start).toBeGreaterThanOrEqual(at);
          expect(t.end).toBeGreaterThan(t.start);
          expect(t.text).toBe(sql.slice(t.start, t.end));
          const known: LexemeKind[] = ['word', 'ident', 'string', 'number', 'op', 'open', 'close', 'comma', 'semicolon', 'dot', 'param'];
          expect(known).toContain(t.kind);
          at = t.end;
        }
        expect(at).toBeLessThanOrEqual(sql.length);
      }),
      { numRuns: 500 },
    );
  });
});
