/**
 * The duplicate check before ordering, fast tier (test/order-stages.test.ts style): the order workflow on a
 * local Temporal server with fake activities, for warn, hold then release, hold then the deadline, hold then a
 * staff cancellation. The activity itself runs against the sandbox in test/duplicate-check-sandbox.test.ts.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { Activities } from '../src/activities';
import { validateActivities } from '../src/activities/validate';
import type { DuplicateCheckInput } from '../src/activities/duplicates';
import type { CreatePoLineInput, CreatedPoLine } from '../src/activities/types';
import { parseConfig } from '../src/config/load';
import type { StaffAlertInput } from '../src/mail/render';
import type { DuplicateFindings } from '../src/order/duplicates';
import { orderWorkflowId } from '../src/order/ids';
import { cancelUpdate, releaseUpdate, statusQuery } from '../src/order/messages';
import * as keys from '../src/order/search-attributes';
import type { OrderPlan, OrderStatus, Stage, ValidationOutcome } from '../src/order/types';
import { orderWorkflow } from '../src/workflows';
import { startFastTierEnvironment } from './harness/fast-tier';
import { recordHistory } from './harness/histories';
import { exampleConfigRaw, exampleOrder } from './harness/system';

jest.setTimeout(120_000);

interface Script {
  mode: 'warn' | 'hold';
  holdForMs?: number;
  /** What the check finds: bibs of the matching lines (one line per entry). */
  found: (string | undefined)[];
}
const scripts = new Map<string, Script>();
const created = new Map<string, CreatePoLineInput[]>();
const staff = new Map<string, StaffAlertInput[]>();

let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;
const taskQueue = 'order-duplicate-check';

beforeAll(async () => {
  env = await startFastTierEnvironment();
  const config = parseConfig(
    exampleConfigRaw('http://127.0.0.1:1/almaws/v1', mkdtempSync(path.join(os.tmpdir(), 'rto-dup-'))),
  );
  const real = validateActivities({ config, taskQueue });
  const activities: Partial<Activities> = {
    async validateOrderActivity(raw: unknown): Promise<ValidationOutcome> {
      const id = (raw as { orderId: string }).orderId;
      const out = await real.validateOrderActivity(raw);
      if (!out.ok) return out;
      const sc = scripts.get(id)!;
      const plan: OrderPlan = {
        ...out.plan,
        almaTaskQueue: taskQueue,
        email: { confirm: true, staff: ['acq@univ.example.edu'] },
        timing: {
          ...out.plan.timing,
          firstLookDelayMs: 50,
          bibPollIntervalMs: 50,
          bibPollTimeoutMs: 2500,
          almaGiveUpAfterMs: 2500,
          almaRetryInitialMs: 100,
          almaRetryMaxMs: 200,
        },
        duplicateCheck: { mode: sc.mode, holdForMs: sc.holdForMs ?? 600_000 },
      };
      return { ok: true, plan };
    },
    async findDuplicates(input: DuplicateCheckInput): Promise<DuplicateFindings> {
      const found = scripts.get(input.order.orderId)!.found;
      const matches = found.map((mmsId, i) => ({
        poLine: `POL-OLD-${i}`,
        status: 'ACTIVE',
        ...(mmsId ? { mmsId } : {}),
      }));
      return {
        matches,
        mmsIds: [...new Set(found.filter((m): m is string => !!m))],
        searched: `ISBN ${input.order.item.isbn}`,
      };
    },
    async createPoLine(input: CreatePoLineInput): Promise<CreatedPoLine> {
      const id = input.order.orderId;
      created.set(id, [...(created.get(id) ?? []), input]);
      return {
        number: `POL-${id}`,
        status: 'ACTIVE',
        inReview: false,
        almaAlerts: [],
        found: false,
        almaCalls: 1,
      };
    },
    async cancelPoLine(): Promise<void> {},
    async awaitBriefBib() {
      return { mmsId: '9912345', status: 'ACTIVE', inReview: false, almaAlerts: [] };
    },
    async readPoLineState() {
      return { status: 'ACTIVE', inReview: false, almaAlerts: [] };
    },
    async sendConfirmation() {
      return { messageId: '<m@test>' };
    },
    async notifyStaff(input: StaffAlertInput): Promise<void> {
      staff.set(input.orderId, [...(staff.get(input.orderId) ?? []), input]);
    },
  };
  worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowsPath: require.resolve('../src/workflows'),
    activities,
  });
  running = worker.run();
});

afterAll(async () => {
  worker?.shutdown();
  await running;
  await env?.teardown();
});

let n = 0;
async function start(name: string, script: Script) {
  const orderId = `D-${++n}-${name}`;
  scripts.set(orderId, script);
  const handle = await env.client.workflow.start(orderWorkflow, {
    workflowId: orderWorkflowId('UNIV-MAIN', orderId),
    taskQueue,
    args: [{ order: exampleOrder('print-single-fund.json', orderId), account: 'UNIV-MAIN', orderId }],
  });
  return { orderId, handle };
}

