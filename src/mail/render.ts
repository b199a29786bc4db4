/**
 * The mails this service sends: the librarian's order confirmation, staff alerts about an order, and run
 * reports. Each returns a subject safe for a header line plus matching plain-text and HTML bodies.
 */
import type { Order } from '../contract/order';
import { renderHtml, renderText, type MailDocument, type Row, type Section } from './document';
import { oneLine } from './escape';
import { formatAmount, multiplyAmount } from './money';

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

const SUBJECT_TITLE_MAX = 120;
const FOOTER =
  'Sent automatically by oasis-alma-rto (OASIS to Alma real-time ordering). Please do not reply.';

function render(subject: string, doc: MailDocument): RenderedMail {
  return { subject: oneLine(subject, 250), text: renderText(doc), html: renderHtml(doc) };
}

/** "2026-11-28T09:30:00+01:00" → "2026-11-28 09:30:00 +01:00" (the time as OASIS gave it, readable). */
function formatDateTime(iso: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}(?::\d{2})?)(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})$/i.exec(iso);
  if (!m) return iso;
  return `${m[1]} ${m[2]} ${m[3]!.toUpperCase() === 'Z' ? 'UTC' : m[3]}`;
}

function formatPercent(p: number): string {
  return `${Number.isInteger(p) ? p : Number(p.toFixed(4))}%`;
}

function row(label: string, value: string | number | undefined | null, multiline = false): Row[] {
  if (value === undefined || value === null) return [];
  const v = String(value);
  return v.trim() === '' ? [] : [{ label, value: v, multiline }];
}

export interface ConfirmationInput {
  order: Order;
  /** The account's display name (e.g. "University Library, Main Campus"). */
  accountName: string;
  /** The Alma PO line number, e.g. "POL-12345". */
  poLine: string;
  mmsId?: string;
  /** The PO line waits in Alma's review queue instead of going to the vendor at once. */
  inReview?: boolean;
  /**
   * What Alma has said of the line (its status code and label, its alerts). Absent, or without a status, while
   * Alma is still processing the new line: the mail then says it was created and is being processed, not
   * that it was ordered.
   */
  alma?: { status?: string; statusDesc?: string; alerts?: string[]; inReview?: boolean };
}

/** Where the line stands for the librarian: in review, in a status Alma named, or not said yet. */
function standing(input: ConfirmationInput): 'review' | 'known' | 'processing' {
  if (input.inReview || input.alma?.inReview) return 'review';
  return input.alma?.status ? 'known' : 'processing';
}

