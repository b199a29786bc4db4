/** A vendor folder on local disk (the embedded default and `npm start`). */
import { createReadStream, createWriteStream } from 'node:fs';
import { link, lstat, mkdir, readdir, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  ARCHIVE_DIR,
  FileStoreError,
  archiveFolder,
  fileListing,
  type ArchiveFolder,
  type DownloadOptions,
  type FileListing,
  type FileStore,
  type RemoteFile,
} from './store';
import { assertSafeRemoteName, isHiddenName, remoteNameProblem, type RejectedName } from './safe-name';
import { FileTooLargeError, writeAtomically, writeCapped } from './write-local';

function errCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException).code;
}

export class LocalFileStore implements FileStore {
  private readonly dir: string;

  constructor(dir: string) {
    this.dir = path.resolve(dir);
  }

  private file(name: string, sub?: string): string {
    assertSafeRemoteName(name, sub ? 'archive name' : 'file name');
    return sub ? path.join(this.dir, sub, name) : path.join(this.dir, name);
  }

  async list(): Promise<FileListing> {
    const files: RemoteFile[] = [];
    const rejected: RejectedName[] = [];
    const entries = await readdir(this.dir, { withFileTypes: true }).catch((e: unknown) => {
      const code = errCode(e);
      // A folder that is not there is a configuration problem, not a passing fault: say so plainly.
      throw new FileStoreError(
        `the vendor folder ${this.dir} ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? 'error'})`}`,
        code,
      );
    });
    for (const entry of entries) {
      // Symbolic links could point anywhere on this machine: only plain files count.
      if (!entry.isFile()) continue;
      const problem = remoteNameProblem(entry.name);
      if (problem) {
        rejected.push({ name: entry.name, reason: problem });
        continue;
      }
      if (isHiddenName(entry.name)) continue;
      const st = await lstat(path.join(this.dir, entry.name)).catch(() => null);
      if (st?.isFile()) files.push({ name: entry.name, size: st.size, modifiedAt: new Date(st.mtimeMs) });
    }
    return fileListing(files, rejected);
  }

  async download(name: string, localPath: string, opts: DownloadOptions = {}): Promise<void> {
    const src = this.file(name);
    const st = await lstat(src).catch((e: unknown) => {
      throw new FileStoreError(`${this.dir}: cannot read ${name}: ${errCode(e) ?? 'error'}`, errCode(e));
    });
    if (!st.isFile()) throw new FileStoreError(`${this.dir}: ${name} is not a regular file`);
    const { maxBytes } = opts;
    await writeAtomically(localPath, (tmp) =>
      maxBytes === undefined
        ? pipeline(createReadStream(src), createWriteStream(tmp, { flags: 'wx' }))
        : writeCapped(tmp, maxBytes, name, (dest) => pipeline(createReadStream(src), dest)),
    ).catch((e: unknown) => {
      if (e instanceof FileTooLargeError) throw new FileStoreError(`${this.dir}: ${e.message}`, e.code);
      throw e;
    });
  }

  async archive(name: string, archivedName: string, folder: ArchiveFolder = ARCHIVE_DIR): Promise<void> {
    const src = this.file(name);
    const dest = this.file(archivedName, archiveFolder(folder));
    await mkdir(path.dirname(dest), { recursive: true });
    // link + unlink rather than rename: link fails if the archive already holds that name (no overwrite).
    try {
      await link(src, dest);
    } catch (e) {
      const code = errCode(e);
      const srcExists = await lstat(src).then(
        () => true,
        () => false,
      );
      const destExists = await lstat(dest).then(
        () => true,
        () => false,
      );
      if (!srcExists && destExists) return; // archived by an earlier attempt
      if (code === 'EEXIST')
        throw new FileStoreError(`${this.dir}: ${folder}/${archivedName} already exists`, code);
      if (code === 'EPERM' || code === 'EXDEV') {
        if (destExists)
          throw new FileStoreError(`${this.dir}: ${folder}/${archivedName} already exists`, 'EEXIST');
        await rename(src, dest);
        return;
      }
      throw new FileStoreError(`${this.dir}: cannot archive ${name}: ${code ?? 'error'}`, code);
    }
    await unlink(src);
  }

  async restore(archivedName: string, name: string, folder: ArchiveFolder): Promise<void> {
    const src = this.file(archivedName, archiveFolder(folder));
    const dest = this.file(name);
    const exists = (p: string) =>
      lstat(p).then(
        () => true,
        () => false,
      );
    try {
      await link(src, dest);
    } catch (e) {
      const code = errCode(e);
      if (!(await exists(src)) && (await exists(dest))) return; // restored by an earlier attempt
      if (code === 'EEXIST') throw new FileStoreError(`${this.dir}: ${name} is already in the folder`, code);
      if (code === 'ENOENT')
        throw new FileStoreError(`${this.dir}: ${folder}/${archivedName} is not there`, code);
      throw new FileStoreError(
        `${this.dir}: cannot restore ${folder}/${archivedName}: ${code ?? 'error'}`,
        code,
      );
    }
    await unlink(src);
  }

  async listArchive(folder: ArchiveFolder = ARCHIVE_DIR): Promise<string[]> {
    const entries = await readdir(path.join(this.dir, archiveFolder(folder)), { withFileTypes: true }).catch(
      (e: unknown) => {
        if (errCode(e) === 'ENOENT') return [];
        throw e;
      },
    );
    return entries
      .filter((e) => e.isFile() && !remoteNameProblem(e.name) && !isHiddenName(e.name))
      .map((e) => e.name)
      .sort();
  }

  async close(): Promise<void> {}
}
