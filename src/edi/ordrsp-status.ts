/**
 * What a vendor's order-response line means for the library: one VendorStatus and a sentence a
 * librarian can read, from the LIN action code (DE 1229), the EDItEUR order-line status (list 12B, old
 * files list 1B), the availability (list 8B), the quantities and the document type.
 */

export type VendorStatus =
  | 'accepted'
  | 'changed'
  | 'backordered'
  | 'not-yet-published'
  | 'out-of-print'
  | 'cancelled'
  | 'not-accepted'
  | 'shipped'
  | 'on-hold'
  | 'unknown';

export const VENDOR_STATUSES: readonly VendorStatus[] = [
  'accepted',
  'changed',
  'backordered',
  'not-yet-published',
  'out-of-print',
  'cancelled',
  'not-accepted',
  'shipped',
  'on-hold',
  'unknown',
];

/** DE 1229 as used in ORDRSP lines. */
export const ACTION_TEXT: Record<string, string> = {
  '1': 'added',
  '2': 'cancelled',
  '3': 'changed',
  '4': 'no action',
  '5': 'accepted',
  '6': 'accepted with change',
  '7': 'not accepted',
  '10': 'not found',
  '24': 'accepted with change',
};

/** EDItEUR list 8B, product availability. */
export const AVAILABILITY_TEXT: Record<string, string> = {
  NP: 'not yet published',
  OP: 'out of print',
  OR: 'out of print, replaced by a new edition',
  OB: 'temporarily out of stock',
  RP: 'reprinting',
  IP: 'in print',
  TU: 'temporarily unavailable',
  NK: 'not known to the vendor',
  AB: 'publication abandoned',
  MD: 'printed on demand',
};

/** EDItEUR list 12B (and the same numbers in the older list 1B), order line status. */
export const LINE_STATUS_TEXT: Record<string, string> = {
  '100': 'accepted',
  '200': 'not accepted',
  '220': 'cancelled',
  '221': 'cancelled: past the expiry date',
  '222': 'cancelled at the customer’s request',
  '223': 'cancelled: the vendor cannot supply',
  '400': 'backordered',
  '401': 'on order from the vendor’s supplier',
  '404': 'despatched from the vendor’s supplier',
  '800': 'already despatched',
  '900': 'cannot be traced',
  '999': 'on temporary hold',
};

export interface StatusInput {
  action?: string;
  lineStatus?: string;
  availability?: string;
  ordered?: number;
  despatched?: number;
  backordered?: number;
  expectedDate?: string;
  freeText?: string;
  /** PIA+3, an alternative edition the vendor offers. */
  substituteIsbn?: string;
  /** BGM 1001: 231, 23C (shelf-ready, i.e. despatched), 23S. */
  documentType?: string;
  /** BGM 1225: 29 accepted without amendment, 27 not accepted. */
  messageFunction?: string;
}

const OUT_OF_PRINT = new Set(['OP', 'OR', 'AB']);
const DELAYED = new Set(['OB', 'TU', 'RP']);
const CANCELLED_STATUS = new Set(['220', '221', '222', '223']);

/**
 * Precedence, first match wins (the most specific statement about the line comes first):
 *  1. the 12B/1B line status when it is definite: 800/404 shipped, 220–223 cancelled, 200/900
 *     not-accepted, 999 on-hold, 400 backordered. It names this line's state precisely, so it beats
 *     the coarser action code (Ingram sends action 2 with status 200, which means "not accepted").
 *  2. the action code's refusals: 2 cancelled, 7/10 not-accepted (Koha cancels on action 2).
 *  3. an outstanding quantity: QTY+83 > 0 is backordered, even with 8B NP or a partial despatch —
 *     the line stays open and the expected date (DTM+44) is what the library acts on.
 *  4. goods sent: QTY+12 > 0 or a 23C (shelf-ready despatch) response is shipped.
 *  5. the 8B availability: OP/OR/AB out-of-print, NP not-yet-published, OB/TU/RP backordered.
 *  6. plain acceptance or change: 12B 100/401 or action 5 accepted, action 3/6/24 changed,
 *     then the whole-message BGM function (29 accepted, 27 not-accepted); otherwise unknown.
 * A partial despatch with a backorder (QTY+12 1 of 4, status 400) is therefore 'backordered', and the
 * text says how many were despatched; callers still have `despatched` to receive those copies.
 */
