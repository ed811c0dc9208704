// PROTOCOL.md: Actions. Field names follow the protocol text exactly.

/** PROTOCOL.md: Deletion Vector Descriptor. */
export interface DeletionVectorDescriptor {
  /** `u` (relative path from a Z85 UUID), `p` (absolute path) or `i` (inline, Z85). */
  storageType: 'u' | 'p' | 'i';
  pathOrInlineDv: string;
  /** Byte offset of the DV inside its file (absent for inline). */
  offset?: number;
  sizeInBytes: number;
  /** Number of rows the DV marks as deleted. */
  cardinality: number;
}

/** PROTOCOL.md: Add File and Remove File (add). */
export interface AddAction {
  /** Relative (percent-encoded) or absolute URI of the data file. */
  path: string;
  partitionValues: Record<string, string | null>;
  size: number;
  modificationTime: number;
  dataChange: boolean;
  /** JSON-encoded per-file statistics. */
  stats?: string | null;
  tags?: Record<string, string | null> | null;
  deletionVector?: DeletionVectorDescriptor | null;
  baseRowId?: number | null;
  defaultRowCommitVersion?: number | null;
  clusteringProvider?: string | null;
}

/** PROTOCOL.md: Add File and Remove File (remove). */
export interface RemoveAction {
  path: string;
  deletionTimestamp?: number | null;
  dataChange: boolean;
  extendedFileMetadata?: boolean | null;
  partitionValues?: Record<string, string | null> | null;
  size?: number | null;
  stats?: string | null;
  tags?: Record<string, string | null> | null;
  deletionVector?: DeletionVectorDescriptor | null;
  baseRowId?: number | null;
  defaultRowCommitVersion?: number | null;
}

/** PROTOCOL.md: Change Metadata. */
export interface MetadataAction {
  id: string;
  name?: string | null;
  description?: string | null;
  format: { provider: string; options?: Record<string, string> | null };
  schemaString: string;
  partitionColumns: string[];
  createdTime?: number | null;
  configuration: Record<string, string>;
}

/** PROTOCOL.md: Protocol Evolution. */
export interface ProtocolAction {
  minReaderVersion: number;
  minWriterVersion: number;
  readerFeatures?: string[] | null;
  writerFeatures?: string[] | null;
}

/** PROTOCOL.md: Transaction Identifiers. */
export interface TxnAction {
  appId: string;
  version: number;
  lastUpdated?: number | null;
}

/** PROTOCOL.md: Add CDC File. */
export interface CdcAction {
  path: string;
  partitionValues: Record<string, string | null>;
  size: number;
  dataChange: boolean;
  tags?: Record<string, string | null> | null;
}

/** PROTOCOL.md: Domain Metadata. */
export interface DomainMetadataAction {
  domain: string;
  configuration: string;
  removed: boolean;
}

/** PROTOCOL.md: Commit Provenance Information (free-form; these are the fields we write and read). */
export interface CommitInfoAction {
  timestamp?: number;
  inCommitTimestamp?: number;
  operation?: string;
  operationParameters?: Record<string, unknown>;
  readVersion?: number;
  isolationLevel?: string;
  isBlindAppend?: boolean;
  operationMetrics?: Record<string, string>;
  engineInfo?: string;
  txnId?: string;
  userName?: string;
  [key: string]: unknown;
}

/** PROTOCOL.md: V2 Checkpoint Spec (checkpointMetadata). */
export interface CheckpointMetadataAction {
  version: number;
  tags?: Record<string, string> | null;
}

/** PROTOCOL.md: Sidecar File Information. */
export interface SidecarAction {
  path: string;
  sizeInBytes: number;
  modificationTime: number;
  tags?: Record<string, string> | null;
}

/** One line of a commit file or one row of a checkpoint: exactly one key is set. */
export type Action =
  | { add: AddAction }
  | { remove: RemoveAction }
  | { metaData: MetadataAction }
  | { protocol: ProtocolAction }
  | { txn: TxnAction }
  | { cdc: CdcAction }
  | { domainMetadata: DomainMetadataAction }
  | { commitInfo: CommitInfoAction }
  | { checkpointMetadata: CheckpointMetadataAction }
  | { sidecar: SidecarAction };

/** The action keys the protocol defines. */
export const ACTION_KEYS = [
  'add',
  'remove',
  'metaData',
  'protocol',
  'txn',
  'cdc',
  'domainMetadata',
  'commitInfo',
  'checkpointMetadata',
  'sidecar',
] as const;
