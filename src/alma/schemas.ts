/**
 * The shapes of Alma's answers, validated leniently: Alma adds fields over time, so objects keep unknown
 * keys and only what the project reads is checked. Request bodies are typed, not validated.
 */
import { z } from 'zod';

/** Alma's coded value: `{ value, desc }` (send `value`; `desc` is Alma's label). */
export const coded = z.looseObject({ value: z.string().nullish(), desc: z.string().nullish() });
export type Coded = z.infer<typeof coded>;

const numberish = z.union([z.string(), z.number()]);

export const poLineSchema = z.looseObject({
  number: z.string().min(1),
  status: coded.nullish(),
  po_number: z.string().nullish(),
  created_date: z.string().nullish(),
  owner: coded.nullish(),
  type: coded.nullish(),
  vendor: coded.nullish(),
  vendor_account: z.union([z.string(), coded]).nullish(),
  vendor_reference_number: z.string().nullish(),
  price: z.looseObject({ sum: numberish.nullish(), currency: coded.nullish() }).nullish(),
  fund_distribution: z
    .array(z.looseObject({ fund_code: coded.nullish(), percent: numberish.nullish() }))
    .nullish(),
  resource_metadata: z
    .looseObject({
      title: z.string().nullish(),
      author: z.string().nullish(),
      isbn: z.string().nullish(),
      issn: z.string().nullish(),
      publisher: z.string().nullish(),
      publication_year: numberish.nullish(),
      /** Appears only once Alma has linked (matched or created) the bib: re-read until it is there. */
      mms_id: z.looseObject({ value: z.string().nullish(), link: z.string().nullish() }).nullish(),
    })
    .nullish(),
  alert: z.array(coded).nullish(),
});
export type PoLine = z.infer<typeof poLineSchema>;

export const poLineListSchema = z.looseObject({
  po_line: z.array(poLineSchema).optional(),
  total_record_count: z.number().int().min(0).default(0),
});

/** The body of POST /acq/po-lines (Ex Libris: Create PO-Line, developers.exlibrisgroup.com/alma/apis/acq); fields beyond these pass through as given. */
export interface PoLineInput {
  owner: { value: string };
  type: { value: string };
  vendor?: { value: string };
  vendor_account?: string;
  acquisition_method?: { value: string };
  rush?: boolean;
  price?: { sum: string | number; currency: { value: string } };
  fund_distribution?: (
    | { fund_code: { value: string }; percent: number }
    | { fund_code: { value: string }; amount: { sum: string | number; currency: { value: string } } }
  )[];
  vendor_reference_number?: string;
  vendor_reference_number_type?: { value: string };
  source_type?: { value: string };
  resource_metadata: {
    title?: string;
    author?: string;
    isbn?: string;
    issn?: string;
    publisher?: string;
    publication_year?: string;
    publication_place?: string;
    edition?: string;
    mms_id?: { value: string };
  };
  location?: { quantity: number; library: { value: string }; shelving_location?: string }[];
  material_type?: { value: string };
  vendor_note?: string;
  receiving_note?: string;
  note?: { note_text: string }[];
  interested_user?: { primary_id: string; notify_receiving_activation?: boolean; hold_item?: boolean }[];
  reporting_code?: string;
  [field: string]: unknown;
}

export const bibJsonSchema = z.looseObject({
  mms_id: z.string().regex(/^\d+$/),
  title: z.string().nullish(),
  author: z.string().nullish(),
  isbn: z.string().nullish(),
  anies: z.array(z.string()).nullish(),
});
export type BibJson = z.infer<typeof bibJsonSchema>;

export const bibListSchema = z.looseObject({
  bib: z.array(bibJsonSchema).optional(),
  total_record_count: z.number().int().min(0).default(0),
});

/** A bib as the project uses it: the MARCXML string (Alma's `anies[0]`, as sent) and a few derived fields. */
export interface Bib {
  mmsId: string;
  /** Alma's MARCXML; it declares encoding="UTF-16" although it is an ordinary string. */
  marcXml: string;
  title: string | null;
  author: string | null;
  isbn: string | null;
  raw: BibJson;
}

export const fundSchema = z.looseObject({
  code: z.string(),
  name: z.string().nullish(),
  status: coded.nullish(),
});
export type Fund = z.infer<typeof fundSchema>;
export const fundListSchema = z.looseObject({
  fund: z.array(fundSchema).optional(),
  total_record_count: z.number().int().min(0).default(0),
});

export const vendorSchema = z.looseObject({
  code: z.string(),
  name: z.string().nullish(),
  status: coded.nullish(),
  account: z.array(z.looseObject({ code: z.string(), status: coded.nullish() })).nullish(),
});
export type Vendor = z.infer<typeof vendorSchema>;

export const locationSchema = z.looseObject({ code: z.string(), name: z.string().nullish() });
export type Location = z.infer<typeof locationSchema>;
export const locationListSchema = z.looseObject({
  location: z.array(locationSchema).optional(),
  total_record_count: z.number().int().min(0).optional(),
});

export const librarySchema = z.looseObject({ code: z.string(), name: z.string().nullish() });
export type Library = z.infer<typeof librarySchema>;
export const libraryListSchema = z.looseObject({ library: z.array(librarySchema).optional() });

/** A row of a code table (GET /conf/code-tables/{name}): `enabled` may come as a boolean or a string. */
export const codeTableRowSchema = z.looseObject({
  code: z.string(),
  description: z.string().nullish(),
  enabled: z.union([z.boolean(), z.string()]).nullish(),
});
export const codeTableSchema = z.looseObject({
  name: z.string().nullish(),
  row: z.array(codeTableRowSchema).nullish(),
});
export type CodeTable = z.infer<typeof codeTableSchema>;
