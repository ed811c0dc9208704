import { LakehouseError } from '../../errors.js';
import type { Clock, ObjectInfo } from '../../storage/storage.js';
import { joinKey, systemClock } from '../../storage/storage.js';
import type { Action, DeletionVectorDescriptor } from '../actions.js';
import { deletionVectorRelativePath } from '../deletion-vector.js';
import type { LogListing } from '../log.js';
import { listLog, readCommit } from '../log.js';
import { WRITE_SCRATCH_PREFIX, fileKey } from '../paths.js';
import { assertWritable } from '../protocol.js';
import type { Snapshot, TableRef } from '../snapshot.js';
import { Snapshot as SnapshotClass, mapLimit } from '../snapshot.js';
import { Transaction } from '../transaction.js';
import { DEFAULT_DELETED_FILE_RETENTION_MS, parseIntervalMs } from './checkpoint.js';
import type { OperationHooks } from './progress.js';
import { progressReporter, throwIfCancelled } from './progress.js';

/** Options of VACUUM. */
export interface VacuumOptions extends OperationHooks {
  /** Only report what would be deleted (default TRUE: a VACUUM deletes nothing unless `dryRun: false`). */
  dryRun?: boolean;
  /** Retention in hours (RETAIN n HOURS); default `delta.deletedFileRetentionDuration`, else 168. */
  retentionHours?: number;
  /** Allows a retention shorter than the table's `delta.deletedFileRetentionDuration`. */
  allowShortRetention?: boolean;
  /** How many files the result lists (the totals always cover every file; default 1000). */
  maxListedFiles?: number;
  /** Record VACUUM START / VACUUM END commits (commitInfo only) in the table history (default true). */
  recordInHistory?: boolean;
  /** Files deleted concurrently (default 8). */
  deleteConcurrency?: number;
  snapshot?: Snapshot;
  clock?: Clock;
  userName?: string;
  commitExtra?: Record<string, unknown>;
}

/** A file VACUUM deletes (or would delete). */
export interface VacuumFile {
  /** Path relative to the table root (storage key without the table prefix). */
  path: string;
  size: number;
  lastModified: number;
  /** `removed`: a tombstone past retention; `unreferenced`: never committed or forgotten by the log. */
  reason: 'removed' | 'unreferenced';
}

/** What VACUUM did or would do. */
export interface VacuumResult {
  /** Table version the decision was made on. */
  version: number;
  dryRun: boolean;
  retentionMs: number;
  /** Files older than this (epoch ms), and not needed by any version committed after it, are deleted. */
  cutoffTimestamp: number;
  /** Objects listed under the table root. */
  numFilesListed: number;
  numFilesToDelete: number;
  bytesToDelete: number;
  /** The first `maxListedFiles` files to delete, by path. */
  files: VacuumFile[];
  /** True when `files` does not list every file to delete. */
  filesTruncated: boolean;
  numFilesDeleted: number;
  bytesDeleted: number;
  /** Time travel before and after: versions from `oldestReadableVersion` on keep all their data files. */
  timeTravel: {
    /** Earliest version the log can reconstruct now. */
    earliestVersion: number;
    /** Every version from this one on stays readable after the VACUUM. */
    oldestReadableVersion: number;
    /** Versions that may no longer be readable (at least `to` is not), or null when time travel loses nothing. */
    lostVersions: { from: number; to: number } | null;
  };
  /** Commits recorded in history (VACUUM START and END), empty for dry runs. */
  historyVersions: number[];
  durationMs: number;
}

const HOUR = 3.6e6;

/**
 * VACUUM: deletes data and deletion vector files of the table directory that no version inside the retention
 * window needs. A file is deleted only when all hold: it is not hidden (no path segment starts with `_` or `.`,
 * except `_change_data` and partition directories, as Delta's VACUUM), not under a nested table, not referenced
 * by the current version, not referenced by any commit after the last version committed before the cutoff, not
 * referenced by a tombstone younger than the retention, and last modified before the cutoff (protecting files of
 * writes in flight). `_delta_log` is never touched. Dry run by default; a retention shorter than the table's
 * needs `allowShortRetention`. Refuses tables whose writer protocol this core does not support.
 */
