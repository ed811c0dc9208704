import { LakehouseError, isLakehouseError } from '../../errors.js';
import { compileScanSql } from '../../sql/compile.js';
import { deltaTypeFromDuckDb, duckDbType, quoteIdent } from '../../sql/duckdb-types.js';
import type { Clock } from '../../storage/storage.js';
import { systemClock } from '../../storage/storage.js';
import type { AddAction } from '../actions.js';
import type { Expr, Literal } from '../expression.js';
import { parsePredicate } from '../expression.js';
import type { ScanFile, ScanPlan } from '../scan.js';
import { planScan, scanColumns } from '../scan.js';
import type { DataType, StructField } from '../schema.js';
import { typeToString } from '../schema.js';
import type { Snapshot, TableRef } from '../snapshot.js';
import { Snapshot as SnapshotClass } from '../snapshot.js';
import { hasWriterFeature } from '../protocol.js';
import { Transaction } from '../transaction.js';
import type { DataEngine, SourceColumn } from './engine.js';
import { writeChecked } from './conform.js';
import { addsMetrics, removeFor } from './metrics.js';

/** What WHEN MATCHED does to a target row: set some columns, set every column from the source by name, or delete it. */
export type MergeMatchedAction = { kind: 'update'; set: Record<string, string> } | { kind: 'updateAll' } | { kind: 'delete' };

/** What WHEN NOT MATCHED does with a source row: insert the given values (target column → SQL over the source; others NULL), or every column by name. */
export type MergeNotMatchedAction = { kind: 'insert'; values: Record<string, string> } | { kind: 'insertAll' };

/** Options of a merge (Delta MERGE INTO target USING source ON ...). */
export interface MergeOptions {
  /** A SELECT producing the source rows. */
  sourceSql: string;
  /** Alias of the source in `on`, conditions and expressions, e.g. 's'. */
  sourceAlias: string;
  /** Alias of the target in `on`, conditions and expressions, e.g. 't'. */
  targetAlias: string;
  /** Join condition referencing both aliases. */
  on: string;
  /** Applied to target rows with a matching source row; the first clause whose condition holds wins. */
  whenMatched: { condition?: string; action: MergeMatchedAction }[];
  /** Applied to source rows matching no target row; the first clause whose condition holds wins. */
  whenNotMatched: { condition?: string; action: MergeNotMatchedAction }[];
  snapshot?: Snapshot;
  clock?: Clock;
  userName?: string;
  commitExtra?: Record<string, unknown>;
}

/** Metrics of a merge (names as in Delta's MERGE operationMetrics). */
export interface MergeMetrics {
  /** New version, or the read version when the merge changed nothing (no commit). */
  version: number;
  numTargetRowsUpdated: number;
  numTargetRowsDeleted: number;
  numTargetRowsInserted: number;
  /** Unchanged rows of rewritten target files. */
  numTargetRowsCopied: number;
  numTargetFilesRemoved: number;
  numTargetFilesAdded: number;
  numSourceRows: number;
  committed: boolean;
}

/** Target files per matching query (each file is one branch of a UNION ALL). */
const MATCH_BATCH = 100;
const IDENT_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Target column types whose min/max over the source can prune target files for an equality `t.x = s.y`. */
const RANGE_TYPES = new Set(['byte', 'short', 'integer', 'long', 'string', 'date']);

interface MatchedClause {
  kind: 'update' | 'delete';
  /** SQL condition, 'TRUE' when unconditional. */
  cond: string;
  /** Per target field, the new value (update only). */
  values: string[];
  raw: { condition?: string; action: MergeMatchedAction };
}

interface NotMatchedClause {
  cond: string;
  values: string[];
  raw: { condition?: string; action: MergeNotMatchedAction };
}

/**
 * Merges a source into the table in one commit, with SQL MERGE semantics: each target row with a matching source
 * row gets the first WHEN MATCHED clause whose condition holds (none → unchanged); each source row matching no target
 * row is inserted by the first WHEN NOT MATCHED clause whose condition holds. A target row acted on for more than one
 * source row fails with INVALID_INPUT (except with a single unconditional DELETE clause, as in Delta) and nothing is
 * written. Only target files with an updated or deleted row are rewritten (unchanged rows copied); inserts go to new
 * files; deletion vectors are honoured. Target files are pruned with the target-only conjuncts of ON and with the
 * source's min/max of `target.x = source.y` keys; that predicate is also the read set, so a concurrent commit adding
 * rows that could match fails this merge with CONCURRENT_COMMIT (whole-table read when ON gives no predicate).
 */
