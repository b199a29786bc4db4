/**
 * Issue 11's production figures, on the bench's dev server (TEMPORAL_TEST_ADDRESS, set by bench/run.ts):
 *   (a) the order pipeline to FOLLOWING_UP (real workflows, Alma sandbox and mail catcher on loopback) against a
 *       no-op workflow with the same number of activities and a timer, on the same workers and server;
 *   (b) the HTTP intake's latency (POST /orders), idle and while (a)'s pipeline runs;
 *   (d) history events and bytes per order at COMPLETED.
 * Worker RSS with orders open is in bench/worker-rss.bench.ts (a worker in a child process).
 */
import http from 'node:http';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { startHttpIntake } from '../src/client/http';
import { OrderClient } from '../src/client/orders';
import { invoiceSignal, recordOverlaidSignal, vendorStatusSignal } from '../src/order/messages';
import { OrderStage } from '../src/order/search-attributes';
import { STAGES, type Stage } from '../src/order/types';
import { NativeConnection } from '@temporalio/worker';
import { workflowWorkerOptions } from '../src/worker/workers';
import { exampleOrder, startSystem, type TestSystem } from '../test/harness/system';
import { testAddress, uniqueQueue } from '../test/harness/temporal';
import { ACCOUNT, terminateAll } from './alma.bench';
import { freshIsbns } from './overlay.bench';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const atLeast = (wanted: Stage) => (s: Stage) => STAGES.indexOf(s) >= STAGES.indexOf(wanted);

