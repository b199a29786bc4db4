/**
 * A small FTP server on node:net: the vendor's FTP site for `npm start` and the tests. It speaks the part of
 * RFC 959 / 2428 / 3659 that basic-ftp and ordinary clients use, passive mode only, on loopback only, and keeps
 * every path inside the served root (anything else is answered 550).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, createWriteStream, type Stats } from 'node:fs';
import { lstat, mkdir, readdir, realpath, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { silentLogger, type Logger } from '../logging';
import { ftpTime, listLine, mlsxFacts } from './ftp-listing';
import { realPathInside, resolveVirtual, virtualPath } from './ftp-paths';

export interface FtpServerOptions {
  /** Loopback only. */
  host?: '127.0.0.1';
  /** 0 picks a free port. Default 2121. */
  port?: number;
  /** The folder served as "/". */
  root: string;
  /** Required login; without `user` any USER/PASS is accepted. */
  user?: string;
  password?: string;
  logger?: Logger;
  /** Milliseconds a data connection may take to arrive (default 15000). */
  dataTimeout?: number;
  /** Milliseconds of silence before a control connection is closed (default 300000). */
  idleTimeout?: number;
}

export interface FtpServer {
  port: number;
  close(): Promise<void>;
}

const MAX_LINE = 4096;
const MAX_SESSIONS = 64;
/** Commands read but not yet answered; past this the socket is not read until some are done. */
const MAX_PENDING = 32;
/** Unparsed input kept while reading is paused (one socket chunk is at most 64 KiB): a backstop. */
const MAX_BUFFERED = 1 << 20;
const UPLOAD_TMP = /^\.rto-upload-[0-9a-f]+\.part$/;

class FtpReplyError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const fail = (code: number, message: string) => new FtpReplyError(code, message);
const NOT_FOUND = () => fail(550, 'No such file or directory, or access denied');

/** A passive-mode listener waiting for the client's one data connection. */
class Passive {
  readonly server: net.Server;
  readonly socket: Promise<net.Socket>;
  private accepted?: net.Socket;
  private timer?: NodeJS.Timeout;
  private fail?: (e: Error) => void;

  constructor(clientAddress: string | undefined, timeoutMs: number) {
    this.server = net.createServer();
    this.socket = new Promise<net.Socket>((resolve, reject) => {
      this.fail = reject;
      this.timer = setTimeout(() => this.dispose(), timeoutMs);
      this.server.on('connection', (sock) => {
        // Only the client that asked may connect (no stealing another session's data).
        if (this.accepted || sock.remoteAddress !== clientAddress) {
          sock.destroy();
          return;
        }
        this.accepted = sock;
        clearTimeout(this.timer);
        this.server.close();
        resolve(sock);
      });
      this.server.on('error', (e) => this.dispose(e));
    });
    this.socket.catch(() => undefined);
  }

  listen(host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, host, () => resolve((this.server.address() as net.AddressInfo).port));
    });
  }

  /** Stops listening, drops the data connection and fails anyone still waiting for it. */
  dispose(err = new Error('no data connection')): void {
    clearTimeout(this.timer);
    this.server.close();
    this.accepted?.destroy();
    this.fail?.(err);
  }
}

