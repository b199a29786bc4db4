/**
 * Alma's code tables as the sandbox knows them: the codes a PO line may carry, each with the description Alma
 * answers in `{value, desc}`. Seeded per institution (an institution's tables are its own configuration in
 * Alma), defaulting to the tables below. Where a code is not confirmed by a public source, docs/alma-sandbox.md
 * says so (ASSUMPTION); a seed can rename any code so a test can prove the project reads it, not hard-codes it.
 */

/** code → description. */
export type CodeTable = Record<string, string>;

export interface CodeTables {
  /** POLineStatus: the status of a PO line (output only). */
  poLineStatus: CodeTable;
  /** The alerts Alma gives a PO line it puts In Review. */
  poLineAlerts: CodeTable;
  /** PurchaseType: the PO line type (`type`). */
  poLineTypes: CodeTable;
  /** PO Line Cancellation Reasons: DELETE's `reason`. */
  cancellationReasons: CodeTable;
  /** Currencies the institution accepts (ISO 4217). */
  currencies: CodeTable;
  /** AcquisitionMethod (`acquisition_method`). */
  acquisitionMethods: CodeTable;
  /** PhysicalMaterialType (`material_type`). */
  materialTypes: CodeTable;
  /** Vendor reference number types (`vendor_reference_number_type`). */
  vendorReferenceNumberTypes: CodeTable;
}

/** Which status codes mean what to the sandbox: renaming a code in the seed keeps its meaning. */
export interface StatusRoles {
  active: string;
  inReview: string;
  closed: string;
  cancelled: string;
}

export const DEFAULT_STATUS_ROLES: StatusRoles = {
  active: 'ACTIVE',
  inReview: 'IN_REVIEW',
  closed: 'CLOSED',
  cancelled: 'CANCELLED',
};

export const DEFAULT_CODE_TABLES: CodeTables = {
  poLineStatus: {
    ACTIVE: 'Active',
    IN_REVIEW: 'In Review',
    CLOSED: 'Closed',
    CANCELLED: 'Cancelled',
    DELETED: 'Deleted',
  },
  poLineAlerts: {
    VENDOR_MISSING: 'Vendor is missing.',
    VENDOR_NOT_FOUND: 'Vendor was not found.',
    VENDOR_ACCOUNT_MISSING: 'Vendor account is missing.',
    VENDOR_ACCOUNT_NOT_FOUND: 'Vendor account was not found.',
    PRICE_MISSING: 'List price is missing.',
    FUND_MISSING: 'Fund is missing.',
    FUND_NOT_FOUND: 'Fund was not found.',
    MANUAL_REVIEW_REQUESTED: 'Manual review was requested.',
  },
  poLineTypes: {
    PRINTED_BOOK_OT: 'Print Book - One Time',
    PRINTED_BOOK_SO: 'Print Book - Standing Order',
    PRINT_OT: 'Print - One Time',
    PRINT_SO: 'Print - Standing Order',
    PRINTED_JOURNAL_CO: 'Print Journal - Subscription',
    ELECTRONIC_TITLE_OT: 'Electronic Title - One Time',
    ELECTRONIC_BOOK_OT: 'Electronic Book - One Time',
    ELECTRONIC_COLLECTION_OT: 'Electronic Collection - One Time',
    DVD_OT: 'DVD - One Time',
  },
  cancellationReasons: {
    LIBRARY_CANCELLED: 'Cancelled by the library',
    VENDOR_CANCELLED: 'Cancelled by the vendor',
    NOT_AVAILABLE: 'Not available',
    OUT_OF_PRINT: 'Out of print',
    DUPLICATE: 'Duplicate order',
  },
  currencies: {
    USD: 'US Dollar',
    EUR: 'Euro',
    GBP: 'Pound Sterling',
    CAD: 'Canadian Dollar',
    AUD: 'Australian Dollar',
    CHF: 'Swiss Franc',
    JPY: 'Yen',
    SEK: 'Swedish Krona',
    NOK: 'Norwegian Krone',
    DKK: 'Danish Krone',
    NZD: 'New Zealand Dollar',
    ILS: 'New Israeli Sheqel',
  },
  acquisitionMethods: {
    PURCHASE: 'Purchase',
    PURCHASE_NOLETTER: 'Purchase without letter',
    VENDOR_SYSTEM: 'Purchase at vendor system',
    APPROVAL: 'Approval plan',
    GIFT: 'Gift',
    EXCHANGE: 'Exchange',
    DEPOSITORY: 'Depository',
    LEGAL_DEPOSIT: 'Legal deposit',
    TECHNICAL: 'Technical',
  },
  materialTypes: {
    BOOK: 'Book',
    ISSUE: 'Issue',
    DVD: 'DVD',
    CD: 'CD-ROM',
    MAP: 'Map',
    SCORE: 'Music score',
    OTHER: 'Other',
  },
  vendorReferenceNumberTypes: {
    SLI: "Supplier's order line reference",
    SNA: "Supplier's order reference",
  },
};

/** What a seed may say about its code tables: whole tables replace the defaults, table by table. */
export type CodeTablesSeed = Partial<CodeTables> & { statusRoles?: Partial<StatusRoles> };

export function codeTablesOf(seed: CodeTablesSeed | undefined, poLineTypes?: string[]): CodeTables {
  const tables: CodeTables = { ...DEFAULT_CODE_TABLES, ...seed };
  if (poLineTypes && !seed?.poLineTypes) {
    // The seed's list of types (the configuration's among them) is the institution's PurchaseType table.
    tables.poLineTypes = Object.fromEntries(
      poLineTypes.map((t) => [t, DEFAULT_CODE_TABLES.poLineTypes[t] ?? t]),
    );
  }
  return tables;
}

export function statusRolesOf(seed: CodeTablesSeed | undefined): StatusRoles {
  return { ...DEFAULT_STATUS_ROLES, ...seed?.statusRoles };
}

/** `{value, desc}` with the table's description. */
export function coded(table: CodeTable, value: string): { value: string; desc: string } {
  return { value, desc: table[value] ?? value };
}

export const hasCode = (table: CodeTable, value: string): boolean => Object.hasOwn(table, value);
