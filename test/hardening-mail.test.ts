/**
 * SMTP hardening (issue 11, §9): a relay that echoes the AUTH exchange in its error reply must not put the
 * password, in any encoding, into the MailError (the EMAIL_FAILED alert, the history, the staff mail); and
 * credentials are sent only over TLS unless plain authentication is allowed by name.
 * Real SMTP servers (smtp-server, the mail catcher) on loopback.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import type { AddressInfo, Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SMTPServer, type SMTPServerAuthentication } from 'smtp-server';
import { loadSettings } from '../src/config/settings';
import { startMailCatcher } from '../src/mail/catcher';
import { createMailer, mailerOptionsFromSettings, MailError, type MailerOptions } from '../src/mail/mailer';
import { REDACTED, secretScrubber } from '../src/mail/scrub';

const USER = 'rto-mailer';
const PASSWORD = 'Pa55-w0rd!for:SMTP';
const b64 = (s: string) => Buffer.from(s).toString('base64');

/** Every encoding that would carry the password (or AUTH LOGIN's user line) out of an error message. */
function leaks(text: string): string[] {
  const forms: Record<string, string> = {
    plain: PASSWORD,
    base64: b64(PASSWORD),
    'AUTH PLAIN blob': b64(`\0${USER}\0${PASSWORD}`),
    'AUTH PLAIN blob with authzid': b64(`${USER}\0${USER}\0${PASSWORD}`),
    'AUTH LOGIN user line': b64(USER),
    // The password's own bytes inside any other base64 text, at the two other alignments.
    'base64, shifted by 1': b64(`x${PASSWORD}`).slice(4, -4),
    'base64, shifted by 2': b64(`xy${PASSWORD}`).slice(4, -4),
  };
  return Object.entries(forms)
    .filter(([, s]) => text.includes(s))
    .map(([name]) => name);
}

type Echo = (auth: SMTPServerAuthentication, received: string) => string;

/**
 * A relay that refuses every login with a 535 whose text is made by `echo` from what the client sent
 * (the raw bytes since its AUTH command) and the decoded credentials, as a careless relay might.
 */
async function echoingRelay(echo: Echo, methods: string[] = ['PLAIN', 'LOGIN']) {
  let received = '';
  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authMethods: methods,
    logger: false,
    onAuth(auth, _session, callback) {
      const since = received.slice(received.lastIndexOf('AUTH ')).replace(/\r\n/g, ' ').trim();
      callback(Object.assign(new Error(echo(auth, since)), { responseCode: 535 }));
    },
  });
  // Tap the raw bytes beside smtp-server's own reading of them.
  server.server.on('connection', (socket: Socket) => {
    socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.server.address() as AddressInfo).port;
  return { port, close: () => new Promise<void>((r) => server.close(() => r())) };
}

async function sendThrough(port: number, over: Partial<MailerOptions> = {}): Promise<MailError> {
  const mailer = createMailer({
    host: '127.0.0.1',
    port,
    user: USER,
    password: PASSWORD,
    // These relays offer no STARTTLS: the point here is what they echo.
    allowPlainAuth: true,
    ...over,
  });
  try {
    await mailer.send({
      from: 'rto@univ.example.edu',
      to: ['acq@univ.example.edu'],
      subject: 's',
      text: 't',
      html: '<p>t</p>',
      messageId: '<hardening.1@oasis-alma-rto.invalid>',
    });
  } catch (e) {
    return e as MailError;
  } finally {
    mailer.close();
  }
  throw new Error('the relay accepted the login');
}

function expectClean(err: MailError) {
  expect(err).toBeInstanceOf(MailError);
  expect(err.code).toBe('EAUTH');
  expect(err.responseCode).toBe(535);
  const everything = [err.message, String(err.stack), JSON.stringify(err)].join('\n');
  expect(leaks(everything)).toEqual([]);
  // What stays says what happened.
  expect(err.message).toContain('Login refused');
  expect(err.message).toContain(REDACTED);
}

describe('an SMTP relay that echoes the AUTH exchange', () => {
  it('AUTH PLAIN: the command line with its blob', async () => {
    const relay = await echoingRelay((_a, since) => `Login refused: ${since}`, ['PLAIN']);
    const err = await sendThrough(relay.port);
    await relay.close();
    expect(err.message).toMatch(/AUTH PLAIN \[redacted\]/);
    expectClean(err);
  });

  it('AUTH PLAIN: the blob alone, with an authorisation identity, and decoded with its NULs', async () => {
    const relay = await echoingRelay(
      (a) =>
        `Login refused: got ${b64(`\0${a.username}\0${a.password}`)}, ` +
        `as authzid ${b64(`${a.username}\0${a.username}\0${a.password}`)}, ` +
        `decoded "\\0${a.username}\\0${a.password}"`,
      ['PLAIN'],
    );
    const err = await sendThrough(relay.port);
    await relay.close();
    expectClean(err);
    expect(err.message).toContain(USER);
  });

  it('AUTH LOGIN: the command and both base64 continuation lines', async () => {
    const relay = await echoingRelay((_a, since) => `Login refused: ${since}`, ['LOGIN']);
    const err = await sendThrough(relay.port);
    await relay.close();
    expect(err.message).toContain('AUTH LOGIN');
    expectClean(err);
  });

  it('the password inside some other base64 text, at every alignment', async () => {
    const relay = await echoingRelay(
      (a) =>
        `Login refused: ${b64(`pass=${a.password}`)} ${b64(`pw:${a.password};`)} ${b64(`p ${a.password}`)}`,
      ['PLAIN'],
    );
    const err = await sendThrough(relay.port);
    await relay.close();
    expectClean(err);
  });
});

