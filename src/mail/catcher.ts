/**
 * The mail catcher: a local SMTP server that accepts every message and stores it as an .eml file, so `npm start`
 * and the tests send real SMTP without a real relay. Loopback only: it is a development tool, not a relay.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerAddress } from 'smtp-server';
import { silentLogger, type Logger } from '../logging';
import { decodeHeaderValue, parseHeaders } from './headers';

export interface MailCatcherOptions {
  /** A loopback address; anything else is refused. Default 127.0.0.1. */
  host?: string;
  /** 0 picks a free port. Default 2525. */
  port?: number;
  /** Where .eml files are written (created if missing). */
  dir: string;
  logger?: Logger;
  /** Require these credentials (to test authentication); without it any or no login is accepted. */
  auth?: { user: string; password: string };
  /** Largest message accepted, in bytes (default 10 MB). */
  maxBytes?: number;
}

export interface CaughtMessage {
  file: string;
  raw: string;
  messageId?: string;
  to?: string;
  subject?: string;
  /** The SMTP envelope recipients (RCPT TO), which include Bcc recipients the headers do not show. */
  envelopeTo?: string[];
}

export interface MailCatcher {
  port: number;
  close(): Promise<void>;
  messages(): Promise<CaughtMessage[]>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** A file-name fragment from untrusted text: only [A-Za-z0-9._-], at most 80 characters, never empty or dots only. */
function safeFragment(text: string | undefined): string {
  const s = (text ?? '')
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[._]+|[._]+$/g, '')
    .slice(0, 80);
  return s || 'no-message-id';
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function envelopeHeader(name: string, addrs: SMTPServerAddress[]): string {
  // Addresses come from the client: keep only printable characters on one header line.
  const list = addrs.map((a) => a.address.replace(/[^\x21-\x7E]/g, '')).join(', ');
  return `${name}: ${list}\r\n`;
}

export async function startMailCatcher(opts: MailCatcherOptions): Promise<MailCatcher> {
  const host = opts.host ?? '127.0.0.1';
  if (!LOOPBACK.has(host)) throw new Error(`the mail catcher listens on loopback only, not on ${host}`);
  const logger = opts.logger ?? silentLogger;
  const dir = path.resolve(opts.dir);
  const maxBytes = opts.maxBytes ?? 10 * 1024 * 1024;
  await mkdir(dir, { recursive: true });
  let seq = 0;

  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS'],
    authOptional: true,
    allowInsecureAuth: true,
    size: maxBytes,
    logger: false,
    banner: 'oasis-alma-rto mail catcher',
    onAuth(auth, _session, callback) {
      const want = opts.auth;
      if (!want || (auth.username === want.user && sameSecret(auth.password ?? '', want.password))) {
        callback(null, { user: auth.username ?? 'anonymous' });
      } else {
        callback(new Error('Invalid username or password'));
      }
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', (e) => callback(e));
      stream.on('end', () => {
        if (stream.sizeExceeded) {
          callback(Object.assign(new Error('message too large'), { responseCode: 552 }));
          return;
        }
        const body = Buffer.concat(chunks);
        const headers = parseHeaders(body.subarray(0, 64 * 1024).toString('utf8'));
        const messageId = headers.get('message-id');
        const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('.', '');
        const name = `${stamp}-${String(++seq).padStart(4, '0')}-${safeFragment(messageId)}.eml`;
        const prefix =
          (session.envelope.mailFrom ? envelopeHeader('X-Envelope-From', [session.envelope.mailFrom]) : '') +
          envelopeHeader('X-Envelope-To', session.envelope.rcptTo);
        const tmp = path.join(dir, `.${randomBytes(6).toString('hex')}.tmp`);
        // Written under a temporary name first so a reader never sees half a message.
        writeFile(tmp, Buffer.concat([Buffer.from(prefix), body]))
          .then(() => rename(tmp, path.join(dir, name)))
          .then(
            () => {
              logger.info({ file: name, recipients: session.envelope.rcptTo.length }, 'mail caught');
              callback();
            },
            (e: Error) => callback(e),
          );
      });
    },
  });
  server.on('error', (e) => logger.warn({ err: e.message }, 'mail catcher connection error'));

  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(opts.port ?? 2525, host, () => {
      server.server.off('error', reject);
      resolve();
    });
  });
  const port = (server.server.address() as AddressInfo).port;
  logger.info({ host, port, dir }, 'mail catcher listening');

  return {
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    async messages() {
      const files = (await readdir(dir)).filter((f) => f.endsWith('.eml')).sort();
      const out: CaughtMessage[] = [];
      for (const file of files) {
        const raw = await readFile(path.join(dir, file), 'utf8');
        const h = parseHeaders(raw);
        const subject = h.get('subject');
        const envelopeTo = h.get('x-envelope-to');
        out.push({
          file,
          raw,
          messageId: h.get('message-id'),
          to: h.get('to'),
          subject: subject === undefined ? undefined : decodeHeaderValue(subject),
          envelopeTo: envelopeTo ? envelopeTo.split(/,\s*/).filter(Boolean) : [],
        });
      }
      return out;
    },
  };
}
