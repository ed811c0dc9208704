import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ChangeSet,
  FileIndex,
  ManualClock,
  MemoryStorage,
  Snapshot,
  padVersion,
  replay,
  schemaToString,
  writeCheckpoint,
  type Action,
  type AddAction,
  type DeletionVectorDescriptor,
  type DomainMetadataAction,
  type MetadataAction,
  type ProtocolAction,
  type RemoveAction,
  type StructType,
  type TableRef,
  type TxnAction,
} from '../src/index.js';
import { FaultyStorage } from './support/faulty-storage.js';

// ---------------------------------------------------------------------------------------------------------------
// Random histories

const T0 = Date.UTC(2024, 5, 1);
/** Commit v is written at T0 + v * STEP (MemoryStorage takes lastModified from the clock). */
const STEP = 1000;

const SCHEMAS: StructType[] = [
  {
    type: 'struct',
    fields: [
      { name: 'id', type: 'long', nullable: true, metadata: {} },
      { name: 'p', type: 'string', nullable: true, metadata: {} },
    ],
  },
  {
    type: 'struct',
    fields: [
      { name: 'id', type: 'long', nullable: true, metadata: {} },
      { name: 'p', type: 'string', nullable: true, metadata: {} },
      { name: 'extra', type: 'double', nullable: true, metadata: {} },
    ],
  },
];

interface DvSpec {
  inline: boolean;
  withOffset: boolean;
  cardinality: number;
}

/** What a commit does, with targets picked by index among the files live (or removed) at that point. */
type Op =
  | { kind: 'add'; form: number; dv: DvSpec | null; stats: boolean; tags: boolean; part: string | null }
  | { kind: 'remove'; pick: number; raw: boolean }
  | { kind: 'redv'; pick: number; dv: DvSpec }
  | { kind: 'restats'; pick: number }
  | { kind: 'resurrect'; pick: number }
  | { kind: 'meta'; schema: number }
  | { kind: 'txn'; app: number }
  | { kind: 'domain'; domain: number; removed: boolean };

const dvArb: fc.Arbitrary<DvSpec> = fc.record({ inline: fc.boolean(), withOffset: fc.boolean(), cardinality: fc.integer({ min: 1, max: 1000 }) });

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('add' as const),
      form: fc.nat(3),
      dv: fc.option(dvArb, { freq: 3 }),
      stats: fc.boolean(),
      tags: fc.boolean(),
      part: fc.option(fc.constantFrom('a', 'b b', 'ü/x', ''), { freq: 4 }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('remove' as const), pick: fc.nat(), raw: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('redv' as const), pick: fc.nat(), dv: dvArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('restats' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('resurrect' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('meta' as const), schema: fc.nat(SCHEMAS.length - 1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('txn' as const), app: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('domain' as const), domain: fc.nat(2), removed: fc.boolean() }) },
);

const historyArb = fc.array(fc.array(opArb, { maxLength: 6 }), { minLength: 1, maxLength: 20 });

/** The independent model of a table version: plain maps keyed by (logical path, DV id) written without the core. */
interface ModelState {
  version: number;
  protocol: ProtocolAction;
  metadata: MetadataAction;
  files: Map<string, AddAction>;
  tombstones: Map<string, RemoveAction>;
  txns: Map<string, TxnAction>;
  domains: Map<string, DomainMetadataAction>;
}

interface Built {
  /** Actions of each commit, commitInfo first. */
  commits: Action[][];
  /** Model state after each version. */
  models: ModelState[];
}

const PROTOCOL: ProtocolAction = { minReaderVersion: 1, minWriterVersion: 2 };

function metadataFor(schema: number, rev: number): MetadataAction {
  return {
    id: 'table-under-test',
    format: { provider: 'parquet', options: {} },
    schemaString: schemaToString(SCHEMAS[schema]),
    partitionColumns: ['p'],
    configuration: { 'user.revision': String(rev) },
    createdTime: T0,
  };
}

const LOGICAL_FORMS = [(n: number) => `f${n}.parquet`, (n: number) => `p=x y/f${n}.parquet`, (n: number) => `dir/ü${n} #.parquet`, (n: number) => `a/b/c/f${n}.snappy.parquet`];

