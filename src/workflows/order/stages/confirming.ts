/** CONFIRMING: the librarian's email, if the order asked for one; a mail that cannot go raises EMAIL_FAILED. */
import type { CreatedPoLine } from '../../../activities/types';
import { sendConfirmation, type AlmaActivities } from '../proxies';
import { messageOf } from '../endings';
import type { OrderState } from '../state';
import { checkPoLine } from './following-up';

export async function confirming(
  o: OrderState,
  created: CreatedPoLine,
  alma?: AlmaActivities,
): Promise<void> {
  o.setStage('CONFIRMING');
  const plan = o.plan!;
  if (!plan.email.confirm) {
    o.note('no confirmation asked for');
    return;
  }
  // Alma has said nothing of the line yet (a silent POST answer, no bib poll that read a status): one more
  // reading, so that the mail says what Alma says if it can; still nothing, and the mail says "being processed".
  if (alma && o.status.alma?.status === undefined && o.has('read-before-confirming')) {
    await checkPoLine(o, alma, created.number);
    // Cancelled during the reading: no "received" mail for a cancelled order (the order ends next).
    if (o.cancelled) return;
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
