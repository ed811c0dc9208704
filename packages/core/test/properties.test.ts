import { describe, expect, it } from 'vitest';
import {
  ManualClock,
  MemoryStorage,
  Snapshot,
  Transaction,
  createTable,
  hasWriterFeature,
  isLakehouseError,
  readHistory,
  removeFor,
  setTableProperties,
  type AddAction,
  type StructType,
  type TableRef,
} from '../src/index.js';

const schema: StructType = { type: 'struct', fields: [{ name: 'id', type: 'long', nullable: false, metadata: {} }] };

async function newTable(properties: Record<string, string> = {}): Promise<{ table: TableRef; clock: ManualClock }> {
  const clock = new ManualClock();
  const table: TableRef = { storage: new MemoryStorage(clock), tableKey: 't' };
  await createTable(table, { schema, clock, properties });
  return { table, clock };
}

const add = (n: number, clock: ManualClock): AddAction => ({ path: `part-${n}.parquet`, partitionValues: {}, size: 1, modificationTime: clock.now(), dataChange: true });

async function appendFile(table: TableRef, clock: ManualClock, n: number, snapshot?: Snapshot): Promise<number> {
  const s = snapshot ?? (await Snapshot.load(table));
  return (await new Transaction(table, s, clock).add({ add: add(n, clock) }).commit({ operation: 'WRITE' })).version;
}

