/**
 * One timeline per order (src/order/timeline.ts): a real order through the sandbox, then the vendor's ORDRSP
 * and INVOIC picked up by the EDI workflow, then a cancellation by staff; its timeline, in the status query,
 * over HTTP and as `rto order status` prints it, names each source in time order. Orders from recorded
 * histories (written before the timeline) get one too. And `rto ui-url --needs-attention`'s link carries a
 * visibility query the server runs, finding the order with an alert and not the one without.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startHttpIntake } from '../src/client/http';
import { workflowListUrl } from '../src/client/ui-url';
import { buildInvoice, buildOrderResponse } from '../src/edi';
import { cancelSignal, statusQuery } from '../src/order/messages';
import { orderTimeline, TIMELINE_SOURCES, type TimelineEntry } from '../src/order/timeline';
import type { OrderStatus } from '../src/order/types';
import type { EdiRunReport } from '../src/workflows/edi';
import { timelineTable } from '../src/cli/order-commands';
import { HISTORIES_DIR, recordHistory } from './harness/histories';
import { json, runRto } from './harness/rto';
import { exampleOrder, startSystem, type TestSystem } from './harness/system';

jest.setTimeout(180_000);

const run = Date.now().toString(36);
const ids = { a: `TL-${run}-A`, b: `TL-${run}-B` };
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;
const HOSTILE = 'Pat\u001b]0;pwned\u0007\u001b[2J\nFORGED ROW';
let sys: TestSystem;
let tmp: string;
let configFile: string;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'rto-timeline-'));
  configFile = path.join(tmp, 'config.json');
  sys = await startSystem({
    configure: (raw) => writeFileSync(configFile, JSON.stringify(raw, null, 2)),
  });
});

afterAll(async () => {
  await sys?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

function rto(args: string[], env: Record<string, string> = {}) {
  return runRto({ sys, configFile, cwd: tmp }, args, { env });
}

function ediDir(): string {
  const source = sys.config.accounts['UNIV-MAIN']!.edi!.source as { type: string; path?: string };
  expect(source.type).toBe('local');
  mkdirSync(source.path!, { recursive: true });
  return source.path!;
}

async function ediRun(): Promise<EdiRunReport> {
  return sys.client.workflow.execute('ediPickupWorkflow', {
    workflowId: `edi-timeline-${run}-${Date.now()}`,
    taskQueue: sys.taskQueue,
    args: [{ account: 'UNIV-MAIN', retry: { initialMs: 200, maxMs: 1000 } }],
  });
}

async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  let last: T | undefined;
  for (let i = 0; i < 240; i++) {
    last = await read();
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} never happened; last: ${JSON.stringify(last)}`);
}

function inTimeOrder(t: TimelineEntry[]): boolean {
  return t.every((e, i) => i === 0 || t[i - 1]!.at <= e.at);
}

/** The order's status from its recorded result (the history's completion event). */
function recordedResult(file: string): OrderStatus | undefined {
  const h = JSON.parse(readFileSync(path.join(HISTORIES_DIR, file), 'utf8')) as {
    events: {
      workflowExecutionCompletedEventAttributes?: { result?: { payloads?: { data: string }[] } };
    }[];
  };
  const done = h.events.find((e) => e.workflowExecutionCompletedEventAttributes);
  const data = done?.workflowExecutionCompletedEventAttributes?.result?.payloads?.[0]?.data;
  return data ? (JSON.parse(Buffer.from(data, 'base64').toString('utf8')) as OrderStatus) : undefined;
}

