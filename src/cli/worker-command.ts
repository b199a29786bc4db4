/** `rto worker` and `rto http`: the production processes (docker-compose runs N workers). */
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { startHttpIntake } from '../client/http';
import { OrderClient } from '../client/orders';
import { AlmaAccess } from '../institution/alma-access';
import { createMailer } from '../mail';
import { syncSchedules } from '../temporal/schedules';
import { installRuntime } from '../worker/runtime';
import { createWorkers, defaultBundlePath, runWorkers } from '../worker/workers';
import { intakeToken } from './start';
import { loadContext } from './context';

export async function workerCommand(_args: string[]): Promise<number> {
  const { settings, config, logger } = loadContext();
  installRuntime(logger);
  const connection = await NativeConnection.connect({ address: settings.TEMPORAL_ADDRESS });
  const clientConnection = await Connection.connect({ address: settings.TEMPORAL_ADDRESS });
  const client = new Client({ connection: clientConnection, namespace: settings.TEMPORAL_NAMESPACE });
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
    deps: {
      alma: new AlmaAccess(config, logger),
      logger,
      mailer,
      temporal: client,
      dataDir: path.resolve(settings.RTO_DATA_DIR),
    },
  });
  await syncSchedules(client, { config, taskQueue: settings.RTO_TASK_QUEUE });
  logger.info({ address: settings.TEMPORAL_ADDRESS, taskQueue: settings.RTO_TASK_QUEUE }, 'worker running');
  // Runtime.install shuts the workers down on SIGINT/SIGTERM; run() then resolves.
  await runWorkers(workers);
  mailer.close();
  await clientConnection.close();
  await connection.close();
  return 0;
}

export async function httpCommand(_args: string[]): Promise<number> {
  const { settings, config, logger } = loadContext();
  const connection = await Connection.connect({ address: settings.TEMPORAL_ADDRESS });
  const client = new Client({ connection, namespace: settings.TEMPORAL_NAMESPACE });
  const { token } = intakeToken(settings, path.resolve(settings.RTO_DATA_DIR));
  const orders = new OrderClient(client, { config, taskQueue: settings.RTO_TASK_QUEUE });
  const intake = await startHttpIntake({
    orders,
    token,
    host: settings.RTO_HTTP_HOST,
    port: settings.RTO_HTTP_PORT,
    logger,
  });
  logger.info({ url: intake.url }, 'HTTP intake running');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await intake.close();
  await connection.close();
  return 0;
}
