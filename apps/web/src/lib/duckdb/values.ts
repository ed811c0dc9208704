import { TypeId, typeInfo, type DataType, type Field } from './arrow.js';

// Reading DuckDB-WASM's Arrow results for display. What comes back: DECIMAL as the unscaled integer (divided by
// 10^scale here), DATE and TIMESTAMP as epoch milliseconds (timestamps with a fraction of a millisecond), BIGINT as
// bigint, STRUCT/LIST/MAP as Arrow rows and vectors. DuckDB-WASM has no ICU time zones: timestamps are shown in UTC.

/** Type of an Arrow field as DuckDB names it: `BIGINT`, `DECIMAL(10,2)`, `TIMESTAMP`, `STRUCT(a INTEGER)`, `VARCHAR[]`... */
export function arrowTypeName(t: DataType): string {
  const ti = typeInfo(t);
  if (is(t, TypeId.Null)) return 'NULL';
  if (is(t, TypeId.Bool)) return 'BOOLEAN';
  if (is(t, TypeId.Int)) {
    const names: Record<number, string> = { 8: 'TINYINT', 16: 'SMALLINT', 32: 'INTEGER', 64: 'BIGINT' };
    const name = names[ti.bitWidth ?? 0] ?? `INT${ti.bitWidth}`;
    return ti.isSigned ? name : `U${name}`;
  }
  if (is(t, TypeId.Float)) return ti.precision === 2 ? 'DOUBLE' : ti.precision === 1 ? 'FLOAT' : 'HALF';
  if (is(t, TypeId.Decimal)) return `DECIMAL(${ti.precision},${ti.scale})`;
  if (is(t, TypeId.Utf8)) return 'VARCHAR';
  if (is(t, TypeId.Binary) || is(t, TypeId.FixedSizeBinary)) return 'BLOB';
  if (is(t, TypeId.Date)) return 'DATE';
  if (is(t, TypeId.Time)) return 'TIME';
  if (is(t, TypeId.Timestamp)) return ti.timezone ? 'TIMESTAMP WITH TIME ZONE' : 'TIMESTAMP';
  if (is(t, TypeId.Interval)) return 'INTERVAL';
  if (is(t, TypeId.List) || is(t, TypeId.FixedSizeList)) return `${arrowTypeName(ti.children[0].type)}[]`;
  if (is(t, TypeId.Struct)) return `STRUCT(${ti.children.map((c: Field) => `${c.name} ${arrowTypeName(c.type)}`).join(', ')})`;
  if (is(t, TypeId.Map)) {
    const entry = ti.children[0]?.type as DataType | undefined;
    const [k, v] = entry && is(entry, TypeId.Struct) ? typeInfo(entry).children : [];
    return k && v ? `MAP(${arrowTypeName(k.type)}, ${arrowTypeName(v.type)})` : 'MAP';
  }
  if (is(t, TypeId.Dictionary)) return (ti.dictionary ? arrowTypeName(ti.dictionary) : 'VARCHAR');
  if (is(t, TypeId.Union)) return 'UNION';
  return String(t);
}

/** True for integer, floating point and decimal types. */
export function isNumericType(t: DataType): boolean {
  return is(t, TypeId.Int) || is(t, TypeId.Float) || is(t, TypeId.Decimal);
}

/** True for DATE and TIMESTAMP types. */
export function isTemporalType(t: DataType): boolean {
  return is(t, TypeId.Date) || is(t, TypeId.Timestamp);
}

/** Exact text of an unscaled decimal: `12345` with scale 2 is `123.45`, `-5` with scale 3 is `-0.005`. */
export function formatDecimal(unscaled: string, scale: number): string {
  if (scale <= 0) return unscaled;
  const negative = unscaled.startsWith('-');
  const digits = (negative ? unscaled.slice(1) : unscaled).padStart(scale + 1, '0');
  const text = `${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`;
  return negative ? `-${text}` : text;
}

const is = (t: DataType | undefined, id: number): boolean => t !== undefined && typeInfo(t).typeId === id;

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

function epochMs(v: unknown): number {
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'bigint') return Number(v);
  return Number(v);
}

/** `2024-05-01` (UTC) of epoch milliseconds. */
export function formatDate(ms: number): string {
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return String(ms);
  const y = d.getUTCFullYear();
  return `${y < 0 ? '-' : ''}${pad(Math.abs(y), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

/** `2024-05-01 13:04:05.123456` (UTC) of epoch milliseconds with an optional fraction; zeros of the fraction dropped. */
export function formatTimestamp(ms: number): string {
  const whole = Math.floor(ms);
  const micros = Math.round((ms - whole) * 1000) + (whole % 1000 + 1000) % 1000 * 1000;
  const d = new Date(whole);
  if (Number.isNaN(d.getTime())) return String(ms);
  const base = `${formatDate(whole)} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  if (micros === 0) return base;
  return `${base}.${pad(micros, 6).replace(/0+$/, '')}`;
}

