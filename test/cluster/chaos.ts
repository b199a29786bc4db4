/**
 * `npm run test:cluster [-- --orders N]` (300 by default, the size `.ci/run` runs; the full size is 1000): the whole system on the real cluster of `npm run cluster`
 * (PostgreSQL, the Temporal server over mTLS, `rto worker` processes), under chaos:
 *   - the Alma sandbox behaves like Alma where exactly-once depends on it (asynchronous PO lines, a search
 *     that lags behind the POST and matches whole tokens, duplicate vendor references accepted, so only the
 *     project can prevent a second line), with 30% 5xx and 10% commit-then-drop on the POST, 10% 5xx on the
 *     search;
 *   - three worker processes, one of them SIGKILLed three times in the middle of POSTs (and started again);
 *   - the Temporal server restarted once, PostgreSQL restarted once, while orders are being placed.
 * It passes when every order has exactly one PO line, none is lost, and every order is in FOLLOWING_UP.
 * Counted from the sandbox's own memory (PO lines per vendor reference number) and the orders' status.
 * Exit 0 on success, 1 otherwise; the figures are printed either way.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { OrderClient } from '../../src/client/orders';
import { startCluster } from '../../src/cluster/cluster';
import { loadConfigFile } from '../../src/config/load';
import type { ConfigFileInput } from '../../src/config/schema';
import { loadSettings } from '../../src/config/settings';
import { createLogger } from '../../src/logging';
import { connectClient } from '../../src/temporal/connection';

const ROOT = path.join(__dirname, '..', '..');
const ACCOUNT = 'UNIV-MAIN';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface SandboxView {
  poLines: { number?: string; vendor_reference_number?: string }[];
  calls: Record<string, Record<string, number>>;
}

function order(name: string, orderId: string): Record<string, unknown> {
  const o = JSON.parse(readFileSync(path.join(ROOT, 'examples', 'orders', name), 'utf8')) as Record<
    string,
    unknown
  >;
  return { ...o, orderId };
}

/** The example configuration, tuned for the run: Alma at the cluster's sandbox, quick follow-up. */
function chaosConfig(dir: string, settleTime: string): string {
  const raw = JSON.parse(readFileSync(path.join(ROOT, 'config', 'example.json'), 'utf8')) as ConfigFileInput;
  const inst = raw.institutions['01UNIV_INST']!;
  inst.requestTimeout = '2s';
  inst.retryInitial = '200ms';
  inst.retryMax = '2s';
  inst.settleTime = settleTime;
  inst.perSecondThreshold = 50;
  inst.budgetShare = 0.6;
  // The orders repeat ISBNs on purpose (several orders per title), which the example's duplicate check would
  // rightly flag or hold; the daily digest is not part of the run either.
  for (const a of Object.values(raw.accounts)) {
    delete a.duplicateCheck;
    delete a.duplicateHoldFor;
    delete a.digest;
  }
  const acc = raw.accounts[ACCOUNT]!;
  acc.followUpRetry = { initial: '200ms', max: '2s' };
  // FOLLOWING_UP is where each order must arrive; the vendor's files are not part of this run, so nothing
  // may fall due while it lasts.
  acc.followUp = {
    firstLookDelay: '1s',
    bibPollInterval: '1s',
    bibPollTimeout: '30m',
    statusWithin: '30d',
    invoiceWithin: '60d',
    recordWithin: '60d',
    followAtMost: '90d',
  };
  const file = path.join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(raw, null, 1));
  return file;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      orders: { type: 'string', default: '300' },
      workers: { type: 'string', default: '3' },
      'timeout-min': { type: 'string', default: '40' },
      keep: { type: 'boolean', default: false },
    },
  });
  const n = Number(values.orders);
  const workerCount = Number(values.workers);
  if (!Number.isInteger(n) || n < 10)
    throw new Error(`--orders must be a whole number of at least 10, not ${values.orders}`);
  if (!Number.isInteger(workerCount) || workerCount < 2) throw new Error('--workers must be at least 2');
  const started = Date.now();
  const until = started + Number(values['timeout-min']) * 60_000;
  const say = (line: string) =>
    process.stdout.write(
      `[chaos ${String(Math.round((Date.now() - started) / 1000)).padStart(4)} s] ${line}\n`,
    );
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rto-chaos-'));
  // PostgreSQL's own user must pass through the folder (mkdtemp makes it 0700).
  chmodSync(dir, 0o755);
  const indexLagMs = 6000;
  const asyncDelayMs = 1000;
  const configFile = chaosConfig(dir, '4s');
  const logger = createLogger({ level: 'silent', pretty: false });
  const cluster = await startCluster({
    dir: path.join(dir, 'cluster'),
    workers: workerCount,
    port: 0,
    configFile,
    namespace: 'default',
    ui: false,
    intake: true,
    env: { LOG_LEVEL: 'warn', RTO_SHUTDOWN_GRACE_MS: '2000' },
    sandbox: {
      asyncDelayMs,
      bibDelayMs: asyncDelayMs + 200,
      indexLagMs,
      searchMatch: 'strict',
      seedTweak: (seed) => {
        for (const inst of seed.institutions) inst.duplicateReference = 'accept';
      },
    },
    logger,
    log: say,
  });
  // Interrupted (Ctrl-C, a CI timeout): stop the cluster's processes rather than leave them running.
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => {
      say(`${signal}: stopping the cluster`);
      void cluster.stop().finally(() => process.exit(1));
    });
  const settings = loadSettings({ ...cluster.clientEnv });
  const temporal = await connectClient(settings);
  const config = loadConfigFile(configFile);
  const orders = new OrderClient(temporal.client, { config, taskQueue: settings.RTO_TASK_QUEUE });
  const state = async () => (await (await fetch(`${cluster.sandboxAdmin}/state`)).json()) as SandboxView;
  const posts = async () =>
    Object.values((await state()).calls['po-lines:POST'] ?? {}).reduce((a, b) => a + b, 0);
  const setFaults = (faults: unknown) =>
    fetch(`${cluster.sandboxAdmin}/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(faults),
    });
  const run = Date.now().toString(36).toUpperCase();
  const generated: string[] = Array.from(
    { length: n },
    (_, i) => `CHAOS-${run}-${String(i).padStart(4, '0')}`,
  );
  const ids = [...generated];
  const events: string[] = [];
  let failed = false;
  try {
    // The other two ways in, over the same mTLS settings: the rto command line and the HTTP intake.
    const viaCli = `CHAOS-${run}-CLI`;
    const viaHttp = `CHAOS-${run}-HTTP`;
    const cliOrder = path.join(dir, 'cli-order.json');
    writeFileSync(cliOrder, JSON.stringify(order('print-single-fund.json', viaCli)));
    // Asynchronously: the sandbox that must answer the order's Alma calls runs in this process.
    const cli = await new Promise<{ status: number | null; out: string }>((resolve) => {
      const child = spawn(
        process.execPath,
        [path.join(ROOT, 'bin', 'rto.js'), 'order', 'submit', cliOrder, '--wait', 'FOLLOWING_UP'],
        {
          cwd: ROOT,
          env: {
            PATH: process.env.PATH ?? '',
            HOME: process.env.HOME ?? dir,
            ...cluster.clientEnv,
            RTO_CONFIG: configFile,
            LOG_LEVEL: 'warn',
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
      child.on('close', (status) => {
        clearTimeout(timer);
        resolve({ status, out });
      });
    });
    if (cli.status !== 0) throw new Error(`rto order submit over mTLS failed (${cli.status}): ${cli.out}`);
    say(`rto order submit over mTLS: ${viaCli} in FOLLOWING_UP`);
    const res = await fetch(`${cluster.intakeUrl}/orders`, {
      method: 'POST',
      headers: { authorization: `Bearer ${cluster.intakeToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(order('ebook.json', viaHttp)),
    });
    if (res.status !== 202 && res.status !== 201 && res.status !== 200)
      throw new Error(`the intake refused an order over mTLS: ${res.status} ${await res.text()}`);
    say(`HTTP intake over mTLS: ${viaHttp} accepted (${res.status})`);
    ids.push(viaCli, viaHttp);
    await setFaults({
      'po-lines:POST': { error5xx: 0.3, dropAfterCommit: 0.1, latencyMs: 300 },
      'po-lines:GET': { error5xx: 0.1 },
    });
    // Orders arrive while the chaos goes on: placed in the background, a retry on each failed start (a
    // start during the server's restart fails; OASIS would send it again, and the workflow id makes a
    // second start of a running order a no-op).
    let placed = 0;
    const placing = (async () => {
      for (let i = 0; i < generated.length; i += 20) {
        await Promise.all(
          generated.slice(i, i + 20).map(async (id, k) => {
            for (;;) {
              try {
                await orders.placeOrder(order((i + k) % 2 ? 'ebook.json' : 'print-single-fund.json', id));
                placed++;
                return;
              } catch {
                if (Date.now() > until) throw new Error(`could not place ${id}`);
                await sleep(1000);
              }
            }
          }),
        );
      }
    })();
    // The chaos, at moments set by the POSTs Alma has seen.
    const plan: { at: number; what: string; act: () => Promise<void> }[] = [
      { at: 0.1, what: 'worker 1 SIGKILLed', act: () => cluster.killWorker(0) },
      { at: 0.25, what: 'Temporal server restarted', act: () => cluster.restartTemporal() },
      { at: 0.4, what: 'worker 1 SIGKILLed', act: () => cluster.killWorker(0) },
      { at: 0.55, what: 'PostgreSQL restarted', act: () => cluster.restartPostgres() },
      { at: 0.7, what: 'worker 1 SIGKILLed', act: () => cluster.killWorker(0) },
    ];
    for (const step of plan) {
      const at = Math.round(step.at * n);
      while ((await posts()) < at && Date.now() < until) await sleep(300);
      const t = Date.now();
      const atPosts = await posts();
      await step.act();
      if (step.what.includes('SIGKILL')) await cluster.startWorker(0);
      const line = `${step.what} at ${atPosts} POSTs (${placed} orders placed; ${Math.round((Date.now() - t) / 1000)} s)`;
      events.push(line);
      say(line);
    }
    await placing;
    say(`${placed} orders placed`);
    // Every order to FOLLOWING_UP.
    let pending = ids;
    const stages = new Map<string, string>();
    while (pending.length && Date.now() < until) {
      const got = await Promise.all(
        pending.map((id) =>
          orders.getStatus(ACCOUNT, id, { queryTimeoutMs: 10_000 }).then(
            (s) => s.stage as string,
            () => 'unknown',
          ),
        ),
      );
      got.forEach((s, i) => stages.set(pending[i]!, s));
      pending = pending.filter((id) => stages.get(id) !== 'FOLLOWING_UP');
      if (pending.length) {
        const by = new Map<string, number>();
        for (const id of pending) by.set(stages.get(id)!, (by.get(stages.get(id)!) ?? 0) + 1);
        say(
          `not yet in FOLLOWING_UP: ${pending.length} (${[...by].map(([s, k]) => `${s} ${k}`).join(', ')})`,
        );
        await sleep(5000);
      }
    }
    await setFaults({});
    // Every dropped-but-committed POST has landed and the index caught up before counting.
    await sleep(indexLagMs + asyncDelayMs + 1000);
    const s = await state();
    const byRef = new Map<string, number>();
    for (const p of s.poLines)
      if (ids.includes(p.vendor_reference_number ?? ''))
        byRef.set(p.vendor_reference_number!, (byRef.get(p.vendor_reference_number!) ?? 0) + 1);
    const missing = ids.filter((id) => !byRef.has(id));
    const duplicated = [...byRef].filter(([, k]) => k > 1).map(([id]) => id);
    const result = {
      orders: ids.length,
      workers: workerCount,
      poLines: [...byRef.values()].reduce((a, b) => a + b, 0),
      missing: missing.length,
      duplicated: duplicated.length,
      notFollowingUp: pending.length,
      posts: s.calls['po-lines:POST'] ?? {},
      searches: s.calls['po-lines:GET'] ?? {},
      chaos: events,
      seconds: Math.round((Date.now() - started) / 1000),
    };
    process.stdout.write(`chaos result: ${JSON.stringify(result, null, 1)}\n`);
    const problems = [
      ...(missing.length ? [`orders without a PO line: ${missing.slice(0, 10).join(', ')}`] : []),
      ...(duplicated.length
        ? [`orders with more than one PO line: ${duplicated.slice(0, 10).join(', ')}`]
        : []),
      ...(pending.length
        ? [
            `orders not in FOLLOWING_UP: ${pending
              .slice(0, 10)
              .map((id) => `${id} (${stages.get(id)})`)
              .join(', ')}`,
          ]
        : []),
      ...(events.length !== plan.length ? ['not every chaos step happened'] : []),
      ...(!Object.keys(result.posts).some((k) => k.startsWith('5')) ||
      !(result.posts as Record<string, number>).dropped
        ? ['the POST faults did not happen']
        : []),
    ];
    if (problems.length) {
      failed = true;
      for (const p of problems) process.stderr.write(`chaos: FAILED: ${p}\n`);
      process.stderr.write(`chaos: the cluster's logs are in ${path.join(dir, 'cluster', 'logs')}\n`);
    } else
      say(
        `PASSED: ${ids.length} orders, ${result.poLines} PO lines, none lost, none doubled, all in FOLLOWING_UP`,
      );
  } finally {
    await Promise.all(
      ids.map((id) =>
        orders
          .handle(ACCOUNT, id)
          .terminate('chaos run done')
          .catch(() => undefined),
      ),
    );
    await temporal.close();
    await cluster.stop();
    if (!values.keep && !failed) rmSync(dir, { recursive: true, force: true });
  }
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`chaos: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
