/**
 * The exactly-once proof of issue 9, shared by `test/exactly-once-proof.test.ts` (scaled down) and
 * `bench/exactly-once.bench.ts` (full size): orders placed against an Alma sandbox that behaves like real Alma
 * where exactly-once depends on it (asynchronous PO line processing, a search index that lags, whole-token
 * matching, duplicate vendor references ACCEPTED so that only the project can prevent a second line), with
 * 5xx and commit-then-drop on the POST and 5xx on the search, the worker process SIGKILLed in the middle of
 * POSTs, and orders whose first run ended and whose history is gone placed again.
 *
 * Counted at the end from the sandbox's own memory: PO lines per vendor reference number.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { OrderClient } from '../../src/client/orders';
import { parseConfig } from '../../src/config/load';
import { createLogger } from '../../src/logging';
import { startMailCatcher } from '../../src/mail';
import { seedFromConfig, startAlmaSandbox } from '../../src/sandbox/alma';
import { exampleConfigRaw, exampleOrder } from './system';
import { testAddress, uniqueQueue } from './temporal';

const ROOT = path.join(__dirname, '..', '..');

export interface ProofOptions {
  orders: number;
  /** Sandbox: how long a new or changed PO line stays invisible to the search. */
  indexLagMs: number;
  /** Sandbox: how long after the POST answer Alma gives the line its status, alerts and PO number. */
  asyncDelayMs: number;
  /** The institution's settle time before a second POST (the project's setting). */
  settleTime: string;
  /** The worker process is SIGKILLed when the sandbox has seen this many POSTs (each entry once). */
  killAtPosts: number[];
  /** Orders whose workflow is terminated and deleted after ordering, then placed again. */
  placedAgain: number;
  /** Fault probabilities. */
  post5xx: number;
  postDrop: number;
  search5xx: number;
  postLatencyMs: number;
  timeoutMs: number;
  log?: (line: string) => void;
}

export interface ProofResult {
  orders: number;
  /** PO lines the sandbox holds for the orders (any status), and distinct vendor references among them. */
  poLines: number;
  distinctReferences: number;
  /** Orders with no PO line, or with more than one. */
  missing: string[];
  duplicated: string[];
  /** Orders not past ORDERING when time ran out. */
  stuck: string[];
  /** What the sandbox answered: POSTs by outcome, searches by outcome, vendor-list reads. */
  posts: Record<string, number>;
  searches: Record<string, number>;
  vendorListReads: number;
  kills: number;
  placedAgainSamePoLine: number;
  seconds: number;
}

