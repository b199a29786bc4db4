/** Small helpers for the command line: parse options, print, exit with the documented codes. */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Exit codes scripts rely on: 0 success, 2 invalid order, 1 anything else. */
export const EXIT = { ok: 0, failure: 1, invalid: 2 } as const;

export class UsageError extends Error {
  override name = 'UsageError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

export function parse<const O extends Options>(args: string[], options: O, usage: string) {
  try {
    const all = { ...options, help: { type: 'boolean', short: 'h' } } as const;
    return parseArgs({ args, options: all, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\n\n${usage}`);
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}
