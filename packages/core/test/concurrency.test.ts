import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  ENGINE_INFO,
  LakehouseError,
  MemoryStorage,
  Snapshot,
  Transaction,
  schemaToString,
  systemClock,
  append,
  createTable,
  deleteRows,
  isLakehouseError,
  listLog,
  overwrite,
  padVersion,
  parseActions,
  type Action,
  type AddAction,
  type CommitInfoAction,
  type StructType,
  type TableRef,
} from '../src/index.js';
import { DuckDbEngine, FsStorage, queryTable } from '../src/node/index.js';
import { FaultyStorage, NoCheckpointStorage } from './support/faulty-storage.js';
import { tempDir } from './support/tmp.js';

const WRITERS = 8;
const APPENDS_PER_WRITER = 50;
const TOTAL = WRITERS * APPENDS_PER_WRITER;

const schema: StructType = {
  type: 'struct',
  fields: [
    { name: 'id', type: 'long', nullable: false, metadata: {} },
    { name: 'writer', type: 'integer', nullable: true, metadata: {} },
    { name: 'seq', type: 'integer', nullable: true, metadata: {} },
  ],
};

const tmp = tempDir('lh-concurrency-');
const engines: DuckDbEngine[] = [];
afterAll(() => tmp.cleanup());
beforeAll(async () => {
  for (let i = 0; i < WRITERS; i++) engines.push(await DuckDbEngine.create());
});

function rowSql(id: number, writer: number, seq: number): string {
  return `SELECT ${id}::BIGINT AS id, ${writer}::INTEGER AS writer, ${seq}::INTEGER AS seq`;
}

function rangeSql(from: number, to: number): string {
  return `SELECT i::BIGINT AS id, 0::INTEGER AS writer, 0::INTEGER AS seq FROM range(${from}, ${to}) t(i)`;
}

const dec = new TextDecoder();

async function commitActions(table: TableRef, version: number): Promise<Action[]> {
  const key = `_delta_log/${padVersion(version)}.json`;
  return parseActions(dec.decode(await table.storage.get(key)), key);
}

async function ids(table: TableRef, version?: number): Promise<number[]> {
  const s = await Snapshot.load(table, version === undefined ? {} : { version });
  const rows = await queryTable(engines[0].connection, s);
  return rows.map((r) => Number(r.id)).sort((a, b) => a - b);
}

/** `o` without its null-valued keys (checkpoints write absent optional fields as null). */
function dropNulls<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined)) as Partial<T>;
}

/** A comparable, order-free picture of a snapshot's state (dataChange is dropped: checkpoints write false). */
function picture(s: Snapshot): unknown {
  const files = [...s.adds()]
    .map((a) => ({
      path: a.path,
      size: a.size,
      modificationTime: a.modificationTime,
      partitionValues: a.partitionValues,
      stats: a.stats ? JSON.parse(a.stats) : null,
      deletionVector: a.deletionVector ?? null,
    }))
    .sort((a, b) => (a.path < b.path ? -1 : 1));
  const txns = [...s.txns.values()].map((t) => [t.appId, t.version]).sort();
  return {
    version: s.version,
    protocol: dropNulls(s.protocol),
    schemaString: s.metadata.schemaString,
    metadataId: s.metadata.id,
    configuration: s.metadata.configuration,
    partitionColumns: s.metadata.partitionColumns,
    files,
    txns,
  };
}

async function expectError(p: Promise<unknown>, code: string): Promise<LakehouseError> {
  const err = await p.then(
    (v) => {
      throw new Error(`expected ${code}, got success ${JSON.stringify(v)}`);
    },
    (e: unknown) => e,
  );
  expect(isLakehouseError(err), String(err)).toBe(true);
  expect((err as LakehouseError).code, (err as Error).message).toBe(code);
  return err as LakehouseError;
}

