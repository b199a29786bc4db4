/**
 * How an order ends early: FAILED (its error kept, staff alerted, the alert sent before it ends) or CANCELLED
 * (the PO line cancelled in Alma if there is one). Failures end the workflow as failed, so OASIS may place a
 * corrected order again under the same id (ALLOW_DUPLICATE_FAILED_ONLY); a cancelled order is a result.
 */
import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';
import { almaFailureDetails, meaningOf } from '../../order/failures';
import type { Alert, OrderError, OrderStatus } from '../../order/types';
import type { AlmaActivities } from './proxies';
import type { OrderState } from './state';

/** The ApplicationFailure behind an activity failure, if any. */
export function appFailure(err: unknown): ApplicationFailure | undefined {
  if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) return err.cause;
  if (err instanceof ApplicationFailure) return err;
  return undefined;
}

/** A failure's message, for people. */
export function messageOf(err: unknown): string {
  return appFailure(err)?.message ?? String(err);
}

export async function endFailed(
  o: OrderState,
  error: OrderError,
  alert: Alert,
  summary: string,
): Promise<never> {
  o.status.error = error;
  o.raise(alert, summary);
  o.setStage('FAILED');
  await o.alertsSent();
  throw ApplicationFailure.create({
    type: 'OrderFailed',
    nonRetryable: true,
    message: error.message,
    details: [o.status],
  });
}

/** An Alma step that failed for good: the failure table names the error kind and alert; Alma's code goes along. */
export function endFailedByAlma(o: OrderState, err: unknown): Promise<never> {
  const af = appFailure(err);
  const meaning = meaningOf(af?.type);
  const { code, trackingId } = almaFailureDetails(af?.details?.[0]);
  const message = messageOf(err);
  return endFailed(o, { kind: meaning.orderErrorKind, message, code, trackingId }, meaning.alert, message);
}

/** Ends the order CANCELLED; `why` is the comment Alma keeps on the cancelled PO line. */
export async function endCancelled(
  o: OrderState,
  alma: AlmaActivities | undefined,
  why: string,
): Promise<OrderStatus> {
  const { poLine } = o.status;
  if (poLine && alma) {
    // The cancellation waits on Alma before the stage is set: the PO line's attribute goes first.
    o.flushAttributes();
    try {
      await alma.cancelPoLine({
        account: o.input.account,
        poLine,
        reason: o.cancellation?.reason,
        comment: why,
      });
      o.note('PO line cancelled in Alma', poLine);
    } catch (err) {
      o.raise('CANCEL_FAILED', `the PO line ${poLine} could not be cancelled in Alma: ${messageOf(err)}`);
    }
  }
  o.setStage('CANCELLED');
  await o.alertsSent();
  return o.status;
}
