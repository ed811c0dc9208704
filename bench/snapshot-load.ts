// snapshot-load: Snapshot.load of a 300,000-file table (checkpoint + JSON tail) against the bare cost of reading and
// decoding the same log bytes, and the latency of an incremental Snapshot.update() after one small commit.
import type { Action, AddAction, RemoveAction, Storage, TableRef } from '../packages/core/src/index.js';
import {
  Snapshot,
  applyAction,
  decodeCheckpointParquet,
  emptyReplayState,
  listLog,
  logKey,
  padVersion,
  readCommit,
  readLastCheckpoint,
  writeCheckpoint,
} from '../packages/core/src/index.js';
import { FsStorage } from '../packages/core/src/node/index.js';
import type { BenchResult, Benchmark, Check } from './lib.js';
import { fakeUuid, measureInterleaved, median, metric, randInt, seededRandom, settle, sleep, tempDir, timed } from './lib.js';

const SEED = 20240501;
const NUM_ADDS = 300_000;
const NUM_PARTITIONS = 100;
const COMMITS_BEFORE_CHECKPOINT = 30; // versions 1..30, NUM_ADDS / 30 adds each
const TAIL_COMMITS = 5; // versions 31..35 after the checkpoint
const TAIL_ADDS_PER_COMMIT = 200;
const TAIL_REMOVES = 100; // removes of checkpointed files in the first tail commit
const UPDATE_ADDS = 5; // adds per commit in the incremental refresh runs
const LOAD_WARMUP = 1;
const LOAD_RUNS = 5;
const UPDATE_WARMUP = 3;
const UPDATE_RUNS = 15;
const UPDATE_IDLE_MS = 50;
const BASE_TIME = Date.UTC(2024, 0, 1);
const DAY_MS = 86_400_000;

const SCHEMA = {
  type: 'struct',
  fields: [
    { name: 'day', type: 'string', nullable: false, metadata: {} },
    { name: 'id', type: 'long', nullable: false, metadata: {} },
    { name: 'ts', type: 'timestamp', nullable: true, metadata: {} },
    { name: 'amount', type: 'double', nullable: true, metadata: {} },
    { name: 'customer', type: 'string', nullable: true, metadata: {} },
  ],
};

const days = Array.from({ length: NUM_PARTITIONS }, (_, i) => new Date(BASE_TIME + i * DAY_MS).toISOString().slice(0, 10));

/** Deterministic generator of realistic add actions (Spark-like paths and stats). */
class AddFactory {
  private readonly rnd = seededRandom(SEED);
  private n = 0;

