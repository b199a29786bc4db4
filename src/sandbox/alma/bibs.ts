/** Bib endpoints: read one or many, create, delete, and the swap-all PUT (XML only). */
import { findElement, parseXml } from '../../alma/xml';
import { AlmaFault, listXml, toXml, XML_DECL } from './render';
import { marcTimestamp, recordFromXml, recordIsbns, recordToXml, setControlField, summarise } from './marc';
import { almaDate, mmsId, type InstitutionState, type StoredBib } from './state';
import type { Answer, Ctx } from './types';

const RAW_XML = new Set(['record']);

export function bibJson(bib: StoredBib, apiBase: string, view: string | null): Record<string, unknown> {
  const rec = recordFromXml(parseXml(bib.recordXml));
  const s = summarise(rec);
  const out: Record<string, unknown> = {
    mms_id: bib.mmsId,
    record_format: 'marc21',
    linked_record_id: { value: null, type: null },
    title: s.title,
    author: s.author,
    issn: s.issn,
    isbn: s.isbn,
    network_number: s.network_number,
    place_of_publication: s.place_of_publication,
    date_of_publication: s.date_of_publication,
    publisher_const: s.publisher_const,
    holdings: { value: null, link: `${apiBase}/bibs/${bib.mmsId}/holdings` },
    created_by: bib.createdBy,
    created_date: bib.createdDate,
    last_modified_by: bib.lastModifiedBy,
    last_modified_date: bib.lastModifiedDate,
    suppress_from_publishing: 'false',
    suppress_from_external_search: 'false',
    sync_with_oclc: 'NONE',
    sync_with_libraries_australia: 'NONE',
    originating_system: 'ILS',
    originating_system_id: bib.mmsId,
  };
  // Alma's JSON carries the MARCXML as a string claiming UTF-16 although it is not.
  if (view !== 'brief') out.anies = [`<?xml version="1.0" encoding="UTF-16"?>${bib.recordXml}`];
  out.requests = null;
  out.link = `${apiBase}/bibs/${bib.mmsId}`;
  return out;
}

/** XML form: the same data with the record inline instead of in `anies`. */
function bibXmlBody(json: Record<string, unknown>, bib: StoredBib, view: string | null): string {
  const { anies: _anies, holdings, ...rest } = json;
  const fields = { ...rest, holdings: { value: null, link: (holdings as { link: string }).link } };
  if (view !== 'brief') (fields as Record<string, unknown>).record = bib.recordXml;
  return toXml('bib', fields, RAW_XML);
}

function checkMmsId(id: string): void {
  if (!/^\d+$/.test(id)) throw new AlmaFault(400, '402204', `Input parameters mmsId ${id} is not numeric.`);
}

function findBib(inst: InstitutionState, id: string): StoredBib {
  checkMmsId(id);
  const bib = inst.bibs[id];
  // Alma's answer for an MMS id it does not hold (fixture test/fixtures/alma/bad-request.xml).
  if (!bib) throw new AlmaFault(400, '402203', `Input parameters mmsId ${id} is not valid.`);
  return bib;
}

export function getBib(ctx: Ctx, id: string): Answer {
  const bib = findBib(ctx.inst, id);
  const view = ctx.query.get('view');
  const json = bibJson(bib, ctx.apiBase, view);
  return { status: 200, json, xml: () => XML_DECL + bibXmlBody(json, bib, view) };
}

