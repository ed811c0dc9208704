import { LakehouseError } from '../errors.js';
import { duckDbType, quoteString } from '../sql/duckdb-types.js';
import type { DataType } from './schema.js';
import { typeToString } from './schema.js';

// PROTOCOL.md: Partition Value Serialization.
// Normalized comparable values: numbers for numeric types, days since epoch for
// dates, microseconds since epoch (UTC) for timestamps, strings for string and
// binary (binary as the UTF-8 decoding of its bytes, as Spark writes it),
// booleans for boolean.

/** The Hive directory name of a null (or empty) partition value. */
export const HIVE_DEFAULT_PARTITION = '__HIVE_DEFAULT_PARTITION__';

const MICROS_PER_DAY = 86_400_000_000;
const MICROS_PER_SECOND = 1_000_000;

const INT_RANGES: Record<string, [number, number]> = {
  byte: [-128, 127],
  short: [-32768, 32767],
  integer: [-2147483648, 2147483647],
};
const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;

const INT_RE = /^[+-]?\d+$/;
const DECIMAL_TEXT_RE = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:[eE]([+-]?\d+))?$/;
const FLOAT_TEXT_RE = /^[+-]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|NaN|Infinity)$/;
const DATE_RE = /^([+-]?\d{4,6})-(\d{1,2})-(\d{1,2})$/;
const TIMESTAMP_RE =
  /^([+-]?\d{4,6})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/** Days since 1970-01-01 of a proleptic Gregorian date (exact for any year). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (month + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** The proleptic Gregorian date of a day count since 1970-01-01 (inverse of daysFromCivil). */
export function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: era * 400 + yoe + (month <= 2 ? 1 : 0), month, day };
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

function validDays(y: string, mo: string, d: string): number | undefined {
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  return daysFromCivil(year, month, day);
}

/** Days since epoch of a `YYYY-MM-DD` text (1–2 digit month/day accepted), or undefined when it is not a valid date. */
export function parseDateDays(text: string): number | undefined {
  const m = DATE_RE.exec(text.trim());
  return m ? validDays(m[1], m[2], m[3]) : undefined;
}

/** A timestamp text parsed to UTC microseconds since epoch; `hasOffset` tells whether it carried a zone (Z or ±HH:MM). */
export interface ParsedTimestamp {
  micros: number;
  hasOffset: boolean;
  /** True when only a date was given (time taken as midnight). */
  dateOnly: boolean;
}

/**
 * Parses `YYYY-MM-DD[( |T)HH:MM[:SS[.fraction]]][Z|±HH[:MM]]`; a value without a zone is read as UTC.
 * Fractions beyond microseconds are truncated. Returns undefined when the text is not a valid timestamp.
 */
export function parseTimestampMicros(text: string): ParsedTimestamp | undefined {
  const m = TIMESTAMP_RE.exec(text.trim());
  if (!m) return undefined;
  const days = validDays(m[1], m[2], m[3]);
  if (days === undefined) return undefined;
  const h = m[4] === undefined ? 0 : Number(m[4]);
  const mi = m[5] === undefined ? 0 : Number(m[5]);
  const s = m[6] === undefined ? 0 : Number(m[6]);
  if (h > 23 || mi > 59 || s > 59) return undefined;
  const frac = m[7] === undefined ? 0 : Number((m[7] + '000000').slice(0, 6));
  let offsetMinutes = 0;
  const zone = m[8];
  if (zone !== undefined && zone.toUpperCase() !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2));
    const om = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
    if (oh > 18 || om > 59) return undefined;
    offsetMinutes = sign * (oh * 60 + om);
  }
  const micros =
    days * MICROS_PER_DAY + ((h * 60 + mi - offsetMinutes) * 60 + s) * MICROS_PER_SECOND + frac;
  return { micros, hasOffset: zone !== undefined, dateOnly: m[4] === undefined };
}

function pad(n: number, width: number): string {
  const s = String(Math.abs(n)).padStart(width, '0');
  return n < 0 ? `-${s}` : s;
}

