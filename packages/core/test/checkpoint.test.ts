import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import fc from 'fast-check';
import { parquetWriteBuffer } from 'hyparquet-writer';
import type { SchemaElement } from 'hyparquet-writer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Action, AddAction, DeletionVectorDescriptor, RemoveAction } from '../src/delta/actions.js';
import { decodeCheckpointJson, decodeCheckpointParquet, encodeCheckpointParquet } from '../src/delta/checkpoint.js';
import { parseSchemaString, type StructType } from '../src/delta/schema.js';
import { isLakehouseError } from '../src/errors.js';
import { EXPECTED, FIXTURES_DIR } from './support/fixtures.js';
import { tempDir } from './support/tmp.js';

const logDir = (table: string): string => join(FIXTURES_DIR, table, '_delta_log');
const readBytes = (path: string): Uint8Array => new Uint8Array(readFileSync(path));

const kindOf = (a: Action): string => Object.keys(a)[0];
const adds = (actions: Action[]): AddAction[] => actions.flatMap((a) => ('add' in a ? [a.add] : []));
const numRecords = (a: AddAction): number => (JSON.parse(a.stats ?? 'null') as { numRecords: number }).numRecords;
const countKinds = (actions: Action[]): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const a of actions) out[kindOf(a)] = (out[kindOf(a)] ?? 0) + 1;
  return out;
};

async function decodeBoth(bytes: Uint8Array, schema?: StructType): Promise<Action[]> {
  const fast = await decodeCheckpointParquet(bytes, schema);
  const reference = await decodeCheckpointParquet(bytes, schema, { assembly: 'reference' });
  expect(fast).toEqual(reference);
  return fast;
}

/** Every parquet file under a `_delta_log` (checkpoint parts and sidecars) of the golden tables. */
function fixtureParquetFiles(): string[] {
  const out: string[] = [];
  for (const table of Object.keys(EXPECTED)) {
    const root = EXPECTED[table].tableRoot ?? table;
    for (const dir of [join(FIXTURES_DIR, root, '_delta_log'), join(FIXTURES_DIR, root, '_delta_log', '_sidecars')]) {
      let names: string[] = [];
      try {
        names = readdirSync(dir);
      } catch {
        continue;
      }
      for (const n of names) if (n.endsWith('.parquet')) out.push(join(dir, n));
    }
  }
  return out.sort();
}

