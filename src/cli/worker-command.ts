/** `rto worker` and `rto http`: the production processes (docker-compose runs N workers). */
import { connectClient } from '../temporal/connection';
import { syncSchedules } from '../temporal/schedules';
import { startWorkerProcess } from '../worker/process';
import { startIntake } from './intake';
import { loadContext } from './context';

export async function workerCommand(_args: string[]): Promise<number> {
  const { settings, config, logger } = loadContext();
  // The SDK runtime shuts the workers down on SIGINT/SIGTERM: they stop polling, running activities get
  // RTO_SHUTDOWN_GRACE_MS to finish (then are cancelled), and `running` resolves; exit 0 after a clean drain.
  // Said before the workers start: a signal may come as soon as they poll (before the schedules are synced).
  for (const signal of ['SIGTERM', 'SIGINT'] as const)
    process.once(signal, () =>
      logger.info({ signal, graceMs: settings.RTO_SHUTDOWN_GRACE_MS }, 'worker draining'),
    );
  const proc = await startWorkerProcess({ settings, config, logger });
  await syncSchedules(proc.client, { config, taskQueue: settings.RTO_TASK_QUEUE });
  logger.info(
    {
      address: settings.TEMPORAL_ADDRESS,
      taskQueue: settings.RTO_TASK_QUEUE,
      role: settings.RTO_WORKER_ROLE,
      ...(proc.healthUrl ? { health: proc.healthUrl } : {}),
    },
    'worker running',
  );
  try {
    await proc.running;
  } finally {
    await proc.stop();
  }
  logger.info('worker stopped');
  return 0;
}

export async function httpCommand(_args: string[]): Promise<number> {
  const { settings, config, logger } = loadContext();
  const { client, close } = await connectClient(settings);
  const intake = await startIntake(client, { settings, config, logger });
  logger.info({ url: intake.url }, 'HTTP intake running');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await intake.close();
  await close();
  return 0;
}