export async function merge(table: TableRef, engine: DataEngine, options: MergeOptions): Promise<MergeMetrics> {
  const clock = options.clock ?? systemClock;
  const started = clock.now();
  const { sourceAlias, targetAlias } = options;
  for (const [what, alias] of [
    ['source', sourceAlias],
    ['target', targetAlias],
  ] as const) {
    if (typeof alias !== 'string' || !IDENT_RE.test(alias)) {
      throw new LakehouseError('INVALID_INPUT', `the ${what} alias ${JSON.stringify(alias)} must be a plain identifier (letters, digits, _)`, { alias });
    }
    if (alias.toLowerCase().startsWith('__lh_')) throw new LakehouseError('INVALID_INPUT', `the ${what} alias "${alias}" is reserved`, { alias });
  }
  if (sourceAlias.toLowerCase() === targetAlias.toLowerCase()) {
    throw new LakehouseError('INVALID_INPUT', `the source and target aliases must differ, both are "${sourceAlias}"`, { alias: sourceAlias });
  }
  if (!options.sourceSql || !options.sourceSql.trim()) throw new LakehouseError('INVALID_INPUT', 'a merge needs a source query');
  if (!options.on || !options.on.trim()) throw new LakehouseError('INVALID_INPUT', 'a merge needs an ON condition');
  const whenMatched = options.whenMatched ?? [];
  const whenNotMatched = options.whenNotMatched ?? [];
  if (whenMatched.length + whenNotMatched.length === 0) throw new LakehouseError('INVALID_INPUT', 'a merge needs at least one WHEN clause');
  checkClauseOrder(whenMatched, 'WHEN MATCHED');
  checkClauseOrder(whenNotMatched, 'WHEN NOT MATCHED');

  const snapshot = options.snapshot ?? (await SnapshotClass.load(table));
  const txn = new Transaction(table, snapshot, clock);
  const fields = snapshot.schema.fields;
  const T = quoteIdent(targetAlias);
  const S = quoteIdent(sourceAlias);
  const on = `(${options.on})`;
  const sourceSql = options.sourceSql.trim().replace(/;\s*$/, '');
  const srcScope = `(SELECT *, TRUE AS __lh_s FROM (${sourceSql}) AS __lh_src) AS ${S}`;

  let srcCols: SourceColumn[];
  try {
    srcCols = await engine.describe(sourceSql);
  } catch (e) {
    throw new LakehouseError('INVALID_INPUT', `invalid merge source: ${(e as Error).message}`, {}, { cause: e });
  }
  const srcByLower = new Map<string, SourceColumn[]>();
  for (const c of srcCols) srcByLower.set(c.name.toLowerCase(), [...(srcByLower.get(c.name.toLowerCase()) ?? []), c]);

  const cast = (expr: string, f: StructField): string => `CAST((${expr}) AS ${duckDbType(f.type)})`;
  const tcol = (f: StructField): string => `${T}.${quoteIdent(f.name)}`;
  const scol = (f: StructField, label: string): string => {
    const found = srcByLower.get(f.name.toLowerCase()) ?? [];
    if (found.length === 0) {
      throw new LakehouseError('SCHEMA_MISMATCH', `${label} needs source column "${f.name}" (a column of the table), which the source lacks`, { column: f.name });
    }
    if (found.length > 1) throw new LakehouseError('INVALID_INPUT', `${label}: source column "${f.name}" is ambiguous (it appears ${found.length} times)`, { column: f.name });
    return `${S}.${quoteIdent(found[0].name)}`;
  };

  const matched: MatchedClause[] = whenMatched.map((c, i) => {
    const label = `WHEN MATCHED clause ${i + 1}`;
    const cond = conditionSql(c.condition);
    const a = c.action;
    switch (a?.kind) {
      case 'delete':
        return { kind: 'delete', cond, values: [], raw: c };
      case 'updateAll':
        return { kind: 'update', cond, values: fields.map((f) => cast(scol(f, `${label} (UPDATE SET *)`), f)), raw: c };
      case 'update': {
        const set = resolveColumns(fields, a.set ?? {}, label, 'SET');
        return { kind: 'update', cond, values: fields.map((f) => (set.has(f.name) ? cast(set.get(f.name)!, f) : tcol(f))), raw: c };
      }
      default:
        throw new LakehouseError('INVALID_INPUT', `${label} has an unknown action ${JSON.stringify((a as { kind?: unknown } | undefined)?.kind)}`);
    }
  });
  const notMatched: NotMatchedClause[] = whenNotMatched.map((c, i) => {
    const label = `WHEN NOT MATCHED clause ${i + 1}`;
    const cond = conditionSql(c.condition);
    const a = c.action;
    switch (a?.kind) {
      case 'insertAll':
        return { cond, values: fields.map((f) => cast(scol(f, `${label} (INSERT *)`), f)), raw: c };
      case 'insert': {
        const values = resolveColumns(fields, a.values ?? {}, label, 'INSERT');
        return { cond, values: fields.map((f) => (values.has(f.name) ? cast(values.get(f.name)!, f) : `CAST(NULL AS ${duckDbType(f.type)})`)), raw: c };
      }
      default:
        throw new LakehouseError('INVALID_INPUT', `${label} has an unknown action ${JSON.stringify((a as { kind?: unknown } | undefined)?.kind)}`);
    }
  });

  // Bind ON, every condition and every expression against the engine (DESCRIBE runs nothing): mistakes fail here.
  const columnsPlan: ScanPlan = {
    version: snapshot.version,
    columns: scanColumns(snapshot.schema, snapshot.partitionColumns, snapshot.columnMappingMode),
    partitionColumns: [...snapshot.partitionColumns],
    columnMappingMode: snapshot.columnMappingMode,
    files: [],
    totalFiles: 0,
    predicate: null,
  };
  const emptyTarget = `(${compileScanSql(columnsPlan, { fileUrl: (f) => engine.fileUrl(table, f) })}) AS ${T}`;
  const bind = async (sql: string, what: string): Promise<void> => {
    await engine.describe(sql).catch((e: unknown) => {
      throw new LakehouseError('INVALID_INPUT', `invalid ${what}: ${(e as Error).message}`, {}, { cause: e });
    });
  };
  await bind(`SELECT 1 AS v FROM ${emptyTarget} JOIN ${srcScope} ON ${on}`, 'merge ON condition');
  for (const [i, c] of matched.entries()) {
    await bind(`SELECT ${[c.cond, ...c.values].join(', ')} FROM ${emptyTarget} JOIN ${srcScope} ON ${on}`, `WHEN MATCHED clause ${i + 1}`);
  }
  for (const [i, c] of notMatched.entries()) {
    await bind(`SELECT ${[c.cond, ...c.values].join(', ')} FROM ${srcScope}`, `WHEN NOT MATCHED clause ${i + 1} (it may reference the source only)`);
  }

  // Which target files can hold a matching row: ON's target-only conjuncts, plus key ranges of the source.
  const { conjuncts, ranges } = analyzeOn(options.on, targetAlias, sourceAlias, fields, srcByLower);
  const stats = await engine.queryRows(
    `SELECT ${[
      'CAST(count(*) AS VARCHAR) AS n',
      ...ranges.map((r, i) => `CAST(min(${S}.${quoteIdent(r.source)}) AS VARCHAR) AS lo${i}, CAST(max(${S}.${quoteIdent(r.source)}) AS VARCHAR) AS hi${i}`),
    ].join(', ')} FROM ${srcScope}`,
  );
  const numSourceRows = Number(stats[0]?.n ?? 0);
  for (const [i, r] of ranges.entries()) {
    const lo = stats[0]?.[`lo${i}`];
    const hi = stats[0]?.[`hi${i}`];
    if (lo === null || lo === undefined || hi === null || hi === undefined) {
      // Every source key is NULL (or there is no source row): `t.x = s.y` never holds.
      conjuncts.push({ kind: 'literal', value: false });
      continue;
    }
    const column: Expr = { kind: 'column', name: r.target.name };
    conjuncts.push({
      kind: 'and',
      args: [
        { kind: 'compare', op: '>=', left: column, right: rangeLiteral(String(lo), r.target.type) },
        { kind: 'compare', op: '<=', left: column, right: rangeLiteral(String(hi), r.target.type) },
      ],
    });
  }
  const readPredicate: Expr | null = conjuncts.length === 0 ? null : conjuncts.length === 1 ? conjuncts[0] : { kind: 'and', args: conjuncts };
  const plan = await planScan(snapshot, { predicate: readPredicate });
  const fileSql = (files: ScanFile[]): string => compileScanSql({ ...plan, files }, { fileUrl: (f) => engine.fileUrl(table, f) });

  // Per target row: which matched clause acts, and for how many source rows.
  const actSql =
    matched.length === 0
      ? 'CAST(NULL AS INTEGER)'
      : `CASE WHEN ${S}.__lh_s IS NULL THEN NULL ${matched.map((c, i) => `WHEN ${c.cond} THEN ${i}`).join(' ')} END`;
  const updateIdx = matched.flatMap((c, i) => (c.kind === 'update' ? [i] : []));
  const deleteIdx = matched.flatMap((c, i) => (c.kind === 'delete' ? [i] : []));
  const inList = (idx: number[]): string => (idx.length === 0 ? 'FALSE' : `act IN (${idx.join(', ')})`);
  const multipleAllowed = matched.length === 1 && matched[0].kind === 'delete' && matched[0].cond === 'TRUE';
  const touched: { f: ScanFile; total: number; updated: number; deleted: number }[] = [];
  if (matched.length > 0) {
    for (let i = 0; i < plan.files.length; i += MATCH_BATCH) {
      const batch = plan.files.slice(i, i + MATCH_BATCH);
      const union = batch.map((f, k) => `(SELECT *, ${k} AS __lh_file FROM (${fileSql([f])}))`).join('\nUNION ALL\n');
      const rows = await engine.queryRows(
        `SELECT f, CAST(count(*) AS VARCHAR) AS total, CAST(count(*) FILTER (WHERE n > 1) AS VARCHAR) AS multi, ` +
          `CAST(count(*) FILTER (WHERE ${inList(updateIdx)}) AS VARCHAR) AS updated, CAST(count(*) FILTER (WHERE ${inList(deleteIdx)}) AS VARCHAR) AS deleted ` +
          `FROM (SELECT ${T}.__lh_file AS f, ${T}.__lh_rid AS rid, count(${actSql}) AS n, min(${actSql}) AS act ` +
          `FROM (SELECT *, row_number() OVER () AS __lh_rid FROM (${union})) AS ${T} LEFT JOIN ${srcScope} ON ${on} GROUP BY 1, 2) AS __lh_rows GROUP BY f`,
      );
      for (const r of rows) {
        if (Number(r.multi) > 0 && !multipleAllowed) {
          throw new LakehouseError(
            'INVALID_INPUT',
            'cannot perform MERGE: multiple source rows matched the same target row and attempted to modify it in possibly conflicting ways ' +
              '(deduplicate the source on the ON keys)',
            { file: batch[Number(r.f)].path, targetRows: Number(r.multi) },
          );
        }
        const updated = Number(r.updated);
        const deleted = Number(r.deleted);
        if (updated + deleted > 0) touched.push({ f: batch[Number(r.f)], total: Number(r.total), updated, deleted });
      }
    }
  }

  // Source rows matching no target row that a WHEN NOT MATCHED clause inserts.
  let insertSql: string | null = null;
  let numTargetRowsInserted = 0;
  if (notMatched.length > 0) {
    insertSql =
      `SELECT ${fields.map((f, k) => `CASE ${notMatched.map((c) => `WHEN ${c.cond} THEN ${c.values[k]}`).join(' ')} END AS ${quoteIdent(f.name)}`).join(', ')} ` +
      `FROM ${srcScope} WHERE NOT EXISTS (SELECT 1 FROM (${fileSql(plan.files)}) AS ${T} WHERE ${on}) ` +
      `AND (${notMatched.map((c) => `(${c.cond}) IS TRUE`).join(' OR ')})`;
    numTargetRowsInserted = await engine.queryNumber(`SELECT count(*) FROM (${insertSql}) AS __lh_ins`);
  }

  const numTargetRowsUpdated = touched.reduce((n, t) => n + t.updated, 0);
  const numTargetRowsDeleted = touched.reduce((n, t) => n + t.deleted, 0);
  const numTargetRowsCopied = touched.reduce((n, t) => n + t.total - t.updated - t.deleted, 0);
  const base = { numTargetRowsUpdated, numTargetRowsDeleted, numTargetRowsInserted, numTargetRowsCopied, numSourceRows };
  if (touched.length === 0 && numTargetRowsInserted === 0) {
    return { version: snapshot.version, ...base, numTargetFilesRemoved: 0, numTargetFilesAdded: 0, committed: false };
  }
  if (touched.length > 0 && changeDataFeedEnabled(snapshot)) {
    // PROTOCOL.md: Writer Requirements for AddCDCFile: such a commit needs cdc files, which this writer does not produce.
    throw new LakehouseError('UNSUPPORTED_FEATURE', `table has the change data feed enabled (delta.enableChangeDataFeed=true): a MERGE that updates or deletes rows would need change data (cdc) files, which are not supported`, {
      feature: 'changeDataFeed',
    });
  }
  if (touched.length > 0 && snapshot.metadata.configuration['delta.appendOnly'] === 'true') {
    throw new LakehouseError('INVALID_INPUT', 'table is append-only (delta.appendOnly=true): a merge cannot update or delete rows', {
      property: 'delta.appendOnly',
    });
  }

  const parts: string[] = [];
  if (touched.length > 0) {
    const valueOf = (k: number): string => {
      const f = fields[k];
      if (updateIdx.length === 0) return tcol(f);
      return `CASE ${actSql} ${updateIdx.map((i) => `WHEN ${i} THEN ${matched[i].values[k]}`).join(' ')} ELSE ${tcol(f)} END`;
    };
    parts.push(
      `WITH __lh_tr AS MATERIALIZED (SELECT *, row_number() OVER () AS __lh_rid FROM (${fileSql(touched.map((t) => t.f))})), ` +
        `__lh_pairs AS (SELECT * FROM (SELECT ${T}.__lh_rid AS __lh_rid, ${actSql} AS __lh_act, ${fields.map((_, k) => `${valueOf(k)} AS __lh_v${k}`).join(', ')} ` +
        `FROM __lh_tr AS ${T} JOIN ${srcScope} ON ${on}) AS __lh_j WHERE __lh_act IS NOT NULL) ` +
        `SELECT ${fields.map((f, k) => `CASE WHEN __lh_p.__lh_act IS NULL THEN __lh_t.${quoteIdent(f.name)} ELSE __lh_p.__lh_v${k} END AS ${quoteIdent(f.name)}`).join(', ')} ` +
        `FROM __lh_tr AS __lh_t LEFT JOIN __lh_pairs AS __lh_p ON __lh_p.__lh_rid = __lh_t.__lh_rid ` +
        (deleteIdx.length > 0 ? `WHERE __lh_p.__lh_act IS NULL OR __lh_p.__lh_act NOT IN (${deleteIdx.join(', ')})` : ''),
    );
  }
  if (insertSql && numTargetRowsInserted > 0) parts.push(insertSql);
  const adds = await writeChecked(
    engine,
    table,
    { schema: snapshot.schema, partitionColumns: snapshot.partitionColumns, columnMappingMode: snapshot.columnMappingMode, metadata: snapshot.metadata },
    parts.map((p) => `SELECT * FROM (${p})`).join('\nUNION ALL\n'),
  );
  const m = addsMetrics(adds);
  const expected = numTargetRowsUpdated + numTargetRowsCopied + numTargetRowsInserted;
  if (adds.every((a) => a.stats) && m.numRows !== expected) {
    throw new LakehouseError(
      'INTERNAL',
      `the merge wrote ${m.numRows} rows but ${expected} were expected (is the source non-deterministic?); nothing was committed`,
      { written: m.numRows, expected },
    );
  }

  const now = clock.now();
  const addsByKey = new Map<string, AddAction>();
  for (const f of snapshot.files()) addsByKey.set(f.key, f.add);
  const removed = touched.map((t) => addsByKey.get(t.f.key)!);
  txn.add(...removed.map((add) => ({ remove: removeFor(add, now) })), ...adds.map((add) => ({ add })));
  txn.read(readPredicate ? { predicate: readPredicate } : { wholeTable: true });
  const clauseParam = (c: { condition?: string }, actionType: string): Record<string, string> =>
    c.condition?.trim() ? { predicate: c.condition.trim(), actionType } : { actionType };
  const result = await txn.commit({
    operation: 'MERGE',
    operationParameters: {
      predicate: JSON.stringify([options.on]),
      matchedPredicates: JSON.stringify(matched.map((c) => clauseParam(c.raw, c.kind))),
      notMatchedPredicates: JSON.stringify(notMatched.map((c) => clauseParam(c.raw, 'insert'))),
      notMatchedBySourcePredicates: '[]',
    },
    operationMetrics: {
      numSourceRows,
      numTargetRowsInserted,
      numTargetRowsUpdated,
      numTargetRowsMatchedUpdated: numTargetRowsUpdated,
      numTargetRowsNotMatchedBySourceUpdated: 0,
      numTargetRowsDeleted,
      numTargetRowsMatchedDeleted: numTargetRowsDeleted,
      numTargetRowsNotMatchedBySourceDeleted: 0,
      numTargetRowsCopied,
      numOutputRows: m.numRows,
      numTargetFilesAdded: adds.length,
      numTargetFilesRemoved: removed.length,
      numTargetBytesAdded: m.numBytes,
      numTargetBytesRemoved: removed.reduce((n, a) => n + a.size, 0),
      numTargetChangeFilesAdded: 0,
      numTargetDeletionVectorsAdded: 0,
      numTargetDeletionVectorsRemoved: removed.filter((a) => a.deletionVector).length,
      executionTimeMs: Math.max(0, clock.now() - started),
    },
    userName: options.userName,
    extra: options.commitExtra,
  });
  return { version: result.version, ...base, numTargetFilesRemoved: removed.length, numTargetFilesAdded: adds.length, committed: true };
}

