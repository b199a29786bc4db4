/**
 * Sending mail over SMTP with nodemailer. One connection per message (mails are rare), short timeouts so a
 * dead relay fails an activity attempt quickly, and errors rewritten so the SMTP password can never leak.
 */
import nodemailer from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';
import { silentLogger, type Logger } from '../logging';
import { oneLine } from './escape';
import { secretScrubber } from './scrub';

export interface MailerOptions {
  host: string;
  port: number;
  /** TLS from the first byte (port 465). Otherwise STARTTLS is used when the server offers it. */
  secure?: boolean;
  user?: string;
  password?: string;
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

const MESSAGE_ID = /^<[\x21-\x3B\x3D\x3F-\x7E]+@[A-Za-z0-9.-]+>$/;

export function createMailer(opts: MailerOptions): Mailer {
  const logger = opts.logger ?? silentLogger;
  // Nodemailer's messages do not contain the password, but a relay may echo what it got (AUTH included).
  const scrub = secretScrubber({ user: opts.user, password: opts.password });

  const transportOptions: SMTPTransport.Options = {
    host: opts.host,
    port: opts.port,
    secure: opts.secure ?? false,
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
        return { messageId: msg.messageId, accepted };
      } catch (e) {
        const err = e as Error & { code?: string; responseCode?: number };
        const message = scrub(
          `cannot send mail ${msg.messageId} through SMTP ${opts.host}:${opts.port}: ${err.message ?? String(e)}`,
        );
        logger.warn(
          { messageId: msg.messageId, code: err.code, responseCode: err.responseCode },
          'mail not sent',
        );
        // A new error without `cause`: the original carries the SMTP transcript fields.
        throw new MailError(message, err.code, err.responseCode);
      }
    },
    close() {
      transport.close();
    },
  };
}
