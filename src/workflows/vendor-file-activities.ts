/**
 * Activities both follow-up workflows (EDI and overlay) use on the vendor's folder and for staff reports,
 * with their options bound once.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';

// Listing and fetching: network file servers blip; a few patient retries, then the run reports the failure.
export const vendorFiles = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  retry: {
    initialInterval: '5 seconds',
    backoffCoefficient: 2,
    maximumInterval: '2 minutes',
    maximumAttempts: 5,
  },
});

// Reports to staff: a few tries; a run's result and log keep the report if the mail cannot go.
export const runReports = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 5, initialInterval: '10 seconds' },
});
