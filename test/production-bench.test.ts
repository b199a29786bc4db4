/**
 * Issue 11's production benches (bench/production.bench.ts, bench/worker-rss.bench.ts) at a tiny size: every
 * figure `npm run bench` prints comes out of a run that did what it says. Figures, not speed: no timed
 * assertion here; the full-size run is in the bench.
 */
import { runHistoryBench, runPipelineBench } from '../bench/production.bench';
import { runWorkerRssBench } from '../bench/worker-rss.bench';

jest.setTimeout(300_000);

test('the pipeline and the no-op run the same orders, and the intake is timed idle and under load', async () => {
  const r = await runPipelineBench({ orders: 4, concurrency: 2, intakeRequests: 5, timeoutMs: 90_000 });
  expect(r.stuck).toBe(0);
  // Validation, the PO line, the bib at least: the no-op copies what the pipeline really scheduled.
  expect(r.activitiesPerOrder).toBeGreaterThanOrEqual(3);
  expect(r.pipelineSeconds).toBeGreaterThan(0);
  expect(r.noopSeconds).toBeGreaterThan(0);
  expect(r.intakeIdle.requests).toBe(5);
  expect(r.intakeUnderLoad.requests).toBeGreaterThanOrEqual(1);
  expect(r.intakeIdle.p99Ms).toBeGreaterThanOrEqual(r.intakeIdle.p50Ms);
});

test('orders signalled their news end COMPLETED and their histories are measured', async () => {
  const r = await runHistoryBench({ orders: 3, timeoutMs: 90_000 });
  expect(r.completed).toBe(3);
  expect(r.eventsMax).toBeGreaterThanOrEqual(r.eventsMean);
  expect(r.eventsMean).toBeGreaterThan(10);
  expect(r.bytesMean).toBeGreaterThan(1000);
});

test('the worker child’s RSS is read with its orders open in FOLLOWING_UP', async () => {
  const r = await runWorkerRssBench({ orders: 5, timeoutMs: 120_000 });
  expect(r.followingUp).toBe(5);
  expect(r.rssMb).toBeGreaterThan(20);
  expect(r.peakRssMb).toBeGreaterThanOrEqual(r.rssMb);
  expect(r.maxCachedWorkflows).toBeGreaterThanOrEqual(10);
});
