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

/**
 * The workflow cache, sized on purpose rather than by the SDK's default (600 workflows per GB of the heap limit:
 * about 2,300 on a 4 GB heap, enough to hold every order of a busy fortnight). An order runs through its first
 * stages in seconds and then waits in FOLLOWING_UP for weeks, waking a handful of times (the vendor's status, an
 * invoice, the record, a deadline, a PO line check). Keeping such an order cached buys nothing: when it wakes,
 * replaying its history (a few dozen events) costs a millisecond or two, and evicted orders cost no memory. A cached
 * order costs the worker about 0.25 MB (its state in the workflow thread's V8 context and in the SDK core). Measured
 * with 1,000 orders taken to FOLLOWING_UP 200 at a time, then left open (bench/worker-rss.bench.ts): a cache of
 * 500 left the worker at 520 MB, one of 100 at 284 MB, in the same time (the misses' replays did not slow it).
 * 100 holds the orders moving through the pipeline at once at ~30 orders a second. RTO_MAX_CACHED_WORKFLOWS.
 */
export const DEFAULT_MAX_CACHED_WORKFLOWS = 100;

/**
 * Options of every workflow-polling worker: the cache above, and one V8 context reused by all workflows (the SDK's
 * default, set here so that it stays on: a context per workflow costs ~2-3x the memory and a context creation
 * blocking the event loop on every cache miss, which with a small cache is every wake-up of an order).
 */
export function workflowWorkerOptions(o: { maxCachedWorkflows?: number } = {}) {
  return {
    reuseV8Context: true,
    maxCachedWorkflows: o.maxCachedWorkflows ?? DEFAULT_MAX_CACHED_WORKFLOWS,
  } satisfies Partial<WorkerOptions>;
}

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
  /** Workflows kept cached (default DEFAULT_MAX_CACHED_WORKFLOWS): RTO_MAX_CACHED_WORKFLOWS. */
  maxCachedWorkflows?: number;
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
      // A worker given no workflows polls no workflow tasks.
      ...(role !== 'activities'
        ? { ...workflowSource, ...workflowWorkerOptions({ maxCachedWorkflows: o.maxCachedWorkflows }) }
        : {}),
      // Lean orders validate in a local activity, run by the worker that runs the workflow: a workflow-only
      // worker registers that one activity and polls no activity tasks (enableNonLocalActivities off).
      ...(role !== 'workflows'
        ? { activities }
        : {
            activities: { validateOrderActivity: activities.validateOrderActivity },
            enableNonLocalActivities: false,
          }),
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