export async function vacuum(table: TableRef, options: VacuumOptions = {}): Promise<VacuumResult> {
  const started = Date.now();
  const clock = options.clock ?? systemClock;
  const dryRun = options.dryRun ?? true;
  const report = progressReporter(options);
  const snapshot = options.snapshot ?? (await SnapshotClass.load(table));
  // PROTOCOL.md: VACUUM Protocol Check: check the write protocol before any VACUUM.
  assertWritable(snapshot.protocol, snapshot.metadata, table.tableKey || table.storage.root);

  const tableRetention = parseIntervalMs(snapshot.properties['delta.deletedFileRetentionDuration']) ?? DEFAULT_DELETED_FILE_RETENTION_MS;
  let retentionMs = tableRetention;
  if (options.retentionHours !== undefined) {
    if (!Number.isFinite(options.retentionHours) || options.retentionHours < 0) {
      throw new LakehouseError('INVALID_INPUT', `retentionHours must be a non-negative number, got ${options.retentionHours}`, {
        retentionHours: options.retentionHours,
      });
    }
    retentionMs = options.retentionHours * HOUR;
    if (retentionMs < tableRetention && !options.allowShortRetention) {
      throw new LakehouseError(
        'INVALID_INPUT',
        `retention of ${options.retentionHours} hours is shorter than the table's delta.deletedFileRetentionDuration (${tableRetention / HOUR} hours); ` +
          'concurrent readers and writers may still need those files. Pass allowShortRetention to override',
        { retentionHours: options.retentionHours, tableRetentionHours: tableRetention / HOUR, property: 'delta.deletedFileRetentionDuration' },
      );
    }
  }
  const now = clock.now();
  const cutoff = now - retentionMs;
  throwIfCancelled(options.signal, 'VACUUM');
  report(0.02, 'reading the log');

  const { storage, tableKey } = table;
  const log = await listLog(storage, tableKey);
  const versions = [...log.commits.keys()].sort((a, b) => a - b);
  const times = commitTimes(log, versions);
  // The version current at the cutoff instant: it and every later version are retained.
  let boundary: number | null = null;
  for (const v of versions) if (v <= snapshot.version && times.get(v)! <= cutoff) boundary = v;

  const needed = new Set<string>();
  const keyOf = (path: string): string | null => {
    try {
      return fileKey(tableKey, path, storage.root);
    } catch {
      return null; // outside the table's storage: never listed, never deleted
    }
  };
  const dvKeyOf = (dv: DeletionVectorDescriptor | null | undefined): string | null => dvFileKey(table, dv);
  const protect = (path: string, dv?: DeletionVectorDescriptor | null): void => {
    const k = keyOf(path);
    if (k !== null) needed.add(k);
    const d = dvKeyOf(dv);
    if (d !== null) needed.add(d);
  };
  for (const add of snapshot.adds()) protect(add.path, add.deletionVector);
  for (const r of snapshot.tombstones()) {
    // A tombstone without a timestamp counts as expired (as in Delta); commits after the boundary protect it anyway.
    // Without a boundary (every commit in the log is younger than the cutoff) every tombstone is protected.
    if (boundary === null || (r.deletionTimestamp ?? 0) >= cutoff) protect(r.path, r.deletionVector);
  }
  // Every file any retained version references appears in the boundary snapshot or in a later commit; the boundary
  // snapshot's files that are gone now were removed by one of those commits. So: protect every path they mention.
  // Commits newer than the snapshot count too (a concurrent RESTORE may have re-added an old file).
  const windowVersions = versions.filter((v) => v > (boundary ?? -1));
  await forEachCommit(table, log, windowVersions, options.signal, (_v, actions) => {
    for (const a of actions) {
      if ('add' in a) protect(a.add.path, a.add.deletionVector);
      else if ('remove' in a) protect(a.remove.path, a.remove.deletionVector);
      else if ('cdc' in a) protect(a.cdc.path);
    }
  });
  throwIfCancelled(options.signal, 'VACUUM');
  report(0.2, 'listing the table directory');

  const prefix = tableKey ? tableKey + '/' : '';
  const listing = await storage.list(prefix);
  const partitionDirs = partitionDirPrefixes(snapshot);
  const nested = nestedTableRoots(listing, prefix);
  const toDelete: ObjectInfo[] = [];
  let bytesToDelete = 0;
  for (const o of listing) {
    const rel = o.key.slice(prefix.length);
    if (isHiddenPath(rel, partitionDirs)) continue;
    if (nested.length > 0 && nested.some((n) => rel.startsWith(n))) continue;
    if (needed.has(o.key)) continue;
    if (o.lastModified >= cutoff) continue;
    toDelete.push(o);
    bytesToDelete += o.size;
  }
  report(0.3, `${toDelete.length} files to delete`);

  const earliestVersion = earliestReconstructable(log);
  let oldestReadable = earliestVersion;
  if (toDelete.length > 0) {
    oldestReadable = await oldestReadableAfter(table, log, versions, boundary, new Set(toDelete.map((o) => o.key)), earliestVersion, options.signal);
  }
  const maxListed = options.maxListedFiles ?? 1000;
  const listed = toDelete.slice(0, maxListed);
  // Which of the listed files a tombstone names (only the listed ones: no set over every tombstone).
  const listedKeys = new Set(listed.map((o) => o.key));
  const removed = new Set<string>();
  if (listedKeys.size > 0) {
    for (const r of snapshot.tombstones()) {
      for (const k of [keyOf(r.path), dvKeyOf(r.deletionVector)]) if (k !== null && listedKeys.has(k)) removed.add(k);
    }
  }
  const files: VacuumFile[] = listed.map((o) => ({
    path: o.key.slice(prefix.length),
    size: o.size,
    lastModified: o.lastModified,
    reason: removed.has(o.key) ? 'removed' : 'unreferenced',
  }));
  const result: VacuumResult = {
    version: snapshot.version,
    dryRun,
    retentionMs,
    cutoffTimestamp: cutoff,
    numFilesListed: listing.length,
    numFilesToDelete: toDelete.length,
    bytesToDelete,
    files,
    filesTruncated: toDelete.length > files.length,
    numFilesDeleted: 0,
    bytesDeleted: 0,
    timeTravel: {
      earliestVersion,
      oldestReadableVersion: oldestReadable,
      lostVersions: oldestReadable > earliestVersion ? { from: earliestVersion, to: oldestReadable - 1 } : null,
    },
    historyVersions: [],
    durationMs: 0,
  };
  if (dryRun || toDelete.length === 0) {
    report(1, dryRun ? `dry run: ${toDelete.length} files (${bytesToDelete} bytes) would be deleted` : 'nothing to delete');
    result.durationMs = Date.now() - started;
    return result;
  }

  throwIfCancelled(options.signal, 'VACUUM');
  const record = options.recordInHistory ?? true;
  const params = {
    retentionCheckEnabled: !options.allowShortRetention,
    specifiedRetentionMillis: retentionMs,
    defaultRetentionMillis: tableRetention,
  };
  if (record) {
    const r = await new Transaction(table, snapshot, clock).commit({
      operation: 'VACUUM START',
      operationParameters: params,
      operationMetrics: { numFilesToDelete: toDelete.length, sizeOfDataToDelete: bytesToDelete },
      userName: options.userName,
      extra: options.commitExtra,
    });
    result.historyVersions.push(r.version);
  }
  let cancelled: unknown = null;
  const batch = 1000;
  for (let i = 0; i < toDelete.length; i += batch) {
    if (options.signal?.aborted) {
      cancelled = options.signal.reason ?? 'aborted';
      break;
    }
    const slice = toDelete.slice(i, i + batch);
    await mapLimit(slice, options.deleteConcurrency ?? 8, async (o) => {
      await storage.delete(o.key);
    });
    for (const o of slice) result.bytesDeleted += o.size;
    result.numFilesDeleted += slice.length;
    report(0.3 + (0.65 * result.numFilesDeleted) / toDelete.length, `deleted ${result.numFilesDeleted} of ${toDelete.length} files`);
  }
  if (record) {
    const r = await new Transaction(table, snapshot, clock).commit({
      operation: 'VACUUM END',
      operationParameters: { status: cancelled === null ? 'COMPLETED' : 'CANCELLED' },
      operationMetrics: { numDeletedFiles: result.numFilesDeleted, numVacuumedDirectories: 0 },
      userName: options.userName,
      extra: options.commitExtra,
    });
    result.historyVersions.push(r.version);
  }
  result.durationMs = Date.now() - started;
  if (cancelled !== null) throwIfCancelled(options.signal, `VACUUM (after deleting ${result.numFilesDeleted} of ${toDelete.length} files)`);
  report(1, `deleted ${result.numFilesDeleted} files (${result.bytesDeleted} bytes)`);
  return result;
}

