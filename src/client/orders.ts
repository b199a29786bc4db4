/**
 * The library OASIS imports: place an order, cancel it, read its status, list orders. Invalid orders are
 * refused here with every problem before any workflow starts; the workflow validates again (the authority).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
  type Client,
  type WorkflowExecutionInfo,
  type WorkflowHandle,
} from '@temporalio/client';
import { executionInfoFromRaw } from '@temporalio/client/lib/helpers';
import type { TypedSearchAttributes } from '@temporalio/common';
import { own } from '../config/lookup';
import type { Config } from '../config/schema';
import type { Order, Problem } from '../contract/order';
import { validateOrder } from '../contract/validate';
import { cancelUpdate, releaseUpdate, statusQuery } from '../order/messages';
import { orderTimeline } from '../order/timeline';
import {
  isFinal,
  NEEDS_STAFF_STAGES,
  STAGES,
  type Alert,
  type CancelRequest,
  type OrderStatus,
  type ReleaseRequest,
  type Stage,
} from '../order/types';
import { orderWorkflowId } from '../order/ids';
import {
  AlmaMmsId,
  AlmaPoLine,
  OasisAccount,
  OasisOrderId,
  OrderAlerts,
  OrderStage,
} from '../order/search-attributes';
// The workflow function, for typed starts (as Temporal's samples do): a client only reads its name and types; its
// code runs in the worker's sandbox. ORDER_WORKFLOW_TYPE names it for list queries; a test checks the two agree.
import { orderWorkflow } from '../workflows/order';

/** The order workflow's type name (what the worker registers, what the Temporal UI and list queries show). */
export const ORDER_WORKFLOW_TYPE = 'orderWorkflow';

/**
 * The stages an order passes when all goes well, in order. An order that has reached one of them has reached
 * every earlier one; CANCELLED, REJECTED and FAILED are off this path (they reach nothing but themselves).
 */
export const HAPPY_PATH: readonly Stage[] = [
  'VALIDATING',
  'ORDERING',
  'AWAITING_BIB',
  'CONFIRMING',
  'FOLLOWING_UP',
  'COMPLETED',
];

export type PlaceResult =
  | { outcome: 'started'; workflowId: string; status: OrderSummary }
  | { outcome: 'existing'; workflowId: string; status: OrderSummary }
  | { outcome: 'refused'; workflowId?: string; problems: Problem[] };

/** What staff and scripts see of an order: from the workflow's status query, or its search attributes. */
export type OrderSummary = Pick<
  OrderStatus,
  'workflowId' | 'account' | 'orderId' | 'stage' | 'poLine' | 'mmsId' | 'alerts'
> &
  Partial<
    Pick<
      OrderStatus,
      'problems' | 'error' | 'history' | 'timeline' | 'vendorStatus' | 'quantityInvoiced' | 'recordOverlaid'
    >
  > & {
    /** Temporal's own view: RUNNING, COMPLETED, FAILED, TERMINATED, ... */
    workflowStatus?: string;
    startedAt?: string;
  };

export class OrderNotFoundError extends Error {
  override name = 'OrderNotFoundError';
}

/** A release asked of an order that is not HELD (never held, already released, or ended). */
export class OrderNotHeldError extends Error {
  override name = 'OrderNotHeldError';
  constructor(readonly summary: OrderSummary) {
    super(`order ${summary.orderId} is not held (stage ${summary.stage}): nothing to release`);
  }
}

export class OrderClient {
  constructor(
    private readonly client: Client,
    private readonly opts: { config: Pick<Config, 'accounts'>; taskQueue: string },
  ) {}

  /** The configuration orders are validated against. */
  get config(): Pick<Config, 'accounts'> {
    return this.opts.config;
  }

  handle(account: string, orderId: string): WorkflowHandle<typeof orderWorkflow> {
    return this.client.workflow.getHandle(orderWorkflowId(account, orderId));
  }

