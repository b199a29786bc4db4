/** A vendor folder on an FTP server (basic-ftp; passive mode, explicit TLS when `secure`). */
import { Client, FTPError } from 'basic-ftp';
import { silentLogger, type Logger } from '../logging';
import { assertSafeRemoteName, isHiddenName, remoteNameProblem } from './safe-name';
import { scrubber } from './scrub';
import {
  ARCHIVE_DIR,
  FileStoreError,
  archiveFolder,
  listingOf,
  OneAtATime,
  type ArchiveFolder,
  type DownloadOptions,
  type FileListing,
  type FileStore,
} from './store';
import { writeAtomically, writeCapped } from './write-local';

export interface FtpStoreOptions {
  host: string;
  port?: number;
  user: string;
  password: string;
  /** The vendor's folder on the server (default "/"). */
  dir?: string;
  /** Explicit FTPS (AUTH TLS) for control and data connections. */
  secure?: boolean;
  /** Milliseconds for connecting and for each reply (default 15000). */
  timeout?: number;
  logger?: Logger;
}

export class FtpFileStore implements FileStore {
  private client?: Client;
  private readonly queue = new OneAtATime();
  private readonly where: string;
  private readonly scrub: (t: string) => string;
  private readonly logger: Logger;

  constructor(private readonly opts: FtpStoreOptions) {
    this.where = `ftp://${opts.user}@${opts.host}:${opts.port ?? 21}${opts.dir ?? '/'}`;
    this.scrub = scrubber(opts.password);
    this.logger = opts.logger ?? silentLogger;
  }

  private async connected(): Promise<Client> {
    if (this.client && !this.client.closed) return this.client;
    // The data connection goes to the control connection's host, whatever address PASV names: a server (or
    // a forged reply) cannot point the transfer at another machine (FTP bounce, or a NAT-mangled private IP).
    const client = new Client(this.opts.timeout ?? 15_000, { allowSeparateTransferHost: false });
    try {
      await client.access({
        host: this.opts.host,
        port: this.opts.port ?? 21,
        user: this.opts.user,
        password: this.opts.password,
        secure: this.opts.secure ?? false,
      });
      await client.cd(this.opts.dir ?? '/');
    } catch (e) {
      client.close();
      throw e;
    }
    this.client = client;
    return client;
  }

  /** One operation at a time on the one control connection; errors name the server, never the password. */
  private run<T>(what: string, op: (c: Client) => Promise<T>): Promise<T> {
    return this.queue.run(async () => {
      try {
        return await op(await this.connected());
      } catch (e) {
        if (e instanceof FileStoreError) throw e;
        const code = e instanceof FTPError ? e.code : (e as NodeJS.ErrnoException).code;
        // A broken connection is reopened by the next operation.
        if (!(e instanceof FTPError)) this.client?.close();
        throw new FileStoreError(this.scrub(`${this.where}: ${what}: ${(e as Error).message}`), code);
      }
    });
  }

  list(): Promise<FileListing> {
    return this.run('list', async (c) => {
      const entries = (await c.list())
        .filter((f) => f.isFile)
        .map((f) => ({ name: f.name, size: f.size, modifiedAt: f.modifiedAt }));
      return listingOf(entries, { logger: this.logger, where: this.where });
    });
  }

  async download(name: string, localPath: string, opts: DownloadOptions = {}): Promise<void> {
    assertSafeRemoteName(name);
    const { maxBytes } = opts;
    return this.run(`download ${name}`, async (c) => {
      // Cut off past the limit, the transfer fails and run() drops the connection (its state is unknown).
      await writeAtomically(localPath, (tmp) =>
        maxBytes === undefined
          ? c.downloadTo(tmp, name)
          : writeCapped(tmp, maxBytes, name, (dest) => c.downloadTo(dest, name)),
      );
    });
  }

  private async archiveNames(c: Client, folder: ArchiveFolder): Promise<string[]> {
    try {
      return (await c.list(folder))
        .filter((f) => f.isFile && !remoteNameProblem(f.name) && !isHiddenName(f.name))
        .map((f) => f.name)
        .sort();
    } catch (e) {
      if (e instanceof FTPError && e.code === 550) return [];
      throw e;
    }
  }

  async archive(name: string, archivedName: string, folder: ArchiveFolder = ARCHIVE_DIR): Promise<void> {
    assertSafeRemoteName(name);
    assertSafeRemoteName(archivedName, 'archive name');
    const into = archiveFolder(folder);
    return this.run(`move ${name} to ${into}`, async (c) => {
      const here = (await c.list()).some((f) => f.isFile && f.name === name);
      if ((await this.archiveNames(c, into)).includes(archivedName)) {
        if (!here) return; // archived by an earlier attempt
        throw new FileStoreError(`${this.where}: ${into}/${archivedName} already exists`, 'EEXIST');
      }
      const res = await c.sendIgnoringError(`MKD ${into}`);
      if (res.code >= 400) this.logger.debug({ where: this.where, code: res.code, into }, 'folder exists');
      await c.rename(name, `${into}/${archivedName}`);
    });
  }

  async restore(archivedName: string, name: string, folder: ArchiveFolder): Promise<void> {
    assertSafeRemoteName(name);
    assertSafeRemoteName(archivedName, 'archive name');
    const from = archiveFolder(folder);
    return this.run(`move ${from}/${archivedName} back`, async (c) => {
      const there = (await this.archiveNames(c, from)).includes(archivedName);
      const here = (await c.list()).some((f) => f.isFile && f.name === name);
      if (here) {
        if (!there) return; // restored by an earlier attempt
        throw new FileStoreError(`${this.where}: ${name} is already in the folder`, 'EEXIST');
      }
      if (!there) throw new FileStoreError(`${this.where}: ${from}/${archivedName} is not there`, 'ENOENT');
      await c.rename(`${from}/${archivedName}`, name);
    });
  }

  async listArchive(folder: ArchiveFolder = ARCHIVE_DIR): Promise<string[]> {
    const from = archiveFolder(folder);
    return this.run(`list ${from}`, (c) => this.archiveNames(c, from));
  }

  async close(): Promise<void> {
    await this.queue.idle();
    this.client?.close();
    this.client = undefined;
  }
}
