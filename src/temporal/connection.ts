/**
 * The one way this project connects to Temporal: the settings' address and namespace, TLS / mTLS / API key
 * (Temporal's environment-configuration conventions, src/temporal/profile.ts), and the data converter (payload
 * encryption) from the same settings, for `rto`, the HTTP intake and the workers alike.
 */
import { readFileSync } from 'node:fs';
import { Client, Connection, type TLSConfig } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import type { NativeConnection } from '@temporalio/worker';
import { ConfigError } from '../config/load';
import type { Settings } from '../config/settings';
import { dataConverterFrom } from './codec';
import type { TemporalSecurity, TlsSource } from './profile';

/** What a connection needs from the settings. */
export type TemporalSettings = Pick<Settings, 'TEMPORAL_ADDRESS' | 'TEMPORAL_NAMESPACE'> & {
  /** Left out (older callers, tests): plain, no credentials. */
  temporalSecurity?: TemporalSecurity;
} & Parameters<typeof dataConverterFrom>[0];

/** The options both connection kinds (the client's and the workers' native one) take. */
export interface TemporalConnectionOptions {
  address: string;
  /** `true`: TLS with the system's roots; an object: a server CA and/or a client certificate. */
  tls?: TLSConfig | boolean;
  apiKey?: string;
  metadata?: Record<string, string>;
}

function readPem(src: TlsSource, what: 'certificate' | 'private key'): Buffer {
  let pem: Buffer;
  if ('data' in src) pem = Buffer.from(src.data);
  else {
    try {
      pem = readFileSync(src.path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'no file is there' : code === 'EACCES' ? 'it cannot be read' : code;
      throw new ConfigError(`the environment: ${src.setting} is ${src.path}, but ${why}`);
    }
  }
  // Only the shape is checked (and never shown): a wrong file fails here rather than in the TLS handshake.
  const text = pem.toString('latin1');
  const ok =
    what === 'certificate'
      ? /-----BEGIN CERTIFICATE-----/.test(text)
      : /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text);
  if (!ok) {
    const where = 'path' in src ? ` (${src.path})` : '';
    throw new ConfigError(`the environment: ${src.setting}${where} does not hold a PEM ${what}`);
  }
  return pem;
}

/**
 * The connection options from the settings: files read and checked here, so that a missing certificate is
 * an error naming its setting before any network call. An API key implies TLS, as in Temporal's SDKs.
 */
export function temporalConnectionOptions(settings: TemporalSettings): TemporalConnectionOptions {
  const sec = settings.temporalSecurity ?? {};
  const opts: TemporalConnectionOptions = { address: settings.TEMPORAL_ADDRESS };
  if (sec.apiKey !== undefined) opts.apiKey = sec.apiKey;
  if (sec.grpcMeta) opts.metadata = sec.grpcMeta;
  if (sec.tls === false) opts.tls = false;
  else if (sec.tls !== undefined) {
    const t = sec.tls;
    const tls: TLSConfig = {};
    if (t.serverName !== undefined) tls.serverNameOverride = t.serverName;
    if (t.serverCa) tls.serverRootCACertificate = readPem(t.serverCa, 'certificate');
    if (t.clientCert && t.clientKey)
      tls.clientCertPair = {
        crt: readPem(t.clientCert, 'certificate'),
        key: readPem(t.clientKey, 'private key'),
      };
    opts.tls = Object.keys(tls).length ? tls : true;
  } else if (sec.apiKey !== undefined) opts.tls = true;
  return opts;
}

/** How the connection is secured, for messages: names settings, never a key. */
export function describeSecurity(settings: TemporalSettings): string {
  const sec = settings.temporalSecurity ?? {};
  const tlsOn = sec.tls !== false && (sec.tls !== undefined || sec.apiKey !== undefined);
  if (!tlsOn) return 'without TLS';
  const parts: string[] = [];
  const t = sec.tls || {};
  parts.push(t.serverCa ? `server CA from ${t.serverCa.setting}` : 'the system’s CAs');
  if (t.serverName) parts.push(`server name ${t.serverName}`);
  if (t.clientCert) parts.push(`client certificate from ${t.clientCert.setting}`);
  if (sec.apiKey !== undefined) parts.push('an API key');
  return `over TLS (${parts.join(', ')})${sec.profileSource ? `, ${sec.profileSource}` : ''}`;
}

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
    `cannot reach Temporal at ${settings.TEMPORAL_ADDRESS} (TEMPORAL_ADDRESS / TEMPORAL_PORT) ` +
      `${describeSecurity(settings)}: ${(e as Error).message}`,
  );
}

/** A client of the settings' Temporal: address, namespace and data converter. */
export async function connectClient(
  settings: TemporalSettings,
  opts: { connectTimeoutMs?: number } = {},
): Promise<TemporalClient> {
  const dataConverter = dataConverterFrom(settings);
  const options = temporalConnectionOptions(settings);
  let connection: Connection;
  try {
    connection = await Connection.connect({
      ...options,
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
  const options = temporalConnectionOptions(settings);
  try {
    return await Native.connect(options);
  } catch (e) {
    throw unreachable(settings, e);
  }
}
