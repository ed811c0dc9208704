import { cpSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LakehouseError,
  ManualClock,
  Snapshot,
  append,
  createTable,
  isLakehouseError,
  listLog,
  padVersion,
  readLastCheckpoint,
  type StructType,
  type TableRef,
} from '../src/index.js';
import { DuckDbEngine, FsStorage, queryTable } from '../src/node/index.js';
import { FaultyStorage, INJECTED, type CallRecord, type FaultMode } from './support/faulty-storage.js';
import { tempDir } from './support/tmp.js';

const schema: StructType = {
  type: 'struct',
  fields: [
    { name: 'id', type: 'long', nullable: false, metadata: {} },
    { name: 'p', type: 'string', nullable: true, metadata: {} },
  ],
};

/** Rows of append number `i`: ids [10i, 10i+10) over two partitions, so an append writes two data files. */
function batchSql(i: number): string {
  return `SELECT j::BIGINT AS id, CASE WHEN j % 2 = 0 THEN 'even' ELSE 'odd' END AS p FROM range(${i * 10}, ${i * 10 + 10}) t(j)`;
}
function batchIds(upTo: number): number[] {
  return Array.from({ length: (upTo + 1) * 10 }, (_, i) => i);
}

const tmp = tempDir('lh-faults-');
const clock = new ManualClock(Date.UTC(2024, 2, 1));
/** Base table: v0 (create) .. v3, checkpoint interval 2 (so v2 is checkpointed and the faulted append v4 checkpoints). */
const BASE = join(tmp.dir, 'base');
const BASE_VERSION = 3;
const NEXT = BASE_VERSION + 1;

// Set up at collection time, so that the table-driven cases below are generated from the recorded call trace.
const engine: DuckDbEngine = await DuckDbEngine.create(clock);
{
  const table: TableRef = { storage: new FsStorage(BASE), tableKey: '' };
  await createTable(table, {
    schema,
    partitionColumns: ['p'],
    properties: { 'delta.checkpointInterval': '2' },
    engine,
    sourceSql: batchSql(0),
    clock,
  });
  for (let i = 1; i <= BASE_VERSION; i++) {
    clock.advance(1000);
    await append(table, engine, { sourceSql: batchSql(i), clock });
  }
}
afterAll(() => tmp.cleanup());

let copies = 0;
/** A private copy of the base table. */
function copyBase(): string {
  const dir = join(tmp.dir, `copy-${++copies}`);
  cpSync(BASE, dir, { recursive: true });
  return dir;
}

async function committedIds(dir: string): Promise<{ version: number; ids: number[] }> {
  const s = await Snapshot.load({ storage: new FsStorage(dir), tableKey: '' });
  const rows = await queryTable(engine.connection, s);
  return { version: s.version, ids: rows.map((r) => Number(r.id)).sort((a, b) => a - b) };
}

/** Parquet files under `dir` that no live add of the latest snapshot references. */
async function orphanDataFiles(dir: string): Promise<string[]> {
  const s = await Snapshot.load({ storage: new FsStorage(dir), tableKey: '' });
  const live = new Set([...s.files()].map((f) => f.key));
  const everReferenced = new Set<string>(live);
  for (const t of s.tombstones()) everReferenced.add(s.fileKey(t.path));
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const abs = join(d, e.name);
      if (e.isDirectory()) {
        if (e.name !== '_delta_log') walk(abs);
      } else if (e.name.endsWith('.parquet')) {
        const key = relative(dir, abs).split('\\').join('/');
        if (!everReferenced.has(key)) out.push(key);
      }
    }
  };
  walk(dir);
  return out;
}

function isInjected(e: unknown): boolean {
  for (let x: unknown = e; x; x = (x as { cause?: unknown }).cause) {
    if (x instanceof LakehouseError && x.details[INJECTED] === true) return true;
  }
  return false;
}

type Step = 'load' | 'data' | 'log' | 'checkpoint-read' | 'checkpoint-write' | 'last-checkpoint';

const LOG_KEY = `_delta_log/${padVersion(NEXT)}.json`;
const CP_KEY = `_delta_log/${padVersion(NEXT)}.checkpoint.parquet`;

function stepOf(trace: readonly CallRecord[], index: number): Step {
  const c = trace[index - 1];
  const logAt = trace.findIndex((x) => x.method === 'putIfAbsent' && x.key === LOG_KEY) + 1;
  if (c.method === 'putIfAbsent' && c.key === LOG_KEY) return 'log';
  if (index < logAt) return c.method === 'put' && c.key.endsWith('.parquet') ? 'data' : 'load';
  if (c.method === 'putIfAbsent' && c.key === CP_KEY) return 'checkpoint-write';
  if (c.key.endsWith('_last_checkpoint') && index > trace.findIndex((x) => x.method === 'putIfAbsent' && x.key === CP_KEY) + 1) {
    // Reading the current hint and replacing it, after the checkpoint file landed.
    return 'last-checkpoint';
  }
  return 'checkpoint-read';
}