test('an order from a history recorded before the timeline gets one: sources by event, in time order', () => {
  const s = recordedResult('order-completed.json')!;
  expect(s.stage).toBe('COMPLETED');
  expect(s.history.some((h) => h.source !== undefined)).toBe(false);
  const t = orderTimeline(s);
  expect(t).toHaveLength(s.history.length);
  expect(inTimeOrder(t)).toBe(true);
  const kinds = (source: string) => t.filter((e) => e.source === source).map((e) => e.kind);
  expect(kinds('oasis')).toEqual(['received']);
  expect(kinds('rto')).toEqual(expect.arrayContaining(['stage', 'overlay']));
  expect(kinds('vendor')).toEqual(['vendor-status', 'invoice']);
  expect(t.find((e) => e.source === 'alma')).toMatchObject({ kind: 'alma', what: 'brief bib linked' });
  expect(t[t.length - 1]).toMatchObject({ source: 'rto', kind: 'stage', what: 'stage COMPLETED' });
  const mismatch = orderTimeline(recordedResult('order-invoiced-overlaid-with-mismatch.json')!);
  expect(mismatch.find((e) => e.kind === 'alert')).toMatchObject({
    source: 'rto',
    what: 'alert INVOICE_MISMATCH',
  });
  const byLibrary = orderTimeline(recordedResult('order-cancelled-after-po-line.json')!);
  expect(byLibrary.find((e) => e.kind === 'cancellation')).toMatchObject({ source: 'staff' });
});

test("Alma's last word is in the timeline of an order whose readings were not noted, at the time it is known", () => {
  const s = recordedResult('order-completed.json')!;
  const t = orderTimeline({
    ...s,
    alma: {
      status: 'IN_REVIEW',
      statusDesc: 'In Review',
      inReview: true,
      alerts: ['Fund NEWFUND01 was not found.'],
      inReviewSince: '2026-11-28T17:05:57.900Z',
      readAt: '2026-11-28T17:05:58.100Z',
    },
  });
  expect(t).toHaveLength(s.history.length + 1);
  expect(inTimeOrder(t)).toBe(true);
  const alma = t.find((e) => e.what === 'PO line status in Alma')!;
  expect(alma).toMatchObject({ at: '2026-11-28T17:05:57.900Z', source: 'alma', kind: 'alma' });
  expect(alma.detail).toBe(
    'In Review (Fund NEWFUND01 was not found.), as last read at 2026-11-28T17:05:58.100Z',
  );
  // Once a reading is noted, it is not said twice.
  const noted = orderTimeline({
    history: [
      ...s.history,
      { at: '2026-11-28T17:05:57.900Z', event: 'PO line status in Alma', detail: 'In Review' },
    ],
    alma: {
      status: 'IN_REVIEW',
      statusDesc: 'In Review',
      inReview: true,
      alerts: [],
      readAt: '2026-11-28T17:05:58.100Z',
    },
  });
  expect(noted.filter((e) => e.what === 'PO line status in Alma')).toHaveLength(1);
});

test('the table escapes what others wrote: no control character reaches the terminal, no line break forges a row', () => {
  const rows = timelineTable([
    { at: '2026-12-02T01:00:00.123Z', source: 'rto', kind: 'stage', what: 'stage ORDERING' },
    {
      at: '2026-12-02T01:00:01.000Z',
      source: 'vendor',
      kind: 'vendor-status',
      what: 'vendor status',
      detail: HOSTILE,
    },
  ]);
  expect(rows).toHaveLength(3);
  expect(rows[0]).toMatch(/^ {2}TIME {2,}SOURCE {2}WHAT$/);
  expect(rows[1]).toBe('  2026-12-02T01:00:00Z  rto     stage ORDERING');
  const text = rows.join('\n');
  expect(text).not.toMatch(CONTROL);
  expect(rows[2]).toContain('Pat\ufffd]0;pwned\ufffd\ufffd[2J⏎FORGED ROW');
});

