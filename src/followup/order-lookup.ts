/**
 * Finds the order a vendor's line speaks of, from the line's references, in this order (the first that finds
 * an order wins):
 *
 *   1. RFF+LI   the buyer's order line: looked up as an Alma PO line
 *   2. RFF+SLI  the vendor's line reference, where OASIS orders carry their order id: as an order id
 *   3. PIA+1 …:SA  the supplier's article number, where many vendors put the order reference: order id, PO line
 *   4. RFF+SNA, RFF+SNL  the serials references: order id, then PO line
 *   5. RFF+ON   an order number given on the line: PO line, then order id
 *   6. the ISBN, among the account's open orders: only when the line has no reference of an order id's or
 *      PO line's form (a well-formed reference that finds nothing is reported, not guessed around); two or
 *      more open orders with that ISBN are reported as ambiguous.
 *
 * A value is looked up only when it has the form of what it is looked up as (an OASIS order id: 1–64 letters,
 * digits, ".", "_", "-"; an Alma PO line number: the same, starting with a letter or digit). Vendor text never
 * reaches Temporal otherwise: a 64 KB "reference" is refused here, unread. The order id is what the workflow id
 * is made of (a describe); a PO line is a search attribute (a list query).
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { normaliseIsbn } from '../contract/isbn';
import { vendorText } from '../edi/errors';
import type { LineReference } from '../edi/values';
import { statusQuery } from '../order/messages';
import { orderWorkflowId } from '../order/ids';
import type { OrderStatus } from '../order/types';

export type MatchedBy = 'order id' | 'PO line' | 'ISBN';

export type Match =
  { ok: true; workflowId: string; by: MatchedBy; reference?: LineReference } | { ok: false; reason: string };

/** The reference qualifiers used for matching, in the order they are tried. */
export const REFERENCE_ORDER = ['LI', 'SLI', 'SA', 'SNA', 'SNL', 'ON'] as const;

/** What each qualifier's value is looked up as, in order. */
const LOOKUPS: Record<(typeof REFERENCE_ORDER)[number], ('PO line' | 'order id')[]> = {
  LI: ['PO line'],
  SLI: ['order id'],
  SA: ['order id', 'PO line'],
  SNA: ['order id', 'PO line'],
  SNL: ['order id', 'PO line'],
  ON: ['PO line', 'order id'],
};

/** The OASIS order id's form (src/contract/order.ts). */
const ORDER_ID_FORM = /^[A-Za-z0-9._-]{1,64}$/;
/** An Alma PO line number's form (e.g. POL-12345). */
const PO_LINE_FORM = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Lookups per line at most: a line listing dozens of references does not make dozens of calls. */
const MAX_LOOKUPS = 8;

export function isOrderIdForm(value: string): boolean {
  return ORDER_ID_FORM.test(value);
}

export function isPoLineForm(value: string): boolean {
  return PO_LINE_FORM.test(value);
}

