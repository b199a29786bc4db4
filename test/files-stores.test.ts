/**
 * The FileStore contract, run against a local folder, the built-in FTP server and an in-process SFTP server
 * (ssh2's Server): real sockets on loopback port 0, real files in a temp dir.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Server, utils, type Connection, type SFTPWrapper } from 'ssh2';
import { FtpFileStore } from '../src/files/ftp-store';
import { startFtpServer, type FtpServer } from '../src/files/ftp-server';
import { LocalFileStore } from '../src/files/local-store';
import { localPathFor } from '../src/files/safe-name';
import { SftpFileStore, hostKeyFingerprint } from '../src/files/sftp-store';
import { createLogger } from '../src/logging';
import { MAX_VENDOR_FILE_BYTES, collect, fetchToInbox } from '../src/followup/inbox';
import { openFileStore } from '../src/files/open';
import type { FileStore } from '../src/files/store';
import * as fs from 'node:fs';

const FTP_PASSWORD = 'ftp-Secret-9f3a';
const SFTP_PASSWORD = 'sftp-Secret-77c1';
const HOSTILE = '..\\..\\evil.edi'; // a legal Linux file name a vendor server could list
const WEIRD = 'weird\u0001name$(x).mrc';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'rto-files-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** A vendor folder as a vendor leaves it: files, a hostile name, a sub-folder. */
async function vendorFolder(dir: string): Promise<void> {
  await mkdir(path.join(dir, 'sub'), { recursive: true });
  await writeFile(path.join(dir, 'INV001.edi'), "UNA:+.? 'UNB+UNOC:3+VENDOR'");
  await writeFile(path.join(dir, 'status 2.edi'), 'status');
  await writeFile(path.join(dir, WEIRD), 'marc');
  await writeFile(path.join(dir, HOSTILE), 'evil');
  // Hidden files, such as the built-in FTP server's upload in progress: not vendor files (yet).
  await writeFile(path.join(dir, '.rto-upload-0a1b2c3d4e5f.part'), 'half an upl');
  await writeFile(path.join(dir, '.hidden.edi'), 'hidden');
  await writeFile(path.join(dir, 'sub', 'inner.edi'), 'inner');
}

// ---- a minimal SFTP server over a folder (enough for ssh2-sftp-client's list/get/exists/mkdir/rename) ----

const { STATUS_CODE, OPEN_MODE } = utils.sftp;

function attrsOf(st: fs.Stats) {
  return {
    mode: st.mode,
    uid: 0,
    gid: 0,
    size: st.size,
    atime: Math.floor(st.atimeMs / 1000),
    mtime: Math.floor(st.mtimeMs / 1000),
  };
}

