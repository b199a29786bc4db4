/**
 * The duplicate check before ordering: does Alma already have this title? Alma's REST API has no ISBN (or
 * title) search on /bibs (GET /bibs takes MMS ids and other system ids only), so the check reads what Alma can
 * search: PO lines (`GET /acq/po-lines?q=issn_isbn~…&status=ALL_WITH_CLOSED`, title for an ebook without ISBN,
 * author compared here).
 * A line that is not this order's and not cancelled is a possible duplicate: an open one is a copy on order, a
 * closed one a copy bought and received. The bib Alma linked to it (resource_metadata.mms_id) names the held
 * title. Holdings and portfolios that no PO line ever led to are NOT seen (docs/order-path.md, HELD).
 */
import { Context } from '@temporalio/activity';
import type { PoLine } from '../alma/client';
import { DEFAULT_STATUS_CODES } from '../config/schema';
import type { Order } from '../contract/order';
import type { AlmaAccess } from '../institution/alma-access';
import { isThisOrdersLine, titleWords } from './po-line';
import type { DuplicateFindings, DuplicateMatch } from '../order/duplicates';
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
function sameTitle(pl: PoLine, order: Order): boolean {
  const meta = pl.resource_metadata;
  if (norm(meta?.title) !== norm(order.item.title)) return false;
  if (!order.item.author || !meta?.author) return true;
  const theirs = new Set(norm(meta.author).split(' '));
  return norm(order.item.author)
    .split(' ')
    .some((w) => w.length > 1 && theirs.has(w));
}

export function duplicateActivities(deps: { alma: AlmaAccess }) {
  return {
    async findDuplicates(input: DuplicateCheckInput): Promise<DuplicateFindings> {
      const ctx = Context.current();
      const { client, account, institution } = deps.alma.forAccount(input.account, ctx.cancellationSignal);
      const codes = institution.statusCodes ?? DEFAULT_STATUS_CODES;
      const { order } = input;
      const words = order.item.isbn ? '' : titleWords(order.item.title);
      const searched = order.item.isbn ? `ISBN ${order.item.isbn}` : `the title "${order.item.title}"`;
      if (!order.item.isbn && !words) return { matches: [], mmsIds: [], searched };
      const q = order.item.isbn ? `issn_isbn~${order.item.isbn}` : `title~${words}`;
      const matches: DuplicateMatch[] = [];
      try {
        for (let offset = 0; offset < MAX_READ; offset += 100) {
          // ALL_WITH_CLOSED: Alma's default (ALL) leaves CLOSED lines out, and a closed line is a copy bought.
          const page = await client.searchPoLines(q, { limit: 100, offset, status: 'ALL_WITH_CLOSED' });
          for (const pl of page.poLines) {
            const status = pl.status?.value ?? undefined;
            if (status && codes.cancelled.includes(status)) continue;
            // This order's own line (an earlier attempt of this workflow created it) is no duplicate.
            if (isThisOrdersLine(pl, account, order, codes)) continue;
            if (!order.item.isbn && !sameTitle(pl, order)) continue;
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
      const mmsIds = [...new Set(matches.flatMap((m) => (m.mmsId ? [m.mmsId] : [])))];
      return { matches, mmsIds, searched };
    },
  };
}
