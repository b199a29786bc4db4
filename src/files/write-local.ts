/** Writing a downloaded file so a crash never leaves a half file under the final name. */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** Runs `write` with a temporary path next to `localPath`, then renames the result into place. */
export async function writeAtomically(
  localPath: string,
  write: (tmpPath: string) => Promise<unknown>,
): Promise<void> {
  const final = path.resolve(localPath);
  await mkdir(path.dirname(final), { recursive: true });
  const tmp = path.join(
    path.dirname(final),
    `.${path.basename(final).slice(0, 100)}.${randomBytes(4).toString('hex')}.part`,
  );
  try {
    await write(tmp);
    await rename(tmp, final);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** A download that grew past the size allowed: stopped there, the partial file is removed. */
export class FileTooLargeError extends Error {
  override name = 'FileTooLargeError';
  readonly code = 'EFBIG';
}

/**
 * Writes what `feed` pipes into the stream it is given to a new file, failing with FileTooLargeError as soon
 * as more than `maxBytes` arrived (the sender is cut off, not read to the end).
 */
export async function writeCapped(
  file: string,
  maxBytes: number,
  what: string,
  feed: (dest: Writable) => Promise<unknown>,
): Promise<void> {
  let seen = 0;
  let tooLarge: FileTooLargeError | undefined;
  const limiter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      if (seen <= maxBytes) return cb(null, chunk);
      tooLarge = new FileTooLargeError(`${what} is larger than ${maxBytes} bytes: download stopped`);
      cb(tooLarge);
    },
  });
  const sink = pipeline(limiter, createWriteStream(file, { flags: 'wx' }));
  try {
    await Promise.all([feed(limiter), sink]);
  } catch (e) {
    limiter.destroy();
    await sink.catch(() => undefined);
    // The sender reports the cut-off in its own words: the limit is the real reason.
    throw tooLarge ?? e;
  }
}
