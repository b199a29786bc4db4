/**
 * The order's activities, each bound once with its own timeouts and retries (written here, beside the reason
 * for each). The Alma ones need the account's plan, so they are bound once validation has returned it.
 */
import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { NON_RETRYABLE } from '../../order/failures';
import type { OrderPlan } from '../../order/types';

// Validation is pure and deterministic: its "problems" are a result, never an exception, so they are never
// retried; the retries below only cover a worker lost or overloaded mid-task (under load a task can wait long
// for the event loop). If every attempt fails, the order ends FAILED with VALIDATION_FAILED (stages/validating).
export const { validateOrderActivity } = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE },
});

// The same, as a local activity (orders started with LEAN_HISTORY): it runs on the worker that runs the workflow
// (createWorkers registers it there, whatever the worker's role), and its result is one marker in the history.
// A worker lost mid-check loses the workflow task with it; the next worker runs the check again (it is pure).
export const { validateOrderActivity: validateOrderLocally } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE },
});

// Mail: a few quick retries (the SMTP relay may blip), then the order goes on with an EMAIL_FAILED alert.
// The Message-ID is deterministic, so a retried send cannot reach the inbox as two different messages.
export const { sendConfirmation, notifyStaff } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  scheduleToCloseTimeout: '30 minutes',
  retry: {
    initialInterval: '5 seconds',
    backoffCoefficient: 2,
    maximumInterval: '5 minutes',
    maximumAttempts: 8,
  },
});

/** The institution's Alma activities: on its own task queue, where its API budget is enforced. */
export function almaActivities(plan: OrderPlan) {
  const taskQueue = plan.almaTaskQueue;
  // Creating and cancelling: retried through outages and rate limits (the activity itself makes the POST
  // exactly-once), never on a refused key or an invalid request, and only for as long as the account allows.
  const write = proxyActivities<Activities>({
    taskQueue,
    // One attempt may wait out a lost POST's settle time (more than once): plans say how long that can take.
    startToCloseTimeout: plan.timing.almaAttemptMs ?? '2 minutes',
    heartbeatTimeout: '1 minute',
    scheduleToCloseTimeout: plan.timing.almaGiveUpAfterMs,
    retry: {
      initialInterval: plan.timing.almaRetryInitialMs ?? 2_000,
      backoffCoefficient: 2,
      maximumInterval: plan.timing.almaRetryMaxMs ?? 600_000,
      nonRetryableErrorTypes: NON_RETRYABLE,
    },
  });
  // Polling for the brief bib by activity retry (fixed interval): the history stays small however long it takes.
  const pollFor = (withinMs: number) =>
    proxyActivities<Activities>({
      taskQueue,
      startToCloseTimeout: '1 minute',
      scheduleToCloseTimeout: withinMs,
      retry: {
        initialInterval: plan.timing.bibPollIntervalMs,
        backoffCoefficient: 1,
        maximumInterval: plan.timing.bibPollIntervalMs,
        nonRetryableErrorTypes: NON_RETRYABLE,
      },
    }).awaitBriefBib;
  // A follow-up check of the PO line: one GET, a few quick retries; a check that fails is tried next period.
  const check = proxyActivities<Activities>({
    taskQueue,
    startToCloseTimeout: '1 minute',
    scheduleToCloseTimeout: '10 minutes',
    retry: {
      initialInterval: plan.timing.almaRetryInitialMs ?? 2_000,
      backoffCoefficient: 2,
      maximumAttempts: 3,
      nonRetryableErrorTypes: NON_RETRYABLE,
    },
  });
  return {
    readPoLineState: check.readPoLineState,
    findDuplicates: check.findDuplicates,
    createPoLine: write.createPoLine,
    cancelPoLine: write.cancelPoLine,
    awaitBriefBib: pollFor(plan.timing.bibPollTimeoutMs),
    /** The poll again after a budget wait, with what is left of its deadline. */
    awaitBriefBibWithin: pollFor,
  };
}

export type AlmaActivities = ReturnType<typeof almaActivities>;
