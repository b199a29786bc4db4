/** The built-in FTP server: protocol behaviour with basic-ftp and a raw socket, and confinement to its root. */
import { Client, FTPError } from 'basic-ftp';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { startFtpServer, type FtpServer } from '../src/files/ftp-server';

let tmp: string;
let root: string;
let server: FtpServer;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'rto-ftpd-'));
  root = path.join(tmp, 'root');
  await mkdir(path.join(root, 'vendor', 'deep'), { recursive: true });
  await writeFile(path.join(root, 'vendor', 'INV1.edi'), 'invoice one');
  await writeFile(path.join(root, 'vendor', 'deep', 'x.txt'), 'deep x');
  await writeFile(path.join(tmp, 'outside.txt'), 'secret outside the root');
  await symlink(path.join(tmp, 'outside.txt'), path.join(root, 'vendor', 'link-out.txt'));
  server = await startFtpServer({ root, port: 0, user: 'vendor', password: 'pw-123456' });
});
afterAll(async () => {
  await server.close();
  await rm(tmp, { recursive: true, force: true });
});

async function client(): Promise<Client> {
  const c = new Client(5000);
  await c.access({ host: '127.0.0.1', port: server.port, user: 'vendor', password: 'pw-123456' });
  return c;
}

async function fetchText(c: Client, remote: string): Promise<string> {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk);
      cb();
    },
  });
  await c.downloadTo(sink, remote);
  return Buffer.concat(chunks).toString('utf8');
}

async function code(p: Promise<unknown>): Promise<number | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    if (e instanceof FTPError) return e.code;
    throw e;
  }
}

/** A raw control connection: send a line, read the reply (single- or multi-line). */
async function raw(): Promise<{
  send(line: string): Promise<string>;
  read(): Promise<string>;
  close(): void;
}> {
  const sock = net.connect(server.port, '127.0.0.1');
  sock.setEncoding('utf8');
  let buf = '';
  let waiter: (() => void) | undefined;
  sock.on('data', (d: string) => {
    buf += d;
    waiter?.();
  });
  const reply = async (): Promise<string> => {
    for (;;) {
      const m = /^(\d{3}) .*\r\n/m.exec(buf);
      if (m) {
        const end = m.index + m[0].length;
        const out = buf.slice(0, end);
        buf = buf.slice(end);
        return out;
      }
      await new Promise<void>((r) => (waiter = r));
    }
  };
  await reply(); // greeting
  return {
    send: async (line) => {
      sock.write(line + '\r\n');
      return reply();
    },
    read: reply,
    close: () => sock.destroy(),
  };
}

