#!/usr/bin/env node
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { LakehouseError, systemClock } from '@lakehouse/core';
import { exitCodeFor, formatError } from './errors.js';
import type { Out } from './table.js';

const HELP = `lakehouse: Delta Lake tables from the shell

usage:
  lakehouse start|serve [--warehouse DIR] [--port N] [--host H] [--database-url URL] [--no-demo]
                                                    serve the API (and console) on a warehouse; demo tables on first start
  lakehouse ingest <file> <bronze.domain.table> [--warehouse DIR] [--mode append|overwrite] [--merge-schema] [--format csv|json|parquet]
  lakehouse table info <path> [--version N | --timestamp ISO] [--json]
  lakehouse table history <path> [--limit N] [--json]
  lakehouse table scan <path> [--version N | --timestamp ISO] [--where SQL] [--limit N] [--format jsonl|csv]
  lakehouse table create <path> (--schema "id BIGINT, name VARCHAR" | --from FILE) [--partition-by a,b]
                         [--property key=value]... [--description TEXT] [--column-mapping name|id]
  lakehouse table append <path> <file> [--format csv|json|parquet] [--merge-schema]
  lakehouse table overwrite <path> <file> [--replace-where SQL] [--merge-schema]
  lakehouse table delete <path> --where SQL
  lakehouse table checkpoint <path|name> [--json]
  lakehouse table optimize <path|name> [--where SQL] [--zorder-by a,b] [--dry-run] [--json]
  lakehouse table vacuum <path|name> [--retention-hours N] [--allow-short-retention] [--dry-run] [--json]
                         (<name> is layer.domain.table under --warehouse DIR; vacuum deletes unless --dry-run)

exit codes: 0 success, 2 table refused (unsupported feature, not a Delta table, corrupt log), 1 other errors`;

async function serve(args: string[], out: Out): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      warehouse: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      'database-url': { type: 'string' },
      'no-demo': { type: 'boolean' },
    },
  });
  const cwd = process.env.INIT_CWD ?? process.cwd();
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) throw new LakehouseError('INVALID_INPUT', `--port must be 0..65535, got "${values.port}"`);
  const config = loadConfig({ warehouse: values.warehouse, port, host: values.host, databaseUrl: values['database-url'], demo: values['no-demo'] ? false : undefined }, process.env, cwd);
  // Each command loads only what it uses: the server's modules (Express, the catalog store) take most of a second.
  const [{ VERSION }, { issueAdminLogin, startServer }, { ensureDemoWarehouse }] = await Promise.all([
    import('../app.js'),
    import('../server.js'),
    import('../demo/demo.js'),
  ]);
  const webDist = resolve(fileURLToPath(new URL('../../../web/dist', import.meta.url)));
  config.webDist = process.env.LAKEHOUSE_WEB_DIST ?? webDist;
  if (config.demo) {
    const created = await ensureDemoWarehouse(config.warehouse, (l) => out(l));
    if (created.length > 0) out(`demo warehouse ready at ${config.warehouse}`);
  }
  const server = await startServer(config);
  out(`lakehouse ${VERSION} serving ${config.warehouse} on ${server.url} (catalog: ${server.deps.catalog.backend})`);
  for (const t of await server.deps.warehouse.discover()) out(`  ${t}`);
  out('');
  if (server.loginUrl) {
    out('first start: an admin user was created. Sign in once with this URL (the token works one time):');
    out(`  ${server.loginUrl}`);
  } else {
    const token = await issueAdminLogin(server.deps.catalog);
    if (token) {
      out('Sign in as admin with this one-time URL (valid 24 hours):');
      out(`  ${server.url}/login#token=${token}`);
    }
  }
  out(`API: ${server.url}/api/health`);
  await new Promise<void>((resolveStop) => {
    const stop = () => {
      out('stopping ...');
      void server.close().then(resolveStop);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

async function ingest(args: string[], out: Out): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { warehouse: { type: 'string' }, format: { type: 'string' }, mode: { type: 'string' }, 'merge-schema': { type: 'boolean' }, json: { type: 'boolean' } },
  });
  const usage = 'ingest <file> <bronze.domain.table> [--warehouse DIR] [--mode append|overwrite] [--merge-schema] [--format csv|json|parquet]';
  if (positionals.length !== 2) throw new LakehouseError('INVALID_INPUT', `usage: ${usage}`);
  const cwd = process.env.INIT_CWD ?? process.cwd();
  const file = resolve(cwd, positionals[0]);
  const config = loadConfig({ warehouse: values.warehouse }, process.env, cwd);
  if (values.mode !== undefined && values.mode !== 'append' && values.mode !== 'overwrite') throw new LakehouseError('INVALID_INPUT', `--mode must be append or overwrite, got "${values.mode}"`);
  const [{ ingestFile, ingestOptionsFromFields }, { EnginePool }, { Warehouse }] = await Promise.all([
    import('../ingest/ingest.js'),
    import('../warehouse/engines.js'),
    import('../warehouse/warehouse.js'),
  ]);
  const options = ingestOptionsFromFields({
    ...(values.format ? { format: values.format } : {}),
    ...(values.mode ? { mode: values.mode } : {}),
    ...(values['merge-schema'] ? { mergeSchema: 'true' } : {}),
  });
  const clock = systemClock;
  const warehouse = new Warehouse(config.warehouse, clock);
  const engines = await EnginePool.create(1, clock, { tempDir: join(config.warehouse, '.lakehouse', 'tmp'), memoryLimit: '4GB' });
  const result = await ingestFile(
    { warehouse, engines, clock, userName: process.env.USER ?? 'cli', onProgress: (f, m) => process.stderr.write(`\r${Math.round(f * 100)}% ${m}`.padEnd(60)) },
    { table: positionals[1], path: file, fileName: basename(file), keepFile: true, ...options },
  );
  process.stderr.write('\n');
  out(values.json ? JSON.stringify(result) : `${result.created ? 'created' : 'wrote'} ${result.table} version ${result.version}: ${result.rows} rows in ${result.files} files`);
}