interface ServerContext {
  realRoot: string;
  host: string;
  user?: string;
  password?: string;
  logger: Logger;
  dataTimeout: number;
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A path for a 257 reply: quotes doubled (RFC 959), no line breaks. */
function quotePath(p: string): string {
  return '"' + p.replace(/[\r\n]/g, '').replace(/"/g, '""') + '"';
}

class Session {
  private cwd: string[] = [];
  private userName?: string;
  private loggedIn = false;
  private failedLogins = 0;
  private passive?: Passive;
  private renameFrom?: string;
  private restOffset = 0;
  private buffer = '';
  private queue: Promise<void> = Promise.resolve();
  private pending = 0;
  private closed = false;

  constructor(
    private readonly socket: net.Socket,
    private readonly ctx: ServerContext,
  ) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    // Replies the client has not read yet hold back reading (see pump), so a client that never reads
    // cannot make the server buffer without bound.
    socket.on('drain', () => this.pump());
    socket.on('close', () => this.dispose());
    socket.on('error', () => this.dispose());
  }

  start(): void {
    this.reply(220, 'oasis-alma-rto FTP server ready');
  }

  dispose(): void {
    this.closed = true;
    this.passive?.dispose();
    this.passive = undefined;
    this.socket.destroy();
  }

  private reply(code: number, text: string | string[]): void {
    if (this.closed) return;
    const lines = (Array.isArray(text) ? text : [text]).map((l) => l.replace(/[\r\n]/g, ' '));
    let out: string;
    if (lines.length === 1) {
      out = `${code} ${lines[0]}\r\n`;
    } else {
      const body = lines
        .slice(1, -1)
        .map((l) => ` ${l}\r\n`)
        .join('');
      out = `${code}-${lines[0]}\r\n${body}${code} ${lines[lines.length - 1]}\r\n`;
    }
    // A full write buffer: stop reading commands until the client has taken its replies ('drain').
    if (!this.socket.write(out) && !this.socket.isPaused()) this.socket.pause();
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    if (this.buffer.length > MAX_BUFFERED) {
      this.reply(421, 'Too many pending commands, closing');
      this.socket.end();
      this.dispose();
      return;
    }
    this.pump();
  }

  /**
   * Queues the complete command lines while fewer than MAX_PENDING are waiting and the client reads its
   * replies; otherwise stops reading the socket until a command is done or the replies have drained.
   */
  private pump(): void {
    if (this.closed) return;
    let nl: number;
    while (this.pending < MAX_PENDING && (nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).replace(/\r$/, '');
      this.buffer = this.buffer.slice(nl + 1);
      this.pending++;
      // Commands run one after another, each waiting for the previous transfer to finish and for the
      // client to have taken the replies so far.
      this.queue = this.queue
        .then(() => this.repliesRead())
        .then(() => this.handle(line))
        .finally(() => {
          this.pending--;
          this.pump();
        });
    }
    if (this.pending < MAX_PENDING && this.buffer.length > MAX_LINE) {
      this.reply(500, 'Command line too long');
      this.dispose();
      return;
    }
    const busy = this.pending >= MAX_PENDING || this.socket.writableNeedDrain;
    if (busy && !this.socket.isPaused()) this.socket.pause();
    else if (!busy && this.socket.isPaused()) this.socket.resume();
  }

  /** Resolves once the replies written so far have left the process (or the connection is gone). */
  private repliesRead(): Promise<void> {
    if (this.closed || !this.socket.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  private async handle(line: string): Promise<void> {
    if (this.closed) return;
    const sp = line.indexOf(' ');
    const cmd = (sp < 0 ? line : line.slice(0, sp)).toUpperCase().replace(/[^A-Z]/g, '');
    const arg = sp < 0 ? '' : line.slice(sp + 1);
    this.ctx.logger.debug({ cmd, arg: cmd === 'PASS' ? '[redacted]' : arg.slice(0, 200) }, 'ftp command');
    try {
      await this.dispatch(cmd, arg);
    } catch (e) {
      if (e instanceof FtpReplyError) this.reply(e.code, e.message);
      else {
        this.ctx.logger.warn({ cmd, err: (e as Error).message }, 'ftp command failed');
        this.reply(451, 'Local error in processing');
      }
    }
  }

  private async dispatch(cmd: string, arg: string): Promise<void> {
    switch (cmd) {
      case 'USER':
        this.userName = arg;
        this.loggedIn = false;
        return this.reply(331, 'Password required');
      case 'PASS':
        return this.pass(arg);
      case 'QUIT':
        this.reply(221, 'Goodbye');
        this.socket.end();
        this.closed = true;
        return;
      case 'SYST':
        return this.reply(215, 'UNIX Type: L8');
      case 'FEAT':
        return this.reply(211, [
          'Features:',
          'UTF8',
          'EPSV',
          'PASV',
          'SIZE',
          'MDTM',
          'REST STREAM',
          'MLST type*;size*;modify*;perm*;',
          'End',
        ]);
      case 'NOOP':
        return this.reply(200, 'OK');
      case 'OPTS':
        return this.opts(arg);
      case 'AUTH':
        return this.reply(502, 'TLS is not supported by this server');
    }
    if (!this.loggedIn) return this.reply(530, 'Please log in with USER and PASS');

    switch (cmd) {
      case 'PWD':
      case 'XPWD':
        return this.reply(257, `${quotePath(virtualPath(this.cwd))} is the current directory`);
      case 'CWD':
      case 'XCWD':
        return this.cwdTo(arg);
      case 'CDUP':
      case 'XCUP':
        return this.cwdTo('..');
      case 'TYPE':
        return /^(A|I|L 8|A N)$/i.test(arg.trim())
          ? this.reply(200, `Type set to ${arg.trim().toUpperCase()}`)
          : this.reply(504, 'Unsupported type');
      case 'STRU':
        return arg.trim().toUpperCase() === 'F'
          ? this.reply(200, 'Structure set to F')
          : this.reply(504, 'Only file structure');
      case 'MODE':
        return arg.trim().toUpperCase() === 'S'
          ? this.reply(200, 'Mode set to S')
          : this.reply(504, 'Only stream mode');
      case 'ALLO':
        return this.reply(202, 'No storage allocation necessary');
      case 'PASV':
        return this.openPassive(false);
      case 'EPSV':
        if (/^ALL$/i.test(arg.trim())) return this.reply(200, 'EPSV ALL accepted');
        return this.openPassive(true);
      case 'PORT':
      case 'EPRT':
        return this.reply(502, 'Active mode is not supported; use PASV or EPSV');
      case 'REST':
        if (!/^\d{1,15}$/.test(arg.trim())) return this.reply(501, 'REST needs a byte offset');
        this.restOffset = Number(arg.trim());
        return this.reply(350, `Restarting at ${this.restOffset}`);
      case 'LIST':
      case 'NLST':
        return this.list(cmd, arg);
      case 'MLSD':
        return this.mlsd(arg);
      case 'MLST':
        return this.mlst(arg);
      case 'SIZE':
        return this.size(arg);
      case 'MDTM':
        return this.mdtm(arg);
      case 'RETR':
        return this.retr(arg);
      case 'STOR':
        return this.stor(arg);
      case 'DELE':
        return this.dele(arg);
      case 'MKD':
      case 'XMKD':
        return this.mkd(arg);
      case 'RMD':
      case 'XRMD':
        return this.rmd(arg);
      case 'RNFR':
        return this.rnfr(arg);
      case 'RNTO':
        return this.rnto(arg);
      case 'ABOR':
        return this.reply(226, 'No transfer to abort');
      default:
        return this.reply(502, 'Command not implemented');
    }
  }

  private pass(password: string): void {
    if (this.userName === undefined) return this.reply(503, 'Send USER first');
    const { user, password: want } = this.ctx;
    const ok = user === undefined || (this.userName === user && sameSecret(password, want ?? ''));
    if (ok) {
      this.loggedIn = true;
      this.ctx.logger.info({ user: this.userName }, 'ftp login');
      return this.reply(230, 'Logged in');
    }
    this.ctx.logger.warn({ user: this.userName.slice(0, 64) }, 'ftp login refused');
    this.reply(530, 'Login incorrect');
    if (++this.failedLogins >= 3) this.dispose();
  }

  private opts(arg: string): void {
    if (/^UTF-?8(\s+ON)?$/i.test(arg.trim())) return this.reply(200, 'UTF8 mode always on');
    if (/^MLST\b/i.test(arg.trim())) return this.reply(200, 'MLST OPTS type;size;modify;perm;');
    this.reply(501, 'Option not understood');
  }

  /** Virtual segments and real path of a client path, or 550. */
  private async resolve(arg: string): Promise<{ parts: string[]; real: string }> {
    const parts = resolveVirtual(virtualPath(this.cwd), arg);
    if (!parts) throw NOT_FOUND();
    if (parts.some((p) => UPLOAD_TMP.test(p))) throw NOT_FOUND();
    const real = await realPathInside(this.ctx.realRoot, parts);
    if (!real) throw NOT_FOUND();
    return { parts, real };
  }

  private async statOf(real: string) {
    return stat(real).catch(() => {
      throw NOT_FOUND();
    });
  }

  private async cwdTo(arg: string): Promise<void> {
    const { parts, real } = await this.resolve(arg || '/');
    if (!(await this.statOf(real)).isDirectory()) throw fail(550, 'Not a directory');
    this.cwd = parts;
    this.reply(250, `Directory changed to ${virtualPath(parts)}`);
  }

  private async openPassive(extended: boolean): Promise<void> {
    this.passive?.dispose();
    const passive = new Passive(this.socket.remoteAddress, this.ctx.dataTimeout);
    const port = await passive.listen(this.ctx.host);
    this.passive = passive;
    if (extended) return this.reply(229, `Entering Extended Passive Mode (|||${port}|)`);
    const h = this.ctx.host.split('.').join(',');
    this.reply(227, `Entering Passive Mode (${h},${port >> 8},${port & 255})`);
  }

  /** Runs a transfer on the passive data connection: 150, the transfer, then 226 (or 425/426). */
  private async transfer(what: string, run: (sock: net.Socket) => Promise<void>): Promise<void> {
    const passive = this.passive;
    this.passive = undefined;
    if (!passive) throw fail(425, 'Use PASV or EPSV first');
    this.reply(150, `Opening data connection for ${what}`);
    let sock: net.Socket;
    try {
      sock = await passive.socket;
    } catch {
      passive.dispose();
      throw fail(425, 'Cannot open data connection');
    }
    try {
      await run(sock);
      await new Promise<void>((resolve) => {
        if (sock.destroyed) return resolve();
        sock.once('close', () => resolve());
        sock.end();
      });
      this.reply(226, 'Transfer complete');
    } catch (e) {
      sock.destroy();
      this.ctx.logger.warn({ what, err: (e as Error).message }, 'ftp transfer failed');
      throw fail(426, 'Connection closed; transfer aborted');
    } finally {
      passive.dispose();
    }
  }

  /** Visible entries of a directory: plain files and folders with names a listing can carry. */
  private async entries(real: string) {
    const out: { name: string; st: Stats }[] = [];
    for (const name of (await readdir(real)).sort()) {
      if (/[\r\n]/.test(name) || UPLOAD_TMP.test(name)) continue;
      const st = await lstat(path.join(real, name)).catch(() => null);
      if (st && (st.isFile() || st.isDirectory())) out.push({ name, st });
    }
    return out;
  }

  private async list(cmd: 'LIST' | 'NLST', arg: string): Promise<void> {
    // Clients send options such as "LIST -a" or "LIST -la path": ls options are accepted and ignored.
    const target = arg.replace(/^(\s*-[A-Za-z]+)+\s*/, '');
    const { real } = await this.resolve(target);
    const st = await this.statOf(real);
    const rows = st.isDirectory()
      ? await this.entries(real)
      : [{ name: path.basename(real), st: await lstat(real) }];
    const text = rows.map((r) => (cmd === 'NLST' ? r.name : listLine(r.name, r.st))).join('\r\n');
    await this.transfer('directory listing', (sock) => this.send(sock, text ? text + '\r\n' : ''));
  }

  private async mlsd(arg: string): Promise<void> {
    const { real } = await this.resolve(arg);
    if (!(await this.statOf(real)).isDirectory()) throw fail(501, 'Not a directory');
    const rows = await this.entries(real);
    const text = rows.map((r) => `${mlsxFacts(r.st)} ${r.name}`).join('\r\n');
    await this.transfer('MLSD', (sock) => this.send(sock, text ? text + '\r\n' : ''));
  }

  private async mlst(arg: string): Promise<void> {
    const { parts, real } = await this.resolve(arg);
    const st = await this.statOf(real);
    this.reply(250, [`Listing ${virtualPath(parts)}`, `${mlsxFacts(st)} ${virtualPath(parts)}`, 'End']);
  }

  private send(sock: net.Socket, text: string): Promise<void> {
    return new Promise((resolve, reject) => {
      sock.once('error', reject);
      sock.write(text, 'utf8', (e) => (e ? reject(e) : resolve()));
    });
  }

  private async file(arg: string) {
    const r = await this.resolve(arg);
    const st = await this.statOf(r.real);
    if (!st.isFile()) throw fail(550, 'Not a plain file');
    return { ...r, st };
  }

  private async size(arg: string): Promise<void> {
    const { st } = await this.file(arg);
    this.reply(213, String(st.size));
  }

  private async mdtm(arg: string): Promise<void> {
    const { st } = await this.file(arg);
    this.reply(213, ftpTime(st.mtime));
  }

  private async retr(arg: string): Promise<void> {
    const offset = this.restOffset;
    this.restOffset = 0;
    const { real, st } = await this.file(arg);
    await this.transfer(`${path.basename(real)} (${st.size} bytes)`, (sock) =>
      pipeline(createReadStream(real, { start: offset }), sock, { end: false }),
    );
  }

  private async stor(arg: string): Promise<void> {
    this.restOffset = 0;
    const { real } = await this.resolve(arg);
    const existing = await stat(real).catch(() => null);
    if (existing?.isDirectory()) throw fail(550, 'Is a directory');
    const parent = await stat(path.dirname(real)).catch(() => null);
    if (!parent?.isDirectory()) throw NOT_FOUND();
    // Uploaded under a hidden temporary name and renamed at the end: a lister never sees half a file.
    const tmp = path.join(path.dirname(real), `.rto-upload-${randomBytes(6).toString('hex')}.part`);
    try {
      await this.transfer(path.basename(real), async (sock) => {
        await pipeline(sock, createWriteStream(tmp, { flags: 'wx' }));
        await rename(tmp, real);
      });
    } finally {
      await rm(tmp, { force: true });
    }
  }

  private async dele(arg: string): Promise<void> {
    const { real } = await this.file(arg);
    await unlink(real);
    this.reply(250, 'File deleted');
  }

  private async mkd(arg: string): Promise<void> {
    const { parts, real } = await this.resolve(arg);
    if (!parts.length) throw fail(550, 'Cannot create the root');
    await mkdir(real).catch((e: NodeJS.ErrnoException) => {
      throw fail(550, e.code === 'EEXIST' ? 'Already exists' : 'Cannot create directory');
    });
    this.reply(257, `${quotePath(virtualPath(parts))} created`);
  }

  private async rmd(arg: string): Promise<void> {
    const { parts, real } = await this.resolve(arg);
    if (!parts.length) throw fail(550, 'Cannot remove the root');
    await rmdir(real).catch(() => {
      throw fail(550, 'Cannot remove directory (missing or not empty)');
    });
    this.reply(250, 'Directory removed');
  }

  private async rnfr(arg: string): Promise<void> {
    const { parts, real } = await this.resolve(arg);
    if (!parts.length) throw NOT_FOUND();
    await this.statOf(real);
    this.renameFrom = real;
    this.reply(350, 'Ready for RNTO');
  }

  private async rnto(arg: string): Promise<void> {
    const from = this.renameFrom;
    this.renameFrom = undefined;
    if (!from) throw fail(503, 'Send RNFR first');
    const { parts, real } = await this.resolve(arg);
    if (!parts.length) throw NOT_FOUND();
    await rename(from, real).catch(() => {
      throw fail(550, 'Rename failed');
    });
    this.reply(250, 'Renamed');
  }
}

export async function startFtpServer(opts: FtpServerOptions): Promise<FtpServer> {
  const host = opts.host ?? '127.0.0.1';
  if (host !== '127.0.0.1') throw new Error('the FTP server listens on 127.0.0.1 only');
  const logger = opts.logger ?? silentLogger;
  await mkdir(opts.root, { recursive: true });
  const ctx: ServerContext = {
    realRoot: await realpath(opts.root),
    host,
    user: opts.user,
    password: opts.password,
    logger,
    dataTimeout: opts.dataTimeout ?? 15_000,
  };
  const idle = opts.idleTimeout ?? 300_000;
  const sessions = new Set<Session>();

  const server = net.createServer((socket) => {
    if (sessions.size >= MAX_SESSIONS) {
      socket.end('421 Too many connections\r\n');
      return;
    }
    const session = new Session(socket, ctx);
    sessions.add(session);
    socket.on('close', () => sessions.delete(session));
    socket.setTimeout(idle, () => {
      socket.end('421 Idle timeout, closing\r\n');
      // A client that does not read would keep the half-closed socket (and its buffers) forever.
      setTimeout(() => socket.destroy(), 10_000).unref();
    });
    session.start();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 2121, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as net.AddressInfo).port;
  logger.info({ host, port, root: ctx.realRoot }, 'ftp server listening');

  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sessions) s.dispose();
        server.close(() => resolve());
      }),
  };
}
