/**
 * `npm start`: the whole system on its embedded defaults, on loopback: the Temporal dev server (SQLite under
 * the data directory, so a restart loses nothing; web UI), the Alma sandbox, the mail catcher, the vendor FTP
 * server, the worker and the HTTP intake. Ctrl-C or SIGTERM stops everything, in reverse order.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { codecServerOptionsFromSettings, payloadCodecFrom } from '../codec/options';
import { startCodecServer } from '../codec/server';
import { reportLines, runDoctor } from '../doctor';
import { startFtpServer } from '../files/ftp-server';
import { startMailCatcher } from '../mail';
import { seedFromConfig, startAlmaSandbox, withDemoHeldTitles } from '../sandbox/alma';
import { resolveTemporalCli } from '../temporal/cli-binary';
import { freePort, startDevServer } from '../temporal/dev-server';
import { syncSchedules } from '../temporal/schedules';
import { startWorkerProcess } from '../worker/process';
import { startIntake } from './intake';
import { loadContext } from './context';
import { printable, printableLine } from './terminal';

/** Hosts `rto start`'s own Temporal server answers on (it listens on 127.0.0.1 only). */
const LOOPBACK = /^(127\.0\.0\.1|localhost|\[::1\]):\d+$/;

export async function startCommand(): Promise<number> {
  const ctx = loadContext();
  const { config, logger } = ctx;
  let settings = ctx.settings;
  // One truth for where Temporal is: the dev server runs where TEMPORAL_ADDRESS / TEMPORAL_PORT say, so a
  // later `rto` in another shell with the same environment finds it. A remote address cannot be that.
  if (!LOOPBACK.test(settings.TEMPORAL_ADDRESS)) {
    process.stderr.write(
      printable(
        `rto start runs its own Temporal server on 127.0.0.1:${settings.TEMPORAL_PORT}, but TEMPORAL_ADDRESS ` +
          `is ${settings.TEMPORAL_ADDRESS}: unset TEMPORAL_ADDRESS (TEMPORAL_PORT chooses the port), or run ` +
          '`rto worker` against that server.\n',
      ),
    );
    return 1;
  }
  const dataDir = path.resolve(settings.RTO_DATA_DIR);
  mkdirSync(dataDir, { recursive: true });
  const stops: { name: string; stop: () => Promise<void> | void }[] = [];
  let stopping = false;
  const shutdown = async (why: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ why }, 'stopping');
    for (const s of stops.reverse()) {
      try {
        await s.stop();
        logger.debug({ part: s.name }, 'stopped');
      } catch (e) {
        logger.warn({ part: s.name, err: (e as Error).message }, 'stopping failed');
      }
    }
  };
  let signalled: (why: string) => void = () => undefined;
  const signalledP = new Promise<string>((r) => (signalled = r));
  process.once('SIGINT', () => signalled('SIGINT'));
  process.once('SIGTERM', () => signalled('SIGTERM'));

  try {
    const cli = await resolveTemporalCli({ log: (line) => logger.info(line) });
    // With payload encryption on, the UI shows ciphertext unless it decodes through the codec server: started
    // first, so the dev server's UI can be pointed at it. On loopback it serves the local UI's origin without a
    // token (the dev UI has no way to send one); RTO_CODEC_TOKEN, when set, is required all the same.
    const uiPort = settings.TEMPORAL_UI_PORT || (await freePort());
    let codecLine: string | undefined;
    let uiCodecEndpoint: string | undefined;
    if (payloadCodecFrom(settings)) {
      const options = codecServerOptionsFromSettings(settings, { allowNoToken: true, uiPort });
      if (options.token)
        logger.warn(
          'RTO_CODEC_TOKEN is set: the dev server UI sends no token, so it cannot decode through the codec server',
        );
      const codec = await startCodecServer({ ...options, logger: logger.child({ part: 'codec' }) });
      stops.push({ name: 'codec-server', stop: codec.close });
      uiCodecEndpoint = codec.url;
      codecLine = `  Codec server    ${codec.url}   (the UI decodes encrypted payloads through it; ${options.token ? 'bearer token RTO_CODEC_TOKEN' : 'loopback, no token'})`;
    }
    const temporal = await startDevServer({
      binary: cli.path,
      port: settings.TEMPORAL_PORT,
      uiPort,
      ...(uiCodecEndpoint ? { uiCodecEndpoint } : {}),
      dbFile: path.join(dataDir, 'temporal.db'),
      namespace: settings.TEMPORAL_NAMESPACE,
      onOutput: (line) => logger.debug({ part: 'temporal' }, line),
    });
    stops.push({ name: 'temporal', stop: temporal.stop });
    // The same address unless TEMPORAL_PORT is 0 (a free port): then the chosen one, for this process.
    settings = { ...settings, TEMPORAL_ADDRESS: temporal.address };
    process.env.TEMPORAL_ADDRESS = temporal.address;
    process.env.TEMPORAL_PORT = temporal.address.slice(temporal.address.lastIndexOf(':') + 1);

    const sandbox = await startAlmaSandbox({
      port: settings.ALMA_SANDBOX_PORT,
      // With titles already held and on order, so the duplicate check can be tried (examples/orders/duplicate-*.json).
      seed: withDemoHeldTitles(seedFromConfig(config)),
      stateFile: path.join(dataDir, 'alma-sandbox.json'),
      logger: logger.child({ part: 'alma-sandbox' }),
    });
    stops.push({ name: 'alma-sandbox', stop: sandbox.close });

    const catcher = await startMailCatcher({
      port: settings.SMTP_PORT,
      dir: path.join(dataDir, 'mail'),
      logger: logger.child({ part: 'mail' }),
    });
    stops.push({ name: 'mail-catcher', stop: catcher.close });

    const vendorRoot = path.join(dataDir, 'vendor');
    for (const acc of Object.keys(config.accounts)) {
      mkdirSync(path.join(vendorRoot, acc, 'edi'), { recursive: true });
      mkdirSync(path.join(vendorRoot, acc, 'marc'), { recursive: true });
    }
    const ftp = await startFtpServer({
      port: settings.FTP_PORT,
      root: vendorRoot,
      logger: logger.child({ part: 'ftp' }),
    });
    stops.push({ name: 'ftp', stop: ftp.close });

    // The set-up checked once against the sandbox, the mail catcher and the vendor folders: its findings are
    // printed with the summary; it never stops the start.
    const doctor = await runDoctor({ config, settings, logger }).then(
      (r) => reportLines(r, { onlyTrouble: true }).map((l) => `  ${l}`),
      (e: unknown) => [`  the set-up doctor could not run: ${(e as Error).message}`],
    );

    const proc = await startWorkerProcess({ settings, config, logger });
    stops.push({ name: 'workers', stop: proc.stop });
    const { client, running } = proc;

    const intake = await startIntake(client, { settings, config, logger });
    const where = intake.where;
    stops.push({ name: 'http-intake', stop: intake.close });

    const schedules = await syncSchedules(client, { config, taskQueue: settings.RTO_TASK_QUEUE });

    const lines = [
      'oasis-alma-rto is running:',
      `  Temporal        ${temporal.address}   (namespace ${settings.TEMPORAL_NAMESPACE}, data ${path.join(dataDir, 'temporal.db')})`,
      `  Temporal UI     ${temporal.uiUrl}`,
      ...(codecLine ? [codecLine] : []),
      `  Worker          task queue ${settings.RTO_TASK_QUEUE} (+ one per Alma institution)`,
      `  HTTP intake     ${intake.url}/orders   (bearer token in ${where})`,
      `  Metrics         ${intake.url}/metrics   (Prometheus text: this process's workers and intake)`,
      `  Alma sandbox    ${sandbox.url}   (state: ${sandbox.baseUrl}/_sandbox/state)`,
      `  Mail catcher    smtp://127.0.0.1:${catcher.port}   (messages in ${path.join(dataDir, 'mail')})`,
      `  Vendor files    ftp://127.0.0.1:${ftp.port}   (folder ${vendorRoot})`,
      `  Schedules       ${schedules.join(', ') || '-'}`,
      `  Try             npm run rto -- order submit examples/orders/print-single-fund.json --wait FOLLOWING_UP`,
      `  Duplicates      npm run rto -- order submit examples/orders/duplicate-on-order.json --wait FOLLOWING_UP   (held: README, "Try the duplicate check")`,
      'Set-up doctor (rto doctor):',
      ...doctor,
      'Ctrl-C stops everything.',
    ];
    process.stdout.write(lines.map(printableLine).join('\n') + '\n');
    const why = await Promise.race([signalledP, running.then(() => 'workers stopped')]);
    await shutdown(why);
    return 0;
  } catch (e) {
    logger.error({ err: (e as Error).message }, 'start failed');
    await shutdown('start failed');
    process.stderr.write(`${printable((e as Error).message)}\n`);
    return 1;
  }
}
