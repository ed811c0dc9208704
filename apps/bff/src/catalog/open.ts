import type { Db } from './db.js';
import { openPglite } from './pglite.js';
import { openPostgres } from './postgres.js';
import { SqlCatalogStore } from './sql-store.js';
import type { CatalogStore } from './store.js';

/** Where the catalog lives: PostgreSQL when `databaseUrl` is set, else PGlite in `pgliteDir` (in memory when null or absent). */
export interface CatalogOptions {
  databaseUrl?: string;
  pgliteDir?: string | null;
}

/**
 * Opens the catalog (PostgreSQL when `databaseUrl` is a non-empty string, else PGlite) and applies pending migrations
 * before returning it; the database is closed again when opening or migrating fails.
 */
export async function openCatalog(options: CatalogOptions = {}): Promise<CatalogStore> {
  const db: Db =
    options.databaseUrl !== undefined && options.databaseUrl !== ''
      ? await openPostgres(options.databaseUrl)
      : await openPglite(options.pgliteDir ?? null);
  const store = new SqlCatalogStore(db);
  try {
    await store.migrate();
  } catch (e) {
    await db.close().catch(() => undefined);
    throw e;
  }
  return store;
}
