/**
 * Secured Temporal connections through the one connection module: TLS with a server CA, mTLS with a client
 * certificate, API keys, and Temporal's TOML profiles, against the real dev server behind a TLS-terminating
 * proxy (test/harness/tls.ts; the dev server itself cannot serve TLS).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { connectOrderClient } from '../src/client/connect';
import { ConfigError } from '../src/config/load';
import { loadSettings } from '../src/config/settings';
import {
  TemporalUnreachableError,
  connectClient,
  connectWorkerConnection,
  temporalConnectionOptions,
} from '../src/temporal/connection';
import { startChild, type Child } from './harness/child';
import { quietRuntime } from './harness/system';
import { testAddress, uniqueQueue } from './harness/temporal';
import { makeTestPki, startTlsProxy, type TestPki, type TlsProxy } from './harness/tls';

let pki: TestPki;
let tlsOnly: TlsProxy;
let mtls: TlsProxy;

beforeAll(async () => {
  quietRuntime();
  pki = makeTestPki();
  tlsOnly = await startTlsProxy({ pki, target: testAddress(), requireClientCert: false });
  mtls = await startTlsProxy({ pki, target: testAddress(), requireClientCert: true });
});
afterAll(async () => {
  await tlsOnly?.close();
  await mtls?.close();
  pki?.cleanup();
});

const failure = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as Error,
  );

test('with the server CA, a client and a polling worker connect over TLS (the API key implies TLS)', async () => {
  const settings = loadSettings({
    TEMPORAL_ADDRESS: tlsOnly.address,
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.caPath,
    TEMPORAL_TLS_SERVER_NAME: 'localhost',
  });
  const c = await connectClient(settings, { connectTimeoutMs: 5000 });
  const conn = await connectWorkerConnection(settings);
  const taskQueue = uniqueQueue('tls');
  const worker = await Worker.create({
    connection: conn,
    taskQueue,
    activities: { noop: async () => undefined },
  });
  const run = worker.run();
  try {
    // The worker polls through the TLS proxy: the server lists it as the task queue's activity poller.
    let pollers = 0;
    for (let i = 0; i < 100 && pollers === 0; i++) {
      const d = await c.client.workflowService.describeTaskQueue({
        namespace: 'default',
        taskQueue: { name: taskQueue },
        taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
      });
      pollers = d.pollers?.length ?? 0;
      if (!pollers) await new Promise((r) => setTimeout(r, 100));
    }
    expect(pollers).toBeGreaterThan(0);
  } finally {
    worker.shutdown();
    await run;
    await conn.close();
    await c.close();
  }

  // An API key alone turns TLS on, as in Temporal's SDKs: with the CA, the connection succeeds over TLS.
  const withKey = loadSettings({
    TEMPORAL_ADDRESS: tlsOnly.address,
    TEMPORAL_API_KEY: 'secret-api-key-123',
    TEMPORAL_TLS_SERVER_CA_CERT_DATA: readFileSync(pki.caPath, 'utf8'),
    TEMPORAL_TLS_SERVER_NAME: 'localhost',
  });
  const k = await connectClient(withKey, { connectTimeoutMs: 5000 });
  await expect(k.connection.workflowService.getSystemInfo({})).resolves.toBeDefined();
  await k.close();

  // The client library OASIS imports connects the same way, from an environment.
  const lib = await connectOrderClient({
    config: { accounts: {} },
    env: {
      TEMPORAL_ADDRESS: tlsOnly.address,
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.caPath,
      TEMPORAL_TLS_SERVER_NAME: 'localhost',
      RTO_TASK_QUEUE: 'lib-queue',
    },
    connectTimeoutMs: 5000,
  });
  await expect(lib.client.workflowService.getSystemInfo({})).resolves.toBeDefined();
  await lib.close();
});

test('mTLS: with the client certificate the client and the worker connect; without it they are refused', async () => {
  const base = {
    TEMPORAL_ADDRESS: mtls.address,
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.caPath,
    TEMPORAL_TLS_SERVER_NAME: 'localhost',
  };
  const settings = loadSettings({
    ...base,
    TEMPORAL_TLS_CLIENT_CERT_PATH: pki.clientCertPath,
    TEMPORAL_TLS_CLIENT_KEY_PATH: pki.clientKeyPath,
  });
  const c = await connectClient(settings, { connectTimeoutMs: 5000 });
  await expect(c.connection.workflowService.getSystemInfo({})).resolves.toBeDefined();
  await c.close();
  const conn = await connectWorkerConnection(settings);
  await expect(conn.workflowService.getSystemInfo({})).resolves.toBeDefined();
  await conn.close();

  const before = mtls.refused.length;
  const noCert = loadSettings(base);
  const err = await failure(connectClient(noCert, { connectTimeoutMs: 3000 }));
  expect(err).toBeInstanceOf(TemporalUnreachableError);
  expect(err?.message).toContain(`cannot reach Temporal at ${mtls.address}`);
  expect(err?.message).toContain('over TLS (server CA from TEMPORAL_TLS_SERVER_CA_CERT_PATH');
  const nativeErr = await failure(connectWorkerConnection(noCert));
  expect(nativeErr).toBeInstanceOf(TemporalUnreachableError);
  // The proxy refused the handshakes for want of a certificate.
  expect(mtls.refused.length).toBeGreaterThan(before);
  expect(mtls.refused.join('\n')).toMatch(/certificate/i);
});

test('a CA that did not sign the server certificate is refused', async () => {
  const settings = loadSettings({
    TEMPORAL_ADDRESS: tlsOnly.address,
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.wrongCaPath,
    TEMPORAL_TLS_SERVER_NAME: 'localhost',
  });
  const err = await failure(connectClient(settings, { connectTimeoutMs: 3000 }));
  expect(err).toBeInstanceOf(TemporalUnreachableError);
  expect(err?.message).toContain('server CA from TEMPORAL_TLS_SERVER_CA_CERT_PATH');
  const nativeErr = await failure(connectWorkerConnection(settings));
  expect(nativeErr).toBeInstanceOf(TemporalUnreachableError);
  expect(nativeErr?.message).toMatch(/certificate|UnknownIssuer|tls/i);
  // And without TLS the TLS port is no Temporal either.
  const plain = await failure(
    connectClient(loadSettings({ TEMPORAL_ADDRESS: tlsOnly.address }), { connectTimeoutMs: 2000 }),
  );
  expect(plain?.message).toContain('without TLS');
});

test('rto worker, the HTTP intake (rto http) and rto commands connect over mTLS with the same settings', async () => {
  const root = path.join(__dirname, '..');
  const rto = path.join(root, 'bin', 'rto.js');
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'rto-tls-data-'));
  const taskQueue = uniqueQueue('tls-e2e');
  const env = {
    TEMPORAL_ADDRESS: mtls.address,
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.caPath,
    TEMPORAL_TLS_SERVER_NAME: 'localhost',
    TEMPORAL_TLS_CLIENT_CERT_PATH: pki.clientCertPath,
    TEMPORAL_TLS_CLIENT_KEY_PATH: pki.clientKeyPath,
    RTO_TASK_QUEUE: taskQueue,
    RTO_DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
    CI: '1',
  };
  const children: Child[] = [];
  try {
    const worker = startChild(
      [rto, 'worker'],
      { ...env, RTO_HEALTH_PORT: '0', RTO_WORKER_ROLE: 'activities' },
      root,
    );
    children.push(worker);
    const url = (await worker.next((e) => e.msg === 'worker health endpoint')).url as string;
    for (;;) {
      if ((await fetch(url)).status === 200) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const intake = startChild([rto, 'http'], { ...env, RTO_HTTP_PORT: '0' }, root);
    children.push(intake);
    const intakeUrl = (await intake.next((e) => e.msg === 'HTTP intake running')).url as string;
    expect((await fetch(`${intakeUrl}/orders`, { method: 'POST' })).status).toBe(401);
    // A client command: schedules sync talks to Temporal over the same mTLS connection.
    const sync = startChild([rto, 'schedules', 'sync'], env, root);
    children.push(sync);
    expect((await sync.exited).code).toBe(0);
    // The same command without the client certificate is refused, naming the address and how it was secured.
    const refused = startChild(
      [rto, 'schedules', 'sync'],
      { ...env, TEMPORAL_TLS_CLIENT_CERT_PATH: '', TEMPORAL_TLS_CLIENT_KEY_PATH: '' },
      root,
    );
    children.push(refused);
    const r = await refused.exited;
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot reach Temporal at ${mtls.address}`);
    for (const c of [worker, intake]) c.child.kill('SIGTERM');
    expect((await worker.exited).code).toBe(0);
    expect((await intake.exited).code).toBe(0);
  } finally {
    for (const c of children)
      if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
  }
}, 180_000);

test('the API key and the private key appear in no output, connected or refused', async () => {
  const root = path.join(__dirname, '..');
  const rto = path.join(root, 'bin', 'rto.js');
  const apiKey = 'tmprl-api-key-MUST-NOT-LEAK-9f3c';
  const keyLine = readFileSync(pki.clientKeyPath, 'utf8').split('\n')[1]!;
  const env = {
    TEMPORAL_ADDRESS: tlsOnly.address,
    TEMPORAL_API_KEY: apiKey,
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.caPath,
    TEMPORAL_TLS_SERVER_NAME: 'localhost',
    TEMPORAL_TLS_CLIENT_CERT_PATH: pki.clientCertPath,
    TEMPORAL_TLS_CLIENT_KEY_PATH: pki.clientKeyPath,
    RTO_TASK_QUEUE: uniqueQueue('tls-secret'),
    RTO_DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'rto-tls-secret-')),
    LOG_LEVEL: 'trace',
    CI: '1',
  };
  for (const extra of [{}, { TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.wrongCaPath }]) {
    const c = startChild([rto, 'schedules', 'sync'], { ...env, ...extra }, root);
    const out = await c.exited;
    const all = out.stdout + out.stderr;
    expect(out.code).toBe(Object.keys(extra).length ? 1 : 0);
    expect(all).not.toContain(apiKey);
    expect(all).not.toContain(keyLine);
  }
}, 120_000);

describe('settings: clear errors naming the setting, secrets never shown', () => {
  const configError = (f: () => unknown): Error => {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return e as Error;
    }
    throw new Error('no error');
  };
  const options = (env: NodeJS.ProcessEnv) => temporalConnectionOptions(loadSettings(env));

  test('a missing certificate file names its setting', () => {
    const e = configError(() =>
      options({ TEMPORAL_TLS_SERVER_CA_CERT_PATH: '/nonexistent/ca.pem', TEMPORAL_ADDRESS: 'x:7233' }),
    );
    expect(e.message).toBe(
      'the environment: TEMPORAL_TLS_SERVER_CA_CERT_PATH is /nonexistent/ca.pem, but no file is there',
    );
  });

  test('a file that is no PEM certificate, or no key, is refused without showing it', () => {
    const e = configError(() => options({ TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.clientKeyPath }));
    expect(e.message).toContain('TEMPORAL_TLS_SERVER_CA_CERT_PATH');
    expect(e.message).toContain('does not hold a PEM certificate');
    const k = configError(() =>
      options({
        TEMPORAL_TLS_CLIENT_CERT_PATH: pki.clientCertPath,
        TEMPORAL_TLS_CLIENT_KEY_DATA: 'not-a-key-s3cr3t',
      }),
    );
    expect(k.message).toContain('TEMPORAL_TLS_CLIENT_KEY_DATA does not hold a PEM private key');
    expect(k.message).not.toContain('s3cr3t');
  });

  test('a client certificate without its key (or the other way round) names both', () => {
    const e = configError(() => loadSettings({ TEMPORAL_TLS_CLIENT_CERT_PATH: pki.clientCertPath }));
    expect(e.message).toContain('TEMPORAL_TLS_CLIENT_CERT_PATH is set, TEMPORAL_TLS_CLIENT_KEY_PATH is not');
    const k = configError(() => loadSettings({ TEMPORAL_TLS_CLIENT_KEY_PATH: pki.clientKeyPath }));
    expect(k.message).toContain('TEMPORAL_TLS_CLIENT_KEY_PATH is set, TEMPORAL_TLS_CLIENT_CERT_PATH is not');
  });

  test('an API key implies TLS; with TLS turned off it is refused, the key not shown', () => {
    const o = options({ TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233', TEMPORAL_API_KEY: 'k-s3cr3t' });
    expect(o).toEqual({ address: 'ns.acct.tmprl.cloud:7233', apiKey: 'k-s3cr3t', tls: true });
    const e = configError(() => loadSettings({ TEMPORAL_API_KEY: 'k-s3cr3t', TEMPORAL_TLS: 'false' }));
    expect(e.message).toContain('TEMPORAL_API_KEY');
    expect(e.message).toContain('TEMPORAL_TLS=false');
    expect(e.message).not.toContain('s3cr3t');
    expect(configError(() => loadSettings({ TEMPORAL_TLS: 'yes' })).message).toContain(
      'TEMPORAL_TLS is "yes"',
    );
    expect(
      configError(() => loadSettings({ TEMPORAL_TLS: 'false', TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.caPath }))
        .message,
    ).toContain('TLS is off (TEMPORAL_TLS=false)');
    expect(
      configError(() => loadSettings({ TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: 'true' })).message,
    ).toContain('TEMPORAL_TLS_SERVER_NAME');
    // No TLS settings at all: a plain connection, as before.
    expect(options({ TEMPORAL_PORT: '7233' })).toEqual({ address: '127.0.0.1:7233' });
    expect(options({ TEMPORAL_TLS: 'true' }).tls).toBe(true);
  });

  test('the API key from a file (TEMPORAL_API_KEY_FILE), errors naming it', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rto-key-'));
    writeFileSync(path.join(dir, 'key'), 'file-s3cr3t\n');
    expect(options({ TEMPORAL_API_KEY_FILE: path.join(dir, 'key') }).apiKey).toBe('file-s3cr3t');
    expect(
      configError(() => loadSettings({ TEMPORAL_API_KEY_FILE: path.join(dir, 'nope') })).message,
    ).toContain('TEMPORAL_API_KEY_FILE is');
  });

  test('a TOML profile (TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE), the environment overriding it', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rto-profile-'));
    const file = path.join(dir, 'temporal.toml');
    writeFileSync(
      file,
      [
        '[profile.default]',
        'address = "default.example:7233"',
        '[profile.prod]',
        'address = "prod.example:7233"',
        'namespace = "orders-prod"',
        'api_key = "toml-s3cr3t"',
        '[profile.prod.tls]',
        `server_ca_cert_path = "${pki.caPath}"`,
        'server_name = "localhost"',
        '[profile.prod.grpc_meta]',
        'x-tenant = "library"',
      ].join('\n'),
    );
    const prod = loadSettings({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'prod' });
    expect(prod.TEMPORAL_ADDRESS).toBe('prod.example:7233');
    expect(prod.TEMPORAL_NAMESPACE).toBe('orders-prod');
    const o = temporalConnectionOptions(prod);
    expect(o.apiKey).toBe('toml-s3cr3t');
    expect(o.metadata).toEqual({ 'x-tenant': 'library' });
    expect(o.tls).toMatchObject({ serverNameOverride: 'localhost' });
    expect((o.tls as { serverRootCACertificate: Buffer }).serverRootCACertificate.toString()).toContain(
      'BEGIN CERT',
    );
    // The environment wins over the file, as in Temporal's convention.
    const over = loadSettings({
      TEMPORAL_CONFIG_FILE: file,
      TEMPORAL_PROFILE: 'prod',
      TEMPORAL_NAMESPACE: 'other',
    });
    expect(over.TEMPORAL_NAMESPACE).toBe('other');
    expect(loadSettings({ TEMPORAL_CONFIG_FILE: file }).TEMPORAL_ADDRESS).toBe('default.example:7233');
    // Errors: an unknown profile, a missing file, a misspelt key; the key never shown.
    expect(
      configError(() => loadSettings({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'staging' })).message,
    ).toContain("Profile 'staging' not found");
    expect(configError(() => loadSettings({ TEMPORAL_CONFIG_FILE: path.join(dir, 'no.toml') })).message).toBe(
      `the environment: TEMPORAL_CONFIG_FILE is ${path.join(dir, 'no.toml')}, but no file is there`,
    );
    const bad = path.join(dir, 'bad.toml');
    writeFileSync(bad, '[profile.default]\nadress = "x:1"\napi_key = "bad-s3cr3t"\n');
    const e = configError(() => loadSettings({ TEMPORAL_CONFIG_FILE: bad }));
    expect(e.message).toContain('adress');
    expect(e.message).not.toContain('s3cr3t');
    // A missing file named by the profile names the profile's key and file.
    writeFileSync(
      bad,
      '[profile.default]\n[profile.default.tls]\nclient_cert_path = "/no/c.pem"\nclient_key_path = "/no/k.pem"\n',
    );
    expect(configError(() => options({ TEMPORAL_CONFIG_FILE: bad })).message).toContain(
      `tls.client_cert_path of profile "default" of ${bad} is /no/c.pem, but no file is there`,
    );
  });
});
