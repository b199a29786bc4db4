/**
 * Bench-only workflow module (passed to the workers as `workflowsPath`): the project's workflows plus a no-op
 * one of the same shape as the order pipeline to FOLLOWING_UP: N activities in a row and one timer. Its
 * activities do nothing and run on a side queue of their own (bench/production.bench.ts), so the figure
 * compared is the cost of the pipeline's code and Alma/mail round trips over Temporal's own floor.
 */
import { proxyActivities, sleep } from '@temporalio/workflow';

export * from '../src/workflows';

export interface NoopActivities {
  noop(i: number): Promise<number>;
}

export async function noopOrderWorkflow(o: {
  activities: number;
  timerMs: number;
  activityQueue: string;
}): Promise<number> {
  const { noop } = proxyActivities<NoopActivities>({
    taskQueue: o.activityQueue,
    startToCloseTimeout: '1 minute',
  });
  let sum = 0;
  const half = Math.floor(o.activities / 2);
  for (let i = 0; i < half; i++) sum += await noop(i);
  await sleep(o.timerMs);
  for (let i = half; i < o.activities; i++) sum += await noop(i);
  return sum;
}
