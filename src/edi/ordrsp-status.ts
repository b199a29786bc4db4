/**
 * What a vendor's order-response line means for the library: one VendorStatus and a sentence a
 * librarian can read, from the LIN action code (DE 1229), the EDItEUR order-line status (list 12B, old
 * files list 1B), the availability (list 8B), the quantities and the document type.
 */

import { own } from '../config/lookup';
import { vendorText } from './errors';

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

/*
 * EDItEUR code lists, from "EDI Implementation Guidelines, Code Lists", Issue 1, Version 1.2 (EDItEUR, February
 * 2010; editeur.org, "EDIfact eancom pdfs/codes draft feb 2010.pdf"; BIC keeps a machine-readable copy as
 * "EDIFACT-codelist-automation_-FINAL_2018.07.06.txt"). The texts are ours, in a librarian's words; the codes
 * are the lists' own, checked against the tables Koha keeps (Koha::Edifact::Line, translate_8B/translate_12B).
 */

/**
 * EDItEUR list 8B, product availability (FTX+LIN 4441 with 1131 "8B"). List 7B (reason for not supplying) is a
 * subset of it, read with the same table. Some vendors (Baker & Taylor) send their own numeric codes under 8B/7B:
 * they are not in the list, so the quantities decide and the code is quoted.
 */
export const AVAILABILITY_TEXT: Record<string, string> = {
  AB: 'publication abandoned',
  AD: 'not supplied by the vendor: apply direct to the publisher',
  AU: 'publisher address unknown',
  CS: 'status uncertain',
  FQ: 'only available abroad',
  HK: 'paperback out of print, hardback available',
  IB: 'in stock',
  IP: 'in print and available from the publisher',
  MD: 'printed on demand',
  NK: 'not known to the vendor',
  NN: 'the vendor does not supply this item',
  NP: 'not yet published',
  NQ: 'not stocked',
  NS: 'not sold separately',
  OB: 'temporarily out of stock',
  OF: 'this format out of print, another format available',
  OP: 'out of print',
  OR: 'out of print, replaced by a new edition',
  PK: 'hardback out of print, paperback available',
  PN: 'publisher no longer in business',
  RE: 'awaiting reissue',
  RF: 'refer to another publisher or distributor',
  RM: 'remaindered',
  RP: 'reprinting',
  RR: 'rights restricted: cannot be supplied in this market',
  SD: 'sold',
  SN: 'the vendor’s supplier cannot trace it',
  SO: 'pack or set not available: single items only',
  ST: 'stocktaking: temporarily unavailable',
  TO: 'only to order',
  TU: 'temporarily unavailable',
  UB: 'unobtainable from the vendor’s suppliers',
  UC: 'unavailable, a reprint is under consideration',
};

/** EDItEUR list 12B, order line status (the same numbers in the older list 1B). */
export const LINE_STATUS_TEXT: Record<string, string> = {
  '100': 'accepted',
  '101': 'held: price query, awaiting the library’s answer',
  '102': 'held: discount query, awaiting the library’s answer',
  '103': 'held: minimum order value not reached',
  '104': 'held: a firm order is required, awaiting the library’s answer',
  '110': 'accepted, a substitute product will be supplied',
  '200': 'not accepted',
  '201': 'not accepted: price query',
  '202': 'not accepted: discount query',
  '203': 'not accepted: minimum order value not reached',
  '204': 'not accepted: a firm order is required',
  '205': 'not accepted: the quoted promotion is invalid',
  '206': 'not accepted: the quoted promotion has ended',
  '207': 'not accepted: the library is not eligible for the quoted promotion',
  '210': 'not accepted: a substitute product is offered',
  '220': 'cancelled',
  '221': 'cancelled: past the expiry date',
  '222': 'cancelled at the customer’s request',
  '223': 'cancelled: the vendor cannot supply',
  '300': 'passed to another supplier',
  '301': 'passed to the second-hand department',
  '400': 'backordered',
  '401': 'on order from the vendor’s supplier',
  '402': 'on order from abroad',
  '403': 'backordered until the minimum order value is reached',
  '404': 'despatched from the vendor’s supplier',
  '405': 're-ordered: the vendor’s supplier sent the wrong item',
  '406': 're-ordered: the vendor’s supplier sent too few',
  '407': 're-ordered: the vendor’s supplier sent damaged items',
  '408': 're-ordered: the vendor’s supplier sent imperfect items',
  '409': 're-ordered: the vendor’s supplier cannot trace the order',
  '410': 'being processed by the vendor',
  '411': 'being processed by the vendor, awaiting the library',
  '412': 'held: awaiting the library’s instruction',
  '500': 'on hold: contact the vendor’s customer service',
  '800': 'already despatched',
  '900': 'cannot be traced',
  '901': 'held: note the title change',
  '902': 'held: note the later availability date',
  '903': 'held: note the price change',
  '999': 'on temporary hold',
};

export interface StatusInput {
  action?: string;
  lineStatus?: string;
  availability?: string;
  ordered?: number;
  despatched?: number;
  backordered?: number;
  /** QTY+85, quantity cancelled. */
  cancelled?: number;
  expectedDate?: string;
  freeText?: string;
  /** PIA+3, an alternative edition the vendor offers. */
  substituteIsbn?: string;
  /** BGM 1001: 231, 23C (shelf-ready, i.e. despatched), 23S. */
  documentType?: string;
  /** BGM 1225: 29 accepted without amendment, 27 not accepted. */
  messageFunction?: string;
}

