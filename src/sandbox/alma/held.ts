/**
 * Titles an institution already has before the first call (seed `held`): each a bib with its inventory (print
 * holdings, an ebook's portfolio) and the PO line that bought it (CLOSED) or is buying it (ACTIVE), as Alma
 * would hold them after the order went through long ago. `npm start` seeds DEMO_HELD_TITLES, so the duplicate
 * check (warn, hold) can be tried on the example orders examples/orders/duplicate-*.json.
 * Sources and assumptions: docs/alma-sandbox.md, "Held titles".
 */
import { coded, codeTablesOf, statusRolesOf } from './code-tables';
import { briefRecord, recordIsbns, recordToXml } from './marc';
import type { HeldTitle, SandboxInstitutionSeed, SandboxSeed } from './seed';
import { almaDate, mmsId, type StoredBib, type StoredPoLine } from './state';

/** A holding as GET /bibs/{mms_id}/holdings lists it. */
export interface StoredHolding {
  holdingId: string;
  library: string;
  location: string;
  callNumber?: string;
}

/** A portfolio as GET /bibs/{mms_id}/portfolios lists it. */
export interface StoredPortfolio {
  id: string;
  url: string;
  collection?: string;
}

/** Held titles' MMS ids follow the built-in catalogue's (1_000_000_001 on), stable across restarts and resets. */
const FIRST_HELD_BIB = 1_000_000_501;

/**
 * The held titles' bibs and PO lines for one institution. Alma's background work on the lines is long done:
 * processed, linked, indexed.
 */
export function heldInventory(
  seed: SandboxInstitutionSeed,
  suffix: string,
): { bibs: Record<string, StoredBib>; poLines: Record<string, StoredPoLine> } {
  const tables = codeTablesOf(seed.codeTables, seed.poLineTypes);
  const roles = statusRolesOf(seed.codeTables);
  const bibs: Record<string, StoredBib> = {};
  const poLines: Record<string, StoredPoLine> = {};
  (seed.held ?? []).forEach((t, i) => {
    const seq = FIRST_HELD_BIB + i;
    const id = mmsId(seq, suffix);
    // Without a PO line: catalogued when the library migrated to Alma (ASSUMPTION: any date before the lines').
    const created = Date.parse(`${t.poLine?.createdDate ?? '2019-07-01'}T12:00:00Z`);
    const rec = briefRecord({ mmsId: id, ...t }, new Date(created));
    const bib: StoredBib = {
      mmsId: id,
      recordXml: recordToXml(rec),
      isbns: recordIsbns(rec),
      createdBy: 'import',
      createdDate: almaDate(created),
      lastModifiedBy: 'import',
      lastModifiedDate: almaDate(created),
    };
    // Alma's inventory ids: holdings begin 22, portfolios 53, both end with the institution part (as MMS ids).
    const holdings = (t.holdings ?? []).map((h, j): StoredHolding => ({
      holdingId: `22${seq}${j + 1}${suffix}`,
      library: h.library,
      location: h.location,
      ...(h.callNumber ? { callNumber: h.callNumber } : {}),
    }));
    if (holdings.length) bib.holdings = holdings;
    if (t.portfolio) bib.portfolios = [{ id: `53${seq}1${suffix}`, ...t.portfolio }];
    bibs[id] = bib;
    const p = t.poLine;
    if (!p) return;
    const data = poLineData(
      { ...t, poLine: p },
      id,
      tables,
      p.status === 'CLOSED' ? roles.closed : roles.active,
      seed,
    );
    poLines[p.number] = {
      data,
      createdAt: created,
      bibDueAt: null,
      processDueAt: null,
      manualReview: false,
      indexed: structuredClone(data),
      indexDue: [],
    };
  });
  return { bibs, poLines };
}

function poLineData(
  t: HeldTitle & { poLine: NonNullable<HeldTitle['poLine']> },
  mms: string,
  tables: ReturnType<typeof codeTablesOf>,
  status: string,
  seed: SandboxInstitutionSeed,
): Record<string, unknown> {
  const p = t.poLine;
  const currency = coded(tables.currencies, p.price.currency);
  const vendor = seed.vendors.find((v) => v.code === p.vendor);
  return {
    number: p.number,
    type: coded(tables.poLineTypes, p.type),
    status: coded(tables.poLineStatus, status),
    owner: { value: p.owner, desc: `${p.owner} Library` },
    vendor: { value: p.vendor, desc: vendor?.name ?? p.vendor },
    vendor_account: p.vendorAccount,
    vendor_reference_number: p.vendorReferenceNumber,
    acquisition_method: coded(tables.acquisitionMethods, 'VENDOR_SYSTEM'),
    resource_metadata: {
      title: t.title,
      ...(t.author ? { author: t.author } : {}),
      isbn: t.isbn,
      ...(t.publisher ? { publisher: t.publisher } : {}),
      ...(t.year ? { publication_year: t.year } : {}),
      mms_id: { value: mms },
    },
    price: { sum: p.price.sum, currency },
    fund_distribution: [
      {
        fund_code: { value: p.fund, desc: `${p.fund} fund` },
        percent: 100,
        amount: { sum: p.price.sum, currency },
      },
    ],
    ...(p.location
      ? {
          location: [
            {
              quantity: p.location.quantity,
              library: { value: p.location.library, desc: `${p.location.library} Library` },
              shelving_location: p.location.shelvingLocation,
            },
          ],
        }
      : {}),
    po_number: `PO-${p.number.replace(/^POL-/, '')}`,
    created_date: almaDate(Date.parse(`${p.createdDate}T12:00:00Z`)),
    last_modified_date: almaDate(Date.parse(`${p.createdDate}T12:00:00Z`)),
  };
}

