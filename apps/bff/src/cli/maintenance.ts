import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LakehouseError, checkpointNow, optimize, parseTableName, systemClock, vacuum, type TableRef } from '@lakehouse/core';
import { DuckDbEngine, FsStorage } from '@lakehouse/core/node';
import { loadConfig } from '../config.js';
import { cleanupExpiredLog } from '../maintenance/service.js';
import { formatBytes } from './format.js';
import { userPath, type Out } from './table.js';

/** Writes progress to a terminal (stderr) as a bar; silent when stderr is not a TTY. */
export type ProgressSink = (fraction: number, message: string) => void;

/** A progress bar on stderr redrawn in place (nothing when stderr is not a terminal). */
export function terminalProgress(stream: NodeJS.WriteStream = process.stderr): { update: ProgressSink; done(): void } {
  if (!stream.isTTY) return { update: () => undefined, done: () => undefined };
  let drawn = false;
  return {
    update: (f, m) => {
      const width = 30;
      const n = Math.round(f * width);
      const cols = stream.columns ?? 100;
      stream.write(`\r[${'#'.repeat(n)}${'-'.repeat(width - n)}] ${String(Math.round(f * 100)).padStart(3)}% ${m}`.slice(0, cols - 1).padEnd(cols - 1));
      drawn = true;
    },
    done: () => {
      if (drawn) stream.write('\n');
      drawn = false;
    },
  };
}

/**
 * The table a CLI argument names: an existing directory path, or else a `layer.domain.table` name under the
 * warehouse (`--warehouse`, LAKEHOUSE_WAREHOUSE, or ./warehouse).
 */
export function resolveTableArg(arg: string, warehouse: string | undefined): { ref: TableRef; label: string } {
  const asPath = userPath(arg);
  if (existsSync(asPath)) return { ref: { storage: new FsStorage(asPath), tableKey: '' }, label: asPath };
  if (/^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$/.test(arg)) {
    const { name } = parseTableName(arg);
    const cwd = process.env.INIT_CWD ?? process.cwd();
    const root = loadConfig({ warehouse }, process.env, cwd).warehouse;
    const dir = join(root, ...name.split('.'));
    if (existsSync(dir)) return { ref: { storage: new FsStorage(dir), tableKey: '' }, label: name };
    throw new LakehouseError('TABLE_NOT_FOUND', `table ${name} does not exist in the warehouse ${root}`, { table: name });
  }
  throw new LakehouseError('TABLE_NOT_FOUND', `no table at ${asPath}`, { path: asPath });
}

const COMMON = { json: { type: 'boolean' }, 'dry-run': { type: 'boolean' }, warehouse: { type: 'string' } } as const;

function target(positionals: string[], usage: string, warehouse: string | undefined): { ref: TableRef; label: string } {
  if (positionals.length !== 1) throw new LakehouseError('INVALID_INPUT', `usage: ${usage}`);
  return resolveTableArg(positionals[0], warehouse);
}

/** `table optimize <path|name> [--where SQL] [--zorder-by a,b] [--dry-run] [--json]`: compaction or Z-order with a progress bar. */
export async function tableOptimize(args: string[], out: Out, progress = terminalProgress()): Promise<void> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...COMMON, where: { type: 'string' }, 'zorder-by': { type: 'string' } } });
  const { ref, label } = target(positionals, 'table optimize <path|name> [--where SQL] [--zorder-by a,b] [--dry-run] [--json]', values.warehouse);
  const zOrderBy = values['zorder-by'] ? values['zorder-by'].split(',').map((c) => c.trim()).filter((c) => c !== '') : undefined;
  const engine = await DuckDbEngine.create();
  try {
    const m = await optimize(ref, engine, { predicate: values.where, zOrderBy, dryRun: values['dry-run'], onProgress: progress.update, userName: process.env.USER ?? 'cli' });
    progress.done();
    const { plan, ...rest } = m;
    const summary = { ...rest, plan: { mode: plan.mode, zOrderBy: plan.zOrderBy, predicate: plan.predicate, numFiles: plan.numFiles, numBytes: plan.numBytes, numBins: plan.bins.length, targetFileSize: plan.targetFileSize } };
    if (values.json) out(JSON.stringify(summary));
    else if (m.dryRun) out(`dry run on ${label} version ${m.version}: would rewrite ${plan.numFiles} files (${formatBytes(plan.numBytes)}) in ${plan.bins.length} bins`);
    else if (!m.committed) out(`nothing to optimize in ${label} (version ${m.version})`);
    else out(`optimized ${label} at version ${m.version}: ${m.numFilesRemoved} files (${formatBytes(m.numBytesRemoved)}) -> ${m.numFilesAdded} files (${formatBytes(m.numBytesAdded)})`);
  } finally {
    progress.done();
    engine.connection.closeSync();
  }
}

