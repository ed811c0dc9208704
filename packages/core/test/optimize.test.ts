import { randomUUID } from 'node:crypto';
import { cpSync, readdirSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ManualClock,
  Snapshot,
  Transaction,
  append,
  createTable,
  deleteRows,
  deletionVectorPathOrInlineDv,
  encodeDeletionVectorFile,
  interleaveBits,
  isLakehouseError,
  optimize,
  padVersion,
  parseActions,
  planOptimize,
  planScan,
  removeFor,
  zOrderBitsPerColumn,
  zOrderKeySql,
  type Action,
  type StructType,
  type TableRef,
  vacuum,
} from '../src/index.js';
import { DuckDbEngine, FsStorage, queryTable } from '../src/node/index.js';
import { tempDir } from './support/tmp.js';
import { FIXTURES_DIR } from './support/fixtures.js';

const schema: StructType = {
  type: 'struct',
  fields: [
    { name: 'id', type: 'long', nullable: false, metadata: {} },
    { name: 'name', type: 'string', nullable: true, metadata: {} },
    { name: 'day', type: 'date', nullable: true, metadata: {} },
  ],
};

let engine: DuckDbEngine;
let engine2: DuckDbEngine;
const tmp = tempDir('lh-optimize-');
const clock = new ManualClock(Date.UTC(2024, 0, 1));
beforeAll(async () => {
  engine = await DuckDbEngine.create(clock);
  engine2 = await DuckDbEngine.create(clock);
});
afterAll(() => tmp.cleanup());

let tableNo = 0;
function newTable(): TableRef {
  return { storage: new FsStorage(`${tmp.dir}/t${tableNo++}`), tableKey: '' };
}

function rowsSql(from: number, to: number, day: string, dup = 1): string {
  return `SELECT i::BIGINT AS id, CASE WHEN i % 7 = 0 THEN NULL ELSE 'n' || i END AS name, DATE '${day}' AS day FROM range(${from}, ${to}) t(i), range(${dup}) d(k)`;
}

/** The table's rows as a sorted list of JSON texts (duplicates kept: a multiset). */
async function contents(table: TableRef, version?: number): Promise<string[]> {
  const s = await Snapshot.load(table, version === undefined ? {} : { version });
  const rows = await queryTable(engine.connection, s);
  return rows.map((r) => JSON.stringify([Number(r.id), r.name, r.day])).sort();
}

function parquetFiles(table: TableRef): number {
  return readdirSync(table.storage.root, { recursive: true }).filter((p) => String(p).endsWith('.parquet') && !String(p).startsWith('_delta_log')).length;
}

async function commitActions(table: TableRef, version: number): Promise<Action[]> {
  const key = `_delta_log/${padVersion(version)}.json`;
  return parseActions(new TextDecoder().decode(await table.storage.get(key)), key);
}

/** Marks rows with the given ids of the file holding ids[0] deleted with an on-disk deletion vector (works under column mapping). */
async function deleteWithDv(table: TableRef, ids: number[]): Promise<void> {
  const s = await Snapshot.load(table);
  const idField = s.schema.fields.find((f) => f.name === 'id')!;
  const phys = s.columnMappingMode === 'none' ? 'id' : String(idField.metadata['delta.columnMapping.physicalName']);
  const file = [...s.files()].find((f) => {
    const st = JSON.parse(f.add.stats ?? '{}');
    return st.minValues[phys] <= ids[0] && st.maxValues[phys] >= ids[0] && !f.add.deletionVector;
  })!;
  const r = await engine.connection.runAndReadAll(
    `SELECT file_row_number AS n FROM read_parquet('${table.storage.localPath!(file.key)}', file_row_number = true) WHERE "${phys}" IN (${ids.join(', ')}) ORDER BY 1`,
  );
  const positions = r.getRowObjectsJson().map((x) => Number(x.n));
  expect(positions.length).toBeGreaterThan(0);
  const uuid = randomUUID();
  const encoded = encodeDeletionVectorFile(positions);
  writeFileSync(table.storage.localPath!(`deletion_vector_${uuid}.bin`), encoded.bytes);
  const dv = { storageType: 'u' as const, pathOrInlineDv: deletionVectorPathOrInlineDv(uuid), offset: encoded.offset, sizeInBytes: encoded.sizeInBytes, cardinality: positions.length };
  const txn = new Transaction(table, s, clock);
  txn.add({ remove: removeFor(file.add, clock.now()) }, { add: { ...file.add, deletionVector: dv } });
  await txn.commit({ operation: 'DELETE' });
}

