/**
 * `rto bench` (npm run bench): the project's benchmarks in one run, printed as a table and one JSON line.
 * Figures only, no thresholds: the machine is shared and noisy, so read ratios, not absolute times.
 *
 *   MARC reading       records/s for ISO 2709 and MARCXML, peak RSS       (bench/marc.bench.ts)
 *   EDI reading        messages/s and peak RSS for a generated 200 MB file  (bench/edi.bench.ts)
 *   ordering           Alma calls per created PO line, with and without faults  (bench/alma.bench.ts)
 *   MARC overlay       Alma calls per overlaid record                      (bench/overlay.bench.ts)
 *   API budget         pacing, 429s beside a foreign load and when misconfigured, daily resume (bench/budget.bench.ts)
 *   budget, orders     orders to FOLLOWING_UP beside a foreign load, configured right and 4x too high
 *                      (bench/budget-orders.bench.ts): 429s per project call, orders through, time
 *   production         issue 11: pipeline to FOLLOWING_UP vs a no-op workflow of the same shape, intake latency
 *                      idle and under that load, history per order at COMPLETED (bench/production.bench.ts),
 *                      worker RSS with N orders open in FOLLOWING_UP, in a child process (bench/worker-rss.bench.ts)
 *   exactly once       issue 9's proof at full size: 500 orders under --index-lag 30s --async-delay 3s, strict
 *                      search, duplicate references accepted, faults, two worker kills (bench/exactly-once.bench.ts)
 *
 * The ordering and overlay benches run the real system against a Temporal dev server started here (headless,
 * free port, in memory) and stopped at the end, with everything else, so the process exits.
 */
import { parse, EXIT, UsageError } from '../src/cli/args';
import { resolveTemporalCli } from '../src/temporal/cli-binary';
import { startDevServer, type DevServer } from '../src/temporal/dev-server';
import { FAULTS, runAlmaBench, type AlmaBenchResult } from './alma.bench';
import { runBudgetBench, type BudgetBenchResult } from './budget.bench';
import { runBudgetOrdersBench, type BudgetOrdersBenchResult } from './budget-orders.bench';
import { runEdiBench, type EdiBenchResult } from './edi.bench';
import { runExactlyOnceBench, type ExactlyOnceBenchResult } from './exactly-once.bench';
import { runMarcBench, type MarcBenchResult } from './marc.bench';
import { runOverlayBench, type OverlayBenchResult } from './overlay.bench';
import {
  runHistoryBench,
  runPipelineBench,
  type HistoryFigures,
  type PipelineFigures,
} from './production.bench';
import { runWorkerRssBench, type WorkerRssFigures } from './worker-rss.bench';

const USAGE = `Usage: rto bench [--orders N] [--overlay-orders M] [--marc-records R] [--budget-orders B]

  --orders N          orders per ordering run, without and with faults (default 100; 0 skips it)
  --overlay-orders M  orders taken to FOLLOWING_UP and overlaid from one MARC file (default 120; 0 skips it)
  --marc-records R    records generated and read by the MARC reading bench (default 100000; 0 skips it)
  --edi-mb M          size in MB of the EDI file generated and read by the EDI reading bench (default 200; 0 skips it)
  --budget-orders B   orders per API budget run beside a foreign load, configured right and 4x too high (default 100; 0 skips it)
  --proof-orders P    orders in the exactly-once proof under Alma's real search (default 500; 0 skips it)
  --pipeline-orders Q orders to FOLLOWING_UP, 30 at a time, against as many no-op workflows, with the HTTP
                      intake beside both (default 300; 0 skips it)
  --rss-orders R      orders held open in FOLLOWING_UP while the worker child's RSS is read (default 10000, the
                      issue's figure: 1.5 to 2 hours on a loaded 2-core machine, ~100 orders a minute; 0 skips it)
  --rss-cache C       the worker child's maxCachedWorkflows for that run (default: the project's,
                      RTO_MAX_CACHED_WORKFLOWS's default)
  --history-orders H  orders run to COMPLETED whose histories are measured (default 50; 0 skips it)

  The production figures alone: rto bench --orders 0 --overlay-orders 0 --marc-records 0 --edi-mb 0 \
                                           --budget-orders 0 --proof-orders 0`;

function count(value: string | undefined, fallback: number, name: string, min: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`--${name} must be a whole number >= ${min}\n\n${USAGE}`);
  return n;
}

const fixed = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

