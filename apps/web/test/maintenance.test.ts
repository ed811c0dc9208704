import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  adviceActionLabel,
  adviceUrgency,
  canManage,
  formatInterval,
  healthBins,
  jobMetrics,
  lostVersionsText,
  optimizeSummary,
  plural,
  propertyDraft,
  propertyOfError,
  sortAdvice,
  vacuumSummary,
  validatePropertyDraft,
  type PropertyDraft,
} from '../src/features/admin/format.js';

const draft = (over: Partial<PropertyDraft> = {}): PropertyDraft => ({ ...propertyDraft({}), ...over });

describe('advice', () => {
  it.each([
    ['optimize', 'Run OPTIMIZE'],
    ['vacuum', 'Run VACUUM'],
    ['checkpoint', 'Checkpoint now'],
  ] as const)('labels the %s action "%s"', (kind, label) => {
    expect(adviceActionLabel({ kind })).toBe(label);
  });

  it.each([
    [46, 'high'],
    [20, 'high'],
    [19.9, 'medium'],
    [3, 'medium'],
    [1.2, 'low'],
    [0, 'low'],
  ] as const)('score %d is %s need', (score, urgency) => {
    expect(adviceUrgency(score)).toBe(urgency);
  });

  it('sorts by need, then table, then kind, without changing its input', () => {
    const items = [
      { table: 'b', kind: 'vacuum', score: 2 },
      { table: 'a', kind: 'vacuum', score: 2 },
      { table: 'a', kind: 'checkpoint', score: 2 },
      { table: 'z', kind: 'optimize', score: 46 },
    ] as const;
    const sorted = sortAdvice(items);
    expect(sorted.map((i) => `${i.table}/${i.kind}`)).toEqual(['z/optimize', 'a/checkpoint', 'a/vacuum', 'b/vacuum']);
    expect(items[0].table).toBe('b');
  });

  it('sorted advice never has a less needed item before a more needed one', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ table: fc.string(), kind: fc.constantFrom('optimize', 'vacuum', 'checkpoint'), score: fc.double({ min: 0, max: 1e6, noNaN: true }) })), (items) => {
        const sorted = sortAdvice(items);
        expect(sorted).toHaveLength(items.length);
        for (let i = 1; i < sorted.length; i++) expect(sorted[i - 1].score).toBeGreaterThanOrEqual(sorted[i].score);
      }),
    );
  });
});

describe('who may run maintenance', () => {
  const grant = (privilege: 'SELECT' | 'MODIFY' | 'MANAGE', securable: string) => ({ id: 'g', userId: 'u', privilege, securable, createdAt: '' });
  it.each([
    ['admin', [], true],
    ['steward', [], false],
    ['analyst', [], false],
    ['viewer', [], false],
    ['viewer', [grant('MANAGE', 'bronze')], true],
    ['viewer', [grant('MANAGE', 'bronze.web')], true],
    ['viewer', [grant('MANAGE', 'bronze.web.heartbeats_raw')], true],
    ['viewer', [grant('MANAGE', 'bronze.we')], false],
    ['viewer', [grant('MANAGE', 'silver')], false],
    ['analyst', [grant('MODIFY', 'bronze')], false],
  ] as const)('%s with grants %j: %s', (role, grants, expected) => {
    expect(canManage({ role, grants: [...grants] }, 'bronze.web.heartbeats_raw')).toBe(expected);
  });
  it('nobody signed in may not', () => {
    expect(canManage(null, 'bronze.web.heartbeats_raw')).toBe(false);
  });
});

