import { mkdtemp, readdir, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startMailCatcher, type MailCatcher } from '../src/mail/catcher';
import { createMailer } from '../src/mail/mailer';
import { confirmationMessageId } from '../src/order/ids';
import { renderConfirmation } from '../src/mail/render';
import type { Order } from '../src/contract/order';

const order: Order = {
  orderId: 'OAS-2026-0001234',
  account: 'UNIV-MAIN',
  orderType: 'firm',
  placedAt: '2026-11-28T15:04:05Z',
  placedBy: { name: 'Ana Lopez', email: 'ana.lopez@univ.example.edu' },
  item: { title: 'Tom & Jerry <script>alert(1)</script> – Ünïcode', isbn: '9783161484100', format: 'print' },
  quantity: 1,
  listPrice: { amount: '59.99', currency: 'USD' },
  fundDistribution: [{ fund: 'M123', percent: 100 }],
  location: { library: 'MAIN', shelvingLocation: 'MATH' },
  rush: false,
  emailConfirmation: true,
};

/** The decoded body of the MIME part with this content type (quoted-printable or base64). */
function part(raw: string, type: string): string {
  const boundary = /boundary="([^"]+)"/.exec(raw)?.[1];
  if (!boundary) throw new Error('not a multipart message');
  const chunk = raw.split(`--${boundary}`).find((p) => p.includes(`Content-Type: ${type}`));
  if (!chunk) throw new Error(`no ${type} part`);
  const headerEnd = chunk.search(/\r\n\r\n/);
  const headers = chunk.slice(0, headerEnd);
  const body = chunk.slice(headerEnd + 4).replace(/\r\n$/, '');
  if (/base64/i.test(headers)) return Buffer.from(body, 'base64').toString('utf8');
  if (/quoted-printable/i.test(headers)) {
    const bytes = body
      .replace(/=\r?\n/g, '')
      .replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
    return Buffer.from(bytes, 'latin1').toString('utf8');
  }
  return body;
}

