/** Small helpers for the command line: parse options, print, exit with the documented codes. */
import { statSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';

/**
 * Exit codes scripts rely on: 0 success, 2 invalid order (or an unknown stage, alert, reason or account),
 * 3 `rto order submit --wait` found the order HELD (a possible duplicate waiting for staff: neither done nor
 * failed), 1 anything else; 128 + the signal's number when interrupted (130 SIGINT, 143 SIGTERM).
 */
export const EXIT = { ok: 0, failure: 1, invalid: 2, held: 3, SIGINT: 130, SIGTERM: 143 } as const;

/** A mistake in the command line: its message (usage included) is printed, and the command exits 1. */
export class UsageError extends Error {
  override name = 'UsageError';
  readonly exitCode: number = EXIT.failure;
}

/** A value that is not one of the known ones (a stage, alert, reason code, account): exit 2, like an invalid order. */
export class UnknownValueError extends UsageError {
  override name = 'UnknownValueError';
  override readonly exitCode: number = EXIT.invalid;
}

/**
 * `value` as one of `known` (compared without regard to case; the known spelling is returned), or an
 * UnknownValueError listing the known ones.
 */
export function oneOf<T extends string>(what: string, value: string, known: readonly T[], where = ''): T {
  const found = known.find((k) => k.toUpperCase() === value.toUpperCase());
  if (found !== undefined) return found;
  throw new UnknownValueError(
    `unknown ${what} "${value}"${where}; known ${what}s: ${known.length ? known.join(', ') : '(none)'}`,
  );
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

/** A file named on the command line, refused as a usage error unless it is a regular file we can stat. */
export function requireFile(file: string): void {
  let st;
  try {
    st = statSync(file);
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (!st.isFile()) throw new UsageError(`${file} is not a file`);
}
