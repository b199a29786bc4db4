/**
 * SMTP hardening (issue 11, §9): a relay that echoes the AUTH exchange in its error reply must not put the
 * password, in any encoding, into the MailError (the EMAIL_FAILED alert, the history, the staff mail).
 * Real SMTP servers (smtp-server) on loopback.
 */
import type { AddressInfo, Socket } from 'node:net';
import { SMTPServer, type SMTPServerAuthentication } from 'smtp-server';
import { createMailer, MailError, type MailerOptions } from '../src/mail/mailer';
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
