/** CONFIRMING: the librarian's email, if the order asked for one; a mail that cannot go raises EMAIL_FAILED. */
import type { CreatedPoLine } from '../../../activities/types';
import { sendConfirmation } from '../proxies';
import { messageOf } from '../endings';
import type { OrderState } from '../state';

export async function confirming(o: OrderState, created: CreatedPoLine): Promise<void> {
  o.setStage('CONFIRMING');
  const plan = o.plan!;
  if (!plan.email.confirm) {
    o.note('no confirmation asked for');
    return;
  }
  try {
    await sendConfirmation({
      plan,
      poLine: created.number,
      mmsId: o.status.mmsId,
      // What Alma says now: In Review may have been decided after the POST; nothing said yet, the mail says so.
      inReview: o.inReview,
      ...(o.status.alma ? { alma: o.status.alma } : {}),
    });
    o.note('confirmation emailed');
  } catch (err) {
    o.raise('EMAIL_FAILED', `the confirmation could not be sent: ${messageOf(err)}`);
  }
}
