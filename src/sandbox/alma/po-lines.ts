/**
 * PO line endpoints: create (answer at once, link the bib later), read, search, list by vendor, cancel.
 * The bib link is computed lazily from timestamps, so it happens on time even across a restart.
 */
import { normaliseIsbn } from '../../contract/isbn';
import { AlmaFault, listXml, toXml, XML_DECL } from './render';
import { briefRecord, recordIsbns, recordToXml } from './marc';
import { DEFAULT_PO_LINE_TYPES } from './seed';
import { almaDate, mmsId, type InstitutionState, type StoredPoLine } from './state';
import type { Answer, Ctx } from './types';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');
/** A coded field's value, whether sent as `{value}` or as a bare string. */
const codeOf = (v: unknown): string => (isObj(v) ? str(v.value) : str(v));

const STATUS = {
  ACTIVE: { value: 'ACTIVE', desc: 'Active' },
  IN_REVIEW: { value: 'IN_REVIEW', desc: 'In Review' },
  CANCELLED: { value: 'CANCELLED', desc: 'Cancelled' },
};

/** Links the bib once its time has come: the ISBN match, else a new brief bib. */
export function settle(inst: InstitutionState, pol: StoredPoLine, now: number): boolean {
  if (pol.bibDueAt === null || now < pol.bibDueAt) return false;
  const meta = (isObj(pol.data.resource_metadata) ? pol.data.resource_metadata : {}) as Obj;
  const isbn = normaliseIsbn(str(meta.isbn));
  let id: string | undefined;
  if (isbn) id = Object.values(inst.bibs).find((b) => b.isbns.includes(isbn))?.mmsId;
  if (!id) {
    id = mmsId(inst.nextBib++, inst.mmsSuffix);
    const created = new Date(pol.bibDueAt);
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
      created,
    );
    inst.bibs[id] = {
      mmsId: id,
      recordXml: recordToXml(rec),
      isbns: recordIsbns(rec),
      createdBy: 'API',
      createdDate: almaDate(pol.bibDueAt),
      lastModifiedBy: 'API',
      lastModifiedDate: almaDate(pol.bibDueAt),
    };
  }
  pol.data.resource_metadata = { ...meta, mms_id: { value: id } };
  pol.bibDueAt = null;
  return true;
}

export function settleAll(inst: InstitutionState, now: number): boolean {
  let changed = false;
  for (const pol of Object.values(inst.poLines)) changed = settle(inst, pol, now) || changed;
  return changed;
}

/** The PO line as Alma answers it (links added for this server's address). */
export function poLineJson(pol: StoredPoLine, apiBase: string): Obj {
  const data = structuredClone(pol.data);
  const meta = data.resource_metadata;
  if (isObj(meta) && isObj(meta.mms_id)) meta.mms_id.link = `${apiBase}/bibs/${str(meta.mms_id.value)}`;
  data.link = `${apiBase}/acq/po-lines/${str(data.number)}`;
  return data;
}

const single = (json: Obj): Answer => ({ status: 200, json, xml: () => XML_DECL + toXml('po_line', json) });

function list(lines: StoredPoLine[], total: number, apiBase: string): Answer {
  const items = lines.map((l) => poLineJson(l, apiBase));
  const json: Obj = items.length
    ? { po_line: items, total_record_count: total }
    : { total_record_count: total };
  return { status: 200, json, xml: () => listXml('po_line', items, total) };
}

function missing(field: string): never {
  throw new AlmaFault(400, '401664', `Mandatory field is missing: ${field}`);
}

function illegal(field: string, value: string): never {
  throw new AlmaFault(400, '401872', `Given ${field} ${value} is illegal.`);
}

