/**
 * Finds the order a vendor file speaks of: by the OASIS order id (the workflow id is derived from it), by the
 * Alma PO line number or by ISBN (search attributes). Ambiguous or missing matches are reported, never guessed.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { statusQuery } from '../order/messages';
import { orderWorkflowId } from '../order/ids';
import type { OrderStatus } from '../order/types';

export type Match =
  { ok: true; workflowId: string; by: 'order id' | 'PO line' | 'ISBN' } | { ok: false; reason: string };

function quote(v: string): string {
  return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export class OrderLookup {
  constructor(
    private readonly client: Client,
    private readonly account: string,
  ) {}

  private async ids(query: string, limit = 3): Promise<string[]> {
    const out: string[] = [];
    for await (const wf of this.client.workflow.list({
      query: `WorkflowType = 'orderWorkflow' AND OasisAccount = ${quote(this.account)} AND ${query}`,
    })) {
      if (!out.includes(wf.workflowId)) out.push(wf.workflowId);
      if (out.length >= limit) break;
    }
    return out;
  }

  /** Only "no such workflow" means no such order; any other error (Temporal busy) is thrown, so the caller retries. */
  private async exists(workflowId: string): Promise<boolean> {
    try {
      await this.client.workflow.getHandle(workflowId).describe();
      return true;
    } catch (e) {
      if (e instanceof WorkflowNotFoundError) return false;
      throw e;
    }
  }

  /** PO line first (the sharpest key), then the OASIS order id, then ISBN among the account's open orders. */
  async find(keys: { poLines?: string[]; orderIds?: string[]; isbns?: string[] }): Promise<Match> {
    for (const pol of keys.poLines ?? []) {
      const found = await this.ids(`AlmaPoLine = ${quote(pol)}`);
      if (found.length === 1) return { ok: true, workflowId: found[0]!, by: 'PO line' };
      if (found.length > 1) return { ok: false, reason: `PO line ${pol} belongs to ${found.length} orders` };
    }
    for (const id of keys.orderIds ?? []) {
      const wf = orderWorkflowId(this.account, id);
      if (await this.exists(wf)) return { ok: true, workflowId: wf, by: 'order id' };
    }
    for (const isbn of keys.isbns ?? []) {
      const found = await this.ids(`Isbn = ${quote(isbn)} AND ExecutionStatus = 'Running'`);
      if (found.length === 1) return { ok: true, workflowId: found[0]!, by: 'ISBN' };
      if (found.length > 1)
        return {
          ok: false,
          reason: `ISBN ${isbn} matches ${found.length} open orders: ambiguous, not guessed`,
        };
    }
    const tried = [
      ...(keys.poLines ?? []).map((p) => `PO line ${p}`),
      ...(keys.orderIds ?? []).map((o) => `order id ${o}`),
      ...(keys.isbns ?? []).map((i) => `ISBN ${i}`),
    ];
    return {
      ok: false,
      reason: tried.length
        ? `no order of ${this.account} matches ${tried.join(', ')}`
        : 'no order reference in the line',
    };
  }

  async status(workflowId: string): Promise<OrderStatus | undefined> {
    try {
      return await this.client.workflow.getHandle(workflowId).query(statusQuery);
    } catch (e) {
      if (e instanceof WorkflowNotFoundError) return undefined;
      throw e;
    }
  }
}
