/**
 * Exactly one PO line per order under the faults the Alma sandbox injects, through real Temporal retries,
 * and the institution's API budget: no 429 when the configured share is below the threshold.
 */
import { orderWorkflow } from '../src/workflows';
import { WorkflowIdReusePolicy } from '@temporalio/client';
import { exampleOrder, startSystem, type TestSystem } from './harness/system';

jest.setTimeout(300_000);

const run = Date.now().toString(36);

async function placeMany(sys: TestSystem, n: number, prefix: string): Promise<string[]> {
  const ids = Array.from({ length: n }, (_, i) => `${prefix}-${run}-${String(i).padStart(3, '0')}`);
  // Alternate print (searched by ISBN) and ebook orders; several orders share each ISBN.
  await Promise.all(
    ids.map((orderId, i) =>
      sys.orders.placeOrder(exampleOrder(i % 2 ? 'ebook.json' : 'print-single-fund.json', orderId)),
    ),
  );
  return ids;
}

async function waitPastOrdering(sys: TestSystem, account: string, ids: string[], timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  let pending = ids;
  while (pending.length && Date.now() < deadline) {
    const stages = await Promise.all(
      pending.map((id) => sys.orders.getStatus(account, id, { queryTimeoutMs: 5000 }).then((s) => s.stage)),
    );
    pending = pending.filter((_, i) => stages[i] === 'VALIDATING' || stages[i] === 'ORDERING');
    if (pending.length) await new Promise((r) => setTimeout(r, 1000));
  }
  return pending;
}

async function terminateAll(sys: TestSystem, account: string, ids: string[]) {
  await Promise.all(
    ids.map((id) =>
      sys.orders
        .handle(account, id)
        .terminate('test done')
        .catch(() => undefined),
    ),
  );
}

describe('exactly-once PO lines', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startSystem({
      // The sandbox would refuse a second line with the same vendor reference (docs/alma-sandbox.md): accept it,
      // so that only the project's own care keeps the count at one line per order.
      duplicateReference: 'accept',
      configure: (raw) => {
        const inst = raw.institutions['01UNIV_INST']!;
        inst.perSecondThreshold = 50;
        inst.budgetShare = 0.5;
        inst.requestTimeout = '1s';
        // Park orders after ordering: this test is about the POST, not the follow-up.
        raw.accounts['UNIV-MAIN']!.followUp = { firstLookDelay: '10m' };
        raw.accounts['UNIV-MAIN']!.email!.confirmation = false;
      },
    });
    await sys.sandboxPost('/limits', { institution: '01UNIV_INST', perSecond: 50 });
  });
  afterAll(async () => sys?.stop());

  test('200 orders with 30% 5xx and 10% commit-then-drop end with exactly 200 PO lines, one per order', async () => {
    await sys.sandboxPost('/faults', {
      'po-lines:POST': { error5xx: 0.3, dropAfterCommit: 0.1 },
      'po-lines:GET': { error5xx: 0.1 },
    });
    const ids = await placeMany(sys, 200, 'EO');
    const pending = await waitPastOrdering(sys, 'UNIV-MAIN', ids, 240_000);
    await sys.sandboxPost('/faults', {});
    expect(pending).toEqual([]);
    const state = (await sys.sandboxState()) as Awaited<ReturnType<TestSystem['sandboxState']>> & {
      calls: Record<string, Record<string, number>>;
    };
    const mine = state.poLines.filter((p) => ids.includes(p.vendor_reference_number ?? ''));
    expect(mine).toHaveLength(200);
    expect(new Set(mine.map((p) => p.vendor_reference_number)).size).toBe(200);
    // The faults really happened: Alma answered 5xx and dropped connections after committing.
    const posts = state.calls['po-lines:POST'] ?? {};
    expect(Object.entries(posts).some(([status, n]) => status.startsWith('5') && n > 20)).toBe(true);
    await terminateAll(sys, 'UNIV-MAIN', ids);
  });

  test('a workflow started again for the same order (ids reused after termination) finds the PO line instead of posting', async () => {
    const orderId = `EO-AGAIN-${run}`;
    await sys.orders.placeOrder(exampleOrder('print-single-fund.json', orderId));
    expect(await waitPastOrdering(sys, 'UNIV-MAIN', [orderId], 60_000)).toEqual([]);
    const first = await sys.orders.getStatus('UNIV-MAIN', orderId);
    await sys.orders.handle('UNIV-MAIN', orderId).terminate('simulate an operator restarting the order');
    // The terminated order may be placed again: the new workflow must find, not duplicate, the PO line.
    await sys.client.workflow.start(orderWorkflow, {
      workflowId: first.workflowId,
      taskQueue: sys.taskQueue,
      args: [{ order: exampleOrder('print-single-fund.json', orderId), account: 'UNIV-MAIN', orderId }],
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
    });
    expect(await waitPastOrdering(sys, 'UNIV-MAIN', [orderId], 60_000)).toEqual([]);
    const second = await sys.orders.getStatus('UNIV-MAIN', orderId);
    expect(second.poLine).toBe(first.poLine);
    expect(second.history?.some((h) => h.event.startsWith('PO line found'))).toBe(true);
    const lines = (await sys.sandboxState()).poLines.filter((p) => p.vendor_reference_number === orderId);
    expect(lines).toHaveLength(1);
    await terminateAll(sys, 'UNIV-MAIN', [orderId]);
  });
});

