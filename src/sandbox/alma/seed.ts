/**
 * What the Alma sandbox knows before the first call: institutions (key, thresholds), their vendors,
 * funds, libraries and locations, and a small catalogue so that ISBN matching can find an existing bib.
 */
import type { Config } from '../../config/schema';
import { resolveSecret } from '../../config/load';
import type { CodeTablesSeed } from './code-tables';
import type { SandboxInstitutionKeys } from './keys';

export interface SandboxVendorSeed {
  code: string;
  name?: string;
  accounts: string[];
}

/** Key scopes (areas, read/write, environment) are in keys.ts. */
export interface SandboxInstitutionSeed extends SandboxInstitutionKeys {
  code: string;
  apiKey: string;
  /** Calls accepted per sliding second. */
  perSecond: number;
  /** Calls accepted per UTC day. */
  daily: number;
  /** The institution part at the end of MMS ids (Alma's look like 99…06421); derived when absent. */
  mmsSuffix?: string;
  vendors: SandboxVendorSeed[];
  /** Fund codes usable on PO lines (case-sensitive). */
  funds: string[];
  /** Library code → its shelving location codes. */
  libraries: Record<string, string[]>;
  /** PO line types accepted on creation; a default list when absent. */
  poLineTypes?: string[];
  /** The funds' currency (USD when absent). */
  currency?: string;
  /** The number of the first PO line created (10001 when absent); tests sharing one Temporal server differ. */
  firstPoLine?: number;
  // --- PO lines (docs/alma-sandbox.md, "PO lines") ---
  /** The institution's code tables (statuses, alerts, types, reasons, currencies…); defaults per table. */
  codeTables?: CodeTablesSeed;
  /** New Order API profile codes; a `profile_code` not among them is refused. Any is accepted when absent. */
  profileCodes?: string[];
  /** Lines that Alma's background processing puts In Review (after the POST answer), with MANUAL_REVIEW_REQUESTED. */
  reviewRules?: { vendorReferenceNumbers?: string[]; titlesContaining?: string[] };
  /** A second live PO line with the same vendor and vendor_reference_number: refused (default) or accepted. */
  duplicateReference?: 'refuse' | 'accept';
  /** Titles the institution already has or has on order (held.ts; docs/alma-sandbox.md, "Held titles"). */
  held?: HeldTitle[];
  /**
   * The institution's SRU target (GET /view/sru/<code>; docs/alma-sandbox.md, "SRU"): on by default, with
   * availability (AVA/AVE fields); `enabled: false` answers 404 as an institution without an SRU profile.
   */
  sru?: { enabled?: boolean; availability?: boolean };
}

/**
 * A title the institution already has, or has on order, before the first call: a bib with its inventory (print
 * holdings, an ebook's portfolio) and the PO line that bought it (CLOSED) or is buying it (ACTIVE), if any. Alma's
 * API finds it by its PO line (GET /acq/po-lines?q=issn_isbn~…), its SRU target by ISBN or title (with its
 * inventory as AVA/AVE fields): what the duplicate check reads.
 */
export interface HeldTitle extends CatalogueEntry {
  isbn: string;
  /** Print inventory: one holding per library and shelving location. */
  holdings?: { library: string; location: string; callNumber?: string }[];
  /** Electronic inventory: a portfolio, in an electronic collection when named. */
  portfolio?: { url: string; collection?: string };
  /**
   * The line that bought it; absent for a title held without any (a gift, migrated holdings, an ebook from a
   * package): only the catalogue (SRU) finds those.
   */
  poLine?: {
    /** Its number (POL-…), below the numbers the sandbox hands out (10001 on). */
    number: string;
    /** CLOSED: bought and received; ACTIVE: on order. */
    status: 'ACTIVE' | 'CLOSED';
    type: string;
    vendor: string;
    vendorAccount: string;
    /** The vendor's order id (an earlier OASIS order). */
    vendorReferenceNumber: string;
    owner: string;
    fund: string;
    price: { sum: string; currency: string };
    /** Print lines: where the copies go. */
    location?: { library: string; shelvingLocation: string; quantity: number };
    /** YYYY-MM-DD. */
    createdDate: string;
  };
}