/** Runs the CLI with `argv` (without node and script); returns the exit code. */
export async function main(argv: string[], out: Out = (l) => process.stdout.write(l + '\n'), err: Out = (l) => process.stderr.write(l + '\n')): Promise<number> {
  const [cmd, sub, ...rest] = argv;
  try {
    if (!cmd || cmd === 'help' || cmd === '--help' || cmd === '-h') {
      out(HELP);
      return 0;
    }
    if (cmd === 'start' || cmd === 'serve') {
      await serve(argv.slice(1), out);
      return 0;
    }
    if (cmd === 'ingest') {
      await ingest(argv.slice(1), out);
      return 0;
    }
    if (cmd === 'table') {
      const [{ tableCreate, tableDelete, tableHistory, tableInfo, tableScan, tableWrite }, { tableCheckpointNow, tableOptimize, tableVacuum }] = await Promise.all([
        import('./table.js'),
        import('./maintenance.js'),
      ]);
      switch (sub) {
        case 'info':
          await tableInfo(rest, out);
          return 0;
        case 'history':
          await tableHistory(rest, out);
          return 0;
        case 'scan':
          await tableScan(rest, out);
          return 0;
        case 'create':
          await tableCreate(rest, out);
          return 0;
        case 'append':
        case 'overwrite':
          await tableWrite(sub, rest, out);
          return 0;
        case 'delete':
          await tableDelete(rest, out);
          return 0;
        case 'checkpoint':
          await tableCheckpointNow(rest, out);
          return 0;
        case 'optimize':
          await tableOptimize(rest, out);
          return 0;
        case 'vacuum':
          await tableVacuum(rest, out);
          return 0;
      }
      throw new LakehouseError('INVALID_INPUT', `unknown table command "${sub ?? ''}"; run "lakehouse help"`);
    }
    throw new LakehouseError('INVALID_INPUT', `unknown command "${cmd}"; run "lakehouse help"`);
  } catch (e) {
    const code = e instanceof TypeError && (e as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS') ? new LakehouseError('INVALID_INPUT', e.message) : e;
    err(formatError(code));
    return exitCodeFor(code);
  }
}

const isEntry = process.argv[1] && /cli[\\/]main\.(ts|js)$/.test(process.argv[1]);
if (isEntry) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
