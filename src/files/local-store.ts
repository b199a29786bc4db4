/**
 * A vendor folder on local disk (the embedded default and `npm start`).
 *
 * Whoever can write into the folder must not be able to make the worker read or move other files of this
 * machine: a file is opened once, with O_NOFOLLOW (a symbolic link is refused, not followed), and read from
 * that descriptor; the folder and its archive/rejected sub-folders are opened the same way (a folder that is
 * a symbolic link is refused), and on Linux every later path goes through the open folder's descriptor
 * (/proc/self/fd/N/name), so a folder swapped for a link after the check is not followed either.
 */
import { constants, createWriteStream } from 'node:fs';
import { link, lstat, mkdir, open, readdir, rename, unlink, type FileHandle } from 'node:fs/promises';
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

const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK, O_DIRECTORY } = constants;
/** Paths through an open directory's descriptor: Linux only (elsewhere the checked path is used). */
const FD_PATHS = process.platform === 'linux';

/** An open folder of the store: its descriptor pins it, `at(name)` names a file inside it. */
interface OpenFolder {
  at(name: string): string;
  close(): Promise<void>;
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

  /** The folder (or its sub-folder `sub`), opened without following a symbolic link. */
  private async openFolder(sub?: ArchiveFolder): Promise<OpenFolder> {
    const where = sub ? path.join(this.dir, sub) : this.dir;
    let fh: FileHandle;
    try {
      fh = await open(where, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    } catch (e) {
      const code = errCode(e);
      if (code === 'ELOOP' || code === 'ENOTDIR') {
        const st = await lstat(where).catch(() => null);
        if (st?.isSymbolicLink())
          throw new FileStoreError(
            `${where} is a symbolic link: refused (configure the real folder, not a link to it)`,
            'ELOOP',
          );
        throw new FileStoreError(`${where} is not a folder`, code);
      }
      throw new FileStoreError(
        `the vendor folder ${where} ${code === 'ENOENT' ? 'does not exist' : `cannot be opened (${code ?? 'error'})`}`,
        code,
      );
    }
    return {
      at: (name) => (FD_PATHS ? `/proc/self/fd/${fh.fd}/${name}` : path.join(where, name)),
      close: () => fh.close(),
    };
  }

  private async inFolders<T>(
    subs: (ArchiveFolder | undefined)[],
    op: (...folders: OpenFolder[]) => Promise<T>,
  ): Promise<T> {
    const open: OpenFolder[] = [];
    try {
      for (const s of subs) open.push(await this.openFolder(s));
      return await op(...open);
    } finally {
      for (const f of open) await f.close().catch(() => undefined);
    }
  }

  async list(): Promise<FileListing> {
    return this.inFolders([undefined], (dir) => this.listIn(dir));
  }

  private async listIn(dir: OpenFolder): Promise<FileListing> {
    const files: RemoteFile[] = [];
    const rejected: RejectedName[] = [];
    const entries = await readdir(dir.at('.'), { withFileTypes: true }).catch((e: unknown) => {
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
      const st = await lstat(dir.at(entry.name)).catch(() => null);
      if (st?.isFile()) files.push({ name: entry.name, size: st.size, modifiedAt: new Date(st.mtimeMs) });
    }
    return fileListing(files, rejected);
  }

  async download(name: string, localPath: string, opts: DownloadOptions = {}): Promise<void> {
    this.file(name);
    await this.inFolders([undefined], async (dir) => {
      // Opened once, never following a link (ELOOP), never waiting on a FIFO (O_NONBLOCK); then checked and
      // read through this descriptor only, so a swap of the name after the check changes nothing.
      let fh: FileHandle;
      try {
        fh = await open(dir.at(name), O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
      } catch (e) {
        const code = errCode(e);
        if (code === 'ELOOP')
          throw new FileStoreError(`${this.dir}: ${name} is a symbolic link: refused`, code);
        throw new FileStoreError(`${this.dir}: cannot read ${name}: ${code ?? 'error'}`, code);
      }
      try {
        if (!(await fh.stat()).isFile())
          throw new FileStoreError(`${this.dir}: ${name} is not a regular file`);
        const source = () => fh.createReadStream({ autoClose: false, start: 0 });
        const { maxBytes } = opts;
        await writeAtomically(localPath, (tmp) =>
          maxBytes === undefined
            ? pipeline(source(), createWriteStream(tmp, { flags: 'wx' }))
            : writeCapped(tmp, maxBytes, name, (dest) => pipeline(source(), dest)),
        ).catch((e: unknown) => {
          if (e instanceof FileTooLargeError) throw new FileStoreError(`${this.dir}: ${e.message}`, e.code);
          throw e;
        });
      } finally {
        await fh.close().catch(() => undefined);
      }
    });
  }

  async archive(name: string, archivedName: string, folder: ArchiveFolder = ARCHIVE_DIR): Promise<void> {
    this.file(name);
    this.file(archivedName, archiveFolder(folder));
    await this.inFolders([undefined], (dir) =>
      mkdir(dir.at(folder)).catch((e: unknown) => {
        if (errCode(e) !== 'EEXIST') throw e;
      }),
    );
    await this.inFolders([undefined, folder], (dir, sub) =>
      this.archiveIn(dir.at(name), sub.at(archivedName), name, archivedName, folder),
    );
  }

  private async archiveIn(
    src: string,
    dest: string,
    name: string,
    archivedName: string,
    folder: ArchiveFolder,
  ): Promise<void> {
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
    this.file(archivedName, archiveFolder(folder));
    this.file(name);
    await this.inFolders([folder, undefined], (sub, dir) =>
      this.restoreIn(sub.at(archivedName), dir.at(name), archivedName, name, folder),
    );
  }

  private async restoreIn(
    src: string,
    dest: string,
    archivedName: string,
    name: string,
    folder: ArchiveFolder,
  ): Promise<void> {
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
    archiveFolder(folder);
    const entries = await this.inFolders([folder], (sub) =>
      readdir(sub.at('.'), { withFileTypes: true }),
    ).catch((e: unknown) => {
      if (errCode(e) === 'ENOENT') return [];
      throw e;
    });
    return entries
      .filter((e) => e.isFile() && !remoteNameProblem(e.name) && !isHiddenName(e.name))
      .map((e) => e.name)
      .sort();
  }

  async close(): Promise<void> {}
}