async function stageReached(
  handle: { query: (q: typeof statusQuery) => Promise<OrderStatus> },
  stage: Stage,
) {
  for (let i = 0; i < 400; i++) {
    const s = await handle.query(statusQuery);
    if (s.stage === stage) return s;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`stage ${stage} not reached`);
}

async function stageAttribute(workflowId: string): Promise<unknown> {
  const d = await env.client.workflow.getHandle(workflowId).describe();
  return d.typedSearchAttributes.get(keys.OrderStage);
}

test('warn: the order goes on with POSSIBLE_DUPLICATE naming the line found, and the one bib goes to the PO line', async () => {
  const o = await start('warn', { mode: 'warn', found: ['99111'] });
  const s = await stageReached(o.handle, 'FOLLOWING_UP');
  expect(s.alerts).toContain('POSSIBLE_DUPLICATE');
  expect(s.history.map((h) => h.event)).not.toContain('stage HELD');
  const mailed = staff.get(o.orderId)!.find((a) => a.alert === 'POSSIBLE_DUPLICATE');
  expect(mailed?.summary).toMatch(/POL-OLD-0 \(ACTIVE\), bib 99111/);
  expect(created.get(o.orderId)).toHaveLength(1);
  expect(created.get(o.orderId)![0]!.mmsId).toBe('99111');
  await o.handle.terminate();
});

test('warn with lines on two bibs: no mms_id is chosen for Alma', async () => {
  const o = await start('warn-two', { mode: 'warn', found: ['99111', '99222'] });
  await stageReached(o.handle, 'FOLLOWING_UP');
  expect(created.get(o.orderId)![0]!.mmsId).toBeUndefined();
  await o.handle.terminate();
});

test('hold, then release: HELD (search attribute too), nothing bought until staff release it, then ORDERING', async () => {
  const o = await start('release', { mode: 'hold', found: ['99111'] });
  const held = await stageReached(o.handle, 'HELD');
  expect(held.alerts).toEqual(['POSSIBLE_DUPLICATE']);
  expect(await stageAttribute(o.handle.workflowId)).toBe('HELD');
  expect(created.get(o.orderId)).toBeUndefined();
  const after = await o.handle.executeUpdate(releaseUpdate, {
    args: [{ by: 'staff', comment: 'second copy wanted' }],
  });
  expect(after.stage).not.toBe('HELD');
  const s = await stageReached(o.handle, 'FOLLOWING_UP');
  expect(s.history.find((h) => h.event === 'released')?.detail).toBe('staff: second copy wanted');
  expect(created.get(o.orderId)).toHaveLength(1);
  expect(created.get(o.orderId)![0]!.mmsId).toBe('99111');
  // Released once: a second release is refused (it is no longer held).
  await expect(o.handle.executeUpdate(releaseUpdate, { args: [{}] })).rejects.toBeInstanceOf(
    WorkflowUpdateFailedError,
  );
  await o.handle.terminate();
  await recordHistory(env.client, o.handle.workflowId, 'order-held-released', env.address);
});

test('hold, then the deadline: cancelled with HOLD_EXPIRED, nothing bought', async () => {
  const o = await start('deadline', { mode: 'hold', holdForMs: 300, found: [undefined] });
  const s = await o.handle.result();
  expect(s.stage).toBe('CANCELLED');
  expect(s.alerts).toEqual(['POSSIBLE_DUPLICATE', 'HOLD_EXPIRED']);
  expect(staff.get(o.orderId)!.map((a) => a.alert)).toEqual(['POSSIBLE_DUPLICATE', 'HOLD_EXPIRED']);
  expect(created.get(o.orderId)).toBeUndefined();
  await recordHistory(env.client, o.handle.workflowId, 'order-held-expired', env.address);
});

test('hold, then staff cancel: CANCELLED, nothing bought; release is refused once it has ended', async () => {
  const o = await start('cancel', { mode: 'hold', found: ['99111'] });
  await stageReached(o.handle, 'HELD');
  const s = await o.handle.executeUpdate(cancelUpdate, { args: [{ comment: 'we have it', by: 'staff' }] });
  expect(s.stage).toBe('CANCELLED');
  expect(s.alerts).toEqual(['POSSIBLE_DUPLICATE']);
  expect(created.get(o.orderId)).toBeUndefined();
  // The workflow has closed: nothing can release it any more.
  await expect(o.handle.executeUpdate(releaseUpdate, { args: [{}] })).rejects.toThrow();
});

test('hold with nothing found: no alert, no HELD, ordered at once', async () => {
  const o = await start('none', { mode: 'hold', found: [] });
  const s = await stageReached(o.handle, 'FOLLOWING_UP');
  expect(s.alerts).toEqual([]);
  expect(s.history.map((h) => h.event)).toContain('duplicate check');
  expect(s.history.map((h) => h.event)).not.toContain('stage HELD');
  await o.handle.terminate();
});
