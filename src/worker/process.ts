/**
 * Everything a worker process runs, from the settings: the SDK runtime, connections, the mailer and the
 * workers (started). Used by `rto worker` (production) and `rto start` (the local system).
 */
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import type { Config } from '../config/schema';
import type { Settings } from '../config/settings';
import { AlmaAccess } from '../institution/alma-access';
import type { Logger } from '../logging';
import { createMailer } from '../mail';
import { dataConverterFrom } from '../temporal/codec';
import { installRuntime } from './runtime';
import { createWorkers, defaultBundlePath, runWorkers } from './workers';

export interface WorkerProcess {
  client: Client;
  workers: Worker[];
  /** Resolves when the workers have stopped (on shutdown, or on SIGINT/SIGTERM through the SDK runtime). */
  running: Promise<void>;
  stop(): Promise<void>;
}

export async function startWorkerProcess(o: {
  settings: Settings;
  config: Config;
  logger: Logger;
  address: string;
}): Promise<WorkerProcess> {
  const { settings, config, logger } = o;
  installRuntime(logger);
  const connection = await NativeConnection.connect({ address: o.address });
  const clientConnection = await Connection.connect({ address: o.address });
  const dataConverter = dataConverterFrom(settings);
  const client = new Client({
    connection: clientConnection,
    namespace: settings.TEMPORAL_NAMESPACE,
    dataConverter,
  });
  const mailer = createMailer({
    host: settings.SMTP_HOST,
    port: settings.SMTP_PORT,
    secure: settings.SMTP_SECURE === 'true',
    user: settings.SMTP_USER,
    password: settings.SMTP_PASSWORD,
    logger,
  });
  const workers = await createWorkers({
    connection,
    namespace: settings.TEMPORAL_NAMESPACE,
    taskQueue: settings.RTO_TASK_QUEUE,
    config,
    workflowBundlePath: defaultBundlePath(),
    maxConcurrentActivities: settings.RTO_WORKER_CONCURRENCY,
    dataConverter,
    deps: {
      alma: new AlmaAccess(config, logger),
      logger,
      mailer,
      temporal: client,
      dataDir: path.resolve(settings.RTO_DATA_DIR),
    },
  });
  const running = runWorkers(workers);
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await running;
      mailer.close();
      await clientConnection.close();
      await connection.close();
    })());
  return { client, workers, running, stop };
}
