import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ManualClock, Snapshot, append, countRows, createTable, type StructType, type TableRef } from '@lakehouse/core';
import { DuckDbEngine, FsStorage } from '@lakehouse/core/node';
import { MaintenanceAdviceSchema, MaintenanceJobListSchema, MaintenanceScheduleSchema, TableHealthSchema, TablePropertiesResultSchema } from '@lakehouse/contracts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { maintenanceService } from '../src/maintenance/service.js';
import { estimateOptimizeSeconds } from '../src/maintenance/health.js';
import { startTestServer, userWithToken, type TestServer } from './support/app.js';

const TABLE = 'silver.shop.events';
const APPENDS = 12;
const DAY = 86_400_000;

let s: TestServer;
let ref: TableRef;
let tableDir: string;

/** Appends `APPENDS` times 2 small files (one per partition p=a / p=b) of 20 rows each to a fresh table. */
async function makeSmallFileTable(name: string): Promise<TableRef> {
  const dir = join(s.dir, ...name.split('.'));
  const r: TableRef = { storage: new FsStorage(dir, s.clock), tableKey: '' };
  const engine = await DuckDbEngine.create(s.clock);
  const schema: StructType = {
    type: 'struct',
    fields: [
      { name: 'id', type: 'long', nullable: false, metadata: {} },
      { name: 'v', type: 'string', nullable: true, metadata: {} },
      { name: 'p', type: 'string', nullable: true, metadata: {} },
    ],
  };
  const rows = (k: number) => `SELECT (i + ${k * 100})::BIGINT AS id, 'v' || i AS v, CASE WHEN i % 2 = 0 THEN 'a' ELSE 'b' END AS p FROM range(20) t(i)`;
  await createTable(r, { schema, partitionColumns: ['p'], engine, sourceSql: rows(0), clock: s.clock });
  for (let k = 1; k < APPENDS; k++) await append(r, engine, { sourceSql: rows(k), clock: s.clock });
  engine.connection.closeSync();
  return r;
}

async function waitJob(id: string, token = s.adminToken): Promise<any> {
  for (let i = 0; i < 600; i++) {
    const j = await (await s.call(`/api/jobs/${id}`, { token })).json();
    if (['succeeded', 'failed', 'cancelled'].includes(j.state)) return j;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`job ${id} did not finish`);
}

/** Reads an SSE stream to its end and returns the parsed `data:` events. */
async function readEvents(res: Response): Promise<any[]> {
  const text = await res.text();
  return text
    .split('\n\n')
    .filter((b) => b.startsWith('data: '))
    .map((b) => JSON.parse(b.slice(6)));
}

function parquetFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name === '_delta_log') continue;
      if (e.isDirectory()) walk(join(d, e.name), rel + e.name + '/');
      else if (e.name.endsWith('.parquet')) out.push(rel + e.name);
    }
  };
  walk(dir, '');
  return out.sort();
}

function gate(): { wait: Promise<void>; open: () => void } {
  let open: () => void = () => undefined;
  const wait = new Promise<void>((r) => {
    open = r;
  });
  return { wait, open };
}

beforeAll(async () => {
  s = await startTestServer();
  ref = await makeSmallFileTable(TABLE);
  tableDir = join(s.dir, 'silver/shop/events');
  await s.deps.warehouse.discover();
}, 120_000);

afterAll(async () => {
  await s?.close();
});

beforeEach(() => {
  const svc = maintenanceService(s.deps);
  svc.beforeRun = null;
  svc.onProgress = null;
});

