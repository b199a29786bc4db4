/** What a test needs to talk to the run's Temporal server: a client and a unique task queue. */
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';

export function testAddress(): string {
  const address = process.env.TEMPORAL_TEST_ADDRESS;
  if (!address)
    throw new Error('no Temporal test server: run the suite through jest (global set-up starts one)');
  return address;
}

export async function testClient(): Promise<{
  client: Client;
  connection: Connection;
  close(): Promise<void>;
}> {
  const connection = await Connection.connect({ address: testAddress() });
  const client = new Client({ connection, namespace: 'default' });
  return { client, connection, close: () => connection.close() };
}

export function uniqueQueue(prefix = 'test'): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}