/** Why Alma would put this PO line In Review rather than activate it (each reason an alert). */
function reviewAlerts(inst: InstitutionState, body: Obj, manual: boolean): { value: string; desc: string }[] {
  const alerts: { value: string; desc: string }[] = [];
  const vendorCode = codeOf(body.vendor);
  const vendor = inst.seed.vendors.find((v) => v.code === vendorCode);
  if (!vendorCode) alerts.push({ value: 'VENDOR_MISSING', desc: 'Vendor is missing.' });
  else if (!vendor) alerts.push({ value: 'VENDOR_NOT_FOUND', desc: `Vendor ${vendorCode} was not found.` });
  const account = codeOf(body.vendor_account);
  if (!account) alerts.push({ value: 'VENDOR_ACCOUNT_MISSING', desc: 'Vendor account is missing.' });
  else if (vendor && !vendor.accounts.includes(account)) {
    alerts.push({
      value: 'VENDOR_ACCOUNT_NOT_FOUND',
      desc: `Vendor account ${account} was not found for ${vendorCode}.`,
    });
  }
  const price = isObj(body.price) ? Number(str(body.price.sum)) : NaN;
  if (!(price > 0)) alerts.push({ value: 'PRICE_MISSING', desc: 'List price is missing.' });
  const dist = Array.isArray(body.fund_distribution) ? body.fund_distribution : [];
  for (const d of dist) {
    const fund = isObj(d) ? codeOf(d.fund_code) : '';
    // Fund codes are case-sensitive in Alma: "m123" is not "M123".
    if (!inst.seed.funds.includes(fund))
      alerts.push({ value: 'FUND_NOT_FOUND', desc: `Fund ${fund} was not found.` });
  }
  if (manual) alerts.push({ value: 'MANUAL_REVIEW_REQUESTED', desc: 'Manual review was requested.' });
  return alerts;
}

export function createPoLine(ctx: Ctx): Answer {
  if (!/json/i.test(ctx.contentType)) {
    throw new AlmaFault(400, '402119', 'General Error: the sandbox accepts PO lines as JSON only.');
  }
  let body: unknown;
  try {
    body = JSON.parse(ctx.body);
  } catch {
    throw new AlmaFault(400, '402119', 'General Error: the request body is not valid JSON.');
  }
  if (!isObj(body))
    throw new AlmaFault(400, '402119', 'General Error: the request body must be a PO line object.');
  const { inst } = ctx;
  const owner = codeOf(body.owner);
  const type = codeOf(body.type);
  const meta = isObj(body.resource_metadata) ? body.resource_metadata : {};
  const givenMms = codeOf(meta.mms_id);
  if (!owner) missing('owner');
  if (!type) missing('type');
  if (!str(meta.title) && !givenMms) missing('resource_metadata.title');
  if (!Object.hasOwn(inst.seed.libraries, owner)) illegal('owner', owner);
  if (!(inst.seed.poLineTypes ?? DEFAULT_PO_LINE_TYPES).includes(type)) illegal('type', type);
  if (givenMms && !inst.bibs[givenMms]) illegal('mms_id', givenMms);
  const givenNumber = str(body.number);
  if (givenNumber && inst.poLines[givenNumber]) {
    throw new AlmaFault(400, '401870', `PoLine ${givenNumber} already exists.`);
  }

  const seq = inst.nextPoLine++;
  const number = givenNumber || `POL-${seq}`;
  // mms_id appears only once the bib is linked: at once when given, else by the background match.
  const { mms_id: _ignored, ...metaOut } = meta;
  if (givenMms) metaOut.mms_id = { value: givenMms };
  const alerts = reviewAlerts(inst, body, ctx.query.get('requires_manual_review') === 'true');
  const data: Obj = {
    ...body,
    number,
    status: alerts.length ? STATUS.IN_REVIEW : STATUS.ACTIVE,
    created_date: almaDate(ctx.now),
    last_modified_date: almaDate(ctx.now),
    resource_metadata: metaOut,
  };
  if (alerts.length) data.alert = alerts;
  else {
    delete data.alert;
    data.po_number = `PO-${seq}`;
  }
  const pol: StoredPoLine = {
    data,
    createdAt: ctx.now,
    bibDueAt: givenMms ? null : ctx.now + inst.bibDelayMs,
  };
  inst.poLines[number] = pol;
  ctx.changed();
  return single(poLineJson(pol, ctx.apiBase));
}

function findPoLine(inst: InstitutionState, number: string): StoredPoLine {
  const pol = inst.poLines[number];
  if (!pol) throw new AlmaFault(400, '401871', `PO Line ${number} was not found.`);
  return pol;
}

export function getPoLine(ctx: Ctx, number: string): Answer {
  return single(poLineJson(findPoLine(ctx.inst, number), ctx.apiBase));
}

