import { readdirSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import {
  Snapshot,
  Transaction,
  deletionVectorPathOrInlineDv,
  encodeDeletionVectorFile,
  padVersion,
  parseActions,
  removeFor,
  type Clock,
  type CommitInfoAction,
  type TableRef,
} from '../../src/index.js';
import type { DuckDbEngine } from '../../src/node/index.js';

/** Number of Parquet data files under a local table's root (outside _delta_log), referenced or not. */
export function parquetFilesOnDisk(table: TableRef): number {
  return readdirSync(table.storage.root, { recursive: true }).filter((p) => String(p).endsWith('.parquet') && !String(p).startsWith('_delta_log')).length;
}

/** The commitInfo action of one commit file. */
export async function commitInfo(table: TableRef, version: number): Promise<CommitInfoAction> {
  const name = `_delta_log/${padVersion(version)}.json`;
  const actions = parseActions(new TextDecoder().decode(await table.storage.get(name)), name);
  return actions.flatMap((a) => ('commitInfo' in a ? [a.commitInfo] : []))[0];
}

/** Marks the rows with the given ids (all in the file whose id stats cover ids[0]) deleted with an on-disk (`u`) deletion vector, as a DELETE commit. */
export async function deleteWithDv(table: TableRef, engine: DuckDbEngine, clock: Clock, ids: number[]): Promise<void> {
  const s = await Snapshot.load(table);
  const file = [...s.files()].find((f) => {
    const stats = JSON.parse(f.add.stats ?? '{}');
    return stats.minValues.id <= ids[0] && stats.maxValues.id >= ids[0];
  })!;
  const r = await engine.connection.runAndReadAll(
    `SELECT file_row_number AS n FROM read_parquet('${table.storage.localPath!(file.key)}', file_row_number = true) WHERE id IN (${ids.join(', ')}) ORDER BY 1`,
  );
  const positions = r.getRowObjectsJson().map((x) => Number(x.n));
  expect(positions).toHaveLength(ids.length);
  const uuid = randomUUID();
  const encoded = encodeDeletionVectorFile(positions);
  writeFileSync(table.storage.localPath!(`deletion_vector_${uuid}.bin`), encoded.bytes);
  const dv = { storageType: 'u' as const, pathOrInlineDv: deletionVectorPathOrInlineDv(uuid), offset: encoded.offset, sizeInBytes: encoded.sizeInBytes, cardinality: ids.length };
  const txn = new Transaction(table, s, clock);
  txn.add({ remove: removeFor(file.add, clock.now()) }, { add: { ...file.add, deletionVector: dv } });
  await txn.commit({ operation: 'DELETE', operationParameters: { predicate: JSON.stringify([`id IN (${ids.join(', ')})`]) } });
}
