/** The read-only look-ups the project validates against: funds, vendors, libraries, locations, test. */
import { AlmaFault, listXml, toXml, XML_DECL } from './render';
import type { Answer, Ctx } from './types';

type Obj = Record<string, unknown>;

function listAnswer(item: string, all: Obj[], ctx: Ctx): Answer {
  const limit = Math.min(100, Math.max(0, Number(ctx.query.get('limit') ?? '10') || 10));
  const offset = Math.max(0, Number(ctx.query.get('offset') ?? '0') || 0);
  const items = all.slice(offset, offset + limit);
  const json: Obj = items.length
    ? { [item]: items, total_record_count: all.length }
    : { total_record_count: all.length };
  return { status: 200, json, xml: () => listXml(item, items, all.length) };
}

const contains = (hay: string, needle: string) => hay.toLowerCase().includes(needle.toLowerCase());

/** `q=fund_code~X` is Alma's case-insensitive "contains": the caller must compare codes exactly itself. */
export function listFunds(ctx: Ctx): Answer {
  const q = ctx.query.get('q') ?? '';
  const m = /^\s*(fund_code|fund_name|name|all)~(.*)$/.exec(q);
  if (q.trim() && !m) throw new AlmaFault(400, '402119', `General Error: unsupported fund query "${q}".`);
  const currency = ctx.inst.seed.currency ?? 'USD';
  const funds = ctx.inst.seed.funds.map((code, i) => ({
    id: String(5000000000 + i) + ctx.inst.mmsSuffix,
    code,
    name: `${code} fund`,
    type: { value: 'ALLOCATED', desc: 'Allocated' },
    entity_type: { value: 'FUND', desc: 'Fund' },
    status: { value: 'ACTIVE', desc: 'Active' },
    currency: { value: currency },
    link: `${ctx.apiBase}/acq/funds/${String(5000000000 + i) + ctx.inst.mmsSuffix}`,
  }));
  const hits = m
    ? funds.filter((f) => contains(m[1] === 'fund_code' ? f.code : `${f.code} ${f.name}`, m[2]!.trim()))
    : funds;
  return listAnswer('fund', hits, ctx);
}

export function getVendor(ctx: Ctx, code: string): Answer {
  const v = ctx.inst.seed.vendors.find((x) => x.code === code);
  // UNCONFIRMED error code for an unknown vendor; the client treats it as not-found.
  if (!v) throw new AlmaFault(400, '402880', `Vendor ${code} was not found.`);
  const json = {
    code: v.code,
    name: v.name ?? v.code,
    status: { value: 'ACTIVE', desc: 'Active' },
    language: { value: 'en', desc: 'English' },
    material_supplier: true,
    account: v.accounts.map((a) => ({
      code: a,
      description: `${a} (sandbox account)`,
      status: { value: 'ACTIVE', desc: 'Active' },
    })),
    link: `${ctx.apiBase}/acq/vendors/${encodeURIComponent(v.code)}`,
  };
  return { status: 200, json, xml: () => XML_DECL + toXml('vendor', json) };
}

export function listLibraries(ctx: Ctx): Answer {
  const libs = Object.keys(ctx.inst.seed.libraries).map((code) => ({
    code,
    name: `${code} Library`,
    link: `${ctx.apiBase}/conf/libraries/${encodeURIComponent(code)}`,
  }));
  const json = { library: libs };
  return { status: 200, json, xml: () => `${XML_DECL}${toXml('library', libs)}` };
}

export function listLocations(ctx: Ctx, library: string): Answer {
  // The library code comes from the request path: only the seed's own entries count (not "constructor").
  const libs = ctx.inst.seed.libraries;
  const locs = Object.prototype.hasOwnProperty.call(libs, library) ? libs[library] : undefined;
  // UNCONFIRMED error code for an unknown library; the client treats it as not-found.
  if (!locs) throw new AlmaFault(400, '402221', `Library ${library} was not found.`);
  const items = locs.map((code) => ({
    code,
    name: `${library} ${code}`,
    external_name: `${library} ${code}`,
    type: { value: 'OPEN', desc: 'Open Stack' },
    suppress_from_publishing: 'false',
  }));
  const json = { location: items, total_record_count: items.length };
  return { status: 200, json, xml: () => listXml('location', items, items.length) };
}

export function test(): Answer {
  return {
    status: 200,
    json: { result: 'GET is OK' },
    xml: () => `${XML_DECL}<test>GET is OK</test>`,
  };
}
