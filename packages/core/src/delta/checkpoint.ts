import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { jsonObjectLines } from './log.js';
import type { ColumnChunk, DecodedArray, FileMetaData, ParquetParsers, SchemaElement } from 'hyparquet';
import { parquetHeader } from 'hyparquet/src/column.js';
import { convert, convertWithDictionary, DEFAULT_PARSERS } from 'hyparquet/src/convert.js';
import { decompressPage, readDataPage, readDataPageV2 } from 'hyparquet/src/datapage.js';
import { readPlain } from 'hyparquet/src/plain.js';
import { getSchemaPath } from 'hyparquet/src/schema.js';
import { compressors } from 'hyparquet-compressors';
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
// hyparquet-writer pins its own hyparquet; its schema type is structurally the same but nominally distinct.
import type { SchemaElement as WriterSchemaElement } from 'hyparquet-writer';
import { writeColumn } from 'hyparquet-writer/src/column.js';
import { LakehouseError } from '../errors.js';
import type {
  Action,
  AddAction,
  CheckpointMetadataAction,
  DeletionVectorDescriptor,
  DomainMetadataAction,
  MetadataAction,
  ProtocolAction,
  RemoveAction,
  SidecarAction,
  TxnAction,
} from './actions.js';
import type { DataType, StructType } from './schema.js';

// PROTOCOL.md: Checkpoints, V2 Checkpoint Spec, Appendix "Checkpoint Schema".
// This module only turns bytes into actions and back; which files to read is decided elsewhere.
//
// Speed: hyparquet's generic row assembly allocates nested arrays per value and is GC-bound on large
// checkpoints (~10 s for 300k adds). For the shapes a checkpoint uses (structs of primitives, string
// maps, string lists) we decode pages with hyparquet's page-level functions and assemble rows
// ourselves from definition/repetition levels; other shapes fall back to hyparquet's assembly.
// Likewise the encoder shreds actions into levels directly and hands pages to hyparquet-writer.

/** The action columns a checkpoint row may carry, in the order they are emitted for one row. */
export const CHECKPOINT_ACTION_KEYS = [
  'txn',
  'add',
  'remove',
  'metaData',
  'protocol',
  'domainMetadata',
  'checkpointMetadata',
  'sidecar',
] as const;

type CheckpointActionKey = (typeof CHECKPOINT_ACTION_KEYS)[number];
type Row = Record<string, unknown>;
type StringMap = Record<string, string | null>;

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

/** Which parquet fields are read: `true` keeps a whole subtree, an object keeps only the named children. */
interface Keep {
  [name: string]: true | Keep;
}

const DV_KEEP: Keep = { storageType: true, pathOrInlineDv: true, offset: true, sizeInBytes: true, cardinality: true };

/** Pass 1: every field the action types carry (the `*_parsed` columns are left out: they are costly). */
const ACTION_FIELDS: Keep = {
  txn: { appId: true, version: true, lastUpdated: true },
  add: {
    path: true,
    partitionValues: true,
    size: true,
    modificationTime: true,
    dataChange: true,
    stats: true,
    tags: true,
    deletionVector: DV_KEEP,
    baseRowId: true,
    defaultRowCommitVersion: true,
    clusteringProvider: true,
  },
  remove: {
    path: true,
    deletionTimestamp: true,
    dataChange: true,
    extendedFileMetadata: true,
    partitionValues: true,
    size: true,
    stats: true,
    tags: true,
    deletionVector: DV_KEEP,
    baseRowId: true,
    defaultRowCommitVersion: true,
  },
  metaData: {
    id: true,
    name: true,
    description: true,
    format: true,
    schemaString: true,
    partitionColumns: true,
    configuration: true,
    createdTime: true,
  },
  protocol: { minReaderVersion: true, minWriterVersion: true, readerFeatures: true, writerFeatures: true },
  domainMetadata: { domain: true, configuration: true, removed: true },
  checkpointMetadata: { version: true, tags: true },
  sidecar: { path: true, sizeInBytes: true, modificationTime: true, tags: true },
};

/** Pass 2 (only when some add lacks `stats` or `partitionValues`): the parsed struct columns. */
const PARSED_FIELDS: Keep = { add: { stats_parsed: true, partitionValues_parsed: true } };

interface SchemaNode {
  element: SchemaElement;
  children: SchemaNode[];
}

function schemaTree(schema: readonly SchemaElement[]): SchemaNode {
  let i = 0;
  const build = (): SchemaNode => {
    const element = schema[i++];
    if (!element) throw new Error('truncated parquet schema');
    const children: SchemaNode[] = [];
    for (let c = 0; c < (element.num_children ?? 0); c++) children.push(build());
    return { element, children };
  };
  return build();
}

function childNode(node: SchemaNode | undefined, name: string): SchemaNode | undefined {
  return node?.children.find((c) => c.element.name === name);
}

/** Keeps the fields named by `keep`; groups left without children are dropped. */
function pruneTree(node: SchemaNode, keep: Keep): SchemaNode | null {
  const children: SchemaNode[] = [];
  for (const child of node.children) {
    const k = keep[child.element.name];
    if (k === undefined) continue;
    if (k === true || child.children.length === 0) {
      children.push(child);
      continue;
    }
    const pruned = pruneTree(child, k);
    if (pruned) children.push(pruned);
  }
  if (children.length === 0) return null;
  return { element: { ...node.element, num_children: children.length }, children };
}

function flattenTree(node: SchemaNode, out: SchemaElement[] = []): SchemaElement[] {
  out.push(node.element);
  for (const c of node.children) flattenTree(c, out);
  return out;
}

const SEP = '\u0000';

/** Set of leaf paths (joined with SEP) present in a tree. */
function leafPaths(node: SchemaNode, prefix: string[] = [], out = new Set<string>()): Set<string> {
  for (const c of node.children) {
    const p = [...prefix, c.element.name];
    if (c.children.length === 0) out.add(p.join(SEP));
    else leafPaths(c, p, out);
  }
  return out;
}

/** Metadata restricted to the kept fields, so neither reader decodes the rest. */
function projectMetadata(metadata: FileMetaData, tree: SchemaNode, keep: Keep): FileMetaData | null {
  const pruned = pruneTree(tree, keep);
  if (!pruned) return null;
  const leaves = leafPaths(pruned);
  const keepChunk = (c: ColumnChunk): boolean => !!c.meta_data && leaves.has(c.meta_data.path_in_schema.join(SEP));
  return {
    ...metadata,
    schema: flattenTree(pruned),
    row_groups: metadata.row_groups.map((rg) => ({ ...rg, columns: rg.columns.filter(keepChunk) })),
  };
}

/** The bytes as an ArrayBuffer (hyparquet's in-memory AsyncBuffer), copied only when they are a view. */
function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) return bytes.buffer;
  return bytes.slice().buffer as ArrayBuffer;
}

const MS_PER_DAY = 86_400_000;

/** Date parsers that floor (hyparquet truncates toward zero, off by one for pre-1970 instants). */
const STATS_PARSERS: ParquetParsers = {
  ...DEFAULT_PARSERS,
  timestampFromMilliseconds: (v: bigint) => new Date(Number(v)),
  timestampFromMicroseconds: (v: bigint) => new Date(Math.floor(Number(v) / 1000)),
  timestampFromNanoseconds: (v: bigint) => new Date(Math.floor(Number(v / 1000n) / 1000)),
  dateFromDays: (d: number) => new Date(d * MS_PER_DAY),
};

function corrupt(fileName: string, message: string, details: Record<string, unknown> = {}, cause?: unknown): LakehouseError {
  return new LakehouseError('CORRUPT_LOG', `corrupt checkpoint ${fileName}: ${message}`, { file: fileName, ...details }, cause ? { cause } : undefined);
}

// --- fast column reader ---------------------------------------------------------------------------

type ColumnDecoder = Parameters<typeof readDataPage>[2];

/** One leaf column: its levels and dense (non-null) values for the current row group, plus cursors. */
interface Leaf {
  path: string[];
  decoder: ColumnDecoder;
  maxDef: number;
  maxRep: number;
  n: number;
  /** Definition levels; null when every entry is at `maxDef`. */
  defs: ArrayLike<number> | null;
  reps: ArrayLike<number> | null;
  values: ArrayLike<unknown>;
  /** Next level entry (repeated leaves only; flat leaves are indexed by row). */
  pos: number;
  /** Next dense value. */
  vpos: number;
}

