import type { MaintenanceAdviceItem, TableHealth } from '@lakehouse/contracts';
import {
  DEFAULT_TARGET_FILE_SIZE,
  fileKey,
  parseByteSize,
  planOptimize,
  readHistory,
  readLastCheckpoint,
  vacuum,
  type CommitEntry,
  type Snapshot,
} from '@lakehouse/core';
import type { AppDeps } from '../app.js';
import { formatBytes } from '../cli/format.js';

const MiB = 1024 * 1024;

/** Files under this size are small whatever the target size (8 MiB). */
export const SMALL_FILE_BYTES = 8 * MiB;

/** Histogram buckets of file sizes (lower bounds in bytes). */
const BUCKETS: readonly { label: string; min: number }[] = [
  { label: '< 1 MiB', min: 0 },
  { label: '1-8 MiB', min: MiB },
  { label: '8-32 MiB', min: 8 * MiB },
  { label: '32-128 MiB', min: 32 * MiB },
  { label: '128-512 MiB', min: 128 * MiB },
  { label: '>= 512 MiB', min: 512 * MiB },
];

/** The target file size of a table: `delta.targetFileSize`, else 128 MiB. */
export function targetFileSizeOf(snapshot: Snapshot): number {
  return parseByteSize(snapshot.properties['delta.targetFileSize']) ?? DEFAULT_TARGET_FILE_SIZE;
}

/** Files smaller than this are "small": min(8 MiB, target / 4). */
export function smallFileThreshold(snapshot: Snapshot): number {
  return Math.min(SMALL_FILE_BYTES, Math.floor(targetFileSizeOf(snapshot) / 4));
}

function lastRun(history: readonly CommitEntry[], operation: string): TableHealth['lastOptimize'] {
  const c = history.find((h) => h.commitInfo?.operation === operation);
  if (!c) return null;
  return { version: c.version, timestamp: new Date(c.timestamp).toISOString(), metrics: { ...(c.commitInfo?.operationMetrics ?? {}) } };
}

/**
 * Health of a table's latest version: file-size histogram, small files, partition skew (max / median bytes per
 * partition), commits since the last checkpoint, files kept only for time travel (tombstoned but still stored), the
 * last OPTIMIZE and VACUUM in the latest 1000 commits, and the running maintenance job.
 */
export async function tableHealth(deps: AppDeps, name: string): Promise<TableHealth> {
  const { warehouse, catalog, clock } = deps;
  const snapshot = await warehouse.snapshot(name, { fresh: true });
  const ref = warehouse.ref(name);
  const target = targetFileSizeOf(snapshot);
  const small = smallFileThreshold(snapshot);
  const histogram = BUCKETS.map((b, i) => ({ label: b.label, minBytes: b.min, maxBytes: BUCKETS[i + 1]?.min ?? null, files: 0, bytes: 0 }));
  const perPartition = new Map<string, number>();
  let numFiles = 0;
  let totalBytes = 0;
  let smallFiles = 0;
  let smallFileBytes = 0;
  for (const add of snapshot.adds()) {
    numFiles++;
    totalBytes += add.size;
    if (add.size < small) {
      smallFiles++;
      smallFileBytes += add.size;
    }
    let b = histogram.length - 1;
    while (b > 0 && add.size < histogram[b].minBytes) b--;
    histogram[b].files++;
    histogram[b].bytes += add.size;
    const key = JSON.stringify(snapshot.partitionColumns.map((c) => add.partitionValues[c] ?? null));
    perPartition.set(key, (perPartition.get(key) ?? 0) + add.size);
  }
  const sizes = [...perPartition.values()].sort((a, b) => a - b);
  const median = sizes.length === 0 ? 0 : sizes.length % 2 === 1 ? sizes[(sizes.length - 1) / 2] : (sizes[sizes.length / 2 - 1] + sizes[sizes.length / 2]) / 2;
  const max = sizes.length === 0 ? 0 : sizes[sizes.length - 1];

  const cp = await readLastCheckpoint(ref.storage, ref.tableKey);
  const listing = await ref.storage.list(ref.tableKey ? ref.tableKey + '/' : '');
  const stored = new Map(listing.map((o) => [o.key, o.size]));
  let ttFiles = 0;
  let ttBytes = 0;
  for (const r of snapshot.tombstones()) {
    let k: string;
    try {
      k = fileKey(ref.tableKey, r.path, ref.storage.root);
    } catch {
      continue;
    }
    const size = stored.get(k);
    if (size === undefined) continue;
    ttFiles++;
    ttBytes += size;
  }
  const history = await readHistory(ref, { limit: 1000 });
  const lock = await catalog.getMaintenanceLock(name, new Date(clock.now()).toISOString());
  return {
    table: name,
    version: snapshot.version,
    numFiles,
    totalBytes,
    targetFileSize: target,
    smallFileThreshold: small,
    smallFiles,
    smallFileBytes,
    histogram,
    partitions: { count: sizes.length, maxBytes: max, medianBytes: median, skew: median > 0 ? max / median : 1 },
    lastCheckpointVersion: cp?.version ?? null,
    commitsSinceCheckpoint: snapshot.version - (cp?.version ?? -1),
    timeTravel: { files: ttFiles, bytes: ttBytes },
    lastOptimize: lastRun(history, 'OPTIMIZE'),
    lastVacuum: lastRun(history, 'VACUUM END'),
    runningJobId: lock?.jobId ?? null,
    properties: { ...snapshot.properties },
  };
}

