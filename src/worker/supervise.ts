/**
 * Runs a process's workers as production wants them: the health endpoint (when asked for) up from the start
 * and answering through the drain, the workers run until SIGTERM/SIGINT (the SDK runtime shuts them down:
 * polling stops, running activities get the grace period, then are cancelled), and the connections closed
 * last. Used by `rto worker` and `rto start` through startWorkerProcess.
 */
import type { Worker } from '@temporalio/worker';
import type { Logger } from '../logging';
import { startHealthServer, workerHealth, type HealthServer } from './health';
import { runWorkers, type WorkerRole } from './workers';

export interface SupervisedWorkers {
  /** Settles when every worker has stopped (drained); rejects with the first failure. */
  running: Promise<void>;
  healthUrl?: string;
  /** Shuts the workers down (if still running), waits for the drain, then closes the endpoint and `cleanup`. */
  stop(): Promise<void>;
}

export async function superviseWorkers(o: {
  workers: Worker[];
  role: WorkerRole;
  /** RTO_HEALTH_HOST / RTO_HEALTH_PORT; left out, no endpoint. */
  health?: { host: string; port: number };
  logger: Logger;
  /** Closes what the workers used (connections, mailer), after they stopped. */
  cleanup: () => Promise<void>;
}): Promise<SupervisedWorkers> {
  const { workers } = o;
  const shutdown = () => {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
  };
  const running = runWorkers(workers);
  let health: HealthServer | undefined;
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      shutdown();
      await running.catch(() => undefined);
      await health?.close();
      await o.cleanup();
    })());
  if (o.health) {
    try {
      health = await startHealthServer({
        ...o.health,
        report: () => workerHealth(workers, o.role),
        logger: o.logger,
      });
    } catch (e) {
      await stop();
      throw e;
    }
  }
  return { running, stop, ...(health ? { healthUrl: health.url } : {}) };
}
