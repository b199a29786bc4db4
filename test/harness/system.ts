/**
 * The real system for a test: the Alma sandbox and a mail catcher on free ports, the example configuration
 * pointed at them with millisecond timings, and the project's workers on a unique task queue of the run's
 * Temporal server. Nothing is mocked.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { NativeConnection, Runtime, makeTelemetryFilterString, type Worker } from '@temporalio/worker';
import { OrderClient } from '../../src/client/orders';
import { parseConfig } from '../../src/config/load';
import type { Config, ConfigFileInput } from '../../src/config/schema';
import { AlmaAccess } from '../../src/institution/alma-access';
import { createLogger, type Logger } from '../../src/logging';
import { createMailer, startMailCatcher, type MailCatcher } from '../../src/mail';
import { seedFromConfig, startAlmaSandbox, type AlmaSandbox, type SandboxSeed } from '../../src/sandbox/alma';
import { createWorkers } from '../../src/worker/workers';
import { testAddress, uniqueQueue } from './temporal';

const ROOT = path.join(__dirname, '..', '..');

let runtimeInstalled = false;
/** Quiet the SDK's native logging in tests (once per Jest worker process). */
export function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({
      logger: new (require('@temporalio/worker').DefaultLogger)('ERROR'),
      telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }) } },
    });
  } catch {
    // already installed in this process
  }
}

/**
 * The example configuration as raw JSON, with millisecond timings for tests. Its demo settings (the duplicate
 * check and the daily digest, for `npm start`) are left out unless `demo` says keep them: most tests place the
 * same example order more than once and count alerts, mails and Schedules (test/npm-start-demo.test.ts tries
 * them as `npm start` has them).
 */
export function exampleConfigRaw(
  gateway: string,
  dataDir: string,
  opts: { demo?: boolean } = {},
): ConfigFileInput {
  const raw = JSON.parse(readFileSync(path.join(ROOT, 'config', 'example.json'), 'utf8')) as ConfigFileInput;
  if (!opts.demo)
    for (const acc of Object.values(raw.accounts)) {
      delete acc.duplicateCheck;
      delete acc.duplicateHoldFor;
      delete acc.digest;
    }
  const inst = raw.institutions['01UNIV_INST']!;
  inst.gateway = gateway;
  // The sandbox answers SRU on the gateway's origin.
  if (inst.sru) inst.sru = new URL(gateway).origin;
  inst.requestTimeout = '2s';
  inst.retryInitial = '200ms';
  inst.retryMax = '2s';
  inst.settleTime = '4s';
  inst.perSecondThreshold = 25;
  inst.budgetShare = 0.8;
  for (const acc of Object.values(raw.accounts)) {
    acc.followUpRetry = { initial: '200ms', max: '1s' };
    acc.followUp = {
      firstLookDelay: '100ms',
      bibPollInterval: '200ms',
      bibPollTimeout: '30s',
      statusWithin: '60s',
      invoiceWithin: '60s',
      recordWithin: '60s',
      followAtMost: '120s',
    };
    for (const k of ['edi', 'marc'] as const) {
      const section = acc[k] as { source?: { type: string; path?: string } } | undefined;
      if (section?.source?.type === 'local')
        section.source.path = section.source.path!.replace('${RTO_DATA_DIR:-.data}', dataDir);
    }
  }
  return raw;
}

export interface TestSystem {
  config: Config;
  sandbox: AlmaSandbox;
  catcher: MailCatcher;
  client: Client;
  orders: OrderClient;
  taskQueue: string;
  dataDir: string;
  logger: Logger;
  workers: Worker[];
  sandboxState(): Promise<SandboxState>;
  sandboxPost(pathname: string, body: unknown): Promise<unknown>;
  stop(): Promise<void>;
}

export interface SandboxPoLine {
  number: string;
  vendor_reference_number?: string;
  status?: { value?: string };
  resource_metadata?: { mms_id?: { value?: string } };
  [k: string]: unknown;
}

export interface SandboxState {
  poLines: SandboxPoLine[];
  [k: string]: unknown;
}

