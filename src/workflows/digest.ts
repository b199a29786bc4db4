/**
 * The daily digest of one account (started by its Schedule, src/temporal/schedules.ts, or by hand): one
 * activity collects what needs staff from Temporal's visibility, another mails it. Nothing to say: no mail.
 */
import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { isEmptyDigest } from '../digest/content';

const { collectDigest, sendDigest } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '10s', backoffCoefficient: 2, maximumInterval: '5m', maximumAttempts: 8 },
});

export interface DigestResult {
  account: string;
  day: string;
  /** Orders listed (each once) and vendor files listed. */
  orders: number;
  files: number;
  /** Absent when nothing was sent (nothing to say, or no staff address). */
  messageId?: string;
}

export async function digestWorkflow(input: { account: string }): Promise<DigestResult> {
  // The start time is in the history: a replay, or a retried activity, makes the same day's digest.
  const at = workflowInfo().startTime.toISOString();
  const digest = await collectDigest({ account: input.account, at });
  const orders = new Set(digest.sections.flatMap((s) => s.orders.map((o) => o.workflowId))).size;
  const files = digest.rejectedFiles.length + digest.unmatchedFiles.length;
  const base = { account: input.account, day: digest.day, orders, files };
  if (isEmptyDigest(digest)) return base;
  const sent = await sendDigest({ digest });
  return { ...base, ...sent };
}