  next(): AddAction {
    const rnd = this.rnd;
    const i = this.n++;
    const d = randInt(rnd, 0, NUM_PARTITIONS - 1);
    const day = days[d];
    const rows = randInt(rnd, 5_000, 200_000);
    const idMin = i * 200_000;
    const tsMin = BASE_TIME + d * DAY_MS + randInt(rnd, 0, 3_600_000);
    const tsMax = tsMin + randInt(rnd, 60_000, 80_000_000);
    const amountMin = round2(rnd() * 100);
    const stats = {
      numRecords: rows,
      minValues: { id: idMin, ts: new Date(tsMin).toISOString(), amount: amountMin, customer: `cust-${randInt(rnd, 1000, 4999)}` },
      maxValues: {
        id: idMin + rows - 1,
        ts: new Date(tsMax).toISOString(),
        amount: round2(amountMin + rnd() * 10_000),
        customer: `cust-${randInt(rnd, 5000, 9999)}`,
      },
      nullCount: { id: 0, ts: randInt(rnd, 0, 3) === 0 ? randInt(rnd, 1, 50) : 0, amount: randInt(rnd, 0, 10), customer: 0 },
    };
    return {
      path: `day=${day}/part-${String(i % 1000).padStart(5, '0')}-${fakeUuid(rnd)}.c000.snappy.parquet`,
      partitionValues: { day },
      size: randInt(rnd, 1 << 20, 128 << 20),
      modificationTime: BASE_TIME + i * 1000,
      dataChange: true,
      stats: JSON.stringify(stats),
    };
  }
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

function commitInfo(version: number, operation: string): Action {
  return {
    commitInfo: {
      timestamp: BASE_TIME + version * 60_000,
      operation,
      operationParameters: { mode: 'Append', partitionBy: '["day"]' },
      readVersion: version - 1,
      isolationLevel: 'Serializable',
      isBlindAppend: operation === 'WRITE',
      engineInfo: 'lakehouse-bench',
    },
  };
}

function encodeCommit(actions: readonly Action[]): Uint8Array {
  return new TextEncoder().encode(actions.map((a) => JSON.stringify(a)).join('\n') + '\n');
}

async function writeCommit(storage: Storage, version: number, actions: readonly Action[]): Promise<void> {
  const ok = await storage.putIfAbsent(logKey('', `${padVersion(version)}.json`), encodeCommit(actions));
  if (!ok) throw new Error(`commit ${version} already exists`);
}

/** The generated table and what a reader should find in it. */
export interface Generated {
  table: TableRef;
  latest: number;
  checkpointVersion: number;
  expectedFiles: number;
  factory: AddFactory;
  logBytes: number;
  checkpointBytes: number;
  setupMs: Record<string, number>;
}

/** Writes the benchmark table into `dir` (deterministic for the fixed seed): JSON commits, a checkpoint and a JSON tail. */
export async function generateLoadTable(dir: string, log: (msg: string) => void): Promise<Generated> {
  const storage = new FsStorage(dir);
  const table: TableRef = { storage, tableKey: '' };
  const factory = new AddFactory();
  const setupMs: Record<string, number> = {};
  let logBytes = 0;

  const tWrite = await timed(async () => {
    await writeCommit(storage, 0, [
      { protocol: { minReaderVersion: 1, minWriterVersion: 2 } },
      {
        metaData: {
          id: '5f1a3c2e-0000-4000-8000-000000000001',
          format: { provider: 'parquet', options: {} },
          schemaString: JSON.stringify(SCHEMA),
          partitionColumns: ['day'],
          createdTime: BASE_TIME,
          configuration: {},
        },
      },
      commitInfo(0, 'CREATE TABLE'),
    ]);
    const perCommit = NUM_ADDS / COMMITS_BEFORE_CHECKPOINT;
    for (let v = 1; v <= COMMITS_BEFORE_CHECKPOINT; v++) {
      const actions: Action[] = [commitInfo(v, 'WRITE')];
      for (let k = 0; k < perCommit; k++) actions.push({ add: factory.next() });
      const bytes = encodeCommit(actions);
      logBytes += bytes.byteLength;
      await storage.putIfAbsent(logKey('', `${padVersion(v)}.json`), bytes);
    }
  });
  setupMs.writeJsonCommits = tWrite.ms;
  log(`  wrote ${COMMITS_BEFORE_CHECKPOINT + 1} commits (${(logBytes / 2 ** 20).toFixed(0)} MiB) in ${tWrite.ms.toFixed(0)} ms`);

  const tReplay = await timed(() => Snapshot.load(table));
  setupMs.loadWithoutCheckpoint = tReplay.ms;
  const tCp = await timed(() => writeCheckpoint(tReplay.value));
  setupMs.writeCheckpoint = tCp.ms;
  const checkpointVersion = tReplay.value.version;
  log(
    `  replayed ${COMMITS_BEFORE_CHECKPOINT + 1} JSON commits in ${tReplay.ms.toFixed(0)} ms; ` +
      `checkpoint v${checkpointVersion} (${(tCp.value.sizeInBytes / 2 ** 20).toFixed(1)} MiB) written in ${tCp.ms.toFixed(0)} ms`,
  );

  // The tail: a few JSON commits after the checkpoint, the first one also removing checkpointed files.
  const checkpointed: AddAction[] = [...tReplay.value.adds()].slice(0, TAIL_REMOVES);
  let v = checkpointVersion;
  for (let c = 0; c < TAIL_COMMITS; c++) {
    v++;
    const actions: Action[] = [commitInfo(v, c === 0 ? 'DELETE' : 'WRITE')];
    if (c === 0) {
      for (const a of checkpointed) {
        const remove: RemoveAction = {
          path: a.path,
          deletionTimestamp: BASE_TIME + v * 60_000,
          dataChange: true,
          extendedFileMetadata: true,
          partitionValues: a.partitionValues,
          size: a.size,
        };
        actions.push({ remove });
      }
    }
    for (let k = 0; k < TAIL_ADDS_PER_COMMIT; k++) actions.push({ add: factory.next() });
    await writeCommit(storage, v, actions);
  }
  return {
    table,
    latest: v,
    checkpointVersion,
    expectedFiles: NUM_ADDS - TAIL_REMOVES + TAIL_COMMITS * TAIL_ADDS_PER_COMMIT,
    factory,
    logBytes,
    checkpointBytes: tCp.value.sizeInBytes,
    setupMs,
  };
}

/** The floor for a load: read the checkpoint and the tail commits from storage and decode them, nothing else. */
async function readAndDecodeOnly(storage: Storage, checkpointVersion: number, latest: number): Promise<number> {
  const cp = await storage.get(logKey('', `${padVersion(checkpointVersion)}.checkpoint.parquet`));
  let n = (await decodeCheckpointParquet(cp)).length;
  const decoder = new TextDecoder();
  for (let v = checkpointVersion + 1; v <= latest; v++) {
    const text = decoder.decode(await storage.get(logKey('', `${padVersion(v)}.json`)));
    for (const line of text.split('\n')) {
      if (line.length === 0) continue;
      JSON.parse(line);
      n++;
    }
  }
  return n;
}

/** Snapshot.load's steps redone one by one through the public API, timed separately (where the time goes). */
async function loadPhases(table: TableRef): Promise<Record<string, number>> {
  const { storage } = table;
  const t: Record<string, number> = {};
  let t0 = performance.now();
  const hint = await readLastCheckpoint(storage, '');
  const listing = await listLog(storage, '', hint?.version);
  t.listAndHint = performance.now() - t0;
  const cp = listing.checkpoints[listing.checkpoints.length - 1];
  t0 = performance.now();
  const bytes = await storage.get(cp.files[0].key);
  t.readCheckpoint = performance.now() - t0;
  t0 = performance.now();
  const cpActions = await decodeCheckpointParquet(bytes);
  t.decodeCheckpoint = performance.now() - t0;
  t0 = performance.now();
  const tail: Action[][] = [];
  for (const [v, info] of [...listing.commits].sort((a, b) => a[0] - b[0])) if (v > cp.version) tail.push(await readCommit(storage, info));
  t.readAndParseTail = performance.now() - t0;
  t0 = performance.now();
  const state = emptyReplayState();
  for (const a of cpActions) applyAction(state, a);
  for (const c of tail) for (const a of c) applyAction(state, a);
  t.replay = performance.now() - t0;
  return t;
}

async function run(log: (msg: string) => void): Promise<BenchResult> {
  const { dir, cleanup } = await tempDir('snapshot-load');
  try {
    log(`  generating ${NUM_ADDS.toLocaleString('en')} adds over ${NUM_PARTITIONS} partitions in ${dir}`);
    const g = await generateLoadTable(dir, log);
    const checks: Check[] = [];
    const notes: string[] = [];

    // (a) Snapshot.load latest vs (b) reading + decoding the same log bytes, interleaved.
    let loaded: { version: number; numFiles: number } | null = null;
    let decodedActions = 0;
    const samples = await measureInterleaved(
      {
        decodeOnly: async () => {
          decodedActions = await readAndDecodeOnly(g.table.storage, g.checkpointVersion, g.latest);
        },
        snapshotLoad: async () => {
          const s = await Snapshot.load(g.table);
          loaded = { version: s.version, numFiles: s.numFiles };
        },
      },
      { warmup: LOAD_WARMUP, runs: LOAD_RUNS, settleMs: 200 },
    );
    const seen = loaded as { version: number; numFiles: number } | null;
    checks.push({
      name: 'Snapshot.load sees the latest version and every live file',
      ok: seen !== null && seen.version === g.latest && seen.numFiles === g.expectedFiles,
      details: { version: seen?.version, expectedVersion: g.latest, numFiles: seen?.numFiles, expectedFiles: g.expectedFiles },
    });
    const loadMs = median(samples.snapshotLoad);
    const decodeMs = median(samples.decodeOnly);
    const ratio = loadMs / decodeMs;

    // Where Snapshot.load's time goes (informative, one run after the measured ones).
    await settle(200);
    const phases = await loadPhases(g.table);

    // (c) incremental refresh: one new small commit, then update().
    let current: Snapshot = await Snapshot.load(g.table);
    const updateMs: number[] = [];
    let updateOk = true;
    for (let r = 0; r < UPDATE_WARMUP + UPDATE_RUNS; r++) {
      const v = current.version + 1;
      const actions: Action[] = [commitInfo(v, 'WRITE')];
      for (let k = 0; k < UPDATE_ADDS; k++) actions.push({ add: g.factory.next() });
      await writeCommit(g.table.storage, v, actions);
      // A refresh follows some idle time in real use (a poll interval); let the commit's fsync and GC work finish.
      await sleep(UPDATE_IDLE_MS);
      const before = current.numFiles;
      const { ms, value } = await timed(() => current.update());
      if (value.version !== v || value.numFiles !== before + UPDATE_ADDS) updateOk = false;
      current = value;
      if (r >= UPDATE_WARMUP) updateMs.push(ms);
    }
    checks.push({
      name: 'update() returns the new version with the new files',
      ok: updateOk,
      details: { finalVersion: current.version, finalFiles: current.numFiles },
    });
    const noop: number[] = [];
    let noopOk = true;
    for (let r = 0; r < 5; r++) {
      await sleep(UPDATE_IDLE_MS);
      const { ms, value } = await timed(() => current.update());
      if (value !== current) noopOk = false;
      noop.push(ms);
    }
    checks.push({ name: 'update() with no new commit returns the same snapshot', ok: noopOk });
    samples.update = updateMs;
    samples.updateUpToDate = noop;

    const metrics = [
      metric('load / decode-only (ratio)', ratio, 'x', { cmp: '<=', target: 1.5 }),
      metric('Snapshot.load latest', loadMs, 'ms'),
      metric('decode-only baseline', decodeMs, 'ms'),
      metric('update() after 1 commit', median(updateMs), 'ms', { cmp: '<', target: 10 }),
      metric('update() after 1 commit (max)', Math.max(...updateMs), 'ms'),
      metric('update() when up to date', median(noop), 'ms'),
      ...Object.entries(phases).map(([k, ms]) => metric(`load phase (1 run): ${k}`, ms, 'ms')),
    ];
    notes.push(
      `update() is timed ${UPDATE_IDLE_MS} ms after the commit is written (a poll interval); right after a full GC of ` +
        `the ~1 GB heap, concurrent sweeping on this machine can add tens of ms to the first I/O`,
    );
    if (ratio > 1.5) {
      notes.push(
        `Snapshot.load took ${ratio.toFixed(2)}x the decode-only floor; phases: ` +
          Object.entries(phases)
            .map(([k, ms]) => `${k} ${ms.toFixed(0)} ms`)
            .join(', '),
      );
    }
    return {
      name: 'snapshot-load',
      params: {
        seed: SEED,
        adds: NUM_ADDS,
        partitions: NUM_PARTITIONS,
        commitsBeforeCheckpoint: COMMITS_BEFORE_CHECKPOINT,
        checkpointVersion: g.checkpointVersion,
        tailCommits: TAIL_COMMITS,
        tailAddsPerCommit: TAIL_ADDS_PER_COMMIT,
        tailRemoves: TAIL_REMOVES,
        latestVersion: g.latest,
        liveFiles: g.expectedFiles,
        decodedActions,
        jsonLogMiB: Math.round(g.logBytes / 2 ** 20),
        checkpointMiB: Math.round((g.checkpointBytes / 2 ** 20) * 10) / 10,
        loadWarmup: LOAD_WARMUP,
        loadRuns: LOAD_RUNS,
        updateAddsPerCommit: UPDATE_ADDS,
        updateRuns: UPDATE_RUNS,
        setupMs: Object.fromEntries(Object.entries(g.setupMs).map(([k, v]) => [k, Math.round(v)])),
      },
      metrics,
      checks,
      notes,
      samples,
    };
  } finally {
    await cleanup();
  }
}

/** The snapshot-load benchmark. */
export const snapshotLoad: Benchmark = {
  name: 'snapshot-load',
  description: 'Snapshot.load of a 300k-file table vs decoding its log bytes; update() after one commit',
  run,
};
