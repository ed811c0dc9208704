import { LakehouseError } from '../errors.js';
import type { Clock } from '../storage/storage.js';
import type { Action, AddAction, CommitInfoAction, MetadataAction, ProtocolAction, RemoveAction } from './actions.js';
import type { Expr } from './expression.js';
import { parsePartitionValue } from './partition-values.js';
import { logKey, padVersion } from './paths.js';
import { assertWritable, columnMappingMode, inCommitTimestampsEnabled } from './protocol.js';
import { fileActionKey } from './replay.js';
import { parseSchemaString } from './schema.js';
import type { Snapshot, TableRef } from './snapshot.js';
import { Snapshot as SnapshotClass, mapLimit } from './snapshot.js';
import { readCommit } from './log.js';
import { evaluatePredicate, mayMatch, partitionColumnFacts, statsColumnFacts, parseStats } from './stats.js';
import { writeCheckpoint } from './operations/checkpoint.js';

/** Engine name written into commitInfo.engineInfo. */
export const ENGINE_INFO = 'lakehouse-console/0.1.0';

/** What a transaction read, for conflict detection (PROTOCOL.md does not prescribe this; it follows Delta's checker). */
export interface ReadSet {
  /** The transaction read the whole table (e.g. full overwrite): any concurrent data change conflicts. */
  wholeTable?: boolean;
  /** The transaction read rows matching this predicate over logical columns; concurrent adds that may match conflict. */
  predicate?: Expr | null;
  /** The transaction only rearranges data (dataChange=false): concurrent appends never conflict with it. */
  rearrangeOnly?: boolean;
}

/** Provenance written into commitInfo. */
export interface CommitRequest {
  operation: string;
  operationParameters?: Record<string, unknown>;
  operationMetrics?: Record<string, number | string>;
  userName?: string;
  /** Extra commitInfo fields (e.g. lineage: source and target tables). */
  extra?: Record<string, unknown>;
  /** Retries after lost races before failing with CONCURRENT_COMMIT (default 1000). */
  maxRetries?: number;
  /** Write a checkpoint when the version is a multiple of delta.checkpointInterval (default true). */
  checkpoint?: boolean;
}

/** The result of a successful commit. */
export interface CommitResult {
  version: number;
  /** Lost races that were retried. */
  retries: number;
  /** True when a checkpoint was written for this version. */
  checkpointed: boolean;
}

/**
 * One atomic change to a table: the actions are written as `_delta_log/<version>.json` with put-if-absent. On a lost
 * race the winning commits are checked against what this transaction read; without a logical conflict it retries
 * at the next version, otherwise it fails with CONCURRENT_COMMIT naming the winning version.
 */
export class Transaction {
  private readonly actions: Action[] = [];
  private readSet: ReadSet = {};

  constructor(
    readonly table: TableRef,
    /** The snapshot the transaction read, or null when it creates the table. */
    readonly readSnapshot: Snapshot | null,
    private readonly clock: Clock,
  ) {
    if (readSnapshot) assertWritable(readSnapshot.protocol, readSnapshot.metadata, readSnapshot.table.tableKey || readSnapshot.table.storage.root);
  }

  /** Adds actions (add, remove, metaData, protocol, txn, domainMetadata) to the commit. */
  add(...actions: Action[]): this {
    for (const a of actions) {
      if ('commitInfo' in a) throw new LakehouseError('INTERNAL', 'commitInfo is written by the transaction itself');
      this.actions.push(a);
    }
    return this;
  }

  /** Records what the transaction read (for conflict detection). */
  read(readSet: ReadSet): this {
    this.readSet = { ...this.readSet, ...readSet };
    return this;
  }

  private get removes(): RemoveAction[] {
    return this.actions.flatMap((a) => ('remove' in a ? [a.remove] : []));
  }

  private get isBlindAppend(): boolean {
    return !this.readSet.wholeTable && !this.readSet.predicate && this.removes.length === 0 && this.actions.every((a) => 'add' in a || 'txn' in a);
  }