  /** Places an order; a repeated order returns the existing one's state and never starts a second workflow. */
  async placeOrder(raw: unknown): Promise<PlaceResult> {
    const checked = this.checkOrder(raw);
    if (!checked.ok)
      return { outcome: 'refused', workflowId: checked.workflowId, problems: checked.problems };
    const { account, orderId } = checked.order;
    const workflowId = checked.workflowId;
    try {
      await this.client.workflow.start(orderWorkflow, {
        workflowId,
        taskQueue: this.opts.taskQueue,
        args: [{ order: raw, account, orderId }],
        // Findable at once (and no upsert in the workflow's history for them): the workflow checks they match.
        typedSearchAttributes: [
          { key: OasisAccount, value: account },
          { key: OasisOrderId, value: orderId },
          { key: OrderStage, value: 'VALIDATING' },
        ],
        // A rejected or failed order may be placed again once corrected; a live or finished one may not.
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
      });
      return {
        outcome: 'started',
        workflowId,
        status: { workflowId, account, orderId, stage: 'VALIDATING', alerts: [] },
      };
    } catch (e) {
      if (e instanceof WorkflowExecutionAlreadyStartedError) {
        return { outcome: 'existing', workflowId, status: await this.getStatus(account, orderId) };
      }
      throw e;
    }
  }

  /** The order's status: the workflow's own account when a worker answers, its search attributes otherwise. */
  async getStatus(
    account: string,
    orderId: string,
    opts: { queryTimeoutMs?: number } = {},
  ): Promise<OrderSummary> {
    const handle = this.handle(account, orderId);
    let desc;
    try {
      desc = await handle.describe();
    } catch (e) {
      if (e instanceof WorkflowNotFoundError)
        throw new OrderNotFoundError(`no order ${orderId} for account ${account}`);
      throw e;
    }
    const base = summaryFromAttributes(desc.workflowId, desc.typedSearchAttributes, account, orderId);
    base.workflowStatus = desc.status.name;
    base.startedAt = desc.startTime.toISOString();
    try {
      const status = await withTimeout(handle.query(statusQuery), opts.queryTimeoutMs ?? 10_000);
      return { ...base, ...statusToSummary(status) };
    } catch {
      // A closed workflow that failed (REJECTED/FAILED) carries its status in the failure details.
      if (desc.status.name !== 'RUNNING') {
        try {
          await handle.result();
        } catch (err) {
          const details = (err as { cause?: { details?: unknown[] } }).cause?.details;
          const status = details?.[0] as OrderStatus | undefined;
          if (status?.stage) return { ...base, ...statusToSummary(status) };
        }
      }
      return base;
    }
  }

  /** Cancels the order (before the PO line exists nothing is created; after, it is cancelled in Alma). */
  async cancelOrder(account: string, orderId: string, req: CancelRequest): Promise<OrderSummary> {
    const current = await this.getStatus(account, orderId);
    if (isFinal(current.stage)) return current;
    try {
      const status = await this.handle(account, orderId).executeUpdate(cancelUpdate, { args: [req] });
      return statusToSummary(status);
    } catch (e) {
      // The order ended between the look and the update: its final state is the answer.
      const now = await this.getStatus(account, orderId);
      if (isFinal(now.stage)) return now;
      throw e;
    }
  }

  /** Lets a HELD order (a possible duplicate) go on to ORDERING; answers once it has left HELD. */
  async releaseOrder(account: string, orderId: string, req: ReleaseRequest): Promise<OrderSummary> {
    const current = await this.getStatus(account, orderId);
    if (current.stage !== 'HELD') throw new OrderNotHeldError(current);
    try {
      const status = await this.handle(account, orderId).executeUpdate(releaseUpdate, { args: [req] });
      return statusToSummary(status);
    } catch (e) {
      // Cancelled, released or expired between the look and the update: say so with its state now.
      const now = await this.getStatus(account, orderId);
      if (now.stage !== 'HELD') throw new OrderNotHeldError(now);
      throw e;
    }
  }

