import { LakehouseError } from '../../errors.js';
import { deltaTypeFromDuckDb, duckDbType, quoteIdent } from '../../sql/duckdb-types.js';
import type { AddAction, MetadataAction, ProtocolAction } from '../actions.js';
import type { TableRef } from '../snapshot.js';
import { writerVersionFeatures } from '../protocol.js';
import type { ColumnMappingMode, DataType, StructField, StructType } from '../schema.js';
import { schemaToString, typeToString } from '../schema.js';
import type { DataEngine } from './engine.js';

/** A source made to fit a table: the SELECT to write, and the evolved metadata/protocol when mergeSchema changed them. */
export interface ConformedSource {
  /** SELECT yielding exactly the table's logical columns, in schema order, cast to their types. */
  sql: string;
  schema: StructType;
  /** New metaData when the schema evolved (mergeSchema), else null. */
  metadata: MetadataAction | null;
  /** New protocol when evolution needs a feature (typeWidening), else null. */
  protocol: ProtocolAction | null;
}

const INTEGRAL: DataType[] = ['byte', 'short', 'integer', 'long'];

/** True when every value of `from` is exactly representable in `to` (implicit, lossless cast). */
export function isWidening(from: DataType, to: DataType): boolean {
  if (typeof from === 'string' && typeof to === 'string') {
    const fi = INTEGRAL.indexOf(from);
    const ti = INTEGRAL.indexOf(to);
    if (fi >= 0 && ti >= 0) return fi <= ti;
    if (from === 'float' && to === 'double') return true;
    if ((from === 'byte' || from === 'short' || from === 'integer') && to === 'double') return true;
    if (from === 'date' && to === 'timestamp_ntz') return true;
    return false;
  }
  if (typeof from === 'object' && typeof to === 'object' && from.type === 'decimal' && to.type === 'decimal') {
    return to.scale >= from.scale && to.precision - to.scale >= from.precision - from.scale;
  }
  if (typeof from === 'string' && typeof to === 'object' && to.type === 'decimal') {
    const digits = { byte: 3, short: 5, integer: 10, long: 20 }[from as 'byte'];
    return digits !== undefined && to.precision - to.scale >= digits;
  }
  return false;
}

function sameType(a: DataType, b: DataType): boolean {
  return typeToString(a) === typeToString(b);
}

const NUMERIC = new Set(['byte', 'short', 'integer', 'long', 'float', 'double']);
function isNumeric(t: DataType): boolean {
  return (typeof t === 'string' && NUMERIC.has(t)) || (typeof t === 'object' && t.type === 'decimal');
}

/** The Delta type of a source column; SCHEMA_MISMATCH when Delta cannot store the engine type. */
function storableType(column: string, engineType: string): DataType {
  try {
    return deltaTypeFromDuckDb(engineType, column);
  } catch (e) {
    throw new LakehouseError('SCHEMA_MISMATCH', `column "${column}" has type ${engineType}, which a Delta table cannot store`, { column }, { cause: e });
  }
}

/** A new field for schema evolution, with column mapping metadata when the table uses it. */
function newField(name: string, type: DataType, mode: ColumnMappingMode, nextId: () => number): StructField {
  const metadata: Record<string, unknown> = {};
  if (mode !== 'none') {
    metadata['delta.columnMapping.id'] = nextId();
    metadata['delta.columnMapping.physicalName'] = `col-${crypto.randomUUID()}`;
  }
  return { name, type, nullable: true, metadata };
}

/** Adds reader/writer features to a protocol, upgrading to table-features versions (3/7) as needed. */
export function withFeatures(protocol: ProtocolAction, reader: string[], writer: string[]): ProtocolAction {
  const readerFeatures = new Set(protocol.minReaderVersion === 3 ? (protocol.readerFeatures ?? []) : protocol.minReaderVersion === 2 ? ['columnMapping'] : []);
  const writerFeatures = new Set(protocol.minWriterVersion === 7 ? (protocol.writerFeatures ?? []) : writerVersionFeatures(protocol.minWriterVersion));
  const before = readerFeatures.size + ':' + writerFeatures.size;
  reader.forEach((f) => readerFeatures.add(f));
  writer.forEach((f) => writerFeatures.add(f));
  if (before === readerFeatures.size + ':' + writerFeatures.size && (reader.length > 0 || writer.length > 0)) {
    if (protocol.minWriterVersion === 7 || writer.every((f) => writerVersionFeatures(protocol.minWriterVersion).includes(f))) return protocol;
  }
  const needsReaderFeatures = readerFeatures.size > 0 && (protocol.minReaderVersion === 3 || [...readerFeatures].some((f) => f !== 'columnMapping'));
  return {
    minReaderVersion: needsReaderFeatures ? 3 : protocol.minReaderVersion,
    minWriterVersion: 7,
    ...(needsReaderFeatures ? { readerFeatures: [...readerFeatures].sort() } : {}),
    writerFeatures: [...writerFeatures].sort(),
  };
}

