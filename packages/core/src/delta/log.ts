import { LakehouseError } from '../errors.js';
import type { ObjectInfo, Storage } from '../storage/storage.js';
import type { Action } from './actions.js';
import { ACTION_KEYS } from './actions.js';
import { logKey } from './paths.js';

/** A file of `_delta_log` classified by its name (PROTOCOL.md: Delta Log Entries, Checkpoints). */
export type LogFile =
  | { kind: 'commit'; version: number; info: ObjectInfo }
  | { kind: 'checkpoint'; version: number; info: ObjectInfo; part: number; parts: number }
  | { kind: 'checkpointV2'; version: number; info: ObjectInfo; format: 'json' | 'parquet' };

const COMMIT_RE = /^(\d{20})\.json$/;
const CLASSIC_RE = /^(\d{20})\.checkpoint\.parquet$/;
const MULTI_RE = /^(\d{20})\.checkpoint\.(\d{10})\.(\d{10})\.parquet$/;
const UUID_RE = /^(\d{20})\.checkpoint\.[0-9a-fA-F-]{36}\.(json|parquet)$/;

/** Classifies a `_delta_log` entry by name; other files (crc, compactions, temp files) give null. */
export function classifyLogFile(info: ObjectInfo): LogFile | null {
  const name = info.key.slice(info.key.lastIndexOf('/') + 1);
  let m = COMMIT_RE.exec(name);
  if (m) return { kind: 'commit', version: Number(m[1]), info };
  m = CLASSIC_RE.exec(name);
  if (m) return { kind: 'checkpoint', version: Number(m[1]), info, part: 1, parts: 1 };
  m = MULTI_RE.exec(name);
  if (m) return { kind: 'checkpoint', version: Number(m[1]), info, part: Number(m[2]), parts: Number(m[3]) };
  m = UUID_RE.exec(name);
  if (m) return { kind: 'checkpointV2', version: Number(m[1]), info, format: m[2] as 'json' | 'parquet' };
  return null;
}

/** One complete checkpoint: all files needed to read it. */
export interface CheckpointRef {
  version: number;
  kind: 'classic' | 'multipart' | 'v2';
  files: ObjectInfo[];
  format: 'json' | 'parquet';
}

/** What a listing of `_delta_log` says: commit files by version and complete checkpoints, newest last. */
export interface LogListing {
  commits: Map<number, ObjectInfo>;
  checkpoints: CheckpointRef[];
}

/** Groups classified log files; multi-part checkpoints with a missing part are dropped (PROTOCOL.md: Checkpoints). */
export function groupLogFiles(infos: readonly ObjectInfo[]): LogListing {
  const commits = new Map<number, ObjectInfo>();
  const parts = new Map<string, { version: number; parts: number; files: Map<number, ObjectInfo> }>();
  const checkpoints: CheckpointRef[] = [];
  for (const info of infos) {
    const f = classifyLogFile(info);
    if (!f) continue;
    if (f.kind === 'commit') commits.set(f.version, info);
    else if (f.kind === 'checkpointV2') checkpoints.push({ version: f.version, kind: 'v2', files: [info], format: f.format });
    else {
      const id = `${f.version}/${f.parts}`;
      let g = parts.get(id);
      if (!g) parts.set(id, (g = { version: f.version, parts: f.parts, files: new Map() }));
      g.files.set(f.part, info);
    }
  }
  for (const g of parts.values()) {
    if (g.files.size !== g.parts) continue;
    const files = [...g.files.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]);
    checkpoints.push({ version: g.version, kind: g.parts === 1 ? 'classic' : 'multipart', files, format: 'parquet' });
  }
  // Prefer newest; at one version prefer classic (one file) over multipart over v2 (needs sidecars).
  const rank = { classic: 0, multipart: 1, v2: 2 } as const;
  checkpoints.sort((a, b) => a.version - b.version || rank[b.kind] - rank[a.kind]);
  return { commits, checkpoints };
}

/** Lists `_delta_log` (optionally only entries after `fromVersion`'s name) and groups it. */
export async function listLog(storage: Storage, tableKey: string, fromVersion?: number): Promise<LogListing> {
  const prefix = logKey(tableKey) + '/';
  const startAfter = fromVersion !== undefined && fromVersion > 0 ? prefix + String(fromVersion - 1).padStart(20, '0') + '.~' : undefined;
  const infos = await storage.list(prefix, startAfter ? { startAfter } : {});
  // Only direct children of _delta_log (not _sidecars/ or _staged_commits/).
  return groupLogFiles(infos.filter((i) => !i.key.slice(prefix.length).includes('/')));
}

/** The `_last_checkpoint` hint, or null when missing or unreadable (it is only a hint). */
export async function readLastCheckpoint(storage: Storage, tableKey: string): Promise<{ version: number; parts?: number } | null> {
  try {
    const bytes = await storage.get(logKey(tableKey, '_last_checkpoint'));
    const o = JSON.parse(new TextDecoder().decode(bytes)) as { version?: unknown; parts?: unknown };
    if (typeof o.version !== 'number' || !Number.isInteger(o.version) || o.version < 0) return null;
    return { version: o.version, parts: typeof o.parts === 'number' ? o.parts : undefined };
  } catch {
    return null;
  }
}

const decoder = new TextDecoder();

/**
 * The JSON objects of a newline-delimited JSON file with their 1-based line numbers (blank lines skipped). Throws
 * CORRUPT_LOG "corrupt <what> <fileName> line <n>: ..." for a line that is not a JSON object.
 */
export function jsonObjectLines(text: string, fileName: string, what: string): { obj: Record<string, unknown>; line: number }[] {
  const out: { obj: Record<string, unknown>; line: number }[] = [];
  let lineNo = 0;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    lineNo++;
    const line = text.slice(start, end).trim();
    start = end + 1;
    if (line.length === 0) continue;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch (e) {
      throw new LakehouseError('CORRUPT_LOG', `corrupt ${what} ${fileName} line ${lineNo}: ${(e as Error).message}`, { file: fileName, line: lineNo }, { cause: e });
    }
    if (!obj || typeof obj !== 'object' || Array.isArray(obj)) {
      throw new LakehouseError('CORRUPT_LOG', `corrupt ${what} ${fileName} line ${lineNo}: not a JSON object`, { file: fileName, line: lineNo });
    }
    out.push({ obj: obj as Record<string, unknown>, line: lineNo });
  }
  return out;
}

/** Parses newline-delimited JSON actions; throws CORRUPT_LOG naming the file and line of a malformed entry. */
export function parseActions(text: string, fileName: string): Action[] {
  const out: Action[] = [];
  for (const { obj } of jsonObjectLines(text, fileName, 'log entry in')) {
    // Unknown action types are ignored, as the protocol asks of readers.
    if (ACTION_KEYS.some((k) => k in obj)) out.push(obj as Action);
  }
  return out;
}

/** Reads and parses one commit file. */
export async function readCommit(storage: Storage, info: ObjectInfo): Promise<Action[]> {
  const bytes = await storage.get(info.key);
  return parseActions(decoder.decode(bytes), info.key);
}