/** A table with small files: two days, five appends each (some rows duplicated), optionally partitioned / mapped / with DVs. */
async function smallFiles(table: TableRef, opts: { partitioned?: boolean; mapping?: boolean; dv?: boolean }): Promise<void> {
  const properties: Record<string, string> = {};
  if (opts.mapping) properties['delta.columnMapping.mode'] = 'name';
  if (opts.dv) properties['delta.enableDeletionVectors'] = 'true';
  await createTable(table, { schema, partitionColumns: opts.partitioned ? ['day'] : [], properties, clock, engine, sourceSql: rowsSql(0, 10, '2024-01-01', 2) });
  for (let k = 1; k < 10; k++) {
    await append(table, engine, { sourceSql: rowsSql(k * 10, k * 10 + 10, k % 2 ? '2024-01-02' : '2024-01-01', k % 3 === 0 ? 2 : 1), clock });
  }
  if (opts.dv) {
    await deleteWithDv(table, [11, 13]);
    await deleteWithDv(table, [0]);
  }
}

describe('optimize (compaction)', () => {
  const cases = [
    { name: 'unpartitioned', partitioned: false, mapping: false, dv: false },
    { name: 'partitioned', partitioned: true, mapping: false, dv: false },
    { name: 'partitioned, deletion vectors', partitioned: true, mapping: false, dv: true },
    { name: 'column mapping, deletion vectors', partitioned: true, mapping: true, dv: true },
  ];
  it.each(cases)('keeps every row (same multiset): $name', async (c) => {
    const table = newTable();
    await smallFiles(table, c);
    const before = await contents(table);
    const snap = await Snapshot.load(table);
    expect(snap.numFiles).toBe(10);
    const r = await optimize(table, engine, { clock, targetFileSize: 1024 * 1024 });
    expect(r.committed).toBe(true);
    expect(await contents(table)).toEqual(before);
    // Rows hidden by deletion vectors stay hidden; the copies carry no DV.
    if (c.dv) expect(before.some((x) => JSON.parse(x)[0] === 11)).toBe(false);
    const after = await Snapshot.load(table);
    expect(after.numFiles).toBe(c.partitioned ? 2 : 1);
    expect([...after.adds()].some((a) => a.deletionVector)).toBe(false);
    expect(r).toMatchObject({ numFilesRemoved: 10, numFilesAdded: after.numFiles, numPartitionsOptimized: c.partitioned ? 2 : 1 });
    expect(r.numBytesRemoved).toBe([...snap.adds()].reduce((s, a) => s + a.size, 0));
    expect(r.numBytesAdded).toBe(after.sizeInBytes);
    expect(r.numRowsWritten).toBe(before.length);
    // One commit, every file action a rearrangement.
    const actions = await commitActions(table, r.version);
    const info = actions.find((a) => 'commitInfo' in a) as { commitInfo: Record<string, unknown> };
    expect(info.commitInfo.operation).toBe('OPTIMIZE');
    const fileActions = actions.filter((a) => 'add' in a || 'remove' in a);
    expect(fileActions).toHaveLength(10 + after.numFiles);
    for (const a of fileActions) expect('add' in a ? a.add.dataChange : (a as { remove: { dataChange: boolean } }).remove.dataChange).toBe(false);
    // Time travel to the version before still reads the old files.
    expect(await contents(table, r.version - 1)).toEqual(before);
  });

  it('limits compaction to partitions matching the predicate and leaves the others untouched', async () => {
    const table = newTable();
    await smallFiles(table, { partitioned: true });
    const before = await Snapshot.load(table);
    const jan2 = [...before.adds()].filter((a) => a.partitionValues.day === '2024-01-02').map((a) => a.path).sort();
    const r = await optimize(table, engine, { clock, predicate: "day = DATE '2024-01-01'", targetFileSize: 1024 * 1024 });
    expect(r.numPartitionsOptimized).toBe(1);
    const after = await Snapshot.load(table);
    expect([...after.adds()].filter((a) => a.partitionValues.day === '2024-01-02').map((a) => a.path).sort()).toEqual(jan2);
    expect([...after.adds()].filter((a) => a.partitionValues.day === '2024-01-01')).toHaveLength(1);
  });

  it('refuses a predicate on a data column', async () => {
    const table = newTable();
    await smallFiles(table, { partitioned: true });
    const err = await optimize(table, engine, { clock, predicate: 'id > 3' }).catch((e: unknown) => e);
    expect(isLakehouseError(err, 'INVALID_INPUT')).toBe(true);
    expect((err as Error).message).toMatch(/"id"/);
  });

  it('packs bins of at most the target size and skips files already big enough', async () => {
    const table = newTable();
    await smallFiles(table, {});
    const snap = await Snapshot.load(table);
    const sizes = [...snap.adds()].map((a) => a.size).sort((a, b) => a - b);
    // Target fits about three files: several bins; minFileSize below the biggest file keeps it out.
    const target = sizes[0] + sizes[1] + sizes[2];
    const plan = planOptimize(snap, { targetFileSize: target, minFileSize: sizes[9] });
    expect(plan.bins.length).toBeGreaterThan(1);
    for (const b of plan.bins) {
      expect(b.files.length).toBeGreaterThan(1);
      expect(b.totalBytes).toBeLessThanOrEqual(target);
    }
    const planned = plan.bins.flatMap((b) => b.files.map((f) => f.size));
    expect(planned.every((s) => s < sizes[9])).toBe(true);
  });

  it('dry run reports the plan and writes nothing', async () => {
    const table = newTable();
    await smallFiles(table, { partitioned: true });
    const v = (await Snapshot.load(table)).version;
    const files = parquetFiles(table);
    const r = await optimize(table, engine, { clock, dryRun: true });
    expect(r).toMatchObject({ committed: false, dryRun: true, version: v, numFilesAdded: 0 });
    expect(r.plan.numFiles).toBe(10);
    expect(r.plan.numPartitions).toBe(2);
    expect(r.plan.bins.map((b) => b.partitionValues.day).sort()).toEqual(['2024-01-01', '2024-01-02']);
    expect((await Snapshot.load(table)).version).toBe(v);
    expect(parquetFiles(table)).toBe(files);
  });

  it('does nothing on an already compact table', async () => {
    const table = newTable();
    await createTable(table, { schema, clock, engine, sourceSql: rowsSql(0, 100, '2024-01-01') });
    const r = await optimize(table, engine, { clock });
    expect(r).toMatchObject({ committed: false, version: 0, numFilesRemoved: 0 });
  });

  it('reports progress and honours cancellation: nothing committed, no file left behind', async () => {
    const table = newTable();
    await smallFiles(table, { partitioned: true });
    const v = (await Snapshot.load(table)).version;
    const files = parquetFiles(table);
    const ac = new AbortController();
    const seen: [number, string][] = [];
    const err = await optimize(table, engine, {
      clock,
      signal: ac.signal,
      onProgress: (f, m) => {
        seen.push([f, m]);
        if (m === 'committing') ac.abort();
      },
    }).catch((e: unknown) => e);
    expect(isLakehouseError(err, 'CANCELLED'), String(err)).toBe(true);
    expect((await Snapshot.load(table)).version).toBe(v);
    expect(parquetFiles(table)).toBe(files);
    expect(seen.length).toBeGreaterThan(2);
    for (let i = 1; i < seen.length; i++) expect(seen[i][0]).toBeGreaterThanOrEqual(seen[i - 1][0]);

    const ok: number[] = [];
    await optimize(table, engine, { clock, onProgress: (f) => ok.push(f) });
    expect(ok[ok.length - 1]).toBe(1);
  });

  it('allows OPTIMIZE on an append-only table (it only rearranges)', async () => {
    const table = newTable();
    await createTable(table, { schema, clock, engine, sourceSql: rowsSql(0, 10, '2024-01-01'), properties: { 'delta.appendOnly': 'true' } });
    await append(table, engine, { sourceSql: rowsSql(10, 20, '2024-01-01'), clock });
    const before = await contents(table);
    const r = await optimize(table, engine, { clock });
    expect(r.committed).toBe(true);
    expect(await contents(table)).toEqual(before);
  });
});

