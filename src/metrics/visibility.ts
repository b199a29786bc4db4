/**
 * Order gauges from Temporal's visibility, refreshed every interval in a worker process: running orders per
 * account and stage (the OrderStage search attribute the workflow keeps), those of them started over an hour ago,
 * closed order workflows per outcome, and the pollers Temporal sees per task queue. Bounded and cheap: one count
 * per account × stage and account × outcome (no listing, no payloads), one DescribeTaskQueue per queue and type.
 * Every worker process reports the same figures: aggregate them with max(), not sum().
 */
import { temporal } from '@temporalio/proto';
import type { Client } from '@temporalio/client';
import type { Config } from '../config/schema';
import type { Logger } from '../logging';
import { almaTaskQueue } from '../order/ids';
import { STAGES, FINAL_STAGES } from '../order/types';
import {
  ordersByOutcome,
  ordersByStage,
  ordersStaleByStage,
  taskQueuePollers,
  visibilityErrors,
} from './index';

/** Closed statuses as visibility queries name them. */
const OUTCOMES = ['Completed', 'Failed', 'Canceled', 'Terminated', 'TimedOut'] as const;
const RUNNING_STAGES = STAGES.filter((s) => !FINAL_STAGES.has(s));

/** The task queues a system's workers poll: the main one (workflows and activities), one per institution. */
export function pollQueuesOf(
  taskQueue: string,
  config: Pick<Config, 'institutions'>,
): { name: string; types: ('workflow' | 'activity')[] }[] {
  return [
    { name: taskQueue, types: ['workflow', 'activity'] },
    ...Object.keys(config.institutions).map((code) => ({
      name: almaTaskQueue(taskQueue, code),
      types: ['activity' as const],
    })),
  ];
}

export interface VisibilityObserver {
  /** One refresh now (the loop's step; tests call it to avoid waiting). */
  refresh(): Promise<void>;
  stop(): void;
}

const quote = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

export function observeVisibility(o: {
  client: Client;
  namespace: string;
  /** The main task queue: orders run there; it and `pollQueues` are described for pollers. */
  taskQueue: string;
  accounts: string[];
  /**
   * Task queues to report pollers for, with the task types each needs (the main queue both, an Alma queue
   * activities only): a gauge at 0 is then always a missing worker.
   */
  pollQueues: { name: string; types: ('workflow' | 'activity')[] }[];
  intervalMs: number;
  logger: Logger;
}): VisibilityObserver {
  const base = `WorkflowType = 'orderWorkflow' AND TaskQueue = ${quote(o.taskQueue)}`;
  const count = async (query: string) =>
    Number((await o.client.workflow.count(`${base} AND ${query}`)).count);
  const refresh = async () => {
    try {
      const hourAgo = new Date(Date.now() - 3600_000).toISOString();
      for (const account of o.accounts) {
        const acc = `OasisAccount = ${quote(account)}`;
        for (const stage of RUNNING_STAGES) {
          const q = `${acc} AND OrderStage = ${quote(stage)} AND ExecutionStatus = 'Running'`;
          ordersByStage.set({ account, stage }, await count(q));
          ordersStaleByStage.set({ account, stage }, await count(`${q} AND StartTime < ${quote(hourAgo)}`));
        }
        for (const outcome of OUTCOMES)
          ordersByOutcome.set(
            { account, outcome },
            await count(`${acc} AND ExecutionStatus = ${quote(outcome)}`),
          );
      }
      for (const { name, types } of o.pollQueues) {
        for (const type of types) {
          const taskQueueType =
            type === 'workflow'
              ? temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW
              : temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY;
          const r = await o.client.workflowService.describeTaskQueue({
            namespace: o.namespace,
            taskQueue: { name },
            taskQueueType,
          });
          taskQueuePollers.set({ task_queue: name, type }, r.pollers?.length ?? 0);
        }
      }
    } catch (e) {
      visibilityErrors.inc();
      o.logger.warn({ err: String((e as Error).message ?? e) }, 'metrics: visibility look-up failed');
    }
  };
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const loop = () => {
    if (stopped) return;
    void refresh().finally(() => {
      if (!stopped) timer = setTimeout(loop, o.intervalMs).unref();
    });
  };
  loop();
  return {
    refresh,
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