/** Advice starts at this many small files an OPTIMIZE would compact. */
export const ADVISE_OPTIMIZE_MIN_FILES = 10;
/** Advice starts at this many commits since the last checkpoint. */
export const ADVISE_CHECKPOINT_MIN_COMMITS = 20;

/** OPTIMIZE throughput and per-file cost behind the advisor's time estimate (`pnpm bench maintenance` on 2 shared CPUs). */
const OPTIMIZE_BYTES_PER_SECOND = 24 * MiB;
const OPTIMIZE_SECONDS_PER_FILE = 0.01;

/** A rough duration of an OPTIMIZE plan in whole seconds (at least 1): fixed start, bytes rewritten, files opened. */
export function estimateOptimizeSeconds(plan: { numBytes: number; numFiles: number }): number {
  return Math.max(1, Math.ceil(0.5 + plan.numBytes / OPTIMIZE_BYTES_PER_SECOND + plan.numFiles * OPTIMIZE_SECONDS_PER_FILE));
}

/**
 * Recommendations for one table: OPTIMIZE when its plan compacts at least 10 files (score: files saved), VACUUM when
 * a dry run with the table's retention finds files to delete (score: MiB reclaimable / 64 + files / 100), a checkpoint
 * after 20 commits without one (score: commits / 20). Each names the request that acts on it.
 */
export async function adviseTable(deps: AppDeps, name: string): Promise<MaintenanceAdviceItem[]> {
  const { warehouse, clock } = deps;
  const snapshot = await warehouse.snapshot(name, { fresh: true });
  const ref = warehouse.ref(name);
  const base = `/api/tables/${encodeURIComponent(name)}`;
  const out: MaintenanceAdviceItem[] = [];

  const plan = planOptimize(snapshot);
  if (plan.numFiles >= ADVISE_OPTIMIZE_MIN_FILES) {
    const expected = plan.bins.reduce((s, b) => s + b.expectedOutputFiles, 0);
    const threshold = smallFileThreshold(snapshot);
    let smallFiles = 0;
    for (const a of snapshot.adds()) if (a.size < threshold) smallFiles++;
    const lead = smallFiles > 0 ? `${smallFiles} files under ${formatBytes(threshold)}` : `${plan.numFiles} files under ${formatBytes(plan.minFileSize)}`;
    out.push({
      table: name,
      kind: 'optimize',
      score: plan.numFiles - expected,
      message: `${lead}: OPTIMIZE would write about ${expected} file${expected === 1 ? '' : 's'} from ${plan.numFiles}; est. ${estimateOptimizeSeconds(plan)} s`,
      action: { method: 'POST', path: `${base}/optimize`, body: {} },
    });
  }

  const v = await vacuum(ref, { dryRun: true, maxListedFiles: 0, clock, snapshot });
  if (v.numFilesToDelete > 0) {
    const lost = v.timeTravel.lostVersions;
    const impact = lost
      ? lost.from === lost.to
        ? `version ${lost.from} would no longer be readable`
        : `versions ${lost.from}-${lost.to} would no longer be readable`
      : 'time travel loses nothing';
    out.push({
      table: name,
      kind: 'vacuum',
      score: v.bytesToDelete / (64 * MiB) + v.numFilesToDelete / 100,
      message: `${formatBytes(v.bytesToDelete)} in ${v.numFilesToDelete} file${v.numFilesToDelete === 1 ? '' : 's'} reclaimable by VACUUM; ${impact}`,
      action: { method: 'POST', path: `${base}/vacuum`, body: { dryRun: false } },
    });
  }

  const cp = await readLastCheckpoint(ref.storage, ref.tableKey);
  const since = snapshot.version - (cp?.version ?? -1);
  if (since >= ADVISE_CHECKPOINT_MIN_COMMITS) {
    out.push({
      table: name,
      kind: 'checkpoint',
      score: since / ADVISE_CHECKPOINT_MIN_COMMITS,
      message: `${since} commits since the last checkpoint: every reader replays them; a checkpoint makes loading one read`,
      action: { method: 'POST', path: `${base}/checkpoint`, body: {} },
    });
  }
  return out;
}

/** Advice across every table of the warehouse, most needed first; tables that fail to load are listed in `errors`. */
export async function adviseAll(deps: AppDeps): Promise<{ items: MaintenanceAdviceItem[]; errors: { table: string; message: string }[] }> {
  const items: MaintenanceAdviceItem[] = [];
  const errors: { table: string; message: string }[] = [];
  for (const name of await deps.warehouse.tableNames()) {
    try {
      items.push(...(await adviseTable(deps, name)));
    } catch (e) {
      errors.push({ table: name, message: e instanceof Error ? e.message : String(e) });
    }
  }
  items.sort((a, b) => b.score - a.score || a.table.localeCompare(b.table) || a.kind.localeCompare(b.kind));
  return { items, errors };
}
