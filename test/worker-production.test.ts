/**
 * Workers as production runs them (issue 11, item 8), in real child processes on the run's Temporal server:
 * the health endpoint (200 while polling, 503 while draining), the drain on SIGTERM (a running activity
 * finishes within RTO_SHUTDOWN_GRACE_MS, or is cancelled after it; exit 0), and workflow-only /
 * activity-only workers by RTO_WORKER_ROLE (`rto worker` itself).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { startChild, type Child, type Event } from './harness/child';
import { testClient, uniqueQueue } from './harness/temporal';

jest.setTimeout(180_000);

const ROOT = path.join(__dirname, '..');
const start = (args: string[], env: Record<string, string>) => startChild(args, env, ROOT);
async function health(url: string): Promise<{ status: number; body: Event }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Event };
}

/** Polls the endpoint until it answers `status` (each answer checked, no clock involved). */
async function healthUntil(url: string, status: number): Promise<Event> {
  for (;;) {
    const h = await health(url);
    if (h.status === status) return h.body;
    await new Promise((r) => setTimeout(r, 50));
  }
}

const children: Child[] = [];
let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'rto-drain-'));
});
afterEach(async () => {
  for (const c of children.splice(0))
    if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});

function drainWorker(taskQueue: string, graceMs: number, release: string): Child {
  const c = start(
    ['--require', require.resolve('tsx/cjs'), path.join(__dirname, 'harness', 'drain', 'worker.ts')],
    { RTO_TASK_QUEUE: taskQueue, RTO_SHUTDOWN_GRACE_MS: String(graceMs), DRAIN_RELEASE_FILE: release },
  );
  children.push(c);
  return c;
}

test('SIGTERM drains: /healthz turns 503, the running activity finishes, exit 0', async () => {
  const taskQueue = uniqueQueue('drain');
  const release = path.join(tmp, 'release');
  const w = drainWorker(taskQueue, 120_000, release);
  const url = (await w.next((e) => e.event === 'ready')).health as string;
  const ok = await healthUntil(url, 200);
  expect(ok).toMatchObject({ status: 'ok', workers: [{ taskQueue, state: 'RUNNING' }] });
  expect((await fetch(url.replace('/healthz', '/other'))).status).toBe(404);

  const { client, close } = await testClient();
  try {
    const handle = await client.workflow.start('drainProbe', { taskQueue, workflowId: `${taskQueue}-wf` });
    await w.next((e) => e.event === 'activity-started');
    w.child.kill('SIGTERM');
    await w.next((e) => e.event === 'sigterm');
    // Draining: the endpoint stays up and says so while the activity still runs.
    const draining = await healthUntil(url, 503);
    expect(draining.status).toBe('draining');
    expect(w.events.some((e) => e.event === 'activity-finished' || e.event === 'exited')).toBe(false);
    writeFileSync(release, '');
    const exit = await w.exited;
    expect(exit).toMatchObject({ code: 0, signal: null });
    const events = w.events.map((e) => e.event);
    expect(events).toEqual(['ready', 'activity-started', 'sigterm', 'activity-finished', 'exited']);
    // The server recorded the activity's result: nothing was lost to the shutdown.
    const history = await handle.fetchHistory();
    const completed = history.events!.filter(
      (e) => e.eventType === temporal.api.enums.v1.EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
    );
    expect(completed).toHaveLength(1);
    await handle.terminate('test over');
  } finally {
    await close();
  }
});

test('past the grace period the running activity is cancelled, and the process still exits 0', async () => {
  const taskQueue = uniqueQueue('drain-grace');
  const w = drainWorker(taskQueue, 300, path.join(tmp, 'never'));
  const url = (await w.next((e) => e.event === 'ready')).health as string;
  await healthUntil(url, 200);
  const { client, close } = await testClient();
  try {
    const handle = await client.workflow.start('drainProbe', { taskQueue, workflowId: `${taskQueue}-wf` });
    await w.next((e) => e.event === 'activity-started');
    w.child.kill('SIGTERM');
    const exit = await w.exited;
    expect(exit).toMatchObject({ code: 0, signal: null });
    const events = w.events.map((e) => e.event);
    expect(events).toEqual(['ready', 'activity-started', 'sigterm', 'activity-cancelled', 'exited']);
    await handle.terminate('test over');
  } finally {
    await close();
  }
});

