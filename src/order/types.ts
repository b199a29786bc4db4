/**
 * The order's vocabulary, shared by the workflow, the activities and the client: stages, alerts, the
 * plan the validation step hands the workflow, the news the follow-up workflows signal, and the status.
 * Types and constants only (the workflow bundle imports it).
 */
import type { Order, Problem } from '../contract/order';
import type { TimelineEntry, TimelineSource } from './timeline';

/** Stage names are fixed: staff filter on them in the Temporal UI. In the order an order passes them. */
export const STAGES = [
  'VALIDATING',
  'REJECTED',
  /** Waiting for staff: a possible duplicate was found (account setting duplicateCheck: hold). */
  'HELD',
  'ORDERING',
  'AWAITING_BIB',
  'CONFIRMING',
  'FOLLOWING_UP',
  'COMPLETED',
  'CANCELLED',
  'FAILED',
] as const;
export type Stage = (typeof STAGES)[number];
/** The stages an order ends in: nothing changes it after these. */
export const FINAL_STAGES: ReadonlySet<Stage> = new Set<Stage>([
  'REJECTED',
  'COMPLETED',
  'CANCELLED',
  'FAILED',
]);

/**
 * Stages in which the order waits for staff whatever its alerts say (with any open alert, they are what
 * `rto ui-url --needs-attention` lists): FAILED wants someone to look (Alma refused, or gave up).
 */
export const NEEDS_STAFF_STAGES: ReadonlySet<Stage> = new Set<Stage>(['FAILED', 'HELD']);

export function isFinal(stage: Stage): boolean {
  return FINAL_STAGES.has(stage);
}

/** Alerts staff can filter on (search attribute OrderAlerts). */
export const ALERTS = [
  'STATUS_LATE',
  'INVOICE_LATE',
  'RECORD_LATE',
  'INVOICE_MISMATCH',
  'ALMA_IN_REVIEW',
  /** The PO line is still In Review `followUp.inReviewWithin` after it was first seen there. */
  'IN_REVIEW_LATE',
  'ALMA_UNAUTHORISED',
  'ALMA_REJECTED',
  'ALMA_UNAVAILABLE',
  'BIB_LATE',
  'EMAIL_FAILED',
  'VENDOR_CANCELLED',
  'VENDOR_PROBLEM',
  'FOLLOW_UP_EXPIRED',
  'CANCEL_FAILED',
  'VALIDATION_FAILED',
  /** Alma has the same title already (an open PO line or a holding): what was found is in the summary. */
  'POSSIBLE_DUPLICATE',
  /** A HELD order was neither released nor cancelled within duplicateHoldFor: it was cancelled. */
  'HOLD_EXPIRED',
] as const;
export type Alert = (typeof ALERTS)[number];

/** What the validation activity decides: the normalised order and the account's settings for it. */
export interface OrderPlan {
  order: Order;
  accountName: string;
  institution: string;
  /** Task queue of the institution's Alma activities (its API budget is enforced there). */
  almaTaskQueue: string;
  email: { confirm: boolean; staff: string[] };
  timing: {
    firstLookDelayMs: number;
    bibPollIntervalMs: number;
    bibPollTimeoutMs: number;
    statusWithinMs: number;
    invoiceWithinMs: number;
    recordWithinMs: number;
    followAtMostMs: number;
    /** How long creating the PO line may keep trying (daily budget, outage) before staff must step in. */
    almaGiveUpAfterMs: number;
    /** Retry back-off of the Alma steps (absent in plans of orders started before it was configurable). */
    almaRetryInitialMs?: number;
    almaRetryMaxMs?: number;
    /** How long one attempt of the PO line step may take, settle waits included (absent in older plans). */
    almaAttemptMs?: number;
    /** How often FOLLOWING_UP reads the PO line (absent in older plans: no reading). */
    poLineCheckEveryMs?: number;
    /** How long a line may stay In Review before IN_REVIEW_LATE (absent in older plans). */
    inReviewWithinMs?: number;
  };
  /** The duplicate check before ordering (absent when off, and in plans of orders from before it existed). */
  duplicateCheck?: { mode: 'warn' | 'hold'; holdForMs: number };
}

/** Staff let a HELD order go on to ORDERING (update `release`). */
export interface ReleaseRequest {
  by?: string;
  comment?: string;
}

export type ValidationOutcome = { ok: true; plan: OrderPlan } | { ok: false; problems: Problem[] };

/** Where a piece of news came from: a vendor file, and the place in it. */
export interface NewsSource {
  file: string;
  sha256?: string;
  message?: string;
  segment?: number;
  /** The line's number in the vendor's document (LIN), which a re-sent document keeps. */
  line?: string;
}

/** What a vendor says of an order line (src/edi/ordrsp-status.ts defines the meanings). */
export type { VendorStatus } from '../edi/ordrsp-status';
import type { VendorStatus } from '../edi/ordrsp-status';

export interface VendorStatusNews {
  status: VendorStatus;
  statusText: string;
  expectedDate?: string;
  quantityShipped?: number;
  quantityBackordered?: number;
  source: NewsSource;
}

export interface InvoiceNews {
  invoiceNumber: string;
  kind: 'invoice' | 'credit-note' | 'debit-note';
  quantity: number;
  unitPrice?: string;
  lineAmount?: string;
  currency?: string;
  /** Differences against the order found by the EDI workflow (quantity, price beyond tolerance, currency). */
  mismatches: string[];
  source: NewsSource;
}

export interface RecordOverlaidNews {
  mmsId: string;
  source: NewsSource;
}

export interface CancelRequest {
  reason?: string;
  comment?: string;
  by?: string;
}

export interface HistoryEntry {
  at: string;
  event: string;
  detail?: string;
  /** Who it came from, where the event alone does not tell (kept since `timeline-sources`; see ./timeline.ts). */
  source?: TimelineSource;
}

export interface OrderError {
  kind: string;
  message: string;
  code?: string;
  trackingId?: string;
}

/**
 * What Alma last said of the PO line's state, as read (the POST's answer, the bib poll, the follow-up checks).
 * Alma processes a new line asynchronously: until it has said something, `status` is absent.
 */
export interface AlmaLineState {
  /** The code of Alma's PO line status (e.g. ACTIVE, IN_REVIEW); absent while Alma has not said. */
  status?: string;
  /** Alma's label for it (e.g. "In Review"), when the answer gave one. */
  statusDesc?: string;
  inReview: boolean;
  /** Alma's alerts on the line (why it is In Review), as Alma words them. */
  alerts: string[];
  /** When the line was first seen In Review this time (absent when it is not In Review). */
  inReviewSince?: string;
  /** When Alma was last asked. */
  readAt: string;
}

export interface OrderStatus {
  workflowId: string;
  account: string;
  orderId: string;
  stage: Stage;
  poLine?: string;
  /** What Alma last said of the PO line (absent in orders from before it was kept). */
  alma?: AlmaLineState;
  mmsId?: string;
  alerts: Alert[];
  problems?: Problem[];
  error?: OrderError;
  vendorStatus?: VendorStatusNews;
  invoices: InvoiceNews[];
  quantityOrdered?: number;
  /** The list price of one copy, for invoice checks. */
  price?: { amount: string; currency: string };
  /** What the overlay writes into the configured 9XX fields. */
  funds?: string[];
  location?: string;
  notes?: string;
  quantityInvoiced: number;
  recordOverlaid: boolean;
  history: HistoryEntry[];
  /** The history as one timeline with sources (./timeline.ts), in the status query's answers. */
  timeline?: TimelineEntry[];
}