/** Commit timestamps from file modification times, made monotonic as Delta readers do. */
function commitTimes(log: LogListing, versions: number[]): Map<number, number> {
  const out = new Map<number, number>();
  let prev = -Infinity;
  for (const v of versions) {
    let t = log.commits.get(v)!.lastModified;
    if (t <= prev) t = prev + 1;
    prev = t;
    out.set(v, t);
  }
  return out;
}

/** Earliest version the log can reconstruct: 0 when every commit from 0 is there, else the oldest complete checkpoint. */
function earliestReconstructable(log: LogListing): number {
  if (log.commits.has(0)) return 0;
  const cps = log.checkpoints.map((c) => c.version);
  if (cps.length > 0) return Math.min(...cps);
  const vs = [...log.commits.keys()];
  return vs.length > 0 ? Math.min(...vs) : 0;
}

/** Reads commits `versions` (a few at a time, in order) and hands each to `fn`; fails CORRUPT_LOG if one is missing. */
async function forEachCommit(
  table: TableRef,
  log: LogListing,
  versions: number[],
  signal: AbortSignal | undefined,
  fn: (version: number, actions: Action[]) => boolean | void,
): Promise<void> {
  // Start with one commit at a time and widen up to 16: a scan that stops early reads (and holds) little.
  let chunk = 1;
  for (let i = 0; i < versions.length; i += chunk, chunk = Math.min(16, chunk * 2)) {
    throwIfCancelled(signal, 'VACUUM');
    const part = versions.slice(i, i + chunk);
    const read = await mapLimit(part, 8, async (v) => {
      const info = log.commits.get(v);
      if (!info) throw new LakehouseError('CORRUPT_LOG', `commit ${v} is missing from the log; VACUUM cannot tell which files it needs`, { version: v });
      return readCommit(table.storage, info);
    });
    for (let k = 0; k < part.length; k++) if (fn(part[k], read[k]) === true) return;
  }
}

