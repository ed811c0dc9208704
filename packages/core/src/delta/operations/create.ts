import { LakehouseError } from '../../errors.js';
import type { Clock } from '../../storage/storage.js';
import { systemClock } from '../../storage/storage.js';
import type { AddAction, MetadataAction, ProtocolAction } from '../actions.js';
import type { DataType, StructField, StructType } from '../schema.js';
import { schemaToString, typeToString } from '../schema.js';
import type { TableRef } from '../snapshot.js';
import { Transaction } from '../transaction.js';
import { parseIntervalMs } from './checkpoint.js';
import { withFeatures, writeChecked } from './conform.js';
import type { DataEngine } from './engine.js';
import { addsMetrics } from './metrics.js';

/** What a new table looks like. */
export interface CreateTableOptions {
  schema: StructType;
  partitionColumns?: string[];
  /** Table properties (`delta.*` ones are validated). */
  properties?: Record<string, string>;
  description?: string;
  name?: string;
  /** Optional initial rows: a SELECT in the engine's SQL with the schema's columns (needs `engine`). */
  sourceSql?: string;
  engine?: DataEngine;
  clock?: Clock;
  userName?: string;
  /** Extra commitInfo fields (e.g. lineage). */
  commitExtra?: Record<string, unknown>;
}

/** Metrics of a create. */
export interface CreateTableMetrics {
  version: number;
  numFiles: number;
  numOutputRows: number;
  numOutputBytes: number;
}

const INVALID_NAME_CHARS = /[ ,;{}()\n\t=]/;

function isPrimitive(t: DataType): boolean {
  return typeof t === 'string' || t.type === 'decimal';
}

function hasType(t: DataType, name: string): boolean {
  if (typeof t === 'string') return t === name;
  if (t.type === 'struct') return t.fields.some((f) => hasType(f.type, name));
  if (t.type === 'array') return hasType(t.elementType, name);
  if (t.type === 'map') return hasType(t.keyType, name) || hasType(t.valueType, name);
  return false;
}

/** Validates table properties, throwing INVALID_INPUT naming the property. */
export function validateProperties(props: Record<string, string>): void {
  const bool = ['delta.appendOnly', 'delta.enableChangeDataFeed', 'delta.enableDeletionVectors', 'delta.enableInCommitTimestamps'];
  for (const [k, v] of Object.entries(props)) {
    if (bool.includes(k) && v !== 'true' && v !== 'false') throw new LakehouseError('INVALID_INPUT', `property ${k} must be true or false, got "${v}"`, { property: k });
    if (k === 'delta.checkpointInterval' && !(Number.isInteger(Number(v)) && Number(v) > 0)) {
      throw new LakehouseError('INVALID_INPUT', `property ${k} must be a positive integer, got "${v}"`, { property: k });
    }
    if ((k === 'delta.deletedFileRetentionDuration' || k === 'delta.logRetentionDuration') && parseIntervalMs(v) === null) {
      throw new LakehouseError('INVALID_INPUT', `property ${k} must be an interval such as "interval 7 days", got "${v}"`, { property: k });
    }
    if (k === 'delta.columnMapping.mode' && !['none', 'name', 'id'].includes(v)) {
      throw new LakehouseError('INVALID_INPUT', `property ${k} must be none, name or id, got "${v}"`, { property: k });
    }
    if (k === 'delta.targetFileSize' && !(Number.isInteger(Number(v)) && Number(v) > 0)) {
      throw new LakehouseError('INVALID_INPUT', `property ${k} must be a positive number of bytes, got "${v}"`, { property: k });
    }
  }
}

function assignColumnMapping(fields: StructField[], next: () => number): StructField[] {
  return fields.map((f) => {
    let type = f.type;
    if (typeof type === 'object' && type.type === 'struct') type = { type: 'struct', fields: assignColumnMapping(type.fields, next) };
    return {
      ...f,
      type,
      metadata: { ...f.metadata, 'delta.columnMapping.id': next(), 'delta.columnMapping.physicalName': `col-${crypto.randomUUID()}` },
    };
  });
}

/** The lowest protocol that supports the schema and properties (reader 1 / writer 2 when nothing needs more). */
export function protocolFor(schema: StructType, props: Record<string, string>): ProtocolAction {
  let p: ProtocolAction = { minReaderVersion: 1, minWriterVersion: 2 };
  const mapping = props['delta.columnMapping.mode'];
  if (props['delta.enableChangeDataFeed'] === 'true') p = { minReaderVersion: 1, minWriterVersion: Math.max(p.minWriterVersion, 4) };
  if (Object.keys(props).some((k) => k.startsWith('delta.constraints.'))) p = { ...p, minWriterVersion: Math.max(p.minWriterVersion, 3) };
  if (mapping === 'name' || mapping === 'id') p = { minReaderVersion: 2, minWriterVersion: Math.max(p.minWriterVersion, 5) };
  const reader: string[] = [];
  const writer: string[] = [];
  if (hasType(schema, 'timestamp_ntz')) {
    reader.push('timestampNtz');
    writer.push('timestampNtz');
  }
  if (props['delta.enableDeletionVectors'] === 'true') {
    reader.push('deletionVectors');
    writer.push('deletionVectors');
  }
  if (props['delta.enableInCommitTimestamps'] === 'true') writer.push('inCommitTimestamp');
  if (reader.length > 0 || writer.length > 0) p = withFeatures(p, reader, writer);
  return p;
}