/** Percent-encodes each segment (written independently of the core's encoder). */
function encodePath(logical: string): string {
  return logical
    .split('/')
    .map((s) => encodeURIComponent(s))
    .join('/');
}

/** DV identity per PROTOCOL.md "Deletion Vector Descriptor": storageType + pathOrInlineDv (+ "@" + offset). */
function modelDvId(dv: DeletionVectorDescriptor | null | undefined): string {
  if (!dv) return '';
  return dv.storageType + dv.pathOrInlineDv + (dv.offset != null ? '@' + String(dv.offset) : '');
}

function modelKey(logical: string, dv: DeletionVectorDescriptor | null | undefined): string {
  const id = modelDvId(dv);
  return id ? `${logical}\u0000${id}` : logical;
}

function cloneModel(m: ModelState, version: number): ModelState {
  return { ...m, version, files: new Map(m.files), tombstones: new Map(m.tombstones), txns: new Map(m.txns), domains: new Map(m.domains) };
}

/** Turns op lists into valid commits (each file key touched at most once per commit) and the model after each. */
function build(history: Op[][]): Built {
  let fileNo = 0;
  let dvNo = 0;
  let rev = 0;
  const logicalOf = new Map<string, string>();
  const makeDv = (spec: DvSpec): DeletionVectorDescriptor => {
    const id = `dv-${String(++dvNo).padStart(6, '0')}`;
    return spec.inline
      ? { storageType: 'i', pathOrInlineDv: `inline${id}`, sizeInBytes: 40, cardinality: spec.cardinality }
      : { storageType: 'u', pathOrInlineDv: `ab${id}0123456789abcd`, ...(spec.withOffset ? { offset: 1 } : {}), sizeInBytes: 40, cardinality: spec.cardinality };
  };
  let model: ModelState = {
    version: 0,
    protocol: PROTOCOL,
    metadata: metadataFor(0, rev),
    files: new Map(),
    tombstones: new Map(),
    txns: new Map(),
    domains: new Map(),
  };
  const commits: Action[][] = [];
  const models: ModelState[] = [];
  history.forEach((ops, version) => {
    model = cloneModel(model, version);
    const actions: Action[] = [{ commitInfo: { operation: 'TEST', timestamp: T0 + version * STEP } }];
    if (version === 0) actions.push({ protocol: PROTOCOL }, { metaData: model.metadata });
    const touched = new Set<string>();
    const ts = T0 + version * STEP;
    const addFile = (add: AddAction, logical: string): void => {
      const k = modelKey(logical, add.deletionVector);
      touched.add(k);
      logicalOf.set(k, logical);
      model.files.set(k, add);
      model.tombstones.delete(k);
      actions.push({ add });
    };
    const removeFile = (k: string, raw: boolean): void => {
      const add = model.files.get(k)!;
      const logical = logicalOf.get(k)!;
      // Writers may spell the same path raw or percent-encoded: both name the same file.
      const path = raw && !/[#%]/.test(logical) ? logical : add.path;
      const remove: RemoveAction = {
        path,
        deletionTimestamp: ts,
        dataChange: true,
        extendedFileMetadata: true,
        partitionValues: add.partitionValues,
        size: add.size,
        ...(add.deletionVector ? { deletionVector: add.deletionVector } : {}),
      };
      touched.add(k);
      model.files.delete(k);
      model.tombstones.set(k, remove);
      actions.push({ remove });
    };
    const pickFrom = <T>(keys: T[], pick: number): T | undefined => (keys.length === 0 ? undefined : keys[pick % keys.length]);
    for (const op of ops) {
      const live = [...model.files.keys()].filter((k) => !touched.has(k)).sort();
      switch (op.kind) {
        case 'add': {
          const n = ++fileNo;
          const logical = LOGICAL_FORMS[op.form](n);
          addFile(
            {
              path: encodePath(logical),
              partitionValues: { p: op.part },
              size: 1000 + n,
              modificationTime: ts,
              dataChange: true,
              ...(op.stats ? { stats: JSON.stringify({ numRecords: n, minValues: { id: n }, maxValues: { id: n * 2 }, nullCount: { id: 0 } }) } : {}),
              ...(op.tags ? { tags: { origin: `t${n}` } } : {}),
              ...(op.dv ? { deletionVector: makeDv(op.dv) } : {}),
            },
            logical,
          );
          break;
        }
        case 'remove': {
          const k = pickFrom(live, op.pick);
          if (k !== undefined) removeFile(k, op.raw);
          break;
        }
        case 'redv': {
          // A file gets a new deletion vector: remove (path, old DV) + add (path, new DV) in one commit.
          const k = pickFrom(live, op.pick);
          if (k === undefined) break;
          const old = model.files.get(k)!;
          const logical = logicalOf.get(k)!;
          const prevCard = old.deletionVector?.cardinality ?? 0;
          removeFile(k, false);
          addFile({ ...old, modificationTime: ts, deletionVector: makeDv({ ...op.dv, cardinality: prevCard + op.dv.cardinality }) }, logical);
          break;
        }
        case 'restats': {
          // Re-adding a live file (same path and DV) with new stats replaces its add action.
          const k = pickFrom(live, op.pick);
          if (k === undefined) break;
          const old = model.files.get(k)!;
          addFile({ ...old, dataChange: false, stats: JSON.stringify({ numRecords: version + 1 }) }, logicalOf.get(k)!);
          break;
        }
        case 'resurrect': {
          const dead = [...model.tombstones.keys()].filter((k) => !touched.has(k) && !model.files.has(k)).sort();
          const k = pickFrom(dead, op.pick);
          if (k === undefined) break;
          const r = model.tombstones.get(k)!;
          const logical = logicalOf.get(k)!;
          addFile(
            {
              path: encodePath(logical),
              partitionValues: r.partitionValues ?? {},
              size: (r.size ?? 0) + 1,
              modificationTime: ts,
              dataChange: true,
              ...(r.deletionVector ? { deletionVector: r.deletionVector } : {}),
            },
            logical,
          );
          break;
        }
        case 'meta': {
          model.metadata = metadataFor(op.schema, ++rev);
          actions.push({ metaData: model.metadata });
          break;
        }
        case 'txn': {
          const appId = `app-${op.app}`;
          const txn: TxnAction = { appId, version: (model.txns.get(appId)?.version ?? 0) + 1, lastUpdated: ts };
          model.txns.set(appId, txn);
          actions.push({ txn });
          break;
        }
        case 'domain': {
          const d: DomainMetadataAction = { domain: `domain-${op.domain}`, configuration: JSON.stringify({ v: version }), removed: op.removed };
          if (op.removed) model.domains.delete(d.domain);
          else model.domains.set(d.domain, d);
          actions.push({ domainMetadata: d });
          break;
        }
      }
    }
    commits.push(actions);
    models.push(model);
  });
  return { commits, models };
}

/** Writes commits [from, to] as JSON files, each at its own clock time. */
async function writeCommits(storage: MemoryStorage, clock: ManualClock, commits: Action[][], from: number, to: number): Promise<void> {
  for (let v = from; v <= to; v++) {
    clock.set(T0 + v * STEP);
    const text = commits[v].map((a) => JSON.stringify(a)).join('\n') + '\n';
    await storage.put(`_delta_log/${padVersion(v)}.json`, new TextEncoder().encode(text));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Comparison

/** Sorted-key JSON with null and undefined fields dropped (checkpoints spell absent optional fields as null). */
function canonical(v: unknown, dropNulls: boolean): unknown {
  if (Array.isArray(v)) return v.map((x) => canonical(x, dropNulls));
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x === undefined || (dropNulls && x === null)) continue;
      out[k] = canonical(x, dropNulls);
    }
    return out;
  }
  return v;
}

