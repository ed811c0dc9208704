import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueAdminLogin } from '../src/server.js';
import { startTestServer, type TestServer } from './support/app.js';

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
    expect((await first.json()).user).toMatchObject({ name: 'admin', role: 'admin' });
    expect((await s.call('/api/auth/login', { method: 'POST', json: { token } })).status).toBe(401);
    const audit = await (await s.call('/api/audit?action=issue%20login%20link', { token: s.adminToken })).json();
    expect(JSON.stringify(audit)).toContain('issue login link');
  });

  it('expires after 24 hours', async () => {
    const token = await issueAdminLogin(s.deps.catalog, s.clock);
    s.clock.advance(86_400_000 + 1);
    expect((await s.call('/api/auth/login', { method: 'POST', json: { token } })).status).toBe(401);
  });
});
