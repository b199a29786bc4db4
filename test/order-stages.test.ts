/**
 * The fast tier: the order workflow on a local Temporal server (TestWorkflowEnvironment.createLocal, with the
 * CLI the project builds) against fake activities, so that every alert and a cancellation at every stage, by the
 * library and by the vendor, can be driven in seconds. The activities themselves are tested for real elsewhere
 * (Alma sandbox over HTTP, SMTP, FTP); order-workflow.test.ts runs the same workflow end to end.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { Activities } from '../src/activities';
import { validateActivities } from '../src/activities/validate';
import type {
  CancelPoLineInput,
  ConfirmationInput,
  CreatePoLineInput,
  CreatedPoLine,
  PoLineReading,
  ReadPoLineInput,
} from '../src/activities/types';
import { parseConfig } from '../src/config/load';
import type { StaffAlertInput } from '../src/mail/render';
import { FailureType } from '../src/order/failures';
import { alertMessageId, orderWorkflowId } from '../src/order/ids';
import {
  cancelSignal,
  cancelUpdate,
  invoiceSignal,
  recordOverlaidSignal,
  statusQuery,
  vendorStatusSignal,
} from '../src/order/messages';
import type {
  Alert,
  OrderPlan,
  OrderStatus,
  Stage,
  ValidationOutcome,
  VendorStatusNews,
} from '../src/order/types';
import { orderWorkflow } from '../src/workflows';
import { startFastTierEnvironment } from './harness/fast-tier';
import { recordHistory } from './harness/histories';
import { exampleConfigRaw, exampleOrder } from './harness/system';

jest.setTimeout(120_000);

/** How the fake Alma and mail behave for one order. */
interface Script {
  /** 'silent': the POST's answer carries the number only (Alma still processing the line). */
  poLine?: 'ok' | 'in-review' | 'unauthorised' | 'invalid' | 'unavailable' | 'hold' | 'silent';
  bib?: 'ok' | 'late' | 'unauthorised' | 'hold' | 'parked' | 'in-review' | 'silent';
  /** What the follow-up checks read, one per check (the last repeated); 'fail': the check fails. */
  checks?: (PoLineReading | 'fail')[];
  /** Timings of this order's plan that differ from the fast tier's. */
  timing?: Partial<OrderPlan['timing']>;
  validate?: 'ok' | 'fail';
  mail?: 'ok' | 'fail' | 'hold';
  cancel?: 'ok' | 'fail';
  staff?: 'ok' | 'hold';
}

interface Calls {
  createPoLine: number;
  cancelPoLine: CancelPoLineInput[];
  awaitBriefBib: number;
  confirmations: number;
  confirmedInReview?: boolean;
  confirmedAlma?: ConfirmationInput['alma'];
  readPoLineState: number;
  staff: StaffAlertInput[];
}

const scripts = new Map<string, Script>();
const calls = new Map<string, Calls>();
const callsOf = (orderId: string): Calls => {
  let c = calls.get(orderId);
  if (!c)
    calls.set(
      orderId,
      (c = {
        createPoLine: 0,
        cancelPoLine: [],
        awaitBriefBib: 0,
        confirmations: 0,
        readPoLineState: 0,
        staff: [],
      }),
    );
  return c;
};
/** Holds an activity until the order's test lets it go (or the activity is cancelled). */
const held = new Map<string, () => void>();
async function hold(orderId: string): Promise<void> {
  await new Promise<void>((resolve) => held.set(orderId, resolve));
}
/** Lets a held activity go, once it is being held (the stage is set just before its activity starts). */
async function release(orderId: string): Promise<void> {
  for (let i = 0; i < 400 && !held.has(orderId); i++) await new Promise((r) => setTimeout(r, 25));
  held.get(orderId)!();
}

const refused = (type: string, message: string) =>
  ApplicationFailure.create({
    type,
    message,
    nonRetryable: true,
    details: [{ code: '401652', trackingId: 'E01-TEST' }],
  });

let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;
const taskQueue = 'order-stages';

