import { z } from 'zod';

// Request and response shapes of the BFF's HTTP API, shared by the server and the console so they cannot drift.

/** Error codes the API returns (mirrors the core's ErrorCode plus HTTP-only ones). */
export const ErrorCodeSchema = z.enum([
  'TABLE_NOT_FOUND',
  'TABLE_EXISTS',
  'NOT_A_DELTA_TABLE',
  'UNSUPPORTED_FEATURE',
  'CORRUPT_LOG',
  'FILE_NOT_FOUND',
  'VERSION_NOT_FOUND',
  'CONCURRENT_COMMIT',
  'SCHEMA_MISMATCH',
  'INVALID_INPUT',
  'FORBIDDEN',
  'STORAGE_ERROR',
  'INTERNAL',
  'UNAUTHENTICATED',
  'NOT_FOUND',
  'PAYLOAD_TOO_LARGE',
  'CANCELLED',
]);
/** An error code of the API. */
export type ApiErrorCode = z.infer<typeof ErrorCodeSchema>;

/** Body of every error response. */
export const ErrorBodySchema = z.object({ code: ErrorCodeSchema, message: z.string(), details: z.record(z.string(), z.unknown()).default({}) });
/** Body of every error response. */
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

/** GET /api/health. */
export const HealthSchema = z.object({
  status: z.literal('ok'),
  version: z.string(),
  warehouse: z.object({ backend: z.enum(['local', 's3']), location: z.string() }),
  catalog: z.object({ backend: z.enum(['pglite', 'postgres']) }),
});
/** GET /api/health. */
export type Health = z.infer<typeof HealthSchema>;

/** Roles, from least to most privileged. */
export const RoleSchema = z.enum(['viewer', 'analyst', 'steward', 'admin']);
/** A role. */
export type Role = z.infer<typeof RoleSchema>;

/** Privileges a grant can give. */
export const PrivilegeSchema = z.enum(['SELECT', 'MODIFY', 'MANAGE']);
/** A privilege. */
export type Privilege = z.infer<typeof PrivilegeSchema>;

/** A medallion layer. */
export const LayerSchema = z.enum(['bronze', 'silver', 'gold']);

/** A column of a table's schema (type as Delta's type string, nested types rendered). */
export const ColumnSchema = z.object({
  name: z.string(),
  type: z.string(),
  nullable: z.boolean(),
  comment: z.string().nullable(),
  isPartition: z.boolean(),
  stats: z
    .object({ min: z.unknown().nullable(), max: z.unknown().nullable(), nullCount: z.number().nullable() })
    .nullable(),
});
/** A column of a table's schema. */
export type Column = z.infer<typeof ColumnSchema>;

/** A table in listings and search results. */
export const TableSummarySchema = z.object({
  name: z.string(),
  layer: LayerSchema,
  domain: z.string(),
  table: z.string(),
  description: z.string().nullable(),
  owner: z.string().nullable(),
  tags: z.array(z.string()),
  version: z.number().int(),
  rows: z.number().nullable(),
  files: z.number().int(),
  bytes: z.number(),
  lastUpdated: z.string(),
});
/** A table in listings. */
export type TableSummary = z.infer<typeof TableSummarySchema>;

/** GET /api/tables. */
export const TableListSchema = z.object({ tables: z.array(TableSummarySchema) });
/** GET /api/tables. */
export type TableList = z.infer<typeof TableListSchema>;

/** GET /api/tables/{name}. */
export const TableDetailSchema = TableSummarySchema.extend({
  columns: z.array(ColumnSchema),
  partitionColumns: z.array(z.string()),
  properties: z.record(z.string(), z.string()),
  protocol: z.object({
    minReaderVersion: z.number(),
    minWriterVersion: z.number(),
    readerFeatures: z.array(z.string()).nullable().optional(),
    writerFeatures: z.array(z.string()).nullable().optional(),
  }),
});
/** GET /api/tables/{name}. */
export type TableDetail = z.infer<typeof TableDetailSchema>;

/** One commit in GET /api/tables/{name}/history. */
export const CommitSchema = z.object({
  version: z.number().int(),
  timestamp: z.string(),
  operation: z.string().nullable(),
  userName: z.string().nullable(),
  operationParameters: z.record(z.string(), z.unknown()),
  operationMetrics: z.record(z.string(), z.string()),
});
/** One commit of a table's history. */
export type Commit = z.infer<typeof CommitSchema>;

