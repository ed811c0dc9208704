// apache-arrow 13 declares no types in its package.json "exports", so TypeScript cannot see them through the bare
// specifier; its declaration file is named here (type-only: erased from the bundle). Type checks go by `typeId`
// (the numbers of arrow's `Type` enum), which is all the console needs at run time.
import type * as Arrow from '../../../node_modules/apache-arrow/Arrow.dom.js';

/** An Arrow data type. */
export type DataType = Arrow.DataType;
/** An Arrow field (name, type, nullability). */
export type Field = Arrow.Field;
/** An Arrow schema. */
export type Schema = Arrow.Schema;
/** An Arrow record batch. */
export type RecordBatch = Arrow.RecordBatch;
/** An Arrow vector (one column of a batch). */
export type Vector = Arrow.Vector;

/** Arrow's `Type` ids of the logical types (stable across Arrow versions: they come from the IPC format). */
export const TypeId = {
  Null: 1,
  Int: 2,
  Float: 3,
  Binary: 4,
  Utf8: 5,
  Bool: 6,
  Decimal: 7,
  Date: 8,
  Time: 9,
  Timestamp: 10,
  Interval: 11,
  List: 12,
  Struct: 13,
  Union: 14,
  FixedSizeBinary: 15,
  FixedSizeList: 16,
  Map: 17,
  Dictionary: -1,
} as const;

/** The properties of an Arrow type the console reads (a view of the concrete type classes). */
export interface TypeInfo {
  typeId: number;
  bitWidth?: number;
  isSigned?: boolean;
  /** Float precision: 0 half, 1 single, 2 double. */
  precision?: number;
  scale?: number;
  /** Time and timestamp unit: 0 s, 1 ms, 2 µs, 3 ns. Interval unit: 0 year-month, 1 day-time, 2 month-day-nano. */
  unit?: number;
  timezone?: string | null;
  children: Field[];
  dictionary?: DataType;
}

/** The console's view of an Arrow type. */
export function typeInfo(t: DataType): TypeInfo {
  return t as unknown as TypeInfo;
}
