/** Mail: rendering, deterministic Message-IDs, SMTP sending and the local mail catcher. */
export { renderConfirmation, renderStaffAlert, renderReport, type RenderedMail } from './render';
export type { ConfirmationInput, StaffAlertInput, ReportInput } from './render';
export {
  createMailer,
  mailerOptionsFromSettings,
  MailError,
  type Mailer,
  type MailerOptions,
  type OutgoingMail,
  type SendResult,
} from './mailer';
export { startMailCatcher, type MailCatcher, type MailCatcherOptions, type CaughtMessage } from './catcher';
export { escapeHtml, oneLine } from './escape';
