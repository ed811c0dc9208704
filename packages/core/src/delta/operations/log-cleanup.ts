import { LakehouseError } from '../../errors.js';
import type { Clock, ObjectInfo } from '../../storage/storage.js';
import { systemClock } from '../../storage/storage.js';
import { classifyLogFile, groupLogFiles } from '../log.js';
import { logKey, padVersion } from '../paths.js';
import type { TableRef } from '../snapshot.js';
import { Snapshot } from '../snapshot.js';
import type { CheckpointMetrics } from './checkpoint.js';
import { parseIntervalMs, writeCheckpoint } from './checkpoint.js';
import type { OperationHooks } from './progress.js';
import { progressReporter, throwIfCancelled } from './progress.js';

/** Default delta.logRetentionDuration (30 days). */
export const DEFAULT_LOG_RETENTION_MS = 30 * 8.64e7;

const DAY = 8.64e7;

/** Options of a checkpoint taken on demand. */
export interface CheckpointNowOptions extends OperationHooks {
  clock?: Clock;
}

/** Writes a checkpoint of the latest version now (left untouched when one exists for it) and moves `_last_checkpoint`. */
export async function checkpointNow(table: TableRef, options: CheckpointNowOptions = {}): Promise<CheckpointMetrics> {
  const report = progressReporter(options);
  throwIfCancelled(options.signal, 'checkpoint');
  report(0, 'loading the latest version');
  const snapshot = await Snapshot.load(table);
  throwIfCancelled(options.signal, 'checkpoint');
  report(0.5, `writing the checkpoint of version ${snapshot.version}`);
  const m = await writeCheckpoint(snapshot, { clock: options.clock });
  report(1, m.written ? `checkpoint of version ${m.version} written` : `a checkpoint of version ${m.version} already existed`);
  return m;
}

/** Options of log cleanup. */
export interface LogCleanupOptions extends OperationHooks {
  /** Only report what would be deleted (default TRUE). */
  dryRun?: boolean;
  /** Log retention in milliseconds (default `delta.logRetentionDuration`, else 30 days). */
  retentionMs?: number;
  clock?: Clock;
}

/** What log cleanup did or would do. */
export interface LogCleanupResult {
  dryRun: boolean;
  retentionMs: number;
  /** Midnight UTC of the day `now - retention` falls in (PROTOCOL.md: Metadata Cleanup). */
  cutoffTimestamp: number;
  /** Newest commit not newer than the cutoff, or null. */
  cutoffVersion: number | null;
  /** Newest complete checkpoint at or before `cutoffVersion`: it and everything after it is kept; null = nothing to do. */
  keptCheckpointVersion: number | null;
  /** Earliest version time travel can reach before and after the cleanup. */
  earliestVersionBefore: number;
  earliestVersionAfter: number;
  /** Log files deleted (or to delete), as storage keys, oldest first. */
  files: ObjectInfo[];
  numFilesToDelete: number;
  bytesToDelete: number;
  numFilesDeleted: number;
}

const CRC_RE = /^(\d{20})\.crc$/;
const COMPACTION_RE = /^(\d{20})\.(\d{20})\.compacted\.json$/;

/**
 * Deletes expired log entries (PROTOCOL.md: Metadata Cleanup): commits, checkpoints and checksum files older than the
 * newest complete checkpoint that is not newer than the newest commit before the cutoff (midnight UTC of
 * `now - delta.logRetentionDuration`), and log compactions starting at or before it. That checkpoint, its commit
 * file and everything after it are kept, so every version from it on stays readable; nothing happens when no such
 * checkpoint exists. Deletes oldest first. Sidecar files are never deleted. Dry run by default.
 */
