/**
 * The Temporal server's configuration for the local cluster, in the shape of the server's own
 * `config/development-postgres12.yaml` and the image's `config_template.yaml` (go.temporal.io/server at the
 * pinned version), as JSON (which is YAML): PostgreSQL for both stores; the frontend on TLS requiring a
 * client certificate signed by the cluster's CA; the server's system worker (schedules, batch operations)
 * presenting the server certificate to it; everything on 127.0.0.1; the dynamic config the compose file uses.
 */
import net from 'node:net';
import { freePort } from '../temporal/dev-server';
import type { ClusterPki } from './pki';

export interface ServerPorts {
  frontend: number;
  frontendHttp: number;
  history: number;
  matching: number;
  worker: number;
  /** Membership (ringpop) ports: the server stores them in a smallint column, so each must be below 32768. */
  membership: { frontend: number; history: number; matching: number; worker: number };
  metrics: number;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A free port below 32768 (the kernel's ephemeral range starts above it, so `listen(0)` cannot give one). */
async function freeLowPort(taken: Set<number>): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const p = 20000 + Math.floor(Math.random() * 12000);
    if (!taken.has(p) && (await portFree(p))) {
      taken.add(p);
      return p;
    }
  }
  throw new Error('no free port below 32768 for the Temporal server’s membership');
}

export async function chooseServerPorts(frontend?: number): Promise<ServerPorts> {
  const taken = new Set<number>();
  const low = () => freeLowPort(taken);
  return {
    frontend: frontend || (await freePort()),
    frontendHttp: await freePort(),
    history: await freePort(),
    matching: await freePort(),
    worker: await freePort(),
    membership: { frontend: await low(), history: await low(), matching: await low(), worker: await low() },
    metrics: await freePort(),
  };
}

export interface ServerConfigInput {
  ports: ServerPorts;
  pki: ClusterPki;
  postgres: { port: number; user: string; password: string };
  dynamicConfigFile: string;
  /** Fixed when the cluster is created (as in the compose file, where it is 128; fewer suit one machine). */
  historyShards: number;
  logLevel: string;
}

export function temporalServerConfig(c: ServerConfigInput): Record<string, unknown> {
  const store = (databaseName: string, conns: number) => ({
    sql: {
      pluginName: 'postgres12',
      databaseName,
      connectAddr: `127.0.0.1:${c.postgres.port}`,
      connectProtocol: 'tcp',
      user: c.postgres.user,
      password: c.postgres.password,
      maxConns: conns,
      maxIdleConns: conns,
      maxConnLifetime: '1h',
    },
  });
  const rpc = (grpcPort: number, membershipPort: number, extra: Record<string, unknown> = {}) => ({
    rpc: { grpcPort, membershipPort, bindOnLocalHost: true, ...extra },
  });
  const client = { serverName: 'localhost', rootCaFiles: [c.pki.caCert] };
  return {
    log: { stdout: true, level: c.logLevel, format: 'json' },
    persistence: {
      defaultStore: 'default',
      visibilityStore: 'visibility',
      numHistoryShards: c.historyShards,
      datastores: { default: store('temporal', 20), visibility: store('temporal_visibility', 10) },
    },
    global: {
      membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' },
      pprof: { port: 0 },
      tls: {
        frontend: {
          server: {
            requireClientAuth: true,
            certFile: c.pki.serverCert,
            keyFile: c.pki.serverKey,
            clientCaFiles: [c.pki.caCert],
          },
          client,
        },
        systemWorker: { certFile: c.pki.serverCert, keyFile: c.pki.serverKey, client },
      },
      metrics: {
        prometheus: {
          framework: 'tally',
          timerType: 'histogram',
          listenAddress: `127.0.0.1:${c.ports.metrics}`,
        },
      },
    },
    services: {
      frontend: rpc(c.ports.frontend, c.ports.membership.frontend, { httpPort: c.ports.frontendHttp }),
      history: rpc(c.ports.history, c.ports.membership.history),
      matching: rpc(c.ports.matching, c.ports.membership.matching),
      worker: rpc(c.ports.worker, c.ports.membership.worker),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: {
          enabled: true,
          initialFailoverVersion: 1,
          rpcName: 'frontend',
          rpcAddress: `localhost:${c.ports.frontend}`,
        },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    dynamicConfigClient: { filepath: c.dynamicConfigFile, pollInterval: '10s' },
  };
}
