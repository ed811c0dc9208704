import { LakehouseError } from '../errors.js';
import type { ObjectInfo, Storage } from '../storage/storage.js';
import { joinKey } from '../storage/storage.js';
import type {
  Action,
  AddAction,
  CommitInfoAction,
  DomainMetadataAction,
  MetadataAction,
  ProtocolAction,
  RemoveAction,
  TxnAction,
} from './actions.js';
import { decodeCheckpointJson, decodeCheckpointParquet } from './checkpoint.js';
import type { CheckpointRef, LogListing } from './log.js';
import { listLog, readCommit, readLastCheckpoint } from './log.js';
import { fileKey, logKey, padVersion } from './paths.js';
import { assertReadable, columnMappingMode, inCommitTimestampsEnabled } from './protocol.js';
import type { ReplayState } from './replay.js';
import { ChangeSet, FileIndex, applyAction, emptyReplayState } from './replay.js';
import type { ColumnMappingMode, StructType } from './schema.js';
import { parseSchemaString } from './schema.js';
import type { FileStats } from './stats.js';
import { parseStats } from './stats.js';

/** A table: a storage and the key prefix of its root. */
export interface TableRef {
  storage: Storage;
  /** Key prefix of the table root (`''` when the storage root is the table). */
  tableKey: string;
}

/** One commit of the table's history. */
export interface CommitEntry {
  version: number;
  /** Commit time in epoch ms: in-commit timestamp when enabled, otherwise the commit file's modification time. */
  timestamp: number;
  commitInfo: CommitInfoAction | null;
}

/** A live data file of a snapshot. */
export interface ActiveFile {
  /** Storage key of the data file. */
  key: string;
  add: AddAction;
}

/** Options to pick the version of a snapshot. */
export interface SnapshotOptions {
  version?: number;
  /** Epoch ms or ISO-8601 string: the latest version committed at or before it. */
  timestamp?: number | string;
}

/** Runs `fn` over `items` with at most `limit` in flight, keeping result order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  });
  await Promise.all(workers);
  return out;
}

interface LoadedCommit {
  version: number;
  info: ObjectInfo;
  actions: Action[];
}

function commitInfoOf(actions: readonly Action[]): CommitInfoAction | null {
  for (const a of actions) if ('commitInfo' in a) return a.commitInfo;
  return null;
}

function tableName(ref: TableRef): string {
  return ref.tableKey ? joinKey(ref.storage.root, ref.tableKey) : ref.storage.root;
}

const statsCache = new WeakMap<AddAction, FileStats | null>();

/** Parsed stats of an add action (cached per action object); null when absent or malformed. */
export function statsOf(add: AddAction): FileStats | null {
  let s = statsCache.get(add);
  if (s === undefined) {
    s = parseStats(add.stats);
    statsCache.set(add, s);
  }
  return s;
}

/**
 * An immutable view of a table at one version: protocol, metadata, schema and the live files. Loading checks the
 * protocol before anything else and refuses tables this core cannot read.
 */
export class Snapshot {
  /** Table version of this snapshot. */
  readonly version: number;
  readonly protocol: ProtocolAction;
  readonly metadata: MetadataAction;
  /** Logical schema. */
  readonly schema: StructType;
  readonly columnMappingMode: ColumnMappingMode;
  /** Commit timestamp of `version` (epoch ms). */
  readonly timestamp: number;

  private constructor(
    readonly table: TableRef,
    version: number,
    protocol: ProtocolAction,
    metadata: MetadataAction,
    timestamp: number,
    private readonly fileIndex: FileIndex<AddAction>,
    private readonly tombstoneIndex: FileIndex<RemoveAction>,
    /** Transaction identifiers by appId. */
    readonly txns: ReadonlyMap<string, TxnAction>,
    /** Live domain metadata by domain. */
    readonly domains: ReadonlyMap<string, DomainMetadataAction>,
    /** Versions whose commit files were replayed on top of the checkpoint (used by incremental refresh). */
    private readonly logSegment: { checkpointVersion: number | null; commits: ReadonlyMap<number, ObjectInfo> },
  ) {
    this.version = version;
    this.protocol = protocol;
    this.metadata = metadata;
    this.timestamp = timestamp;
    this.schema = parseSchemaString(metadata.schemaString);
    this.columnMappingMode = columnMappingMode(metadata);
  }

  /** Partition column names (logical). */
  get partitionColumns(): string[] {
    return this.metadata.partitionColumns;
  }

  /** Table properties (`metaData.configuration`). */
  get properties(): Readonly<Record<string, string>> {
    return this.metadata.configuration;
  }

  /** Number of live data files. */
  get numFiles(): number {
    return this.fileIndex.size;
  }

  /** The live add actions. */
  adds(): IterableIterator<AddAction> {
    return this.fileIndex.values();
  }

