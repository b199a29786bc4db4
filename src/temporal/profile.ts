/**
 * Where and how to reach Temporal, by Temporal's own environment-configuration conventions
 * (`@temporalio/envconfig`): a profile from a TOML file, overridden by the `TEMPORAL_*` environment variables
 * (`TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`, `TEMPORAL_TLS`, `TEMPORAL_TLS_*`,
 * `TEMPORAL_GRPC_META_*`). Read once, by `loadSettings`, for every process of the project.
 *
 * One deliberate difference from the SDK's loader: the profile file is read only when TEMPORAL_CONFIG_FILE or
 * TEMPORAL_PROFILE asks for it. A stray `~/.config/temporalio/temporal.toml` (left by the `temporal` CLI, say)
 * must not silently point a production worker, or `npm start`, at another cluster.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import {
  loadClientConfigProfile,
  type ClientConfigProfile,
  type ClientConfigTLS,
} from '@temporalio/envconfig';
import { ConfigError } from '../config/load';

/** A TLS file or inline PEM: where it is, and the name of the setting that said so (for error messages). */
export type TlsSource = { setting: string } & ({ path: string } | { data: string });

/** The security half of a profile: TLS and credentials. The address and namespace go into the settings. */
export interface TemporalSecurity {
  /** `false`: TLS explicitly off; `undefined`: not asked for (on anyway with an API key). */
  tls?: false | { serverName?: string; serverCa?: TlsSource; clientCert?: TlsSource; clientKey?: TlsSource };
  apiKey?: string;
  /** Extra gRPC headers (TEMPORAL_GRPC_META_* or the profile's grpc_meta). */
  grpcMeta?: Record<string, string>;
  /** Where the profile came from, for messages: e.g. `profile "prod" of /etc/rto/temporal.toml`. */
  profileSource?: string;
}

export interface ResolvedTemporalProfile extends TemporalSecurity {
  address?: string;
  namespace?: string;
}

const ENV_NAMES = {
  clientCert: ['TEMPORAL_TLS_CLIENT_CERT_PATH', 'TEMPORAL_TLS_CLIENT_CERT_DATA', 'client_cert'],
  clientKey: ['TEMPORAL_TLS_CLIENT_KEY_PATH', 'TEMPORAL_TLS_CLIENT_KEY_DATA', 'client_key'],
  serverCa: ['TEMPORAL_TLS_SERVER_CA_CERT_PATH', 'TEMPORAL_TLS_SERVER_CA_CERT_DATA', 'server_ca_cert'],
} as const;

/** The default file of Temporal's convention, read only when TEMPORAL_PROFILE names a profile. */
function defaultConfigFile(env: NodeJS.ProcessEnv): string | undefined {
  const base = env.XDG_CONFIG_HOME || (env.HOME ? path.join(env.HOME, '.config') : undefined);
  if (os.platform() !== 'linux' && os.platform() !== 'freebsd') return undefined;
  return base ? path.join(base, 'temporalio', 'temporal.toml') : undefined;
}

