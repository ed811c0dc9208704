// API calls the specs use to arrange state and to compute expected values independently of the console.
import { expect, type APIRequestContext } from '@playwright/test';
import type { Role } from './env.js';

/** A user created for one test, with a reusable token. */
export interface NewUser {
  id: string;
  name: string;
  role: Role;
  token: string;
}

/** A name no other test (or earlier run on the same warehouse) uses: `prefix` and a random suffix, SQL-safe. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}

/** Creates a user with `role` and issues it a reusable token (POST /api/users, POST /api/users/{id}/tokens). */
export async function newUser(api: APIRequestContext, role: Role, prefix = `e2e-${role}`): Promise<NewUser> {
  const name = uniqueName(prefix).replace(/_/g, '-');
  const created = await api.post('/api/users', { data: { name, role } });
  expect(created.status(), await created.text()).toBe(201);
  const { id } = (await created.json()) as { id: string };
  const issued = await api.post(`/api/users/${id}/tokens`, { data: {} });
  expect(issued.status(), await issued.text()).toBe(201);
  return { id, name, role, token: ((await issued.json()) as { token: string }).token };
}

/** What POST /api/sql answers for a write run to the end. */
export interface WriteResult {
  statement: string;
  target: string;
  version: number;
  metrics: Record<string, number>;
}

/** Runs one write statement on the server (POST /api/sql, synchronous) and returns its result; fails the test otherwise. */
export async function runWrite(api: APIRequestContext, sql: string): Promise<WriteResult> {
  const res = await api.post('/api/sql', { data: { sql } });
  expect(res.status(), `${sql}\n${await res.text()}`).toBe(200);
  return (await res.json()) as WriteResult;
}

/** Latest version and row count of a table (GET /api/tables/{name}), or at `version`. */
export async function tableState(api: APIRequestContext, name: string, version?: number): Promise<{ version: number; rows: number }> {
  const res = await api.get(`/api/tables/${name}${version === undefined ? '' : `?version=${version}`}`);
  expect(res.status(), await res.text()).toBe(200);
  const body = (await res.json()) as { version: number; rows: number | null };
  if (body.rows === null) throw new Error(`${name} reports no row count`);
  return { version: body.version, rows: body.rows };
}

interface Commit {
  version: number;
  operation: string | null;
  operationParameters: Record<string, unknown>;
  operationMetrics: Record<string, string>;
}

/**
 * Row count of a table after each version, replayed from the commits' operation metrics (GET /api/tables/{name}/history)
 * rather than from the files: an oracle independent of the scan the console reads. Throws on an operation it cannot
 * account for, so that a new kind of commit makes the test say so instead of guessing.
 */
export async function rowCountsFromHistory(api: APIRequestContext, name: string): Promise<Map<number, number>> {
  const commits: Commit[] = [];
  for (let offset = 0; ; ) {
    const res = await api.get(`/api/tables/${name}/history?offset=${offset}&limit=100`);
    expect(res.status(), await res.text()).toBe(200);
    const page = (await res.json()) as { items: Commit[]; total: number };
    commits.push(...page.items);
    offset += page.items.length;
    if (page.items.length === 0 || offset >= page.total) break;
  }
  commits.sort((a, b) => a.version - b.version);
  const counts = new Map<number, number>();
  let rows = 0;
  for (const c of commits) {
    const m = (key: string) => {
      const v = c.operationMetrics[key];
      if (v === undefined) throw new Error(`${name} v${c.version} (${c.operation}) has no metric ${key}: ${JSON.stringify(c.operationMetrics)}`);
      return Number(v);
    };
    switch (c.operation) {
      case 'CREATE TABLE AS SELECT':
      case 'CREATE OR REPLACE TABLE AS SELECT':
        rows = m('numOutputRows');
        break;
      case 'WRITE':
        if (c.operationParameters.mode === 'Append') rows += m('numOutputRows');
        else if (c.operationParameters.mode === 'Overwrite' && c.operationParameters.predicate === undefined) rows = m('numOutputRows');
        else throw new Error(`${name} v${c.version}: cannot count rows of WRITE ${JSON.stringify(c.operationParameters)}`);
        break;
      case 'MERGE':
        rows += m('numTargetRowsInserted') - m('numTargetRowsDeleted');
        break;
      case 'DELETE':
        rows -= m('numDeletedRows');
        break;
      case 'UPDATE':
      case 'OPTIMIZE':
      case 'SET TBLPROPERTIES':
        break;
      default:
        throw new Error(`${name} v${c.version}: cannot count rows of operation ${c.operation}`);
    }
    counts.set(c.version, rows);
  }
  return counts;
}
