import { resolve } from 'node:path';

/** Settings of a BFF process, from flags and environment. */
export interface Config {
  host: string;
  port: number;
  /** Absolute path of the warehouse root. */
  warehouse: string;
  /** PostgreSQL URL of the catalog; embedded PGlite under the warehouse when absent. */
  databaseUrl: string | null;
  /** Generate the demo tables on an empty warehouse. */
  demo: boolean;
  /** Lifetime of signed file URLs, seconds. */
  signedUrlTtlSeconds: number;
  /** Largest accepted upload, bytes. */
  maxUploadBytes: number;
  /** Folder of the built console to serve, when it exists. */
  webDist: string | null;
  /** Engines in the DuckDB pool. */
  engines: number;
}

/** Reads the configuration: explicit values first, then LAKEHOUSE_* / PORT / HOST / DATABASE_URL, then defaults. */
export function loadConfig(overrides: Partial<Config> = {}, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  const port = overrides.port ?? Number(env.PORT ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid PORT ${env.PORT}`);
  return {
    host: overrides.host ?? env.HOST ?? '127.0.0.1',
    port,
    warehouse: resolve(cwd, overrides.warehouse ?? env.LAKEHOUSE_WAREHOUSE ?? 'warehouse'),
    databaseUrl: overrides.databaseUrl !== undefined ? overrides.databaseUrl : (env.DATABASE_URL ?? null),
    demo: overrides.demo ?? env.LAKEHOUSE_DEMO !== '0',
    signedUrlTtlSeconds: overrides.signedUrlTtlSeconds ?? Number(env.LAKEHOUSE_SIGNED_URL_TTL ?? 900),
    maxUploadBytes: overrides.maxUploadBytes ?? Number(env.LAKEHOUSE_MAX_UPLOAD_BYTES ?? 8 * 1024 ** 3),
    webDist: overrides.webDist !== undefined ? overrides.webDist : null,
    engines: overrides.engines ?? Number(env.LAKEHOUSE_ENGINES ?? 4),
  };
}