describe('FTP server with basic-ftp', () => {
  it('lists with MLSD and with LIST, downloads, uploads and reports size and time', async () => {
    const c = await client();
    try {
      await c.cd('vendor');
      expect(await c.pwd()).toBe('/vendor');
      const mlsd = await c.list();
      expect(mlsd.map((f) => [f.name, f.isFile, f.size])).toEqual([
        ['INV1.edi', true, 11],
        ['deep', false, 0],
      ]);
      expect(mlsd[0]!.modifiedAt).toBeDefined();
      // The symbolic link pointing outside the root is not listed.
      expect(mlsd.map((f) => f.name)).not.toContain('link-out.txt');

      c.availableListCommands = ['LIST'];
      const list = await c.list();
      expect(list.map((f) => [f.name, f.isDirectory])).toEqual([
        ['INV1.edi', false],
        ['deep', true],
      ]);
      expect(list[0]!.size).toBe(11);

      expect(await fetchText(c, 'INV1.edi')).toBe('invoice one');
      expect(await fetchText(c, '/vendor/deep/x.txt')).toBe('deep x');
      await c.uploadFrom(Readable.from([Buffer.from('uploaded ü')]), 'up load.edi');
      expect(await readFile(path.join(root, 'vendor', 'up load.edi'), 'utf8')).toBe('uploaded ü');
      // No temporary upload file is left behind.
      expect((await readdir(path.join(root, 'vendor'))).filter((f) => f.startsWith('.'))).toEqual([]);
      expect(await c.size('up load.edi')).toBe(Buffer.byteLength('uploaded ü'));
      const mtime = (await stat(path.join(root, 'vendor', 'up load.edi'))).mtime;
      expect(Math.abs((await c.lastMod('up load.edi')).getTime() - mtime.getTime())).toBeLessThan(1000);
    } finally {
      c.close();
    }
  });

  it('makes, renames, deletes and removes, and moves between folders', async () => {
    const c = await client();
    try {
      await c.ensureDir('/vendor/archive'); // MKD + CWD
      expect(await c.pwd()).toBe('/vendor/archive');
      await c.cdup();
      expect(await c.pwd()).toBe('/vendor');
      await c.uploadFrom(Readable.from([Buffer.from('tmp')]), 'tmp.edi');
      await c.rename('tmp.edi', 'archive/tmp-archived.edi');
      expect(await readFile(path.join(root, 'vendor', 'archive', 'tmp-archived.edi'), 'utf8')).toBe('tmp');
      await c.remove('archive/tmp-archived.edi');
      await c.removeEmptyDir('archive');
      await expect(stat(path.join(root, 'vendor', 'archive'))).rejects.toThrow();
      expect(await code(c.remove('no-such.edi'))).toBe(550);
      expect(await code(c.send('MKD deep'))).toBe(550); // exists already
    } finally {
      c.close();
    }
  });

  it('refuses every path that leaves the root with 550', async () => {
    const c = await client();
    try {
      expect(await code(c.downloadTo(new Writable({ write: (_c, _e, cb) => cb() }), '../x'))).toBe(550);
      expect(
        await code(c.downloadTo(new Writable({ write: (_c, _e, cb) => cb() }), '../../etc/passwd')),
      ).toBe(550);
      expect(await code(c.size('/../outside.txt'))).toBe(550);
      expect(await code(c.size('../outside.txt'))).toBe(550);
      expect(await code(c.size('vendor/link-out.txt'))).toBe(550); // symlink to outside
      expect(await code(c.cd('..'))).toBe(550);
      expect(await code(c.cd('/vendor/../..'))).toBe(550);
      expect(await code(c.send('CWD vendor\\..\\..'))).toBe(550);
      expect(await code(c.uploadFrom(Readable.from([Buffer.from('x')]), '../escaped.txt'))).toBe(550);
      expect(await code(c.send('MKD ../made'))).toBe(550);
      expect(await code(c.send('RNFR vendor/INV1.edi'))).toBeUndefined();
      expect(await code(c.send('RNTO ../../stolen.edi'))).toBe(550);
      expect(await code(c.send('DELE ../outside.txt'))).toBe(550);
      // Inside the root, ".." that stays inside is fine.
      expect(await code(c.size('vendor/deep/../INV1.edi'))).toBeUndefined();
    } finally {
      c.close();
    }
    expect(await readFile(path.join(tmp, 'outside.txt'), 'utf8')).toBe('secret outside the root');
    expect((await readdir(tmp)).sort()).toEqual(['outside.txt', 'root']);
    expect(await readFile(path.join(root, 'vendor', 'INV1.edi'), 'utf8')).toBe('invoice one');
  });
});

