/**
 * Turns Alma client errors into Temporal failures, by the one failure table (src/order/failures.ts): what is
 * retried, how soon, and what ends the order. Messages carry Alma's code and tracking id, never the key (the
 * client's errors hold no request options).
 */
import { ApplicationFailure } from '@temporalio/activity';
import { AlmaError } from '../alma/errors';
import { DailyBudgetExhausted } from '../institution/budget';
import { ALMA_ERROR_FAILURE, FAILURES, FailureType, type AlmaFailureDetails } from '../order/failures';

export function toFailure(err: unknown): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof DailyBudgetExhausted) {
    // Parked: the next attempt comes when the budget may ask Alma again (in the order calls were parked).
    return ApplicationFailure.create({
      type: FailureType.AlmaBudgetSpent,
      message: err.message,
      nextRetryDelay: Math.max(1000, err.retryAt - Date.now()),
      details: [{ retryAt: err.retryAt }],
    });
  }
  if (err instanceof AlmaError) {
    const type = ALMA_ERROR_FAILURE[err.kind];
    const details: AlmaFailureDetails[] = [
      { code: err.code, trackingId: err.trackingId, kind: err.kind, status: err.status },
    ];
    return ApplicationFailure.create({
      type,
      message: err.message,
      nonRetryable: !FAILURES[type].retryable,
      details,
      // No fixed delay, a 429 included: the activity's back-off decides (the budget already slowed the pace).
    });
  }
  return ApplicationFailure.create({
    type: FailureType.AlmaUnavailable,
    message: err instanceof Error ? err.message : String(err),
  });
}
