/**
 * ORDERING: the PO line in Alma, exactly once (the activity searches before it posts, and waits out a POST that
 * may still be in flight). A refusal or an outage past the account's patience ends the order FAILED.
 */
import type { CreatedPoLine } from '../../../activities/types';
import { AlmaPoLine } from '../../../order/search-attributes';
import type { AlmaActivities } from '../proxies';
import { endFailedByAlma } from '../endings';
import type { OrderState } from '../state';

/** `mmsId`: the one bib the duplicate check found, for Alma to link the line to. */
export async function ordering(o: OrderState, alma: AlmaActivities, mmsId?: string): Promise<CreatedPoLine> {
  o.setStage('ORDERING');
  let created: CreatedPoLine;
  try {
    created = await alma.createPoLine({
      account: o.input.account,
      order: o.plan!.order,
      ...(mmsId ? { mmsId } : {}),
    });
  } catch (err) {
    return endFailedByAlma(o, err);
  }
  o.status.poLine = created.number;
  o.setAttribute({ key: AlmaPoLine, value: created.number });
  // Alma may answer the POST before it has processed the line: no status then, and none is assumed.
  o.note(
    created.found ? 'PO line found (an earlier attempt had created it)' : 'PO line created',
    `${created.number} (${created.statusDesc ?? created.status ?? 'Alma has not said its status yet'})`,
  );
  o.readAlma(created.number, created);
  return created;
}