/** A page of results with the cursor of the next page. */
export function pageOf<T extends z.ZodTypeAny>(item: T) {
  return z.object({ items: z.array(item), total: z.number().int(), offset: z.number().int(), limit: z.number().int() });
}

/** GET /api/tables/{name}/history. */
export const HistoryPageSchema = pageOf(CommitSchema);
/** GET /api/tables/{name}/history. */
export type HistoryPage = z.infer<typeof HistoryPageSchema>;

/** One data file in GET /api/tables/{name}/files. */
export const DataFileSchema = z.object({
  path: z.string(),
  size: z.number(),
  rows: z.number().nullable(),
  deletedRows: z.number(),
  partitionValues: z.record(z.string(), z.string().nullable()),
  modificationTime: z.string(),
});
/** One data file. */
export type DataFile = z.infer<typeof DataFileSchema>;

/** GET /api/tables/{name}/files. */
export const FilesPageSchema = pageOf(DataFileSchema);
/** GET /api/tables/{name}/files. */
export type FilesPage = z.infer<typeof FilesPageSchema>;

/** PATCH /api/tables/{name}. */
export const PatchTableSchema = z
  .object({
    description: z.string().max(10_000).nullable().optional(),
    columnComments: z.record(z.string(), z.string().max(10_000).nullable()).optional(),
    owner: z.string().max(200).nullable().optional(),
    tags: z.array(z.string().regex(/^[A-Za-z0-9_:.-]{1,64}$/)).max(50).optional(),
  })
  .strict();
/** PATCH /api/tables/{name}. */
export type PatchTable = z.infer<typeof PatchTableSchema>;

/** Parquet readers (DuckDB-WASM) read a file's footer first: the block of this many bytes holding its last 8 bytes. */
export const PARQUET_FOOTER_BLOCK = 16_384;

/** The start of the PARQUET_FOOTER_BLOCK-aligned block holding byte `offset`. */
export function parquetBlockStart(offset: number): number {
  return Math.floor(Math.max(0, offset) / PARQUET_FOOTER_BLOCK) * PARQUET_FOOTER_BLOCK;
}

/** Where the footer block of a file of `size` bytes starts: the block holding its last 8 bytes (read to the end). */
export function footerBlockStart(size: number): number {
  return parquetBlockStart(size - 8);
}

/**
 * Where the Parquet footer of a file of `size` bytes begins, read from `tail`, the file's last bytes (ending at
 * `size`): its length sits before the closing `PAR1`. Null when `tail` does not end like a Parquet file.
 */
export function parquetFooterStart(tail: Uint8Array, size: number): number | null {
  const n = tail.byteLength;
  if (n < 8 || tail[n - 4] !== 0x50 || tail[n - 3] !== 0x41 || tail[n - 2] !== 0x52 || tail[n - 1] !== 0x31) return null;
  const start = size - 8 - new DataView(tail.buffer, tail.byteOffset, n).getUint32(n - 8, true);
  return start >= 0 ? start : null;
}

/**
 * The block (parquetBlockStart) where the footer of a file of `size` bytes begins, when it begins before `tail`, the
 * file's bytes from the block start `tailStart` to its end: the blocks a reader still needs in front of the tail.
 * Null when the tail holds the whole footer or does not end like a Parquet file.
 */
export function footerBlocksBefore(tail: Uint8Array, tailStart: number, size: number): number | null {
  const footerStart = parquetFooterStart(tail, size);
  return footerStart === null || footerStart >= tailStart ? null : parquetBlockStart(footerStart);
}

/** A file of a scan plan, with its signed URL. */
export const ScanFileSchema = z.object({
  path: z.string(),
  url: z.string(),
  size: z.number(),
  rows: z.number().nullable(),
  partitionValues: z.record(z.string(), z.string().nullable()),
  deletedRows: z.array(z.number()).nullable(),
  /**
   * With `?footers=true` (at most 64 files): the file's bytes from `start` to its end, base64. `start` is the block
   * (parquetBlockStart) holding the Parquet footer's first byte, so that the whole footer comes with the plan, or the
   * footer block (footerBlockStart) when the footer starts there, or is larger than 64 KiB with its blocks.
   */
  footer: z.object({ start: z.number().int().min(0), base64: z.string() }).optional(),
});