describe('decoding golden checkpoints', () => {
  const files = fixtureParquetFiles();

  it('finds the parquet checkpoints and sidecars of the fixtures', () => {
    expect(files.map((f) => f.slice(FIXTURES_DIR.length))).toEqual([
      'checkpoint-v2-table/_delta_log/_sidecars/00000000000000000006.checkpoint.0000000001.0000000001.1a1516f4-8a39-48f0-9ccd-cc3790d824c7.parquet',
      'checkpoint-v2-table/_delta_log/_sidecars/00000000000000000008.checkpoint.0000000001.0000000001.d55fb2cb-b8d3-4362-8572-c52142a9da1f.parquet',
      'delta-1.2.1-only-struct-stats/_delta_log/00000000000000000010.checkpoint.parquet',
      'multi-part-checkpoint/_delta_log/00000000000000000001.checkpoint.0000000001.0000000002.parquet',
      'multi-part-checkpoint/_delta_log/00000000000000000001.checkpoint.0000000002.0000000002.parquet',
      'simple_table_with_checkpoint/_delta_log/00000000000000000010.checkpoint.parquet',
    ]);
  });

  it.each(files.map((f) => [f.slice(FIXTURES_DIR.length), f]))('%s decodes to well-typed actions (fast = reference assembly)', async (_name, file) => {
    const actions = await decodeBoth(readBytes(file));
    expect(actions.length).toBeGreaterThan(0);
    for (const a of actions) {
      expect(Object.keys(a)).toHaveLength(1);
      if ('add' in a) {
        expect(typeof a.add.path).toBe('string');
        expect(Number.isSafeInteger(a.add.size)).toBe(true);
        expect(Number.isSafeInteger(a.add.modificationTime)).toBe(true);
        expect(typeof a.add.dataChange).toBe('boolean');
        expect(Object.getPrototypeOf(a.add.partitionValues)).toBe(Object.prototype);
        for (const v of Object.values(a.add.partitionValues)) expect(v === null || typeof v === 'string').toBe(true);
        expect(a.add.tags === null || typeof a.add.tags === 'object').toBe(true);
        expect(a.add.deletionVector).toBeNull();
      }
      if ('metaData' in a) {
        expect(typeof a.metaData.createdTime).toBe('number');
        expect(Array.isArray(a.metaData.partitionColumns)).toBe(true);
      }
    }
  });

  it('simple_table_with_checkpoint: 11 adds, protocol 1/2 and the table schema', async () => {
    const actions = await decodeBoth(readBytes(join(logDir('simple_table_with_checkpoint'), '00000000000000000010.checkpoint.parquet')));
    expect(countKinds(actions)).toEqual({ add: 11, protocol: 1, metaData: 1 });
    const protocol = actions.find((a) => 'protocol' in a);
    expect(protocol).toEqual({ protocol: { minReaderVersion: 1, minWriterVersion: 2, readerFeatures: null, writerFeatures: null } });
    const md = actions.flatMap((a) => ('metaData' in a ? [a.metaData] : []))[0];
    expect(md.id).toBe('cf3741a3-5f93-434f-99ac-9a4bebcdf06c');
    expect(md.createdTime).toBe(1615751699422);
    expect(md.format).toEqual({ provider: 'parquet', options: {} });
    expect(parseSchemaString(md.schemaString).fields.map((f) => [f.name, f.type])).toEqual([['version', 'integer']]);
    const first = adds(actions).find((a) => a.path === 'part-00000-9afd9224-729f-4420-a05e-8032113a6568-c000.snappy.parquet');
    expect(first).toEqual({
      path: 'part-00000-9afd9224-729f-4420-a05e-8032113a6568-c000.snappy.parquet',
      partitionValues: {},
      size: 442,
      modificationTime: 1615751706698,
      dataChange: false,
      stats: null,
      tags: null,
      deletionVector: null,
      baseRowId: null,
      defaultRowCommitVersion: null,
      clusteringProvider: null,
    });
  });

  it('multi-part-checkpoint: both parts together hold the adds of version 1', async () => {
    const dir = logDir('multi-part-checkpoint');
    const parts = await Promise.all(
      [1, 2].map((p) => decodeBoth(readBytes(join(dir, `00000000000000000001.checkpoint.000000000${p}.0000000002.parquet`)))),
    );
    expect(parts.every((p) => p.length > 0)).toBe(true);
    const all = parts.flat();
    expect(countKinds(all)).toEqual({ add: 10, protocol: 1, metaData: 1 });
    expect(adds(all).reduce((s, a) => s + numRecords(a), 0)).toBe(EXPECTED['multi-part-checkpoint'].rowsByVersion?.['1']);
    expect(new Set(adds(all).map((a) => a.path)).size).toBe(10);
    const md = all.flatMap((a) => ('metaData' in a ? [a.metaData] : []))[0];
    expect(md.configuration).toEqual({ 'delta.checkpointInterval': '1' });
  });

  it.each([6, 8])('checkpoint-v2-table: the JSON checkpoint at v%i plus its parquet sidecars give the table at that version', async (version) => {
    const dir = logDir('checkpoint-v2-table');
    const name = readdirSync(dir).find((n) => n.startsWith(String(version).padStart(20, '0') + '.checkpoint.') && n.endsWith('.json'));
    expect(name).toBeDefined();
    const top = decodeCheckpointJson(readFileSync(join(dir, name as string), 'utf8'), name as string);
    expect(countKinds(top)).toEqual({ checkpointMetadata: 1, sidecar: 1, protocol: 1, metaData: 1 });
    expect(top.find((a) => 'checkpointMetadata' in a)).toMatchObject({ checkpointMetadata: { version } });
    expect(top.find((a) => 'protocol' in a)).toEqual({ protocol: EXPECTED['checkpoint-v2-table'].protocol });
    const sidecars = top.flatMap((a) => ('sidecar' in a ? [a.sidecar] : []));
    const fileActions: Action[] = [];
    for (const s of sidecars) {
      const bytes = readBytes(join(dir, '_sidecars', s.path));
      expect(bytes.length).toBe(s.sizeInBytes);
      fileActions.push(...(await decodeBoth(bytes)));
    }
    expect(new Set(fileActions.map(kindOf))).toEqual(new Set(['add']));
    const rows = adds(fileActions).reduce((s, a) => s + numRecords(a), 0);
    expect(rows).toBe(EXPECTED['checkpoint-v2-table'].rowsByVersion?.[String(version)]);
    for (const a of adds(fileActions)) {
      expect(a.tags?.OPTIMIZE_TARGET_SIZE).toBe('67108864');
      expect(JSON.parse(a.stats as string).minValues.created_at).toMatch(/^2025-08-09T\d\d:\d\d:\d\d\.\d{3}Z$/);
    }
  });

  describe('delta-1.2.1-only-struct-stats (stats only as stats_parsed)', () => {
    const file = join(logDir('delta-1.2.1-only-struct-stats'), '00000000000000000010.checkpoint.parquet');
    const commit10 = readFileSync(join(logDir('delta-1.2.1-only-struct-stats'), '00000000000000000010.json'), 'utf8');

    async function decoded(withSchema: boolean): Promise<Action[]> {
      const withoutSchema = await decodeBoth(readBytes(file));
      if (!withSchema) return withoutSchema;
      const md = withoutSchema.flatMap((a) => ('metaData' in a ? [a.metaData] : []))[0];
      return decodeBoth(readBytes(file), parseSchemaString(md.schemaString));
    }

    it.each([true, false])('renders stats JSON for every add (table schema given: %s)', async (withSchema) => {
      const list = adds(await decoded(withSchema));
      expect(list).toHaveLength(10);
      const stats = list.map((a) => JSON.parse(a.stats as string));
      expect(stats.every((s) => s.numRecords === 1)).toBe(true);
      expect(stats.reduce((n, s) => n + s.numRecords, 0)).toBe(EXPECTED['delta-1.2.1-only-struct-stats'].rowsByVersion?.['10']);
      // Each of the 10 files holds one row: integer 0..9.
      expect(stats.map((s) => s.minValues.integer).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      for (const s of stats) {
        expect(s.maxValues.integer).toBe(s.minValues.integer);
        expect(s.minValues.date).toBe('2022-10-24');
        expect(s.minValues.timestamp).toMatch(/^2022-10-24T22:59:\d\d\.\d{3}Z$/);
        expect(s.minValues.decimal).toBe(-5.678);
        expect(s.minValues.double).toBe(1.234);
        expect(s.maxValues.nested_struct).toEqual({ struct_element: { nested_struct_element: 'nested_struct_value' } });
        expect(s.nullCount.null).toBe(1);
        expect(s.nullCount.struct).toEqual({ struct_element: 0 });
      }
      const byPath = new Map(list.map((a) => [a.path, JSON.parse(a.stats as string)]));
      expect(byPath.get('part-00000-1c2d1a32-02dc-484f-87ff-4328ea56045d-c000.snappy.parquet').minValues).toMatchObject({
        integer: 3,
        timestamp: '2022-10-24T22:59:36.177Z',
      });
    });

    it('equals the stats Spark wrote as JSON in the commit that added the same file', async () => {
      const jsonAdd = commit10
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as { add?: AddAction })
        .find((o) => o.add)?.add as AddAction;
      const fromCheckpoint = adds(await decoded(true)).find((a) => a.path === jsonAdd.path) as AddAction;
      expect(JSON.parse(fromCheckpoint.stats as string)).toEqual(JSON.parse(jsonAdd.stats as string));
    });
  });
});