function conditionSql(condition: string | undefined): string {
  return condition === undefined || !condition.trim() ? 'TRUE' : `(${condition})`;
}

/** All but the last clause of a kind need a condition (later clauses would be unreachable), as Delta requires. */
function checkClauseOrder(clauses: { condition?: string }[], label: string): void {
  clauses.forEach((c, i) => {
    if (i < clauses.length - 1 && !c.condition?.trim()) {
      throw new LakehouseError('INVALID_INPUT', `${label} clause ${i + 1} has no condition but is not the last ${label} clause; only the last one may omit it`);
    }
  });
}

/** Maps column names (case-insensitively) to schema fields, refusing unknown or repeated columns and empty expressions. */
function resolveColumns(fields: readonly StructField[], entries: Record<string, string>, label: string, verb: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, expr] of Object.entries(entries)) {
    const f = fields.find((x) => x.name === name) ?? fields.find((x) => x.name.toLowerCase() === name.toLowerCase());
    if (!f) {
      throw new LakehouseError(
        'INVALID_INPUT',
        `${label}: cannot ${verb} column "${name}": it is not a column of the table (columns: ${fields.map((x) => x.name).join(', ')})`,
        { column: name },
      );
    }
    if (out.has(f.name)) throw new LakehouseError('INVALID_INPUT', `${label}: column "${f.name}" is assigned more than once`, { column: f.name });
    if (typeof expr !== 'string' || !expr.trim()) throw new LakehouseError('INVALID_INPUT', `${label}: the expression for column "${f.name}" is empty`, { column: f.name });
    out.set(f.name, expr);
  }
  if (out.size === 0) throw new LakehouseError('INVALID_INPUT', `${label}: ${verb} needs at least one column`);
  return out;
}