/** The envconfig profile plus the environment, validated; errors name the setting and never show a secret. */
export function resolveTemporalProfile(env: NodeJS.ProcessEnv): ResolvedTemporalProfile {
  const vars: Record<string, string> = {};
  for (const [k, v] of Object.entries(env))
    if (k.startsWith('TEMPORAL_') && v !== undefined && v !== '') vars[k] = v;

  // The project's convention for secrets (docker secrets): the key in a file. Not one of Temporal's names.
  if (vars.TEMPORAL_API_KEY_FILE !== undefined) {
    if (vars.TEMPORAL_API_KEY !== undefined)
      throw new ConfigError('the environment: set TEMPORAL_API_KEY or TEMPORAL_API_KEY_FILE, not both');
    try {
      vars.TEMPORAL_API_KEY = readFileSync(vars.TEMPORAL_API_KEY_FILE, 'utf8').trim();
    } catch (e) {
      const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no file is there' : (e as Error).message;
      throw new ConfigError(
        `the environment: TEMPORAL_API_KEY_FILE is ${vars.TEMPORAL_API_KEY_FILE}, but ${why}`,
      );
    }
    if (!vars.TEMPORAL_API_KEY)
      throw new ConfigError(
        `the environment: TEMPORAL_API_KEY_FILE (${vars.TEMPORAL_API_KEY_FILE}) is empty`,
      );
  }

  const tlsFlag = vars.TEMPORAL_TLS;
  if (tlsFlag !== undefined && !['true', 'false', '1', '0'].includes(tlsFlag))
    throw new ConfigError(`the environment: TEMPORAL_TLS is "${tlsFlag}"; use true or false`);
  if (vars.TEMPORAL_TLS_DISABLE_HOST_VERIFICATION !== undefined)
    throw new ConfigError(
      'the environment: TEMPORAL_TLS_DISABLE_HOST_VERIFICATION is not supported by the TypeScript SDK ' +
        '(it would be ignored); give the certificate’s name in TEMPORAL_TLS_SERVER_NAME instead',
    );

  const wantFile = vars.TEMPORAL_CONFIG_FILE !== undefined || vars.TEMPORAL_PROFILE !== undefined;
  const file = vars.TEMPORAL_CONFIG_FILE ?? (wantFile ? defaultConfigFile(env) : undefined);
  let data: string | undefined;
  if (file !== undefined) {
    try {
      data = readFileSync(file, 'utf8');
    } catch (e) {
      const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no file is there' : (e as Error).message;
      const named = vars.TEMPORAL_CONFIG_FILE ? 'TEMPORAL_CONFIG_FILE is' : 'TEMPORAL_PROFILE needs';
      throw new ConfigError(`the environment: ${named} ${file}, but ${why}`);
    }
  }
  const profileName = vars.TEMPORAL_PROFILE ?? 'default';
  const profileSource = file !== undefined ? `profile "${profileName}" of ${file}` : undefined;

  let profile: ClientConfigProfile;
  try {
    profile = loadClientConfigProfile({
      ...(data !== undefined ? { configSource: { data } } : { disableFile: true }),
      ...(vars.TEMPORAL_PROFILE ? { profile: vars.TEMPORAL_PROFILE } : {}),
      // Strict: a misspelt key (or disable_host_verification, which the SDK ignores) is an error, not a no-op.
      configFileStrict: true,
      overrideEnvVars: vars,
    });
  } catch (e) {
    const where = file ?? 'the environment';
    throw new ConfigError(`${where}: the Temporal profile cannot be read: ${(e as Error).message}`);
  }

  const fromFile = (key: string) => `tls.${key} of ${profileSource ?? 'the profile'}`;
  const source = (
    which: keyof typeof ENV_NAMES,
    given: ClientConfigTLS['clientCert'],
  ): TlsSource | undefined => {
    if (given === undefined) return undefined;
    const [pathVar, dataVar, tomlKey] = ENV_NAMES[which];
    if ('path' in given) {
      const setting = vars[pathVar] !== undefined ? pathVar : fromFile(`${tomlKey}_path`);
      return { setting, path: given.path };
    }
    const setting = vars[dataVar] !== undefined ? dataVar : fromFile(`${tomlKey}_data`);
    return {
      setting,
      data: typeof given.data === 'string' ? given.data : Buffer.from(given.data).toString(),
    };
  };

  const t = profile.tls;
  let tls: TemporalSecurity['tls'];
  if (t?.disabled === true) {
    const named = vars.TEMPORAL_TLS !== undefined ? 'TEMPORAL_TLS=false' : fromFile('disabled = true');
    if (profile.apiKey !== undefined)
      throw new ConfigError(
        `the environment: an API key (TEMPORAL_API_KEY) with TLS off (${named}) would cross the network in clear; ` +
          'turn TLS on (an API key implies it) or drop the key',
      );
    if (t.clientCert || t.clientKey || t.serverCACert || t.serverName)
      throw new ConfigError(
        `the environment: TLS is off (${named}) but TLS certificates or a server name are set; remove one or the other`,
      );
    tls = false;
  } else if (t !== undefined) {
    tls = {
      ...(t.serverName !== undefined ? { serverName: t.serverName } : {}),
      ...(t.serverCACert ? { serverCa: source('serverCa', t.serverCACert) } : {}),
      ...(t.clientCert ? { clientCert: source('clientCert', t.clientCert) } : {}),
      ...(t.clientKey ? { clientKey: source('clientKey', t.clientKey) } : {}),
    };
    if (!!tls.clientCert !== !!tls.clientKey) {
      const missing = tls.clientCert ? 'TEMPORAL_TLS_CLIENT_KEY_PATH' : 'TEMPORAL_TLS_CLIENT_CERT_PATH';
      const given = (tls.clientCert ?? tls.clientKey)!.setting;
      throw new ConfigError(
        `the environment: mTLS needs a client certificate and its private key: ${given} is set, ${missing} is not`,
      );
    }
  }

  return {
    ...(profile.address !== undefined ? { address: profile.address } : {}),
    ...(profile.namespace !== undefined ? { namespace: profile.namespace } : {}),
    ...(profile.apiKey !== undefined ? { apiKey: profile.apiKey } : {}),
    ...(tls !== undefined ? { tls } : {}),
    ...(profile.grpcMeta && Object.keys(profile.grpcMeta).length ? { grpcMeta: profile.grpcMeta } : {}),
    ...(profileSource ? { profileSource } : {}),
  };
}
