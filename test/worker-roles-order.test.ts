/**
 * An order with the workers split by role (RTO_WORKER_ROLE): a workflow-only worker and an activity-only one on
 * the same task queue, against the Alma sandbox. The validation is a local activity, so the workflow-only worker
 * must run it itself (it polls no activity tasks); everything else goes to the activity worker.
 */
import { NativeConnection, type Worker } from '@temporalio/worker';
import { AlmaAccess } from '../src/institution/alma-access';
import { createMailer, type Mailer } from '../src/mail';
import { createWorkers } from '../src/worker/workers';
import { exampleOrder, startSystem, type TestSystem } from './harness/system';
import { testAddress } from './harness/temporal';

jest.setTimeout(120_000);

let sys: TestSystem;
let connection: NativeConnection;
let mailer: Mailer;
let workers: Worker[] = [];
let running: Promise<unknown>;

beforeAll(async () => {
  sys = await startSystem({ withWorkers: false, bibDelayMs: 0 });
  connection = await NativeConnection.connect({ address: testAddress() });
  mailer = createMailer({ host: '127.0.0.1', port: sys.catcher.port, logger: sys.logger });
  const common = {
    connection,
    namespace: 'default',
    taskQueue: sys.taskQueue,
    config: sys.config,
    shutdownGraceTime: '1s' as const,
    deps: {
      alma: new AlmaAccess(sys.config, sys.logger),
      logger: sys.logger,
      mailer,
      temporal: sys.client,
      dataDir: sys.dataDir,
    },
  };
  workers = [
    ...(await createWorkers({ ...common, role: 'workflows' })),
    ...(await createWorkers({ ...common, role: 'activities' })),
  ];
  running = Promise.all(workers.map((w) => w.run()));
});

afterAll(async () => {
  for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
  await running;
  mailer?.close();
  await connection?.close();
  await sys?.stop();
});

test('a workflow-only worker validates the order itself (a local activity) and the activity worker does the rest', async () => {
  const orderId = `ROLES-${Date.now().toString(36)}`;
  const placed = await sys.orders.placeOrder(exampleOrder('print-single-fund.json', orderId));
  expect(placed.outcome).toBe('started');
  const s = await sys.orders.waitForStage('UNIV-MAIN', orderId, 'FOLLOWING_UP', { timeoutMs: 60_000 });
  expect(s.poLine).toBeTruthy();
  const events = (await sys.orders.handle('UNIV-MAIN', orderId).fetchHistory()).events!;
  const scheduled = events.map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name);
  expect(scheduled).not.toContain('validateOrderActivity');
  expect(scheduled).toContain('createPoLine');
  expect(
    events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity'),
  ).toHaveLength(1);
  // The client gave account, order id and stage at the start: the order was findable before its first task.
  const started = events[0]!.workflowExecutionStartedEventAttributes!;
  expect(Object.keys(started.searchAttributes?.indexedFields ?? {}).sort()).toEqual([
    'OasisAccount',
    'OasisOrderId',
    'OrderStage',
  ]);
  const lines = (await sys.sandboxState()).poLines.filter((p) => p.vendor_reference_number === orderId);
  expect(lines).toHaveLength(1);
  await sys.orders.cancelOrder('UNIV-MAIN', orderId, { reason: 'TEST', comment: 'clean up' });
});
