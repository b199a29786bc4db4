/**
 * Alma calls per overlaid record: M orders, each its own new title, taken to FOLLOWING_UP (PO line and brief
 * bib in the Alma sandbox), then one vendor MARC file with a full record per order run through the real
 * overlay workflow. Alma's calls are read from the overlay's report and from the sandbox's own counters.
 * Needs TEMPORAL_TEST_ADDRESS (bench/run.ts starts a dev server and sets it).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { checkIsbn } from '../src/contract/isbn';
import { writeIso2709, type MarcRecord } from '../src/marc';
import { BUILT_IN_CATALOGUE } from '../src/sandbox/alma/seed';
import type { OverlayRunReport } from '../src/workflows/overlay';
import { STAGES, type Stage } from '../src/order/types';
import { exampleOrder, startSystem } from '../test/harness/system';
import {
  ACCOUNT,
  callCounts,
  callsBetween,
  placeAll,
  terminateAll,
  totalCalls,
  waitForAll,
  type CallCounts,
} from './alma.bench';
import { sampleRecord } from './marc.bench';

export interface OverlayBenchResult {
  orders: number;
  /** Orders that did not reach FOLLOWING_UP in time (they have no bib to overlay). */
  notFollowingUp: number;
  read: number;
  matched: number;
  overlaid: number;
  unmatched: number;
  failed: number;
  reportAlmaCalls: number;
  reportAlmaCallsPerRecord: number;
  bibGet: number;
  bibsGet: number;
  bibPut: number;
  sandboxAlmaCallsPerRecord: number;
  /** Every Alma call the sandbox saw during the overlay, by endpoint and status. */
  calls: CallCounts;
  overlaySeconds: number;
  recordsPerSecond: number;
  /** How long placing the orders and taking them to FOLLOWING_UP took (set-up, not part of the figure). */
  setupSeconds: number;
}

function isbn13Check(d12: string): number {
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += Number(d12[i]) * (i % 2 === 0 ? 1 : 3);
  return (10 - (sum % 10)) % 10;
}

/**
 * `count` distinct valid ISBN-13s in the 979-8 range, none of them in the sandbox's catalogue (so Alma makes a
 * brief bib per order). `seed` varies them between runs.
 */
export function freshIsbns(count: number, seed: number): string[] {
  const taken = new Set(BUILT_IN_CATALOGUE.map((c) => c.isbn).filter((i): i is string => !!i));
  const out: string[] = [];
  for (let n = seed % 50_000_000; out.length < count; n++) {
    const d12 = '9798' + String(n % 1e8).padStart(8, '0');
    const isbn = d12 + isbn13Check(d12);
    const checked = checkIsbn(isbn);
    if (!checked.ok) throw new Error(`generated an invalid ISBN ${isbn}`);
    if (!taken.has(isbn)) out.push(isbn);
  }
  return out;
}

/** The vendor's full record for an order: a realistic record whose 020 and 980 $a are the order's. */
function vendorRecord(i: number, orderId: string, isbn: string): MarcRecord {
  const r = sampleRecord(i);
  const fields = r.fields.map((f) => {
    if ('subfields' in f && f.tag === '020') return { ...f, subfields: [{ code: 'a', value: isbn }] };
    if ('subfields' in f && f.tag === '980') return { ...f, subfields: [{ code: 'a', value: orderId }] };
    return f;
  });
  return { ...r, fields };
}

const followingUp = (s: Stage) => STAGES.indexOf(s) >= STAGES.indexOf('FOLLOWING_UP');

export async function runOverlayBench(opts: {
  orders: number;
  timeoutMs?: number;
  log?: (line: string) => void;
}): Promise<OverlayBenchResult> {
  const log = opts.log ?? (() => undefined);
  const timeoutMs = opts.timeoutMs ?? 150_000;
  const run = Date.now().toString(36);
  const sys = await startSystem({
    bibDelayMs: 200,
    configure: (raw) => {
      const inst = raw.institutions['01UNIV_INST']!;
      inst.perSecondThreshold = 50;
      inst.budgetShare = 0.8;
      raw.accounts[ACCOUNT]!.email!.confirmation = false;
    },
  });
  const ids = Array.from({ length: opts.orders }, (_, i) => `BENCH-OV-${run}-${String(i).padStart(4, '0')}`);
  try {
    await sys.sandboxPost('/limits', { institution: '01UNIV_INST', perSecond: 50 });
    const isbns = freshIsbns(opts.orders, Date.now() % 1e7);
    const orders = ids.map((orderId, i) => {
      const o = exampleOrder('print-single-fund.json', orderId);
      (o.item as { isbn: string }).isbn = isbns[i]!;
      return o;
    });
    log(`placing ${opts.orders} orders and waiting for FOLLOWING_UP`);
    const setupStarted = Date.now();
    await placeAll(sys, orders);
    const stuck = await waitForAll(sys, ids, followingUp, timeoutMs);
    const setupSeconds = (Date.now() - setupStarted) / 1000;

    const src = sys.config.accounts[ACCOUNT]!.marc.source;
    if (src?.type !== 'local') throw new Error(`the bench needs a local MARC source for ${ACCOUNT}`);
    mkdirSync(src.path, { recursive: true });
    writeFileSync(
      path.join(src.path, `bench-${run}.mrc`),
      Buffer.concat(ids.map((id, i) => writeIso2709(vendorRecord(i, id, isbns[i]!)))),
    );

    log(`overlaying ${opts.orders} records`);
    const before = await callCounts(sys);
    const started = process.hrtime.bigint();
    const report: OverlayRunReport = await sys.client.workflow.execute('overlayWorkflow', {
      workflowId: `overlay-bench-${run}`,
      taskQueue: sys.taskQueue,
      args: [{ account: ACCOUNT }],
    });
    const overlaySeconds = Number(process.hrtime.bigint() - started) / 1e9;
    const calls = callsBetween(before, await callCounts(sys));
    const [bibGet, bibsGet, bibPut] = ['bib:GET', 'bibs:GET', 'bib:PUT'].map((k) =>
      totalCalls(calls, [k]),
    ) as [number, number, number];
    const per = (n: number) => (report.overlaid ? n / report.overlaid : NaN);
    return {
      orders: opts.orders,
      notFollowingUp: stuck.length,
      read: report.read,
      matched: report.matched,
      overlaid: report.overlaid,
      unmatched: report.unmatched,
      failed: report.failed,
      reportAlmaCalls: report.almaCalls,
      reportAlmaCallsPerRecord: per(report.almaCalls),
      bibGet,
      bibsGet,
      bibPut,
      sandboxAlmaCallsPerRecord: per(bibGet + bibsGet + bibPut),
      calls,
      overlaySeconds,
      recordsPerSecond: report.overlaid / overlaySeconds,
      setupSeconds,
    };
  } finally {
    await terminateAll(sys, ids);
    await sys.stop();
  }
}
