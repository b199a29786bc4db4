/**
 * Process settings from the environment (ports, paths, addresses), validated at start-up.
 * Every port and path `npm start` uses can be changed here; the names are the ones docker-compose sets.
 */
import path from 'node:path';
import { z } from 'zod';
import { resolveTemporalProfile, type TemporalSecurity } from '../temporal/profile';
import { ConfigError, formatIssues } from './load';

const port = (def: number) => z.coerce.number().int().min(0).max(65535).default(def);

export const settingsSchema = z.object({
  RTO_DATA_DIR: z.string().min(1).default('.data'),
  RTO_CONFIG: z
    .string()
    .min(1)
    .default(path.join(__dirname, '..', '..', 'config', 'example.json')),
  RTO_TASK_QUEUE: z.string().min(1).default('oasis-orders'),
  RTO_HTTP_PORT: port(8080),
  /**
   * Unlike the embedded servers (loopback only), the intake may listen on any address: in docker-compose it
   * binds 0.0.0.0 for OASIS. It always wants the bearer token; put TLS in front of it off the host.
   */
  RTO_HTTP_HOST: z.string().default('127.0.0.1'),
  RTO_HTTP_TOKEN: z.string().optional(),
  /** The intake's limits (see src/client/http.ts, DEFAULT_INTAKE_LIMITS): unset, the defaults. */
  RTO_HTTP_MAX_CONNECTIONS: z.coerce.number().int().positive().optional(),
  RTO_HTTP_HEADERS_TIMEOUT_MS: z.coerce.number().int().positive().optional(),
  RTO_HTTP_BODY_TIMEOUT_MS: z.coerce.number().int().positive().optional(),
  RTO_HTTP_TOKEN_FILE: z.string().optional(),
  /**
   * Where Temporal is: one truth for `rto`, the workers and `npm start`'s dev server. Either may be set: the
   * address alone (a cluster, or a local server on its port), the port alone (the address is then
   * 127.0.0.1:PORT), or both when they agree; both unset, 127.0.0.1:7233. See `loadSettings`.
   */
  TEMPORAL_ADDRESS: z.string().min(1).optional(),
  /** Unset: the profile's namespace (TEMPORAL_CONFIG_FILE / TEMPORAL_PROFILE), else `default`. */
  TEMPORAL_NAMESPACE: z.string().min(1).optional(),
  TEMPORAL_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /**
   * A secured cluster, by Temporal's environment-configuration names (src/temporal/profile.ts reads them,
   * with a TOML profile when TEMPORAL_CONFIG_FILE or TEMPORAL_PROFILE is set). Listed here so that they are
   * documented and known to the compose check; TEMPORAL_GRPC_META_* headers are read too.
   */
  TEMPORAL_API_KEY: z.string().optional(),
  TEMPORAL_API_KEY_FILE: z.string().optional(),
  TEMPORAL_TLS: z.string().optional(),
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: z.string().optional(),
  TEMPORAL_TLS_SERVER_CA_CERT_DATA: z.string().optional(),
  TEMPORAL_TLS_CLIENT_CERT_PATH: z.string().optional(),
  TEMPORAL_TLS_CLIENT_CERT_DATA: z.string().optional(),
  TEMPORAL_TLS_CLIENT_KEY_PATH: z.string().optional(),
  TEMPORAL_TLS_CLIENT_KEY_DATA: z.string().optional(),
  TEMPORAL_TLS_SERVER_NAME: z.string().optional(),
  TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: z.string().optional(),
  TEMPORAL_PROFILE: z.string().optional(),
  TEMPORAL_CONFIG_FILE: z.string().optional(),
  TEMPORAL_UI_PORT: port(8233),
  /**
   * The Temporal UI's address as staff open it (e.g. https://temporal.example.edu, or with a path prefix), for
   * the links `rto ui-url` prints. Unset: the local UI, http://127.0.0.1:TEMPORAL_UI_PORT.
   */
  TEMPORAL_UI_URL: z.url({ protocol: /^https?$/ }).optional(),
  TEMPORAL_CLI: z.string().optional(),
  ALMA_SANDBOX_PORT: port(8480),
  SMTP_HOST: z.string().default('127.0.0.1'),
  SMTP_PORT: port(2525),
  SMTP_USER: z.string().optional(),
  SMTP_PASSWORD: z.string().optional(),
  SMTP_SECURE: z.enum(['true', 'false']).default('false'),
  /** With SMTP_USER: `true` lets the credentials go to a relay without TLS (default: STARTTLS required). */
  SMTP_ALLOW_PLAIN_AUTH: z.enum(['true', 'false']).default('false'),
  FTP_PORT: port(2121),
  /**
   * `true` lets SFTP vendor sources without `hostKeySha256` connect unverified (default: refused). Read by
   * src/files/open.ts from the environment at the moment of use.
   */
  SFTP_ALLOW_UNPINNED_HOST_KEY: z.enum(['true', 'false']).default('false'),
  /** Payload encryption (optional): the current key (base64 of 32 bytes), its id, and older keys still read. */
  RTO_PAYLOAD_KEY: z.string().optional(),
  RTO_PAYLOAD_KEY_FILE: z.string().optional(),
  RTO_PAYLOAD_KEY_ID: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/)
    .default('k1'),
  RTO_PAYLOAD_OLD_KEYS: z.string().optional(),
  /**
   * The codec server (`rto codec-server`; `rto start` with encryption on): where it listens (loopback unless
   * told), the bearer token it wants (or a file holding it), and the origins (comma-separated) whose pages may
   * read its answers: the Temporal UI's. Unset, the origin is the local UI's (TEMPORAL_UI_PORT).
   */
  RTO_CODEC_HOST: z.string().default('127.0.0.1'),
  RTO_CODEC_PORT: port(8089),
  RTO_CODEC_TOKEN: z.string().optional(),
  RTO_CODEC_TOKEN_FILE: z.string().optional(),
  RTO_CODEC_CORS_ORIGIN: z.string().optional(),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  RTO_WORKER_CONCURRENCY: z.coerce.number().int().positive().default(50),
  /** Workflows a workflow-polling worker keeps cached (src/worker/workers.ts says why the default is 100). */
  RTO_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(2).default(100),
  /** What `rto worker` polls: `both` (default), `workflows` or `activities` (src/worker/workers.ts). */
  RTO_WORKER_ROLE: z.enum(['both', 'workflows', 'activities']).default('both'),
  /** The worker's health endpoint (`GET /healthz`): unset, none; 0, a free port (logged). */
  RTO_HEALTH_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  RTO_HEALTH_HOST: z.string().min(1).default('127.0.0.1'),
  /**
   * The Temporal SDK runtime's own Prometheus exporter (task slots, pollers, latencies), host:port, e.g.
   * 0.0.0.0:9464; unset, none. Application metrics are at `/metrics` on the health endpoint and the intake.
   */
  RTO_SDK_METRICS_ADDRESS: z
    .string()
    .regex(/^[^\s:]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/, 'must be host:port, e.g. 0.0.0.0:9464')
    .optional(),
  /** How often a worker process counts orders per stage and outcome in Temporal's visibility (0: never). */
  RTO_METRICS_VISIBILITY_INTERVAL_MS: z.coerce.number().int().min(0).default(30_000),
  /**
   * On SIGTERM, how long running activities may take to finish before they are cancelled (then the process
   * exits). Keep it below the orchestrator's kill timeout (docker: stop_grace_period, 10 s by default).
   */
  RTO_SHUTDOWN_GRACE_MS: z.coerce.number().int().positive().default(8000),
});
export type Settings = Omit<
  z.infer<typeof settingsSchema>,
  'TEMPORAL_ADDRESS' | 'TEMPORAL_PORT' | 'TEMPORAL_NAMESPACE'
