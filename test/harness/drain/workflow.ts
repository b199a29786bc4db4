/** The drain test's workflow: one activity that runs until the test releases it (or it is cancelled). */
import { proxyActivities } from '@temporalio/workflow';

const { waitForRelease } = proxyActivities<{ waitForRelease(): Promise<string> }>({
  startToCloseTimeout: '5m',
  heartbeatTimeout: '1m',
  retry: { maximumAttempts: 1 },
});

export async function drainProbe(): Promise<string> {
  return await waitForRelease();
}
