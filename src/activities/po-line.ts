/**
 * Creating the PO line exactly once, and cancelling it. Alma's POST is not idempotent, so every attempt first
 * looks for a PO line this order already created (an earlier attempt whose response was lost), and only then
 * posts. Alma's search may lag behind a new line, so wherever a line may exist that it cannot see yet (an
 * earlier POST, "already exists"), the vendor's whole PO line list is read too. The design, what is proven and
 * what is assumed: docs/exactly-once.md.
 */
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import type { PageOptions, PoLine, PoLineInput, PoLinePage } from '../alma/client';
import { AlmaError } from '../alma/errors';
import { DEFAULT_STATUS_CODES, type Account, type PoLineStatusCodes } from '../config/schema';
import type { Order } from '../contract/order';
import type { AlmaAccess } from '../institution/alma-access';
import type { Logger } from '../logging';
import { toFailure } from './to-failure';
import { FailureType } from '../order/failures';
import type { CancelPoLineInput, CreatePoLineInput, CreatedPoLine, PoLineReading } from './types';

/** What an attempt leaves in its heartbeat for the next attempt. */
interface PostMarker {
  postedAt?: number;
}

/** The PO line Alma should create for this order (the JSON body of POST /acq/po-lines). */
export function poLineBody(order: Order, acc: Account, mmsId?: string): PoLineInput {
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
      ...(mmsId ? { mms_id: { value: mmsId } } : {}),
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

/** At most this many PO lines are searched (or listed) for one order before a person must decide. */
export const MAX_SEARCHED = 2000;

/**
 * A title as Alma's `q` can take it: whole words only. Alma matches whole tokens and its query syntax uses ~,
 * parentheses and AND/OR, so a word is kept only when it is letters and digits alone once its surrounding
 * punctuation is trimmed ("Algorithms," is kept as "Algorithms"); a word with punctuation inside ("Self-help",
 * "l'histoire") is left out rather than split into tokens Alma may not have. May be empty: then the title
 * cannot be searched, and the caller must look elsewhere.
 */
export function titleWords(title: string): string {
  const words = title
    .normalize('NFC')
    .split(/\s+/u)
    .map((w) => w.replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, ''))
    .filter((w) => w && /^[\p{L}\p{N}]+$/u.test(w) && !/^(AND|OR|NOT)$/.test(w));
  return words.slice(0, 8).join(' ');
}

type PageOf = (o: { limit: number; offset: number; status: string }) => Promise<PoLinePage>;

/**
 * Pages through `pageOf` until this order's line shows, or every line was seen. More than MAX_SEARCHED lines:
 * absence cannot be proven, and posting could buy the book twice, so a person decides.
 */
async function pageThrough(
  pageOf: PageOf,
  what: string,
  acc: Account,
  order: Order,
  codes: PoLineStatusCodes,
): Promise<{ line?: PoLine; calls: number }> {
  let calls = 0;
  for (let offset = 0; ; offset += 100) {
    if (offset >= MAX_SEARCHED) {
      throw ApplicationFailure.create({
        type: FailureType.DuplicateCheckInconclusive,
        nonRetryable: true,
        message: `more than ${MAX_SEARCHED} PO lines in ${what}: cannot check that order ${order.orderId} has none yet`,
      });
    }
    const page = await pageOf({ limit: 100, offset, status: 'ALL' });
    calls++;
    const line = page.poLines.find((pl) => isThisOrdersLine(pl, acc, order, codes));
    if (line) return { line, calls };
    if (!page.poLines.length || offset + 100 >= page.total) break;
  }
  return { calls };
}

/**
 * Finds the PO line this order created, if the search shows it: `vendor_reference_number` is not searchable in
 * Alma, so search by ISBN (or title) and compare the reference and the vendor client-side. Cancelled lines do
 * not count. The search's index may lag behind a new line and matches whole tokens: not finding is no proof.
 */
export async function findOrderPoLine(
  client: {
    searchPoLines(q: string, o?: PageOptions): Promise<PoLinePage>;
    listVendorPoLines(vendorCode: string, o?: PageOptions): Promise<PoLinePage>;
  },
  acc: Account,
  order: Order,
  codes: PoLineStatusCodes = DEFAULT_STATUS_CODES,
): Promise<{ line?: PoLine; calls: number }> {
  const words = order.item.isbn ? '' : titleWords(order.item.title);
  // A title with no searchable word: the vendor's list is the only place to look (every page of it).
  if (!order.item.isbn && !words) return findVendorPoLine(client, acc, order, codes);
  const q = order.item.isbn ? `issn_isbn~${order.item.isbn}` : `title~${words}`;
  return pageThrough((o) => client.searchPoLines(q, o), `the search ${q}`, acc, order, codes);
}

/**
 * Finds this order's PO line among all of the vendor's (`GET /acq/vendors/{code}/po-lines`), where a line is
 * listed without going through the search index (ASSUMED: docs/exactly-once.md). Used where the search cannot
 * prove absence: after a POST that may have reached Alma, and when Alma says the line exists. The list's order
 * is not documented, so every page is read.
 */
export async function findVendorPoLine(
  client: { listVendorPoLines(vendorCode: string, o?: PageOptions): Promise<PoLinePage> },
  acc: Account,
  order: Order,
  codes: PoLineStatusCodes = DEFAULT_STATUS_CODES,
): Promise<{ line?: PoLine; calls: number }> {
  const vendor = acc.alma.vendorCode;
  return pageThrough(
    (o) => client.listVendorPoLines(vendor, o),
    `vendor ${vendor}'s list`,
    acc,
    order,
    codes,
  );
}

