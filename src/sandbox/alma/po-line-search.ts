/**
 * GET /acq/po-lines as Ex Libris documents it ("Retrieve PO-Lines"): the `q` fields, `status` (default ALL:
 * everything but CLOSED), `order_by`, `direction`, `acquisition_method`; against the search index, which sees
 * a change only `indexLagMs` after it. Matching is strict (whole tokens) or lenient (substrings, ISBNs
 * normalised). GET /acq/vendors/{code}/po-lines is a listing, not a search: no index lag (ASSUMPTION).
 */
import { normaliseIsbn } from '../../contract/isbn';
import { AlmaFault } from './render';
import { codeOf, isObj, rolesOf, str, tablesOf } from './po-line-lifecycle';
import { hasCode } from './code-tables';
import type { InstitutionState, StoredPoLine } from './state';
import type { Answer, Ctx } from './types';

type Obj = Record<string, unknown>;

export const SEARCH_FIELDS = [
  'title',
  'author',
  'mms_id',
  'publisher',
  'publication_year',
  'publication_place',
  'issn_isbn',
  'shelving_location',
  'vendor_code',
  'vendor_name',
  'vendor_account',
  'fund_code',
  'fund_name',
  'number',
  'po_number',
  'invoice_reference',
  'all',
] as const;
type SearchField = (typeof SEARCH_FIELDS)[number];

/** The documented `status` values of GET /acq/po-lines. */
export const SEARCH_STATUSES = ['CLOSED', 'CANCELLED', 'ACTIVE', 'ALL', 'ALL_WITH_CLOSED'] as const;
export const ORDER_BY = ['number', 'title', 'created_date', 'po_number'] as const;

function fieldText(inst: InstitutionState, d: Obj, field: Exclude<SearchField, 'all'>): string[] {
  const meta = isObj(d.resource_metadata) ? d.resource_metadata : {};
  const locations = Array.isArray(d.location) ? d.location.filter(isObj) : [];
  const funds = (Array.isArray(d.fund_distribution) ? d.fund_distribution : []).map((f) =>
    isObj(f) ? codeOf(f.fund_code) : '',
  );
  switch (field) {
    case 'title':
    case 'author':
    case 'publisher':
    case 'publication_year':
    case 'publication_place':
      return [str(meta[field])];
    case 'mms_id':
      return [codeOf(meta.mms_id)];
    case 'issn_isbn':
      return [str(meta.isbn), str(meta.issn)];
    case 'shelving_location':
      return locations.map((l) => str(l.shelving_location));
    case 'vendor_code':
      return [codeOf(d.vendor)];
    case 'vendor_name': {
      const v = inst.seed.vendors.find((x) => x.code === codeOf(d.vendor));
      return [v?.name ?? ''];
    }
    case 'vendor_account':
      return [str(d.vendor_account)];
    case 'fund_code':
      return funds;
    case 'fund_name':
      // The fund's name as GET /acq/funds gives it (lookups.ts).
      return funds.map((f) => (f ? `${f} fund` : ''));
    case 'number':
      return [str(d.number)];
    case 'po_number':
      return [str(d.po_number)];
    case 'invoice_reference':
      return [str(d.invoice_reference)];
  }
}

/** Words as the strict index keeps them: letters, digits and hyphens as written; lower case. */
const tokens = (text: string): string[] => text.toLowerCase().match(/[\p{L}\p{N}-]+/gu) ?? [];

function matches(inst: InstitutionState, d: Obj, field: SearchField, value: string): boolean {
  const texts =
    field === 'all'
      ? SEARCH_FIELDS.filter((f): f is Exclude<SearchField, 'all'> => f !== 'all').flatMap((f) =>
          fieldText(inst, d, f),
        )
      : fieldText(inst, d, field);
  if (inst.searchMatch === 'strict') {
    const have = new Set(texts.flatMap(tokens));
    const want = tokens(value);
    return want.length > 0 && want.every((w) => have.has(w));
  }
  if (field === 'issn_isbn') {
    const wanted = normaliseIsbn(value) ?? value.replace(/[-\s]/g, '');
    return texts.some((t) => (normaliseIsbn(t) ?? t.replace(/[-\s]/g, '')).includes(wanted));
  }
  const hay = texts.join(' ').toLowerCase();
  return value
    .toLowerCase()
    .split(/\s+/)
    .filter(Boolean)
    .every((w) => hay.includes(w));
}

export function statusFilter(inst: InstitutionState, status: string | null): (d: Obj) => boolean {
  const s = status ?? 'ALL';
  if (!(SEARCH_STATUSES as readonly string[]).includes(s)) {
    throw new AlmaFault(
      400,
      '402119',
      `General Error: status ${s} is not valid. Valid values: ${SEARCH_STATUSES.join(', ')}.`,
    );
  }
  const roles = rolesOf(inst);
  const v = (d: Obj) => codeOf(d.status);
  if (s === 'ALL_WITH_CLOSED') return () => true;
  if (s === 'ALL') return (d) => v(d) !== roles.closed;
  if (s === 'CLOSED') return (d) => v(d) === roles.closed;
  if (s === 'CANCELLED') return (d) => v(d) === roles.cancelled;
  // ACTIVE: in process, i.e. neither closed nor cancelled (In Review and not yet processed included).
  return (d) => v(d) !== roles.closed && v(d) !== roles.cancelled;
}

