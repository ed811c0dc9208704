import { useQuery } from '@tanstack/react-query';
import { lazy, Suspense } from 'react';
import { Link, useParams, useSearchParams } from '../../lib/router.js';
import { TabPanel, Tabs } from '../../components/Tabs.js';
import { ErrorMessage, Loading } from '../../components/States.js';
import { useDocumentTitle } from '../../components/useDocumentTitle.js';
import { isApiError } from '../../lib/api.js';
import { canEditMetadata, canSelect, useAuth } from '../../lib/auth.js';
import { canManage } from '../admin/format.js';
import { adminTableHref } from '../admin/links.js';
import { tableDetailQuery } from '../catalog/api.js';
import { FilesTab } from './FilesTab.js';
import { HistoryTab } from './HistoryTab.js';
import { TABLE_TABS, tableHref, type TableTab } from './links.js';
import { OverviewTab } from './OverviewTab.js';
import { SchemaTab } from './SchemaTab.js';

// The Sample tab runs DuckDB-WASM: keep it out of the initial bundle.
const SampleTab = lazy(() => import('../sql/SampleTab.js').then((m) => ({ default: m.SampleTab })));

const TAB_LABELS: Record<TableTab, string> = { overview: 'Overview', schema: 'Schema', sample: 'Sample', history: 'History', files: 'Files' };

function parseTab(s: string | null): TableTab {
  return (TABLE_TABS as readonly string[]).includes(s ?? '') ? (s as TableTab) : 'overview';
}

function parseVersion(s: string | null): number | undefined {
  if (s === null || !/^\d+$/.test(s)) return undefined;
  return Number(s);
}

/** Route `/tables/:name` (`?tab=overview|schema|sample|history|files`, `?version=N`): one table with its tabs. */
export function TablePage() {
  const { name = '' } = useParams();
  const [search, setSearch] = useSearchParams();
  const tab = parseTab(search.get('tab'));
  const version = parseVersion(search.get('version'));
  const { me } = useAuth();
  const detail = useQuery(tableDetailQuery(name, version));
  const latest = useQuery({ ...tableDetailQuery(name), enabled: version !== undefined });
  useDocumentTitle(version === undefined ? name : `${name} @ v${version}`);

  const selectTab = (t: TableTab) =>
    setSearch((s) => {
      const n = new URLSearchParams(s);
      if (t === 'overview') n.delete('tab');
      else n.set('tab', t);
      n.delete('column');
      return n;
    });

  const [layer, domain] = name.split('.');
  const breadcrumb = (
    <nav aria-label="Breadcrumb" className="breadcrumb">
      <Link to="/catalog">Catalog</Link>
      {layer ? (
        <>
          {' / '}
          <Link to={`/catalog/${layer}`}>{layer}</Link>
        </>
      ) : null}
      {domain ? (
        <>
          {' / '}
          <Link to={`/catalog/${layer}/${domain}`}>{domain}</Link>
        </>
      ) : null}
    </nav>
  );

  if (detail.error) {
    const notFound = isApiError(detail.error, 'TABLE_NOT_FOUND', 'INVALID_INPUT', 'NOT_FOUND');
    const noVersion = isApiError(detail.error, 'VERSION_NOT_FOUND');
    return (
      <section className="page" aria-labelledby="table-title">
        {breadcrumb}
        <h1 id="table-title">{name}</h1>
        <ErrorMessage
          error={detail.error}
          title={notFound ? 'No such table' : noVersion ? `Version ${version} is not available` : 'Could not read the table'}
          retry={notFound || noVersion ? undefined : () => void detail.refetch()}
        />
        {noVersion ? <Link to={tableHref(name, { tab })}>Open the latest version</Link> : <Link to="/catalog">Back to the catalog</Link>}
      </section>
    );
  }

  const d = detail.data;
  const canEdit = canEditMetadata(me, name) && version === undefined;
  const mayRead = canSelect(me, name);
  const mayManage = canManage(me, name);
  const sqlHref = `/sql?q=${encodeURIComponent(`SELECT *\nFROM ${name}${version !== undefined ? ` VERSION AS OF ${version}` : ''}\nLIMIT 100`)}`;
  return (
    <section className="page table-page" aria-labelledby="table-title">
      <header className="page-header">
        <div>
          {breadcrumb}
          <h1 id="table-title" className="table-title">
            {d ? <span className={`layer-dot layer-${d.layer}`} aria-hidden="true" /> : null}
            {name}
          </h1>
          {d?.description && tab !== 'overview' ? <p className="lead clamp-2">{d.description}</p> : null}
        </div>
        {mayRead || mayManage ? (
          <div className="page-actions">
            {mayManage ? (
              <Link className="btn" to={adminTableHref(name)}>
                Maintenance
              </Link>
            ) : null}
            {mayRead ? (
              <Link className="btn" to={sqlHref}>
                Query in SQL
              </Link>
            ) : null}
          </div>
        ) : null}
      </header>

      {version !== undefined ? (
        <div className="callout callout-version" role="status">
          Viewing version <strong>{version}</strong>
          {latest.data ? ` of ${latest.data.version}` : ''} (read-only).{' '}
          <Link to={tableHref(name, { tab })}>Back to the latest version</Link>
        </div>
      ) : null}

      <Tabs idPrefix="table" label="Table sections" tabs={TABLE_TABS.map((t) => ({ key: t, label: TAB_LABELS[t] }))} selected={tab} onSelect={selectTab} />
      <TabPanel idPrefix="table" selected={tab}>
        {!d ? (
          <Loading label={`Reading ${name}…`} />
        ) : tab === 'overview' ? (
          <OverviewTab detail={d} canEdit={canEdit} version={version} />
        ) : tab === 'schema' ? (
          <SchemaTab detail={d} canEdit={canEdit} version={version} highlight={search.get('column') ?? undefined} />
        ) : tab === 'sample' ? (
          mayRead ? (
            <Suspense fallback={<Loading label="Loading the sample viewer…" />}>
              <SampleTab table={name} version={version} />
            </Suspense>
          ) : (
            <p className="callout" role="note">
              Your role ({me?.role}) lets you read this table’s metadata but not its rows. Ask an admin for SELECT on {name} (or its domain or layer) to see a sample.
            </p>
          )
        ) : tab === 'history' ? (
          <HistoryTab name={name} viewing={version ?? d.version} latest={version === undefined ? d.version : latest.data?.version} />
        ) : (
          <FilesTab name={name} version={version} />
        )}
      </TabPanel>
    </section>
  );
}