describe('job results for people', () => {
  const optimizeResult = {
    dryRun: false,
    committed: true,
    version: 48,
    numFilesRemoved: 48,
    numFilesAdded: 2,
    numBytesRemoved: 163954,
    numPartitionsOptimized: 2,
    durationMs: 706,
    plan: {
      mode: 'compact',
      numFiles: 48,
      numBytes: 163954,
      numPartitions: 2,
      expectedOutputFiles: 2,
      bins: [{ partitionValues: { ingest_date: '2024-05-13' }, numFiles: 24, totalBytes: 81957, expectedOutputFiles: 1 }],
    },
  };

  it('reads an OPTIMIZE run and its dry run', () => {
    expect(optimizeSummary(optimizeResult)).toMatchObject({ filesBefore: 48, filesAfter: 2, bytes: 163954, partitions: 2, committed: true, version: 48 });
    const dry = optimizeSummary({ ...optimizeResult, dryRun: true, committed: false, numFilesRemoved: 0, numFilesAdded: 0, numBytesRemoved: 0 });
    expect(dry).toMatchObject({ dryRun: true, filesBefore: 48, filesAfter: 2, bytes: 163954, partitions: 2 });
    expect(dry?.bins).toEqual([{ partition: 'ingest_date=2024-05-13', files: 24, bytes: 81957, outputFiles: 1 }]);
    expect(optimizeSummary({ unrelated: true })).toBeNull();
    expect(optimizeSummary(null)).toBeNull();
  });

  it('lists OPTIMIZE metrics', () => {
    expect(jobMetrics({ kind: 'optimize', result: optimizeResult })).toEqual([
      ['Files', '48 → 2'],
      ['Bytes rewritten', '160 KiB'],
      ['Partitions', '2'],
      ['Version', '48'],
      ['Took', '706 ms'],
    ]);
    expect(jobMetrics({ kind: 'optimize', result: { ...optimizeResult, committed: false } })).toContainEqual(['Version', 'nothing to commit']);
  });

  const vacuumResult = {
    dryRun: true,
    numFilesToDelete: 3,
    bytesToDelete: 3 * 1024 * 1024,
    numFilesDeleted: 0,
    bytesDeleted: 0,
    retentionMs: 168 * 3.6e6,
    timeTravel: { earliestVersion: 0, oldestReadableVersion: 15, lostVersions: { from: 0, to: 14 } },
    files: [{ path: 'part-1.parquet', size: 1048576, reason: 'removed' }],
    filesTruncated: true,
  };

  it('reads a VACUUM dry run and lists its time-travel impact', () => {
    expect(vacuumSummary(vacuumResult)).toMatchObject({ dryRun: true, files: 3, bytes: 3145728, lost: { from: 0, to: 14 }, oldestReadableVersion: 15, truncated: true, retentionHours: 168 });
    expect(jobMetrics({ kind: 'vacuum', result: vacuumResult })).toEqual([
      ['Files to delete', '3'],
      ['Bytes to free', '3.0 MiB'],
      ['Time travel', 'versions 0–14 would no longer be readable'],
      ['Retention', '168 hours (7 days)'],
    ]);
    const done = { ...vacuumResult, dryRun: false, numFilesDeleted: 3, bytesDeleted: 3145728, timeTravel: { ...vacuumResult.timeTravel, lostVersions: null } };
    expect(jobMetrics({ kind: 'vacuum', result: done })[0]).toEqual(['Files deleted', '3']);
    expect(jobMetrics({ kind: 'vacuum', result: done })[2]).toEqual(['Time travel', 'time travel lost nothing']);
  });

  it.each([
    [null, false, 'time travel loses nothing'],
    [{ from: 3, to: 3 }, false, 'version 3 would no longer be readable'],
    [{ from: 0, to: 14 }, false, 'versions 0–14 would no longer be readable'],
    [{ from: 0, to: 14 }, true, 'versions 0–14 are no longer readable'],
  ] as const)('lost versions %j (done: %s) read "%s"', (lost, done, text) => {
    expect(lostVersionsText(lost, done)).toBe(text);
  });

  it('lists checkpoint metrics and nothing for jobs without a result', () => {
    expect(jobMetrics({ kind: 'checkpoint', result: { version: 47, written: true, numAddFiles: 48 } })).toEqual([
      ['Checkpoint version', '47'],
      ['Written', 'yes'],
      ['Files listed', '48'],
    ]);
    expect(jobMetrics({ kind: 'optimize', result: null })).toEqual([]);
  });
});

