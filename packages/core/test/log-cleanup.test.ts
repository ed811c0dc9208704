import { describe, expect, it } from 'vitest';
import {
  ManualClock,
  MemoryStorage,
  Snapshot,
  Transaction,
  checkpointNow,
  cleanupLog,
  createTable,
  isLakehouseError,
  listLog,
  padVersion,
  readLastCheckpoint,
  type StructType,
  type TableRef,
} from '../src/index.js';

const DAY = 8.64e7;
const START = Date.UTC(2024, 0, 1);

const schema: StructType = { type: 'struct', fields: [{ name: 'id', type: 'long', nullable: false, metadata: {} }] };

/** Versions 0..40, one commit per day at midnight UTC; checkpoints at 5, 10, 20 and 30. */
async function dailyTable(properties: Record<string, string> = {}): Promise<{ table: TableRef; clock: ManualClock; storage: MemoryStorage }> {
  const clock = new ManualClock(START);
  const storage = new MemoryStorage(clock);
  const table: TableRef = { storage, tableKey: 'db/t' };
  await createTable(table, { schema, clock, properties: { 'delta.checkpointInterval': '1000', ...properties } });
  let snap = await Snapshot.load(table);
  for (let v = 1; v <= 40; v++) {
    clock.set(START + v * DAY);
    const add = { path: `part-${v}.parquet`, partitionValues: {}, size: 1, modificationTime: clock.now(), dataChange: true };
    await new Transaction(table, snap, clock).add({ add }).commit({ operation: 'WRITE', checkpoint: false });
    snap = await snap.update();
    if ([5, 10, 20, 30].includes(v)) await checkpointNow(table, { clock });
  }
  return { table, clock, storage };
}

async function logVersions(table: TableRef): Promise<{ commits: number[]; checkpoints: number[] }> {
  const l = await listLog(table.storage, table.tableKey);
  return { commits: [...l.commits.keys()].sort((a, b) => a - b), checkpoints: l.checkpoints.map((c) => c.version) };
}

