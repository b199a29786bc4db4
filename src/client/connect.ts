/**
 * The client library's way in: an OrderClient connected to Temporal by the same settings as every process of
 * the project (TEMPORAL_ADDRESS, TLS / mTLS / API key, profiles, payload keys: src/temporal/connection.ts), so
 * that OASIS's side needs no Temporal connection code of its own.
 */
import type { Client } from '@temporalio/client';
import type { Config } from '../config/schema';
import { loadSettings } from '../config/settings';
import { connectClient } from '../temporal/connection';
import { OrderClient } from './orders';

export async function connectOrderClient(o: {
  config: Pick<Config, 'accounts'>;
  /** The environment to read the settings from (default: the process's). */
  env?: NodeJS.ProcessEnv;
  connectTimeoutMs?: number;
}): Promise<{ orders: OrderClient; client: Client; close(): Promise<void> }> {
  const settings = loadSettings(o.env ?? process.env);
  const { client, close } = await connectClient(settings, {
    ...(o.connectTimeoutMs !== undefined ? { connectTimeoutMs: o.connectTimeoutMs } : {}),
  });
  return {
    orders: new OrderClient(client, { config: o.config, taskQueue: settings.RTO_TASK_QUEUE }),
    client,
    close,
  };
}
