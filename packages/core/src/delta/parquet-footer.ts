import { parquetMetadata } from 'hyparquet';

/**
 * The top-level column names of a Parquet file, from a tail of the file that holds its whole footer (metadata, its
 * length and the `PAR1` magic); null when the tail is too short or is not a Parquet footer. Pure; never throws.
 */
export function parquetTopLevelColumns(tail: ArrayBuffer): string[] | null {
  if (tail.byteLength < 12) return null;
  const view = new DataView(tail);
  const end = tail.byteLength;
  if (view.getUint32(end - 4, true) !== 0x31524150) return null; // "PAR1"
  const footerLength = view.getUint32(end - 8, true);
  if (footerLength + 8 > end) return null;
  try {
    const schema = parquetMetadata(tail).schema;
    const names: string[] = [];
    // Depth-first list: the root's children are the top-level columns; skip each one's descendants.
    let i = 1;
    for (let k = 0; k < (schema[0]?.num_children ?? 0) && i < schema.length; k++) {
      names.push(schema[i].name);
      let skip = schema[i].num_children ?? 0;
      i++;
      while (skip > 0 && i < schema.length) {
        skip += (schema[i].num_children ?? 0) - 1;
        i++;
      }
    }
    return names;
  } catch {
    return null;
  }
}