/** How a field is assembled from its leaves. `def` is the definition level at which the field is non-null. */
type Plan =
  | { kind: 'prim'; name: string; leaf: Leaf }
  | { kind: 'struct'; name: string; def: number; fields: Plan[]; first: Leaf; repeated: Leaf[]; absent: boolean }
  | { kind: 'map'; name: string; def: number; entryDef: number; key: Leaf; value: Leaf }
  | { kind: 'list'; name: string; def: number; entryDef: number; elem: Leaf };

class UnsupportedShape extends Error {}

function isContainer(e: SchemaElement): boolean {
  const ct = e.converted_type;
  const lt = e.logical_type?.type;
  return ct === 'MAP' || ct === 'LIST' || ct === 'MAP_KEY_VALUE' || lt === 'MAP' || lt === 'LIST';
}

interface PlanCtx {
  schema: SchemaElement[];
  parsers: ParquetParsers;
  leaves: Leaf[];
}

function makeLeaf(ctx: PlanCtx, path: string[], element: SchemaElement, maxDef: number, maxRep: number): Leaf {
  if (!element.type) throw new UnsupportedShape(`leaf ${path.join('.')} has no type`);
  const schemaPath = getSchemaPath(ctx.schema, path);
  const leaf: Leaf = {
    path,
    decoder: { pathInSchema: path, type: element.type, element, schemaPath, codec: 'UNCOMPRESSED', parsers: ctx.parsers, compressors, utf8: true },
    maxDef,
    maxRep,
    n: 0,
    defs: null,
    reps: null,
    values: [],
    pos: 0,
    vpos: 0,
  };
  ctx.leaves.push(leaf);
  return leaf;
}

/** Plans a struct node whose own definition level (when non-null) is `def`; no repeated ancestors. */
function planStruct(ctx: PlanCtx, node: SchemaNode, path: string[], def: number): Plan & { kind: 'struct' } {
  const fields: Plan[] = [];
  const before = ctx.leaves.length;
  for (const child of node.children) {
    const e = child.element;
    const p = [...path, e.name];
    const cdef = def + (e.repetition_type === 'REQUIRED' ? 0 : 1);
    if (e.repetition_type === 'REPEATED') throw new UnsupportedShape(`repeated field ${p.join('.')}`);
    if (child.children.length === 0) {
      fields.push({ kind: 'prim', name: e.name, leaf: makeLeaf(ctx, p, e, cdef, 0) });
    } else if (isContainer(e)) {
      const rep = child.children[0];
      if (child.children.length !== 1 || rep.element.repetition_type !== 'REPEATED') throw new UnsupportedShape(`container ${p.join('.')}`);
      const entryDef = cdef + 1;
      const rp = [...p, rep.element.name];
      if (rep.children.length === 2 && rep.children.every((c) => c.children.length === 0 && c.element.repetition_type !== 'REPEATED')) {
        const k = rep.children.find((c) => c.element.name === 'key') ?? rep.children[0];
        const v = rep.children.find((c) => c !== k) ?? rep.children[1];
        const kd = entryDef + (k.element.repetition_type === 'REQUIRED' ? 0 : 1);
        const vd = entryDef + (v.element.repetition_type === 'REQUIRED' ? 0 : 1);
        // Leaves must be created in schema order (the order of the column chunks).
        const first = rep.children[0] === k ? makeLeaf(ctx, [...rp, k.element.name], k.element, kd, 1) : null;
        const value = makeLeaf(ctx, [...rp, v.element.name], v.element, vd, 1);
        const key = first ?? makeLeaf(ctx, [...rp, k.element.name], k.element, kd, 1);
        fields.push({ kind: 'map', name: e.name, def: cdef, entryDef, key, value });
      } else if (rep.children.length === 0) {
        fields.push({ kind: 'list', name: e.name, def: cdef, entryDef, elem: makeLeaf(ctx, rp, rep.element, entryDef, 1) });
      } else if (rep.children.length === 1 && rep.children[0].children.length === 0 && rep.children[0].element.repetition_type !== 'REPEATED') {
        const el = rep.children[0].element;
        const ed = entryDef + (el.repetition_type === 'REQUIRED' ? 0 : 1);
        fields.push({ kind: 'list', name: e.name, def: cdef, entryDef, elem: makeLeaf(ctx, [...rp, el.name], el, ed, 1) });
      } else {
        throw new UnsupportedShape(`container ${p.join('.')}`);
      }
    } else {
      fields.push(planStruct(ctx, child, p, cdef));
    }
  }
  const leaves = ctx.leaves.slice(before);
  if (leaves.length === 0) throw new UnsupportedShape(`empty struct ${path.join('.')}`);
  return { kind: 'struct', name: node.element.name, def, fields, first: leaves[0], repeated: leaves.filter((l) => l.maxRep > 0), absent: false };
}

/** Decodes all pages of one column chunk into the leaf's levels and dense values. */
function loadLeaf(file: ArrayBuffer, chunk: ColumnChunk, leaf: Leaf): void {
  const meta = chunk.meta_data;
  if (!meta) throw new Error(`column ${leaf.path.join('.')} has no metadata`);
  const decoder = { ...leaf.decoder, codec: meta.codec };
  const start = Number(meta.dictionary_page_offset || meta.data_page_offset);
  const size = Number(meta.total_compressed_size);
  const total = Number(meta.num_values);
  if (start + size > file.byteLength) throw new Error(`column ${leaf.path.join('.')} extends past the end of the file`);
  const reader = { view: new DataView(file, start, size), offset: 0 };
  const defParts: (number[] | null)[] = [];
  const repParts: number[][] = [];
  const counts: number[] = [];
  const parts: DecodedArray[] = [];
  let dictionary: DecodedArray | undefined;
  let n = 0;
  while (n < total && reader.offset < size) {
    const header = parquetHeader(reader);
    const bytes = new Uint8Array(file, start + reader.offset, header.compressed_page_size);
    reader.offset += header.compressed_page_size;
    if (header.type === 'DICTIONARY_PAGE') {
      const dh = header.dictionary_page_header;
      if (!dh) throw new Error('dictionary page without header');
      const page = decompressPage(bytes, header.uncompressed_page_size, meta.codec, compressors);
      const raw = readPlain({ view: new DataView(page.buffer, page.byteOffset, page.byteLength), offset: 0 }, meta.type, dh.num_values, leaf.decoder.element.type_length);
      dictionary = convert(raw, decoder);
      continue;
    }
    let page: { definitionLevels: number[] | undefined; repetitionLevels: number[]; dataPage: DecodedArray };
    let count: number;
    let encoding;
    if (header.type === 'DATA_PAGE') {
      const dh = header.data_page_header;
      if (!dh) throw new Error('data page without header');
      page = readDataPage(decompressPage(bytes, header.uncompressed_page_size, meta.codec, compressors), dh, decoder);
      count = dh.num_values;
      encoding = dh.encoding;
    } else if (header.type === 'DATA_PAGE_V2') {
      const dh = header.data_page_header_v2;
      if (!dh) throw new Error('data page v2 without header');
      page = readDataPageV2(bytes, header, decoder);
      count = dh.num_values;
      encoding = dh.encoding;
    } else {
      continue; // index pages carry no values
    }
    if (n + count > total) throw new Error(`column ${leaf.path.join('.')} has more values than its metadata says`);
    const d = page.definitionLevels;
    defParts.push(leaf.maxDef > 0 && d && d.length ? d : null);
    if (leaf.maxRep > 0) {
      if (page.repetitionLevels.length !== count) throw new Error(`column ${leaf.path.join('.')} lacks repetition levels`);
      repParts.push(page.repetitionLevels);
    }
    counts.push(count);
    parts.push(convertWithDictionary(page.dataPage, dictionary, encoding, decoder));
    n += count;
  }
  if (n !== total) throw new Error(`column ${leaf.path.join('.')} has ${n} values, metadata says ${total}`);
  leaf.defs = concatLevels(defParts, counts, n, leaf.maxDef);
  leaf.reps = leaf.maxRep > 0 ? concatLevels(repParts, counts, n, 0) : null;
  let values: ArrayLike<unknown> = parts.length === 1 ? parts[0] : parts.flatMap((p) => Array.from(p as ArrayLike<unknown>));
  if (meta.type === 'INT64') values = int64ToNumbers(values);
  leaf.n = n;
  leaf.values = values;
  leaf.pos = 0;
  leaf.vpos = 0;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** INT64 values as JS numbers; a BigInt64Array is read through 32-bit halves so no bigint is allocated per value. */
function int64ToNumbers(values: ArrayLike<unknown>): ArrayLike<unknown> {
  if (values instanceof BigInt64Array && LITTLE_ENDIAN) {
    const halves = new Int32Array(values.buffer, values.byteOffset, values.length * 2);
    const out = new Float64Array(values.length);
    for (let i = 0; i < out.length; i++) out[i] = halves[2 * i + 1] * 4294967296 + (halves[2 * i] >>> 0);
    return out;
  }
  const out = new Array<unknown>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    out[i] = typeof v === 'bigint' ? Number(v) : v;
  }
  return out;
}