export function page(ctx: Ctx): { limit: number; offset: number } {
  const limit = Number(ctx.query.get('limit') ?? '10');
  const offset = Number(ctx.query.get('offset') ?? '0');
  if (!Number.isInteger(limit) || limit < 0 || limit > 100) {
    throw new AlmaFault(400, '40166410', 'Parameter value is invalid: limit must be 0-100.');
  }
  if (!Number.isInteger(offset) || offset < 0) {
    throw new AlmaFault(400, '40166410', 'Parameter value is invalid: offset must be 0 or more.');
  }
  return { limit, offset };
}

function parseQuery(q: string | null): { field: SearchField; value: string }[] {
  const clauses: { field: SearchField; value: string }[] = [];
  if (!q || !q.trim()) return clauses;
  for (const part of q.split(/\s+AND\s+/)) {
    const m = /^\s*([a-z_]+)~(.*)$/.exec(part);
    if (!m)
      throw new AlmaFault(
        400,
        '402119',
        `General Error: the query "${part}" is not of the form field~value.`,
      );
    const field = m[1] as SearchField;
    if (!SEARCH_FIELDS.includes(field)) {
      throw new AlmaFault(
        400,
        '402119',
        `General Error: ${m[1]} is not a searchable field. Valid fields: ${SEARCH_FIELDS.join(', ')}.`,
      );
    }
    clauses.push({ field, value: m[2]!.trim() });
  }
  return clauses;
}

const numeric = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

function sortKey(d: Obj, by: (typeof ORDER_BY)[number]): string {
  const meta = isObj(d.resource_metadata) ? d.resource_metadata : {};
  if (by === 'title') return str(meta.title);
  if (by === 'created_date') return str(d.created_date);
  return str(d[by]);
}

/** Sorted as asked; the secondary sort is on number (documented), in the same direction (ASSUMPTION). */
function ordered(ctx: Ctx, lines: { pol: StoredPoLine; seen: Obj }[]): StoredPoLine[] {
  const by = ctx.query.get('order_by') ?? 'title';
  const direction = ctx.query.get('direction') ?? 'desc';
  if (!(ORDER_BY as readonly string[]).includes(by)) {
    throw new AlmaFault(
      400,
      '402119',
      `General Error: order_by ${by} is not valid (${ORDER_BY.join(', ')}).`,
    );
  }
  if (direction !== 'asc' && direction !== 'desc') {
    throw new AlmaFault(400, '402119', `General Error: direction ${direction} is not valid (asc, desc).`);
  }
  const sign = direction === 'asc' ? 1 : -1;
  const key = by as (typeof ORDER_BY)[number];
  return [...lines]
    .sort(
      (a, b) =>
        sign *
        (numeric.compare(sortKey(a.seen, key), sortKey(b.seen, key)) ||
          numeric.compare(str(a.seen.number), str(b.seen.number))),
    )
    .map((l) => l.pol);
}

export function searchPoLines(ctx: Ctx, list: (ctx: Ctx, lines: StoredPoLine[]) => Answer): Answer {
  const { inst } = ctx;
  const clauses = parseQuery(ctx.query.get('q'));
  const keep = statusFilter(inst, ctx.query.get('status'));
  const method = ctx.query.get('acquisition_method') ?? 'ALL';
  if (method !== 'ALL' && !hasCode(tablesOf(inst).acquisitionMethods, method)) {
    throw new AlmaFault(400, '402119', `General Error: acquisition_method ${method} is not valid.`);
  }
  // The search sees the index, not the line: a line not indexed yet is not found.
  const hits = Object.values(inst.poLines)
    .map((pol) => ({ pol, seen: pol.indexed === undefined ? pol.data : pol.indexed }))
    .filter((x): x is { pol: StoredPoLine; seen: Obj } => x.seen !== null)
    .filter(
      ({ seen }) =>
        keep(seen) &&
        (method === 'ALL' || codeOf(seen.acquisition_method) === method) &&
        clauses.every((c) => matches(inst, seen, c.field, c.value)),
    );
  return list(ctx, ordered(ctx, hits));
}

/**
 * A vendor's PO lines. Not a search: current data, no index lag, status filter as the search's (ASSUMPTION,
 * default ALL). Order undocumented: by number ascending, oldest first (ASSUMPTION; the caller must page it all).
 */
export function vendorPoLines(
  ctx: Ctx,
  vendorCode: string,
  list: (ctx: Ctx, lines: StoredPoLine[]) => Answer,
): Answer {
  const { inst } = ctx;
  if (!inst.seed.vendors.some((v) => v.code === vendorCode)) {
    throw new AlmaFault(400, '402880', `Vendor ${vendorCode} was not found.`);
  }
  const keep = statusFilter(inst, ctx.query.get('status'));
  const lines = Object.values(inst.poLines)
    .filter((p) => codeOf(p.data.vendor) === vendorCode && keep(p.data))
    .sort((a, b) => numeric.compare(str(a.data.number), str(b.data.number)));
  return list(ctx, lines);
}