/**
 * Whether a PO line is this order's: the same OASIS order id (vendor reference), vendor and vendor account. The
 * vendor account tells apart two OASIS accounts on one vendor that reuse an order id; a line whose answer
 * leaves vendor or account out is taken as a match (stricter: never post a second one beside it).
 */
export function isThisOrdersLine(
  pl: PoLine,
  acc: Account,
  order: Order,
  codes: PoLineStatusCodes = DEFAULT_STATUS_CODES,
): boolean {
  const account = typeof pl.vendor_account === 'string' ? pl.vendor_account : pl.vendor_account?.value;
  const status = pl.status?.value;
  return (
    pl.vendor_reference_number === order.orderId &&
    (pl.vendor?.value == null || pl.vendor.value === acc.alma.vendorCode) &&
    (account == null || account === acc.alma.vendorAccount) &&
    !(status != null && codes.cancelled.includes(status))
  );
}

/**
 * What Alma says of a PO line's state: its status (code and label), whether that is In Review, and its alerts
 * (why). Alma processes a new PO line asynchronously, so an answer may carry no status yet: then `status` is
 * absent and nothing is concluded from it (never "active" from an answer that said nothing).
 */
export function reviewOf(line: PoLine, codes: PoLineStatusCodes = DEFAULT_STATUS_CODES): PoLineReading {
  const status = line.status?.value || undefined;
  const desc = line.status?.desc || undefined;
  const almaAlerts = (line.alert ?? []).map((al) => al.desc || al.value || '').filter((a) => a.trim() !== '');
  return {
    ...(status ? { status } : {}),
    ...(status && desc ? { statusDesc: desc } : {}),
    inReview: status !== undefined && codes.inReview.includes(status),
    almaAlerts,
    ...(status && codes.cancelled.includes(status) ? { cancelled: true } : {}),
    ...(status && codes.closed.includes(status) ? { closed: true } : {}),
  };
}

/**
 * Alma's refusal of a second PO line with a vendor reference number the vendor already has (402119 naming
 * it): the line exists. An ASSUMPTION about Alma (docs/exactly-once.md); it is read as "found", never as a
 * reason to post again.
 */
export function isDuplicateReferenceRefusal(e: unknown): boolean {
  return (
    e instanceof AlmaError &&
    e.code === '402119' &&
    /vendor reference number/i.test(e.message) &&
    /already exists?/i.test(e.message)
  );
}

function describe(line: PoLine, found: boolean, calls: number, codes: PoLineStatusCodes): CreatedPoLine {
  return { number: line.number, ...reviewOf(line, codes), found, almaCalls: calls };
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
      const codes = institution.statusCodes ?? DEFAULT_STATUS_CODES;
      const found = (line: PoLine, how: string) => {
        log.info({ poLine: line.number, how }, 'PO line already exists: an earlier POST created it');
        return describe(line, true, calls, codes);
      };
      /** The search: finds what Alma has indexed (it may lag, and matches whole tokens only). */
      const find = async () => {
        const r = await findOrderPoLine(client, account, input.order, codes);
        calls += r.calls;
        return r.line;
      };
      /** The vendor's whole list: where the search cannot prove absence (an earlier POST, "already exists"). */
      const findListed = async () => {
        const r = await findVendorPoLine(client, account, input.order, codes);
        calls += r.calls;
        return r.line;
      };
      /** The POST whose settle time was waited out already (a timer may fire a millisecond before the clock). */
      let settledFor: number | undefined;
      try {
        for (let posts = 0; ; posts++) {
          const existing = await find();
          if (existing) return found(existing, 'search');
          // A POST of an earlier attempt (its worker lost) may still be arriving: let it land or die, look again.
          if (marker.postedAt && settledFor !== marker.postedAt && Date.now() - marker.postedAt < settleMs) {
            await settle(marker.postedAt);
            settledFor = marker.postedAt;
            posts--;
            continue;
          }
          // A POST went out before (this attempt's, answer lost, or an earlier attempt's): it may have committed
          // where the search does not see it yet (index lag). The vendor's list shows it; only then post again.
          if (marker.postedAt) {
            const listed = await findListed();
            if (listed) return found(listed, 'vendor list');
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
            const created = await client.createPoLine(poLineBody(input.order, account, input.mmsId), {
              profileCode: account.alma.profileCode,
            });
            // Alma may answer before it has processed the line: no status here says nothing yet (not "active").
            log.info({ poLine: created.number, status: created.status?.value }, 'PO line created');
            return describe(created, false, calls, codes);
          } catch (e) {
            const exists = e instanceof AlmaError && e.code === '401870';
            if (exists || isDuplicateReferenceRefusal(e)) {
              // Alma has it ("PoLine already exists", or the vendor reference number is taken). Never post again:
              // find it, in the vendor's list at once (no index), else after the settle time in both.
              const why = exists ? '401870' : 'the vendor reference number already exists (402119)';
              const listed = await findListed();
              if (listed) return found(listed, 'vendor list');
              await settle(marker.postedAt!);
              const again = (await find()) ?? (await findListed());
              if (again) return found(again, 'after the settle time');
              throw ApplicationFailure.create({
                type: FailureType.AlmaUnavailable,
                message: `Alma says the PO line exists (${why}) but neither the search nor the vendor's list shows it yet`,
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
