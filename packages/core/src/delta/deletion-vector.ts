// PROTOCOL.md: Deletion Vectors, Deletion Vector Descriptor Schema (with Derived Fields) and
// Deletion Vector Format (RoaringBitmapArray in the 64-bit "portable" Roaring serialization,
// prefixed by a magic number, stored inline as Z85 or in a file with size and CRC-32).
import { LakehouseError } from '../errors.js';
import type { DeletionVectorDescriptor } from './actions.js';
import { z85Decode, z85Encode, z85EncodePadded } from './z85.js';

/** Magic number of the RoaringBitmapArray portable format (PROTOCOL.md "Deletion Vector Format"). */
export const DV_PORTABLE_MAGIC = 1681511377;
/** Magic number of Delta's Java-native RoaringBitmapArray format, which the protocol does not specify. */
const DV_NATIVE_MAGIC = 1681511376;
/** Format version byte at the start of an on-disk DV file. */
export const DV_FILE_FORMAT_VERSION = 1;

const SERIAL_COOKIE_NO_RUNCONTAINER = 12346;
const SERIAL_COOKIE = 12347;
const NO_OFFSET_THRESHOLD = 4;
const ARRAY_CONTAINER_MAX = 4096;
const BITMAP_CONTAINER_BYTES = 8192;
const TWO_POW_32 = 4294967296;
/** Largest bucket key whose values stay exact as JavaScript numbers (key * 2^32 + 2^32 - 1 <= 2^53 - 1). */
const MAX_SAFE_BUCKET_KEY = 2 ** 21 - 1;
const UUID_Z85_LENGTH = 20;

// ---------------------------------------------------------------------------------------------
// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), as java.util.zip.CRC32 computes it.

const CRC_TABLE: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** The standard CRC-32 (zlib/PNG/java.util.zip.CRC32) of `bytes`, as an unsigned 32-bit number. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Derived fields.

/** Relative path (from the table root, not percent-encoded) of a `u` DV file: optional random prefix dir + `deletion_vector_<uuid>.bin`. */
export function deletionVectorRelativePath(dv: DeletionVectorDescriptor): string {
  if (dv.storageType !== 'u') {
    throw new LakehouseError(
      'INVALID_INPUT',
      `deletion vector with storageType '${dv.storageType}' has no relative path (only 'u' has one)`,
      { storageType: dv.storageType },
    );
  }
  const s = dv.pathOrInlineDv;
  if (s.length < UUID_Z85_LENGTH) {
    throw new LakehouseError(
      'CORRUPT_LOG',
      `deletion vector pathOrInlineDv ${JSON.stringify(s)} is shorter than the ${UUID_Z85_LENGTH}-character Z85 UUID`,
      { pathOrInlineDv: s },
    );
  }
  const prefix = s.slice(0, s.length - UUID_Z85_LENGTH);
  let uuidBytes: Uint8Array;
  try {
    uuidBytes = z85Decode(s.slice(s.length - UUID_Z85_LENGTH));
  } catch (e) {
    throw new LakehouseError(
      'CORRUPT_LOG',
      `deletion vector pathOrInlineDv ${JSON.stringify(s)} does not end in a Z85-encoded UUID: ${(e as Error).message}`,
      { pathOrInlineDv: s },
      { cause: e },
    );
  }
  const name = `deletion_vector_${formatUuid(uuidBytes)}.bin`;
  return prefix.length > 0 ? `${prefix}/${name}` : name;
}

/** Unique id used in log reconciliation: storageType + pathOrInlineDv (+ '@' + offset when present), per the protocol's Derived Fields. */
export function deletionVectorUniqueId(dv: DeletionVectorDescriptor): string {
  const base = `${dv.storageType}${dv.pathOrInlineDv}`;
  return dv.offset === undefined || dv.offset === null ? base : `${base}@${dv.offset}`;
}

