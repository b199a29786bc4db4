/**
 * The order workflow on the real Temporal server, against the Alma sandbox over HTTP and a real SMTP server.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { cancelSignal, invoiceSignal, recordOverlaidSignal, vendorStatusSignal } from '../src/order/messages';
import { orderWorkflowId } from '../src/order/ids';
import { orderWorkflow } from '../src/workflows';
import { exampleOrder, startSystem, type TestSystem } from './harness/system';
import { INVALID_EXAMPLES } from './harness/fixtures';
import { recordHistory } from './harness/histories';

jest.setTimeout(120_000);

let sys: TestSystem;
const run = Date.now().toString(36);
const id = (name: string) => `T-${run}-${name}`;

beforeAll(async () => {
  sys = await startSystem({
    configure: (raw) => {
      // A fund the library configured but Alma does not know yet: Alma puts such a PO line In Review.
      raw.accounts['UNIV-MAIN']!.funds!.push('NEWFUND01');
      // Deadlines short enough to see every alert within a test.
      raw.accounts['UNIV-LAW']!.followUp = {
        firstLookDelay: '50ms',
        bibPollInterval: '100ms',
        bibPollTimeout: '20s',
        statusWithin: '1500ms',
        invoiceWithin: '2s',
        recordWithin: '2500ms',
        followAtMost: '6s',
      };
    },
  });
});

afterAll(async () => {
  await sys?.stop();
});

const source = { file: 'test.edi', sha256: 'x' };

describe('an order from Express Checkout to completion', () => {
  test('validates, creates one PO line, links the brief bib, emails the librarian, follows up and completes', async () => {
    const orderId = id('LIFE');
    const order = exampleOrder('print-single-fund.json', orderId);
    const placed = await sys.orders.placeOrder(order);
    expect(placed.outcome).toBe('started');
    const following = await sys.orders.waitForStage('UNIV-MAIN', orderId, 'FOLLOWING_UP', {
      timeoutMs: 60_000,
    });
    expect(following.stage).toBe('FOLLOWING_UP');
    expect(following.poLine).toMatch(/^POL-/);
    expect(following.mmsId).toMatch(/^\d+$/);

    // Alma has exactly that PO line, with the order's data.
    const state = await sys.sandboxState();
    const lines = state.poLines.filter((p) => p.vendor_reference_number === orderId);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.number).toBe(following.poLine);

    // The librarian's confirmation reached the SMTP server, naming the PO line.
    const mails = (await sys.catcher.messages()).filter((m) => m.raw.includes(orderId));
    expect(mails).toHaveLength(1);
    expect(mails[0]!.to).toContain('ana.lopez@univ.example.edu');
    expect(mails[0]!.raw).toContain(following.poLine!);

    const handle = sys.orders.handle('UNIV-MAIN', orderId);
    await handle.signal(vendorStatusSignal, {
      status: 'accepted',
      statusText: 'accepted by the vendor',
      source,
    });
    await handle.signal(invoiceSignal, {
      invoiceNumber: 'INV-1',
      kind: 'invoice',
      quantity: 1,
      unitPrice: '59.99',
      currency: 'USD',
      mismatches: [],
      source,
    });
    await handle.signal(recordOverlaidSignal, { mmsId: following.mmsId!, source });
    const result = await handle.result();
    expect(result.stage).toBe('COMPLETED');
    expect(result.alerts).toEqual([]);
    expect(result.history.map((h) => h.event)).toEqual(
      expect.arrayContaining([
        'stage VALIDATING',
        'stage ORDERING',
        'stage AWAITING_BIB',
        'stage CONFIRMING',
        'stage FOLLOWING_UP',
        'stage COMPLETED',
      ]),
    );
    // Search attributes staff filter on.
    // Search attributes staff filter on (visibility is eventually consistent: look a few times).
    let listed: string[] = [];
    for (let i = 0; i < 40 && !listed.includes(orderId); i++) {
      listed = (await sys.orders.listOrders({ account: 'UNIV-MAIN', stage: 'COMPLETED' })).map(
        (o) => o.orderId,
      );
      if (!listed.includes(orderId)) await new Promise((r) => setTimeout(r, 250));
    }
    expect(listed).toContain(orderId);
    await recordHistory(sys.client, following.workflowId, 'order-completed');
    // The same, as orders started with the lean-history marker record it (the one above is from before it).
    await recordHistory(sys.client, following.workflowId, 'order-completed-lean');
  });

  test('a repeated submission returns the first order and creates no second PO line', async () => {
    const orderId = id('REPEAT');
    const order = exampleOrder('print-split-funds-rush.json', orderId);
    const first = await sys.orders.placeOrder(order);
    const second = await sys.orders.placeOrder(order);
    expect(first.outcome).toBe('started');
    expect(second.outcome).toBe('existing');
    expect(second.workflowId).toBe(first.workflowId);
    await sys.orders.waitForStage('UNIV-MAIN', orderId, 'FOLLOWING_UP', { timeoutMs: 60_000 });
    const third = await sys.orders.placeOrder(order);
    expect(third.outcome).toBe('existing');
    if (third.outcome === 'existing') expect(third.status.stage).toBe('FOLLOWING_UP');
    const lines = (await sys.sandboxState()).poLines.filter((p) => p.vendor_reference_number === orderId);
    expect(lines).toHaveLength(1);
    await sys.orders.cancelOrder('UNIV-MAIN', orderId, { reason: 'TEST', comment: 'clean up' });
  });

  test('each deadline raises its alert, and the order ends at the longest follow-up', async () => {
    const orderId = id('LATE');
    await sys.orders.placeOrder(exampleOrder('law-library-eur.json', orderId));
    const handle = sys.orders.handle('UNIV-LAW', orderId);
    await expect(handle.result()).rejects.toThrow();
    const s = await sys.orders.getStatus('UNIV-LAW', orderId);
    expect(s.stage).toBe('FAILED');
    expect(s.alerts).toEqual(
      expect.arrayContaining(['STATUS_LATE', 'INVOICE_LATE', 'RECORD_LATE', 'FOLLOW_UP_EXPIRED']),
    );
    await recordHistory(sys.client, s.workflowId, 'order-deadlines-expired');
    // The same, as orders started with the lean-history marker record it (the one above is from before it).
    await recordHistory(sys.client, s.workflowId, 'order-deadlines-expired-lean');
    // No confirmation: UNIV-LAW's default is off. Staff got the alerts by mail.
    const mails = (await sys.catcher.messages()).filter((m) => m.raw.includes(orderId));
    expect(mails.some((m) => m.subject?.includes('STATUS_LATE'))).toBe(true);
    expect(mails.every((m) => !m.to?.includes('j.muller'))).toBe(true);
  });
});

describe('cancellation', () => {
  test('before the PO line exists: nothing is created in Alma', async () => {
    const orderId = id('CANCEL-EARLY');
    const order = exampleOrder('ebook.json', orderId);
    // The cancellation arrives with the start, so the workflow has it before validation returns: the
    // "cancelled before ordering" path, with no Alma call at all.
    const handle = await sys.client.workflow.signalWithStart(orderWorkflow, {
      workflowId: orderWorkflowId('UNIV-MAIN', orderId),
      taskQueue: sys.taskQueue,
      args: [{ order, account: 'UNIV-MAIN', orderId }],
      signal: cancelSignal,
      signalArgs: [{ reason: 'LIBRARY_CANCELLED', comment: 'duplicate', by: 'test' }],
    });
    const result = await handle.result();
    expect(result.stage).toBe('CANCELLED');
    expect(result.poLine).toBeUndefined();
    expect(
      (await sys.sandboxState()).poLines.filter((p) => p.vendor_reference_number === orderId),
    ).toHaveLength(0);
    // The validation alone ran, as a local activity (its marker); no activity was scheduled, Alma's or other.
    const events = (await handle.fetchHistory()).events!;
    expect(events.filter((e) => e.activityTaskScheduledEventAttributes)).toEqual([]);
    expect(
      events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity'),
    ).toHaveLength(1);
    await recordHistory(sys.client, handle.workflowId, 'order-cancelled-early');
  });

  test('while the PO line is being created: it is created, then cancelled in Alma', async () => {
    const orderId = id('CANCEL-ORDERING');
    // Hold Alma's search (the first call of the PO line step) so the cancellation arrives while ORDERING.
    await sys.sandboxPost('/faults', { 'po-lines:GET': { latencyMs: 1500 } });
    try {
      await sys.orders.placeOrder(exampleOrder('ebook.json', orderId));
      await sys.orders.waitForStage('UNIV-MAIN', orderId, 'ORDERING', { timeoutMs: 30_000 });
      const s = await sys.orders.cancelOrder('UNIV-MAIN', orderId, {
        reason: 'LIBRARY_CANCELLED',
        comment: 'duplicate',
      });
      expect(s.stage).toBe('CANCELLED');
    } finally {
      await sys.sandboxPost('/faults', {});
    }
    const lines = (await sys.sandboxState()).poLines.filter((p) => p.vendor_reference_number === orderId);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.status?.value).toBe('CANCELLED');
    await recordHistory(sys.client, `order:UNIV-MAIN:${orderId}`, 'order-cancelled-while-ordering');
  });

  test('after the PO line exists: it is cancelled in Alma', async () => {
    const orderId = id('CANCEL-LATE');
    await sys.orders.placeOrder(exampleOrder('print-single-fund.json', orderId));
    const s1 = await sys.orders.waitForStage('UNIV-MAIN', orderId, 'FOLLOWING_UP', { timeoutMs: 60_000 });
    const s = await sys.orders.cancelOrder('UNIV-MAIN', orderId, {
      reason: 'LIBRARY_CANCELLED',
      comment: 'gift copy arrived',
    });
    expect(s.stage).toBe('CANCELLED');
    const line = (await sys.sandboxState()).poLines.find((p) => p.number === s1.poLine);
    expect(line?.status?.value).toBe('CANCELLED');
    await recordHistory(sys.client, s.workflowId, 'order-cancelled-after-po-line');
    // The same, as orders started with the lean-history marker record it (the one above is from before it).
    await recordHistory(sys.client, s.workflowId, 'order-cancelled-after-po-line-lean');
  });

  test('a vendor cancellation ends the order as cancelled', async () => {
    const orderId = id('VENDOR-CANCEL');
    await sys.orders.placeOrder(exampleOrder('print-single-fund.json', orderId));
    const s1 = await sys.orders.waitForStage('UNIV-MAIN', orderId, 'FOLLOWING_UP', { timeoutMs: 60_000 });
    await sys.orders
      .handle('UNIV-MAIN', orderId)
      .signal(vendorStatusSignal, { status: 'cancelled', statusText: 'cancelled: unable to supply', source });
    const result = await sys.orders.handle('UNIV-MAIN', orderId).result();
    expect(result.stage).toBe('CANCELLED');
    expect(result.alerts).toContain('VENDOR_CANCELLED');
    await recordHistory(sys.client, result.workflowId, 'order-vendor-cancelled');
    const line = (await sys.sandboxState()).poLines.find((p) => p.number === s1.poLine);
    expect(line?.status?.value).toBe('CANCELLED');
  });
});

describe('what Alma says', () => {
  test('a PO line Alma puts In Review goes on, with an alert staff can filter on', async () => {
    const orderId = id('REVIEW');
    // The order is valid for the account, but Alma does not know the fund: Alma's answer is "In Review".
    const order = exampleOrder('print-single-fund.json', orderId);
    (order.fundDistribution as { fund: string }[])[0]!.fund = 'NEWFUND01';
    (order.location as { shelvingLocation: string }).shelvingLocation = 'STACKS';
    await sys.orders.placeOrder(order);
    const s = await sys.orders.waitForStage('UNIV-MAIN', orderId, 'FOLLOWING_UP', { timeoutMs: 60_000 });
    expect(s.stage).toBe('FOLLOWING_UP');
    expect(s.alerts).toContain('ALMA_IN_REVIEW');
    // Alma works asynchronously: the POST's answer said nothing of review (the sandbox gives the status only
    // after its delay), so In Review was read from the line later, and the librarian's mail says so.
    const librarian = (order.placedBy as { email: string }).email;
    const mails = (await sys.catcher.messages()).filter(
      (m) => m.raw.includes(orderId) && (m.to ?? '').includes(librarian),
    );
    expect(mails).toHaveLength(1);
    expect(mails[0]!.subject).toMatch(/^Order received, in review: /);
    expect(mails[0]!.subject).not.toMatch(/confirmed/i);
    await sys.orders.cancelOrder('UNIV-MAIN', orderId, { reason: 'TEST' });
    await recordHistory(sys.client, s.workflowId, 'order-in-review');
  });

  test('every invalid example is refused with its problem named, before any workflow or Alma call', async () => {
    const dir = INVALID_EXAMPLES;
    const before = (await sys.sandboxState()).poLines.length;
    const reasons = readFileSync(path.join(dir, 'REASONS.md'), 'utf8');
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
      const r = await sys.orders.placeOrder(JSON.parse(readFileSync(path.join(dir, file), 'utf8')));
      expect(r.outcome).toBe('refused');
      if (r.outcome !== 'refused') continue;
      const line = reasons.split('\n').find((l) => l.includes(file))!;
      const expectedPath = /`: (\S+)/.exec(line)![1]!.replace(/:$/, '');
      expect(r.problems.map((p) => p.path)).toContain(expectedPath);
    }
    expect((await sys.sandboxState()).poLines.length).toBe(before);
  });
});

describe('an unauthorised key', () => {
  test('ends the order FAILED with Alma code and message, alerts staff, retries nothing, and never leaks the key', async () => {
    process.env.RTO_TEST_WRONG_KEY = 'sandbox-wrong-key-s3cr3t';
    const bad = await startSystem({
      configure: (raw) => {
        raw.institutions['01UNIV_INST']!.apiKey = { env: 'RTO_TEST_WRONG_KEY' };
      },
    });
    try {
      const orderId = id('UNAUTH');
      await bad.orders.placeOrder(exampleOrder('print-single-fund.json', orderId));
      const handle = bad.orders.handle('UNIV-MAIN', orderId);
      await expect(handle.result()).rejects.toThrow();
      const s = await bad.orders.getStatus('UNIV-MAIN', orderId);
      expect(s.stage).toBe('FAILED');
      expect(s.alerts).toContain('ALMA_UNAUTHORISED');
      expect(s.error?.code).toBe('UNAUTHORIZED');
      expect(s.error?.message).toMatch(/API-key not defined/);
      const state = (await bad.sandboxState()) as unknown as {
        calls: Record<string, Record<string, number>>;
      };
      // One search, refused; no retries of a refused key.
      expect(state.calls['po-lines:GET']?.['400']).toBe(1);
      expect(state.calls['po-lines:POST']).toBeUndefined();
      const history = JSON.stringify(await handle.fetchHistory());
      expect(history).not.toContain('sandbox-wrong-key-s3cr3t');
      expect(history).not.toContain(Buffer.from('sandbox-wrong-key-s3cr3t').toString('base64'));
      const mails = (await bad.catcher.messages()).filter((m) => m.raw.includes(orderId));
      expect(mails.some((m) => m.subject?.includes('ALMA_UNAUTHORISED'))).toBe(true);
      await recordHistory(bad.client, s.workflowId, 'order-failed-unauthorised');
    } finally {
      await bad.stop();
    }
  });
});

describe('a request Alma refuses as invalid', () => {
  test('ends the order FAILED with ALMA_REJECTED and Alma code, after one POST', async () => {
    const bad = await startSystem({
      configure: (raw) => {
        // A configuration mistake: the ebook owner is a library this Alma does not have.
        raw.accounts['UNIV-MAIN']!.alma.defaultOwner = 'NOWHERE';
      },
    });
    try {
      const orderId = id('INVALID');
      await bad.orders.placeOrder(exampleOrder('ebook.json', orderId));
      await expect(bad.orders.handle('UNIV-MAIN', orderId).result()).rejects.toThrow();
      const s = await bad.orders.getStatus('UNIV-MAIN', orderId);
      expect(s.stage).toBe('FAILED');
      expect(s.alerts).toContain('ALMA_REJECTED');
      expect(s.error?.code).toMatch(/^40/);
      expect(s.error?.trackingId).toBeTruthy();
      const state = (await bad.sandboxState()) as unknown as {
        calls: Record<string, Record<string, number>>;
        poLines: unknown[];
      };
      expect(Object.values(state.calls['po-lines:POST'] ?? {}).reduce((a, b) => a + b, 0)).toBe(1);
      expect(state.poLines).toHaveLength(0);
    } finally {
      await bad.stop();
    }
  });
});
