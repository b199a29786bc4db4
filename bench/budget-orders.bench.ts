/**
 * The API budget on the order path: N orders through the real system (Alma sandbox, workers, Temporal), taken
 * to FOLLOWING_UP, while another application (a separate process with the institution's own key, Primo say)
 * calls the same sandbox institution at a steady 20 calls/s, against a sandbox threshold of 25/s. Twice:
 *
 *   foreign load   the project configured as documented (25/s, its default share)
 *   4x too high    the project's threshold configured at 100/s (share 1), 4x the real one
 *
 * For each: the project's 429s per call (target <= 5%), orders at FOLLOWING_UP out of N, and the time it took.
 * Calls are counted by the sandbox per endpoint; the other application calls only GET /acq/test, which the order
 * path never does, so the rest are the project's. Needs TEMPORAL_TEST_ADDRESS (bench/run.ts starts a server).
 */
import { spawn } from 'node:child_process';
import { resolveSecret } from '../src/config/load';
import { STAGES, type Stage } from '../src/order/types';
import { exampleOrder, startSystem } from '../test/harness/system';
import { ACCOUNT, callCounts, callsBetween, placeAll, terminateAll, waitForAll } from './alma.bench';

const INSTITUTION = '01UNIV_INST';
const FOREIGN_ENDPOINT = 'test:GET';

export interface BudgetRunFigures {
  label: string;
  /** The project's configured threshold and share; the sandbox enforces `realPerSecond`. */
  configuredPerSecond: number;
  budgetShare: number;
  realPerSecond: number;
  foreignPerSecond: number;
  orders: number;
  followingUp: number;
  projectCalls: number;
  project429: number;
  project429PerCall: number;
  foreignCalls: number;
  foreign429Share: number;
  /** First order placed to the last at FOLLOWING_UP (or to giving up), seconds. */
  seconds: number;
  /** Placed -> FOLLOWING_UP per order, median, seconds. */
  medianSeconds: number;
}

export interface BudgetOrdersBenchResult {
  foreignLoad: BudgetRunFigures;
  misconfigured: BudgetRunFigures;
}

/**
 * The other application, in a process of its own: GET /acq/test at a steady pace with the institution's key,
 * whatever Alma answers (it trusts its configuration), until its stdin closes; then it prints its counts.
 */
const FOREIGN_SCRIPT = `
const [url, key, rate] = process.argv.slice(1);
const counts = { sent: 0, ok: 0, refused: 0, failed: 0 };
const pending = new Set();
let stop = false;
process.stdin.on('end', () => (stop = true)).resume();
(async () => {
  let start = Date.now();
  for (let i = 0; !stop; i++) {
    let at = start + (i * 1000) / Number(rate);
    // Late (a busy machine): start the schedule again from now rather than catch up in a burst.
    if (Date.now() - at > 1000 / Number(rate)) { start = Date.now(); i = 0; at = start; }
    await new Promise((r) => setTimeout(r, Math.max(0, at - Date.now())));
    counts.sent++;
    const p = fetch(url + '/acq/test', { headers: { authorization: 'apikey ' + key, accept: 'application/json' } })
      .then(async (r) => { await r.text(); if (r.status === 429) counts.refused++; else if (r.ok) counts.ok++; else counts.failed++; })
      .catch(() => counts.failed++)
      .finally(() => pending.delete(p));
    pending.add(p);
  }
  await Promise.all(pending);
  process.stdout.write(JSON.stringify(counts));
})();
`;

interface ForeignCounts {
  sent: number;
  ok: number;
  refused: number;
  failed: number;
}

function startForeignLoad(gateway: string, key: string, perSecond: number) {
  const child = spawn(process.execPath, ['-e', FOREIGN_SCRIPT, gateway, key, String(perSecond)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<ForeignCounts>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(out) as ForeignCounts)
        : reject(new Error(`foreign load exited ${code}`)),
    );
  });
  return {
    stop: (): Promise<ForeignCounts> => {
      child.stdin.end();
      return exited;
    },
  };
}

const followingUp = (s: Stage) => STAGES.indexOf(s) >= STAGES.indexOf('FOLLOWING_UP');

