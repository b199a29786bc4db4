/** A vendor folder on an SFTP server (ssh2-sftp-client). */
import { createHash, timingSafeEqual } from 'node:crypto';
import SftpClient from 'ssh2-sftp-client';
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

export interface SftpStoreOptions {
  host: string;
  port?: number;
  user: string;
  password?: string;
  /** An OpenSSH or PEM private key (the text, not a path). */
  privateKey?: string;
  dir?: string;
  /** Milliseconds for the SSH handshake (default 15000). */
  timeout?: number;
  /**
   * The server's host key: SHA-256 in base64, as OpenSSH prints it (`SHA256:` prefix optional). Required:
   * without it the store refuses to connect, unless `allowUnpinnedHostKey` (SFTP_ALLOW_UNPINNED_HOST_KEY).
   */
  hostKeySha256?: string;
  /**
   * Connect without a pinned host key (a warning is logged once per host): a machine in the middle could then
   * pose as the server and read the credentials. From SFTP_ALLOW_UNPINNED_HOST_KEY=true.
   */
  allowUnpinnedHostKey?: boolean;
  logger?: Logger;
}

/** OpenSSH's fingerprint of a host key blob: base64 SHA-256 without padding. */
export function hostKeyFingerprint(key: Buffer): string {
  return createHash('sha256').update(key).digest('base64').replace(/=+$/, '');
}

function normalisedFingerprint(pinned: string): string {
  return pinned
    .trim()
    .replace(/^SHA256:/, '')
    .replace(/=+$/, '');
}