const SEARCH_FIELDS = [
  'title',
  'author',
  'mms_id',
  'publisher',
  'publication_year',
  'issn_isbn',
  'vendor_code',
  'vendor_account',
  'fund_code',
  'number',
  'po_number',
  'all',
] as const;
type SearchField = (typeof SEARCH_FIELDS)[number];

function fieldText(d: Obj, field: Exclude<SearchField, 'all'>): string[] {
  const meta = isObj(d.resource_metadata) ? d.resource_metadata : {};
  switch (field) {
    case 'title':
    case 'author':
    case 'publisher':
    case 'publication_year':
      return [str(meta[field])];
    case 'mms_id':
      return [codeOf(meta.mms_id)];
    case 'issn_isbn':
      return [str(meta.isbn), str(meta.issn)];
    case 'vendor_code':
      return [codeOf(d.vendor)];
    case 'vendor_account':
      return [codeOf(d.vendor_account)];
    case 'fund_code':
      return (Array.isArray(d.fund_distribution) ? d.fund_distribution : []).map((f) =>
        isObj(f) ? codeOf(f.fund_code) : '',
      );
    case 'number':
      return [str(d.number)];
    case 'po_number':
      return [str(d.po_number)];
  }
}

/** Alma's "contains" search: case-insensitive, every word of the value somewhere in the field. */
function matches(d: Obj, field: SearchField, value: string): boolean {
  const texts =
    field === 'all'
      ? SEARCH_FIELDS.filter((f): f is Exclude<SearchField, 'all'> => f !== 'all').flatMap((f) =>
          fieldText(d, f),
        )
      : fieldText(d, field);
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

function statusFilter(status: string | null): (d: Obj) => boolean {
  const s = (status ?? 'ACTIVE').toUpperCase();
  const v = (d: Obj) => codeOf(d.status);
  if (s === 'ALL' || s === 'ALL_WITH_CLOSED') return () => true;
  // ACTIVE means "in process": everything not closed or cancelled.
  if (s === 'ACTIVE') return (d) => v(d) !== 'CANCELLED' && v(d) !== 'CLOSED';
  const want = s === 'INREVIEW' ? 'IN_REVIEW' : s;
  return (d) => v(d) === want;
}

function page(ctx: Ctx): { limit: number; offset: number } {
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

function paged(ctx: Ctx, lines: StoredPoLine[]): Answer {
  const { limit, offset } = page(ctx);
  return list(lines.slice(offset, offset + limit), lines.length, ctx.apiBase);
}

export function searchPoLines(ctx: Ctx): Answer {
  const q = ctx.query.get('q');
  const clauses: { field: SearchField; value: string }[] = [];
  if (q && q.trim()) {
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
  }
  const keep = statusFilter(ctx.query.get('status'));
  const hits = Object.values(ctx.inst.poLines).filter(
    (p) => keep(p.data) && clauses.every((c) => matches(p.data, c.field, c.value)),
  );
  return paged(ctx, hits);
}

export function vendorPoLines(ctx: Ctx, vendorCode: string): Answer {
  if (!ctx.inst.seed.vendors.some((v) => v.code === vendorCode)) {
    throw new AlmaFault(400, '402880', `Vendor ${vendorCode} was not found.`);
  }
  const keep = statusFilter(ctx.query.get('status') ?? 'ALL');
  return paged(
    ctx,
    Object.values(ctx.inst.poLines).filter((p) => codeOf(p.data.vendor) === vendorCode && keep(p.data)),
  );
}

export function cancelPoLine(ctx: Ctx, number: string): Answer {
  const pol = findPoLine(ctx.inst, number);
  const reason = ctx.query.get('reason');
  if (!reason) missing('reason');
  if (codeOf(pol.data.status) === 'CANCELLED') {
    throw new AlmaFault(400, '401884', `PO Line ${number} is already cancelled.`);
  }
  pol.data.status = STATUS.CANCELLED;
  pol.data.cancellation_reason = { value: reason };
  const comment = ctx.query.get('comment');
  if (comment) pol.data.cancellation_note = comment;
  pol.data.last_modified_date = almaDate(ctx.now);
  ctx.changed();
  return { status: 204 };
}
