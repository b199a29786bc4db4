/** `rto sandbox alma`: the Alma sandbox alone (for trying the client, or pointing another tool at it). */
import { seedFromConfig, startAlmaSandbox } from '../sandbox/alma';
import { EXIT, parse } from './args';
import { loadContext } from './context';

const USAGE = `Usage: rto sandbox alma [--port <n>] [--state <file>] [--bib-delay <ms>]
Serves Alma's REST API on 127.0.0.1 (default port 8480, or ALMA_SANDBOX_PORT), seeded from the configuration
(RTO_CONFIG). Admin API: GET /_sandbox/state, POST /_sandbox/faults, POST /_sandbox/reset.`;

export async function sandboxCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    { port: { type: 'string' }, state: { type: 'string' }, 'bib-delay': { type: 'string' } },
    USAGE,
  );
  if (values.help || positionals[0] !== 'alma') {
    process.stdout.write(USAGE + '\n');
    return values.help ? EXIT.ok : EXIT.failure;
  }
  const { settings, config, logger } = loadContext();
  const sandbox = await startAlmaSandbox({
    port: values.port !== undefined ? Number(values.port) : settings.ALMA_SANDBOX_PORT,
    seed: seedFromConfig(config),
    stateFile: values.state,
    bibDelayMs: values['bib-delay'] !== undefined ? Number(values['bib-delay']) : undefined,
    logger,
  });
  process.stdout.write(
    `Alma sandbox: ${sandbox.url} (admin ${sandbox.baseUrl}/_sandbox/state). Ctrl-C stops it.\n`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await sandbox.close();
  return EXIT.ok;
}
