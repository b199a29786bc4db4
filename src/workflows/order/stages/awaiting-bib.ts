/**
 * AWAITING_BIB: a first wait (Alma links the brief bib asynchronously), then polling until it is linked. A
 * cancellation stops the wait and the poll at once; a bib that never comes raises BIB_LATE and the order goes on.
 */
import { CancellationScope, condition, isCancellation, upsertSearchAttributes } from '@temporalio/workflow';
import { FailureType, meaningOf } from '../../../order/failures';
import { AlmaMmsId } from '../../../order/search-attributes';
import type { AlmaActivities } from '../proxies';
import { appFailure, endFailedByAlma, messageOf } from '../endings';
import type { OrderState } from '../state';

/** Resolves 'cancelled' when a cancellation stopped the wait; the order then ends CANCELLED. */
export async function awaitingBib(
  o: OrderState,
  alma: AlmaActivities,
  poLine: string,
): Promise<'linked' | 'late' | 'cancelled'> {
  o.setStage('AWAITING_BIB');
  if (await condition(() => o.cancelled, o.plan!.timing.firstLookDelayMs)) return 'cancelled';
  try {
    const bib = await unlessCancelled(o, () => alma.awaitBriefBib({ account: o.input.account, poLine }));
    if (bib === CANCELLED) return 'cancelled';
    o.status.mmsId = bib.mmsId;
    upsertSearchAttributes([{ key: AlmaMmsId, value: bib.mmsId }]);
    o.note('brief bib linked', bib.mmsId);
    return 'linked';
  } catch (err) {
    if (meaningOf(appFailure(err)?.type).type === FailureType.AlmaUnauthorised)
      return endFailedByAlma(o, err);
    o.raise('BIB_LATE', `no bib linked to PO line ${poLine} in time: ${messageOf(err)}`);
    return 'late';
  }
}

const CANCELLED: unique symbol = Symbol('cancelled');

/** Runs an activity in its own scope and cancels it if the order is cancelled first. */
async function unlessCancelled<T>(o: OrderState, fn: () => Promise<T>): Promise<T | typeof CANCELLED> {
  const scope = new CancellationScope();
  const work = scope.run(fn);
  const winner = await Promise.race([
    work.then((v) => ({ v })),
    condition(() => o.cancelled).then((): typeof CANCELLED => CANCELLED),
  ]);
  if (winner !== CANCELLED) return winner.v;
  scope.cancel();
  await work.catch((e: unknown) => {
    if (!isCancellation(e)) throw e;
  });
  return CANCELLED;
}
