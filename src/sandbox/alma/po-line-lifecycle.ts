/**
 * What Alma does to a PO line after the POST has been answered: processing (status, alerts, po_number), the
 * bib link (the ISBN match, else a new brief bib), and the search index catching up with each change. All of
 * it is lazy and timestamp-driven: `settle` applies, in time order, whatever is due, so a restart loses nothing.
 */
import { normaliseIsbn } from '../../contract/isbn';
import { briefRecord, recordIsbns, recordToXml } from './marc';
import { codeTablesOf, coded, statusRolesOf } from './code-tables';
import { almaDate, mmsId, type InstitutionState, type StoredPoLine } from './state';

type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
export const str = (v: unknown): string =>
  typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '';
/** A coded field's value (`{value}`); bodies with bare strings are refused before they are stored. */
export const codeOf = (v: unknown): string => (isObj(v) ? str(v.value) : str(v));

export const tablesOf = (inst: InstitutionState) => codeTablesOf(inst.seed.codeTables, inst.seed.poLineTypes);
export const rolesOf = (inst: InstitutionState) => statusRolesOf(inst.seed.codeTables);

export function statusCoded(inst: InstitutionState, role: 'active' | 'inReview' | 'closed' | 'cancelled') {
  return coded(tablesOf(inst).poLineStatus, rolesOf(inst)[role]);
}

/** Why Alma puts this PO line In Review rather than activate it (each reason an alert). */
export function reviewAlerts(
  inst: InstitutionState,
  body: Obj,
  manual: boolean,
): { value: string; desc: string }[] {
  const table = tablesOf(inst).poLineAlerts;
  const alerts: { value: string; desc: string }[] = [];
  const alert = (code: string, desc?: string) =>
    alerts.push({ value: code, desc: desc ?? table[code] ?? code });
  const vendorCode = codeOf(body.vendor);
  const vendor = inst.seed.vendors.find((v) => v.code === vendorCode);
  if (!vendorCode) alert('VENDOR_MISSING');
  else if (!vendor) alert('VENDOR_NOT_FOUND', `Vendor ${vendorCode} was not found.`);
  const account = str(body.vendor_account);
  if (!account) alert('VENDOR_ACCOUNT_MISSING');
  else if (vendor && !vendor.accounts.includes(account)) {
    alert('VENDOR_ACCOUNT_NOT_FOUND', `Vendor account ${account} was not found for ${vendorCode}.`);
  }
  const price = isObj(body.price) ? Number(str(body.price.sum)) : NaN;
  if (!(price > 0)) alert('PRICE_MISSING');
  const dist = Array.isArray(body.fund_distribution) ? body.fund_distribution : [];
  if (dist.length === 0) alert('FUND_MISSING');
  for (const d of dist) {
    const fund = isObj(d) ? codeOf(d.fund_code) : '';
    // Fund codes are case-sensitive in Alma: "m123" is not "M123".
    if (!inst.seed.funds.includes(fund)) alert('FUND_NOT_FOUND', `Fund ${fund} was not found.`);
  }
  if (manual) alert('MANUAL_REVIEW_REQUESTED');
  return alerts;
}

/** Whether a seed rule sends this line to review (the way tests make a line go In Review after the POST). */
export function ruledForReview(inst: InstitutionState, body: Obj): boolean {
  const rules = inst.seed.reviewRules;
  if (!rules) return false;
  const ref = str(body.vendor_reference_number);
  const meta = isObj(body.resource_metadata) ? body.resource_metadata : {};
  const title = str(meta.title).toLowerCase();
  return (
    (rules.vendorReferenceNumbers ?? []).includes(ref) ||
    (rules.titlesContaining ?? []).some((t) => t && title.includes(t.toLowerCase()))
  );
}

/** A change at `at`: the search sees it `indexLagMs` later. */
export function reindexAt(inst: InstitutionState, pol: StoredPoLine, at: number): void {
  (pol.indexDue ??= []).push(at + inst.indexLagMs);
}

function process(inst: InstitutionState, pol: StoredPoLine, at: number): void {
  const alerts = reviewAlerts(inst, pol.data, pol.manualReview ?? false);
  pol.data.status = statusCoded(inst, alerts.length ? 'inReview' : 'active');
  if (alerts.length) pol.data.alert = alerts;
  else delete pol.data.alert;
  // A po_number only once the line is packaged into a PO: not while it waits In Review.
  if (!alerts.length) pol.data.po_number = `PO-${str(pol.data.number).replace(/^POL-/, '')}`;
  pol.data.last_modified_date = almaDate(at);
  pol.processDueAt = null;
  reindexAt(inst, pol, at);
}

function linkBib(inst: InstitutionState, pol: StoredPoLine, at: number): void {
  const meta = (isObj(pol.data.resource_metadata) ? pol.data.resource_metadata : {}) as Obj;
  const isbn = normaliseIsbn(str(meta.isbn));
  let id: string | undefined;
  if (isbn) id = Object.values(inst.bibs).find((b) => b.isbns.includes(isbn))?.mmsId;
  if (!id) {
    id = mmsId(inst.nextBib++, inst.mmsSuffix);
    const rec = briefRecord(
      {
        mmsId: id,
        title: str(meta.title) || '[No title]',
        author: str(meta.author) || undefined,
        isbn: str(meta.isbn) || undefined,
        publisher: str(meta.publisher) || undefined,
        year: str(meta.publication_year) || undefined,
        place: str(meta.publication_place) || undefined,
      },
      new Date(at),
    );
    inst.bibs[id] = {
      mmsId: id,
      recordXml: recordToXml(rec),
      isbns: recordIsbns(rec),
      createdBy: 'API',
      createdDate: almaDate(at),
      lastModifiedBy: 'API',
      lastModifiedDate: almaDate(at),
    };
  }
  pol.data.resource_metadata = { ...meta, mms_id: { value: id } };
  pol.bibDueAt = null;
  reindexAt(inst, pol, at);
}

/** Applies, oldest first, whatever of the line's background work is due by `now`. */
export function settle(inst: InstitutionState, pol: StoredPoLine, now: number): boolean {
  let changed = false;
  // Older state files: a line without these fields was processed and indexed as it is.
  if (pol.indexed === undefined) pol.indexed = structuredClone(pol.data);
  for (;;) {
    const process_ = pol.processDueAt ?? Infinity;
    // The bib is linked by the processing, never before it.
    const bib =
      pol.bibDueAt === null ? Infinity : Math.max(pol.bibDueAt, process_ === Infinity ? 0 : process_);
    const index = pol.indexDue?.length ? Math.min(...pol.indexDue) : Infinity;
    const next = Math.min(process_, bib, index);
    if (next > now) return changed;
    changed = true;
    if (next === process_) process(inst, pol, next);
    else if (next === bib) linkBib(inst, pol, next);
    else {
      pol.indexed = structuredClone(pol.data);
      pol.indexDue = pol.indexDue!.filter((t) => t > next);
    }
  }
}

export function settleAll(inst: InstitutionState, now: number): boolean {
  let changed = false;
  for (const pol of Object.values(inst.poLines)) changed = settle(inst, pol, now) || changed;
  return changed;
}
