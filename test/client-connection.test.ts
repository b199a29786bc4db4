/**
 * The one Temporal connection helper (src/temporal/connection.ts): the settings' address, namespace and payload
 * encryption, for clients and for workers; an unreachable address is an error that names it.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { loadSettings } from '../src/config/settings';
import { TemporalUnreachableError, connectClient, connectWorkerConnection } from '../src/temporal/connection';
import { quietRuntime } from './harness/system';
import { testAddress } from './harness/temporal';

async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

test('a client from the settings: their address (from TEMPORAL_PORT alone), namespace and data converter', async () => {
  const port = testAddress().split(':').pop()!;
  const key = randomBytes(32).toString('base64');
  const settings = loadSettings({ TEMPORAL_PORT: port, TEMPORAL_NAMESPACE: 'default', RTO_PAYLOAD_KEY: key });
  const c = await connectClient(settings);
  try {
    expect(c.client.options.namespace).toBe('default');
    expect(c.dataConverter?.payloadCodecs).toHaveLength(1);
    expect(c.client.options.dataConverter.payloadCodecs).toHaveLength(1);
    await expect(c.connection.workflowService.getSystemInfo({})).resolves.toBeDefined();
  } finally {
    await c.close();
  }
  // Without a key, no codec.
  const plain = await connectClient(loadSettings({ TEMPORAL_PORT: port }));
  try {
    expect(plain.dataConverter).toBeUndefined();
  } finally {
    await plain.close();
  }
});

test('the workers’ native connection from the same settings', async () => {
  quietRuntime();
  const conn = await connectWorkerConnection(loadSettings({ TEMPORAL_ADDRESS: testAddress() }));
  try {
    await expect(conn.workflowService.getSystemInfo({})).resolves.toBeDefined();
  } finally {
    await conn.close();
  }
});

test('an address where nothing answers is an error naming it', async () => {
  const address = `127.0.0.1:${await closedPort()}`;
  const err = await connectClient(loadSettings({ TEMPORAL_ADDRESS: address }), {
    connectTimeoutMs: 1000,
  }).then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  expect(err).toBeInstanceOf(TemporalUnreachableError);
  expect(err?.message).toContain(`cannot reach Temporal at ${address}`);
});
