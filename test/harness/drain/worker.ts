/**
 * A worker process for the drain test (run with tsx): the project's own supervision (superviseWorkers: the
 * health endpoint, the SDK's SIGTERM drain with RTO_SHUTDOWN_GRACE_MS, connections closed last) around one
 * activity the test controls. Events go to stdout as JSON lines. Environment: the project's settings plus
 * DRAIN_RELEASE_FILE (the activity returns once that file exists).
 */
import { existsSync } from 'node:fs';
import { Context } from '@temporalio/activity';
import { Worker } from '@temporalio/worker';
import { loadSettings } from '../../../src/config/settings';
import { createLogger } from '../../../src/logging';
import { connectWorkerConnection } from '../../../src/temporal/connection';
import { installRuntime } from '../../../src/worker/runtime';
import { superviseWorkers } from '../../../src/worker/supervise';

const say = (event: string, more: Record<string, unknown> = {}) =>
  process.stdout.write(JSON.stringify({ event, ...more }) + '\n');

async function main(): Promise<number> {
  const settings = loadSettings();
  const logger = createLogger({ level: 'silent' });
  installRuntime(logger);
  const release = process.env.DRAIN_RELEASE_FILE!;
  const connection = await connectWorkerConnection(settings);
  const worker = await Worker.create({
    connection,
    taskQueue: settings.RTO_TASK_QUEUE,
    workflowsPath: require.resolve('./workflow'),
    shutdownGraceTime: settings.RTO_SHUTDOWN_GRACE_MS,
    activities: {
      async waitForRelease(): Promise<string> {
        const ctx = Context.current();
        say('activity-started');
        try {
          while (!existsSync(release)) {
            ctx.heartbeat();
            await ctx.sleep(50);
          }
        } catch (e) {
          say('activity-cancelled', { error: (e as Error).message });
          throw e;
        }
        say('activity-finished');
        return 'released';
      },
    },
  });
  const sup = await superviseWorkers({
    workers: [worker],
    role: 'both',
    health: { host: '127.0.0.1', port: 0 },
    logger,
    cleanup: () => connection.close(),
  });
  say('ready', { health: sup.healthUrl });
  process.once('SIGTERM', () => say('sigterm'));
  try {
    await sup.running;
  } finally {
    await sup.stop();
  }
  say('exited');
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    say('failed', { error: (e as Error).message });
    process.exit(1);
  },
);