/** GET /api/tables/{name}/scan: everything the browser needs to build the table's DuckDB view. */
export const ScanResponseSchema = z.object({
  table: z.string(),
  version: z.number().int(),
  columns: z.array(z.object({ name: z.string(), physicalName: z.string(), type: z.unknown(), nullable: z.boolean(), isPartition: z.boolean() })),
  partitionColumns: z.array(z.string()),
  columnMappingMode: z.enum(['none', 'name', 'id']),
  files: z.array(ScanFileSchema),
  totalFiles: z.number().int(),
  totalBytes: z.number(),
  predicate: z.string().nullable(),
  expiresAt: z.string(),
});
/** GET /api/tables/{name}/scan. */
export type ScanResponse = z.infer<typeof ScanResponseSchema>;

/** POST /api/sql. */
export const SqlRequestSchema = z.object({ sql: z.string().min(1).max(1_000_000) });
/** POST /api/sql. */
export type SqlRequest = z.infer<typeof SqlRequestSchema>;

/** Result of one write statement. */
export const SqlResultSchema = z.object({
  statement: z.enum(['CREATE_TABLE_AS_SELECT', 'INSERT', 'INSERT_OVERWRITE', 'DELETE', 'UPDATE', 'MERGE']),
  target: z.string(),
  sources: z.array(z.string()),
  version: z.number().int(),
  metrics: z.record(z.string(), z.number()),
});
/** Result of one write statement. */
export type SqlResult = z.infer<typeof SqlResultSchema>;

/** Result of an ingest. */
export const IngestResultSchema = z.object({
  table: z.string(),
  version: z.number().int(),
  created: z.boolean(),
  rows: z.number(),
  files: z.number(),
  bytes: z.number(),
  schemaEvolved: z.boolean(),
});
/** Result of an ingest. */
export type IngestResult = z.infer<typeof IngestResultSchema>;

/** A user. */
export const UserSchema = z.object({ id: z.string(), name: z.string(), role: RoleSchema, createdAt: z.string() });
/** A user. */
export type User = z.infer<typeof UserSchema>;

/** POST /api/users. */
export const CreateUserSchema = z.object({ name: z.string().regex(/^[A-Za-z0-9_.@-]{1,64}$/), role: RoleSchema }).strict();

/** A token as shown once at creation. */
export const IssuedTokenSchema = z.object({ id: z.string(), token: z.string(), userId: z.string(), createdAt: z.string(), expiresAt: z.string().nullable() });

/** A grant of a privilege on a layer, a domain or a table. */
export const GrantSchema = z.object({
  id: z.string(),
  userId: z.string(),
  privilege: PrivilegeSchema,
  /** `bronze`, `bronze.sales` or `bronze.sales.orders_raw`. */
  securable: z.string(),
  createdAt: z.string(),
});
/** A grant. */
export type Grant = z.infer<typeof GrantSchema>;

/** POST /api/grants. */
export const CreateGrantSchema = z.object({ userId: z.string(), privilege: PrivilegeSchema, securable: z.string().min(1) }).strict();

/** An audit log entry. */
export const AuditEntrySchema = z.object({
  id: z.number().int(),
  at: z.string(),
  userId: z.string().nullable(),
  userName: z.string().nullable(),
  action: z.string(),
  table: z.string().nullable(),
  outcome: z.enum(['ok', 'denied', 'error']),
  details: z.record(z.string(), z.unknown()),
});
/** An audit log entry. */
export type AuditEntry = z.infer<typeof AuditEntrySchema>;

/** A long-running job (ingest, SQL write, maintenance). */
export const JobSchema = z.object({
  id: z.string(),
  kind: z.string(),
  table: z.string().nullable(),
  state: z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']),
  progress: z.number().min(0).max(1),
  message: z.string().nullable(),
  result: z.record(z.string(), z.unknown()).nullable(),
  error: ErrorBodySchema.nullable(),
  createdBy: z.string().nullable(),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
});
/** A job. */
export type Job = z.infer<typeof JobSchema>;

/** `layer.domain.table` → version: the table versions a query read (the BFF also checks each name). */
export const TableVersionsSchema = z.record(z.string(), z.number().int().min(0));

/** POST /api/queries/history: one query run in the browser, reported after it finished. */
export const QueryRunSchema = z
  .object({
    sql: z.string().min(1).max(1_000_000),
    /** Versions read by the unversioned table references (what a rerun must pin to reproduce the answer). */
    tables: TableVersionsSchema.default({}),
    durationMs: z.number().min(0).max(7 * 86_400_000),
    rows: z.number().int().min(0).nullable().default(null),
    status: z.enum(['ok', 'error']),
    error: z.string().max(10_000).nullable().default(null),
  })
  .strict();
/** One query run as the browser reports it. */
export type QueryRun = z.input<typeof QueryRunSchema>;

