/**
 * FOLLOWING_UP: waiting for the vendor's status (ORDRSP), the invoice (INVOIC) and the full record (overlay),
 * each with a deadline that alerts staff once; done when invoiced in full and overlaid, FAILED when followed for
 * the longest configured time. The news comes in by signal (state.ts); this loop only wakes and decides.
 */
import type { Alert } from '../../../order/types';
import { endFailed } from '../endings';
import type { OrderState } from '../state';

interface Deadline {
  alert: Alert;
  at: number;
  met: () => boolean;
  what: string;
}

export async function followingUp(o: OrderState): Promise<'completed' | 'cancelled'> {
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
  for (;;) {
    if (o.cancelled) return 'cancelled';
    if (o.vendorCancelledLate) {
      o.vendorCancels(s.vendorStatus);
      return 'cancelled';
    }
    if (s.quantityInvoiced >= order.quantity && s.recordOverlaid) return 'completed';
    const now = Date.now();
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
    const next = Math.min(endAt, ...open().map((d) => d.at));
    await o.waitForNews(Math.max(1, next - now));
  }
}
