/** Polling until Alma has linked a bib to the PO line (Alma creates or matches it asynchronously). */
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { AlmaAccess } from '../institution/alma-access';
import { reviewOf } from './po-line';
import { toFailure } from './to-failure';
import { FailureType } from '../order/failures';
import type { PoLineReading } from './types';

export function bibActivities(deps: { alma: AlmaAccess }) {
  return {
    /**
     * One look: the PO line's MMS id, once it is there and the bib is readable. Otherwise a retryable
     * BibNotLinked failure: the workflow polls by activity retry at the account's interval.
     */
    async awaitBriefBib(input: {
      account: string;
      poLine: string;
    }): Promise<{ mmsId: string } & Partial<PoLineReading>> {
      const { client, institution } = deps.alma.forAccount(
        input.account,
        Context.current().cancellationSignal,
        'deferrable',
      );
      try {
        const line = await client.getPoLine(input.poLine);
        const mmsId = line.resource_metadata?.mms_id?.value;
        if (!mmsId) {
          throw ApplicationFailure.create({
            type: FailureType.BibNotLinked,
            message: `PO line ${input.poLine} has no bib linked yet`,
          });
        }
        await client.getBib(mmsId);
        // The PO line as Alma has it now: In Review may only show after the POST (Alma works asynchronously).
        return { mmsId, ...reviewOf(line, institution.statusCodes) };
      } catch (e) {
        const failure = toFailure(e);
        // A spent daily budget is no sign of a late bib: end this poll at once, so that the workflow waits for
        // the budget outside the poll's deadline and polls again after (no BIB_LATE for a parked poll).
        if (failure.type === FailureType.AlmaBudgetSpent) {
          throw ApplicationFailure.create({
            type: failure.type,
            message: failure.message,
            nonRetryable: true,
            details: failure.details ? [...failure.details] : [],
          });
        }
        throw failure;
      }
    },
  };
}