/** Joins per-page levels; a null part means "all at `fill`". Returns null when every level is `fill`. */
function concatLevels(parts: (number[] | null)[], counts: number[], n: number, fill: number): ArrayLike<number> | null {
  if (parts.every((p) => p === null)) return null;
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(n);
  let at = 0;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    if (p) out.set(p, at);
    else out.fill(fill, at, at + counts[i]);
    at += counts[i];
  }
  return out;
}

/** True when some row of the loaded leaf reaches definition level `def`. */
function anyAtLeast(leaf: Leaf, def: number): boolean {
  const d = leaf.defs;
  if (!d) return leaf.n > 0;
  for (let i = 0; i < d.length; i++) if (d[i] >= def) return true;
  return false;
}

/**
 * Loads the leaves of a struct for one row group. A struct null in every row (a whole action column,
 * or e.g. `add.deletionVector`) is marked absent after decoding only its first leaf.
 */
function loadStruct(file: ArrayBuffer, chunks: Map<string, ColumnChunk>, p: Plan & { kind: 'struct' }): void {
  const load = (leaf: Leaf): void => {
    const c = chunks.get(leaf.path.join(SEP));
    if (!c) throw new Error(`row group misses column ${leaf.path.join('.')}`);
    loadLeaf(file, c, leaf);
  };
  load(p.first);
  p.absent = !anyAtLeast(p.first, p.def);
  if (p.absent) return;
  for (const f of p.fields) {
    switch (f.kind) {
      case 'prim':
        if (f.leaf !== p.first) load(f.leaf);
        break;
      case 'struct':
        loadStruct(file, chunks, f);
        break;
      case 'map':
        for (const l of [f.key, f.value]) if (l !== p.first) load(l);
        break;
      case 'list':
        if (f.elem !== p.first) load(f.elem);
        break;
    }
  }
}

