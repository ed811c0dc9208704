import { LakehouseError } from '../errors.js';
import type { DataType, StructField, StructType } from '../delta/schema.js';
import { typeToString } from '../delta/schema.js';

// Mapping between Delta types (PROTOCOL.md: Schema Serialization Format) and DuckDB SQL types.
// Pure: used by the Node writer and by the browser (DuckDB-WASM).

/** Largest decimal precision Delta (and DuckDB) allow. */
const MAX_DECIMAL_PRECISION = 38;

/** Quotes an identifier for DuckDB SQL: always double-quoted, inner `"` doubled, so any name round-trips. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Quotes a string literal for DuckDB SQL: single-quoted, inner `'` doubled (no backslash escapes in DuckDB). */
export function quoteString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

function checkDecimal(precision: number, scale: number, where: string): void {
  if (!Number.isInteger(precision) || precision < 1 || precision > MAX_DECIMAL_PRECISION) {
    throw new LakehouseError(
      'INVALID_INPUT',
      `decimal precision ${precision} of ${where} is outside 1..${MAX_DECIMAL_PRECISION}`,
      { precision, scale },
    );
  }
  if (!Number.isInteger(scale) || scale < 0 || scale > precision) {
    throw new LakehouseError('INVALID_INPUT', `decimal scale ${scale} of ${where} is outside 0..${precision}`, {
      precision,
      scale,
    });
  }
}

/**
 * The DuckDB SQL type for a Delta type: string→VARCHAR, long→BIGINT, integer→INTEGER, short→SMALLINT,
 * byte→TINYINT, float→FLOAT, double→DOUBLE, boolean→BOOLEAN, binary→BLOB, date→DATE, timestamp and
 * timestamp_ntz→TIMESTAMP (holding the UTC wall clock), decimal(p,s)→DECIMAL(p,s), struct→STRUCT("a" T, ...),
 * array→T[], map→MAP(K, V). Throws INVALID_INPUT for a decimal precision above 38 (or an invalid scale) and for an
 * empty struct, UNSUPPORTED_FEATURE for variant.
 */
export function duckDbType(t: DataType): string {
  if (typeof t === 'string') {
    switch (t) {
      case 'string':
        return 'VARCHAR';
      case 'long':
        return 'BIGINT';
      case 'integer':
        return 'INTEGER';
      case 'short':
        return 'SMALLINT';
      case 'byte':
        return 'TINYINT';
      case 'float':
        return 'FLOAT';
      case 'double':
        return 'DOUBLE';
      case 'boolean':
        return 'BOOLEAN';
      case 'binary':
        return 'BLOB';
      case 'date':
        return 'DATE';
      case 'timestamp':
      case 'timestamp_ntz':
        return 'TIMESTAMP';
      case 'variant':
        throw new LakehouseError('UNSUPPORTED_FEATURE', 'the variant type has no DuckDB equivalent here', {
          feature: 'variantType',
        });
    }
  }
  switch (t.type) {
    case 'decimal':
      checkDecimal(t.precision, t.scale, typeToString(t));
      return `DECIMAL(${t.precision},${t.scale})`;
    case 'struct':
      if (t.fields.length === 0) {
        throw new LakehouseError('INVALID_INPUT', 'an empty struct has no DuckDB equivalent', {});
      }
      return `STRUCT(${t.fields.map((f) => `${quoteIdent(f.name)} ${duckDbType(f.type)}`).join(', ')})`;
    case 'array':
      return `${duckDbType(t.elementType)}[]`;
    case 'map':
      return `MAP(${duckDbType(t.keyType)}, ${duckDbType(t.valueType)})`;
  }
}