interface SandboxView {
  poLines: { number?: string; vendor_reference_number?: string; status?: { value?: string } }[];
  calls: Record<string, Record<string, number>>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The project's workers in a child process (test/harness/worker-child.ts), resolved once they poll. */
export function spawnWorker(env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', path.join(__dirname, 'worker-child.ts')], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker child not ready in 120 s: ${err}`)), 120_000);
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker child exited (${code}) before it was ready: ${err}`));
    });
  });
}

export async function runExactlyOnceProof(o: ProofOptions): Promise<ProofResult> {
  const log = o.log ?? (() => undefined);
  const started = Date.now();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'rto-proof-'));
  const logger = createLogger({ level: 'silent', pretty: false });
  const provisional = parseConfig(exampleConfigRaw('http://127.0.0.1:1/almaws/v1', dataDir));
  const seed = seedFromConfig(provisional);
  for (const inst of seed.institutions) {
    inst.firstPoLine = 100_000 + Math.floor(Math.random() * 800_000) * 1000;
    // Real Alma may accept a second line with the same vendor reference: only the project may prevent it.
    inst.duplicateReference = 'accept';
  }
  const sandbox = await startAlmaSandbox({
    port: 0,
    seed,
    bibDelayMs: o.asyncDelayMs + 200,
    asyncDelayMs: o.asyncDelayMs,
    indexLagMs: o.indexLagMs,
    searchMatch: 'strict',
    logger,
  });
  const catcher = await startMailCatcher({ port: 0, dir: path.join(dataDir, 'mail'), logger });
  const raw = exampleConfigRaw(sandbox.url, dataDir);
  const inst = raw.institutions['01UNIV_INST']!;
  inst.perSecondThreshold = 50;
  inst.budgetShare = 0.6;
  inst.requestTimeout = '1s';
  inst.settleTime = o.settleTime;
  const account = 'UNIV-MAIN';
  // Park orders once their PO line exists: this proof is about the POST, not the follow-up.
  raw.accounts[account]!.followUp = { firstLookDelay: '10m', bibPollInterval: '500ms' };
  raw.accounts[account]!.email!.confirmation = false;
  const configFile = path.join(dataDir, 'config.json');
  writeFileSync(configFile, JSON.stringify(raw));
  const config = parseConfig(raw);
  const taskQueue = uniqueQueue('proof');
  const env = {
    ...process.env,
    RTO_CHILD_CONFIG: configFile,
    RTO_CHILD_QUEUE: taskQueue,
    RTO_CHILD_SMTP: String(catcher.port),
    RTO_CHILD_DATA: dataDir,
    TEMPORAL_TEST_ADDRESS: testAddress(),
  };
  const admin = sandbox.baseUrl + '/_sandbox';
  const sandboxState = async () => (await (await fetch(`${admin}/state`)).json()) as SandboxView;
  const setFaults = (faults: unknown) =>
    fetch(`${admin}/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(faults),
    });
  const connection = await Connection.connect({ address: testAddress() });
  const client = new Client({ connection, namespace: 'default' });
  const orders = new OrderClient(client, { config, taskQueue });
  let worker = await spawnWorker(env);
  let kills = 0;
  const run = Date.now().toString(36);
  const ids = Array.from({ length: o.orders }, (_, i) => `PROOF-${run}-${String(i).padStart(4, '0')}`);
  const stageOf = async (id: string) =>
    (await orders.getStatus(account, id, { queryTimeoutMs: 10_000 }).catch(() => undefined))?.stage;
  const waitPastOrdering = async (wanted: string[], until: number) => {
    let pending = wanted;
    while (pending.length && Date.now() < until) {
      const stages = await Promise.all(pending.map(stageOf));
      pending = pending.filter(
        (_, i) => !stages[i] || stages[i] === 'VALIDATING' || stages[i] === 'ORDERING',
      );
      if (pending.length) await sleep(1000);
    }
    return pending;
  };
  try {
    await setFaults({
      'po-lines:POST': { error5xx: o.post5xx, dropAfterCommit: o.postDrop, latencyMs: o.postLatencyMs },
      'po-lines:GET': { error5xx: o.search5xx },
    });
    // Alternate print (found by ISBN, several orders per ISBN) and ebook orders (found by title words).
    await Promise.all(
      ids.map((orderId, i) =>
        orders.placeOrder(exampleOrder(i % 2 ? 'ebook.json' : 'print-single-fund.json', orderId)),
      ),
    );
    log(`${ids.length} orders placed`);
    const until = started + o.timeoutMs;
    // Kill the worker in the middle of POSTs: latency on the POST keeps several in flight at any moment.
    for (const at of [...o.killAtPosts].sort((a, b) => a - b)) {
      while (Date.now() < until) {
        const posts = Object.values((await sandboxState()).calls['po-lines:POST'] ?? {}).reduce(
          (n, c) => n + c,
          0,
        );
        if (posts >= at) break;
        await sleep(100);
      }
      worker.kill('SIGKILL');
      kills++;
      log(`worker SIGKILLed at ${at} POSTs`);
      await new Promise((r) => worker.once('exit', r));
      worker = await spawnWorker(env);
    }
    const stuck = await waitPastOrdering(ids, until);
    log(`past ORDERING: ${ids.length - stuck.length}/${ids.length}`);
    // Retention gone: the first run of some orders ended and its history was deleted; OASIS places them again.
    let placedAgainSamePoLine = 0;
    const again = ids.filter((id) => !stuck.includes(id)).slice(0, o.placedAgain);
    const before = new Map<string, string | undefined>();
    for (const id of again) {
      const s = await orders.getStatus(account, id);
      before.set(id, s.poLine);
      const handle = orders.handle(account, id);
      await handle.terminate('proof: the first run ends');
      await client.workflowService.deleteWorkflowExecution({
        namespace: 'default',
        workflowExecution: { workflowId: s.workflowId },
      });
      // Deletion is asynchronous: wait until the server has forgotten the order.
      for (let i = 0; i < 100; i++) {
        const gone = await handle.describe().then(
          () => false,
          (e: unknown) => e instanceof WorkflowNotFoundError,
        );
        if (gone) break;
        await sleep(200);
      }
      await orders.placeOrder(
        exampleOrder(ids.indexOf(id) % 2 ? 'ebook.json' : 'print-single-fund.json', id),
      );
    }
    // Those placed again get their own time: their first run may have used most of the budget.
    const stuckAgain = await waitPastOrdering(again, Math.max(until, Date.now() + o.timeoutMs / 4));
    for (const id of again) {
      if (stuckAgain.includes(id)) continue;
      const s = await orders.getStatus(account, id);
      if (s.poLine && s.poLine === before.get(id)) placedAgainSamePoLine++;
    }
    await setFaults({});
    // Let every dropped-but-committed POST land and the index catch up before counting.
    await sleep(o.indexLagMs + o.asyncDelayMs + 1000);
    const state = await sandboxState();
    const mine = state.poLines.filter((p) => ids.includes(p.vendor_reference_number ?? ''));
    const byRef = new Map<string, number>();
    for (const p of mine)
      byRef.set(p.vendor_reference_number!, (byRef.get(p.vendor_reference_number!) ?? 0) + 1);
    const result: ProofResult = {
      orders: ids.length,
      poLines: mine.length,
      distinctReferences: byRef.size,
      missing: ids.filter((id) => !byRef.has(id)),
      duplicated: [...byRef].filter(([, n]) => n > 1).map(([id]) => id),
      stuck: [...stuck, ...stuckAgain],
      posts: state.calls['po-lines:POST'] ?? {},
      searches: state.calls['po-lines:GET'] ?? {},
      vendorListReads: Object.values(state.calls['vendor-po-lines:GET'] ?? {}).reduce((n, c) => n + c, 0),
      kills,
      placedAgainSamePoLine,
      seconds: Math.round((Date.now() - started) / 1000),
    };
    await Promise.all(
      ids.map((id) =>
        orders
          .handle(account, id)
          .terminate('proof done')
          .catch(() => undefined),
      ),
    );
    return result;
  } finally {
    worker.kill('SIGKILL');
    await connection.close();
    await catcher.close();
    await sandbox.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