/**
 * What `npm start`'s sandbox holds (docs/alma-sandbox.md, "Held titles"): a print title bought and shelved at
 * MAIN, an ebook bought with a portfolio, a print title on order for LAW, and an older print copy at MAIN that
 * no PO line ever led to (found through SRU only). Their ISBNs are those of
 * examples/orders/duplicate-*.json; the example orders of the other files hit none of them.
 */
export const DEMO_HELD_TITLES: HeldTitle[] = [
  {
    title: 'Gödel, Escher, Bach : an eternal golden braid /',
    author: 'Hofstadter, Douglas R.,',
    isbn: '9780465026562',
    publisher: 'Basic Books,',
    year: '1999',
    place: 'New York :',
    holdings: [{ library: 'MAIN', location: 'STACKS', callNumber: 'QA9.8 .H63 1999' }],
    poLine: {
      number: 'POL-8001',
      status: 'CLOSED',
      type: 'PRINTED_BOOK_OT',
      vendor: 'PQ-OASIS',
      vendorAccount: 'PQ-OASIS-MAIN',
      vendorReferenceNumber: 'OAS-2025-0000412',
      owner: 'MAIN',
      fund: 'GEN01',
      price: { sum: '24.95', currency: 'USD' },
      location: { library: 'MAIN', shelvingLocation: 'STACKS', quantity: 1 },
      createdDate: '2025-03-11',
    },
  },
  {
    title: 'Eloquent JavaScript : a modern introduction to programming /',
    author: 'Haverbeke, Marijn,',
    isbn: '9781593279509',
    publisher: 'No Starch Press,',
    year: '2019',
    place: 'San Francisco :',
    portfolio: {
      url: 'https://ebookcentral.proquest.com/lib/univ-example/detail.action?docID=5611393',
      collection: 'ProQuest Ebook Central',
    },
    poLine: {
      number: 'POL-8002',
      status: 'CLOSED',
      type: 'ELECTRONIC_TITLE_OT',
      vendor: 'PQ-OASIS',
      vendorAccount: 'PQ-OASIS-MAIN',
      vendorReferenceNumber: 'OAS-2025-0000588',
      owner: 'MAIN',
      fund: 'GEN01',
      price: { sum: '39.95', currency: 'USD' },
      createdDate: '2025-06-02',
    },
  },
  {
    title: 'The concept of law /',
    author: 'Hart, H. L. A.',
    isbn: '9780199644704',
    publisher: 'Oxford University Press,',
    year: '2012',
    place: 'Oxford :',
    poLine: {
      number: 'POL-8003',
      status: 'ACTIVE',
      type: 'PRINTED_BOOK_OT',
      vendor: 'PQ-OASIS',
      vendorAccount: 'PQ-OASIS-LAW',
      vendorReferenceNumber: 'OAS-2026-0000977',
      owner: 'LAW',
      fund: 'LAW-GEN',
      price: { sum: '45.00', currency: 'USD' },
      location: { library: 'LAW', shelvingLocation: 'STACKS', quantity: 1 },
      createdDate: '2026-11-20',
    },
  },
  {
    // An older print copy held WITHOUT any PO line (migrated holdings): no PO line search finds it, SRU does.
    title: 'Structure and interpretation of computer programs /',
    author: 'Abelson, Harold,',
    isbn: '9780262510875',
    publisher: 'MIT Press,',
    year: '1996',
    place: 'Cambridge, Mass. :',
    holdings: [{ library: 'MAIN', location: 'STACKS', callNumber: 'QA76.6 .A255 1996' }],
  },
];

/**
 * Whether the institution's seed has what the title names: its holdings' locations and, when it has a PO line,
 * the line's vendor account, fund, owner and location.
 */
function fits(inst: SandboxInstitutionSeed, t: HeldTitle): boolean {
  const p = t.poLine;
  const locations = (lib: string) => inst.libraries[lib];
  const vendor = p && inst.vendors.find((v) => v.code === p.vendor);
  return (
    (!p ||
      (!!vendor?.accounts.includes(p.vendorAccount) &&
        inst.funds.includes(p.fund) &&
        locations(p.owner) !== undefined &&
        (!p.location || !!locations(p.location.library)?.includes(p.location.shelvingLocation)))) &&
    (t.holdings ?? []).every((h) => !!locations(h.library)?.includes(h.location))
  );
}

/**
 * The seed with the demo's held titles given to each institution whose configuration has what they name (the
 * example configuration's both accounts in 01UNIV_INST); another configuration gets those that fit, maybe none.
 */
export function withDemoHeldTitles(seed: SandboxSeed, titles: HeldTitle[] = DEMO_HELD_TITLES): SandboxSeed {
  return {
    ...seed,
    institutions: seed.institutions.map((inst) => {
      const held = titles.filter((t) => fits(inst, t));
      return held.length ? { ...inst, held: [...(inst.held ?? []), ...held] } : inst;
    }),
  };
}
