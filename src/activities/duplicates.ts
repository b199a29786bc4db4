/**
 * The duplicate check before ordering: does Alma already have this title? Alma's REST API has no ISBN (or
 * title) search on /bibs (GET /bibs takes MMS ids and other system ids only), so the check reads two places:
 * - PO lines (`GET /acq/po-lines?q=issn_isbn~…&status=ALL_WITH_CLOSED`, title for an ebook without ISBN, author
 *   compared here). A line that is not this order's and not cancelled is a possible duplicate: an open one is a
 *   copy on order, a closed one a copy bought and received. The bib Alma linked to it names the held title.
 * - The catalogue, through the institution's SRU target when configured (`institutions.<code>.sru`,
 *   src/alma/sru.ts): a bib with holdings (AVA fields) or portfolios (AVE fields) is held, whether a PO line ever
 *   led to it or not (a gift, migrated holdings, an ebook from a package). Merged with the lines by MMS id.
 * Without SRU, holdings and portfolios that no PO line led to are NOT seen, and the findings say so
 * (docs/order-path.md, HELD). A failing SRU search fails the check as a failing PO line search does.
 */
import { Context } from '@temporalio/activity';
import { AlmaError } from '../alma/errors';
import { createSruClient, isbnQuery, titleQuery, type SruRecord } from '../alma/sru';
import { DEFAULT_STATUS_CODES, sruBaseUrl } from '../config/schema';
import type { Order } from '../contract/order';
import type { AlmaAccess } from '../institution/alma-access';
import { isThisOrdersLine, titleWords } from './po-line';
import { describeFindings, type DuplicateFindings, type DuplicateMatch } from '../order/duplicates';
import { toFailure } from './to-failure';

/** At most this many matching PO lines are read: enough to say "there are some", and to name a few. */
const MAX_READ = 200;

export interface DuplicateCheckInput {
  account: string;
  order: Order;
}

const norm = (s: string | null | undefined) =>
  (s ?? '')
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();

/** For a title search: the same title, and (when both say) an author sharing a word. */
function sameTitle(
  meta: { title?: string | null; author?: string | null } | null | undefined,
  order: Order,
): boolean {
  if (norm(meta?.title) !== norm(order.item.title)) return false;
  if (!order.item.author || !meta?.author) return true;
  const theirs = new Set(norm(meta.author).split(' '));
  return norm(order.item.author)
    .split(' ')
    .some((w) => w.length > 1 && theirs.has(w));
}

/** What the catalogue holds of a bib, in words staff know: "held at MAIN/STACKS", "portfolio (electronic)". */
function inventoryOf(r: SruRecord): string[] {
  return [
    ...r.physical.map((p) => `held at ${p.library}/${p.location}`),
    ...r.electronic.map((e) => `portfolio (electronic${e.collection ? `, ${e.collection}` : ''})`),
  ];
}

export function duplicateActivities(deps: { alma: AlmaAccess }) {
  return {
    async findDuplicates(input: DuplicateCheckInput): Promise<DuplicateFindings> {
      const ctx = Context.current();
      const { client, account, institution, institutionCode } = deps.alma.forAccount(
        input.account,
        ctx.cancellationSignal,
      );
      const codes = institution.statusCodes ?? DEFAULT_STATUS_CODES;
      const { order } = input;
      const words = order.item.isbn ? '' : titleWords(order.item.title);
      const sru = sruBaseUrl(institution, institutionCode);
      const what = order.item.isbn ? `ISBN ${order.item.isbn}` : `the title "${order.item.title}"`;
      const searched = sru
        ? `${what} (PO lines and the catalogue)`
        : `${what} (PO lines only: no SRU configured for ${institutionCode}, holdings and portfolios without a PO line are not seen)`;
      if (!order.item.isbn && !words) return { matches: [], mmsIds: [], searched };
      const q = order.item.isbn ? `issn_isbn~${order.item.isbn}` : `title~${words}`;
      const matches: DuplicateMatch[] = [];
      // The bibs of this order's own lines (an earlier run created one): their inventory is this order's.
      const ownBibs = new Set<string>();
      try {
        for (let offset = 0; offset < MAX_READ; offset += 100) {
          // ALL_WITH_CLOSED: Alma's default (ALL) leaves CLOSED lines out, and a closed line is a copy bought.
          const page = await client.searchPoLines(q, { limit: 100, offset, status: 'ALL_WITH_CLOSED' });
          for (const pl of page.poLines) {
            const status = pl.status?.value ?? undefined;
            if (status && codes.cancelled.includes(status)) continue;
            // This order's own line (an earlier attempt of this workflow created it) is no duplicate.
            if (isThisOrdersLine(pl, account, order, codes)) {
              const own = pl.resource_metadata?.mms_id?.value;
              if (own) ownBibs.add(own);
              continue;
            }
            if (!order.item.isbn && !sameTitle(pl.resource_metadata, order)) continue;
            const mmsId = pl.resource_metadata?.mms_id?.value ?? undefined;
            matches.push({
              poLine: pl.number,
              ...(status ? { status } : {}),
              ...(pl.resource_metadata?.title ? { title: pl.resource_metadata.title } : {}),
              ...(mmsId ? { mmsId } : {}),
            });
          }
          if (!page.poLines.length || offset + 100 >= page.total) break;
        }
      } catch (e) {
        throw toFailure(e);
      }
      if (sru) {
        let held: SruRecord[];
        try {
          held = await searchCatalogue(
            createSruClient({
              baseUrl: sru,
              timeoutMs: institution.requestTimeout,
              signal: ctx.cancellationSignal,
            }),
            order,
            words,
          );
        } catch (e) {
          // The same policy as a failing PO line search: the activity fails (retried, then the workflow counts the
          // check as not made: POSSIBLE_DUPLICATE, and hold waits for staff). What the lines showed is kept in it.
          const lines = matches.length
            ? `; the PO line search found: ${describeFindings({ matches, mmsIds: [], searched })}`
            : '; the PO line search found nothing';
          const why = `the catalogue search (SRU) failed: ${(e as Error).message}${lines}`;
          throw toFailure(e instanceof AlmaError ? new AlmaError(why, e) : new Error(why));
        }
        for (const r of held) {
          if (ownBibs.has(r.mmsId)) continue;
          if (!order.item.isbn && !sameTitle(r, order)) continue;
          const inventory = inventoryOf(r);
          // A bib without inventory (a brief record of a line on order) is the PO line search's to find.
          if (!inventory.length) continue;
          const line = matches.find((m) => m.mmsId === r.mmsId);
          if (line) line.held = inventory;
          else matches.push({ mmsId: r.mmsId, ...(r.title ? { title: r.title } : {}), held: inventory });
        }
      }
      const mmsIds = [...new Set(matches.flatMap((m) => (m.mmsId ? [m.mmsId] : [])))];
      return { matches, mmsIds, searched };
    },
  };
}

/** Pages through the catalogue's answer for the order's ISBN (or title and author), MAX_READ records at most. */
async function searchCatalogue(
  sru: ReturnType<typeof createSruClient>,
  order: Order,
  words: string,
): Promise<SruRecord[]> {
  const query = order.item.isbn ? isbnQuery(order.item.isbn) : titleQuery(words, order.item.author);
  const out: SruRecord[] = [];
  for (let start = 1; start <= MAX_READ; start += 50) {
    const page = await sru.searchRetrieve(query, { maximumRecords: 50, startRecord: start });
    out.push(...page.records);
    if (!page.records.length || start - 1 + 50 >= page.total) break;
  }
  return out;
}
