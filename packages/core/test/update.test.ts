import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ManualClock,
  Snapshot,
  Transaction,
  append,
  createTable,
  isLakehouseError,
  updateRows,
  type StructType,
  type TableRef,
} from '../src/index.js';
import { DuckDbEngine, FsStorage, queryTable } from '../src/node/index.js';
import { commitInfo, deleteWithDv, parquetFilesOnDisk } from './support/tables.js';
import { tempDir } from './support/tmp.js';

const schema: StructType = {
  type: 'struct',
  fields: [
    { name: 'id', type: 'long', nullable: false, metadata: {} },
    { name: 'name', type: 'string', nullable: true, metadata: {} },
    { name: 'amount', type: { type: 'decimal', precision: 12, scale: 2 }, nullable: true, metadata: {} },
    { name: 'day', type: 'date', nullable: true, metadata: {} },
  ],
};

/** A row of the model: amount in cents. */
interface Row {
  id: number;
  name: string | null;
  cents: number | null;
  day: string;
}

let engine: DuckDbEngine;
const tmp = tempDir('lh-update-');
const clock = new ManualClock(Date.UTC(2024, 0, 1));
beforeAll(async () => {
  engine = await DuckDbEngine.create(clock);
});
afterAll(() => tmp.cleanup());

let tableNo = 0;
function newTable(): TableRef {
  return { storage: new FsStorage(`${tmp.dir}/t${tableNo++}`), tableKey: '' };
}

function rowsSql(from: number, to: number, day: string): string {
  return `SELECT i::BIGINT AS id, 'n' || i AS name, (i * 1.25)::DECIMAL(12,2) AS amount, DATE '${day}' AS day FROM range(${from}, ${to}) t(i)`;
}

function modelRows(from: number, to: number, day: string): Row[] {
  return Array.from({ length: to - from }, (_, k) => ({ id: from + k, name: `n${from + k}`, cents: (from + k) * 125, day }));
}

function key(r: Row): string {
  return JSON.stringify([r.id, r.name, r.cents === null ? null : (r.cents / 100).toFixed(2), r.day]);
}

async function contents(table: TableRef): Promise<string[]> {
  const rows = await queryTable(engine.connection, await Snapshot.load(table));
  return rows.map((r) => JSON.stringify([Number(r.id), r.name, r.amount, r.day])).sort();
}

function expected(rows: Row[]): string[] {
  return rows.map(key).sort();
}

/** Three files: ids 0-9 on 01-01, 10-19 on 01-02, 20-29 on 01-01. Returns the model. */
async function threeFiles(table: TableRef, properties: Record<string, string> = {}): Promise<Row[]> {
  await createTable(table, { schema, partitionColumns: ['day'], clock, engine, sourceSql: rowsSql(0, 10, '2024-01-01'), properties });
  await append(table, engine, { sourceSql: rowsSql(10, 20, '2024-01-02'), clock });
  await append(table, engine, { sourceSql: rowsSql(20, 30, '2024-01-01'), clock });
  return [...modelRows(0, 10, '2024-01-01'), ...modelRows(10, 20, '2024-01-02'), ...modelRows(20, 30, '2024-01-01')];
}

function paths(s: Snapshot): string[] {
  return [...s.adds()].map((a) => a.path).sort();
}


