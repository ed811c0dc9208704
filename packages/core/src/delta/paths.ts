import { LakehouseError } from '../errors.js';
import { joinKey } from '../storage/storage.js';

/** Where a table lives: a storage key prefix (`''` for the storage root). */
export interface TableLocation {
  /** Key prefix of the table root inside its storage, without leading or trailing `/`. */
  tableKey: string;
}

/** Key of the `_delta_log` folder of a table. */
export function logKey(tableKey: string, name = ''): string {
  return joinKey(tableKey, '_delta_log', name);
}

/** Zero-pads a version to the 20 digits of log file names. */
export function padVersion(version: number): string {
  return String(version).padStart(20, '0');
}

const SCHEME_RE = /^[a-zA-Z][a-zA-Z0-9+.-]*:/;

/**
 * Storage key of a file referenced from the log (`add.path`, `remove.path`, DV `p` paths): relative paths are
 * percent-decoded and joined to the table root; absolute URIs must point inside `storageRoot` (PROTOCOL.md: Add File
 * and Remove File, "path" is a URI).
 */
export function fileKey(tableKey: string, path: string, storageRoot: string): string {
  // Fast path for the common case: a plain relative path with nothing to decode or check.
  if (!path.includes('%') && !path.includes('..') && !path.includes(':') && !path.startsWith('/') && !path.includes('//')) {
    return tableKey ? `${tableKey}/${path}` : path;
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    throw new LakehouseError('CORRUPT_LOG', `file path is not a valid URI: ${path}`, { path });
  }
  if (!SCHEME_RE.test(path)) {
    const key = joinKey(tableKey, decoded);
    if (decoded.split('/').includes('..')) {
      throw new LakehouseError('CORRUPT_LOG', `file path escapes the table: ${path}`, { path });
    }
    return key;
  }
  const abs = decoded.replace(/^file:\/\/(localhost)?/, '').replace(/^file:/, '');
  const root = storageRoot.replace(/^file:\/\/(localhost)?/, '').replace(/\/+$/, '');
  if (root && (abs === root || abs.startsWith(root + '/'))) return joinKey(abs.slice(root.length));
  throw new LakehouseError('UNSUPPORTED_FEATURE', `file outside the table's storage: ${path}`, { path });
}

/** A relative add.path for a storage-relative file path: each segment percent-encoded (RFC 3986 unreserved kept). */
export function encodeRelativePath(relative: string): string {
  return relative
    .split('/')
    .map((seg) => encodeURIComponent(seg).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase()))
    .join('/');
}

/**
 * Prefix of the scratch folder (at the table root) a local write stages its files in before moving them into place;
 * hidden from readers by its `_`. VACUUM deletes what a crashed write left there once it is older than the retention.
 */
export const WRITE_SCRATCH_PREFIX = '_delta_write_';
