import type { Completion, CompletionContext, CompletionResult, CompletionSource } from '@codemirror/autocomplete';
import type { SQLNamespace } from '@codemirror/lang-sql';
import { flatTableName } from '@lakehouse/core';

// Autocomplete of the SQL editor: warehouse tables (three-part and flat names), their columns, and DuckDB functions.

/** Common DuckDB functions with a short signature (a static list: DuckDB-WASM 0.9.2 has about 600, these cover daily use). */
export const DUCKDB_FUNCTIONS: readonly [name: string, signature: string][] = [
  ['count', 'count(expr) → BIGINT'],
  ['sum', 'sum(expr)'],
  ['avg', 'avg(expr) → DOUBLE'],
  ['min', 'min(expr)'],
  ['max', 'max(expr)'],
  ['median', 'median(expr)'],
  ['mode', 'mode(expr)'],
  ['quantile_cont', 'quantile_cont(expr, q)'],
  ['quantile_disc', 'quantile_disc(expr, q)'],
  ['approx_count_distinct', 'approx_count_distinct(expr) → BIGINT'],
  ['approx_quantile', 'approx_quantile(expr, q)'],
  ['stddev', 'stddev(expr) → DOUBLE'],
  ['stddev_pop', 'stddev_pop(expr) → DOUBLE'],
  ['variance', 'variance(expr) → DOUBLE'],
  ['corr', 'corr(y, x) → DOUBLE'],
  ['string_agg', 'string_agg(expr, sep) → VARCHAR'],
  ['list', 'list(expr) → LIST'],
  ['array_agg', 'array_agg(expr) → LIST'],
  ['histogram', 'histogram(expr) → MAP'],
  ['arg_max', 'arg_max(arg, val)'],
  ['arg_min', 'arg_min(arg, val)'],
  ['bool_and', 'bool_and(expr) → BOOLEAN'],
  ['bool_or', 'bool_or(expr) → BOOLEAN'],
  ['first', 'first(expr)'],
  ['last', 'last(expr)'],
  ['any_value', 'any_value(expr)'],
  ['row_number', 'row_number() OVER (...)'],
  ['rank', 'rank() OVER (...)'],
  ['dense_rank', 'dense_rank() OVER (...)'],
  ['percent_rank', 'percent_rank() OVER (...)'],
  ['ntile', 'ntile(n) OVER (...)'],
  ['lag', 'lag(expr[, offset[, default]]) OVER (...)'],
  ['lead', 'lead(expr[, offset[, default]]) OVER (...)'],
  ['first_value', 'first_value(expr) OVER (...)'],
  ['last_value', 'last_value(expr) OVER (...)'],
  ['abs', 'abs(x)'],
  ['round', 'round(x[, digits])'],
  ['floor', 'floor(x)'],
  ['ceil', 'ceil(x)'],
  ['sqrt', 'sqrt(x) → DOUBLE'],
  ['pow', 'pow(x, y) → DOUBLE'],
  ['ln', 'ln(x) → DOUBLE'],
  ['log10', 'log10(x) → DOUBLE'],
  ['exp', 'exp(x) → DOUBLE'],
  ['greatest', 'greatest(a, b, ...)'],
  ['least', 'least(a, b, ...)'],
  ['random', 'random() → DOUBLE'],
  ['coalesce', 'coalesce(a, b, ...)'],
  ['nullif', 'nullif(a, b)'],
  ['ifnull', 'ifnull(a, b)'],
  ['cast', 'CAST(expr AS type)'],
  ['try_cast', 'TRY_CAST(expr AS type)'],
  ['typeof', 'typeof(expr) → VARCHAR'],
  ['length', 'length(str) → BIGINT'],
  ['lower', 'lower(str)'],
  ['upper', 'upper(str)'],
  ['trim', 'trim(str)'],
  ['ltrim', 'ltrim(str)'],
  ['rtrim', 'rtrim(str)'],
  ['concat', 'concat(a, b, ...)'],
  ['concat_ws', 'concat_ws(sep, a, b, ...)'],
  ['substr', 'substr(str, start[, length])'],
  ['left', 'left(str, n)'],
  ['right', 'right(str, n)'],
  ['replace', 'replace(str, from, to)'],
  ['split_part', 'split_part(str, sep, n)'],
  ['string_split', 'string_split(str, sep) → VARCHAR[]'],
  ['starts_with', 'starts_with(str, prefix) → BOOLEAN'],
  ['ends_with', 'ends_with(str, suffix) → BOOLEAN'],
  ['contains', 'contains(str, needle) → BOOLEAN'],
  ['strpos', 'strpos(str, needle) → BIGINT'],
  ['lpad', 'lpad(str, n, fill)'],
  ['rpad', 'rpad(str, n, fill)'],
  ['repeat', 'repeat(str, n)'],
  ['reverse', 'reverse(str)'],
  ['regexp_matches', 'regexp_matches(str, pattern) → BOOLEAN'],
  ['regexp_replace', 'regexp_replace(str, pattern, replacement[, flags])'],
  ['regexp_extract', 'regexp_extract(str, pattern[, group])'],
  ['format', "format('{}', args...)"],
  ['printf', "printf('%s', args...)"],
  ['md5', 'md5(str) → VARCHAR'],
  ['hash', 'hash(expr) → UBIGINT'],
  ['levenshtein', 'levenshtein(a, b) → BIGINT'],
  ['jaro_winkler_similarity', 'jaro_winkler_similarity(a, b) → DOUBLE'],
  ['now', 'now() → TIMESTAMP WITH TIME ZONE'],
  ['current_date', 'current_date → DATE'],
  ['today', 'today() → DATE'],
  ['date_trunc', "date_trunc('month', ts)"],
  ['date_part', "date_part('year', ts) → BIGINT"],
  ['datepart', "datepart('year', ts) → BIGINT"],
  ['date_diff', "date_diff('day', start, end) → BIGINT"],
  ['datediff', "datediff('day', start, end) → BIGINT"],
  ['date_add', 'date_add(date, INTERVAL 1 DAY)'],
  ['date_sub', "date_sub('day', start, end) → BIGINT"],
  ['extract', 'EXTRACT(part FROM ts)'],
  ['year', 'year(ts) → BIGINT'],
  ['month', 'month(ts) → BIGINT'],
  ['day', 'day(ts) → BIGINT'],
  ['dayofweek', 'dayofweek(ts) → BIGINT'],
  ['hour', 'hour(ts) → BIGINT'],
  ['strftime', "strftime(ts, '%Y-%m-%d') → VARCHAR"],
  ['strptime', "strptime(str, '%Y-%m-%d') → TIMESTAMP"],
  ['epoch', 'epoch(ts) → DOUBLE'],
  ['epoch_ms', 'epoch_ms(ms) → TIMESTAMP'],
  ['make_date', 'make_date(y, m, d) → DATE'],
  ['make_timestamp', 'make_timestamp(y, m, d, h, mi, s) → TIMESTAMP'],
  ['time_bucket', 'time_bucket(INTERVAL 1 HOUR, ts)'],
  ['generate_series', 'generate_series(start, stop[, step])'],
  ['range', 'range(start, stop[, step])'],
  ['unnest', 'unnest(list)'],
  ['list_value', 'list_value(a, b, ...) → LIST'],
  ['list_extract', 'list_extract(list, i)'],
  ['list_contains', 'list_contains(list, x) → BOOLEAN'],
  ['list_distinct', 'list_distinct(list) → LIST'],
  ['list_sort', 'list_sort(list) → LIST'],
  ['list_transform', 'list_transform(list, x -> expr) → LIST'],
  ['list_filter', 'list_filter(list, x -> cond) → LIST'],
  ['len', 'len(list) → BIGINT'],
  ['array_length', 'array_length(list) → BIGINT'],
  ['flatten', 'flatten(list_of_lists) → LIST'],
  ['struct_pack', 'struct_pack(a := x, b := y) → STRUCT'],
  ['struct_extract', "struct_extract(struct, 'field')"],
  ['map', 'map(keys, values) → MAP'],
  ['map_keys', 'map_keys(map) → LIST'],
  ['map_values', 'map_values(map) → LIST'],
  ['element_at', 'element_at(map, key) → LIST'],
  ['cardinality', 'cardinality(map) → UBIGINT'],
  ['json_extract', "json_extract(json, '$.path') → JSON"],
  ['json_extract_string', "json_extract_string(json, '$.path') → VARCHAR"],
  ['to_json', 'to_json(expr) → JSON'],
  ['read_parquet', "read_parquet('url')"],
  ['parquet_metadata', "parquet_metadata('url')"],
  ['parquet_schema', "parquet_schema('url')"],
  ['bit_count', 'bit_count(x)'],
  ['uuid', 'uuid() → UUID'],
  ['if', 'if(cond, a, b)'],
];