describe(`${WRITERS} concurrent writers x ${APPENDS_PER_WRITER} appends on one FsStorage table`, () => {
  const table: TableRef = { storage: new FsStorage(tmp.dir + '/contended'), tableKey: '' };
  const results: { writer: number; seq: number; version: number; attempts: string[] }[] = [];

  it(
    'commits every append exactly once at versions 1..400',
    async () => {
      await createTable(table, { schema, name: 'contended' });
      const writer = async (w: number): Promise<void> => {
        for (let k = 0; k < APPENDS_PER_WRITER; k++) {
          // Each writer has its own storage object and engine, as separate processes would; the recorder sees its log writes.
          const spy = new FaultyStorage(new FsStorage(tmp.dir + '/contended'), { exposeLocalPath: true });
          const m = await append({ storage: spy, tableKey: '' }, engines[w], {
            sourceSql: rowSql(w * 1000 + k, w, k),
            txn: { appId: `writer-${w}`, version: k + 1 },
            commitExtra: { writerId: w, seq: k },
          }).catch((e: unknown) => {
            const lost = spy.callsOf('putIfAbsent').filter((c) => /\d{20}\.json$/.test(c.key)).length;
            throw new Error(`writer ${w}, append ${k} failed after ${lost} log write attempts: ${String(e)}`, { cause: e });
          });
          expect(m.skipped).toBe(false);
          expect(m.numOutputRows).toBe(1);
          const attempts = spy.callsOf('putIfAbsent').map((c) => c.key).filter((key) => /\d{20}\.json$/.test(key));
          results.push({ writer: w, seq: k, version: m.version, attempts });
        }
      };
      await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));

      // Each append reports a distinct version, and together they are exactly 1..400.
      expect(results).toHaveLength(TOTAL);
      expect(results.map((r) => r.version).sort((a, b) => a - b)).toEqual(Array.from({ length: TOTAL }, (_, i) => i + 1));
      // Every append tried strictly increasing versions and its last try is the version it reports; each lost race
      // was at a version that someone else won.
      for (const r of results) {
        const tried = r.attempts.map((k) => Number(/(\d{20})\.json$/.exec(k)![1]));
        expect(tried[tried.length - 1]).toBe(r.version);
        expect(tried.every((v, i) => i === 0 || v > tried[i - 1])).toBe(true);
        for (const v of tried.slice(0, -1)) expect(results.find((o) => o.version === v && o !== r)).toBeDefined();
      }
      // Within one writer, versions increase with its sequence.
      for (let w = 0; w < WRITERS; w++) {
        const vs = results.filter((r) => r.writer === w).sort((a, b) => a.seq - b.seq).map((r) => r.version);
        expect([...vs].sort((a, b) => a - b)).toEqual(vs);
      }
    },
    120_000,
  );

  it('the log holds exactly one commit file per version 0..400 and no leftovers', async () => {
    const listing = await listLog(table.storage, '');
    expect([...listing.commits.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: TOTAL + 1 }, (_, i) => i));
    // No temp files of the hard-link protocol stay behind.
    const names = readdirSync(tmp.dir + '/contended/_delta_log');
    expect(names.filter((n) => n.startsWith('.lh-tmp-'))).toEqual([]);
    const snap = await Snapshot.load(table);
    expect(snap.version).toBe(TOTAL);
    expect(snap.numFiles).toBe(TOTAL);
    expect([...snap.txns.values()].map((t) => [t.appId, t.version]).sort()).toEqual(
      Array.from({ length: WRITERS }, (_, w) => [`writer-${w}`, APPENDS_PER_WRITER]).sort(),
    );
  });

  it('every commit has a valid commitInfo, and each (writer, seq) was committed once at the version it reported', async () => {
    const seen = new Map<string, number>();
    const txnIds = new Set<string>();
    const reported = new Map(results.map((r) => [`${r.writer}/${r.seq}`, r.version]));
    let prevTs = 0;
    for (let v = 1; v <= TOTAL; v++) {
      const actions = await commitActions(table, v);
      // commitInfo comes first, exactly once.
      expect(Object.keys(actions[0])).toEqual(['commitInfo']);
      expect(actions.filter((a) => 'commitInfo' in a)).toHaveLength(1);
      const ci = (actions[0] as { commitInfo: CommitInfoAction }).commitInfo;
      expect(ci.operation).toBe('WRITE');
      expect(ci.operationParameters).toMatchObject({ mode: 'Append' });
      expect(ci.isBlindAppend).toBe(true);
      expect(ci.isolationLevel).toBe('Serializable');
      expect(ci.engineInfo).toBe(ENGINE_INFO);
      expect(typeof ci.timestamp).toBe('number');
      expect(ci.timestamp).toBeGreaterThanOrEqual(prevTs - 60_000);
      prevTs = Math.max(prevTs, ci.timestamp!);
      expect(Number.isInteger(ci.readVersion)).toBe(true);
      expect(ci.readVersion!).toBeGreaterThanOrEqual(0);
      expect(ci.readVersion!).toBeLessThan(v);
      expect(ci.operationMetrics).toEqual({ numFiles: '1', numOutputRows: '1', numOutputBytes: expect.stringMatching(/^[1-9]\d*$/) });
      expect(typeof ci.txnId).toBe('string');
      expect(txnIds.has(ci.txnId!)).toBe(false);
      txnIds.add(ci.txnId!);
      const key = `${String(ci.writerId)}/${String(ci.seq)}`;
      expect(seen.has(key), `(writer, seq) ${key} committed twice: v${seen.get(key)} and v${v}`).toBe(false);
      seen.set(key, v);
      expect(reported.get(key)).toBe(v);
      // One add and the writer's txn, nothing else.
      const adds = actions.filter((a) => 'add' in a);
      const txns = actions.filter((a): a is { txn: { appId: string; version: number } } => 'txn' in a);
      expect(adds).toHaveLength(1);
      expect(txns).toEqual([{ txn: expect.objectContaining({ appId: `writer-${String(ci.writerId)}`, version: Number(ci.seq) + 1 }) }]);
      expect(actions).toHaveLength(3);
    }
    expect(seen.size).toBe(TOTAL);
  });

  it('every row is present exactly once through queryTable', async () => {
    const got = await ids(table);
    const want: number[] = [];
    for (let w = 0; w < WRITERS; w++) for (let k = 0; k < APPENDS_PER_WRITER; k++) want.push(w * 1000 + k);
    expect(got).toEqual(want.sort((a, b) => a - b));
  });

  it('checkpoints exist at every multiple of 10 and loading through them equals a JSON-only replay', async () => {
    const listing = await listLog(table.storage, '');
    const cpVersions = listing.checkpoints.map((c) => c.version);
    const want = Array.from({ length: TOTAL / 10 }, (_, i) => (i + 1) * 10);
    expect(cpVersions).toEqual(want);
    const last = JSON.parse(dec.decode(await table.storage.get('_delta_log/_last_checkpoint'))) as { version: number };
    expect(want).toContain(last.version);

    const jsonOnly: TableRef = { storage: new NoCheckpointStorage(table.storage), tableKey: '' };
    for (const v of [...want, TOTAL - 5]) {
      const spy = new FaultyStorage(table.storage);
      const viaCheckpoint = await Snapshot.load({ storage: spy, tableKey: '' }, { version: v });
      const cp = Math.floor(v / 10) * 10;
      // The load really went through the checkpoint: it read it and no commit at or below it.
      const gets = spy.callsOf('get').map((c) => c.key);
      expect(gets).toContain(`_delta_log/${padVersion(cp)}.checkpoint.parquet`);
      const commitsRead = gets.filter((k) => k.endsWith('.json')).map((k) => Number(/(\d{20})\.json$/.exec(k)![1]));
      expect(commitsRead.every((c) => c > cp && c <= v)).toBe(true);
      const viaJson = await Snapshot.load(jsonOnly, { version: v });
      expect(picture(viaCheckpoint)).toEqual(picture(viaJson));
      expect(viaCheckpoint.numFiles).toBe(v);
    }
  });
});