export function getBibs(ctx: Ctx): Answer {
  const param = ctx.query.get('mms_id');
  if (!param) throw new AlmaFault(400, '401664', 'Mandatory field is missing: mms_id');
  const ids = param
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (ids.length > 100)
    throw new AlmaFault(400, '402119', `General Error: at most 100 MMS ids (got ${ids.length}).`);
  ids.forEach(checkMmsId);
  const view = ctx.query.get('view');
  const found = ids.map((id) => ctx.inst.bibs[id]).filter((b): b is StoredBib => b !== undefined);
  const items = found.map((b) => bibJson(b, ctx.apiBase, view));
  // No hit is an empty list, not an absent key (pulibrary/bibdata's not_found.json).
  const json: Record<string, unknown> = { bib: items, total_record_count: items.length };
  return {
    status: 200,
    json,
    xml: () =>
      `${XML_DECL}<bibs total_record_count="${items.length}">${items
        .map((j, i) => bibXmlBody(j, found[i]!, view))
        .join('')}</bibs>`,
  };
}

const MARC_NAMESPACE_DECL = /\sxmlns(?::[\w.-]+)?\s*=\s*["']http:\/\/www\.loc\.gov\/MARC21\/slim["']/;

/** The `<record>` of a `<bib><record>…</record></bib>` body, refused as Alma refuses it (JSON, namespace, broken XML). */
function recordOfBody(ctx: Ctx) {
  if (/json/i.test(ctx.contentType)) {
    throw new AlmaFault(400, '60105', 'JSON is not supported for this API. Please use XML.');
  }
  // Alma wants the record without the MARC 21 slim namespace (ASSUMPTION for the code: docs/alma-sandbox.md).
  if (MARC_NAMESPACE_DECL.test(ctx.body)) {
    throw new AlmaFault(
      400,
      '402203',
      'Input parameters bib XML is not valid: the record must not be in the MARC 21 namespace.',
    );
  }
  let recordEl;
  try {
    const root = parseXml(ctx.body);
    recordEl = root.name === 'bib' ? findElement(root, 'record') : undefined;
    if (!recordEl) throw new Error('expected <bib><record>…</record></bib>');
  } catch (e) {
    throw new AlmaFault(400, '402203', `Input parameters bib XML is not valid: ${(e as Error).message}`);
  }
  const rec = recordFromXml(recordEl);
  if (rec.leader.length !== 24) {
    throw new AlmaFault(400, '402209', 'Bib record is not valid: the leader must have 24 characters.');
  }
  return rec;
}

const controlField = (xml: string, tag: string): string | undefined =>
  recordFromXml(parseXml(xml)).controlfields.find((c) => c.tag === tag)?.value;

/** Replaces the whole record (swap-all); 001 stays the MMS id and 005 is stamped, as Alma does. */
export function putBib(ctx: Ctx, id: string): Answer {
  const bib = findBib(ctx.inst, id);
  const rec = recordOfBody(ctx);
  if (ctx.query.get('stale_version_check') === 'true') {
    // The 005 sent must be the one Alma holds: the record was not changed since the caller read it.
    const sent = rec.controlfields.find((c) => c.tag === '005')?.value;
    const held = controlField(bib.recordXml, '005');
    if (sent !== held) {
      throw new AlmaFault(
        400,
        '402119',
        `General Error: the record was changed since it was read (stale_version_check: 005 ${sent ?? 'missing'}, held ${held ?? 'none'}).`,
      );
    }
  }
  setControlField(rec, '001', id);
  setControlField(rec, '005', marcTimestamp(new Date(ctx.now)));
  bib.recordXml = recordToXml(rec);
  bib.isbns = recordIsbns(rec);
  bib.lastModifiedBy = 'API';
  bib.lastModifiedDate = almaDate(ctx.now);
  ctx.changed();
  const view = null;
  const json = bibJson(bib, ctx.apiBase, view);
  return { status: 200, json, xml: () => XML_DECL + bibXmlBody(json, bib, view) };
}

/** Creates a bib from `<bib><record>…</record></bib>`: a new MMS id in 001, 005 stamped. */
export function createBib(ctx: Ctx): Answer {
  const rec = recordOfBody(ctx);
  const id = mmsId(ctx.inst.nextBib++, ctx.inst.mmsSuffix);
  setControlField(rec, '001', id);
  setControlField(rec, '005', marcTimestamp(new Date(ctx.now)));
  const bib: StoredBib = {
    mmsId: id,
    recordXml: recordToXml(rec),
    isbns: recordIsbns(rec),
    createdBy: 'API',
    createdDate: almaDate(ctx.now),
    lastModifiedBy: 'API',
    lastModifiedDate: almaDate(ctx.now),
  };
  ctx.inst.bibs[id] = bib;
  ctx.changed();
  const json = bibJson(bib, ctx.apiBase, null);
  return { status: 200, json, xml: () => XML_DECL + bibXmlBody(json, bib, null) };
}

/** PO lines ordering this bib (any status: a closed or cancelled line still holds the link). */
function poLinesOf(inst: InstitutionState, id: string): string[] {
  return Object.values(inst.poLines)
    .filter((p) => {
      const meta = p.data.resource_metadata as { mms_id?: { value?: unknown } } | undefined;
      return meta?.mms_id?.value === id;
    })
    .map((p) => String(p.data.number));
}

/** Deletes a bib: 204, unless PO lines (and the inventory they bring) hang on it (ASSUMPTION for the code). */
export function deleteBib(ctx: Ctx, id: string): Answer {
  findBib(ctx.inst, id);
  const lines = poLinesOf(ctx.inst, id);
  if (lines.length) {
    throw new AlmaFault(
      400,
      '402119',
      `General Error: the bib record ${id} cannot be deleted, it has orders or inventory (PO lines ${lines.join(', ')}).`,
    );
  }
  delete ctx.inst.bibs[id];
  ctx.changed();
  return { status: 204 };
}

/**
 * The bib's holdings (print inventory): only held titles of the seed have any (docs/alma-sandbox.md, "Held
 * titles"). The fields are a subset of Alma's holding (ASSUMPTION beyond holding_id, library, location, link).
 */
export function bibHoldings(ctx: Ctx, id: string): Answer {
  const bib = findBib(ctx.inst, id);
  const items = (bib.holdings ?? []).map((h) => ({
    holding_id: h.holdingId,
    link: `${ctx.apiBase}/bibs/${bib.mmsId}/holdings/${h.holdingId}`,
    library: { value: h.library, desc: `${h.library} Library` },
    location: { value: h.location, desc: h.location },
    call_number: h.callNumber ?? '',
    suppress_from_publishing: 'false',
  }));
  const json: Record<string, unknown> = {
    ...(items.length ? { holding: items } : {}),
    bib_data: { mms_id: bib.mmsId, link: `${ctx.apiBase}/bibs/${bib.mmsId}` },
    total_record_count: items.length,
  };
  return {
    status: 200,
    json,
    xml: () =>
      `${XML_DECL}<holdings total_record_count="${items.length}">${items.map((h) => toXml('holding', h)).join('')}</holdings>`,
  };
}

/**
 * The bib's portfolios (electronic inventory): only held ebooks of the seed have one. The fields are a subset of
 * Alma's portfolio (ASSUMPTION beyond id, resource_metadata.mms_id, linking_details.url, link).
 */
export function bibPortfolios(ctx: Ctx, id: string): Answer {
  const bib = findBib(ctx.inst, id);
  const items = (bib.portfolios ?? []).map((p) => ({
    id: p.id,
    is_local: true,
    is_standalone: p.collection === undefined,
    resource_metadata: { mms_id: { value: bib.mmsId, link: `${ctx.apiBase}/bibs/${bib.mmsId}` } },
    ...(p.collection ? { electronic_collection: { public_name: p.collection } } : {}),
    availability: { value: '11', desc: 'Available' },
    linking_details: { url: p.url },
    link: `${ctx.apiBase}/bibs/${bib.mmsId}/portfolios/${p.id}`,
  }));
  const json: Record<string, unknown> = {
    ...(items.length ? { portfolio: items } : {}),
    total_record_count: items.length,
  };
  return { status: 200, json, xml: () => listXml('portfolio', items, items.length) };
}