describe('optimize and concurrent writers', () => {
  it('an append committed while OPTIMIZE runs: both succeed, no row lost', async () => {
    const table = newTable();
    await smallFiles(table, { partitioned: true });
    const stale = await Snapshot.load(table);
    const before = await contents(table);
    await append(table, engine2, { sourceSql: rowsSql(500, 510, '2024-01-01'), clock });
    await append(table, engine2, { sourceSql: rowsSql(600, 610, '2024-01-02'), clock });
    const r = await optimize(table, engine, { clock, snapshot: stale });
    expect(r.committed).toBe(true);
    expect(r.retries).toBe(0);
    expect(r.version).toBe(stale.version + 3);
    const expected = [...before, ...(await rowsOf(rowsSql(500, 510, '2024-01-01'))), ...(await rowsOf(rowsSql(600, 610, '2024-01-02')))].sort();
    expect(await contents(table)).toEqual(expected);
    // The appended files survive next to the compacted ones.
    expect((await Snapshot.load(table)).numFiles).toBe(4);
  });

  it('appends racing a real OPTIMIZE: all succeed, no row lost or duplicated', async () => {
    const table = newTable();
    await smallFiles(table, { partitioned: true });
    const before = await contents(table);
    const extra = [rowsSql(700, 705, '2024-01-01'), rowsSql(800, 805, '2024-01-02'), rowsSql(900, 905, '2024-01-01')];
    const results = await Promise.all([
      optimize(table, engine, { clock }),
      (async () => {
        for (const sql of extra) await append(table, engine2, { sourceSql: sql, clock });
      })(),
    ]);
    expect(results[0].committed).toBe(true);
    const expected = [...before];
    for (const sql of extra) expected.push(...(await rowsOf(sql)));
    expect(await contents(table)).toEqual(expected.sort());
  });

  it('a DELETE committed while OPTIMIZE runs: OPTIMIZE fails cleanly without retries, or re-plans; no row resurrected', async () => {
    for (const retries of [0, 2]) {
      const table = newTable();
      await smallFiles(table, { partitioned: true });
      const stale = await Snapshot.load(table);
      const files = parquetFiles(table);
      await deleteRows(table, engine2, { predicate: 'id = 12 OR id = 14', clock });
      const afterDelete = await contents(table);
      const filesAfterDelete = parquetFiles(table);
      expect(filesAfterDelete).toBeGreaterThan(files);
      const res = await optimize(table, engine, { clock, snapshot: stale, retries }).catch((e: unknown) => e);
      if (retries === 0) {
        expect(isLakehouseError(res, 'CONCURRENT_COMMIT'), String(res)).toBe(true);
        expect((res as Error).message).toMatch(/removed file/);
        expect((await Snapshot.load(table)).version).toBe(stale.version + 1);
        // The compacted files it wrote were never committed and are gone.
        expect(parquetFiles(table)).toBe(filesAfterDelete);
      } else {
        expect(res).toMatchObject({ committed: true, retries: 1 });
      }
      expect(await contents(table)).toEqual(afterDelete);
      expect(afterDelete.some((x) => [12, 14].includes(JSON.parse(x)[0]))).toBe(false);
    }
  });

  it('a DELETE planned before an OPTIMIZE that committed first fails cleanly; no row resurrected or lost', async () => {
    const table = newTable();
    await smallFiles(table, { partitioned: true });
    const stale = await Snapshot.load(table);
    await optimize(table, engine, { clock });
    const afterOptimize = await contents(table);
    const err = await deleteRows(table, engine2, { predicate: 'id = 12', clock, snapshot: stale }).catch((e: unknown) => e);
    expect(isLakehouseError(err, 'CONCURRENT_COMMIT'), String(err)).toBe(true);
    expect(await contents(table)).toEqual(afterOptimize);
  });
});

