import type { Request, Response } from 'express';
import { LakehouseError, type Clock } from '@lakehouse/core';
import type { CatalogStore } from '../catalog/store.js';
import type { Capability, Principal } from '../auth/policy.js';
import { can } from '../auth/policy.js';
import { hashToken } from '../auth/tokens.js';

/** The authenticated caller of a request (set by `authenticate`). */
export function principalOf(res: Response): Principal {
  const p = res.locals.principal as Principal | undefined;
  if (!p) throw new LakehouseError('UNAUTHENTICATED', 'sign in first: send Authorization: Bearer <token>');
  return p;
}

/** Records an audit entry for the request's caller (never throws: auditing must not break the response). */
export async function auditRequest(
  catalog: CatalogStore,
  res: Response,
  action: string,
  table: string | null,
  outcome: 'ok' | 'denied' | 'error',
  details: Record<string, unknown> = {},
): Promise<void> {
  const p = res.locals.principal as Principal | undefined;
  try {
    await catalog.audit({ userId: p?.id ?? null, userName: p?.name ?? null, action, table, outcome, details });
  } catch (e) {
    console.error('audit failed', e);
  }
}

/** Resolves the bearer token of a request to a principal with grants; null when absent or invalid. */
export async function resolvePrincipal(catalog: CatalogStore, req: Request, clock: Clock): Promise<Principal | null> {
  const h = req.headers.authorization;
  const m = h ? /^Bearer\s+(\S+)$/i.exec(h) : null;
  if (!m) return null;
  const found = await catalog.useToken(hashToken(m[1]), new Date(clock.now()).toISOString());
  if (!found) return null;
  const grants = await catalog.listGrants({ userId: found.user.id });
  return { id: found.user.id, name: found.user.name, role: found.user.role, grants };
}

/** Throws FORBIDDEN (after auditing the refusal) unless the caller has the capability on the table. */
export async function requireCapability(
  catalog: CatalogStore,
  res: Response,
  capability: Capability,
  action: string,
  table: string | null = null,
): Promise<Principal> {
  const p = principalOf(res);
  if (!can(p, capability, table)) {
    await auditRequest(catalog, res, action, table, 'denied', { capability, role: p.role });
    throw new LakehouseError('FORBIDDEN', `${p.name} (${p.role}) may not ${capability.replace('_', ' ')}${table ? ` on ${table}` : ''}`, {
      capability,
      table,
    });
  }
  return p;
}
