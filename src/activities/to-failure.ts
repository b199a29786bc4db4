/**
 * Turns Alma client errors into Temporal failures: what is retried, how soon, and what ends the order.
 * Messages carry Alma's code and tracking id, never the key (the client's errors hold no request options).
 */
import { ApplicationFailure } from '@temporalio/activity';
import { AlmaError } from '../alma/errors';
import { DailyBudgetExhausted } from '../institution/budget';
import { FailureType } from './types';

export function toFailure(err: unknown): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof DailyBudgetExhausted) {
    // Do not hammer: the next attempt is scheduled for the reset, and the order simply waits.
    return ApplicationFailure.create({
      type: FailureType.AlmaUnavailable,
      message: err.message,
      nextRetryDelay: Math.max(1000, err.resumeAt - Date.now()),
    });
  }
  if (err instanceof AlmaError) {
    const details = [{ code: err.code, trackingId: err.trackingId, kind: err.kind, status: err.status }];
    switch (err.kind) {
      case 'unauthorised':
        return ApplicationFailure.create({
          type: FailureType.AlmaUnauthorised,
          message: err.message,
          nonRetryable: true,
          details,
        });
      case 'invalid-request':
        return ApplicationFailure.create({
          type: FailureType.AlmaInvalidRequest,
          message: err.message,
          nonRetryable: true,
          details,
        });
      case 'not-found':
        return ApplicationFailure.create({
          type: FailureType.AlmaNotFound,
          message: err.message,
          nonRetryable: true,
          details,
        });
      case 'rate-limited':
        return ApplicationFailure.create({
          type: FailureType.AlmaUnavailable,
          message: err.message,
          details,
          nextRetryDelay: 1000,
        });
      case 'daily-budget':
        return ApplicationFailure.create({
          type: FailureType.AlmaUnavailable,
          message: err.message,
          details,
          nextRetryDelay: 15 * 60_000,
        });
      default:
        return ApplicationFailure.create({
          type: FailureType.AlmaUnavailable,
          message: err.message,
          details,
        });
    }
  }
  return ApplicationFailure.create({
    type: FailureType.AlmaUnavailable,
    message: (err as Error)?.message ?? String(err),
  });
}