function quote(v: string): string {
  return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

interface Lookup {
  as: 'PO line' | 'order id';
  value: string;
  reference: LineReference;
}

/** The lookups a line's references call for, in the documented order, forms checked; and what was refused. */
export function planLookups(references: LineReference[]): { lookups: Lookup[]; refused: LineReference[] } {
  const lookups: Lookup[] = [];
  const refused: LineReference[] = [];
  for (const qualifier of REFERENCE_ORDER) {
    for (const reference of references) {
      if (reference.qualifier !== qualifier) continue;
      const value = reference.value.trim();
      let usable = false;
      for (const as of LOOKUPS[qualifier]) {
        if (!(as === 'PO line' ? isPoLineForm(value) : isOrderIdForm(value))) continue;
        usable = true;
        if (!lookups.some((l) => l.as === as && l.value === value)) lookups.push({ as, value, reference });
      }
      if (!usable) refused.push(reference);
    }
  }
  return { lookups: lookups.slice(0, MAX_LOOKUPS), refused };
}

const shown = (r: LineReference) => `${r.qualifier} ${vendorText(r.value)}`;

export class OrderLookup {
  /** Answers already had in this file: the same reference on many lines is looked up once. */
  private readonly known = new Map<string, Promise<string[]>>();

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
  /** The account's running orders for one ISBN (looked up once per file). */
  private openOrdersWithIsbn(isbn: string): Promise<string[]> {
    return this.once(`isbn:${isbn}`, () => this.ids(`Isbn = ${quote(isbn)} AND ExecutionStatus = 'Running'`));
  }

  private async exists(workflowId: string): Promise<boolean> {
    try {
      await this.client.workflow.getHandle(workflowId).describe();
      return true;
    } catch (e) {
      if (e instanceof WorkflowNotFoundError) return false;
      throw e;
    }
  }

  private once(key: string, get: () => Promise<string[]>): Promise<string[]> {
    let p = this.known.get(key);
    if (!p) {
      p = get();
      this.known.set(key, p);
      // A failed look-up (Temporal busy) is not remembered: the retried attempt asks again.
      p.catch(() => this.known.delete(key));
    }
    return p;
  }

  private find1(l: Lookup): Promise<string[]> {
    if (l.as === 'PO line')
      return this.once(`pol:${l.value}`, () => this.ids(`AlmaPoLine = ${quote(l.value)}`));
    const wf = orderWorkflowId(this.account, l.value);
    return this.once(`id:${l.value}`, async () => ((await this.exists(wf)) ? [wf] : []));
  }

  /**
   * The order a line speaks of: by its references (see the module comment for the order they are tried in),
   * or, as the MARC overlay asks, by lists of PO lines, order ids and ISBNs (PO line first, then order id, then
   * ISBN among open orders). Either way a value is looked up only when it has the form of what it is.
   */
  async find(
    keys:
      | { references: LineReference[]; isbn?: string }
      | { poLines?: string[]; orderIds?: string[]; isbns?: string[] },
  ): Promise<Match> {
    if (!('references' in keys)) return this.findByKeys(keys);
    return this.findByReferences(keys);
  }

  private async findByKeys(keys: {
    poLines?: string[];
    orderIds?: string[];
    isbns?: string[];
  }): Promise<Match> {
    const poLines = (keys.poLines ?? []).filter(isPoLineForm).slice(0, MAX_LOOKUPS);
    const orderIds = (keys.orderIds ?? []).filter(isOrderIdForm).slice(0, MAX_LOOKUPS);
    const isbns = (keys.isbns ?? []).flatMap((i) => normaliseIsbn(i) ?? []).slice(0, MAX_LOOKUPS);
    for (const value of poLines) {
      const found = await this.find1({ as: 'PO line', value, reference: { qualifier: 'LI', value } });
      if (found.length === 1) return { ok: true, workflowId: found[0]!, by: 'PO line' };
      if (found.length > 1)
        return { ok: false, reason: `PO line ${vendorText(value)} belongs to ${found.length} orders` };
    }
    for (const value of orderIds) {
      const found = await this.find1({ as: 'order id', value, reference: { qualifier: 'SLI', value } });
      if (found.length === 1) return { ok: true, workflowId: found[0]!, by: 'order id' };
    }
    for (const isbn of isbns) {
      const found = await this.openOrdersWithIsbn(isbn);
      if (found.length === 1) return { ok: true, workflowId: found[0]!, by: 'ISBN' };
      if (found.length > 1)
        return {
          ok: false,
          reason: `ISBN ${isbn} matches ${found.length} open orders: ambiguous, not guessed`,
        };
    }
    const tried = [
      ...poLines.map((p) => `PO line ${p}`),
      ...orderIds.map((o) => `order id ${o}`),
      ...isbns.map((i) => `ISBN ${i}`),
    ];
    const given = (keys.poLines?.length ?? 0) + (keys.orderIds?.length ?? 0) + (keys.isbns?.length ?? 0);
    return {
      ok: false,
      reason: tried.length
        ? `no order of ${this.account} matches ${tried.join(', ')}`
        : given
          ? 'no usable order reference (none of an order id, PO line or ISBN form)'
          : 'no order reference in the line',
    };
  }

  private async findByReferences(keys: { references: LineReference[]; isbn?: string }): Promise<Match> {
    const { lookups, refused } = planLookups(keys.references);
    for (const l of lookups) {
      const found = await this.find1(l);
      if (found.length === 1) return { ok: true, workflowId: found[0]!, by: l.as, reference: l.reference };
      if (found.length > 1)
        return {
          ok: false,
          reason: `${shown(l.reference)} (as a PO line) belongs to ${found.length} orders: ambiguous, not guessed`,
        };
    }
    const notOurs = refused.length
      ? `; not of an order id's or PO line's form, so not looked up: ${refused.slice(0, 5).map(shown).join(', ')}`
      : '';
    if (lookups.length > 0) {
      return {
        ok: false,
        reason: `no order of ${this.account} matches ${lookups.map((l) => `${shown(l.reference)} (as ${l.as === 'PO line' ? 'a PO line' : 'an order id'})`).join(', ')}${notOurs}`,
      };
    }
    const isbn = keys.isbn !== undefined ? normaliseIsbn(keys.isbn) : null;
    if (isbn) {
      const found = await this.openOrdersWithIsbn(isbn);
      if (found.length === 1) return { ok: true, workflowId: found[0]!, by: 'ISBN' };
      if (found.length > 1)
        return {
          ok: false,
          reason: `ISBN ${isbn} matches ${found.length} open orders: ambiguous, not guessed${notOurs}`,
        };
      return { ok: false, reason: `no open order of ${this.account} has ISBN ${isbn}${notOurs}` };
    }
    return {
      ok: false,
      reason: refused.length ? `no usable order reference${notOurs}` : 'no order reference in the line',
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
