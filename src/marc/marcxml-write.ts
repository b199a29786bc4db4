/** MARCXML writing: MARC 21 slim records, and the `<bib><record>` body that Alma's `PUT /bibs/{mms_id}` takes. */
import { MARCXML_NAMESPACE } from './marcxml-read';
import type { MarcRecord } from './record';
import { isControlField, withUnicodeLeader } from './record';
import { escapeXml } from './xml-text';

export interface MarcXmlOptions {
  /** Declare the MARC 21 slim namespace on `<record>` (default true). */
  namespace?: boolean;
}

/** One `<record>` element; every value and attribute is escaped and stripped of characters XML 1.0 forbids. */
export function toMarcXml(record: MarcRecord, opts: MarcXmlOptions = {}): string {
  const parts: string[] = [opts.namespace === false ? '<record>' : `<record xmlns="${MARCXML_NAMESPACE}">`];
  parts.push(`<leader>${escapeXml(record.leader)}</leader>`);
  for (const f of record.fields) {
    if (isControlField(f)) {
      parts.push(`<controlfield tag="${escapeXml(f.tag)}">${escapeXml(f.value)}</controlfield>`);
      continue;
    }
    parts.push(
      `<datafield tag="${escapeXml(f.tag)}" ind1="${escapeXml(f.ind1 || ' ')}" ind2="${escapeXml(f.ind2 || ' ')}">`,
    );
    for (const sf of f.subfields)
      parts.push(`<subfield code="${escapeXml(sf.code)}">${escapeXml(sf.value)}</subfield>`);
    parts.push('</datafield>');
  }
  parts.push('</record>');
  return parts.join('');
}

/** A `<collection>` document holding the records, for files. */
export function toMarcXmlCollection(records: Iterable<MarcRecord>): string {
  const parts = [`<?xml version="1.0" encoding="UTF-8"?>\n<collection xmlns="${MARCXML_NAMESPACE}">\n`];
  for (const r of records) parts.push(toMarcXml(r, { namespace: false }), '\n');
  parts.push('</collection>\n');
  return parts.join('');
}

/**
 * The body for `PUT /bibs/{mms_id}`: `<bib><record>…</record></bib>` without the MARC namespace, as Alma wants.
 * Leader/09 is set to `a`: the text is Unicode whatever the record said.
 */
export function toAlmaBibXml(record: MarcRecord): string {
  return `<bib>${toMarcXml({ leader: withUnicodeLeader(record.leader), fields: record.fields }, { namespace: false })}</bib>`;
}
