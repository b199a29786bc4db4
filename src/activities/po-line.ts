/**
 * Creating the PO line exactly once, and cancelling it. Alma's POST is not idempotent, so every attempt first
 * looks for a PO line this order already created (an earlier attempt whose response was lost), and only then
 * posts. The design, and what it does not cover, is in docs/exactly-once.md.
 */
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import type { PoLine, PoLineInput } from '../alma/client';
import { AlmaError } from '../alma/errors';
import type { Account } from '../config/schema';
import type { Order } from '../contract/order';
import type { AlmaAccess } from '../institution/alma-access';
import type { Logger } from '../logging';
import { toFailure } from './to-failure';
import { FailureType } from '../order/failures';
import type { CancelPoLineInput, CreatePoLineInput, CreatedPoLine } from './types';

/** What an attempt leaves in its heartbeat for the next attempt. */
interface PostMarker {
  postedAt?: number;
}

/** The PO line Alma should create for this order (the JSON body of POST /acq/po-lines). */
export function poLineBody(order: Order, acc: Account): PoLineInput {
  const a = acc.alma;
  const notes = order.notes ?? {};
  const body: Record<string, unknown> = {
    owner: { value: order.location?.library ?? a.defaultOwner },
    type: { value: a.poLineType[order.item.format] },
    vendor: { value: a.vendorCode },
    vendor_account: a.vendorAccount,
    acquisition_method: { value: a.acquisitionMethod },
    rush: order.rush,
    price: { sum: order.listPrice.amount, currency: { value: order.listPrice.currency } },
    fund_distribution: order.fundDistribution.map((f) => ({
      fund_code: { value: f.fund },
      percent: f.percent,
    })),
    vendor_reference_number: order.orderId,
    vendor_reference_number_type: { value: a.vendorReferenceNumberType },
    source_type: { value: 'API' },
    material_type: { value: a.materialType },
    resource_metadata: {
      title: order.item.title,
      ...(order.item.author ? { author: order.item.author } : {}),
      ...(order.item.isbn ? { isbn: order.item.isbn } : {}),
      ...(order.item.publisher ? { publisher: order.item.publisher } : {}),
      ...(order.item.publicationYear ? { publication_year: String(order.item.publicationYear) } : {}),
      ...(order.item.edition ? { edition: order.item.edition } : {}),
    },
    location: order.location
      ? [
          {
            quantity: order.quantity,
            library: { value: order.location.library },
            shelving_location: order.location.shelvingLocation,
          },
        ]
      : [],
    ...(notes.vendor ? { vendor_note: notes.vendor } : {}),
    ...(notes.receiving ? { receiving_note: notes.receiving } : {}),
    ...(notes.internal ? { note: [{ note_text: notes.internal }] } : {}),
    interested_user: (order.interestedUsers ?? []).map((u) => ({
      primary_id: u.primaryId,
      notify_receiving_activation: u.notifyOnReceiving ?? false,
      hold_item: u.holdItem ?? false,
    })),
  };
  return body as PoLineInput;
}

/**
 * Finds the PO line this order created, if any: `vendor_reference_number` is not searchable in Alma, so search
 * by ISBN (or title) and compare the reference and the vendor client-side. Cancelled lines do not count.
 */
/** At most this many PO lines are searched for one order before a person must decide. */
export const MAX_SEARCHED = 2000;

/** A title as Alma's `q` can take it: words only (its query syntax uses ~, parentheses, AND/OR). */
export function titleWords(title: string): string {
  const words = title
    .normalize('NFC')
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w && !/^(AND|OR|NOT)$/.test(w));
  return words.slice(0, 8).join(' ');
}

export async function findOrderPoLine(
  client: {
    searchPoLines(
      q: string,
      o?: { limit?: number; offset?: number; status?: string },
    ): Promise<{ poLines: PoLine[]; total: number }>;
  },
  acc: Account,
  order: Order,
): Promise<{ line?: PoLine; calls: number }> {
  const q = order.item.isbn ? `issn_isbn~${order.item.isbn}` : `title~${titleWords(order.item.title)}`;
  let calls = 0;
  for (let offset = 0; ; offset += 100) {
    if (offset >= MAX_SEARCHED) {
      // Cannot prove this order has no PO line yet: posting could buy the book twice. A person decides.
      throw ApplicationFailure.create({
        type: FailureType.DuplicateCheckInconclusive,
        nonRetryable: true,
        message: `more than ${MAX_SEARCHED} PO lines match ${q}: cannot check that order ${order.orderId} has none yet`,
      });
    }
    const page = await client.searchPoLines(q, { limit: 100, offset, status: 'ALL' });
    calls++;
    const line = page.poLines.find((pl) => isThisOrdersLine(pl, acc, order));
    if (line) return { line, calls };
    if (offset + 100 >= page.total) break;
  }
  return { calls };
}

/**
 * Whether a PO line is this order's: the same OASIS order id (vendor reference), vendor and vendor account. The
 * vendor account tells apart two OASIS accounts on one vendor that reuse an order id; a line whose answer
 * leaves vendor or account out is taken as a match (stricter: never post a second one beside it).
 */
export function isThisOrdersLine(pl: PoLine, acc: Account, order: Order): boolean {
  const account = typeof pl.vendor_account === 'string' ? pl.vendor_account : pl.vendor_account?.value;
  return (
    pl.vendor_reference_number === order.orderId &&
    (pl.vendor?.value == null || pl.vendor.value === acc.alma.vendorCode) &&
    (account == null || account === acc.alma.vendorAccount) &&
    pl.status?.value !== 'CANCELLED'
  );
}

