/**
 * A top-level column of a Parquet file: its name, and its Parquet type as an opaque key (the column's schema elements,
 * nested ones included, as written): two files whose keys are equal store the column the same way.
 */
export interface ParquetColumn {
  name: string;
  type: string;
}

/**
 * The top-level columns of a Parquet file, from a tail of the file that holds its whole footer (metadata, its length
 * and the `PAR1` magic); null when the tail is too short or is not a Parquet footer. Pure; never throws.
 */
export function parquetTopLevelColumns(tail: ArrayBuffer): ParquetColumn[] | null {
  if (tail.byteLength < 12) return null;
  const view = new DataView(tail);
  const end = tail.byteLength;
  if (view.getUint32(end - 4, true) !== 0x31524150) return null; // "PAR1"
  const footerLength = view.getUint32(end - 8, true);
  if (footerLength + 8 > end) return null;
  try {
    const schema = new CompactReader(new Uint8Array(tail), end - 8 - footerLength, end - 8).fileSchema();
    if (schema === null) return null;
    const columns: ParquetColumn[] = [];
    // Depth-first list: the root's children are the top-level columns, each followed by its descendants.
    let i = 1;
    for (let k = 0; k < (schema[0]?.numChildren ?? 0) && i < schema.length; k++) {
      const { name } = schema[i];
      let type = schema[i].raw;
      let skip = schema[i].numChildren;
      i++;
      while (skip > 0 && i < schema.length) {
        type += schema[i].raw;
        skip += schema[i].numChildren - 1;
        i++;
      }
      columns.push({ name, type });
    }
    return columns;
  } catch {
    return null;
  }
}

/** One SchemaElement of a Parquet footer: its name, its number of children, and its bytes as written (latin1). */
interface SchemaNode {
  name: string;
  numChildren: number;
  raw: string;
}

// Thrift compact protocol type ids (parquet.thrift's FileMetaData is written with it).
const T_BOOL_TRUE = 1;
const T_BOOL_FALSE = 2;
const T_BYTE = 3;
const T_I16 = 4;
const T_I32 = 5;
const T_I64 = 6;
const T_DOUBLE = 7;
const T_BINARY = 8;
const T_LIST = 9;
const T_SET = 10;
const T_MAP = 11;
const T_STRUCT = 12;
/** Bytes as a string of one character per byte. */
function latin1(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 4096) out += String.fromCharCode(...bytes.subarray(i, i + 4096));
  return out;
}

/** Nesting deeper than this is not a Parquet footer (and would exhaust the stack). */
const MAX_DEPTH = 64;

/**
 * Reads only FileMetaData's schema (field 2, before the row groups and their statistics, which make most of a footer)
 * with the Thrift compact protocol, and stops there: a full metadata parse of every file's footer costs the page's
 * main thread far more. Throws on malformed input (the caller answers null).
 */
class CompactReader {
  private pos: number;
  private readonly text = new TextDecoder();

  constructor(
    private readonly bytes: Uint8Array,
    start: number,
    private readonly end: number,
  ) {
    this.pos = start;
  }

  /** FileMetaData's schema list, or null when the struct has none. */
  fileSchema(): SchemaNode[] | null {
    for (let field = this.field(0); field; field = this.field(field.id)) {
      if (field.id === 2 && field.type === T_LIST) return this.schemaList();
      this.skip(field.type, 0);
    }
    return null;
  }

  private schemaList(): SchemaNode[] {
    const { size, elementType } = this.listHeader();
    if (elementType !== T_STRUCT) throw new RangeError('schema is not a list of structs');
    const out: SchemaNode[] = [];
    for (let n = 0; n < size; n++) {
      const node: SchemaNode = { name: '', numChildren: 0, raw: '' };
      const start = this.pos;
      for (let field = this.field(0); field; field = this.field(field.id)) {
        if (field.id === 4 && field.type === T_BINARY) node.name = this.text.decode(this.binary());
        else if (field.id === 5 && field.type === T_I32) node.numChildren = this.zigzag();
        else this.skip(field.type, 1);
      }
      node.raw = latin1(this.bytes.subarray(start, this.pos));
      out.push(node);
    }
    return out;
  }

  /** The next field header of a struct (its id from the delta to `lastId`, or in full), or null at the struct's end. */
  private field(lastId: number): { id: number; type: number } | null {
    const header = this.byte();
    if (header === 0) return null;
    return { type: header & 0x0f, id: header >> 4 ? lastId + (header >> 4) : this.zigzag() };
  }

  private byte(): number {
    if (this.pos >= this.end) throw new RangeError('the footer ends early');
    return this.bytes[this.pos++];
  }

  private varint(): number {
    let value = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      const b = this.byte();
      value += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return value;
    }
    throw new RangeError('varint too long');
  }

  private zigzag(): number {
    const v = this.varint();
    return v % 2 === 0 ? v / 2 : -(v + 1) / 2;
  }

  private binary(): Uint8Array {
    const length = this.varint();
    if (this.pos + length > this.end) throw new RangeError('the footer ends early');
    const out = this.bytes.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }

  private listHeader(): { size: number; elementType: number } {
    const header = this.byte();
    const size = header >> 4 === 15 ? this.varint() : header >> 4;
    return { size, elementType: header & 0x0f };
  }

  /** Skips a value of `type` (a struct field's: booleans carry their value in the type). */
  private skip(type: number, depth: number): void {
    if (depth > MAX_DEPTH) throw new RangeError('nesting too deep');
    switch (type) {
      case T_BOOL_TRUE:
      case T_BOOL_FALSE:
        return;
      case T_BYTE:
        this.byte();
        return;
      case T_I16:
      case T_I32:
      case T_I64:
        this.varint();
        return;
      case T_DOUBLE:
        if (this.pos + 8 > this.end) throw new RangeError('the footer ends early');
        this.pos += 8;
        return;
      case T_BINARY:
        this.binary();
        return;
      case T_LIST:
      case T_SET: {
        const { size, elementType } = this.listHeader();
        for (let n = 0; n < size; n++) this.skipElement(elementType, depth + 1);
        return;
      }
      case T_MAP: {
        const size = this.varint();
        if (size === 0) return;
        const kinds = this.byte();
        for (let n = 0; n < size; n++) {
          this.skipElement(kinds >> 4, depth + 1);
          this.skipElement(kinds & 0x0f, depth + 1);
        }
        return;
      }
      case T_STRUCT:
        for (let field = this.field(0); field; field = this.field(field.id)) this.skip(field.type, depth + 1);
        return;
      default:
        throw new RangeError(`unknown compact type ${type}`);
    }
  }

  /** Skips a list, set or map element: a boolean element takes a byte there. */
  private skipElement(type: number, depth: number): void {
    if (type === T_BOOL_TRUE || type === T_BOOL_FALSE) this.byte();
    else this.skip(type, depth);
  }
}
