/**
 * Hardening of the vendor file stores (issue 11, item 9): the local store never follows a symbolic link (a
 * file, the folder, or its archive/rejected sub-folders) and reads through the descriptor it opened; FTP
 * transfers go to the control connection's host whatever PASV says.
 */
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { FtpFileStore } from '../src/files/ftp-store';
import { LocalFileStore } from '../src/files/local-store';
import { FileStoreError } from '../src/files/store';

let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'rto-harden-'));
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

function vendor(): { dir: string; secret: string } {
  const dir = path.join(tmp, 'vendor');
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'INV001.edi'), 'UNA:+.? real invoice');
  const secret = path.join(tmp, 'secret.txt');
  writeFileSync(secret, 'root-only secret');
  return { dir, secret };
}

const failure = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as FileStoreError,
  );

describe('local store', () => {
  test('a file that is a symbolic link is neither listed nor read', async () => {
    const { dir, secret } = vendor();
    symlinkSync(secret, path.join(dir, 'LINK.edi'));
    const store = new LocalFileStore(dir);
    expect((await store.list()).map((f) => f.name)).toEqual(['INV001.edi']);
    const out = path.join(tmp, 'out.edi');
    const err = await failure(store.download('LINK.edi', out));
    expect(err).toBeInstanceOf(FileStoreError);
    expect(err?.message).toContain('LINK.edi is a symbolic link: refused');
    expect(existsSync(out)).toBe(false);
    // A real file still downloads, read through its descriptor.
    await store.download('INV001.edi', out);
    expect(readFileSync(out, 'utf8')).toBe('UNA:+.? real invoice');
  });

  test('a FIFO is refused at once (opened non-blocking, checked on the descriptor), not waited on', async () => {
    const { dir } = vendor();
    execFileSync('mkfifo', [path.join(dir, 'PIPE.edi')]);
    const err = await failure(new LocalFileStore(dir).download('PIPE.edi', path.join(tmp, 'pipe.out')));
    expect(err?.message).toContain('PIPE.edi is not a regular file');
  });

  test('an archive/ that is a symbolic link is refused: nothing moves into its target', async () => {
    const { dir } = vendor();
    const elsewhere = path.join(tmp, 'elsewhere');
    mkdirSync(elsewhere);
    symlinkSync(elsewhere, path.join(dir, 'archive'));
    const store = new LocalFileStore(dir);
    const err = await failure(store.archive('INV001.edi', '2026-INV001.edi'));
    expect(err).toBeInstanceOf(FileStoreError);
    expect(err?.message).toBe(
      `${path.join(dir, 'archive')} is a symbolic link: refused (configure the real folder, not a link to it)`,
    );
    expect(readdirSync(elsewhere)).toEqual([]);
    expect(existsSync(path.join(dir, 'INV001.edi'))).toBe(true);
    expect((await failure(store.listArchive()))?.message).toContain('is a symbolic link');
  });

  test('a rejected/ that is a symbolic link is refused for restore and for moving into it', async () => {
    const { dir } = vendor();
    const elsewhere = path.join(tmp, 'elsewhere');
    mkdirSync(elsewhere);
    writeFileSync(path.join(elsewhere, 'X.edi'), 'planted');
    symlinkSync(elsewhere, path.join(dir, 'rejected'));
    const store = new LocalFileStore(dir);
    expect((await failure(store.restore('X.edi', 'X.edi', 'rejected')))?.message).toContain(
      'is a symbolic link',
    );
    expect(existsSync(path.join(dir, 'X.edi'))).toBe(false);
    expect((await failure(store.archive('INV001.edi', 'INV001.edi', 'rejected')))?.message).toContain(
      'is a symbolic link',
    );
    expect(readdirSync(elsewhere)).toEqual(['X.edi']);
  });

  test('a vendor folder that is itself a symbolic link is refused', async () => {
    const { dir } = vendor();
    const link = path.join(tmp, 'vendor-link');
    symlinkSync(dir, link);
    const store = new LocalFileStore(link);
    expect((await failure(store.list()))?.message).toContain(`${link} is a symbolic link: refused`);
    expect((await failure(store.download('INV001.edi', path.join(tmp, 'o'))))?.message).toContain(
      'is a symbolic link',
    );
  });

  test('archive and restore still work on real folders (through the folders’ descriptors)', async () => {
    const { dir } = vendor();
    const store = new LocalFileStore(dir);
    await store.archive('INV001.edi', 'A-INV001.edi');
    expect(await store.listArchive()).toEqual(['A-INV001.edi']);
    await store.archive('INV001.edi', 'A-INV001.edi'); // done again: nothing to do
    await store.restore('A-INV001.edi', 'INV001.edi', 'archive');
    expect((await store.list()).map((f) => f.name)).toEqual(['INV001.edi']);
  });
});

