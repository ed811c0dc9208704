#!/usr/bin/env node
import { resolve } from 'node:path';
import { LakehouseError, Snapshot, countRows } from '@lakehouse/core';
import { FsStorage } from '@lakehouse/core/node';
import { DEMO_TABLES, ensureDemoWarehouse, tableDir } from '../demo/demo.js';
import { exitCodeFor, formatError } from './errors.js';
import { formatBytes } from './format.js';
import { tableCheckpoint, tableCreate, tableDelete, tableHistory, tableInfo, tableScan, tableWrite, type Out } from './table.js';

const HELP = `lakehouse: Delta Lake tables from the shell

usage:
  lakehouse start [--warehouse DIR]                 build the demo warehouse (first run) and list its tables
  lakehouse table info <path> [--version N | --timestamp ISO] [--json]
  lakehouse table history <path> [--limit N] [--json]
  lakehouse table scan <path> [--version N | --timestamp ISO] [--where SQL] [--limit N] [--format jsonl|csv]
  lakehouse table create <path> (--schema "id BIGINT, name VARCHAR" | --from FILE) [--partition-by a,b]
                         [--property key=value]... [--description TEXT] [--column-mapping name|id]
  lakehouse table append <path> <file> [--format csv|json|parquet] [--merge-schema]
  lakehouse table overwrite <path> <file> [--replace-where SQL] [--merge-schema]
  lakehouse table delete <path> --where SQL
  lakehouse table checkpoint <path>

exit codes: 0 success, 2 table refused (unsupported feature, not a Delta table, corrupt log), 1 other errors`;

async function start(args: string[], out: Out): Promise<void> {
  const i = args.indexOf('--warehouse');
  const warehouse = resolve(process.env.INIT_CWD ?? process.cwd(), i >= 0 ? args[i + 1] : (process.env.LAKEHOUSE_WAREHOUSE ?? 'warehouse'));
  const created = await ensureDemoWarehouse(warehouse, out);
  out(created.length ? `demo warehouse ready at ${warehouse}` : `reusing the warehouse at ${warehouse}`);
  for (const t of DEMO_TABLES) {
    const s = await Snapshot.load({ storage: new FsStorage(tableDir(warehouse, t.name)), tableKey: '' });
    out(`  ${t.name.padEnd(28)} v${String(s.version).padEnd(4)} ${(await countRows(s)).toLocaleString('en-US').padStart(9)} rows  ${String(s.numFiles).padStart(4)} files  ${formatBytes(s.sizeInBytes)}`);
  }
  out('\ntry:');
  out(`  pnpm -s lakehouse table info ${tableDir(warehouse, 'silver.sales.orders')}`);
  out(`  pnpm -s lakehouse table scan ${tableDir(warehouse, 'gold.sales.daily_revenue')} --where "country = 'DE'" --format csv`);
  out('(the web console and API server arrive with the BFF)');
}

/** Runs the CLI with `argv` (without node and script); returns the exit code. */
export async function main(argv: string[], out: Out = (l) => process.stdout.write(l + '\n'), err: Out = (l) => process.stderr.write(l + '\n')): Promise<number> {
  const [cmd, sub, ...rest] = argv;
  try {
    if (!cmd || cmd === 'help' || cmd === '--help' || cmd === '-h') {
      out(HELP);
      return 0;
    }
    if (cmd === 'start') {
      await start(argv.slice(1), out);
      return 0;
    }
    if (cmd === 'table') {
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
          await tableCheckpoint(rest, out);
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
