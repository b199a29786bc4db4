/**
 * Institutions are isolated: each has its own Alma task queue and API budget, so one institution's outage or
 * spent daily budget must not slow another's orders. Two institutions, one worker process: UNIV-LAW moves to
 * 02OTHER_INST, whose Alma fails, while UNIV-MAIN (01UNIV_INST) keeps ordering. Each test times UNIV-MAIN
 * orders to FOLLOWING_UP before and during the other institution's trouble, in the same system.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ConfigFileInput } from '../src/config/schema';
import { exampleOrder, startSystem, type TestSystem } from './harness/system';

jest.setTimeout(120_000);

const run = Date.now().toString(36);
const OTHER = '02OTHER_INST';
/** How many orders of each account a measurement places at once. */
const N = 6;

/** A second institution with its own key; UNIV-LAW orders into it. `gateway` defaults to the sandbox's. */
function withOtherInstitution(gateway?: string) {
  return (raw: ConfigFileInput) => {
    const univ = raw.institutions['01UNIV_INST']!;
    raw.institutions[OTHER] = {
      ...univ,
      gateway: gateway ?? univ.gateway,
      apiKey: { env: `ALMA_API_KEY_${OTHER}`, sandboxDefault: `sandbox-key-${OTHER}` },
      timeZone: 'Europe/Berlin',
    };
    raw.accounts['UNIV-LAW']!.institution = OTHER;
    raw.accounts['UNIV-MAIN']!.email!.confirmation = false;
  };
}

function ids(prefix: string, n = N): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}-${run}-${i}`);
}

async function placeLaw(sys: TestSystem, orderIds: string[]) {
  await Promise.all(orderIds.map((id) => sys.orders.placeOrder(exampleOrder('law-library-eur.json', id))));
}

/** Places UNIV-MAIN orders at once and returns how long until all of them reached FOLLOWING_UP (ms). */
async function timeMainOrders(sys: TestSystem, orderIds: string[]): Promise<number> {
  const started = Date.now();
  await Promise.all(orderIds.map((id) => sys.orders.placeOrder(exampleOrder('print-single-fund.json', id))));
  const reached = await Promise.all(
    orderIds.map((id) =>
      sys.orders.waitForStage('UNIV-MAIN', id, 'FOLLOWING_UP', { timeoutMs: 60_000, pollMs: 100 }),
    ),
  );
  const elapsed = Date.now() - started;
  for (const s of reached) expect(s.stage).toBe('FOLLOWING_UP');
  return elapsed;
}

/** The UNIV-LAW orders are held (still ORDERING and running), not failed, and Alma has no PO line for them. */
async function expectHeld(sys: TestSystem, lawIds: string[]) {
  for (const id of lawIds) {
    const s = await sys.orders.getStatus('UNIV-LAW', id);
    expect(s.stage).toBe('ORDERING');
    expect(s.workflowStatus).toBe('RUNNING');
  }
  const lines = (await sys.sandboxState()).poLines.filter((p) =>
    lawIds.includes(p.vendor_reference_number ?? ''),
  );
  expect(lines).toEqual([]);
}

async function terminate(sys: TestSystem, account: string, orderIds: string[]) {
  await Promise.all(
    orderIds.map((id) =>
      sys.orders
        .handle(account, id)
        .terminate('test done')
        .catch(() => undefined),
    ),
  );
}

/** Baseline, then trouble: UNIV-MAIN's time to FOLLOWING_UP with UNIV-LAW's orders stuck must stay close. */
async function compare(sys: TestSystem, tag: string, lawAccountCheck: () => Promise<void>) {
  const warmUp = ids(`${tag}-WARM`, 1);
  const calm = ids(`${tag}-CALM`);
  const law = ids(`${tag}-LAW`);
  const busy = ids(`${tag}-BUSY`);
  try {
    // A warm-up order first, so the baseline does not include the workers' first workflow tasks.
    await timeMainOrders(sys, warmUp);
    const baseline = await timeMainOrders(sys, calm);
    await placeLaw(sys, law);
    // Let the UNIV-LAW orders reach their institution's Alma and fail there before UNIV-MAIN orders again.
    await new Promise((r) => setTimeout(r, 1500));
    await lawAccountCheck();
    const during = await timeMainOrders(sys, busy);
    await expectHeld(sys, law);
    // Generous: the point is "not held up behind the other institution's retries", not a benchmark.
    expect(during).toBeLessThan(Math.max(3 * baseline, baseline + 1500));
  } finally {
    await terminate(sys, 'UNIV-MAIN', [...warmUp, ...calm, ...busy]);
    await terminate(sys, 'UNIV-LAW', law);
  }
}

test("a spent daily budget at one institution does not slow another institution's orders", async () => {
  const sys = await startSystem({ seedFrom: 'final', configure: withOtherInstitution() });
  try {
    expect(sys.config.accounts['UNIV-LAW']!.institution).toBe(OTHER);
    await sys.sandboxPost('/limits', { institution: OTHER, daily: 0 });
    await compare(sys, 'DAILY', async () => {
      const state = (await sys.sandboxState()) as unknown as {
        institutions: Record<string, { dailyUsed: number; remaining: number; poLines: number }>;
        calls: Record<string, Record<string, number>>;
      };
      // 02OTHER_INST's Alma refused them (DAILY_THRESHOLD is a 429) and counted nothing.
      expect(state.institutions[OTHER]).toMatchObject({ remaining: 0, poLines: 0 });
      const all429 = Object.values(state.calls).reduce((n, byStatus) => n + (byStatus['429'] ?? 0), 0);
      expect(all429).toBeGreaterThan(0);
    });
  } finally {
    await sys.stop();
  }
});

test("an outage at one institution (every call 503) does not slow another institution's orders", async () => {
  // The sandbox's faults apply per endpoint to every institution, so 02OTHER_INST's gateway is its own
  // loopback server that answers every call as a gateway in front of a down Alma does.
  let outageCalls = 0;
  const outage: Server = createServer((req, res) => {
    outageCalls++;
    req.resume();
    // A little late, as an overloaded gateway answers: each failed call holds an activity slot meanwhile.
    setTimeout(() => {
      res.writeHead(503, { 'Content-Type': 'text/plain' });
      res.end('Service Temporarily Unavailable');
    }, 300);
  });
  await new Promise<void>((r) => outage.listen(0, '127.0.0.1', () => r()));
  const gateway = `http://127.0.0.1:${(outage.address() as AddressInfo).port}/almaws/v1`;
  const sys = await startSystem({ seedFrom: 'final', configure: withOtherInstitution(gateway) });
  try {
    expect(sys.config.institutions[OTHER]!.gateway).toBe(gateway);
    await compare(sys, 'OUTAGE', async () => {
      expect(outageCalls).toBeGreaterThan(0);
    });
  } finally {
    await sys.stop();
    outage.closeAllConnections();
    await new Promise((r) => outage.close(r));
  }
});