  /** The live files with their storage keys. */
  *files(): IterableIterator<ActiveFile> {
    for (const add of this.fileIndex.values()) yield { key: this.fileKey(add.path), add };
  }

  /** Remove tombstones still in the log state (for VACUUM). */
  tombstones(): IterableIterator<RemoveAction> {
    return this.tombstoneIndex.values();
  }

  /** Storage key of a path referenced by this table's log. */
  fileKey(path: string): string {
    return fileKey(this.table.tableKey, path, this.table.storage.root);
  }

  /** Total bytes of live data files. */
  get sizeInBytes(): number {
    let n = 0;
    for (const a of this.fileIndex.values()) n += a.size;
    return n;
  }

  /** Loads the latest snapshot or the one picked by `options` (time travel). */
  static async load(table: TableRef, options: SnapshotOptions = {}): Promise<Snapshot> {
    if (options.version !== undefined && options.timestamp !== undefined) {
      throw new LakehouseError('INVALID_INPUT', 'give either a version or a timestamp, not both');
    }
    let target = options.version;
    if (target !== undefined && (!Number.isInteger(target) || target < 0)) {
      throw new LakehouseError('INVALID_INPUT', `version must be a non-negative integer, got ${target}`);
    }
    if (options.timestamp !== undefined) target = await versionAtTimestamp(table, options.timestamp);
    const { listing, partial } = await listForLoad(table, target);
    try {
      return await loadFromListing(table, listing, target);
    } catch (e) {
      // A listing that started at the _last_checkpoint hint cannot fall back past that checkpoint: list it all.
      if (!partial || (e instanceof LakehouseError && e.code === 'UNSUPPORTED_FEATURE')) throw e;
      return loadFromListing(table, await listLog(table.storage, table.tableKey), target);
    }
  }

  /** The snapshot at the latest version, reading only commits newer than this one; returns `this` when up to date. */
  async update(): Promise<Snapshot> {
    const listing = await listLog(this.table.storage, this.table.tableKey, this.version + 1);
    const newVersions = [...listing.commits.keys()].filter((v) => v > this.version).sort((a, b) => a - b);
    if (newVersions.length === 0) return this;
    newVersions.forEach((v, i) => {
      if (v !== this.version + 1 + i) {
        throw new LakehouseError('CORRUPT_LOG', `missing commit file ${padVersion(this.version + 1 + i)}.json in ${tableName(this.table)}`, {
          version: this.version + 1 + i,
        });
      }
    });
    const commits = await readCommits(this.table, newVersions.map((v) => ({ version: v, info: listing.commits.get(v)! })));
    const protocol = findLast(commits, 'protocol') ?? this.protocol;
    assertReadable(protocol, tableName(this.table));
    const state: ReplayState<ChangeSet<AddAction>, ChangeSet<RemoveAction>> = {
      protocol,
      metadata: this.metadata,
      files: new ChangeSet(),
      tombstones: new ChangeSet(),
      txns: new Map(this.txns),
      domains: new Map(this.domains),
    };
    for (const c of commits) for (const a of c.actions) applyAction(state, a);
    const last = commits[commits.length - 1];
    const segCommits = new Map(this.logSegment.commits);
    for (const c of commits) segCommits.set(c.version, c.info);
    return new Snapshot(
      this.table,
      last.version,
      state.protocol!,
      state.metadata!,
      commitTimestamp(last, state.metadata!),
      state.files.applyTo(this.fileIndex),
      state.tombstones.applyTo(this.tombstoneIndex),
      state.txns,
      state.domains,
      { checkpointVersion: this.logSegment.checkpointVersion, commits: segCommits },
    );
  }

  /** @internal Builds a snapshot from a finished replay. */
  static fromReplay(
    table: TableRef,
    version: number,
    state: ReplayState,
    timestamp: number,
    segment: { checkpointVersion: number | null; commits: ReadonlyMap<number, ObjectInfo> },
  ): Snapshot {
    if (!state.protocol) throw new LakehouseError('CORRUPT_LOG', `no protocol action in the log of ${tableName(table)} at version ${version}`);
    if (!state.metadata) throw new LakehouseError('CORRUPT_LOG', `no metaData action in the log of ${tableName(table)} at version ${version}`);
    return new Snapshot(
      table,
      version,
      state.protocol,
      state.metadata,
      timestamp,
      FileIndex.of(state.files),
      FileIndex.of(state.tombstones),
      state.txns,
      state.domains,
      segment,
    );
  }
}

function findLast<K extends 'protocol' | 'metaData'>(
  commits: readonly LoadedCommit[],
  key: K,
): (K extends 'protocol' ? ProtocolAction : MetadataAction) | null {
  for (let i = commits.length - 1; i >= 0; i--) {
    const acts = commits[i].actions;
    for (let j = acts.length - 1; j >= 0; j--) {
      const a = acts[j] as Record<string, unknown>;
      if (key in a) return a[key] as K extends 'protocol' ? ProtocolAction : MetadataAction;
    }
  }
  return null;
}