/** One entry of the signed-in user's query history (GET /api/queries/history). */
export const QueryHistoryEntrySchema = z.object({
  id: z.number().int(),
  sql: z.string(),
  tables: TableVersionsSchema,
  startedAt: z.string(),
  durationMs: z.number(),
  rows: z.number().nullable(),
  status: z.enum(['ok', 'error']),
  error: z.string().nullable(),
});
/** A query history entry. */
export type QueryHistoryEntry = z.infer<typeof QueryHistoryEntrySchema>;
/** GET /api/queries/history. */
export const QueryHistoryListSchema = z.object({ items: z.array(QueryHistoryEntrySchema) });

/** POST /api/queries/saved: a query to save with the versions it read. */
export const SaveQuerySchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    sql: z.string().min(1).max(1_000_000),
    tableVersions: TableVersionsSchema.default({}),
  })
  .strict();
/** A query to save. */
export type SaveQuery = z.input<typeof SaveQuerySchema>;

/** A saved query (a permalink): its SQL and the table versions it read, with the owner's name resolved. */
export const SavedQuerySchema = z.object({
  id: z.string(),
  name: z.string(),
  sql: z.string(),
  tableVersions: TableVersionsSchema,
  createdAt: z.string(),
  owner: z.object({ id: z.string(), name: z.string().nullable() }),
});
/** A saved query as the API returns it. */
export type SavedQuery = z.infer<typeof SavedQuerySchema>;
/** GET /api/queries/saved. */
export const SavedQueryListSchema = z.object({ items: z.array(SavedQuerySchema) });

// ---- table maintenance (OPTIMIZE, VACUUM, checkpoints, schedules, health, advice) ----

/** The maintenance operations the BFF runs as jobs (the job's `kind`). */
export const MaintenanceKindSchema = z.enum(['optimize', 'vacuum', 'checkpoint']);
/** A maintenance operation. */
export type MaintenanceKind = z.infer<typeof MaintenanceKindSchema>;

/** POST /api/tables/{name}/optimize: compaction, or Z-order clustering with `zorderBy`; `where` filters partitions. */
export const OptimizeRequestSchema = z
  .object({
    where: z.string().max(10_000).optional(),
    zorderBy: z.array(z.string().min(1)).max(16).optional(),
    dryRun: z.boolean().default(false),
  })
  .strict();
/** Body of an OPTIMIZE request. */
export type OptimizeRequest = z.input<typeof OptimizeRequestSchema>;

/** POST /api/tables/{name}/vacuum: dry run unless `dryRun: false`; a retention below the table's needs `allowShortRetention` (admins only). */
export const VacuumRequestSchema = z
  .object({
    retentionHours: z.number().min(0).max(1_000_000).optional(),
    dryRun: z.boolean().default(true),
    allowShortRetention: z.boolean().default(false),
  })
  .strict();
/** Body of a VACUUM request. */
export type VacuumRequest = z.input<typeof VacuumRequestSchema>;

/** POST /api/tables/{name}/checkpoint (no options). */
export const CheckpointRequestSchema = z.object({}).strict();

/** A maintenance job of a table as listed in its history (a Job whose kind is a MaintenanceKind). */
export const MaintenanceJobListSchema = z.object({ items: z.array(JobSchema) });

/** A bucket of the file-size histogram: files with `minBytes <= size < maxBytes` (maxBytes null = unbounded). */
export const FileSizeBucketSchema = z.object({
  label: z.string(),
  minBytes: z.number(),
  maxBytes: z.number().nullable(),
  files: z.number().int(),
  bytes: z.number(),
});

/** The last run of an operation as the table's Delta history records it. */
export const LastRunSchema = z.object({ version: z.number().int(), timestamp: z.string(), metrics: z.record(z.string(), z.unknown()) }).nullable();

/** GET /api/tables/{name}/health: layout and maintenance state of the latest version. */
export const TableHealthSchema = z.object({
  table: z.string(),
  version: z.number().int(),
  numFiles: z.number().int(),
  totalBytes: z.number(),
  targetFileSize: z.number(),
  /** Files smaller than this count as small: min(8 MiB, targetFileSize / 4). */
  smallFileThreshold: z.number(),
  smallFiles: z.number().int(),
  smallFileBytes: z.number(),
  histogram: z.array(FileSizeBucketSchema),
  partitions: z.object({
    count: z.number().int(),
    maxBytes: z.number(),
    medianBytes: z.number(),
    /** max / median bytes per partition (1 when unpartitioned or empty). */
    skew: z.number(),
  }),
  lastCheckpointVersion: z.number().int().nullable(),
  commitsSinceCheckpoint: z.number().int(),
  /** Files removed from the table but still stored (only time travel reads them). */
  timeTravel: z.object({ files: z.number().int(), bytes: z.number() }),
  lastOptimize: LastRunSchema,
  lastVacuum: LastRunSchema,
  /** The running maintenance job holding the table's lock, or null. */
  runningJobId: z.string().nullable(),
  properties: z.record(z.string(), z.string()),
});
/** Health of a table. */
export type TableHealth = z.infer<typeof TableHealthSchema>;

