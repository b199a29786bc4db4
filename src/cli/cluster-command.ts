/** `rto cluster` (`npm run cluster`): the production shape on this machine, until Ctrl-C (src/cluster). */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { startCluster } from '../cluster/cluster';
import { createLogger } from '../logging';
import { EXIT, parse, UsageError } from './args';
import { printable, printableLine } from './terminal';

const USAGE = `Usage: rto cluster [--workers N] [--port P] [--dir DIR] [--no-ui] [--fresh]

Runs the production shape on this machine: PostgreSQL (initdb into DIR), the Temporal server and its
SQL tool built from their Go modules at the version docker-compose.yml pins (cached per version),
set up by deploy/temporal-setup.sh, serving TLS with client certificates on 127.0.0.1:P; N worker
processes (rto worker) and the HTTP intake (rto http) connecting to it as an operator would
configure them; the Temporal UI; the Alma sandbox and the mail catcher. Ctrl-C stops everything.

  --workers N   worker processes (default 2)
  --port P      the Temporal frontend's port (default 7933; 0 for a free one)
  --dir DIR     the cluster's folder, kept between runs (default .cluster)
  --no-ui       do not build or start the Temporal UI
  --fresh       delete DIR first: a new database, new certificates

The project configuration is RTO_CONFIG (default config/example.json).`;

export async function clusterCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      workers: { type: 'string' },
      port: { type: 'string' },
      dir: { type: 'string' },
      'no-ui': { type: 'boolean' },
      fresh: { type: 'boolean' },
    },
    USAGE,
  );
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return EXIT.ok;
  }
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"\n\n${USAGE}`);
  const workers = Number(values.workers ?? 2);
  if (!Number.isInteger(workers) || workers < 1 || workers > 16)
    throw new UsageError(`--workers must be a whole number from 1 to 16, not "${values.workers}"`);
  const port = Number(values.port ?? 7933);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--port must be a port number, not "${values.port}"`);
  const dir = path.resolve(values.dir ?? '.cluster');
  if (values.fresh) rmSync(dir, { recursive: true, force: true });
  const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'info' });
  const say = (line: string) => process.stdout.write(printableLine(line) + '\n');
  let signalled: (why: string) => void = () => undefined;
  const signalledP = new Promise<string>((r) => (signalled = r));
  process.once('SIGINT', () => signalled('SIGINT'));
  process.once('SIGTERM', () => signalled('SIGTERM'));
  const configFile = path.resolve(process.env.RTO_CONFIG ?? 'config/example.json');
  let cluster;
  try {
    cluster = await startCluster({
      dir,
      workers,
      port,
      configFile,
      namespace: process.env.TEMPORAL_NAMESPACE ?? 'default',
      ui: !values['no-ui'],
      intake: true,
      logger,
      log: say,
    });
  } catch (e) {
    process.stderr.write(`${printable((e as Error).message)}\n`);
    return EXIT.failure;
  }
  const c = cluster;
  say('The cluster is running:');
  say(
    `  Temporal        ${c.address}   (server ${c.binaries.versions.server}, PostgreSQL, TLS + client certificate)`,
  );
  say(`  Certificates    ${c.pki.dir}   (CA ca.crt; client client.crt / client.key)`);
  say(`  Temporal UI     ${c.uiUrl ?? '-'}`);
  if (c.codecUrl) say(`  Codec server    ${c.codecUrl}   (the UI decodes encrypted payloads through it)`);
  say(
    `  Workers         ${c.workers.length} process(es); /healthz and /metrics on ${c.workerHealthPorts.map((p) => `127.0.0.1:${p}`).join(', ')}`,
  );
  say(`  HTTP intake     ${c.intakeUrl ?? '-'}/orders   (bearer token in ${path.join(dir, 'http-token')})`);
  say(`  Alma sandbox    ${c.sandboxUrl}`);
  say(`  Mail catcher    smtp://127.0.0.1:${c.mailPort}   (messages in ${c.mailDir})`);
  say(`  Server metrics  ${c.serverMetricsUrl}`);
  say(`  Logs            ${path.join(dir, 'logs')}`);
  say(
    `  Another shell   set -a; . ${path.join(dir, 'cluster.env')}; set +a; npm run rto -- order submit examples/orders/print-single-fund.json --wait FOLLOWING_UP`,
  );
  say('Ctrl-C stops everything.');
  const why = await signalledP;
  say(`stopping (${why})`);
  await c.stop();
  return EXIT.ok;
}