function sameFingerprint(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Hosts already warned about, so the warning comes once per host, not at every poll. */
const warnedUnverified = new Set<string>();

export class SftpFileStore implements FileStore {
  private client?: SftpClient;
  private readonly queue = new OneAtATime();
  private readonly where: string;
  private readonly dir: string;
  private readonly scrub: (t: string) => string;
  private readonly logger: Logger;

  constructor(private readonly opts: SftpStoreOptions) {
    this.dir = (opts.dir ?? '/').replace(/\/+$/, '') || '/';
    this.where = `sftp://${opts.user}@${opts.host}:${opts.port ?? 22}${this.dir}`;
    this.scrub = scrubber(opts.password, opts.privateKey);
    this.logger = opts.logger ?? silentLogger;
  }

  private path(...names: string[]): string {
    return [this.dir === '/' ? '' : this.dir, ...names].join('/') || '/';
  }

  private async connected(): Promise<SftpClient> {
    if (this.client) return this.client;
    // The library's default connection listeners print to the console; ours log (scrubbed) instead.
    const log = this.logger;
    const scrub = this.scrub;
    const client = new SftpClient('rto', {
      error: (err: unknown) =>
        log.warn({ err: scrub(String((err as Error)?.message ?? err)) }, 'SFTP connection error'),
      end: () => log.debug('SFTP connection ended'),
      close: () => log.debug('SFTP connection closed'),
    });
    const host = `${this.opts.host}:${this.opts.port ?? 22}`;
    const pinned = this.opts.hostKeySha256 && normalisedFingerprint(this.opts.hostKeySha256);
    let offered: string | undefined;
    if (!pinned && !this.opts.allowUnpinnedHostKey)
      throw new FileStoreError(
        `${this.where}: no host key is pinned for ${host}: set hostKeySha256 on the source (the server's ` +
          'SHA-256 fingerprint, e.g. from `ssh-keyscan -p PORT HOST | ssh-keygen -lf -`), or set ' +
          'SFTP_ALLOW_UNPINNED_HOST_KEY=true to connect without verifying the server',
        'HOST_KEY_UNPINNED',
      );
    if (!pinned && !warnedUnverified.has(host)) {
      warnedUnverified.add(host);
      log.warn(
        { host },
        'SFTP host key not verified (SFTP_ALLOW_UNPINNED_HOST_KEY=true): set hostKeySha256 on the source to pin it',
      );
    }
    try {
      await client.connect({
        host: this.opts.host,
        port: this.opts.port ?? 22,
        username: this.opts.user,
        password: this.opts.password,
        privateKey: this.opts.privateKey,
        readyTimeout: this.opts.timeout ?? 15_000,
        ...(pinned
          ? {
              hostVerifier: (key: Buffer): boolean => {
                offered = hostKeyFingerprint(key);
                return sameFingerprint(offered, pinned);
              },
            }
          : {}),
      });
    } catch (e) {
      await client.end().catch(() => undefined);
      if (pinned && offered !== undefined && !sameFingerprint(offered, pinned)) {
        throw new FileStoreError(
          `${this.where}: the host key of ${host} does not match: expected SHA256:${pinned}, the server ` +
            `offered SHA256:${offered} (a different server, or its key changed)`,
          'HOST_KEY_MISMATCH',
        );
      }
      throw e;
    }
    // A dropped connection is reopened by the next operation.
    client.on('close', () => {
      if (this.client === client) this.client = undefined;
    });
    this.client = client;
    return client;
  }

  private run<T>(what: string, op: (c: SftpClient) => Promise<T>): Promise<T> {
    return this.queue.run(async () => {
      try {
        return await op(await this.connected());
      } catch (e) {
        if (e instanceof FileStoreError) throw e;
        const code = (e as { code?: string | number }).code;
        throw new FileStoreError(this.scrub(`${this.where}: ${what}: ${(e as Error).message}`), code);
      }
    });
  }

  list(): Promise<FileListing> {
    return this.run('list', async (c) => {
      const entries = (await c.list(this.dir))
        .filter((f) => f.type === '-')
        .map((f) => ({
          name: f.name,
          size: f.size,
          modifiedAt: f.modifyTime ? new Date(f.modifyTime) : undefined,
        }));
      return listingOf(entries, { logger: this.logger, where: this.where });
    });
  }

  async download(name: string, localPath: string, opts: DownloadOptions = {}): Promise<void> {
    assertSafeRemoteName(name);
    const { maxBytes } = opts;
    const remote = this.path(name);
    return this.run(`download ${name}`, async (c) => {
      await writeAtomically(localPath, (tmp) =>
        maxBytes === undefined
          ? c.get(remote, tmp)
          : writeCapped(tmp, maxBytes, name, (dest) => c.get(remote, dest)),
      );
    });
  }

  private async archiveNames(c: SftpClient, folder: ArchiveFolder): Promise<string[]> {
    if ((await c.exists(this.path(folder))) !== 'd') return [];
    return (await c.list(this.path(folder)))
      .filter((f) => f.type === '-' && !remoteNameProblem(f.name) && !isHiddenName(f.name))
      .map((f) => f.name)
      .sort();
  }

  async archive(name: string, archivedName: string, folder: ArchiveFolder = ARCHIVE_DIR): Promise<void> {
    assertSafeRemoteName(name);
    assertSafeRemoteName(archivedName, 'archive name');
    const into = archiveFolder(folder);
    return this.run(`move ${name} to ${into}`, async (c) => {
      const here = (await c.exists(this.path(name))) === '-';
      if ((await this.archiveNames(c, into)).includes(archivedName)) {
        if (!here) return; // archived by an earlier attempt
        throw new FileStoreError(`${this.where}: ${into}/${archivedName} already exists`, 'EEXIST');
      }
      if ((await c.exists(this.path(into))) !== 'd') await c.mkdir(this.path(into), false);
      await c.rename(this.path(name), this.path(into, archivedName));
    });
  }

  async restore(archivedName: string, name: string, folder: ArchiveFolder): Promise<void> {
    assertSafeRemoteName(name);
    assertSafeRemoteName(archivedName, 'archive name');
    const from = archiveFolder(folder);
    return this.run(`move ${from}/${archivedName} back`, async (c) => {
      const there = (await c.exists(this.path(from, archivedName))) === '-';
      const here = (await c.exists(this.path(name))) !== false;
      if (here) {
        if (!there) return; // restored by an earlier attempt
        throw new FileStoreError(`${this.where}: ${name} is already in the folder`, 'EEXIST');
      }
      if (!there) throw new FileStoreError(`${this.where}: ${from}/${archivedName} is not there`, 'ENOENT');
      await c.rename(this.path(from, archivedName), this.path(name));
    });
  }

  async listArchive(folder: ArchiveFolder = ARCHIVE_DIR): Promise<string[]> {
    const from = archiveFolder(folder);
    return this.run(`list ${from}`, (c) => this.archiveNames(c, from));
  }

  async close(): Promise<void> {
    await this.queue.idle();
    const c = this.client;
    this.client = undefined;
    if (c) await c.end().catch(() => undefined);
  }
}