function sortedJson(items: Iterable<unknown>, dropNulls: boolean): string[] {
  return [...items].map((x) => JSON.stringify(canonical(x, dropNulls))).sort();
}

/**
 * What must be equal between a snapshot and the model. `fromCheckpoint` relaxes only what a checkpoint is allowed to
 * change: dataChange of adds, the stats/tags/dataChange of tombstones, and null-vs-absent optional fields.
 */
function pictureOfModel(m: ModelState, fromCheckpoint: boolean): Record<string, unknown> {
  return {
    version: m.version,
    protocol: canonical(m.protocol, true),
    metadata: canonical(m.metadata, true),
    files: sortedJson(
      [...m.files.values()].map((a) => (fromCheckpoint ? { ...a, dataChange: undefined } : a)),
      fromCheckpoint,
    ),
    tombstones: fromCheckpoint
      ? sortedJson(
          [...m.tombstones.values()].map((r) => ({ path: r.path, deletionTimestamp: r.deletionTimestamp, deletionVector: r.deletionVector ?? null })),
          true,
        )
      : sortedJson(m.tombstones.values(), false),
    txns: sortedJson(m.txns.values(), true),
    domains: sortedJson(m.domains.values(), true),
  };
}

function pictureOfSnapshot(s: Snapshot, fromCheckpoint: boolean): Record<string, unknown> {
  return {
    version: s.version,
    protocol: canonical(s.protocol, true),
    metadata: canonical(s.metadata, true),
    files: sortedJson(
      [...s.adds()].map((a) => (fromCheckpoint ? { ...a, dataChange: undefined } : a)),
      fromCheckpoint,
    ),
    tombstones: fromCheckpoint
      ? sortedJson(
          [...s.tombstones()].map((r) => ({ path: r.path, deletionTimestamp: r.deletionTimestamp, deletionVector: r.deletionVector ?? null })),
          true,
        )
      : sortedJson(s.tombstones(), false),
    txns: sortedJson(s.txns.values(), true),
    domains: sortedJson(s.domains.values(), true),
  };
}

