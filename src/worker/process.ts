/**
 * Everything a worker process runs, from the settings: the SDK runtime, connections, the mailer and the
 * workers (started). Used by `rto worker` (production) and `rto start` (the local system).
 */
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import type { Config } from '../config/schema';
import type { Settings } from '../config/settings';
import { uiBaseUrl } from '../client/ui-url';
import { AlmaAccess } from '../institution/alma-access';
import type { Logger } from '../logging';
import { createMailer, mailerOptionsFromSettings } from '../mail';
import { observeBudgets } from '../metrics';
import { observeVisibility, pollQueuesOf } from '../metrics/visibility';
import { connectClient, connectWorkerConnection } from '../temporal/connection';
import { installRuntime } from './runtime';
import { superviseWorkers } from './supervise';
import { createWorkers, defaultBundlePath } from './workers';

export interface WorkerProcess {
  client: Client;
  workers: Worker[];
  /** The health endpoint's URL, when RTO_HEALTH_PORT is set. */
  healthUrl?: string;
  /** Resolves when the workers have stopped (on shutdown, or on SIGINT/SIGTERM through the SDK runtime). */
  running: Promise<void>;
  stop(): Promise<void>;
}

/** Connects to the settings' Temporal (TEMPORAL_ADDRESS, namespace, payload keys): the one truth for both. */
export async function startWorkerProcess(o: {
  settings: Settings;
  config: Config;
  logger: Logger;
}): Promise<WorkerProcess> {
  const { settings, config, logger } = o;
  installRuntime(logger, 'WARN', settings.RTO_SDK_METRICS_ADDRESS);
  const connection = await connectWorkerConnection(settings);
  const {
    client,
    dataConverter,
    close: closeClient,
  } = await connectClient(settings).catch(async (e: unknown) => {
    await connection.close();
    throw e;
  });
  // SMTP_* in one place (TLS required with credentials unless SMTP_ALLOW_PLAIN_AUTH says otherwise).
  const mailer = createMailer(mailerOptionsFromSettings(settings, logger));
  const alma = new AlmaAccess(config, logger, { mailer });
  // Budgets read at each scrape of /metrics: calls left today, the daily budget, waits and held calls.
  const unobserveBudgets = observeBudgets(() =>
    Object.keys(config.institutions).map((code) => alma.budget(code)),
  );
  const workers = await createWorkers({
    role: settings.RTO_WORKER_ROLE,
    shutdownGraceTime: settings.RTO_SHUTDOWN_GRACE_MS,
    connection,
    namespace: settings.TEMPORAL_NAMESPACE,
    taskQueue: settings.RTO_TASK_QUEUE,
    config,
    workflowBundlePath: defaultBundlePath(),
    maxConcurrentActivities: settings.RTO_WORKER_CONCURRENCY,
    maxCachedWorkflows: settings.RTO_MAX_CACHED_WORKFLOWS,
    dataConverter,
    deps: {
      alma,
      logger,
      mailer,
      temporal: client,
      uiBaseUrl: uiBaseUrl(settings),
      dataDir: path.resolve(settings.RTO_DATA_DIR),
    },
  });
  // Once the workers exist: orders per stage and outcome, pollers per task queue, from Temporal's visibility
  // (workflow code cannot count: it is replayed).
  const visibility =
    settings.RTO_METRICS_VISIBILITY_INTERVAL_MS > 0
      ? observeVisibility({
          client,
          namespace: settings.TEMPORAL_NAMESPACE,
          taskQueue: settings.RTO_TASK_QUEUE,
          accounts: Object.keys(config.accounts),
          pollQueues: pollQueuesOf(settings.RTO_TASK_QUEUE, config),
          intervalMs: settings.RTO_METRICS_VISIBILITY_INTERVAL_MS,
          logger,
        })
      : undefined;
  const supervised = await superviseWorkers({
    workers,
    role: settings.RTO_WORKER_ROLE,
    ...(settings.RTO_HEALTH_PORT !== undefined
      ? { health: { host: settings.RTO_HEALTH_HOST, port: settings.RTO_HEALTH_PORT } }
      : {}),
    logger,
    cleanup: async () => {
      visibility?.stop();
      unobserveBudgets();
      mailer.close();
      await closeClient();
      await connection.close();
    },
  });
  return { client, workers, ...supervised };
}
