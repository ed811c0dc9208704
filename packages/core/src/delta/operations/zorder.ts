import { LakehouseError } from '../../errors.js';
import { quoteIdent } from '../../sql/duckdb-types.js';

// Z-ordering (multi-dimensional clustering), built as engine SQL:
//  1. every z-column is mapped to an unsigned integer of `bits` bits by its percent rank among the rows being
//     rewritten: floor(percent_rank() OVER (ORDER BY col ASC NULLS FIRST) * (2^bits - 1)). Ranks make every
//     orderable type usable (numbers, strings, dates, timestamps, booleans, decimals), spread skewed
//     distributions evenly, and put NULLs first (rank 0);
//  2. the bits of those integers are interleaved (bit i of column j goes to bit i * n + j of the key), with plain
//     shift / and / or arithmetic on UBIGINT, into one key of at most 63 bits;
//  3. rows are cut into files by ranges of that key, so each file covers a compact box of the column space and
//     its min/max statistics prune well on every z-column.
// The key is a deterministic function of the rows' values, so cutting by key ranges assigns each row to exactly
// one file even when the SQL is evaluated once per output file.

/** Most columns a Z-order may use (each gets at least 3 bits of the 63-bit key). */
export const MAX_ZORDER_COLUMNS = 16;

/** Name of the key column `zOrderKeySql` adds. */
export const ZORDER_KEY_COLUMN = '__lh_zkey';

/** Bits each of `n` z-columns contributes to the interleaved key (at most 31, so ranks stay exact in a double). */
export function zOrderBitsPerColumn(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > MAX_ZORDER_COLUMNS) {
    throw new LakehouseError('INVALID_INPUT', `Z-order needs between 1 and ${MAX_ZORDER_COLUMNS} columns, got ${n}`, { columns: n });
  }
  return Math.min(31, Math.floor(63 / n));
}

/**
 * A SELECT over `sourceSql` returning its columns `columns` plus the UBIGINT interleaved key as `__lh_zkey`
 * (pure string building; DuckDB syntax). `zColumns` must be columns of the source.
 */
export function zOrderKeySql(sourceSql: string, columns: readonly string[], zColumns: readonly string[]): string {
  const n = zColumns.length;
  const bits = zOrderBitsPerColumn(n);
  const max = 2 ** bits - 1;
  const rankCols = zColumns.map((_, j) => `__lh_zr${j}`);
  const ranks = zColumns.map(
    (c, j) => `CAST(floor(percent_rank() OVER (ORDER BY ${quoteIdent(c)} ASC NULLS FIRST) * ${max}) AS UBIGINT) AS ${rankCols[j]}`,
  );
  const terms: string[] = [];
  for (let i = 0; i < bits; i++) {
    for (let j = 0; j < n; j++) {
      const target = i * n + j;
      terms.push(`(((${rankCols[j]} >> ${i}) & CAST(1 AS UBIGINT)) << ${target})`);
    }
  }
  const cols = columns.map(quoteIdent).join(', ');
  return (
    `SELECT ${cols}, (${terms.join(' | ')}) AS ${ZORDER_KEY_COLUMN} ` +
    `FROM (SELECT ${cols}, ${ranks.join(', ')} FROM (${sourceSql}) AS __lh_zsrc) AS __lh_zranked`
  );
}

/** The interleaved key for given per-column ranks, computed in JS (reference for tests and documentation). */
export function interleaveBits(ranks: readonly number[], bits: number): bigint {
  let key = 0n;
  const n = ranks.length;
  for (let i = 0; i < bits; i++) {
    for (let j = 0; j < n; j++) {
      if ((BigInt(ranks[j]) >> BigInt(i)) & 1n) key |= 1n << BigInt(i * n + j);
    }
  }
  return key;
}

/**
 * SQL conditions splitting the key space at `boundaries` (ascending decimal strings): condition k selects keys in
 * [boundaries[k-1], boundaries[k]); together they select every row exactly once.
 */
export function zOrderRangeConditions(boundaries: readonly string[]): string[] {
  const sorted = [...new Set(boundaries)].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0));
  for (const b of sorted) {
    if (!/^\d+$/.test(b)) throw new LakehouseError('INTERNAL', `Z-order boundary ${JSON.stringify(b)} is not an unsigned integer`);
  }
  const lit = (b: string): string => `CAST('${b}' AS UBIGINT)`;
  const out: string[] = [];
  for (let k = 0; k <= sorted.length; k++) {
    const lo = k > 0 ? `${ZORDER_KEY_COLUMN} >= ${lit(sorted[k - 1])}` : null;
    const hi = k < sorted.length ? `${ZORDER_KEY_COLUMN} < ${lit(sorted[k])}` : null;
    out.push([lo, hi].filter((x) => x !== null).join(' AND ') || 'true');
  }
  return out;
}
