/**
 * The one way this project connects to Temporal: the settings' address and namespace, and the data converter
 * (payload encryption) from the same settings, for `rto`, the HTTP intake and the workers alike.
 */
import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import type { NativeConnection } from '@temporalio/worker';
import type { Settings } from '../config/settings';
import { dataConverterFrom } from './codec';

/** What a connection needs from the settings. */
export type TemporalSettings = Pick<Settings, 'TEMPORAL_ADDRESS' | 'TEMPORAL_NAMESPACE'> &
  Parameters<typeof dataConverterFrom>[0];

/** Temporal did not answer at the configured address: the message names it. */
export class TemporalUnreachableError extends Error {
  override name = 'TemporalUnreachableError';
}

export interface TemporalClient {
  client: Client;
  connection: Connection;
  /** The settings' data converter, for workers that must encode payloads the same way. */
  dataConverter: DataConverter | undefined;
  close(): Promise<void>;
}

function unreachable(settings: TemporalSettings, e: unknown): TemporalUnreachableError {
  return new TemporalUnreachableError(
    `cannot reach Temporal at ${settings.TEMPORAL_ADDRESS} (TEMPORAL_ADDRESS / TEMPORAL_PORT): ${(e as Error).message}`,
  );
}

/** A client of the settings' Temporal: address, namespace and data converter. */
export async function connectClient(
  settings: TemporalSettings,
  opts: { connectTimeoutMs?: number } = {},
): Promise<TemporalClient> {
  const dataConverter = dataConverterFrom(settings);
  let connection: Connection;
  try {
    connection = await Connection.connect({
      address: settings.TEMPORAL_ADDRESS,
      ...(opts.connectTimeoutMs !== undefined ? { connectTimeout: opts.connectTimeoutMs } : {}),
    });
  } catch (e) {
    throw unreachable(settings, e);
  }
  const client = new Client({ connection, namespace: settings.TEMPORAL_NAMESPACE, dataConverter });
  return { client, connection, dataConverter, close: () => connection.close() };
}

/**
 * The workers' (native) connection to the settings' Temporal. The worker package is loaded here, on use,
 * so that commands that only need a client do not load the SDK's native core.
 */
export async function connectWorkerConnection(settings: TemporalSettings): Promise<NativeConnection> {
  const { NativeConnection: Native } = require('@temporalio/worker') as typeof import('@temporalio/worker');
  try {
    return await Native.connect({ address: settings.TEMPORAL_ADDRESS });
  } catch (e) {
    throw unreachable(settings, e);
  }
}
