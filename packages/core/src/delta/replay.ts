import type {
  Action,
  AddAction,
  DeletionVectorDescriptor,
  DomainMetadataAction,
  MetadataAction,
  ProtocolAction,
  RemoveAction,
  TxnAction,
} from './actions.js';
import { deletionVectorUniqueId } from './deletion-vector.js';

/**
 * An immutable map of files keyed by identity, built as a shared base plus a small overlay so that deriving the next
 * version costs O(changes), not O(files). Iteration order is unspecified.
 */
export class FileIndex<T> {
  private constructor(
    private readonly base: ReadonlyMap<string, T>,
    private readonly added: ReadonlyMap<string, T>,
    private readonly removed: ReadonlySet<string>,
    /** Number of live entries. */
    readonly size: number,
  ) {}

  /** An index holding exactly the entries of `map` (the map must not be mutated afterwards). */
  static of<T>(map: ReadonlyMap<string, T>): FileIndex<T> {
    return new FileIndex(map, new Map(), new Set(), map.size);
  }

  /** The live entry for `key`, if any. */
  get(key: string): T | undefined {
    const a = this.added.get(key);
    if (a !== undefined) return a;
    if (this.removed.has(key)) return undefined;
    return this.base.get(key);
  }

  /** True when `key` is live. */
  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** Live entries. */
  *entries(): IterableIterator<[string, T]> {
    for (const e of this.base) {
      if (this.added.has(e[0]) || this.removed.has(e[0])) continue;
      yield e;
    }
    yield* this.added;
  }

  /** Live values. */
  *values(): IterableIterator<T> {
    for (const [, v] of this.entries()) yield v;
  }

  /** A new index with `deletes` removed and `sets` applied (a key in both stays set); this index is unchanged. */
  with(sets: ReadonlyMap<string, T>, deletes: ReadonlySet<string>): FileIndex<T> {
    if (sets.size === 0 && deletes.size === 0) return this;
    const added = new Map(this.added);
    const removed = new Set(this.removed);
    let size = this.size;
    for (const k of deletes) {
      if (sets.has(k)) continue;
      if (this.has(k)) size--;
      added.delete(k);
      if (this.base.has(k)) removed.add(k);
    }
    for (const [k, v] of sets) {
      if (!this.has(k)) size++;
      added.set(k, v);
      removed.delete(k);
    }
    if (added.size + removed.size > Math.max(4096, this.base.size / 16)) {
      const flat = new Map<string, T>();
      const next = new FileIndex(this.base, added, removed, size);
      for (const [k, v] of next.entries()) flat.set(k, v);
      return FileIndex.of(flat);
    }
    return new FileIndex(this.base, added, removed, size);
  }
}

/** Identity of a file action in log reconciliation: decoded path plus DV unique id (PROTOCOL.md: Action Reconciliation). */
export function fileActionKey(path: string, dv: DeletionVectorDescriptor | null | undefined): string {
  let p = path;
  if (p.includes('%')) {
    try {
      p = decodeURIComponent(p);
    } catch {
      // keep the raw path: the reader reports the bad URI when it touches the file
    }
  }
  return dv ? `${p}\u0000${deletionVectorUniqueId(dv)}` : p;
}

/** The two mutations log replay makes to a keyed collection (a Map, or a ChangeSet over an older FileIndex). */
export interface KeyedMutations<T> {
  set(key: string, value: T): unknown;
  delete(key: string): unknown;
}

/** Records sets and deletes to apply to a FileIndex later; the last mutation of a key wins. */
export class ChangeSet<T> implements KeyedMutations<T> {
  /** Keys set, with their values. */
  readonly sets = new Map<string, T>();
  /** Keys deleted (and not set again afterwards). */
  readonly deletes = new Set<string>();
  /** Records that `key` now maps to `value`. */
  set(key: string, value: T): void {
    this.sets.set(key, value);
    this.deletes.delete(key);
  }
  /** Records that `key` is gone. */
  delete(key: string): void {
    this.sets.delete(key);
    this.deletes.add(key);
  }
  /** Applies the recorded mutations to `index`. */
  applyTo(index: FileIndex<T>): FileIndex<T> {
    return index.with(this.sets, this.deletes);
  }
}

/** Mutable state of log replay; `applyAction` is its reducer. */
export interface ReplayState<
  F extends KeyedMutations<AddAction> = Map<string, AddAction>,
  R extends KeyedMutations<RemoveAction> = Map<string, RemoveAction>,
> {
  protocol: ProtocolAction | null;
  metadata: MetadataAction | null;
  /** Live add actions keyed by fileActionKey. */
  files: F;
  /** Remove tombstones keyed by fileActionKey (kept for VACUUM and checkpoints). */
  tombstones: R;
  txns: Map<string, TxnAction>;
  domains: Map<string, DomainMetadataAction>;
}

/** A fresh, empty replay state. */
export function emptyReplayState(): ReplayState {
  return { protocol: null, metadata: null, files: new Map(), tombstones: new Map(), txns: new Map(), domains: new Map() };
}

/**
 * The log replay reducer: applies one action in log order and returns the state (PROTOCOL.md: Action Reconciliation).
 * Deterministic; commitInfo, cdc and checkpoint bookkeeping actions do not change the table state.
 */
export function applyAction<S extends ReplayState<KeyedMutations<AddAction>, KeyedMutations<RemoveAction>>>(state: S, action: Action): S {
  if ('add' in action) {
    const k = fileActionKey(action.add.path, action.add.deletionVector);
    state.files.set(k, action.add);
    state.tombstones.delete(k);
  } else if ('remove' in action) {
    const k = fileActionKey(action.remove.path, action.remove.deletionVector);
    state.files.delete(k);
    state.tombstones.set(k, action.remove);
  } else if ('metaData' in action) {
    state.metadata = action.metaData;
  } else if ('protocol' in action) {
    state.protocol = action.protocol;
  } else if ('txn' in action) {
    state.txns.set(action.txn.appId, action.txn);
  } else if ('domainMetadata' in action) {
    if (action.domainMetadata.removed) state.domains.delete(action.domainMetadata.domain);
    else state.domains.set(action.domainMetadata.domain, action.domainMetadata);
  }
  return state;
}

/** Replays a list of actions from an empty state (convenience for tests and small logs). */
export function replay(actions: Iterable<Action>, state: ReplayState = emptyReplayState()): ReplayState {
  for (const a of actions) applyAction(state, a);
  return state;
}