export interface Latency {
  requests: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface PipelineFigures {
  orders: number;
  concurrency: number;
  /**
   * Activities, local activities and timers a pipeline order had scheduled when it reached FOLLOWING_UP (read
   * from its history): the no-op workflow runs as many activities and local activities, and one timer.
   */
  activitiesPerOrder: number;
  localActivitiesPerOrder: number;
  timersPerOrder: number;
  noopTimerMs: number;
  pipelineSeconds: number;
  noopSeconds: number;
  ratio: number;
  /** Pipeline orders that did not reach FOLLOWING_UP in time. */
  stuck: number;
  intakeIdle: Latency;
  /**
   * The floor under the intake's figure: Temporal's StartWorkflowExecution alone (the client call the intake
   * makes, the same order, the same idle queue), timed the same way one at a time, just before the intake.
   */
  startIdle: Latency;
  intakeUnderLoad: Latency;
}

export interface HistoryFigures {
  orders: number;
  completed: number;
  eventsMean: number;
  eventsMax: number;
  bytesMean: number;
  bytesMax: number;
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function latency(ms: number[]): Latency {
  const s = [...ms].sort((a, b) => a - b);
  const r = (n: number) => Math.round(n * 10) / 10;
  return {
    requests: s.length,
    p50Ms: r(percentile(s, 50)),
    p99Ms: r(percentile(s, 99)),
    maxMs: r(s.at(-1) ?? NaN),
  };
}

/** POSTs a JSON body with the bearer token and reads the answer to its end: its status. */
function post(agent: http.Agent, url: string, token: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          authorization: `Bearer ${token}`,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Runs `count` tasks with at most `concurrency` at a time. */
async function pool(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

async function stageOf(sys: TestSystem, id: string): Promise<Stage | undefined> {
  return (await sys.orders.getStatus(ACCOUNT, id, { queryTimeoutMs: 5000 }).catch(() => undefined))?.stage;
}

/**
 * How far a workflow has got, from Temporal alone (DescribeWorkflowExecution: the stage search attribute it has
 * upserted, and whether it has closed): no query, so the worker under test does no work for the bench's polling,
 * and the no-op workflow is polled the same way at the same cost.
 */
async function progressOf(
  sys: TestSystem,
  workflowId: string,
): Promise<{ stage?: Stage; closed: boolean } | undefined> {
  const d = await sys.client.workflow
    .getHandle(workflowId)
    .describe()
    .catch(() => undefined);
  if (!d) return undefined;
  const stage = d.typedSearchAttributes.get(OrderStage);
  return {
    stage: typeof stage === 'string' ? (stage as Stage) : undefined,
    closed: d.status.name !== 'RUNNING',
  };
}

/** Polls `done` every 100 ms until it holds or the deadline passes: true when it held. */
async function pollUntil(done: () => Promise<boolean>, deadline: number): Promise<boolean> {
  while (Date.now() < deadline) {
    if (await done()) return true;
    await sleep(100);
  }
  return false;
}

/** Places one order and polls its stage (describe, as the no-op is polled) until `done`: true when it got there. */
async function placeAndWait(
  sys: TestSystem,
  order: Record<string, unknown>,
  done: (s: Stage) => boolean,
  deadline: number,
): Promise<boolean> {
  const r = await sys.orders.placeOrder(order);
  if (r.outcome !== 'started')
    throw new Error(`order ${String(order.orderId)} not started: ${JSON.stringify(r)}`);
  return pollUntil(async () => {
    const p = await progressOf(sys, r.workflowId);
    return !!p?.stage && done(p.stage);
  }, deadline);
}

/** The system as both benches here run it: Alma's budget out of the way (this is about the worker, not pacing). */
function productionSystem(followUp?: Record<string, string>): Promise<TestSystem> {
  return startSystem({
    bibDelayMs: 0,
    asyncDelayMs: 0,
    configure: (raw) => {
      const inst = raw.institutions['01UNIV_INST']!;
      inst.perSecondThreshold = 1000;
      inst.budgetShare = 0.8;
      if (followUp) raw.accounts[ACCOUNT]!.followUp = { ...raw.accounts[ACCOUNT]!.followUp, ...followUp };
    },
  });
}

function freshOrders(prefix: string, count: number): Record<string, unknown>[] {
  const isbns = freshIsbns(count, Math.floor(Math.random() * 1e7));
  const template = exampleOrder('print-single-fund.json', prefix);
  return isbns.map((isbn, i) => ({
    ...template,
    orderId: `${prefix}-${String(i).padStart(5, '0')}`,
    item: { ...(template.item as object), isbn },
  }));
}

/**
 * Scheduled activities, local activities (their markers) and started timers in a workflow's history so far:
 * the shape the no-op workflow copies.
 */
async function shape(
  sys: TestSystem,
  workflowId: string,
): Promise<{ activities: number; localActivities: number; timers: number }> {
  const h = await sys.client.workflow.getHandle(workflowId).fetchHistory();
  let activities = 0;
  let localActivities = 0;
  let timers = 0;
  for (const e of h.events ?? []) {
    if (e.activityTaskScheduledEventAttributes) activities++;
    if (e.markerRecordedEventAttributes?.markerName === 'core_local_activity') localActivities++;
    if (e.timerStartedEventAttributes) timers++;
  }
  return { activities, localActivities, timers };
}

export async function runPipelineBench(opts: {
  orders: number;
  concurrency?: number;
  intakeRequests?: number;
  timeoutMs?: number;
  log?: (line: string) => void;
}): Promise<PipelineFigures> {
  const log = opts.log ?? (() => undefined);
  const concurrency = opts.concurrency ?? 30;
  const intakeRequests = opts.intakeRequests ?? 200;
  const timeoutMs = opts.timeoutMs ?? 300_000;
  const run = Date.now().toString(36);
  const noopTimerMs = 100;
  const sys = await productionSystem();
  // The intake places on a queue no worker polls: its answer time is the intake's and Temporal's start, and
  // the orders it places never compete with the pipeline's.
  const idleQueue = uniqueQueue('intake-bench');
  const intakeOrders = new OrderClient(sys.client, { config: sys.config, taskQueue: idleQueue });
  const token = `bench-${run}-${Math.random().toString(36).slice(2)}`;
  const intake = await startHttpIntake({
    orders: intakeOrders,
    config: sys.config,
    token,
    port: 0,
    logger: sys.logger,
  });
  const noopQueue = uniqueQueue('noop-activities');
  const connection = await NativeConnection.connect({ address: testAddress() });
  const noopWorker = await Worker.create({
    connection,
    namespace: 'default',
    taskQueue: noopQueue,
    // The no-op workflow and its activities (local ones too) on one worker, as the project's main worker runs
    // the order workflow and its local and main-queue activities, with the project's workflow worker settings.
    workflowsPath: path.join(__dirname, 'noop-workflows.ts'),
    activities: { noop: async (i: number) => i },
    ...workflowWorkerOptions(),
    shutdownGraceTime: '1s',
  });
  const noopRunning = noopWorker.run();
  const pipelineIds: string[] = [];
  const intakeIds: string[] = [];
  const noopIds: string[] = [];
  let intakeSeq = 0;
  /** POSTs orders one at a time until `stop()` says so (or `count` are done): each answer's time, ms. */
  const intakeLoad = async (count: number, stop: () => boolean): Promise<number[]> => {
    const times: number[] = [];
    // One kept-alive connection per phase, as a client placing orders in a row would hold: a connection
    // left idle between phases is closed by the server (Node's keep-alive timeout), which is not a figure.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (const o of freshOrders(`BENCH-IN-${run}-${intakeSeq++}`, count)) {
        if (stop()) break;
        const t = process.hrtime.bigint();
        const status = await post(agent, `${intake.url}/orders`, token, JSON.stringify(o));
        times.push(Number(process.hrtime.bigint() - t) / 1e6);
        if (status >= 300) throw new Error(`intake answered ${status} for ${String(o.orderId)}`);
        intakeIds.push(String(o.orderId));
      }
    } finally {
      agent.destroy();
    }
    return times;
  };
  try {
    log(`intake idle: ${intakeRequests} POST /orders one at a time`);
    const startTimes: number[] = [];
    for (const o of freshOrders(`BENCH-ST-${run}`, intakeRequests)) {
      const t = process.hrtime.bigint();
      const r = await intakeOrders.placeOrder(o);
      startTimes.push(Number(process.hrtime.bigint() - t) / 1e6);
      if (r.outcome !== 'started') throw new Error(`order ${String(o.orderId)} not started`);
      intakeIds.push(String(o.orderId));
    }
    const startIdle = latency(startTimes);
    const idle = latency(await intakeLoad(intakeRequests, () => false));

    // One order first, alone: the shape of the pipeline the no-op copies (and a warm worker for both runs).
    const [probe] = freshOrders(`BENCH-PP-${run}`, 1);
    pipelineIds.push(String(probe!.orderId));
    if (!(await placeAndWait(sys, probe!, atLeast('FOLLOWING_UP'), Date.now() + 60_000)))
      throw new Error('the probe order never reached FOLLOWING_UP');
    const { activities, localActivities, timers } = await shape(
      sys,
      sys.orders.handle(ACCOUNT, String(probe!.orderId)).workflowId,
    );

    log(`pipeline: ${opts.orders} orders to FOLLOWING_UP, ${concurrency} at a time, with the intake beside`);
    const orders = freshOrders(`BENCH-PL-${run}`, opts.orders);
    pipelineIds.push(...orders.map((o) => String(o.orderId)));
    let stuck = 0;
    /** Runs `body` with the intake placing orders one at a time beside it: its answer times. */
    const withIntakeBeside = async (body: () => Promise<void>): Promise<number[]> => {
      let done = false;
      const beside = intakeLoad(5_000, () => done);
      try {
        await body();
      } finally {
        done = true;
      }
      return beside;
    };
    const started = Date.now();
    const loadedTimes = await withIntakeBeside(() =>
      pool(orders.length, concurrency, async (i) => {
        if (!(await placeAndWait(sys, orders[i]!, atLeast('FOLLOWING_UP'), started + timeoutMs))) stuck++;
      }),
    );
    const pipelineSeconds = (Date.now() - started) / 1000;
    const loaded = latency(loadedTimes);

    // The same load beside it as the pipeline had (the intake placing orders), the same polling (describe
    // every 100 ms, no query), the same concurrency, workers and server.
    log(
      `no-op: ${opts.orders} workflows of ${activities} activities, ${localActivities} local activities and a ${noopTimerMs} ms timer`,
    );
    const noopStarted = Date.now();
    await withIntakeBeside(() =>
      pool(opts.orders, concurrency, async (i) => {
        const workflowId = `bench-noop-${run}-${i}`;
        noopIds.push(workflowId);
        await sys.client.workflow.start('noopOrderWorkflow', {
          workflowId,
          taskQueue: noopQueue,
          args: [{ activities, localActivities, timerMs: noopTimerMs, activityQueue: noopQueue }],
        });
        const ok = await pollUntil(
          async () => (await progressOf(sys, workflowId))?.closed === true,
          noopStarted + timeoutMs,
        );
        if (!ok) throw new Error(`no-op workflow ${workflowId} did not complete in time`);
      }),
    );
    const noopSeconds = (Date.now() - noopStarted) / 1000;
    return {
      orders: opts.orders,
      concurrency,
      activitiesPerOrder: activities,
      localActivitiesPerOrder: localActivities,
      timersPerOrder: timers,
      noopTimerMs,
      pipelineSeconds,
      noopSeconds,
      ratio: pipelineSeconds / noopSeconds,
      stuck,
      intakeIdle: idle,
      startIdle,
      intakeUnderLoad: loaded,
    };
  } finally {
    await terminateAll(sys, pipelineIds);
    for (let i = 0; i < intakeIds.length; i += 50)
      await Promise.all(
        intakeIds.slice(i, i + 50).map((id) =>
          intakeOrders
            .handle(ACCOUNT, id)
            .terminate('bench done')
            .catch(() => undefined),
        ),
      );
    await intake.close();
    noopWorker.shutdown();
    await noopRunning;
    await connection.close();
    await sys.stop();
  }
}

/**
 * Orders run to COMPLETED (the vendor's status, a full invoice and the overlaid record signalled to each, as the
 * EDI and overlay workflows signal them), then their histories read from Temporal: events and bytes per order.
 */
export async function runHistoryBench(opts: {
  orders: number;
  timeoutMs?: number;
  log?: (line: string) => void;
}): Promise<HistoryFigures> {
  const log = opts.log ?? (() => undefined);
  const timeoutMs = opts.timeoutMs ?? 180_000;
  const run = Date.now().toString(36);
  // Short deadlines (the example's test timings) so a missed signal ends the order instead of parking it.
  const sys = await productionSystem({
    statusWithin: '20s',
    invoiceWithin: '20s',
    recordWithin: '20s',
    followAtMost: '40s',
  });
  const orders = freshOrders(`BENCH-HI-${run}`, opts.orders);
  const ids = orders.map((o) => String(o.orderId));
  try {
    log(`history: ${opts.orders} orders to COMPLETED`);
    const deadline = Date.now() + timeoutMs;
    let completed = 0;
    const sizes: { events: number; bytes: number }[] = [];
    await pool(orders.length, 20, async (i) => {
      const order = orders[i]!;
      const id = ids[i]!;
      if (!(await placeAndWait(sys, order, atLeast('FOLLOWING_UP'), deadline))) return;
      const handle = sys.orders.handle(ACCOUNT, id);
      const status = await sys.orders.getStatus(ACCOUNT, id);
      const file = `bench-${run}.edi`;
      await handle.signal(vendorStatusSignal, {
        status: 'accepted',
        statusText: 'Accepted',
        source: { file, message: '1', segment: 10, line: '1' },
      });
      await handle.signal(invoiceSignal, {
        invoiceNumber: `INV-${run}-${i}`,
        kind: 'invoice',
        quantity: Number((order as { quantity?: number }).quantity ?? 1),
        unitPrice: '25.00',
        lineAmount: '25.00',
        currency: 'USD',
        mismatches: [],
        source: { file, message: '2', segment: 20, line: '1' },
      });
      await handle.signal(recordOverlaidSignal, {
        mmsId: status.mmsId ?? '990000000000000000',
        source: { file: `bench-${run}.mrc` },
      });
      await handle.result().catch(() => undefined);
      if ((await stageOf(sys, id)) === 'COMPLETED') completed++;
      const h = await handle.fetchHistory();
      sizes.push({
        events: h.events?.length ?? 0,
        bytes: temporal.api.history.v1.History.encode(h).finish().length,
      });
    });
    const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
    return {
      orders: opts.orders,
      completed,
      eventsMean: mean(sizes.map((s) => s.events)),
      eventsMax: Math.max(...sizes.map((s) => s.events)),
      bytesMean: mean(sizes.map((s) => s.bytes)),
      bytesMax: Math.max(...sizes.map((s) => s.bytes)),
    };
  } finally {
    await terminateAll(sys, ids);
    await sys.stop();
  }
}
