/**
 * One OASIS order, from Express Checkout until it is invoiced and catalogued (or cancelled, or failed).
 *
 *   VALIDATING → (HELD, a possible duplicate waiting for staff) → ORDERING (PO line in Alma, exactly once) → AWAITING_BIB (wait, then poll until the brief bib
 *   is linked) → CONFIRMING (email the librarian) → FOLLOWING_UP (vendor status, invoice, record overlay,
 *   with deadlines that alert staff) → COMPLETED.  REJECTED, CANCELLED and FAILED end it early.
 *
 * The state and its message handlers are in ./state.ts, one function per stage in ./stages, the ways of ending
 * early in ./endings.ts, the activities and their options in ./activities.ts. docs/order-path.md draws it.
 * Every duration comes from the plan the validation activity returns (the account's configuration), so tests
 * run a whole order in seconds. No I/O, clock or randomness here: Temporal's APIs only.
 */
import { allHandlersFinished, condition } from '@temporalio/workflow';
import type { OrderStatus } from '../../order/types';
import { almaActivities } from './proxies';
import { endCancelled } from './endings';
import { OrderState, type OrderWorkflowInput } from './state';
import { awaitingBib } from './stages/awaiting-bib';
import { confirming } from './stages/confirming';
import { duplicateCheck } from './stages/duplicate-check';
import { followingUp } from './stages/following-up';
import { ordering } from './stages/ordering';
import { validating } from './stages/validating';

export type { OrderWorkflowInput } from './state';

export async function orderWorkflow(input: OrderWorkflowInput): Promise<OrderStatus> {
  const o = new OrderState(input);
  o.listen();
  try {
    return await run(o);
  } finally {
    // An update (cancelOrder) still answering must get its answer before the workflow closes.
    await condition(allHandlersFinished);
  }
}

async function run(o: OrderState): Promise<OrderStatus> {
  const plan = await validating(o);
  const alma = almaActivities(plan);
  if (o.cancelled) return endCancelled(o, alma, 'cancelled before ordering');

  // Plans from before the setting (and accounts with it off) have no duplicateCheck: no marker, no check.
  let mmsId: string | undefined;
  if (plan.duplicateCheck && o.has('duplicate-check')) {
    // The check waits on Alma before any stage is set: the attributes validation set go first.
    o.flushAttributes();
    const checked = await duplicateCheck(o, alma, plan.duplicateCheck);
    if (!checked.go) return endCancelled(o, alma, o.cancelComment('cancelled while held'));
    mmsId = checked.mmsId;
    if (o.cancelled) return endCancelled(o, alma, o.cancelComment('cancelled before ordering'));
  }

  const created = await ordering(o, alma, mmsId);
  if (o.cancelled) return endCancelled(o, alma, o.cancelComment('cancelled while ordering'));

  if ((await awaitingBib(o, alma, created.number)) === 'cancelled')
    return endCancelled(o, alma, o.cancelComment('cancelled'));
  // A cancellation that arrived while the bib was looked for: no "ordered" email for a cancelled order.
  if (o.has('cancel-before-confirming') && o.cancelled)
    return endCancelled(o, alma, o.cancelComment('cancelled'));

  await confirming(o, created, alma);
  // A cancellation that arrived while the mail was being sent ends the order here, not after FOLLOWING_UP begins.
  if (o.has('cancel-after-confirming') && o.cancelled)
    return endCancelled(o, alma, o.cancelComment('cancelled'));
  if ((await followingUp(o, alma)) === 'cancelled')
    return endCancelled(o, alma, o.cancelComment('cancelled'));

  o.setStage('COMPLETED');
  await o.alertsSent();
  return o.status;
}