  /** Commits; see the class doc for the concurrency guarantees. */
  async commit(req: CommitRequest): Promise<CommitResult> {
    const base = this.readSnapshot;
    this.checkFeatures();
    let version = base ? base.version + 1 : 0;
    let lastTimestamp = base?.timestamp ?? 0;
    const maxRetries = req.maxRetries ?? 1000;
    for (let attempt = 0; ; attempt++) {
      const commitInfo = this.commitInfo(req, lastTimestamp);
      const body = [{ commitInfo }, ...this.actions].map((a) => JSON.stringify(a)).join('\n') + '\n';
      const key = logKey(this.table.tableKey, `${padVersion(version)}.json`);
      const won = await this.table.storage.putIfAbsent(key, new TextEncoder().encode(body));
      if (won) {
        let checkpointed = false;
        if (req.checkpoint !== false) checkpointed = await this.maybeCheckpoint(version);
        return { version, retries: attempt, checkpointed };
      }
      if (!base) {
        throw new LakehouseError('TABLE_EXISTS', `a table already exists at ${this.table.tableKey || this.table.storage.root}`);
      }
      if (attempt >= maxRetries) {
        throw new LakehouseError('CONCURRENT_COMMIT', `gave up after ${attempt + 1} lost races; version ${version} was committed by another writer`, {
          version,
        });
      }
      // Back off a little under heavy contention, then read every commit that won since our last attempt, check it
      // against what we read, and retry at once at the next free version.
      if (attempt > 2) await new Promise((r) => setTimeout(r, Math.random() * Math.min(20, 2 ** (attempt - 2))));
      const winners = await this.readWinners(version);
      for (const w of winners) {
        this.checkConflict(w.version, w.actions);
        for (const a of w.actions) if ('commitInfo' in a && typeof a.commitInfo.inCommitTimestamp === 'number') lastTimestamp = a.commitInfo.inCommitTimestamp;
      }
      version = winners[winners.length - 1].version + 1;
    }
  }

