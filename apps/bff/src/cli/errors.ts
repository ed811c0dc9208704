import { LakehouseError, REFUSAL_CODES } from '@lakehouse/core';

/** Exit code of the CLI for an error: 2 when a table is refused (unsupported, not Delta, corrupt log), else 1. */
export function exitCodeFor(e: unknown): number {
  return e instanceof LakehouseError && REFUSAL_CODES.has(e.code) ? 2 : 1;
}

/** The one-line `error[CODE]: message` the CLI prints to stderr. */
export function formatError(e: unknown): string {
  if (e instanceof LakehouseError) return `error[${e.code}]: ${e.message}`;
  return `error[INTERNAL]: ${e instanceof Error ? e.message : String(e)}`;
}