function table(
  marc: MarcBenchResult | undefined,
  alma: AlmaBenchResult | undefined,
  overlay: OverlayBenchResult | undefined,
  budget: BudgetBenchResult,
  edi?: EdiBenchResult,
  budgetOrders?: BudgetOrdersBenchResult,
): string {
  const rows: [string, string][] = [];
  if (edi) {
    rows.push(
      [
        `EDI reading, INVOIC (${edi.megabytes} MB, ${edi.messages} messages), messages/s`,
        String(edi.messagesPerSec),
      ],
      ['EDI reading, MB/s', String(edi.megabytesPerSec)],
      ['EDI reading, RSS before / peak while reading, MB', `${edi.rssBeforeReadMb} / ${edi.peakRssMb}`],
    );
  }
  rows.push(
    [
      'Budget pacing: configured / peak calls in any second',
      `${budget.configuredPerSecond} / ${budget.peakPerSecond}`,
    ],
    [
      'Foreign app at 20/s of 25/s: its 429 share alone / with the project at 10/s',
      `${fixed(budget.foreignRefusedShareWithoutProject * 100, 1)}% / ${fixed(budget.foreignRefusedShare * 100, 1)}%`,
    ],
    ["  the project's refused calls per accepted one beside it", fixed(budget.projectRefusedPerAccepted)],
    [
      'Configured 4x too high (100/s vs 25/s): refused per accepted / accepted per s',
      `${fixed(budget.misconfiguredRefusedPerAccepted)} / ${fixed(budget.misconfiguredAcceptedPerSecond, 1)}`,
    ],
    [
      `Daily budget back: delay to the first call through (probe every ${budget.dailyProbeIntervalMs} ms), ms`,
      String(budget.dailyResumeDelayMs),
    ],
  );
  if (budgetOrders) {
    const { foreignLoad: a, misconfigured: b } = budgetOrders;
    const both = (f: (r: typeof a) => string) => `${f(a)} | ${f(b)}`;
    rows.push(
      [
        `Budget on the order path, foreign app at ${a.foreignPerSecond}/s of ${a.realPerSecond}/s: configured right | 4x too high`,
        both((r) => `${r.configuredPerSecond}/s x ${r.budgetShare}`),
      ],
      ['  429s per project call (target <= 5%)', both((r) => `${fixed(r.project429PerCall * 100, 1)}%`)],
      ['  project calls / of them 429', both((r) => `${r.projectCalls} / ${r.project429}`)],
      ['  orders at FOLLOWING_UP', both((r) => `${r.followingUp} of ${r.orders}`)],
      [
        '  time to the last one / median per order, s',
        both((r) => `${fixed(r.seconds, 1)} / ${fixed(r.medianSeconds, 1)}`),
      ],
      [
        "  the foreign app's 429 share beside the project",
        both((r) => `${fixed(r.foreign429Share * 100, 1)}%`),
      ],
    );
  }
  if (marc) {
    rows.push(
      [
        `MARC reading, ISO 2709 UTF-8 (${marc.records} records), records/s`,
        String(marc.iso2709RecordsPerSec),
      ],
      [`MARC reading, ISO 2709 MARC-8 (${marc.records} records), records/s`, String(marc.marc8RecordsPerSec)],
      [`MARC reading, MARCXML (${marc.records} records), records/s`, String(marc.marcXmlRecordsPerSec)],
      ['MARC reading, RSS before / peak while reading, MB', `${marc.rssBeforeReadMb} / ${marc.peakRssMb}`],
    );
  }
  for (const [label, f] of alma
    ? ([
        ['no faults', alma.noFaults],
        ['faults', alma.withFaults],
      ] as const)
    : []) {
    rows.push(
      [`Alma calls per created PO line (${label})`, fixed(f.almaCallsPerPoLine)],
      [`  po-lines:GET / po-lines:POST calls (${label})`, `${f.poLinesGet} / ${f.poLinesPost}`],
      [`PO lines per order (${label})`, fixed(f.poLinesPerOrder)],
      [`Orders past ORDERING (${label})`, `${f.orders - f.stuck} of ${f.orders}`],
      [`Ordering wall time (${label}), s`, fixed(f.wallSeconds, 1)],
      [`Orders per second (${label})`, fixed(f.ordersPerSecond)],
      [
        `Placed -> past ORDERING, median / max (${label}), s`,
        `${fixed(f.latencyMedianSeconds, 1)} / ${fixed(f.latencyMaxSeconds, 1)}`,
      ],
    );
  }
  if (overlay)
    rows.push(
      [
        'Overlay: records read / overlaid / unmatched / failed',
        `${overlay.read} / ${overlay.overlaid} / ${overlay.unmatched} / ${overlay.failed}`,
      ],
      ["Alma calls per overlaid record (overlay's report)", fixed(overlay.reportAlmaCallsPerRecord)],
      ['Alma calls per overlaid record (sandbox counters)', fixed(overlay.sandboxAlmaCallsPerRecord)],
      ['  bib:GET / bibs:GET / bib:PUT calls', `${overlay.bibGet} / ${overlay.bibsGet} / ${overlay.bibPut}`],
      ['Overlay wall time, s', fixed(overlay.overlaySeconds, 1)],
      ['Overlay records per second', fixed(overlay.recordsPerSecond)],
    );
  const width = Math.max(...rows.map(([l]) => l.length));
  return rows.map(([l, v]) => `${l.padEnd(width)}  ${v}`).join('\n');
}

