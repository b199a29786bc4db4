/**
 * `npm run cluster`: the production shape on one machine, from real parts. PostgreSQL (Debian's binaries,
 * a cluster of our own), the Temporal server and its SQL tool built from their Go modules at the version
 * docker-compose.yml pins, set up by the same deploy/temporal-setup.sh the compose file runs, serving TLS with
 * client certificates; N `rto worker` processes and the `rto http` intake connecting to it through the
 * project's one connection module (TEMPORAL_* settings, as an operator would set them); the Temporal UI when
 * it builds; the Alma sandbox and the mail catcher in this process. The chaos test drives the same cluster.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { codecServerOptionsFromSettings, payloadCodecFrom } from '../codec/options';
import { startCodecServer } from '../codec/server';
import { loadConfigFile } from '../config/load';
import { loadSettings } from '../config/settings';
import type { Logger } from '../logging';
import { startMailCatcher } from '../mail';
import { seedFromConfig, startAlmaSandbox, type AlmaSandboxOptions } from '../sandbox/alma';
import { resolveTemporalCli } from '../temporal/cli-binary';
import { freePort } from '../temporal/dev-server';
import { resolveClusterBinaries, type ClusterBinaries } from './binaries';
import { ensureClusterPki, type ClusterPki } from './pki';
import { startPostgres, type Postgres } from './postgres';
import { runLogged, spawnManaged, waitUntil, type Managed } from './process';
import { chooseServerPorts, temporalServerConfig } from './server-config';

const ROOT = path.join(__dirname, '..', '..');
const RTO = path.join(ROOT, 'bin', 'rto.js');
const DB_USER = 'temporal';
const PAYLOAD_SETTINGS = [
  'RTO_PAYLOAD_KEY',
  'RTO_PAYLOAD_KEY_FILE',
  'RTO_PAYLOAD_KEY_ID',
  'RTO_PAYLOAD_OLD_KEYS',
];

export interface ClusterOptions {
  /** The cluster's folder: certificates, PostgreSQL, logs, the workers' data. Kept between runs. */
  dir: string;
  workers: number;
  /** The frontend's port (0: a free one). */
  port: number;
  /** The project configuration the workers and the intake load (RTO_CONFIG). */
  configFile: string;
  namespace: string;
  ui: boolean;
  intake: boolean;
  /** Extra environment for the workers and the intake (the chaos test's settings). */
  env?: NodeJS.ProcessEnv;
  /** The Alma sandbox's options beyond its seed (the chaos test's index lag, async delay...). */
  sandbox?: Partial<AlmaSandboxOptions> & { seedTweak?: (seed: ReturnType<typeof seedFromConfig>) => void };
  logger: Logger;
  log: (line: string) => void;
}

export interface Cluster {
  address: string;
  namespace: string;
  /** What a client needs to reach the cluster (the TEMPORAL_* settings of the connection module). */
  clientEnv: Record<string, string>;
  pki: ClusterPki;
  binaries: ClusterBinaries;
  sandboxUrl: string;
  sandboxAdmin: string;
  mailDir: string;
  mailPort: number;
  intakeUrl?: string;
  intakeToken?: string;
  uiUrl?: string;
  /** The codec server the UI decodes through, when payload encryption is on. */
  codecUrl?: string;
  serverMetricsUrl: string;
  workers: Managed[];
  /** The health/metrics port of each worker, by index. */
  workerHealthPorts: number[];
  killWorker(i: number): Promise<void>;
  startWorker(i: number): Promise<void>;
  restartTemporal(): Promise<void>;
  restartPostgres(): Promise<void>;
  stop(): Promise<void>;
}

/** A secret generated once per cluster folder, in a file only we can read. */
function secretFile(file: string): string {
  if (!existsSync(file)) writeFileSync(file, randomBytes(24).toString('base64url') + '\n', { mode: 0o600 });
  return readFileSync(file, 'utf8').trim();
}

async function httpOk(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
  return res.ok;
}