async function rowsOf(sql: string): Promise<string[]> {
  const r = await engine.connection.runAndReadAll(sql);
  return r.getRowObjectsJson().map((x) => JSON.stringify([Number(x.id), x.name, x.day]));
}

describe('optimize ZORDER BY', () => {
  const zschema: StructType = {
    type: 'struct',
    fields: [
      { name: 'x', type: 'long', nullable: true, metadata: {} },
      { name: 's', type: 'string', nullable: true, metadata: {} },
      { name: 'd', type: 'date', nullable: true, metadata: {} },
      { name: 'p', type: 'string', nullable: true, metadata: {} },
    ],
  };
  // Each batch spreads over the whole range of every column (values are scrambled independently).
  const batch = (k: number): string =>
    `SELECT ((i * 7919 + ${k} * 104729) % 1000)::BIGINT AS x, ` +
    `CASE WHEN (i * 31 + ${k}) % 10 = 0 THEN NULL ELSE 'k' || lpad(((i * 613 + ${k} * 17) % 1000)::VARCHAR, 4, '0') END AS s, ` +
    `DATE '2020-01-01' + ((i * 389 + ${k} * 53) % 1000)::INTEGER AS d, 'a' AS p FROM range(0, 250) t(i)`;

  async function zTable(): Promise<TableRef> {
    const table = newTable();
    await createTable(table, { schema: zschema, partitionColumns: ['p'], clock, engine, sourceSql: batch(0) });
    for (let k = 1; k < 16; k++) await append(table, engine, { sourceSql: batch(k), clock });
    return table;
  }

  const probes = [
    { column: 'x', predicates: ['x = 17', 'x = 500', 'x = 901', 'x BETWEEN 100 AND 120'] },
    { column: 's', predicates: ["s = 'k0017'", "s = 'k0500'", "s = 'k0903'"] },
    { column: 'd', predicates: ["d = DATE '2020-02-01'", "d = DATE '2021-06-01'", "d = DATE '2022-09-01'"] },
  ];

  async function filesRead(s: Snapshot, predicates: string[]): Promise<number> {
    let n = 0;
    for (const p of predicates) n += (await planScan(s, { predicate: p, loadDeletionVectors: false })).files.length;
    return n;
  }

  it('clusters so that min/max stats prune on every z-ordered column (strings with nulls, dates, numbers)', async () => {
    const table = await zTable();
    const original = await Snapshot.load(table);
    const key = (r: Record<string, unknown>): string => JSON.stringify([r.x, r.s, r.d, r.p]);
    const rowsBefore = (await queryTable(engine.connection, original)).map(key).sort();
    // With two z-columns and 16 files, each file covers about a quarter of each column's range.
    for (const zOrderBy of [['x', 'S'], ['d', 's']]) {
      const target = Math.ceil(planOptimize(await Snapshot.load(table), { zOrderBy: ['x'], targetFileSize: 1 }).numBytes / 16);
      const r = await optimize(table, engine, { clock, zOrderBy, targetFileSize: target });
      expect(r.plan.mode).toBe('zorder');
      expect(r.plan.zOrderBy).toEqual(zOrderBy.map((c) => c.toLowerCase()));
      const after = await Snapshot.load(table);
      expect(after.numFiles).toBeGreaterThanOrEqual(12);
      expect(after.numFiles).toBeLessThanOrEqual(20);
      expect((await queryTable(engine.connection, after)).map(key).sort()).toEqual(rowsBefore);
      for (const probe of probes.filter((p) => r.plan.zOrderBy.includes(p.column))) {
        const b = await filesRead(original, probe.predicates);
        const a = await filesRead(after, probe.predicates);
        // Before: (nearly) every file spans the whole range of every column.
        expect(b, probe.column).toBeGreaterThanOrEqual(0.9 * 16 * probe.predicates.length);
        const share = a / (after.numFiles * probe.predicates.length);
        expect(share, `${zOrderBy.join(',')} / ${probe.column}: ${a} of ${after.numFiles * probe.predicates.length} files`).toBeLessThan(0.45);
      }
    }
  });

  it('refuses z-order columns that are partition columns, unknown or repeated', async () => {
    const table = await zTable();
    const s = await Snapshot.load(table);
    for (const [cols, msg] of [
      [['p'], /partition column/],
      [['nope'], /not in the table schema/],
      [['x', 'X'], /listed twice/],
    ] as const) {
      let err: unknown = null;
      try {
        planOptimize(s, { zOrderBy: [...cols] });
      } catch (e) {
        err = e;
      }
      expect(isLakehouseError(err, 'INVALID_INPUT'), String(err)).toBe(true);
      expect((err as Error).message).toMatch(msg);
    }
  });

  it('computes the interleaved key in SQL exactly as the bit-interleaving reference', async () => {
    const bits = zOrderBitsPerColumn(2);
    expect(bits).toBe(31);
    const sql = zOrderKeySql(`SELECT * FROM (VALUES (1, 'b'), (2, NULL), (3, 'a'), (4, 'c')) t(a, b)`, ['a', 'b'], ['a', 'b']);
    const rows = (await engine.connection.runAndReadAll(`SELECT a, CAST(__lh_zkey AS VARCHAR) AS k FROM (${sql}) ORDER BY a`)).getRowObjectsJson();
    const max = 2 ** bits - 1;
    // percent ranks: a -> 0, 1/3, 2/3, 1; b (NULLS FIRST) -> NULL 0, 'a' 1/3, 'b' 2/3, 'c' 1
    const ranks = [
      [0, 2 / 3],
      [1 / 3, 0],
      [2 / 3, 1 / 3],
      [1, 1],
    ].map((r) => r.map((x) => Math.floor(x * max)));
    expect(rows.map((r) => r.k)).toEqual(ranks.map((r) => String(interleaveBits(r, bits))));
    expect(interleaveBits([0b11, 0b01], 2)).toBe(0b0111n);
  });
});

