import type { Clock } from '../../storage/storage.js';
import { systemClock } from '../../storage/storage.js';
import type { Action } from '../actions.js';
import { encodeCheckpointParquet } from '../checkpoint.js';
import { readLastCheckpoint } from '../log.js';
import { logKey, padVersion } from '../paths.js';
import type { Snapshot } from '../snapshot.js';

/** Metrics of a checkpoint. */
export interface CheckpointMetrics {
  version: number;
  numActions: number;
  numAddFiles: number;
  numTombstones: number;
  sizeInBytes: number;
  /** False when a checkpoint for this version already existed (left untouched). */
  written: boolean;
}

/** Parses a Delta interval property such as `interval 7 days` into milliseconds (null when malformed). */
export function parseIntervalMs(value: string | undefined): number | null {
  if (!value) return null;
  const m = /^\s*(?:interval\s+)?(\d+)\s*(millisecond|second|minute|hour|day|week)s?\s*$/i.exec(value);
  if (!m) return null;
  const unit = { millisecond: 1, second: 1e3, minute: 6e4, hour: 3.6e6, day: 8.64e7, week: 6.048e8 }[m[2].toLowerCase() as 'day'];
  return Number(m[1]) * unit;
}

/** Default delta.deletedFileRetentionDuration (7 days). */
export const DEFAULT_DELETED_FILE_RETENTION_MS = 7 * 8.64e7;

/**
 * Writes a classic single-file Parquet checkpoint of `snapshot` and updates `_last_checkpoint`. Tombstones older than
 * delta.deletedFileRetentionDuration are dropped (PROTOCOL.md: Checkpoints). An existing checkpoint is never replaced.
 */
export async function writeCheckpoint(snapshot: Snapshot, options: { clock?: Clock } = {}): Promise<CheckpointMetrics> {
  const clock = options.clock ?? systemClock;
  const { storage, tableKey } = snapshot.table;
  const retention = parseIntervalMs(snapshot.properties['delta.deletedFileRetentionDuration']) ?? DEFAULT_DELETED_FILE_RETENTION_MS;
  const horizon = clock.now() - retention;
  const actions: Action[] = [{ protocol: snapshot.protocol }, { metaData: snapshot.metadata }];
  for (const t of snapshot.txns.values()) actions.push({ txn: t });
  for (const d of snapshot.domains.values()) actions.push({ domainMetadata: d });
  let numAddFiles = 0;
  for (const add of snapshot.adds()) {
    actions.push({ add: { ...add, dataChange: false } });
    numAddFiles++;
  }
  let numTombstones = 0;
  for (const r of snapshot.tombstones()) {
    if ((r.deletionTimestamp ?? 0) < horizon) continue;
    actions.push({ remove: { ...r, dataChange: false, stats: undefined, tags: undefined } });
    numTombstones++;
  }
  const bytes = await encodeCheckpointParquet(actions);
  const key = logKey(tableKey, `${padVersion(snapshot.version)}.checkpoint.parquet`);
  const written = await storage.putIfAbsent(key, bytes);
  const last = { version: snapshot.version, size: actions.length, sizeInBytes: bytes.byteLength, numOfAddFiles: numAddFiles };
  // The hint only moves forward: a slow writer of an older checkpoint must not point readers back.
  const current = await readLastCheckpoint(storage, tableKey);
  if (!current || current.version <= snapshot.version) {
    await storage.put(logKey(tableKey, '_last_checkpoint'), new TextEncoder().encode(JSON.stringify(last)));
  }
  return { version: snapshot.version, numActions: actions.length, numAddFiles, numTombstones, sizeInBytes: bytes.byteLength, written };
}
