import { parseTableName } from '@lakehouse/core';
import { useQuery } from '@tanstack/react-query';
import { Link } from '../../lib/router.js';
import { formatCount } from '../../components/format.js';
import { ErrorMessage, Loading } from '../../components/States.js';
import { queryOnce } from '../../lib/duckdb/index.js';
import { sqlKeys } from './api.js';
import { ResultGrid } from './ResultGrid.js';

/** Rows a sample shows. */
export const SAMPLE_ROWS = 100;

/** The SELECT of a table's sample (time travel when a version is given). */
export function sampleSql(table: string, version?: number): string {
  return `SELECT * FROM ${parseTableName(table).name}${version !== undefined ? ` VERSION AS OF ${version}` : ''} LIMIT ${SAMPLE_ROWS}`;
}

/** Shows the first 100 rows of a table (optionally at a version), read in the browser by DuckDB-WASM. */
export function SampleTab({ table, version }: { table: string; version?: number }) {
  const q = useQuery({
    queryKey: [...sqlKeys.all, 'sample', table, version ?? 'latest'] as const,
    queryFn: () => queryOnce(sampleSql(table, version), { tables: [table] }),
    staleTime: version === undefined ? 30_000 : Infinity,
    retry: false,
  });
  if (q.isPending) return <Loading label="Reading the first rows in your browser…" />;
  if (q.error) return <ErrorMessage error={q.error} title="Could not read the sample" retry={() => void q.refetch()} />;
  const { result, stats, views } = q.data;
  const v = views[0];
  return (
    <div className="sql-sample">
      <p className="muted small">
        First {formatCount(result.numRows)} rows{v ? ` of version ${v.version}` : ''} · read in {Math.round(stats.durationMs)} ms from {formatCount(stats.filesRead)} of{' '}
        {formatCount(stats.filesPlanned)} files.{' '}
        <Link to={`/sql?q=${encodeURIComponent(sampleSql(table, version))}`}>Open in SQL editor</Link>
      </p>
      {result.numRows === 0 ? <p className="muted">The table has no rows.</p> : <ResultGrid result={result} label={`Sample of ${table}`} />}
    </div>
  );
}