let dir: string;
let catcher: MailCatcher;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'rto-mail-'));
  catcher = await startMailCatcher({ port: 0, dir });
});
afterAll(async () => {
  await catcher.close();
  await rm(dir, { recursive: true, force: true });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

describe('sending through the mail catcher', () => {
  it('delivers both parts with a deterministic Message-ID, the same on a retried send', async () => {
    const rendered = renderConfirmation({ order, accountName: 'Main Library', poLine: 'POL-77' });
    const messageId = confirmationMessageId(order.account, order.orderId);
    const mailer = createMailer({ host: '127.0.0.1', port: catcher.port });
    const msg = {
      from: 'rto@univ.example.edu',
      to: [order.placedBy.email],
      cc: ['acq@univ.example.edu'],
      messageId,
      ...rendered,
    };
    const first = await mailer.send(msg);
    const second = await mailer.send(msg);
    mailer.close();
    expect(first).toEqual({ messageId, accepted: ['ana.lopez@univ.example.edu', 'acq@univ.example.edu'] });
    expect(second.messageId).toBe(messageId);

    const got = (await catcher.messages()).filter((m) => m.messageId === messageId);
    expect(got).toHaveLength(2);
    const m = got[0]!;
    expect(m.file).toMatch(
      /^\d{8}T\d{9}Z-\d{4}-order\.UNIV-MAIN\.OAS-2026-0001234_oasis-alma-rto\.invalid\.eml$/,
    );
    expect(m.to).toBe('ana.lopez@univ.example.edu');
    expect(m.subject).toBe(rendered.subject);
    expect(m.raw).toMatch(/^Cc: acq@univ\.example\.edu\r?$/m);
    expect(part(m.raw, 'text/plain')).toBe(rendered.text.replace(/\n/g, '\r\n'));
    const html = part(m.raw, 'text/html');
    expect(html).toContain('Tom &amp; Jerry &lt;script&gt;alert(1)&lt;/script&gt; – Ünïcode');
    expect(html).not.toContain('<script>');
    expect(m.subject).toContain('Ünïcode');
    expect(m.envelopeTo).toEqual(['ana.lopez@univ.example.edu', 'acq@univ.example.edu']);
  });

  it('neutralises a header injection attempt in the subject', async () => {
    const mailer = createMailer({ host: '127.0.0.1', port: catcher.port });
    const messageId = confirmationMessageId('UNIV-MAIN', 'INJ-1');
    await mailer.send({
      from: 'rto@univ.example.edu',
      to: ['ana@univ.example.edu'],
      subject: 'Hello\r\nBcc: victim@evil.example\r\nX-Evil: 1',
      text: 'x',
      html: '<p>x</p>',
      messageId,
    });
    mailer.close();
    const m = (await catcher.messages()).find((x) => x.messageId === messageId)!;
    expect(m.subject).toBe('Hello Bcc: victim@evil.example X-Evil: 1');
    expect(m.raw).not.toMatch(/^Bcc:/im);
    expect(m.raw).not.toMatch(/^X-Evil:/im);
    expect(m.envelopeTo).toEqual(['ana@univ.example.edu']);
    // A line break in an address is refused outright.
    const again = createMailer({ host: '127.0.0.1', port: catcher.port });
    await expect(
      again.send({
        from: 'a@b.c',
        to: ['x@y.z\r\nBcc: v@evil.example'],
        subject: 's',
        text: 't',
        html: 'h',
        messageId,
      }),
    ).rejects.toThrow(/not a valid address/);
    again.close();
  });

  it('reports a refused connection clearly and never shows the password', async () => {
    const port = await freePort();
    const password = 'S3cret-smtp-Passw0rd';
    const mailer = createMailer({ host: '127.0.0.1', port, user: 'rto', password, connectionTimeout: 2000 });
    const err = (await mailer
      .send({ from: 'a@b.c', to: ['x@y.z'], subject: 's', text: 't', html: 'h', messageId: '<a.b@c.d>' })
      .catch((e: unknown) => e)) as Error & { code?: string };
    mailer.close();
    expect(err.message).toContain(`SMTP 127.0.0.1:${port}`);
    expect(err.message).toMatch(/ECONNREFUSED/);
    expect(err.code).toBe('ESOCKET');
    expect(JSON.stringify(err) + err.message + String(err.stack)).not.toContain(password);
  });

  it('reports rejected credentials without the password', async () => {
    const authDir = await mkdtemp(path.join(os.tmpdir(), 'rto-mail-auth-'));
    const strict = await startMailCatcher({
      port: 0,
      dir: authDir,
      auth: { user: 'rto', password: 'right-one' },
    });
    const password = 'Wr0ng-Passw0rd-value';
    // The catcher offers no STARTTLS: plain authentication allowed by name (see test/hardening-mail.test.ts).
    const mailer = createMailer({
      host: '127.0.0.1',
      port: strict.port,
      user: 'rto',
      password,
      allowPlainAuth: true,
    });
    const err = (await mailer
      .send({ from: 'a@b.c', to: ['x@y.z'], subject: 's', text: 't', html: 'h', messageId: '<a.b@c.d>' })
      .catch((e: unknown) => e)) as Error & { code?: string };
    mailer.close();
    expect(err.code).toBe('EAUTH');
    expect(err.message + String(err.stack) + JSON.stringify(err)).not.toContain(password);
    expect(err.message).not.toContain(Buffer.from(password).toString('base64'));
    expect(await readdir(authDir)).toEqual([]);
    const ok = createMailer({
      host: '127.0.0.1',
      port: strict.port,
      user: 'rto',
      password: 'right-one',
      allowPlainAuth: true,
    });
    await ok.send({
      from: 'a@b.c',
      to: ['x@y.z'],
      subject: 's',
      text: 't',
      html: 'h',
      messageId: '<a.b@c.d>',
    });
    ok.close();
    expect(await strict.messages()).toHaveLength(1);
    await strict.close();
    await rm(authDir, { recursive: true, force: true });
  });

  it('refuses to listen on a non-loopback address', async () => {
    await expect(startMailCatcher({ host: '0.0.0.0', port: 0, dir })).rejects.toThrow(/loopback only/);
  });
});