export async function cleanupLog(table: TableRef, options: LogCleanupOptions = {}): Promise<LogCleanupResult> {
  const clock = options.clock ?? systemClock;
  const dryRun = options.dryRun ?? true;
  const report = progressReporter(options);
  const { storage, tableKey } = table;
  throwIfCancelled(options.signal, 'log cleanup');
  const snapshot = await Snapshot.load(table);
  const tableRetention = parseIntervalMs(snapshot.properties['delta.logRetentionDuration']) ?? DEFAULT_LOG_RETENTION_MS;
  const retentionMs = options.retentionMs ?? tableRetention;
  if (!Number.isFinite(retentionMs) || retentionMs < 0) {
    throw new LakehouseError('INVALID_INPUT', `log retention must be a non-negative number of milliseconds, got ${retentionMs}`, { retentionMs });
  }
  const cutoff = Math.floor((clock.now() - retentionMs) / DAY) * DAY;
  report(0.1, 'listing the log');

  const prefix = logKey(tableKey) + '/';
  const infos = (await storage.list(prefix)).filter((i) => !i.key.slice(prefix.length).includes('/'));
  const grouped = groupLogFiles(infos);
  const versions = [...grouped.commits.keys()].sort((a, b) => a - b);
  const cpVersions = grouped.checkpoints.map((c) => c.version);
  const earliestBefore = grouped.commits.has(0) ? 0 : cpVersions.length > 0 ? Math.min(...cpVersions) : (versions[0] ?? 0);
  const result: LogCleanupResult = {
    dryRun,
    retentionMs,
    cutoffTimestamp: cutoff,
    cutoffVersion: null,
    keptCheckpointVersion: null,
    earliestVersionBefore: earliestBefore,
    earliestVersionAfter: earliestBefore,
    files: [],
    numFilesToDelete: 0,
    bytesToDelete: 0,
    numFilesDeleted: 0,
  };
  // Commit times from modification times, made monotonic (a later commit is never taken as older).
  let prev = -Infinity;
  for (const v of versions) {
    let t = grouped.commits.get(v)!.lastModified;
    if (t <= prev) t = prev + 1;
    prev = t;
    if (t <= cutoff) result.cutoffVersion = v;
  }
  if (result.cutoffVersion === null) return done();
  const cps = grouped.checkpoints.filter((c) => c.version <= result.cutoffVersion!);
  if (cps.length === 0) return done();
  const kept = cps[cps.length - 1].version;
  result.keptCheckpointVersion = kept;
  // The kept checkpoint plus the commits after it must rebuild the latest version; never cut a log with a gap.
  for (let v = kept + 1; v <= snapshot.version; v++) {
    if (!grouped.commits.has(v)) {
      throw new LakehouseError('CORRUPT_LOG', `commit ${padVersion(v)}.json is missing after checkpoint ${kept}; log cleanup refuses to delete anything`, {
        version: v,
      });
    }
  }
  const victims: { version: number; info: ObjectInfo }[] = [];
  for (const info of infos) {
    const name = info.key.slice(prefix.length);
    const f = classifyLogFile(info);
    if (f) {
      if (f.version < kept) victims.push({ version: f.version, info });
      continue;
    }
    const crc = CRC_RE.exec(name);
    if (crc && Number(crc[1]) < kept) victims.push({ version: Number(crc[1]), info });
    const comp = COMPACTION_RE.exec(name);
    if (comp && Number(comp[1]) <= kept) victims.push({ version: Number(comp[1]), info });
  }
  victims.sort((a, b) => a.version - b.version || (a.info.key < b.info.key ? -1 : 1));
  result.files = victims.map((v) => v.info);
  result.numFilesToDelete = victims.length;
  result.bytesToDelete = victims.reduce((s, v) => s + v.info.size, 0);
  result.earliestVersionAfter = Math.max(earliestBefore, kept);
  if (dryRun) return done();
  for (let i = 0; i < victims.length; i++) {
    throwIfCancelled(options.signal, `log cleanup (after deleting ${result.numFilesDeleted} of ${victims.length} files)`);
    await storage.delete(victims[i].info.key);
    result.numFilesDeleted++;
    if (i % 50 === 0) report(0.2 + (0.8 * i) / victims.length, `deleted ${i + 1} of ${victims.length} log files`);
  }
  return done();

  function done(): LogCleanupResult {
    report(1, dryRun ? `dry run: ${result.numFilesToDelete} log files would be deleted` : `deleted ${result.numFilesDeleted} log files`);
    return result;
  }
}