  private async readWinners(from: number): Promise<{ version: number; actions: Action[] }[]> {
    const { storage, tableKey } = this.table;
    const listing = await storage.list(logKey(tableKey) + '/', { startAfter: logKey(tableKey, padVersion(from - 1) + '.~') });
    const versions = listing
      .map((i) => /\/(\d{20})\.json$/.exec(i.key))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m, i) => ({ version: Number(m[1]), info: listing.filter((x) => /\/\d{20}\.json$/.test(x.key))[i] }))
      .filter((x) => x.version >= from)
      .sort((a, b) => a.version - b.version);
    if (versions.length === 0 || versions[0].version !== from) {
      throw new LakehouseError('CORRUPT_LOG', `commit ${padVersion(from)}.json exists but could not be listed`, { version: from });
    }
    return mapLimit(versions, 8, async (v) => ({ version: v.version, actions: await readCommit(storage, v.info) }));
  }

  /** Throws CONCURRENT_COMMIT when the winning commit `version` logically conflicts with this transaction. */
  private checkConflict(version: number, winner: Action[]): void {
    const fail = (why: string): never => {
      throw new LakehouseError('CONCURRENT_COMMIT', `conflict with concurrent commit version ${version}: ${why}`, { winningVersion: version });
    };
    for (const a of winner) {
      if ('metaData' in a) fail('it changed the table metadata or schema');
      if ('protocol' in a) fail('it changed the table protocol');
    }
    const ourTxns = new Set(this.actions.flatMap((a) => ('txn' in a ? [a.txn.appId] : [])));
    for (const a of winner) if ('txn' in a && ourTxns.has(a.txn.appId)) fail(`it committed for the same application id "${a.txn.appId}"`);
    if (this.isBlindAppend) return;

    const readKeys = new Set(this.removes.map((r) => fileActionKey(r.path, r.deletionVector)));
    for (const a of winner) {
      if ('remove' in a && readKeys.has(fileActionKey(a.remove.path, a.remove.deletionVector))) {
        fail(`it removed file ${a.remove.path}, which this transaction also rewrites or removes`);
      }
    }
    if (this.readSet.rearrangeOnly) return;
    for (const a of winner) {
      if (!('add' in a) || !a.add.dataChange) continue;
      if (this.readSet.wholeTable) fail(`it added file ${a.add.path} to the table this transaction replaces`);
      if (this.readSet.predicate && this.mayMatchAdd(a.add)) fail(`it added file ${a.add.path} with rows that may match this transaction's predicate`);
    }
  }

  private mayMatchAdd(add: AddAction): boolean {
    const snap = this.readSnapshot!;
    const pred = this.readSet.predicate!;
    const mode = snap.columnMappingMode;
    const stats = parseStats(add.stats);
    const fields = new Map(snap.schema.fields.map((f) => [f.name, f]));
    const parts = new Set(snap.partitionColumns);
    return mayMatch(
      pred,
      (col) => {
        const f = fields.get(col);
        if (!f) return undefined;
        const phys = mode === 'none' ? f.name : String(f.metadata['delta.columnMapping.physicalName']);
        if (parts.has(col)) return partitionColumnFacts(parsePartitionValue(add.partitionValues[phys] ?? null, f.type, col), stats?.numRecords);
        return statsColumnFacts(stats, [phys]);
      },
      (col) => fields.get(col)?.type,
    );
  }

  private checkFeatures(): void {
    const base = this.readSnapshot;
    const metadata = this.lastOf('metaData') ?? base?.metadata;
    if (!metadata) throw new LakehouseError('INVALID_INPUT', 'a new table needs a metaData action');
    const protocol = this.lastOf('protocol') ?? base?.protocol;
    if (!protocol) throw new LakehouseError('INVALID_INPUT', 'a new table needs a protocol action');
    assertWritable(protocol, metadata, this.table.tableKey || this.table.storage.root);
    parseSchemaString(metadata.schemaString);
    if (metadata.configuration['delta.appendOnly'] === 'true') {
      const r = this.removes.find((x) => x.dataChange);
      if (r) {
        throw new LakehouseError('INVALID_INPUT', `table is append-only (delta.appendOnly=true): cannot remove ${r.path}`, { property: 'delta.appendOnly' });
      }
    }
    if (columnMappingMode(metadata) !== 'none' && protocol.minReaderVersion < 2) {
      throw new LakehouseError('INVALID_INPUT', 'column mapping needs reader version 2 or the columnMapping feature');
    }
  }

  private lastOf(key: 'metaData'): MetadataAction | undefined;
  private lastOf(key: 'protocol'): ProtocolAction | undefined;
  private lastOf(key: 'metaData' | 'protocol'): MetadataAction | ProtocolAction | undefined {
    for (let i = this.actions.length - 1; i >= 0; i--) {
      const a = this.actions[i] as Record<string, unknown>;
      if (key in a) return a[key] as MetadataAction | ProtocolAction;
    }
    return undefined;
  }

  private commitInfo(req: CommitRequest, lastTimestamp: number): CommitInfoAction {
    const now = this.clock.now();
    const metadata = this.lastOf('metaData') ?? this.readSnapshot?.metadata;
    const info: CommitInfoAction = {};
    if (metadata && inCommitTimestampsEnabled(metadata)) {
      // PROTOCOL.md: In-Commit Timestamps: strictly increasing, commitInfo first.
      info.inCommitTimestamp = Math.max(now, lastTimestamp + 1);
    }
    Object.assign(info, {
      timestamp: now,
      operation: req.operation,
      operationParameters: req.operationParameters ?? {},
      ...(this.readSnapshot ? { readVersion: this.readSnapshot.version } : {}),
      isolationLevel: 'Serializable',
      isBlindAppend: this.isBlindAppend,
      operationMetrics: Object.fromEntries(Object.entries(req.operationMetrics ?? {}).map(([k, v]) => [k, String(v)])),
      engineInfo: ENGINE_INFO,
      txnId: crypto.randomUUID(),
      ...(req.userName ? { userName: req.userName } : {}),
      ...(req.extra ?? {}),
    });
    return info;
  }

  private async maybeCheckpoint(version: number): Promise<boolean> {
    const metadata = this.lastOf('metaData') ?? this.readSnapshot?.metadata;
    const interval = Number(metadata?.configuration['delta.checkpointInterval'] ?? 10);
    if (!Number.isInteger(interval) || interval <= 0 || version === 0 || version % interval !== 0) return false;
    try {
      const snap = this.readSnapshot ? await this.readSnapshot.update() : await SnapshotClass.load(this.table);
      await writeCheckpoint(snap.version === version ? snap : await SnapshotClass.load(this.table, { version }), { clock: this.clock });
      return true;
    } catch {
      // The commit is durable; a failed checkpoint only costs readers time. The next interval tries again.
      return false;
    }
  }
}

/** Reads the predicate-exact partition check used by replaceWhere and partition deletes. */
export function partitionMatches(snapshot: Snapshot, pred: Expr, add: AddAction): boolean | null {
  const fields = new Map(snapshot.schema.fields.map((f) => [f.name, f]));
  const mode = snapshot.columnMappingMode;
  return evaluatePredicate(pred, (col) => {
    const f = fields.get(col) ?? [...fields.values()].find((x) => x.name.toLowerCase() === col.toLowerCase());
    if (!f || !snapshot.partitionColumns.includes(f.name)) return undefined;
    const phys = mode === 'none' ? f.name : String(f.metadata['delta.columnMapping.physicalName']);
    return { value: parsePartitionValue(add.partitionValues[phys] ?? null, f.type, f.name), type: f.type };
  });
}
