/**
 * The institution's API budget against an Alma stand-in that enforces what Alma enforces for the whole
 * institution: a per-second threshold over a sliding second (429 with Alma's real PER_SECOND_THRESHOLD body)
 * and, when told, a spent daily budget (DAILY_THRESHOLD). The project's calls go through AlmaAccess, exactly as
 * the activities make them; a second "application" (Primo, say) calls the same stand-in at its own pace.
 *
 *   pacing        peak calls in any one second against the configured rate (the project alone)
 *   foreign load  the other application's 429 share with the project beside it (and the project's own)
 *   4× too high   the project configured at 4× the threshold: refused calls per accepted one
 *   daily budget  delay from the budget coming back to the first call that goes through again
 *
 * No Temporal needed: this measures the budget itself. Figures, not thresholds.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseConfig } from '../src/config/load';
import { AlmaAccess } from '../src/institution/alma-access';
import { DailyBudgetExhausted } from '../src/institution/budget';
import { createLogger } from '../src/logging';
import { exampleConfigRaw } from '../test/harness/system';

const PER_SECOND = readFileSync(
  path.join(__dirname, '..', 'test', 'fixtures', 'alma', 'per-second-threshold.json'),
  'utf8',
);
const DAILY = JSON.stringify({
  errorsExist: true,
  errorList: { error: [{ errorCode: 'DAILY_THRESHOLD', errorMessage: 'Daily threshold exceeded' }] },
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Alma's institution-wide threshold over a sliding second; who called is told by a header. */
async function standIn(threshold: number) {
  const accepted: { at: number; who: string }[] = [];
  const refused: { at: number; who: string }[] = [];
  let dailySpent = false;
  const server = http.createServer((req, res) => {
    const now = Date.now();
    const who = String(req.headers['x-bench-who'] ?? 'project');
    if (dailySpent) {
      refused.push({ at: now, who });
      res.writeHead(429, { 'content-type': 'application/json', 'x-exl-api-remaining': '0' }).end(DAILY);
      return;
    }
    const inLastSecond = accepted.filter((a) => a.at > now - 1000).length;
    if (inLastSecond >= threshold) {
      refused.push({ at: now, who });
      res.writeHead(429, { 'content-type': 'application/json' }).end(PER_SECOND);
      return;
    }
    accepted.push({ at: now, who });
    res.writeHead(200, { 'content-type': 'application/json', 'x-exl-api-remaining': '100000' }).end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/almaws/v1`;
  return {
    url,
    accepted,
    refused,
    setDailySpent: (v: boolean) => (dailySpent = v),
    reset: () => {
      accepted.length = 0;
      refused.length = 0;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

function access(url: string, perSecondThreshold: number, probeInterval = '5m') {
  const raw = exampleConfigRaw(url, path.join(os.tmpdir(), 'rto-budget-bench'));
  const inst = raw.institutions['01UNIV_INST']!;
  inst.perSecondThreshold = perSecondThreshold;
  inst.budgetShare = 1;
  inst.dailyProbeInterval = probeInterval;
  return new AlmaAccess(parseConfig(raw), createLogger({ level: 'silent', pretty: false }));
}

/** The project's calls: `n` concurrent workers each calling `/acq/test` until `until`. */
async function projectLoad(a: AlmaAccess, until: number, workers = 8): Promise<void> {
  const { client } = a.forAccount('UNIV-MAIN');
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (Date.now() < until) {
        try {
          await client.test();
        } catch (e) {
          if (e instanceof DailyBudgetExhausted) await sleep(Math.max(10, e.retryAt - Date.now()));
        }
      }
    }),
  );
}

/** The other application: evenly at `perSecond`, no budget of its own (it trusts its configuration). */
async function foreignLoad(url: string, perSecond: number, until: number): Promise<void> {
  const pending: Promise<unknown>[] = [];
  for (let t = Date.now(); t < until; t += 1000 / perSecond) {
    await sleep(Math.max(0, t - Date.now()));
    pending.push(fetch(`${url}/acq/test`, { headers: { 'x-bench-who': 'foreign' } }).then((r) => r.text()));
  }
  await Promise.all(pending);
}

function peakPerSecond(times: number[]): number {
  let peak = 0;
  for (const t of times) peak = Math.max(peak, times.filter((u) => u >= t && u < t + 1000).length);
  return peak;
}

export interface BudgetBenchResult {
  configuredPerSecond: number;
  peakPerSecond: number;
  foreignRefusedShare: number;
  foreignRefusedShareWithoutProject: number;
  projectRefusedPerAccepted: number;
  misconfiguredRefusedPerAccepted: number;
  misconfiguredAcceptedPerSecond: number;
  dailyResumeDelayMs: number;
  dailyProbeIntervalMs: number;
}

export async function runBudgetBench(opts: { seconds?: number; log?: (l: string) => void } = {}) {
  const seconds = opts.seconds ?? 8;
  const log = opts.log ?? (() => undefined);
  const s = await standIn(25);
  try {
    // 1. Pacing: the project alone at 10/s.
    log('budget: pacing at 10/s');
    await projectLoad(access(s.url, 10), Date.now() + seconds * 1000);
    const peak = peakPerSecond(s.accepted.map((a) => a.at));
    // 2. Foreign load: the other application at 20/s of the 25/s, alone, then with the project beside it at 10/s.
    s.reset();
    log('budget: a foreign application at 20/s alone');
    await foreignLoad(s.url, 20, Date.now() + seconds * 1000);
    const share = (who: string) => {
      const r = s.refused.filter((x) => x.who === who).length;
      const a = s.accepted.filter((x) => x.who === who).length;
      return { r, a, share: r / Math.max(1, r + a) };
    };
    const alone = share('foreign').share;
    s.reset();
    log('budget: the foreign application at 20/s with the project at 10/s');
    const until = Date.now() + seconds * 1000;
    await Promise.all([foreignLoad(s.url, 20, until), projectLoad(access(s.url, 10), until)]);
    const foreign = share('foreign');
    const project = share('project');
    // 3. The project configured at 4× the threshold (100/s against 25/s).
    s.reset();
    log('budget: configured 4x too high');
    const t0 = Date.now();
    await projectLoad(access(s.url, 100), Date.now() + seconds * 1000);
    const mis = share('project');
    const misSeconds = (Date.now() - t0) / 1000;
    // 4. Daily budget: spent, then restored; how long until the project's calls go through again.
    s.reset();
    log('budget: daily budget spent, then restored');
    const probeMs = 2000;
    const a = access(s.url, 10, `${probeMs}ms`);
    s.setDailySpent(true);
    const stop = Date.now() + 6000 + probeMs * 3;
    const load = projectLoad(a, stop, 4);
    await sleep(3000);
    s.setDailySpent(false);
    const restoredAt = Date.now();
    await load;
    const firstAfter = s.accepted.find((x) => x.at >= restoredAt)?.at ?? NaN;
    return {
      configuredPerSecond: 10,
      peakPerSecond: peak,
      foreignRefusedShare: foreign.share,
      foreignRefusedShareWithoutProject: alone,
      projectRefusedPerAccepted: project.r / Math.max(1, project.a),
      misconfiguredRefusedPerAccepted: mis.r / Math.max(1, mis.a),
      misconfiguredAcceptedPerSecond: mis.a / misSeconds,
      dailyResumeDelayMs: firstAfter - restoredAt,
      dailyProbeIntervalMs: probeMs,
    } satisfies BudgetBenchResult;
  } finally {
    await s.close();
  }
}
