import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { lazy, Suspense, useState } from 'react';
import { formatBytes, formatCount } from '../../components/format.js';
import { Pager } from '../../components/Pager.js';
import { Empty, ErrorMessage, Loading, Time } from '../../components/States.js';
import { filesQuery, fileSizesQuery } from './api.js';
import { binSizes } from './histogram.js';

// Recharts is large: load it with the tab.
const FileSizeHistogram = lazy(() => import('./FileSizeHistogram.js').then((m) => ({ default: m.FileSizeHistogram })));

const PAGE = 50;

function median(sorted: number[]): number {
  const m = sorted.length >> 1;
  return sorted.length % 2 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
}

/** Files tab: a histogram of the data file sizes and a paginated list of files with partition values, sizes and rows. */
export function FilesTab({ name, version }: { name: string; version?: number }) {
  const [offset, setOffset] = useState(0);
  const files = useQuery({ ...filesQuery(name, version, offset, PAGE), placeholderData: keepPreviousData });
  const sizes = useQuery(fileSizesQuery(name, version));

  return (
    <div className="files">
      <section aria-labelledby="files-hist" className="panel">
        <h2 id="files-hist">File sizes</h2>
        {sizes.error ? (
          <ErrorMessage error={sizes.error} title="Could not read the file sizes" />
        ) : !sizes.data ? (
          <Loading label="Reading file sizes…" />
        ) : sizes.data.sizes.length === 0 ? (
          <Empty>This version has no data files.</Empty>
        ) : (
          <SizeSummary sizes={sizes.data.sizes} total={sizes.data.total} />
        )}
      </section>
      <section aria-labelledby="files-list" className="panel">
        <h2 id="files-list">Data files</h2>
        {files.error ? (
          <ErrorMessage error={files.error} title="Could not list the files" retry={() => void files.refetch()} />
        ) : !files.data ? (
          <Loading label="Listing files…" />
        ) : files.data.items.length === 0 ? (
          <Empty>No data files.</Empty>
        ) : (
          <div className={files.isPlaceholderData ? 'stale' : undefined}>
            <div className="table-wrap">
              <table className="grid-table files-table" aria-label={`Files of ${name}`}>
                <thead>
                  <tr>
                    <th scope="col">File</th>
                    <th scope="col">Partition</th>
                    <th scope="col" className="num">
                      Size
                    </th>
                    <th scope="col" className="num">
                      Rows
                    </th>
                    <th scope="col" className="num">
                      Deleted rows
                    </th>
                    <th scope="col">Written</th>
                  </tr>
                </thead>
                <tbody>
                  {files.data.items.map((f) => {
                    const parts = Object.entries(f.partitionValues);
                    const base = f.path.split('/').pop() ?? f.path;
                    return (
                      <tr key={f.path}>
                        <td className="mono cell-path" title={f.path}>
                          {base}
                        </td>
                        <td className="mono">{parts.length === 0 ? <span className="muted">—</span> : parts.map(([k, v]) => `${k}=${v ?? 'null'}`).join(', ')}</td>
                        <td className="num" title={`${formatCount(f.size)} bytes`}>
                          {formatBytes(f.size)}
                        </td>
                        <td className="num">{formatCount(f.rows)}</td>
                        <td className="num">{f.deletedRows > 0 ? formatCount(f.deletedRows) : <span className="muted">0</span>}</td>
                        <td>
                          <Time iso={f.modificationTime} />
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
            <Pager offset={offset} limit={PAGE} total={files.data.total} onOffset={setOffset} label="File pages" />
          </div>
        )}
      </section>
    </div>
  );
}

function SizeSummary({ sizes, total }: { sizes: number[]; total: number }) {
  const sorted = [...sizes].sort((a, b) => a - b);
  const sum = sorted.reduce((n, s) => n + s, 0);
  return (
    <>
      <dl className="stat-row">
        <div>
          <dt>Files</dt>
          <dd>{formatCount(total)}</dd>
        </div>
        <div>
          <dt>Total</dt>
          <dd>{formatBytes(sum)}</dd>
        </div>
        <div>
          <dt>Smallest</dt>
          <dd>{formatBytes(sorted[0])}</dd>
        </div>
        <div>
          <dt>Median</dt>
          <dd>{formatBytes(median(sorted))}</dd>
        </div>
        <div>
          <dt>Largest</dt>
          <dd>{formatBytes(sorted[sorted.length - 1])}</dd>
        </div>
      </dl>
      {sizes.length < total ? (
        <p className="muted small">
          The histogram covers the first {formatCount(sizes.length)} of {formatCount(total)} files.
        </p>
      ) : null}
      <Suspense fallback={<Loading label="Drawing the histogram…" />}>
        <FileSizeHistogram bins={binSizes(sizes)} />
      </Suspense>
    </>
  );
}
