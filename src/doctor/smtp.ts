/**
 * Whether the SMTP relay takes a connection: connect (TLS from the first byte with SMTP_SECURE), read the
 * greeting, EHLO, QUIT. No mail is sent and no credentials are offered.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { Settings } from '../config/settings';
import type { Finding } from './report';

export interface SmtpGreeting {
  greeting: string;
  /** The EHLO answer's extension keywords (STARTTLS, AUTH, SIZE, ...), upper case. */
  extensions: string[];
}

/** Reads SMTP replies (`250-...` continued, `250 ...` final) from a socket, one reply per call, in order. */
function replyReader(socket: net.Socket) {
  let buffer = '';
  let lines: string[] = [];
  const replies: string[][] = [];
  let waiting: { resolve: (r: string[]) => void; reject: (e: Error) => void } | undefined;
  let failure: Error | undefined;
  const settle = () => {
    if (!waiting) return;
    const w = waiting;
    if (replies.length) {
      waiting = undefined;
      w.resolve(replies.shift()!);
    } else if (failure) {
      waiting = undefined;
      w.reject(failure);
    }
  };
  socket.on('data', (d: Buffer) => {
    buffer += d.toString('latin1');
    if (buffer.length > 64 * 1024) socket.destroy(new Error('the server sent an over-long reply'));
    for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
      const line = buffer.slice(0, i).replace(/\r$/, '');
      buffer = buffer.slice(i + 1);
      lines.push(line);
      if (!/^\d{3}-/.test(line)) {
        replies.push(lines);
        lines = [];
      }
    }
    settle();
  });
  socket.on('error', (e) => {
    failure ??= e;
    settle();
  });
  socket.on('close', () => {
    failure ??= new Error('the server closed the connection');
    settle();
  });
  return (): Promise<string[]> =>
    new Promise((resolve, reject) => {
      waiting = { resolve, reject };
      settle();
    });
}

export async function smtpGreeting(o: {
  host: string;
  port: number;
  secure: boolean;
  timeoutMs?: number;
}): Promise<SmtpGreeting> {
  const timeoutMs = o.timeoutMs ?? 5000;
  const socket: net.Socket = o.secure
    ? tls.connect({ host: o.host, port: o.port, servername: net.isIP(o.host) ? undefined : o.host })
    : net.connect({ host: o.host, port: o.port });
  socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer within ${timeoutMs} ms`)));
  const next = replyReader(socket);
  try {
    const hello = await next();
    if (!hello[0]?.startsWith('220'))
      throw new Error(`the greeting is not 220: ${hello.join(' ').slice(0, 200)}`);
    socket.write('EHLO rto-doctor\r\n');
    const ehlo = await next();
    if (!ehlo[0]?.startsWith('250')) throw new Error(`EHLO was refused: ${ehlo.join(' ').slice(0, 200)}`);
    socket.write('QUIT\r\n');
    return {
      greeting: hello.join(' ').slice(4, 200),
      extensions: ehlo.slice(1).map((l) => l.slice(4).split(' ')[0]!.toUpperCase()),
    };
  } finally {
    socket.destroy();
  }
}

type SmtpSettings = Pick<
  Settings,
  'SMTP_HOST' | 'SMTP_PORT' | 'SMTP_SECURE' | 'SMTP_USER' | 'SMTP_ALLOW_PLAIN_AUTH'
>;

export async function checkSmtp(settings: SmtpSettings, timeoutMs?: number): Promise<Finding[]> {
  const where = `${settings.SMTP_HOST}:${settings.SMTP_PORT}`;
  const secure = settings.SMTP_SECURE === 'true';
  let g: SmtpGreeting;
  try {
    g = await smtpGreeting({ host: settings.SMTP_HOST, port: settings.SMTP_PORT, secure, timeoutMs });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return [
      {
        check: 'smtp',
        outcome: 'problem',
        setting: 'SMTP_HOST, SMTP_PORT' + (secure ? ', SMTP_SECURE' : ''),
        message: `the SMTP relay ${where} does not take a connection: ${err.code ?? err.message}`,
        fix: 'point SMTP_HOST / SMTP_PORT at the relay that sends the confirmation mails (SMTP_SECURE=true for TLS from the first byte, port 465)',
      },
    ];
  }
  const out: Finding[] = [
    {
      check: 'smtp',
      outcome: 'ok',
      message: `the SMTP relay ${where} answers EHLO (${g.greeting || 'no banner'})`,
    },
  ];
  // With credentials and no TLS from the first byte, the mailer insists on STARTTLS before AUTH.
  if (
    settings.SMTP_USER &&
    !secure &&
    settings.SMTP_ALLOW_PLAIN_AUTH !== 'true' &&
    !g.extensions.includes('STARTTLS')
  )
    out.push({
      check: 'smtp.tls',
      outcome: 'problem',
      setting: 'SMTP_SECURE, SMTP_ALLOW_PLAIN_AUTH',
      message: `the SMTP relay ${where} offers no STARTTLS, so the credentials of SMTP_USER would not be sent and every mail would fail`,
      fix: "use the relay's TLS port with SMTP_SECURE=true, or (on a trusted network only) SMTP_ALLOW_PLAIN_AUTH=true",
    });
  return out;
}