> & {
  /** The address every client and worker connects to. */
  TEMPORAL_ADDRESS: string;
  TEMPORAL_NAMESPACE: string;
  /** TLS, API key and gRPC headers from the TEMPORAL_* settings and profile (src/temporal/connection.ts uses them). */
  temporalSecurity: TemporalSecurity;
  /** The port `rto start` runs its dev server on: the address's port. */
  TEMPORAL_PORT: number;
};

export const DEFAULT_TEMPORAL_PORT = 7233;
/** The environment variable names the configuration reads (docker-compose is checked against them). */
export const SETTING_NAMES = Object.keys(settingsSchema.shape);

export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const picked = Object.fromEntries(SETTING_NAMES.map((k) => [k, env[k] === '' ? undefined : env[k]]));
  const parsed = settingsSchema.safeParse(picked);
  if (!parsed.success) throw new ConfigError(formatIssues('the environment', parsed.error.issues));
  const { address, namespace, ...temporalSecurity } = resolveTemporalProfile(env);
  return {
    ...parsed.data,
    ...temporalWhere(address, parsed.data.TEMPORAL_PORT),
    TEMPORAL_NAMESPACE: namespace ?? 'default',
    temporalSecurity,
  };
}

/** The port of a `host:port` address (`[v6]:port` too), if it names one. */
export function portOf(address: string): number | undefined {
  const m = /:(\d{1,5})$/.exec(address);
  if (!m || (!address.startsWith('[') && address.indexOf(':') !== address.lastIndexOf(':'))) return undefined;
  const n = Number(m[1]);
  return n <= 65535 ? n : undefined;
}

/** TEMPORAL_ADDRESS and TEMPORAL_PORT as one truth: each derived from the other, a disagreement refused. */
function temporalWhere(
  address: string | undefined,
  port: number | undefined,
): { TEMPORAL_ADDRESS: string; TEMPORAL_PORT: number } {
  if (address === undefined) {
    const p = port ?? DEFAULT_TEMPORAL_PORT;
    return { TEMPORAL_ADDRESS: `127.0.0.1:${p}`, TEMPORAL_PORT: p };
  }
  const addressPort = portOf(address);
  if (port !== undefined && addressPort !== undefined && port !== addressPort)
    throw new ConfigError(
      `the environment: TEMPORAL_ADDRESS (${address}) and TEMPORAL_PORT (${port}) name different ports; ` +
        'set one of them (TEMPORAL_PORT alone means 127.0.0.1:TEMPORAL_PORT)',
    );
  return { TEMPORAL_ADDRESS: address, TEMPORAL_PORT: port ?? addressPort ?? DEFAULT_TEMPORAL_PORT };
}