export interface CatalogueEntry {
  title: string;
  author?: string;
  isbn?: string;
  publisher?: string;
  year?: string;
  place?: string;
}

export interface SandboxSeed {
  institutions: SandboxInstitutionSeed[];
  /** Bibs every institution starts with; the built-in catalogue when absent. */
  catalogue?: CatalogueEntry[];
}

export const DEFAULT_PO_LINE_TYPES = [
  'PRINTED_BOOK_OT',
  'PRINTED_BOOK_SO',
  'PRINT_OT',
  'PRINT_SO',
  'PRINTED_JOURNAL_CO',
  'ELECTRONIC_TITLE_OT',
  'ELECTRONIC_BOOK_OT',
  'ELECTRONIC_COLLECTION_OT',
  'DVD_OT',
];

export const BUILT_IN_CATALOGUE: CatalogueEntry[] = [
  {
    title: 'Introduction to algorithms /',
    author: 'Cormen, Thomas H.,',
    isbn: '9780262033848',
    publisher: 'MIT Press,',
    year: '2009',
    place: 'Cambridge, Mass. :',
  },
  {
    title: 'Linear algebra done right /',
    author: 'Axler, Sheldon,',
    isbn: '9783161484100',
    publisher: 'Springer,',
    year: '2024',
    place: 'Cham :',
  },
  {
    title: 'The C programming language /',
    author: 'Kernighan, Brian W.,',
    isbn: '9780131103627',
    publisher: 'Prentice Hall,',
    year: '1988',
    place: 'Englewood Cliffs, N.J. :',
  },
  {
    title: 'JavaScript : the good parts /',
    author: 'Crockford, Douglas,',
    isbn: '9780596517748',
    publisher: "O'Reilly,",
    year: '2008',
    place: 'Sebastopol, CA :',
  },
];

/** Demos must not run out of budget, so the sandbox's daily threshold is generous unless told otherwise. */
export const DEFAULT_DAILY_THRESHOLD = 1_000_000;

/**
 * Builds the seed from the project's configuration: each institution with its key (resolved now, kept only
 * in memory) and the vendors, funds, libraries and locations its accounts name.
 */
export function seedFromConfig(
  config: Config,
  opts: { dailyThreshold?: number; env?: NodeJS.ProcessEnv } = {},
): SandboxSeed {
  const institutions = Object.entries(config.institutions).map(([code, inst]): SandboxInstitutionSeed => {
    const accounts = Object.values(config.accounts).filter((a) => a.institution === code);
    const vendors = new Map<string, Set<string>>();
    const funds = new Set<string>();
    const libraries: Record<string, string[]> = {};
    const types = new Set(DEFAULT_PO_LINE_TYPES);
    const profiles = new Set<string>();
    for (const acc of accounts) {
      const accs = vendors.get(acc.alma.vendorCode) ?? new Set<string>();
      accs.add(acc.alma.vendorAccount);
      vendors.set(acc.alma.vendorCode, accs);
      for (const f of acc.funds) funds.add(f);
      for (const [lib, { locations }] of Object.entries(acc.libraries)) {
        const list = (libraries[lib] ??= []);
        for (const l of locations) if (!list.includes(l)) list.push(l);
      }
      libraries[acc.alma.defaultOwner] ??= [];
      types.add(acc.alma.poLineType.print);
      types.add(acc.alma.poLineType.ebook);
      if (acc.alma.profileCode) profiles.add(acc.alma.profileCode);
    }
    return {
      code,
      apiKey: resolveSecret(inst.apiKey, opts.env),
      perSecond: inst.perSecondThreshold,
      daily: opts.dailyThreshold ?? DEFAULT_DAILY_THRESHOLD,
      vendors: [...vendors].map(([vc, accs]) => ({
        code: vc,
        name: `${vc} (sandbox vendor)`,
        accounts: [...accs],
      })),
      funds: [...funds],
      libraries,
      poLineTypes: [...types],
      currency: accounts[0]?.currencies[0] ?? 'USD',
      ...(profiles.size ? { profileCodes: [...profiles] } : {}),
    };
  });
  return { institutions };
}
