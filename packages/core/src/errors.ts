/** Every error code the lakehouse can raise; the BFF and CLI map each to a status in one table. */
export type ErrorCode =
  | 'TABLE_NOT_FOUND'
  | 'TABLE_EXISTS'
  | 'NOT_A_DELTA_TABLE'
  | 'UNSUPPORTED_FEATURE'
  | 'CORRUPT_LOG'
  | 'FILE_NOT_FOUND'
  | 'VERSION_NOT_FOUND'
  | 'CONCURRENT_COMMIT'
  | 'SCHEMA_MISMATCH'
  | 'INVALID_INPUT'
  | 'FORBIDDEN'
  | 'STORAGE_ERROR'
  | 'INTERNAL'
  | 'UNAUTHENTICATED'
  | 'NOT_FOUND'
  | 'PAYLOAD_TOO_LARGE'
  | 'CANCELLED';

/** The one error type of the lakehouse: a stable `code`, a message naming the problem, and optional details. */
export class LakehouseError extends Error {
  /** Machine-readable code from the closed `ErrorCode` union. */
  readonly code: ErrorCode;
  /** Structured context (file, feature, column, version...) for API responses. */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LakehouseError';
    this.code = code;
    this.details = details;
  }
}

/** True when `e` is a LakehouseError, optionally with the given code. */
export function isLakehouseError(e: unknown, code?: ErrorCode): e is LakehouseError {
  return e instanceof LakehouseError && (code === undefined || e.code === code);
}

/** Codes for which a table is refused (the CLI exits 2 on these). */
export const REFUSAL_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'UNSUPPORTED_FEATURE',
  'NOT_A_DELTA_TABLE',
  'CORRUPT_LOG',
]);
