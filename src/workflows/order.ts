/**
 * One OASIS order, from Express Checkout until it is invoiced and catalogued (or cancelled, or failed).
 *
 *   VALIDATING → ORDERING (PO line in Alma, exactly once) → AWAITING_BIB (wait, then poll until the brief bib
 *   is linked) → CONFIRMING (email the librarian) → FOLLOWING_UP (vendor status, invoice, record overlay,
 *   with deadlines that alert staff) → COMPLETED.  REJECTED, CANCELLED and FAILED end it early.
 *
 * Every duration comes from the plan the validation activity returns (the account's configuration), so tests
 * run a whole order in seconds. No I/O, clock or randomness here: Temporal's APIs only.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { CreatedPoLine } from '../activities/types';
import { FailureType, NON_RETRYABLE } from '../order/failures';
import {
  cancelSignal,
  cancelUpdate,
  invoiceSignal,
  recordOverlaidSignal,
  statusQuery,
  vendorStatusSignal,
} from '../order/messages';
import type {
  Alert,
  CancelRequest,
  InvoiceNews,
  OrderError,
  OrderPlan,
  OrderStatus,
  Stage,
} from '../order/types';
import {
  AlmaMmsId,
  AlmaPoLine,
  Isbn,
  OasisAccount,
  OasisOrderId,
  OrderAlerts,
  OrderStage,
} from '../order/search-attributes';

export interface OrderWorkflowInput {
  /** The order as OASIS sent it: validated again here, since the workflow is the authority. */
  order: unknown;
  account: string;
  orderId: string;
}

// Validation is pure and deterministic: its "problems" are a result, never an exception, so they are never
// retried; the retries below only cover a worker lost mid-task.
const { validateOrderActivity } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 3, nonRetryableErrorTypes: NON_RETRYABLE },
});

// Mail: a few quick retries (the SMTP relay may blip), then the order goes on with an EMAIL_FAILED alert.
// The Message-ID is deterministic, so a retried send cannot reach the inbox as two different messages.
const mail = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  scheduleToCloseTimeout: '30 minutes',
  retry: {
    initialInterval: '5 seconds',
    backoffCoefficient: 2,
    maximumInterval: '5 minutes',
    maximumAttempts: 8,
  },
});

/** The institution's Alma activities: on its own task queue, where its API budget is enforced. */
function almaActivities(plan: OrderPlan) {
  const taskQueue = plan.almaTaskQueue;
  // Creating and cancelling: retried through outages and rate limits (the activity itself makes the POST
  // exactly-once), never on a refused key or an invalid request, and only for as long as the account allows.
  const write = proxyActivities<Activities>({
    taskQueue,
    startToCloseTimeout: '2 minutes',
    heartbeatTimeout: '1 minute',
    scheduleToCloseTimeout: plan.timing.almaGiveUpAfterMs,
    retry: {
      initialInterval: plan.timing.almaRetryInitialMs ?? 2_000,
      backoffCoefficient: 2,
      maximumInterval: plan.timing.almaRetryMaxMs ?? 600_000,
      nonRetryableErrorTypes: NON_RETRYABLE,
    },
  });
  // Polling for the brief bib by activity retry (fixed interval): the history stays small however long it takes.
  const poll = proxyActivities<Activities>({
    taskQueue,
    startToCloseTimeout: '1 minute',
    scheduleToCloseTimeout: plan.timing.bibPollTimeoutMs,
    retry: {
      initialInterval: plan.timing.bibPollIntervalMs,
      backoffCoefficient: 1,
      maximumInterval: plan.timing.bibPollIntervalMs,
      nonRetryableErrorTypes: NON_RETRYABLE,
    },
  });
  return {
    createPoLine: write.createPoLine,
    cancelPoLine: write.cancelPoLine,
    awaitBriefBib: poll.awaitBriefBib,
  };
}

/** The ApplicationFailure behind an activity failure, if any. */
function appFailure(err: unknown): ApplicationFailure | undefined {
  if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) return err.cause;
  if (err instanceof ApplicationFailure) return err;
  return undefined;
}