describe('decodeCheckpointJson', () => {
  it('skips blank lines and non-checkpoint actions and normalizes numbers and maps', () => {
    const text = [
      '{"commitInfo":{"operation":"WRITE"}}',
      '',
      '{"add":{"path":"a","partitionValues":{"p":null},"size":1,"modificationTime":2,"dataChange":false,"deletionVector":{"storageType":"i","pathOrInlineDv":"wi5b=000010000siXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L","sizeInBytes":40,"cardinality":6}}}\r',
      '{"txn":{"appId":"x","version":5}}',
      '{"someFutureAction":{"x":1}}',
      '',
    ].join('\n');
    expect(decodeCheckpointJson(text, 'cp.json')).toEqual([
      {
        add: {
          path: 'a',
          partitionValues: { p: null },
          size: 1,
          modificationTime: 2,
          dataChange: false,
          stats: null,
          tags: null,
          deletionVector: { storageType: 'i', pathOrInlineDv: 'wi5b=000010000siXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L', sizeInBytes: 40, cardinality: 6 },
          baseRowId: null,
          defaultRowCommitVersion: null,
          clusteringProvider: null,
        },
      },
      { txn: { appId: 'x', version: 5, lastUpdated: null } },
    ]);
  });

  it.each([
    ['malformed JSON', '{"protocol":{"minReaderVersion":1,"minWriterVersion":2}}\n{"add":{', 2],
    ['a JSON array', '\n\n[1,2]', 3],
    ['an add without path', '{"metaData":{"id":"i","format":{"provider":"parquet"},"schemaString":"{}","partitionColumns":[],"configuration":{}}}\n{"add":{"size":3,"partitionValues":{}}}', 2],
    ['a protocol without versions', '{"protocol":{}}', 1],
    ['an action that is not an object', '{"add":"x"}', 1],
    ['a deletion vector with an unknown storage type', '{"add":{"path":"a","partitionValues":{},"size":1,"deletionVector":{"storageType":"z","pathOrInlineDv":"x","sizeInBytes":1,"cardinality":1}}}', 1],
  ])('throws CORRUPT_LOG naming the line for %s', (_what, text, line) => {
    let error: unknown;
    try {
      decodeCheckpointJson(text, '00000000000000000007.checkpoint.abc.json');
    } catch (e) {
      error = e;
    }
    expect(isLakehouseError(error, 'CORRUPT_LOG')).toBe(true);
    const e = error as Error & { details: Record<string, unknown> };
    expect(e.message).toContain('00000000000000000007.checkpoint.abc.json');
    expect(e.message).toContain(`line ${line}`);
    expect(e.details.line).toBe(line);
  });
});