/** A clean run records the calls of a full append (load, two data files, log entry, checkpoint, _last_checkpoint). */
async function recordAppend(): Promise<CallRecord[]> {
  const spy = new FaultyStorage(new FsStorage(copyBase()));
  clock.advance(1000);
  const m = await append({ storage: spy, tableKey: '' }, engine, { sourceSql: batchSql(NEXT), clock });
  if (m.version !== NEXT) throw new Error(`recording append committed ${m.version}, expected ${NEXT}`);
  return [...spy.calls];
}
const trace = await recordAppend();

describe('a storage failure at any call of an append leaves the table readable at its last committed version', () => {
  it('the recorded append covers every step of a commit', () => {
    const steps = trace.map((_, i) => stepOf(trace, i + 1));
    expect(steps.filter((s) => s === 'data')).toHaveLength(2);
    expect(steps.filter((s) => s === 'log')).toHaveLength(1);
    expect(steps.filter((s) => s === 'checkpoint-write')).toHaveLength(1);
    expect(steps.filter((s) => s === 'last-checkpoint')).toHaveLength(2); // read the current hint, then replace it
    expect(steps.indexOf('log')).toBeGreaterThan(steps.lastIndexOf('data'));
    expect(steps.indexOf('checkpoint-write')).toBeGreaterThan(steps.indexOf('log'));
    expect(steps.indexOf('last-checkpoint')).toBeGreaterThan(steps.indexOf('checkpoint-write'));
    expect(steps.filter((s) => s === 'load').length).toBeGreaterThan(0);
  });

  const MODES: FaultMode[] = ['throw', 'throwAfter', 'stop'];
  const cases = MODES.flatMap((mode) => trace.map((c, i) => ({ mode, nth: i + 1, call: `${c.method} ${c.key.replace(/[0-9a-f-]{36}/, '<uuid>')}` })));

  // Regression: a failed read of the hinted checkpoint used to fall back to a JSON replay over a listing that started
  // at the checkpoint, reporting VERSION_NOT_FOUND ("log cleaned up"); Snapshot.load now re-lists the whole log.
  for (const { mode, nth, call } of cases) {
    it(`call #${nth} (${call}) fails (${mode})`, () => faultCase(mode, nth));
  }

  async function faultCase(mode: FaultMode, nth: number): Promise<void> {
    const step = stepOf(trace, nth);
    const dir = copyBase();
    const faulty = new FaultyStorage(new FsStorage(dir)).failAt({ nth, mode });
    clock.advance(1000);
    const outcome = await append({ storage: faulty, tableKey: '' }, engine, { sourceSql: batchSql(NEXT), clock }).then(
      (m) => ({ ok: true as const, version: m.version }),
      (e: unknown) => ({ ok: false as const, error: e }),
    );
    // The fault hit the call the trace predicts.
    expect(faulty.faults[0]?.method).toBe(trace[nth - 1].method);
    if (!outcome.ok) expect(isInjected(outcome.error), `unexpected error ${String(outcome.error)}`).toBe(true);

    const healthy = new FsStorage(dir);
    const logLanded = (await healthy.head(LOG_KEY)) !== null;
    const committed = await committedIds(dir);
    // Readers see exactly the rows of the last committed version, whichever it is.
    expect(committed.version).toBe(logLanded ? NEXT : BASE_VERSION);
    expect(committed.ids).toEqual(batchIds(committed.version));

    switch (step) {
      case 'load':
        // A failed read either fails the append before anything is written, or is tolerated (the _last_checkpoint hint).
        if (!outcome.ok) expect(logLanded).toBe(false);
        else expect(outcome.version).toBe(NEXT);
        break;
      case 'data':
        expect(outcome.ok).toBe(false);
        expect(logLanded).toBe(false);
        // Data files written before the failure are cleaned up (best effort: not possible once storage stopped).
        if (mode !== 'stop') expect(await orphanDataFiles(dir)).toEqual([]);
        break;
      case 'log':
        expect(outcome.ok).toBe(false);
        // throwAfter: the entry landed although the writer saw an error: the commit is durable.
        expect(logLanded).toBe(mode === 'throwAfter');
        break;
      case 'checkpoint-read':
      case 'checkpoint-write':
      case 'last-checkpoint': {
        // The commit is durable before the checkpoint: a checkpoint failure does not fail the append.
        expect(outcome).toEqual({ ok: true, version: NEXT });
        expect(logLanded).toBe(true);
        const cpLanded = (await healthy.head(CP_KEY)) !== null;
        const hint = await readLastCheckpoint(healthy, '');
        const cpWritten = step === 'last-checkpoint' || (step === 'checkpoint-write' && mode === 'throwAfter');
        expect(cpLanded).toBe(cpWritten);
        // The hint moves to the new checkpoint unless its own write failed (a failed read of the old hint is tolerated).
        const failedCall = trace[nth - 1];
        const hintWritten =
          step === 'last-checkpoint' && (failedCall.method === 'put' ? mode === 'throwAfter' : mode !== 'stop');
        expect(hint?.version).toBe(hintWritten ? NEXT : 2);
        // Whatever the checkpoint state, a load through it (or past it) equals the version.
        const listing = await listLog(healthy, '');
        expect(listing.checkpoints.map((c) => c.version)).toEqual(cpWritten ? [2, NEXT] : [2]);
        break;
      }
    }

    // The table is not wedged: the next append commits at the next version and sees everything before it.
    clock.advance(1000);
    const next = await append({ storage: new FsStorage(dir), tableKey: '' }, engine, { sourceSql: batchSql(NEXT + 1), clock });
    const after = await committedIds(dir);
    expect(next.version).toBe(committed.version + 1);
    expect(after.ids).toEqual([...committed.ids, ...Array.from({ length: 10 }, (_, i) => (NEXT + 1) * 10 + i)].sort((a, b) => a - b));
  }

  it('an append whose log entry landed but reported a failure is not applied twice when retried with its txn id', async () => {
    const dir = copyBase();
    const logCall = trace.filter((c) => c.method === 'putIfAbsent').findIndex((c) => c.key === LOG_KEY) + 1;
    const faulty = new FaultyStorage(new FsStorage(dir)).failAt({ method: 'putIfAbsent', nth: logCall, mode: 'throwAfter' });
    const txn = { appId: 'loader', version: 1 };
    const err = await append({ storage: faulty, tableKey: '' }, engine, { sourceSql: batchSql(NEXT), txn, clock }).catch((e: unknown) => e);
    expect(isInjected(err)).toBe(true);
    const retry = await append({ storage: new FsStorage(dir), tableKey: '' }, engine, { sourceSql: batchSql(NEXT), txn, clock });
    expect(retry.skipped).toBe(true);
    expect(retry.version).toBe(NEXT);
    expect((await committedIds(dir)).ids).toEqual(batchIds(NEXT));
  });
});

