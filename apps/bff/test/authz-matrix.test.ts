import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, userWithToken, type TestServer } from './support/app.js';

type Who = 'anonymous' | 'viewer' | 'analyst' | 'steward' | 'admin';
const WHO: Who[] = ['anonymous', 'viewer', 'analyst', 'steward', 'admin'];

let s: TestServer;
const tokens: Record<Who, string | null> = { anonymous: null, viewer: null, analyst: null, steward: null, admin: null };
let targetUser = '';
let adminJob = '';

beforeAll(async () => {
  s = await startTestServer();
  tokens.admin = s.adminToken;
  for (const role of ['viewer', 'analyst', 'steward'] as const) tokens[role] = (await userWithToken(s, `m_${role}`, role)).token;
  targetUser = (await userWithToken(s, 'm_target', 'viewer')).id;
  const job = await s.call('/api/sql', {
    method: 'POST',
    token: s.adminToken,
    headers: { Prefer: 'respond-async' },
    json: { sql: "INSERT INTO bronze.sales.orders VALUES (999, 'x', 1.00, DATE '2024-05-03')" },
  });
  adminJob = (await job.json()).id;
  await s.call(`/api/jobs/${adminJob}/events`, { token: s.adminToken }).then((r) => r.text());
}, 120_000);
afterAll(async () => s?.close());

function csvForm(): FormData {
  const f = new FormData();
  f.set('file', new Blob(['a,b\n1,x\n'], { type: 'text/csv' }), 'm.csv');
  return f;
}

// Expected status per caller: anonymous, viewer, analyst, steward, admin.
const T = 'bronze.sales.orders';
const matrix: [string, (who: Who) => [string, RequestInit & { json?: unknown }], [number, number, number, number, number]][] = [
  ['GET /api/me', () => ['/api/me', {}], [401, 200, 200, 200, 200]],
  ['GET /api/tables', () => ['/api/tables', {}], [401, 200, 200, 200, 200]],
  ['GET /api/tables/{t}', () => [`/api/tables/${T}`, {}], [401, 200, 200, 200, 200]],
  ['GET /api/tables/{t}/history', () => [`/api/tables/${T}/history`, {}], [401, 200, 200, 200, 200]],
  ['GET /api/tables/{t}/files', () => [`/api/tables/${T}/files`, {}], [401, 200, 200, 200, 200]],
  ['PATCH /api/tables/{t}', (w) => [`/api/tables/${T}`, { method: 'PATCH', json: { description: `set by ${w}` } }], [401, 403, 403, 200, 200]],
  ['GET /api/tables/{t}/scan', () => [`/api/tables/${T}/scan`, {}], [401, 403, 200, 200, 200]],
  ['POST /api/sql', (w) => ['/api/sql', { method: 'POST', json: { sql: `DELETE FROM ${T} WHERE customer = 'nobody_${w}'` } }], [401, 403, 403, 403, 200]],
  ['POST /api/tables/{t}/ingest', (w) => [`/api/tables/bronze.matrix.m_${w}/ingest`, { method: 'POST', body: csvForm() }], [401, 403, 403, 403, 200]],
  ['GET /api/users', () => ['/api/users', {}], [401, 403, 403, 403, 200]],
  ['POST /api/users', (w) => ['/api/users', { method: 'POST', json: { name: `made_by_${w}`, role: 'viewer' } }], [401, 403, 403, 403, 201]],
  ['PATCH /api/users/{id}', () => [`/api/users/${targetUser}`, { method: 'PATCH', json: { role: 'viewer' } }], [401, 403, 403, 403, 200]],
  ['POST /api/users/{id}/tokens', () => [`/api/users/${targetUser}/tokens`, { method: 'POST', json: {} }], [401, 403, 403, 403, 201]],
  ['GET /api/users/{id}/tokens', () => [`/api/users/${targetUser}/tokens`, {}], [401, 403, 403, 403, 200]],
  ['GET /api/grants', () => ['/api/grants', {}], [401, 403, 403, 403, 200]],
  ['POST /api/grants', () => ['/api/grants', { method: 'POST', json: { userId: targetUser, privilege: 'SELECT', securable: 'gold' } }], [401, 403, 403, 403, 201]],
  ['GET /api/audit', () => ['/api/audit', {}], [401, 403, 403, 403, 200]],
  ['GET /api/jobs/{id} (another user\'s job)', () => [`/api/jobs/${adminJob}`, {}], [401, 404, 404, 404, 200]],
  ['POST /api/jobs/{id}/cancel (finished job)', () => [`/api/jobs/${adminJob}/cancel`, { method: 'POST' }], [401, 404, 404, 404, 400]],
];

describe('authorization matrix: every endpoint x every role', () => {
  it.each(matrix.flatMap(([name, req, expected]) => WHO.map((who, i) => [name, who, expected[i], req] as const)))(
    '%s as %s -> %i',
    async (_name, who, status, req) => {
      const [path, init] = req(who);
      const r = await s.call(path, { ...init, token: tokens[who] });
      expect(r.status).toBe(status);
      if (status === 403) expect((await r.json()).code).toBe('FORBIDDEN');
      if (status === 401) expect((await r.json()).code).toBe('UNAUTHENTICATED');
    },
  );

  it('every refused call is in the audit log', async () => {
    const denied = await (await s.call('/api/audit?outcome=denied&limit=1000', { token: s.adminToken })).json();
    const expectedDenials = matrix.reduce((n, [, , e]) => n + e.filter((x) => x === 401 || x === 403).length, 0);
    expect(denied.total).toBeGreaterThanOrEqual(expectedDenials);
    const byRole = denied.items.filter((e: { userName: string | null }) => e.userName === 'm_viewer');
    expect(byRole.length).toBeGreaterThanOrEqual(matrix.filter(([, , e]) => e[1] === 403).length);
  });
});
