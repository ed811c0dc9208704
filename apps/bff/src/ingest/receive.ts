import { randomUUID } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { basename, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import { LakehouseError, isLakehouseError } from '@lakehouse/core';

/** Where and how large an upload may be. */
export interface ReceiveOptions {
  /** Folder the temp file goes to (created when missing). */
  tmpDir: string;
  /** Largest accepted file, in bytes. */
  maxBytes: number;
  /**
   * For a raw upload (any Content-Type but multipart/form-data: the body is the file): its options, e.g. from the
   * query string (`fileName`, `format`, `mode`, `mergeSchema`, `idempotencyKey`). Ignored for multipart uploads.
   */
  rawFields?: Record<string, string>;
}

/** An upload saved to disk. */
export interface ReceivedUpload {
  /** Temp file holding the bytes of the file part; the caller deletes it. */
  path: string;
  /** File name the client gave (base name only; `upload` when none). */
  fileName: string;
  /** Size of the file in bytes. */
  bytes: number;
  /** The other (non-file) form fields, e.g. mode, mergeSchema, format, idempotencyKey. */
  fields: Record<string, string>;
}

/** Field name of the file part. */
const FILE_FIELD = 'file';
const MAX_FIELDS = 50;
const MAX_FIELD_BYTES = 64 * 1024;
/** Buffer size of the multipart parser and the file streams (memory per upload stays a few MiB). */
const STREAM_BUFFER_BYTES = 1 << 20;
/** A safety net: the files and fields limits (51 parts) trip first. */
const MAX_PARTS = MAX_FIELDS + 2;
/** Room for the form fields, part headers and boundaries on top of the file in the Content-Length check. */
const FORM_OVERHEAD_BYTES = MAX_FIELDS * (MAX_FIELD_BYTES + 1024) + 64 * 1024;

function truncated(why: string): LakehouseError {
  return new LakehouseError('INVALID_INPUT', `upload was truncated: ${why}`);
}

function tooLarge(maxBytes: number): LakehouseError {
  return new LakehouseError('PAYLOAD_TOO_LARGE', `the uploaded file is larger than the limit of ${maxBytes} bytes`, { maxBytes });
}

/** The file name without any client path, and a safe suffix (`.csv`, `.csv.gz`) for the temp file. */
function names(raw: string | undefined): { fileName: string; suffix: string } {
  const fileName = basename((raw ?? '').replace(/\\/g, '/')).trim().slice(0, 255) || 'upload';
  const m = /((?:\.[A-Za-z0-9]{1,10}){1,2})$/.exec(fileName);
  return { fileName, suffix: m ? m[1].toLowerCase() : '' };
}

/**
 * Reads a `multipart/form-data` request and streams its one file part (field `file`) to a new temp file under
 * `tmpDir`, with backpressure: memory stays flat whatever the size. Resolves once the whole form was read and the
 * file is on disk. Rejects with PAYLOAD_TOO_LARGE (naming the limit) when the file exceeds `maxBytes` (also up front
 * from Content-Length), and with INVALID_INPUT when the request is not multipart, has no `file` part, more than one
 * file, unknown file fields, over-long fields, or was truncated (client disconnect, missing closing boundary, too
 * many parts). On rejection the temp file is deleted and the rest of the body is left unread: answer the client and
 * close the connection. Any other Content-Type is a raw upload: the body is the file (no form parsing, the cheapest
 * path for large files), its name and options from `rawFields` (see receiveRaw).
 */
export async function receiveUpload(req: IncomingMessage, options: ReceiveOptions): Promise<ReceivedUpload> {
  const { tmpDir, maxBytes } = options;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
    throw new LakehouseError('INVALID_INPUT', `maxBytes must be a non-negative integer, got ${maxBytes}`, { maxBytes });
  }
  if (!isMultipart(req)) return receiveRaw(req, options);
  const length = Number(req.headers['content-length']);
  if (Number.isFinite(length) && length > maxBytes + FORM_OVERHEAD_BYTES) throw tooLarge(maxBytes);

  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: req.headers,
      // Larger buffers than the 16-64 KiB defaults: fewer, larger disk writes for big uploads.
      highWaterMark: STREAM_BUFFER_BYTES,
      fileHwm: STREAM_BUFFER_BYTES,
      // +1: busboy reports the limit when the file reaches it; a file of exactly maxBytes is fine.
      limits: { files: 1, fileSize: maxBytes + 1, fields: MAX_FIELDS, fieldSize: MAX_FIELD_BYTES, parts: MAX_PARTS },
    });
  } catch (e) {
    throw new LakehouseError('INVALID_INPUT', `expected a multipart/form-data upload: ${(e as Error).message}`, {}, { cause: e });
  }
  await mkdir(tmpDir, { recursive: true });

  return new Promise<ReceivedUpload>((resolve, reject) => {
    const fields: Record<string, string> = {};
    let settled = false;
    let out: WriteStream | null = null;
    let path: string | null = null;
    let fileName = '';
    let written: Promise<void> | null = null;
    let parsed = false;

    const fail = (err: unknown): void => {
      if (settled) return;
      settled = true;
      req.unpipe(parser);
      parser.removeAllListeners('file');
      parser.on('file', (_name, file) => discard(file));
      parser.on('error', () => undefined);
      // Not from inside a busboy event: busboy keeps using its state after emitting.
      setImmediate(() => parser.destroy());
      void removeTemp(out, path).finally(() => reject(toLakehouseError(err)));
    };

    const maybeDone = (): void => {
      if (settled || !parsed) return;
      if (!written || !path || !out) {
        fail(new LakehouseError('INVALID_INPUT', `the upload has no file part; send the file as form field "${FILE_FIELD}"`));
        return;
      }
      const p = path;
      const stream = out;
      written.then(
        () => {
          if (settled) return;
          settled = true;
          cleanupListeners();
          resolve({ path: p, fileName, bytes: stream.bytesWritten, fields });
        },
        (e: unknown) => fail(e),
      );
    };

    parser.on('file', (name, file, info) => {
      if (settled) {
        discard(file);
        return;
      }
      if (name !== FILE_FIELD) {
        discard(file);
        fail(new LakehouseError('INVALID_INPUT', `unexpected file field "${name}"; send the file as form field "${FILE_FIELD}"`, { field: name }));
        return;
      }
      const n = names(info.filename);
      fileName = n.fileName;
      path = join(tmpDir, `upload-${randomUUID()}${n.suffix}`);
      out = createWriteStream(path, { flags: 'wx', highWaterMark: STREAM_BUFFER_BYTES });
      file.on('limit', () => fail(tooLarge(maxBytes)));
      // pipeline() pauses the part (and so the request) while the disk is behind.
      written = pipeline(file, out);
      written.catch((e: unknown) => fail(e));
    });
    parser.on('field', (name, value, info) => {
      if (info.valueTruncated || info.nameTruncated) {
        fail(new LakehouseError('INVALID_INPUT', `form field "${name}" is longer than ${MAX_FIELD_BYTES} bytes`, { field: name }));
        return;
      }
      fields[name] = value;
    });
    parser.on('filesLimit', () => fail(new LakehouseError('INVALID_INPUT', 'send one file per upload')));
    parser.on('fieldsLimit', () => fail(new LakehouseError('INVALID_INPUT', `an upload may have at most ${MAX_FIELDS} form fields`)));
    parser.on('partsLimit', () => fail(truncated(`more than ${MAX_PARTS} form parts`)));
    parser.on('error', (e: Error) => fail(e));
    parser.on('finish', () => {
      parsed = true;
      maybeDone();
    });

    const onAborted = (): void => fail(truncated('the client disconnected before the end of the body'));
    const onReqError = (e: Error): void => fail(truncated(`the connection failed (${e.message})`));
    const onReqClose = (): void => {
      if (!req.complete) onAborted();
    };
    const cleanupListeners = (): void => {
      req.off('aborted', onAborted);
      req.off('error', onReqError);
      req.off('close', onReqClose);
    };
    req.on('aborted', onAborted);
    req.on('error', onReqError);
    req.on('close', onReqClose);
    req.pipe(parser);
  });
}

