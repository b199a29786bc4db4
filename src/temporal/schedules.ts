/**
 * Temporal Schedules for the follow-ups, per account: the EDI pick-up at the configured interval, and the
 * MARC overlay at the configured time of day in the institution's time zone (overlap: skip; an explicit
 * catch-up window), and the daily digest to staff at its configured time and zone. Created or updated to match the configuration; safe for several workers to run at once.
 */
import {
  ScheduleAlreadyRunning,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleOptions,
} from '@temporalio/client';
import type { Account, Config } from '../config/schema';
import {
  DIGEST_WORKFLOW_TYPE,
  digestRunWorkflowId,
  digestScheduleId,
  FOLLOW_UP_WORKFLOW_TYPE,
  followUpScheduleId,
  isFollowUpScheduleId,
  scheduledRunWorkflowId,
} from '../order/ids';

/** The retry timing a follow-up run of this account takes (workflow input). */
export function followUpRetry(acc: Account): { initialMs: number; maxMs: number } {
  return { initialMs: acc.followUpRetry.initial, maxMs: acc.followUpRetry.max };
}

export function schedulePlans(config: Config, taskQueue: string): ScheduleOptions[] {
  const plans: ScheduleOptions[] = [];
  for (const [code, acc] of Object.entries(config.accounts)) {
    const inst = config.institutions[acc.institution]!;
    if (acc.edi.source) {
      plans.push({
        scheduleId: followUpScheduleId(taskQueue, 'edi', code),
        spec: { intervals: [{ every: acc.edi.every }] },
        action: {
          type: 'startWorkflow',
          workflowType: FOLLOW_UP_WORKFLOW_TYPE.edi,
          taskQueue,
          args: [{ account: code, retry: followUpRetry(acc) }],
          workflowId: scheduledRunWorkflowId(taskQueue, 'edi', code),
        },
        policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: acc.edi.every },
      });
    }
    if (acc.marc.source) {
      const [hour, minute] = acc.marc.at.split(':').map(Number);
      plans.push({
        scheduleId: followUpScheduleId(taskQueue, 'overlay', code),
        spec: { calendars: [{ hour: hour!, minute: minute! }], timezone: inst.timeZone },
        action: {
          type: 'startWorkflow',
          workflowType: FOLLOW_UP_WORKFLOW_TYPE.overlay,
          taskQueue,
          args: [{ account: code, retry: followUpRetry(acc) }],
          workflowId: scheduledRunWorkflowId(taskQueue, 'overlay', code),
        },
        policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: acc.marc.catchupWindow },
      });
    }
    if (acc.digest) {
      const [hour, minute] = acc.digest.at.split(':').map(Number);
      plans.push({
        scheduleId: digestScheduleId(taskQueue, code),
        spec: {
          calendars: [{ hour: hour!, minute: minute! }],
          timezone: acc.digest.timeZone ?? inst.timeZone,
        },
        action: {
          type: 'startWorkflow',
          workflowType: DIGEST_WORKFLOW_TYPE,
          taskQueue,
          args: [{ account: code }],
          workflowId: digestRunWorkflowId(taskQueue, code),
        },
        policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: acc.digest.catchupWindow },
      });
    }
  }
  return plans;
}

export async function syncSchedules(
  client: Client,
  opts: { config: Config; taskQueue: string },
): Promise<string[]> {
  const ids: string[] = [];
  for (const plan of schedulePlans(opts.config, opts.taskQueue)) {
    try {
      await client.schedule.create(plan);
    } catch (e) {
      if (!(e instanceof ScheduleAlreadyRunning)) throw e;
      await client.schedule.getHandle(plan.scheduleId).update((prev) => ({
        ...prev,
        spec: plan.spec,
        action: plan.action as never,
        policies: plan.policies,
      }));
    }
    ids.push(plan.scheduleId);
  }
  // Schedules of this task queue whose account or source left the configuration are removed.
  for await (const sched of client.schedule.list()) {
    if (isFollowUpScheduleId(opts.taskQueue, sched.scheduleId) && !ids.includes(sched.scheduleId)) {
      await client.schedule.getHandle(sched.scheduleId).delete();
    }
  }
  return ids;
}
