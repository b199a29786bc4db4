/**
 * What an account's daily digest says (collected from Temporal's visibility by ./collect.ts, rendered by
 * src/mail/digest.ts): the orders that need staff, by why, and the vendor files of the last day that did not
 * go through. Plain data: it travels from one activity to the next through the workflow.
 */

/** The digest's sections of orders, each chosen by the alerts an order carries (OrderAlerts). */
export const ORDER_SECTIONS = [
  { key: 'inReview', heading: 'In Review in Alma', alerts: ['ALMA_IN_REVIEW', 'IN_REVIEW_LATE'] },
  {
    key: 'late',
    heading: 'Late: vendor status, invoice or record',
    alerts: ['STATUS_LATE', 'INVOICE_LATE', 'RECORD_LATE'],
  },
  {
    key: 'duplicates',
    // A HELD one buys nothing until staff act (docs/order-path.md, HELD).
    heading: 'Possible duplicates (HELD ones wait for release)',
    alerts: ['POSSIBLE_DUPLICATE'],
  },
] as const;

export type OrderSectionKey = (typeof ORDER_SECTIONS)[number]['key'] | 'otherAlerts';

/** Alerts the named sections cover; any other open alert puts the order under "Other open alerts". */
export const SECTION_ALERTS: ReadonlySet<string> = new Set(ORDER_SECTIONS.flatMap((s) => [...s.alerts]));

export interface DigestOrder {
  orderId: string;
  workflowId: string;
  stage: string;
  poLine?: string;
  alerts: string[];
  /** The order's title as OASIS sent it (untrusted text), when it could be read. */
  title?: string;
  /** The Temporal UI's list filtered to this order. */
  url: string;
}

export interface DigestOrderSection {
  key: OrderSectionKey;
  heading: string;
  orders: DigestOrder[];
  /** More orders matched than are listed. */
  more: number;
  /** The Temporal UI's list of this section's orders of the account. */
  url: string;
}

export interface DigestFile {
  /** The file's name as the vendor gave it (untrusted text). */
  name: string;
  workflowId: string;
  closedAt: string;
  /** Why it could not be read (rejected files). */
  error?: string;
  /** Where it was moved on the server (rejected/…). */
  movedTo?: string;
  unmatchedTotal: number;
  /** The first unmatched lines, as the EDI report words them. */
  unmatched: string[];
  url: string;
}

export interface Digest {
  account: string;
  /** The day the digest is for (YYYY-MM-DD in `timeZone`): its Message-ID is made of it. */
  day: string;
  timeZone: string;
  sections: DigestOrderSection[];
  rejectedFiles: DigestFile[];
  unmatchedFiles: DigestFile[];
  /** EDI files looked at: those closed since this time. */
  filesSince: string;
}

/** Nothing to say: no mail. */
export function isEmptyDigest(d: Digest): boolean {
  return (
    d.sections.every((s) => s.orders.length === 0) &&
    d.rejectedFiles.length === 0 &&
    d.unmatchedFiles.length === 0
  );
}

/** The day (YYYY-MM-DD) a moment falls on in a time zone. */
export function dayIn(at: Date, timeZone: string): string {
  // en-CA formats dates as YYYY-MM-DD.
  return new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(at);
}
