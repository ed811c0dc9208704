import type { Job, SqlResult } from '@lakehouse/contracts';
import { classifyStatement, rewriteTableRefs, splitStatements } from '@lakehouse/core';
import { useQueries, useQuery, useQueryClient } from '@tanstack/react-query';
import { Suspense, lazy, useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { Link, useNavigate, useParams, useSearchParams } from '../../lib/router.js';
import { Dialog } from '../../components/Dialog.js';
import { formatBytes, formatCount } from '../../components/format.js';
import { ErrorMessage, Loading, Time } from '../../components/States.js';
import { TabPanel, Tabs } from '../../components/Tabs.js';
import { errorMessage, isApiError } from '../../lib/api.js';
import { QueryError, SqlSession, errorSummary, getDuckDb, invalidateTableView, type QueryOutcome, type QueryPhase } from '../../lib/duckdb/index.js';
import { tableDetailQuery, tableKeys, tableListQuery } from '../catalog/api.js';
import { cancelJob, followJob, historyQuery, recordRun, saveQuery, savedListQuery, savedQuery, sqlKeys, startWrite, writeResultOf, type SavedQuery } from './api.js';
import { sqlNamespace, type CompletionTable } from './completion.js';
import { initialSql, writeDraft } from './draft.js';
import { ResultGrid } from './ResultGrid.js';
import { SqlEditor, type SqlEditorHandle } from './SqlEditor.js';

// Recharts is large: loaded when a chart is first shown.
const ResultChart = lazy(() => import('./ResultChart.js').then((m) => ({ default: m.ResultChart })));

/** A read result shown under the editor. */
interface ShownResult {
  outcome: QueryOutcome;
  /** The statement as the user wrote it. */
  sql: string;
}

/** A write statement running or finished on the server. */
interface WriteState {
  sql: string;
  job: Job | null;
  result: SqlResult | null;
}

/** An error shown next to the SQL. */
interface ShownError {
  title: string;
  message: string;
  code?: string;
  /** Where in the editor, as `line:column`, when DuckDB named a position. */
  where?: string;
  /** What to do about it. */
  hint?: string;
  /** `info` for what the user asked for (a cancel). */
  tone?: 'error' | 'info';
}

const READ_DENIED = 'Reading table data needs the analyst role or a SELECT grant on the table, its domain or its layer: ask an admin.';
const WRITE_DENIED = 'Writes need a MODIFY grant on the target table, its domain or its layer: ask an admin.';

type Busy = null | { kind: 'read' | 'write'; startedAt: number; step: number; steps: number };

/** How long a read runs before its progress bar shows (a fast query's result replaces it before it could be seen). */
const PROGRESS_DELAY_MS = 400;

function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `line ${before.length}, column ${before[before.length - 1].length + 1}`;
}