/** DuckDB type names (and the aliases DuckDB accepts) that map to a Delta primitive. */
const SIMPLE_TYPES: Record<string, DataType> = {
  VARCHAR: 'string',
  TEXT: 'string',
  STRING: 'string',
  CHAR: 'string',
  BPCHAR: 'string',
  UUID: 'string',
  JSON: 'string',
  BIGINT: 'long',
  INT8: 'long',
  LONG: 'long',
  INTEGER: 'integer',
  INT: 'integer',
  INT4: 'integer',
  SIGNED: 'integer',
  SMALLINT: 'short',
  INT2: 'short',
  SHORT: 'short',
  TINYINT: 'byte',
  INT1: 'byte',
  UTINYINT: 'short',
  USMALLINT: 'integer',
  UINTEGER: 'long',
  UBIGINT: { type: 'decimal', precision: 20, scale: 0 },
  HUGEINT: { type: 'decimal', precision: 38, scale: 0 },
  INT128: { type: 'decimal', precision: 38, scale: 0 },
  FLOAT: 'float',
  FLOAT4: 'float',
  REAL: 'float',
  DOUBLE: 'double',
  FLOAT8: 'double',
  'DOUBLE PRECISION': 'double',
  BOOLEAN: 'boolean',
  BOOL: 'boolean',
  LOGICAL: 'boolean',
  BLOB: 'binary',
  BYTEA: 'binary',
  BINARY: 'binary',
  VARBINARY: 'binary',
  DATE: 'date',
  TIMESTAMP: 'timestamp',
  DATETIME: 'timestamp',
  TIMESTAMP_US: 'timestamp',
  TIMESTAMP_NS: 'timestamp',
  TIMESTAMP_MS: 'timestamp',
  TIMESTAMP_S: 'timestamp',
  'TIMESTAMP WITH TIME ZONE': 'timestamp',
  TIMESTAMPTZ: 'timestamp',
  // A column DuckDB could only type as NULL (e.g. all values null in a JSON file): the widest choice.
  NULL: 'string',
  '"NULL"': 'string',
};

/** DuckDB types with no Delta equivalent, with the reason given to the user. */
const NO_DELTA_TYPE: Record<string, string> = {
  TIME: 'Delta has no time-of-day type',
  'TIME WITH TIME ZONE': 'Delta has no time-of-day type',
  TIMETZ: 'Delta has no time-of-day type',
  TIME_NS: 'Delta has no time-of-day type',
  INTERVAL: 'Delta has no interval type',
  UHUGEINT: 'its values need 39 digits, more than a Delta decimal holds',
  BIT: 'Delta has no bit-string type',
  BITSTRING: 'Delta has no bit-string type',
  VARINT: 'Delta has no arbitrary-precision integer type',
  BIGNUM: 'Delta has no arbitrary-precision integer type',
  UNION: 'Delta has no union type',
  GEOMETRY: 'Delta has no geometry type',
  VARIANT: 'this lakehouse does not write the Delta variant type',
};

/** Recursive-descent reader of a type string as printed by DuckDB (`typeof`, DESCRIBE, column types). */
class TypeParser {
  private pos = 0;

  constructor(
    private readonly text: string,
    private readonly column: string,
  ) {}

  parseAll(): DataType {
    const t = this.parseType(this.column);
    this.skipSpace();
    if (this.pos < this.text.length) throw this.malformed(`unexpected "${this.text.slice(this.pos)}"`);
    return t;
  }

  private parseType(path: string): DataType {
    let t = this.parseBase(path);
    // Suffixes: `[]` (LIST) and `[n]` (fixed-size ARRAY) both become a Delta array.
    for (;;) {
      this.skipSpace();
      if (this.peek() !== '[') break;
      this.pos++;
      this.skipSpace();
      while (/[0-9]/.test(this.peek())) this.pos++;
      this.expect(']');
      t = { type: 'array', elementType: t, containsNull: true };
    }
    return t;
  }

