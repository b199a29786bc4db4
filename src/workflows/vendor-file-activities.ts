/**
 * Activities the follow-up workflows (EDI and overlay) use, bound once per run with the account's retry timing
 * (from configuration, through the workflow input; defaults for runs started without it).
 */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';

/** How a follow-up run retries: first wait and longest wait, doubling in between. */
export interface RetryTiming {
  initialMs: number;
  maxMs: number;
}

export const DEFAULT_FOLLOW_UP_RETRY: RetryTiming = { initialMs: 5_000, maxMs: 120_000 };

const NOT_RETRIED = ['UnknownAccount', 'NoSource'];

export function followUpActivities(t: RetryTiming = DEFAULT_FOLLOW_UP_RETRY) {
  const retry = { initialInterval: t.initialMs, backoffCoefficient: 2, maximumInterval: t.maxMs };
  return {
    // Listing and fetching: network file servers blip; a few patient retries, then the run reports the failure.
    vendorFiles: proxyActivities<Activities>({
      startToCloseTimeout: '10 minutes',
      retry: { ...retry, maximumAttempts: 5, nonRetryableErrorTypes: NOT_RETRIED },
    }),
    // Reading a file and signalling its orders: idempotent (orders ignore news they already have), so retried.
    edi: proxyActivities<Activities>({
      startToCloseTimeout: '30 minutes',
      retry: { ...retry, maximumAttempts: 10, nonRetryableErrorTypes: NOT_RETRIED },
    }),
    // A long MARC file: heartbeats carry the progress, so a retry (worker lost, Alma down, budget spent) resumes.
    overlay: proxyActivities<Activities>({
      startToCloseTimeout: '6 hours',
      heartbeatTimeout: '2 minutes',
      scheduleToCloseTimeout: '2 days',
      retry: { ...retry, nonRetryableErrorTypes: NOT_RETRIED },
    }),
    // Reports to staff: a few tries; a run's result and log keep the report if the mail cannot go.
    runReports: proxyActivities<Activities>({
      startToCloseTimeout: '1 minute',
      retry: { ...retry, maximumAttempts: 5 },
    }),
  };
}
