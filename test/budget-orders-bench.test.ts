/**
 * The order-level budget bench (bench/budget-orders.bench.ts) at a tiny size: it runs orders through the real
 * system beside a foreign load in another process, and reports what `npm run bench` prints. Figures, not
 * speed: the full-size run is in the bench.
 */
import { runBudgetOrdersBench } from '../bench/budget-orders.bench';

jest.setTimeout(240_000);

test('both runs take every order to FOLLOWING_UP and count the project’s calls apart from the foreign load', async () => {
  const r = await runBudgetOrdersBench({ orders: 4, timeoutMs: 90_000 });
  for (const f of [r.foreignLoad, r.misconfigured]) {
    expect(f.followingUp).toBe(4);
    // At least a search, a POST and a poll (PO line and bib) per order.
    expect(f.projectCalls).toBeGreaterThanOrEqual(4 * 4);
    expect(f.project429).toBeLessThanOrEqual(f.projectCalls);
    expect(f.foreignCalls).toBeGreaterThan(20);
  }
  expect(r.misconfigured.configuredPerSecond).toBe(4 * r.misconfigured.realPerSecond);
});
