import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LakehouseError,
  ManualClock,
  MemoryStorage,
  Snapshot,
  append,
  createTable,
  encodeCheckpointParquet,
  padVersion,
  planScan,
  readHistory,
  schemaToString,
  versionAtTimestamp,
  type Action,
  type ErrorCode,
  type MetadataAction,
  type ProtocolAction,
  type Storage,
  type StructType,
  type TableRef,
} from '../src/index.js';
import { DuckDbEngine, FsStorage, queryTable } from '../src/node/index.js';
import { NoCheckpointStorage } from './support/faulty-storage.js';
import { tempDir } from './support/tmp.js';

const schema: StructType = {
  type: 'struct',
  fields: [
    { name: 'id', type: 'long', nullable: false, metadata: {} },
    { name: 'p', type: 'string', nullable: true, metadata: {} },
  ],
};

const tmp = tempDir('lh-bad-input-');
const T0 = Date.UTC(2024, 4, 1, 12, 0, 0);
let engine: DuckDbEngine;
beforeAll(async () => {
  engine = await DuckDbEngine.create();
});
afterAll(() => tmp.cleanup());

const enc = new TextEncoder();
const dec = new TextDecoder();

function rowsSql(from: number, to: number): string {
  return `SELECT i::BIGINT AS id, 'p' || (i % 2) AS p FROM range(${from}, ${to}) t(i)`;
}

let dirs = 0;
/** A fresh FsStorage table: v0 created with rows [0,10), then `appends` appends of 10 rows each, one second apart. */
async function fsTable(appends: number, properties: Record<string, string> = {}): Promise<{ table: TableRef; dir: string; clock: ManualClock }> {
  const dir = join(tmp.dir, `t${++dirs}`);
  const clock = new ManualClock(T0);
  const table: TableRef = { storage: new FsStorage(dir, clock), tableKey: '' };
  await createTable(table, { schema, partitionColumns: ['p'], properties, engine, sourceSql: rowsSql(0, 10), clock });
  for (let i = 1; i <= appends; i++) {
    clock.advance(1000);
    await append(table, engine, { sourceSql: rowsSql(i * 10, i * 10 + 10), clock });
  }
  return { table, dir, clock };
}

