/**
 * Issue 9's exactly-once proof at full size (test/exactly-once-proof.test.ts runs it scaled down): 500 orders
 * against the sandbox as `rto sandbox alma --index-lag 30s --search-match strict --async-delay 3s` with duplicate
 * vendor references accepted, 30% 5xx and 10% commit-then-drop on the POST, 10% 5xx on the search, the worker
 * SIGKILLed twice mid-POST, and 10 orders placed again after their first run's history was deleted. The settle
 * time is 1 minute, twice the index lag: every POST whose answer is unknown (40% of them here: a 5xx may have
 * been committed) waits it out, so with the default 3 minutes an unlucky order of 500 waits 15 minutes and more
 * (a first run at 3 minutes left 69 of 500 still ordering after 20 minutes, none duplicated).
 *
 * Needs TEMPORAL_TEST_ADDRESS (bench/run.ts starts a dev server and sets it).
 */
import { runExactlyOnceProof, type ProofResult } from '../test/harness/proof';

export type ExactlyOnceBenchResult = ProofResult;

export async function runExactlyOnceBench(o: {
  orders: number;
  log: (line: string) => void;
}): Promise<ExactlyOnceBenchResult> {
  return runExactlyOnceProof({
    orders: o.orders,
    indexLagMs: 30_000,
    asyncDelayMs: 3_000,
    settleTime: '1m',
    killAtPosts: [Math.round(o.orders * 0.2), Math.round(o.orders * 0.6)],
    placedAgain: Math.min(10, o.orders),
    post5xx: 0.3,
    postDrop: 0.1,
    search5xx: 0.1,
    postLatencyMs: 300,
    timeoutMs: 40 * 60_000,
    log: o.log,
  });
}

if (require.main === module) {
  const orders = Number(process.argv[2] ?? 500);
  runExactlyOnceBench({ orders, log: (l) => process.stderr.write(`[proof] ${l}\n`) }).then(
    (r) => process.stdout.write(JSON.stringify(r, null, 2) + '\n'),
    (e: unknown) => {
      process.stderr.write(`${String(e)}\n`);
      process.exit(1);
    },
  );
}
