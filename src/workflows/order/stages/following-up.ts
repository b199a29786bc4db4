/**
 * FOLLOWING_UP: waiting for the vendor's status (ORDRSP), the invoice (INVOIC) and the full record (overlay),
 * each with a deadline that alerts staff once; done when invoiced in full and overlaid, FAILED when followed for
 * the longest configured time. The news comes in by signal (state.ts); this loop only wakes and decides.
 *
 * It also reads the PO line every `poLineCheckEvery` (one GET per period, so the history stays small): Alma may
 * put the line In Review after the POST, or keep it there; staff hear of each entry into review (ALMA_IN_REVIEW)
 * and of a line left In Review past `inReviewWithin` (IN_REVIEW_LATE).
 */
import type { Alert } from '../../../order/types';
import { endFailed, messageOf } from '../endings';
import type { AlmaActivities } from '../proxies';
import type { OrderState } from '../state';

interface Deadline {
  alert: Alert;
  at: number;
  met: () => boolean;
  what: string;
}

/** At most this many checks of the PO line over the longest follow-up: ~10 history events each. */
const MAX_CHECKS = 500;

export async function followingUp(o: OrderState, alma?: AlmaActivities): Promise<'completed' | 'cancelled'> {
  o.setStage('FOLLOWING_UP');
  const { timing, order } = o.plan!;
  const s = o.status;
  const start = Date.now();
  const deadlines: Deadline[] = [
    {
      alert: 'STATUS_LATE',
      at: start + timing.statusWithinMs,
      met: () => !!s.vendorStatus,
      what: 'vendor order status (EDI ORDRSP)',
    },
    {
      alert: 'INVOICE_LATE',
      at: start + timing.invoiceWithinMs,
      met: () => s.invoices.length > 0,
      what: 'invoice (EDI INVOIC)',
    },
    {
      alert: 'RECORD_LATE',
      at: start + timing.recordWithinMs,
      met: () => s.recordOverlaid,
      what: 'full MARC record',
    },
  ];
  const endAt = start + timing.followAtMostMs;
  const open = () => deadlines.filter((d) => !d.met() && !s.alerts.includes(d.alert));

  // Plans from before the checks have no interval: those orders follow up as they did.
  const every = timing.poLineCheckEveryMs;
  const checking =
    alma !== undefined && every !== undefined && !!s.poLine && o.has('po-line-follow-up-checks');
  const interval = checking ? Math.max(every, Math.ceil(timing.followAtMostMs / MAX_CHECKS)) : Infinity;
  const lateWithin = timing.inReviewWithinMs ?? Infinity;
  let nextCheck = start + interval;
  /** When IN_REVIEW_LATE is due for the current entry into review (Infinity: not due). */
  const lateAt = () =>
    checking && o.inReview && o.inReviewSince !== undefined && o.reviewLateRaised < o.reviewEntries
      ? o.inReviewSince + lateWithin
      : Infinity;

  for (;;) {
    if (o.cancelled) return 'cancelled';
    if (o.vendorCancelledLate) {
      o.vendorCancels(s.vendorStatus);
      return 'cancelled';
    }
    if (s.quantityInvoiced >= order.quantity && s.recordOverlaid) return 'completed';
    let now = Date.now();
    for (const d of open()) {
      if (now >= d.at)
        o.raise(
          d.alert,
          `no ${d.what} for order ${s.orderId} (PO line ${s.poLine}) by ${new Date(d.at).toISOString()}`,
        );
    }
    if (now >= endAt) {
      return endFailed(
        o,
        { kind: 'follow-up-expired', message: 'followed for the longest configured time' },
        'FOLLOW_UP_EXPIRED',
        'followed for the longest configured time without being invoiced and catalogued',
      );
    }
    if (checking && (now >= nextCheck || now >= lateAt())) {
      // Read before deciding "late": the line may have left review since it was last read.
      await checkPoLine(o, alma, s.poLine!);
      if (o.cancelled) return 'cancelled';
      now = Date.now();
      nextCheck = now + interval;
      if (now >= lateAt()) {
        o.reviewLateRaised = o.reviewEntries;
        const why = s.alma?.alerts.join('; ') || 'no reason given';
        o.raise(
          'IN_REVIEW_LATE',
          `PO line ${s.poLine} has been In Review in Alma since ${s.alma?.inReviewSince ?? '?'}: ${why}`,
          o.reviewEntries > 1 ? `entry ${o.reviewEntries}` : undefined,
        );
      }
    }
    const next = Math.min(endAt, nextCheck, lateAt(), ...open().map((d) => d.at));
    await o.waitForNews(next);
  }
}

/** One reading of the PO line; a failed one is noted and tried again next period (the order goes on). */
export async function checkPoLine(o: OrderState, alma: AlmaActivities, poLine: string): Promise<void> {
  try {
    const reading = await alma.readPoLineState({ account: o.input.account, poLine });
    const before = o.status.alma?.status;
    const noted = o.readAlma(poLine, reading);
    if (!noted && reading.status !== undefined && reading.status !== before)
      o.note('PO line status in Alma', reading.statusDesc ?? reading.status);
  } catch (err) {
    o.note('PO line check failed', messageOf(err));
  }
}
