import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  LakehouseError,
  Snapshot,
  append,
  countRows,
  createTable,
  deleteRows,
  deltaTypeFromDuckDb,
  overwrite,
  readHistory,
  typeToString,
  type DataType,
  type StructField,
  type StructType,
  type TableRef,
} from '@lakehouse/core';
import { DuckDbEngine, FsStorage, tableQuerySql } from '@lakehouse/core/node';
import { quoteString } from '@lakehouse/core';
import { csvField, formatBytes, keyValues } from './format.js';

/** Writes a line to stdout. */
export type Out = (line: string) => void;

/** Resolves a user path against the directory the user ran pnpm from. */
export function userPath(p: string): string {
  return resolve(process.env.INIT_CWD ?? process.cwd(), p);
}

function tableAt(path: string): TableRef {
  return { storage: new FsStorage(userPath(path)), tableKey: '' };
}

function intOption(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new LakehouseError('INVALID_INPUT', `--${name} must be a non-negative integer, got "${v}"`);
  return Number(v);
}

function requirePath(positionals: string[], usage: string): string {
  if (!positionals[0]) throw new LakehouseError('INVALID_INPUT', `missing table path; usage: ${usage}`);
  return positionals[0];
}

/** The DuckDB SELECT that reads a CSV, JSON/NDJSON or Parquet file, by extension or `--format`. */
export function fileSourceSql(file: string, format?: string): string {
  const abs = userPath(file);
  const f = (format ?? abs.split('.').pop() ?? '').toLowerCase();
  const q = quoteString(abs);
  switch (f) {
    case 'csv':
    case 'tsv':
    case 'txt':
      return `SELECT * FROM read_csv(${q}, header=true, auto_detect=true)`;
    case 'json':
    case 'ndjson':
    case 'jsonl':
      return `SELECT * FROM read_json_auto(${q})`;
    case 'parquet':
      return `SELECT * FROM read_parquet(${q})`;
    default:
      throw new LakehouseError('INVALID_INPUT', `cannot tell the format of ${file}: use --format csv|json|parquet`, { file });
  }
}

function schemaLines(fields: StructField[], partitionColumns: string[]): string[] {
  const w = Math.max(4, ...fields.map((f) => f.name.length));
  return fields.map(
    (f) => `  ${f.name.padEnd(w)}  ${typeToString(f.type)}${f.nullable ? '' : ' not null'}${partitionColumns.includes(f.name) ? '  (partition)' : ''}${
      typeof f.metadata.comment === 'string' ? `  -- ${f.metadata.comment}` : ''
    }`,
  );
}

function typeJson(t: DataType): unknown {
  return typeof t === 'string' ? t : typeToString(t);
}

async function loadSnapshot(path: string, values: { version?: string; timestamp?: string }): Promise<Snapshot> {
  if (values.version !== undefined && values.timestamp !== undefined) throw new LakehouseError('INVALID_INPUT', 'give either --version or --timestamp, not both');
  return Snapshot.load(tableAt(path), { version: intOption(values.version, 'version'), timestamp: values.timestamp });
}

/** `table info`: version, rows, files, bytes, schema, partitioning, protocol, properties, last commit time. */
export async function tableInfo(args: string[], out: Out): Promise<void> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { version: { type: 'string' }, timestamp: { type: 'string' }, json: { type: 'boolean' } } });
  const path = requirePath(positionals, 'table info <path> [--version N | --timestamp ISO] [--json]');
  const s = await loadSnapshot(path, values);
  const rows = await countRows(s);
  const info = {
    path: userPath(path),
    version: s.version,
    rows,
    files: s.numFiles,
    bytes: s.sizeInBytes,
    lastCommit: new Date(s.timestamp).toISOString(),
    name: s.metadata.name ?? null,
    description: s.metadata.description ?? null,
    partitionColumns: s.partitionColumns,
    schema: s.schema.fields.map((f) => ({ name: f.name, type: typeJson(f.type), nullable: f.nullable })),
    protocol: s.protocol,
    properties: s.properties,
  };
  if (values.json) {
    out(JSON.stringify(info, null, 2));
    return;
  }
  const p = s.protocol;
  const features = [...(p.readerFeatures ?? []), ...(p.writerFeatures ?? []).filter((f) => !(p.readerFeatures ?? []).includes(f))];
  out(
    keyValues([
      ['table', info.path],
      ['version', String(s.version)],
      ['last commit', info.lastCommit],
      ['rows', rows.toLocaleString('en-US')],
      ['files', String(s.numFiles)],
      ['size', `${formatBytes(s.sizeInBytes)} (${s.sizeInBytes} bytes)`],
      ['partitioned by', s.partitionColumns.join(', ') || '(none)'],
      ['protocol', `reader ${p.minReaderVersion}, writer ${p.minWriterVersion}${features.length ? ` [${features.join(', ')}]` : ''}`],
      ...(info.description ? ([['description', info.description]] as [string, string][]) : []),
    ]),
  );
  const props = Object.entries(s.properties);
  if (props.length) {
    out('properties:');
    for (const [k, v] of props) out(`  ${k} = ${v}`);
  }
  out('schema:');
  for (const l of schemaLines(s.schema.fields, s.partitionColumns)) out(l);
}

