/** The read-only look-ups the project validates against: funds, vendors, libraries, locations, test. */
import type { SandboxVendorSeed } from './seed';
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
function allFunds(ctx: Ctx): (Obj & { code: string; name: string; id: string })[] {
  const currency = ctx.inst.seed.currency ?? 'USD';
  return ctx.inst.seed.funds.map((code, i) => ({
    id: String(5000000000 + i) + ctx.inst.mmsSuffix,
    code,
    name: `${code} fund`,
    type: { value: 'ALLOCATED', desc: 'Allocated' },
    entity_type: { value: 'FUND', desc: 'Fund' },
    status: { value: 'ACTIVE', desc: 'Active' },
    currency: { value: currency },
    link: `${ctx.apiBase}/acq/funds/${String(5000000000 + i) + ctx.inst.mmsSuffix}`,
  }));
}

export function listFunds(ctx: Ctx): Answer {
  const q = ctx.query.get('q') ?? '';
  const m = /^\s*(fund_code|fund_name|name|all)~(.*)$/.exec(q);
  if (q.trim() && !m) throw new AlmaFault(400, '402119', `General Error: unsupported fund query "${q}".`);
  const funds = allFunds(ctx);
  const hits = m
    ? funds.filter((f) => contains(m[1] === 'fund_code' ? f.code : `${f.code} ${f.name}`, m[2]!.trim()))
    : funds;
  return listAnswer('fund', hits, ctx);
}

/** One fund by its id (not its code): GET /acq/funds/{fund_id}. */
export function getFund(ctx: Ctx, id: string): Answer {
  const fund = allFunds(ctx).find((f) => f.id === id);
  // ASSUMPTION: the code for an unknown fund id (none is documented or seen).
  if (!fund) throw new AlmaFault(400, '402119', `General Error: no fund with id ${id}.`);
  return { status: 200, json: fund, xml: () => XML_DECL + toXml('fund', fund) };
}

function vendorJson(ctx: Ctx, v: SandboxVendorSeed): Obj {
  return {
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
}

export function getVendor(ctx: Ctx, code: string): Answer {
  const v = ctx.inst.seed.vendors.find((x) => x.code === code);
  // ASSUMPTION: the code for an unknown vendor (none documented or seen); the project reads it as a refusal.
  if (!v) throw new AlmaFault(400, '402880', `Vendor ${code} was not found.`);
  const json = vendorJson(ctx, v);
  return { status: 200, json, xml: () => XML_DECL + toXml('vendor', json) };
}

/**
 * GET /acq/vendors: `q` as `field~value` (name, code, all; Alma's "contains", any case), `status`
 * (active, inactive, all; all the sandbox's vendors are active), `limit` (10 by default, at most 100), `offset`.
 */
export function listVendors(ctx: Ctx): Answer {
  const q = ctx.query.get('q') ?? '';
  const m = /^\s*(name|code|all)~(.*)$/.exec(q);
  if (q.trim() && !m) throw new AlmaFault(400, '402119', `General Error: unsupported vendor query "${q}".`);
  const status = (ctx.query.get('status') ?? 'all').toLowerCase();
  if (!['active', 'inactive', 'all'].includes(status)) {
    throw new AlmaFault(400, '402119', `General Error: unsupported vendor status "${status}".`);
  }
  const all = status === 'inactive' ? [] : ctx.inst.seed.vendors.map((v) => vendorJson(ctx, v));
  const hits = m
    ? all.filter((v) => {
        const hay =
          m[1] === 'code'
            ? String(v.code)
            : m[1] === 'name'
              ? String(v.name)
              : `${String(v.code)} ${String(v.name)}`;
        return contains(hay, m[2]!.trim());
      })
    : all;
  return listAnswer('vendor', hits, ctx);
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

const ownLibrary = (ctx: Ctx, code: string): string[] | undefined => {
  // The library code comes from the request path: only the seed's own entries count (not "constructor").
  const libs = ctx.inst.seed.libraries;
  return Object.prototype.hasOwnProperty.call(libs, code) ? libs[code] : undefined;
};

/** GET /conf/libraries/{code}: one library. */
export function getLibrary(ctx: Ctx, code: string): Answer {
  // ASSUMPTION: the code for an unknown library (none documented or seen).
  if (!ownLibrary(ctx, code)) throw new AlmaFault(400, '402221', `Library ${code} was not found.`);
  const json = {
    code,
    name: `${code} Library`,
    description: `${code} Library (sandbox)`,
    resource_sharing: false,
    campus: { value: 'MAIN_CAMPUS', desc: 'Main campus' },
    proxy: '',
    default_location: { value: null, desc: null },
    link: `${ctx.apiBase}/conf/libraries/${encodeURIComponent(code)}`,
  };
  return { status: 200, json, xml: () => XML_DECL + toXml('library', json) };
}

export function listLocations(ctx: Ctx, library: string): Answer {
  const locs = ownLibrary(ctx, library);
  // ASSUMPTION: the code for an unknown library (none documented or seen).
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

/** POST /acq/test: checks a key's write permission on Acquisitions. */
export function testPost(): Answer {
  return {
    status: 200,
    json: { result: 'POST is OK' },
    xml: () => `${XML_DECL}<test>POST is OK</test>`,
  };
}