/** What the editor knows about a table for completion. */
export interface CompletionTable {
  name: string;
  description?: string | null;
  /** Column names with types, when loaded. */
  columns?: { name: string; type: string }[];
}

/**
 * The namespace lang-sql completes from: `layer` → `domain` → `table` → columns, and each flat `layer_domain_table`
 * at the top level with the same columns.
 */
export function sqlNamespace(tables: readonly CompletionTable[]): SQLNamespace {
  const tree: Record<string, Record<string, Record<string, SQLNamespace>>> = {};
  const top: Record<string, SQLNamespace> = {};
  for (const t of tables) {
    const [layer, domain, table] = t.name.split('.');
    if (!layer || !domain || !table) continue;
    const cols: Completion[] = (t.columns ?? []).map((c) => ({ label: c.name, type: 'property', detail: c.type }));
    tree[layer] ??= {};
    tree[layer][domain] ??= {};
    tree[layer][domain][table] = { self: { label: table, type: 'type', detail: 'table', info: t.description ?? undefined }, children: cols };
    top[flatTableName(t.name)] = { self: { label: flatTableName(t.name), type: 'type', detail: t.name, info: t.description ?? undefined }, children: cols };
  }
  const out: Record<string, SQLNamespace> = { ...top };
  for (const [layer, domains] of Object.entries(tree)) {
    const d: Record<string, SQLNamespace> = {};
    for (const [domain, ts] of Object.entries(domains)) d[domain] = { self: { label: domain, type: 'namespace' }, children: ts };
    out[layer] = { self: { label: layer, type: 'namespace', detail: 'layer' }, children: d };
  }
  return out;
}

