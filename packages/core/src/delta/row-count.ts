import { parquetMetadataAsync } from 'hyparquet';
import type { Storage } from '../storage/storage.js';
import type { Snapshot } from './snapshot.js';
import { mapLimit, statsOf } from './snapshot.js';

/** Row count of a Parquet file from its footer, read with two ranged gets. */
export async function parquetRowCount(storage: Storage, key: string, size: number): Promise<number> {
  const file = {
    byteLength: size,
    slice: async (start: number, end?: number) => {
      const bytes = await storage.get(key, { start, end: end ?? size });
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    },
  };
  const meta = await parquetMetadataAsync(file);
  return Number(meta.num_rows);
}

/** Live rows of a snapshot: numRecords from stats (Parquet footers for files without stats) minus deletion-vector cardinality. */
export async function countRows(snapshot: Snapshot): Promise<number> {
  let rows = 0;
  const noStats: { key: string; size: number }[] = [];
  for (const f of snapshot.files()) {
    const n = statsOf(f.add)?.numRecords;
    if (n === undefined) noStats.push({ key: f.key, size: f.add.size });
    else rows += n;
    rows -= f.add.deletionVector?.cardinality ?? 0;
  }
  const counts = await mapLimit(noStats, 16, (f) => parquetRowCount(snapshot.table.storage, f.key, f.size));
  for (const c of counts) rows += c;
  return rows;
}