/** Formats days since epoch as `YYYY-MM-DD`. */
export function formatDateDays(days: number): string {
  const { year, month, day } = civilFromDays(days);
  return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}`;
}

/** Formats UTC microseconds since epoch as `YYYY-MM-DD HH:MM:SS[.ffffff]` (fraction only when non-zero). */
export function formatTimestampMicros(micros: number): string {
  const days = Math.floor(micros / MICROS_PER_DAY);
  let rem = micros - days * MICROS_PER_DAY;
  const frac = rem % MICROS_PER_SECOND;
  rem = (rem - frac) / MICROS_PER_SECOND;
  const s = rem % 60;
  const mi = Math.floor(rem / 60) % 60;
  const h = Math.floor(rem / 3600);
  const base = `${formatDateDays(days)} ${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}`;
  return frac === 0 ? base : `${base}.${pad(frac, 6)}`;
}

/**
 * Rewrites a decimal number text (optionally with an exponent) in plain notation, exactly
 * (no float rounding): `1.5E+2` → `150`, `-0.0100` → `-0.01`. Returns undefined when not a number.
 */
export function plainDecimalText(text: string): string | undefined {
  const m = DECIMAL_TEXT_RE.exec(text.trim());
  if (!m) return undefined;
  const [intPart, fracPart = ''] = m[2].split('.');
  const exp = m[3] === undefined ? 0 : Number(m[3]);
  let digits = intPart + fracPart;
  let point = intPart.length + exp; // position of the decimal point in `digits`
  if (point < 0) {
    digits = '0'.repeat(-point) + digits;
    point = 0;
  }
  if (point > digits.length) digits += '0'.repeat(point - digits.length);
  let int = digits.slice(0, point).replace(/^0+/, '') || '0';
  const frac = digits.slice(point).replace(/0+$/, '');
  if (int === '0' && frac === '') int = '0';
  const body = frac ? `${int}.${frac}` : int;
  return m[1] === '-' && body !== '0' ? `-${body}` : body;
}

function corrupt(column: string, raw: string, type: DataType, why: string): LakehouseError {
  return new LakehouseError(
    'CORRUPT_LOG',
    `partition value ${JSON.stringify(raw)} of column "${column}" is not a valid ${typeToString(type)}: ${why}`,
    { column, value: raw, type: typeToString(type) },
  );
}

function unsupportedPartitionType(column: string, type: DataType): LakehouseError {
  return new LakehouseError(
    'UNSUPPORTED_FEATURE',
    `partition column "${column}" has type ${typeToString(type)}, which cannot be a partition column`,
    { column, type: typeToString(type) },
  );
}

/**
 * Parses a serialized partition value with the column's type (PROTOCOL.md: Partition Value Serialization).
 * null and '' (for every type, as the protocol says) → null. Returns the normalized comparable value:
 * number for numerics, days since epoch for date, UTC microseconds for timestamps; string for string/binary;
 * boolean. Throws CORRUPT_LOG naming column and value when malformed, UNSUPPORTED_FEATURE for non-primitive types.
 */
export function parsePartitionValue(
  raw: string | null | undefined,
  type: DataType,
  column: string,
): string | number | boolean | null {
  if (raw === null || raw === undefined || raw === '') return null;
  if (typeof type === 'object') {
    if (type.type !== 'decimal') throw unsupportedPartitionType(column, type);
    const plain = plainDecimalText(raw);
    if (plain === undefined) throw corrupt(column, raw, type, 'not a decimal number');
    return Number(plain);
  }
  switch (type) {
    case 'string':
    case 'binary':
      return raw;
    case 'byte':
    case 'short':
    case 'integer': {
      if (!INT_RE.test(raw)) throw corrupt(column, raw, type, 'not an integer');
      const n = Number(raw);
      const [lo, hi] = INT_RANGES[type];
      if (n < lo || n > hi) throw corrupt(column, raw, type, `out of range [${lo}, ${hi}]`);
      return n;
    }
    case 'long': {
      if (!INT_RE.test(raw)) throw corrupt(column, raw, type, 'not an integer');
      const b = BigInt(raw);
      if (b < LONG_MIN || b > LONG_MAX) throw corrupt(column, raw, type, 'out of the 64-bit range');
      return Number(b);
    }
    case 'float':
    case 'double':
      if (!FLOAT_TEXT_RE.test(raw)) throw corrupt(column, raw, type, 'not a floating-point number');
      return type === 'float' ? Math.fround(Number(raw)) : Number(raw);
    case 'boolean': {
      const l = raw.toLowerCase();
      if (l === 'true') return true;
      if (l === 'false') return false;
      throw corrupt(column, raw, type, 'expected "true" or "false"');
    }
    case 'date': {
      const d = parseDateDays(raw);
      if (d === undefined) throw corrupt(column, raw, type, 'expected YYYY-MM-DD');
      return d;
    }
    case 'timestamp':
    case 'timestamp_ntz': {
      const t = parseTimestampMicros(raw);
      if (t === undefined || t.dateOnly) {
        throw corrupt(column, raw, type, 'expected YYYY-MM-DD HH:MM:SS[.ffffff] or an ISO 8601 timestamp');
      }
      return t.micros;
    }
    case 'variant':
      throw unsupportedPartitionType(column, type);
  }
}

function invalid(value: unknown, type: DataType, why: string): LakehouseError {
  const shown = typeof value === 'bigint' ? `${value}n` : typeof value === 'string' ? JSON.stringify(value) : String(value);
  return new LakehouseError(
    'INVALID_INPUT',
    `cannot serialize ${shown} as a ${typeToString(type)} partition value: ${why}`,
    { type: typeToString(type) },
  );
}

function utf8Decode(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

function serializeInteger(value: unknown, type: 'byte' | 'short' | 'integer' | 'long'): string {
  let b: bigint;
  if (typeof value === 'bigint') b = value;
  else if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw invalid(value, type, 'not an integer');
    b = BigInt(value);
  } else if (typeof value === 'string' && INT_RE.test(value.trim())) b = BigInt(value.trim());
  else throw invalid(value, type, 'expected an integer');
  const [lo, hi] = type === 'long' ? [LONG_MIN, LONG_MAX] : INT_RANGES[type].map(BigInt);
  if (b < lo || b > hi) throw invalid(value, type, 'out of range');
  return b.toString();
}

function serializeDecimal(value: unknown, type: { precision: number; scale: number }): string {
  const t: DataType = { type: 'decimal', ...type };
  let plain: string | undefined;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw invalid(value, t, 'not a finite number');
    plain = plainDecimalText(String(value));
  } else if (typeof value === 'bigint') plain = value.toString();
  else if (typeof value === 'string') plain = plainDecimalText(value);
  if (plain === undefined) throw invalid(value, t, 'expected a decimal number');
  const neg = plain.startsWith('-');
  const [int, frac = ''] = (neg ? plain.slice(1) : plain).split('.');
  let fracDigits = frac;
  if (fracDigits.length > type.scale) {
    // A JS number is rounded to the scale (0.1 + 0.2 → 0.30); exact texts must fit it.
    if (typeof value !== 'number') throw invalid(value, t, `more than ${type.scale} fractional digits`);
    const fixed = Math.abs(value).toFixed(type.scale);
    return serializeDecimal((neg ? '-' : '') + fixed, type);
  }
  fracDigits = fracDigits.padEnd(type.scale, '0');
  if (int !== '0' && int.length > type.precision - type.scale) throw invalid(value, t, 'too many integer digits');
  const body = type.scale > 0 ? `${int}.${fracDigits}` : int;
  return neg && /[1-9]/.test(body) ? `-${body}` : body;
}

/**
 * Serializes a JS value for add.partitionValues: date `YYYY-MM-DD`, timestamp `YYYY-MM-DD HH:MM:SS[.ffffff]` in UTC,
 * numbers as decimal strings (decimals with exactly `scale` fraction digits), booleans `true`/`false`, null/undefined
 * and '' → null. Accepts the normalized values parsePartitionValue returns (days, micros), Date objects, and texts.
 * Throws INVALID_INPUT when the value does not fit the type.
 */
export function serializePartitionValue(value: unknown, type: DataType): string | null {
  if (value === null || value === undefined || value === '') return null;
  if (typeof type === 'object') {
    if (type.type !== 'decimal') throw invalid(value, type, 'not a partitionable type');
    return serializeDecimal(value, type);
  }
  switch (type) {
    case 'string':
      if (typeof value !== 'string') throw invalid(value, type, 'expected a string');
      return value;
    case 'binary':
      if (typeof value === 'string') return value;
      if (value instanceof Uint8Array) {
        const s = utf8Decode(value);
        if (s === undefined) throw invalid('<bytes>', type, 'bytes are not valid UTF-8');
        return s === '' ? null : s;
      }
      throw invalid(value, type, 'expected a Uint8Array or string');
    case 'byte':
    case 'short':
    case 'integer':
    case 'long':
      return serializeInteger(value, type);
    case 'float':
    case 'double': {
      const n = typeof value === 'string' && FLOAT_TEXT_RE.test(value.trim()) ? Number(value) : value;
      if (typeof n !== 'number') throw invalid(value, type, 'expected a number');
      return String(type === 'float' ? Math.fround(n) : n);
    }
    case 'boolean':
      if (typeof value === 'boolean') return value ? 'true' : 'false';
      if (value === 'true' || value === 'false') return value;
      throw invalid(value, type, 'expected a boolean');
    case 'date': {
      let days: number | undefined;
      if (value instanceof Date) {
        const ms = value.getTime();
        if (Number.isNaN(ms)) throw invalid(value, type, 'invalid Date');
        days = Math.floor(ms / 86_400_000);
      } else if (typeof value === 'number' && Number.isInteger(value)) days = value;
      else if (typeof value === 'string') days = parseDateDays(value);
      if (days === undefined) throw invalid(value, type, 'expected a Date, days since epoch or YYYY-MM-DD');
      return formatDateDays(days);
    }
    case 'timestamp':
    case 'timestamp_ntz': {
      let micros: number | undefined;
      if (value instanceof Date) {
        const ms = value.getTime();
        if (Number.isNaN(ms)) throw invalid(value, type, 'invalid Date');
        micros = ms * 1000;
      } else if (typeof value === 'number' && Number.isInteger(value)) micros = value;
      else if (typeof value === 'bigint') micros = Number(value);
      else if (typeof value === 'string') {
        const t = parseTimestampMicros(value);
        if (t && !(type === 'timestamp_ntz' && t.hasOffset)) micros = t.micros;
      }
      if (micros === undefined) throw invalid(value, type, 'expected a Date, microseconds since epoch or a timestamp text');
      // PROTOCOL.md: Partition Value Serialization allows ISO 8601 adjusted to UTC; it is the only unambiguous form
      // for `timestamp` (Spark reads the zone-less form in its session time zone). timestamp_ntz has no zone.
      return type === 'timestamp' ? formatTimestampMicros(micros).replace(' ', 'T') + 'Z' : formatTimestampMicros(micros);
    }
    case 'variant':
      throw invalid(value, type, 'not a partitionable type');
  }
}

function utf8Bytes(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

/**
 * The DuckDB SQL literal for a raw partition value of the given type, e.g. CAST('2024-01-01' AS DATE); a null
 * (or '') value gives a typed NULL, CAST(NULL AS <type>). Timestamps (raw value in UTC) become TIMESTAMP literals.
 * Integer and decimal texts are kept exact. Throws CORRUPT_LOG when the raw value is malformed.
 */
export function partitionValueSqlLiteral(raw: string | null, type: DataType): string {
  if (typeof type === 'object' ? type.type !== 'decimal' : type === 'variant') throw unsupportedPartitionType('?', type);
  const duck = duckDbType(type);
  const v = parsePartitionValue(raw, type, 'partition value');
  if (v === null) return `CAST(NULL AS ${duck})`;
  if (typeof type === 'object') return `CAST('${plainDecimalText(raw as string)}' AS ${duck})`;
  switch (type) {
    case 'string':
      return quoteString(v as string);
    case 'binary': {
      const hex = Array.from(utf8Bytes(v as string), (b) => `\\x${b.toString(16).toUpperCase().padStart(2, '0')}`);
      return `CAST('${hex.join('')}' AS BLOB)`;
    }
    case 'byte':
    case 'short':
    case 'integer':
    case 'long':
      return `CAST(${BigInt((raw as string).trim()).toString()} AS ${duck})`;
    case 'float':
    case 'double':
      return `CAST('${(raw as string).trim()}' AS ${duck})`;
    case 'boolean':
      return v ? 'TRUE' : 'FALSE';
    case 'date':
      return `CAST('${formatDateDays(v as number)}' AS DATE)`;
    default:
      return `CAST('${formatTimestampMicros(v as number)}' AS TIMESTAMP)`;
  }
}

/** Characters Spark/Hive escape as %XX in partition directory names (ExternalCatalogUtils.escapePathName). */
function needsEscaping(code: number): boolean {
  return (
    (code >= 0x01 && code <= 0x1f) ||
    code === 0x7f ||
    '"#%\'*/:=?\\{[]^'.includes(String.fromCharCode(code))
  );
}

function escapePathName(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out += needsEscaping(c) ? `%${c.toString(16).toUpperCase().padStart(2, '0')}` : s[i];
  }
  return out;
}

/**
 * Hive-style directory segment `col=value` with Spark's escaping (control chars, DEL and the characters
 * " # % ' * / : = ? \ { [ ] ^ as %XX, in the column name and in the value); null or '' gives
 * `__HIVE_DEFAULT_PARTITION__`. The result is a file-system name, not a URI: add.path percent-encodes it once more.
 */
export function partitionPathSegment(column: string, raw: string | null): string {
  const value = raw === null || raw === '' ? HIVE_DEFAULT_PARTITION : escapePathName(raw);
  return `${escapePathName(column)}=${value}`;
}