const functionCompletions: Completion[] = DUCKDB_FUNCTIONS.map(([name, signature]) => ({
  label: name,
  type: 'function',
  detail: signature,
  apply: name === 'current_date' ? name : undefined,
  boost: -1,
}));

/** Completes DuckDB function names at a word (not after a dot). */
export const functionCompletionSource: CompletionSource = (ctx: CompletionContext): CompletionResult | null => {
  const word = ctx.matchBefore(/[A-Za-z_][A-Za-z0-9_]*/);
  if (!word || (word.from === word.to && !ctx.explicit)) return null;
  if (word.from > 0 && ctx.state.sliceDoc(word.from - 1, word.from) === '.') return null;
  return { from: word.from, options: functionCompletions, validFor: /^[A-Za-z0-9_]*$/ };
};

/** Completes unqualified column names of the given tables (the tables the SQL reads) at a word. */
export function columnCompletionSource(columns: () => readonly { table: string; name: string; type: string }[]): CompletionSource {
  return (ctx: CompletionContext): CompletionResult | null => {
    const word = ctx.matchBefore(/[A-Za-z_][A-Za-z0-9_]*/);
    if (!word || (word.from === word.to && !ctx.explicit)) return null;
    if (word.from > 0 && ctx.state.sliceDoc(word.from - 1, word.from) === '.') return null;
    const cols = columns();
    if (cols.length === 0) return null;
    const seen = new Set<string>();
    const options: Completion[] = [];
    for (const c of cols) {
      if (seen.has(c.name)) continue;
      seen.add(c.name);
      options.push({ label: c.name, type: 'property', detail: `${c.type} · ${c.table}`, boost: 5 });
    }
    return { from: word.from, options, validFor: /^[A-Za-z0-9_]*$/ };
  };
}