/** The confirmation the librarian who placed the order receives. */
export function renderConfirmation(input: ConfirmationInput): RenderedMail {
  const { order, accountName, poLine, mmsId } = input;
  const item = order.item;
  const currency = order.listPrice.currency;
  const each = formatAmount(order.listPrice.amount, currency);
  const total = multiplyAmount(order.listPrice.amount, order.quantity, currency);
  const copies = order.quantity === 1 ? '1 copy' : `${order.quantity} copies`;
  const shortTitle = oneLine(item.title, SUBJECT_TITLE_MAX);
  const where = standing(input);
  // Alma's own words (untrusted text: the document escapes it like every other value).
  const almaStatus = input.alma?.statusDesc || input.alma?.status;
  const almaAlerts = (input.alma?.alerts ?? []).filter((a) => a.trim() !== '');

  const subject =
    (order.rush ? '[RUSH] ' : '') +
    {
      review: `Order received, in review: ${shortTitle} (PO line ${poLine})`,
      known: `Order confirmed: ${shortTitle} (PO line ${poLine})`,
      processing: `Order received: ${shortTitle} (PO line ${poLine})`,
    }[where];

  const status = {
    review:
      `Your order has been created in Alma as PO line ${poLine}. It is waiting for review by the acquisitions staff before it is sent to the vendor.` +
      (almaAlerts.length ? ` Alma gives as the reason: ${almaAlerts.join('; ')}.` : ''),
    known: `Your order has been placed in Alma as PO line ${poLine} and will be sent to the vendor. Alma gives its status as: ${almaStatus ?? ''}.`,
    processing: `Your order has been created in Alma as PO line ${poLine} and is being processed there. Alma has not yet given its status; the acquisitions staff are told if it needs review.`,
  }[where];

  const sections: Section[] = [
    {
      heading: 'What was ordered',
      rows: [
        ...row('Title', item.title),
        ...row('Author', item.author),
        ...row('Publisher', item.publisher),
        ...row('Year', item.publicationYear),
        ...row('Edition', item.edition),
        ...row('ISBN', item.isbn),
        ...row('Format', item.format === 'ebook' ? 'E-book' : 'Print'),
        ...row('Quantity', order.quantity),
        ...row('Order type', order.orderType === 'standing' ? 'Standing order' : 'Firm order'),
      ],
    },
    {
      heading: 'Price',
      rows: [
        ...row('List price', `${each} ${currency} per copy`),
        ...row('Total', `${total} ${currency} (${copies})`),
      ],
    },
    {
      heading: order.fundDistribution.length === 1 ? 'Fund' : 'Funds',
      rows: order.fundDistribution.map((f) => ({ label: f.fund, value: formatPercent(f.percent) })),
    },
    {
      heading: 'Location',
      rows: order.location
        ? [
            ...row('Library', order.location.library),
            ...row('Shelving location', order.location.shelvingLocation),
          ]
        : [{ label: 'Location', value: item.format === 'ebook' ? 'none (e-book)' : 'not given' }],
    },
    {
      heading: 'In Alma',
      rows: [
        ...row('PO line', poLine),
        ...row('Bibliographic record (MMS ID)', mmsId),
        ...row('Status', where === 'processing' ? 'Being processed by Alma' : (almaStatus ?? 'In review')),
        ...row('Alma alerts', almaAlerts.length ? almaAlerts.join('; ') : undefined),
        ...row('Rush', order.rush ? 'Yes' : 'No'),
      ],
    },
    {
      heading: 'Notes',
      rows: [
        ...row('Note to vendor', order.notes?.vendor, true),
        ...row('Receiving note', order.notes?.receiving, true),
        ...row('Internal note', order.notes?.internal, true),
      ],
    },
    {
      heading: 'Order',
      rows: [
        ...row('OASIS order', order.orderId),
        ...row('Account', accountName === order.account ? accountName : `${accountName} (${order.account})`),
        ...row('Placed', formatDateTime(order.placedAt)),
        ...row('Placed by', `${order.placedBy.name} <${order.placedBy.email}>`),
        ...(order.interestedUsers?.length
          ? row('Interested users', order.interestedUsers.map((u) => u.primaryId).join(', '))
          : []),
      ],
    },
  ];

  return render(subject, {
    title: {
      review: 'Order received (in review)',
      known: 'Order confirmation',
      processing: 'Order received',
    }[where],
    paragraphs: [`Dear ${order.placedBy.name},`, status],
    sections,
    footer: FOOTER,
  });
}

export interface StaffAlertInput {
  account: string;
  orderId: string;
  workflowId: string;
  /** The alert code, e.g. STATUS_LATE or INVOICE_PRICE_MISMATCH. */
  alert: string;
  /** Which time this alert is raised, for alerts an order can raise more than once (e.g. per invoice line). */
  occurrence?: string;
  summary: string;
  details?: Record<string, string>;
}

/** An alert to the acquisitions staff about one order (late vendor status, price mismatch, ...). */
export function renderStaffAlert(input: StaffAlertInput): RenderedMail {
  const subject = `[oasis-alma-rto] ${input.alert}: order ${input.orderId} (${input.account})`;
  return render(subject, {
    title: `Alert ${input.alert}`,
    paragraphs: [input.summary],
    sections: [
      {
        heading: 'Order',
        rows: [
          ...row('Alert', input.alert),
          ...row('Account', input.account),
          ...row('OASIS order', input.orderId),
          ...row('Workflow', input.workflowId),
        ],
      },
      {
        heading: 'Details',
        rows: Object.entries(input.details ?? {}).flatMap(([k, v]) => row(k, v, true)),
      },
    ],
    footer: FOOTER,
  });
}

export interface ReportInput {
  title: string;
  lines: string[];
}

/** A run report for staff (e.g. an EDI or MARC file run): a title and one line per item. */
export function renderReport(input: ReportInput): RenderedMail {
  return render(`[oasis-alma-rto] ${input.title}`, {
    title: input.title,
    paragraphs: [],
    items: input.lines,
    sections: [],
    footer: FOOTER,
  });
}