/** Creates a Delta table (version 0), optionally with initial rows; TABLE_EXISTS when one is already there. */
export async function createTable(table: TableRef, options: CreateTableOptions): Promise<CreateTableMetrics> {
  const clock = options.clock ?? systemClock;
  const props = { ...(options.properties ?? {}) };
  validateProperties(props);
  const partitionColumns = options.partitionColumns ?? [];
  const names = new Set<string>();
  if (options.schema.fields.length === 0) throw new LakehouseError('INVALID_INPUT', 'a table needs at least one column');
  const mapping = props['delta.columnMapping.mode'];
  for (const f of options.schema.fields) {
    const lower = f.name.toLowerCase();
    if (names.has(lower)) throw new LakehouseError('INVALID_INPUT', `column "${f.name}" is defined twice`, { column: f.name });
    names.add(lower);
    if (!f.name) throw new LakehouseError('INVALID_INPUT', 'column names must not be empty');
    if ((!mapping || mapping === 'none') && INVALID_NAME_CHARS.test(f.name)) {
      throw new LakehouseError('INVALID_INPUT', `column name "${f.name}" has characters that need column mapping (delta.columnMapping.mode=name)`, {
        column: f.name,
      });
    }
  }
  for (const p of partitionColumns) {
    const f = options.schema.fields.find((x) => x.name === p);
    if (!f) throw new LakehouseError('INVALID_INPUT', `partition column "${p}" is not in the schema`, { column: p });
    if (!isPrimitive(f.type) || f.type === 'binary') {
      throw new LakehouseError('INVALID_INPUT', `partition column "${p}" has type ${typeToString(f.type)}; partition columns must be primitive`, { column: p });
    }
  }
  if (partitionColumns.length > 0 && partitionColumns.length === options.schema.fields.length) {
    throw new LakehouseError('INVALID_INPUT', 'at least one column must not be a partition column');
  }
  let schema = options.schema;
  if (mapping === 'name' || mapping === 'id') {
    let id = 0;
    schema = { type: 'struct', fields: assignColumnMapping(schema.fields, () => ++id) };
    props['delta.columnMapping.maxColumnId'] = String(id);
  }
  const protocol = protocolFor(schema, props);
  const metadata: MetadataAction = {
    id: crypto.randomUUID(),
    ...(options.name ? { name: options.name } : {}),
    ...(options.description ? { description: options.description } : {}),
    format: { provider: 'parquet', options: {} },
    schemaString: schemaToString(schema),
    partitionColumns,
    configuration: props,
    createdTime: clock.now(),
  };
  const existing = await table.storage.list(table.tableKey ? `${table.tableKey}/_delta_log/` : '_delta_log/');
  if (existing.some((o) => /\/?\d{20}\.(json|checkpoint)/.test(o.key))) {
    throw new LakehouseError('TABLE_EXISTS', `a Delta table already exists at ${table.tableKey || table.storage.root}`);
  }
  let adds: AddAction[] = [];
  if (options.sourceSql) {
    if (!options.engine) throw new LakehouseError('INVALID_INPUT', 'initial rows need a data engine');
    const mode = mapping === 'name' || mapping === 'id' ? mapping : 'none';
    adds = await writeChecked(options.engine, table, { schema, partitionColumns, columnMappingMode: mode, metadata }, options.sourceSql);
  }
  const txn = new Transaction(table, null, clock).add({ protocol }, { metaData: metadata }, ...adds.map((add) => ({ add })));
  const { numRows: numOutputRows, numBytes: numOutputBytes } = addsMetrics(adds);
  const result = await txn.commit({
    operation: options.sourceSql ? 'CREATE TABLE AS SELECT' : 'CREATE TABLE',
    operationParameters: { partitionBy: JSON.stringify(partitionColumns), description: options.description ?? null, properties: JSON.stringify(props) },
    operationMetrics: options.sourceSql ? { numFiles: adds.length, numOutputRows, numOutputBytes } : {},
    userName: options.userName,
    extra: options.commitExtra,
  });
  return { version: result.version, numFiles: adds.length, numOutputRows, numOutputBytes };
}