describe('optimize and vacuum on tables written by Spark (golden tables, copied to a temp dir)', () => {
  it.each(['table-with-dv-small', 'table_with_column_mapping', 'simple_table'])('%s: same rows after OPTIMIZE and a zero-retention VACUUM', async (name) => {
    const dir = `${tmp.dir}/golden-${name}`;
    cpSync(`${FIXTURES_DIR}${name}/`, dir, { recursive: true });
    const table: TableRef = { storage: new FsStorage(dir), tableKey: '' };
    const read = async (): Promise<string[]> => (await queryTable(engine.connection, await Snapshot.load(table))).map((r) => JSON.stringify(r)).sort();
    const before = await read();
    const r = await optimize(table, engine, { clock });
    expect(await read()).toEqual(before);
    if (name === 'table-with-dv-small') {
      expect(r.committed).toBe(true);
      expect([...(await Snapshot.load(table)).adds()].some((a) => a.deletionVector)).toBe(false);
    }
    const later = new ManualClock(Date.now() + 60_000);
    const v = await vacuum(table, { clock: later, dryRun: false, retentionHours: 0, allowShortRetention: true });
    if (r.committed || name === 'simple_table') expect(v.numFilesDeleted).toBeGreaterThan(0);
    expect(await read()).toEqual(before);
  });
});
