/**
 * Worker RSS with N orders open in FOLLOWING_UP: the project's workers in a child process of their own
 * (test/harness/worker-child.ts), so the figure is theirs alone, read from /proc/<pid>/status (VmRSS, and the
 * peak VmHWM). The child loads a workflow bundle built here first, as production workers load dist/'s (`npm run
 * build`): a worker that bundles at start keeps the bundler's memory, which production never has. The orders are
 * placed from this process, taken to FOLLOWING_UP and left there (long deadlines).
 * Needs TEMPORAL_TEST_ADDRESS (bench/run.ts starts a dev server and sets it).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import { OrderClient } from '../src/client/orders';
import { parseConfig } from '../src/config/load';
import { createLogger } from '../src/logging';
import { startMailCatcher } from '../src/mail';
import { OrderStage } from '../src/order/search-attributes';
import { STAGES, type Stage } from '../src/order/types';
import { seedFromConfig, startAlmaSandbox } from '../src/sandbox/alma';
import { DEFAULT_MAX_CACHED_WORKFLOWS } from '../src/worker/workers';
import { spawnWorker } from '../test/harness/proof';
import { exampleConfigRaw, exampleOrder } from '../test/harness/system';
import { testAddress, uniqueQueue } from '../test/harness/temporal';
import { ACCOUNT } from './alma.bench';
import { freshIsbns } from './overlay.bench';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface WorkerRssFigures {
  orders: number;
  followingUp: number;
  /** The worker's workflow cache (the project's default unless the bench was given one). */
  maxCachedWorkflows: number;
  rssIdleMb: number;
  rssMb: number;
  peakRssMb: number;
  mbPer1000Orders: number;
  seconds: number;
}

/** VmRSS and VmHWM of a process, MB. */
export function processRss(pid: number): { rssMb: number; peakMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
}