/** The `pathOrInlineDv` of a `u` descriptor for a DV file named `deletion_vector_<uuid>.bin` under the optional `randomPrefix` directory. */
export function deletionVectorPathOrInlineDv(uuid: string, randomPrefix = ''): string {
  const hex = uuid.toLowerCase();
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(hex)) {
    throw new LakehouseError('INVALID_INPUT', `${JSON.stringify(uuid)} is not a canonical UUID`, { uuid });
  }
  if (randomPrefix.includes('/')) {
    throw new LakehouseError('INVALID_INPUT', `deletion vector random prefix ${JSON.stringify(randomPrefix)} must not contain '/'`, {
      randomPrefix,
    });
  }
  const digits = hex.replace(/-/g, '');
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 16; i++) bytes[i] = parseInt(digits.slice(2 * i, 2 * i + 2), 16);
  return randomPrefix + z85Encode(bytes);
}

function formatUuid(b: Uint8Array): string {
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// ---------------------------------------------------------------------------------------------
// RoaringBitmapArray parsing.

class Reader {
  readonly view: DataView;
  pos = 0;
  constructor(
    readonly bytes: Uint8Array,
    readonly label: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  need(n: number, what: string): void {
    if (this.pos + n > this.bytes.length) {
      throw corrupt(this.label, `truncated: needs ${n} more bytes for ${what} at byte ${this.pos}, only ${this.bytes.length - this.pos} left`);
    }
  }
  u16(what: string): number {
    this.need(2, what);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
}

function corrupt(label: string, problem: string, details: Record<string, unknown> = {}): LakehouseError {
  return new LakehouseError('CORRUPT_LOG', `${label}: ${problem}`, { ...details, deletionVector: label });
}

/** Parses a serialized RoaringBitmapArray (with magic number) into sorted ascending row indexes. */
export function parseRoaringBitmapArray(bytes: Uint8Array): number[] {
  return parseRoaringBitmapArrayLabeled(bytes, 'deletion vector bitmap');
}

function parseRoaringBitmapArrayLabeled(bytes: Uint8Array, label: string): number[] {
  const r = new Reader(bytes, label);
  const magic = r.u32('the magic number');
  if (magic !== DV_PORTABLE_MAGIC) {
    // The native format is what PROTOCOL.md's own inline example (JSON Example 3) holds, with the magic big-endian.
    if (magic === DV_NATIVE_MAGIC || r.view.getUint32(0, false) === DV_NATIVE_MAGIC) {
      throw new LakehouseError(
        'UNSUPPORTED_FEATURE',
        `${label}: RoaringBitmapArray in the non-portable native format (magic ${DV_NATIVE_MAGIC}) is not supported, only the portable format (magic ${DV_PORTABLE_MAGIC})`,
        { deletionVector: label, magic },
      );
    }
    throw corrupt(label, `bad magic number ${magic}, expected ${DV_PORTABLE_MAGIC}`, { magic });
  }
  const bucketsLow = r.u32('the bucket count');
  const bucketsHigh = r.u32('the bucket count');
  if (bucketsHigh !== 0) throw corrupt(label, `bucket count ${bucketsHigh * TWO_POW_32 + bucketsLow} is out of range`);
  const out: number[] = [];
  let previousKey = -1;
  for (let b = 0; b < bucketsLow; b++) {
    const key = r.u32(`the key of bucket ${b}`);
    if (key <= previousKey) throw corrupt(label, `bucket keys are not strictly ascending (${key} after ${previousKey})`);
    if (key > MAX_SAFE_BUCKET_KEY) {
      throw corrupt(label, `bucket key ${key} gives row indexes beyond 2^53, which cannot be row positions in a data file`);
    }
    previousKey = key;
    parseRoaring32(r, key * TWO_POW_32, out);
  }
  if (r.pos !== bytes.length) throw corrupt(label, `${bytes.length - r.pos} trailing bytes after the bitmap`);
  return out;
}

/** Parses one 32-bit Roaring bitmap (RoaringFormatSpec) at `r.pos`, pushing `base + value` for each value. */
function parseRoaring32(r: Reader, base: number, out: number[]): void {
  const start = r.pos;
  const cookie = r.u32('the Roaring cookie');
  let size: number;
  let runFlags: Uint8Array | null = null;
  let hasOffsets: boolean;
  if (cookie === SERIAL_COOKIE_NO_RUNCONTAINER) {
    size = r.u32('the container count');
    hasOffsets = true;
  } else if ((cookie & 0xffff) === SERIAL_COOKIE) {
    size = (cookie >>> 16) + 1;
    const flagBytes = Math.ceil(size / 8);
    r.need(flagBytes, 'the run container flags');
    runFlags = r.bytes.subarray(r.pos, r.pos + flagBytes);
    r.pos += flagBytes;
    hasOffsets = size >= NO_OFFSET_THRESHOLD;
  } else {
    throw corrupt(r.label, `bad Roaring cookie ${cookie} at byte ${start}`, { cookie });
  }
  if (size > 65536) throw corrupt(r.label, `Roaring bitmap claims ${size} containers (at most 65536)`);
  r.need(4 * size, 'the descriptive header');
  const keys = new Array<number>(size);
  const cards = new Array<number>(size);
  for (let i = 0; i < size; i++) {
    keys[i] = r.u16('a container key');
    cards[i] = r.u16('a container cardinality') + 1;
    if (i > 0 && keys[i] <= keys[i - 1]) {
      throw corrupt(r.label, `container keys are not strictly ascending (${keys[i]} after ${keys[i - 1]})`);
    }
  }
  // The offset header only speeds up random access; containers are read sequentially.
  if (hasOffsets) {
    r.need(4 * size, 'the offset header');
    r.pos += 4 * size;
  }
  for (let i = 0; i < size; i++) {
    const high = base + keys[i] * 65536;
    const isRun = runFlags !== null && (runFlags[i >>> 3] & (1 << (i & 7))) !== 0;
    const card = cards[i];
    let count = 0;
    if (isRun) {
      const runs = r.u16('a run count');
      r.need(4 * runs, 'run container runs');
      let nextAllowed = 0;
      for (let k = 0; k < runs; k++) {
        const runStart = r.u16('a run start');
        const runLength = r.u16('a run length') + 1;
        if (runStart < nextAllowed || runStart + runLength > 65536) {
          throw corrupt(r.label, `run container ${keys[i]} has overlapping, unsorted or out-of-range runs`);
        }
        for (let v = runStart; v < runStart + runLength; v++) out.push(high + v);
        count += runLength;
        nextAllowed = runStart + runLength;
      }
    } else if (card <= ARRAY_CONTAINER_MAX) {
      r.need(2 * card, 'array container values');
      let previous = -1;
      for (let k = 0; k < card; k++) {
        const v = r.u16('an array value');
        if (v <= previous) throw corrupt(r.label, `array container ${keys[i]} values are not strictly ascending`);
        previous = v;
        out.push(high + v);
      }
      count = card;
    } else {
      r.need(BITMAP_CONTAINER_BYTES, 'a bitmap container');
      for (let w = 0; w < BITMAP_CONTAINER_BYTES / 4; w++) {
        let word = r.view.getUint32(r.pos + 4 * w, true);
        while (word !== 0) {
          const bit = 31 - Math.clz32(word & -word);
          out.push(high + w * 32 + bit);
          count++;
          word = (word & (word - 1)) >>> 0;
        }
      }
      r.pos += BITMAP_CONTAINER_BYTES;
    }
    if (count !== card) {
      throw corrupt(r.label, `container ${keys[i]} holds ${count} values but its header says ${card}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// RoaringBitmapArray serialization.

interface Container {
  key: number;
  values: number[];
}

/** Serializes sorted unique row indexes as a RoaringBitmapArray (portable format, array/bitmap containers; run containers needed only for reading). */
export function serializeRoaringBitmapArray(rows: readonly number[]): Uint8Array {
  const buckets: { key: number; containers: Container[] }[] = [];
  let previous = -1;
  for (const row of rows) {
    if (!Number.isSafeInteger(row) || row < 0) {
      throw new LakehouseError('INVALID_INPUT', `deletion vector row index ${row} is not a non-negative safe integer`, { row });
    }
    if (row <= previous) {
      throw new LakehouseError('INVALID_INPUT', `deletion vector row indexes must be strictly ascending (${row} after ${previous})`, {
        row,
        previous,
      });
    }
    previous = row;
    const bucketKey = Math.floor(row / TWO_POW_32);
    const low = row - bucketKey * TWO_POW_32;
    const containerKey = low >>> 16;
    let bucket = buckets[buckets.length - 1];
    if (bucket === undefined || bucket.key !== bucketKey) {
      bucket = { key: bucketKey, containers: [] };
      buckets.push(bucket);
    }
    let container = bucket.containers[bucket.containers.length - 1];
    if (container === undefined || container.key !== containerKey) {
      container = { key: containerKey, values: [] };
      bucket.containers.push(container);
    }
    container.values.push(low & 0xffff);
  }

  const containerBytes = (c: Container): number =>
    c.values.length <= ARRAY_CONTAINER_MAX ? 2 * c.values.length : BITMAP_CONTAINER_BYTES;
  let total = 4 + 8;
  for (const b of buckets) {
    total += 4 + 8 + 8 * b.containers.length;
    for (const c of b.containers) total += containerBytes(c);
  }

  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let pos = 0;
  view.setUint32(pos, DV_PORTABLE_MAGIC, true);
  view.setUint32(pos + 4, buckets.length, true);
  view.setUint32(pos + 8, 0, true);
  pos += 12;
  for (const b of buckets) {
    view.setUint32(pos, b.key, true);
    pos += 4;
    const start = pos;
    const n = b.containers.length;
    view.setUint32(pos, SERIAL_COOKIE_NO_RUNCONTAINER, true);
    view.setUint32(pos + 4, n, true);
    pos += 8;
    for (const c of b.containers) {
      view.setUint16(pos, c.key, true);
      view.setUint16(pos + 2, c.values.length - 1, true);
      pos += 4;
    }
    let containerOffset = 8 + 8 * n;
    for (const c of b.containers) {
      view.setUint32(pos, containerOffset, true);
      pos += 4;
      containerOffset += containerBytes(c);
    }
    for (const c of b.containers) {
      if (c.values.length <= ARRAY_CONTAINER_MAX) {
        for (const v of c.values) {
          view.setUint16(pos, v, true);
          pos += 2;
        }
      } else {
        for (const v of c.values) out[pos + (v >>> 3)] |= 1 << (v & 7);
        pos += BITMAP_CONTAINER_BYTES;
      }
    }
    if (pos - start !== containerOffset) throw new LakehouseError('INTERNAL', 'Roaring serialization size mismatch');
  }
  if (pos !== total) throw new LakehouseError('INTERNAL', 'RoaringBitmapArray serialization size mismatch');
  return out;
}

// ---------------------------------------------------------------------------------------------
// DV files and descriptors.

/** Builds the bytes of a DV file holding one bitmap (version byte 1, size, bitmap, CRC) and the descriptor fields offset/sizeInBytes for it. */
export function encodeDeletionVectorFile(rows: readonly number[]): { bytes: Uint8Array; offset: number; sizeInBytes: number } {
  const bitmap = serializeRoaringBitmapArray(rows);
  const bytes = new Uint8Array(1 + 4 + bitmap.length + 4);
  const view = new DataView(bytes.buffer);
  bytes[0] = DV_FILE_FORMAT_VERSION;
  view.setUint32(1, bitmap.length, false);
  bytes.set(bitmap, 5);
  view.setUint32(5 + bitmap.length, crc32(bitmap), false);
  return { bytes, offset: 1, sizeInBytes: bitmap.length };
}

/** A complete inline (`i`) descriptor for the given sorted unique row indexes: Z85 of the RoaringBitmapArray, zero-padded to 4 bytes. */
export function inlineDeletionVectorDescriptor(rows: readonly number[]): DeletionVectorDescriptor {
  const bitmap = serializeRoaringBitmapArray(rows);
  return { storageType: 'i', pathOrInlineDv: z85EncodePadded(bitmap), sizeInBytes: bitmap.length, cardinality: rows.length };
}

/** Loads the deleted row indexes of a DV. `readFile(relativeOrAbsolutePath, range)` fetches bytes of the DV file: for `u` pass deletionVectorRelativePath(dv); for `p` pass the absolute path as given. Verifies size, CRC-32 and cardinality; throws CORRUPT_LOG naming the DV file on mismatch. */
export async function loadDeletionVector(
  dv: DeletionVectorDescriptor,
  readFile: (path: string, range: { start: number; end: number }) => Promise<Uint8Array>,
): Promise<number[]> {
  const { sizeInBytes, cardinality } = dv;
  if (!Number.isSafeInteger(sizeInBytes) || sizeInBytes < 0) {
    throw new LakehouseError('CORRUPT_LOG', `deletion vector ${deletionVectorUniqueId(dv)} has invalid sizeInBytes ${sizeInBytes}`, {
      deletionVector: deletionVectorUniqueId(dv),
    });
  }
  let rows: number[];
  let label: string;
  if (dv.storageType === 'i') {
    label = `inline deletion vector ${JSON.stringify(dv.pathOrInlineDv)}`;
    let decoded: Uint8Array;
    try {
      decoded = z85Decode(dv.pathOrInlineDv);
    } catch (e) {
      throw new LakehouseError('CORRUPT_LOG', `${label}: not valid Z85: ${(e as Error).message}`, { deletionVector: label }, { cause: e });
    }
    if (decoded.length < sizeInBytes || decoded.length - sizeInBytes >= 4) {
      throw corrupt(label, `decodes to ${decoded.length} bytes, which does not fit sizeInBytes ${sizeInBytes}`);
    }
    rows = parseRoaringBitmapArrayLabeled(decoded.subarray(0, sizeInBytes), label);
  } else if (dv.storageType === 'u' || dv.storageType === 'p') {
    const path = dv.storageType === 'u' ? deletionVectorRelativePath(dv) : dv.pathOrInlineDv;
    const offset = dv.offset ?? 1;
    label = `deletion vector file ${path} (offset ${offset})`;
    if (!Number.isSafeInteger(offset) || offset < 1) throw corrupt(label, `invalid offset ${offset}`);
    rows = await readFromFile(path, offset, sizeInBytes, label, readFile);
  } else {
    const st: string = dv.storageType;
    throw new LakehouseError('UNSUPPORTED_FEATURE', `deletion vector storageType ${JSON.stringify(st)} is not supported`, {
      storageType: st,
    });
  }
  if (rows.length !== cardinality) {
    throw corrupt(label, `holds ${rows.length} row indexes but the descriptor's cardinality is ${cardinality}`, {
      cardinality,
      actual: rows.length,
    });
  }
  return rows;
}

async function readFromFile(
  path: string,
  offset: number,
  sizeInBytes: number,
  label: string,
  readFile: (path: string, range: { start: number; end: number }) => Promise<Uint8Array>,
): Promise<number[]> {
  const end = offset + 4 + sizeInBytes + 4;
  // One request when the DV starts right after the version byte (the usual case), else two.
  let version: number | undefined;
  let chunk: Uint8Array;
  if (offset === 1) {
    const all = await readFile(path, { start: 0, end });
    if (all.length !== end) throw corrupt(label, `file is truncated: read ${all.length} of ${end} bytes`);
    version = all[0];
    chunk = all.subarray(1);
  } else {
    const [head, body] = await Promise.all([readFile(path, { start: 0, end: 1 }), readFile(path, { start: offset, end })]);
    version = head[0];
    chunk = body;
    if (chunk.length !== end - offset) throw corrupt(label, `file is truncated: read ${chunk.length} of ${end - offset} bytes`);
  }
  if (version !== DV_FILE_FORMAT_VERSION) {
    throw corrupt(label, `unknown DV file format version ${version ?? '(empty file)'}, expected ${DV_FILE_FORMAT_VERSION}`);
  }
  const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  const storedSize = view.getUint32(0, false);
  if (storedSize !== sizeInBytes) {
    throw corrupt(label, `stored size ${storedSize} differs from the descriptor's sizeInBytes ${sizeInBytes}`, {
      storedSize,
      sizeInBytes,
    });
  }
  const bitmap = chunk.subarray(4, 4 + sizeInBytes);
  const storedCrc = view.getUint32(4 + sizeInBytes, false);
  const actualCrc = crc32(bitmap);
  if (storedCrc !== actualCrc) {
    throw corrupt(label, `CRC-32 mismatch: stored ${hex32(storedCrc)}, computed ${hex32(actualCrc)}`, {
      storedCrc,
      actualCrc,
    });
  }
  return parseRoaringBitmapArrayLabeled(bitmap, label);
}

function hex32(v: number): string {
  return `0x${v.toString(16).padStart(8, '0')}`;
}
