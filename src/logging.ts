/**
 * One pino logger for the whole process: pretty in a terminal, JSON otherwise (for log shippers).
 * Anything that could carry a secret is redacted by path, and secrets are never put in log fields anyway.
 */
import pino, { type Logger } from 'pino';

export type { Logger };

export const REDACT_PATHS = [
  'apiKey',
  'apikey',
  'password',
  'token',
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  '*.apiKey',
  '*.password',
  '*.token',
  '*.authorization',
  '*.headers.authorization',
];

export function createLogger(
  opts: { level?: string; name?: string; destination?: pino.DestinationStream; pretty?: boolean } = {},
): Logger {
  const level = opts.level ?? process.env.LOG_LEVEL ?? 'info';
  const base = { level, name: opts.name ?? 'rto', redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  if (opts.destination) return pino(base, opts.destination);
  const pretty = opts.pretty ?? (process.stdout.isTTY === true && !process.env.CI);
  if (pretty) {
    return pino({
      ...base,
      transport: {
        target: 'pino-pretty',
        options: { colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' },
      },
    });
  }
  return pino(base);
}

/** A logger that writes nothing: the default for library code called without one. */
export const silentLogger: Logger = pino({ level: 'silent' });
