import type { Grant, Privilege, Role } from '@lakehouse/contracts';

/** Roles in increasing order of privilege. */
export const ROLE_ORDER: readonly Role[] = ['viewer', 'analyst', 'steward', 'admin'];

/** What a request wants to do. */
export type Capability =
  /** Read table metadata (list, detail, history, files). */
  | 'read_metadata'
  /** Read table data (scan plans, signed file URLs). */
  | 'select'
  /** Edit descriptions, comments, owner, tags, quality rules. */
  | 'edit_metadata'
  /** Write data (ingest, SQL writes). */
  | 'modify'
  /** Run maintenance. */
  | 'manage'
  /** Manage users, tokens, grants; read the audit log. */
  | 'admin';

/** The caller as far as authorization is concerned. */
export interface Principal {
  id: string;
  name: string;
  role: Role;
  grants: readonly Grant[];
}

/** True when role `a` is at least role `b`. */
export function roleAtLeast(a: Role, b: Role): boolean {
  return ROLE_ORDER.indexOf(a) >= ROLE_ORDER.indexOf(b);
}

/** True when a grant's securable (`layer`, `layer.domain` or `layer.domain.table`) covers the table. */
export function securableCovers(securable: string, table: string): boolean {
  return table === securable || table.startsWith(securable + '.');
}

function granted(p: Principal, privilege: Privilege, table: string | null): boolean {
  if (table === null) return false;
  return p.grants.some((g) => g.privilege === privilege && securableCovers(g.securable, table));
}

/**
 * The one authorization rule. Roles give a baseline (viewers read metadata, analysts also query every table,
 * stewards also edit metadata, admins do everything); grants on a layer, domain or table add SELECT, MODIFY
 * (writes) or MANAGE (maintenance and metadata) for that securable. Writes always need admin or a MODIFY grant.
 */
export function can(p: Principal, capability: Capability, table: string | null = null): boolean {
  if (p.role === 'admin') return true;
  switch (capability) {
    case 'read_metadata':
      return true;
    case 'select':
      return roleAtLeast(p.role, 'analyst') || granted(p, 'SELECT', table) || granted(p, 'MODIFY', table) || granted(p, 'MANAGE', table);
    case 'edit_metadata':
      return roleAtLeast(p.role, 'steward') || granted(p, 'MANAGE', table);
    case 'modify':
      return granted(p, 'MODIFY', table);
    case 'manage':
      return granted(p, 'MANAGE', table);
    case 'admin':
      return false;
  }
}
