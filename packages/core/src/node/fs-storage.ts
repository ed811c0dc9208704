import { randomBytes } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { link, mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import * as path from 'node:path';
import { LakehouseError } from '../errors.js';
import type { ByteRange, Clock, ListOptions, ObjectInfo, Storage } from '../storage/storage.js';
import { systemClock } from '../storage/storage.js';

/** Name of the temp files this adapter writes next to their final key; `list` never reports them. */
const TEMP_PREFIX = '.lh-tmp-';
const TEMP_NAME = /^\.lh-tmp-[0-9a-f]{24}$/;
/** How many `stat` calls `list` keeps in flight. */
const STAT_CONCURRENCY = 64;

/** Node errno error shape. */
interface ErrnoError {
  code?: string;
}

function errnoCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && typeof (e as ErrnoError).code === 'string' ? (e as ErrnoError).code : undefined;
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Storage on a local directory. Keys are `/`-separated paths under `rootDir`; `..`, `.`, empty and absolute
 * segments are refused with INVALID_INPUT. `put` writes a temp file and renames it over the key (readers see
 * the old or the new bytes); `putIfAbsent` writes and fsyncs a temp file, then hard-links it to the key, so
 * exactly one of any number of concurrent callers (threads or processes on the same filesystem) wins and no
 * reader ever sees a partial object. The filesystem must support hard links. Symbolic links to files are
 * listed as objects; symbolic links to directories are not followed by `list`.
 * When a `clock` other than the system clock is given, written files get their mtime set from it, so
 * `lastModified` follows the clock.
 */
export class FsStorage implements Storage {
  /** Absolute path of the root directory. */
  readonly root: string;
  private readonly clock: Clock | undefined;

  constructor(rootDir: string, clock?: Clock) {
    this.root = path.resolve(rootDir);
    this.clock = clock === undefined || clock === systemClock ? undefined : clock;
  }

  /** Absolute path of `key` under the root; throws INVALID_INPUT for keys that are not plain relative paths. */
  localPath(key: string): string {
    return path.join(this.root, ...this.keySegments(key));
  }

  /**
   * Objects whose key starts with `prefix` (which may end mid-name), sorted by key. Reads only the deepest
   * directory named by the prefix and the subdirectories matching it; missing directories list as empty.
   */
  async list(prefix: string, options: ListOptions = {}): Promise<ObjectInfo[]> {
    const slash = prefix.lastIndexOf('/');
    const dirKey = slash < 0 ? '' : prefix.slice(0, slash);
    const namePrefix = prefix.slice(slash + 1);
    if (prefix.startsWith('/') || prefix.includes('\0')) {
      throw new LakehouseError('INVALID_INPUT', `invalid storage prefix '${prefix}': must be a relative path`, { prefix });
    }
    const dirSegments = dirKey === '' ? [] : this.checkSegments(dirKey, prefix);
    const startAfter = options.startAfter;

    const files: { key: string; abs: string }[] = [];
    const walk = async (absDir: string, keyDir: string, match: string): Promise<void> => {
      let entries: Dirent[];
      try {
        entries = await readdir(absDir, { withFileTypes: true });
      } catch (e) {
        const code = errnoCode(e);
        if (code === 'ENOENT' || code === 'ENOTDIR') return;
        throw this.ioError('list', absDir, e);
      }
      const subdirs: Promise<void>[] = [];
      for (const entry of entries) {
        const name = entry.name;
        if (!name.startsWith(match)) continue;
        const key = keyDir === '' ? name : `${keyDir}/${name}`;
        const abs = path.join(absDir, name);
        if (entry.isDirectory()) {
          // Every key below `key/` sorts after `key/`; if startAfter is past that whole range, skip the directory.
          const sub = `${key}/`;
          if (startAfter !== undefined && startAfter > sub && !startAfter.startsWith(sub)) continue;
          subdirs.push(walk(abs, key, ''));
        } else if (entry.isFile() || entry.isSymbolicLink()) {
          if (TEMP_NAME.test(name)) continue;
          if (startAfter !== undefined && key <= startAfter) continue;
          files.push({ key, abs });
        }
      }
      await Promise.all(subdirs);
    };
    await walk(path.join(this.root, ...dirSegments), dirKey, namePrefix);

    const out: (ObjectInfo | null)[] = new Array<ObjectInfo | null>(files.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < files.length) {
        const i = next++;
        const f = files[i];
        try {
          const st = await stat(f.abs);
          out[i] = st.isFile() ? { key: f.key, size: st.size, lastModified: Math.floor(st.mtimeMs) } : null;
        } catch (e) {
          const code = errnoCode(e);
          // Deleted between readdir and stat, or a dangling symlink: not an object.
          if (code === 'ENOENT' || code === 'ENOTDIR') out[i] = null;
          else throw this.ioError('stat', f.abs, e);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(STAT_CONCURRENCY, files.length) }, worker));
    return out.filter((o): o is ObjectInfo => o !== null).sort((a, b) => compareKeys(a.key, b.key));
  }

  /** The object's bytes (or `[start, end)` of them, clipped to the size); FILE_NOT_FOUND when absent. */
  async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    const abs = this.localPath(key);
    if (range !== undefined) checkRange(key, range);
    let handle;
    try {
      handle = await open(abs, 'r');
    } catch (e) {
      throw this.readError(key, abs, e);
    }
    try {
      if (range === undefined) {
        const buf = await handle.readFile();
        return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
      }
      const size = (await handle.stat()).size;
      const out = new Uint8Array(Math.max(0, Math.min(range.end, size) - range.start));
      let filled = 0;
      while (filled < out.byteLength) {
        const { bytesRead } = await handle.read(out, filled, out.byteLength - filled, range.start + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      return filled === out.byteLength ? out : out.slice(0, filled);
    } catch (e) {
      throw this.readError(key, abs, e);
    } finally {
      await handle.close();
    }
  }

  /** The object's metadata, or null when absent (a directory is not an object). */
  async head(key: string): Promise<ObjectInfo | null> {
    const abs = this.localPath(key);
    try {
      const st = await stat(abs);
      return st.isFile() ? { key, size: st.size, lastModified: Math.floor(st.mtimeMs) } : null;
    } catch (e) {
      const code = errnoCode(e);
      if (code === 'ENOENT' || code === 'ENOTDIR') return null;
      throw this.ioError('stat', abs, e);
    }
  }

  /** Writes a temp file in the key's directory and renames it over the key: readers see old or new bytes. */
  async put(key: string, data: Uint8Array): Promise<void> {
    const abs = this.localPath(key);
    const temp = await this.writeTemp(abs, data);
    try {
      await rename(temp, abs);
    } catch (e) {
      await unlink(temp).catch(() => undefined);
      throw this.ioError('put', abs, e);
    }
  }

  /** Writes and fsyncs a temp file, then hard-links it to the key; false (nothing written) if the key exists. */
  async putIfAbsent(key: string, data: Uint8Array): Promise<boolean> {
    const abs = this.localPath(key);
    const temp = await this.writeTemp(abs, data);
    try {
      await link(temp, abs);
    } catch (e) {
      if (errnoCode(e) === 'EEXIST') return false;
      throw this.ioError('putIfAbsent (hard link)', abs, e);
    } finally {
      await unlink(temp).catch(() => undefined);
    }
    await syncDir(path.dirname(abs));
    return true;
  }

  /** Removes the file; a missing key (or a directory at the key) is not an error. */
  async delete(key: string): Promise<void> {
    const abs = this.localPath(key);
    try {
      await unlink(abs);
    } catch (e) {
      const code = errnoCode(e);
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return;
      throw this.ioError('delete', abs, e);
    }
  }

  /** Creates the parent directory and writes `data` to a fresh, fsynced temp file next to `abs`. */
  private async writeTemp(abs: string, data: Uint8Array): Promise<string> {
    const dir = path.dirname(abs);
    try {
      await mkdir(dir, { recursive: true });
    } catch (e) {
      throw this.ioError('mkdir', dir, e);
    }
    const temp = path.join(dir, TEMP_PREFIX + randomBytes(12).toString('hex'));
    let handle;
    try {
      handle = await open(temp, 'wx');
    } catch (e) {
      throw this.ioError('create temp file', temp, e);
    }
    try {
      await handle.writeFile(data);
      if (this.clock) {
        const t = new Date(this.clock.now());
        await handle.utimes(t, t);
      }
      await handle.sync();
    } catch (e) {
      await handle.close().catch(() => undefined);
      await unlink(temp).catch(() => undefined);
      throw this.ioError('write temp file', temp, e);
    }
    try {
      await handle.close();
    } catch (e) {
      await unlink(temp).catch(() => undefined);
      throw this.ioError('close temp file', temp, e);
    }
    return temp;
  }

  /** The key's segments, after refusing keys that could escape the root or alias another key. */
  private keySegments(key: string): string[] {
    if (typeof key !== 'string' || key.length === 0) {
      throw new LakehouseError('INVALID_INPUT', 'invalid storage key: empty', { key });
    }
    const segments = this.checkSegments(key, key);
    if (TEMP_NAME.test(segments[segments.length - 1])) {
      throw new LakehouseError('INVALID_INPUT', `invalid storage key '${key}': name is reserved for temp files`, { key });
    }
    return segments;
  }

  private checkSegments(rel: string, shown: string): string[] {
    const bad = (why: string): LakehouseError =>
      new LakehouseError('INVALID_INPUT', `invalid storage key '${shown}': ${why}`, { key: shown });
    if (rel.includes('\0')) throw bad('contains a NUL byte');
    if (rel.startsWith('/') || path.isAbsolute(rel) || /^[A-Za-z]:/.test(rel)) throw bad('must be relative to the root');
    const segments = rel.split('/');
    for (const s of segments) {
      if (s === '') throw bad('empty path segment');
      if (s === '.' || s === '..') throw bad(`'${s}' segments are not allowed`);
      if (path.sep === '\\' && (s.includes('\\') || s.split('\\').some((p) => p === '..'))) throw bad('backslash in key');
    }
    return segments;
  }

  private readError(key: string, abs: string, e: unknown): LakehouseError {
    const code = errnoCode(e);
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') {
      return new LakehouseError('FILE_NOT_FOUND', `file not found: ${key} (${abs})`, { key, path: abs }, { cause: e });
    }
    return this.ioError('get', abs, e);
  }

  private ioError(op: string, abs: string, e: unknown): LakehouseError {
    const code = errnoCode(e) ?? 'unknown error';
    const reason = e instanceof Error ? e.message : String(e);
    return new LakehouseError('STORAGE_ERROR', `${op} failed for ${abs}: ${code} (${reason})`, { path: abs, errno: code }, { cause: e });
  }
}

function checkRange(key: string, range: ByteRange): void {
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new LakehouseError('INVALID_INPUT', `invalid byte range [${start}, ${end}) for ${key}`, { key, start, end });
  }
}

/** Best effort: persists a new directory entry (fails harmlessly where directories cannot be opened, e.g. Windows). */
async function syncDir(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Durability of the entry is best effort; the link itself already succeeded.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}
