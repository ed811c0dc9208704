import { cpSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ManualClock,
  Snapshot,
  Transaction,
  append,
  createTable,
  isLakehouseError,
  merge,
  type MergeOptions,
  type StructType,
  type TableRef,
} from '../src/index.js';
import { DuckDbEngine, FsStorage, queryTable } from '../src/node/index.js';
import { commitInfo, deleteWithDv, parquetFilesOnDisk } from './support/tables.js';
import { tempDir } from './support/tmp.js';
import { FIXTURES_DIR } from './support/fixtures.js';

const schema: StructType = {
  type: 'struct',
  fields: [
    { name: 'id', type: 'long', nullable: false, metadata: {} },
    { name: 'name', type: 'string', nullable: true, metadata: {} },
    { name: 'qty', type: 'integer', nullable: true, metadata: {} },
    { name: 'day', type: 'date', nullable: true, metadata: {} },
  ],
};

interface Row {
  id: number;
  name: string | null;
  qty: number | null;
  day: string | null;
}

let engine: DuckDbEngine;
const tmp = tempDir('lh-merge-');
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
  return `SELECT i::BIGINT AS id, 'n' || i AS name, (i * 10)::INTEGER AS qty, DATE '${day}' AS day FROM range(${from}, ${to}) t(i)`;
}

function modelRows(from: number, to: number, day: string): Row[] {
  return Array.from({ length: to - from }, (_, k) => ({ id: from + k, name: `n${from + k}`, qty: (from + k) * 10, day }));
}

/** A VALUES source with typed columns (id BIGINT, name VARCHAR, qty INTEGER, day DATE, plus extra columns). */
function sourceSql(rows: Record<string, string | number | null>[], types: Record<string, string>): string {
  const cols = Object.keys(types);
  const lit = (v: string | number | null): string => (v === null ? 'NULL' : typeof v === 'number' ? String(v) : `'${v.replace(/'/g, "''")}'`);
  const values = rows.map((r) => `(${cols.map((c) => `CAST(${lit(r[c] ?? null)} AS ${types[c]})`).join(', ')})`).join(', ');
  return `SELECT * FROM (VALUES ${values}) AS v(${cols.map((c) => `"${c}"`).join(', ')})`;
}

const SRC_TYPES = { id: 'BIGINT', name: 'VARCHAR', qty: 'INTEGER', day: 'DATE' };

function key(r: Row): string {
  return JSON.stringify([r.id, r.name, r.qty, r.day]);
}

async function contents(table: TableRef): Promise<string[]> {
  const rows = await queryTable(engine.connection, await Snapshot.load(table));
  return rows.map((r) => JSON.stringify([Number(r.id), r.name, r.qty === null ? null : Number(r.qty), r.day])).sort();
}

function expected(rows: Row[]): string[] {
  return rows.map(key).sort();
}

/** Files: ids 0-9 on 01-01, 10-19 on 01-02, 100-109 on 01-01 (partitioned by day when asked). */
async function threeFiles(table: TableRef, opts: { partitioned?: boolean; properties?: Record<string, string> } = {}): Promise<Row[]> {
  await createTable(table, {
    schema,
    partitionColumns: opts.partitioned ? ['day'] : [],
    clock,
    engine,
    sourceSql: rowsSql(0, 10, '2024-01-01'),
    properties: opts.properties,
  });
  await append(table, engine, { sourceSql: rowsSql(10, 20, '2024-01-02'), clock });
  await append(table, engine, { sourceSql: rowsSql(100, 110, '2024-01-01'), clock });
  return [...modelRows(0, 10, '2024-01-01'), ...modelRows(10, 20, '2024-01-02'), ...modelRows(100, 110, '2024-01-01')];
}

function paths(s: Snapshot): string[] {
  return [...s.adds()].map((a) => a.path).sort();
}