function formatTime(v: unknown, unit: number): string {
  const n = typeof v === 'bigint' ? Number(v) : Number(v);
  const perSecond = unit === 0 ? 1 : unit === 1 ? 1e3 : unit === 2 ? 1e6 : 1e9;
  const seconds = Math.floor(n / perSecond);
  const frac = n - seconds * perSecond;
  const base = `${pad(Math.floor(seconds / 3600))}:${pad(Math.floor(seconds / 60) % 60)}:${pad(seconds % 60)}`;
  return frac ? `${base}.${String(frac).padStart(String(perSecond).length - 1, '0').replace(/0+$/, '')}` : base;
}

function hex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).toUpperCase().padStart(2, '0')}`;
  return s;
}

function nested(v: unknown, t: DataType): string {
  if (v === null || v === undefined) return 'NULL';
  if (is(t, TypeId.Utf8) || is(t, TypeId.Dictionary)) return `'${String(v).replace(/'/g, "''")}'`;
  return formatCell(v, t);
}

function* items(v: unknown): Iterable<unknown> {
  if (v && typeof (v as Iterable<unknown>)[Symbol.iterator] === 'function') yield* v as Iterable<unknown>;
}

/**
 * A cell as text, the way DuckDB prints it: decimals exact, dates and timestamps in UTC, big integers in full, structs
 * as `{'a': 1}`, lists as `[1, 2]`, maps as `{k=v}`, blobs with `\xNN` escapes. Null is `NULL`.
 */
export function formatCell(v: unknown, t: DataType): string {
  const ti = typeInfo(t);
  if (v === null || v === undefined) return 'NULL';
  if (is(t, TypeId.Decimal)) return formatDecimal(String(v), ti.scale ?? 0);
  if (is(t, TypeId.Timestamp)) return formatTimestamp(epochMs(v)) + (ti.timezone ? '+00' : '');
  if (is(t, TypeId.Date)) return formatDate(epochMs(v));
  if (is(t, TypeId.Time)) return formatTime(v, ti.unit ?? 2);
  if (is(t, TypeId.Int)) return String(v);
  if (is(t, TypeId.Float)) return String(v);
  if (is(t, TypeId.Bool)) return v ? 'true' : 'false';
  if (is(t, TypeId.Utf8)) return String(v);
  if (is(t, TypeId.Binary) || is(t, TypeId.FixedSizeBinary)) return v instanceof Uint8Array ? hex(v) : String(v);
  if (is(t, TypeId.Dictionary)) return String(v);
  if (is(t, TypeId.Struct)) {
    const row = v as Record<string, unknown>;
    return `{${ti.children.map((c: Field) => `'${c.name}': ${nested(row[c.name], c.type)}`).join(', ')}}`;
  }
  if (is(t, TypeId.List) || is(t, TypeId.FixedSizeList)) {
    const child = ti.children[0].type;
    return `[${[...items(v)].map((x) => nested(x, child)).join(', ')}]`;
  }
  if (is(t, TypeId.Map)) {
    const entry = ti.children[0]?.type as DataType | undefined;
    const [kf, vf] = entry && is(entry, TypeId.Struct) ? typeInfo(entry).children : [];
    const parts: string[] = [];
    for (const kv of items(v)) {
      const [k, x] = kv as [unknown, unknown];
      parts.push(`${kf ? formatCell(k, kf.type) : String(k)}=${vf ? formatCell(x, vf.type) : String(x)}`);
    }
    return `{${parts.join(', ')}}`;
  }
  if (is(t, TypeId.Interval) && (v instanceof Int32Array || Array.isArray(v))) {
    const parts = v as ArrayLike<number>;
    return ti.unit === 1 ? `${parts[0]} days ${parts[1]} ms` : `${parts[0]} months`;
  }
  if (typeof v === 'object' && v !== null && 'toJSON' in v) return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
  return String(v);
}

/** A cell as a number for charts and histograms: decimals scaled, dates and timestamps as epoch ms; null when not numeric. */
export function cellNumber(v: unknown, t: DataType): number | null {
  const ti = typeInfo(t);
  if (v === null || v === undefined) return null;
  if (is(t, TypeId.Decimal)) return Number(formatDecimal(String(v), ti.scale ?? 0));
  if (is(t, TypeId.Date) || is(t, TypeId.Timestamp)) return epochMs(v);
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  return null;
}
