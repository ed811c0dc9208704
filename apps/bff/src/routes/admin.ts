import { CreateGrantSchema, CreateUserSchema, RoleSchema } from '@lakehouse/contracts';
import { LakehouseError } from '@lakehouse/core';
import { Router } from 'express';
import { z } from 'zod';
import type { AppDeps } from '../app.js';
import { hashToken, newTokenSecret } from '../auth/tokens.js';
import { auditRequest, invalidatePrincipals, requireCapability } from '../http/context.js';

const AuditQuery = z.object({
  user: z.string().optional(),
  action: z.string().optional(),
  table: z.string().optional(),
  outcome: z.enum(['ok', 'denied', 'error']).optional(),
  since: z.string().optional(),
  until: z.string().optional(),
  offset: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
const TokenRequest = z.object({ expiresInDays: z.number().int().min(1).max(3650).optional() }).strict();

/**
 * Users, tokens, grants and the audit log (admin only). Every change of users, tokens or grants drops the cached
 * principals before the response, so a revoked token or grant, or a changed role, applies to the very next request.
 */
export function adminRouter(deps: AppDeps): Router {
  const r = Router();
  const { catalog, clock } = deps;
  const admin = (res: Parameters<typeof requireCapability>[1], action: string) => requireCapability(catalog, res, 'admin', action);
  /** Runs a change of users, tokens or grants, then forgets the cached principals (also when it failed midway). */
  const changing = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } finally {
      invalidatePrincipals(catalog);
    }
  };

  r.get('/users', async (_req, res) => {
    await admin(res, 'list users');
    res.json({ users: await catalog.listUsers() });
  });

  r.post('/users', async (req, res) => {
    await admin(res, 'create user');
    const body = CreateUserSchema.parse(req.body ?? {});
    const user = await changing(() => catalog.createUser(body.name, body.role));
    await auditRequest(catalog, res, 'create user', null, 'ok', { user: user.name, role: user.role });
    res.status(201).json(user);
  });

  r.patch('/users/:id', async (req, res) => {
    await admin(res, 'change role');
    const { role } = z.object({ role: RoleSchema }).strict().parse(req.body ?? {});
    const user = await changing(() => catalog.setUserRole(String(req.params.id), role));
    await auditRequest(catalog, res, 'change role', null, 'ok', { user: user.name, role });
    res.json(user);
  });

  r.post('/users/:id/tokens', async (req, res) => {
    await admin(res, 'issue token');
    const body = TokenRequest.parse(req.body ?? {});
    const user = await catalog.getUser(String(req.params.id));
    if (!user) throw new LakehouseError('NOT_FOUND', `no user ${req.params.id}`);
    const secret = newTokenSecret();
    const expiresAt = body.expiresInDays ? new Date(clock.now() + body.expiresInDays * 86_400_000).toISOString() : null;
    const rec = await changing(() => catalog.createToken(user.id, hashToken(secret), { expiresAt }));
    await auditRequest(catalog, res, 'issue token', null, 'ok', { user: user.name, tokenId: rec.id });
    res.status(201).json({ id: rec.id, token: secret, userId: user.id, createdAt: rec.createdAt, expiresAt: rec.expiresAt });
  });

  r.get('/users/:id/tokens', async (req, res) => {
    await admin(res, 'list tokens');
    res.json({ tokens: await catalog.listTokens(String(req.params.id)) });
  });

  r.delete('/tokens/:id', async (req, res) => {
    await admin(res, 'revoke token');
    const ok = await changing(() => catalog.revokeToken(String(req.params.id), new Date(clock.now()).toISOString()));
    if (!ok) throw new LakehouseError('NOT_FOUND', `no live token ${req.params.id}`);
    await auditRequest(catalog, res, 'revoke token', null, 'ok', { tokenId: req.params.id });
    res.status(204).end();
  });

  r.get('/grants', async (req, res) => {
    await admin(res, 'list grants');
    const userId = typeof req.query.user === 'string' ? req.query.user : undefined;
    res.json({ grants: await catalog.listGrants(userId ? { userId } : {}) });
  });

  r.post('/grants', async (req, res) => {
    await admin(res, 'grant');
    const body = CreateGrantSchema.parse(req.body ?? {});
    const parts = body.securable.split('.');
    if (parts.length > 3 || !['bronze', 'silver', 'gold'].includes(parts[0]) || parts.some((p) => !/^[a-z][a-z0-9_]*$/.test(p))) {
      throw new LakehouseError('INVALID_INPUT', `securable must be a layer, layer.domain or layer.domain.table, got "${body.securable}"`);
    }
    if (!(await catalog.getUser(body.userId))) throw new LakehouseError('NOT_FOUND', `no user ${body.userId}`);
    const g = await changing(() => catalog.grant(body.userId, body.privilege, body.securable));
    await auditRequest(catalog, res, 'grant', parts.length === 3 ? body.securable : null, 'ok', { ...body });
    res.status(201).json(g);
  });

  r.delete('/grants/:id', async (req, res) => {
    await admin(res, 'revoke grant');
    if (!(await changing(() => catalog.revokeGrant(String(req.params.id))))) throw new LakehouseError('NOT_FOUND', `no grant ${req.params.id}`);
    await auditRequest(catalog, res, 'revoke grant', null, 'ok', { grantId: req.params.id });
    res.status(204).end();
  });

  r.get('/audit', async (req, res) => {
    await admin(res, 'read audit');
    const q = AuditQuery.parse(req.query);
    res.json(await catalog.listAudit({ userId: q.user, action: q.action, table: q.table, outcome: q.outcome, since: q.since, until: q.until, offset: q.offset, limit: q.limit }));
  });
  return r;
}