describe('maintenance API', () => {
  it('health and advice report the small files before OPTIMIZE', async () => {
    const h = TableHealthSchema.parse(await (await s.call(`/api/tables/${TABLE}/health`, { token: s.adminToken })).json());
    expect(h.numFiles).toBe(APPENDS * 2);
    expect(h.smallFiles).toBe(APPENDS * 2);
    expect(h.smallFileThreshold).toBe(8 * 1024 * 1024);
    expect(h.histogram.reduce((n: number, b: { files: number }) => n + b.files, 0)).toBe(APPENDS * 2);
    expect(h.histogram[0].files).toBe(APPENDS * 2);
    expect(h.partitions.count).toBe(2);
    expect(h.partitions.skew).toBeGreaterThanOrEqual(1);
    expect(h.commitsSinceCheckpoint).toBeGreaterThan(0);
    expect(h.lastOptimize).toBeNull();
    expect(h.timeTravel).toEqual({ files: 0, bytes: 0 });

    const a = MaintenanceAdviceSchema.parse(await (await s.call('/api/maintenance/advice', { token: s.adminToken })).json());
    const item = a.items.find((i) => i.table === TABLE && i.kind === 'optimize')!;
    expect(item.message).toMatch(/^24 files under 8\.0 MiB: OPTIMIZE would write about 2 files from 24; est\. \d+ s$/);
    expect(item.action).toEqual({ method: 'POST', path: `/api/tables/${TABLE}/optimize`, body: {} });
    const scores = a.items.map((i: { score: number }) => i.score);
    expect([...scores].sort((x, y) => y - x)).toEqual(scores);
  });

  it('refuses maintenance to viewers, analysts and stewards, and audits it', async () => {
    for (const role of ['viewer', 'analyst', 'steward']) {
      const u = await userWithToken(s, `m-${role}`, role);
      for (const [kind, body] of [
        ['optimize', {}],
        ['vacuum', {}],
        ['checkpoint', {}],
      ] as const) {
        const r = await s.call(`/api/tables/${TABLE}/${kind}`, { method: 'POST', token: u.token, json: body });
        expect(r.status, `${role} ${kind}`).toBe(403);
        expect((await r.json()).code).toBe('FORBIDDEN');
      }
      const p = await s.call(`/api/tables/${TABLE}/properties`, { method: 'PATCH', token: u.token, json: { set: { 'delta.targetFileSize': '64mb' } } });
      expect(p.status).toBe(403);
    }
    const audit = await (await s.call(`/api/audit?table=${TABLE}&outcome=denied&limit=100`, { token: s.adminToken })).json();
    const denied = audit.items.filter((e: { action: string }) => ['optimize', 'vacuum', 'checkpoint'].includes(e.action));
    expect(denied.length).toBe(9);
  });

  it('OPTIMIZE dry run plans and changes nothing', async () => {
    const before = (await Snapshot.load(ref)).version;
    const r = await s.call(`/api/tables/${TABLE}/optimize`, { method: 'POST', token: s.adminToken, json: { dryRun: true } });
    expect(r.status).toBe(202);
    const j = await waitJob((await r.json()).id);
    expect(j.state).toBe('succeeded');
    expect(j.result).toMatchObject({ dryRun: true, committed: false, numFilesRemoved: 0, plan: { numFiles: 24, numBins: 2, expectedOutputFiles: 2 } });
    expect((await Snapshot.load(ref)).version).toBe(before);
    expect(parquetFiles(tableDir)).toHaveLength(24);
  });

  it('refuses a second job on the same table while one runs, naming it', async () => {
    const g = gate();
    maintenanceService(s.deps).beforeRun = () => g.wait;
    const first = await (await s.call(`/api/tables/${TABLE}/checkpoint`, { method: 'POST', token: s.adminToken, json: {} })).json();
    const second = await s.call(`/api/tables/${TABLE}/optimize`, { method: 'POST', token: s.adminToken, json: {} });
    expect(second.status).toBe(409);
    const body = await second.json();
    expect(body.code).toBe('CONCURRENT_COMMIT');
    expect(body.details.jobId).toBe(first.id);
    expect(body.message).toContain(first.id);
    const h = await (await s.call(`/api/tables/${TABLE}/health`, { token: s.adminToken })).json();
    expect(h.runningJobId).toBe(first.id);
    g.open();
    expect((await waitJob(first.id)).state).toBe('succeeded');
    // The lock is gone: the next job may start.
    expect(await s.deps.catalog.getMaintenanceLock(TABLE, new Date(s.clock.now()).toISOString())).toBeNull();
  });

  it('cancel through the API before the work starts leaves the table as it was', async () => {
    const g = gate();
    maintenanceService(s.deps).beforeRun = () => g.wait;
    const before = await Snapshot.load(ref);
    const job = await (await s.call(`/api/tables/${TABLE}/optimize`, { method: 'POST', token: s.adminToken, json: {} })).json();
    const c = await s.call(`/api/jobs/${job.id}/cancel`, { method: 'POST', token: s.adminToken });
    expect(c.status).toBe(202);
    g.open();
    const j = await waitJob(job.id);
    expect(j.state).toBe('cancelled');
    expect(j.error.code).toBe('CANCELLED');
    expect((await Snapshot.load(ref)).version).toBe(before.version);
  });

  it('cancel between bins keeps the committed version and deletes the files already written', async () => {
    const before = await Snapshot.load(ref);
    const rowsBefore = await countRows(before);
    const svc = maintenanceService(s.deps);
    svc.onProgress = (job, _f, message) => {
      if (message.startsWith('rewriting bin 2')) s.deps.jobs.cancel(job.id);
    };
    const job = await (await s.call(`/api/tables/${TABLE}/optimize`, { method: 'POST', token: s.adminToken, json: {} })).json();
    const j = await waitJob(job.id);
    expect(j.state).toBe('cancelled');
    const after = await Snapshot.load(ref);
    expect(after.version).toBe(before.version);
    expect(await countRows(after)).toBe(rowsBefore);
    expect(parquetFiles(tableDir)).toHaveLength(24); // bin 1's output was removed
    const finished = await (await s.call(`/api/audit?table=${TABLE}&action=optimize%20finished&limit=10`, { token: s.adminToken })).json();
    expect(finished.items[0].outcome).toBe('error');
  });

  it('OPTIMIZE runs as a job: progress over SSE, metrics in the result and in the history, fewer files, same rows', async () => {
    const before = await Snapshot.load(ref);
    const rowsBefore = await countRows(before);
    const g = gate();
    maintenanceService(s.deps).beforeRun = () => g.wait;
    const r = await s.call(`/api/tables/${TABLE}/optimize`, { method: 'POST', token: s.adminToken, json: {} });
    expect(r.status).toBe(202);
    const job = await r.json();
    expect(job).toMatchObject({ kind: 'optimize', table: TABLE });
    const stream = await s.call(`/api/jobs/${job.id}/events`, { token: s.adminToken });
    expect(stream.headers.get('content-type')).toContain('text/event-stream');
    g.open();
    const events = await readEvents(stream as unknown as Response);
    const progress = events.filter((e) => e.state === 'running' && e.progress > 0 && e.progress < 1);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.some((e) => /rewriting bin/.test(e.message))).toBe(true);
    const last = events.at(-1);
    expect(last.state).toBe('succeeded');
    expect(last.result).toMatchObject({ committed: true, numFilesRemoved: 24, numFilesAdded: 2, numPartitionsOptimized: 2, numRowsWritten: rowsBefore });

    const after = await Snapshot.load(ref);
    expect(after.version).toBe(before.version + 1);
    expect([...after.adds()]).toHaveLength(2);
    expect(await countRows(after)).toBe(rowsBefore);

    const hist = MaintenanceJobListSchema.parse(await (await s.call(`/api/tables/${TABLE}/maintenance`, { token: s.adminToken })).json());
    const mine = hist.items.find((x) => x.id === job.id)!;
    expect(mine.result!.numFilesAdded).toBe(2);
    const all = await (await s.call(`/api/maintenance/jobs?kind=optimize&table=${TABLE}`, { token: s.adminToken })).json();
    expect(all.items.map((x: { id: string }) => x.id)).toContain(job.id);
    expect(all.items.every((x: { kind: string; table: string }) => x.kind === 'optimize' && x.table === TABLE)).toBe(true);
    const onlyVacuum = await (await s.call(`/api/tables/${TABLE}/maintenance?kind=vacuum`, { token: s.adminToken })).json();
    expect(onlyVacuum.items.every((x: { kind: string }) => x.kind === 'vacuum')).toBe(true);

    const h = await (await s.call(`/api/tables/${TABLE}/health`, { token: s.adminToken })).json();
    expect(h.numFiles).toBe(2);
    expect(h.lastOptimize.version).toBe(after.version);
    expect(h.lastOptimize.metrics.numRemovedFiles).toBe('24');
    expect(h.timeTravel.files).toBe(24);

    const audit = await (await s.call(`/api/audit?table=${TABLE}&action=optimize&outcome=ok&limit=10`, { token: s.adminToken })).json();
    expect(audit.items.some((e: { details: { jobId: string } }) => e.details.jobId === job.id)).toBe(true);
  });

  it('VACUUM: dry run lists the files and the time-travel impact and deletes nothing; short retention needs an admin override', async () => {
    s.clock.advance(8 * DAY);
    const dry = await s.call(`/api/tables/${TABLE}/vacuum`, { method: 'POST', token: s.adminToken, json: {} });
    expect(dry.status).toBe(202);
    const j = await waitJob((await dry.json()).id);
    expect(j.state).toBe('succeeded');
    expect(j.result.dryRun).toBe(true);
    expect(j.result.numFilesToDelete).toBe(24);
    expect(j.result.files).toHaveLength(24);
    expect(j.result.files.every((f: { reason: string }) => f.reason === 'removed')).toBe(true);
    expect(j.result.timeTravel.lostVersions).not.toBeNull();
    expect(j.result.numFilesDeleted).toBe(0);
    expect(parquetFiles(tableDir)).toHaveLength(26);

    const advice = await (await s.call('/api/maintenance/advice', { token: s.adminToken })).json();
    const v = advice.items.find((i: { table: string; kind: string }) => i.table === TABLE && i.kind === 'vacuum');
    expect(v.message).toMatch(/in 24 files reclaimable by VACUUM; versions 0-\d+ would no longer be readable$/);

    // Shorter than the table's 7 days: refused without override, and for a non-admin MANAGE grantee even with it.
    const short = await s.call(`/api/tables/${TABLE}/vacuum`, { method: 'POST', token: s.adminToken, json: { retentionHours: 1, dryRun: false } });
    expect(short.status).toBe(400);
    expect((await short.json()).message).toContain('allowShortRetention');
    const manager = await userWithToken(s, 'manager', 'analyst');
    const g = await s.call('/api/grants', { method: 'POST', token: s.adminToken, json: { userId: manager.id, privilege: 'MANAGE', securable: 'silver.shop' } });
    expect(g.status).toBe(201);
    const byManager = await s.call(`/api/tables/${TABLE}/vacuum`, { method: 'POST', token: manager.token, json: { retentionHours: 1, dryRun: false, allowShortRetention: true } });
    expect(byManager.status).toBe(403);
    const audit = await (await s.call(`/api/audit?table=${TABLE}&action=vacuum&outcome=denied&limit=10`, { token: s.adminToken })).json();
    expect(audit.items[0].userName).toBe('manager');
    expect(parquetFiles(tableDir)).toHaveLength(26);

    // With the default retention, a MANAGE grantee may run the real VACUUM.
    const real = await s.call(`/api/tables/${TABLE}/vacuum`, { method: 'POST', token: manager.token, json: { dryRun: false } });
    expect(real.status).toBe(202);
    const done = await waitJob((await real.json()).id, manager.token);
    expect(done.state).toBe('succeeded');
    expect(done.result.numFilesDeleted).toBe(24);
    expect(parquetFiles(tableDir)).toHaveLength(2);
    expect(await countRows(await Snapshot.load(ref))).toBe(APPENDS * 20);
  });

  it('checkpoint also deletes commits past the log retention, keeping everything from the checkpoint on', async () => {
    // A table written 40 days ago (its own clock: commit times and file times), checkpointed today.
    const dir = join(s.dir, 'silver', 'shop', 'old_clicks');
    const old = new ManualClock(s.clock.now() - 40 * 86_400_000);
    const ref: TableRef = { storage: new FsStorage(dir, old), tableKey: '' };
    const engine = await DuckDbEngine.create(old);
    const schema: StructType = { type: 'struct', fields: [{ name: 'id', type: 'long', nullable: true, metadata: {} }] };
    await createTable(ref, { schema, partitionColumns: [], engine, sourceSql: 'SELECT 1::BIGINT AS id', clock: old });
    for (let k = 2; k <= 5; k++) await append(ref, engine, { sourceSql: `SELECT ${k}::BIGINT AS id`, clock: old });
    engine.connection.closeSync();
    const r = await s.call('/api/tables/silver.shop.old_clicks/checkpoint', { method: 'POST', token: s.adminToken, json: {} });
    const j = await waitJob((await r.json()).id);
    expect(j.state).toBe('succeeded');
    expect(j.result).toMatchObject({ written: true, version: 4, logCleanup: { earliestVersionBefore: 0, earliestVersionAfter: 4 } });
    expect(j.result.logCleanup.numFilesDeleted).toBeGreaterThanOrEqual(4);
    expect(existsSync(join(dir, '_delta_log', '00000000000000000000.json'))).toBe(false);
    // The latest version still reads every row; version 0 is gone from time travel.
    expect(await countRows(await Snapshot.load(ref))).toBe(5);
    expect((await s.call('/api/tables/silver.shop.old_clicks?version=0', { token: s.adminToken })).status).toBe(404);
  });

  it('checkpoint runs as a job and resets commits since the last checkpoint', async () => {
    await makeSmallFileTable('silver.shop.clicks');
    const r = await s.call('/api/tables/silver.shop.clicks/checkpoint', { method: 'POST', token: s.adminToken, json: {} });
    const j = await waitJob((await r.json()).id);
    expect(j.state).toBe('succeeded');
    expect(j.result).toMatchObject({ written: true, version: APPENDS - 1 });
    const h = await (await s.call('/api/tables/silver.shop.clicks/health', { token: s.adminToken })).json();
    expect(h.lastCheckpointVersion).toBe(APPENDS - 1);
    expect(h.commitsSinceCheckpoint).toBe(0);
  });

  it('edits table properties with validation', async () => {
    const ok = await s.call(`/api/tables/${TABLE}/properties`, { method: 'PATCH', token: s.adminToken, json: { set: { 'delta.targetFileSize': String(64 * 1024 * 1024), 'delta.checkpointInterval': '20' } } });
    expect(ok.status).toBe(200);
    const body = TablePropertiesResultSchema.parse(await ok.json());
    expect(body.committed).toBe(true);
    expect(body.properties['delta.targetFileSize']).toBe(String(64 * 1024 * 1024));
    expect(body.changed).toEqual(['delta.checkpointInterval', 'delta.targetFileSize']);
    const h = await (await s.call(`/api/tables/${TABLE}/health`, { token: s.adminToken })).json();
    expect(h.targetFileSize).toBe(64 * 1024 * 1024);
    for (const bad of [{ 'delta.checkpointInterval': 'often' }, { 'delta.targetFileSize': '64mb' }, { 'delta.minReaderVersion': '3' }, { 'delta.deletedFileRetentionDuration': 'interval 400 days' }]) {
      const r = await s.call(`/api/tables/${TABLE}/properties`, { method: 'PATCH', token: s.adminToken, json: { set: bad } });
      expect(r.status, JSON.stringify(bad)).toBe(400);
    }
    const cdf = await s.call(`/api/tables/${TABLE}/properties`, { method: 'PATCH', token: s.adminToken, json: { set: { 'delta.enableChangeDataFeed': 'true' } } });
    expect((await cdf.json()).protocolUpgraded).toBe(true);
    // PUT replaces: checkpointInterval kept, targetFileSize unset, a user property added; CDF stays as given.
    const put = await s.call(`/api/tables/${TABLE}/properties`, {
      method: 'PUT',
      token: s.adminToken,
      json: { properties: { 'delta.checkpointInterval': '20', 'delta.enableChangeDataFeed': 'true', team: 'shop' } },
    });
    expect(put.status).toBe(200);
    const replaced = TablePropertiesResultSchema.parse(await put.json());
    expect(replaced.changed).toEqual(['delta.targetFileSize', 'team']);
    expect(replaced.properties).toEqual({ 'delta.checkpointInterval': '20', 'delta.enableChangeDataFeed': 'true', team: 'shop' });
    const same = await (await s.call(`/api/tables/${TABLE}/properties`, { method: 'PUT', token: s.adminToken, json: { properties: replaced.properties } })).json();
    expect(same.committed).toBe(false);
  });

  it('stores schedules and runs a due one (clock injected)', async () => {
    const bad = await s.call(`/api/tables/${TABLE}/schedules`, { method: 'POST', token: s.adminToken, json: { kind: 'vacuum', intervalMinutes: 10080, params: { retentionHours: 0, allowShortRetention: true } } });
    expect(bad.status).toBe(400);
    const c = await s.call(`/api/tables/${TABLE}/schedules`, { method: 'POST', token: s.adminToken, json: { kind: 'checkpoint', intervalMinutes: 1440 } });
    expect(c.status).toBe(201);
    const sched = MaintenanceScheduleSchema.parse(await c.json());
    expect(Date.parse(sched.nextRunAt)).toBe(s.clock.now() + 1440 * 60_000);
    const list = await (await s.call(`/api/tables/${TABLE}/schedules`, { token: s.adminToken })).json();
    expect(list.items.map((x: { id: string }) => x.id)).toEqual([sched.id]);

    expect(await s.scheduler.tick()).toEqual([]); // not due yet
    s.clock.advance(1441 * 60_000);
    const runs = await s.scheduler.tick();
    expect(runs).toHaveLength(1);
    expect(runs[0].error).toBeNull();
    const j = await waitJob(runs[0].job!.id);
    expect(j).toMatchObject({ kind: 'checkpoint', table: TABLE, state: 'succeeded', createdBy: null });
    const stored = await s.deps.catalog.getSchedule(sched.id);
    expect(stored!.lastJobId).toBe(j.id);
    expect(Date.parse(stored!.nextRunAt)).toBeGreaterThan(s.clock.now());
    expect(await s.scheduler.tick()).toEqual([]); // claimed once

    const patched = await s.call(`/api/schedules/${sched.id}`, { method: 'PATCH', token: s.adminToken, json: { enabled: false } });
    expect((await patched.json()).enabled).toBe(false);
    const viewer = await userWithToken(s, 'sched-viewer', 'viewer');
    expect((await s.call(`/api/schedules/${sched.id}`, { method: 'DELETE', token: viewer.token })).status).toBe(403);
    expect((await s.call(`/api/schedules/${sched.id}`, { method: 'DELETE', token: s.adminToken })).status).toBe(204);
    expect(existsSync(tableDir)).toBe(true);
  });
});

describe('estimateOptimizeSeconds', () => {
  it.each([
    [{ numBytes: 0, numFiles: 0 }, 1],
    [{ numBytes: 24 * 1024 * 1024, numFiles: 0 }, 2],
    [{ numBytes: 240 * 1024 * 1024, numFiles: 1000 }, 21],
    [{ numBytes: 10 * 1024 ** 3, numFiles: 412 }, 432],
  ])('%j takes about %i s', (plan, seconds) => {
    expect(estimateOptimizeSeconds(plan)).toBe(seconds);
  });
});