export function deriveStatus(s: StatusInput): VendorStatus {
  const ls = s.lineStatus;
  if (ls === '800' || ls === '404') return 'shipped';
  if (ls !== undefined && CANCELLED_STATUS.has(ls)) return 'cancelled';
  if (ls === '200' || ls === '900') return 'not-accepted';
  if (ls === '999') return 'on-hold';
  if (ls === '400') return 'backordered';
  if (s.action === '2') return 'cancelled';
  if (s.action === '7' || s.action === '10') return 'not-accepted';
  if ((s.backordered ?? 0) > 0) return 'backordered';
  if ((s.despatched ?? 0) > 0 || s.documentType === '23C') return 'shipped';
  const av = s.availability;
  if (av !== undefined && OUT_OF_PRINT.has(av)) return 'out-of-print';
  if (av === 'NP') return 'not-yet-published';
  if (av !== undefined && DELAYED.has(av)) return 'backordered';
  if (ls === '100' || ls === '401' || s.action === '5') return 'accepted';
  if (s.action === '3' || s.action === '6' || s.action === '24') return 'changed';
  if (s.messageFunction === '29') return 'accepted';
  if (s.messageFunction === '27') return 'not-accepted';
  return 'unknown';
}

const HEADLINE: Record<VendorStatus, string> = {
  accepted: 'Accepted by the vendor',
  changed: 'Accepted by the vendor with changes',
  backordered: 'Backordered',
  'not-yet-published': 'Not yet published',
  'out-of-print': 'Out of print',
  cancelled: 'Cancelled by the vendor',
  'not-accepted': 'Not accepted by the vendor',
  shipped: 'Shipped',
  'on-hold': 'On hold at the vendor',
  unknown: 'Vendor response not understood',
};

function copies(n: number): string {
  return n === 1 ? '1 copy' : `${n} copies`;
}

/** The words a librarian reads in a report, e.g. "Backordered: 2 copies, expected 1997-11-20 (not yet published)". */
export function describeStatus(status: VendorStatus, s: StatusInput): string {
  const details: string[] = [];
  const reasons: string[] = [];
  const { ordered, despatched, backordered } = s;
  if (despatched !== undefined && despatched > 0) {
    details.push(
      ordered !== undefined && despatched !== ordered
        ? `${despatched} of ${ordered} despatched`
        : `${copies(despatched)} despatched`,
    );
  }
  if (backordered !== undefined && backordered > 0) {
    const of = ordered !== undefined && ordered !== backordered ? ` of ${ordered}` : '';
    details.push(
      status === 'backordered'
        ? `${backordered}${of} ${backordered === 1 && !of ? 'copy' : 'copies'}`
        : `${backordered}${of} backordered`,
    );
  } else if (
    status === 'backordered' &&
    despatched !== undefined &&
    despatched > 0 &&
    ordered !== undefined &&
    ordered > despatched
  ) {
    details.push(`${ordered - despatched} still to come`);
  }
  if (s.expectedDate !== undefined) details.push(`expected ${s.expectedDate}`);
  const headlineWords = HEADLINE[status].toLowerCase();
  const lsText = s.lineStatus !== undefined ? LINE_STATUS_TEXT[s.lineStatus] : undefined;
  if (lsText !== undefined && !headlineWords.includes(lsText)) reasons.push(lsText);
  else if (s.lineStatus !== undefined && lsText === undefined)
    reasons.push(`line status code ${s.lineStatus}`);
  const avText = s.availability !== undefined ? AVAILABILITY_TEXT[s.availability] : undefined;
  if (avText !== undefined && !headlineWords.includes(avText)) reasons.push(avText);
  else if (s.availability !== undefined && avText === undefined)
    reasons.push(`availability code ${s.availability}`);
  if (status === 'unknown' && s.action !== undefined) {
    reasons.push(`action code ${s.action}${ACTION_TEXT[s.action] ? ` (${ACTION_TEXT[s.action]})` : ''}`);
  }
  let text = HEADLINE[status];
  if (details.length > 0) text += ': ' + details.join(', ');
  if (reasons.length > 0) text += ` (${reasons.join('; ')})`;
  if (s.substituteIsbn !== undefined) text += `. Alternative edition offered: ISBN ${s.substituteIsbn}`;
  if (s.freeText) text += `. Vendor note: ${s.freeText}`;
  return text;
}
