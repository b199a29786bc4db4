/** Where a vendor posts files (EDI invoices and status, MARC records): a folder on FTP, SFTP or local disk. */
import type { Logger } from '../logging';
import { isHiddenName, remoteNameProblem, type RejectedName } from './safe-name';

export interface RemoteFile {
  name: string;
  size: number;
  modifiedAt?: Date;
}

/** The regular files of the folder, plus the names refused as unsafe (reported, never used). */
export type FileListing = RemoteFile[] & { rejected: RejectedName[] };

export function fileListing(files: RemoteFile[], rejected: RejectedName[]): FileListing {
  files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return Object.assign(files, { rejected });
}

/**
 * A folder's regular files as every store lists them: unsafe names refused (reported, and logged), hidden
 * names (partial uploads) skipped, the rest listed.
 */
export function listingOf(
  entries: Iterable<RemoteFile>,
  log: { logger: Logger; where: string },
): FileListing {
  const files: RemoteFile[] = [];
  const rejected: RejectedName[] = [];
  for (const f of entries) {
    const problem = remoteNameProblem(f.name);
    if (problem) rejected.push({ name: f.name, reason: problem });
    else if (!isHiddenName(f.name)) files.push(f);
  }
  if (rejected.length) log.logger.warn({ where: log.where, rejected }, 'unsafe vendor file names skipped');
  return fileListing(files, rejected);
}

/**
 * Runs operations one at a time, in order (a remote store has one connection); a failed operation does not
 * stop the ones after it. `idle()` resolves once everything queued so far has finished.
 */
export class OneAtATime {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(op: () => Promise<T>): Promise<T> {
    const next = this.tail.then(op);
    this.tail = next.catch(() => undefined);
    return next;
  }

  async idle(): Promise<void> {
    await this.tail;
  }
}

/** The sub-folder processed files are moved to. */
export const ARCHIVE_DIR = 'archive';

/** The sub-folder files that could not be read are moved to (out of the pick-up folder, kept for a person). */
export const REJECTED_DIR = 'rejected';

/** The sub-folders a store moves files into: listings of the folder never include them. */
export type ArchiveFolder = typeof ARCHIVE_DIR | typeof REJECTED_DIR;

/** `folder`, checked at run time too: it becomes part of a path on the server. */
export function archiveFolder(folder: ArchiveFolder = ARCHIVE_DIR): ArchiveFolder {
  if (folder !== ARCHIVE_DIR && folder !== REJECTED_DIR)
    throw new FileStoreError(`${JSON.stringify(String(folder).slice(0, 40))} is not an archive folder`);
  return folder;
}

export interface DownloadOptions {
  /** Stop (and fail with code EFBIG) once more than this many bytes arrived. */
  maxBytes?: number;
}

export interface FileStore {
  /** Regular files in the folder (not the archive or rejected sub-folders); unsafe names are in `.rejected`. */
  list(): Promise<FileListing>;
  /** Copies the remote file to `localPath` (written under a temporary name, then renamed). */
  download(name: string, localPath: string, opts?: DownloadOptions): Promise<void>;
  /**
   * Moves the file into `<folder>/archivedName` on the server (folder `archive` unless given), creating the
   * folder. Done again after it succeeded (a retried activity) it does nothing; it never overwrites a
   * different archived file.
   */
  archive(name: string, archivedName: string, folder?: ArchiveFolder): Promise<void>;
  /** Names of the files in the archive sub-folder (or in `folder`). */
  listArchive(folder?: ArchiveFolder): Promise<string[]>;
  /**
   * Moves `<folder>/archivedName` back into the pick-up folder as `name` (an operator retrying a rejected
   * file). Done again after it succeeded it does nothing; it never overwrites a file in the pick-up folder.
   */
  restore(archivedName: string, name: string, folder: ArchiveFolder): Promise<void>;
  close(): Promise<void>;
}

/** A store operation that failed; the message names the store and file, never a password. */
export class FileStoreError extends Error {
  override name = 'FileStoreError';
  constructor(
    message: string,
    readonly code?: string | number,
  ) {
    super(message);
  }
}