function expectMatches(s: Snapshot, m: ModelState, fromCheckpoint = false): void {
  expect(pictureOfSnapshot(s, fromCheckpoint)).toEqual(pictureOfModel(m, fromCheckpoint));
  expect(s.numFiles).toBe(m.files.size);
}

function memoryTable(): { table: TableRef; storage: MemoryStorage; clock: ManualClock } {
  const clock = new ManualClock(T0);
  const storage = new MemoryStorage(clock);
  return { table: { storage, tableKey: '' }, storage, clock };
}

const RUNS = Number(process.env.FC_RUNS ?? 0) || undefined;

// ---------------------------------------------------------------------------------------------------------------

describe('log replay agrees with an independent model', () => {
  it('(a) replay() over all actions gives the model live files, tombstones, txns, domains and metadata', () => {
    fc.assert(
      fc.property(historyArb, (history) => {
        const { commits, models } = build(history);
        const state = replay(commits.flat());
        const m = models[models.length - 1];
        // Keys are (decoded path, DV id): the same identity the model uses.
        expect([...state.files.keys()].sort()).toEqual([...m.files.keys()].sort());
        for (const [k, add] of m.files) expect(state.files.get(k)).toBe(add);
        expect([...state.tombstones.keys()].sort()).toEqual([...m.tombstones.keys()].sort());
        expect(state.metadata).toBe(m.metadata);
        expect(state.protocol).toEqual(PROTOCOL);
        expect(sortedJson(state.txns.values(), false)).toEqual(sortedJson(m.txns.values(), false));
        expect(sortedJson(state.domains.values(), false)).toEqual(sortedJson(m.domains.values(), false));
      }),
      { numRuns: RUNS ?? 300 },
    );
  });

  it('(a) replaying in two halves through the same state equals replaying at once', () => {
    fc.assert(
      fc.property(historyArb, fc.nat(), (history, cut) => {
        const { commits, models } = build(history);
        const at = cut % commits.length;
        const state = replay(commits.slice(0, at + 1).flat());
        expect([...state.files.keys()].sort()).toEqual([...models[at].files.keys()].sort());
        replay(commits.slice(at + 1).flat(), state);
        expect([...state.files.keys()].sort()).toEqual([...models[models.length - 1].files.keys()].sort());
      }),
      { numRuns: RUNS ?? 200 },
    );
  });

  it('(b) Snapshot.load of every version equals the model, with the commit timestamp', async () => {
    await fc.assert(
      fc.asyncProperty(historyArb, async (history) => {
        const { commits, models } = build(history);
        const { table, storage, clock } = memoryTable();
        await writeCommits(storage, clock, commits, 0, commits.length - 1);
        for (let v = 0; v < commits.length; v++) {
          const s = await Snapshot.load(table, v === commits.length - 1 && v % 2 === 0 ? {} : { version: v });
          expectMatches(s, models[v]);
          expect(s.timestamp).toBe(T0 + v * STEP);
        }
      }),
      { numRuns: RUNS ?? 100 },
    );
  });

  it('(b) update() from any earlier snapshot, in one or several steps, equals a fresh load', async () => {
    await fc.assert(
      fc.asyncProperty(historyArb, fc.array(fc.nat(), { minLength: 1, maxLength: 3 }), async (history, cutsRaw) => {
        const { commits, models } = build(history);
        const n = commits.length - 1;
        const cuts = [...new Set(cutsRaw.map((c) => c % (n + 1)))].sort((a, b) => a - b);
        const { table, storage, clock } = memoryTable();
        // Commits appear in storage step by step; each update sees only what is there.
        await writeCommits(storage, clock, commits, 0, cuts[0]);
        let s = await Snapshot.load(table);
        expectMatches(s, models[cuts[0]]);
        const older: [Snapshot, number][] = [[s, cuts[0]]];
        for (const cut of [...cuts.slice(1), n]) {
          await writeCommits(storage, clock, commits, s.version + 1, cut);
          const next = await s.update();
          expectMatches(next, models[cut]);
          expect(next.timestamp).toBe(T0 + cut * STEP);
          if (cut === s.version) expect(next).toBe(s);
          s = next;
          older.push([s, cut]);
        }
        // Snapshots are immutable: the older ones still show their versions.
        for (const [snap, v] of older) expectMatches(snap, models[v]);
        // An up-to-date snapshot updates to itself.
        expect(await s.update()).toBe(s);
        // Time travel to an early version, then update, reaches the latest state.
        const early = await Snapshot.load(table, { version: cuts[0] });
        expectMatches(await early.update(), models[n]);
      }),
      { numRuns: RUNS ?? 100 },
    );
  });

  it('(c) with a checkpoint at a random version, loads through it equal the model and a JSON-only load', async () => {
    await fc.assert(
      fc.asyncProperty(historyArb, fc.nat(), fc.nat(), async (history, cpRaw, probeRaw) => {
        const { commits, models } = build(history);
        const n = commits.length - 1;
        const c = cpRaw % (n + 1);
        const { table, storage, clock } = memoryTable();
        await writeCommits(storage, clock, commits, 0, n);
        clock.set(T0 + (n + 10) * STEP);
        const metrics = await writeCheckpoint(await Snapshot.load(table, { version: c }), { clock });
        expect(metrics).toMatchObject({ version: c, written: true, numAddFiles: models[c].files.size, numTombstones: models[c].tombstones.size });

        for (const v of [c, n, c + (probeRaw % (n - c + 1))]) {
          const spy = new FaultyStorage(storage);
          const s = await Snapshot.load({ storage: spy, tableKey: '' }, v === n ? {} : { version: v });
          // The load went through the checkpoint and read only the commits after it.
          const gets = spy.callsOf('get').map((x) => x.key);
          expect(gets).toContain(`_delta_log/${padVersion(c)}.checkpoint.parquet`);
          expect(gets.filter((k) => k.endsWith('.json')).sort()).toEqual(
            Array.from({ length: v - c }, (_, i) => `_delta_log/${padVersion(c + 1 + i)}.json`),
          );
          expectMatches(s, models[v], true);
          // Equal to a JSON-only replay of the same version, up to what a checkpoint may normalize.
          const { table: jsonTable, storage: jsonStorage, clock: jsonClock } = memoryTable();
          await writeCommits(jsonStorage, jsonClock, commits, 0, v);
          expect(pictureOfSnapshot(s, true)).toEqual(pictureOfSnapshot(await Snapshot.load(jsonTable), true));
          if (v > c) expect(s.timestamp).toBe(T0 + v * STEP);
        }
        // Versions before the checkpoint still load from JSON, exactly.
        if (c > 0) expectMatches(await Snapshot.load(table, { version: c - 1 }), models[c - 1]);
      }),
      { numRuns: RUNS ?? 60 },
    );
  });

  // Regression: a snapshot loaded at exactly a checkpoint's version took its timestamp from the checkpoint file's
  // modification time instead of the commit's.
  it('a snapshot at a checkpointed version has the timestamp of its commit, not of the checkpoint file', async () => {
    const { commits } = build([[{ kind: 'add', form: 0, dv: null, stats: false, tags: false, part: null }], []]);
    const { table, storage, clock } = memoryTable();
    await writeCommits(storage, clock, commits, 0, 1);
    const before = await Snapshot.load(table);
    expect(before.timestamp).toBe(T0 + STEP);
    clock.set(T0 + 3_600_000);
    await writeCheckpoint(before, { clock });
    expect((await Snapshot.load(table)).timestamp).toBe(T0 + STEP);
  });

  it('with in-commit timestamps, a snapshot reports the commit ICT (also at a checkpointed version), not file times', async () => {
    const { table, storage, clock } = memoryTable();
    const ict = (v: number): number => T0 + 500_000 + v * 7;
    const md: MetadataAction = { ...metadataFor(0, 0), configuration: { 'delta.enableInCommitTimestamps': 'true' } };
    const commits: Action[][] = [0, 1, 2].map((v) => [
      { commitInfo: { inCommitTimestamp: ict(v), timestamp: ict(v), operation: 'TEST' } },
      ...(v === 0 ? [{ protocol: { minReaderVersion: 1, minWriterVersion: 7, writerFeatures: ['inCommitTimestamp'] } }, { metaData: md }] : []),
    ]);
    await writeCommits(storage, clock, commits, 0, 2);
    for (let v = 0; v <= 2; v++) expect((await Snapshot.load(table, { version: v })).timestamp).toBe(ict(v));
    clock.set(T0 + 9_000_000);
    await writeCheckpoint(await Snapshot.load(table, { version: 1 }), { clock });
    expect((await Snapshot.load(table, { version: 1 })).timestamp).toBe(ict(1));
    expect((await Snapshot.load(table)).timestamp).toBe(ict(2));
  });
});