function serveSftp(sftp: SFTPWrapper, root: string): void {
  const handles = new Map<number, { fd?: number; dir?: string; listed?: boolean }>();
  let next = 1;
  // Client paths are rooted at "/" = root; ".." never climbs above it.
  const real = (p: string) => path.join(root, path.posix.normalize('/' + p));
  const handleOf = (buf: Buffer) => handles.get(buf.readUInt32BE(0));
  const newHandle = (h: { fd?: number; dir?: string }) => {
    const id = next++;
    handles.set(id, h);
    const buf = Buffer.alloc(4);
    buf.writeUInt32BE(id);
    return buf;
  };
  const fail = (id: number, e: unknown) =>
    sftp.status(
      id,
      (e as NodeJS.ErrnoException).code === 'ENOENT' ? STATUS_CODE.NO_SUCH_FILE : STATUS_CODE.FAILURE,
    );

  sftp.on('REALPATH', (id, p) => {
    const abs = path.posix.normalize('/' + p);
    sftp.name(id, [{ filename: abs, longname: abs, attrs: {} as never }]);
  });
  const statHandler = (id: number, p: string) => {
    fs.stat(real(p), (e, st) => (e ? fail(id, e) : sftp.attrs(id, attrsOf(st))));
  };
  sftp.on('STAT', statHandler);
  sftp.on('LSTAT', statHandler);
  sftp.on('OPEN', (id, p, flags) => {
    const mode = flags & OPEN_MODE.WRITE ? 'w' : 'r';
    fs.open(real(p), mode, (e, fd) => (e ? fail(id, e) : sftp.handle(id, newHandle({ fd }))));
  });
  sftp.on('FSTAT', (id, hb) => {
    const h = handleOf(hb);
    if (h?.fd === undefined) return sftp.status(id, STATUS_CODE.FAILURE);
    fs.fstat(h.fd, (e, st) => (e ? fail(id, e) : sftp.attrs(id, attrsOf(st))));
  });
  sftp.on('READ', (id, hb, offset, length) => {
    const h = handleOf(hb);
    if (h?.fd === undefined) return sftp.status(id, STATUS_CODE.FAILURE);
    const buf = Buffer.alloc(length);
    fs.read(h.fd, buf, 0, length, offset, (e, n) => {
      if (e) return fail(id, e);
      if (n === 0) return sftp.status(id, STATUS_CODE.EOF);
      sftp.data(id, buf.subarray(0, n));
    });
  });
  sftp.on('CLOSE', (id, hb) => {
    const h = handleOf(hb);
    handles.delete(hb.readUInt32BE(0));
    if (h?.fd !== undefined) fs.close(h.fd, () => sftp.status(id, STATUS_CODE.OK));
    else sftp.status(id, STATUS_CODE.OK);
  });
  sftp.on('OPENDIR', (id, p) => {
    fs.stat(real(p), (e, st) => {
      if (e) return fail(id, e);
      if (!st.isDirectory()) return sftp.status(id, STATUS_CODE.FAILURE);
      sftp.handle(id, newHandle({ dir: real(p) }));
    });
  });
  sftp.on('READDIR', (id, hb) => {
    const h = handleOf(hb);
    if (!h?.dir) return sftp.status(id, STATUS_CODE.FAILURE);
    if (h.listed) return sftp.status(id, STATUS_CODE.EOF);
    h.listed = true;
    const names = fs.readdirSync(h.dir).map((n) => {
      const st = fs.lstatSync(path.join(h.dir!, n));
      return {
        filename: n,
        longname: `${st.isDirectory() ? 'd' : '-'}rw-r--r-- 1 u g ${st.size} Jan 1 00:00 ${n}`,
        attrs: attrsOf(st),
      };
    });
    sftp.name(id, names);
  });
  sftp.on('RENAME', (id, from, to) =>
    fs.rename(real(from), real(to), (e) => (e ? fail(id, e) : sftp.status(id, STATUS_CODE.OK))),
  );
  sftp.on('MKDIR', (id, p) => fs.mkdir(real(p), (e) => (e ? fail(id, e) : sftp.status(id, STATUS_CODE.OK))));
  sftp.on('REMOVE', (id, p) =>
    fs.unlink(real(p), (e) => (e ? fail(id, e) : sftp.status(id, STATUS_CODE.OK))),
  );
}