/**
 * What ON says about target rows that can match: its top-level conjuncts over target columns only (alias stripped),
 * and equalities `target.x = source.y` between same-typed columns whose source range bounds x.
 */
function analyzeOn(
  on: string,
  targetAlias: string,
  sourceAlias: string,
  fields: readonly StructField[],
  srcByLower: ReadonlyMap<string, SourceColumn[]>,
): { conjuncts: Expr[]; ranges: { target: StructField; source: string }[] } {
  let e: Expr;
  try {
    e = parsePredicate(on);
  } catch (err) {
    if (isLakehouseError(err, 'INVALID_INPUT')) return { conjuncts: [], ranges: [] };
    throw err;
  }
  const flat: Expr[] = [];
  const flatten = (x: Expr): void => (x.kind === 'and' ? x.args.forEach(flatten) : void flat.push(x));
  flatten(e);
  const conjuncts: Expr[] = [];
  const ranges: { target: StructField; source: string }[] = [];
  for (const c of flat) {
    const stripped = stripAlias(c, targetAlias);
    if (stripped) {
      conjuncts.push(stripped);
      continue;
    }
    if (c.kind !== 'compare' || c.op !== '=' || c.left.kind !== 'column' || c.right.kind !== 'column') continue;
    const l = qualified(c.left.name);
    const r = qualified(c.right.name);
    if (!l || !r) continue;
    const [tName, sName] =
      l.alias === targetAlias.toLowerCase() && r.alias === sourceAlias.toLowerCase()
        ? [l.column, r.column]
        : r.alias === targetAlias.toLowerCase() && l.alias === sourceAlias.toLowerCase()
          ? [r.column, l.column]
          : [null, null];
    if (tName === null || sName === null) continue;
    const target = fields.find((f) => f.name === tName) ?? fields.find((f) => f.name.toLowerCase() === tName.toLowerCase());
    const source = srcByLower.get(sName.toLowerCase());
    if (!target || typeof target.type !== 'string' || !RANGE_TYPES.has(target.type) || !source || source.length !== 1) continue;
    let sourceType: DataType;
    try {
      sourceType = deltaTypeFromDuckDb(source[0].engineType, source[0].name);
    } catch {
      continue;
    }
    // Same type only: a cross-type comparison may coerce either side, which a range of the source cannot bound.
    if (typeToString(sourceType) !== typeToString(target.type)) continue;
    ranges.push({ target, source: source[0].name });
  }
  return { conjuncts, ranges };
}

