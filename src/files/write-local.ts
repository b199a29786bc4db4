/** Writing a downloaded file so a crash never leaves a half file under the final name. */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';

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