export async function startSystem(
  opts: {
    configure?: (raw: ConfigFileInput) => void;
    bibDelayMs?: number;
    /** The sandbox's PO line behaviour (docs/alma-sandbox.md); small defaults keep tests fast. */
    asyncDelayMs?: number;
    indexLagMs?: number;
    searchMatch?: 'strict' | 'lenient';
    duplicateReference?: 'refuse' | 'accept';
    /** Edits the sandbox's seed before it starts (e.g. reviewRules, codeTables). */
    editSeed?: (seed: SandboxSeed) => void;
    withWorkers?: boolean;
    workflowsPath?: string;
    /**
     * What the sandbox is seeded from: 'example' (the default) the example configuration as it is, 'final'
     * the configuration after `configure` (e.g. an institution it adds). With 'final', `configure` also runs
     * once on a provisional copy (its gateways not yet known) to build the seed, so it should be a pure edit.
     */
    seedFrom?: 'example' | 'final';
    /** Payload encryption for the system's client and workers. */
    dataConverter?: DataConverter;
  } = {},
): Promise<TestSystem> {
  quietRuntime();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'rto-test-'));
  const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent', pretty: false });
  // Start the sandbox first on a free port, then point the configuration at it.
  const provisionalRaw = exampleConfigRaw('http://127.0.0.1:1/almaws/v1', dataDir);
  if (opts.seedFrom === 'final') opts.configure?.(provisionalRaw);
  const provisional = parseConfig(provisionalRaw);
  const seed = seedFromConfig(provisional);
  // Test files share one Temporal server: PO line numbers must not repeat across their sandboxes.
  for (const inst of seed.institutions)
    inst.firstPoLine = 100_000 + Math.floor(Math.random() * 800_000) * 1000;
  opts.editSeed?.(seed);
  const sandbox = await startAlmaSandbox({
    port: 0,
    seed,
    bibDelayMs: opts.bibDelayMs ?? 300,
    asyncDelayMs: opts.asyncDelayMs ?? 200,
    indexLagMs: opts.indexLagMs ?? 0,
    searchMatch: opts.searchMatch ?? 'strict',
    duplicateReference: opts.duplicateReference ?? 'refuse',
    logger,
  });
  const raw = exampleConfigRaw(sandbox.url, dataDir);
  opts.configure?.(raw);
  const config = parseConfig(raw);
  const catcher = await startMailCatcher({ port: 0, dir: path.join(dataDir, 'mail'), logger });
  const connection = await Connection.connect({ address: testAddress() });
  const client = new Client({ connection, namespace: 'default', dataConverter: opts.dataConverter });
  const taskQueue = uniqueQueue('orders');
  const mailer = createMailer({ host: '127.0.0.1', port: catcher.port, logger });
  let workers: Worker[] = [];
  let running: Promise<unknown> = Promise.resolve();
  let nativeConnection: NativeConnection | undefined;
  if (opts.withWorkers !== false) {
    nativeConnection = await NativeConnection.connect({ address: testAddress() });
    workers = await createWorkers({
      dataConverter: opts.dataConverter,
      connection: nativeConnection,
      namespace: 'default',
      taskQueue,
      config,
      workflowsPath: opts.workflowsPath,
      shutdownGraceTime: '1s',
      deps: { alma: new AlmaAccess(config, logger), logger, mailer, temporal: client, dataDir },
    });
    running = Promise.all(workers.map((w) => w.run()));
  }
  const admin = sandbox.baseUrl + '/_sandbox';
  return {
    config,
    sandbox,
    catcher,
    client,
    orders: new OrderClient(client, { config, taskQueue }),
    taskQueue,
    dataDir,
    logger,
    workers,
    async sandboxState() {
      const r = await fetch(`${admin}/state`);
      return (await r.json()) as SandboxState;
    },
    async sandboxPost(pathname: string, body: unknown) {
      const r = await fetch(`${admin}${pathname}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const text = await r.text();
      if (!r.ok) throw new Error(`sandbox ${pathname}: ${r.status} ${text}`);
      return text ? JSON.parse(text) : undefined;
    },
    async stop() {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await running;
      await nativeConnection?.close();
      await connection.close();
      mailer.close();
      await catcher.close();
      await sandbox.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** An example order from the contract folder, with a fresh order id so tests never collide. */
export function exampleOrder(name: string, orderId: string): Record<string, unknown> {
  const file = path.join(ROOT, 'examples', 'orders', name);
  return { ...(JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>), orderId };
}