describe('logical conflicts between concurrent transactions', () => {
  let n = 0;
  async function freshTable(rows: string): Promise<TableRef> {
    const table: TableRef = { storage: new FsStorage(`${tmp.dir}/conflict-${++n}`), tableKey: '' };
    await createTable(table, { schema, engine: engines[0], sourceSql: rows });
    return table;
  }

  it('a delete whose stale read misses an append of rows matching its predicate fails naming the winning version', async () => {
    const table = await freshTable(rangeSql(0, 10));
    const stale = await Snapshot.load(table);
    const won = await append(table, engines[1], { sourceSql: rangeSql(100, 110) });
    expect(won.version).toBe(1);
    const err = await expectError(deleteRows(table, engines[0], { predicate: 'id >= 5', snapshot: stale }), 'CONCURRENT_COMMIT');
    expect(err.message).toContain('version 1');
    expect(err.details.winningVersion).toBe(1);
    // Nothing of the delete landed.
    expect((await Snapshot.load(table)).version).toBe(1);
    expect(await ids(table)).toEqual([...Array.from({ length: 10 }, (_, i) => i), ...Array.from({ length: 10 }, (_, i) => 100 + i)]);
  });

  it('a delete whose stale read misses an append of non-matching rows retries at the next version', async () => {
    const table = await freshTable(rangeSql(0, 10));
    const stale = await Snapshot.load(table);
    await append(table, engines[1], { sourceSql: rangeSql(-100, -90) });
    const del = await deleteRows(table, engines[0], { predicate: 'id >= 5', snapshot: stale });
    expect(del.committed).toBe(true);
    expect(del.version).toBe(2);
    expect(del.numDeletedRows).toBe(5);
    const ci = ((await commitActions(table, 2))[0] as { commitInfo: CommitInfoAction }).commitInfo;
    expect(ci.operation).toBe('DELETE');
    expect(ci.readVersion).toBe(0);
    expect(await ids(table)).toEqual([...Array.from({ length: 10 }, (_, i) => -100 + i), 0, 1, 2, 3, 4]);
  });

  it('two deletes racing on the same file: the second fails naming the first', async () => {
    const table = await freshTable(rangeSql(0, 10));
    const stale = await Snapshot.load(table);
    await deleteRows(table, engines[1], { predicate: 'id = 1', snapshot: stale });
    const err = await expectError(deleteRows(table, engines[0], { predicate: 'id = 2', snapshot: stale }), 'CONCURRENT_COMMIT');
    expect(err.details.winningVersion).toBe(1);
    expect(await ids(table)).toEqual([0, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('two overwrites racing: exactly one wins, the other fails with CONCURRENT_COMMIT naming it', async () => {
    const table = await freshTable(rangeSql(0, 10));
    const stale = await Snapshot.load(table);
    const settled = await Promise.allSettled([
      overwrite(table, engines[0], { sourceSql: rangeSql(1000, 1003), snapshot: stale }),
      overwrite(table, engines[1], { sourceSql: rangeSql(2000, 2005), snapshot: stale }),
    ]);
    const ok = settled.filter((s) => s.status === 'fulfilled');
    const bad = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
    expect(ok).toHaveLength(1);
    expect(bad).toHaveLength(1);
    expect(isLakehouseError(bad[0].reason, 'CONCURRENT_COMMIT'), String(bad[0].reason)).toBe(true);
    expect((bad[0].reason as LakehouseError).details.winningVersion).toBe(1);
    const winner = settled.indexOf(ok[0]);
    expect((await Snapshot.load(table)).version).toBe(1);
    expect(await ids(table)).toEqual(winner === 0 ? [1000, 1001, 1002] : [2000, 2001, 2002, 2003, 2004]);
  });

  it('a blind append loses to a concurrent schema change', async () => {
    const table = await freshTable(rangeSql(0, 2));
    const stale = await Snapshot.load(table);
    await append(table, engines[1], { sourceSql: `SELECT 5::BIGINT AS id, 0 AS writer, 0 AS seq, 'x' AS extra`, mergeSchema: true });
    const err = await expectError(append(table, engines[0], { sourceSql: rangeSql(10, 11), snapshot: stale }), 'CONCURRENT_COMMIT');
    expect(err.message).toMatch(/version 1.*metadata/);
  });

  it('blind appends from a stale snapshot retry without conflict', async () => {
    const table = await freshTable(rangeSql(0, 1));
    const stale = await Snapshot.load(table);
    for (let i = 1; i <= 3; i++) {
      const m = await append(table, engines[0], { sourceSql: rangeSql(i, i + 1), snapshot: stale });
      expect(m.version).toBe(i);
    }
    expect(await ids(table)).toEqual([0, 1, 2, 3]);
  });

  it('two appends with the same txn appId racing: the second fails instead of applying twice', async () => {
    const table = await freshTable(rangeSql(0, 1));
    const stale = await Snapshot.load(table);
    await append(table, engines[1], { sourceSql: rangeSql(10, 11), snapshot: stale, txn: { appId: 'ingest', version: 7 } });
    const err = await expectError(
      append(table, engines[0], { sourceSql: rangeSql(10, 11), snapshot: stale, txn: { appId: 'ingest', version: 7 } }),
      'CONCURRENT_COMMIT',
    );
    expect(err.message).toContain('"ingest"');
    expect(await ids(table)).toEqual([0, 10]);
  });
});

describe('retry fairness', () => {
  // Regression: Transaction.commit used to read the winners, pick the next version and only THEN sleep its back-off,
  // so every commit landing during the sleep made the next attempt stale by construction. Under a steady stream of
  // commits a writer past its third attempt kept losing and gave up after 100 races with CONCURRENT_COMMIT, even as a
  // blind append conflicting with nothing (the 8-writer test above failed that way about one run in two). This replays
  // that schedule deterministically with fake timers: another writer commits during every back-off.
  it('a blind append that backs off while others keep committing commits as soon as it wakes', async () => {
    const storage = new MemoryStorage();
    const table: TableRef = { storage, tableKey: '' };
    const md = { id: 't', format: { provider: 'parquet', options: {} }, schemaString: schemaToString(schema), partitionColumns: [], configuration: {} };
    const enc = new TextEncoder();
    let competitor = 0;
    /** Another writer's blind append at the next free version. */
    const competitorCommit = async (): Promise<void> => {
      const next = (await listLog(storage, '')).commits.size;
      const add: AddAction = { path: `other-${++competitor}.parquet`, partitionValues: {}, size: 1, modificationTime: 0, dataChange: true };
      const body = [{ commitInfo: { operation: 'WRITE', isBlindAppend: true } }, { add }].map((a) => JSON.stringify(a)).join('\n');
      expect(await storage.putIfAbsent(`_delta_log/${padVersion(next)}.json`, enc.encode(body))).toBe(true);
    };
    await storage.put(`_delta_log/${padVersion(0)}.json`, enc.encode(`${JSON.stringify({ protocol: { minReaderVersion: 1, minWriterVersion: 2 } })}\n${JSON.stringify({ metaData: md })}\n`));
    // The first four attempts lose outright, so the transaction reaches the back-off.
    const racing = new FaultyStorage(storage);
    const forced = { left: 4 };
    racing.putIfAbsent = async (key: string, data: Uint8Array): Promise<boolean> => {
      if (/\d{20}\.json$/.test(key) && forced.left > 0) {
        forced.left--;
        await competitorCommit();
      }
      return storage.putIfAbsent(key, data);
    };
    const ref: TableRef = { storage: racing, tableKey: '' };
    const txn = new Transaction(ref, await Snapshot.load(table), systemClock).add({
      add: { path: 'mine.parquet', partitionValues: {}, size: 1, modificationTime: 0, dataChange: true },
    });
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    try {
      let outcome: { version: number; retries: number } | LakehouseError | null = null;
      const p = txn.commit({ operation: 'WRITE', checkpoint: false }).then(
        (r) => (outcome = r),
        (e: LakehouseError) => (outcome = e),
      );
      const drain = (): Promise<void> => new Promise((r) => setImmediate(r));
      for (let i = 0; i < 500 && outcome === null; i++) {
        await drain();
        if (outcome !== null || vi.getTimerCount() === 0) continue;
        // While the transaction sleeps, another writer commits; then the sleep ends.
        await competitorCommit();
        await vi.runOnlyPendingTimersAsync();
      }
      await p;
      expect(outcome).not.toBeInstanceOf(LakehouseError);
      // Four forced losses, then at most one more: it must not chase versions that were taken while it slept.
      expect((outcome as unknown as { retries: number }).retries).toBeLessThanOrEqual(5);
    } finally {
      vi.useRealTimers();
    }
  });
});