  /**
   * Waits until the order reaches `stage` (see `reached`), ends, is HELD (unless HELD is what is waited for), or
   * the time is up; returns the last status seen. Whether it got there is `reached(result.stage, stage)`: an
   * order that ended CANCELLED did not. A HELD order goes on only when staff release or cancel it: waiting for
   * anything else would last until the time is up.
   */
  async waitForStage(
    account: string,
    orderId: string,
    stage: Stage,
    opts: { timeoutMs?: number; pollMs?: number } = {},
  ): Promise<OrderSummary> {
    const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
    for (;;) {
      const s = await this.getStatus(account, orderId);
      if (reached(s.stage, stage) || isFinal(s.stage) || Date.now() > deadline) return s;
      if (s.stage === 'HELD' && stage !== 'HELD') return s;
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 250));
    }
  }

  /** Orders by account and stage, from the search attributes (what the Temporal UI filters on). */
  async listOrders(filter: OrderFilter & { limit?: number } = {}): Promise<OrderSummary[]> {
    const out: OrderSummary[] = [];
    for await (const wf of this.client.workflow.list({ query: visibilityQuery(filter) })) {
      out.push(summaryFromExecution(wf));
      if (out.length >= (filter.limit ?? 1000)) break;
    }
    return out;
  }

  /**
   * One page of orders from Temporal's visibility (the same query as `listOrders`), newest first as Temporal
   * lists them, and the token of the next page when there is one. Temporal does not check a page token it is
   * given (a forged one fails only after its retries, as an internal error), so the token handed out is
   * Temporal's signed with this client's key and bound to the filter: one not given by this client for this
   * filter is a `PageTokenError`, and Temporal never sees it. (A restarted process has a new key: its client
   * starts again from the first page.)
   */
  async listOrdersPage(
    filter: OrderFilter & { pageSize: number; pageToken?: string },
  ): Promise<{ orders: OrderSummary[]; nextPageToken?: string }> {
    const { namespace, loadedDataConverter } = this.client.options;
    const query = visibilityQuery(filter);
    const res = await this.client.workflowService.listWorkflowExecutions({
      namespace,
      query,
      pageSize: filter.pageSize,
      ...(filter.pageToken ? { nextPageToken: this.openPageToken(filter.pageToken, query) } : {}),
    });
    const orders: OrderSummary[] = [];
    for (const raw of res.executions ?? [])
      orders.push(summaryFromExecution(await executionInfoFromRaw(raw, loadedDataConverter, raw, namespace)));
    const next = res.nextPageToken?.length
      ? this.signPageToken(Buffer.from(res.nextPageToken), query)
      : undefined;
    return { orders, ...(next ? { nextPageToken: next } : {}) };
  }

  private readonly pageTokenKey = randomBytes(32);

  private pageTokenMac(raw: Buffer, query: string): Buffer {
    return createHmac('sha256', this.pageTokenKey).update(query).update('\0').update(raw).digest();
  }

  private signPageToken(raw: Buffer, query: string): string {
    return `${raw.toString('base64url')}.${this.pageTokenMac(raw, query).toString('base64url')}`;
  }

  private openPageToken(token: string, query: string): Buffer {
    const [data, mac, extra] = token.split('.');
    if (data && mac && extra === undefined) {
      const raw = Buffer.from(data, 'base64url');
      const given = Buffer.from(mac, 'base64url');
      const wanted = this.pageTokenMac(raw, query);
      if (given.length === wanted.length && timingSafeEqual(given, wanted)) return raw;
    }
    throw new PageTokenError(
      'is not a token this listing gave for these filters (or the intake restarted): start from the first page',
    );
  }

  /**
   * A dry run of `placeOrder`: every contract and account problem the workflow's validation step would find
   * (the same `validateOrder`), and the workflow id the order would get. Nothing is started or changed.
   */
  checkOrder(raw: unknown): OrderCheck {
    return checkOrder(raw, this.opts.config);
  }
}

/**
 * Whether an order at `stage` has got as far as `target`: a stage on the happy path counts for itself and
 * every earlier one (FOLLOWING_UP reached, COMPLETED too); a stage off it (CANCELLED, REJECTED, FAILED) only
 * for itself. So an order that ended CANCELLED never "reached" FOLLOWING_UP or COMPLETED.
 */
export function reached(stage: Stage, target: Stage): boolean {
  const at = HAPPY_PATH.indexOf(stage);
  const wanted = HAPPY_PATH.indexOf(target);
  if (at < 0 || wanted < 0) return stage === target;
  return at >= wanted;
}

/**
 * The cancellation reason codes an account accepts: its configured `alma.cancellationReason` (what Alma is
 * told). `undefined` when the account is not configured (looked up by `own`: the name comes from outside).
 */
export function cancellationReasons(config: Pick<Config, 'accounts'>, account: string): string[] | undefined {
  const acc = own(config.accounts, account);
  return acc ? [acc.alma.cancellationReason] : undefined;
}

