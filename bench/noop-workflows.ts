/**
 * Bench-only workflow module: a no-op workflow of the same shape as the order pipeline to FOLLOWING_UP: as many
 * local activities, then as many activities in a row with one timer halfway. Its activities do nothing; it runs
 * on a worker of its own in the bench's process, with the project's workflow worker settings
 * (bench/production.bench.ts), so the figure compared is the cost of the pipeline's code and its Alma/mail
 * round trips over Temporal's own floor.
 */
import { proxyActivities, proxyLocalActivities, sleep } from '@temporalio/workflow';

export interface NoopActivities {
  noop(i: number): Promise<number>;
}

export async function noopOrderWorkflow(o: {
  activities: number;
  localActivities?: number;
  timerMs: number;
  activityQueue: string;
}): Promise<number> {
  const { noop } = proxyActivities<NoopActivities>({
    taskQueue: o.activityQueue,
    startToCloseTimeout: '1 minute',
  });
  const local = proxyLocalActivities<NoopActivities>({ startToCloseTimeout: '1 minute' });
  let sum = 0;
  for (let i = 0; i < (o.localActivities ?? 0); i++) sum += await local.noop(i);
  const half = Math.floor(o.activities / 2);
  for (let i = 0; i < half; i++) sum += await noop(i);
  await sleep(o.timerMs);
  for (let i = half; i < o.activities; i++) sum += await noop(i);
  return sum;
}