describe('log cleanup', () => {
  const cases = [
    // now (days after START) -> cutoff = midnight of now - 30 days -> newest commit at/before it -> newest checkpoint at/before that
    { now: 40.5, cutoffVersion: 10, kept: 10 },
    { now: 45.2, cutoffVersion: 15, kept: 10 },
    { now: 52, cutoffVersion: 22, kept: 20 },
    { now: 100, cutoffVersion: 40, kept: 30 },
  ];
  it.each(cases)('at day $now keeps everything from checkpoint $kept on', async ({ now, cutoffVersion, kept }) => {
    const { table, clock } = await dailyTable();
    clock.set(START + now * DAY);
    const latest = await Snapshot.load(table);
    const files = [...latest.adds()].map((a) => a.path).sort();

    const preview = await cleanupLog(table, { clock });
    expect(preview).toMatchObject({ dryRun: true, cutoffVersion, keptCheckpointVersion: kept, earliestVersionBefore: 0, earliestVersionAfter: kept, numFilesDeleted: 0 });
    const cpsBefore = [5, 10, 20, 30].filter((v) => v < kept).length;
    expect(preview.numFilesToDelete).toBe(kept + cpsBefore);
    expect((await logVersions(table)).commits).toHaveLength(41);

    const r = await cleanupLog(table, { clock, dryRun: false });
    expect(r.numFilesDeleted).toBe(kept + cpsBefore);
    const after = await logVersions(table);
    expect(after.commits).toEqual(Array.from({ length: 41 - kept }, (_, i) => kept + i));
    expect(after.checkpoints).toEqual([5, 10, 20, 30].filter((v) => v >= kept));
    // The latest version and every version from the kept checkpoint on are still readable.
    const reloaded = await Snapshot.load(table);
    expect(reloaded.version).toBe(40);
    expect([...reloaded.adds()].map((a) => a.path).sort()).toEqual(files);
    expect((await Snapshot.load(table, { version: kept })).numFiles).toBe(kept);
    expect((await Snapshot.load(table, { version: kept + 1 })).numFiles).toBe(kept + 1);
    if (kept > 0) {
      const err = await Snapshot.load(table, { version: kept - 1 }).catch((e: unknown) => e);
      expect(isLakehouseError(err, 'VERSION_NOT_FOUND'), String(err)).toBe(true);
    }
  });

  it('does nothing when no checkpoint precedes the cutoff commit', async () => {
    const { table, clock } = await dailyTable();
    clock.set(START + 34 * DAY); // cutoff day 4: commit 4, no checkpoint at or before it
    const r = await cleanupLog(table, { clock, dryRun: false });
    expect(r).toMatchObject({ cutoffVersion: 4, keptCheckpointVersion: null, numFilesDeleted: 0 });
    expect((await logVersions(table)).commits).toHaveLength(41);
  });

  it('honours delta.logRetentionDuration and deletes old checksum and compaction files too', async () => {
    const { table, clock, storage } = await dailyTable({ 'delta.logRetentionDuration': 'interval 15 days' });
    const put = (name: string): Promise<void> => storage.put(`db/t/_delta_log/${name}`, new Uint8Array(3));
    await put(`${padVersion(3)}.crc`);
    await put(`${padVersion(25)}.crc`);
    await put(`${padVersion(4)}.${padVersion(6)}.compacted.json`);
    await put(`${padVersion(21)}.${padVersion(23)}.compacted.json`);
    clock.set(START + 40 * DAY);
    const r = await cleanupLog(table, { clock, dryRun: false });
    expect(r).toMatchObject({ retentionMs: 15 * DAY, cutoffVersion: 25, keptCheckpointVersion: 20 });
    const names = (await storage.list('db/t/_delta_log/')).map((o) => o.key.slice('db/t/_delta_log/'.length));
    expect(names).not.toContain(`${padVersion(3)}.crc`);
    expect(names).not.toContain(`${padVersion(4)}.${padVersion(6)}.compacted.json`);
    expect(names).toContain(`${padVersion(25)}.crc`);
    expect(names).toContain(`${padVersion(21)}.${padVersion(23)}.compacted.json`);
    expect(names).toContain(`${padVersion(20)}.json`);
    expect(names).toContain('_last_checkpoint');
    // Oldest first: the deletion order never leaves a hole in the middle of the log.
    const versions = r.files.map((f) => Number(/(\d{20})/.exec(f.key)![1]));
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
  });

  it('refuses to cut a log with a missing commit after the kept checkpoint', async () => {
    const { table, clock, storage } = await dailyTable();
    // Version 25 is gone; the latest version still loads from checkpoint 30, but checkpoint 20 could not rebuild it.
    await storage.delete(`db/t/_delta_log/${padVersion(25)}.json`);
    clock.set(START + 52 * DAY);
    expect((await Snapshot.load(table)).version).toBe(40);
    const err = await cleanupLog(table, { clock, dryRun: false }).catch((e: unknown) => e);
    expect(isLakehouseError(err, 'CORRUPT_LOG'), String(err)).toBe(true);
    expect((err as Error).message).toMatch(/00000000000000000025\.json is missing after checkpoint 20/);
    expect((await logVersions(table)).commits).toHaveLength(40);
  });

  it('checkpointNow writes a checkpoint of the latest version once and moves _last_checkpoint', async () => {
    const { table, clock } = await dailyTable();
    const progress: number[] = [];
    const m = await checkpointNow(table, { clock, onProgress: (f) => progress.push(f) });
    expect(m).toMatchObject({ version: 40, written: true, numAddFiles: 40 });
    expect(progress[progress.length - 1]).toBe(1);
    expect((await readLastCheckpoint(table.storage, table.tableKey))?.version).toBe(40);
    expect((await checkpointNow(table, { clock })).written).toBe(false);
    const ac = new AbortController();
    ac.abort();
    const err = await checkpointNow(table, { clock, signal: ac.signal }).catch((e: unknown) => e);
    expect(isLakehouseError(err, 'CANCELLED')).toBe(true);
  });
});
