/** `rto codec-server`: the remote codec the Temporal UI and CLI call to read encrypted payloads. */
import { loadSettings } from '../config/settings';
import { codecServerOptionsFromSettings } from '../codec/options';
import { startCodecServer } from '../codec/server';
import { createLogger } from '../logging';
import { EXIT, parse, UsageError } from './args';
import { printableLine } from './terminal';

const USAGE = `Usage: rto codec-server

Serves Temporal's remote codec protocol (POST /encode, POST /decode) with the payload keys of
RTO_PAYLOAD_KEY / RTO_PAYLOAD_KEY_FILE / RTO_PAYLOAD_OLD_KEYS, on RTO_CODEC_HOST:RTO_CODEC_PORT
(127.0.0.1:8089). Callers send "Authorization: Bearer <RTO_CODEC_TOKEN>"; pages of the origins in
RTO_CODEC_CORS_ORIGIN (the Temporal UI's) may read the answers.`;

export async function codecServerCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {}, USAGE);
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return EXIT.ok;
  }
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"\n\n${USAGE}`);
  const settings = loadSettings();
  const logger = createLogger({ level: settings.LOG_LEVEL });
  const options = codecServerOptionsFromSettings(settings);
  const server = await startCodecServer({ ...options, logger });
  process.stdout.write(
    printableLine(
      `codec server on ${server.url} (namespace ${settings.TEMPORAL_NAMESPACE}; origins ${options.origins.join(', ')})`,
    ) + '\n',
  );
  const why = await new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  logger.info({ why }, 'codec server stopping');
  await server.close();
  return EXIT.ok;
}