function download(bytes: Uint8Array, name: string, type: string): void {
  const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Words for the metrics of a write (Delta's operation metrics); unknown ones are shown by their key. */
const WRITE_METRICS: Record<string, (n: number) => string> = {
  numOutputRows: (n) => `${formatCount(n)} ${n === 1 ? 'row' : 'rows'} written`,
  numFiles: (n) => `${formatCount(n)} ${n === 1 ? 'file' : 'files'}`,
  numOutputBytes: (n) => formatBytes(n),
  numDeletedRows: (n) => `${formatCount(n)} deleted`,
  numUpdatedRows: (n) => `${formatCount(n)} updated`,
  numTargetRowsInserted: (n) => `${formatCount(n)} inserted`,
  numTargetRowsUpdated: (n) => `${formatCount(n)} updated`,
  numTargetRowsDeleted: (n) => `${formatCount(n)} deleted`,
  numRemovedFiles: (n) => `${formatCount(n)} ${n === 1 ? 'file' : 'files'} removed`,
};

function writeMetrics(metrics: Record<string, number>): string {
  return Object.entries(metrics)
    .map(([k, v]) => WRITE_METRICS[k]?.(v) ?? `${k} ${formatCount(v)}`)
    .join(' · ');
}

function seconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/**
 * `render()`, rendered again every 200 ms: its own component, so neither the page nor anything else re-renders at each
 * tick. What it shows may come from refs (a read's phase): they change during a query without rendering anything, so
 * the page's thread stays free while DuckDB's worker runs.
 */
function Ticking({ render }: { render: () => ReactNode }) {
  const [, setTick] = useState(0);
  useEffect(() => {
    const t = setInterval(() => setTick((n) => n + 1), 200);
    return () => clearInterval(t);
  }, []);
  return <>{render()}</>;
}

/** Its children once it has been mounted for `ms` (nothing before). */
function Delayed({ ms, children }: { ms: number; children: ReactNode }) {
  const [shown, setShown] = useState(false);
  useEffect(() => {
    const t = setTimeout(() => setShown(true), ms);
    return () => clearTimeout(t);
  }, [ms]);
  return shown ? <>{children}</> : null;
}

/** What a read does in each phase: for the status line, and for the panel under the editor. */
const PHASE_TEXT: Record<QueryPhase, { short: string; long: string }> = {
  starting: { short: 'Starting DuckDB', long: 'Starting DuckDB in your browser…' },
  planning: { short: 'Planning', long: 'Planning the table reads…' },
  running: { short: 'Running', long: 'Running in your browser…' },
  fetching: { short: 'Running', long: 'Running in your browser…' },
};

/** The status line of a running statement: what it does, which of how many, and for how long. */
function busyLabel(busy: NonNullable<Busy>, phase: QueryPhase): string {
  const what = busy.kind === 'write' ? 'Writing' : PHASE_TEXT[phase].short;
  return `${what}${busy.steps > 1 ? ` statement ${busy.step} of ${busy.steps}` : ''}… ${seconds(Math.max(0, Date.now() - busy.startedAt))}`;
}

/** Figures of a read: time, rows, files and bytes. */
function Figures({ outcome }: { outcome: QueryOutcome }) {
  const s = outcome.stats;
  const versions = outcome.views.map((v) => `${v.table} v${v.version}`).join(', ');
  return (
    <dl className="sql-figures" aria-label="Query figures">
      <div>
        <dt>Rows</dt>
        <dd>
          {formatCount(s.rows)}
          {s.truncated ? <span className="muted"> (first {formatCount(outcome.result.numRows)} shown)</span> : null}
        </dd>
      </div>
      <div>
        <dt>Time</dt>
        <dd title={s.engineStartMs > 50 ? `including ${seconds(s.engineStartMs)} to start DuckDB` : undefined}>
          {seconds(s.durationMs)}
          {s.engineStartMs > 50 ? <span className="muted"> (DuckDB start {seconds(s.engineStartMs)})</span> : null}
        </dd>
      </div>
      <div>
        <dt>Files read</dt>
        <dd>
          {formatCount(s.filesRead)} of {formatCount(s.filesPlanned)}
        </dd>
      </div>
      <div>
        <dt>Fetched</dt>
        <dd title={`${formatCount(s.requests)} HTTP requests; ${formatBytes(s.bytesRead)} received by DuckDB, ${formatBytes(s.networkBytes)} over the network (the rest from the browser cache); the files total ${formatBytes(s.bytesPlanned)}`}>
          {formatBytes(s.networkBytes)} <span className="muted">over the network · {formatBytes(s.bytesRead)} read · {formatCount(s.requests)} requests</span>
        </dd>
      </div>
      {versions ? (
        <div className="sql-figures-wide">
          <dt>Tables</dt>
          <dd className="mono">{versions}</dd>
        </div>
      ) : null}
    </dl>
  );
}

/** The history and saved-query lists beside the editor. */
function SidePanel({ onLoad }: { onLoad: (sql: string) => void }) {
  const [tab, setTab] = useState<'history' | 'saved'>('history');
  const history = useQuery({ ...historyQuery(50), enabled: tab === 'history' });
  const saved = useQuery({ ...savedListQuery(), enabled: tab === 'saved' });
  return (
    <aside className="sql-side" aria-label="Query history and saved queries">
      <Tabs
        tabs={[
          { key: 'history', label: 'History' },
          { key: 'saved', label: 'Saved' },
        ]}
        selected={tab}
        onSelect={setTab}
        label="Queries"
        idPrefix="sql-side"
      />
      <TabPanel idPrefix="sql-side" selected={tab}>
        {tab === 'history' ? (
          history.isPending ? (
            <Loading />
          ) : history.error ? (
            <ErrorMessage error={history.error} retry={() => void history.refetch()} />
          ) : history.data.length === 0 ? (
            <p className="muted small">Queries you run show up here.</p>
          ) : (
            <ul className="sql-list">
              {history.data.map((h) => (
                <li key={h.id}>
                  <button type="button" className="sql-list-item" onClick={() => onLoad(h.sql)} title={h.error ?? h.sql}>
                    <code className="sql-snippet">{h.sql}</code>
                    <span className="small muted">
                      <span className={`sql-status ${h.status}`} aria-label={h.status === 'ok' ? 'succeeded' : 'failed'} /> <Time iso={h.startedAt} /> ·{' '}
                      {seconds(h.durationMs)}
                      {h.rows !== null ? ` · ${formatCount(h.rows)} ${h.rows === 1 ? 'row' : 'rows'}` : ''}
                    </span>
                  </button>
                </li>
              ))}
            </ul>
          )
        ) : saved.isPending ? (
          <Loading />
        ) : saved.error ? (
          <ErrorMessage error={saved.error} retry={() => void saved.refetch()} />
        ) : saved.data.length === 0 ? (
          <p className="muted small">Save a query to get a permalink that pins the table versions it read.</p>
        ) : (
          <ul className="sql-list">
            {saved.data.map((q) => (
              <li key={q.id}>
                <Link className="sql-list-item" to={`/sql/saved/${q.id}`}>
                  <strong>{q.name}</strong>
                  <code className="sql-snippet">{q.sql}</code>
                  <span className="small muted">
                    <Time iso={q.createdAt} />
                  </span>
                </Link>
              </li>
            ))}
          </ul>
        )}
      </TabPanel>
    </aside>
  );
}

/** The banner of a permalink: what it pins, and a way to run on the latest versions instead. */
function PermalinkBanner({ saved, pinned, onUnpin }: { saved: SavedQuery; pinned: boolean; onUnpin: () => void }) {
  const [copied, setCopied] = useState(false);
  const pins = Object.entries(saved.tableVersions);
  return (
    <div className="callout callout-version sql-permalink" role="region" aria-label="Saved query">
      <p>
        <strong>{saved.name}</strong> <span className="muted">saved by {saved.owner.name ?? 'a user'}</span>{' '}
        <span className="muted">
          · <Time iso={saved.createdAt} />
        </span>
      </p>
      {pins.length > 0 ? (
        <p className="small">
          {pinned ? 'Reads ' : 'Pinned versions (not applied): '}
          {pins.map(([t, v], i) => (
            <span key={t}>
              {i > 0 ? ', ' : ''}
              <code>{t}</code> at version {v}
            </span>
          ))}
          {pinned ? ', as when it was saved: the same link gives the same answer after the tables change.' : '.'}
        </p>
      ) : null}
      <div className="page-actions">
        <button
          type="button"
          className="btn btn-small"
          onClick={() => {
            void navigator.clipboard?.writeText(location.href).then(() => setCopied(true));
          }}
        >
          {copied ? 'Link copied' : 'Copy link'}
        </button>
        {pinned && pins.length > 0 ? (
          <button type="button" className="btn btn-small" onClick={onUnpin}>
            Run on the latest versions
          </button>
        ) : null}
      </div>
    </div>
  );
}

/** Route `/sql` and `/sql/saved/:id`: the SQL editor over DuckDB-WASM. `?q=` prefills the editor. */
export function SqlPage() {
  const { id: savedId } = useParams();
  const [search] = useSearchParams();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const editor = useRef<SqlEditorHandle>(null);
  const [session] = useState(() => new SqlSession());
  const [text, setText] = useState(() => search.get('q') ?? initialSql());
  const [hasSelection, setHasSelection] = useState(false);
  const [busy, setBusy] = useState<Busy>(null);
  /** The running read's phase (a ref: shown by the status line's tick, see `Ticking`). */
  const readPhase = useRef<QueryPhase>('starting');
  const [shown, setShown] = useState<ShownResult | null>(null);
  const [write, setWrite] = useState<WriteState | null>(null);
  const [error, setError] = useState<ShownError | null>(null);
  const [view, setView] = useState<'table' | 'chart'>('table');
  const [pinned, setPinned] = useState<Record<string, number> | null>(null);
  const [saveOpen, setSaveOpen] = useState(false);
  const [saveName, setSaveName] = useState('');
  const [saveError, setSaveError] = useState<unknown>(null);
  const [exporting, setExporting] = useState<string | null>(null);
  const [engine, setEngine] = useState<'starting' | 'ready' | 'failed'>('starting');
  const jobAbort = useRef<AbortController | null>(null);
  const runningJob = useRef<string | null>(null);
  const lastRun = useRef<{ sql: string; tableVersions: Record<string, number> } | null>(null);
  const appliedSaved = useRef<string | null>(null);

  const tableList = useQuery(tableListQuery());
  const tableNames = useMemo(() => (tableList.data ?? []).map((t) => t.name), [tableList.data]);
  const knownVersions = useMemo(() => Object.fromEntries((tableList.data ?? []).map((t) => [t.name, t.version])), [tableList.data]);

  // Start DuckDB-WASM while the user reads the page.
  useEffect(() => {
    let live = true;
    getDuckDb().then(
      () => live && setEngine('ready'),
      () => live && setEngine('failed'),
    );
    return () => {
      live = false;
    };
  }, []);
  useEffect(() => () => void session.close(), [session]);

  // Columns of the tables the SQL reads, for completion (fetched as the SQL names them).
  const [debounced, setDebounced] = useState(text);
  useEffect(() => {
    const t = setTimeout(() => setDebounced(text), 350);
    return () => clearTimeout(t);
  }, [text]);
  useEffect(() => {
    const t = setTimeout(() => writeDraft(text), 500);
    return () => clearTimeout(t);
  }, [text]);
  // Build the views the SQL in the editor reads while the user reads it, so Run goes straight to the query.
  // (Three-part names need no table list; flat names are recognised once it has loaded.)
  const reads = useMemo(() => {
    try {
      return rewriteTableRefs(debounced, { tables: tableNames, pinned: pinned ?? undefined }).reads;
    } catch {
      return [];
    }
  }, [debounced, tableNames, pinned]);
  useEffect(() => {
    if (busy) return;
    const id = setTimeout(() => session.prewarm(reads, { tables: tableNames, knownVersions }), 0);
    return () => clearTimeout(id);
  }, [reads, tableNames, knownVersions, busy, session]);
  const referenced = useMemo(() => [...new Set(reads.map((r) => r.table))].filter((t) => tableNames.includes(t)).slice(0, 20), [reads, tableNames]);
  const details = useQueries({ queries: referenced.map((t) => ({ ...tableDetailQuery(t), retry: false })) });
  const columnsByTable = new Map(details.flatMap((d) => (d.data ? [[d.data.name, d.data.columns.map((c) => ({ name: c.name, type: c.type }))] as const] : [])));
  const completionTables: CompletionTable[] = (tableList.data ?? []).map((t) => ({ name: t.name, description: t.description, columns: columnsByTable.get(t.name) }));
  // Rebuild the completion namespace only when what it holds changed (the editor reconfigures its language then).
  const completionKey = JSON.stringify(completionTables);
  const schema = useMemo(() => sqlNamespace(JSON.parse(completionKey) as CompletionTable[]), [completionKey]);
  const columnsRef = useRef<{ table: string; name: string; type: string }[]>([]);
  columnsRef.current = completionTables.flatMap((t) => (t.columns ?? []).map((c) => ({ table: t.name, ...c })));
  const columns = useCallback(() => columnsRef.current, []);

  // `?q=` prefills the editor, also when it changes while the page is open (e.g. "Query in SQL" from elsewhere).
  const prefill = search.get('q');
  useEffect(() => {
    if (prefill !== null && prefill !== editor.current?.getText()) {
      editor.current?.setText(prefill);
      setText(prefill);
    }
  }, [prefill]);

  // A permalink: load the saved SQL, pin its versions, run it once.
  const saved = useQuery({ ...savedQuery(savedId ?? ''), enabled: savedId !== undefined });
  useEffect(() => {
    if (!savedId) {
      setPinned(null);
      appliedSaved.current = null;
    }
  }, [savedId]);

  const markError = useCallback((e: unknown, base: number, source: string) => {
    if (e instanceof QueryError) {
      if (e.kind === 'cancelled') {
        setError({ title: 'Cancelled', message: 'The query was cancelled.', tone: 'info' });
        return;
      }
      const cause = e.cause;
      if (isApiError(cause)) {
        setError({
          title: cause.code === 'FORBIDDEN' ? 'Not allowed' : 'Could not read a table',
          message: cause.message,
          code: cause.code,
          hint: cause.code === 'FORBIDDEN' ? READ_DENIED : undefined,
        });
        return;
      }
      const summary = errorSummary(e.message);
      if (e.position !== null) {
        const from = base + e.position;
        const word = /^[\w."$]+/.exec(source.slice(from))?.[0].length ?? 1;
        editor.current?.markError({ from, to: from + Math.max(1, word), message: summary });
        setError({ title: 'Query failed', message: summary, where: lineColumn(source, from) });
      } else {
        setError({ title: 'Query failed', message: summary });
      }
      return;
    }
    setError({ title: isApiError(e, 'FORBIDDEN') ? 'Not allowed' : 'Something went wrong', message: errorMessage(e), code: isApiError(e) ? e.code : undefined });
  }, []);

  /** Records a run in the user's history, then refreshes the history list (after the record: else it could miss it). */
  const record = useCallback(
    (run: Parameters<typeof recordRun>[0]) => {
      void recordRun(run).then(() => queryClient.invalidateQueries({ queryKey: sqlKeys.history() }));
    },
    [queryClient],
  );

  const runWrite = useCallback(
    async (sql: string, started: number): Promise<boolean> => {
      setWrite({ sql, job: null, result: null });
      const abort = new AbortController();
      jobAbort.current = abort;
      try {
        const job = await startWrite(sql);
        runningJob.current = job.id;
        setWrite({ sql, job, result: null });
        const final = await followJob(job.id, (j) => setWrite({ sql, job: j, result: null }), abort.signal);
        const result = writeResultOf(final);
        setWrite({ sql, job: final, result });
        if (final.state === 'succeeded') {
          const target = result?.target ?? final.table;
          if (target) invalidateTableView(target);
          await queryClient.invalidateQueries({ queryKey: tableKeys.all });
          record({ sql, tables: {}, durationMs: performance.now() - started, rows: null, status: 'ok', error: null });
          return true;
        }
        const e = final.error;
        setError({
          title: final.state === 'cancelled' ? 'Cancelled' : e?.code === 'FORBIDDEN' ? 'Not allowed' : 'The write failed',
          message: e?.message ?? (final.state === 'cancelled' ? 'The statement was cancelled before its commit; no table changed.' : 'The job failed.'),
          code: e?.code,
          hint: e?.code === 'FORBIDDEN' ? WRITE_DENIED : undefined,
          tone: final.state === 'cancelled' ? 'info' : 'error',
        });
        record({ sql, tables: {}, durationMs: performance.now() - started, rows: null, status: 'error', error: e?.message ?? final.state });
        return false;
      } catch (e) {
        if (abort.signal.aborted) return false;
        setError({
          title: isApiError(e, 'FORBIDDEN') ? 'Not allowed' : 'The write failed',
          message: errorMessage(e),
          code: isApiError(e) ? e.code : undefined,
          hint: isApiError(e, 'FORBIDDEN') ? WRITE_DENIED : undefined,
        });
        record({ sql, tables: {}, durationMs: performance.now() - started, rows: null, status: 'error', error: errorMessage(e) });
        return false;
      } finally {
        runningJob.current = null;
        jobAbort.current = null;
      }
    },
    [queryClient, record],
  );

  /** Runs `source.slice(base)`'s statements in order: reads in the browser, writes on the server. */
  const execute = useCallback(
    async (script: string, base: number, source: string, pins: Record<string, number> | null): Promise<boolean> => {
      const statements = splitStatements(script);
      if (statements.length === 0 || busy) return false;
      editor.current?.closeCompletion();
      editor.current?.markError(null);
      setError(null);
      setWrite(null);
      // A result left from an earlier run would sit under this run's error (or its progress) as if it were its answer.
      setShown(null);
      const versions: Record<string, number> = {};
      let ok = true;
      for (const [i, st] of statements.entries()) {
        const started = performance.now();
        const cls = classifyStatement(st.sql, tableNames);
        readPhase.current = 'starting';
        setBusy({ kind: cls.kind === 'write' ? 'write' : 'read', startedAt: Date.now(), step: i + 1, steps: statements.length });
        if (cls.kind === 'write') {
          ok = await runWrite(st.sql, started);
          if (!ok) break;
          continue;
        }
        try {
          const outcome = await session.run(st.sql, {
            tables: tableNames,
            knownVersions,
            pinned: pins ?? undefined,
            // Shown at the status line's next tick: a render per phase would run while DuckDB's worker does.
            onPhase: (phase) => {
              readPhase.current = phase;
            },
          });
          Object.assign(versions, outcome.tableVersions);
          setShown({ outcome, sql: st.sql });
          record({ sql: st.sql, tables: outcome.tableVersions, durationMs: outcome.stats.durationMs, rows: outcome.stats.rows, status: 'ok', error: null });
        } catch (e) {
          ok = false;
          markError(e, base + st.from, source);
          if (!(e instanceof QueryError && e.kind === 'cancelled')) {
            record({ sql: st.sql, tables: {}, durationMs: performance.now() - started, rows: null, status: 'error', error: e instanceof Error ? e.message : String(e) });
          }
          break;
        }
      }
      setBusy(null);
      if (ok && base === 0 && script === source) lastRun.current = { sql: source, tableVersions: versions };
      return ok;
    },
    [busy, tableNames, knownVersions, session, runWrite, markError, record],
  );

  const runAll = useCallback(() => {
    const source = editor.current?.getText() ?? '';
    const sel = editor.current?.getSelection();
    if (sel && sel.text.trim()) void execute(sel.text, sel.from, source, pinned);
    else void execute(source, 0, source, pinned);
  }, [execute, pinned]);

  const runStatement = useCallback(() => {
    const source = editor.current?.getText() ?? '';
    const cursor = editor.current?.getCursor() ?? 0;
    const statements = splitStatements(source);
    const st = statements.find((s) => cursor >= s.from && cursor <= s.to + 1) ?? statements.findLast((s) => s.to <= cursor) ?? statements[0];
    if (st) void execute(st.sql, st.from, source, pinned);
  }, [execute, pinned]);

  const cancel = useCallback(() => {
    if (busy?.kind === 'read') void session.cancel();
    else if (busy?.kind === 'write' && runningJob.current) {
      void cancelJob(runningJob.current).catch((e: unknown) => setError({ title: 'Could not cancel', message: errorMessage(e) }));
    }
  }, [busy, session]);

  // Apply a permalink once its saved query and the table list are loaded.
  useEffect(() => {
    const q = saved.data;
    if (!q || !savedId || appliedSaved.current === savedId || !tableList.data) return;
    appliedSaved.current = savedId;
    editor.current?.setText(q.sql);
    setText(q.sql);
    setPinned(q.tableVersions);
    void execute(q.sql, 0, q.sql, q.tableVersions);
  }, [saved.data, savedId, tableList.data, execute]);

  const doSave = async () => {
    setSaveError(null);
    const source = editor.current?.getText() ?? '';
    try {
      if (!lastRun.current || lastRun.current.sql !== source) {
        const ok = await execute(source, 0, source, pinned);
        if (!ok) throw new Error('the query must run without error before it can be saved (its table versions are pinned)');
      }
      const q = await saveQuery({ name: saveName.trim(), sql: source, tableVersions: lastRun.current?.tableVersions ?? {} });
      queryClient.setQueryData(sqlKeys.saved(q.id), q);
      await queryClient.invalidateQueries({ queryKey: sqlKeys.savedList() });
      appliedSaved.current = q.id;
      setPinned(q.tableVersions);
      setSaveOpen(false);
      setSaveName('');
      navigate(`/sql/saved/${q.id}`);
    } catch (e) {
      setSaveError(e);
    }
  };

  const doExport = async (format: 'csv' | 'parquet') => {
    if (!shown) return;
    setExporting(format);
    try {
      const bytes = await session.export(shown.sql, format, { tables: tableNames, knownVersions, pinned: pinned ?? undefined });
      const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
      download(bytes, `query-${stamp}.${format}`, format === 'csv' ? 'text/csv' : 'application/vnd.apache.parquet');
    } catch (e) {
      setError({ title: 'Export failed', message: e instanceof Error ? errorSummary(e.message) : String(e) });
    } finally {
      setExporting(null);
    }
  };

  const loadSql = useCallback((sql: string) => {
    editor.current?.setText(sql);
    setText(sql);
    editor.current?.focus();
  }, []);

  const isMac = typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform);
  const mod = isMac ? '⌘' : 'Ctrl';

  const job = write?.job;
  return (
    <div className="sql-page">
      <header className="page-header">
        <div>
          <h1>SQL</h1>
          <p className="muted small">
            Queries run in your browser (DuckDB-WASM {engine === 'starting' ? 'starting…' : engine === 'failed' ? 'failed to start' : 'ready'}); INSERT, MERGE, UPDATE,
            DELETE and CREATE TABLE AS run on the server. Time travel: <code>FROM silver.sales.orders VERSION AS OF 3</code>.
          </p>
        </div>
      </header>

      {savedId ? (
        saved.isPending ? (
          <Loading label="Loading the saved query…" />
        ) : saved.error ? (
          <ErrorMessage error={saved.error} title="Could not open the saved query" />
        ) : (
          <PermalinkBanner saved={saved.data} pinned={pinned !== null} onUnpin={() => setPinned(null)} />
        )
      ) : null}

      <div className="sql-layout">
        <div className="sql-main">
          <div className="sql-toolbar" role="toolbar" aria-label="Query">
            <button
              type="button"
              className="btn btn-primary"
              onClick={runAll}
              disabled={busy !== null}
              aria-keyshortcuts={isMac ? 'Meta+Enter' : 'Control+Enter'}
              title={`${hasSelection ? 'Run the selected text' : 'Run every statement'} (${mod}-Enter)`}
            >
              <span aria-hidden="true">▶</span> {hasSelection ? 'Run selection' : 'Run'} <kbd aria-hidden="true">{mod}↵</kbd>
            </button>
            <button type="button" className="btn" onClick={runStatement} disabled={busy !== null} title={`Run the statement at the cursor (Shift-${mod}-Enter)`}>
              Run statement
            </button>
            <button type="button" className="btn" onClick={cancel} disabled={busy === null}>
              Cancel
            </button>
            <button type="button" className="btn" onClick={() => setSaveOpen(true)} disabled={busy !== null}>
              Save…
            </button>
            <span className="sql-status-line" role="status" aria-live="polite">
              {busy ? (
                <Ticking render={() => busyLabel(busy, readPhase.current)} />
              ) : pinned && Object.keys(pinned).length > 0
                  ? 'Pinned to the saved versions'
                  : ''}
            </span>
          </div>
          <div className="sql-editor-frame">
            <SqlEditor
              ref={editor}
              initialText={text}
              schema={schema}
              columns={columns}
              onRun={runAll}
              onRunStatement={runStatement}
              onChange={setText}
              onSelectionChange={setHasSelection}
            />
          </div>

          {error ? (
            <div className={`callout sql-error ${error.tone === 'info' ? '' : 'callout-error'}`} role={error.tone === 'info' ? 'status' : 'alert'}>
              <strong>{error.title}</strong>
              {error.where ? <span className="muted small"> at {error.where}</span> : null}
              <pre className="sql-error-text">{error.message}</pre>
              {error.hint ? <p className="small">{error.hint}</p> : null}
              {error.code ? <p className="muted small">Code: {error.code}</p> : null}
            </div>
          ) : null}

          {write && job?.state !== 'failed' && job?.state !== 'cancelled' ? (
            <div className="callout sql-job" role="status" aria-live="polite">
              <strong>
                {job === null || job === undefined
                  ? 'Submitting the write…'
                  : job.state === 'succeeded'
                    ? (() => {
                        const target = write.result?.target ?? job.table;
                        return (
                          <>
                            Committed {write.result?.statement.replace(/_/g, ' ') ?? 'the write'} to{' '}
                            {target ? <Link to={`/tables/${target}`}>{target}</Link> : 'the table'}
                            {write.result ? ` (version ${write.result.version})` : ''}
                          </>
                        );
                      })()
                    : job.state === 'queued'
                      ? 'Queued on the server…'
                      : `Writing: ${job.message ?? 'running'}`}
              </strong>
              {job === null || job === undefined || job.state === 'running' || job.state === 'queued' ? (
                // Indeterminate until the server reports progress (a bar stuck at 0 looks like a hung write).
                <progress className="sql-progress" max={1} value={job && job.progress > 0 ? job.progress : undefined} aria-label="Write progress" />
              ) : null}
              {write.result ? <p className="small muted">{writeMetrics(write.result.metrics)}</p> : null}
            </div>
          ) : null}

          {busy?.kind === 'read' ? (
            <Delayed ms={PROGRESS_DELAY_MS}>
              <div className="sql-running">
                <progress className="sql-progress" aria-label="Query running" />
                <p className="muted small">
                  <Ticking render={() => PHASE_TEXT[readPhase.current].long} />{' '}
                  Cancel stops it.
                </p>
              </div>
            </Delayed>
          ) : null}

          {shown ? (
            <section className="sql-result" aria-label="Result">
              <div className="sql-result-head">
                <Figures outcome={shown.outcome} />
                <div className="sql-result-actions">
                  <Tabs
                    tabs={[
                      { key: 'table', label: 'Table' },
                      { key: 'chart', label: 'Chart' },
                    ]}
                    selected={view}
                    onSelect={setView}
                    label="Result view"
                    idPrefix="sql-result"
                  />
                  <button type="button" className="btn btn-small" onClick={() => void doExport('csv')} disabled={exporting !== null || busy !== null}>
                    {exporting === 'csv' ? 'Exporting…' : 'Export CSV'}
                  </button>
                  <button type="button" className="btn btn-small" onClick={() => void doExport('parquet')} disabled={exporting !== null || busy !== null}>
                    {exporting === 'parquet' ? 'Exporting…' : 'Export Parquet'}
                  </button>
                </div>
              </div>
              <TabPanel idPrefix="sql-result" selected={view}>
                {shown.outcome.result.columns.length === 0 ? (
                  <p className="muted">The statement returned no columns.</p>
                ) : view === 'table' ? (
                  <ResultGrid result={shown.outcome.result} />
                ) : (
                  <Suspense fallback={<Loading label="Loading charts…" />}>
                    <ResultChart result={shown.outcome.result} />
                  </Suspense>
                )}
              </TabPanel>
            </section>
          ) : busy === null && !error && !write ? (
            <p className="muted sql-empty">
              Write a query and press <kbd>{mod}</kbd>+<kbd>Enter</kbd>. Tables: <code>layer.domain.table</code> or <code>layer_domain_table</code>.
            </p>
          ) : null}
        </div>
        <SidePanel onLoad={loadSql} />
      </div>

      <Dialog open={saveOpen} onClose={() => setSaveOpen(false)} title="Save query">
        <form
          className="sql-save-form"
          onSubmit={(e) => {
            e.preventDefault();
            if (saveName.trim()) void doSave();
          }}
        >
          <label className="field">
            <span className="field-label">Name</span>
            <input className="input" value={saveName} onChange={(e) => setSaveName(e.target.value)} maxLength={200} required autoFocus />
          </label>
          <p className="small muted">
            The permalink pins the SQL and the table versions it reads, so it gives the same answer after the tables change. Anyone signed in who has the link can open
            it; running it still needs read access to the tables.
          </p>
          {saveError ? <ErrorMessage error={saveError} title="Could not save" /> : null}
          <div className="page-actions">
            <button type="submit" className="btn btn-primary" disabled={!saveName.trim() || busy !== null}>
              Save and get link
            </button>
            <button type="button" className="btn" onClick={() => setSaveOpen(false)}>
              Cancel
            </button>
          </div>
        </form>
      </Dialog>
    </div>
  );
}