/** `table history`: one line per commit, newest first. */
export async function tableHistory(args: string[], out: Out): Promise<void> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean' }, limit: { type: 'string' } } });
  const path = requirePath(positionals, 'table history <path> [--limit N] [--json]');
  const h = await readHistory(tableAt(path), { limit: intOption(values.limit, 'limit') });
  if (values.json) {
    out(JSON.stringify(h.map((c) => ({ version: c.version, timestamp: new Date(c.timestamp).toISOString(), ...c.commitInfo })), null, 2));
    return;
  }
  out(['version', 'timestamp'.padEnd(24), 'operation'.padEnd(22), 'metrics'].join('  '));
  for (const c of h) {
    const metrics = Object.entries(c.commitInfo?.operationMetrics ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    out([String(c.version).padStart(7), new Date(c.timestamp).toISOString().padEnd(24), String(c.commitInfo?.operation ?? '').padEnd(22), metrics].join('  '));
  }
}

/** `table scan`: rows of a version through the scan plan and DuckDB for Node, as JSON lines or CSV. */
export async function tableScan(args: string[], out: Out): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { version: { type: 'string' }, timestamp: { type: 'string' }, where: { type: 'string' }, limit: { type: 'string' }, format: { type: 'string' } },
  });
  const path = requirePath(positionals, 'table scan <path> [--version N] [--where SQL] [--limit N] [--format jsonl|csv]');
  const format = values.format ?? 'jsonl';
  if (format !== 'jsonl' && format !== 'csv') throw new LakehouseError('INVALID_INPUT', `--format must be jsonl or csv, got "${format}"`);
  const s = await loadSnapshot(path, values);
  const engine = await DuckDbEngine.create();
  const { sql } = await tableQuerySql(s, { where: values.where, limit: intOption(values.limit, 'limit') });
  let result;
  try {
    result = await engine.connection.runAndReadAll(sql);
  } catch (e) {
    throw new LakehouseError('INVALID_INPUT', `query failed: ${(e as Error).message.split('\n')[0]}`, {}, { cause: e });
  }
  const rows = result.getRowObjectsJson() as Record<string, unknown>[];
  if (format === 'csv') {
    const cols = result.columnNames();
    out(cols.map(csvField).join(','));
    for (const r of rows) out(cols.map((c) => csvField(r[c])).join(','));
  } else for (const r of rows) out(JSON.stringify(r));
}

async function schemaFromDdl(engine: DuckDbEngine, ddl: string): Promise<StructType> {
  const name = `__schema_${Math.random().toString(36).slice(2)}`;
  try {
    await engine.queryRows(`CREATE TEMP TABLE ${name} (${ddl})`);
  } catch (e) {
    throw new LakehouseError('INVALID_INPUT', `invalid --schema "${ddl}": ${(e as Error).message}`);
  }
  const cols = await engine.queryRows(`DESCRIBE ${name}`);
  await engine.queryRows(`DROP TABLE ${name}`);
  return {
    type: 'struct',
    fields: cols.map((c) => ({
      name: String(c.column_name),
      type: deltaTypeFromDuckDb(String(c.column_type), String(c.column_name)),
      nullable: c.null !== 'NO',
      metadata: {},
    })),
  };
}

function parseProperties(list: string[] | undefined): Record<string, string> {
  const props: Record<string, string> = {};
  for (const p of list ?? []) {
    const i = p.indexOf('=');
    if (i <= 0) throw new LakehouseError('INVALID_INPUT', `--property must be key=value, got "${p}"`);
    props[p.slice(0, i).trim()] = p.slice(i + 1).trim();
  }
  return props;
}