/**
 * Checks a source against a table's schema (schema enforcement) and builds the SELECT that writes it. Missing,
 * extra and mistyped columns are refused with SCHEMA_MISMATCH naming the column; values that convert without loss
 * are cast. With `mergeSchema`, new columns are added as nullable and allowed widenings evolve the column type.
 */
export async function conformSource(
  engine: DataEngine,
  sourceSql: string,
  table: { schema: StructType; metadata: MetadataAction; protocol: ProtocolAction; columnMappingMode: ColumnMappingMode },
  options: { mergeSchema?: boolean } = {},
): Promise<ConformedSource> {
  const cols = await engine.describe(sourceSql);
  const byLower = new Map(cols.map((c) => [c.name.toLowerCase(), c]));
  const seen = new Set<string>();
  for (const c of cols) {
    if (seen.has(c.name.toLowerCase())) throw new LakehouseError('SCHEMA_MISMATCH', `column "${c.name}" appears twice in the data`, { column: c.name });
    seen.add(c.name.toLowerCase());
  }
  const fields = table.schema.fields.map((f) => ({ ...f }));
  let evolved = false;
  let widened = false;
  const casts: string[] = [];
  let maxId = Number(table.metadata.configuration['delta.columnMapping.maxColumnId'] ?? 0);
  const nextId = () => ++maxId;

  for (const f of fields) {
    const c = byLower.get(f.name.toLowerCase());
    if (!c) {
      throw new LakehouseError('SCHEMA_MISMATCH', `column "${f.name}" (${typeToString(f.type)}) of the table is missing from the data`, {
        column: f.name,
      });
    }
    const srcType = storableType(c.name, c.engineType);
    if (!sameType(srcType, f.type) && !isWidening(srcType, f.type)) {
      if (options.mergeSchema && isWidening(f.type, srcType)) {
        f.type = srcType;
        evolved = widened = true;
      } else {
        await assertLosslessCast(engine, sourceSql, c.name, c.engineType, srcType, f);
      }
    }
    casts.push(`CAST(${quoteIdent(c.name)} AS ${duckDbType(f.type)}) AS ${quoteIdent(f.name)}`);
  }
  const known = new Set(fields.map((f) => f.name.toLowerCase()));
  for (const c of cols) {
    if (known.has(c.name.toLowerCase())) continue;
    if (!options.mergeSchema) {
      throw new LakehouseError('SCHEMA_MISMATCH', `column "${c.name}" of the data is not in the table schema (write with mergeSchema to add it)`, {
        column: c.name,
      });
    }
    const t = storableType(c.name, c.engineType);
    fields.push(newField(c.name, t, table.columnMappingMode, nextId));
    casts.push(`CAST(${quoteIdent(c.name)} AS ${duckDbType(t)}) AS ${quoteIdent(c.name)}`);
    evolved = true;
  }
  const schema: StructType = { type: 'struct', fields };
  const sql = `SELECT ${casts.join(', ')} FROM (${sourceSql}) AS __src`;
  if (!evolved) return { sql, schema: table.schema, metadata: null, protocol: null };
  const configuration = { ...table.metadata.configuration };
  if (table.columnMappingMode !== 'none') configuration['delta.columnMapping.maxColumnId'] = String(maxId);
  return {
    sql,
    schema,
    metadata: { ...table.metadata, schemaString: schemaToString(schema), configuration },
    protocol: widened ? withFeatures(table.protocol, ['typeWidening'], ['typeWidening']) : null,
  };
}

