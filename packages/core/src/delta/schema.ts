import { LakehouseError } from '../errors.js';

// PROTOCOL.md: Schema Serialization Format.

/** Names of the Delta primitive types (decimal is `DecimalType`). */
export type PrimitiveTypeName =
  | 'string'
  | 'long'
  | 'integer'
  | 'short'
  | 'byte'
  | 'float'
  | 'double'
  | 'boolean'
  | 'binary'
  | 'date'
  | 'timestamp'
  | 'timestamp_ntz'
  | 'variant';

/** A decimal type with precision and scale. */
export interface DecimalType {
  type: 'decimal';
  precision: number;
  scale: number;
}

/** A field of a struct. */
export interface StructField {
  name: string;
  type: DataType;
  nullable: boolean;
  metadata: Record<string, unknown>;
}

/** A struct type (a table schema is one). */
export interface StructType {
  type: 'struct';
  fields: StructField[];
}

/** An array type. */
export interface ArrayType {
  type: 'array';
  elementType: DataType;
  containsNull: boolean;
}

/** A map type. */
export interface MapType {
  type: 'map';
  keyType: DataType;
  valueType: DataType;
  valueContainsNull: boolean;
}

/** Any Delta data type. Primitives other than decimal are their name as a string. */
export type DataType = PrimitiveTypeName | DecimalType | StructType | ArrayType | MapType;

const PRIMITIVES = new Set<string>([
  'string',
  'long',
  'integer',
  'short',
  'byte',
  'float',
  'double',
  'boolean',
  'binary',
  'date',
  'timestamp',
  'timestamp_ntz',
  'variant',
]);

const DECIMAL_RE = /^decimal\(\s*(\d+)\s*,\s*(-?\d+)\s*\)$/;

/** Parses one serialized Delta type; throws CORRUPT_LOG naming the type when it is unknown. */
export function parseDataType(raw: unknown, where = 'schema'): DataType {
  if (typeof raw === 'string') {
    if (PRIMITIVES.has(raw)) return raw as PrimitiveTypeName;
    if (raw === 'decimal') return { type: 'decimal', precision: 10, scale: 0 };
    const m = DECIMAL_RE.exec(raw);
    if (m) return { type: 'decimal', precision: Number(m[1]), scale: Number(m[2]) };
    throw new LakehouseError('UNSUPPORTED_FEATURE', `unsupported data type "${raw}" in ${where}`, { type: raw });
  }
  if (raw && typeof raw === 'object') {
    const o = raw as Record<string, unknown>;
    if (o.type === 'struct') return parseStruct(o, where);
    if (o.type === 'array') {
      return {
        type: 'array',
        elementType: parseDataType(o.elementType, `${where}.element`),
        containsNull: o.containsNull !== false,
      };
    }
    if (o.type === 'map') {
      return {
        type: 'map',
        keyType: parseDataType(o.keyType, `${where}.key`),
        valueType: parseDataType(o.valueType, `${where}.value`),
        valueContainsNull: o.valueContainsNull !== false,
      };
    }
  }
  throw new LakehouseError('CORRUPT_LOG', `malformed data type in ${where}: ${JSON.stringify(raw)}`);
}

function parseStruct(o: Record<string, unknown>, where: string): StructType {
  if (!Array.isArray(o.fields)) throw new LakehouseError('CORRUPT_LOG', `struct without fields in ${where}`);
  return {
    type: 'struct',
    fields: o.fields.map((f: unknown, i: number) => {
      const fo = f as Record<string, unknown>;
      if (!fo || typeof fo.name !== 'string') {
        throw new LakehouseError('CORRUPT_LOG', `field ${i} of ${where} has no name`);
      }
      return {
        name: fo.name,
        type: parseDataType(fo.type, `${where}.${fo.name}`),
        nullable: fo.nullable !== false,
        metadata: (fo.metadata as Record<string, unknown> | undefined) ?? {},
      };
    }),
  };
}

/** Parses `metaData.schemaString` into a struct type; throws CORRUPT_LOG when it is not valid JSON or not a struct. */
export function parseSchemaString(schemaString: string): StructType {
  let raw: unknown;
  try {
    raw = JSON.parse(schemaString);
  } catch (e) {
    throw new LakehouseError('CORRUPT_LOG', `metaData.schemaString is not valid JSON`, {}, { cause: e });
  }
  const t = parseDataType(raw, 'schema');
  if (typeof t !== 'object' || t.type !== 'struct') {
    throw new LakehouseError('CORRUPT_LOG', 'metaData.schemaString is not a struct');
  }
  return t;
}

/** Serializes a type back to its protocol JSON form (inverse of parseDataType). */
export function dataTypeToJson(t: DataType): unknown {
  if (typeof t === 'string') return t;
  switch (t.type) {
    case 'decimal':
      return `decimal(${t.precision},${t.scale})`;
    case 'struct':
      return {
        type: 'struct',
        fields: t.fields.map((f) => ({ name: f.name, type: dataTypeToJson(f.type), nullable: f.nullable, metadata: f.metadata })),
      };
    case 'array':
      return { type: 'array', elementType: dataTypeToJson(t.elementType), containsNull: t.containsNull };
    case 'map':
      return {
        type: 'map',
        keyType: dataTypeToJson(t.keyType),
        valueType: dataTypeToJson(t.valueType),
        valueContainsNull: t.valueContainsNull,
      };
  }
}

/** The schema as `metaData.schemaString`. */
export function schemaToString(schema: StructType): string {
  return JSON.stringify(dataTypeToJson(schema));
}

/** Human-readable type name, e.g. `decimal(10,2)`, `array<string>`, `struct<a: int>`. */
export function typeToString(t: DataType): string {
  if (typeof t === 'string') return t;
  switch (t.type) {
    case 'decimal':
      return `decimal(${t.precision},${t.scale})`;
    case 'array':
      return `array<${typeToString(t.elementType)}>`;
    case 'map':
      return `map<${typeToString(t.keyType)}, ${typeToString(t.valueType)}>`;
    case 'struct':
      return `struct<${t.fields.map((f) => `${f.name}: ${typeToString(f.type)}`).join(', ')}>`;
  }
}

/** True when both types are structurally equal (field metadata ignored). */
export function sameType(a: DataType, b: DataType): boolean {
  return typeToString(a) === typeToString(b);
}

/** The column mapping mode of a table (PROTOCOL.md: Column Mapping). */
export type ColumnMappingMode = 'none' | 'name' | 'id';

/** The physical (on-disk) name of a field under the given mapping mode. */
export function physicalName(field: StructField, mode: ColumnMappingMode): string {
  if (mode === 'none') return field.name;
  const p = field.metadata['delta.columnMapping.physicalName'];
  if (typeof p !== 'string' || p.length === 0) {
    throw new LakehouseError(
      'CORRUPT_LOG',
      `column "${field.name}" has no delta.columnMapping.physicalName although column mapping mode is ${mode}`,
      { column: field.name },
    );
  }
  return p;
}