/** What makes a run's ratios not comparable: said next to the table rather than hidden in the JSON. */
function incomplete(
  alma: AlmaBenchResult | undefined,
  overlay: OverlayBenchResult | undefined,
  budgetOrders?: BudgetOrdersBenchResult,
): string[] {
  const notes: string[] = [];
  for (const r of budgetOrders ? [budgetOrders.foreignLoad, budgetOrders.misconfigured] : [])
    if (r.followingUp !== r.orders)
      notes.push(`${r.orders - r.followingUp} budget orders (${r.label}) never reached FOLLOWING_UP`);
  for (const [label, f] of alma
    ? ([
        ['no faults', alma.noFaults],
        ['faults', alma.withFaults],
      ] as const)
    : []) {
    if (f.stuck)
      notes.push(`${f.stuck} orders (${label}) were still ordering when the bench stopped waiting`);
    if (f.poLinesCreated !== f.orders)
      notes.push(`${f.poLinesCreated} PO lines for ${f.orders} orders (${label})`);
  }
  if (overlay?.notFollowingUp)
    notes.push(`${overlay.notFollowingUp} overlay orders never reached FOLLOWING_UP`);
  if (overlay && overlay.overlaid !== overlay.orders)
    notes.push(`${overlay.overlaid} of ${overlay.orders} records overlaid`);
  return notes;
}

/** The exactly-once proof's rows: what the sandbox holds per order, and the faults that really happened. */
function proofTable(p: ExactlyOnceBenchResult): string {
  const total = (m: Record<string, number>) => Object.values(m).reduce((n, c) => n + c, 0);
  const fives = (m: Record<string, number>) =>
    Object.entries(m).reduce((n, [k, c]) => n + (k.startsWith('5') ? c : 0), 0);
  const rows: [string, string][] = [
    [
      `Exactly-once proof: orders / PO lines / distinct vendor references`,
      `${p.orders} / ${p.poLines} / ${p.distinctReferences}`,
    ],
    [
      '  orders with no PO line / with more than one / stuck',
      `${p.missing.length} / ${p.duplicated.length} / ${p.stuck.length}`,
    ],
    [
      '  POSTs: all / 5xx / dropped after commit',
      `${total(p.posts)} / ${fives(p.posts)} / ${p.posts.dropped ?? 0}`,
    ],
    [
      '  searches: all / 5xx; vendor-list reads',
      `${total(p.searches)} / ${fives(p.searches)}; ${p.vendorListReads}`,
    ],
    [
      '  worker SIGKILLs; placed again after deletion, same PO line',
      `${p.kills}; ${p.placedAgainSamePoLine}`,
    ],
    ['  wall time, s', String(p.seconds)],
  ];
  const width = Math.max(...rows.map(([l]) => l.length));
  return rows.map(([l, v]) => `${l.padEnd(width)}  ${v}`).join('\n');
}

interface ProductionFigures {
  pipeline?: PipelineFigures;
  history?: HistoryFigures;
  rss?: WorkerRssFigures;
}

