/**
 * The project's workers in a process of their own, so a test can SIGKILL them in the middle of an Alma POST
 * (nothing in the process gets to clean up, as on a machine that dies). Started by `spawnWorker` in
 * test/harness/proof.ts with everything in the environment:
 *   RTO_CHILD_CONFIG   a JSON configuration file (the example one pointed at the test's sandbox)
 *   RTO_CHILD_QUEUE    the task queue
 *   RTO_CHILD_SMTP     the mail catcher's port
 *   TEMPORAL_TEST_ADDRESS  the run's Temporal server
 *   RTO_CHILD_BUNDLE   optional: a prebuilt workflow bundle to load, as production workers do (no bundler in
 *                      the process, so its memory is the workers' alone: bench/worker-rss.bench.ts)
 *   RTO_CHILD_MAX_CACHED_WORKFLOWS  optional: the workflow cache size (default: the project's)
 * It prints "ready" on stdout once the workers poll.
 */
import { NativeConnection } from '@temporalio/worker';
import { loadConfigFile } from '../../src/config/load';
import { AlmaAccess } from '../../src/institution/alma-access';
import { createLogger } from '../../src/logging';
import { createMailer } from '../../src/mail';
import { createWorkers, runWorkers } from '../../src/worker/workers';
import { quietRuntime } from './system';
import { testAddress } from './temporal';

async function main(): Promise<void> {
  quietRuntime();
  const config = loadConfigFile(process.env.RTO_CHILD_CONFIG!);
  const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent', pretty: false });
  const mailer = createMailer({ host: '127.0.0.1', port: Number(process.env.RTO_CHILD_SMTP), logger });
  const connection = await NativeConnection.connect({ address: testAddress() });
  const { Client, Connection } = await import('@temporalio/client');
  const clientConnection = await Connection.connect({ address: testAddress() });
  const temporal = new Client({ connection: clientConnection, namespace: 'default' });
  const workers = await createWorkers({
    connection,
    namespace: 'default',
    taskQueue: process.env.RTO_CHILD_QUEUE!,
    config,
    shutdownGraceTime: '1s',
    ...(process.env.RTO_CHILD_BUNDLE ? { workflowBundlePath: process.env.RTO_CHILD_BUNDLE } : {}),
    ...(process.env.RTO_CHILD_MAX_CACHED_WORKFLOWS
      ? { maxCachedWorkflows: Number(process.env.RTO_CHILD_MAX_CACHED_WORKFLOWS) }
      : {}),
    deps: {
      alma: new AlmaAccess(config, logger),
      logger,
      mailer,
      temporal,
      dataDir: process.env.RTO_CHILD_DATA!,
    },
  });
  const running = runWorkers(workers);
  process.stdout.write('ready\n');
  await running;
  mailer.close();
  await connection.close();
  await clientConnection.close();
}

main().catch((e: unknown) => {
  process.stderr.write(`worker child failed: ${String(e)}\n`);
  process.exit(1);
});
