/**
 * Issue 9's proof, scaled down for `npm test` (the full size, 500 orders under --index-lag 30s --async-delay 3s,
 * is `bench/exactly-once.bench.ts` in `npm run bench`): exactly one PO line per order against a sandbox whose
 * search lags behind the POST (longer than the settle time, so the ISBN search alone cannot prove absence) and
 * that accepts a duplicate vendor reference, with 30% 5xx and 10% commit-then-drop on the POST, 10% 5xx on the
 * search, the worker process SIGKILLed mid-POST, and orders placed again after their first run's history was
 * deleted.
 */
import { runExactlyOnceProof } from './harness/proof';

jest.setTimeout(600_000);

test('exactly one PO line per order under real search, lost answers, a killed worker and deleted histories', async () => {
  const r = await runExactlyOnceProof({
    orders: 80,
    indexLagMs: 6000,
    asyncDelayMs: 1000,
    settleTime: '3s',
    killAtPosts: [30],
    placedAgain: 5,
    post5xx: 0.3,
    postDrop: 0.1,
    search5xx: 0.1,
    postLatencyMs: 300,
    timeoutMs: 480_000,
  });
  // The figures, for the record (the bench prints the full-size ones).
  console.log(`exactly-once proof: ${JSON.stringify(r)}`);
  expect(r.stuck).toEqual([]);
  expect(r.missing).toEqual([]);
  expect(r.duplicated).toEqual([]);
  expect(r.poLines).toBe(80);
  expect(r.distinctReferences).toBe(80);
  expect(r.placedAgainSamePoLine).toBe(5);
  // The faults really happened, and the vendor's list was where a lagging search could not prove absence.
  expect(r.kills).toBe(1);
  expect(Object.entries(r.posts).some(([status, n]) => status.startsWith('5') && n > 5)).toBe(true);
  expect(r.posts.dropped ?? 0).toBeGreaterThan(0);
  expect(r.vendorListReads).toBeGreaterThan(0);
});
