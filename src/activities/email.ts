/** The librarian's confirmation and the staff alerts, by SMTP. */
import { ApplicationFailure } from '@temporalio/activity';
import { own } from '../config/lookup';
import type { Config } from '../config/schema';
import type { Logger } from '../logging';
import { alertsSent } from '../metrics';
import { renderConfirmation, renderStaffAlert, type Mailer } from '../mail';
import { FailureType } from '../order/failures';
import { alertMessageId, confirmationMessageId } from '../order/ids';
import type { ConfirmationInput, StaffAlertInput } from './types';

export function emailActivities(deps: { config: Config; mailer?: Mailer; logger: Logger }) {
  const mailer = () => {
    if (!deps.mailer)
      throw ApplicationFailure.create({
        type: FailureType.MailNotConfigured,
        message: 'no SMTP server is configured',
        nonRetryable: true,
      });
    return deps.mailer;
  };
  return {
    async sendConfirmation(input: ConfirmationInput): Promise<{ messageId: string }> {
      const { order } = input.plan;
      const acc = own(deps.config.accounts, order.account)!;
      const mail = renderConfirmation({
        order,
        accountName: input.plan.accountName,
        poLine: input.poLine,
        mmsId: input.mmsId,
        inReview: input.inReview,
        ...(input.alma ? { alma: input.alma } : {}),
      });
      const messageId = confirmationMessageId(order.account, order.orderId);
      await mailer().send({
        from: acc.email.from,
        to: [order.placedBy.email],
        cc: acc.email.staff,
        ...mail,
        messageId,
      });
      deps.logger.info({ account: order.account, orderId: order.orderId, messageId }, 'confirmation sent');
      return { messageId };
    },

    async notifyStaff(input: StaffAlertInput): Promise<void> {
      const acc = own(deps.config.accounts, input.account);
      if (!acc || acc.email.staff.length === 0) return;
      const mail = renderStaffAlert(input);
      await mailer().send({
        from: acc.email.from,
        to: acc.email.staff,
        ...mail,
        messageId: alertMessageId(input.account, input.orderId, input.alert, input.occurrence),
      });
      alertsSent.inc({ account: input.account, alert: input.alert });
    },
  };
}