  private parseBase(path: string): DataType {
    this.skipSpace();
    const word = this.readWord();
    if (word === '') {
      if (this.peek() === '"') {
        // A quoted type name (DuckDB prints the NULL type as "NULL").
        const name = this.readQuoted();
        return this.simple(`"${name.toUpperCase()}"`, path);
      }
      throw this.malformed(`expected a type at position ${this.pos}`);
    }
    let name = word.toUpperCase();
    // Multi-word names: TIMESTAMP WITH TIME ZONE, TIME WITH TIME ZONE, DOUBLE PRECISION.
    if ((name === 'TIMESTAMP' || name === 'TIME') && this.lookaheadWords(['WITH', 'TIME', 'ZONE'])) {
      name = `${name} WITH TIME ZONE`;
    } else if ((name === 'TIMESTAMP' || name === 'TIME') && this.lookaheadWords(['WITHOUT', 'TIME', 'ZONE'])) {
      // TIMESTAMP WITHOUT TIME ZONE is plain TIMESTAMP.
    } else if (name === 'DOUBLE' && this.lookaheadWords(['PRECISION'])) {
      name = 'DOUBLE PRECISION';
    }
    switch (name) {
      case 'STRUCT':
      case 'ROW':
        return this.parseStruct(path);
      case 'MAP':
        return this.parseMap(path);
      case 'LIST': {
        // Old spelling LIST(T).
        this.expect('(');
        const elementType = this.parseType(`${path}.element`);
        this.expect(')');
        return { type: 'array', elementType, containsNull: true };
      }
      case 'DECIMAL':
      case 'NUMERIC':
      case 'DEC':
        return this.parseDecimal(path);
      case 'ENUM':
        this.skipParenthesized();
        return 'string';
      case 'VARCHAR':
      case 'CHAR':
      case 'BPCHAR':
      case 'TEXT':
      case 'STRING':
        // VARCHAR(n): the length is not enforced by DuckDB, nor by Delta.
        this.skipSpace();
        if (this.peek() === '(') this.skipParenthesized();
        return 'string';
      default:
        if (name in NO_DELTA_TYPE) {
          this.skipSpace();
          if (this.peek() === '(') this.skipParenthesized();
          throw new LakehouseError(
            'INVALID_INPUT',
            `column "${path}" has DuckDB type ${name}, which cannot be stored in a Delta table: ${NO_DELTA_TYPE[name]}`,
            { column: path, duckdbType: this.text },
          );
        }
        return this.simple(name, path);
    }
  }

  private simple(name: string, path: string): DataType {
    const t = SIMPLE_TYPES[name];
    if (t === undefined) {
      throw new LakehouseError('INVALID_INPUT', `column "${path}" has DuckDB type ${name}, which has no Delta equivalent`, {
        column: path,
        duckdbType: this.text,
      });
    }
    return typeof t === 'string' ? t : { ...t };
  }

  private parseDecimal(path: string): DataType {
    this.skipSpace();
    // DuckDB's default DECIMAL is DECIMAL(18,3).
    if (this.peek() !== '(') return { type: 'decimal', precision: 18, scale: 3 };
    this.pos++;
    const precision = this.readInt();
    this.skipSpace();
    let scale = 0;
    if (this.peek() === ',') {
      this.pos++;
      scale = this.readInt();
    }
    this.expect(')');
    checkDecimal(precision, scale, `column "${path}"`);
    return { type: 'decimal', precision, scale };
  }

  private parseStruct(path: string): StructType {
    this.expect('(');
    const fields: StructField[] = [];
    for (;;) {
      this.skipSpace();
      const name = this.peek() === '"' ? this.readQuoted() : this.readFieldName();
      if (name === '') throw this.malformed(`expected a struct field name at position ${this.pos}`);
      const type = this.parseType(`${path}.${name}`);
      fields.push({ name, type, nullable: true, metadata: {} });
      this.skipSpace();
      if (this.peek() === ',') {
        this.pos++;
        continue;
      }
      this.expect(')');
      return { type: 'struct', fields };
    }
  }