function qualified(name: string): { alias: string; column: string } | null {
  const parts = name.split('.');
  return parts.length === 2 ? { alias: parts[0].toLowerCase(), column: parts[1] } : null;
}

/** The expression with every column's `alias.` prefix removed, or null when a column is not qualified by `alias`. */
function stripAlias(e: Expr, alias: string): Expr | null {
  const a = alias.toLowerCase();
  const all = (xs: Expr[]): Expr[] | null => {
    const out: Expr[] = [];
    for (const x of xs) {
      const s = stripAlias(x, alias);
      if (!s) return null;
      out.push(s);
    }
    return out;
  };
  switch (e.kind) {
    case 'column': {
      const parts = e.name.split('.');
      return parts.length >= 2 && parts[0].toLowerCase() === a ? { kind: 'column', name: parts.slice(1).join('.') } : null;
    }
    case 'literal':
      return e;
    case 'compare': {
      const [left, right] = all([e.left, e.right]) ?? [];
      return left && right ? { ...e, left, right } : null;
    }
    case 'in': {
      const xs = all([e.expr, ...e.list]);
      return xs ? { ...e, expr: xs[0], list: xs.slice(1) } : null;
    }
    case 'isNull': {
      const x = stripAlias(e.expr, alias);
      return x ? { ...e, expr: x } : null;
    }
    case 'and':
    case 'or': {
      const args = all(e.args);
      return args ? { kind: e.kind, args } : null;
    }
    case 'not': {
      const x = stripAlias(e.arg, alias);
      return x ? { kind: 'not', arg: x } : null;
    }
  }
}

/** A literal of a source bound (engine text of a value of the target's type). */
function rangeLiteral(text: string, t: DataType): Literal {
  if (t === 'string') return { kind: 'literal', value: text };
  if (t === 'date') return { kind: 'literal', value: text, type: 'date' };
  const n = Number(text);
  return Number.isSafeInteger(n) ? { kind: 'literal', value: n } : { kind: 'literal', value: n, text };
}

/** True when writers must produce cdc files for data changes (PROTOCOL.md: Writer Requirements for AddCDCFile). */
function changeDataFeedEnabled(snapshot: Snapshot): boolean {
  return snapshot.metadata.configuration['delta.enableChangeDataFeed'] === 'true' && hasWriterFeature(snapshot.protocol, 'changeDataFeed');
}