export async function runWorkerRssBench(opts: {
  orders: number;
  /** The child's maxCachedWorkflows; default the project's (src/worker/workers.ts). */
  maxCachedWorkflows?: number;
  /** Orders on their way to FOLLOWING_UP at once (default 200). */
  inFlight?: number;
  /** How long the worker is left idle with its orders open before RSS is read (default 20 s). */
  settleMs?: number;
  timeoutMs?: number;
  log?: (line: string) => void;
}): Promise<WorkerRssFigures> {
  const log = opts.log ?? (() => undefined);
  const timeoutMs = opts.timeoutMs ?? 3_600_000;
  const started = Date.now();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'rto-rss-'));
  const logger = createLogger({ level: 'silent', pretty: false });
  const seed = seedFromConfig(parseConfig(exampleConfigRaw('http://127.0.0.1:1/almaws/v1', dataDir)));
  for (const inst of seed.institutions)
    inst.firstPoLine = 100_000 + Math.floor(Math.random() * 800_000) * 1000;
  const sandbox = await startAlmaSandbox({
    port: 0,
    seed,
    bibDelayMs: 0,
    asyncDelayMs: 0,
    indexLagMs: 0,
    searchMatch: 'strict',
    logger,
  });
  const catcher = await startMailCatcher({ port: 0, dir: path.join(dataDir, 'mail'), logger });
  const raw = exampleConfigRaw(sandbox.url, dataDir);
  const inst = raw.institutions['01UNIV_INST']!;
  inst.perSecondThreshold = 1000;
  inst.budgetShare = 0.8;
  // Open for the whole run: no deadline or end of follow-up comes before the figure is read.
  raw.accounts[ACCOUNT]!.followUp = {
    ...raw.accounts[ACCOUNT]!.followUp,
    statusWithin: '2h',
    invoiceWithin: '2h',
    recordWithin: '2h',
    followAtMost: '4h',
  };
  raw.accounts[ACCOUNT]!.email!.confirmation = false;
  const configFile = path.join(dataDir, 'config.json');
  writeFileSync(configFile, JSON.stringify(raw));
  const bundleFile = path.join(dataDir, 'workflow-bundle.js');
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../src/workflows'),
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} },
  });
  writeFileSync(bundleFile, code);
  const maxCachedWorkflows = opts.maxCachedWorkflows ?? DEFAULT_MAX_CACHED_WORKFLOWS;
  const config = parseConfig(raw);
  const taskQueue = uniqueQueue('rss');
  await fetch(`${sandbox.baseUrl}/_sandbox/limits`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ institution: '01UNIV_INST', perSecond: 1000 }),
  });
  const worker = await spawnWorker({
    ...process.env,
    RTO_CHILD_CONFIG: configFile,
    RTO_CHILD_QUEUE: taskQueue,
    RTO_CHILD_SMTP: String(catcher.port),
    RTO_CHILD_DATA: dataDir,
    RTO_CHILD_BUNDLE: bundleFile,
    RTO_CHILD_MAX_CACHED_WORKFLOWS: String(maxCachedWorkflows),
    TEMPORAL_TEST_ADDRESS: testAddress(),
  });
  const connection = await Connection.connect({ address: testAddress() });
  const client = new Client({ connection, namespace: 'default' });
  const orders = new OrderClient(client, { config, taskQueue });
  const run = Date.now().toString(36);
  const ids: string[] = [];
  try {
    await sleep(2000);
    const idle = processRss(worker.pid!);
    const isbns = freshIsbns(opts.orders, Math.floor(Math.random() * 1e7));
    const following = atLeastFollowingUp();
    log(
      `worker RSS: placing ${opts.orders} orders (worker pid ${worker.pid}, idle ${idle.rssMb.toFixed(0)} MB)`,
    );
    // Placed as OASIS sends them, one after another, with at most `inFlight` on their way to FOLLOWING_UP at a
    // time (not 10,000 at once: a burst far beyond the workflow cache replays every order at each step, which
    // is a throughput figure, not this one). Each is followed by describe (its stage search attribute), not by
    // a query: a query per order would pull every workflow back into the cache being measured.
    const inFlight = opts.inFlight ?? 200;
    const deadline = started + timeoutMs;
    let next = 0;
    let followingUp = 0;
    let ended = 0;
    const progress = setInterval(
      () =>
        log(
          `  ${followingUp} of ${opts.orders} in FOLLOWING_UP, worker RSS ${processRss(worker.pid!).rssMb.toFixed(0)} MB`,
        ),
      15_000,
    );
    try {
      await Promise.all(
        Array.from({ length: Math.min(inFlight, opts.orders) }, async () => {
          while (next < opts.orders && Date.now() < deadline) {
            const i = next++;
            const o = exampleOrder(
              'print-single-fund.json',
              `BENCH-RSS-${run}-${String(i).padStart(5, '0')}`,
            );
            (o.item as { isbn: string }).isbn = isbns[i]!;
            ids.push(String(o.orderId));
            const r = await orders.placeOrder(o);
            if (r.outcome !== 'started') throw new Error(`order ${String(o.orderId)} not started`);
            for (;;) {
              const d = await client.workflow
                .getHandle(r.workflowId)
                .describe()
                .catch(() => undefined);
              const stage = d?.typedSearchAttributes.get(OrderStage);
              // An order that ended (it failed, say) never gets there: left out of the figure, not waited for.
              if (d && d.status.name !== 'RUNNING') {
                ended++;
                break;
              }
              if (typeof stage === 'string' && following(stage as Stage)) {
                followingUp++;
                break;
              }
              if (Date.now() >= deadline) break;
              await sleep(250);
            }
          }
        }),
      );
    } finally {
      clearInterval(progress);
    }
    log(`  ${followingUp} of ${opts.orders} in FOLLOWING_UP (${ended} ended); letting the worker settle`);
    // Then the figure: the worker holding them all open and idle, as a worker does between the news of its
    // orders (the peak while they were placed is VmHWM, reported beside it).
    await sleep(opts.settleMs ?? 20_000);
    const now = processRss(worker.pid!);
    return {
      orders: opts.orders,
      followingUp,
      maxCachedWorkflows,
      rssIdleMb: Math.round(idle.rssMb),
      rssMb: Math.round(now.rssMb),
      peakRssMb: Math.round(now.peakMb),
      mbPer1000Orders: Math.round(((now.rssMb - idle.rssMb) / opts.orders) * 1000 * 10) / 10,
      seconds: Math.round((Date.now() - started) / 100) / 10,
    };
  } finally {
    for (let i = 0; i < ids.length; i += 50)
      await Promise.all(
        ids.slice(i, i + 50).map((id) =>
          orders
            .handle(ACCOUNT, id)
            .terminate('bench done')
            .catch(() => undefined),
        ),
      );
    worker.kill('SIGTERM');
    await new Promise((r) => worker.once('exit', r));
    await connection.close();
    await catcher.close();
    await sandbox.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function atLeastFollowingUp(): (s: Stage) => boolean {
  return (s) => STAGES.indexOf(s) >= STAGES.indexOf('FOLLOWING_UP');
}
