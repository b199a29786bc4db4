/** The daily digest to an account's staff: collected from Temporal's visibility, mailed when it says something. */
import { ApplicationFailure } from '@temporalio/activity';
import { own } from '../config/lookup';
import type { Config } from '../config/schema';
import { collectDigest as collect } from '../digest/collect';
import type { Digest } from '../digest/content';
import type { Logger } from '../logging';
import type { Mailer } from '../mail';
import { renderDigest } from '../mail/digest';
import { FailureType } from '../order/failures';
import { digestMessageId } from '../order/ids';
import type { Client } from '@temporalio/client';

/** Where staff open the Temporal UI, when the worker is not told (TEMPORAL_UI_URL): the local UI's default port. */
export const DEFAULT_DIGEST_UI_BASE = 'http://127.0.0.1:8233';

export function digestActivities(deps: {
  config: Config;
  mailer?: Mailer;
  logger: Logger;
  temporal?: Client;
  uiBaseUrl?: string;
}) {
  const account = (code: string) => {
    const acc = own(deps.config.accounts, code);
    if (!acc)
      throw ApplicationFailure.create({
        type: 'UnknownAccount',
        message: `account "${code}" is not in the configuration`,
        nonRetryable: true,
      });
    return acc;
  };
  return {
    /** What the account's digest says at `at` (ISO time: the digest workflow's start). */
    async collectDigest(input: { account: string; at: string }): Promise<Digest> {
      const acc = account(input.account);
      if (!deps.temporal) throw new Error('the digest needs a Temporal client in the activities');
      const inst = own(deps.config.institutions, acc.institution)!;
      return collect({
        client: deps.temporal,
        uiBase: deps.uiBaseUrl ?? DEFAULT_DIGEST_UI_BASE,
        account: input.account,
        at: new Date(input.at),
        timeZone: acc.digest?.timeZone ?? inst.timeZone,
      });
    },

    /** Mails the digest to `email.staff`; false (and no mail) when it is empty or there is no one to tell. */
    async sendDigest(input: { digest: Digest }): Promise<{ messageId?: string }> {
      const d = input.digest;
      const acc = account(d.account);
      const mail = renderDigest(d, acc.name);
      if (!mail || acc.email.staff.length === 0) return {};
      if (!deps.mailer)
        throw ApplicationFailure.create({
          type: FailureType.MailNotConfigured,
          message: 'no SMTP server is configured',
          nonRetryable: true,
        });
      const messageId = digestMessageId(d.account, d.day);
      await deps.mailer.send({ from: acc.email.from, to: acc.email.staff, ...mail, messageId });
      deps.logger.info({ account: d.account, day: d.day, messageId }, 'digest sent');
      return { messageId };
    },
  };
}
