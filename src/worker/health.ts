/**
 * A worker process's health endpoint: `GET /healthz` on loopback (RTO_HEALTH_HOST / RTO_HEALTH_PORT), for the
 * orchestrator's liveness and readiness probes. 200 while every worker of the process runs (its pollers are
 * active: the SDK fails a worker whose polling fails for good); 503 while starting, draining after SIGTERM,
 * stopped or failed. The body says which, per task queue. `GET /metrics` on the same port: the application's
 * Prometheus metrics (src/metrics).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Worker } from '@temporalio/worker';
import type { Logger } from '../logging';
import { metricsText } from '../metrics';
import type { WorkerRole } from './workers';

export type HealthStatus = 'ok' | 'starting' | 'draining' | 'stopped' | 'failed';

export interface HealthReport {
  status: HealthStatus;
  role: WorkerRole;
  workers: { taskQueue: string; state: string }[];
}

/** The process's health from its workers' states: the worst one wins. */
export function workerHealth(workers: Worker[], role: WorkerRole): HealthReport {
  const states = workers.map((w) => ({ taskQueue: w.options.taskQueue, state: w.getState() }));
  const has = (...s: string[]) => states.some((w) => s.includes(w.state));
  const status: HealthStatus = has('FAILED')
    ? 'failed'
    : has('STOPPING', 'DRAINING', 'DRAINED')
      ? 'draining'
      : has('STOPPED')
        ? 'stopped'
        : states.length === 0 || has('INITIALIZED')
          ? 'starting'
          : 'ok';
  return { status, role, workers: states };
}

export interface HealthServer {
  url: string;
  close(): Promise<void>;
}

export async function startHealthServer(o: {
  host: string;
  port: number;
  report: () => HealthReport;
  logger: Logger;
}): Promise<HealthServer> {
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (url === '/metrics' && req.method === 'GET') {
      metricsText().then(
        ({ contentType, body }) =>
          res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' }).end(body),
        (e: unknown) => {
          o.logger.warn({ err: String((e as Error).message ?? e) }, 'metrics: exposition failed');
          res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable\n');
        },
      );
      return;
    }
    if (url !== '/healthz' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    const report = o.report();
    const body = JSON.stringify(report) + '\n';
    res.writeHead(report.status === 'ok' ? 200 : 503, {
      'content-type': 'application/json',
      'cache-control': 'no-store',
      // Probes open a connection each time: do not keep one open through the drain.
      connection: 'close',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        new Error(
          `the worker health endpoint cannot listen on ${o.host}:${o.port} (RTO_HEALTH_HOST / RTO_HEALTH_PORT): ${e.code ?? e.message}`,
        ),
      ),
    );
    server.listen(o.port, o.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  const url = `http://${host}:${port}/healthz`;
  o.logger.info({ url }, 'worker health endpoint');
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
