/**
 * Before ORDERING, per the account's duplicateCheck: is the title in Alma already (a PO line not this order's)?
 * `warn` raises POSSIBLE_DUPLICATE and goes on; `hold` waits in HELD until staff release it (update `release`)
 * or cancel it, and cancels it itself once duplicateHoldFor has passed (HOLD_EXPIRED). A check that cannot be
 * made counts as a possible duplicate (stricter: never buy blind when the library asked to be asked). When the
 * lines found lead to exactly one bib, the PO line is linked to it (returned mmsId). docs/order-path.md.
 */
import { condition } from '@temporalio/workflow';
import { describeFindings, type DuplicateFindings } from '../../../order/duplicates';
import type { OrderPlan } from '../../../order/types';
import { messageOf } from '../endings';
import type { AlmaActivities } from '../proxies';
import type { OrderState } from '../state';

export type DuplicateCheckOutcome = { go: true; mmsId?: string } | { go: false };

export async function duplicateCheck(
  o: OrderState,
  alma: AlmaActivities,
  check: NonNullable<OrderPlan['duplicateCheck']>,
): Promise<DuplicateCheckOutcome> {
  const order = o.plan!.order;
  let found: DuplicateFindings | undefined;
  let summary: string | undefined;
  try {
    found = await alma.findDuplicates({ account: o.input.account, order });
    if (found.matches.length) summary = `order ${order.orderId}: ${describeFindings(found)}`;
    else o.note('duplicate check', `nothing in Alma for ${found.searched}`, 'alma');
  } catch (err) {
    summary = `order ${order.orderId}: the duplicate check could not be made: ${messageOf(err)}`;
  }
  const mmsId = found?.mmsIds.length === 1 ? found.mmsIds[0] : undefined;
  if (summary === undefined) return { go: true };
  o.raise('POSSIBLE_DUPLICATE', summary);
  if (check.mode === 'warn') return { go: true, ...(mmsId ? { mmsId } : {}) };

  o.setStage('HELD');
  const decided = await condition(() => o.release !== undefined || o.cancelled, check.holdForMs);
  if (o.cancelled) return { go: false };
  if (!decided) {
    const days = Math.round((check.holdForMs / 86_400_000) * 10) / 10;
    o.raise(
      'HOLD_EXPIRED',
      `order ${order.orderId} was held as a possible duplicate and not released within ${days} day(s): cancelled`,
    );
    o.cancellation = { comment: 'held as a possible duplicate and not released in time', by: 'deadline' };
    return { go: false };
  }
  const r = o.release!;
  o.note('released', [r.by, r.comment].filter(Boolean).join(': ') || undefined, 'staff');
  return { go: true, ...(mmsId ? { mmsId } : {}) };
}