export async function orderWorkflow(input: OrderWorkflowInput): Promise<OrderStatus> {
  const { workflowId } = workflowInfo();
  const status: OrderStatus = {
    workflowId,
    account: input.account,
    orderId: input.orderId,
    stage: 'VALIDATING',
    alerts: [],
    invoices: [],
    quantityInvoiced: 0,
    recordOverlaid: false,
    history: [],
  };
  // Held in an object: handlers change it between awaits, which TypeScript's narrowing cannot see.
  const msg: { cancel?: CancelRequest } = {};
  const cancelReq = (): CancelRequest | undefined => msg.cancel;
  let vendorCancelled = false;
  let newsArrived = false;

  const note = (event: string, detail?: string) => {
    status.history.push({ at: new Date().toISOString(), event, ...(detail ? { detail } : {}) });
  };
  const setStage = (stage: Stage) => {
    status.stage = stage;
    note(`stage ${stage}`);
    upsertSearchAttributes([{ key: OrderStage, value: stage }]);
  };
  const staffAlerts: Promise<void>[] = [];
  // Set once validation has run; `raise` (defined before) reads it to know whom to alert.
  // eslint-disable-next-line prefer-const
  let plan: OrderPlan | undefined;
  const raise = (alert: Alert, summary: string, details?: Record<string, string>) => {
    if (!status.alerts.includes(alert)) status.alerts.push(alert);
    note(`alert ${alert}`, summary);
    upsertSearchAttributes([{ key: OrderAlerts, value: [...status.alerts] }]);
    if (plan && plan.email.staff.length) {
      // Staff mail is best effort: an SMTP outage must not hold the order up.
      staffAlerts.push(
        mail
          .notifyStaff({
            account: input.account,
            orderId: input.orderId,
            workflowId,
            alert,
            summary,
            details,
          })
          .catch((e: unknown) => log.warn('staff alert not sent', { alert, error: String(e) })),
      );
    }
  };

  setHandler(statusQuery, () => status);
  const takeCancel = (req: CancelRequest) => {
    if (!msg.cancel && !FINAL.has(status.stage)) {
      msg.cancel = req;
      note('cancellation requested', [req.by, req.reason, req.comment].filter(Boolean).join(': '));
    }
  };
  setHandler(cancelSignal, takeCancel);
  setHandler(cancelUpdate, async (req) => {
    takeCancel(req);
    await condition(() => FINAL.has(status.stage));
    return status;
  });
  setHandler(vendorStatusSignal, (news) => {
    // The same news again (a retried EDI activity re-signals): nothing new, no second alert.
    const prev = status.vendorStatus?.source;
    if (
      patched('dedupe-vendor-status') &&
      prev &&
      prev.sha256 === news.source.sha256 &&
      prev.message === news.source.message &&
      prev.segment === news.source.segment &&
      status.vendorStatus?.status === news.status
    )
      return;
    status.vendorStatus = news;
    newsArrived = true;
    note(`vendor status ${news.status}`, news.statusText);
    if (news.status === 'cancelled' || news.status === 'not-accepted' || news.status === 'out-of-print') {
      if (news.status === 'cancelled' || news.status === 'not-accepted') vendorCancelled = true;
      raise(
        news.status === 'out-of-print' ? 'VENDOR_PROBLEM' : 'VENDOR_CANCELLED',
        `${news.statusText} (${news.source.file})`,
      );
    }
  });
  setHandler(invoiceSignal, (news: InvoiceNews) => {
    // An invoice line counts once, however often it is signalled: by invoice number and line, so that a
    // vendor re-sending the same invoice in a new interchange (other bytes, other hash) is not counted twice.
    const byLine = patched('invoice-dedupe-by-line');
    const same = (i: InvoiceNews) =>
      byLine && news.source.line !== undefined
        ? i.invoiceNumber === news.invoiceNumber && i.kind === news.kind && i.source.line === news.source.line
        : i.invoiceNumber === news.invoiceNumber &&
          i.source.segment === news.source.segment &&
          i.source.sha256 === news.source.sha256;
    if (status.invoices.some(same)) return;
    status.invoices.push(news);
    status.quantityInvoiced += news.kind === 'credit-note' ? -news.quantity : news.quantity;
    newsArrived = true;
    note(
      `${news.kind} ${news.invoiceNumber}`,
      `${news.quantity} at ${news.unitPrice ?? '?'} ${news.currency ?? ''}`.trim(),
    );
    if (news.mismatches.length) raise('INVOICE_MISMATCH', news.mismatches.join('; '));
  });
  setHandler(recordOverlaidSignal, (news) => {
    status.recordOverlaid = true;
    // The overlay found the bib through the PO line when polling had given up (BIB_LATE).
    status.mmsId ??= news.mmsId;
    newsArrived = true;
    note('record overlaid', `${news.mmsId} from ${news.source.file}`);
  });

  upsertSearchAttributes([
    { key: OasisAccount, value: input.account },
    { key: OasisOrderId, value: input.orderId },
    { key: OrderStage, value: 'VALIDATING' },
  ]);
  note('received');
  note('stage VALIDATING');

  // --- VALIDATING ---
  const outcome = await validateOrderActivity(input.order);
  if (!outcome.ok) {
    status.problems = outcome.problems;
    setStage('REJECTED');
    // Ending as a failure lets a corrected order be placed again under the same id (ALLOW_DUPLICATE_FAILED_ONLY).
    throw ApplicationFailure.create({
      type: 'OrderRejected',
      nonRetryable: true,
      message: outcome.problems.map((pr) => `${pr.path}: ${pr.message}`).join('; '),
      details: [status],
    });
  }
  const p = outcome.plan;
  plan = p;
  const order = p.order;
  status.quantityOrdered = order.quantity;
  status.price = { ...order.listPrice };
  status.funds = order.fundDistribution.map((f) => f.fund);
  if (order.location) status.location = `${order.location.library}/${order.location.shelvingLocation}`;
  const notes = [order.notes?.vendor, order.notes?.receiving, order.notes?.internal].filter(
    (n) => n && n.trim(),
  );
  if (notes.length) status.notes = notes.join(' | ');
  if (order.item.isbn) upsertSearchAttributes([{ key: Isbn, value: order.item.isbn }]);
  const alma = almaActivities(p);

  /** Ends the order FAILED: the error is kept, staff are alerted (and the alert sent) before it ends. */
  const endFailed = async (error: OrderError, alert: Alert, summary: string): Promise<never> => {
    status.error = error;
    raise(alert, summary);
    setStage('FAILED');
    await Promise.all(staffAlerts);
    throw ApplicationFailure.create({
      type: 'OrderFailed',
      nonRetryable: true,
      message: error.message,
      details: [status],
    });
  };

  /** An Alma answer that ends the order: its code and tracking id go with the error. */
  const fail = (kind: string, err: unknown, alert: Alert): Promise<never> => {
    const af = appFailure(err);
    const detail = (af?.details?.[0] ?? {}) as { code?: string; trackingId?: string };
    const message = af?.message ?? String(err);
    return endFailed({ kind, message, code: detail.code, trackingId: detail.trackingId }, alert, message);
  };

  const endCancelled = async (why: string): Promise<OrderStatus> => {
    if (status.poLine) {
      try {
        await alma.cancelPoLine({
          account: input.account,
          poLine: status.poLine,
          reason: cancelReq()?.reason,
          comment: why,
        });
        note('PO line cancelled in Alma', status.poLine);
      } catch (err) {
        raise(
          'CANCEL_FAILED',
          `the PO line ${status.poLine} could not be cancelled in Alma: ${appFailure(err)?.message ?? String(err)}`,
        );
      }
    }
    setStage('CANCELLED');
    await Promise.all(staffAlerts);
    return status;
  };

  if (cancelReq()) return endCancelled('cancelled before ordering');

  // --- ORDERING ---
  setStage('ORDERING');
  let created: CreatedPoLine;
  try {
    created = await alma.createPoLine({ account: input.account, order });
  } catch (err) {
    const type = appFailure(err)?.type;
    if (type === FailureType.AlmaUnauthorised) return fail('unauthorised', err, 'ALMA_UNAUTHORISED');
    if (type === FailureType.AlmaInvalidRequest) return fail('invalid-request', err, 'ALMA_REJECTED');
    return fail('unavailable', err, 'ALMA_UNAVAILABLE');
  }
  status.poLine = created.number;
  upsertSearchAttributes([{ key: AlmaPoLine, value: created.number }]);
  note(
    created.found ? 'PO line found (an earlier attempt had created it)' : 'PO line created',
    `${created.number} (${created.status})`,
  );
  if (created.inReview) {
    raise(
      'ALMA_IN_REVIEW',
      `Alma put PO line ${created.number} In Review: ${created.almaAlerts.join('; ') || 'no reason given'}`,
    );
  }
  if (cancelReq()) return endCancelled(cancelReq()!.comment ?? 'cancelled while ordering');

  // --- AWAITING_BIB ---
  setStage('AWAITING_BIB');
  if (await condition(() => cancelReq() !== undefined, p.timing.firstLookDelayMs)) {
    return endCancelled(cancelReq()!.comment ?? 'cancelled');
  }
  try {
    const bib = await raceCancel(
      () => alma.awaitBriefBib({ account: input.account, poLine: created.number }),
      () => cancelReq() !== undefined,
    );
    if (bib === CANCELLED) return endCancelled(cancelReq()!.comment ?? 'cancelled');
    status.mmsId = bib.mmsId;
    upsertSearchAttributes([{ key: AlmaMmsId, value: bib.mmsId }]);
    note('brief bib linked', bib.mmsId);
  } catch (err) {
    const type = appFailure(err)?.type;
    if (type === FailureType.AlmaUnauthorised) return fail('unauthorised', err, 'ALMA_UNAUTHORISED');
    raise(
      'BIB_LATE',
      `no bib linked to PO line ${created.number} in time: ${appFailure(err)?.message ?? String(err)}`,
    );
  }

  // A cancellation that arrived while the bib was looked for: no "ordered" email for a cancelled order.
  if (patched('cancel-before-confirming') && cancelReq())
    return endCancelled(cancelReq()!.comment ?? 'cancelled');

  // --- CONFIRMING ---
  setStage('CONFIRMING');
  if (p.email.confirm) {
    try {
      await mail.sendConfirmation({
        plan: p,
        poLine: created.number,
        mmsId: status.mmsId,
        inReview: created.inReview,
      });
      note('confirmation emailed');
    } catch (err) {
      raise('EMAIL_FAILED', `the confirmation could not be sent: ${appFailure(err)?.message ?? String(err)}`);
    }
  } else {
    note('no confirmation asked for');
  }

  // --- FOLLOWING_UP ---
  setStage('FOLLOWING_UP');
  const start = Date.now();
  const deadlines: { alert: Alert; at: number; met: () => boolean; what: string }[] = [
    {
      alert: 'STATUS_LATE',
      at: start + p.timing.statusWithinMs,
      met: () => !!status.vendorStatus,
      what: 'vendor order status (EDI ORDRSP)',
    },
    {
      alert: 'INVOICE_LATE',
      at: start + p.timing.invoiceWithinMs,
      met: () => status.invoices.length > 0,
      what: 'invoice (EDI INVOIC)',
    },
    {
      alert: 'RECORD_LATE',
      at: start + p.timing.recordWithinMs,
      met: () => status.recordOverlaid,
      what: 'full MARC record',
    },
  ];
  const endAt = start + p.timing.followAtMostMs;
  const done = () => status.quantityInvoiced >= order.quantity && status.recordOverlaid;
  for (;;) {
    if (cancelReq()) return endCancelled(cancelReq()!.comment ?? 'cancelled');
    if (vendorCancelled) {
      msg.cancel = {
        reason: undefined,
        comment: `cancelled by the vendor: ${status.vendorStatus?.statusText ?? ''}`,
        by: 'vendor',
      };
      return endCancelled(msg.cancel.comment ?? 'cancelled by the vendor');
    }
    if (done()) break;
    const now = Date.now();
    for (const d of deadlines) {
      if (!d.met() && now >= d.at && !status.alerts.includes(d.alert)) {
        raise(
          d.alert,
          `no ${d.what} for order ${input.orderId} (PO line ${status.poLine}) by ${new Date(d.at).toISOString()}`,
        );
      }
    }
    if (now >= endAt) {
      return endFailed(
        { kind: 'follow-up-expired', message: 'followed for the longest configured time' },
        'FOLLOW_UP_EXPIRED',
        'followed for the longest configured time without being invoiced and catalogued',
      );
    }
    const next = Math.min(
      endAt,
      ...deadlines.filter((d) => !d.met() && !status.alerts.includes(d.alert)).map((d) => d.at),
    );
    newsArrived = false;
    await condition(() => newsArrived || cancelReq() !== undefined, Math.max(1, next - now));
  }
  setStage('COMPLETED');
  await Promise.all(staffAlerts);
  return status;
}

const FINAL = new Set<Stage>(['REJECTED', 'COMPLETED', 'CANCELLED', 'FAILED']);
const CANCELLED: unique symbol = Symbol('cancelled');

/** Runs an activity in its own scope and cancels it when `cancelled()` becomes true first. */
async function raceCancel<T>(fn: () => Promise<T>, cancelled: () => boolean): Promise<T | typeof CANCELLED> {
  const scope = new CancellationScope();
  const work = scope.run(fn);
  const winner = await Promise.race([
    work.then((v) => ({ v })),
    condition(cancelled).then((): typeof CANCELLED => CANCELLED),
  ]);
  if (winner === CANCELLED) {
    scope.cancel();
    await work.catch((e) => {
      if (!isCancellation(e)) throw e;
    });
    return CANCELLED;
  }
  return winner.v;
}
