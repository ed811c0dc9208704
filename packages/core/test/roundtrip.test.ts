import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ManualClock,
  Snapshot,
  append,
  createTable,
  deleteRows,
  isLakehouseError,
  overwrite,
  planScan,
  readHistory,
  type StructType,
  type TableRef,
} from '../src/index.js';
import { DuckDbEngine, FsStorage, queryTable } from '../src/node/index.js';
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

let engine: DuckDbEngine;
const tmp = tempDir();
const clock = new ManualClock(Date.UTC(2024, 0, 1));
beforeAll(async () => {
  engine = await DuckDbEngine.create(clock);
});
afterAll(() => tmp.cleanup());

function rowsSql(from: number, to: number, day: string): string {
  return `SELECT i::BIGINT AS id, 'n' || i AS name, (i * 1.25)::DECIMAL(12,2) AS amount, DATE '${day}' AS day FROM range(${from}, ${to}) t(i)`;
}

async function sorted(table: TableRef, version?: number): Promise<string[]> {
  const s = await Snapshot.load(table, version === undefined ? {} : { version });
  const rows = await queryTable(engine.connection, s);
  return rows.map((r) => JSON.stringify(r)).sort();
}

async function plainParquet(table: TableRef): Promise<string[]> {
  const s = await Snapshot.load(table);
  const files = [...s.files()].map((f) => `'${table.storage.localPath!(f.key)}'`);
  const cols = s.schema.fields.map((f) => `"${f.name}"`).join(', ');
  const r = await engine.connection.runAndReadAll(
    `SELECT ${cols} FROM read_parquet([${files.join(', ')}], hive_partitioning=true, union_by_name=true, hive_types={'day': DATE})`,
  );
  return r.getRowObjectsJson().map((x) => JSON.stringify(x)).sort();
}

