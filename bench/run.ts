// `pnpm bench [name...]`: runs the core's and the BFF's benchmarks (all, or those named), prints a compact table per
// benchmark, writes bench/results/<name>.json, and exits 0 — or 1 when a correctness check fails (speed goals never
// gate).
import type { BenchResult, Benchmark } from './lib.js';
import { apiLoad } from './api-load.js';
import { browser } from './browser.js';
import { commits } from './commits.js';
import { ingest } from './ingest.js';
import { maintenance } from './maintenance.js';
import { environment, fmt, formatTable, timed, writeResult } from './lib.js';
import { scanPlanning } from './scan-planning.js';
import { snapshotLoad } from './snapshot-load.js';

const BENCHMARKS: readonly Benchmark[] = [snapshotLoad, scanPlanning, ingest, commits, apiLoad, browser, maintenance];

function usage(): string {
  return ['usage: pnpm bench [name...]', 'benchmarks:', ...BENCHMARKS.map((b) => `  ${b.name.padEnd(16)} ${b.description}`)].join('\n');
}

function printResult(r: BenchResult): void {
  if (r.table) {
    console.log(formatTable(r.table.header, r.table.rows));
    const rest = r.metrics.filter((m) => m.name.startsWith('baseline'));
    if (rest.length > 0) console.log(rest.map((m) => `${m.name}: ${fmt(m.value)} ${m.unit}`).join('; '));
  } else {
    console.log(
      formatTable(
        ['metric', 'value', 'unit', 'goal', ''],
        r.metrics.map((m) => [m.name, fmt(m.value), m.unit, m.goal ?? '', m.met === undefined ? '' : m.met ? 'met' : 'MISSED']),
      ),
    );
  }
  for (const n of r.notes) console.log(`note: ${n}`);
  const failed = r.checks.filter((c) => !c.ok);
  console.log(`checks: ${r.checks.length - failed.length}/${r.checks.length} ok`);
  for (const c of failed) console.log(`  FAILED: ${c.name} ${JSON.stringify(c.details ?? {})}`);
}

async function main(): Promise<number> {
  const args = process.argv.slice(2).filter((a) => a !== '--');
  if (args.includes('-h') || args.includes('--help')) {
    console.log(usage());
    return 0;
  }
  const unknown = args.filter((a) => !BENCHMARKS.some((b) => b.name === a));
  if (unknown.length > 0) {
    console.error(`unknown benchmark: ${unknown.join(', ')}\n${usage()}`);
    return 2;
  }
  const selected = args.length === 0 ? BENCHMARKS : BENCHMARKS.filter((b) => args.includes(b.name));
  const env = environment();
  console.log(`node ${String(env.node)}, ${String(env.cpuCount)} cpus (${String(env.cpuModel)}), ${String(env.platform)}/${String(env.arch)}`);

  let correctnessFailed = false;
  const summary: string[][] = [];
  for (const b of selected) {
    console.log(`\n== ${b.name}: ${b.description}`);
    const startedAt = new Date().toISOString();
    try {
      const { ms, value: result } = await timed(() => b.run((msg) => console.log(msg)));
      printResult(result);
      const file = await writeResult(result, { startedAt, durationMs: Math.round(ms) });
      console.log(`(${(ms / 1000).toFixed(1)} s; wrote ${file})`);
      const failed = result.checks.filter((c) => !c.ok).length;
      if (failed > 0) correctnessFailed = true;
      const goals = result.metrics.filter((m) => m.met !== undefined);
      summary.push([
        b.name,
        `${(ms / 1000).toFixed(1)} s`,
        failed === 0 ? `${result.checks.length} ok` : `${failed} FAILED`,
        goals.length === 0 ? '-' : `${goals.filter((m) => m.met).length}/${goals.length} met`,
      ]);
    } catch (e) {
      correctnessFailed = true;
      console.error(`benchmark ${b.name} crashed:`, e);
      summary.push([b.name, '-', 'CRASHED', '-']);
    }
  }
  console.log('\n' + formatTable(['benchmark', 'time', 'checks', 'goals'], summary));
  return correctnessFailed ? 1 : 0;
}

process.exitCode = await main();
