/**
 * Reading a PO line's state during FOLLOWING_UP: Alma may put a line In Review (or take it out) long after the
 * POST, and its staff are told to work the review queue daily. One GET per call: the workflow decides how often.
 */
import { Context } from '@temporalio/activity';
import type { AlmaAccess } from '../institution/alma-access';
import { reviewOf } from './po-line';
import { toFailure } from './to-failure';
import type { PoLineReading, ReadPoLineInput } from './types';

export function poLineStateActivities(deps: { alma: AlmaAccess }) {
  return {
    /** What Alma says of the PO line now: its status (code and label), In Review or not, and its alerts. */
    async readPoLineState(input: ReadPoLineInput): Promise<PoLineReading> {
      // A reading can wait: below the budget's first floor it is held, and ordering keeps the calls left.
      const { client, institution } = deps.alma.forAccount(
        input.account,
        Context.current().cancellationSignal,
        'deferrable',
      );
      try {
        return reviewOf(await client.getPoLine(input.poLine), institution.statusCodes);
      } catch (e) {
        throw toFailure(e);
      }
    },
  };
}
