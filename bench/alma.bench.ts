/**
 * Alma calls per created PO line: N orders through the real system (Alma sandbox, workers, Temporal), once
 * without faults and once with the sandbox failing and dropping PO line POSTs, counting the calls Alma saw.
 * Orders are parked after ordering (first look in 10 minutes) so only the ordering step calls Alma.
 * Needs TEMPORAL_TEST_ADDRESS (bench/run.ts starts a dev server and sets it).
 */
import { exampleOrder, startSystem, type TestSystem } from '../test/harness/system';
import type { Stage } from '../src/order/types';

export const ACCOUNT = 'UNIV-MAIN';

/** Calls the sandbox answered: endpoint key → HTTP status → count. */
export type CallCounts = Record<string, Record<string, number>>;

export async function callCounts(sys: TestSystem): Promise<CallCounts> {
  const state = (await sys.sandboxState()) as { calls?: CallCounts };
  return state.calls ?? {};
}

/** The calls made between two snapshots (the counters only grow). */
export function callsBetween(before: CallCounts, after: CallCounts): CallCounts {
  const out: CallCounts = {};
  for (const [key, byStatus] of Object.entries(after)) {
    for (const [status, n] of Object.entries(byStatus)) {
      const d = n - (before[key]?.[status] ?? 0);
      if (d > 0) (out[key] ??= {})[status] = d;
    }
  }
  return out;
}

export function totalCalls(calls: CallCounts, keys: string[]): number {
  return keys.reduce((sum, k) => sum + Object.values(calls[k] ?? {}).reduce((a, b) => a + b, 0), 0);
}

/** Places the orders concurrently; a refused order is a bench bug, not a figure. */
export async function placeAll(sys: TestSystem, orders: Record<string, unknown>[]): Promise<void> {
  await Promise.all(
    orders.map(async (o) => {
      const r = await sys.orders.placeOrder(o);
      if (r.outcome !== 'started')
        throw new Error(`order ${String(o.orderId)} was not started: ${JSON.stringify(r)}`);
    }),
  );
}

/**
 * Polls the pending orders' stages until `done(stage)` holds for all, or the timeout passes.
 * Returns the ids still pending (empty when all got there).
 */
export async function waitForAll(
  sys: TestSystem,
  ids: string[],
  done: (stage: Stage) => boolean,
  timeoutMs: number,
  /** Called once per order when it first satisfies `done` (for per-order latencies). */
  onDone?: (id: string) => void,
): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  let pending = ids;
  while (pending.length && Date.now() < deadline) {
    const stages = await Promise.all(
      pending.map((id) =>
        sys.orders
          .getStatus(ACCOUNT, id, { queryTimeoutMs: 5000 })
          .then((s) => s.stage)
          .catch((): Stage => 'VALIDATING'),
      ),
    );
    const still = pending.filter((_, i) => !done(stages[i]!));
    if (onDone) for (const id of pending) if (!still.includes(id)) onDone(id);
    pending = still;
    if (pending.length) await new Promise((r) => setTimeout(r, 250));
  }
  return pending;
}

export async function terminateAll(sys: TestSystem, ids: string[]): Promise<void> {
  // In slices: hundreds of concurrent RPCs on a 2-core machine only queue up anyway.
  for (let i = 0; i < ids.length; i += 50) {
    await Promise.all(
      ids.slice(i, i + 50).map((id) =>
        sys.orders
          .handle(ACCOUNT, id)
          .terminate('bench done')
          .catch(() => undefined),
      ),
    );
  }
}

export interface OrderingFigures {
  orders: number;
  /** Orders that did not get past ORDERING within the time allowed (0 when the run is complete). */
  stuck: number;
  poLinesCreated: number;
  poLinesPerOrder: number;
  poLinesGet: number;
  poLinesPost: number;
  almaCallsPerPoLine: number;
  /** Calls by endpoint and status during the phase, as the sandbox counted them. */
  calls: CallCounts;
  wallSeconds: number;
  ordersPerSecond: number;
  /** Placed → past ORDERING, per order (seen by polling every 250 ms): median and max, seconds. */
  latencyMedianSeconds: number;
  latencyMaxSeconds: number;
}