/**
 * A minimal FTP server whose PASV reply names another host (127.0.0.2) while its data port listens on
 * 127.0.0.1 only: a client that believed the reply would fail to connect (or reach another machine).
 */
async function lyingPasvServer(): Promise<{ port: number; dataPeers: string[]; close(): Promise<void> }> {
  const dataPeers: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((ctl) => {
    sockets.add(ctl);
    ctl.on('error', () => undefined);
    let data: net.Server | undefined;
    let pending: ((s: net.Socket) => void) | undefined;
    let dataSocket: net.Socket | undefined;
    const reply = (line: string) => ctl.write(`${line}\r\n`);
    reply('220 lying server');
    let buf = '';
    ctl.on('data', (chunk) => {
      buf += chunk.toString('latin1');
      let i: number;
      while ((i = buf.indexOf('\r\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const [cmd = '', ...rest] = line.split(' ');
        const arg = rest.join(' ');
        switch (cmd.toUpperCase()) {
          case 'USER':
            reply('331 password');
            break;
          case 'PASS':
            reply('230 in');
            break;
          case 'FEAT':
            reply('211 no features');
            break;
          case 'PWD':
            reply('257 "/"');
            break;
          case 'EPSV':
            reply('502 no EPSV here');
            break;
          case 'PASV': {
            data?.close();
            data = net.createServer((s) => {
              sockets.add(s);
              dataPeers.push(`${s.localAddress}`);
              dataSocket = s;
              pending?.(s);
            });
            data.listen(0, '127.0.0.1', () => {
              const p = (data!.address() as net.AddressInfo).port;
              reply(`227 Entering Passive Mode (127,0,0,2,${p >> 8},${p & 255})`);
            });
            break;
          }
          case 'LIST': {
            const send = (s: net.Socket) => {
              reply('150 here it comes');
              s.end('-rw-r--r-- 1 ftp ftp 9 Jan 01 2026 INV001.edi\r\n', () => reply('226 done'));
            };
            if (dataSocket) send(dataSocket);
            else pending = send;
            break;
          }
          case 'QUIT':
            reply('221 bye');
            ctl.end();
            break;
          default:
            reply(
              cmd.toUpperCase() === 'CWD' || cmd.toUpperCase() === 'TYPE'
                ? '250 ok'
                : `200 ${arg ? 'ok' : ''}`,
            );
        }
      }
    });
    ctl.on('close', () => data?.close());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    dataPeers,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

test('FTP: the data connection goes to the control host, not the host a PASV reply names', async () => {
  const server = await lyingPasvServer();
  const store = new FtpFileStore({
    host: '127.0.0.1',
    port: server.port,
    user: 'u',
    password: 'p',
    timeout: 5000,
  });
  try {
    const files = await store.list();
    expect(files.map((f) => f.name)).toEqual(['INV001.edi']);
    // The one data connection arrived at 127.0.0.1 (the control host), not at 127.0.0.2.
    expect(server.dataPeers).toEqual(['127.0.0.1']);
  } finally {
    await store.close();
    await server.close();
  }
});