/** One recommendation of the maintenance advisor, with the request that acts on it. */
export const MaintenanceAdviceItemSchema = z.object({
  table: z.string(),
  kind: MaintenanceKindSchema,
  /** Higher = more urgent; items are sorted by it, descending. */
  score: z.number(),
  /** A sentence for people, e.g. "412 files under 8 MiB: OPTIMIZE would write about 3 files". */
  message: z.string(),
  action: z.object({ method: z.literal('POST'), path: z.string(), body: z.record(z.string(), z.unknown()) }),
});
/** A recommendation. */
export type MaintenanceAdviceItem = z.infer<typeof MaintenanceAdviceItemSchema>;
/** GET /api/maintenance/advice: recommendations across all tables, most needed first. */
export const MaintenanceAdviceSchema = z.object({ items: z.array(MaintenanceAdviceItemSchema), errors: z.array(z.object({ table: z.string(), message: z.string() })) });

/** PATCH /api/tables/{name}/properties: table properties to set and unset (validated: retention, target size, checkpoint interval, CDF, append-only). */
export const TablePropertiesPatchSchema = z
  .object({
    set: z.record(z.string(), z.string()).default({}),
    unset: z.array(z.string()).default([]),
  })
  .strict();
/** A property change. */
export type TablePropertiesPatch = z.input<typeof TablePropertiesPatchSchema>;
/** Answer of a property change. */
export const TablePropertiesResultSchema = z.object({
  version: z.number().int(),
  committed: z.boolean(),
  changed: z.array(z.string()),
  protocolUpgraded: z.boolean(),
  properties: z.record(z.string(), z.string()),
});

/** A maintenance schedule: run `kind` with `params` every `intervalMinutes` (e.g. optimize nightly = 1440, vacuum weekly = 10080). */
export const MaintenanceScheduleSchema = z.object({
  id: z.string(),
  table: z.string(),
  kind: MaintenanceKindSchema,
  intervalMinutes: z.number().int(),
  params: z.record(z.string(), z.unknown()),
  enabled: z.boolean(),
  nextRunAt: z.string(),
  lastRunAt: z.string().nullable(),
  lastJobId: z.string().nullable(),
  createdBy: z.string().nullable(),
  createdAt: z.string(),
});
/** A schedule. */
export type MaintenanceSchedule = z.infer<typeof MaintenanceScheduleSchema>;
/** POST /api/tables/{name}/schedules (params: the body of the matching POST; vacuum schedules never delete below the table's retention). */
export const CreateScheduleSchema = z
  .object({
    kind: MaintenanceKindSchema,
    intervalMinutes: z.number().int().min(5).max(366 * 24 * 60),
    params: z.record(z.string(), z.unknown()).default({}),
    enabled: z.boolean().default(true),
    /** First run (ISO-8601); default now + interval. */
    firstRunAt: z.string().datetime().optional(),
  })
  .strict();
/** A schedule to create. */
export type CreateSchedule = z.input<typeof CreateScheduleSchema>;
/** PATCH /api/schedules/{id}. */
export const UpdateScheduleSchema = z
  .object({
    intervalMinutes: z.number().int().min(5).max(366 * 24 * 60).optional(),
    params: z.record(z.string(), z.unknown()).optional(),
    enabled: z.boolean().optional(),
    nextRunAt: z.string().datetime().optional(),
  })
  .strict();
/** A schedule change. */
export type UpdateSchedule = z.input<typeof UpdateScheduleSchema>;
/** GET /api/schedules and GET /api/tables/{name}/schedules. */
export const MaintenanceScheduleListSchema = z.object({ items: z.array(MaintenanceScheduleSchema) });

/** PUT /api/tables/{name}/properties: the complete set of user and editable Delta properties (others are unset). */
export const TablePropertiesPutSchema = z.object({ properties: z.record(z.string(), z.string()) }).strict();
/** A full replacement of the editable properties. */
export type TablePropertiesPut = z.input<typeof TablePropertiesPutSchema>;