describe('property validation', () => {
  it('accepts well-formed values and builds the patch of what changed', () => {
    const current = { 'delta.checkpointInterval': '10', 'delta.appendOnly': 'true' };
    const r = validatePropertyDraft(
      draft({
        'delta.deletedFileRetentionDuration': 'interval 14 days',
        'delta.targetFileSize': '64 MiB',
        'delta.checkpointInterval': '10',
        'delta.appendOnly': '',
        'delta.enableChangeDataFeed': 'true',
      }),
      current,
    );
    expect(r.errors).toEqual({});
    expect(r.patch).toEqual({
      set: { 'delta.deletedFileRetentionDuration': 'interval 14 days', 'delta.targetFileSize': String(64 * 1024 * 1024), 'delta.enableChangeDataFeed': 'true' },
      unset: ['delta.appendOnly'],
    });
  });

  it.each([
    ['delta.deletedFileRetentionDuration', '7 days please', /interval/],
    ['delta.logRetentionDuration', 'forever', /interval/],
    ['delta.targetFileSize', '12 potatoes', /size/],
    ['delta.targetFileSize', '0', /size/],
    ['delta.checkpointInterval', '0', /positive whole number/],
    ['delta.checkpointInterval', '2.5', /positive whole number/],
    ['delta.checkpointInterval', '-3', /positive whole number/],
    ['delta.enableChangeDataFeed', 'yes', /true or false/],
    ['delta.appendOnly', 'TRUE', /true or false/],
  ] as const)('%s = %j is refused', (key, value, message) => {
    const r = validatePropertyDraft(draft({ [key]: value }), {});
    expect(r.errors[key]).toMatch(message);
    expect(r.patch).toBeNull();
  });

  it('refuses a deleted-file retention longer than the log retention (default 30 days)', () => {
    expect(validatePropertyDraft(draft({ 'delta.deletedFileRetentionDuration': 'interval 60 days' }), {}).errors['delta.deletedFileRetentionDuration']).toMatch(/log retention/);
    expect(validatePropertyDraft(draft({ 'delta.deletedFileRetentionDuration': 'interval 60 days', 'delta.logRetentionDuration': 'interval 90 days' }), {}).errors).toEqual({});
    expect(validatePropertyDraft(draft({ 'delta.logRetentionDuration': 'interval 2 days' }), {}).errors['delta.deletedFileRetentionDuration']).toMatch(/log retention/);
  });

  it('has no patch when nothing changed', () => {
    const current = { 'delta.checkpointInterval': '10' };
    expect(validatePropertyDraft(propertyDraft(current), current)).toEqual({ errors: {}, patch: null });
  });

  it('finds the property a server error names', () => {
    expect(propertyOfError({ property: 'delta.checkpointInterval' }, 'x')).toBe('delta.checkpointInterval');
    expect(propertyOfError({}, 'property delta.appendOnly must be true or false')).toBe('delta.appendOnly');
    expect(propertyOfError({ property: 'delta.columnMapping.mode' }, 'no')).toBeNull();
  });
});

describe('small formatting', () => {
  it.each([
    [60, 'hourly'],
    [1440, 'nightly'],
    [10080, 'weekly'],
    [2880, 'every 2 days'],
    [180, 'every 3 hours'],
    [90, 'every 90 min'],
  ] as const)('interval %d min reads "%s"', (minutes, text) => {
    expect(formatInterval(minutes)).toBe(text);
  });

  it('pluralises with separators', () => {
    expect(plural(1, 'file')).toBe('1 file');
    expect(plural(0, 'file')).toBe('0 files');
    expect(plural(1234, 'file')).toBe('1,234 files');
  });

  it('maps the health histogram to chart bars, the last one unbounded', () => {
    const bins = healthBins([
      { label: '< 1 MiB', minBytes: 0, maxBytes: 1048576, files: 48, bytes: 1 },
      { label: '>= 512 MiB', minBytes: 536870912, maxBytes: null, files: 1, bytes: 2 },
    ]);
    expect(bins).toEqual([
      { from: 0, to: 1048576, label: '< 1 MiB', files: 48 },
      { from: 536870912, to: Infinity, label: '>= 512 MiB', files: 1 },
    ]);
  });
});
