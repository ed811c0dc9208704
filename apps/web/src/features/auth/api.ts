import { GrantSchema, IssuedTokenSchema, UserSchema, type Grant, type Role, type User } from '@lakehouse/contracts';
import { api } from '../../lib/api.js';

/** GET /api/me: the signed-in user with their role and grants. */
export const MeSchema = UserSchema.pick({ id: true, name: true, role: true }).extend({ grants: GrantSchema.array() });
/** The signed-in user as GET /api/me describes them. */
export interface Me {
  id: string;
  name: string;
  role: Role;
  grants: Grant[];
}

/** POST /api/auth/login: a session token for a login token. */
export const LoginResponseSchema = IssuedTokenSchema.pick({ token: true }).extend({ user: UserSchema });
/** Answer of POST /api/auth/login. */
export interface LoginResponse {
  token: string;
  user: User;
}

/** Query keys of the auth feature. */
export const authKeys = {
  all: ['auth'] as const,
  me: () => [...authKeys.all, 'me'] as const,
};

/** Fetches the signed-in user (throws UNAUTHENTICATED when the session is gone). */
export function fetchMe(signal?: AbortSignal): Promise<Me> {
  return api('/api/me', MeSchema, { signal });
}

/** Exchanges a login token (one-time or issued) for a session token. */
export function exchangeLoginToken(token: string): Promise<LoginResponse> {
  return api('/api/auth/login', LoginResponseSchema, { method: 'POST', body: { token } });
}

/** The token inside a pasted login URL (`.../login#token=...`) or the pasted text itself, trimmed. */
export function tokenFromInput(input: string): string {
  const text = input.trim();
  const m = /[#?&]token=([^&\s]+)/.exec(text);
  return m ? decodeURIComponent(m[1]) : text;
}