describe('decodeCheckpointParquet errors', () => {
  it.each([
    ['not parquet', new TextEncoder().encode('{"add":{}}\n')],
    ['empty', new Uint8Array(0)],
  ])('throws CORRUPT_LOG for %s bytes', async (_what, bytes) => {
    await expect(decodeCheckpointParquet(bytes, undefined, { fileName: 'x.checkpoint.parquet' })).rejects.toSatisfy(
      (e: unknown) => isLakehouseError(e, 'CORRUPT_LOG') && (e as Error).message.includes('x.checkpoint.parquet'),
    );
  });

  it.each([
    ['add', 'add.path'],
    ['remove', 'remove.path'],
  ])('throws CORRUPT_LOG for a non-null %s struct whose path is null', async (column, field) => {
    const schema: SchemaElement[] = [
      { name: 'spark_schema', num_children: 1 },
      { name: column, repetition_type: 'OPTIONAL', num_children: 3 },
      { name: 'path', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
      { name: 'size', type: 'INT64', repetition_type: 'OPTIONAL' },
      { name: 'dataChange', type: 'BOOLEAN', repetition_type: 'OPTIONAL' },
    ];
    const data = [{ path: 'ok', size: 1n, dataChange: true }, null, { path: null, size: 2n, dataChange: true }];
    const bytes = new Uint8Array(parquetWriteBuffer({ columnData: [{ name: column, data }], schema }));
    for (const assembly of ['fast', 'reference'] as const) {
      await expect(decodeCheckpointParquet(bytes, undefined, { assembly, fileName: 'bad.parquet' })).rejects.toSatisfy(
        (e: unknown) => isLakehouseError(e, 'CORRUPT_LOG') && (e as Error).message.includes(field) && (e as Error).message.includes('row 2'),
      );
    }
  });

  it('throws CORRUPT_LOG for a truncated checkpoint', async () => {
    const bytes = await encodeCheckpointParquet(SAMPLE);
    // Keep the footer but cut into the data: the footer points past what is left.
    const cut = new Uint8Array(bytes.length - 200);
    cut.set(bytes.subarray(0, 100));
    cut.set(bytes.subarray(bytes.length - (cut.length - 100)), 100);
    await expect(decodeCheckpointParquet(cut)).rejects.toSatisfy((e: unknown) => isLakehouseError(e, 'CORRUPT_LOG'));
  });
});

// --- round trip ---------------------------------------------------------------------------------

const DV: DeletionVectorDescriptor = { storageType: 'u', pathOrInlineDv: 'ab^-aqEH.-t@S}K{vb[*k^', offset: 1, sizeInBytes: 36, cardinality: 2 };

const SAMPLE: Action[] = [
  {
    protocol: {
      minReaderVersion: 3,
      minWriterVersion: 7,
      readerFeatures: ['deletionVectors', 'columnMapping'],
      writerFeatures: ['deletionVectors', 'columnMapping', 'domainMetadata', 'rowTracking'],
    },
  },
  {
    metaData: {
      id: 'e2b4c2f5-3a43-4d8f-a6c2-5e1d1c2b3a4f',
      name: 'tbl',
      description: 'a table — with ünïcode',
      format: { provider: 'parquet', options: { compression: 'snappy' } },
      schemaString: '{"type":"struct","fields":[{"name":"p","type":"string","nullable":true,"metadata":{}}]}',
      partitionColumns: ['p', 'q'],
      createdTime: 1_700_000_000_000,
      configuration: { 'delta.enableDeletionVectors': 'true', 'delta.columnMapping.mode': 'name' },
    },
  },
  { txn: { appId: 'streaming-app', version: 42, lastUpdated: 1_700_000_000_123 } },
  { txn: { appId: 'batch', version: 0, lastUpdated: null } },
  { domainMetadata: { domain: 'delta.rowTracking', configuration: '{"rowIdHighWaterMark":99}', removed: false } },
  { domainMetadata: { domain: 'my.domain', configuration: '', removed: true } },
  {
    add: {
      path: 'p=a%20b/q=__HIVE_DEFAULT_PARTITION__/part-0000.parquet',
      partitionValues: { p: 'a b', q: null },
      size: 1234,
      modificationTime: 1_700_000_000_001,
      dataChange: true,
      stats: '{"numRecords":10,"minValues":{"x":1},"maxValues":{"x":9},"nullCount":{"x":0}}',
      tags: { INSERTION_TIME: '1700000000000000', empty: '' },
      deletionVector: DV,
      baseRowId: 0,
      defaultRowCommitVersion: 3,
      clusteringProvider: null,
    },
  },
  {
    add: {
      path: 'p=%E2%9C%93/part-0001 ✓.parquet',
      partitionValues: { p: '✓ 日本語 🎉', q: '' },
      size: 0,
      modificationTime: 0,
      dataChange: false,
      stats: null,
      tags: null,
      deletionVector: { storageType: 'i', pathOrInlineDv: 'wi5b=000010000siXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L', sizeInBytes: 40, cardinality: 6 },
      baseRowId: null,
      defaultRowCommitVersion: null,
      clusteringProvider: null,
    },
  },
  {
    add: {
      path: 's3://bucket/abs/part-0002.parquet',
      partitionValues: {},
      size: Number.MAX_SAFE_INTEGER,
      modificationTime: 1,
      dataChange: true,
      stats: '',
      tags: {},
      deletionVector: null,
      baseRowId: 9_007_199_254_740_000,
      defaultRowCommitVersion: null,
      clusteringProvider: null,
    },
  },
  {
    remove: {
      path: 'p=a/old.parquet',
      deletionTimestamp: 1_700_000_000_999,
      dataChange: true,
      extendedFileMetadata: true,
      partitionValues: { p: 'a', q: null },
      size: 77,
      stats: null,
      tags: { k: 'v' },
      deletionVector: DV,
      baseRowId: 5,
      defaultRowCommitVersion: 1,
    },
  },
  {
    remove: {
      path: 'old2.parquet',
      deletionTimestamp: null,
      dataChange: false,
      extendedFileMetadata: null,
      partitionValues: null,
      size: null,
      stats: null,
      tags: null,
      deletionVector: null,
      baseRowId: null,
      defaultRowCommitVersion: null,
    },
  },
];

/** The decoder's normal form: every optional field present (null when absent), DV offset only when set. */
function normalize(a: Action): Action {
  const dv = (d: DeletionVectorDescriptor | null | undefined): DeletionVectorDescriptor | null =>
    d ? { storageType: d.storageType, pathOrInlineDv: d.pathOrInlineDv, ...(d.offset != null ? { offset: d.offset } : {}), sizeInBytes: d.sizeInBytes, cardinality: d.cardinality } : null;
  if ('add' in a) {
    const x = a.add;
    return {
      add: {
        path: x.path,
        partitionValues: x.partitionValues,
        size: x.size,
        modificationTime: x.modificationTime,
        dataChange: x.dataChange,
        stats: x.stats ?? null,
        tags: x.tags ?? null,
        deletionVector: dv(x.deletionVector),
        baseRowId: x.baseRowId ?? null,
        defaultRowCommitVersion: x.defaultRowCommitVersion ?? null,
        clusteringProvider: x.clusteringProvider ?? null,
      },
    };
  }
  if ('remove' in a) {
    const x: RemoveAction = a.remove;
    return {
      remove: {
        path: x.path,
        deletionTimestamp: x.deletionTimestamp ?? null,
        dataChange: x.dataChange,
        extendedFileMetadata: x.extendedFileMetadata ?? null,
        partitionValues: x.partitionValues ?? null,
        size: x.size ?? null,
        stats: x.stats ?? null,
        tags: x.tags ?? null,
        deletionVector: dv(x.deletionVector),
        baseRowId: x.baseRowId ?? null,
        defaultRowCommitVersion: x.defaultRowCommitVersion ?? null,
      },
    };
  }
  if ('metaData' in a) {
    const x = a.metaData;
    return {
      metaData: {
        id: x.id,
        name: x.name ?? null,
        description: x.description ?? null,
        format: { provider: x.format.provider, options: x.format.options ?? {} },
        schemaString: x.schemaString,
        partitionColumns: x.partitionColumns,
        createdTime: x.createdTime ?? null,
        configuration: x.configuration,
      },
    };
  }
  if ('protocol' in a) {
    const x = a.protocol;
    return { protocol: { ...x, readerFeatures: x.readerFeatures ?? null, writerFeatures: x.writerFeatures ?? null } };
  }
  if ('txn' in a) return { txn: { ...a.txn, lastUpdated: a.txn.lastUpdated ?? null } };
  if ('checkpointMetadata' in a) return { checkpointMetadata: { ...a.checkpointMetadata, tags: a.checkpointMetadata.tags ?? null } };
  if ('sidecar' in a) return { sidecar: { ...a.sidecar, tags: a.sidecar.tags ?? null } };
  return a;
}

describe('encodeCheckpointParquet round trip', () => {
  it('decodes a varied action list back to the same actions', async () => {
    const bytes = await encodeCheckpointParquet(SAMPLE);
    expect(await decodeBoth(bytes)).toEqual(SAMPLE.map(normalize));
  });

  it('keeps actions written with optional fields omitted (normalized to null)', async () => {
    const sparse: Action[] = [
      { protocol: { minReaderVersion: 1, minWriterVersion: 2 } },
      { metaData: { id: 'x', format: { provider: 'parquet' }, schemaString: '{}', partitionColumns: [], configuration: {} } },
      { add: { path: 'a', partitionValues: {}, size: 1, modificationTime: 2, dataChange: true } },
      { remove: { path: 'b', dataChange: true } },
      { txn: { appId: 'a', version: 1 } },
    ];
    expect(await decodeBoth(await encodeCheckpointParquet(sparse))).toEqual(sparse.map(normalize));
  });

  it('round-trips v2 checkpoint actions (checkpointMetadata, sidecar) and a __proto__ map key', async () => {
    const actions: Action[] = [
      { checkpointMetadata: { version: 12, tags: { a: 'b' } } },
      { sidecar: { path: '00000000000000000012.checkpoint.0000000001.0000000001.x.parquet', sizeInBytes: 99, modificationTime: 5, tags: null } },
      { add: { path: 'a', partitionValues: JSON.parse('{"__proto__":"x","p":"y"}'), size: 1, modificationTime: 2, dataChange: true } },
    ];
    // Only the fast assembly: hyparquet's own map assembly turns a "__proto__" key into the prototype.
    const decoded = await decodeCheckpointParquet(await encodeCheckpointParquet(actions));
    expect(decoded).toEqual(actions.map(normalize));
    const pv = (decoded[2] as { add: AddAction }).add.partitionValues;
    expect(Object.keys(pv)).toEqual(['__proto__', 'p']);
    expect(Object.getPrototypeOf(pv)).toBe(Object.prototype);
  });

  it('writes one row per action with the other action columns null', async () => {
    const { dir, cleanup } = tempDir('lh-checkpoint-');
    try {
      const file = join(dir, 'cp.parquet');
      writeFileSync(file, await encodeCheckpointParquet(SAMPLE));
      const r = await conn.runAndReadAll(
        `SELECT (add IS NOT NULL)::INT + (remove IS NOT NULL)::INT + (metaData IS NOT NULL)::INT + (protocol IS NOT NULL)::INT
           + (txn IS NOT NULL)::INT + (domainMetadata IS NOT NULL)::INT AS n FROM '${file}'`,
      );
      expect(r.getRowObjectsJson().map((o) => o.n)).toEqual(SAMPLE.map(() => 1));
    } finally {
      cleanup();
    }
  });

  it('rejects actions that do not belong in a checkpoint', async () => {
    await expect(encodeCheckpointParquet([{ commitInfo: { operation: 'WRITE' } }])).rejects.toSatisfy((e: unknown) => isLakehouseError(e, 'INVALID_INPUT'));
    await expect(
      encodeCheckpointParquet([{ add: { path: 'a', partitionValues: {}, size: 1.5, modificationTime: 0, dataChange: true } }]),
    ).rejects.toSatisfy((e: unknown) => isLakehouseError(e, 'INVALID_INPUT') && (e as Error).message.includes('add.size'));
  });

  // Generated actions, several row groups and pages, compared with both assemblies.
  const text = fc.string({ unit: 'grapheme', maxLength: 12 });
  const long = fc.integer({ min: -(2 ** 53 - 1), max: 2 ** 53 - 1 });
  const smallKeyText = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 6 }).filter((k) => k !== '__proto__');
  const strMap = fc.dictionary(smallKeyText, fc.option(text, { nil: null }), { maxKeys: 4 });
  const dvArb = fc.option(
    fc.record(
      {
        storageType: fc.constantFrom('u' as const, 'p' as const, 'i' as const),
        pathOrInlineDv: text,
        offset: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        sizeInBytes: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        cardinality: fc.nat({ max: 2 ** 53 - 1 }),
      },
      { requiredKeys: ['storageType', 'pathOrInlineDv', 'sizeInBytes', 'cardinality'] },
    ),
    { nil: null },
  );
  const addArb: fc.Arbitrary<Action> = fc
    .record({
      path: text,
      partitionValues: strMap,
      size: fc.nat({ max: 2 ** 53 - 1 }),
      modificationTime: long,
      dataChange: fc.boolean(),
      stats: fc.option(fc.json(), { nil: null }),
      tags: fc.option(strMap, { nil: null }),
      deletionVector: dvArb,
      baseRowId: fc.option(long, { nil: null }),
      defaultRowCommitVersion: fc.option(fc.nat(), { nil: null }),
      clusteringProvider: fc.option(text, { nil: null }),
    })
    .map((add) => ({ add }));
  const removeArb: fc.Arbitrary<Action> = fc
    .record({
      path: text,
      deletionTimestamp: fc.option(long, { nil: null }),
      dataChange: fc.boolean(),
      extendedFileMetadata: fc.option(fc.boolean(), { nil: null }),
      partitionValues: fc.option(strMap, { nil: null }),
      size: fc.option(fc.nat(), { nil: null }),
      stats: fc.option(text, { nil: null }),
      tags: fc.option(strMap, { nil: null }),
      deletionVector: dvArb,
      baseRowId: fc.option(long, { nil: null }),
      defaultRowCommitVersion: fc.option(fc.nat(), { nil: null }),
    })
    .map((remove) => ({ remove }));
  const otherArb: fc.Arbitrary<Action> = fc.oneof(
    fc.record({ appId: text, version: long, lastUpdated: fc.option(long, { nil: null }) }).map((txn) => ({ txn })),
    fc.record({ domain: text, configuration: text, removed: fc.boolean() }).map((domainMetadata) => ({ domainMetadata })),
    fc
      .record({
        minReaderVersion: fc.integer({ min: 1, max: 3 }),
        minWriterVersion: fc.integer({ min: 1, max: 7 }),
        readerFeatures: fc.option(fc.array(text, { maxLength: 3 }), { nil: null }),
        writerFeatures: fc.option(fc.array(text, { maxLength: 3 }), { nil: null }),
      })
      .map((protocol) => ({ protocol })),
    fc
      .record({
        id: text,
        name: fc.option(text, { nil: null }),
        description: fc.option(text, { nil: null }),
        format: fc.record({ provider: text, options: strMap.map((m) => m as Record<string, string>) }),
        schemaString: text,
        partitionColumns: fc.array(text, { maxLength: 3 }),
        createdTime: fc.option(long, { nil: null }),
        configuration: strMap.map((m) => m as Record<string, string>),
      })
      .map((metaData) => ({ metaData })),
  );
  const actionsArb = fc.array(fc.oneof({ arbitrary: addArb, weight: 4 }, { arbitrary: removeArb, weight: 2 }, { arbitrary: otherArb, weight: 1 }), {
    minLength: 1,
    maxLength: 60,
  });

  it('round-trips generated add/remove/other actions (fast-check)', async () => {
    await fc.assert(
      fc.asyncProperty(actionsArb, fc.integer({ min: 1, max: 25 }), fc.constantFrom(64, 512, 1 << 20), async (actions, rowGroupRows, pageSize) => {
        // Metadata values in these arbitraries are never null; the decoder reads all maps as string|null records.
        const bytes = await encodeCheckpointParquet(actions, { rowGroupRows, pageSize });
        const fast = await decodeCheckpointParquet(bytes);
        expect(fast).toEqual(actions.map(normalize));
        expect(await decodeCheckpointParquet(bytes, undefined, { assembly: 'reference' })).toEqual(fast);
      }),
      { numRuns: 60 },
    );
  });

  it('round-trips 20,000 adds over several row groups and pages', async () => {
    const actions: Action[] = [{ protocol: { minReaderVersion: 1, minWriterVersion: 2 } }];
    for (let i = 0; i < 20_000; i++) {
      actions.push({
        add: {
          path: `part=${i % 7}/file-${i}.parquet`,
          partitionValues: i % 5 === 0 ? {} : { part: String(i % 7), other: i % 3 === 0 ? null : 'x' },
          size: i * 1000,
          modificationTime: 1_700_000_000_000 + i,
          dataChange: i % 2 === 0,
          stats: `{"numRecords":${i}}`,
          tags: i % 11 === 0 ? { t: String(i) } : null,
          deletionVector: i % 13 === 0 ? DV : null,
        },
      });
    }
    const bytes = await encodeCheckpointParquet(actions, { rowGroupRows: 6_000, pageSize: 16_384 });
    const decoded = await decodeCheckpointParquet(bytes);
    expect(decoded).toEqual(actions.map(normalize));
  });
});

