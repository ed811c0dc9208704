import { LakehouseError } from '../../errors.js';
import type { Clock } from '../../storage/storage.js';
import { systemClock } from '../../storage/storage.js';
import type { Action, MetadataAction, ProtocolAction } from '../actions.js';
import { hasWriterFeature } from '../protocol.js';
import type { Snapshot, TableRef } from '../snapshot.js';
import { Snapshot as SnapshotClass } from '../snapshot.js';
import { Transaction } from '../transaction.js';
import { DEFAULT_DELETED_FILE_RETENTION_MS, parseIntervalMs } from './checkpoint.js';
import { withFeatures } from './conform.js';
import { validateProperties } from './create.js';
import { DEFAULT_LOG_RETENTION_MS } from './log-cleanup.js';

/** The `delta.*` table properties this editor changes; other `delta.*` keys need dedicated operations. */
export const EDITABLE_DELTA_PROPERTIES: readonly string[] = [
  'delta.deletedFileRetentionDuration',
  'delta.logRetentionDuration',
  'delta.targetFileSize',
  'delta.checkpointInterval',
  'delta.enableChangeDataFeed',
  'delta.appendOnly',
];

/** Writer features a property needs when set to `true` (PROTOCOL.md: Append-only Tables, Add CDC File). */
const FEATURE_OF: Record<string, string> = {
  'delta.appendOnly': 'appendOnly',
  'delta.enableChangeDataFeed': 'changeDataFeed',
};

/** A validated change of table properties: the new configuration and, when a feature must be added, the new protocol. */
export interface TablePropertyChange {
  configuration: Record<string, string>;
  /** Upgraded protocol, or null when the current one supports every property. */
  protocol: ProtocolAction | null;
  /** Keys whose value changed (set, altered or removed), sorted. */
  changed: string[];
}

/**
 * Validates setting and unsetting table properties against the current metadata and protocol: `delta.*` keys must be
 * editable here, values well-formed (intervals, positive integers, booleans), deleted-file retention no longer than
 * log retention; other keys are free-form. Throws INVALID_INPUT naming the property. Pure.
 */
export function planTablePropertyChange(
  metadata: MetadataAction,
  protocol: ProtocolAction,
  set: Readonly<Record<string, string>> = {},
  unset: readonly string[] = [],
): TablePropertyChange {
  for (const k of [...Object.keys(set), ...unset]) {
    if (!k || k.trim() !== k) throw new LakehouseError('INVALID_INPUT', `property name ${JSON.stringify(k)} is empty or has surrounding spaces`, { property: k });
    if (k.toLowerCase().startsWith('delta.') && !EDITABLE_DELTA_PROPERTIES.includes(k)) {
      throw new LakehouseError(
        'INVALID_INPUT',
        `property ${k} cannot be changed here; editable Delta properties are ${EDITABLE_DELTA_PROPERTIES.join(', ')}`,
        { property: k },
      );
    }
  }
  for (const k of unset) {
    if (k in set) throw new LakehouseError('INVALID_INPUT', `property ${k} is both set and unset`, { property: k });
  }
  for (const [k, v] of Object.entries(set)) {
    if (typeof v !== 'string') throw new LakehouseError('INVALID_INPUT', `property ${k} must have a string value`, { property: k });
  }
  validateProperties({ ...set });
  const configuration = { ...metadata.configuration };
  for (const k of unset) delete configuration[k];
  Object.assign(configuration, set);

  const files = parseIntervalMs(configuration['delta.deletedFileRetentionDuration']) ?? DEFAULT_DELETED_FILE_RETENTION_MS;
  const logs = parseIntervalMs(configuration['delta.logRetentionDuration']) ?? DEFAULT_LOG_RETENTION_MS;
  if (files > logs && ('delta.deletedFileRetentionDuration' in set || 'delta.logRetentionDuration' in set || unset.length > 0)) {
    throw new LakehouseError(
      'INVALID_INPUT',
      `delta.deletedFileRetentionDuration (${files / 3.6e6} hours) must not exceed delta.logRetentionDuration (${logs / 3.6e6} hours): ` +
        'VACUUM needs the commits of the whole file retention window',
      { property: 'delta.deletedFileRetentionDuration' },
    );
  }

  const needed: string[] = [];
  for (const [k, feature] of Object.entries(FEATURE_OF)) {
    if (set[k] === 'true' && !hasWriterFeature(protocol, feature)) needed.push(feature);
  }
  const keys = new Set([...Object.keys(metadata.configuration), ...Object.keys(configuration)]);
  const changed = [...keys].filter((k) => metadata.configuration[k] !== configuration[k]).sort();
  return { configuration, protocol: needed.length > 0 ? withFeatures(protocol, [], needed) : null, changed };
}

/** Options of a table property change. */
export interface SetTablePropertiesOptions {
  /** Properties to set (string values, as Delta stores them). */
  set?: Record<string, string>;
  /** Properties to remove (missing ones are ignored). */
  unset?: string[];
  snapshot?: Snapshot;
  clock?: Clock;
  userName?: string;
  commitExtra?: Record<string, unknown>;
}

/** Result of a table property change. */
export interface SetTablePropertiesResult {
  /** New version, or the read version when nothing changed. */
  version: number;
  committed: boolean;
  changed: string[];
  /** True when a writer feature had to be added to the protocol (appendOnly, changeDataFeed). */
  protocolUpgraded: boolean;
  /** The table properties after the change. */
  properties: Record<string, string>;
}

/**
 * Sets and unsets table properties in one commit (a metaData action, plus a protocol action when a feature must be
 * added), after validation. A no-op change commits nothing. Fails with CONCURRENT_COMMIT when another writer changed
 * metadata or protocol meanwhile; concurrent data commits do not conflict.
 */
export async function setTableProperties(table: TableRef, options: SetTablePropertiesOptions): Promise<SetTablePropertiesResult> {
  const clock = options.clock ?? systemClock;
  const set = options.set ?? {};
  const unset = options.unset ?? [];
  if (Object.keys(set).length === 0 && unset.length === 0) throw new LakehouseError('INVALID_INPUT', 'no property to set or unset');
  const snapshot = options.snapshot ?? (await SnapshotClass.load(table));
  const change = planTablePropertyChange(snapshot.metadata, snapshot.protocol, set, unset);
  if (change.changed.length === 0 && !change.protocol) {
    return { version: snapshot.version, committed: false, changed: [], protocolUpgraded: false, properties: change.configuration };
  }
  const txn = new Transaction(table, snapshot, clock);
  const actions: Action[] = [];
  if (change.protocol) actions.push({ protocol: change.protocol });
  actions.push({ metaData: { ...snapshot.metadata, configuration: change.configuration } });
  txn.add(...actions);
  const setOnly = Object.keys(set).length > 0;
  const result = await txn.commit({
    operation: setOnly ? 'SET TBLPROPERTIES' : 'UNSET TBLPROPERTIES',
    operationParameters: setOnly
      ? { properties: JSON.stringify(set), ...(unset.length > 0 ? { unset: JSON.stringify(unset) } : {}) }
      : { properties: JSON.stringify(unset), ifExists: true },
    userName: options.userName,
    extra: options.commitExtra,
  });
  return { version: result.version, committed: true, changed: change.changed, protocolUpgraded: change.protocol !== null, properties: change.configuration };
}