/**
 * An independent model of MERGE: for each target row the matching source rows; the first matched clause whose
 * condition holds acts; unmatched source rows go through the not-matched clauses.
 */
function modelMerge<S>(
  target: Row[],
  source: S[],
  on: (t: Row, s: S) => boolean,
  matched: { when?: (t: Row, s: S) => boolean; then: ((t: Row, s: S) => Row) | 'delete' }[],
  notMatched: { when?: (s: S) => boolean; then: (s: S) => Row }[],
): Row[] {
  const out: Row[] = [];
  for (const t of target) {
    const acting = source.flatMap((s) => {
      if (!on(t, s)) return [];
      const c = matched.find((m) => !m.when || m.when(t, s));
      return c ? [{ c, s }] : [];
    });
    if (acting.length > 1) throw new Error('model: multiple matches');
    if (acting.length === 0) out.push(t);
    else if (acting[0].c.then !== 'delete') out.push(acting[0].c.then(t, acting[0].s));
  }
  for (const s of source) {
    if (target.some((t) => on(t, s))) continue;
    const c = notMatched.find((m) => !m.when || m.when(s));
    if (c) out.push(c.then(s));
  }
  return out;
}

async function expectRefused(table: TableRef, run: () => Promise<unknown>, code: string, message: RegExp): Promise<void> {
  const v = (await Snapshot.load(table)).version;
  const files = parquetFilesOnDisk(table);
  const before = await contents(table);
  const err = await run().catch((e: unknown) => e);
  expect(isLakehouseError(err, code as 'INVALID_INPUT'), String(err)).toBe(true);
  expect((err as Error).message).toMatch(message);
  expect((await Snapshot.load(table)).version).toBe(v);
  expect(parquetFilesOnDisk(table)).toBe(files);
  expect(await contents(table)).toEqual(before);
}

const upsert = (sourceSqlText: string, extra: Partial<MergeOptions> = {}): MergeOptions => ({
  sourceSql: sourceSqlText,
  sourceAlias: 's',
  targetAlias: 't',
  on: 't.id = s.id',
  whenMatched: [{ action: { kind: 'update', set: { name: 's.name', qty: 't.qty + s.qty' } } }],
  whenNotMatched: [{ action: { kind: 'insertAll' } }],
  clock,
  ...extra,
});

