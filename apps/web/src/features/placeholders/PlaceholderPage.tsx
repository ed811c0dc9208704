import type { ReactNode } from 'react';
import { Link } from '../../lib/router.js';
import { useDocumentTitle } from '../../components/useDocumentTitle.js';

/** A section of the console that later issues build. */
export type PlannedSection = 'quality' | 'lineage' | 'monitoring' | 'admin';

interface Plan {
  title: string;
  summary: string;
  features: string[];
  meanwhile: ReactNode;
}

const PLANS: Record<PlannedSection, Plan> = {
  quality: {
    title: 'Quality',
    summary: 'Data quality rules on tables and a score per table, domain and layer that stewards can watch.',
    features: [
      'Rules per table: not null, unique, accepted values, ranges, freshness, row-count bounds, and custom SQL checks.',
      'Runs on demand, on a schedule and after writes, executed by the server on DuckDB.',
      'A quality score per table and its trend over versions; failing rows sampled for inspection.',
      'Alerts when a score drops below a threshold.',
    ],
    meanwhile: (
      <>
        Check values by hand in the <Link to="/sql">SQL editor</Link>, or use a column’s <strong>Profile</strong> button in a table’s Schema tab.
      </>
    ),
  },
  lineage: {
    title: 'Lineage',
    summary: 'Where each table’s data comes from and where it goes, across bronze, silver and gold.',
    features: [
      'A graph of tables and the SQL writes and ingests that connect them, recorded as OpenLineage events.',
      'Column-level lineage where the SQL allows it.',
      'For each table version: the job, user and sources that produced it.',
      'Impact analysis: what downstream tables a change would touch.',
    ],
    meanwhile: (
      <>
        A table’s <strong>History</strong> tab shows each commit with its operation, user and parameters.
      </>
    ),
  },
  monitoring: {
    title: 'Monitoring',
    summary: 'The health of the warehouse and the jobs that keep it running.',
    features: [
      'Tables that need maintenance: many small files, old versions to vacuum, missing checkpoints.',
      'OPTIMIZE, VACUUM and checkpoint jobs: start them, follow their progress, cancel them.',
      'Running and failed jobs (ingests, SQL writes), with their logs.',
      'Freshness: tables that have not been updated when expected.',
    ],
    meanwhile: (
      <>
        A table’s <strong>Files</strong> tab shows its file sizes; the <Link to="/catalog">catalog</Link> shows when each table was last updated.
      </>
    ),
  },
  admin: {
    title: 'Admin',
    summary: 'Users, roles and access, for admins.',
    features: [
      'Users and their roles (viewer, analyst, steward, admin); issue and revoke tokens and login URLs.',
      'Grants of SELECT, MODIFY and MANAGE on a layer, a domain or a table.',
      'Row filters and column masks.',
      'The audit log of every change and every refused request.',
    ],
    meanwhile: (
      <>
        The server’s API already does this for admins: <code>GET/POST /api/users</code>, <code>POST /api/users/&lt;id&gt;/tokens</code>,{' '}
        <code>GET/POST /api/grants</code> and <code>GET /api/audit</code>.
      </>
    ),
  },
};

/** An honest page for a section that is not built yet: what it will hold, that a later issue brings it, and what to use meanwhile. */
export function PlaceholderPage({ section }: { section: PlannedSection }) {
  const plan = PLANS[section];
  useDocumentTitle(plan.title);
  return (
    <section className="page placeholder" aria-labelledby="placeholder-title">
      <header className="page-header">
        <h1 id="placeholder-title">{plan.title}</h1>
        <span className="badge">Not built yet</span>
      </header>
      <p className="lead">{plan.summary}</p>
      <div className="callout" role="note">
        This page is planned but not part of this release: it arrives with its own issue after the catalog and the SQL editor. Nothing on
        this page is live data.
      </div>
      <h2>What will be here</h2>
      <ul className="plan-list">
        {plan.features.map((f) => (
          <li key={f}>{f}</li>
        ))}
      </ul>
      <h2>Meanwhile</h2>
      <p>{plan.meanwhile}</p>
    </section>
  );
}
