/**
 * AWAITING_BIB: a first wait (Alma links the brief bib asynchronously), then polling until it is linked. A
 * cancellation stops the wait and the poll at once; a bib that never comes raises BIB_LATE and the order goes on.
 */
import { CancellationScope, condition, isCancellation } from '@temporalio/workflow';
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
  // What is left of the poll's deadline: time parked for a spent daily budget does not count against it.
  let pollLeftMs = o.plan!.timing.bibPollTimeoutMs;
  let poll = alma.awaitBriefBib;
  for (;;) {
    const started = Date.now();
    try {
      const bib = await unlessCancelled(o, () => poll({ account: o.input.account, poLine }));
      if (bib === CANCELLED) return 'cancelled';
      o.status.mmsId = bib.mmsId;
      o.setAttribute({ key: AlmaMmsId, value: bib.mmsId });
      o.note('brief bib linked', bib.mmsId);
      // Alma decides In Review after the POST's answer, too: read again here, alert once.
      if (bib.inReview !== undefined && o.has('in-review-read-later')) o.readAlma(poLine, bib);
      return 'linked';
    } catch (err) {
      const type = meaningOf(appFailure(err)?.type).type;
      if (type === FailureType.AlmaUnauthorised) return endFailedByAlma(o, err);
      if (type === FailureType.AlmaBudgetSpent && o.has('bib-poll-parks-for-budget')) {
        pollLeftMs -= Date.now() - started;
        const retryAt = budgetRetryAt(err);
        o.note(
          'bib poll parked',
          `the daily Alma budget is spent; polling again at ${new Date(retryAt).toISOString()}`,
        );
        if (await condition(() => o.cancelled, Math.max(1000, retryAt - Date.now()))) return 'cancelled';
        poll = alma.awaitBriefBibWithin(Math.max(pollLeftMs, o.plan!.timing.bibPollIntervalMs));
        continue;
      }
      o.raise('BIB_LATE', `no bib linked to PO line ${poLine} in time: ${messageOf(err)}`);
      return 'late';
    }
  }
}

/** When a budget-parked call may come back (the failure's detail), else a minute from now. */
function budgetRetryAt(err: unknown): number {
  const detail: unknown = appFailure(err)?.details?.[0];
  const at = typeof detail === 'object' && detail !== null ? Reflect.get(detail, 'retryAt') : undefined;
  return typeof at === 'number' ? at : Date.now() + 60_000;
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