describe('merge', () => {
  it('upserts by key: updates matches, inserts the rest, rewrites only the touched file', async () => {
    const table = newTable();
    const target = await threeFiles(table);
    const before = await Snapshot.load(table);
    const src: Row[] = Array.from({ length: 10 }, (_, k) => ({ id: 15 + k, name: `s${15 + k}`, qty: 1, day: '2024-02-01' }));
    const r = await merge(table, engine, upsert(sourceSql(src as never, SRC_TYPES)));
    expect(r).toEqual({
      version: before.version + 1,
      numTargetRowsUpdated: 5,
      numTargetRowsDeleted: 0,
      numTargetRowsInserted: 5,
      numTargetRowsCopied: 5,
      numTargetFilesRemoved: 1,
      numTargetFilesAdded: 1,
      numSourceRows: 10,
      committed: true,
    });
    const model = modelMerge(
      target,
      src,
      (t, s) => t.id === s.id,
      [{ then: (t, s) => ({ ...t, name: s.name, qty: t.qty! + s.qty! }) }],
      [{ then: (s) => s }],
    );
    expect(await contents(table)).toEqual(expected(model));
    const after = await Snapshot.load(table);
    expect(paths(after).filter((p) => paths(before).includes(p))).toHaveLength(2);
    const info = await commitInfo(table, r.version);
    expect(info.operation).toBe('MERGE');
    expect(info.operationParameters).toEqual({
      predicate: JSON.stringify(['t.id = s.id']),
      matchedPredicates: JSON.stringify([{ actionType: 'update' }]),
      notMatchedPredicates: JSON.stringify([{ actionType: 'insert' }]),
      notMatchedBySourcePredicates: '[]',
    });
    expect(info.operationMetrics).toMatchObject({ numSourceRows: '10', numTargetRowsUpdated: '5', numTargetRowsInserted: '5', numTargetRowsCopied: '5', numOutputRows: '15' });
  });

  it('applies the first clause whose condition holds: conditional update, delete, and insert', async () => {
    const table = newTable();
    const target = await threeFiles(table);
    type S = { id: number; name: string | null; qty: number | null; op: string | null };
    const src: S[] = [
      { id: 1, name: 'd1', qty: 0, op: 'delete' },
      { id: 2, name: 'u2', qty: 5, op: 'update' },
      { id: 3, name: 'x3', qty: 7, op: 'noop' }, // matched, no clause holds: unchanged
      { id: 4, name: 'z4', qty: 7, op: null }, // conditions are NULL: unchanged
      { id: 12, name: 'big', qty: 1000, op: 'update' }, // second clause: delete when qty > 500
      { id: 13, name: 'u13', qty: 1, op: 'update' },
      { id: 50, name: 'i50', qty: 1, op: 'insert' },
      { id: 51, name: 'i51', qty: 2, op: 'delete' }, // not matched, condition false: skipped
      { id: 52, name: 'i52', qty: 3, op: null }, // not matched, condition NULL: skipped
      { id: 53, name: 'i53', qty: 4, op: 'upsert' }, // second not-matched clause
      { id: 101, name: 'x101', qty: 4, op: 'noop' }, // its file is read (key range 1..101) but not rewritten
    ];
    const opts: MergeOptions = {
      sourceSql: sourceSql(src as never, { id: 'BIGINT', name: 'VARCHAR', qty: 'INTEGER', op: 'VARCHAR' }),
      sourceAlias: 'src',
      targetAlias: 'tgt',
      on: 'tgt.id = src.id',
      whenMatched: [
        { condition: "src.op = 'delete'", action: { kind: 'delete' } },
        { condition: "src.op = 'update' AND src.qty > 500", action: { kind: 'delete' } },
        { condition: "src.op = 'update'", action: { kind: 'update', set: { name: 'src.name', qty: 'src.qty' } } },
      ],
      whenNotMatched: [
        { condition: "src.op = 'insert'", action: { kind: 'insert', values: { id: 'src.id', name: "'ins:' || src.name" } } },
        { condition: "src.op <> 'delete'", action: { kind: 'insert', values: { id: 'src.id', qty: 'src.qty * 2', day: "DATE '2024-03-01'" } } },
      ],
      clock,
    };
    const r = await merge(table, engine, opts);
    const model = modelMerge(
      target,
      src,
      (t, s) => t.id === s.id,
      [
        { when: (_t, s) => s.op === 'delete', then: 'delete' },
        { when: (_t, s) => s.op === 'update' && s.qty! > 500, then: 'delete' },
        { when: (_t, s) => s.op === 'update', then: (t, s) => ({ ...t, name: s.name, qty: s.qty }) },
      ],
      [
        { when: (s) => s.op === 'insert', then: (s) => ({ id: s.id, name: `ins:${s.name}`, qty: null, day: null }) },
        { when: (s) => s.op !== null && s.op !== 'delete', then: (s) => ({ id: s.id, name: null, qty: s.qty! * 2, day: '2024-03-01' }) },
      ],
    );
    expect(await contents(table)).toEqual(expected(model));
    expect(r).toMatchObject({ numTargetRowsUpdated: 2, numTargetRowsDeleted: 2, numTargetRowsInserted: 2, numTargetRowsCopied: 16, numTargetFilesRemoved: 2, numSourceRows: 11 });
    const info = await commitInfo(table, r.version);
    expect(JSON.parse(String(info.operationParameters!.matchedPredicates))).toEqual([
      { predicate: "src.op = 'delete'", actionType: 'delete' },
      { predicate: "src.op = 'update' AND src.qty > 500", actionType: 'delete' },
      { predicate: "src.op = 'update'", actionType: 'update' },
    ]);
  });

  it('updateAll / insertAll map columns by name, ignoring extra source columns', async () => {
    const table = newTable();
    const target = await threeFiles(table);
    // Columns in another order and case, plus an extra one.
    const src = [
      { id: 5, name: 'five', qty: -5, day: '2025-01-05' },
      { id: 77, name: 'seventy-seven', qty: 77, day: '2025-01-07' },
    ];
    const base = sourceSql(src, SRC_TYPES);
    const r = await merge(table, engine, {
      sourceSql: `SELECT 'junk' AS extra, day AS "DAY", qty, name AS "NAME", id FROM (${base}) x`,
      sourceAlias: 's',
      targetAlias: 't',
      on: 't.id = s.id',
      whenMatched: [{ action: { kind: 'updateAll' } }],
      whenNotMatched: [{ action: { kind: 'insertAll' } }],
      clock,
    });
    expect(r).toMatchObject({ numTargetRowsUpdated: 1, numTargetRowsInserted: 1, numTargetFilesRemoved: 1, committed: true });
    const model = modelMerge(target, src, (t, s) => t.id === s.id, [{ then: (_t, s) => s }], [{ then: (s) => s }]);
    expect(await contents(table)).toEqual(expected(model));
  });

  describe('refuses bad merges, leaving the table unchanged', () => {
    const table = newTable();
    beforeAll(async () => {
      await threeFiles(table);
    });
    const dupSrc = sourceSql(
      [
        { id: 5, name: 'a', qty: 1, day: null },
        { id: 5, name: 'b', qty: 2, day: null },
        { id: 500, name: 'c', qty: 3, day: null },
      ],
      SRC_TYPES,
    );
    const oneSrc = sourceSql([{ id: 5, name: 'a', qty: 1, day: '2024-01-01' }], SRC_TYPES);
    it.each<[string, Partial<MergeOptions>, string, RegExp]>([
      ['two source rows updating one target row', { sourceSql: dupSrc }, 'INVALID_INPUT', /multiple source rows matched the same target row/],
      [
        'two source rows, conditional delete',
        { sourceSql: dupSrc, whenMatched: [{ condition: 's.qty > 0', action: { kind: 'delete' } }] },
        'INVALID_INPUT',
        /multiple source rows matched the same target row/,
      ],
      ['an unknown SET column', { sourceSql: oneSrc, whenMatched: [{ action: { kind: 'update', set: { nope: 's.name' } } }] }, 'INVALID_INPUT', /"nope"/],
      ['an unknown INSERT column', { sourceSql: oneSrc, whenNotMatched: [{ action: { kind: 'insert', values: { id: 's.id', zzz: '1' } } }] }, 'INVALID_INPUT', /"zzz"/],
      ['a bad SET expression', { sourceSql: oneSrc, whenMatched: [{ action: { kind: 'update', set: { qty: 's.nosuch' } } }] }, 'INVALID_INPUT', /WHEN MATCHED clause 1.*nosuch/s],
      ['a bad ON condition', { sourceSql: oneSrc, on: 't.id = s.missing' }, 'INVALID_INPUT', /ON condition.*missing/s],
      [
        'an insert reading the target',
        { sourceSql: oneSrc, whenNotMatched: [{ action: { kind: 'insert', values: { id: 't.id' } } }] },
        'INVALID_INPUT',
        /WHEN NOT MATCHED clause 1/,
      ],
      ['insertAll with a column missing from the source', { sourceSql: 'SELECT 5::BIGINT AS id, 1::INTEGER AS qty' }, 'SCHEMA_MISMATCH', /"name"/],
      ['a bad source', { sourceSql: 'SELECT * FROM no_such_table' }, 'INVALID_INPUT', /no_such_table/],
      [
        'an unconditional clause before another',
        { sourceSql: oneSrc, whenMatched: [{ action: { kind: 'delete' } }, { condition: 's.qty > 0', action: { kind: 'updateAll' } }] },
        'INVALID_INPUT',
        /only the last/,
      ],
      ['equal aliases', { sourceSql: oneSrc, sourceAlias: 'T' }, 'INVALID_INPUT', /aliases must differ/],
      ['a NULL in a NOT NULL column', { sourceSql: oneSrc, whenMatched: [{ action: { kind: 'update', set: { id: 'NULL' } } }] }, 'INVALID_INPUT', /"id".*not nullable/],
    ])('%s', async (_label, extra, code, message) => {
      await expectRefused(table, () => merge(table, engine, upsert(oneSrc, extra)), code, message);
    });

    it('accepts duplicate keys when only one of them acts, or under a single unconditional delete, and inserts unmatched duplicates', async () => {
      const t2 = newTable();
      let target = await threeFiles(t2);
      const src = [
        { id: 5, name: 'a', qty: 1, day: null },
        { id: 5, name: 'b', qty: -2, day: null },
        { id: 600, name: 'c', qty: 3, day: '2024-01-09' },
        { id: 600, name: 'd', qty: 4, day: '2024-01-09' },
      ];
      const r = await merge(t2, engine, upsert(sourceSql(src, SRC_TYPES), { whenMatched: [{ condition: 's.qty > 0', action: { kind: 'update', set: { name: 's.name' } } }] }));
      expect(r).toMatchObject({ numTargetRowsUpdated: 1, numTargetRowsInserted: 2, committed: true });
      target = modelMerge(target, src, (t, s) => t.id === s.id, [{ when: (_t, s) => s.qty! > 0, then: (t, s) => ({ ...t, name: s.name }) }], [{ then: (s) => s }]);
      expect(await contents(t2)).toEqual(expected(target));

      const del = await merge(t2, engine, upsert(sourceSql(src, SRC_TYPES), { whenMatched: [{ action: { kind: 'delete' } }], whenNotMatched: [] }));
      expect(del).toMatchObject({ numTargetRowsDeleted: 3, numTargetRowsInserted: 0, committed: true });
      target = target.filter((x) => x.id !== 5 && x.id !== 600);
      expect(await contents(t2)).toEqual(expected(target));
    });
  });

  it('does not commit when nothing changes', async () => {
    const table = newTable();
    const target = await threeFiles(table);
    const v = (await Snapshot.load(table)).version;
    const src = sourceSql([{ id: 3, name: 'a', qty: 1, day: null }], SRC_TYPES);
    const r = await merge(table, engine, upsert(src, { whenMatched: [{ condition: 's.qty > 100', action: { kind: 'delete' } }] }));
    expect(r).toMatchObject({ version: v, committed: false, numSourceRows: 1, numTargetRowsInserted: 0, numTargetFilesRemoved: 0 });
    expect((await Snapshot.load(table)).version).toBe(v);
    expect(await contents(table)).toEqual(expected(target));
  });

  it('merges into a partitioned table, pruning by partition and moving rows between partitions', async () => {
    const table = newTable();
    const target = await threeFiles(table, { partitioned: true });
    const before = await Snapshot.load(table);
    const src = [
      { id: 3, name: 'moved', qty: 1, day: '2024-01-05' },
      { id: 105, name: 'same-day', qty: 2, day: '2024-01-01' },
      { id: 200, name: 'new', qty: 3, day: '2024-01-07' },
    ];
    // ON restricted to 2024-01-01 by a target-only conjunct: the 01-02 file is never read.
    const r = await merge(table, engine, {
      sourceSql: sourceSql(src, SRC_TYPES),
      sourceAlias: 's',
      targetAlias: 't',
      on: "t.id = s.id AND t.day = DATE '2024-01-01'",
      whenMatched: [{ action: { kind: 'updateAll' } }],
      whenNotMatched: [{ action: { kind: 'insertAll' } }],
      clock,
    });
    const model = modelMerge(target, src, (t, s) => t.id === s.id && t.day === '2024-01-01', [{ then: (_t, s) => s }], [{ then: (s) => s }]);
    expect(await contents(table)).toEqual(expected(model));
    expect(r).toMatchObject({ numTargetRowsUpdated: 2, numTargetRowsInserted: 1, numTargetFilesRemoved: 2, numTargetRowsCopied: 18 });
    const after = await Snapshot.load(table);
    const jan2 = [...before.adds()].find((a) => a.partitionValues.day === '2024-01-02')!;
    expect(paths(after)).toContain(jan2.path);
    expect([...after.adds()].map((a) => a.partitionValues.day).sort()).toEqual(['2024-01-01', '2024-01-02', '2024-01-05', '2024-01-07']);
  });

  it('honours deletion vectors: deleted target rows do not match and are not copied back', async () => {
    const table = newTable();
    let target = await threeFiles(table, { properties: { 'delta.enableDeletionVectors': 'true' } });
    await deleteWithDv(table, engine, clock, [12, 14]);
    target = target.filter((x) => x.id !== 12 && x.id !== 14);
    const src = [
      { id: 12, name: 'back', qty: 1, day: '2024-01-02' }, // deleted in the target: inserted anew
      { id: 13, name: 'upd', qty: 1, day: '2024-01-02' },
    ];
    const r = await merge(table, engine, upsert(sourceSql(src, SRC_TYPES)));
    expect(r).toMatchObject({ numTargetRowsUpdated: 1, numTargetRowsInserted: 1, numTargetRowsCopied: 7, numTargetFilesRemoved: 1 });
    const model = modelMerge(target, src, (t, s) => t.id === s.id, [{ then: (t, s) => ({ ...t, name: s.name, qty: t.qty! + s.qty! }) }], [{ then: (s) => s }]);
    expect(await contents(table)).toEqual(expected(model));
    expect([...(await Snapshot.load(table)).adds()].some((a) => a.deletionVector)).toBe(false);
  });

  it('merges into a deletion-vector table written by Spark (golden table-with-dv-small, copied to a temp dir)', async () => {
    const dir = `${tmp.dir}/dv-small`;
    cpSync(`${FIXTURES_DIR}table-with-dv-small/`, dir, { recursive: true });
    const table: TableRef = { storage: new FsStorage(dir), tableKey: '' };
    const read = async (): Promise<number[]> =>
      (await queryTable(engine.connection, await Snapshot.load(table))).map((r) => Number(r.value)).sort((a, b) => a - b);
    expect(await read()).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const r = await merge(table, engine, {
      sourceSql: 'SELECT i::INTEGER AS value FROM range(0, 12) t(i)',
      sourceAlias: 's',
      targetAlias: 't',
      on: 't.value = s.value',
      whenMatched: [{ condition: 's.value % 2 = 0', action: { kind: 'delete' } }],
      whenNotMatched: [{ action: { kind: 'insertAll' } }],
      clock,
    });
    // 0 and 9 are deleted by the DV: they do not match and are inserted anew.
    expect(r).toMatchObject({ numTargetRowsDeleted: 4, numTargetRowsInserted: 4, numTargetRowsCopied: 4, numTargetFilesRemoved: 1, committed: true });
    expect(await read()).toEqual([0, 1, 3, 5, 7, 9, 10, 11]);
  });

  it('on a table with the change data feed enabled, inserts only; updates and deletes are refused', async () => {
    const table = newTable();
    const target = await threeFiles(table);
    const s = await Snapshot.load(table);
    const txn = new Transaction(table, s, clock);
    txn.add(
      { protocol: { minReaderVersion: 1, minWriterVersion: 7, writerFeatures: ['changeDataFeed'] } },
      { metaData: { ...s.metadata, configuration: { ...s.metadata.configuration, 'delta.enableChangeDataFeed': 'true' } } },
    );
    await txn.commit({ operation: 'SET TBLPROPERTIES' });
    const src = [
      { id: 1, name: 'one', qty: 1, day: null },
      { id: 400, name: 'new', qty: 4, day: '2024-04-04' },
    ];
    await expectRefused(table, () => merge(table, engine, upsert(sourceSql(src, SRC_TYPES))), 'UNSUPPORTED_FEATURE', /change data feed/);
    const r = await merge(table, engine, upsert(sourceSql(src, SRC_TYPES), { whenMatched: [] }));
    expect(r).toMatchObject({ numTargetRowsInserted: 1, numTargetFilesRemoved: 0, committed: true });
    expect(await contents(table)).toEqual(expected([...target, src[1]]));
  });

  describe('concurrency', () => {
    it('fails with CONCURRENT_COMMIT when a concurrent append added a row its ON keys match', async () => {
      const table = newTable();
      await threeFiles(table);
      const stale = await Snapshot.load(table);
      await append(table, engine, { sourceSql: rowsSql(50, 51, '2024-01-03'), clock });
      const src = sourceSql(
        [
          { id: 50, name: 'x', qty: 1, day: null },
          { id: 51, name: 'y', qty: 1, day: null },
        ],
        SRC_TYPES,
      );
      const err = await merge(table, engine, upsert(src, { snapshot: stale })).catch((e: unknown) => e);
      expect(isLakehouseError(err, 'CONCURRENT_COMMIT'), String(err)).toBe(true);
      expect((await Snapshot.load(table)).version).toBe(stale.version + 1);
      // Against the fresh snapshot the same merge updates the appended row instead of inserting a duplicate.
      const ok = await merge(table, engine, upsert(src));
      expect(ok).toMatchObject({ numTargetRowsUpdated: 1, numTargetRowsInserted: 1 });
    });

    it('commits over a concurrent append whose rows are outside the source key range', async () => {
      const table = newTable();
      const target = await threeFiles(table);
      const stale = await Snapshot.load(table);
      await append(table, engine, { sourceSql: rowsSql(5000, 5001, '2024-01-03'), clock });
      const src = [{ id: 7, name: 'x', qty: 1, day: null }];
      const r = await merge(table, engine, upsert(sourceSql(src, SRC_TYPES), { snapshot: stale }));
      expect(r).toMatchObject({ version: stale.version + 2, numTargetRowsUpdated: 1, committed: true });
      const model = modelMerge(
        [...target, ...modelRows(5000, 5001, '2024-01-03')],
        src,
        (t, s) => t.id === s.id,
        [{ then: (t, s) => ({ ...t, name: s.name, qty: t.qty! + s.qty! }) }],
        [{ then: (s) => s }],
      );
      expect(await contents(table)).toEqual(expected(model));
    });

    it('reads the whole table when ON gives no prunable predicate, so any concurrent append conflicts', async () => {
      const table = newTable();
      await threeFiles(table);
      const stale = await Snapshot.load(table);
      await append(table, engine, { sourceSql: rowsSql(5000, 5001, '2024-01-03'), clock });
      const src = sourceSql([{ id: 7, name: 'x', qty: 1, day: null }], SRC_TYPES);
      const err = await merge(table, engine, upsert(src, { snapshot: stale, on: 't.id = s.id + 0' })).catch((e: unknown) => e);
      expect(isLakehouseError(err, 'CONCURRENT_COMMIT'), String(err)).toBe(true);
      // Without pruning the merge is still exact: only the file holding id 7 is rewritten.
      const ok = await merge(table, engine, upsert(src, { on: 't.id = s.id + 0' }));
      expect(ok).toMatchObject({ numTargetRowsUpdated: 1, numTargetRowsInserted: 0, numTargetFilesRemoved: 1, numTargetRowsCopied: 9 });
    });
  });
});
