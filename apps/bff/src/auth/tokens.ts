import { createHash, randomBytes } from 'node:crypto';

/** A new bearer token secret: `lh_` + 32 random bytes, base64url. */
export function newTokenSecret(): string {
  return 'lh_' + randomBytes(32).toString('base64url');
}

/** SHA-256 hex of a token secret: the only form in which tokens are stored. */
export function hashToken(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}