async function assertLosslessCast(engine: DataEngine, sourceSql: string, column: string, engineType: string, srcType: DataType, field: StructField): Promise<void> {
  const target = duckDbType(field.type);
  const col = quoteIdent(column);
  const mismatch = `SCHEMA_MISMATCH`;
  if (typeof srcType === 'object' || typeof field.type === 'object' ? !(isNumeric(srcType) && isNumeric(field.type)) : false) {
    throw new LakehouseError(mismatch, `column "${column}" has type ${typeToString(srcType)} but the table has ${typeToString(field.type)}`, { column });
  }
  const lossless = isNumeric(srcType) && isNumeric(field.type)
    ? `TRY_CAST(${col} AS ${target}) IS NULL OR CAST(TRY_CAST(${col} AS ${target}) AS ${engineType}) <> ${col}`
    : srcType === 'string'
      ? `TRY_CAST(${col} AS ${target}) IS NULL`
      : null;
  if (lossless === null) {
    throw new LakehouseError(mismatch, `column "${column}" has type ${typeToString(srcType)} but the table has ${typeToString(field.type)}`, { column });
  }
  const bad = await engine.queryRows(`SELECT CAST(${col} AS VARCHAR) AS v FROM (${sourceSql}) AS __src WHERE ${col} IS NOT NULL AND (${lossless}) LIMIT 1`);
  if (bad.length > 0) {
    throw new LakehouseError(
      mismatch,
      `column "${column}" has type ${typeToString(srcType)} but the table has ${typeToString(field.type)}: value ${JSON.stringify(bad[0].v)} does not fit`,
      { column, value: bad[0].v },
    );
  }
}

/** A rule every row written must satisfy. */
export interface TableConstraint {
  /** `delta.constraints.<name>` name, or `invariant:<column>` for a column invariant. */
  name: string;
  /** SQL boolean expression over the table's logical columns. */
  expression: string;
}

/** CHECK constraints (`delta.constraints.*`) and column invariants (`delta.invariants`) of a table (PROTOCOL.md: Check Constraints, Column Invariants). */
export function tableConstraints(metadata: MetadataAction): TableConstraint[] {
  const out: TableConstraint[] = [];
  for (const [k, v] of Object.entries(metadata.configuration)) {
    if (k.startsWith('delta.constraints.')) out.push({ name: k.slice('delta.constraints.'.length), expression: v });
  }
  let schema: { fields?: { name: string; metadata?: Record<string, unknown> }[] } = {};
  try {
    schema = JSON.parse(metadata.schemaString);
  } catch {
    return out;
  }
  for (const f of schema.fields ?? []) {
    const inv = f.metadata?.['delta.invariants'];
    if (typeof inv !== 'string') continue;
    try {
      const expr = (JSON.parse(inv) as { expression?: { expression?: string } }).expression?.expression;
      if (expr) out.push({ name: `invariant:${f.name}`, expression: expr });
    } catch {
      throw new LakehouseError('CORRUPT_LOG', `column "${f.name}" has a malformed delta.invariants value`, { column: f.name });
    }
  }
  return out;
}

/**
 * Writes rows as data files after checking every constraint of the table on them; a violation is INVALID_INPUT
 * naming the constraint and the number of offending rows, and nothing is written.
 */
export async function writeChecked(
  engine: DataEngine,
  table: TableRef,
  layout: { schema: StructType; partitionColumns: string[]; columnMappingMode: ColumnMappingMode; metadata: MetadataAction },
  sql: string,
  options: { dataChange?: boolean } = {},
): Promise<AddAction[]> {
  for (const c of tableConstraints(layout.metadata)) {
    let bad: number;
    try {
      bad = await engine.queryNumber(`SELECT count(*) FROM (${sql}) AS __rows WHERE (${c.expression}) IS NOT TRUE`);
    } catch (e) {
      throw new LakehouseError('UNSUPPORTED_FEATURE', `cannot evaluate constraint ${c.name} (${c.expression}): ${(e as Error).message}`, { constraint: c.name });
    }
    if (bad > 0) {
      throw new LakehouseError('INVALID_INPUT', `${bad} row(s) violate constraint ${c.name}: ${c.expression}; nothing was written`, {
        constraint: c.name,
        rows: bad,
      });
    }
  }
  return engine.writeFiles(table, layout, sql, options);
}
