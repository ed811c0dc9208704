import type { Job, MaintenanceAdviceItem, MaintenanceKind, TableHealth } from '@lakehouse/contracts';
import { parseByteSize, parseIntervalMs } from '@lakehouse/core';
import { compareText, formatBytes, formatCount } from '../../components/format.js';
import type { Me } from '../auth/api.js';
import type { SizeBin } from '../table/histogram.js';

// Pure helpers of the admin pages: labels, job result summaries, property validation, schedule intervals.

/** How each maintenance kind is named on buttons and in lists. */
export const KIND_LABEL: Record<MaintenanceKind, string> = { optimize: 'OPTIMIZE', vacuum: 'VACUUM', checkpoint: 'Checkpoint' };

/** The label of the button that acts on a recommendation ("Run OPTIMIZE", "Run VACUUM", "Checkpoint now"). */
export function adviceActionLabel(item: Pick<MaintenanceAdviceItem, 'kind'>): string {
  return item.kind === 'checkpoint' ? 'Checkpoint now' : `Run ${KIND_LABEL[item.kind]}`;
}

/** `1 file`, `48 files`, `1,024 files` (counts with thousands separators). */
export function plural(n: number, word: string, words = `${word}s`): string {
  return `${formatCount(n)} ${n === 1 ? word : words}`;
}

/** How urgent a recommendation is, from its score: `high` (≥ 20), `medium` (≥ 3) or `low`. */
export function adviceUrgency(score: number): 'high' | 'medium' | 'low' {
  return score >= 20 ? 'high' : score >= 3 ? 'medium' : 'low';
}

/** Recommendations sorted by need (score descending, then table and kind), as the advisor lists them. */
export function sortAdvice<T extends Pick<MaintenanceAdviceItem, 'score' | 'table' | 'kind'>>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => b.score - a.score || compareText(a.table, b.table) || compareText(a.kind, b.kind));
}

/** Whether the user may run maintenance and edit properties of `table`: admins, or a MANAGE grant covering it (the server decides). */
export function canManage(me: Pick<Me, 'role' | 'grants'> | null, table: string): boolean {
  if (!me) return false;
  if (me.role === 'admin') return true;
  return me.grants.some((g) => g.privilege === 'MANAGE' && (table === g.securable || table.startsWith(g.securable + '.')));
}

/** The health histogram (fixed size buckets) as bars of the file-size chart. */
export function healthBins(histogram: TableHealth['histogram']): SizeBin[] {
  return histogram.map((b) => ({ from: b.minBytes, to: b.maxBytes ?? Infinity, label: b.label, files: b.files }));
}

/** Versions a VACUUM makes unreadable, as a sentence: "versions 0–14 would no longer be readable", or "time travel loses nothing". */
export function lostVersionsText(lost: { from: number; to: number } | null, done = false): string {
  const would = done ? 'are' : 'would';
  if (!lost) return done ? 'time travel lost nothing' : 'time travel loses nothing';
  const verb = done ? 'no longer readable' : 'no longer be readable';
  return lost.from === lost.to ? `version ${lost.from} ${would} ${verb}` : `versions ${lost.from}–${lost.to} ${would} ${verb}`;
}

const obj = (v: unknown): Record<string, unknown> => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** One bin of an OPTIMIZE plan: the files of one partition that are compacted together. */
export interface OptimizeBinSummary {
  partition: string;
  files: number;
  bytes: number;
  outputFiles: number;
}

/** What an OPTIMIZE (dry run or not) did or would do, read from its job result. */
export interface OptimizeSummary {
  dryRun: boolean;
  committed: boolean;
  version: number | null;
  mode: string;
  /** Files and bytes rewritten (planned for a dry run). */
  filesBefore: number;
  filesAfter: number;
  bytes: number;
  partitions: number;
  bins: OptimizeBinSummary[];
  durationMs: number | null;
}

/** The partition values of a bin as `col=value, col=value` ("(unpartitioned)" when none). */
export function partitionLabel(values: unknown): string {
  const entries = Object.entries(obj(values));
  return entries.length === 0 ? '(unpartitioned)' : entries.map(([k, v]) => `${k}=${v === null ? 'null' : String(v)}`).join(', ');
}

/** Reads an OPTIMIZE job result (null when it does not have that shape). */
export function optimizeSummary(result: Record<string, unknown> | null): OptimizeSummary | null {
  if (!result) return null;
  const plan = obj(result.plan);
  const dryRun = result.dryRun === true;
  const planned = num(plan.numFiles);
  if (planned === null) return null;
  const bins = Array.isArray(plan.bins) ? plan.bins.map(obj) : [];
  return {
    dryRun,
    committed: result.committed === true,
    version: num(result.version),
    mode: typeof plan.mode === 'string' ? plan.mode : 'compact',
    filesBefore: dryRun ? planned : (num(result.numFilesRemoved) ?? planned),
    filesAfter: dryRun ? (num(plan.expectedOutputFiles) ?? 0) : (num(result.numFilesAdded) ?? 0),
    bytes: dryRun ? (num(plan.numBytes) ?? 0) : (num(result.numBytesRemoved) ?? 0),
    partitions: dryRun ? (num(plan.numPartitions) ?? 0) : (num(result.numPartitionsOptimized) ?? num(plan.numPartitions) ?? 0),
    bins: bins.map((b) => ({ partition: partitionLabel(b.partitionValues), files: num(b.numFiles) ?? 0, bytes: num(b.totalBytes) ?? 0, outputFiles: num(b.expectedOutputFiles) ?? 0 })),
    durationMs: num(result.durationMs),
  };
}