/** Issue 11's figures, each beside its target (the targets are for reading, nothing fails on them). */
function productionTable(p: ProductionFigures): string {
  const rows: [string, string][] = [];
  const ms = (n: number) => fixed(n, 1);
  if (p.pipeline) {
    const f = p.pipeline;
    rows.push(
      [
        `Pipeline to FOLLOWING_UP vs no-op (${f.orders} orders, ${f.concurrency} at a time), s`,
        `${fixed(f.pipelineSeconds, 1)} / ${fixed(f.noopSeconds, 1)}`,
      ],
      ['  ratio (target <= 1.2x)', `${fixed(f.ratio)}x`],
      [
        '  no-op shape: activities / local activities / timers (the pipeline had the same, timers:)',
        `${f.activitiesPerOrder} / ${f.localActivitiesPerOrder} / 1 of ${f.noopTimerMs} ms (${f.timersPerOrder})`,
      ],
      [
        `Intake POST /orders idle (${f.intakeIdle.requests}), p50 / p99 / max, ms (target p99 < 50)`,
        `${ms(f.intakeIdle.p50Ms)} / ${ms(f.intakeIdle.p99Ms)} / ${ms(f.intakeIdle.maxMs)}`,
      ],
      [
        `  beside it, the same orders placed by the client library alone (Temporal's start), ms`,
        `${ms(f.startIdle.p50Ms)} / ${ms(f.startIdle.p99Ms)} / ${ms(f.startIdle.maxMs)}`,
      ],
      [
        `Intake POST /orders under the pipeline (${f.intakeUnderLoad.requests}), p50 / p99 / max, ms`,
        `${ms(f.intakeUnderLoad.p50Ms)} / ${ms(f.intakeUnderLoad.p99Ms)} / ${ms(f.intakeUnderLoad.maxMs)}`,
      ],
    );
    if (f.stuck) rows.push(['  NOTE: pipeline orders that never reached FOLLOWING_UP', String(f.stuck)]);
  }
  if (p.history) {
    const h = p.history;
    rows.push(
      [
        `History per order at COMPLETED (${h.completed} of ${h.orders}): events mean / max (target <= 60)`,
        `${fixed(h.eventsMean, 1)} / ${h.eventsMax}`,
      ],
      [
        '  bytes mean / max, KB (target <= 32)',
        `${fixed(h.bytesMean / 1024, 1)} / ${fixed(h.bytesMax / 1024, 1)}`,
      ],
    );
  }
  if (p.rss) {
    const r = p.rss;
    rows.push(
      [
        `Worker RSS, ${r.followingUp} of ${r.orders} orders open in FOLLOWING_UP (maxCachedWorkflows ${r.maxCachedWorkflows}), MB`,
        `${r.rssMb} (idle ${r.rssIdleMb}, peak ${r.peakRssMb})`,
      ],
      [
        '  target: <= 400 MB with 10,000 open (read after 20 s idle; the peak while placing them beside)',
        r.orders >= 10_000 ? 'measured at that size' : `measured with ${r.orders}`,
      ],
      ['  MB per 1,000 orders over idle', fixed(r.mbPer1000Orders, 1)],
      ['  time to place them and see them in FOLLOWING_UP, s', fixed(r.seconds, 1)],
    );
  }
  const width = Math.max(...rows.map(([l]) => l.length));
  return rows.map(([l, v]) => `${l.padEnd(width)}  ${v}`).join('\n');
}

