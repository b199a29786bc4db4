/**
 * Sending mail over SMTP with nodemailer. One connection per message (mails are rare), short timeouts so a
 * dead relay fails an activity attempt quickly, and errors rewritten so the SMTP password can never leak.
 */
import nodemailer from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool';
import type { Settings } from '../config/settings';
import { silentLogger, type Logger } from '../logging';
import { mails } from '../metrics';
import { oneLine } from './escape';
import { secretScrubber } from './scrub';

export interface MailerOptions {
  host: string;
  port: number;
  /**
   * TLS from the first byte (port 465). Otherwise STARTTLS: required when there are credentials (see
   * `allowPlainAuth`), used when the server offers it when there are none.
   */
  secure?: boolean;
  user?: string;
  password?: string;
  /**
   * Send credentials over a connection without TLS (a relay that offers no STARTTLS, such as the local mail
   * catcher). Off by default: with a user and no `secure`, the connection must be upgraded with STARTTLS
   * before AUTH, or the send fails (ETLS) without the password having left.
   */
  allowPlainAuth?: boolean;
  logger?: Logger;
  /** Milliseconds to open the TCP connection (default 5000). */
  connectionTimeout?: number;
  /** Milliseconds to wait for the server's greeting (default 5000). */
  greetingTimeout?: number;
  /** Milliseconds of inactivity before the connection is dropped (default 20000). */
  socketTimeout?: number;
}

export interface OutgoingMail {
  from: string;
  to: string[];
  cc?: string[];
  subject: string;
  text: string;
  html: string;
  /** `<...@...>`, e.g. from confirmationMessageId(): the same for every retry of the same mail. */
  messageId: string;
}

export interface SendResult {
  messageId: string;
  accepted: string[];
}

export interface Mailer {
  send(msg: OutgoingMail): Promise<SendResult>;
  close(): void;
}

/** A failed send; `code` is nodemailer's (ECONNECTION, ETIMEDOUT, EAUTH, EENVELOPE, ...). */
export class MailError extends Error {
  override name = 'MailError';
  constructor(
    message: string,
    readonly code?: string,
    readonly responseCode?: number,
  ) {
    super(message);
  }
}

// A header value or address with a line break could add headers (Bcc:) to the message.
function checkAddress(addr: string, what: string): string {
  // eslint-disable-next-line no-control-regex -- NUL and line breaks are what is refused
  if (/[\r\n\u0000]/.test(addr) || !addr.includes('@'))
    throw new MailError(`${what} is not a valid address`, 'EENVELOPE');
  return addr.trim();
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** The mailer's options from the process settings (SMTP_*): the one place they are read. */
export function mailerOptionsFromSettings(
  settings: Pick<
    Settings,
    'SMTP_HOST' | 'SMTP_PORT' | 'SMTP_SECURE' | 'SMTP_USER' | 'SMTP_PASSWORD' | 'SMTP_ALLOW_PLAIN_AUTH'
  >,
  logger?: Logger,
): MailerOptions {
  return {
    host: settings.SMTP_HOST,
    port: settings.SMTP_PORT,
    secure: settings.SMTP_SECURE === 'true',
    user: settings.SMTP_USER,
    password: settings.SMTP_PASSWORD,
    allowPlainAuth: settings.SMTP_ALLOW_PLAIN_AUTH === 'true',
    ...(logger ? { logger } : {}),
  };
}

const MESSAGE_ID = /^<[\x21-\x3B\x3D\x3F-\x7E]+@[A-Za-z0-9.-]+>$/;

export function createMailer(opts: MailerOptions): Mailer {
  const logger = opts.logger ?? silentLogger;
  // Nodemailer's messages do not contain the password, but a relay may echo what it got (AUTH included).
  const scrub = secretScrubber({ user: opts.user, password: opts.password });

  const secure = opts.secure ?? false;
  // Credentials never travel in clear unless that is asked for by name.
  const requireTLS = !!opts.user && !secure && !opts.allowPlainAuth;
  if (opts.user && !secure && opts.allowPlainAuth && !LOOPBACK.has(opts.host))
    logger.warn(
      { host: opts.host, port: opts.port },
      'SMTP credentials may be sent without TLS (SMTP_ALLOW_PLAIN_AUTH) to a relay off this host',
    );
  const transportOptions: SMTPPool.Options = {
    // Connections kept and reused (at most 5 at once, 100 mails each, the relay may close an idle one): a new
    // connection per mail waits for the relay's greeting (100 ms from the mail catcher, often more from a relay
    // that delays it on purpose) and a TLS handshake each time; every order sends at least one mail.
    pool: true,
    host: opts.host,
    port: opts.port,
    secure,
    requireTLS,
    auth: opts.user ? { user: opts.user, pass: opts.password ?? '' } : undefined,
    connectionTimeout: opts.connectionTimeout ?? 5000,
    greetingTimeout: opts.greetingTimeout ?? 5000,
    socketTimeout: opts.socketTimeout ?? 20000,
    // Nodemailer's own logger would print the SMTP dialogue, AUTH included: never enable it.
    logger: false,
    debug: false,
    disableFileAccess: true,
    disableUrlAccess: true,
  };
  const transport = nodemailer.createTransport(transportOptions);

  return {
    async send(msg) {
      if (!msg.to.length) throw new MailError('a mail needs at least one recipient', 'EENVELOPE');
      if (!MESSAGE_ID.test(msg.messageId))
        throw new MailError('the Message-ID is not of the form <id@domain>', 'EMESSAGE');
      const to = msg.to.map((a) => checkAddress(a, 'a To address'));
      const cc = (msg.cc ?? []).map((a) => checkAddress(a, 'a Cc address'));
      const from = checkAddress(msg.from, 'the From address');
      try {
        const info = await transport.sendMail({
          from,
          to,
          cc: cc.length ? cc : undefined,
          subject: oneLine(msg.subject, 250),
          text: msg.text,
          html: msg.html,
          messageId: msg.messageId,
        });
        // Nodemailer 10 types these as strings; older releases could give { address } objects.
        const accepted = (info.accepted as unknown[]).map((a) =>
          typeof a === 'string' ? a : String((a as { address?: unknown }).address),
        );
        logger.info(
          { messageId: msg.messageId, recipients: to.length + cc.length, accepted: accepted.length },
          'mail sent',
        );
        mails.inc({ result: 'sent' });
        return { messageId: msg.messageId, accepted };
      } catch (e) {
        const err = e as Error & { code?: string; responseCode?: number };
        const hint =
          requireTLS && err.code === 'ETLS'
            ? ' (credentials are sent only over TLS: the relay must offer STARTTLS, or take TLS from the first ' +
              'byte with SMTP_SECURE=true; SMTP_ALLOW_PLAIN_AUTH=true allows a relay without TLS)'
            : '';
        const message = scrub(
          `cannot send mail ${msg.messageId} through SMTP ${opts.host}:${opts.port}: ${err.message ?? String(e)}${hint}`,
        );
        logger.warn(
          { messageId: msg.messageId, code: err.code, responseCode: err.responseCode },
          'mail not sent',
        );
        mails.inc({ result: 'failed' });
        // A new error without `cause`: the original carries the SMTP transcript fields.
        throw new MailError(message, err.code, err.responseCode);
      }
    },
    close() {
      transport.close();
    },
  };
}