describe('a storage failure at any call of createTable leaves either no table or version 0', () => {
  const create = (storage: FaultyStorage | FsStorage): Promise<unknown> =>
    createTable({ storage, tableKey: '' }, { schema, partitionColumns: ['p'], engine, sourceSql: batchSql(0), clock });
  let createTrace: CallRecord[] = [];
  beforeAll(async () => {
    const spy = new FaultyStorage(new FsStorage(join(tmp.dir, 'create-trace')));
    await create(spy);
    createTrace = [...spy.calls];
  });

  it('the recorded create writes data files, then the log entry', () => {
    expect(createTrace.map((c) => c.method)).toEqual(['list', 'put', 'put', 'putIfAbsent']);
  });

  const cases = (['throw', 'throwAfter', 'stop'] as FaultMode[]).flatMap((mode) => [1, 2, 3, 4].map((nth) => ({ mode, nth })));
  it.each(cases)('call #$nth fails ($mode)', async ({ mode, nth }) => {
    const dir = join(tmp.dir, `create-${mode}-${nth}`);
    const faulty = new FaultyStorage(new FsStorage(dir)).failAt({ nth, mode });
    const err = await create(faulty).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isInjected(err), String(err)).toBe(true);
    const healthy = new FsStorage(dir);
    const landed = (await healthy.head(`_delta_log/${padVersion(0)}.json`)) !== null;
    expect(landed).toBe(nth === 4 && mode === 'throwAfter');
    if (landed) {
      expect(await committedIds(dir)).toEqual({ version: 0, ids: batchIds(0) });
      return;
    }
    const loadErr = await Snapshot.load({ storage: healthy, tableKey: '' }).catch((e: unknown) => e);
    // Orphan data files may be left behind (after a stop), which makes the folder "not a Delta table", never a broken one.
    expect(isLakehouseError(loadErr, 'TABLE_NOT_FOUND') || isLakehouseError(loadErr, 'NOT_A_DELTA_TABLE'), String(loadErr)).toBe(true);
    // Creating again over the leftovers works.
    await create(healthy);
    expect(await committedIds(dir)).toEqual({ version: 0, ids: batchIds(0) });
  });
});