describe('tables we write read back identically', () => {
  const table: TableRef = { storage: new FsStorage(tmp.dir + '/orders'), tableKey: '' };

  it('create, append, evolve, delete, replaceWhere across a checkpoint', async () => {
    await createTable(table, { schema, partitionColumns: ['day'], description: 'orders', clock, engine, sourceSql: rowsSql(0, 10, '2024-01-01') });
    for (let i = 1; i <= 11; i++) {
      clock.advance(1000);
      await append(table, engine, { sourceSql: rowsSql(i * 10, i * 10 + 10, `2024-01-0${(i % 3) + 1}`), clock });
    }
    // Version 10 was checkpointed.
    const cp = await table.storage.head('_delta_log/00000000000000000010.checkpoint.parquet');
    expect(cp).not.toBeNull();
    const last = JSON.parse(new TextDecoder().decode(await table.storage.get('_delta_log/_last_checkpoint')));
    expect(last.version).toBe(10);

    let s = await Snapshot.load(table);
    expect(s.version).toBe(11);
    expect(await sorted(table)).toHaveLength(120);

    // Schema evolution: a new nullable column.
    const evolved = await append(table, engine, {
      sourceSql: `SELECT 1000::BIGINT AS id, 'x' AS name, 1.00::DECIMAL(12,2) AS amount, DATE '2024-01-02' AS day, 'vip' AS tier`,
      mergeSchema: true,
      clock,
    });
    expect(evolved.schemaEvolved).toBe(true);
    s = await Snapshot.load(table);
    expect(s.schema.fields.map((f) => f.name)).toEqual(['id', 'name', 'amount', 'day', 'tier']);
    const rows = await queryTable(engine.connection, s, { where: 'tier IS NOT NULL' });
    expect(rows).toEqual([{ id: '1000', name: 'x', amount: '1.00', day: '2024-01-02', tier: 'vip' }]);

    // Delete by a data predicate rewrites files; by a partition predicate drops files whole.
    const del = await deleteRows(table, engine, { predicate: 'id % 7 = 0', clock });
    expect(del.numDeletedRows).toBe(Array.from({ length: 120 }, (_, i) => i).filter((i) => i % 7 === 0).length);
    expect(del.numCopiedRows).toBeGreaterThan(0);
    const delPart = await deleteRows(table, engine, { predicate: "day = DATE '2024-01-03'", clock });
    expect(delPart.numCopiedRows).toBe(0);
    expect(delPart.numRemovedFiles).toBeGreaterThan(0);

    // replaceWhere replaces one partition only.
    await overwrite(table, engine, {
      sourceSql: `SELECT i::BIGINT AS id, 'r' AS name, 0.00::DECIMAL(12,2) AS amount, DATE '2024-01-01' AS day, NULL::VARCHAR AS tier FROM range(5000, 5003) t(i)`,
      replaceWhere: "day = '2024-01-01'",
      clock,
    });
    s = await Snapshot.load(table);
    const all = await queryTable(engine.connection, s);
    expect(all.filter((r) => r.day === '2024-01-01').map((r) => r.id)).toEqual(['5000', '5001', '5002']);
    expect(all.some((r) => r.day === '2024-01-03')).toBe(false);
    const jan2 = all.filter((r) => r.day === '2024-01-02');
    expect(jan2.length).toBeGreaterThan(0);
    expect(jan2.every((r) => Number(r.id) % 7 !== 0)).toBe(true);

    // Our reader and plain DuckDB over the active files agree.
    expect(await sorted(table)).toEqual(await plainParquet(table));
    // Time travel still sees old versions.
    expect(await sorted(table, 0)).toHaveLength(10);
    const hist = await readHistory(table);
    expect(hist[0].commitInfo?.operation).toBe('WRITE');
    expect(hist.map((h) => h.commitInfo?.operation)).toContain('DELETE');
  });

  it('prunes files by partition and stats', async () => {
    const s = await Snapshot.load(table);
    const plan = await planScan(s, { predicate: "day = '2024-01-02' AND id >= 100" });
    expect(plan.files.length).toBeLessThan(s.numFiles);
    expect(plan.files.length).toBeGreaterThan(0);
    const rows = await queryTable(engine.connection, s, { where: "day = '2024-01-02' AND id >= 100" });
    const all = await queryTable(engine.connection, s);
    expect(rows.length).toBe(all.filter((r) => r.day === '2024-01-02' && Number(r.id) >= 100).length);
  });

  it('refuses appends that do not fit the schema, naming the column', async () => {
    const cases: [string, string][] = [
      [`SELECT 1::BIGINT AS id, 'a' AS name, DATE '2024-01-01' AS day, NULL::VARCHAR AS tier`, 'amount'],
      [`SELECT 1::BIGINT AS id, 'a' AS name, 1.0::DECIMAL(12,2) AS amount, DATE '2024-01-01' AS day, NULL::VARCHAR AS tier, 1 AS extra`, 'extra'],
      [`SELECT 'abc' AS id, 'a' AS name, 1.0::DECIMAL(12,2) AS amount, DATE '2024-01-01' AS day, NULL::VARCHAR AS tier`, 'id'],
    ];
    const before = (await Snapshot.load(table)).version;
    for (const [sql, col] of cases) {
      const err = await append(table, engine, { sourceSql: sql, clock }).catch((e: unknown) => e);
      expect(isLakehouseError(err, 'SCHEMA_MISMATCH'), String(err)).toBe(true);
      expect((err as Error).message).toContain(`"${col}"`);
    }
    expect((await Snapshot.load(table)).version).toBe(before);
  });

  it('accepts lossless casts (string digits into a long column)', async () => {
    const r = await append(table, engine, {
      sourceSql: `SELECT '77' AS id, 'a' AS name, 1.0::DECIMAL(12,2) AS amount, DATE '2024-01-05' AS day, NULL::VARCHAR AS tier`,
      clock,
    });
    expect(r.numOutputRows).toBe(1);
  });

  it('idempotent appends with txn identifiers', async () => {
    const src = `SELECT *, 'x' AS tier FROM (${rowsSql(9000, 9001, '2024-01-05')})`;
    const a = await append(table, engine, { sourceSql: src, txn: { appId: 'ingest-1', version: 1 }, clock });
    const b = await append(table, engine, { sourceSql: src, txn: { appId: 'ingest-1', version: 1 }, clock });
    expect(a.skipped).toBe(false);
    expect(b.skipped).toBe(true);
    expect(b.version).toBe(a.version);
  });

  it('creating over an existing table is refused', async () => {
    const err = await createTable(table, { schema, clock }).catch((e: unknown) => e);
    expect(isLakehouseError(err, 'TABLE_EXISTS')).toBe(true);
  });
});