describe('table properties', () => {
  const valid: [string, Record<string, string>][] = [
    ['deleted file retention', { 'delta.deletedFileRetentionDuration': 'interval 2 days' }],
    ['log retention', { 'delta.logRetentionDuration': 'interval 60 days' }],
    ['target file size', { 'delta.targetFileSize': '67108864' }],
    ['checkpoint interval', { 'delta.checkpointInterval': '50' }],
    ['change data feed', { 'delta.enableChangeDataFeed': 'true' }],
    ['append-only', { 'delta.appendOnly': 'true' }],
    ['user property', { owner: 'team-a' }],
  ];
  it.each(valid)('sets %s', async (_name, set) => {
    const { table, clock } = await newTable();
    const r = await setTableProperties(table, { set, clock, userName: 'ann' });
    expect(r).toMatchObject({ version: 1, committed: true, changed: Object.keys(set) });
    const s = await Snapshot.load(table);
    expect(s.properties).toMatchObject(set);
    const h = await readHistory(table, { limit: 1 });
    expect(h[0].commitInfo).toMatchObject({ operation: 'SET TBLPROPERTIES', userName: 'ann', operationParameters: { properties: JSON.stringify(set) } });
  });

  const invalid: [Record<string, string>, string[] | undefined, RegExp][] = [
    [{ 'delta.checkpointInterval': '0' }, undefined, /delta\.checkpointInterval must be a positive integer/],
    [{ 'delta.checkpointInterval': 'ten' }, undefined, /delta\.checkpointInterval/],
    [{ 'delta.appendOnly': 'yes' }, undefined, /delta\.appendOnly must be true or false/],
    [{ 'delta.enableChangeDataFeed': '1' }, undefined, /delta\.enableChangeDataFeed/],
    [{ 'delta.logRetentionDuration': '30 days please' }, undefined, /delta\.logRetentionDuration must be an interval/],
    [{ 'delta.targetFileSize': '-5' }, undefined, /delta\.targetFileSize/],
    [{ 'delta.deletedFileRetentionDuration': 'interval 40 days' }, undefined, /must not exceed delta\.logRetentionDuration/],
    [{ 'delta.columnMapping.mode': 'name' }, undefined, /delta\.columnMapping\.mode cannot be changed here/],
    [{ 'delta.somethingNew': 'x' }, undefined, /delta\.somethingNew cannot be changed here/],
    [{}, ['delta.enableDeletionVectors'], /delta\.enableDeletionVectors cannot be changed here/],
    [{ owner: 'a' }, ['owner'], /both set and unset/],
    [{ ' owner': 'a' }, undefined, /surrounding spaces/],
    [{}, undefined, /no property/],
  ];
  it.each(invalid)('refuses %j (unset %j)', async (set, unset, msg) => {
    const { table, clock } = await newTable();
    const err = await setTableProperties(table, { set, unset, clock }).catch((e: unknown) => e);
    expect(isLakehouseError(err, 'INVALID_INPUT'), String(err)).toBe(true);
    expect((err as Error).message).toMatch(msg);
    expect((await Snapshot.load(table)).version).toBe(0);
  });

  it('unsets properties and commits nothing when nothing changes', async () => {
    const { table, clock } = await newTable({ 'delta.checkpointInterval': '20', 'delta.appendOnly': 'true' });
    const same = await setTableProperties(table, { set: { 'delta.checkpointInterval': '20' }, clock });
    expect(same).toMatchObject({ committed: false, version: 0, changed: [] });
    const r = await setTableProperties(table, { unset: ['delta.appendOnly', 'never.set'], clock });
    expect(r).toMatchObject({ committed: true, changed: ['delta.appendOnly'] });
    expect((await Snapshot.load(table)).properties).toEqual({ 'delta.checkpointInterval': '20' });
    expect((await readHistory(table, { limit: 1 }))[0].commitInfo?.operation).toBe('UNSET TBLPROPERTIES');
  });

  it('upgrades the protocol when a property needs a writer feature the table lacks', async () => {
    const { table, clock } = await newTable();
    expect(hasWriterFeature((await Snapshot.load(table)).protocol, 'changeDataFeed')).toBe(false);
    const r = await setTableProperties(table, { set: { 'delta.enableChangeDataFeed': 'true' }, clock });
    expect(r.protocolUpgraded).toBe(true);
    const p = (await Snapshot.load(table)).protocol;
    expect(hasWriterFeature(p, 'changeDataFeed')).toBe(true);
    // Features the old protocol implied are kept.
    expect(hasWriterFeature(p, 'appendOnly')).toBe(true);
    expect(hasWriterFeature(p, 'invariants')).toBe(true);
    expect((await setTableProperties(table, { set: { 'delta.appendOnly': 'true' }, clock })).protocolUpgraded).toBe(false);
  });

  it('delta.appendOnly=true makes the table refuse removes with dataChange; turning it off allows them again', async () => {
    const { table, clock } = await newTable();
    await appendFile(table, clock, 1);
    await setTableProperties(table, { set: { 'delta.appendOnly': 'true' }, clock });
    const s = await Snapshot.load(table);
    const victim = [...s.adds()][0];
    const err = await new Transaction(table, s, clock)
      .add({ remove: removeFor(victim, clock.now()) })
      .commit({ operation: 'DELETE' })
      .catch((e: unknown) => e);
    expect(isLakehouseError(err, 'INVALID_INPUT')).toBe(true);
    expect((err as Error).message).toMatch(/append-only/);
    await setTableProperties(table, { set: { 'delta.appendOnly': 'false' }, clock });
    const s2 = await Snapshot.load(table);
    await expect(new Transaction(table, s2, clock).add({ remove: removeFor(victim, clock.now()) }).commit({ operation: 'DELETE' })).resolves.toBeTruthy();
  });

  it('a concurrent append does not conflict; a concurrent property change does', async () => {
    const { table, clock } = await newTable();
    const stale = await Snapshot.load(table);
    await appendFile(table, clock, 1, stale);
    const r = await setTableProperties(table, { set: { 'delta.checkpointInterval': '5' }, clock, snapshot: stale });
    expect(r).toMatchObject({ committed: true, version: 2 });
    expect((await Snapshot.load(table)).numFiles).toBe(1);

    const stale2 = await Snapshot.load(table);
    await setTableProperties(table, { set: { owner: 'a' }, clock, snapshot: stale2 });
    const err = await setTableProperties(table, { set: { owner: 'b' }, clock, snapshot: stale2 }).catch((e: unknown) => e);
    expect(isLakehouseError(err, 'CONCURRENT_COMMIT'), String(err)).toBe(true);
    expect((await Snapshot.load(table)).properties.owner).toBe('a');
  });
});
