import type { AddAction, RemoveAction } from '../actions.js';
import { statsOf } from '../snapshot.js';

/** Counts files, rows (from stats, 0 where absent) and bytes of add actions. */
export function addsMetrics(adds: readonly AddAction[]): { numFiles: number; numRows: number; numBytes: number } {
  let numRows = 0;
  let numBytes = 0;
  for (const a of adds) {
    numRows += statsOf(a)?.numRecords ?? 0;
    numBytes += a.size;
  }
  return { numFiles: adds.length, numRows, numBytes };
}

/** The remove action that retires `add` at `timestamp` (PROTOCOL.md: Add File and Remove File, extended metadata). */
export function removeFor(add: AddAction, timestamp: number, dataChange = true): RemoveAction {
  return {
    path: add.path,
    deletionTimestamp: timestamp,
    dataChange,
    extendedFileMetadata: true,
    partitionValues: add.partitionValues,
    size: add.size,
    ...(add.stats ? { stats: add.stats } : {}),
    ...(add.tags ? { tags: add.tags } : {}),
    ...(add.deletionVector ? { deletionVector: add.deletionVector } : {}),
    ...(add.baseRowId != null ? { baseRowId: add.baseRowId } : {}),
    ...(add.defaultRowCommitVersion != null ? { defaultRowCommitVersion: add.defaultRowCommitVersion } : {}),
  };
}