function setKey(o: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

function readPlan(p: Plan, r: number): unknown {
  switch (p.kind) {
    case 'prim': {
      const l = p.leaf;
      const d = l.defs ? l.defs[r] : l.maxDef;
      return d === l.maxDef ? l.values[l.vpos++] : null;
    }
    case 'struct':
      return readStruct(p, r);
    case 'map': {
      const k = p.key;
      const v = p.value;
      const start = k.pos;
      const d = k.defs ? k.defs[start] : k.maxDef;
      if (d < p.entryDef) {
        k.pos++;
        v.pos++;
        return d < p.def ? null : {};
      }
      const out: Record<string, unknown> = {};
      const reps = k.reps as Uint8Array;
      let i = start;
      do {
        const kd = k.defs ? k.defs[i] : k.maxDef;
        const key = kd === k.maxDef ? k.values[k.vpos++] : null;
        const vd = v.defs ? v.defs[i] : v.maxDef;
        const value = vd === v.maxDef ? v.values[v.vpos++] : null;
        if (key !== null && key !== undefined) setKey(out, String(key), value);
        i++;
      } while (i < k.n && reps[i] !== 0);
      k.pos = i;
      v.pos = i;
      return out;
    }
    case 'list': {
      const e = p.elem;
      const start = e.pos;
      const d = e.defs ? e.defs[start] : e.maxDef;
      if (d < p.entryDef) {
        e.pos++;
        return d < p.def ? null : [];
      }
      const out: unknown[] = [];
      const reps = e.reps as Uint8Array;
      let i = start;
      do {
        const ed = e.defs ? e.defs[i] : e.maxDef;
        out.push(ed === e.maxDef ? e.values[e.vpos++] : null);
        i++;
      } while (i < e.n && reps[i] !== 0);
      e.pos = i;
      return out;
    }
  }
}

function readStruct(p: Plan & { kind: 'struct' }, r: number): Row | null {
  if (p.absent) return null;
  const f = p.first;
  const d = f.defs ? f.defs[f.maxRep === 0 ? r : f.pos] : f.maxDef;
  if (d < p.def) {
    // Absent: a repeated leaf still holds exactly one (null) entry for this row.
    for (const l of p.repeated) l.pos++;
    return null;
  }
  const o: Row = {};
  for (const field of p.fields) o[field.name] = readPlan(field, r);
  return o;
}

/** Top-level struct columns of a (projected) file: per column, one value per row (null where the column is null). */
interface Columns {
  values: Map<string, unknown[]>;
  /** Columns whose values are finished actions (built by a specialized reader), not raw rows. */
  converted: Set<string>;
}

type StructPlan = Plan & { kind: 'struct' };
/** Builds a row reader for a top-level column; returns null when the plan has fields the reader would not consume. */
type ReaderFactory = (p: StructPlan, fileName: string) => ((r: number, row: number) => unknown) | null;

function fieldGetter(p: StructPlan, name: string): (r: number) => unknown {
  const f = p.fields.find((x) => x.name === name);
  if (!f) return () => null;
  if (f.kind === 'prim') {
    const l = f.leaf;
    return (r) => {
      const d = l.defs ? l.defs[r] : l.maxDef;
      return d === l.maxDef ? l.values[l.vpos++] : null;
    };
  }
  return (r) => readPlan(f, r);
}

/** Whether the struct is non-null in row `r`; when null, skips its repeated leaves' single entry. */
function structPresent(p: StructPlan, r: number): boolean {
  if (p.absent) return false;
  const f = p.first;
  const d = f.defs ? f.defs[f.maxRep === 0 ? r : f.pos] : f.maxDef;
  if (d >= p.def) return true;
  for (const l of p.repeated) l.pos++;
  return false;
}

function readColumnsFast(file: ArrayBuffer, metadata: FileMetaData, parsers: ParquetParsers, fileName: string, factories: Record<string, ReaderFactory>): Columns {
  const tree = schemaTree(metadata.schema);
  const ctx: PlanCtx = { schema: metadata.schema, parsers, leaves: [] };
  const plans: StructPlan[] = [];
  for (const col of tree.children) {
    if (col.children.length === 0 || isContainer(col.element) || col.element.repetition_type === 'REPEATED') continue;
    plans.push(planStruct(ctx, col, [col.element.name], col.element.repetition_type === 'REQUIRED' ? 0 : 1));
  }
  const total = Number(metadata.num_rows);
  const values = new Map<string, unknown[]>();
  const converted = new Set<string>();
  const readers = plans.map((p) => {
    values.set(p.name, new Array<unknown>(total).fill(null));
    const special = factories[p.name]?.(p, fileName);
    if (special) converted.add(p.name);
    return special ?? ((r: number) => readStruct(p, r));
  });
  let base = 0;
  for (const rg of metadata.row_groups) {
    const rows = Number(rg.num_rows);
    const chunks = new Map<string, ColumnChunk>();
    for (const c of rg.columns) if (c.meta_data) chunks.set(c.meta_data.path_in_schema.join(SEP), c);
    for (const leaf of ctx.leaves) leaf.n = -1;
    for (const p of plans) loadStruct(file, chunks, p);
    for (const leaf of ctx.leaves) {
      if (leaf.n >= 0 && leaf.maxRep === 0 && leaf.n !== rows) throw new Error(`column ${leaf.path.join('.')} has ${leaf.n} values for ${rows} rows`);
    }
    for (let i = 0; i < plans.length; i++) {
      const p = plans[i];
      if (p.absent) continue;
      const col = values.get(p.name) as unknown[];
      const read = readers[i];
      for (let r = 0; r < rows; r++) col[base + r] = read(r, base + r);
    }
    base += rows;
  }
  return { values, converted };
}

async function readColumnsGeneric(file: ArrayBuffer, metadata: FileMetaData, parsers: ParquetParsers): Promise<Columns> {
  const rows = await parquetReadObjects({ file, metadata, compressors, parsers });
  const values = new Map<string, unknown[]>();
  for (const col of schemaTree(metadata.schema).children) {
    values.set(col.element.name, rows.map((r) => r[col.element.name] ?? null));
  }
  return { values, converted: new Set() };
}

async function readColumns(
  file: ArrayBuffer,
  metadata: FileMetaData,
  parsers: ParquetParsers,
  fileName: string,
  /** Specialized row readers for the fast assembly; null selects hyparquet's reference assembly. */
  factories: Record<string, ReaderFactory> | null,
): Promise<Columns> {
  if (factories) {
    try {
      return readColumnsFast(file, metadata, parsers, fileName, factories);
    } catch (e) {
      if (e instanceof LakehouseError) throw e;
      if (!(e instanceof UnsupportedShape)) throw corrupt(fileName, `cannot decode parquet data (${(e as Error).message})`, {}, e);
    }
  }
  try {
    return await readColumnsGeneric(file, metadata, parsers);
  } catch (e) {
    throw corrupt(fileName, `cannot decode parquet data (${(e as Error).message})`, {}, e);
  }
}

const ADD_FIELDS = [
  'path',
  'partitionValues',
  'size',
  'modificationTime',
  'dataChange',
  'stats',
  'tags',
  'deletionVector',
  'baseRowId',
  'defaultRowCommitVersion',
  'clusteringProvider',
] as const;

const REMOVE_FIELDS = [
  'path',
  'deletionTimestamp',
  'dataChange',
  'extendedFileMetadata',
  'partitionValues',
  'size',
  'stats',
  'tags',
  'deletionVector',
  'baseRowId',
  'defaultRowCommitVersion',
] as const;

function consumesAll(p: StructPlan, fields: readonly string[]): boolean {
  return p.fields.every((f) => fields.includes(f.name));
}

/** Reads `add` rows straight into AddActions (no intermediate row object); same result as `toAdd`. */
const addReader: ReaderFactory = (p, fileName) => {
  if (!consumesAll(p, ADD_FIELDS)) return null;
  const [path, partitionValues, size, modificationTime, dataChange, stats, tags, deletionVector, baseRowId, defaultRowCommitVersion, clusteringProvider] =
    ADD_FIELDS.map((f) => fieldGetter(p, f));
  return (r, row): AddAction | null => {
    if (!structPresent(p, r)) return null;
    return {
      path: need(str(path(r)), fileName, row, 'add.path'),
      partitionValues: strMap(partitionValues(r)) as StringMap,
      size: need(num(size(r)), fileName, row, 'add.size'),
      modificationTime: num(modificationTime(r)) ?? 0,
      dataChange: bool(dataChange(r)) ?? false,
      stats: str(stats(r)),
      tags: strMap(tags(r)),
      deletionVector: toDv(deletionVector(r), fileName, row, 'add'),
      baseRowId: num(baseRowId(r)),
      defaultRowCommitVersion: num(defaultRowCommitVersion(r)),
      clusteringProvider: str(clusteringProvider(r)),
    };
  };
};

/** Reads `remove` rows straight into RemoveActions; same result as `toRemove`. */
const removeReader: ReaderFactory = (p, fileName) => {
  if (!consumesAll(p, REMOVE_FIELDS)) return null;
  const [path, deletionTimestamp, dataChange, extendedFileMetadata, partitionValues, size, stats, tags, deletionVector, baseRowId, defaultRowCommitVersion] =
    REMOVE_FIELDS.map((f) => fieldGetter(p, f));
  return (r, row): RemoveAction | null => {
    if (!structPresent(p, r)) return null;
    return {
      path: need(str(path(r)), fileName, row, 'remove.path'),
      deletionTimestamp: num(deletionTimestamp(r)),
      dataChange: bool(dataChange(r)) ?? false,
      extendedFileMetadata: bool(extendedFileMetadata(r)),
      partitionValues: strMap(partitionValues(r)),
      size: num(size(r)),
      stats: str(stats(r)),
      tags: strMap(tags(r)),
      deletionVector: toDv(deletionVector(r), fileName, row, 'remove'),
      baseRowId: num(baseRowId(r)),
      defaultRowCommitVersion: num(defaultRowCommitVersion(r)),
    };
  };
};

/** Options of `decodeCheckpointParquet`. */
export interface DecodeCheckpointOptions {
  /** Name used in error messages (default `checkpoint.parquet`). */
  fileName?: string;
  /**
   * `fast` (default) assembles rows from definition/repetition levels itself and falls back to hyparquet's
   * assembly for shapes it does not handle; `reference` always uses hyparquet's assembly (slower; for tests).
   */
  assembly?: 'fast' | 'reference';
}

/**
 * Decodes one Parquet checkpoint file (a classic part, a v2 top-level parquet checkpoint, or a sidecar) into actions.
 * Each row yields its non-null action among add, remove, metaData, protocol, txn, domainMetadata, checkpointMetadata,
 * sidecar, in row order. Numbers are JS numbers, maps plain records, absent optional fields null; `add.stats` is
 * rendered from `stats_parsed` (typed with `schema`, the table schema, when given) when the JSON column is null.
 * Throws CORRUPT_LOG (naming the file) when the bytes are not readable Parquet or an action lacks a required field.
 */
export async function decodeCheckpointParquet(bytes: Uint8Array, schema?: StructType, options: DecodeCheckpointOptions = {}): Promise<Action[]> {
  const fileName = options.fileName ?? 'checkpoint.parquet';
  const reference = options.assembly === 'reference';
  const file = toArrayBuffer(bytes);
  let metadata: FileMetaData;
  let tree: SchemaNode;
  try {
    metadata = parquetMetadata(file);
    tree = schemaTree(metadata.schema);
  } catch (e) {
    throw corrupt(fileName, `not a readable parquet file (${(e as Error).message})`, {}, e);
  }
  const main = projectMetadata(metadata, tree, ACTION_FIELDS);
  if (!main) return [];
  const cols = await readColumns(file, main, DEFAULT_PARSERS, fileName, reference ? null : { add: addReader, remove: removeReader });
  const present = CHECKPOINT_ACTION_KEYS.filter((k) => cols.values.has(k));
  const data = present.map((k) => cols.values.get(k) as unknown[]);
  const done = present.map((k) => cols.converted.has(k));
  const rowCount = Number(main.num_rows);

  const addNode = childNode(tree, 'add');
  const hasStatsParsed = !!childNode(addNode, 'stats_parsed');
  const hasPartitionsParsed = !!childNode(addNode, 'partitionValues_parsed');
  const needStats: number[] = [];
  const needPartitions: number[] = [];
  const addsByRow = new Map<number, AddAction>();

  const out: Action[] = [];
  for (let r = 0; r < rowCount; r++) {
    for (let k = 0; k < present.length; k++) {
      const v = data[k][r];
      if (v === null || v === undefined) continue;
      const key = present[k];
      const action = done[k] ? ({ [key]: v } as Action) : convertAction(key, v as Row, fileName, r);
      out.push(action);
      if (key === 'add') {
        const add = (action as { add: AddAction }).add;
        const wantStats = add.stats === null && hasStatsParsed;
        const wantParts = add.partitionValues === null && hasPartitionsParsed;
        if (wantStats) needStats.push(r);
        if (wantParts) needPartitions.push(r);
        if (wantStats || wantParts) addsByRow.set(r, add);
      }
    }
  }

  if (needStats.length || needPartitions.length) {
    const projected = projectMetadata(metadata, tree, PARSED_FIELDS);
    const parsed = projected
      ? ((await readColumns(file, projected, STATS_PARSERS, fileName, reference ? null : {})).values.get('add') as (Row | null)[] | undefined)
      : undefined;
    if (parsed) {
      const fields = schema ? fieldsByPhysicalName(schema) : undefined;
      const statsNode = childNode(addNode, 'stats_parsed');
      const partNode = childNode(addNode, 'partitionValues_parsed');
      for (const r of needStats) {
        const sp = parsed[r]?.stats_parsed;
        const add = addsByRow.get(r);
        if (add && statsNode && sp && typeof sp === 'object') add.stats = JSON.stringify(renderStats(sp as Row, statsNode, fields));
      }
      for (const r of needPartitions) {
        const pp = parsed[r]?.partitionValues_parsed;
        const add = addsByRow.get(r);
        if (add && partNode && pp && typeof pp === 'object') add.partitionValues = renderPartitionValues(pp as Row, partNode, fields);
      }
    }
  }
  for (const a of out) {
    if ('add' in a && a.add.partitionValues === null) {
      throw corrupt(fileName, `add of ${a.add.path} has no partitionValues`, { path: a.add.path });
    }
  }
  return out;
}

/** Top-level fields of the table schema by physical name (column mapping) and by logical name. */
function fieldsByPhysicalName(schema: StructType): Map<string, DataType> {
  const m = new Map<string, DataType>();
  for (const f of schema.fields) {
    m.set(f.name, f.type);
    const p = f.metadata['delta.columnMapping.physicalName'];
    if (typeof p === 'string') m.set(p, f.type);
  }
  return m;
}

function nestedType(t: DataType | undefined, name: string): DataType | undefined {
  if (!t || typeof t !== 'object' || t.type !== 'struct') return undefined;
  for (const f of t.fields) {
    if (f.name === name || f.metadata['delta.columnMapping.physicalName'] === name) return f.type;
  }
  return undefined;
}

type Rendered = string | number | boolean | { [k: string]: Rendered };

/** Renders `stats_parsed` as the JSON statistics object (PROTOCOL.md: Per-file Statistics); nulls are left out. */
function renderStats(parsed: Row, node: SchemaNode, fields: Map<string, DataType> | undefined): Record<string, Rendered> {
  const out: Record<string, Rendered> = {};
  for (const child of node.children) {
    const name = child.element.name;
    const v = parsed[name];
    if (v === null || v === undefined) continue;
    if (name === 'minValues' || name === 'maxValues' || name === 'nullCount') {
      if (typeof v !== 'object') continue;
      out[name] = renderColumns(v as Row, child, fields, name === 'nullCount');
    } else {
      const r = renderLeaf(v, child.element, undefined);
      if (r !== undefined) out[name] = r;
    }
  }
  return out;
}

function renderColumns(
  values: Row,
  node: SchemaNode,
  fields: Map<string, DataType> | ((name: string) => DataType | undefined) | undefined,
  counts: boolean,
): Record<string, Rendered> {
  const out: Record<string, Rendered> = {};
  for (const child of node.children) {
    const name = child.element.name;
    const v = values[name];
    if (v === null || v === undefined) continue;
    const t = counts ? undefined : typeof fields === 'function' ? fields(name) : fields?.get(name);
    if (child.children.length > 0 && !isMapOrList(child.element)) {
      if (typeof v !== 'object') continue;
      out[name] = renderColumns(v as Row, child, (n) => nestedType(t, n), counts);
    } else {
      const r = renderLeaf(v, child.element, t);
      if (r !== undefined) out[name] = r;
    }
  }
  return out;
}

function isMapOrList(e: SchemaElement): boolean {
  return e.converted_type === 'MAP' || e.converted_type === 'LIST' || e.logical_type?.type === 'MAP' || e.logical_type?.type === 'LIST';
}

const pad2 = (n: number): string => (n < 10 ? '0' : '') + n;

/** `YYYY-MM-DD` of a UTC midnight Date. */
function isoDate(d: Date): string {
  return d.toISOString().slice(0, 10);
}

function isNtz(element: SchemaElement, t: DataType | undefined): boolean {
  if (t === 'timestamp_ntz') return true;
  const lt = element.logical_type;
  return !t && lt?.type === 'TIMESTAMP' && lt.isAdjustedToUTC === false;
}

function isDate(element: SchemaElement, t: DataType | undefined): boolean {
  if (t) return t === 'date';
  return element.converted_type === 'DATE' || element.logical_type?.type === 'DATE';
}

function renderLeaf(v: unknown, element: SchemaElement, t: DataType | undefined): Rendered | undefined {
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (v instanceof Date) {
    if (Number.isNaN(v.getTime())) return undefined;
    if (isDate(element, t)) return isoDate(v);
    const iso = v.toISOString();
    return isNtz(element, t) ? iso.slice(0, -1) : iso;
  }
  return undefined; // binary and nested collections carry no min/max
}

/** PROTOCOL.md: Partition Value Serialization, from `partitionValues_parsed`. */
function renderPartitionValues(parsed: Row, node: SchemaNode, fields: Map<string, DataType> | undefined): StringMap {
  const out: StringMap = {};
  for (const child of node.children) {
    const name = child.element.name;
    const v = parsed[name];
    const t = fields?.get(name);
    if (v === null || v === undefined) out[name] = null;
    else if (v instanceof Date) {
      if (isDate(child.element, t)) out[name] = isoDate(v);
      else {
        const d = v;
        const s = `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}.${String(d.getUTCMilliseconds()).padStart(3, '0')}000`;
        out[name] = isNtz(child.element, t) ? s : s.replace(' ', 'T') + 'Z';
      }
    } else if (v instanceof Uint8Array) out[name] = new TextDecoder().decode(v);
    else out[name] = String(v);
  }
  return out;
}

// --- row → action converters (also used to normalize JSON checkpoint actions) ---------------------

function num(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return null;
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

function bool(v: unknown): boolean | null {
  return typeof v === 'boolean' ? v : null;
}

/** Normalizes a decoded map (object, Map, or array of {key,value} / [k,v]) into a plain record; null stays null. */
function strMap(v: unknown): StringMap | null {
  if (v === null || v === undefined) return null;
  if (Array.isArray(v)) {
    const out: StringMap = {};
    for (const e of v) {
      if (Array.isArray(e)) out[String(e[0])] = e[1] === null || e[1] === undefined ? null : String(e[1]);
      else if (e && typeof e === 'object') {
        const o = e as { key?: unknown; value?: unknown };
        out[String(o.key)] = o.value === null || o.value === undefined ? null : String(o.value);
      }
    }
    return out;
  }
  if (v instanceof Map) {
    const out: StringMap = {};
    for (const [k, x] of v) out[String(k)] = x === null || x === undefined ? null : String(x);
    return out;
  }
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    for (const k in o) {
      const x = o[k];
      if (x !== null && typeof x !== 'string') {
        // Rare: non-string values (JSON checkpoints written by lenient writers); copy with conversion.
        const out: StringMap = {};
        for (const kk in o) out[kk] = o[kk] === null || o[kk] === undefined ? null : String(o[kk]);
        return out;
      }
    }
    return o as StringMap;
  }
  return null;
}

function strList(v: unknown): string[] | null {
  if (v === null || v === undefined) return null;
  if (!Array.isArray(v)) return null;
  return v.map((x) => (x === null || x === undefined ? x : String(x))) as string[];
}

function need<T>(value: T | null, fileName: string, row: number, field: string): T {
  if (value === null) throw corrupt(fileName, `row ${row}: ${field} is missing`, { row, field });
  return value;
}

function toDv(v: unknown, fileName: string, row: number, where: string): DeletionVectorDescriptor | null {
  if (v === null || v === undefined || typeof v !== 'object') return null;
  const o = v as Row;
  const storageType = str(o.storageType);
  // Spark writes an all-null struct for "no DV" in some versions.
  if (storageType === null && o.pathOrInlineDv == null) return null;
  if (storageType !== 'u' && storageType !== 'p' && storageType !== 'i') {
    throw corrupt(fileName, `row ${row}: ${where}.deletionVector.storageType "${String(storageType)}" is not u, p or i`, { row });
  }
  const dv: DeletionVectorDescriptor = {
    storageType,
    pathOrInlineDv: need(str(o.pathOrInlineDv), fileName, row, `${where}.deletionVector.pathOrInlineDv`),
    sizeInBytes: need(num(o.sizeInBytes), fileName, row, `${where}.deletionVector.sizeInBytes`),
    cardinality: need(num(o.cardinality), fileName, row, `${where}.deletionVector.cardinality`),
  };
  const offset = num(o.offset);
  if (offset !== null) dv.offset = offset;
  return dv;
}

function toAdd(o: Row, fileName: string, row: number): AddAction {
  return {
    path: need(str(o.path), fileName, row, 'add.path'),
    // null only transiently: filled from partitionValues_parsed or rejected after decoding.
    partitionValues: strMap(o.partitionValues) as StringMap,
    size: need(num(o.size), fileName, row, 'add.size'),
    modificationTime: num(o.modificationTime) ?? 0,
    dataChange: bool(o.dataChange) ?? false,
    stats: str(o.stats),
    tags: strMap(o.tags),
    deletionVector: toDv(o.deletionVector, fileName, row, 'add'),
    baseRowId: num(o.baseRowId),
    defaultRowCommitVersion: num(o.defaultRowCommitVersion),
    clusteringProvider: str(o.clusteringProvider),
  };
}

function toRemove(o: Row, fileName: string, row: number): RemoveAction {
  return {
    path: need(str(o.path), fileName, row, 'remove.path'),
    deletionTimestamp: num(o.deletionTimestamp),
    dataChange: bool(o.dataChange) ?? false,
    extendedFileMetadata: bool(o.extendedFileMetadata),
    partitionValues: strMap(o.partitionValues),
    size: num(o.size),
    stats: str(o.stats),
    tags: strMap(o.tags),
    deletionVector: toDv(o.deletionVector, fileName, row, 'remove'),
    baseRowId: num(o.baseRowId),
    defaultRowCommitVersion: num(o.defaultRowCommitVersion),
  };
}

function toMetadata(o: Row, fileName: string, row: number): MetadataAction {
  const format = (o.format ?? null) as Row | null;
  const options = strMap(format?.options);
  return {
    id: need(str(o.id), fileName, row, 'metaData.id'),
    name: str(o.name),
    description: str(o.description),
    format: { provider: str(format?.provider) ?? 'parquet', options: options as Record<string, string> | null },
    schemaString: need(str(o.schemaString), fileName, row, 'metaData.schemaString'),
    partitionColumns: strList(o.partitionColumns) ?? [],
    createdTime: num(o.createdTime),
    configuration: (strMap(o.configuration) ?? {}) as Record<string, string>,
  };
}

function toProtocol(o: Row, fileName: string, row: number): ProtocolAction {
  return {
    minReaderVersion: need(num(o.minReaderVersion), fileName, row, 'protocol.minReaderVersion'),
    minWriterVersion: need(num(o.minWriterVersion), fileName, row, 'protocol.minWriterVersion'),
    readerFeatures: strList(o.readerFeatures),
    writerFeatures: strList(o.writerFeatures),
  };
}

function toTxn(o: Row, fileName: string, row: number): TxnAction {
  return {
    appId: need(str(o.appId), fileName, row, 'txn.appId'),
    version: need(num(o.version), fileName, row, 'txn.version'),
    lastUpdated: num(o.lastUpdated),
  };
}

function toDomainMetadata(o: Row, fileName: string, row: number): DomainMetadataAction {
  return {
    domain: need(str(o.domain), fileName, row, 'domainMetadata.domain'),
    configuration: str(o.configuration) ?? '',
    removed: bool(o.removed) ?? false,
  };
}

function toCheckpointMetadata(o: Row, fileName: string, row: number): CheckpointMetadataAction {
  return {
    version: need(num(o.version), fileName, row, 'checkpointMetadata.version'),
    tags: strMap(o.tags) as Record<string, string> | null,
  };
}

function toSidecar(o: Row, fileName: string, row: number): SidecarAction {
  return {
    path: need(str(o.path), fileName, row, 'sidecar.path'),
    sizeInBytes: need(num(o.sizeInBytes), fileName, row, 'sidecar.sizeInBytes'),
    modificationTime: num(o.modificationTime) ?? 0,
    tags: strMap(o.tags) as Record<string, string> | null,
  };
}

/**
 * Decodes a v2 JSON checkpoint (newline-delimited actions) into actions normalized like `decodeCheckpointParquet`'s.
 * Blank lines are skipped; actions that do not belong in a checkpoint (commitInfo, cdc, unknown) are ignored.
 * Throws CORRUPT_LOG naming the file and the 1-based line of a malformed entry.
 */
export function decodeCheckpointJson(text: string, fileName: string): Action[] {
  const out: Action[] = [];
  for (const { obj: o, line: lineNo } of jsonObjectLines(text, fileName, 'checkpoint')) {
    for (const key of CHECKPOINT_ACTION_KEYS) {
      const v = o[key];
      if (v === undefined || v === null) continue;
      if (typeof v !== 'object' || Array.isArray(v)) {
        throw new LakehouseError('CORRUPT_LOG', `corrupt checkpoint ${fileName} line ${lineNo}: ${key} is not an object`, {
          file: fileName,
          line: lineNo,
        });
      }
      try {
        out.push(convertAction(key, v as Row, fileName, lineNo));
      } catch (e) {
        if (e instanceof LakehouseError) {
          throw new LakehouseError('CORRUPT_LOG', `corrupt checkpoint ${fileName} line ${lineNo}: ${e.message.replace(/^corrupt checkpoint [^:]*: /, '')}`, {
            ...e.details,
            file: fileName,
            line: lineNo,
          });
        }
        throw e;
      }
    }
  }
  for (const a of out) {
    if ('add' in a && a.add.partitionValues === null) {
      throw new LakehouseError('CORRUPT_LOG', `corrupt checkpoint ${fileName}: add of ${a.add.path} has no partitionValues`, {
        file: fileName,
        path: a.add.path,
      });
    }
  }
  return out;
}

function convertAction(key: CheckpointActionKey, v: Row, fileName: string, row: number): Action {
  switch (key) {
    case 'add':
      return { add: toAdd(v, fileName, row) };
    case 'remove':
      return { remove: toRemove(v, fileName, row) };
    case 'metaData':
      return { metaData: toMetadata(v, fileName, row) };
    case 'protocol':
      return { protocol: toProtocol(v, fileName, row) };
    case 'txn':
      return { txn: toTxn(v, fileName, row) };
    case 'domainMetadata':
      return { domainMetadata: toDomainMetadata(v, fileName, row) };
    case 'checkpointMetadata':
      return { checkpointMetadata: toCheckpointMetadata(v, fileName, row) };
    case 'sidecar':
      return { sidecar: toSidecar(v, fileName, row) };
  }
}

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

const OPT = 'OPTIONAL' as const;

function pString(name: string, repetition: 'OPTIONAL' | 'REQUIRED' = OPT): WriterSchemaElement {
  return { name, type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' }, repetition_type: repetition };
}
function pLong(name: string): WriterSchemaElement {
  return { name, type: 'INT64', repetition_type: OPT };
}
function pInt(name: string): WriterSchemaElement {
  return { name, type: 'INT32', repetition_type: OPT };
}
function pBool(name: string): WriterSchemaElement {
  return { name, type: 'BOOLEAN', repetition_type: OPT };
}
/** A Parquet MAP<string,string> (3-level: MAP group, repeated key_value, required key, optional value). */
function pMap(name: string): WriterSchemaElement[] {
  return [
    { name, repetition_type: OPT, num_children: 1, converted_type: 'MAP', logical_type: { type: 'MAP' } },
    { name: 'key_value', repetition_type: 'REPEATED', num_children: 2 },
    pString('key', 'REQUIRED'),
    pString('value'),
  ];
}
/** A Parquet LIST<string> (3-level: LIST group, repeated list, optional element). */
function pList(name: string): WriterSchemaElement[] {
  return [
    { name, repetition_type: OPT, num_children: 1, converted_type: 'LIST', logical_type: { type: 'LIST' } },
    { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
    pString('element'),
  ];
}
function pStruct(name: string, children: (WriterSchemaElement | WriterSchemaElement[])[]): WriterSchemaElement[] {
  return [{ name, repetition_type: OPT, num_children: children.length }, ...children.flat()];
}

function dvSchema(): WriterSchemaElement[] {
  return pStruct('deletionVector', [pString('storageType'), pString('pathOrInlineDv'), pInt('offset'), pInt('sizeInBytes'), pLong('cardinality')]);
}

function checkpointSchema(opts: { clusteringProvider: boolean; checkpointMetadata: boolean; sidecar: boolean }): WriterSchemaElement[] {
  const columns: WriterSchemaElement[][] = [
    pStruct('txn', [pString('appId'), pLong('version'), pLong('lastUpdated')]),
    pStruct('add', [
      pString('path'),
      pMap('partitionValues'),
      pLong('size'),
      pLong('modificationTime'),
      pBool('dataChange'),
      pString('stats'),
      pMap('tags'),
      dvSchema(),
      pLong('baseRowId'),
      pLong('defaultRowCommitVersion'),
      ...(opts.clusteringProvider ? [pString('clusteringProvider')] : []),
    ]),
    pStruct('remove', [
      pString('path'),
      pLong('deletionTimestamp'),
      pBool('dataChange'),
      pBool('extendedFileMetadata'),
      pMap('partitionValues'),
      pLong('size'),
      pString('stats'),
      pMap('tags'),
      dvSchema(),
      pLong('baseRowId'),
      pLong('defaultRowCommitVersion'),
    ]),
    pStruct('metaData', [
      pString('id'),
      pString('name'),
      pString('description'),
      pStruct('format', [pString('provider'), pMap('options')]),
      pString('schemaString'),
      pList('partitionColumns'),
      pMap('configuration'),
      pLong('createdTime'),
    ]),
    pStruct('protocol', [pInt('minReaderVersion'), pInt('minWriterVersion'), pList('readerFeatures'), pList('writerFeatures')]),
    pStruct('domainMetadata', [pString('domain'), pString('configuration'), pBool('removed')]),
  ];
  if (opts.checkpointMetadata) columns.push(pStruct('checkpointMetadata', [pLong('version'), pMap('tags')]));
  if (opts.sidecar) columns.push(pStruct('sidecar', [pString('path'), pLong('sizeInBytes'), pLong('modificationTime'), pMap('tags')]));
  return [{ name: 'spark_schema', num_children: columns.length }, ...columns.flat()];
}

function big(v: number | null | undefined, field: string): bigint | null {
  if (v === null || v === undefined) return null;
  if (!Number.isSafeInteger(v)) {
    throw new LakehouseError('INVALID_INPUT', `checkpoint field ${field} must be an integer, got ${v}`, { field, value: v });
  }
  return BigInt(v);
}

function int32(v: number | null | undefined, field: string): number | null {
  if (v === null || v === undefined) return null;
  if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647) {
    throw new LakehouseError('INVALID_INPUT', `checkpoint field ${field} must be a 32-bit integer, got ${v}`, { field, value: v });
  }
  return v;
}

function encDv(dv: DeletionVectorDescriptor | null | undefined, where: string): Row | null {
  if (!dv) return null;
  return {
    storageType: dv.storageType,
    pathOrInlineDv: dv.pathOrInlineDv,
    offset: int32(dv.offset, `${where}.deletionVector.offset`),
    sizeInBytes: int32(dv.sizeInBytes, `${where}.deletionVector.sizeInBytes`),
    cardinality: big(dv.cardinality, `${where}.deletionVector.cardinality`),
  };
}

function encAdd(a: AddAction): Row {
  return {
    path: a.path,
    partitionValues: a.partitionValues ?? {},
    size: big(a.size, 'add.size'),
    modificationTime: big(a.modificationTime, 'add.modificationTime'),
    dataChange: a.dataChange,
    stats: a.stats ?? null,
    tags: a.tags ?? null,
    deletionVector: encDv(a.deletionVector, 'add'),
    baseRowId: big(a.baseRowId, 'add.baseRowId'),
    defaultRowCommitVersion: big(a.defaultRowCommitVersion, 'add.defaultRowCommitVersion'),
    ...(a.clusteringProvider != null ? { clusteringProvider: a.clusteringProvider } : {}),
  };
}

function encRemove(r: RemoveAction): Row {
  return {
    path: r.path,
    deletionTimestamp: big(r.deletionTimestamp, 'remove.deletionTimestamp'),
    dataChange: r.dataChange,
    extendedFileMetadata: r.extendedFileMetadata ?? null,
    partitionValues: r.partitionValues ?? null,
    size: big(r.size, 'remove.size'),
    stats: r.stats ?? null,
    tags: r.tags ?? null,
    deletionVector: encDv(r.deletionVector, 'remove'),
    baseRowId: big(r.baseRowId, 'remove.baseRowId'),
    defaultRowCommitVersion: big(r.defaultRowCommitVersion, 'remove.defaultRowCommitVersion'),
  };
}

function encMetadata(m: MetadataAction): Row {
  return {
    id: m.id,
    name: m.name ?? null,
    description: m.description ?? null,
    format: { provider: m.format.provider, options: m.format.options ?? {} },
    schemaString: m.schemaString,
    partitionColumns: m.partitionColumns ?? [],
    configuration: m.configuration ?? {},
    createdTime: big(m.createdTime, 'metaData.createdTime'),
  };
}

function encProtocol(p: ProtocolAction): Row {
  return {
    minReaderVersion: int32(p.minReaderVersion, 'protocol.minReaderVersion'),
    minWriterVersion: int32(p.minWriterVersion, 'protocol.minWriterVersion'),
    readerFeatures: p.readerFeatures ?? null,
    writerFeatures: p.writerFeatures ?? null,
  };
}

/** Options of `encodeCheckpointParquet` (defaults suit real checkpoints; small values exercise readers in tests). */
export interface EncodeCheckpointOptions {
  /** Rows per row group (default 100,000). */
  rowGroupRows?: number;
  /** Target uncompressed data page size in bytes (default 1 MiB). */
  pageSize?: number;
}

/**
 * Encodes checkpoint actions (protocol, metaData, txn, add, remove, domainMetadata, and optionally checkpointMetadata /
 * sidecar) as one Parquet checkpoint file, one row per action, following PROTOCOL.md "Checkpoint Schema": maps are
 * Parquet MAP and lists 3-level LIST logical types, longs INT64, snappy-compressed, readable by Spark, delta-rs and
 * DuckDB. Throws INVALID_INPUT for actions that do not belong in a checkpoint (commitInfo, cdc) or malformed numbers.
 */
export async function encodeCheckpointParquet(actions: readonly Action[], options: EncodeCheckpointOptions = {}): Promise<Uint8Array> {
  const n = actions.length;
  const cols: Record<CheckpointActionKey, (Row | null)[]> = {
    txn: new Array(n).fill(null),
    add: new Array(n).fill(null),
    remove: new Array(n).fill(null),
    metaData: new Array(n).fill(null),
    protocol: new Array(n).fill(null),
    domainMetadata: new Array(n).fill(null),
    checkpointMetadata: new Array(n).fill(null),
    sidecar: new Array(n).fill(null),
  };
  let clusteringProvider = false;
  let hasCheckpointMetadata = false;
  let hasSidecar = false;
  for (let i = 0; i < n; i++) {
    const a = actions[i];
    if ('add' in a) {
      cols.add[i] = encAdd(a.add);
      if (a.add.clusteringProvider != null) clusteringProvider = true;
    } else if ('remove' in a) cols.remove[i] = encRemove(a.remove);
    else if ('metaData' in a) cols.metaData[i] = encMetadata(a.metaData);
    else if ('protocol' in a) cols.protocol[i] = encProtocol(a.protocol);
    else if ('txn' in a) {
      cols.txn[i] = { appId: a.txn.appId, version: big(a.txn.version, 'txn.version'), lastUpdated: big(a.txn.lastUpdated, 'txn.lastUpdated') };
    } else if ('domainMetadata' in a) {
      cols.domainMetadata[i] = { domain: a.domainMetadata.domain, configuration: a.domainMetadata.configuration, removed: a.domainMetadata.removed };
    } else if ('checkpointMetadata' in a) {
      hasCheckpointMetadata = true;
      cols.checkpointMetadata[i] = { version: big(a.checkpointMetadata.version, 'checkpointMetadata.version'), tags: a.checkpointMetadata.tags ?? null };
    } else if ('sidecar' in a) {
      hasSidecar = true;
      cols.sidecar[i] = {
        path: a.sidecar.path,
        sizeInBytes: big(a.sidecar.sizeInBytes, 'sidecar.sizeInBytes'),
        modificationTime: big(a.sidecar.modificationTime, 'sidecar.modificationTime'),
        tags: a.sidecar.tags ?? null,
      };
    } else {
      const key = Object.keys(a)[0] ?? '(empty)';
      throw new LakehouseError('INVALID_INPUT', `action ${key} does not belong in a checkpoint`, { action: key, index: i });
    }
  }
  const schema = checkpointSchema({ clusteringProvider, checkpointMetadata: hasCheckpointMetadata, sidecar: hasSidecar });
  try {
    return writeParquet(schema, cols, n, options.rowGroupRows ?? ROW_GROUP_ROWS, options.pageSize ?? PAGE_SIZE);
  } catch (e) {
    if (e instanceof LakehouseError) throw e;
    throw new LakehouseError('INVALID_INPUT', `cannot encode checkpoint: ${(e as Error).message}`, {}, { cause: e });
  }
}

// --- shredding: actions → definition/repetition levels per leaf (PROTOCOL.md schema, all fields optional) -----

interface EncLeaf {
  element: WriterSchemaElement;
  schemaPath: WriterSchemaElement[];
  maxDef: number;
  /** Under a MAP or LIST: entries per row vary, so levels are appended at `count`; else indexed by row. */
  repeated: boolean;
  defs: Uint8Array;
  reps: Uint8Array;
  /** One slot per level entry; holes and nulls are the null entries. */
  values: unknown[];
  count: number;
}

type EncPlan =
  | { kind: 'prim'; name: string; leaf: EncLeaf }
  | { kind: 'struct'; name: string; fields: EncPlan[]; leaves: EncLeaf[]; repeated: EncLeaf[] }
  | { kind: 'map'; name: string; key: EncLeaf; value: EncLeaf }
  | { kind: 'list'; name: string; elem: EncLeaf };

/** Plans the top-level columns of a schema built by `checkpointSchema` (optional structs, MAP, 3-level LIST). */
function encodePlan(schema: readonly WriterSchemaElement[]): { columns: (EncPlan & { kind: 'struct' })[]; leaves: EncLeaf[] } {
  const leaves: EncLeaf[] = [];
  let i = 1;
  const leaf = (schemaPath: WriterSchemaElement[], maxDef: number, repeated: boolean): EncLeaf => {
    const l: EncLeaf = {
      element: schemaPath[schemaPath.length - 1],
      schemaPath,
      maxDef,
      repeated,
      defs: new Uint8Array(0),
      reps: new Uint8Array(0),
      values: [],
      count: 0,
    };
    leaves.push(l);
    return l;
  };
  // `def` is the definition level of the parent when it is non-null; every node below is OPTIONAL.
  const node = (parents: WriterSchemaElement[], def: number): EncPlan => {
    const e = schema[i++];
    const path = [...parents, e];
    const n = e.num_children ?? 0;
    if (n === 0) return { kind: 'prim', name: e.name, leaf: leaf(path, def + 1, false) };
    if (e.converted_type === 'MAP') {
      const kv = schema[i++];
      const k = schema[i++];
      const v = schema[i++];
      return { kind: 'map', name: e.name, key: leaf([...path, kv, k], def + 2, true), value: leaf([...path, kv, v], def + 3, true) };
    }
    if (e.converted_type === 'LIST') {
      const l = schema[i++];
      const el = schema[i++];
      return { kind: 'list', name: e.name, elem: leaf([...path, l, el], def + 3, true) };
    }
    const before = leaves.length;
    const fields: EncPlan[] = [];
    for (let c = 0; c < n; c++) fields.push(node(path, def + 1));
    const mine = leaves.slice(before);
    return { kind: 'struct', name: e.name, fields, leaves: mine, repeated: mine.filter((l) => l.repeated) };
  };
  const columns: (EncPlan & { kind: 'struct' })[] = [];
  for (let c = 0; c < (schema[0].num_children ?? 0); c++) columns.push(node([schema[0]], 0) as EncPlan & { kind: 'struct' });
  return { columns, leaves };
}

/** Appends one entry to a repeated leaf (levels are zero-filled, so a null entry at level 0 needs only `count++`). */
function append(l: EncLeaf, def: number, rep: number, value: unknown): void {
  const i = l.count++;
  if (i >= l.defs.length) {
    const cap = Math.max(16, l.defs.length * 2);
    const defs = new Uint8Array(cap);
    defs.set(l.defs);
    const reps = new Uint8Array(cap);
    reps.set(l.reps);
    l.defs = defs;
    l.reps = reps;
  }
  l.defs[i] = def;
  l.reps[i] = rep;
  if (value !== null) l.values[i] = value;
}

/** Sets the entry of a flat leaf at row index `ri`. */
function put(l: EncLeaf, ri: number, def: number, value: unknown): void {
  l.defs[ri] = def;
  if (value !== null) l.values[ri] = value;
}

function mapValue(x: unknown): string | null {
  return typeof x === 'string' ? x : x === null || x === undefined ? null : String(x);
}

function shredNull(leaves: readonly EncLeaf[], ri: number, d: number): void {
  for (const l of leaves) {
    if (l.repeated) append(l, d, 0, null);
    else l.defs[ri] = d;
  }
}

/** Shreds one non-null struct of row `ri` whose own definition level is `d`. */
function shredStruct(p: EncPlan & { kind: 'struct' }, obj: Row, ri: number, d: number): void {
  for (const f of p.fields) {
    const v = obj[f.name];
    switch (f.kind) {
      case 'prim':
        if (v === null || v === undefined) f.leaf.defs[ri] = d;
        else put(f.leaf, ri, d + 1, v);
        break;
      case 'struct':
        if (v === null || v === undefined) shredNull(f.leaves, ri, d);
        else shredStruct(f, v as Row, ri, d + 1);
        break;
      case 'map': {
        if (v === null || v === undefined) {
          append(f.key, d, 0, null);
          append(f.value, d, 0, null);
          break;
        }
        const entries = v instanceof Map ? [...(v as Map<unknown, unknown>)].map(([k, x]) => [String(k), x] as const) : Object.entries(v as Row);
        if (entries.length === 0) {
          append(f.key, d + 1, 0, null);
          append(f.value, d + 1, 0, null);
          break;
        }
        for (let j = 0; j < entries.length; j++) {
          const [k, x] = entries[j];
          const value = mapValue(x);
          append(f.key, d + 2, j === 0 ? 0 : 1, k);
          append(f.value, value === null ? d + 2 : d + 3, j === 0 ? 0 : 1, value);
        }
        break;
      }
      case 'list': {
        if (v === null || v === undefined) {
          append(f.elem, d, 0, null);
          break;
        }
        const items = v as unknown[];
        if (items.length === 0) {
          append(f.elem, d + 1, 0, null);
          break;
        }
        for (let j = 0; j < items.length; j++) {
          const x = mapValue(items[j]);
          append(f.elem, x === null ? d + 2 : d + 3, j === 0 ? 0 : 1, x);
        }
        break;
      }
    }
  }
}

const ROW_GROUP_ROWS = 100_000;
const PAGE_SIZE = 1 << 20;

type ColumnEncoder = Parameters<typeof writeColumn>[0]['column'];

/** Writes the shredded columns with hyparquet-writer's page writer: snappy, data page v2, no statistics. */
function writeParquet(
  schema: WriterSchemaElement[],
  cols: Record<CheckpointActionKey, (Row | null)[]>,
  n: number,
  rowGroupRows: number,
  pageSize: number,
): Uint8Array {
  if (!Number.isInteger(rowGroupRows) || rowGroupRows < 1) throw new LakehouseError('INVALID_INPUT', `rowGroupRows must be a positive integer, got ${rowGroupRows}`);
  const { columns, leaves } = encodePlan(schema);
  const writer = new ByteWriter();
  const pq = new ParquetWriter({ writer, schema, codec: 'SNAPPY', statistics: false, createdBy: 'lakehouse-core (hyparquet-writer 0.17)' });
  for (let start = 0; start < n; start += rowGroupRows) {
    const end = Math.min(n, start + rowGroupRows);
    const size = end - start;
    for (const l of leaves) {
      const cap = l.repeated ? size + (size >> 2) : size;
      l.defs = new Uint8Array(cap);
      l.reps = new Uint8Array(l.repeated ? cap : 0);
      l.values = new Array(cap);
      l.count = 0;
    }
    for (const plan of columns) {
      const rows = cols[plan.name as CheckpointActionKey];
      const repeated = plan.repeated;
      for (let r = start; r < end; r++) {
        const row = rows[r];
        if (row !== null) shredStruct(plan, row, r - start, 1);
        else for (let k = 0; k < repeated.length; k++) append(repeated[k], 0, 0, null);
      }
    }
    const groupStart = writer.offset;
    const chunks = [];
    let totalBytes = 0n;
    for (const l of leaves) {
      const column: ColumnEncoder = {
        columnName: l.schemaPath
          .slice(1)
          .map((e) => e.name)
          .join('.'),
        element: l.element,
        schemaPath: l.schemaPath,
        codec: 'SNAPPY',
        compressors: pq.compressors,
        stats: false,
        pageSize,
        columnIndex: false,
        offsetIndex: true,
      };
      const count = l.repeated ? l.count : size;
      l.values.length = count;
      const result = writeColumn({
        writer,
        column,
        pageData: {
          values: l.values,
          // Typed arrays serve the writer's index/length/slice use; its d.ts says number[].
          definitionLevels: l.defs.subarray(0, count) as unknown as number[],
          repetitionLevels: l.repeated ? (l.reps.subarray(0, count) as unknown as number[]) : [],
          maxDefinitionLevel: l.maxDef,
        },
      });
      chunks.push(result.chunk);
      pq.pendingIndexes.push(result);
      totalBytes += result.chunk.meta_data?.total_uncompressed_size ?? 0n;
    }
    pq.row_groups.push({
      columns: chunks,
      total_byte_size: totalBytes,
      num_rows: BigInt(end - start),
      total_compressed_size: BigInt(writer.offset - groupStart),
    });
    pq.num_rows += BigInt(end - start);
  }
  pq.finish();
  return new Uint8Array(writer.getBuffer());
}