/** Drains a file part nobody reads (busboy waits for it), ignoring its errors. */
function discard(file: Readable): void {
  file.on('error', () => undefined);
  file.resume();
}

/** A busboy or stream error as a LakehouseError: a form that ends early is a truncated upload. */
function toLakehouseError(e: unknown): LakehouseError {
  if (isLakehouseError(e)) return e;
  const message = e instanceof Error ? e.message : String(e);
  if (/^Unexpected end of (form|file)/.test(message)) return truncated('the body ended before the closing boundary');
  if (e instanceof Error && 'syscall' in e) return new LakehouseError('STORAGE_ERROR', `cannot save the upload to disk: ${message}`, {}, { cause: e });
  return new LakehouseError('INVALID_INPUT', `cannot read the upload: ${message}`, {}, { cause: e });
}

/** Closes the temp file (if open) and deletes it; never throws. */
async function removeTemp(out: WriteStream | null, path: string | null): Promise<void> {
  if (out && !out.closed) {
    await new Promise<void>((r) => {
      out.once('close', () => r());
      out.destroy();
    });
  }
  if (path) await rm(path, { force: true }).catch(() => undefined);
}

/** Content types of raw uploads and the file name suffix they imply when the client gives no file name. */
const RAW_SUFFIXES: Record<string, string> = {
  'text/csv': '.csv',
  'text/tab-separated-values': '.tsv',
  'application/json': '.json',
  'application/x-ndjson': '.ndjson',
  'application/jsonl': '.ndjson',
  'application/vnd.apache.parquet': '.parquet',
  'application/x-parquet': '.parquet',
};

