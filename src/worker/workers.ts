/**
 * The workers of one process: the main task queue (workflows and non-Alma activities), and one task queue per
 * Alma institution, so that each institution's API budget is enforced by the server for all workers together
 * and one institution's outage or spent budget never takes the others' slots.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { ActivityDeps } from '../activities';
import { createActivities } from '../activities';
import type { Config } from '../config/schema';
import { institutionRates } from '../institution/budget';
import { almaTaskQueue } from '../order/ids';

/**
 * The calls a typical Alma activity makes (the PO line step: a search then the POST; the bib poll: the PO line
 * then the bib), by which the queue's rate is divided. Not a bound: a search over several pages or a 401870
 * re-search makes more, and the in-process InstitutionBudget counts every actual call.
 */
export const ALMA_CALLS_PER_ACTIVITY = 2;

/**
 * What a worker process polls (RTO_WORKER_ROLE): `workflows` (the main task queue's workflow tasks only: no
 * Alma, SMTP or vendor file access needed), `activities` (the main queue's activities and every Alma task
 * queue), or `both` (the default, one process for everything). Scale them apart in production: workflow tasks
 * are short and CPU-bound, activities wait on Alma.
 */
export const WORKER_ROLES = ['both', 'workflows', 'activities'] as const;
export type WorkerRole = (typeof WORKER_ROLES)[number];

export interface WorkerSetOptions {
  /** Default `both`. */
  role?: WorkerRole;
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  config: Config;
  deps: Omit<ActivityDeps, 'taskQueue' | 'config'>;
  /** Path of a prebuilt workflow bundle; otherwise the workflows are bundled from source at start. */
  workflowBundlePath?: string;
  maxConcurrentActivities?: number;
  /** Extra workflow modules (tests). */
  workflowsPath?: string;
  shutdownGraceTime?: WorkerOptions['shutdownGraceTime'];
  /** Payload encryption; the same on every worker and client. */
  dataConverter?: WorkerOptions['dataConverter'];
}

export function defaultBundlePath(): string | undefined {
  const p = path.join(__dirname, '..', '..', 'dist', 'workflow-bundle.js');
  return existsSync(p) && __filename.endsWith('.js') ? p : undefined;
}

export async function createWorkers(o: WorkerSetOptions): Promise<Worker[]> {
  const activities = createActivities({ ...o.deps, config: o.config, taskQueue: o.taskQueue });
  // Encrypted failures need the failure converter inside the workflow bundle: bundle at start in that case.
  const useBundle = o.workflowBundlePath && !o.dataConverter?.failureConverterPath;
  const workflowSource = useBundle
    ? { workflowBundle: { codePath: o.workflowBundlePath! } }
    : { workflowsPath: o.workflowsPath ?? require.resolve('../workflows') };
  const common = {
    connection: o.connection,
    namespace: o.namespace,
    shutdownGraceTime: o.shutdownGraceTime ?? '10s',
    dataConverter: o.dataConverter,
  };
  const role = o.role ?? 'both';
  const workers = [
    await Worker.create({
      ...common,
      taskQueue: o.taskQueue,
      // A worker given no workflows polls no workflow tasks, and one given no activities no activity tasks.
      ...(role !== 'activities' ? workflowSource : {}),
      ...(role !== 'workflows' ? { activities } : {}),
      maxConcurrentActivityTaskExecutions: o.maxConcurrentActivities ?? 50,
    }),
  ];
  if (role === 'workflows') return workers;
  for (const [code, inst] of Object.entries(o.config.institutions)) {
    // The same figures the in-process budget paces by (src/institution/budget.ts).
    const { callsPerSecond } = institutionRates(inst);
    workers.push(
      await Worker.create({
        ...common,
        taskQueue: almaTaskQueue(o.taskQueue, code),
        activities,
        // Enforced by the server across every worker of this task queue (each worker must set the same value).
        maxTaskQueueActivitiesPerSecond: callsPerSecond / ALMA_CALLS_PER_ACTIVITY,
        maxConcurrentActivityTaskExecutions: Math.max(2, Math.ceil(callsPerSecond)),
      }),
    );
  }
  return workers;
}

/**
 * Runs the workers until they stop (shutdown on SIGTERM/SIGINT through the SDK runtime, or `stop`): when one
 * stops or fails, the others are shut down too, and every one is waited for (its drain included) before this
 * settles. Rejects with the first failure.
 */
export async function runWorkers(workers: Worker[]): Promise<void> {
  const stopOthers = () => {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
  };
  const results = await Promise.allSettled(workers.map((w) => w.run().finally(stopOthers)));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
