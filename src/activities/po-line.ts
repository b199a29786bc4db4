/**
 * Creating the PO line exactly once, and cancelling it. Alma's POST is not idempotent, so every attempt first
 * looks for a PO line this order already created (an earlier attempt whose response was lost), and only then
 * posts. The design, and what it does not cover, is in docs/exactly-once.md.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
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
    const line = page.poLines.find(
      (pl) =>
        pl.vendor_reference_number === order.orderId &&
        (pl.vendor?.value === undefined || pl.vendor.value === acc.alma.vendorCode) &&
        pl.status?.value !== 'CANCELLED',
    );
    if (line) return { line, calls };
    if (offset + 100 >= page.total) break;
  }
  return { calls };
}

function describe(line: PoLine, found: boolean, calls: number): CreatedPoLine {
  const status = line.status?.value ?? 'UNKNOWN';
  const almaAlerts = (line.alert ?? [])
    .map((al) => al.desc ?? al.value ?? String(al))
    .filter(Boolean) as string[];
  return {
    number: line.number,
    status,
    inReview: status === 'IN_REVIEW',
    almaAlerts,
    found,
    almaCalls: calls,
  };
}

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
      // A request we gave up on may still be arriving at Alma: look only after it has surely landed or died.
      const settleMs = institution.requestTimeout * 2;
      const prior = (ctx.info.heartbeatDetails ?? {}) as PostMarker;
      try {
        const existing = await findOrderPoLine(client, account, input.order);
        if (existing.line) {
          log.info({ poLine: existing.line.number }, 'PO line already exists: an earlier attempt created it');
          return describe(existing.line, true, existing.calls);
        }
        if (prior.postedAt && Date.now() - prior.postedAt < settleMs) {
          throw ApplicationFailure.create({
            type: FailureType.AlmaUnavailable,
            message:
              'an earlier attempt posted this PO line and may still be arriving at Alma; looking again shortly',
            nextRetryDelay: settleMs - (Date.now() - prior.postedAt),
          });
        }
        ctx.heartbeat({ postedAt: Date.now() } satisfies PostMarker);
        let created: PoLine;
        try {
          created = await client.createPoLine(poLineBody(input.order, account), {
            profileCode: account.alma.profileCode,
          });
        } catch (e) {
          if (e instanceof AlmaError && e.code === '401870') {
            // "PoLine already exists": Alma says it has it; find it rather than post again.
            const again = await findOrderPoLine(client, account, input.order);
            if (again.line) return describe(again.line, true, existing.calls + 1 + again.calls);
            // Not visible yet: never post again; look again after the settle time (the marker stays).
            throw ApplicationFailure.create({
              type: FailureType.AlmaUnavailable,
              message: `Alma says the PO line exists (401870) but the search does not show it yet`,
              nextRetryDelay: settleMs,
            });
          }
          if (e instanceof AlmaError && !e.ambiguous) ctx.heartbeat({} satisfies PostMarker);
          if (e instanceof AlmaError && e.ambiguous && e.kind === 'network') {
            // A timeout: Alma may commit later. The next attempt waits out the settle time before it searches.
            throw ApplicationFailure.create({
              type: FailureType.AlmaUnavailable,
              message: e.message,
              nextRetryDelay: settleMs,
            });
          }
          throw e;
        }
        log.info({ poLine: created.number, status: created.status?.value }, 'PO line created');
        return describe(created, false, existing.calls + 1);
      } catch (e) {
        const failure = toFailure(e);
        log.warn({ type: failure.type, err: failure.message }, 'creating the PO line failed');
        throw failure;
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
