import { LakehouseError } from '../errors.js';
import type { MetadataAction, ProtocolAction } from './actions.js';

// PROTOCOL.md: Table Features, Protocol Evolution.

/** Reader features this core reads correctly. */
export const SUPPORTED_READER_FEATURES: ReadonlySet<string> = new Set([
  'columnMapping',
  'deletionVectors',
  'timestampNtz',
  'v2Checkpoint',
  'vacuumProtocolCheck',
  'typeWidening',
  'typeWidening-preview',
]);

/** Writer features this core honours when it writes (it refuses writes to tables with others). */
export const SUPPORTED_WRITER_FEATURES: ReadonlySet<string> = new Set([
  'appendOnly',
  'invariants',
  'checkConstraints',
  'columnMapping',
  'deletionVectors',
  'timestampNtz',
  'domainMetadata',
  'v2Checkpoint',
  'vacuumProtocolCheck',
  'typeWidening',
  'typeWidening-preview',
  'inCommitTimestamp',
  'changeDataFeed',
]);

/** Highest reader version this core reads. */
export const MAX_READER_VERSION = 3;
/** Highest writer version this core writes. */
export const MAX_WRITER_VERSION = 7;

/** Throws UNSUPPORTED_FEATURE naming the version or feature when this core cannot read a table with `protocol`. */
export function assertReadable(protocol: ProtocolAction, table: string): void {
  const v = protocol.minReaderVersion;
  const unknownFeatures = (protocol.readerFeatures ?? []).filter((f) => !SUPPORTED_READER_FEATURES.has(f));
  if (unknownFeatures.length > 0) {
    throw new LakehouseError(
      'UNSUPPORTED_FEATURE',
      `table ${table} requires unsupported reader feature${unknownFeatures.length > 1 ? 's' : ''} ${unknownFeatures.map((f) => `"${f}"`).join(', ')}`,
      { features: unknownFeatures, minReaderVersion: v },
    );
  }
  if (!Number.isInteger(v) || v < 1 || v > MAX_READER_VERSION) {
    throw new LakehouseError(
      'UNSUPPORTED_FEATURE',
      `table ${table} requires reader version ${v} (minReaderVersion ${v}); this reader supports up to ${MAX_READER_VERSION}`,
      { minReaderVersion: v },
    );
  }
}

/** Writer features that only bind when the schema uses them (PROTOCOL.md: Generated Columns, Identity Columns). */
const SCHEMA_ACTIVATED: Record<string, (metadata: MetadataAction) => boolean> = {
  generatedColumns: (m) => schemaHasMetadata(m, (k) => k === 'delta.generationExpression'),
  identityColumns: (m) => schemaHasMetadata(m, (k) => k.startsWith('delta.identity.')),
};

function schemaHasMetadata(metadata: MetadataAction, pred: (key: string) => boolean): boolean {
  let raw: unknown;
  try {
    raw = JSON.parse(metadata.schemaString);
  } catch {
    return false;
  }
  const visit = (t: unknown): boolean => {
    if (!t || typeof t !== 'object') return false;
    const o = t as Record<string, unknown>;
    if (Array.isArray(o.fields)) {
      return o.fields.some((f: Record<string, unknown>) => Object.keys((f.metadata as object) ?? {}).some(pred) || visit(f.type));
    }
    return visit(o.elementType) || visit(o.keyType) || visit(o.valueType);
  };
  return visit(raw);
}

/**
 * Throws UNSUPPORTED_FEATURE when this core cannot write a table with `protocol` and `metadata` without breaking a
 * feature. Features a legacy writer version implies but the table does not use (generated or identity columns absent
 * from the schema) do not prevent writing.
 */
export function assertWritable(protocol: ProtocolAction, metadata: MetadataAction | null, table: string): void {
  assertReadable(protocol, table);
  const v = protocol.minWriterVersion;
  if (!Number.isInteger(v) || v < 1 || v > MAX_WRITER_VERSION) {
    throw new LakehouseError('UNSUPPORTED_FEATURE', `table ${table} requires writer version ${v}; this writer supports up to ${MAX_WRITER_VERSION}`, {
      minWriterVersion: v,
    });
  }
  const features = v === 7 ? (protocol.writerFeatures ?? []) : writerVersionFeatures(v);
  const unknown = features.filter((f) => {
    if (SUPPORTED_WRITER_FEATURES.has(f)) return false;
    const activated = SCHEMA_ACTIVATED[f];
    return !activated || !metadata || activated(metadata);
  });
  if (unknown.length > 0) {
    throw new LakehouseError(
      'UNSUPPORTED_FEATURE',
      `cannot write table ${table}: unsupported writer feature${unknown.length > 1 ? 's' : ''} ${unknown.map((f) => `"${f}"`).join(', ')}`,
      { features: unknown },
    );
  }
}

/** Features implied by a legacy writer version (PROTOCOL.md: Table Features, "legacy" versions 2 to 6). */
export function writerVersionFeatures(v: number): string[] {
  const out: string[] = [];
  if (v >= 2) out.push('appendOnly', 'invariants');
  if (v >= 3) out.push('checkConstraints');
  if (v >= 4) out.push('changeDataFeed', 'generatedColumns');
  if (v >= 5) out.push('columnMapping');
  if (v >= 6) out.push('identityColumns');
  return out;
}

/** True when the protocol has the given writer feature, whether listed (v7) or implied by a legacy version. */
export function hasWriterFeature(protocol: ProtocolAction, feature: string): boolean {
  if (protocol.minWriterVersion === 7) return (protocol.writerFeatures ?? []).includes(feature);
  return writerVersionFeatures(protocol.minWriterVersion).includes(feature);
}

/** True when the protocol has the given reader feature (v3 list, or implied by legacy reader version 2 for columnMapping). */
export function hasReaderFeature(protocol: ProtocolAction, feature: string): boolean {
  if (protocol.minReaderVersion === 3) return (protocol.readerFeatures ?? []).includes(feature);
  return protocol.minReaderVersion === 2 && feature === 'columnMapping';
}

/** The column mapping mode from table properties. */
export function columnMappingMode(metadata: MetadataAction): 'none' | 'name' | 'id' {
  const m = metadata.configuration['delta.columnMapping.mode'];
  return m === 'name' || m === 'id' ? m : 'none';
}

/** True when in-commit timestamps are enabled at this metadata. */
export function inCommitTimestampsEnabled(metadata: MetadataAction): boolean {
  return metadata.configuration['delta.enableInCommitTimestamps'] === 'true';
}