/** What orders are listed by: each field left out is not filtered on. */
export interface OrderFilter {
  account?: string;
  stage?: Stage;
  alert?: Alert;
  /** Only orders that need staff: any open alert, or a stage staff must act on (NEEDS_STAFF_STAGES). */
  needsAttention?: boolean;
}

/** A page token the listing did not give (or one for another query). */
export class PageTokenError extends Error {
  override name = 'PageTokenError';
}

/**
 * The visibility query for a filter. Every value is a string literal, quoted and escaped, so no value can end
 * the literal and add a clause of its own; callers check the values against the known stages, alerts and
 * accounts before (a value that names nothing would only find nothing).
 */
export function visibilityQuery(filter: OrderFilter): string {
  const clauses = [`WorkflowType = ${quote(ORDER_WORKFLOW_TYPE)}`];
  if (filter.account) clauses.push(`${OasisAccount.name} = ${quote(filter.account)}`);
  if (filter.stage) clauses.push(`${OrderStage.name} = ${quote(filter.stage)}`);
  if (filter.alert) clauses.push(`${OrderAlerts.name} = ${quote(filter.alert)}`);
  if (filter.needsAttention)
    clauses.push(
      `(${OrderAlerts.name} IS NOT NULL OR ${OrderStage.name} IN (${[...NEEDS_STAFF_STAGES].map(quote).join(', ')}))`,
    );
  return clauses.join(' AND ');
}

export function quote(v: string): string {
  return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** What a dry run says: the problems (none when the order would be taken) and the workflow id it would get. */
export type OrderCheck =
  | { ok: true; workflowId: string; order: Order; problems: [] }
  | { ok: false; workflowId?: string; problems: Problem[] };

/** The dry run without a Temporal client (`rto order check`): the validation `placeOrder` and the workflow do. */
export function checkOrder(raw: unknown, config: Pick<Config, 'accounts'>): OrderCheck {
  const checked = validateOrder(raw, config);
  if (!checked.ok) {
    const r = raw as { account?: unknown; orderId?: unknown } | null;
    const workflowId =
      typeof r?.account === 'string' && typeof r?.orderId === 'string'
        ? orderWorkflowId(r.account, r.orderId)
        : undefined;
    return { ok: false, ...(workflowId ? { workflowId } : {}), problems: checked.problems };
  }
  const { account, orderId } = checked.order;
  return { ok: true, workflowId: orderWorkflowId(account, orderId), order: checked.order, problems: [] };
}

function summaryFromExecution(wf: WorkflowExecutionInfo): OrderSummary {
  const sa = wf.typedSearchAttributes;
  const s = summaryFromAttributes(wf.workflowId, sa, sa.get(OasisAccount) ?? '', sa.get(OasisOrderId) ?? '');
  s.workflowStatus = wf.status.name;
  s.startedAt = wf.startTime.toISOString();
  return s;
}

function summaryFromAttributes(
  workflowId: string,
  sa: TypedSearchAttributes,
  account: string,
  orderId: string,
): OrderSummary {
  const stage = sa.get(OrderStage);
  return {
    workflowId,
    account,
    orderId,
    stage: stage && (STAGES as readonly string[]).includes(stage) ? (stage as Stage) : 'VALIDATING',
    poLine: sa.get(AlmaPoLine),
    mmsId: sa.get(AlmaMmsId),
    alerts: ((sa.get(OrderAlerts) ?? []) as Alert[]).slice(),
  };
}

export function statusToSummary(s: OrderStatus): OrderSummary {
  return {
    workflowId: s.workflowId,
    account: s.account,
    orderId: s.orderId,
    stage: s.stage,
    poLine: s.poLine,
    mmsId: s.mmsId,
    alerts: s.alerts,
    problems: s.problems,
    error: s.error,
    history: s.history,
    // Closed orders answer with their result (no timeline in it): derived here the same way.
    timeline: s.timeline ?? orderTimeline(s),
    vendorStatus: s.vendorStatus,
    quantityInvoiced: s.quantityInvoiced,
    recordOverlaid: s.recordOverlaid,
  };
}

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, rej) => (t = setTimeout(() => rej(new Error('timed out')), ms))),
    ]);
  } finally {
    clearTimeout(t);
  }
}
