import type { Request, Response } from 'express';
import { LakehouseError, type Clock } from '@lakehouse/core';
import type { CatalogStore } from '../catalog/store.js';
import type { Capability, Principal } from '../auth/policy.js';
import { can } from '../auth/policy.js';
import { PrincipalCache, type PrincipalCacheOptions } from '../auth/principal-cache.js';
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

const principalCaches = new WeakMap<CatalogStore, PrincipalCache>();

/** The principal cache of a catalog (created with default settings on first use). */
export function principalCacheOf(catalog: CatalogStore): PrincipalCache {
  let c = principalCaches.get(catalog);
  if (!c) {
    c = new PrincipalCache();
    principalCaches.set(catalog, c);
  }
  return c;
}

/** Replaces the principal cache of a catalog with one of these settings (server wiring and tests). */
export function configurePrincipalCache(catalog: CatalogStore, options: PrincipalCacheOptions): PrincipalCache {
  const c = new PrincipalCache(options);
  principalCaches.set(catalog, c);
  return c;
}

/**
 * Forgets every cached principal of the catalog: the next request of each token reads its token, user and grants
 * again. Call after any change of users, tokens or grants (before answering the request that made it).
 */
export function invalidatePrincipals(catalog: CatalogStore): void {
  principalCaches.get(catalog)?.invalidate();
}

/**
 * Resolves the bearer token of a request to a principal with grants; null when absent or invalid. Reuses a principal
 * resolved in the last few seconds (see PrincipalCache: changes made in this process apply at once, changes made by
 * other processes sharing the catalog after at most its TTL).
 */
export async function resolvePrincipal(catalog: CatalogStore, req: Request, clock: Clock): Promise<Principal | null> {
  const h = req.headers.authorization;
  const m = h ? /^Bearer\s+(\S+)$/i.exec(h) : null;
  if (!m) return null;
  const tokenHash = hashToken(m[1]);
  return principalCacheOf(catalog).resolve(tokenHash, clock, async () => {
    const found = await catalog.useToken(tokenHash, new Date(clock.now()).toISOString());
    if (!found) return null;
    const grants = await catalog.listGrants({ userId: found.user.id });
    return {
      principal: { id: found.user.id, name: found.user.name, role: found.user.role, grants },
      expiresAt: found.token.expiresAt,
      oneTime: found.token.oneTime,
    };
  });
}

/** What a refused capability reads as in an error: "alice (viewer) may not write to silver.sales.orders". */
const CAPABILITY_PHRASES: Record<Capability, [onTable: string, alone: string]> = {
  read_metadata: ['read the metadata of', 'read table metadata'],
  select: ['read the data of', 'read table data'],
  edit_metadata: ['edit the metadata of', 'edit table metadata'],
  modify: ['write to', 'write tables'],
  manage: ['run maintenance on', 'run maintenance'],
  admin: ['administer', 'manage users, tokens, grants or the audit log'],
};

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
    throw new LakehouseError('FORBIDDEN', `${p.name} (${p.role}) may not ${table ? `${CAPABILITY_PHRASES[capability][0]} ${table}` : CAPABILITY_PHRASES[capability][1]}`, {
      capability,
      table,
    });
  }
  return p;
}