/**
 * What Alma says of a PO line's state: its status, whether that is In Review, and its alerts (why). Alma
 * processes a new PO line asynchronously, so the POST's answer may not say it yet: every later reading (the bib
 * poll) says it again.
 */
export function reviewOf(line: PoLine): { status: string; inReview: boolean; almaAlerts: string[] } {
  const status = line.status?.value ?? 'UNKNOWN';
  const almaAlerts = (line.alert ?? [])
    .map((al) => al.desc ?? al.value ?? String(al))
    .filter(Boolean) as string[];
  return { status, inReview: status === 'IN_REVIEW', almaAlerts };
}

function describe(line: PoLine, found: boolean, calls: number): CreatedPoLine {
  return { number: line.number, ...reviewOf(line), found, almaCalls: calls };
}

/** The wait before concluding from a search that a POST whose answer was lost did not reach Alma. */
export function settleTimeOf(institution: { settleTime: number; requestTimeout: number }): number {
  return Math.max(institution.settleTime, 2 * institution.requestTimeout);
}

/** How many POSTs one attempt may make, each after the previous one's answer was lost and a settle wait. */
const POSTS_PER_ATTEMPT = 2;

export function poLineActivities(deps: { alma: AlmaAccess; logger: Logger }) {
  return {
    async createPoLine(input: CreatePoLineInput): Promise<CreatedPoLine> {
      const ctx = Context.current();
      const { client, account, institution } = deps.alma.forAccount(input.account, ctx.cancellationSignal);
      const log = deps.logger.child({
        account: input.account,
        orderId: input.order.orderId,
        attempt: ctx.info.attempt,
      });
      const settleMs = settleTimeOf(institution);
      // The marker the next attempt reads: heartbeated all through the attempt (searches and budget waits
      // included), so Temporal never starts a second attempt beside a live one.
      let marker: PostMarker = (ctx.info.heartbeatDetails ?? {}) as PostMarker;
      const beat = setInterval(() => ctx.heartbeat(marker), 5_000);
      ctx.heartbeat(marker);
      let calls = 0;
      /** Waits until `postedAt` is a settle time old, heartbeating (a lost answer waits once, in this attempt). */
      const settle = async (postedAt: number) => {
        const left = postedAt + settleMs - Date.now();
        if (left <= 0) return;
        log.info({ waitMs: left }, 'an earlier POST may still reach Alma: waiting before looking again');
        await ctx.sleep(left);
      };
      const find = async () => {
        const r = await findOrderPoLine(client, account, input.order);
        calls += r.calls;
        return r.line;
      };
      try {
        for (let posts = 0; ; posts++) {
          const existing = await find();
          if (existing) {
            log.info({ poLine: existing.number }, 'PO line already exists: an earlier POST created it');
            return describe(existing, true, calls);
          }
          // A POST of an earlier attempt (its worker lost) may still be arriving: let it land or die, look again.
          if (marker.postedAt && Date.now() - marker.postedAt < settleMs) {
            await settle(marker.postedAt);
            posts--;
            continue;
          }
          if (posts >= POSTS_PER_ATTEMPT) {
            throw ApplicationFailure.create({
              type: FailureType.AlmaUnavailable,
              message: `no answer from Alma to ${posts} POSTs of this PO line, and no PO line found after waiting`,
            });
          }
          marker = { postedAt: Date.now() };
          ctx.heartbeat(marker);
          try {
            calls++;
            const created = await client.createPoLine(poLineBody(input.order, account), {
              profileCode: account.alma.profileCode,
            });
            log.info({ poLine: created.number, status: created.status?.value }, 'PO line created');
            return describe(created, false, calls);
          } catch (e) {
            if (e instanceof AlmaError && e.code === '401870') {
              // "PoLine already exists": Alma has it. Never post again: find it, after the settle time if need be.
              await settle(marker.postedAt!);
              const again = await find();
              if (again) return describe(again, true, calls);
              throw ApplicationFailure.create({
                type: FailureType.AlmaUnavailable,
                message: 'Alma says the PO line exists (401870) but the search does not show it yet',
              });
            }
            if (!(e instanceof AlmaError) || !e.ambiguous) {
              // Alma surely did not take it (refused, or never sent): a later attempt may post at once.
              marker = {};
              ctx.heartbeat(marker);
              throw e;
            }
            // The answer was lost: Alma may commit it later. The loop waits the settle time, then looks again.
            log.warn({ err: e.message }, 'the POST may have reached Alma; waiting the settle time');
          }
        }
      } catch (e) {
        // Cancelled (the order was cancelled, or the worker shuts down) during a wait: say so, not "Alma failed".
        if (e instanceof CancelledFailure) throw e;
        const failure = toFailure(e);
        log.warn({ type: failure.type, err: failure.message }, 'creating the PO line failed');
        throw failure;
      } finally {
        clearInterval(beat);
      }
    },

    async cancelPoLine(input: CancelPoLineInput): Promise<void> {
      const ctx = Context.current();
      const { client, account } = deps.alma.forAccount(input.account, ctx.cancellationSignal);
      try {
        const comment = [input.reason, input.comment].filter(Boolean).join(': ').slice(0, 1000);
        await client.cancelPoLine(input.poLine, {
          reason: account.alma.cancellationReason,
          comment,
          informVendor: false,
        });
      } catch (e) {
        // Already cancelled (401884) is what we wanted: a retried cancel after a lost response lands here.
        if (e instanceof AlmaError && e.code === '401884') return;
        throw toFailure(e);
      }
    },
  };
}
