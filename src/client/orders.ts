/**
 * The library OASIS imports: place an order, cancel it, read its status, list orders. Invalid orders are
 * refused here with every problem before any workflow starts; the workflow validates again (the authority).
 */
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdReusePolicy,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import type { Config } from '../config/schema';
import type { Problem } from '../contract/order';
import { validateOrder } from '../contract/validate';
import { cancelUpdate, statusQuery } from '../order/messages';
import {
  isFinal,
  STAGES,
  type Alert,
  type CancelRequest,
  type OrderStatus,
  type Stage,
} from '../order/types';
import { orderWorkflowId } from '../order/ids';
import type { orderWorkflow } from '../workflows/order';

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
      'problems' | 'error' | 'history' | 'vendorStatus' | 'quantityInvoiced' | 'recordOverlaid'
    >
  > & {
    /** Temporal's own view: RUNNING, COMPLETED, FAILED, TERMINATED, ... */
    workflowStatus?: string;
    startedAt?: string;
  };

export class OrderNotFoundError extends Error {
  override name = 'OrderNotFoundError';
}

export class OrderClient {
  constructor(
    private readonly client: Client,
    private readonly opts: { config: Pick<Config, 'accounts'>; taskQueue: string },
  ) {}

  handle(account: string, orderId: string): WorkflowHandle<typeof orderWorkflow> {
    return this.client.workflow.getHandle(orderWorkflowId(account, orderId));
  }

  /** Places an order; a repeated order returns the existing one's state and never starts a second workflow. */
  async placeOrder(raw: unknown): Promise<PlaceResult> {
    const checked = validateOrder(raw, this.opts.config);
    if (!checked.ok) {
      const r = raw as { account?: unknown; orderId?: unknown } | null;
      const workflowId =
        typeof r?.account === 'string' && typeof r?.orderId === 'string'
          ? orderWorkflowId(r.account, r.orderId)
          : undefined;
      return { outcome: 'refused', workflowId, problems: checked.problems };
    }
    const { account, orderId } = checked.order;
    const workflowId = orderWorkflowId(account, orderId);
    try {
      await this.client.workflow.start('orderWorkflow', {
        workflowId,
        taskQueue: this.opts.taskQueue,
        args: [{ order: raw, account, orderId }],
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
      if ((e as Error).name === 'WorkflowNotFoundError')
        throw new OrderNotFoundError(`no order ${orderId} for account ${account}`);
      throw e;
    }
    const base = summaryFromAttributes(
      desc.workflowId,
      desc.searchAttributes as Record<string, unknown[]>,
      account,
      orderId,
    );
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

  /** Waits until the order reaches `stage` or a later one (or ends); returns the last status seen. */
  async waitForStage(
    account: string,
    orderId: string,
    stage: Stage,
    opts: { timeoutMs?: number; pollMs?: number } = {},
  ): Promise<OrderSummary> {
    const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
    const target = STAGES.indexOf(stage);
    for (;;) {
      const s = await this.getStatus(account, orderId);
      if (reached(s.stage, target) || isFinal(s.stage) || Date.now() > deadline) return s;
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 250));
    }
  }

  /** Orders by account and stage, from the search attributes (what the Temporal UI filters on). */
  async listOrders(
    filter: { account?: string; stage?: Stage; alert?: string; limit?: number } = {},
  ): Promise<OrderSummary[]> {
    const clauses = [`WorkflowType = 'orderWorkflow'`];
    if (filter.account) clauses.push(`OasisAccount = ${quote(filter.account)}`);
    if (filter.stage) clauses.push(`OrderStage = ${quote(filter.stage)}`);
    if (filter.alert) clauses.push(`OrderAlerts = ${quote(filter.alert)}`);
    const out: OrderSummary[] = [];
    for await (const wf of this.client.workflow.list({ query: clauses.join(' AND ') })) {
      const sa = wf.searchAttributes as Record<string, unknown[]>;
      const s = summaryFromAttributes(
        wf.workflowId,
        sa,
        String(sa.OasisAccount?.[0] ?? ''),
        String(sa.OasisOrderId?.[0] ?? ''),
      );
      s.workflowStatus = wf.status.name;
      s.startedAt = wf.startTime.toISOString();
      out.push(s);
      if (out.length >= (filter.limit ?? 1000)) break;
    }
    return out;
  }
}

export function reached(stage: Stage, targetIndex: number): boolean {
  return STAGES.indexOf(stage) >= targetIndex;
}

function quote(v: string): string {
  return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function summaryFromAttributes(
  workflowId: string,
  sa: Record<string, unknown[]>,
  account: string,
  orderId: string,
): OrderSummary {
  const one = (k: string) => (sa[k]?.[0] !== undefined ? String(sa[k]![0]) : undefined);
  return {
    workflowId,
    account,
    orderId,
    stage: (one('OrderStage') as Stage) ?? 'VALIDATING',
    poLine: one('AlmaPoLine'),
    mmsId: one('AlmaMmsId'),
    alerts: ((sa.OrderAlerts ?? []) as Alert[]).slice(),
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
