import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ManualClock,
  Snapshot,
  append,
  createTable,
  deleteRows,
  isLakehouseError,
  tableConstraints,
  updateRows,
  type StructType,
  type TableRef,
} from '../src/index.js';
import { DuckDbEngine, FsStorage, queryTable } from '../src/node/index.js';
import { tempDir } from './support/tmp.js';
import { FIXTURES_DIR } from './support/fixtures.js';
import { cpSync } from 'node:fs';

const tmp = tempDir();
const clock = new ManualClock(Date.UTC(2024, 0, 1));
let engine: DuckDbEngine;
beforeAll(async () => {
  engine = await DuckDbEngine.create(clock);
});
afterAll(() => tmp.cleanup());

const schema: StructType = {
  type: 'struct',
  fields: [
    { name: 'id', type: 'long', nullable: false, metadata: {} },
    { name: 'qty', type: 'integer', nullable: true, metadata: { 'delta.invariants': JSON.stringify({ expression: { expression: 'qty >= 0' } }) } },
    { name: 'Unit Price', type: 'double', nullable: true, metadata: {} },
  ],
};

describe('constraints and invariants are enforced on every write', () => {
  const table: TableRef = { storage: new FsStorage(tmp.dir + '/c'), tableKey: '' };

  it('reads both kinds of constraint from the metadata', async () => {
    await createTable(table, {
      schema,
      properties: { 'delta.constraints.price_positive': '"Unit Price" > 0', 'delta.columnMapping.mode': 'name' },
      engine,
      clock,
      sourceSql: `SELECT 1::BIGINT AS id, 2 AS qty, 3.5 AS "Unit Price"`,
    });
    const s = await Snapshot.load(table);
    expect(tableConstraints(s.metadata).map((c) => c.name).sort()).toEqual(['invariant:qty', 'price_positive']);
    expect(s.protocol).toMatchObject({ minReaderVersion: 2, minWriterVersion: 5 });
  });

  it.each([
    ['a CHECK constraint', `SELECT 2::BIGINT AS id, 1 AS qty, -1.0 AS "Unit Price"`, 'price_positive'],
    ['a column invariant', `SELECT 2::BIGINT AS id, -5 AS qty, 1.0 AS "Unit Price"`, 'invariant:qty'],
  ])('an append violating %s is refused and nothing is committed', async (_what, sql, name) => {
    const before = (await Snapshot.load(table)).version;
    const err = await append(table, engine, { sourceSql: sql, clock }).catch((e: unknown) => e);
    expect(isLakehouseError(err, 'INVALID_INPUT')).toBe(true);
    expect((err as Error).message).toContain(name);
    expect((await Snapshot.load(table)).version).toBe(before);
  });

  it('an update violating a constraint is refused; a valid one commits (column mapping table)', async () => {
    const err = await updateRows(table, engine, { set: { qty: '-1' }, clock }).catch((e: unknown) => e);
    expect(isLakehouseError(err, 'INVALID_INPUT')).toBe(true);
    const ok = await updateRows(table, engine, { set: { qty: 'qty + 1' }, predicate: 'id = 1', clock });
    expect(ok.numUpdatedRows).toBe(1);
    const rows = await queryTable(engine.connection, await Snapshot.load(table));
    expect(rows).toEqual([{ id: '1', qty: 3, 'Unit Price': 3.5 }]);
  });
});

describe('change data feed tables', () => {
  it('refuse partial-file deletes (no cdc files) but allow whole-file deletes', async () => {
    const t: TableRef = { storage: new FsStorage(tmp.dir + '/cdf'), tableKey: '' };
    await createTable(t, {
      schema: { type: 'struct', fields: [{ name: 'id', type: 'long', nullable: true, metadata: {} }] },
      properties: { 'delta.enableChangeDataFeed': 'true' },
      engine,
      clock,
      sourceSql: 'SELECT i::BIGINT AS id FROM range(4) t(i)',
    });
    const before = await Snapshot.load(t);
    expect(before.protocol.minWriterVersion).toBe(4);
    const partial = await deleteRows(t, engine, { predicate: 'id = 1', clock }).catch((e: unknown) => e);
    expect(isLakehouseError(partial, 'UNSUPPORTED_FEATURE'), String(partial)).toBe(true);
    expect((await Snapshot.load(t)).version).toBe(before.version);
    const whole = await deleteRows(t, engine, { predicate: 'id >= 0', clock });
    expect(whole).toMatchObject({ committed: true, numCopiedRows: 0, numDeletedRows: 4 });
  });

  it('the cdf-table fixture (writer 4, one row per file) can still take whole-file deletes', async () => {
    cpSync(FIXTURES_DIR + 'cdf-table', tmp.dir + '/cdf2', { recursive: true });
    const t: TableRef = { storage: new FsStorage(tmp.dir + '/cdf2'), tableKey: '' };
    const r = await deleteRows(t, engine, { predicate: 'id = 9', clock });
    expect(r).toMatchObject({ committed: true, numDeletedRows: 1, numCopiedRows: 0 });
  });
});