export async function startCluster(o: ClusterOptions): Promise<Cluster> {
  const dir = path.resolve(o.dir);
  const logs = path.join(dir, 'logs');
  mkdirSync(logs, { recursive: true });
  const stops: { name: string; stop: () => Promise<void> | void }[] = [];
  const stopAll = async () => {
    for (const s of stops.splice(0).reverse()) {
      try {
        await s.stop();
      } catch (e) {
        o.log(`stopping ${s.name} failed: ${(e as Error).message}`);
      }
    }
  };
  try {
    const binaries = await resolveClusterBinaries({
      composeFile: path.join(ROOT, 'docker-compose.yml'),
      withUi: o.ui,
      log: o.log,
    });
    const cli = await resolveTemporalCli({ log: o.log });
    const pki = ensureClusterPki(path.join(dir, 'pki'));
    const password = secretFile(path.join(dir, 'postgres-password'));

    const postgres: Postgres = await startPostgres({
      dir: path.join(dir, 'postgres'),
      port: await freePort(),
      user: DB_USER,
      password,
      log: o.log,
    });
    stops.push({ name: 'postgresql', stop: postgres.stop });

    // The schemas, by the compose file's own script, with the SQL tool where the script looks for it.
    const setupEnv = {
      PATH: `${path.dirname(binaries.sqlTool)}${path.delimiter}${path.dirname(cli.path)}${path.delimiter}${process.env.PATH ?? ''}`,
      HOME: process.env.HOME ?? dir,
      SETUP_ATTEMPTS: '30',
      SETUP_PAUSE_SECONDS: '1',
    };
    o.log('Temporal: schemas (deploy/temporal-setup.sh schema)');
    await runLogged('sh', [path.join(ROOT, 'deploy', 'temporal-setup.sh'), 'schema'], {
      env: {
        ...setupEnv,
        POSTGRES_SEEDS: '127.0.0.1',
        DB_PORT: String(postgres.port),
        POSTGRES_USER: DB_USER,
        SQL_PASSWORD: password,
        TEMPORAL_SCHEMA_ROOT: binaries.schemaRoot,
      },
      logFile: path.join(logs, 'temporal-setup.log'),
    });

    const ports = await chooseServerPorts(o.port);
    const serverDir = path.join(dir, 'temporal');
    mkdirSync(serverDir, { recursive: true });
    const configFile = path.join(serverDir, 'config.yaml');
    // JSON is YAML; the file holds the database password, so only we read it.
    writeFileSync(
      configFile,
      JSON.stringify(
        temporalServerConfig({
          ports,
          pki,
          postgres: { port: postgres.port, user: DB_USER, password },
          dynamicConfigFile: path.join(ROOT, 'deploy', 'dynamicconfig', 'production.yaml'),
          historyShards: 4,
          logLevel: 'warn',
        }),
        null,
        1,
      ),
      { mode: 0o600 },
    );
    const address = `localhost:${ports.frontend}`;
    const clientEnv: Record<string, string> = {
      TEMPORAL_ADDRESS: address,
      TEMPORAL_NAMESPACE: o.namespace,
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.caCert,
      TEMPORAL_TLS_CLIENT_CERT_PATH: pki.clientCert,
      TEMPORAL_TLS_CLIENT_KEY_PATH: pki.clientKey,
    };
    const cliEnv = { ...setupEnv, ...clientEnv };
    const healthy = () =>
      new Promise<boolean>((resolve) => {
        const m = spawnManaged('health', cli.path, ['operator', 'cluster', 'health'], {
          env: cliEnv,
          logFile: path.join(logs, 'health-checks.log'),
        });
        void m.exited.then((code) => resolve(code === 0));
      });
    let server: Managed | undefined;
    const startServer = async () => {
      server = spawnManaged(
        'temporal-server',
        binaries.server,
        ['--config-file', configFile, '--allow-no-auth', 'start'],
        {
          env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? dir },
          cwd: serverDir,
          logFile: path.join(logs, 'temporal-server.log'),
        },
      );
      await waitUntil(`the Temporal server at ${address}`, healthy, {
        timeoutMs: 120_000,
        process: server,
        intervalMs: 1000,
      });
      o.log(`Temporal server ${binaries.versions.server}: ${address} (TLS, client certificates required)`);
    };
    await startServer();
    stops.push({ name: 'temporal-server', stop: () => server?.stop(30_000) });
    o.log('Temporal: namespace and search attributes (deploy/temporal-setup.sh namespace)');
    await runLogged('sh', [path.join(ROOT, 'deploy', 'temporal-setup.sh'), 'namespace'], {
      env: cliEnv,
      logFile: path.join(logs, 'temporal-setup.log'),
    });

    // Alma and mail, in this process.
    const config = loadConfigFile(o.configFile);
    const seed = seedFromConfig(config);
    o.sandbox?.seedTweak?.(seed);
    const { seedTweak: _ignored, ...sandboxOptions } = o.sandbox ?? {};
    const sandbox = await startAlmaSandbox({
      port: 0,
      seed,
      stateFile: path.join(dir, 'alma-sandbox.json'),
      logger: o.logger.child({ part: 'alma-sandbox' }),
      ...sandboxOptions,
    });
    stops.push({ name: 'alma-sandbox', stop: sandbox.close });
    const mailDir = path.join(dir, 'mail');
    const catcher = await startMailCatcher({
      port: 0,
      dir: mailDir,
      logger: o.logger.child({ part: 'mail' }),
    });
    stops.push({ name: 'mail-catcher', stop: catcher.close });

    const dataDir = path.join(dir, 'data');
    for (const acc of Object.keys(config.accounts))
      for (const kind of ['edi', 'marc'])
        mkdirSync(path.join(dataDir, 'vendor', acc, kind), { recursive: true });
    const token = secretFile(path.join(dir, 'http-token'));
    // Payload encryption, when this shell has it on: every worker and the intake need the same keys.
    const payloadEnv = Object.fromEntries(
      PAYLOAD_SETTINGS.flatMap((k) => (process.env[k] ? [[k, process.env[k]!]] : [])),
    );
    const appEnv = (extra: Record<string, string>): NodeJS.ProcessEnv => ({
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? dir,
      ...payloadEnv,
      ...clientEnv,
      RTO_CONFIG: o.configFile,
      RTO_DATA_DIR: dataDir,
      ALMA_GATEWAY: `${sandbox.url}`,
      // The catalogue search (SRU) of the duplicate check, at the same sandbox.
      ALMA_SRU: new URL(sandbox.url).origin,
      SMTP_PORT: String(catcher.port),
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
      ...(o.env ?? {}),
      ...extra,
    });

    const workers: Managed[] = [];
    const workerHealthPorts: number[] = [];
    const startWorker = async (i: number) => {
      const healthPort = workerHealthPorts[i] ?? (await freePort());
      workerHealthPorts[i] = healthPort;
      const w = spawnManaged(`worker-${i + 1}`, process.execPath, [RTO, 'worker'], {
        env: appEnv({ RTO_HEALTH_PORT: String(healthPort) }),
        cwd: ROOT,
        logFile: path.join(logs, `worker-${i + 1}.log`),
      });
      workers[i] = w;
      await waitUntil(`worker ${i + 1}`, () => httpOk(`http://127.0.0.1:${healthPort}/healthz`), {
        timeoutMs: 120_000,
        process: w,
      });
    };
    await Promise.all(Array.from({ length: o.workers }, (_, i) => startWorker(i)));
    stops.push({ name: 'workers', stop: async () => void (await Promise.all(workers.map((w) => w.stop()))) });
    o.log(
      `Workers: ${o.workers} process(es), health and metrics on ${workerHealthPorts.map((p) => `127.0.0.1:${p}`).join(', ')}`,
    );

    let intakeUrl: string | undefined;
    if (o.intake) {
      const port = await freePort();
      const intake = spawnManaged('intake', process.execPath, [RTO, 'http'], {
        env: appEnv({ RTO_HTTP_PORT: String(port), RTO_HTTP_TOKEN_FILE: path.join(dir, 'http-token') }),
        cwd: ROOT,
        logFile: path.join(logs, 'intake.log'),
      });
      stops.push({ name: 'intake', stop: () => intake.stop() });
      intakeUrl = `http://127.0.0.1:${port}`;
      await waitUntil('the HTTP intake', () => httpOk(`${intakeUrl}/healthz`), {
        timeoutMs: 60_000,
        process: intake,
      });
    }

    let uiUrl: string | undefined;
    let codecUrl: string | undefined;
    if (o.ui && binaries.ui) {
      const port = await freePort();
      // With encryption on, the UI decodes through the codec server (as under `npm start`), which lets the
      // UI's origin read its answers; RTO_CODEC_TOKEN, when set, is required all the same.
      const settings = loadSettings(process.env);
      if (payloadCodecFrom(settings)) {
        const codec = await startCodecServer({
          ...codecServerOptionsFromSettings(settings, { allowNoToken: true, uiPort: port }),
          logger: o.logger.child({ part: 'codec' }),
        });
        stops.push({ name: 'codec-server', stop: codec.close });
        codecUrl = codec.url;
      }
      const uiDir = path.join(dir, 'ui');
      mkdirSync(path.join(uiDir, 'config'), { recursive: true });
      writeFileSync(
        path.join(uiDir, 'config', 'development.yaml'),
        JSON.stringify({
          temporalGrpcAddress: address,
          host: '127.0.0.1',
          port,
          enableUi: true,
          defaultNamespace: o.namespace,
          notifyOnNewVersion: false,
          tls: {
            caFile: pki.caCert,
            certFile: pki.clientCert,
            keyFile: pki.clientKey,
            serverName: 'localhost',
            enableHostVerification: true,
          },
          ...(codecUrl ? { codec: { endpoint: codecUrl } } : {}),
        }),
      );
      const ui = spawnManaged(
        'temporal-ui',
        binaries.ui,
        ['--root', uiDir, '--config', 'config', '--env', 'development', 'start'],
        {
          env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? dir },
          cwd: uiDir,
          logFile: path.join(logs, 'temporal-ui.log'),
        },
      );
      stops.push({ name: 'temporal-ui', stop: () => ui.stop() });
      uiUrl = `http://127.0.0.1:${port}`;
      await waitUntil('the Temporal UI', () => httpOk(uiUrl!), { timeoutMs: 60_000, process: ui }).catch(
        (e: Error) => {
          o.log(`Temporal UI did not start: ${e.message.slice(0, 300)}`);
          uiUrl = undefined;
        },
      );
    } else if (o.ui) {
      o.log(
        `Temporal UI: not built (${binaries.uiProblem ?? 'unknown reason'}); the cluster runs without it`,
      );
    }

    // What `rto` and other clients in another shell need: `set -a; . .cluster/cluster.env; set +a`.
    writeFileSync(
      path.join(dir, 'cluster.env'),
      Object.entries({
        ...clientEnv,
        RTO_CONFIG: o.configFile,
        RTO_DATA_DIR: dataDir,
        ALMA_GATEWAY: sandbox.url,
        ALMA_SRU: new URL(sandbox.url).origin,
      })
        .map(([k, v]) => `${k}=${v}`)
        .join('\n') + '\n',
    );

    return {
      address,
      namespace: o.namespace,
      clientEnv,
      pki,
      binaries,
      sandboxUrl: sandbox.url,
      sandboxAdmin: `${sandbox.baseUrl}/_sandbox`,
      mailDir,
      mailPort: catcher.port,
      ...(intakeUrl ? { intakeUrl, intakeToken: token } : {}),
      ...(uiUrl ? { uiUrl } : {}),
      ...(codecUrl ? { codecUrl } : {}),
      serverMetricsUrl: `http://127.0.0.1:${ports.metrics}/metrics`,
      workers,
      workerHealthPorts,
      killWorker: async (i) => workers[i]?.kill(),
      startWorker,
      restartTemporal: async () => {
        await server?.stop(30_000);
        await startServer();
      },
      restartPostgres: () => postgres.restart(),
      stop: stopAll,
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}
