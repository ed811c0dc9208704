// Parses the type strings of the detail API (`struct<a: int, b: array<string>>`, `map<string, long>`) into a tree for display.

/** A type as a tree: leaves are primitive type names, containers list their children. */
export type TypeNode =
  | { kind: 'primitive'; name: string }
  | { kind: 'array'; element: TypeNode }
  | { kind: 'map'; key: TypeNode; value: TypeNode }
  | { kind: 'struct'; fields: { name: string; type: TypeNode }[] };

/** The tree of a type string; a string that does not parse is kept whole as one primitive. */
export function parseTypeString(s: string): TypeNode {
  try {
    const p = { s, i: 0 };
    const t = parseType(p);
    skipSpace(p);
    if (p.i !== s.length) throw new Error('trailing text');
    return t;
  } catch {
    return { kind: 'primitive', name: s };
  }
}

interface Cursor {
  s: string;
  i: number;
}

function skipSpace(p: Cursor): void {
  while (p.i < p.s.length && p.s[p.i] === ' ') p.i++;
}

function expect(p: Cursor, ch: string): void {
  skipSpace(p);
  if (p.s[p.i] !== ch) throw new Error(`expected ${ch} at ${p.i}`);
  p.i++;
}

function parseType(p: Cursor): TypeNode {
  skipSpace(p);
  const rest = p.s.slice(p.i);
  if (rest.startsWith('array<')) {
    p.i += 6;
    const element = parseType(p);
    expect(p, '>');
    return { kind: 'array', element };
  }
  if (rest.startsWith('map<')) {
    p.i += 4;
    const key = parseType(p);
    expect(p, ',');
    const value = parseType(p);
    expect(p, '>');
    return { kind: 'map', key, value };
  }
  if (rest.startsWith('struct<')) {
    p.i += 7;
    const fields: { name: string; type: TypeNode }[] = [];
    skipSpace(p);
    if (p.s[p.i] === '>') {
      p.i++;
      return { kind: 'struct', fields };
    }
    for (;;) {
      skipSpace(p);
      const colon = p.s.indexOf(':', p.i);
      if (colon < 0) throw new Error('field without type');
      const name = p.s.slice(p.i, colon).trim();
      p.i = colon + 1;
      fields.push({ name, type: parseType(p) });
      skipSpace(p);
      if (p.s[p.i] === ',') {
        p.i++;
        continue;
      }
      expect(p, '>');
      return { kind: 'struct', fields };
    }
  }
  const m = /^[a-z_]+(\(\s*\d+\s*,\s*\d+\s*\))?/i.exec(rest);
  if (!m) throw new Error(`no type at ${p.i}`);
  p.i += m[0].length;
  return { kind: 'primitive', name: m[0] };
}

/** Short label of a type: the primitive name, `array<…>`, `map<…>` or `struct<n fields>`. */
export function typeLabel(t: TypeNode): string {
  switch (t.kind) {
    case 'primitive':
      return t.name;
    case 'array':
      return t.element.kind === 'primitive' ? `array<${t.element.name}>` : `array<${typeLabel(t.element)}>`;
    case 'map':
      return `map<${typeLabel(t.key)}, ${typeLabel(t.value)}>`;
    case 'struct':
      return `struct<${t.fields.length} field${t.fields.length === 1 ? '' : 's'}>`;
  }
}

/** True for array, map and struct. */
export function isNested(t: TypeNode): boolean {
  return t.kind !== 'primitive';
}