test('a real order, the vendor ORDRSP and INVOIC, and a cancellation: every source in time order, in the query, over HTTP and in `rto order status`', async () => {
  for (const key of ['a', 'b'] as const) {
    const order = exampleOrder('print-single-fund.json', ids[key]);
    if (key === 'b') (order.item as { isbn: string }).isbn = '9780131103627';
    await sys.orders.placeOrder(order);
  }
  const a = await sys.orders.waitForStage('UNIV-MAIN', ids.a, 'FOLLOWING_UP', { timeoutMs: 90_000 });
  const b = await sys.orders.waitForStage('UNIV-MAIN', ids.b, 'FOLLOWING_UP', { timeoutMs: 90_000 });
  expect([a.stage, b.stage]).toEqual(['FOLLOWING_UP', 'FOLLOWING_UP']);

  const dir = ediDir();
  writeFileSync(
    path.join(dir, `ordrsp-${run}.edi`),
    buildOrderResponse({
      sender: '5013546025078',
      recipient: '5412345000176',
      documentNumber: `R-${run}`,
      lines: [
        { poLine: a.poLine!, vendorRef: ids.a, status: 'accepted', ordered: 1 },
        // Order B: the vendor cancels it (an alert: it needs staff).
        { poLine: b.poLine!, vendorRef: ids.b, status: 'cancelled', ordered: 1 },
      ],
    }),
  );
  writeFileSync(
    path.join(dir, `invoice-${run}.edi`),
    buildInvoice({
      sender: '5013546025078',
      recipient: '5412345000176',
      number: `INV-${run}`,
      date: '2026-12-01',
      currency: 'USD',
      lines: [
        { poLine: a.poLine!, vendorRef: ids.a, quantity: 1, netUnitPrice: '59.99', lineAmount: '59.99' },
      ],
    }),
  );
  const report = await ediRun();
  expect(report.files.filter((f) => f.name.includes(run)).map((f) => f.outcome)).toEqual([
    'processed',
    'processed',
  ]);
  await until(
    'the invoice on order A',
    () => sys.orders.handle('UNIV-MAIN', ids.a).query(statusQuery),
    (s) => s.invoices.length === 1 && s.vendorStatus?.status === 'accepted',
  );
  // Staff cancel it (a signal, as the Temporal UI sends one), signing with text no terminal should obey.
  await sys.orders.handle('UNIV-MAIN', ids.a).signal(cancelSignal, { by: HOSTILE, comment: 'wrong title' });
  const ended = await sys.orders.waitForStage('UNIV-MAIN', ids.a, 'CANCELLED', { timeoutMs: 60_000 });
  expect(ended.stage).toBe('CANCELLED');
  // With the `timeline-alma-readings` and `timeline-sources` markers: replayed by test/replay.test.ts.
  await recordHistory(sys.client, ended.workflowId, 'order-timeline-vendor-staff');

  // The status query answers the timeline itself (a worker is running the order until it closes: read the result).
  const t = ended.timeline!;
  expect(inTimeOrder(t)).toBe(true);
  for (const source of ['oasis', 'rto', 'alma', 'vendor', 'staff'] as const)
    expect(t.some((e) => e.source === source)).toBe(true);
  expect(t.every((e) => (TIMELINE_SOURCES as readonly string[]).includes(e.source))).toBe(true);
  const first = (pred: (e: TimelineEntry) => boolean) => t.findIndex(pred);
  const received = first((e) => e.kind === 'received');
  const created = first((e) => e.what === 'PO line created');
  const almaSaid = first((e) => e.source === 'alma' && e.what === 'PO line status in Alma');
  const vendor = first((e) => e.source === 'vendor' && e.kind === 'vendor-status');
  const invoice = first((e) => e.source === 'vendor' && e.kind === 'invoice');
  const staff = first((e) => e.source === 'staff' && e.kind === 'cancellation');
  const cancelled = first((e) => e.what === 'stage CANCELLED');
  expect(received).toBe(0);
  expect(created).toBeGreaterThan(received);
  // Every reading that changed Alma's status is noted now (the sandbox processes the line after the POST).
  expect(almaSaid).toBeGreaterThan(created);
  expect(t[almaSaid]!.detail).toBeTruthy();
  expect(vendor).toBeGreaterThan(almaSaid);
  expect(t[vendor]).toMatchObject({ what: 'vendor status accepted' });
  expect(t[invoice]).toMatchObject({ what: `invoice INV-${run}` });
  expect(staff).toBeGreaterThan(Math.min(vendor, invoice));
  expect(cancelled).toBeGreaterThan(staff);
  // The history's new entries say their source; the timeline is the same whichever way it is derived.
  expect(orderTimeline({ history: ended.history!, alma: undefined }).map((e) => e.source)).toEqual(
    t.filter((e) => !e.detail?.includes('as last read')).map((e) => e.source),
  );

  // Over HTTP: GET /orders/{account}/{id} carries it.
  const intake = await startHttpIntake({
    orders: sys.orders,
    config: sys.config,
    token: 'timeline-test-token',
    port: 0,
    logger: sys.logger,
  });
  try {
    const res = await fetch(`${intake.url}/orders/UNIV-MAIN/${ids.a}`, {
      headers: { authorization: 'Bearer timeline-test-token' },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { timeline: TimelineEntry[] };
    expect(body.timeline).toEqual(t);
  } finally {
    await intake.close();
  }

  // `rto order status`: a table (not JSON), escaped; `--json` the same timeline.
  const [table, asJson] = await Promise.all([
    rto(['order', 'status', 'UNIV-MAIN', ids.a]),
    rto(['order', 'status', 'UNIV-MAIN', ids.a, '--json']),
  ]);
  expect(table.code).toBe(0);
  const lines = table.stdout.split('\n');
  const head = lines.indexOf('timeline');
  expect(head).toBeGreaterThan(0);
  expect(lines[head + 1]).toMatch(/^ {2}TIME +SOURCE +WHAT$/);
  const rows = lines.slice(head + 2).filter((l) => l.startsWith('  2'));
  expect(rows).toHaveLength(t.length);
  expect(rows.map((r) => r.split(/ {2,}/)[2])).toEqual(t.map((e) => e.source));
  expect(rows.some((r) => /vendor +vendor status accepted/.test(r))).toBe(true);
  expect(table.stdout).not.toMatch(CONTROL);
  expect(table.stdout).toContain('\ufffd]0;pwned');
  expect(table.stdout).not.toMatch(/^FORGED ROW/m);
  expect(json<{ timeline: TimelineEntry[] }>(asJson).timeline).toEqual(t);

  // `rto ui-url --needs-attention`: B (the vendor cancelled it: an alert) is listed, A (no alert) is not.
  const ui = await rto(['ui-url', '--needs-attention', '--account', 'UNIV-MAIN'], {
    TEMPORAL_UI_URL: 'https://temporal.example.edu/ui/',
  });
  expect(ui.code).toBe(0);
  const url = new URL(ui.stdout.trim());
  expect(`${url.origin}${url.pathname}`).toBe('https://temporal.example.edu/ui/namespaces/default/workflows');
  expect(ui.stdout).not.toContain('+');
  const query = url.searchParams.get('query')!;
  expect(query).toBe(
    "WorkflowType = 'orderWorkflow' AND OasisAccount = 'UNIV-MAIN' AND " +
      "(OrderAlerts IS NOT NULL OR OrderStage IN ('FAILED', 'HELD'))",
  );
  expect(
    workflowListUrl('https://temporal.example.edu/ui/', 'default', {
      account: 'UNIV-MAIN',
      needsAttention: true,
    }),
  ).toBe(url.toString());
  const listed = await until(
    'order B listed as needing attention',
    async () => {
      const found: string[] = [];
      for await (const wf of sys.client.workflow.list({ query })) found.push(wf.workflowId);
      return found;
    },
    (found) => found.includes(b.workflowId),
  );
  expect(listed).not.toContain(a.workflowId);
});

test('rto ui-url: filters add up, and unknown values are refused naming the option', async () => {
  const [byStage, badStage, badAccount] = await Promise.all([
    rto(['ui-url', '--stage', 'failed', '--alert', 'BIB_LATE'], { TEMPORAL_UI_PORT: '18233' }),
    rto(['ui-url', '--stage', 'NOPE']),
    rto(['ui-url', '--account', 'NOPE']),
  ]);
  expect(byStage.code).toBe(0);
  const url = new URL(byStage.stdout.trim());
  expect(url.origin).toBe('http://127.0.0.1:18233');
  expect(url.searchParams.get('query')).toBe(
    "WorkflowType = 'orderWorkflow' AND OrderStage = 'FAILED' AND OrderAlerts = 'BIB_LATE'",
  );
  // Valid visibility syntax: the server runs it.
  for await (const _ of sys.client.workflow.list({ query: url.searchParams.get('query')! })) break;
  expect(badStage.code).toBe(2);
  expect(badStage.stderr).toContain('unknown stage "NOPE" (--stage)');
  expect(badAccount.code).toBe(2);
  expect(badAccount.stderr).toContain('unknown account "NOPE" (--account)');
});