async function run(opts: {
  label: string;
  perSecondThreshold: number;
  budgetShare: number;
  orders: number;
  realPerSecond: number;
  foreignPerSecond: number;
  timeoutMs: number;
  log: (l: string) => void;
}): Promise<BudgetRunFigures> {
  const sys = await startSystem({
    configure: (raw) => {
      const inst = raw.institutions[INSTITUTION]!;
      inst.perSecondThreshold = opts.perSecondThreshold;
      inst.budgetShare = opts.budgetShare;
      const acc = raw.accounts[ACCOUNT]!;
      acc.email!.confirmation = false;
      // The bib poll every 2 s: the account's default is 30 s, the bench's orders are many and quick.
      acc.followUp = { ...acc.followUp, firstLookDelay: '1s', bibPollInterval: '2s', bibPollTimeout: '5m' };
    },
  });
  const run = Date.now().toString(36);
  const ids = Array.from(
    { length: opts.orders },
    (_, i) => `BENCH-BUDGET-${run}-${String(i).padStart(4, '0')}`,
  );
  try {
    await sys.sandboxPost('/limits', { institution: INSTITUTION, perSecond: opts.realPerSecond });
    const key = resolveSecret(sys.config.institutions[INSTITUTION]!.apiKey);
    opts.log(`${opts.label}: a foreign application at ${opts.foreignPerSecond}/s, ${opts.orders} orders`);
    const foreign = startForeignLoad(sys.sandbox.url, key, opts.foreignPerSecond);
    let counts: ForeignCounts;
    let pending: string[];
    const latencies: number[] = [];
    let seconds: number;
    const before = await callCounts(sys);
    try {
      // The other application first: the project arrives in an institution already busy.
      await new Promise((r) => setTimeout(r, 2000));
      const orders = ids.map((id, i) => exampleOrder(i % 2 ? 'ebook.json' : 'print-single-fund.json', id));
      const started = Date.now();
      await placeAll(sys, orders);
      pending = await waitForAll(sys, ids, followingUp, opts.timeoutMs, () =>
        latencies.push((Date.now() - started) / 1000),
      );
      seconds = (Date.now() - started) / 1000;
    } finally {
      counts = await foreign.stop();
    }
    const calls = callsBetween(before, await callCounts(sys));
    let projectCalls = 0;
    let project429 = 0;
    for (const [endpoint, byStatus] of Object.entries(calls)) {
      if (endpoint === FOREIGN_ENDPOINT) continue;
      for (const [status, n] of Object.entries(byStatus)) {
        projectCalls += n;
        if (status === '429') project429 += n;
      }
    }
    latencies.sort((a, b) => a - b);
    opts.log(
      `${opts.label}: ${opts.orders - pending.length} of ${opts.orders} at FOLLOWING_UP in ${seconds.toFixed(1)} s; ` +
        `${project429} 429s in ${projectCalls} project calls; the foreign app ${counts.refused} 429s in ${counts.sent}`,
    );
    return {
      label: opts.label,
      configuredPerSecond: opts.perSecondThreshold,
      budgetShare: opts.budgetShare,
      realPerSecond: opts.realPerSecond,
      foreignPerSecond: opts.foreignPerSecond,
      orders: opts.orders,
      followingUp: opts.orders - pending.length,
      projectCalls,
      project429,
      project429PerCall: project429 / Math.max(1, projectCalls),
      foreignCalls: counts.sent,
      foreign429Share: counts.refused / Math.max(1, counts.sent),
      seconds,
      medianSeconds: latencies.length ? latencies[Math.floor(latencies.length / 2)]! : NaN,
    };
  } finally {
    await terminateAll(sys, ids);
    await sys.stop();
  }
}

export async function runBudgetOrdersBench(opts: {
  orders: number;
  timeoutMs?: number;
  log?: (line: string) => void;
}): Promise<BudgetOrdersBenchResult> {
  const log = opts.log ?? (() => undefined);
  const common = {
    orders: opts.orders,
    realPerSecond: 25,
    foreignPerSecond: 20,
    timeoutMs: opts.timeoutMs ?? 180_000,
    log,
  };
  const foreignLoad = await run({
    ...common,
    label: 'foreign load',
    perSecondThreshold: 25,
    budgetShare: 0.4,
  });
  const misconfigured = await run({
    ...common,
    label: '4x too high',
    perSecondThreshold: 100,
    budgetShare: 1,
  });
  return { foreignLoad, misconfigured };
}