  private parseMap(path: string): DataType {
    this.expect('(');
    const keyType = this.parseType(`${path}.key`);
    this.expect(',');
    const valueType = this.parseType(`${path}.value`);
    this.expect(')');
    return { type: 'map', keyType, valueType, valueContainsNull: true };
  }

  private peek(): string {
    return this.text[this.pos] ?? '';
  }

  private skipSpace(): void {
    while (/\s/.test(this.peek())) this.pos++;
  }

  private expect(c: string): void {
    this.skipSpace();
    if (this.peek() !== c) throw this.malformed(`expected "${c}" at position ${this.pos}`);
    this.pos++;
  }

  private readWord(): string {
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.text.slice(this.pos));
    if (!m) return '';
    this.pos += m[0].length;
    return m[0];
  }

  /** An unquoted struct field name: anything up to the whitespace before its type. */
  private readFieldName(): string {
    const m = /^[^\s,()"]+/.exec(this.text.slice(this.pos));
    if (!m) return '';
    this.pos += m[0].length;
    return m[0];
  }

  private readQuoted(): string {
    // Called with the cursor on the opening quote; `""` inside is one quote.
    let out = '';
    this.pos++;
    for (;;) {
      if (this.pos >= this.text.length) throw this.malformed('unterminated quoted name');
      const c = this.text[this.pos++];
      if (c === '"') {
        if (this.peek() === '"') {
          out += '"';
          this.pos++;
          continue;
        }
        return out;
      }
      out += c;
    }
  }

  private readInt(): number {
    this.skipSpace();
    const m = /^\d+/.exec(this.text.slice(this.pos));
    if (!m) throw this.malformed(`expected a number at position ${this.pos}`);
    this.pos += m[0].length;
    return Number(m[0]);
  }

  /** Consumes the given words (case-insensitive) if they come next, else leaves the cursor. */
  private lookaheadWords(words: string[]): boolean {
    const save = this.pos;
    for (const w of words) {
      this.skipSpace();
      if (this.readWord().toUpperCase() !== w) {
        this.pos = save;
        return false;
      }
    }
    return true;
  }

  /** Skips a balanced `( ... )`, honouring quoted strings and names inside (ENUM('a)', 'b')). */
  private skipParenthesized(): void {
    this.expect('(');
    let depth = 1;
    while (depth > 0) {
      if (this.pos >= this.text.length) throw this.malformed('unbalanced parentheses');
      const c = this.text[this.pos++];
      if (c === "'" || c === '"') {
        while (this.pos < this.text.length) {
          const d = this.text[this.pos++];
          if (d === c) {
            if (this.peek() === c) this.pos++;
            else break;
          }
        }
      } else if (c === '(') depth++;
      else if (c === ')') depth--;
    }
  }

  private malformed(why: string): LakehouseError {
    return new LakehouseError('INVALID_INPUT', `cannot read DuckDB type "${this.text}" of column "${this.column}": ${why}`, {
      column: this.column,
      duckdbType: this.text,
    });
  }
}

/**
 * The Delta type for a DuckDB type string as DuckDB prints it (e.g. `DECIMAL(18,3)`, `STRUCT("a" INTEGER, b
 * VARCHAR[])`, `MAP(VARCHAR, INTEGER)`, `TIMESTAMP WITH TIME ZONE`), for inferring a table schema from a file.
 * Unsigned integers widen to the next signed type (UBIGINT→decimal(20,0)), HUGEINT→decimal(38,0), every timestamp
 * flavour→timestamp, UUID/JSON/ENUM→string; nested fields come back nullable with empty metadata. Throws
 * INVALID_INPUT naming `column` (and the nested path) for types Delta lacks (TIME, INTERVAL, UNION, ...) or text that
 * is not a type.
 */
export function deltaTypeFromDuckDb(duckType: string, column: string): DataType {
  return new TypeParser(duckType, column).parseAll();
}