/**
 * `table vacuum <path|name> [--retention-hours N] [--allow-short-retention] [--dry-run] [--json]`: deletes files no
 * version within the retention needs (like SQL VACUUM; `--dry-run` only lists them).
 */
export async function tableVacuum(args: string[], out: Out, progress = terminalProgress()): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { ...COMMON, 'retention-hours': { type: 'string' }, 'allow-short-retention': { type: 'boolean' } },
  });
  const { ref, label } = target(positionals, 'table vacuum <path|name> [--retention-hours N] [--allow-short-retention] [--dry-run] [--json]', values.warehouse);
  const raw = values['retention-hours'];
  const retentionHours = raw === undefined ? undefined : Number(raw);
  if (retentionHours !== undefined && !(raw !== '' && Number.isFinite(retentionHours) && retentionHours >= 0)) {
    throw new LakehouseError('INVALID_INPUT', `--retention-hours must be a non-negative number, got "${raw}"`);
  }
  try {
    const r = await vacuum(ref, {
      dryRun: Boolean(values['dry-run']),
      retentionHours,
      allowShortRetention: values['allow-short-retention'],
      onProgress: progress.update,
      userName: process.env.USER ?? 'cli',
    });
    progress.done();
    const lost = r.timeTravel.lostVersions;
    const impact = lost ? `versions ${lost.from}-${lost.to} no longer readable` : 'time travel unaffected';
    if (values.json) out(JSON.stringify(r));
    else if (r.dryRun) {
      out(`dry run on ${label}: ${r.numFilesToDelete} files (${formatBytes(r.bytesToDelete)}) would be deleted; ${impact}`);
      for (const f of r.files) out(`  ${f.path}\t${formatBytes(f.size)}\t${f.reason}`);
    } else out(`vacuumed ${label}: deleted ${r.numFilesDeleted} files (${formatBytes(r.bytesDeleted)}); ${impact}`);
  } finally {
    progress.done();
  }
}

/** `table checkpoint <path|name> [--json]`: writes a checkpoint of the latest version. */
export async function tableCheckpointNow(args: string[], out: Out, progress = terminalProgress()): Promise<void> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: COMMON });
  const { ref } = target(positionals, 'table checkpoint <path|name> [--json]', values.warehouse);
  if (values['dry-run']) throw new LakehouseError('INVALID_INPUT', 'table checkpoint has no dry run: a checkpoint changes no data');
  try {
    const m = await checkpointNow(ref, { onProgress: progress.update });
    const logCleanup = await cleanupExpiredLog(ref, systemClock);
    progress.done();
    const cleaned = logCleanup && logCleanup.numFilesDeleted > 0 ? `; ${logCleanup.numFilesDeleted} expired log files deleted (time travel now starts at version ${logCleanup.earliestVersionAfter})` : '';
    out(
      values.json
        ? JSON.stringify({ ...m, logCleanup })
        : (m.written ? `checkpoint written at version ${m.version} (${m.numAddFiles} files, ${formatBytes(m.sizeInBytes)})` : `a checkpoint for version ${m.version} already exists`) + cleaned,
    );
  } finally {
    progress.done();
  }
}
