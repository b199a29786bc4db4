/**
 * What one order knows, and the messages that change it: the status the query answers, the one cancellation
 * (asked for by the library, by signal or update, or announced by the vendor), and the news the follow-up
 * workflows signal. The stages (./stages) read and change it; only handlers here change it between awaits.
 */
import {
  CancellationScope,
  condition,
  isCancellation,
  log,
  patched,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import {
  cancelSignal,
  cancelUpdate,
  invoiceSignal,
  recordOverlaidSignal,
  releaseUpdate,
  statusQuery,
  vendorStatusSignal,
} from '../../order/messages';
import { OasisAccount, OasisOrderId, OrderAlerts, OrderStage } from '../../order/search-attributes';
import {
  isFinal,
  type Alert,
  type CancelRequest,
  type InvoiceNews,
  type OrderPlan,
  type OrderStatus,
  type RecordOverlaidNews,
  type ReleaseRequest,
  type Stage,
  type VendorStatusNews,
} from '../../order/types';
import { orderTimeline, sourceOfRequester, type TimelineSource } from '../../order/timeline';
import type { PoLineReading } from '../../activities/types';
import { notifyStaff } from './proxies';

export interface OrderWorkflowInput {
  /** The order as OASIS sent it: validated again here, since the workflow is the authority. */
  order: unknown;
  account: string;
  orderId: string;
}

/**
 * One marker for the changes made to keep an order's history short (docs/order-path.md, "History size"): the
 * validation as a local activity, search attributes upserted together, the follow-up timer kept while its time
 * stands, and every older patch of this workflow taken as applied without a marker of its own. Each `patched()`
 * costs an order two history events (the marker and the TemporalChangeVersion upsert the SDK adds), so orders
 * started with this marker record only it; orders started before it replay every older patch as they did.
 */
export const LEAN_HISTORY = 'lean-history';

/** Vendor statuses that end the order (the vendor will not supply it). */
const VENDOR_ENDS = new Set(['cancelled', 'not-accepted']);
/** Vendor statuses staff must hear about. */
const VENDOR_ALERTS = new Set(['cancelled', 'not-accepted', 'out-of-print']);

export class OrderState {
  readonly status: OrderStatus;
  /** Set once: the first cancellation wins, and none is taken once the order has ended. */
  cancellation?: CancelRequest;
  /** The account's settings for this order, once validation has returned them (whom to alert). */
  plan?: OrderPlan;
  /** Whether Alma has the PO line In Review, as last read (the POST's answer, the bib poll, the checks). */
  inReview = false;
  /** How many times the line went In Review (each entry alerts staff once, with its own Message-ID). */
  reviewEntries = 0;
  /** When the line was seen going In Review this time (ms), while it is In Review. */
  inReviewSince?: number;
  /** The entry into review IN_REVIEW_LATE was last raised for (once per entry). */
  reviewLateRaised = 0;
  /**
   * A vendor cancellation seen by code from before `vendor-cancel-anywhere`: those orders act on it in
   * FOLLOWING_UP only, as they did when their histories were written.
   */
  vendorCancelledLate = false;
  /** Staff's release of a HELD order (a possible duplicate), once given. */
  release?: ReleaseRequest;
  /** Started with LEAN_HISTORY (set first thing in `listen`, before any handler can run). */
  lean = false;
  private newsArrived = false;
  private readonly staffAlerts: Promise<void>[] = [];
  /** Search attributes waiting to go with the next stage or alert upsert (lean orders: one event for both). */
  private pendingAttributes: SearchAttributeUpdatePair[] = [];
  /** The follow-up's wake-up timer, kept across waits while the time it was set for stands (lean orders). */
  private alarm?: { at: number; fired: boolean; scope: CancellationScope; done: Promise<void> };

  constructor(readonly input: OrderWorkflowInput) {
    this.status = {
      workflowId: workflowInfo().workflowId,
      account: input.account,
      orderId: input.orderId,
      stage: 'VALIDATING',
      alerts: [],
      invoices: [],
      quantityInvoiced: 0,
      recordOverlaid: false,
      history: [],
    };
  }

  /**
   * Whether the change behind an older patch applies: always for lean orders (no marker of its own), else as
   * `patched(id)` says (the order's history decides).
   */
  has(patchId: string): boolean {
    return this.lean || patched(patchId);
  }

  /** Registers every handler, then marks the order received (search attributes, history). */
  listen(): void {
    this.lean = patched(LEAN_HISTORY);
    // The timeline is derived on each query (no command, no history event): orders of any age get one.
    setHandler(statusQuery, () => ({ ...this.status, timeline: orderTimeline(this.status) }));
    setHandler(cancelSignal, (req) => this.takeCancel(req));
    setHandler(
      cancelUpdate,
      async (req) => {
        this.takeCancel(req);
        await condition(() => isFinal(this.status.stage));
        return this.status;
      },
      // Refused before it reaches the history: a finished order cannot be cancelled, and the caller hears why.
      { validator: (_req: CancelRequest) => this.refuseIfEnded() },
    );
    setHandler(
      releaseUpdate,
      async (req) => {
        this.release ??= req;
        await condition(() => this.status.stage !== 'HELD');
        return this.status;
      },
      // Only a HELD order can be released: the caller hears why otherwise (nothing reaches the history).
      {
        validator: (_req: ReleaseRequest) => {
          if (this.status.stage !== 'HELD')
            throw new Error(`order ${this.status.orderId} is not held: ${this.status.stage}`);
        },
      },
    );
    setHandler(vendorStatusSignal, (news) => this.onVendorStatus(news));
    setHandler(invoiceSignal, (news) => this.onInvoice(news));
    setHandler(recordOverlaidSignal, (news) => this.onRecordOverlaid(news));
    // The client sets these when it starts the order (src/client/orders.ts): then there is nothing to upsert.
    const given = workflowInfo().typedSearchAttributes;
    const startedWith =
      this.lean &&
      given.get(OasisAccount) === this.input.account &&
      given.get(OasisOrderId) === this.input.orderId &&
      given.get(OrderStage) === 'VALIDATING';
    if (!startedWith)
      upsertSearchAttributes([
        { key: OasisAccount, value: this.input.account },
        { key: OasisOrderId, value: this.input.orderId },
        { key: OrderStage, value: 'VALIDATING' },
      ]);
    this.note('received');
    this.note('stage VALIDATING');
  }

  get cancelled(): boolean {
    return this.cancellation !== undefined;
  }

  /** The cancellation's comment, for Alma and the history. */
  cancelComment(fallback: string): string {
    return this.cancellation?.comment ?? fallback;
  }

  note(event: string, detail?: string, source?: TimelineSource): void {
    this.status.history.push({
      at: new Date().toISOString(),
      event,
      ...(detail ? { detail } : {}),
      ...(source ? { source } : {}),
    });
  }

  setStage(stage: Stage): void {
    this.status.stage = stage;
    this.note(`stage ${stage}`);
    this.upsert([{ key: OrderStage, value: stage }]);
  }

  /**
   * A search attribute of the order (its ISBN, PO line, MMS id). Lean orders upsert it with the next stage or
   * alert, which every stage reaches without waiting on anything (or `flushAttributes` before it waits): one
   * history event for both. Older orders upsert it at once, as their histories say.
   */
  setAttribute(pair: SearchAttributeUpdatePair): void {
    if (this.lean) this.pendingAttributes.push(pair);
    else upsertSearchAttributes([pair]);
  }

  /** Upserts the search attributes still waiting (before an await that does not end in a stage or an alert). */
  flushAttributes(): void {
    this.upsert([]);
  }

  private upsert(pairs: SearchAttributeUpdatePair[]): void {
    const all = [...this.pendingAttributes, ...pairs];
    this.pendingAttributes = [];
    if (all.length) upsertSearchAttributes(all);
  }

  /** Flags the order (search attribute, history) and mails staff; `occurrence` tells repeats of one alert apart. */
  raise(alert: Alert, summary: string, occurrence?: string): void {
    if (!this.status.alerts.includes(alert)) this.status.alerts.push(alert);
    this.note(`alert ${alert}`, summary);
    this.upsert([{ key: OrderAlerts, value: [...this.status.alerts] }]);
    // Without a plan (validation never returned) the activity finds the account's staff itself.
    if (this.plan ? !this.plan.email.staff.length : !this.has('alert-without-plan')) return;
    const { account, orderId, workflowId } = this.status;
    // Staff mail is best effort: an SMTP outage must not hold the order up.
    this.staffAlerts.push(
      notifyStaff({
        account,
        orderId,
        workflowId,
        alert,
        summary,
        ...(occurrence ? { occurrence } : {}),
      }).catch((e: unknown) => log.warn('staff alert not sent', { alert, error: String(e) })),
    );
  }

  /** Resolves once every staff alert raised so far has been sent (or given up on). */
  async alertsSent(): Promise<void> {
    await Promise.all(this.staffAlerts);
  }

  /**
   * What Alma says of the PO line now (the POST's answer, the bib poll, a follow-up check). An answer without
   * a status says nothing: the last known state stays. Going In Review raises ALMA_IN_REVIEW, once per entry;
   * leaving it is noted.
   */
  readAlma(poLine: string, r: Partial<PoLineReading>): boolean {
    const now = Date.now();
    const readAt = new Date(now).toISOString();
    if (r.status === undefined && !r.inReview) {
      this.status.alma = { ...(this.status.alma ?? { inReview: false, alerts: [] }), readAt };
      return false;
    }
    const before = this.status.alma?.status;
    const inReview = r.inReview === true;
    const entering = inReview && !this.inReview;
    const leaving = !inReview && this.inReview;
    this.inReview = inReview;
    if (entering) this.inReviewSince = now;
    if (!inReview) this.inReviewSince = undefined;
    const alerts = r.almaAlerts ?? [];
    this.status.alma = {
      ...(r.status !== undefined ? { status: r.status } : {}),
      ...(r.statusDesc ? { statusDesc: r.statusDesc } : {}),
      inReview,
      alerts,
      ...(this.inReviewSince !== undefined
        ? { inReviewSince: new Date(this.inReviewSince).toISOString() }
        : {}),
      readAt,
    };
    if (entering) {
      this.reviewEntries++;
      const why = alerts.join('; ') || 'no reason given';
      this.raise(
        'ALMA_IN_REVIEW',
        `Alma put PO line ${poLine} In Review: ${why}`,
        this.reviewEntries > 1 ? `entry ${this.reviewEntries}` : undefined,
      );
    }
    if (leaving) this.note('PO line out of review', r.statusDesc ?? r.status);
    // Every reading that changed Alma's status goes into the timeline (the POST's answer and the bib poll's
    // too; before, only the follow-up checks were noted, by checkPoLine).
    if (r.status !== undefined && r.status !== before && this.has('timeline-alma-readings')) {
      this.note('PO line status in Alma', r.statusDesc ?? r.status, 'alma');
      return true;
    }
    return false;
  }

  /**
   * Waits until news or a cancellation arrives, or the time `at` comes. Lean orders keep the timer set for `at`
   * across waits while `at` stands (news that changes nothing due costs no cancelled and restarted timer), and
   * leave it behind when the order ends (a closed workflow's timers go with it).
   */
  async waitForNews(at: number): Promise<void> {
    this.newsArrived = false;
    if (!this.lean) {
      await condition(() => this.newsArrived || this.cancelled, Math.max(1, at - Date.now()));
      return;
    }
    const alarm = this.alarmAt(at);
    const news = new CancellationScope();
    await Promise.race([
      alarm,
      news
        .run(() => condition(() => this.newsArrived || this.cancelled))
        .catch((e: unknown) => {
          if (!isCancellation(e)) throw e;
        }),
    ]);
    news.cancel();
  }

  /** The timer for `at`: the one already set if it is for `at` and has not fired, else a new one (the old cancelled). */
  private alarmAt(at: number): Promise<void> {
    const current = this.alarm;
    if (current && current.at === at && !current.fired) return current.done;
    if (current && !current.fired) current.scope.cancel();
    const scope = new CancellationScope();
    const alarm = {
      at,
      fired: false,
      scope,
      done: scope
        .run(() => sleep(Math.max(1, at - Date.now())))
        .then(
          () => {
            alarm.fired = true;
          },
          (e: unknown) => {
            if (!isCancellation(e)) throw e;
          },
        ),
    };
    this.alarm = alarm;
    return alarm.done;
  }

  private refuseIfEnded(): void {
    if (isFinal(this.status.stage))
      throw new Error(`order ${this.status.orderId} has ended: ${this.status.stage}`);
  }

  private takeCancel(req: CancelRequest): void {
    if (this.cancellation || isFinal(this.status.stage)) return;
    this.cancellation = req;
    const detail = [req.by, req.reason, req.comment].filter(Boolean).join(': ');
    if (this.has('timeline-sources')) this.note('cancellation requested', detail, sourceOfRequester(req.by));
    else this.note('cancellation requested', detail);
  }

  private onVendorStatus(news: VendorStatusNews): void {
    // The same news again (a retried EDI activity re-signals): nothing new, no second alert.
    const prev = this.status.vendorStatus?.source;
    if (
      this.has('dedupe-vendor-status') &&
      prev &&
      prev.sha256 === news.source.sha256 &&
      prev.message === news.source.message &&
      prev.segment === news.source.segment &&
      this.status.vendorStatus?.status === news.status
    )
      return;
    this.status.vendorStatus = news;
    this.newsArrived = true;
    this.note(`vendor status ${news.status}`, news.statusText);
    if (!VENDOR_ALERTS.has(news.status)) return;
    if (VENDOR_ENDS.has(news.status)) {
      // The vendor will not supply it: the order ends at whatever stage it is in (no "ordered" mail after this).
      if (this.has('vendor-cancel-anywhere')) this.vendorCancels(news);
      else this.vendorCancelledLate = true;
    }
    this.raise(
      news.status === 'out-of-print' ? 'VENDOR_PROBLEM' : 'VENDOR_CANCELLED',
      `${news.statusText} (${news.source.file})`,
    );
  }

  /** The vendor's cancellation, as the cancellation to act on (unless the library's came first). */
  vendorCancels(news: VendorStatusNews | undefined): void {
    if (this.cancellation || isFinal(this.status.stage)) return;
    this.cancellation = { comment: `cancelled by the vendor: ${news?.statusText ?? ''}`, by: 'vendor' };
  }

  private onInvoice(news: InvoiceNews): void {
    // An invoice line counts once, however often it is signalled: by invoice number and line, so that a
    // vendor re-sending the same invoice in a new interchange (other bytes, other hash) is not counted twice.
    const byLine = this.has('invoice-dedupe-by-line');
    const same = (i: InvoiceNews) =>
      byLine && news.source.line !== undefined
        ? i.invoiceNumber === news.invoiceNumber && i.kind === news.kind && i.source.line === news.source.line
        : i.invoiceNumber === news.invoiceNumber &&
          i.source.segment === news.source.segment &&
          i.source.sha256 === news.source.sha256;
    if (this.status.invoices.some(same)) return;
    this.status.invoices.push(news);
    this.status.quantityInvoiced += news.kind === 'credit-note' ? -news.quantity : news.quantity;
    this.newsArrived = true;
    this.note(
      `${news.kind} ${news.invoiceNumber}`,
      `${news.quantity} at ${news.unitPrice ?? '?'} ${news.currency ?? ''}`.trim(),
    );
    if (news.mismatches.length) {
      // One mail per invoice line with a difference, each its own Message-ID.
      const line = news.source.line ?? `segment ${news.source.segment ?? '?'}`;
      this.raise(
        'INVOICE_MISMATCH',
        news.mismatches.join('; '),
        `${news.kind} ${news.invoiceNumber} ${line}`,
      );
    }
  }

  private onRecordOverlaid(news: RecordOverlaidNews): void {
    this.status.recordOverlaid = true;
    // The overlay found the bib through the PO line when polling had given up (BIB_LATE).
    this.status.mmsId ??= news.mmsId;
    this.newsArrived = true;
    this.note('record overlaid', `${news.mmsId} from ${news.source.file}`);
  }
}