// ---------------------------------------------------------------------------------------------------------------
// FileIndex

/** A small deterministic PRNG (mulberry32), so that big batches stay cheap to generate and shrink by seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Batch {
  sets: Map<string, number>;
  deletes: Set<string>;
}

/** Disjoint sets and deletes (as a ChangeSet produces them). */
function expandBatch(seed: number, nSets: number, nDeletes: number, keySpace: number): Batch {
  const r = prng(seed);
  const sets = new Map<string, number>();
  const deletes = new Set<string>();
  for (let i = 0; i < nSets; i++) sets.set(`k${Math.floor(r() * keySpace)}`, Math.floor(r() * 1e9));
  for (let i = 0; i < nDeletes; i++) {
    const k = `k${Math.floor(r() * keySpace)}`;
    if (!sets.has(k)) deletes.add(k);
  }
  return { sets, deletes };
}

function applyToMap(m: Map<string, number>, b: Batch): Map<string, number> {
  const out = new Map(m);
  for (const [k, v] of b.sets) out.set(k, v);
  for (const k of b.deletes) out.delete(k);
  return out;
}

function expectIndexEquals(idx: FileIndex<number>, m: Map<string, number>, keySpace: number): void {
  expect(idx.size).toBe(m.size);
  // Plain loops collecting mismatches: one expect per check keeps the big cases fast.
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const [k, v] of idx.entries()) {
    if (seen.has(k)) problems.push(`entries() yields ${k} twice`);
    seen.add(k);
    if (m.get(k) !== v) problems.push(`entries() has ${k}=${v}, model has ${m.get(k)}`);
  }
  if (seen.size !== m.size) problems.push(`entries() yields ${seen.size} keys, model has ${m.size}`);
  let values = 0;
  for (const v of idx.values()) values += v === undefined ? NaN : 1;
  if (values !== m.size) problems.push(`values() yields ${values} values, model has ${m.size}`);
  for (let i = 0; i < keySpace && problems.length < 10; i++) {
    const k = `k${i}`;
    if (idx.get(k) !== m.get(k)) problems.push(`get(${k}) = ${idx.get(k)}, model has ${m.get(k)}`);
    if (idx.has(k) !== m.has(k)) problems.push(`has(${k}) = ${idx.has(k)}, model says ${m.has(k)}`);
  }
  expect(problems.slice(0, 10)).toEqual([]);
}

