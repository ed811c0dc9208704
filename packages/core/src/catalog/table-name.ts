import { LakehouseError } from '../errors.js';

/** The medallion layers, in pipeline order. */
export const LAYERS = ['bronze', 'silver', 'gold'] as const;

/** A medallion layer. */
export type Layer = (typeof LAYERS)[number];

/** A validated `layer.domain.table` name (branded so it cannot be mixed with other strings). */
export type TableName = string & { readonly __brand: 'TableName' };

/** The parts of a table name. */
export interface TableNameParts {
  layer: Layer;
  domain: string;
  table: string;
}

const PART = /^[a-z][a-z0-9_]*$/;

/** Parses `layer.domain.table` (or the flat `layer_domain_table` alias when unambiguous); INVALID_INPUT naming the problem. */
export function parseTableName(raw: string): TableNameParts & { name: TableName } {
  const parts = raw.trim().split('.');
  if (parts.length !== 3) {
    throw new LakehouseError('INVALID_INPUT', `invalid table name "${raw}": expected layer.domain.table, e.g. silver.sales.orders`, { name: raw });
  }
  const [layer, domain, table] = parts;
  if (!(LAYERS as readonly string[]).includes(layer)) {
    throw new LakehouseError('INVALID_INPUT', `invalid table name "${raw}": layer must be one of ${LAYERS.join(', ')}, not "${layer}"`, { name: raw });
  }
  for (const [what, p] of [
    ['domain', domain],
    ['table', table],
  ] as const) {
    if (!PART.test(p)) {
      throw new LakehouseError('INVALID_INPUT', `invalid table name "${raw}": ${what} "${p}" must be lower-case letters, digits and _ starting with a letter`, {
        name: raw,
      });
    }
  }
  return { layer: layer as Layer, domain, table, name: `${layer}.${domain}.${table}` as TableName };
}

/** True when `raw` is a valid `layer.domain.table` name. */
export function isTableName(raw: string): raw is TableName {
  try {
    parseTableName(raw);
    return true;
  } catch {
    return false;
  }
}

/** The flat alias `layer_domain_table` of a table name. */
export function flatTableName(name: TableName | string): string {
  return name.split('.').join('_');
}

/** Storage key prefix of a table inside the warehouse: `layer/domain/table`. */
export function tableKeyOf(name: TableName | string): string {
  return name.split('.').join('/');
}