/** A file VACUUM deletes or would delete. */
export interface VacuumFileSummary {
  path: string;
  size: number;
  reason: string;
}

/** What a VACUUM (dry run or not) did or would do, read from its job result. */
export interface VacuumSummary {
  dryRun: boolean;
  files: number;
  bytes: number;
  retentionHours: number | null;
  lost: { from: number; to: number } | null;
  oldestReadableVersion: number | null;
  list: VacuumFileSummary[];
  truncated: boolean;
}

/** Reads a VACUUM job result (null when it does not have that shape). */
export function vacuumSummary(result: Record<string, unknown> | null): VacuumSummary | null {
  if (!result) return null;
  const dryRun = result.dryRun === true;
  const files = num(dryRun ? result.numFilesToDelete : result.numFilesDeleted);
  if (files === null) return null;
  const tt = obj(result.timeTravel);
  const lost = obj(tt.lostVersions);
  const from = num(lost.from);
  const to = num(lost.to);
  const retentionMs = num(result.retentionMs);
  return {
    dryRun,
    files,
    bytes: num(dryRun ? result.bytesToDelete : result.bytesDeleted) ?? 0,
    retentionHours: retentionMs === null ? null : retentionMs / 3.6e6,
    lost: from !== null && to !== null ? { from, to } : null,
    oldestReadableVersion: num(tt.oldestReadableVersion),
    list: (Array.isArray(result.files) ? result.files.map(obj) : []).map((f) => ({
      path: typeof f.path === 'string' ? f.path : '?',
      size: num(f.size) ?? 0,
      reason: typeof f.reason === 'string' ? f.reason : '',
    })),
    truncated: result.filesTruncated === true,
  };
}

/** The metrics of a finished maintenance job as label/value pairs, for people (empty for jobs without a result). */
export function jobMetrics(job: Pick<Job, 'kind' | 'result'>): [string, string][] {
  const r = job.result;
  if (!r) return [];
  if (job.kind === 'optimize') {
    const s = optimizeSummary(r);
    if (!s) return [];
    const out: [string, string][] = [
      ['Files', `${formatCount(s.filesBefore)} → ${formatCount(s.filesAfter)}`],
      [s.dryRun ? 'Bytes to rewrite' : 'Bytes rewritten', formatBytes(s.bytes)],
      ['Partitions', formatCount(s.partitions)],
    ];
    if (!s.dryRun) out.push(['Version', s.committed && s.version !== null ? String(s.version) : 'nothing to commit']);
    if (s.durationMs !== null) out.push(['Took', formatDuration(s.durationMs)]);
    return out;
  }
  if (job.kind === 'vacuum') {
    const s = vacuumSummary(r);
    if (!s) return [];
    return [
      [s.dryRun ? 'Files to delete' : 'Files deleted', formatCount(s.files)],
      [s.dryRun ? 'Bytes to free' : 'Bytes freed', formatBytes(s.bytes)],
      ['Time travel', lostVersionsText(s.lost, !s.dryRun)],
      ...(s.retentionHours !== null ? ([['Retention', formatHours(s.retentionHours)]] as [string, string][]) : []),
    ];
  }
  const out: [string, string][] = [];
  const version = num(r.version);
  if (version !== null) out.push(['Checkpoint version', String(version)]);
  if (typeof r.written === 'boolean') out.push(['Written', r.written ? 'yes' : 'no (one existed)']);
  const adds = num(r.numAddFiles);
  if (adds !== null) out.push(['Files listed', formatCount(adds)]);
  return out;
}

/** `850 ms`, `4.2 s`, `3 min 5 s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
}

/** `168 hours (7 days)`, `1 hour`, `0 hours`. */
export function formatHours(h: number): string {
  const days = h / 24;
  const base = `${h} hour${h === 1 ? '' : 's'}`;
  return Number.isInteger(days) && days >= 1 ? `${base} (${days} day${days === 1 ? '' : 's'})` : base;
}

/** Schedule intervals offered in the form, in minutes. */
export const SCHEDULE_PRESETS: readonly { minutes: number; label: string }[] = [
  { minutes: 60, label: 'Hourly' },
  { minutes: 1440, label: 'Nightly' },
  { minutes: 10080, label: 'Weekly' },
];

