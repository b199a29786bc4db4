/** The workflow's first step: the order checked again against the contract and the account (the authority). */
import { own } from '../config/lookup';
import type { Config } from '../config/schema';
import { validateOrder } from '../contract/validate';
import { almaTaskQueue } from '../order/ids';
import { settleTimeOf } from './po-line';
import type { ValidationOutcome } from '../order/types';

export function validateActivities(deps: { config: Config; taskQueue: string }) {
  return {
    async validateOrderActivity(raw: unknown): Promise<ValidationOutcome> {
      const result = validateOrder(raw, deps.config);
      if (!result.ok) return result;
      const order = result.order;
      const acc = own(deps.config.accounts, order.account)!;
      const inst = own(deps.config.institutions, acc.institution)!;
      const f = acc.followUp;
      return {
        ok: true,
        plan: {
          order,
          accountName: acc.name,
          institution: acc.institution,
          almaTaskQueue: almaTaskQueue(deps.taskQueue, acc.institution),
          email: { confirm: order.emailConfirmation, staff: acc.email.staff },
          timing: {
            firstLookDelayMs: f.firstLookDelay,
            bibPollIntervalMs: f.bibPollInterval,
            bibPollTimeoutMs: f.bibPollTimeout,
            statusWithinMs: f.statusWithin,
            invoiceWithinMs: f.invoiceWithin,
            recordWithinMs: f.recordWithin,
            followAtMostMs: f.followAtMost,
            poLineCheckEveryMs: f.poLineCheckEvery,
            inReviewWithinMs: f.inReviewWithin,
            // A spent daily budget waits for the reset: allow two days before staff must step in.
            almaGiveUpAfterMs: Math.max(2 * 86_400_000, inst.requestTimeout * 10),
            almaRetryInitialMs: inst.retryInitial,
            almaRetryMaxMs: inst.retryMax,
            // Up to three settle waits (an earlier attempt's POST, then two lost answers) and the calls between.
            almaAttemptMs: 3 * settleTimeOf(inst) + 10 * inst.requestTimeout,
          },
          ...(acc.duplicateCheck !== 'off'
            ? { duplicateCheck: { mode: acc.duplicateCheck, holdForMs: acc.duplicateHoldFor } }
            : {}),
        },
      };
    },
  };
}