async function ids(table: TableRef, version?: number): Promise<number[]> {
  const s = await Snapshot.load(table, version === undefined ? {} : { version });
  return (await queryTable(engine.connection, s)).map((r) => Number(r.id)).sort((a, b) => a - b);
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** Awaits a rejection and checks its code and that the message mentions every `names`. */
async function expectFailure(p: Promise<unknown>, code: ErrorCode, ...names: (string | RegExp)[]): Promise<LakehouseError> {
  const err = await p.then(
    (v) => {
      throw new Error(`expected ${code}, but it succeeded with ${String(v)}`);
    },
    (e: unknown) => e,
  );
  expect(err, String(err)).toBeInstanceOf(LakehouseError);
  const le = err as LakehouseError;
  expect(le.code, le.message).toBe(code);
  for (const n of names) {
    if (typeof n === 'string') expect(le.message).toContain(n);
    else expect(le.message).toMatch(n);
  }
  return le;
}

const protocol12: ProtocolAction = { minReaderVersion: 1, minWriterVersion: 2 };
const metadata: MetadataAction = {
  id: 'test-table',
  format: { provider: 'parquet', options: {} },
  schemaString: schemaToString(schema),
  partitionColumns: [],
  configuration: {},
  createdTime: T0,
};

/** Writes one commit file of newline-delimited actions. */
async function writeCommit(storage: Storage, version: number, actions: readonly Action[]): Promise<void> {
  await storage.put(`_delta_log/${padVersion(version)}.json`, enc.encode(actions.map((a) => JSON.stringify(a)).join('\n') + '\n'));
}

function addOf(path: string, size = 100): Action {
  return { add: { path, partitionValues: {}, size, modificationTime: T0, dataChange: true } };
}

/** A MemoryStorage table with v0 = protocol + metadata + one add, and `more` commits of one add each. */
async function memoryTable(more = 0, proto: ProtocolAction = protocol12): Promise<TableRef> {
  const storage = new MemoryStorage(new ManualClock(T0));
  await writeCommit(storage, 0, [{ commitInfo: { operation: 'CREATE TABLE' } }, { protocol: proto }, { metaData: metadata }, addOf('f0.parquet')]);
  for (let v = 1; v <= more; v++) await writeCommit(storage, v, [addOf(`f${v}.parquet`)]);
  return { storage, tableKey: '' };
}

describe('corrupt and incomplete logs', () => {
  it('a truncated JSON line in commit 1 is CORRUPT_LOG naming the file and line', async () => {
    const { table } = await fsTable(2);
    const key = `_delta_log/${padVersion(1)}.json`;
    const text = dec.decode(await table.storage.get(key));
    const lines = text.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(2);
    // Keep the commitInfo line and cut the second line in half.
    await table.storage.put(key, enc.encode(lines[0] + '\n' + lines[1].slice(0, Math.floor(lines[1].length / 2)) + '\n'));
    const err = await expectFailure(Snapshot.load(table), 'CORRUPT_LOG', `${padVersion(1)}.json`, 'line 2');
    expect(err.details).toMatchObject({ line: 2 });
    // Versions before the damage still load.
    expect(await ids(table, 0)).toEqual(range(10));
    // Reading history also names the file.
    await expectFailure(readHistory(table), 'CORRUPT_LOG', `${padVersion(1)}.json`);
  });

  it('a commit line that is JSON but not an object is CORRUPT_LOG naming the file and line', async () => {
    const table = await memoryTable(1);
    await table.storage.put(`_delta_log/${padVersion(1)}.json`, enc.encode(`${JSON.stringify(addOf('x.parquet'))}\n\n[1,2]\n`));
    await expectFailure(Snapshot.load(table), 'CORRUPT_LOG', `${padVersion(1)}.json`, 'line 3');
  });

  it('unknown action types are ignored, as the protocol asks of readers', async () => {
    const table = await memoryTable(1);
    await writeCommit(table.storage, 2, [{ futureAction: { x: 1 } } as unknown as Action, addOf('f2.parquet')]);
    const s = await Snapshot.load(table);
    expect([...s.adds()].map((a) => a.path).sort()).toEqual(['f0.parquet', 'f1.parquet', 'f2.parquet']);
  });

  it('a missing version in the sequence is CORRUPT_LOG naming the missing commit file', async () => {
    const { table } = await fsTable(2);
    const stale = await Snapshot.load(table, { version: 0 });
    await table.storage.delete(`_delta_log/${padVersion(1)}.json`);
    const err = await expectFailure(Snapshot.load(table), 'CORRUPT_LOG', `${padVersion(1)}.json`);
    expect(err.details).toMatchObject({ version: 1 });
    // Time travel past the gap, and refreshing a snapshot across it, fail the same way.
    await expectFailure(Snapshot.load(table, { version: 2 }), 'CORRUPT_LOG', `${padVersion(1)}.json`);
    await expectFailure(stale.update(), 'CORRUPT_LOG', `${padVersion(1)}.json`);
  });

  it('a log without commit 0 and without a checkpoint is not silently read from the middle', async () => {
    const table = await memoryTable(2);
    await table.storage.delete(`_delta_log/${padVersion(0)}.json`);
    await expectFailure(Snapshot.load(table), 'VERSION_NOT_FOUND', 'earliest version 1');
  });

  it('a log whose first commits lack protocol or metadata is CORRUPT_LOG naming what is missing', async () => {
    const storage = new MemoryStorage();
    await writeCommit(storage, 0, [{ metaData: metadata }, addOf('a.parquet')]);
    await expectFailure(Snapshot.load({ storage, tableKey: '' }), 'CORRUPT_LOG', 'protocol');
    const storage2 = new MemoryStorage();
    await writeCommit(storage2, 0, [{ protocol: protocol12 }, addOf('a.parquet')]);
    await expectFailure(Snapshot.load({ storage: storage2, tableKey: '' }), 'CORRUPT_LOG', 'metaData');
  });

  it('a schemaString that is not JSON is CORRUPT_LOG naming schemaString', async () => {
    const storage = new MemoryStorage();
    await writeCommit(storage, 0, [{ protocol: protocol12 }, { metaData: { ...metadata, schemaString: '{"type":"struct","fields":[' } }]);
    await expectFailure(Snapshot.load({ storage, tableKey: '' }), 'CORRUPT_LOG', 'schemaString');
  });

  it('an add path escaping the table or with a broken escape is CORRUPT_LOG naming the path at scan time', async () => {
    for (const bad of ['../../etc/passwd', 'dir/%zz.parquet']) {
      const table = await memoryTable(0);
      await writeCommit(table.storage, 1, [addOf(bad)]);
      const s = await Snapshot.load(table);
      await expectFailure(planScan(s), 'CORRUPT_LOG', bad);
    }
  });
});

describe('missing data files', () => {
  it('a data file deleted behind the log is FILE_NOT_FOUND naming the file at query time', async () => {
    const { table } = await fsTable(1);
    const s = await Snapshot.load(table);
    const victim = [...s.files()][1];
    await table.storage.delete(victim.key);
    const err = await expectFailure(queryTable(engine.connection, s), 'FILE_NOT_FOUND', victim.add.path);
    expect(err.details).toMatchObject({ file: victim.add.path });
    // A predicate that prunes the missing file away still reads the rest.
    const pv = victim.add.partitionValues.p;
    const other = pv === 'p0' ? 'p1' : 'p0';
    const rows = await queryTable(engine.connection, s, { where: `p = '${other}'` });
    expect(rows.length).toBe(10);
  });
});

describe('protocol refusal', () => {
  it('an unknown reader feature is UNSUPPORTED_FEATURE naming it; versions before it still load', async () => {
    const table = await memoryTable(1);
    const fancy: ProtocolAction = { minReaderVersion: 3, minWriterVersion: 7, readerFeatures: ['fancyNewThing'], writerFeatures: ['fancyNewThing'] };
    await writeCommit(table.storage, 2, [{ protocol: fancy }]);
    const err = await expectFailure(Snapshot.load(table), 'UNSUPPORTED_FEATURE', 'fancyNewThing');
    expect(err.details).toMatchObject({ features: ['fancyNewThing'] });
    expect((await Snapshot.load(table, { version: 1 })).numFiles).toBe(2);
    // A snapshot from before the upgrade refuses to refresh across it.
    const old = await Snapshot.load(table, { version: 1 });
    await expectFailure(old.update(), 'UNSUPPORTED_FEATURE', 'fancyNewThing');
  });

  it('a known reader feature next to an unknown one names only the unknown one', async () => {
    const table = await memoryTable(0, { minReaderVersion: 3, minWriterVersion: 7, readerFeatures: ['deletionVectors', 'fancyNewThing'], writerFeatures: [] });
    const err = await expectFailure(Snapshot.load(table), 'UNSUPPORTED_FEATURE', '"fancyNewThing"');
    expect(err.message).not.toContain('deletionVectors');
  });

  it('reader version 99 is UNSUPPORTED_FEATURE naming the version', async () => {
    const table = await memoryTable(0, { minReaderVersion: 99, minWriterVersion: 2 });
    await expectFailure(Snapshot.load(table), 'UNSUPPORTED_FEATURE', 'reader version 99');
  });

  it('an unknown reader feature found only in a checkpoint is refused too', async () => {
    const storage = new MemoryStorage();
    const cp = await encodeCheckpointParquet([
      { protocol: { minReaderVersion: 3, minWriterVersion: 7, readerFeatures: ['fancyNewThing'], writerFeatures: [] } },
      { metaData: metadata },
      { add: { path: 'a.parquet', partitionValues: {}, size: 1, modificationTime: T0, dataChange: false } },
    ]);
    await storage.put(`_delta_log/${padVersion(5)}.checkpoint.parquet`, cp);
    await expectFailure(Snapshot.load({ storage, tableKey: '' }), 'UNSUPPORTED_FEATURE', 'fancyNewThing');
  });

  it('a writer version this core cannot write is refused on append, naming the version', async () => {
    const { table } = await fsTable(0);
    await writeCommit(table.storage, 1, [{ protocol: { minReaderVersion: 1, minWriterVersion: 99 } }]);
    expect((await Snapshot.load(table)).version).toBe(1);
    await expectFailure(append(table, engine, { sourceSql: rowsSql(10, 11) }), 'UNSUPPORTED_FEATURE', 'writer version 99');
    expect((await Snapshot.load(table)).version).toBe(1);
  });
});

describe('not a table', () => {
  it('a missing folder and an empty folder are TABLE_NOT_FOUND naming the location', async () => {
    const missing = join(tmp.dir, 'does-not-exist');
    await expectFailure(Snapshot.load({ storage: new FsStorage(missing), tableKey: '' }), 'TABLE_NOT_FOUND', missing);
    const empty = join(tmp.dir, 'empty');
    mkdirSync(empty);
    await expectFailure(Snapshot.load({ storage: new FsStorage(empty), tableKey: '' }), 'TABLE_NOT_FOUND', empty);
    await expectFailure(readHistory({ storage: new FsStorage(empty), tableKey: '' }), 'TABLE_NOT_FOUND', empty);
    // Under a table key of a shared storage too.
    await expectFailure(Snapshot.load({ storage: new MemoryStorage(), tableKey: 'sales/orders' }), 'TABLE_NOT_FOUND', 'sales/orders');
  });

  it('a folder with files but no commits is NOT_A_DELTA_TABLE', async () => {
    const variants: [string, Record<string, string>][] = [
      ['only data', { 'part-0.parquet': 'x' }],
      ['empty log folder', { 'part-0.parquet': 'x', '_delta_log/.keep': '' }],
      ['only a _last_checkpoint', { '_delta_log/_last_checkpoint': '{"version":5,"size":3}' }],
      ['only crc and temp-looking files', { '_delta_log/00000000000000000000.crc': '{}', '_delta_log/00000000000000000000.json.tmp': '{}' }],
    ];
    for (const [name, files] of variants) {
      const dir = join(tmp.dir, `not-delta-${name.replace(/\W+/g, '-')}`);
      for (const [rel, body] of Object.entries(files)) {
        mkdirSync(join(dir, rel, '..'), { recursive: true });
        writeFileSync(join(dir, rel), body);
      }
      const err = await expectFailure(Snapshot.load({ storage: new FsStorage(dir), tableKey: '' }), 'NOT_A_DELTA_TABLE', dir);
      expect(err.message, name).toContain('_delta_log');
    }
  });
});

describe('checkpoint hints and checkpoints that lie', () => {
  /** Table with v0..12 and a checkpoint at 10. */
  async function checkpointed(): Promise<{ table: TableRef; dir: string }> {
    const t = await fsTable(12);
    expect(await t.table.storage.head(`_delta_log/${padVersion(10)}.checkpoint.parquet`)).not.toBeNull();
    return t;
  }
  async function jsonOnlyPaths(table: TableRef, version?: number): Promise<string[]> {
    const s = await Snapshot.load({ storage: new NoCheckpointStorage(table.storage), tableKey: '' }, version === undefined ? {} : { version });
    return [...s.adds()].map((a) => a.path).sort();
  }
  async function paths(table: TableRef, version?: number): Promise<string[]> {
    const s = await Snapshot.load(table, version === undefined ? {} : { version });
    return [...s.adds()].map((a) => a.path).sort();
  }

  it('a stale _last_checkpoint (its checkpoint deleted) still loads by listing', async () => {
    const { table } = await checkpointed();
    await table.storage.delete(`_delta_log/${padVersion(10)}.checkpoint.parquet`);
    expect(JSON.parse(dec.decode(await table.storage.get('_delta_log/_last_checkpoint'))).version).toBe(10);
    expect(await paths(table)).toEqual(await jsonOnlyPaths(table));
    expect(await ids(table)).toEqual(range(130));
    expect(await ids(table, 11)).toEqual(range(120));
  });

  it('a _last_checkpoint pointing past the end of the log still loads by listing', async () => {
    const { table } = await checkpointed();
    await table.storage.put('_delta_log/_last_checkpoint', enc.encode('{"version":500,"size":4}'));
    expect((await Snapshot.load(table)).version).toBe(12);
    expect(await ids(table)).toEqual(range(130));
  });

  it('a corrupt _last_checkpoint (garbage bytes) still loads by listing', async () => {
    for (const garbage of [new Uint8Array([0xff, 0x00, 0x13, 0x37, 0x80]), enc.encode('{"version":'), enc.encode('{"version":-3}'), enc.encode('"10"')]) {
      const { table } = await checkpointed();
      await table.storage.put('_delta_log/_last_checkpoint', garbage);
      const s = await Snapshot.load(table);
      expect(s.version).toBe(12);
      expect(await paths(table)).toEqual(await jsonOnlyPaths(table));
      expect(await ids(table)).toEqual(range(130));
    }
  });

  it('a corrupt checkpoint file with no _last_checkpoint falls back to the JSON log', async () => {
    const { table } = await checkpointed();
    await table.storage.put(`_delta_log/${padVersion(10)}.checkpoint.parquet`, enc.encode('not parquet at all'));
    await table.storage.delete('_delta_log/_last_checkpoint');
    expect(await paths(table)).toEqual(await jsonOnlyPaths(table));
    expect(await ids(table)).toEqual(range(130));
  });

  // Regression: the fallback from an unreadable checkpoint used the listing that started at the _last_checkpoint
  // version, so commits 0..9 looked "cleaned up" and the load failed with VERSION_NOT_FOUND.
  it('a corrupt checkpoint file named by _last_checkpoint falls back to the full JSON log', async () => {
    const { table } = await checkpointed();
    await table.storage.put(`_delta_log/${padVersion(10)}.checkpoint.parquet`, enc.encode('not parquet at all'));
    expect(await paths(table)).toEqual(await jsonOnlyPaths(table));
    expect(await ids(table)).toEqual(range(130));
  });

  // BUG (snapshot.ts loadFromListing): when the only checkpoint is unreadable and the commits before it were cleaned
  // up, the decode error is dropped and the load fails with VERSION_NOT_FOUND "no checkpoint covers it" instead of
  // CORRUPT_LOG; and decodeCheckpoint does not pass the file name to decodeCheckpointParquet, so even the CORRUPT_LOG
  // message (when it is reached) says "checkpoint.parquet" instead of the checkpoint's key.
  it('a corrupt checkpoint with the commits before it cleaned up is CORRUPT_LOG naming the checkpoint', async () => {
    for (const keepHint of [false, true]) {
      const { table } = await checkpointed();
      for (let v = 0; v < 10; v++) await table.storage.delete(`_delta_log/${padVersion(v)}.json`);
      if (!keepHint) await table.storage.delete('_delta_log/_last_checkpoint');
      await table.storage.put(`_delta_log/${padVersion(10)}.checkpoint.parquet`, enc.encode('not parquet at all'));
      await expectFailure(Snapshot.load(table), 'CORRUPT_LOG', `${padVersion(10)}.checkpoint.parquet`);
    }
  });

  it('with the commits before a good checkpoint cleaned up, the table loads from the checkpoint and older versions are VERSION_NOT_FOUND', async () => {
    const { table } = await checkpointed();
    for (let v = 0; v < 10; v++) await table.storage.delete(`_delta_log/${padVersion(v)}.json`);
    expect(await ids(table)).toEqual(range(130));
    expect(await ids(table, 10)).toEqual(range(110));
    await expectFailure(Snapshot.load(table, { version: 5 }), 'VERSION_NOT_FOUND', 'version 5');
  });
});

describe('time travel outside the history', () => {
  it('a version after the latest is VERSION_NOT_FOUND naming both versions', async () => {
    const { table } = await fsTable(2);
    const err = await expectFailure(Snapshot.load(table, { version: 7 }), 'VERSION_NOT_FOUND', 'version 7', 'latest version is 2');
    expect(err.details).toMatchObject({ version: 7, latest: 2 });
  });

  it('a timestamp before the first commit is VERSION_NOT_FOUND naming the earliest commit', async () => {
    const { table } = await fsTable(2);
    const hist = await readHistory(table);
    expect(hist.map((h) => h.timestamp)).toEqual([T0 + 2000, T0 + 1000, T0]);
    for (const ts of [T0 - 1, new Date(T0 - 60_000).toISOString(), '2024-05-01']) {
      const err = await expectFailure(Snapshot.load(table, { timestamp: ts }), 'VERSION_NOT_FOUND', 'version 0', new Date(T0).toISOString());
      expect(err.details).toMatchObject({ earliestVersion: 0 });
    }
    await expectFailure(versionAtTimestamp(table, T0 - 1), 'VERSION_NOT_FOUND');
    // At and between commits resolve to the latest commit at or before the timestamp.
    expect((await Snapshot.load(table, { timestamp: T0 })).version).toBe(0);
    expect((await Snapshot.load(table, { timestamp: T0 + 1500 })).version).toBe(1);
    expect((await Snapshot.load(table, { timestamp: new Date(T0 + 10_000_000).toISOString() })).version).toBe(2);
  });

  it('malformed time travel arguments are INVALID_INPUT naming the value', async () => {
    const table = await memoryTable(1);
    await expectFailure(Snapshot.load(table, { version: -1 }), 'INVALID_INPUT', '-1');
    await expectFailure(Snapshot.load(table, { version: 1.5 }), 'INVALID_INPUT', '1.5');
    await expectFailure(Snapshot.load(table, { version: 1, timestamp: T0 }), 'INVALID_INPUT', 'version or a timestamp');
    await expectFailure(Snapshot.load(table, { timestamp: 'yesterday-ish' }), 'INVALID_INPUT', 'yesterday-ish');
  });
});

describe('scan planning', () => {
  it('a malformed predicate is INVALID_INPUT naming the position', async () => {
    const table = await memoryTable(1);
    const s = await Snapshot.load(table);
    for (const bad of ['id >=', 'id = (1', "p = 'unterminated", 'id >> 3', 'AND id = 1']) {
      await expectFailure(planScan(s, { predicate: bad }), 'INVALID_INPUT', /invalid predicate at position \d+/);
    }
  });

  it('a partition column missing from the schema is CORRUPT_LOG naming the column', async () => {
    const storage = new MemoryStorage();
    await writeCommit(storage, 0, [{ protocol: protocol12 }, { metaData: { ...metadata, partitionColumns: ['region'] } }]);
    const s = await Snapshot.load({ storage, tableKey: '' });
    await expectFailure(planScan(s), 'CORRUPT_LOG', '"region"');
  });
});