// --- stats_parsed rendering with types the fixtures lack -------------------------------------------

describe('stats_parsed rendering', () => {
  const opt = 'OPTIONAL' as const;
  const str = (name: string): SchemaElement => ({ name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: opt });
  const schema: SchemaElement[] = [
    { name: 'spark_schema', num_children: 1 },
    { name: 'add', repetition_type: opt, num_children: 7 },
    str('path'),
    { name: 'partitionValues', repetition_type: opt, num_children: 1, converted_type: 'MAP' },
    { name: 'key_value', repetition_type: 'REPEATED', num_children: 2 },
    { ...str('key'), repetition_type: 'REQUIRED' },
    str('value'),
    { name: 'size', type: 'INT64', repetition_type: opt },
    { name: 'modificationTime', type: 'INT64', repetition_type: opt },
    { name: 'dataChange', type: 'BOOLEAN', repetition_type: opt },
    { name: 'stats_parsed', repetition_type: opt, num_children: 3 },
    { name: 'numRecords', type: 'INT64', repetition_type: opt },
    { name: 'minValues', repetition_type: opt, num_children: 5 },
    { name: 'col-ts', type: 'INT64', repetition_type: opt, logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MICROS' } },
    { name: 'ntz', type: 'INT64', repetition_type: opt, logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: false, unit: 'MICROS' } },
    { name: 'd', type: 'INT32', repetition_type: opt, converted_type: 'DATE' },
    { name: 'dec', type: 'INT64', repetition_type: opt, converted_type: 'DECIMAL', precision: 12, scale: 2 },
    { name: 'big', type: 'INT64', repetition_type: opt },
    { name: 'nullCount', repetition_type: opt, num_children: 2 },
    { name: 'col-ts', type: 'INT64', repetition_type: opt },
    { name: 'd', type: 'INT64', repetition_type: opt },
    { name: 'partitionValues_parsed', repetition_type: opt, num_children: 2 },
    { name: 'day', type: 'INT32', repetition_type: opt, converted_type: 'DATE' },
    str('region'),
  ];
  const tableSchema: StructType = {
    type: 'struct',
    fields: [
      { name: 'ts', type: 'timestamp', nullable: true, metadata: { 'delta.columnMapping.physicalName': 'col-ts' } },
      { name: 'ntz', type: 'timestamp_ntz', nullable: true, metadata: {} },
      { name: 'd', type: 'date', nullable: true, metadata: {} },
      { name: 'dec', type: { type: 'decimal', precision: 12, scale: 2 }, nullable: true, metadata: {} },
      { name: 'big', type: 'long', nullable: true, metadata: {} },
      { name: 'day', type: 'date', nullable: true, metadata: {} },
      { name: 'region', type: 'string', nullable: true, metadata: {} },
    ],
  };
  const day = (iso: string): Date => new Date(iso + 'T00:00:00Z');
  const rows = [
    {
      path: 'with-json-stats',
      partitionValues: { day: '2024-02-29', region: 'eu' },
      size: 1n,
      modificationTime: 2n,
      dataChange: true,
      stats_parsed: { numRecords: 5n, minValues: { 'col-ts': new Date('2024-02-29T10:11:12.345Z') }, nullCount: { 'col-ts': 0n, d: 0n } },
      partitionValues_parsed: { day: day('2024-02-29'), region: 'eu' },
    },
    {
      path: 'parsed-only',
      partitionValues: null,
      size: 3n,
      modificationTime: 4n,
      dataChange: false,
      stats_parsed: {
        numRecords: 7n,
        minValues: { 'col-ts': new Date('1969-12-31T23:59:59.999Z'), ntz: new Date('2024-01-02T03:04:05.006Z'), d: day('1900-01-01'), dec: -12.34, big: -(2n ** 40n) },
        nullCount: { 'col-ts': 1n, d: null },
      },
      partitionValues_parsed: { day: day('2024-03-01'), region: null },
    },
  ];
  // Stats JSON column present for the first row only: the second needs the parsed columns.
  const withStats = (statsColumn: boolean): Uint8Array => {
    const s = statsColumn ? [...schema.slice(0, 10), str('stats'), ...schema.slice(10)] : schema;
    if (statsColumn) s[1] = { ...s[1], num_children: 8 };
    const data = rows.map((r, i) => ({ ...r, ...(statsColumn ? { stats: i === 0 ? '{"numRecords":5}' : null } : {}) }));
    return new Uint8Array(parquetWriteBuffer({ columnData: [{ name: 'add', data }], schema: s }));
  };

  it.each([true, false])('renders timestamps, dates, decimals and longs (stats column present: %s)', async (statsColumn) => {
    const actions = adds(await decodeBoth(withStats(statsColumn), tableSchema));
    expect(JSON.parse(actions[1].stats as string)).toEqual({
      numRecords: 7,
      minValues: { 'col-ts': '1969-12-31T23:59:59.999Z', ntz: '2024-01-02T03:04:05.006', d: '1900-01-01', dec: -12.34, big: -(2 ** 40) },
      nullCount: { 'col-ts': 1 },
    });
    expect(Object.keys(JSON.parse(actions[1].stats as string))).toEqual(['numRecords', 'minValues', 'nullCount']);
    expect(actions[0].stats).toBe(statsColumn ? '{"numRecords":5}' : '{"numRecords":5,"minValues":{"col-ts":"2024-02-29T10:11:12.345Z"},"nullCount":{"col-ts":0,"d":0}}');
    expect(actions[0].partitionValues).toEqual({ day: '2024-02-29', region: 'eu' });
    expect(actions[1].partitionValues).toEqual({ day: '2024-03-01', region: null });
  });

  it('uses the parquet logical types when no table schema is given', async () => {
    const actions = adds(await decodeBoth(withStats(false)));
    expect(JSON.parse(actions[1].stats as string).minValues).toEqual({
      'col-ts': '1969-12-31T23:59:59.999Z',
      ntz: '2024-01-02T03:04:05.006',
      d: '1900-01-01',
      dec: -12.34,
      big: -(2 ** 40),
    });
  });
});