/** `table create`: a new table from a DDL schema or from a data file (schema inferred, rows loaded). */
export async function tableCreate(args: string[], out: Out): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      schema: { type: 'string' },
      from: { type: 'string' },
      format: { type: 'string' },
      'partition-by': { type: 'string' },
      property: { type: 'string', multiple: true },
      description: { type: 'string' },
      name: { type: 'string' },
      'column-mapping': { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  const usage = 'table create <path> (--schema "id BIGINT, name VARCHAR" | --from FILE) [--partition-by a,b] [--property k=v]... [--description TEXT]';
  const path = requirePath(positionals, usage);
  if (!values.schema === !values.from) throw new LakehouseError('INVALID_INPUT', `give exactly one of --schema or --from; usage: ${usage}`);
  const engine = await DuckDbEngine.create();
  const props = parseProperties(values.property);
  if (values['column-mapping']) props['delta.columnMapping.mode'] = values['column-mapping'];
  let schema: StructType;
  let sourceSql: string | undefined;
  if (values.schema) schema = await schemaFromDdl(engine, values.schema);
  else {
    sourceSql = fileSourceSql(values.from!, values.format);
    const cols = await engine.describe(sourceSql);
    schema = { type: 'struct', fields: cols.map((c) => ({ name: c.name, type: deltaTypeFromDuckDb(c.engineType, c.name), nullable: true, metadata: {} })) };
  }
  const partitionColumns = values['partition-by'] ? values['partition-by'].split(',').map((s) => s.trim()).filter(Boolean) : [];
  const m = await createTable(tableAt(path), { schema, partitionColumns, properties: props, description: values.description, name: values.name, engine, sourceSql });
  out(values.json ? JSON.stringify(m) : `created ${userPath(path)} at version ${m.version}: ${m.numOutputRows} rows in ${m.numFiles} files`);
}

/** `table append|overwrite`: rows from a file, one commit, with schema enforcement. */
export async function tableWrite(mode: 'append' | 'overwrite', args: string[], out: Out): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { format: { type: 'string' }, 'merge-schema': { type: 'boolean' }, 'replace-where': { type: 'string' }, json: { type: 'boolean' } },
  });
  const usage = `table ${mode} <path> <file> [--format csv|json|parquet] [--merge-schema]${mode === 'overwrite' ? ' [--replace-where SQL]' : ''}`;
  const path = requirePath(positionals, usage);
  if (!positionals[1]) throw new LakehouseError('INVALID_INPUT', `missing data file; usage: ${usage}`);
  if (mode === 'append' && values['replace-where']) throw new LakehouseError('INVALID_INPUT', '--replace-where is for overwrite');
  const engine = await DuckDbEngine.create();
  const sourceSql = fileSourceSql(positionals[1], values.format);
  const table = tableAt(path);
  if (mode === 'append') {
    const m = await append(table, engine, { sourceSql, mergeSchema: values['merge-schema'] });
    out(values.json ? JSON.stringify(m) : `appended ${m.numOutputRows} rows in ${m.numFiles} files: version ${m.version}${m.schemaEvolved ? ' (schema evolved)' : ''}`);
  } else {
    const m = await overwrite(table, engine, { sourceSql, mergeSchema: values['merge-schema'], replaceWhere: values['replace-where'] });
    out(values.json ? JSON.stringify(m) : `overwrote with ${m.numOutputRows} rows in ${m.numFiles} files (removed ${m.numRemovedFiles} files): version ${m.version}`);
  }
}

/** `table delete`: removes rows matching --where in one commit. */
export async function tableDelete(args: string[], out: Out): Promise<void> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { where: { type: 'string' }, json: { type: 'boolean' } } });
  const path = requirePath(positionals, 'table delete <path> --where SQL');
  if (!values.where) throw new LakehouseError('INVALID_INPUT', 'table delete needs --where SQL (use --where true to delete every row)');
  const engine = await DuckDbEngine.create();
  const m = await deleteRows(tableAt(path), engine, { predicate: values.where });
  out(values.json ? JSON.stringify(m) : m.committed ? `deleted ${m.numDeletedRows} rows (rewrote ${m.numAddedFiles} files, removed ${m.numRemovedFiles}): version ${m.version}` : 'no rows matched; nothing committed');
}
