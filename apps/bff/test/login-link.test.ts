import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueAdminLogin } from '../src/server.js';
import { startTestServer, userWithToken, type TestServer } from './support/app.js';

describe('a login link at every start', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  }, 120_000);
  afterAll(() => s?.close());

  it('signs the admin in once, is refused the second time, and is audited', async () => {
    const token = await issueAdminLogin(s.deps.catalog, s.clock);
    expect(token).toMatch(/^lh_/);
    const first = await s.call('/api/auth/login', { method: 'POST', json: { token } });
    expect(first.status).toBe(200);
    const body = await first.json();
    expect(body.user).toMatchObject({ name: 'admin', role: 'admin' });
    // The grants GET /api/me would answer come with the session token (the console skips that call).
    const me = await (await s.call('/api/me', { token: body.token })).json();
    expect(body.grants).toEqual(me.grants);
    expect((await s.call('/api/auth/login', { method: 'POST', json: { token } })).status).toBe(401);
    const audit = await (await s.call('/api/audit?action=issue%20login%20link', { token: s.adminToken })).json();
    expect(JSON.stringify(audit)).toContain('issue login link');
  });

  it("answers with the user's grants, as GET /api/me does", async () => {
    const u = await userWithToken(s, 'gina', 'viewer');
    const g = await s.call('/api/grants', { method: 'POST', token: s.adminToken, json: { userId: u.id, privilege: 'SELECT', securable: 'bronze.sales' } });
    expect(g.status).toBe(201);
    const login = await s.call('/api/auth/login', { method: 'POST', json: { token: u.token } });
    expect(login.status).toBe(200);
    const body = await login.json();
    expect(body.user).toMatchObject({ id: u.id, name: 'gina', role: 'viewer' });
    expect(body.grants).toMatchObject([{ privilege: 'SELECT', securable: 'bronze.sales' }]);
    const me = await (await s.call('/api/me', { token: body.token })).json();
    expect(body.grants).toEqual(me.grants);
  });

  it('expires after 24 hours', async () => {
    const token = await issueAdminLogin(s.deps.catalog, s.clock);
    s.clock.advance(86_400_000 + 1);
    expect((await s.call('/api/auth/login', { method: 'POST', json: { token } })).status).toBe(401);
  });
});