describe('the scrubber', () => {
  const scrub = secretScrubber({ user: USER, password: PASSWORD });

  it('leaves text without secrets alone', () => {
    const text = '535 5.7.8 Error: authentication failed: Invalid username or password';
    expect(scrub(text)).toBe(text);
  });

  it('removes URL- and JSON-escaped forms', () => {
    const text = `pw=${encodeURIComponent(PASSWORD)} json=${JSON.stringify({ p: `${PASSWORD}"` })}`;
    expect(scrub(text)).not.toContain(PASSWORD);
    expect(scrub(text)).not.toContain(encodeURIComponent(PASSWORD));
  });

  it('is linear on long replies, with or without the secret in them', () => {
    const near = `${b64(PASSWORD).slice(0, 8)} `.repeat(100_000);
    const inside = `${b64(`xy${PASSWORD}`)}`.repeat(100_000);
    const started = Date.now();
    expect(scrub(near)).toBe(near);
    // One base64 token holding the password 100,000 times goes as one.
    expect(scrub(inside)).toBe(REDACTED);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe('credentials and TLS', () => {
  const mail = {
    from: 'rto@univ.example.edu',
    to: ['acq@univ.example.edu'],
    subject: 's',
    text: 't',
    html: '<p>t</p>',
    messageId: '<hardening.tls@oasis-alma-rto.invalid>',
  };

  /** A relay without STARTTLS that takes these credentials, counting the logins it saw. */
  async function plainRelay() {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'rto-mail-tls-'));
    const catcher = await startMailCatcher({ port: 0, dir, auth: { user: USER, password: PASSWORD } });
    return {
      port: catcher.port,
      caught: async () => (await readdir(dir)).filter((f) => f.endsWith('.eml')).length,
      close: async () => {
        await catcher.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  }

  it('with credentials, refuses a relay that offers no STARTTLS before the password leaves', async () => {
    const relay = await plainRelay();
    let logins = 0;
    const server = new SMTPServer({
      secure: false,
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      logger: false,
      onAuth(_a, _s, cb) {
        logins++;
        cb(null, { user: USER });
      },
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.server.address() as AddressInfo).port;
    try {
      for (const p of [relay.port, port]) {
        const mailer = createMailer({ host: '127.0.0.1', port: p, user: USER, password: PASSWORD });
        const err = (await mailer.send(mail).catch((e: unknown) => e)) as MailError;
        mailer.close();
        expect(err).toBeInstanceOf(MailError);
        expect(err.code).toBe('ETLS');
        expect(err.message).toMatch(/STARTTLS/);
        expect(err.message).toContain('SMTP_ALLOW_PLAIN_AUTH=true');
      }
      expect(logins).toBe(0);
      expect(await relay.caught()).toBe(0);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
      await relay.close();
    }
  });

  it('sends over such a relay when plain authentication is allowed by name, and without credentials', async () => {
    const relay = await plainRelay();
    const allowed = createMailer({
      host: '127.0.0.1',
      port: relay.port,
      user: USER,
      password: PASSWORD,
      allowPlainAuth: true,
    });
    await allowed.send(mail);
    allowed.close();
    // No credentials (npm start and its mail catcher): nothing to protect, STARTTLS only when offered.
    const dir = await mkdtemp(path.join(os.tmpdir(), 'rto-mail-open-'));
    const open = await startMailCatcher({ port: 0, dir });
    const anonymous = createMailer({ host: '127.0.0.1', port: open.port });
    await anonymous.send(mail);
    anonymous.close();
    expect(await relay.caught()).toBe(1);
    expect(await open.messages()).toHaveLength(1);
    await open.close();
    await rm(dir, { recursive: true, force: true });
    await relay.close();
  });

  it('reads SMTP_ALLOW_PLAIN_AUTH from the settings, off by default', () => {
    const base = { SMTP_HOST: 'smtp.univ.example.edu', SMTP_USER: USER, SMTP_PASSWORD: PASSWORD };
    expect(mailerOptionsFromSettings(loadSettings(base))).toEqual({
      host: 'smtp.univ.example.edu',
      port: 2525,
      secure: false,
      user: USER,
      password: PASSWORD,
      allowPlainAuth: false,
    });
    expect(
      mailerOptionsFromSettings(loadSettings({ ...base, SMTP_ALLOW_PLAIN_AUTH: 'true' })).allowPlainAuth,
    ).toBe(true);
    expect(() => loadSettings({ ...base, SMTP_ALLOW_PLAIN_AUTH: 'yes' })).toThrow(/SMTP_ALLOW_PLAIN_AUTH/);
  });
});