export async function benchCommand(args: string[]): Promise<number> {
  const { values } = parse(
    args,
    {
      orders: { type: 'string' },
      'overlay-orders': { type: 'string' },
      'marc-records': { type: 'string' },
      'edi-mb': { type: 'string' },
      'budget-orders': { type: 'string' },
      'proof-orders': { type: 'string' },
      'pipeline-orders': { type: 'string' },
      'rss-orders': { type: 'string' },
      'history-orders': { type: 'string' },
      'rss-cache': { type: 'string' },
    },
    USAGE,
  );
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return EXIT.ok;
  }
  const orders = count(values.orders, 100, 'orders', 0);
  const overlayOrders = count(values['overlay-orders'], 120, 'overlay-orders', 0);
  const marcRecords = count(values['marc-records'], 100_000, 'marc-records', 0);
  const ediMb = count(values['edi-mb'], 200, 'edi-mb', 0);
  const budgetOrderCount = count(values['budget-orders'], 100, 'budget-orders', 0);
  const proofOrders = count(values['proof-orders'], 500, 'proof-orders', 0);
  const pipelineOrders = count(values['pipeline-orders'], 300, 'pipeline-orders', 0);
  const rssOrders = count(values['rss-orders'], 10_000, 'rss-orders', 0);
  const historyOrders = count(values['history-orders'], 50, 'history-orders', 0);
  const rssCache =
    values['rss-cache'] === undefined ? undefined : count(values['rss-cache'], 0, 'rss-cache', 2);
  const started = Date.now();

  // MARC reading first, alone: its peak RSS then measures the reader, not the workers and Temporal loaded later.
  let marc: MarcBenchResult | undefined;
  if (marcRecords > 0) {
    log(`MARC reading: ${marcRecords} records, ISO 2709 and MARCXML`);
    marc = await runMarcBench({ records: marcRecords });
  }

  log('API budget: pacing, 429s, daily budget (no Temporal)');
  const budget = await runBudgetBench({ log });

  // EDI reading in a child process of its own: its peak RSS is the reader's.
  let edi: EdiBenchResult | undefined;
  if (ediMb > 0) {
    log(`EDI reading: a ${ediMb} MB file of INVOIC messages, message by message`);
    edi = await runEdiBench({ megabytes: ediMb });
  }

  const cli = await resolveTemporalCli({ log });
  log(`starting the Temporal dev server (${cli.source}: ${cli.path})`);
  const previousAddress = process.env.TEMPORAL_TEST_ADDRESS;
  let server: DevServer | undefined;
  let alma: AlmaBenchResult | undefined;
  let overlay: OverlayBenchResult | undefined;
  let budgetOrders: BudgetOrdersBenchResult | undefined;
  let proof: ExactlyOnceBenchResult | undefined;
  const production: ProductionFigures = {};
  try {
    server = await startDevServer({ binary: cli.path, headless: true, port: 0, logLevel: 'error' });
    process.env.TEMPORAL_TEST_ADDRESS = server.address;
    log(`dev server at ${server.address}`);
    if (orders > 0) alma = await runAlmaBench({ orders, log });
    if (overlayOrders > 0) overlay = await runOverlayBench({ orders: overlayOrders, log });
    if (budgetOrderCount > 0) {
      log(`API budget on the order path: ${budgetOrderCount} orders beside a foreign load, twice`);
      budgetOrders = await runBudgetOrdersBench({ orders: budgetOrderCount, log });
    }
    if (proofOrders > 0) {
      log(`exactly-once proof: ${proofOrders} orders under Alma's real search, faults and worker kills`);
      proof = await runExactlyOnceBench({ orders: proofOrders, log });
    }
    if (pipelineOrders > 0) {
      log(
        `production: ${pipelineOrders} orders to FOLLOWING_UP against a no-op workflow, intake timed beside`,
      );
      production.pipeline = await runPipelineBench({ orders: pipelineOrders, log });
      log(`pipeline figures: ${JSON.stringify(production.pipeline)}`);
    }
    // Each figure is logged as it comes: the RSS run is long, and a run stopped in it keeps the others.
    if (historyOrders > 0) {
      production.history = await runHistoryBench({ orders: historyOrders, log });
      log(`history figures: ${JSON.stringify(production.history)}`);
    }
    if (rssOrders > 0)
      production.rss = await runWorkerRssBench({ orders: rssOrders, maxCachedWorkflows: rssCache, log });
  } finally {
    await server?.stop();
    if (previousAddress === undefined) delete process.env.TEMPORAL_TEST_ADDRESS;
    else process.env.TEMPORAL_TEST_ADDRESS = previousAddress;
  }
  const totalSeconds = (Date.now() - started) / 1000;

  process.stdout.write(`\n${table(marc, alma, overlay, budget, edi, budgetOrders)}\n`);
  if (proof) process.stdout.write(`${proofTable(proof)}\n`);
  if (production.pipeline || production.history || production.rss)
    process.stdout.write(`${productionTable(production)}\n`);
  process.stdout.write(`Total bench time, s  ${fixed(totalSeconds, 1)}\n`);
  for (const note of incomplete(alma, overlay, budgetOrders)) process.stdout.write(`NOTE: ${note}\n`);
  process.stdout.write('\n');
  const round = (n: number) => (Number.isFinite(n) ? Math.round(n * 1000) / 1000 : null);
  const ordering = (f: AlmaBenchResult['noFaults']) => ({
    ...f,
    poLinesPerOrder: round(f.poLinesPerOrder),
    almaCallsPerPoLine: round(f.almaCallsPerPoLine),
    wallSeconds: round(f.wallSeconds),
    ordersPerSecond: round(f.ordersPerSecond),
  });
  const json = {
    bench: 'oasis-alma-rto',
    at: new Date(started).toISOString(),
    marc: marc ?? null,
    edi: edi ?? null,
    budget,
    budgetOrders: budgetOrders ?? null,
    exactlyOnce: proof ?? null,
    production,
    ordering: alma
      ? {
          noFaults: ordering(alma.noFaults),
          withFaults: { faults: FAULTS, ...ordering(alma.withFaults) },
        }
      : null,
    overlay: overlay && {
      ...overlay,
      reportAlmaCallsPerRecord: round(overlay.reportAlmaCallsPerRecord),
      sandboxAlmaCallsPerRecord: round(overlay.sandboxAlmaCallsPerRecord),
      overlaySeconds: round(overlay.overlaySeconds),
      recordsPerSecond: round(overlay.recordsPerSecond),
    },
    totalSeconds: round(totalSeconds),
  };
  process.stdout.write(JSON.stringify(json) + '\n');
  return EXIT.ok;
}
