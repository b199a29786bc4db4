/**
 * Temporal Schedules for the follow-ups, per account: the EDI pick-up at the configured interval, and the
 * MARC overlay at the configured time of day in the institution's time zone (overlap: skip; an explicit
 * catch-up window). Created or updated to match the configuration; safe for several workers to run at once.
 */
import {
  ScheduleAlreadyRunning,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleOptions,
} from '@temporalio/client';
import type { Account, Config } from '../config/schema';

/** The retry timing a follow-up run of this account takes (workflow input). */
export function followUpRetry(acc: Account): { initialMs: number; maxMs: number } {
  return { initialMs: acc.followUpRetry.initial, maxMs: acc.followUpRetry.max };
}

export function schedulePlans(config: Config, taskQueue: string): ScheduleOptions[] {
  const plans: ScheduleOptions[] = [];
  // A scheduled run's workflow id is this id plus the scheduled time: it names the task queue too, or two
  // deployments sharing a namespace would start the same id at the same moment and one run would be lost.
  for (const [code, acc] of Object.entries(config.accounts)) {
    const inst = config.institutions[acc.institution]!;
    if (acc.edi.source) {
      plans.push({
        scheduleId: `${taskQueue}:edi:${code}`,
        spec: { intervals: [{ every: acc.edi.every }] },
        action: {
          type: 'startWorkflow',
          workflowType: 'ediPickupWorkflow',
          taskQueue,
          args: [{ account: code, retry: followUpRetry(acc) }],
          workflowId: `edi-pickup:${code}:${taskQueue}`,
        },
        policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: acc.edi.every },
      });
    }
    if (acc.marc.source) {
      const [hour, minute] = acc.marc.at.split(':').map(Number);
      plans.push({
        scheduleId: `${taskQueue}:overlay:${code}`,
        spec: { calendars: [{ hour: hour!, minute: minute! }], timezone: inst.timeZone },
        action: {
          type: 'startWorkflow',
          workflowType: 'overlayWorkflow',
          taskQueue,
          args: [{ account: code, retry: followUpRetry(acc) }],
          workflowId: `overlay:${code}:${taskQueue}`,
        },
        policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: acc.marc.catchupWindow },
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
  const prefix = `${opts.taskQueue}:`;
  for await (const sched of client.schedule.list()) {
    if (
      sched.scheduleId.startsWith(prefix) &&
      /:(edi|overlay):/.test(sched.scheduleId.slice(prefix.length - 1)) &&
      !ids.includes(sched.scheduleId)
    ) {
      await client.schedule.getHandle(sched.scheduleId).delete();
    }
  }
  return ids;
}