describe("the institution's API budget", () => {
  test('a burst of orders never draws a 429 when the share is below the threshold, and the rate stays under it', async () => {
    const sys = await startSystem({
      configure: (raw) => {
        const inst = raw.institutions['01UNIV_INST']!;
        inst.perSecondThreshold = 10;
        inst.budgetShare = 0.6;
        raw.accounts['UNIV-MAIN']!.followUp = { firstLookDelay: '10m' };
        raw.accounts['UNIV-MAIN']!.email!.confirmation = false;
      },
    });
    try {
      await sys.sandboxPost('/limits', { institution: '01UNIV_INST', perSecond: 10 });
      const ids = await placeMany(sys, 40, 'BURST');
      expect(await waitPastOrdering(sys, 'UNIV-MAIN', ids, 120_000)).toEqual([]);
      const state = (await sys.sandboxState()) as unknown as {
        maxPerSecond: Record<string, number>;
        rateLimited?: Record<string, number>;
        calls: Record<string, Record<string, number>>;
      };
      const all429 = Object.values(state.calls).reduce((n, byStatus) => n + (byStatus['429'] ?? 0), 0);
      expect(all429).toBe(0);
      expect(state.maxPerSecond['01UNIV_INST']).toBeLessThanOrEqual(10);
      await terminateAll(sys, 'UNIV-MAIN', ids);
    } finally {
      await sys.stop();
    }
  });

  test('a spent daily budget holds orders without failing them and without hammering Alma', async () => {
    const sys = await startSystem({
      configure: (raw) => {
        raw.accounts['UNIV-MAIN']!.email!.confirmation = false;
      },
    });
    try {
      await sys.sandboxPost('/limits', { institution: '01UNIV_INST', daily: 0 });
      const ids = await placeMany(sys, 4, 'DAILY');
      await new Promise((r) => setTimeout(r, 6000));
      const stages = await Promise.all(ids.map((id) => sys.orders.getStatus('UNIV-MAIN', id).then((s) => s)));
      for (const s of stages) {
        expect(s.stage).toBe('ORDERING');
        expect(s.workflowStatus).toBe('RUNNING');
      }
      const state = (await sys.sandboxState()) as unknown as {
        calls: Record<string, Record<string, number>>;
      };
      const daily429 = Object.values(state.calls).reduce((n, byStatus) => n + (byStatus['429'] ?? 0), 0);
      // Once Alma said DAILY_THRESHOLD the worker stops calling until the reset: a handful of calls, not a loop.
      expect(daily429).toBeLessThanOrEqual(ids.length + 2);
      await terminateAll(sys, 'UNIV-MAIN', ids);
    } finally {
      await sys.stop();
    }
  });
});
