/**
 * The nightly overlay of the brief bib Alma created by the vendor's full record. `PUT /bibs/{mms_id}` swaps the
 * whole record, so this does what Alma's "overlay all fields but local" would: the vendor's fields, minus the
 * excluded tags, plus the library's own fields (001/005 and the local tags) from the record in Alma, plus the
 * OASIS order data written into the configured 9XX fields.
 */
import { normaliseIsbn } from '../contract/isbn';
import type { DataField, MarcField, MarcRecord, Subfield } from './record';
import {
  isControlField,
  isControlTag,
  parseFieldSpec,
  subfieldValues,
  tagMatchesAny,
  withUnicodeLeader,
} from './record';

export interface OrderFieldValue {
  /** Where the value goes: `980$a`. */
  field: string;
  value: string;
}

export interface OverlayOptions {
  /** The bib in Alma now. */
  current: MarcRecord;
  /** The vendor's full record. */
  incoming: MarcRecord;
  /** Tags of the incoming record not to load, wildcards allowed: `['029', '263', '938']`, `['9XX']`. */
  excludeTags: string[];
  /** The library's local fields, kept from `current` and never taken from `incoming`: `['9XX']`. */
  localTags: string[];
  /** OASIS order data to write; subfields of the same tag go into one field. */
  orderFields: OrderFieldValue[];
}

/** A MARC tag, or one of Alma's own (AVA, INST): anything else (an empty tag) is a field nobody can classify. */
function isMarcTag(tag: string): boolean {
  return /^[0-9A-Za-z]{3,4}$/.test(tag);
}

/** Control fields that identify the record in Alma (001 the MMS id, 003 its source, 005 the version). */
const CURRENT_CONTROL_TAGS = ['001', '003', '005'];

/** Groups order values by tag into fields (ind ' ' ' '), in the order tags first appear; empty values are left out. */
export function buildOrderFields(orderFields: readonly OrderFieldValue[]): DataField[] {
  const byTag = new Map<string, DataField>();
  for (const { field, value } of orderFields) {
    const spec = parseFieldSpec(field);
    if (spec.code === undefined || isControlTag(spec.tag) || /[xX]/.test(spec.tag)) {
      throw new Error(`order field "${field}" must name one data field and subfield, e.g. 980$a`);
    }
    const v = value.trim();
    if (v === '') continue;
    let f = byTag.get(spec.tag);
    if (!f) {
      f = { tag: spec.tag, ind1: ' ', ind2: ' ', subfields: [] };
      byTag.set(spec.tag, f);
    }
    f.subfields.push({ code: spec.code, value: v });
  }
  return [...byTag.values()];
}

/** True when every subfield of `field` is also written by `written`: keeping it would only repeat our data. */
function heldIn(field: DataField, written: readonly Subfield[]): boolean {
  return field.subfields.every((sf) =>
    written.some((w) => w.code === sf.code && w.value === sf.value.trim()),
  );
}

export function overlayRecord(opts: OverlayOptions): MarcRecord {
  const { current, incoming, excludeTags, localTags } = opts;
  const orderFields = buildOrderFields(opts.orderFields);
  const orderTags = orderFields.map((f) => f.tag);

  const fromIncoming = incoming.fields.filter(
    (f) =>
      !tagMatchesAny(f.tag, excludeTags) &&
      !CURRENT_CONTROL_TAGS.includes(f.tag) &&
      !tagMatchesAny(f.tag, localTags) &&
      !orderTags.includes(f.tag),
  );

  const fromCurrent = current.fields.filter((f) => {
    // A field Alma holds under a tag that is not a MARC tag (an empty one, real Alma exports have them) cannot be
    // told to be the vendor's or the library's: it stays, exactly as it was.
    if (!isMarcTag(f.tag)) return true;
    if (isControlField(f)) return CURRENT_CONTROL_TAGS.includes(f.tag) || tagMatchesAny(f.tag, localTags);
    if (!tagMatchesAny(f.tag, localTags) && !orderTags.includes(f.tag)) return false;
    // An order field written by an earlier run (or a part of it) is replaced, not repeated. A field with the same
    // tag that holds anything else (another order on the same bib, a cataloguer's note) stays.
    const ours = orderFields.find((o) => o.tag === f.tag);
    return !(ours && heldIn(f, ours.subfields));
  });

  // Fields are put in tag order; a field with no MARC tag goes where it was, after the field it followed.
  const sortKey = new Map<MarcField, string>();
  let previous = '';
  for (const f of current.fields) {
    if (isMarcTag(f.tag)) previous = f.tag;
    else sortKey.set(f, previous);
  }
  const key = (f: MarcField) => sortKey.get(f) ?? f.tag;
  const fields: MarcField[] = [...fromIncoming, ...fromCurrent, ...orderFields];
  // Array.prototype.sort is stable: fields with the same tag keep incoming, current, order-data order.
  fields.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  return { leader: withUnicodeLeader(incoming.leader), fields };
}

export interface MatchKeyFields {
  /** Where the OASIS order id is, e.g. `980$a`. */
  orderId?: string;
  /** Where the Alma PO line number is, e.g. `980$b`. */
  poLine?: string;
}

export interface MatchKeys {
  orderIds: string[];
  poLines: string[];
  /** 020 $a as ISBN-13, deduplicated. */
  isbns: string[];
}

function distinct(values: Iterable<string>): string[] {
  return [...new Set(values)];
}

/** The keys that tie a vendor record to an order: order id and PO line from 9XX (sharpest), then ISBNs. */
export function matchKeys(record: MarcRecord, fields: MatchKeyFields): MatchKeys {
  const values = (spec: string | undefined): string[] =>
    spec === undefined
      ? []
      : distinct(
          subfieldValues(record, spec)
            .map((v) => v.trim())
            .filter((v) => v !== ''),
        );
  const isbns = subfieldValues(record, '020$a')
    .map((v) => normaliseIsbn(v))
    .filter((v): v is string => v !== null);
  return { orderIds: values(fields.orderId), poLines: values(fields.poLine), isbns: distinct(isbns) };
}