describe('FileIndex behaves as an immutable Map', () => {
  const batchArb = (maxOps: number) =>
    fc.record({ seed: fc.integer(), nSets: fc.nat(maxOps), nDeletes: fc.nat(maxOps) });

  it('(d) small key space: every derivation equals a Map, and earlier indexes never change', () => {
    fc.assert(
      fc.property(fc.nat(30), batchArb(20), fc.array(batchArb(20), { maxLength: 40 }), (keySpace0, init, steps) => {
        const keySpace = keySpace0 + 1;
        const base = applyToMap(new Map(), expandBatch(init.seed, init.nSets, 0, keySpace));
        let idx = FileIndex.of(new Map(base));
        let model = base;
        const history: [FileIndex<number>, Map<string, number>][] = [[idx, model]];
        for (const s of steps) {
          const b = expandBatch(s.seed, s.nSets, s.nDeletes, keySpace);
          const next = idx.with(b.sets, b.deletes);
          model = applyToMap(model, b);
          expectIndexEquals(next, model, keySpace);
          if (b.sets.size === 0 && b.deletes.size === 0) expect(next).toBe(idx);
          idx = next;
          history.push([idx, model]);
        }
        for (const [i, m] of history) expectIndexEquals(i, m, keySpace);
      }),
      { numRuns: RUNS ?? 300 },
    );
  });

  it('(d) large batches cross the flatten threshold (4096 overlay entries or base/16) without changing contents', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20_000 }), fc.array(batchArb(3000), { minLength: 1, maxLength: 8 }), (baseSize, steps) => {
        const keySpace = 24_000;
        const base = new Map<string, number>();
        for (let i = 0; i < baseSize; i++) base.set(`k${i}`, i);
        let idx = FileIndex.of(new Map(base));
        let model: Map<string, number> = base;
        const history: [FileIndex<number>, Map<string, number>][] = [[idx, model]];
        for (const s of steps) {
          const b = expandBatch(s.seed, s.nSets, s.nDeletes, keySpace);
          idx = idx.with(b.sets, b.deletes);
          model = applyToMap(model, b);
          expect(idx.size).toBe(model.size);
          history.push([idx, model]);
        }
        for (const [i, m] of history) expectIndexEquals(i, m, keySpace);
      }),
      { numRuns: RUNS ?? 15 },
    );
  });

  it('(d) a long chain of single-file derivations past the threshold stays exact', () => {
    // 5000 one-change derivations: the overlay grows past 4096 and is flattened on the way.
    const r = prng(42);
    let idx = FileIndex.of(new Map<string, number>());
    const model = new Map<string, number>();
    const keySpace = 6000;
    const checkpoints: [FileIndex<number>, Map<string, number>][] = [];
    for (let i = 0; i < 5000; i++) {
      const k = `k${Math.floor(r() * keySpace)}`;
      if (r() < 0.7) {
        idx = idx.with(new Map([[k, i]]), new Set());
        model.set(k, i);
      } else {
        idx = idx.with(new Map(), new Set([k]));
        model.delete(k);
      }
      expect(idx.size).toBe(model.size);
      if (i % 1000 === 999 || i === 4097) checkpoints.push([idx, new Map(model)]);
    }
    for (const [i, m] of checkpoints) expectIndexEquals(i, m, keySpace);
  });

  it('(d) ChangeSet records the last mutation of each key and applies like Map mutations', () => {
    const mutation = fc.record({ key: fc.nat(15), del: fc.boolean(), value: fc.integer() });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(15), fc.integer()), { maxLength: 16 }), fc.array(fc.array(mutation, { maxLength: 30 }), { maxLength: 10 }), (init, rounds) => {
        let model = new Map(init.map(([k, v]) => [`k${k}`, v]));
        let idx = FileIndex.of(new Map(model));
        for (const muts of rounds) {
          const cs = new ChangeSet<number>();
          model = new Map(model);
          for (const m of muts) {
            if (m.del) {
              cs.delete(`k${m.key}`);
              model.delete(`k${m.key}`);
            } else {
              cs.set(`k${m.key}`, m.value);
              model.set(`k${m.key}`, m.value);
            }
          }
          for (const k of cs.deletes) expect(cs.sets.has(k)).toBe(false);
          idx = cs.applyTo(idx);
          expectIndexEquals(idx, model, 16);
        }
      }),
      { numRuns: RUNS ?? 300 },
    );
  });
});