beforeAll(async () => {
  env = await startFastTierEnvironment();
  const config = parseConfig(
    exampleConfigRaw('http://127.0.0.1:1/almaws/v1', mkdtempSync(path.join(os.tmpdir(), 'rto-stages-'))),
  );
  const real = validateActivities({ config, taskQueue });
  const activities: Partial<Activities> = {
    // The real validation (pure), with the Alma steps on this queue and timings short enough to see every deadline.
    async validateOrderActivity(raw: unknown): Promise<ValidationOutcome> {
      const id = (raw as { orderId: string }).orderId;
      if (scripts.get(id)?.validate === 'fail')
        throw ApplicationFailure.create({
          type: 'WorkerLost',
          message: 'the worker was lost',
          nonRetryable: true,
        });
      const out = await real.validateOrderActivity(raw);
      if (!out.ok) return out;
      const t = out.plan.timing;
      return {
        ok: true,
        plan: {
          ...out.plan,
          almaTaskQueue: taskQueue,
          email: { confirm: true, staff: ['acq@univ.example.edu'] },
          timing: {
            ...t,
            firstLookDelayMs: 50,
            bibPollIntervalMs: 50,
            bibPollTimeoutMs: 2500,
            statusWithinMs: 400,
            invoiceWithinMs: 600,
            recordWithinMs: 800,
            followAtMostMs: 1500,
            almaGiveUpAfterMs: 2500,
            almaRetryInitialMs: 100,
            almaRetryMaxMs: 200,
            poLineCheckEveryMs: 100,
            inReviewWithinMs: 60_000,
            ...scripts.get(id)?.timing,
          },
        },
      };
    },
    async createPoLine(input: CreatePoLineInput): Promise<CreatedPoLine> {
      const id = input.order.orderId;
      callsOf(id).createPoLine++;
      const how = scripts.get(id)?.poLine ?? 'ok';
      if (how === 'hold') await hold(id);
      if (how === 'unauthorised') throw refused(FailureType.AlmaUnauthorised, 'Alma refused the API key');
      if (how === 'invalid')
        throw refused(FailureType.AlmaInvalidRequest, 'Alma refused the PO line: bad fund');
      if (how === 'unavailable')
        throw ApplicationFailure.create({ type: FailureType.AlmaUnavailable, message: 'Alma answered 503' });
      if (how === 'silent')
        // Alma answered before processing the line: the number only (no status, no alerts).
        return { number: `POL-${id}`, inReview: false, almaAlerts: [], found: false, almaCalls: 2 };
      const inReview = how === 'in-review';
      return {
        number: `POL-${id}`,
        status: inReview ? 'IN_REVIEW' : 'ACTIVE',
        inReview,
        almaAlerts: inReview ? ['Fund is not active'] : [],
        found: false,
        almaCalls: 2,
      };
    },
    async cancelPoLine(input: CancelPoLineInput): Promise<void> {
      const id = input.poLine.replace(/^POL-/, '');
      callsOf(id).cancelPoLine.push(input);
      if (scripts.get(id)?.cancel === 'fail')
        throw refused(FailureType.AlmaInvalidRequest, 'PO line is closed');
    },
    async awaitBriefBib(input: { account: string; poLine: string }) {
      const id = input.poLine.replace(/^POL-/, '');
      callsOf(id).awaitBriefBib++;
      const how = scripts.get(id)?.bib ?? 'ok';
      if (how === 'hold') {
        // Polled until the workflow gives up or cancels: heartbeat so a cancellation reaches us.
        for (;;) {
          Context.current().heartbeat();
          await Context.current().sleep(50);
        }
      }
      if (how === 'unauthorised') throw refused(FailureType.AlmaUnauthorised, 'Alma refused the API key');
      if (how === 'parked' && callsOf(id).awaitBriefBib <= 4)
        // The daily budget is spent: the activity ends at once, the workflow waits outside the poll's deadline.
        throw ApplicationFailure.create({
          type: FailureType.AlmaBudgetSpent,
          message: 'the daily Alma API budget is spent',
          nonRetryable: true,
          details: [{ retryAt: Date.now() + 700 }],
        });
      if (how === 'late')
        throw ApplicationFailure.create({ type: FailureType.BibNotLinked, message: 'no bib yet' });
      if (how === 'in-review')
        // Alma decided after the POST's answer (which said ACTIVE, as an asynchronous POST may).
        return { mmsId: '9912345', status: 'IN_REVIEW', inReview: true, almaAlerts: ['Price is missing'] };
      if (how === 'silent') return { mmsId: '9912345' };
      return { mmsId: '9912345', status: 'ACTIVE', inReview: false, almaAlerts: [] };
    },
    async readPoLineState(input: ReadPoLineInput): Promise<PoLineReading> {
      const id = input.poLine.replace(/^POL-/, '');
      const n = callsOf(id).readPoLineState++;
      const checks = scripts.get(id)?.checks ?? [];
      const next = checks[Math.min(n, checks.length - 1)] ?? {
        status: 'ACTIVE',
        statusDesc: 'Active',
        inReview: false,
        almaAlerts: [],
      };
      if (next === 'fail')
        throw ApplicationFailure.create({ type: FailureType.AlmaUnavailable, message: 'Alma answered 503' });
      return next;
    },
    async sendConfirmation(input: ConfirmationInput): Promise<{ messageId: string }> {
      const id = input.plan.order.orderId;
      callsOf(id).confirmations++;
      callsOf(id).confirmedInReview = input.inReview;
      callsOf(id).confirmedAlma = input.alma;
      const how = scripts.get(id)?.mail ?? 'ok';
      if (how === 'hold') await hold(id);
      if (how === 'fail') throw refused(FailureType.MailNotConfigured, 'no SMTP server is configured');
      return { messageId: `<order.${id}@test>` };
    },
    async notifyStaff(input: StaffAlertInput): Promise<void> {
      callsOf(input.orderId).staff.push(input);
      if (scripts.get(input.orderId)?.staff === 'hold') await hold(input.orderId);
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
  for (const letGo of held.values()) letGo();
  worker?.shutdown();
  await running;
  await env?.teardown();
});

let n = 0;
/** Starts an order with its script; `cancelFirst` sends the library's cancellation with the start. */
async function start(name: string, script: Script = {}, cancelFirst = false) {
  const orderId = `S-${++n}-${name}`;
  scripts.set(orderId, script);
  const opts = {
    workflowId: orderWorkflowId('UNIV-MAIN', orderId),
    taskQueue,
    args: [{ order: exampleOrder('print-single-fund.json', orderId), account: 'UNIV-MAIN', orderId }] as [
      Parameters<typeof orderWorkflow>[0],
    ],
  };
  const handle = cancelFirst
    ? await env.client.workflow.signalWithStart(orderWorkflow, {
        ...opts,
        signal: cancelSignal,
        signalArgs: [{ reason: 'LIBRARY_CANCELLED', comment: 'not needed', by: 'test' }],
      })
    : await env.client.workflow.start(orderWorkflow, opts);
  return { orderId, handle, calls: () => callsOf(orderId) };
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

/** The order's status from its failure (REJECTED and FAILED end the workflow as failed, status in the details). */
async function failedStatus(result: Promise<unknown>): Promise<OrderStatus> {
  const err = await result.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const cause = (err as WorkflowFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  return (cause as ApplicationFailure).details![0] as OrderStatus;
}

const source = { file: 'vendor.edi', sha256: 'abc', message: '1', segment: 7 };
const vendor = (status: VendorStatusNews['status'], statusText: string): VendorStatusNews => ({
  status,
  statusText,
  source,
});
const alertsMailed = (c: Calls): Alert[] => c.staff.map((s) => s.alert as Alert);

describe('every alert', () => {
  test('ALMA_IN_REVIEW: the order goes on, staff are told why', async () => {
    const o = await start('review', { poLine: 'in-review' });
    const s = await stageReached(o.handle, 'FOLLOWING_UP');
    expect(s.alerts).toContain('ALMA_IN_REVIEW');
    expect(o.calls().staff.find((a) => a.alert === 'ALMA_IN_REVIEW')?.summary).toMatch(/Fund is not active/);
    await o.handle.terminate();
  });

  test('ALMA_IN_REVIEW decided after the POST: seen by the bib poll, alerted once, and the mail says so', async () => {
    const o = await start('review-later', { bib: 'in-review' });
    const s = await stageReached(o.handle, 'FOLLOWING_UP');
    expect(s.alerts).toEqual(['ALMA_IN_REVIEW']);
    expect(o.calls().staff.find((a) => a.alert === 'ALMA_IN_REVIEW')?.summary).toMatch(/Price is missing/);
    expect(o.calls().confirmedInReview).toBe(true);
    await o.handle.terminate();
  });

  test('In Review at the POST and again at the poll: one alert', async () => {
    const o = await start('review-both', { poLine: 'in-review', bib: 'in-review' });
    const s = await stageReached(o.handle, 'FOLLOWING_UP');
    expect(s.alerts).toEqual(['ALMA_IN_REVIEW']);
    expect(o.calls().staff.filter((a) => a.alert === 'ALMA_IN_REVIEW')).toHaveLength(1);
    await o.handle.terminate();
  });

  test.each([
    ['unauthorised', 'ALMA_UNAUTHORISED', 'unauthorised'],
    ['invalid', 'ALMA_REJECTED', 'invalid-request'],
    ['unavailable', 'ALMA_UNAVAILABLE', 'unavailable'],
  ] as const)('PO line %s: FAILED with %s, error kind %s, Alma code kept', async (how, alert, kind) => {
    const o = await start(`po-${how}`, { poLine: how });
    const s = await failedStatus(o.handle.result());
    expect(s.stage).toBe('FAILED');
    expect(s.alerts).toEqual([alert]);
    expect(s.error?.kind).toBe(kind);
    if (how !== 'unavailable') expect(s.error).toMatchObject({ code: '401652', trackingId: 'E01-TEST' });
    expect(alertsMailed(o.calls())).toEqual([alert]);
    // Refusals are not retried; an outage is, until the account's patience runs out.
    if (how === 'unavailable') expect(o.calls().createPoLine).toBeGreaterThan(1);
    else expect(o.calls().createPoLine).toBe(1);
  });

  test('BIB_LATE: polling gives up, the order is confirmed without an MMS id and goes on', async () => {
    const o = await start('bib-late', { bib: 'late' });
    const s = await stageReached(o.handle, 'FOLLOWING_UP');
    expect(s.alerts).toEqual(['BIB_LATE']);
    expect(s.mmsId).toBeUndefined();
    expect(o.calls().awaitBriefBib).toBeGreaterThan(1);
    expect(o.calls().confirmations).toBe(1);
    await o.handle.terminate();
  });

  test('a bib poll parked for a spent daily budget is not BIB_LATE, however long the budget stays out', async () => {
    // Four parks of 0.7 s: longer than the poll's whole deadline (2.5 s), and still no BIB_LATE.
    const o = await start('bib-parked', { bib: 'parked' });
    const s = await stageReached(o.handle, 'FOLLOWING_UP');
    expect(s.alerts).toEqual([]);
    expect(s.mmsId).toBe('9912345');
    expect(o.calls().awaitBriefBib).toBe(5);
    expect(s.history.filter((h) => h.event === 'bib poll parked')).toHaveLength(4);
    await o.handle.terminate();
    await recordHistory(env.client, o.handle.workflowId, 'order-bib-poll-parked', env.address);
  });

  test('VALIDATION_FAILED: validation that cannot run ends the order FAILED, staff told, nothing in Alma', async () => {
    const o = await start('validation', { validate: 'fail' });
    const s = await failedStatus(o.handle.result());
    expect(s.stage).toBe('FAILED');
    expect(s.alerts).toEqual(['VALIDATION_FAILED']);
    expect(s.error?.kind).toBe('validation-failed');
    expect(alertsMailed(o.calls())).toEqual(['VALIDATION_FAILED']);
    expect(o.calls().createPoLine).toBe(0);
    await recordHistory(env.client, o.handle.workflowId, 'order-validation-failed', env.address);
    // The same, as orders started with the lean-history marker record it (the one above is from before it).
    await recordHistory(env.client, o.handle.workflowId, 'order-validation-failed-lean', env.address);
  });

  test('a refused key while polling for the bib ends the order FAILED', async () => {
    const o = await start('bib-unauth', { bib: 'unauthorised' });
    const s = await failedStatus(o.handle.result());
    expect(s.alerts).toEqual(['ALMA_UNAUTHORISED']);
    expect(o.calls().confirmations).toBe(0);
  });

  test('EMAIL_FAILED: the order goes on', async () => {
    const o = await start('mail', { mail: 'fail' });
    const s = await stageReached(o.handle, 'FOLLOWING_UP');
    expect(s.alerts).toEqual(['EMAIL_FAILED']);
    await o.handle.terminate();
  });

  test('STATUS_LATE, INVOICE_LATE, RECORD_LATE once each, then FOLLOW_UP_EXPIRED', async () => {
    const o = await start('late');
    const s = await failedStatus(o.handle.result());
    expect(s.alerts).toEqual(['STATUS_LATE', 'INVOICE_LATE', 'RECORD_LATE', 'FOLLOW_UP_EXPIRED']);
    expect(alertsMailed(o.calls()).sort()).toEqual([...s.alerts].sort());
    expect(s.error?.kind).toBe('follow-up-expired');
  });

  test('INVOICE_MISMATCH: one mail per invoice line, each its own Message-ID', async () => {
    const o = await start('mismatch');
    await stageReached(o.handle, 'FOLLOWING_UP');
    const invoice = (line: string) => ({
      invoiceNumber: 'INV-1',
      kind: 'invoice' as const,
      quantity: 1,
      unitPrice: '99.00',
      currency: 'USD',
      mismatches: [`line ${line}: price 99.00 USD, ordered at 45.00 USD`],
      source: { ...source, line },
    });
    await o.handle.signal(invoiceSignal, invoice('1'));
    await o.handle.signal(invoiceSignal, invoice('2'));
    await o.handle.signal(invoiceSignal, invoice('2')); // the same line again: counted and mailed once
    for (let i = 0; i < 100 && o.calls().staff.filter((a) => a.alert === 'INVOICE_MISMATCH').length < 2; i++)
      await new Promise((r) => setTimeout(r, 25));
    const mails = o.calls().staff.filter((a) => a.alert === 'INVOICE_MISMATCH');
    expect(mails).toHaveLength(2);
    const ids = mails.map((m) => alertMessageId(m.account, m.orderId, m.alert, m.occurrence));
    expect(new Set(ids).size).toBe(2);
    expect((await o.handle.query(statusQuery)).alerts.filter((a) => a === 'INVOICE_MISMATCH')).toHaveLength(
      1,
    );
    await o.handle.terminate();
  });

  test('VENDOR_PROBLEM: out of print is reported, the order goes on', async () => {
    const o = await start('oop');
    await stageReached(o.handle, 'FOLLOWING_UP');
    await o.handle.signal(vendorStatusSignal, vendor('out-of-print', 'Out of print'));
    await o.handle.signal(recordOverlaidSignal, { mmsId: '9912345', source });
    for (let i = 0; i < 100 && !o.calls().staff.some((a) => a.alert === 'VENDOR_PROBLEM'); i++)
      await new Promise((r) => setTimeout(r, 25));
    const s = await o.handle.query(statusQuery);
    expect(s.alerts).toContain('VENDOR_PROBLEM');
    expect(s.stage).toBe('FOLLOWING_UP');
    await o.handle.terminate();
  });

  test('CANCEL_FAILED: the PO line could not be cancelled in Alma; the order still ends CANCELLED, staff told', async () => {
    const o = await start('cancel-fails', { cancel: 'fail' });
    await stageReached(o.handle, 'FOLLOWING_UP');
    const s = await o.handle.executeUpdate(cancelUpdate, {
      args: [{ reason: 'LIBRARY_CANCELLED', comment: 'gift' }],
    });
    expect(s.stage).toBe('CANCELLED');
    expect(s.alerts).toEqual(['CANCEL_FAILED']);
    // The update answers once the order is CANCELLED; the workflow ends once the alert has been sent.
    expect((await o.handle.result()).alerts).toEqual(['CANCEL_FAILED']);
    expect(alertsMailed(o.calls())).toEqual(['CANCEL_FAILED']);
  });
});

/** Queries the order until `ok` holds of its status (and of what the fakes saw), or gives up. */
async function until(
  o: Awaited<ReturnType<typeof start>>,
  ok: (s: OrderStatus, c: Calls) => boolean,
  what: string,
): Promise<OrderStatus> {
  for (let i = 0; i < 800; i++) {
    const s = await o.handle.query(statusQuery);
    if (ok(s, o.calls())) return s;
    await new Promise((r) => setTimeout(r, 25));
  }
  const last = await o.handle.query(statusQuery).catch(() => undefined);
  throw new Error(`never: ${what}: ${JSON.stringify(last)}`);
}

const reading = (status: string, alerts: string[] = []): PoLineReading => ({
  status,
  statusDesc: status === 'IN_REVIEW' ? 'In Review' : 'Active',
  inReview: status === 'IN_REVIEW',
  almaAlerts: alerts,
});
/** Followed long enough to see several checks (the test server's timers fire about a second apart). */
const longFollowUp = {
  statusWithinMs: 600_000,
  invoiceWithinMs: 600_000,
  recordWithinMs: 600_000,
  followAtMostMs: 600_000,
};
/** A reading in which Alma says nothing yet (no status). */
const silent: PoLineReading = { inReview: false, almaAlerts: [] };
const mailsOf = (c: Calls, alert: Alert) => c.staff.filter((a) => a.alert === alert);

describe('what Alma says of the PO line, read after the POST', () => {
  test('a POST answer without status: no alert, nothing assumed, the mail says the line is being processed', async () => {
    // Alma says nothing at the POST, at the bib poll, nor at the reading before the mail; then ACTIVE.
    const o = await start('silent', {
      poLine: 'silent',
      bib: 'silent',
      checks: [silent, reading('ACTIVE')],
    });
    const s = await stageReached(o.handle, 'FOLLOWING_UP');
    expect(s.alerts).toEqual([]);
    expect(s.history.find((h) => h.event === 'PO line created')?.detail).toBe(
      `POL-${o.orderId} (Alma has not said its status yet)`,
    );
    expect(o.calls().confirmedInReview).toBe(false);
    // No status reached the mail: it says "created, being processed", never "ordered".
    expect(o.calls().confirmedAlma?.status).toBeUndefined();
    expect(o.calls().confirmedAlma?.inReview).toBe(false);
    // The first follow-up check says what Alma says now.
    const later = await until(o, (st) => st.alma?.status === 'ACTIVE', 'status read in FOLLOWING_UP');
    expect(later.alma).toMatchObject({ status: 'ACTIVE', statusDesc: 'Active', inReview: false });
    expect(later.history.map((h) => h.event)).toContain('PO line status in Alma');
    await o.handle.terminate();
    await recordHistory(env.client, o.handle.workflowId, 'order-po-line-status-later', env.address);
  });

  test('silent POST and bib poll, but Alma has said by the time of the mail: one reading before it, the mail says it', async () => {
    const o = await start('read-before-mail', {
      poLine: 'silent',
      bib: 'silent',
      checks: [reading('IN_REVIEW', ['Price is missing'])],
      timing: longFollowUp,
    });
    const s = await stageReached(o.handle, 'FOLLOWING_UP');
    expect(o.calls().readPoLineState).toBeGreaterThanOrEqual(1);
    expect(o.calls().confirmedInReview).toBe(true);
    expect(o.calls().confirmedAlma).toMatchObject({
      status: 'IN_REVIEW',
      inReview: true,
      alerts: ['Price is missing'],
    });
    // Raised when read (before the mail), once.
    expect(s.alerts).toEqual(['ALMA_IN_REVIEW']);
    const events = s.history.map((h) => h.event);
    expect(events.indexOf('alert ALMA_IN_REVIEW')).toBeLessThan(events.indexOf('confirmation emailed'));
    await o.handle.terminate();
    await recordHistory(env.client, o.handle.workflowId, 'order-read-before-confirming', env.address);
    // The same, as orders started with the lean-history marker record it (the one above is from before it).
    await recordHistory(env.client, o.handle.workflowId, 'order-read-before-confirming-lean', env.address);
  });

  test('a status known before the mail: no extra reading before it', async () => {
    const o = await start('no-extra-read', { timing: longFollowUp, checks: [reading('SENT')] });
    await stageReached(o.handle, 'FOLLOWING_UP');
    expect(o.calls().confirmedAlma?.status).toBe('ACTIVE');
    await o.handle.terminate();
  });

  test('the mail carries the status and alerts the bib poll read', async () => {
    const o = await start('mail-alma', { bib: 'in-review' });
    await stageReached(o.handle, 'FOLLOWING_UP');
    expect(o.calls().confirmedAlma).toMatchObject({
      status: 'IN_REVIEW',
      inReview: true,
      alerts: ['Price is missing'],
    });
    await o.handle.terminate();
  });

  test('In Review only in FOLLOWING_UP: ALMA_IN_REVIEW then, once; still In Review past inReviewWithin: IN_REVIEW_LATE, once', async () => {
    const o = await start('review-follow', {
      poLine: 'silent',
      bib: 'silent',
      checks: [silent, reading('IN_REVIEW', ['Fund is not active'])],
      timing: { ...longFollowUp, inReviewWithinMs: 200 },
    });
    await stageReached(o.handle, 'FOLLOWING_UP');
    const s = await until(o, (st) => st.alerts.includes('IN_REVIEW_LATE'), 'IN_REVIEW_LATE');
    expect(s.alerts).toEqual(['ALMA_IN_REVIEW', 'IN_REVIEW_LATE']);
    expect(s.alma).toMatchObject({ status: 'IN_REVIEW', inReview: true, alerts: ['Fund is not active'] });
    expect(s.alma?.inReviewSince).toBeDefined();
    // Checks go on; neither alert comes again for the same stay in review.
    const seen = o.calls().readPoLineState;
    await until(o, (_st, c) => c.readPoLineState >= seen + 3, 'three more checks');
    const c = o.calls();
    expect(mailsOf(c, 'ALMA_IN_REVIEW')).toHaveLength(1);
    expect(mailsOf(c, 'ALMA_IN_REVIEW')[0]!.summary).toMatch(/Fund is not active/);
    expect(mailsOf(c, 'IN_REVIEW_LATE')).toHaveLength(1);
    expect(mailsOf(c, 'IN_REVIEW_LATE')[0]!.summary).toMatch(/In Review in Alma since .*Fund is not active/);
    // The librarian's mail went before Alma said anything: "being processed", not "ordered".
    expect(c.confirmedAlma?.status).toBeUndefined();
    await o.handle.terminate();
    await recordHistory(env.client, o.handle.workflowId, 'order-in-review-in-follow-up', env.address);
    // The same, as orders started with the lean-history marker record it (the one above is from before it).
    await recordHistory(env.client, o.handle.workflowId, 'order-in-review-in-follow-up-lean', env.address);
  });

  test('a line that leaves review: the status is updated, no IN_REVIEW_LATE', async () => {
    const o = await start('review-leaves', {
      poLine: 'in-review',
      bib: 'in-review',
      checks: [reading('ACTIVE')],
      timing: longFollowUp,
    });
    const s = await until(
      o,
      (st) => st.history.some((h) => h.event === 'PO line out of review'),
      'out of review',
    );
    expect(s.alma).toMatchObject({ status: 'ACTIVE', inReview: false });
    expect(s.alma?.inReviewSince).toBeUndefined();
    expect(s.alerts).toEqual(['ALMA_IN_REVIEW']);
    await o.handle.terminate();
  });

  test('In Review, out, and In Review again: ALMA_IN_REVIEW for each entry, each its own Message-ID', async () => {
    const o = await start('review-twice', {
      poLine: 'silent',
      bib: 'silent',
      checks: [reading('IN_REVIEW', ['No price']), reading('ACTIVE'), reading('IN_REVIEW', ['Fund low'])],
      timing: longFollowUp,
    });
    await until(o, (_st, c) => mailsOf(c, 'ALMA_IN_REVIEW').length === 2, 'a second ALMA_IN_REVIEW');
    const seen = o.calls().readPoLineState;
    await until(o, (_st, c) => c.readPoLineState >= seen + 2, 'two more checks');
    const mails = mailsOf(o.calls(), 'ALMA_IN_REVIEW');
    expect(mails).toHaveLength(2);
    expect(mails.map((m) => m.occurrence)).toEqual([undefined, 'entry 2']);
    expect(mails[1]!.summary).toMatch(/Fund low/);
    const ids = mails.map((m) => alertMessageId(m.account, m.orderId, m.alert, m.occurrence));
    expect(new Set(ids).size).toBe(2);
    const s = await o.handle.query(statusQuery);
    expect(s.alerts).toEqual(['ALMA_IN_REVIEW']);
    await o.handle.terminate();
  });

  test('a check that fails is noted and tried next period; the order goes on', async () => {
    const o = await start('check-fails', {
      checks: ['fail', 'fail', 'fail', reading('SENT')],
      timing: longFollowUp,
    });
    const s = await until(o, (st) => st.alma?.status === 'SENT', 'a check after the failures');
    expect(s.history.map((h) => h.event)).toContain('PO line check failed');
    expect(s.stage).toBe('FOLLOWING_UP');
    expect(s.alerts).toEqual([]);
    await o.handle.terminate();
  });

  test('the checks are few: one per period, none after the order ends', async () => {
    // Followed for 1.5 s with a check every 100 ms: at most 15 reads, then none.
    const o = await start('check-count');
    await failedStatus(o.handle.result());
    const n = o.calls().readPoLineState;
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThanOrEqual(16);
  });
});

describe('a cancellation at every stage', () => {
  test('VALIDATING, by the library: nothing reaches Alma', async () => {
    const o = await start('c-validating', {}, true);
    const s = await o.handle.result();
    expect(s.stage).toBe('CANCELLED');
    expect(o.calls().createPoLine).toBe(0);
    expect(o.calls().cancelPoLine).toEqual([]);
  });

  test('VALIDATING, by the vendor: nothing reaches Alma', async () => {
    const orderId = `S-${++n}-v-validating`;
    const handle = await env.client.workflow.signalWithStart(orderWorkflow, {
      workflowId: orderWorkflowId('UNIV-MAIN', orderId),
      taskQueue,
      args: [{ order: exampleOrder('print-single-fund.json', orderId), account: 'UNIV-MAIN', orderId }],
      signal: vendorStatusSignal,
      signalArgs: [vendor('cancelled', 'Cancelled by the vendor')],
    });
    const s = await handle.result();
    expect(s.stage).toBe('CANCELLED');
    expect(s.alerts).toEqual(['VENDOR_CANCELLED']);
    expect(callsOf(orderId).createPoLine).toBe(0);
  });

  for (const by of ['library', 'vendor'] as const) {
    const cancel = async (o: Awaited<ReturnType<typeof start>>) => {
      if (by === 'library')
        await o.handle.signal(cancelSignal, { reason: 'LIBRARY_CANCELLED', comment: 'not needed' });
      else await o.handle.signal(vendorStatusSignal, vendor('not-accepted', 'Not accepted by the vendor'));
    };

    test(`ORDERING, by the ${by}: the PO line is created, then cancelled in Alma; no confirmation`, async () => {
      const o = await start(`c-ordering-${by}`, { poLine: 'hold' });
      await stageReached(o.handle, 'ORDERING');
      await cancel(o);
      await release(o.orderId);
      const s = await o.handle.result();
      expect(s.stage).toBe('CANCELLED');
      expect(o.calls().cancelPoLine.map((c) => c.poLine)).toEqual([`POL-${o.orderId}`]);
      expect(o.calls().confirmations).toBe(0);
    });

    test(`AWAITING_BIB, by the ${by}: polling stops, the PO line is cancelled, no "ordered" mail`, async () => {
      const o = await start(`c-bib-${by}`, { bib: 'hold' });
      await stageReached(o.handle, 'AWAITING_BIB');
      await cancel(o);
      const s = await o.handle.result();
      expect(s.stage).toBe('CANCELLED');
      expect(o.calls().cancelPoLine).toHaveLength(1);
      expect(o.calls().confirmations).toBe(0);
      if (by === 'vendor') expect(o.calls().cancelPoLine[0]!.comment).toMatch(/cancelled by the vendor/);
      await recordHistory(
        env.client,
        o.handle.workflowId,
        `order-cancelled-awaiting-bib-by-${by}`,
        env.address,
      );
    });

    test(`CONFIRMING, by the ${by}: the mail in flight goes, then the order ends CANCELLED`, async () => {
      const o = await start(`c-confirm-${by}`, { mail: 'hold' });
      await stageReached(o.handle, 'CONFIRMING');
      await cancel(o);
      await release(o.orderId);
      const s = await o.handle.result();
      expect(s.stage).toBe('CANCELLED');
      expect(o.calls().cancelPoLine).toHaveLength(1);
      expect(s.history.map((h) => h.event)).not.toContain('stage FOLLOWING_UP');
      await recordHistory(
        env.client,
        o.handle.workflowId,
        `order-cancelled-confirming-by-${by}`,
        env.address,
      );
    });

    test(`FOLLOWING_UP, by the ${by}: the PO line is cancelled in Alma`, async () => {
      const o = await start(`c-follow-${by}`);
      await stageReached(o.handle, 'FOLLOWING_UP');
      await cancel(o);
      const s = await o.handle.result();
      expect(s.stage).toBe('CANCELLED');
      expect(o.calls().cancelPoLine).toHaveLength(1);
      expect(o.calls().cancelPoLine[0]!.reason).toBe(by === 'library' ? 'LIBRARY_CANCELLED' : undefined);
    });
  }

  test('an order in a final stage refuses the cancel update, naming the stage (validator)', async () => {
    // The staff mail of the failure is held, so the order sits in FAILED while still running.
    const o = await start('c-final', { poLine: 'invalid', staff: 'hold' });
    await stageReached(o.handle, 'FAILED');
    const err = await o.handle.executeUpdate(cancelUpdate, { args: [{ reason: 'LIBRARY_CANCELLED' }] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
    expect((err as WorkflowUpdateFailedError).cause?.message).toBe(`order ${o.orderId} has ended: FAILED`);
    await release(o.orderId);
    const s = await failedStatus(o.handle.result());
    expect(s.history.map((h) => h.event)).not.toContain('cancellation requested');
  });
});