describe('updateRows', () => {
  it('rewrites only the files with matching rows (stats-pruned and counted-out files keep their paths)', async () => {
    const table = newTable();
    let model = await threeFiles(table);
    const before = await Snapshot.load(table);
    expect(before.numFiles).toBe(3);

    // Parsable predicate: pruned by stats to the 10-19 file.
    const r = await updateRows(table, engine, { set: { name: `'u-' || name`, amount: 'amount * 2' }, predicate: 'id >= 12 AND id < 15', clock });
    expect(r).toEqual({ version: before.version + 1, numUpdatedRows: 3, numRemovedFiles: 1, numAddedFiles: 1, numCopiedRows: 7, committed: true });
    model = model.map((x) => (x.id >= 12 && x.id < 15 ? { ...x, name: `u-${x.name}`, cents: x.cents! * 2 } : x));
    expect(await contents(table)).toEqual(expected(model));
    const after = await Snapshot.load(table);
    const kept = paths(before).filter((p) => paths(after).includes(p));
    expect(kept).toHaveLength(2);
    expect(paths(after).filter((p) => !kept.includes(p))).toHaveLength(1);

    // Unparsable predicate (%): every file is counted, only the one with a match is rewritten.
    const r2 = await updateRows(table, engine, { set: { name: `'v'` }, predicate: 'id % 100 = 25', clock });
    expect(r2).toMatchObject({ numUpdatedRows: 1, numRemovedFiles: 1, numAddedFiles: 1, numCopiedRows: 9, committed: true });
    model = model.map((x) => (x.id === 25 ? { ...x, name: 'v' } : x));
    expect(await contents(table)).toEqual(expected(model));
    const after2 = await Snapshot.load(table);
    expect(paths(after2).filter((p) => paths(after).includes(p))).toHaveLength(2);

    const info = await commitInfo(table, r.version);
    expect(info.operation).toBe('UPDATE');
    expect(info.operationParameters).toEqual({ predicate: JSON.stringify(['id >= 12 AND id < 15']) });
    expect(info.operationMetrics).toMatchObject({ numUpdatedRows: '3', numCopiedRows: '7', numRemovedFiles: '1', numAddedFiles: '1' });
  });

  it('moves rows to another partition when a partition column is set', async () => {
    const table = newTable();
    let model = await threeFiles(table);
    const r = await updateRows(table, engine, { set: { day: `DATE '2024-01-03'` }, predicate: 'id < 5 OR id = 21', clock });
    expect(r).toMatchObject({ numUpdatedRows: 6, numRemovedFiles: 2, numCopiedRows: 14, committed: true });
    model = model.map((x) => (x.id < 5 || x.id === 21 ? { ...x, day: '2024-01-03' } : x));
    expect(await contents(table)).toEqual(expected(model));
    const s = await Snapshot.load(table);
    const moved = [...s.adds()].filter((a) => a.partitionValues.day === '2024-01-03');
    expect(moved).toHaveLength(1);
    expect(moved[0].path.startsWith('day=2024-01-03/')).toBe(true);
    expect(JSON.parse(moved[0].stats!).numRecords).toBe(6);
    // Partition pruning sees the moved rows where they now live.
    const jan3 = await queryTable(engine.connection, s, { where: "day = DATE '2024-01-03'" });
    expect(jan3.map((x) => Number(x.id)).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 21]);
  });

  it('updates every row without a predicate', async () => {
    const table = newTable();
    const model = await threeFiles(table);
    const r = await updateRows(table, engine, { set: { amount: '0', name: 'upper(name)' }, clock });
    expect(r).toMatchObject({ numUpdatedRows: 30, numRemovedFiles: 3, numCopiedRows: 0, committed: true });
    expect(await contents(table)).toEqual(expected(model.map((x) => ({ ...x, cents: 0, name: x.name!.toUpperCase() }))));
    expect((await commitInfo(table, r.version)).operationParameters).toEqual({ predicate: '[]' });
  });

  it.each([
    ['pruned by stats', 'id > 100000'],
    ['counted per file', 'id % 1000 = 999'],
    ['null predicate result', 'name = NULL'],
  ])('does not commit when nothing matches (%s)', async (_label, predicate) => {
    const table = newTable();
    const model = await threeFiles(table);
    const v = (await Snapshot.load(table)).version;
    const r = await updateRows(table, engine, { set: { name: `'x'` }, predicate, clock });
    expect(r).toEqual({ version: v, numUpdatedRows: 0, numRemovedFiles: 0, numAddedFiles: 0, numCopiedRows: 0, committed: false });
    expect((await Snapshot.load(table)).version).toBe(v);
    expect(await contents(table)).toEqual(expected(model));
  });

  describe('refuses bad input, leaving the table and its directory unchanged', () => {
    const table = newTable();
    let model: Row[];
    beforeAll(async () => {
      model = await threeFiles(table);
    });
    it.each<[string, Record<string, string>, string | undefined, string, RegExp]>([
      ['an unknown SET column', { nope: '1' }, 'id = 1', 'INVALID_INPUT', /"nope"/],
      ['a SET expression over an unknown column', { name: 'nosuch || 1' }, 'id = 1', 'INVALID_INPUT', /column "name".*nosuch/is],
      ['a predicate over an unknown column', { name: `'x'` }, 'nosuch = 1', 'INVALID_INPUT', /predicate.*nosuch/is],
      ['a SET expression that does not cast', { day: '1.5::DOUBLE' }, 'id = 1', 'INVALID_INPUT', /"day"/],
      ['a value that does not convert', { amount: `'abc'` }, 'id = 1', 'INVALID_INPUT', /abc/],
      ['a NULL in a NOT NULL column', { id: 'NULL' }, 'id = 3', 'INVALID_INPUT', /"id".*not nullable/],
      ['no SET column', {}, 'id = 1', 'INVALID_INPUT', /at least one/],
      ['an empty predicate', { name: `'x'` }, '  ', 'INVALID_INPUT', /empty/],
    ])('%s', async (_label, set, predicate, code, message) => {
      const v = (await Snapshot.load(table)).version;
      const files = parquetFilesOnDisk(table);
      const err = await updateRows(table, engine, { set, predicate, clock }).catch((e: unknown) => e);
      expect(isLakehouseError(err, code as 'INVALID_INPUT'), String(err)).toBe(true);
      expect((err as Error).message).toMatch(message);
      expect((await Snapshot.load(table)).version).toBe(v);
      expect(parquetFilesOnDisk(table)).toBe(files);
      expect(await contents(table)).toEqual(expected(model));
    });
  });

  it('refuses to update a table with the change data feed enabled (cdc files would be required)', async () => {
    const table = newTable();
    const model = await threeFiles(table);
    const s = await Snapshot.load(table);
    const txn = new Transaction(table, s, clock);
    txn.add(
      { protocol: { minReaderVersion: 1, minWriterVersion: 7, writerFeatures: ['changeDataFeed'] } },
      { metaData: { ...s.metadata, configuration: { ...s.metadata.configuration, 'delta.enableChangeDataFeed': 'true' } } },
    );
    const { version } = await txn.commit({ operation: 'SET TBLPROPERTIES' });
    const files = parquetFilesOnDisk(table);
    const err = await updateRows(table, engine, { set: { name: `'x'` }, predicate: 'id = 1', clock }).catch((e: unknown) => e);
    expect(isLakehouseError(err, 'UNSUPPORTED_FEATURE'), String(err)).toBe(true);
    expect((err as Error).message).toMatch(/change data feed/);
    expect((await Snapshot.load(table)).version).toBe(version);
    expect(parquetFilesOnDisk(table)).toBe(files);
    expect(await contents(table)).toEqual(expected(model));
  });

  it('honours deletion vectors: deleted rows are neither updated nor resurrected', async () => {
    const table = newTable();
    let model = await threeFiles(table, { 'delta.enableDeletionVectors': 'true' });
    await deleteWithDv(table, engine, clock, [11, 13]);
    model = model.filter((x) => x.id !== 11 && x.id !== 13);
    expect(await contents(table)).toEqual(expected(model));
    const r = await updateRows(table, engine, { set: { name: `'w'` }, predicate: 'id >= 10 AND id < 15', clock });
    // 10, 12, 14 updated; 15-19 copied; 11 and 13 stay deleted.
    expect(r).toMatchObject({ numUpdatedRows: 3, numCopiedRows: 5, numRemovedFiles: 1, committed: true });
    model = model.map((x) => (x.id >= 10 && x.id < 15 ? { ...x, name: 'w' } : x));
    expect(await contents(table)).toEqual(expected(model));
    const s = await Snapshot.load(table);
    expect([...s.adds()].some((a) => a.deletionVector)).toBe(false);
  });
});