async function startSftpServer(
  root: string,
): Promise<{ port: number; hostKeySha256: string; close(): Promise<void> }> {
  const hostKey = utils.generateKeyPairSync('ed25519').private;
  const parsed = utils.parseKey(hostKey);
  if (parsed instanceof Error) throw parsed;
  // What `ssh-keyscan host | ssh-keygen -lf -` prints, without "SHA256:".
  const hostKeySha256 = hostKeyFingerprint(parsed.getPublicSSH());
  const clients = new Set<Connection>();
  const server = new Server({ hostKeys: [hostKey] }, (client) => {
    clients.add(client);
    client.on('close', () => clients.delete(client));
    client.on('error', () => undefined);
    client.on('authentication', (ctx) => {
      if (ctx.method === 'password' && ctx.username === 'vendor' && ctx.password === SFTP_PASSWORD)
        ctx.accept();
      else ctx.reject(['password']);
    });
    client.on('ready', () => {
      client.on('session', (accept) => {
        accept().on('sftp', (acceptSftp) => serveSftp(acceptSftp(), root));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as import('node:net').AddressInfo).port,
    hostKeySha256,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of clients) c.end();
        server.close(() => resolve());
      }),
  };
}

// ---- the contract ----

interface Kind {
  name: string;
  start(root: string): Promise<{ open(folder: string): FileStore; stop(): Promise<void> }>;
}

const kinds: Kind[] = [
  {
    name: 'local',
    start: async (root) => ({
      open: (folder) => new LocalFileStore(path.join(root, folder)),
      stop: async () => {},
    }),
  },
  {
    name: 'ftp',
    start: async (root) => {
      const server: FtpServer = await startFtpServer({
        root,
        port: 0,
        user: 'vendor',
        password: FTP_PASSWORD,
      });
      return {
        open: (folder) =>
          new FtpFileStore({
            host: '127.0.0.1',
            port: server.port,
            user: 'vendor',
            password: FTP_PASSWORD,
            dir: `/${folder}`,
          }),
        stop: () => server.close(),
      };
    },
  },
  {
    name: 'sftp',
    start: async (root) => {
      const server = await startSftpServer(root);
      return {
        open: (folder) =>
          new SftpFileStore({
            host: '127.0.0.1',
            port: server.port,
            user: 'vendor',
            password: SFTP_PASSWORD,
            dir: `/${folder}`,
            hostKeySha256: server.hostKeySha256,
          }),
        stop: () => server.close(),
      };
    },
  },
];

describe.each(kinds)('$name file store', (kind) => {
  let root: string;
  let env: Awaited<ReturnType<Kind['start']>>;
  let store: FileStore;
  let folder: string;
  let n = 0;

  beforeAll(async () => {
    root = path.join(tmp, kind.name);
    await mkdir(root, { recursive: true });
    env = await kind.start(root);
  });
  afterAll(() => env.stop());
  beforeEach(async () => {
    folder = `v${++n}`;
    await vendorFolder(path.join(root, folder));
    store = env.open(folder);
  });
  afterEach(() => store.close());

  it('lists regular files and reports unsafe names instead of using them', async () => {
    const listing = await store.list();
    expect(listing.map((f) => f.name)).toEqual(['INV001.edi', 'status 2.edi', WEIRD]);
    expect(listing.map((f) => f.size)).toEqual([27, 6, 4]);
    for (const f of listing) expect(f.modifiedAt).toBeInstanceOf(Date);
    expect(listing.rejected).toEqual([{ name: HOSTILE, reason: 'contains a path separator' }]);
  });

  it('downloads every listed file inside the target folder under a safe name', async () => {
    const target = path.join(tmp, `${kind.name}-dl-${n}`, 'in');
    for (const f of await store.list()) await store.download(f.name, localPathFor(target, f.name));
    expect((await readdir(target)).sort()).toEqual(['INV001.edi', 'status_2.edi', 'weirdname_x_.mrc']);
    expect(await readFile(path.join(target, 'INV001.edi'), 'utf8')).toBe("UNA:+.? 'UNB+UNOC:3+VENDOR'");
    expect(await readFile(path.join(target, 'weirdname_x_.mrc'), 'utf8')).toBe('marc');
    // Nothing was written beside the target folder.
    expect(await readdir(path.dirname(target))).toEqual(['in']);
  });

  it('refuses hostile names before touching the server or the disk', async () => {
    const target = path.join(tmp, `${kind.name}-hostile-${n}`);
    await expect(store.download('../../etc/passwd', path.join(target, 'x'))).rejects.toThrow(
      /refusing.*\.\./,
    );
    await expect(store.download(HOSTILE, path.join(target, 'x'))).rejects.toThrow(/path separator/);
    await expect(store.download('a\u0000b', path.join(target, 'x'))).rejects.toThrow(/NUL/);
    await expect(store.archive('INV001.edi', '../escaped.edi')).rejects.toThrow(/refusing the archive name/);
    await expect(stat(target)).rejects.toThrow();
    await expect(stat(path.join(root, 'escaped.edi'))).rejects.toThrow();
    expect((await store.list()).map((f) => f.name)).toContain('INV001.edi');
  });

  it('archives a file into archive/ on the server, idempotently and without overwriting', async () => {
    const dir = path.join(root, folder);
    expect(await store.listArchive()).toEqual([]);
    await store.archive('INV001.edi', '20261128-INV001.edi');
    expect(await readFile(path.join(dir, 'archive', '20261128-INV001.edi'), 'utf8')).toContain('UNB');
    await expect(stat(path.join(dir, 'INV001.edi'))).rejects.toThrow();
    expect(await store.listArchive()).toEqual(['20261128-INV001.edi']);
    expect((await store.list()).map((f) => f.name)).toEqual(['status 2.edi', WEIRD]);
    // A retried archive (the activity ran twice) is a no-op.
    await store.archive('INV001.edi', '20261128-INV001.edi');
    // Another file under an archived name is refused and stays where it is.
    await expect(store.archive('status 2.edi', '20261128-INV001.edi')).rejects.toThrow(/already exists/);
    expect(await readFile(path.join(dir, 'status 2.edi'), 'utf8')).toBe('status');
    await store.archive('status 2.edi', '20261128-status 2.edi');
    expect(await store.listArchive()).toEqual(['20261128-INV001.edi', '20261128-status 2.edi']);
  });

  it('moves an unreadable file into rejected/, kept apart from the archive and out of the listing', async () => {
    const dir = path.join(root, folder);
    expect(await store.listArchive('rejected')).toEqual([]);
    await store.archive('INV001.edi', '0123456789abcdef-INV001.edi', 'rejected');
    expect(await readFile(path.join(dir, 'rejected', '0123456789abcdef-INV001.edi'), 'utf8')).toContain(
      'UNB',
    );
    expect((await store.list()).map((f) => f.name)).toEqual(['status 2.edi', WEIRD]);
    expect(await store.listArchive('rejected')).toEqual(['0123456789abcdef-INV001.edi']);
    expect(await store.listArchive()).toEqual([]);
    // Retried: a no-op; another file under a name already there: refused.
    await store.archive('INV001.edi', '0123456789abcdef-INV001.edi', 'rejected');
    await expect(store.archive('status 2.edi', '0123456789abcdef-INV001.edi', 'rejected')).rejects.toThrow(
      /rejected\/0123456789abcdef-INV001\.edi already exists/,
    );
    // Only the two folders: nothing else becomes a path on the server.
    await expect(store.archive('status 2.edi', 'x.edi', '..' as never)).rejects.toThrow(
      /not an archive folder/,
    );
    await expect(store.listArchive('sub' as never)).rejects.toThrow(/not an archive folder/);
  });

  it('restores a rejected file into the pick-up folder, idempotently and without overwriting', async () => {
    const dir = path.join(root, folder);
    await store.archive('INV001.edi', '0123456789abcdef-INV001.edi', 'rejected');
    await store.restore('0123456789abcdef-INV001.edi', 'INV001.edi', 'rejected');
    expect(await readFile(path.join(dir, 'INV001.edi'), 'utf8')).toContain('UNB');
    expect(await store.listArchive('rejected')).toEqual([]);
    // Retried after it succeeded: nothing to do.
    await store.restore('0123456789abcdef-INV001.edi', 'INV001.edi', 'rejected');
    // A file of that name in the folder is never overwritten; what is not there is said.
    await store.archive('INV001.edi', '0123456789abcdef-INV001.edi', 'rejected');
    await expect(store.restore('0123456789abcdef-INV001.edi', 'status 2.edi', 'rejected')).rejects.toThrow(
      /status 2\.edi is already in the folder/,
    );
    expect(await readFile(path.join(dir, 'status 2.edi'), 'utf8')).toBe('status');
    await expect(store.restore('fedcba9876543210-none.edi', 'none.edi', 'rejected')).rejects.toThrow(
      /rejected\/fedcba9876543210-none\.edi is not there/,
    );
    await expect(store.restore('../x', 'INV001.edi', 'rejected')).rejects.toThrow(
      /refusing the archive name/,
    );
  });

  it('stops a download that grows past maxBytes and leaves no partial file', async () => {
    const dir = path.join(root, folder);
    await writeFile(path.join(dir, 'BIG.mrc'), Buffer.alloc(4 * 2 ** 20, 0x41));
    const target = path.join(tmp, `${kind.name}-big-${n}`);
    const err = (await store
      .download('BIG.mrc', path.join(target, 'BIG.mrc'), { maxBytes: 64 * 1024 })
      .catch((e: unknown) => e)) as Error & { code?: string };
    expect(err.message).toMatch(/BIG\.mrc is larger than 65536 bytes: download stopped/);
    expect(err.code).toBe('EFBIG');
    expect(await readdir(target).catch(() => [])).toEqual([]);
    // Within the limit, and afterwards on the same store, downloads work.
    await store.download('INV001.edi', path.join(target, 'INV001.edi'), { maxBytes: 27 });
    expect(await readFile(path.join(target, 'INV001.edi'), 'utf8')).toContain('UNB');
    await expect(store.download('status 2.edi', path.join(target, 's.edi'), { maxBytes: 5 })).rejects.toThrow(
      /larger than 5 bytes/,
    );
    expect(await readdir(target)).toEqual(['INV001.edi']);
  });

  it('fails clearly on a missing file and leaves no partial file', async () => {
    const target = path.join(tmp, `${kind.name}-missing-${n}`);
    await expect(store.download('NOPE.edi', path.join(target, 'NOPE.edi'))).rejects.toThrow(/NOPE\.edi/);
    expect(await readdir(target).catch(() => [])).toEqual([]);
  });
});

describe('openFileStore and secrets', () => {
  it('opens the store a source names, resolving the password, and never shows it in errors', async () => {
    const root = path.join(tmp, 'open');
    await vendorFolder(path.join(root, 'vendor'));
    const server = await startFtpServer({ root, port: 0, user: 'vendor', password: FTP_PASSWORD });
    try {
      const env = { RTO_TEST_FTP_PW: FTP_PASSWORD, RTO_TEST_WRONG_PW: 'Wrong-Secret-123' };
      const good = openFileStore(
        {
          type: 'ftp',
          host: '127.0.0.1',
          port: server.port,
          user: 'vendor',
          password: { env: 'RTO_TEST_FTP_PW' },
          dir: '/vendor',
          secure: false,
        },
        undefined,
        env,
      );
      expect((await good.list()).map((f) => f.name)).toContain('INV001.edi');
      await good.close();

      const bad = openFileStore(
        {
          type: 'ftp',
          host: '127.0.0.1',
          port: server.port,
          user: 'vendor',
          password: { env: 'RTO_TEST_WRONG_PW' },
          dir: '/vendor',
          secure: false,
        },
        undefined,
        env,
      );
      const err = (await bad.list().catch((e: unknown) => e)) as Error;
      await bad.close();
      expect(err.message).toMatch(/ftp:\/\/vendor@127\.0\.0\.1:\d+\/vendor: list: 530/);
      expect(err.message + String(err.stack)).not.toContain('Wrong-Secret-123');

      const local = openFileStore({ type: 'local', path: path.join(root, 'vendor') });
      expect(local).toBeInstanceOf(LocalFileStore);
      expect((await local.list()).length).toBe(3);
    } finally {
      await server.close();
    }
  });

  it('reports a wrong SFTP password without showing it', async () => {
    const root = path.join(tmp, 'sftp-auth');
    await mkdir(root, { recursive: true });
    const server = await startSftpServer(root);
    const store = new SftpFileStore({
      host: '127.0.0.1',
      port: server.port,
      user: 'vendor',
      password: 'Not-The-Sftp-Pw',
      dir: '/',
      hostKeySha256: server.hostKeySha256,
    });
    const err = (await store.list().catch((e: unknown) => e)) as Error;
    await store.close();
    await server.close();
    expect(err.message).toMatch(/sftp:\/\/vendor@127\.0\.0\.1:\d+\/: list: .*authentication/i);
    expect(err.message).not.toContain('Not-The-Sftp-Pw');
  });

  it('checks a pinned SFTP host key: the right one connects, a wrong one fails naming both', async () => {
    const root = path.join(tmp, 'sftp-hostkey');
    await vendorFolder(path.join(root, 'vendor'));
    const server = await startSftpServer(root);
    const open = (hostKeySha256: string) =>
      openFileStore(
        {
          type: 'sftp',
          host: '127.0.0.1',
          port: server.port,
          user: 'vendor',
          password: { env: 'RTO_TEST_SFTP_PW' },
          dir: '/vendor',
          hostKeySha256,
        },
        undefined,
        { RTO_TEST_SFTP_PW: SFTP_PASSWORD },
      );
    try {
      for (const pin of [server.hostKeySha256, `SHA256:${server.hostKeySha256}`]) {
        const good = open(pin);
        expect((await good.list()).map((f) => f.name)).toContain('INV001.edi');
        await good.close();
      }
      const other = 'A'.repeat(43);
      const bad = open(`SHA256:${other}`);
      const err = (await bad.list().catch((e: unknown) => e)) as Error & { code?: string };
      await bad.close();
      expect(err.message).toContain(
        `the host key of 127.0.0.1:${server.port} does not match: expected SHA256:${other}, ` +
          `the server offered SHA256:${server.hostKeySha256}`,
      );
      expect(err.code).toBe('HOST_KEY_MISMATCH');
      expect(err.message).not.toContain(SFTP_PASSWORD);
    } finally {
      await server.close();
    }
  });

  it('refuses an SFTP source without a pinned host key, naming the settings', async () => {
    const root = path.join(tmp, 'sftp-refused');
    await vendorFolder(path.join(root, 'vendor'));
    const server = await startSftpServer(root);
    try {
      const source = {
        type: 'sftp' as const,
        host: '127.0.0.1',
        port: server.port,
        user: 'vendor',
        password: { env: 'RTO_TEST_SFTP_PW' },
        dir: '/vendor',
      };
      const store = openFileStore(source, undefined, { RTO_TEST_SFTP_PW: SFTP_PASSWORD });
      const err = (await store.list().catch((e: unknown) => e)) as Error & { code?: string };
      await store.close();
      expect(err.code).toBe('HOST_KEY_UNPINNED');
      expect(err.message).toContain(`no host key is pinned for 127.0.0.1:${server.port}`);
      expect(err.message).toContain('hostKeySha256');
      expect(err.message).toContain('SFTP_ALLOW_UNPINNED_HOST_KEY=true');
      expect(err.message).not.toContain(SFTP_PASSWORD);
      // The explicit opt-in connects (through openFileStore, from the environment).
      const allowed = openFileStore(source, undefined, {
        RTO_TEST_SFTP_PW: SFTP_PASSWORD,
        SFTP_ALLOW_UNPINNED_HOST_KEY: 'true',
      });
      expect((await allowed.list()).length).toBe(3);
      await allowed.close();
    } finally {
      await server.close();
    }
  });

  it('with SFTP_ALLOW_UNPINNED_HOST_KEY, warns once that the host key is not verified, and connects', async () => {
    const root = path.join(tmp, 'sftp-unpinned');
    await vendorFolder(path.join(root, 'vendor'));
    const server = await startSftpServer(root);
    const lines: string[] = [];
    const logger = createLogger({ level: 'warn', destination: { write: (l: string) => lines.push(l) } });
    try {
      for (let i = 0; i < 2; i++) {
        const store = new SftpFileStore({
          host: '127.0.0.1',
          port: server.port,
          user: 'vendor',
          password: SFTP_PASSWORD,
          dir: '/vendor',
          allowUnpinnedHostKey: true,
          logger,
        });
        expect((await store.list()).length).toBe(3);
        await store.close();
      }
    } finally {
      await server.close();
    }
    const warnings = lines.filter((l) => l.includes('host key not verified'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`127.0.0.1:${server.port}`);
  });
});

describe('inbox size limit', () => {
  it('refuses files listed over MAX_VENDOR_FILE_BYTES without downloading them', async () => {
    const vendor = path.join(tmp, 'inbox-vendor');
    await mkdir(vendor, { recursive: true });
    await writeFile(path.join(vendor, 'small.edi'), 'UNA small');
    // A sparse file: listed at 200 MB + 1 byte without filling the disk.
    const big = path.join(vendor, 'huge.edi');
    await writeFile(big, '');
    await fs.promises.truncate(big, MAX_VENDOR_FILE_BYTES + 1);
    expect(MAX_VENDOR_FILE_BYTES).toBe(200 * 1024 * 1024);
    const dataDir = path.join(tmp, 'inbox-data');
    const store = new LocalFileStore(vendor);
    const { files, rejected } = await collect(store, dataDir, 'acct', 'edi');
    expect(files.map((f) => f.name)).toEqual(['small.edi']);
    expect(rejected).toEqual([
      {
        name: 'huge.edi',
        reason: `larger than ${MAX_VENDOR_FILE_BYTES} bytes (${MAX_VENDOR_FILE_BYTES + 1} bytes listed): not downloaded`,
      },
    ]);
    expect(await readdir(path.join(dataDir, 'inbox', 'acct', 'edi'))).toEqual([files[0]!.sha256]);
  });

  it('knows contents refused before: a file whose hash is in rejected/ is marked, not taken as new', async () => {
    const vendor = path.join(tmp, 'inbox-refused');
    await mkdir(path.join(vendor, 'rejected'), { recursive: true });
    await writeFile(path.join(vendor, 'again.edi'), 'not EDIFACT');
    await writeFile(path.join(vendor, 'new.edi'), 'UNA new');
    const dataDir = path.join(tmp, 'inbox-refused-data');
    const store = new LocalFileStore(vendor);
    const first = await collect(store, dataDir, 'acct', 'edi');
    const sha = first.files.find((f) => f.name === 'again.edi')!.sha256;
    await writeFile(path.join(vendor, 'rejected', `${sha.slice(0, 16)}-broken.edi`), 'not EDIFACT');
    const { files } = await collect(store, dataDir, 'acct', 'edi', undefined, undefined, true);
    expect(files.find((f) => f.name === 'again.edi')).toMatchObject({
      rejectedAs: `${sha.slice(0, 16)}-broken.edi`,
    });
    expect(files.find((f) => f.name === 'new.edi')!.rejectedAs).toBeUndefined();
    // Without asking (the MARC folders), rejected/ is not looked at.
    const plain = await collect(store, dataDir, 'acct', 'edi');
    expect(plain.files.every((f) => f.rejectedAs === undefined)).toBe(true);
  });

  it('stops a vendor file that grows past the limit while it downloads', async () => {
    const vendor = path.join(tmp, 'inbox-grow');
    await mkdir(vendor, { recursive: true });
    await writeFile(path.join(vendor, 'a.mrc'), Buffer.alloc(300_000, 0x41));
    const dataDir = path.join(tmp, 'inbox-grow-data');
    const store = new LocalFileStore(vendor);
    await expect(fetchToInbox(store, dataDir, 'acct', 'marc', 'a.mrc', undefined, 100_000)).rejects.toThrow(
      /larger than 100000 bytes: download stopped/,
    );
    expect(await readdir(path.join(dataDir, 'inbox', 'acct', 'marc'))).toEqual([]);
    // A store that does not know the limit is still held to it.
    const careless: FileStore = {
      list: () => store.list(),
      listArchive: (f) => store.listArchive(f),
      archive: (a, b, c) => store.archive(a, b, c),
      restore: (a, b, c) => store.restore(a, b, c),
      close: () => store.close(),
      download: (name, local) => store.download(name, local),
    };
    await expect(
      fetchToInbox(careless, dataDir, 'acct', 'marc', 'a.mrc', undefined, 100_000),
    ).rejects.toThrow(/larger than 100000 bytes \(300000\)/);
    expect(await readdir(path.join(dataDir, 'inbox', 'acct', 'marc'))).toEqual([]);
  });
});