/**
 * The oldest version whose files all survive deleting `deleted`: the newest commit at or before the boundary that
 * removed one of them (the version before it loses a file), scanning back from the boundary; when none of the
 * available commits removed one, nothing time travel can reach is lost.
 */
async function oldestReadableAfter(
  table: TableRef,
  log: LogListing,
  versions: number[],
  boundary: number | null,
  deleted: ReadonlySet<string>,
  earliest: number,
  signal: AbortSignal | undefined,
): Promise<number> {
  if (boundary === null) return earliest;
  const back = versions.filter((v) => v <= boundary && v > earliest).reverse();
  let found = earliest;
  await forEachCommit(table, log, back, signal, (v, actions) => {
    for (const a of actions) {
      if (!('remove' in a)) continue;
      let k: string | null = null;
      try {
        k = fileKey(table.tableKey, a.remove.path, table.storage.root);
      } catch {
        // outside the table: never deleted
      }
      const d = dvFileKey(table, a.remove.deletionVector);
      if ((k !== null && deleted.has(k)) || (d !== null && deleted.has(d))) {
        found = v;
        return true;
      }
    }
    return false;
  });
  return found;
}

/** Storage key of the file holding a deletion vector (null for inline DVs and paths outside the table). */
function dvFileKey(table: TableRef, dv: DeletionVectorDescriptor | null | undefined): string | null {
  if (!dv || dv.storageType === 'i') return null;
  try {
    return dv.storageType === 'u' ? joinKey(table.tableKey, deletionVectorRelativePath(dv)) : fileKey(table.tableKey, dv.pathOrInlineDv, table.storage.root);
  } catch {
    return null;
  }
}

/** Directory names (`col=`) of partition columns, logical and physical, which VACUUM must not treat as hidden. */
function partitionDirPrefixes(snapshot: Snapshot): string[] {
  const out: string[] = [];
  for (const p of snapshot.partitionColumns) {
    out.push(p + '=');
    const f = snapshot.schema.fields.find((x) => x.name === p);
    const phys = f?.metadata['delta.columnMapping.physicalName'];
    if (typeof phys === 'string') out.push(phys + '=');
  }
  return out;
}

/**
 * True for paths Delta's VACUUM never touches: any segment starting with `_` or `.`, except `_change_data`, the
 * scratch folders of our own writes (`_delta_write_*`, left by a crashed write) and partition directories.
 */
export function isHiddenPath(relativePath: string, partitionDirs: readonly string[] = []): boolean {
  const segs = relativePath.split('/');
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i];
    if (!(s.startsWith('_') || s.startsWith('.'))) continue;
    const isDir = i < segs.length - 1;
    if (isDir && i === 0 && (s === '_change_data' || s.startsWith(WRITE_SCRATCH_PREFIX))) continue;
    if (isDir && partitionDirs.some((p) => s.startsWith(p))) continue;
    return true;
  }
  return false;
}

/** Relative prefixes (`a/b/`) of directories below the table root that hold their own `_delta_log`. */
function nestedTableRoots(listing: readonly ObjectInfo[], prefix: string): string[] {
  const roots = new Set<string>();
  for (const o of listing) {
    const rel = o.key.slice(prefix.length);
    const i = rel.indexOf('/_delta_log/');
    if (i > 0) roots.add(rel.slice(0, i + 1));
  }
  return [...roots];
}
