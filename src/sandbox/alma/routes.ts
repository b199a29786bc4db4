/** Which handler answers which method and path under /almaws/v1, and under which endpoint key. */
import * as bibs from './bibs';
import type { EndpointKey } from './faults';
import * as lookups from './lookups';
import * as poLines from './po-lines';
import type { Answer, Ctx } from './types';

export interface Route {
  key: EndpointKey;
  run(ctx: Ctx): Answer;
}

const TABLE: {
  method: string;
  pattern: RegExp;
  key: EndpointKey;
  run: (ctx: Ctx, ...params: string[]) => Answer;
}[] = [
  { method: 'POST', pattern: /^\/acq\/po-lines$/, key: 'po-lines:POST', run: poLines.createPoLine },
  { method: 'GET', pattern: /^\/acq\/po-lines$/, key: 'po-lines:GET', run: poLines.searchPoLines },
  { method: 'GET', pattern: /^\/acq\/po-lines\/([^/]+)$/, key: 'po-line:GET', run: poLines.getPoLine },
  { method: 'PUT', pattern: /^\/acq\/po-lines\/([^/]+)$/, key: 'po-line:PUT', run: poLines.updatePoLine },
  {
    method: 'GET',
    pattern: /^\/acq\/po-lines\/([^/]+)\/items$/,
    key: 'po-line-items:GET',
    run: poLines.poLineItems,
  },
  {
    method: 'DELETE',
    pattern: /^\/acq\/po-lines\/([^/]+)$/,
    key: 'po-line:DELETE',
    run: poLines.cancelPoLine,
  },
  {
    method: 'GET',
    pattern: /^\/acq\/vendors\/([^/]+)\/po-lines$/,
    key: 'vendor-po-lines:GET',
    run: poLines.vendorPoLines,
  },
  { method: 'GET', pattern: /^\/acq\/vendors\/([^/]+)$/, key: 'vendor:GET', run: lookups.getVendor },
  { method: 'GET', pattern: /^\/acq\/vendors$/, key: 'vendors:GET', run: lookups.listVendors },
  { method: 'GET', pattern: /^\/acq\/funds$/, key: 'funds:GET', run: lookups.listFunds },
  { method: 'GET', pattern: /^\/acq\/funds\/([^/]+)$/, key: 'fund:GET', run: lookups.getFund },
  { method: 'GET', pattern: /^\/acq\/test$/, key: 'test:GET', run: lookups.test },
  { method: 'POST', pattern: /^\/acq\/test$/, key: 'test:POST', run: lookups.testPost },
  { method: 'GET', pattern: /^\/bibs$/, key: 'bibs:GET', run: bibs.getBibs },
  { method: 'POST', pattern: /^\/bibs$/, key: 'bibs:POST', run: bibs.createBib },
  { method: 'GET', pattern: /^\/bibs\/([^/]+)$/, key: 'bib:GET', run: bibs.getBib },
  {
    method: 'GET',
    pattern: /^\/bibs\/([^/]+)\/holdings$/,
    key: 'bib-holdings:GET',
    run: bibs.bibHoldings,
  },
  {
    method: 'GET',
    pattern: /^\/bibs\/([^/]+)\/portfolios$/,
    key: 'bib-portfolios:GET',
    run: bibs.bibPortfolios,
  },
  { method: 'PUT', pattern: /^\/bibs\/([^/]+)$/, key: 'bib:PUT', run: bibs.putBib },
  { method: 'DELETE', pattern: /^\/bibs\/([^/]+)$/, key: 'bib:DELETE', run: bibs.deleteBib },
  { method: 'GET', pattern: /^\/conf\/libraries$/, key: 'libraries:GET', run: lookups.listLibraries },
  { method: 'GET', pattern: /^\/conf\/libraries\/([^/]+)$/, key: 'library:GET', run: lookups.getLibrary },
  {
    method: 'GET',
    pattern: /^\/conf\/libraries\/([^/]+)\/locations$/,
    key: 'locations:GET',
    run: lookups.listLocations,
  },
];

/** The route for a request, or undefined; `path` is what follows /almaws/v1. */
export function matchRoute(method: string, path: string): Route | undefined {
  const trimmed = path.length > 1 ? path.replace(/\/+$/, '') : path;
  for (const r of TABLE) {
    if (r.method !== method) continue;
    const m = r.pattern.exec(trimmed);
    if (!m) continue;
    const params = m.slice(1).map((p) => decodeURIComponent(p));
    return { key: r.key, run: (ctx) => r.run(ctx, ...params) };
  }
  return undefined;
}