// --- cross-engine: DuckDB reads what we write ---------------------------------------------------------

let conn: DuckDBConnection;
beforeAll(async () => {
  conn = await (await DuckDBInstance.create(':memory:')).connect();
});
afterAll(() => conn.closeSync());

describe('DuckDB reads encoded checkpoints', () => {
  let file = '';
  let cleanup = (): void => {};
  beforeAll(async () => {
    const t = tempDir('lh-checkpoint-duck-');
    cleanup = t.cleanup;
    file = join(t.dir, '00000000000000000010.checkpoint.parquet');
    writeFileSync(file, await encodeCheckpointParquet(SAMPLE));
  });
  afterAll(() => cleanup());

  const q = async (sql: string): Promise<Record<string, unknown>[]> => (await conn.runAndReadAll(sql.replaceAll('$F', `'${file}'`))).getRowObjectsJson() as Record<string, unknown>[];

  it('sees add.partitionValues as MAP(VARCHAR, VARCHAR) with the values written', async () => {
    const rows = await q(`SELECT typeof(add.partitionValues) AS t, add.path AS path, add.partitionValues['p'] AS p,
        map_contains(add.partitionValues, 'q') AS has_q, add.partitionValues['q'] AS q, cardinality(add.partitionValues) AS n,
        add.size AS size, add.deletionVector.cardinality AS card, add.tags['INSERTION_TIME'] AS ins
      FROM $F WHERE add IS NOT NULL`);
    expect(rows.map((r) => r.t)).toEqual(['MAP(VARCHAR, VARCHAR)', 'MAP(VARCHAR, VARCHAR)', 'MAP(VARCHAR, VARCHAR)']);
    expect(rows).toMatchObject([
      { path: 'p=a%20b/q=__HIVE_DEFAULT_PARTITION__/part-0000.parquet', p: 'a b', has_q: true, q: null, n: '2', size: '1234', card: '2', ins: '1700000000000000' },
      { path: 'p=%E2%9C%93/part-0001 ✓.parquet', p: '✓ 日本語 🎉', has_q: true, q: '', n: '2', size: '0', card: '6', ins: null },
      { path: 's3://bucket/abs/part-0002.parquet', p: null, has_q: false, n: '0', size: String(Number.MAX_SAFE_INTEGER), card: null },
    ]);
  });

  it('reads the other action columns with their protocol types', async () => {
    const [p] = await q(`SELECT typeof(protocol.minReaderVersion) AS t, protocol.readerFeatures AS rf, typeof(protocol.writerFeatures) AS wt FROM $F WHERE protocol IS NOT NULL`);
    expect(p).toEqual({ t: 'INTEGER', rf: ['deletionVectors', 'columnMapping'], wt: 'VARCHAR[]' });
    const [m] = await q(`SELECT metaData.partitionColumns AS pc, metaData.configuration['delta.columnMapping.mode'] AS mode,
        metaData.format.options['compression'] AS c, typeof(metaData.createdTime) AS ct FROM $F WHERE metaData IS NOT NULL`);
    expect(m).toEqual({ pc: ['p', 'q'], mode: 'name', c: 'snappy', ct: 'BIGINT' });
    const removes = await q(`SELECT remove.path AS path, remove.extendedFileMetadata AS ext, remove.partitionValues AS pv FROM $F WHERE remove IS NOT NULL`);
    expect(removes).toEqual([
      { path: 'p=a/old.parquet', ext: true, pv: [{ key: 'p', value: 'a' }, { key: 'q', value: null }] },
      { path: 'old2.parquet', ext: null, pv: null },
    ]);
    const txns = await q(`SELECT txn.appId AS id, txn.version AS v FROM $F WHERE txn IS NOT NULL`);
    expect(txns).toEqual([
      { id: 'streaming-app', v: '42' },
      { id: 'batch', v: '0' },
    ]);
  });

  it('has real MAP and 3-level LIST types in the Parquet schema', async () => {
    const schema = await q(`SELECT name, type, repetition_type AS rep, converted_type AS ct, logical_type AS lt FROM parquet_schema($F)`);
    const maps = schema.filter((r) => r.ct === 'MAP');
    expect(maps.map((r) => r.name)).toEqual(['partitionValues', 'tags', 'partitionValues', 'tags', 'options', 'configuration']);
    for (const m of maps) {
      expect(m.lt).toBe('MapType()');
      expect(m.rep).toBe('OPTIONAL');
      const i = schema.indexOf(m);
      expect(schema.slice(i + 1, i + 4)).toEqual([
        { name: 'key_value', type: null, rep: 'REPEATED', ct: null, lt: null },
        { name: 'key', type: 'BYTE_ARRAY', rep: 'REQUIRED', ct: 'UTF8', lt: 'StringType()' },
        { name: 'value', type: 'BYTE_ARRAY', rep: 'OPTIONAL', ct: 'UTF8', lt: 'StringType()' },
      ]);
    }
    const lists = schema.filter((r) => r.ct === 'LIST');
    expect(lists.map((r) => r.name)).toEqual(['partitionColumns', 'readerFeatures', 'writerFeatures']);
    for (const l of lists) {
      expect(l.lt).toBe('ListType()');
      const i = schema.indexOf(l);
      expect(schema.slice(i + 1, i + 3)).toEqual([
        { name: 'list', type: null, rep: 'REPEATED', ct: null, lt: null },
        { name: 'element', type: 'BYTE_ARRAY', rep: 'OPTIONAL', ct: 'UTF8', lt: 'StringType()' },
      ]);
    }
    const longs = schema.filter((r) => ['size', 'modificationTime', 'createdTime', 'deletionTimestamp', 'cardinality'].includes(r.name as string));
    expect(longs.length).toBeGreaterThan(0);
    for (const l of longs) expect(l.type).toBe('INT64');
    expect(schema.filter((r) => r.name === 'minReaderVersion' || r.name === 'offset').map((r) => r.type)).toEqual(['INT32', 'INT32', 'INT32']);
  });
});
