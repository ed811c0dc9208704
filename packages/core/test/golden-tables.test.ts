import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Snapshot, planRowCount, planScan, isLakehouseError, readHistory } from '../src/index.js';
import { FsStorage } from '../src/node/index.js';
import { queryTable, tableQuerySql } from '../src/node/query.js';
import { EXPECTED, FIXTURES_DIR, fixtureRoot } from './support/fixtures.js';

let conn: DuckDBConnection;
beforeAll(async () => {
  conn = await (await DuckDBInstance.create(':memory:')).connect();
  await conn.run("SET TimeZone='UTC'");
});
afterAll(() => conn.closeSync());

const table = (name: string) => ({ storage: new FsStorage(fixtureRoot(name)), tableKey: '' });

async function countRows(snapshot: Snapshot): Promise<number> {
  const { sql } = await tableQuerySql(snapshot);
  const r = await conn.runAndReadAll(`SELECT count(*)::INTEGER AS n FROM (${sql})`);
  return r.getRowObjectsJson()[0].n as number;
}

const readable = Object.entries(EXPECTED).filter(([, e]) => !e.mustRefuse);
const refused = Object.entries(EXPECTED).filter(([, e]) => e.mustRefuse);

describe('golden tables written by other engines', () => {
  it('covers every table in expected.json', () => {
    expect(readable.length + refused.length).toBe(13);
  });

  describe.each(readable)('%s', (name, exp) => {
    it('latest snapshot: version, columns, partitioning, protocol', async () => {
      const s = await Snapshot.load(table(name));
      expect(s.version).toBe(exp.version);
      expect(s.schema.fields.map((f) => f.name)).toEqual(exp.columns);
      expect(s.partitionColumns).toEqual(exp.partitionColumns);
      expect(s.protocol.minReaderVersion).toBe(exp.protocol.minReaderVersion);
      expect(s.protocol.minWriterVersion).toBe(exp.protocol.minWriterVersion);
      if (exp.protocol.readerFeatures) expect(s.protocol.readerFeatures).toEqual(exp.protocol.readerFeatures);
    });

    const versions = Object.entries(exp.rowsByVersion ?? { [exp.version]: exp.rows! });
    it.each(versions)('version %s has the expected rows through DuckDB', async (v, rows) => {
      const s = await Snapshot.load(table(name), { version: Number(v) });
      expect(s.version).toBe(Number(v));
      expect(await countRows(s)).toBe(rows);
      const plan = await planScan(s);
      const fromStats = planRowCount(plan);
      if (fromStats !== null) expect(fromStats).toBe(rows);
    });
  });

  describe.each(refused)('%s', (name, exp) => {
    it('is refused with UNSUPPORTED_FEATURE naming the feature or version', async () => {
      const err = await Snapshot.load(table(name)).catch((e: unknown) => e);
      expect(isLakehouseError(err, 'UNSUPPORTED_FEATURE')).toBe(true);
      const expectedWord = /'([^']+)'/.exec(exp.reason ?? '')?.[1] ?? String(99);
      expect((err as Error).message).toContain(expectedWord);
    });
  });
});

describe('golden values', () => {
  it('dat_multi_partitioned matches the DAT expected content at every version', async () => {
    for (const v of ['v0', 'v1', 'v2']) {
      const s = await Snapshot.load(table('dat_multi_partitioned'), { version: Number(v.slice(1)) });
      const ours = await queryTable(conn, s);
      const expRows = (
        await conn.runAndReadAll(`SELECT * FROM read_parquet('${FIXTURES_DIR}dat_multi_partitioned/expected/${v}/table_content.parquet')`)
      ).getRowObjectsJson();
      const key = (r: Record<string, unknown>) => JSON.stringify(Object.keys(r).sort().map((k) => [k, r[k]]));
      expect(ours.map(key).sort()).toEqual(expRows.map(key).sort());
    }
  });

  it('table_with_column_mapping reads logical names and the mapped partition column', async () => {
    const s = await Snapshot.load(table('table_with_column_mapping'));
    const rows = await queryTable(conn, s);
    expect(rows).toHaveLength(5);
    expect(Object.keys(rows[0])).toEqual(EXPECTED.table_with_column_mapping.columns);
    expect(rows.every((r) => r['Company Very Short'] !== null)).toBe(true);
  });

  it('table-with-dv-small drops exactly the rows its deletion vector marks', async () => {
    const s = await Snapshot.load(table('table-with-dv-small'));
    const rows = await queryTable(conn, s);
    const values = rows.map((r) => Number(r.value)).sort((a, b) => a - b);
    expect(values).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('history lists every commit newest first with operations', async () => {
    const h = await readHistory(table('simple_table'));
    expect(h.map((c) => c.version)).toEqual([4, 3, 2, 1, 0]);
    expect(h[h.length - 1].commitInfo?.operation).toBeTruthy();
  });

  it('incremental update of an old snapshot reaches the latest state', async () => {
    const old = await Snapshot.load(table('checkpoint-v2-table'), { version: 3 });
    const latest = await old.update();
    expect(latest.version).toBe(9);
    expect(await countRows(latest)).toBe(44);
    expect(await countRows(old)).toBe(21);
  });
});