function commitTimestamp(c: LoadedCommit, metadata: MetadataAction | null): number {
  if (metadata && inCommitTimestampsEnabled(metadata)) {
    const ict = commitInfoOf(c.actions)?.inCommitTimestamp;
    if (typeof ict === 'number') return ict;
  }
  return c.info.lastModified;
}

async function readCommits(table: TableRef, refs: { version: number; info: ObjectInfo }[]): Promise<LoadedCommit[]> {
  return mapLimit(refs, 16, async (r) => ({ version: r.version, info: r.info, actions: await readCommit(table.storage, r.info) }));
}

async function listForLoad(table: TableRef, target: number | undefined): Promise<{ listing: LogListing; partial: boolean }> {
  const hint = await readLastCheckpoint(table.storage, table.tableKey);
  if (hint && hint.version > 0 && (target === undefined || hint.version <= target)) {
    const listing = await listLog(table.storage, table.tableKey, hint.version);
    if (listing.checkpoints.some((c) => c.version === hint.version)) return { listing, partial: true };
  }
  return { listing: await listLog(table.storage, table.tableKey), partial: false };
}

async function notFoundError(table: TableRef): Promise<LakehouseError> {
  const any = await table.storage.list(table.tableKey ? table.tableKey + '/' : '');
  if (any.length === 0) return new LakehouseError('TABLE_NOT_FOUND', `no table at ${tableName(table)}`, { table: tableName(table) });
  return new LakehouseError('NOT_A_DELTA_TABLE', `${tableName(table)} is not a Delta table: no commits in _delta_log`, {
    table: tableName(table),
  });
}

async function decodeCheckpoint(table: TableRef, cp: CheckpointRef): Promise<Action[]> {
  const out: Action[] = [];
  for (const f of cp.files) {
    const bytes = await table.storage.get(f.key);
    const acts = cp.format === 'json' ? decodeCheckpointJson(new TextDecoder().decode(bytes), f.key) : await decodeCheckpointParquet(bytes, undefined, { fileName: f.key });
    for (const a of acts) {
      if ('sidecar' in a) {
        const p = a.sidecar.path;
        const key = /^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(p)
          ? fileKey(table.tableKey, p, table.storage.root)
          : logKey(table.tableKey, '_sidecars/' + decodeURIComponent(p));
        const side = await decodeCheckpointParquet(await table.storage.get(key), undefined, { fileName: key });
        for (const s of side) out.push(s);
      } else out.push(a);
    }
  }
  return out;
}

async function loadFromListing(table: TableRef, listing: LogListing, requested: number | undefined): Promise<Snapshot> {
  const name = tableName(table);
  const versions = [...listing.commits.keys()];
  const cpVersions = listing.checkpoints.map((c) => c.version);
  if (versions.length === 0 && cpVersions.length === 0) throw await notFoundError(table);
  const latest = Math.max(...versions, ...cpVersions);
  const target = requested ?? latest;
  if (target > latest) {
    throw new LakehouseError('VERSION_NOT_FOUND', `version ${target} of ${name} does not exist; the latest version is ${latest}`, {
      version: target,
      latest,
    });
  }
  const candidates = listing.checkpoints.filter((c) => c.version <= target).reverse();
  let lastError: unknown = null;
  // Newest usable checkpoint first; a checkpoint that fails to decode falls back to an older one or to the commits.
  for (const cp of [...candidates, null]) {
    const from = cp ? cp.version + 1 : 0;
    for (let v = from; v <= target; v++) {
      if (!listing.commits.has(v)) {
        // A newer checkpoint existed but could not be read, and the commits it covered are gone: the log is corrupt.
        if (!cp && lastError !== null) throw unreadableLog(name, lastError);
        if (!cp && v === 0 && versions.length > 0 && Math.min(...versions) > 0) {
          const earliest = Math.min(...versions);
          throw new LakehouseError(
            'VERSION_NOT_FOUND',
            `version ${target} of ${name} is no longer available: its log was cleaned up and no checkpoint covers it (earliest version ${earliest})`,
            { version: target, earliest },
          );
        }
        throw new LakehouseError('CORRUPT_LOG', `missing commit file _delta_log/${padVersion(v)}.json in ${name} (the log skips version ${v})`, {
          version: v,
          file: `_delta_log/${padVersion(v)}.json`,
        });
      }
    }
    const refs = [];
    for (let v = from; v <= target; v++) refs.push({ version: v, info: listing.commits.get(v)! });
    const commits = await readCommits(table, refs);
    let cpActions: Action[] = [];
    const newestProtocol = findLast(commits, 'protocol');
    if (newestProtocol) assertReadable(newestProtocol, name);
    if (cp) {
      try {
        cpActions = await decodeCheckpoint(table, cp);
      } catch (e) {
        if (e instanceof LakehouseError && e.code === 'UNSUPPORTED_FEATURE') throw e;
        lastError = e;
        continue;
      }
    }
    const state = emptyReplayState();
    if (!newestProtocol) {
      const p = cpActions.find((a): a is { protocol: ProtocolAction } => 'protocol' in a);
      if (p) assertReadable(p.protocol, name);
    }
    for (const a of cpActions) applyAction(state, a);
    for (const c of commits) for (const a of c.actions) applyAction(state, a);
    if (!state.protocol) throw new LakehouseError('CORRUPT_LOG', `no protocol action in the log of ${name} at version ${target}`);
    const last = commits[commits.length - 1];
    let ts: number;
    if (last) ts = commitTimestamp(last, state.metadata);
    else if (state.metadata && inCommitTimestampsEnabled(state.metadata) && listing.commits.has(target)) {
      ts = commitTimestamp({ version: target, info: listing.commits.get(target)!, actions: await readCommit(table.storage, listing.commits.get(target)!) }, state.metadata);
    } else ts = (listing.commits.get(target) ?? cp!.files[0]).lastModified;
    const seg = new Map<number, ObjectInfo>();
    for (const c of commits) seg.set(c.version, c.info);
    return Snapshot.fromReplay(table, target, state, ts, { checkpointVersion: cp ? cp.version : null, commits: seg });
  }
  throw unreadableLog(name, lastError);
}

