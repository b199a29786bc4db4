/**
 * PO line endpoints: create (JSON or XML; answered before Alma's processing), read, update, items, search, list
 * by vendor, cancel. What Alma does after the answer (status, alerts, po_number, bib link, search index) is in
 * po-line-lifecycle.ts; the body checks in po-line-validate.ts; the search in po-line-search.ts.
 * Each behaviour's source or assumption: docs/alma-sandbox.md, "PO lines".
 */
import { AlmaFault, listXml, toXml, XML_DECL } from './render';
import { coded } from './code-tables';
import {
  codeOf,
  isObj,
  reindexAt,
  rolesOf,
  ruledForReview,
  statusCoded,
  str,
  tablesOf,
} from './po-line-lifecycle';
import * as search from './po-line-search';
import { checkCancellationReason, checkPoLineBody, checkProfileCode, missing } from './po-line-validate';
import { poLineFromXml } from './po-line-xml';
import { almaDate, type InstitutionState, type StoredPoLine } from './state';
import type { Answer, Ctx } from './types';

export { settle, settleAll } from './po-line-lifecycle';

type Obj = Record<string, unknown>;

/** The coded fields whose `desc` Alma fills from a code table (the request's own desc is not kept). */
function describeCodes(inst: InstitutionState, data: Obj): void {
  const t = tablesOf(inst);
  const fill = (holder: Obj, key: string, table: Record<string, string>) => {
    const v = holder[key];
    if (isObj(v) && typeof v.value === 'string') holder[key] = coded(table, v.value);
  };
  fill(data, 'type', t.poLineTypes);
  fill(data, 'acquisition_method', t.acquisitionMethods);
  fill(data, 'material_type', t.materialTypes);
  fill(data, 'vendor_reference_number_type', t.vendorReferenceNumberTypes);
  if (isObj(data.price)) fill(data.price, 'currency', t.currencies);
  for (const d of Array.isArray(data.fund_distribution) ? data.fund_distribution : []) {
    if (isObj(d) && isObj(d.amount)) fill(d.amount, 'currency', t.currencies);
  }
  // Vendor and fund: their names as GET /acq/vendors and /acq/funds give them (lookups.ts); codes not known
  // (the line goes In Review) and source_type (no table modelled) keep only their value.
  if (isObj(data.vendor)) {
    const v = inst.seed.vendors.find((x) => x.code === codeOf(data.vendor));
    data.vendor = v ? { value: v.code, desc: v.name ?? v.code } : { value: codeOf(data.vendor) };
  }
  if (isObj(data.source_type)) data.source_type = { value: codeOf(data.source_type) };
  for (const d of Array.isArray(data.fund_distribution) ? data.fund_distribution : []) {
    if (!isObj(d) || !isObj(d.fund_code)) continue;
    const f = codeOf(d.fund_code);
    d.fund_code = inst.seed.funds.includes(f) ? { value: f, desc: `${f} fund` } : { value: f };
  }
  // Owner and library: the library's name, as GET /conf/libraries gives it (lookups.ts).
  if (isObj(data.owner)) data.owner = { value: codeOf(data.owner), desc: `${codeOf(data.owner)} Library` };
  for (const l of Array.isArray(data.location) ? data.location : []) {
    if (isObj(l) && isObj(l.library))
      l.library = { value: codeOf(l.library), desc: `${codeOf(l.library)} Library` };
  }
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

function list(ctx: Ctx, lines: StoredPoLine[]): Answer {
  const { limit, offset } = search.page(ctx);
  const items = lines.slice(offset, offset + limit).map((l) => poLineJson(l, ctx.apiBase));
  const total = lines.length;
  const json: Obj = items.length
    ? { po_line: items, total_record_count: total }
    : { total_record_count: total };
  return { status: 200, json, xml: () => listXml('po_line', items, total) };
}

/** The body as an object, from JSON or XML (`<po_line>`) as its Content-Type says. */
function readBody(ctx: Ctx): Obj {
  if (!ctx.body.trim()) throw new AlmaFault(400, '401676', 'Request body not found.');
  if (/xml/i.test(ctx.contentType)) return poLineFromXml(ctx.body);
  if (!/json/i.test(ctx.contentType)) {
    throw new AlmaFault(
      400,
      '402119',
      'General Error: send the PO line as application/json or application/xml.',
    );
  }
  let body: unknown;
  try {
    body = JSON.parse(ctx.body);
  } catch {
    throw new AlmaFault(400, '402119', 'General Error: the request body is not valid JSON.');
  }
  if (!isObj(body))
    throw new AlmaFault(400, '402119', 'General Error: the request body must be a PO line object.');
  return body;
}

/** Output-only fields: what the client sends for them is not kept. */
const OUTPUT_ONLY = ['status', 'alert', 'po_number', 'created_date', 'last_modified_date', 'link'];

export function createPoLine(ctx: Ctx): Answer {
  const body = readBody(ctx);
  const { inst } = ctx;
  checkProfileCode(inst, ctx.query.get('profile_code'));
  const { givenMms } = checkPoLineBody(inst, body);
  const givenNumber = str(body.number);
  if (givenNumber && inst.poLines[givenNumber]) {
    throw new AlmaFault(400, '401870', `PoLine ${givenNumber} already exists.`);
  }
  const seq = inst.nextPoLine++;
  const number = givenNumber || `POL-${seq}`;
  const meta = isObj(body.resource_metadata) ? body.resource_metadata : {};
  // mms_id appears only once the bib is linked: at once when given, else by the background match.
  const { mms_id: _ignored, ...metaOut } = meta;
  if (givenMms) metaOut.mms_id = { value: givenMms };
  const data: Obj = { ...body, number, created_date: almaDate(ctx.now), resource_metadata: metaOut };
  for (const k of OUTPUT_ONLY) if (k !== 'created_date') delete data[k];
  data.last_modified_date = almaDate(ctx.now);
  describeCodes(inst, data);
  const pol: StoredPoLine = {
    data,
    createdAt: ctx.now,
    // Processing (status, alerts, po_number) comes after the answer; the bib link with or after it.
    processDueAt: ctx.now + inst.asyncDelayMs,
    bibDueAt: givenMms ? null : ctx.now + Math.max(inst.asyncDelayMs, inst.bibDelayMs),
    manualReview: ctx.query.get('requires_manual_review') === 'true' || ruledForReview(inst, body),
    indexed: null,
    indexDue: [],
  };
  reindexAt(inst, pol, ctx.now);
  inst.poLines[number] = pol;
  ctx.changed();
  return single(poLineJson(pol, ctx.apiBase));
}

function findPoLine(inst: InstitutionState, number: string): StoredPoLine {
  const pol = Object.hasOwn(inst.poLines, number) ? inst.poLines[number] : undefined;
  if (!pol) throw new AlmaFault(400, '401871', `PO Line ${number} was not found.`);
  return pol;
}

export function getPoLine(ctx: Ctx, number: string): Answer {
  return single(poLineJson(findPoLine(ctx.inst, number), ctx.apiBase));
}

/**
 * PUT: the body replaces the line's updatable fields (Alma's "Update PO-Line"); number, status, alerts,
 * po_number and dates stay Alma's. `redistribute_funds=true` keeps the stored funding. The search sees the
 * change after the index lag.
 */
export function updatePoLine(ctx: Ctx, number: string): Answer {
  const { inst } = ctx;
  const pol = findPoLine(inst, number);
  const body = readBody(ctx);
  const roles = rolesOf(inst);
  if (codeOf(pol.data.status) === roles.cancelled || codeOf(pol.data.status) === roles.closed) {
    throw new AlmaFault(400, '401876', `Failed to update PO Line: ${number} is ${codeOf(pol.data.status)}.`);
  }
  if (body.number !== undefined && str(body.number) !== number) {
    throw new AlmaFault(
      400,
      '401876',
      `Failed to update PO Line: the number ${str(body.number)} is not ${number}.`,
    );
  }
  const next: Obj = { ...body };
  if (ctx.query.get('redistribute_funds') === 'true') next.fund_distribution = pol.data.fund_distribution;
  const meta = isObj(next.resource_metadata) ? { ...next.resource_metadata } : {};
  const storedMeta = isObj(pol.data.resource_metadata) ? pol.data.resource_metadata : {};
  // The bib link is Alma's: a PUT neither removes nor invents it.
  delete meta.mms_id;
  if (storedMeta.mms_id) meta.mms_id = storedMeta.mms_id;
  next.resource_metadata = meta;
  checkPoLineBody(inst, { ...next, resource_metadata: { ...meta, mms_id: undefined } }, { number });
  for (const k of OUTPUT_ONLY) {
    delete next[k];
    if (pol.data[k] !== undefined) next[k] = pol.data[k];
  }
  next.number = number;
  next.last_modified_date = almaDate(ctx.now);
  describeCodes(inst, next);
  pol.data = next;
  reindexAt(inst, pol, ctx.now);
  ctx.changed();
  return single(poLineJson(pol, ctx.apiBase));
}

/**
 * The PO line's items: barcodes and links only (documented). Physical lines get one item per ordered copy
 * once processed; electronic ones none. Barcodes are the sandbox's own (ASSUMPTION).
 */
export function poLineItems(ctx: Ctx, number: string): Answer {
  const pol = findPoLine(ctx.inst, number);
  const limit = Number(ctx.query.get('limit') ?? '100');
  const offset = Number(ctx.query.get('offset') ?? '0');
  if (!Number.isInteger(limit) || limit < 0 || limit > 100 || !Number.isInteger(offset) || offset < 0) {
    throw new AlmaFault(400, '402119', 'General Error: limit must be 0-100 and offset 0 or more.');
  }
  const electronic = /^ELECTRONIC/.test(codeOf(pol.data.type));
  const processed = pol.processDueAt === null || pol.processDueAt === undefined;
  const copies = (Array.isArray(pol.data.location) ? pol.data.location : [])
    .filter(isObj)
    .reduce((n, l) => n + (l.quantity === undefined ? 1 : Number(str(l.quantity)) || 0), 0);
  const mms = codeOf(isObj(pol.data.resource_metadata) ? pol.data.resource_metadata.mms_id : undefined);
  const all = electronic || !processed ? [] : Array.from({ length: copies }, (_, i) => i + 1);
  const items = all.slice(offset, offset + limit).map((i) => {
    const pid = `23${str(pol.data.number).replace(/\D/g, '')}${String(i).padStart(3, '0')}${ctx.inst.mmsSuffix}`;
    return {
      barcode: `${str(pol.data.number)}-${i}`,
      link: `${ctx.apiBase}/bibs/${mms || 'unknown'}/holdings/ALL/items/${pid}`,
    };
  });
  const json: Obj = items.length
    ? { item: items, total_record_count: all.length }
    : { total_record_count: all.length };
  return { status: 200, json, xml: () => listXml('item', items, all.length) };
}

export function searchPoLines(ctx: Ctx): Answer {
  return search.searchPoLines(ctx, list);
}

export function vendorPoLines(ctx: Ctx, vendorCode: string): Answer {
  return search.vendorPoLines(ctx, vendorCode, list);
}

export function cancelPoLine(ctx: Ctx, number: string): Answer {
  const { inst } = ctx;
  const pol = findPoLine(inst, number);
  const reason = ctx.query.get('reason');
  if (!reason) missing('reason');
  checkCancellationReason(inst, reason);
  if (codeOf(pol.data.status) === rolesOf(inst).cancelled) {
    throw new AlmaFault(400, '401884', `PO Line ${number} is already cancelled.`);
  }
  pol.data.status = statusCoded(inst, 'cancelled');
  // The reason is kept but not answered: the po_line field that would carry it is not confirmed (ASSUMPTION).
  pol.cancellation = { reason: coded(tablesOf(inst).cancellationReasons, reason) };
  const comment = ctx.query.get('comment');
  if (comment) pol.cancellation.comment = comment;
  // A cancelled line is not processed any more.
  pol.processDueAt = null;
  pol.data.last_modified_date = almaDate(ctx.now);
  reindexAt(inst, pol, ctx.now);
  ctx.changed();
  return { status: 204 };
}