export interface AlmaBenchResult {
  noFaults: OrderingFigures;
  withFaults: OrderingFigures;
}

const PO_LINE_KEYS = ['po-lines:GET', 'po-lines:POST'];
export const FAULTS = { 'po-lines:POST': { error5xx: 0.3, dropAfterCommit: 0.1 } };

const pastOrdering = (s: Stage) => s !== 'VALIDATING' && s !== 'ORDERING';

async function orderingPhase(
  sys: TestSystem,
  n: number,
  prefix: string,
  timeoutMs: number,
): Promise<{ figures: OrderingFigures; ids: string[] }> {
  const ids = Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(4, '0')}`);
  // Print orders (searched by ISBN in the catalogue) alternate with ebooks, as OASIS sends them.
  const orders = ids.map((id, i) => exampleOrder(i % 2 ? 'ebook.json' : 'print-single-fund.json', id));
  const before = await callCounts(sys);
  const started = process.hrtime.bigint();
  await placeAll(sys, orders);
  const placedAt = Date.now();
  const latencies: number[] = [];
  const stuck = await waitForAll(sys, ids, pastOrdering, timeoutMs, () =>
    latencies.push((Date.now() - placedAt) / 1000),
  );
  const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  latencies.sort((x, y) => x - y);
  const state = await sys.sandboxState();
  const calls = callsBetween(before, (state as { calls?: CallCounts }).calls ?? {});
  const mine = new Set(ids);
  const poLinesCreated = state.poLines.filter((p) => mine.has(p.vendor_reference_number ?? '')).length;
  const [poLinesGet, poLinesPost] = PO_LINE_KEYS.map((k) => totalCalls(calls, [k])) as [number, number];
  const done = n - stuck.length;
  return {
    ids,
    figures: {
      orders: n,
      stuck: stuck.length,
      poLinesCreated,
      poLinesPerOrder: poLinesCreated / n,
      poLinesGet,
      poLinesPost,
      almaCallsPerPoLine: poLinesCreated ? (poLinesGet + poLinesPost) / poLinesCreated : NaN,
      calls,
      wallSeconds,
      ordersPerSecond: done / wallSeconds,
      latencyMedianSeconds: latencies.length ? latencies[Math.floor(latencies.length / 2)]! : NaN,
      latencyMaxSeconds: latencies.length ? latencies[latencies.length - 1]! : NaN,
    },
  };
}

export async function runAlmaBench(opts: {
  orders: number;
  timeoutMs?: number;
  log?: (line: string) => void;
}): Promise<AlmaBenchResult> {
  const log = opts.log ?? (() => undefined);
  const timeoutMs = opts.timeoutMs ?? 150_000;
  const run = Date.now().toString(36);
  const sys = await startSystem({
    configure: (raw) => {
      const inst = raw.institutions['01UNIV_INST']!;
      inst.perSecondThreshold = 50;
      inst.budgetShare = 0.8;
      inst.requestTimeout = '1s';
      raw.accounts[ACCOUNT]!.followUp = { firstLookDelay: '10m' };
      raw.accounts[ACCOUNT]!.email!.confirmation = false;
    },
  });
  const placed: string[] = [];
  try {
    await sys.sandboxPost('/limits', { institution: '01UNIV_INST', perSecond: 50 });
    log(`ordering ${opts.orders} orders without faults`);
    const a = await orderingPhase(sys, opts.orders, `BENCH-OK-${run}`, timeoutMs);
    placed.push(...a.ids);
    log(`ordering ${opts.orders} orders with faults ${JSON.stringify(FAULTS)}`);
    await sys.sandboxPost('/faults', FAULTS);
    let b;
    try {
      b = await orderingPhase(sys, opts.orders, `BENCH-FAULT-${run}`, timeoutMs);
    } finally {
      await sys.sandboxPost('/faults', {});
    }
    placed.push(...b.ids);
    return { noFaults: a.figures, withFaults: b.figures };
  } finally {
    await terminateAll(sys, placed);
    await sys.stop();
  }
}