describe('FTP server protocol details', () => {
  it('requires a login, rejects a wrong password and speaks passive mode only', async () => {
    const s = await raw();
    try {
      expect(await s.send('SYST')).toMatch(/^215 UNIX/);
      expect(await s.send('FEAT')).toMatch(
        /^211-[\s\S]*\r\n EPSV\r\n[\s\S]*MLST type\*;size\*;modify\*;[\s\S]*211 End\r\n$/,
      );
      expect(await s.send('PWD')).toMatch(/^530 /);
      expect(await s.send('RETR vendor/INV1.edi')).toMatch(/^530 /);
      expect(await s.send('USER vendor')).toMatch(/^331 /);
      expect(await s.send('PASS wrong')).toMatch(/^530 /);
      expect(await s.send('USER vendor')).toMatch(/^331 /);
      expect(await s.send('PASS pw-123456')).toMatch(/^230 /);
      expect(await s.send('PWD')).toBe('257 "/" is the current directory\r\n');
      expect(await s.send('PORT 127,0,0,1,4,1')).toMatch(/^502 /);
      expect(await s.send('RETR vendor/INV1.edi')).toMatch(/^425 /);
      expect(await s.send('PASV')).toMatch(/^227 Entering Passive Mode \(127,0,0,1,\d+,\d+\)\r\n$/);
      expect(await s.send('EPSV')).toMatch(/^229 Entering Extended Passive Mode \(\|\|\|\d+\|\)\r\n$/);
      expect(await s.send('TYPE I')).toMatch(/^200 /);
      expect(await s.send('TYPE E')).toMatch(/^504 /);
      expect(await s.send('RNTO x')).toMatch(/^503 /);
      expect(await s.send('SIZE vendor/deep')).toMatch(/^550 /);
      expect(await s.send('MDTM vendor/INV1.edi')).toMatch(/^213 \d{14}\r\n$/);
      expect(await s.send('XYZZY')).toMatch(/^502 /);
      expect(await s.send('QUIT')).toMatch(/^221 /);
    } finally {
      s.close();
    }
  });

  it('serves NLST over a passive data connection', async () => {
    const s = await raw();
    try {
      await s.send('USER vendor');
      await s.send('PASS pw-123456');
      const port = Number(/\|\|\|(\d+)\|/.exec(await s.send('EPSV'))![1]);
      const data = net.connect(port, '127.0.0.1');
      let text = '';
      data.setEncoding('utf8').on('data', (d: string) => (text += d));
      const closed = new Promise((r) => data.on('close', r));
      expect(await s.send('NLST vendor')).toMatch(/^150 /);
      expect(await s.read()).toMatch(/^226 /);
      await closed;
      expect(text).toMatch(/^(.+\r\n)+$/);
      expect(text.split('\r\n')).toEqual(expect.arrayContaining(['INV1.edi', 'deep']));
      expect(text).not.toContain('link-out.txt');
    } finally {
      s.close();
    }
  });

  it('answers pipelined commands in order while reading at most a few ahead', async () => {
    const sock = net.connect(server.port, '127.0.0.1');
    sock.setEncoding('utf8');
    let text = '';
    const got = new Promise<void>((resolve) => {
      sock.on('data', (d: string) => {
        text += d;
        if (text.split('\r\n').length > 502) resolve();
      });
    });
    try {
      sock.write('NOOP\r\n'.repeat(500) + 'SYST\r\n');
      await got;
      const lines = text.split('\r\n');
      expect(lines[0]).toMatch(/^220 /);
      expect(lines.slice(1, 501).every((l) => l === '200 OK')).toBe(true);
      expect(lines[501]).toMatch(/^215 UNIX/);
    } finally {
      sock.destroy();
    }
  });

  it('stops reading commands from a client that does not read its replies', async () => {
    const sock = net.connect(server.port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    sock.pause(); // never reads: the server's replies pile up unless it holds back
    const before = process.memoryUsage();
    const chunk = Buffer.from('NOOP\r\n'.repeat((64 * 1024) / 6));
    let sent = 0;
    let stalled = false;
    try {
      while (sent < 48 * 2 ** 20) {
        sent += chunk.length;
        if (sock.write(chunk)) continue;
        const drained = await Promise.race([
          new Promise<boolean>((r) => sock.once('drain', () => r(true))),
          new Promise<boolean>((r) => setTimeout(() => r(false), 3000)),
        ]);
        if (!drained) {
          stalled = true;
          break;
        }
      }
    } catch (e) {
      sock.destroy();
      throw e;
    }
    // Give the server time to read and answer whatever it would.
    await new Promise((r) => setTimeout(r, 1000));
    const grown = (process.memoryUsage().heapUsed - before.heapUsed) / 2 ** 20;
    sock.destroy();
    // Kernel socket buffers take a few megabytes; the server itself reads only one chunk ahead and holds
    // at most 32 commands (before the fix: no stall at 48 MB, and 700 MB of queued replies).
    expect(stalled).toBe(true);
    expect(sent).toBeLessThan(32 * 2 ** 20);
    expect(grown).toBeLessThan(64);
    // The server is still serving others.
    const other = await raw();
    expect(await other.send('NOOP')).toBe('200 OK\r\n');
    other.close();
  });

  it('listens on loopback only and refuses a second server on the same port', async () => {
    await expect(startFtpServer({ root, port: 0, host: '0.0.0.0' as '127.0.0.1' })).rejects.toThrow(
      /127\.0\.0\.1 only/,
    );
    await expect(startFtpServer({ root, port: server.port })).rejects.toThrow(/EADDRINUSE/);
  });
});
