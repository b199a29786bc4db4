/**
 * One timeline per order: our stages, what Alma said of the PO line, the vendor's statuses and invoices, the
 * overlay, the alerts and the cancellations, each with its time and who it came from, in time order.
 *
 * Derived from what the workflow already keeps (its history entries and Alma's last reading), so orders from
 * before the timeline existed get one too: the source of an entry is the one its event names (the event names
 * are the workflow's fixed vocabulary, src/workflows/order), unless the entry says it itself (`source`, kept
 * since `timeline-sources`). Pure and deterministic: the status query (workflow bundle) and the client use it.
 */
import type { HistoryEntry, OrderStatus } from './types';

/** Who an entry came from. */
export const TIMELINE_SOURCES = ['oasis', 'rto', 'alma', 'vendor', 'staff', 'intake'] as const;
/**
 * `oasis`: the order as OASIS sent it; `rto`: this workflow (stages, alerts, what it did in Alma);
 * `alma`: what Alma said of the PO line, as read; `vendor`: the vendor's files (ORDRSP, INVOIC);
 * `staff`: a person (the CLI, a signal from the Temporal UI); `intake`: a caller of the HTTP intake.
 */
export type TimelineSource = (typeof TIMELINE_SOURCES)[number];

export type TimelineKind =
  | 'received'
  | 'stage'
  | 'alma'
  | 'vendor-status'
  | 'invoice'
  | 'overlay'
  | 'alert'
  | 'cancellation'
  | 'event';

export interface TimelineEntry {
  /** ISO 8601 time, the workflow's clock when it learnt or did it. */
  at: string;
  source: TimelineSource;
  kind: TimelineKind;
  /** What happened, in a few words (e.g. `stage ORDERING`, `vendor status accepted`). */
  what: string;
  detail?: string;
}

/** The source a cancellation's `by` names (the CLI says `cli`, the intake `http`, the vendor `vendor`). */
export function sourceOfRequester(by: string | undefined): TimelineSource {
  if (by === 'vendor') return 'vendor';
  if (by === 'http') return 'intake';
  return 'staff';
}

const INVOICE_EVENT = /^(invoice|credit-note|debit-note) /;

/** Source and kind of one history entry, by its event. */
function classify(h: HistoryEntry): { source: TimelineSource; kind: TimelineKind } {
  const e = h.event;
  if (e === 'received') return { source: 'oasis', kind: 'received' };
  if (e.startsWith('stage ')) return { source: 'rto', kind: 'stage' };
  if (e.startsWith('alert ')) return { source: 'rto', kind: 'alert' };
  if (e.startsWith('vendor status ')) return { source: 'vendor', kind: 'vendor-status' };
  if (INVOICE_EVENT.test(e)) return { source: 'vendor', kind: 'invoice' };
  if (e === 'record overlaid') return { source: 'rto', kind: 'overlay' };
  if (e === 'PO line status in Alma' || e === 'PO line out of review' || e === 'brief bib linked')
    return { source: 'alma', kind: 'alma' };
  if (e === 'cancellation requested')
    // Older entries keep the requester only as the detail's first part ("cli: reason: comment").
    return { source: sourceOfRequester(h.detail?.split(':')[0]), kind: 'cancellation' };
  return { source: 'rto', kind: 'event' };
}

/** The order's timeline, oldest first (entries of the same time in the order they happened). */
export function orderTimeline(s: Pick<OrderStatus, 'history' | 'alma'>): TimelineEntry[] {
  const entries: TimelineEntry[] = (s.history ?? []).map((h) => {
    const c = classify(h);
    return {
      at: h.at,
      source: h.source ?? c.source,
      kind: c.kind,
      what: h.event,
      ...(h.detail ? { detail: h.detail } : {}),
    };
  });
  // Orders from before every reading was noted: Alma's last word, if no entry says it, at the time it is known.
  const a = s.alma;
  const said = a?.statusDesc ?? a?.status;
  if (a && said !== undefined) {
    const noted = entries.some(
      (e) => e.kind === 'alma' && e.what === 'PO line status in Alma' && e.detail === said,
    );
    if (!noted)
      entries.push({
        at: a.inReviewSince ?? a.readAt,
        source: 'alma',
        kind: 'alma',
        what: 'PO line status in Alma',
        detail: `${said}${a.alerts.length ? ` (${a.alerts.join('; ')})` : ''}, as last read at ${a.readAt}`,
      });
  }
  // Stable: Array.prototype.sort keeps equal elements in place.
  return entries.sort((x, y) => (x.at < y.at ? -1 : x.at > y.at ? 1 : 0));
}
