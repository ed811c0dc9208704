import { readFileSync } from 'node:fs';

/** A role of the console, as the API names it. */
export type Role = 'viewer' | 'analyst' | 'steward' | 'admin';

/** A user the global setup created (or, for the admin, signed in as), with a reusable bearer token. */
export interface E2eUser {
  id: string;
  name: string;
  role: Role;
  /** Issued token: works as `Authorization: Bearer` and in `/login#token=` any number of times. */
  token: string;
}

/** What the global setup hands to the tests (written as JSON; its path is in `LAKEHOUSE_E2E_ENV`). */
export interface E2eEnv {
  /** Origin of the BFF serving the built console, e.g. `http://127.0.0.1:41234`. */
  baseURL: string;
  /** Absolute path of the temporary warehouse the BFF serves. */
  warehouse: string;
  /** Session token of the admin from the one-time login URL (the URL itself is spent). */
  adminSession: string;
  users: { admin: E2eUser; analyst: E2eUser; viewer: E2eUser };
  /** Tables the server listed at start, sorted. */
  tables: string[];
}

/** Name of the environment variable holding the path of the JSON written by the global setup. */
export const ENV_VAR = 'LAKEHOUSE_E2E_ENV';

let cached: E2eEnv | null = null;

/** The environment written by the global setup; throws with a hint when the tests run without it. */
export function readEnv(): E2eEnv {
  if (cached) return cached;
  const path = process.env[ENV_VAR];
  if (!path) throw new Error(`${ENV_VAR} is not set: run the specs through "pnpm -s playwright test -c e2e/playwright.config.ts" so that the global setup starts a server`);
  cached = JSON.parse(readFileSync(path, 'utf8')) as E2eEnv;
  return cached;
}