/** A schedule interval for people: "nightly", "weekly", "hourly", else "every 90 min" / "every 2 days". */
export function formatInterval(minutes: number): string {
  const preset = SCHEDULE_PRESETS.find((p) => p.minutes === minutes);
  if (preset) return preset.label.toLowerCase();
  if (minutes % 1440 === 0) return `every ${minutes / 1440} days`;
  if (minutes % 60 === 0) return `every ${minutes / 60} hours`;
  return `every ${minutes} min`;
}

/** The table properties the editor offers, with how each is entered. */
export const EDITABLE_PROPERTIES = [
  { key: 'delta.deletedFileRetentionDuration', label: 'Deleted-file retention', kind: 'interval', placeholder: 'interval 7 days', help: 'How long VACUUM keeps removed files (time travel reaches this far back).' },
  { key: 'delta.logRetentionDuration', label: 'Log retention', kind: 'interval', placeholder: 'interval 30 days', help: 'How long commits are kept in the log.' },
  { key: 'delta.targetFileSize', label: 'Target file size', kind: 'bytes', placeholder: '128 MiB', help: 'The size OPTIMIZE aims for; bytes, or with a unit (KiB, MiB, GiB).' },
  { key: 'delta.checkpointInterval', label: 'Checkpoint interval', kind: 'integer', placeholder: '10', help: 'Commits between two checkpoints.' },
  { key: 'delta.enableChangeDataFeed', label: 'Change data feed', kind: 'boolean', placeholder: '', help: 'Record row-level changes of every write.' },
  { key: 'delta.appendOnly', label: 'Append-only', kind: 'boolean', placeholder: '', help: 'Refuse updates and deletes.' },
] as const;

/** A key of an editable property. */
export type EditableProperty = (typeof EDITABLE_PROPERTIES)[number]['key'];

/** Values of the property form: text for each field ('' = not set, the table's default). */
export type PropertyDraft = Record<EditableProperty, string>;

/** The form's starting values from the table's properties. */
export function propertyDraft(properties: Record<string, string>): PropertyDraft {
  return Object.fromEntries(EDITABLE_PROPERTIES.map((p) => [p.key, properties[p.key] ?? ''])) as PropertyDraft;
}

/**
 * Validates the property form like the server does (intervals such as `interval 7 days`, positive integers, sizes,
 * booleans; deleted-file retention not longer than log retention) and builds the PATCH body: changed fields are set,
 * cleared fields unset. `errors` maps a property to a message; the patch is null when there are errors or no changes.
 */
export function validatePropertyDraft(
  draft: PropertyDraft,
  current: Record<string, string>,
): { errors: Partial<Record<EditableProperty, string>>; patch: { set: Record<string, string>; unset: string[] } | null } {
  const errors: Partial<Record<EditableProperty, string>> = {};
  const set: Record<string, string> = {};
  const unset: string[] = [];
  for (const p of EDITABLE_PROPERTIES) {
    const raw = draft[p.key].trim();
    if (raw === '') {
      if (current[p.key] !== undefined) unset.push(p.key);
      continue;
    }
    let value = raw;
    if (p.kind === 'interval') {
      if (parseIntervalMs(raw) === null) errors[p.key] = `must be an interval such as "interval 7 days" (units: second, minute, hour, day, week)`;
    } else if (p.kind === 'integer') {
      if (!/^\d+$/.test(raw) || Number(raw) <= 0) errors[p.key] = 'must be a positive whole number';
    } else if (p.kind === 'bytes') {
      const n = parseByteSize(raw);
      if (n === null) errors[p.key] = 'must be a positive size such as 134217728, 128 MiB or 1 GiB';
      else value = String(n);
    } else if (raw !== 'true' && raw !== 'false') {
      errors[p.key] = 'must be true or false';
    }
    if (!errors[p.key] && current[p.key] !== value) set[p.key] = value;
  }
  const effective = (k: EditableProperty, fallbackMs: number): number => {
    const v = draft[k].trim();
    return v === '' ? fallbackMs : (parseIntervalMs(v) ?? fallbackMs);
  };
  const files = effective('delta.deletedFileRetentionDuration', 7 * 86_400_000);
  const logs = effective('delta.logRetentionDuration', 30 * 86_400_000);
  if (!errors['delta.deletedFileRetentionDuration'] && !errors['delta.logRetentionDuration'] && files > logs) {
    errors['delta.deletedFileRetentionDuration'] = `must not be longer than the log retention (${formatHours(logs / 3.6e6)})`;
  }
  const ok = Object.keys(errors).length === 0 && (Object.keys(set).length > 0 || unset.length > 0);
  return { errors, patch: ok ? { set, unset } : null };
}

/** Which property a server-side INVALID_INPUT names (its details.property, or the first editable key in the message). */
export function propertyOfError(details: Record<string, unknown>, message: string): EditableProperty | null {
  const keys = EDITABLE_PROPERTIES.map((p) => p.key) as EditableProperty[];
  if (typeof details.property === 'string' && (keys as string[]).includes(details.property)) return details.property as EditableProperty;
  return keys.find((k) => message.includes(k)) ?? null;
}