/** CORRUPT_LOG for a log whose checkpoint could not be read (storage failures keep their own code). */
function unreadableLog(name: string, cause: unknown): LakehouseError {
  if (cause instanceof LakehouseError && cause.code === 'STORAGE_ERROR') return cause;
  const msg = cause instanceof Error ? cause.message : String(cause);
  return new LakehouseError('CORRUPT_LOG', `cannot read the log of ${name}: ${msg}`, {}, { cause });
}

/** Parses a timestamp given as epoch ms or ISO-8601 (a bare date or `YYYY-MM-DD HH:MM:SS` is taken as UTC). */
export function parseTimestamp(ts: number | string): number {
  if (typeof ts === 'number') return ts;
  let s = ts.trim();
  if (/^\d{4}-\d{2}-\d{2}$/.test(s)) s += 'T00:00:00Z';
  else if (/^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(s)) s = s.replace(' ', 'T') + 'Z';
  else s = s.replace(' ', 'T');
  const t = Date.parse(s);
  if (Number.isNaN(t)) throw new LakehouseError('INVALID_INPUT', `not a timestamp: "${ts}" (use ISO-8601, e.g. 2024-05-01T10:00:00Z)`);
  return t;
}

/**
 * Commit history, newest first: every commit file still in the log with its commitInfo and commit timestamp
 * (in-commit timestamps where enabled, else file modification times made monotonic as Delta readers do).
 */
export async function readHistory(table: TableRef, options: { limit?: number } = {}): Promise<CommitEntry[]> {
  const listing = await listLog(table.storage, table.tableKey);
  const versions = [...listing.commits.keys()].sort((a, b) => a - b);
  if (versions.length === 0) throw await notFoundError(table);
  const picked = options.limit !== undefined ? versions.slice(-options.limit) : versions;
  const commits = await readCommits(
    table,
    picked.map((v) => ({ version: v, info: listing.commits.get(v)! })),
  );
  const out: CommitEntry[] = [];
  let ictOn = false;
  let prev = -Infinity;
  for (const c of commits) {
    for (const a of c.actions) if ('metaData' in a) ictOn = inCommitTimestampsEnabled(a.metaData);
    const ci = commitInfoOf(c.actions);
    let ts = ictOn && typeof ci?.inCommitTimestamp === 'number' ? ci.inCommitTimestamp : c.info.lastModified;
    if (ts <= prev) ts = prev + 1;
    prev = ts;
    out.push({ version: c.version, timestamp: ts, commitInfo: ci });
  }
  return out.reverse();
}

/** The latest version committed at or before `timestamp`; VERSION_NOT_FOUND when it precedes the earliest commit. */
export async function versionAtTimestamp(table: TableRef, timestamp: number | string): Promise<number> {
  const t = parseTimestamp(timestamp);
  const history = await readHistory(table);
  for (const h of history) if (h.timestamp <= t) return h.version;
  const earliest = history[history.length - 1];
  throw new LakehouseError(
    'VERSION_NOT_FOUND',
    `timestamp ${new Date(t).toISOString()} is before the earliest available commit (version ${earliest.version} at ${new Date(earliest.timestamp).toISOString()})`,
    { timestamp: t, earliestVersion: earliest.version },
  );
}