// 8B codes by what they mean for the order; the others (IB, IP, MD: available) decide nothing alone.
const OUT_OF_PRINT = new Set(['OP', 'OR', 'AB', 'OF', 'PK', 'HK', 'RM']);
const DELAYED = new Set(['OB', 'TU', 'RP', 'RE', 'ST', 'UC', 'FQ', 'TO']);
const NOT_SUPPLIED = new Set(['AD', 'AU', 'NK', 'NN', 'NQ', 'NS', 'PN', 'RF', 'RR', 'SD', 'SN', 'SO', 'UB']);
// 12B codes by what they mean for the order.
const CANCELLED_STATUS = new Set(['220', '221', '222', '223']);
const REFUSED_STATUS = new Set(['200', '201', '202', '203', '204', '205', '206', '207', '210', '900']);
const HELD_STATUS = new Set(['101', '102', '103', '104', '411', '412', '500', '901', '902', '903', '999']);
const BACKORDER_STATUS = new Set(['400', '402', '403', '405', '406', '407', '408', '409']);
const ACCEPTED_STATUS = new Set(['100', '401', '410']);
const CHANGED_STATUS = new Set(['110', '300', '301']);

/**
 * Precedence, first match wins (the most specific statement about the line comes first):
 *  1. the 12B/1B line status when it is definite: 800/404 shipped, 220–223 cancelled, 200–210 and 900
 *     not-accepted, held codes (101–104, 411, 412, 500, 901–903, 999) on-hold, 400/402–409 backordered. It
 *     names this line's state precisely, so it beats the coarser action code (Ingram sends action 2 with
 *     status 200, which means "not accepted").
 *  2. the action code's refusals: 2 cancelled, 7/10 not-accepted (Koha cancels on action 2).
 *  3. an outstanding quantity: QTY+83 > 0 is backordered, even with 8B NP or a partial despatch —
 *     the line stays open and the expected date (DTM+44) is what the library acts on.
 *  4. goods sent: QTY+12 > 0 or a 23C (shelf-ready despatch) response is shipped.
 *  5. a cancelled quantity (QTY+85 > 0) with nothing sent or outstanding is cancelled.
 *  6. the 8B availability: out-of-print codes, NP not-yet-published, codes the vendor cannot supply
 *     not-accepted, delays backordered, CS on-hold.
 *  7. plain acceptance or change: 12B 100/401/410 or action 5 accepted, 12B 110/300/301 or action 3/6/24
 *     changed, then the whole-message BGM function (29 accepted, 27 not-accepted); otherwise unknown.
 * A partial despatch with a backorder (QTY+12 1 of 4, status 400) is therefore 'backordered', and the
 * text says how many were despatched; callers still have `despatched` to receive those copies.
 */
export function deriveStatus(s: StatusInput): VendorStatus {
  const ls = s.lineStatus;
  if (ls === '800' || ls === '404') return 'shipped';
  if (ls !== undefined && CANCELLED_STATUS.has(ls)) return 'cancelled';
  if (ls !== undefined && REFUSED_STATUS.has(ls)) return 'not-accepted';
  if (ls !== undefined && HELD_STATUS.has(ls)) return 'on-hold';
  if (ls !== undefined && BACKORDER_STATUS.has(ls)) return 'backordered';
  if (s.action === '2') return 'cancelled';
  if (s.action === '7' || s.action === '10') return 'not-accepted';
  if ((s.backordered ?? 0) > 0) return 'backordered';
  if ((s.despatched ?? 0) > 0 || s.documentType === '23C') return 'shipped';
  if ((s.cancelled ?? 0) > 0) return 'cancelled';
  const av = s.availability;
  if (av !== undefined && OUT_OF_PRINT.has(av)) return 'out-of-print';
  if (av === 'NP') return 'not-yet-published';
  if (av !== undefined && NOT_SUPPLIED.has(av)) return 'not-accepted';
  if (av !== undefined && DELAYED.has(av)) return 'backordered';
  if (av === 'CS') return 'on-hold';
  if ((ls !== undefined && ACCEPTED_STATUS.has(ls)) || s.action === '5') return 'accepted';
  if (
    (ls !== undefined && CHANGED_STATUS.has(ls)) ||
    s.action === '3' ||
    s.action === '6' ||
    s.action === '24'
  )
    return 'changed';
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
  if (s.cancelled !== undefined && s.cancelled > 0) {
    const of = ordered !== undefined && ordered !== s.cancelled ? ` of ${ordered}` : '';
    details.push(`${s.cancelled}${of} cancelled`);
  }
  if (s.expectedDate !== undefined) details.push(`expected ${s.expectedDate}`);
  const headlineWords = HEADLINE[status].toLowerCase();
  const lsText = s.lineStatus !== undefined ? own(LINE_STATUS_TEXT, s.lineStatus) : undefined;
  if (lsText !== undefined && !headlineWords.includes(lsText)) reasons.push(lsText);
  else if (s.lineStatus !== undefined && lsText === undefined)
    reasons.push(`line status code ${vendorText(s.lineStatus)}`);
  const avText = s.availability !== undefined ? own(AVAILABILITY_TEXT, s.availability) : undefined;
  if (avText !== undefined && !headlineWords.includes(avText)) reasons.push(avText);
  else if (s.availability !== undefined && avText === undefined)
    reasons.push(`availability code ${vendorText(s.availability)}`);
  if (status === 'unknown' && s.action !== undefined) {
    const actionText = own(ACTION_TEXT, s.action);
    reasons.push(`action code ${vendorText(s.action)}${actionText ? ` (${actionText})` : ''}`);
  }
  let text = HEADLINE[status];
  if (details.length > 0) text += ': ' + details.join(', ');
  if (reasons.length > 0) text += ` (${reasons.join('; ')})`;
  if (s.substituteIsbn !== undefined) text += `. Alternative edition offered: ISBN ${s.substituteIsbn}`;
  if (s.freeText) text += `. Vendor note: ${s.freeText}`;
  return text;
}