async function pollers(taskQueue: string, type: 'WORKFLOW' | 'ACTIVITY'): Promise<number> {
  const { client, close } = await testClient();
  try {
    const d = await client.workflowService.describeTaskQueue({
      namespace: 'default',
      taskQueue: { name: taskQueue },
      taskQueueType: temporal.api.enums.v1.TaskQueueType[`TASK_QUEUE_TYPE_${type}`],
    });
    return d.pollers?.length ?? 0;
  } finally {
    await close();
  }
}

async function pollersUntil(taskQueue: string, type: 'WORKFLOW' | 'ACTIVITY'): Promise<number> {
  for (;;) {
    const n = await pollers(taskQueue, type);
    if (n > 0) return n;
    await new Promise((r) => setTimeout(r, 100));
  }
}

function rtoWorker(taskQueue: string, role: string): Child {
  const c = start([path.join(ROOT, 'bin', 'rto.js'), 'worker'], {
    RTO_TASK_QUEUE: taskQueue,
    RTO_DATA_DIR: tmp,
    RTO_WORKER_ROLE: role,
    RTO_HEALTH_PORT: '0',
    LOG_LEVEL: 'info',
    CI: '1',
  });
  children.push(c);
  return c;
}

test('rto worker with RTO_WORKER_ROLE=workflows polls workflow tasks only; health; SIGTERM exits 0', async () => {
  const taskQueue = uniqueQueue('wf-only');
  const w = rtoWorker(taskQueue, 'workflows');
  const url = (await w.next((e) => e.msg === 'worker health endpoint')).url as string;
  const ok = await healthUntil(url, 200);
  // One worker: the main task queue's workflows; no Alma task queues in this process.
  expect(ok).toEqual({ status: 'ok', role: 'workflows', workers: [{ taskQueue, state: 'RUNNING' }] });
  expect(await pollersUntil(taskQueue, 'WORKFLOW')).toBeGreaterThan(0);
  expect(await pollers(taskQueue, 'ACTIVITY')).toBe(0);
  w.child.kill('SIGTERM');
  const exit = await w.exited;
  expect(exit).toMatchObject({ code: 0, signal: null });
  expect(w.events.some((e) => e.msg === 'worker draining')).toBe(true);
  expect(w.events.some((e) => e.msg === 'worker stopped')).toBe(true);
});

test('rto worker with RTO_WORKER_ROLE=activities polls activities (main and Alma queues), no workflows', async () => {
  const taskQueue = uniqueQueue('act-only');
  const w = rtoWorker(taskQueue, 'activities');
  const url = (await w.next((e) => e.msg === 'worker health endpoint')).url as string;
  const ok = await healthUntil(url, 200);
  const queues = (ok.workers as { taskQueue: string; state: string }[]).map((x) => x.taskQueue);
  expect(ok.role).toBe('activities');
  expect(queues[0]).toBe(taskQueue);
  expect(queues.length).toBeGreaterThan(1); // one per Alma institution of the example configuration
  expect(queues.slice(1).every((q) => q.startsWith(`${taskQueue}`) && q !== taskQueue)).toBe(true);
  expect(await pollersUntil(taskQueue, 'ACTIVITY')).toBeGreaterThan(0);
  expect(await pollers(taskQueue, 'WORKFLOW')).toBe(0);
  w.child.kill('SIGTERM');
  expect(await w.exited).toMatchObject({ code: 0, signal: null });
});

test('a bad RTO_WORKER_ROLE is an error naming it', async () => {
  const w = rtoWorker(uniqueQueue('bad'), 'everything');
  const exit = await w.exited;
  expect(exit.code).not.toBe(0);
  expect(exit.stderr).toContain('RTO_WORKER_ROLE');
});