function isMultipart(req: IncomingMessage): boolean {
  return /^multipart\//i.test(req.headers['content-type'] ?? '');
}

/** The file name of a raw upload: the `fileName` field, else Content-Disposition's filename, else `upload` + the type's suffix. */
function rawFileName(req: IncomingMessage, fields: Record<string, string>): string | undefined {
  if (fields.fileName?.trim()) return fields.fileName;
  const disposition = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(req.headers['content-disposition'] ?? '');
  if (disposition) {
    try {
      return decodeURIComponent(disposition[1]);
    } catch {
      return disposition[1];
    }
  }
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  return RAW_SUFFIXES[type] ? `upload${RAW_SUFFIXES[type]}` : undefined;
}

/**
 * A raw upload: the request body is the file, streamed to a new temp file under `tmpDir` with backpressure. Same
 * guarantees and errors as the multipart path: PAYLOAD_TOO_LARGE over `maxBytes` (up front from Content-Length),
 * INVALID_INPUT for a body that ends early (disconnect, fewer bytes than Content-Length) or a Content-Encoding (send
 * `.gz` files by name instead); the temp file is deleted on any failure.
 */
async function receiveRaw(req: IncomingMessage, options: ReceiveOptions): Promise<ReceivedUpload> {
  const { tmpDir, maxBytes } = options;
  const fields = { ...(options.rawFields ?? {}) };
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding !== 'identity') {
    throw new LakehouseError('INVALID_INPUT', `Content-Encoding ${encoding} is not accepted: send a compressed file as it is, named .csv.gz (fileName)`, {
      contentEncoding: encoding,
    });
  }
  const length = Number(req.headers['content-length']);
  if (Number.isFinite(length) && length > maxBytes) throw tooLarge(maxBytes);
  const { fileName, suffix } = names(rawFileName(req, fields));
  delete fields.fileName;
  await mkdir(tmpDir, { recursive: true });
  const path = join(tmpDir, `upload-${randomUUID()}${suffix}`);
  const out = createWriteStream(path, { flags: 'wx', highWaterMark: STREAM_BUFFER_BYTES });
  let bytes = 0;
  let over = false;
  const onData = (chunk: Buffer): void => {
    bytes += chunk.length;
    if (bytes > maxBytes && !over) {
      over = true;
      req.unpipe(out);
      out.destroy(tooLarge(maxBytes));
    }
  };
  // With a Content-Length (checked above) the HTTP parser delivers no more; only a chunked body is counted as it
  // arrives (a second 'data' listener beside the pipe costs a third of the upload's speed).
  const counted = !Number.isFinite(length);
  if (counted) req.on('data', onData);
  try {
    // pipeline() pauses the request while the disk is behind, and fails when the client goes away mid-body.
    await pipeline(req, out);
    if (!counted) bytes = out.bytesWritten;
    if (over) throw tooLarge(maxBytes);
    if (!req.complete) throw truncated('the client disconnected before the end of the body');
    if (Number.isFinite(length) && bytes !== length) throw truncated(`${bytes} of the ${length} bytes of Content-Length arrived`);
    return { path, fileName, bytes, fields };
  } catch (e) {
    await removeTemp(out, path);
    if (over) throw tooLarge(maxBytes);
    if (isLakehouseError(e)) throw e;
    if ((e as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE' || !req.complete) throw truncated('the client disconnected before the end of the body');
    throw toLakehouseError(e);
  } finally {
    if (counted) req.off('data', onData);
  }
}

