/**
 * MARC records as the sandbox keeps them, read from and written to MARCXML the way Alma writes it.
 * Deliberately independent of src/marc: the sandbox stands in for Alma, so it does not share the code under test.
 */
import { elements, escapeXml, textOf, type XmlElement } from '../../alma/xml';
import { normaliseIsbn } from '../../contract/isbn';

export interface Subfield {
  code: string;
  value: string;
}
export interface DataField {
  tag: string;
  ind1: string;
  ind2: string;
  subfields: Subfield[];
}
export interface MarcRecord {
  leader: string;
  controlfields: { tag: string; value: string }[];
  datafields: DataField[];
}

export function recordFromXml(el: XmlElement): MarcRecord {
  return {
    leader: textOf(elements(el, 'leader')[0]),
    controlfields: elements(el, 'controlfield').map((c) => ({ tag: c.attrs.tag ?? '', value: textOf(c) })),
    datafields: elements(el, 'datafield').map((d) => ({
      tag: d.attrs.tag ?? '',
      ind1: d.attrs.ind1 ?? ' ',
      ind2: d.attrs.ind2 ?? ' ',
      subfields: elements(d, 'subfield').map((s) => ({ code: s.attrs.code ?? '', value: textOf(s) })),
    })),
  };
}

/** `<record>…</record>` without a namespace and with `ind1 ind2 tag` attribute order, as Alma returns it. */
export function recordToXml(rec: MarcRecord): string {
  const parts = [`<record><leader>${escapeXml(rec.leader)}</leader>`];
  for (const c of rec.controlfields) {
    parts.push(`<controlfield tag="${escapeXml(c.tag)}">${escapeXml(c.value)}</controlfield>`);
  }
  for (const d of rec.datafields) {
    parts.push(
      `<datafield ind1="${escapeXml(d.ind1)}" ind2="${escapeXml(d.ind2)}" tag="${escapeXml(d.tag)}">`,
    );
    for (const s of d.subfields)
      parts.push(`<subfield code="${escapeXml(s.code)}">${escapeXml(s.value)}</subfield>`);
    parts.push('</datafield>');
  }
  parts.push('</record>');
  return parts.join('');
}

/** Sets a control field, keeping 001/005/008 in tag order. */
export function setControlField(rec: MarcRecord, tag: string, value: string): void {
  const existing = rec.controlfields.find((c) => c.tag === tag);
  if (existing) existing.value = value;
  else {
    rec.controlfields.push({ tag, value });
    rec.controlfields.sort((a, b) => a.tag.localeCompare(b.tag));
  }
}

/** The 005 "date and time of latest transaction" value. */
export function marcTimestamp(d: Date): string {
  return d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + '.0';
}

const sub = (rec: MarcRecord, tag: string, code: string): string | null =>
  rec.datafields.find((d) => d.tag === tag)?.subfields.find((s) => s.code === code)?.value ?? null;

/** The fields Alma derives from the record into the bib's JSON (title, author, isbn, …). */
export function summarise(rec: MarcRecord) {
  return {
    title: sub(rec, '245', 'a'),
    author: sub(rec, '100', 'a') ?? sub(rec, '110', 'a'),
    issn: sub(rec, '022', 'a'),
    isbn: sub(rec, '020', 'a'),
    network_number: rec.datafields
      .filter((d) => d.tag === '035')
      .flatMap((d) => d.subfields.filter((s) => s.code === 'a').map((s) => s.value)),
    place_of_publication: sub(rec, '264', 'a') ?? sub(rec, '260', 'a'),
    date_of_publication: sub(rec, '264', 'c') ?? sub(rec, '260', 'c'),
    publisher_const: sub(rec, '264', 'b') ?? sub(rec, '260', 'b'),
  };
}

/** Every ISBN of the record (020 $a), normalised to ISBN-13, for the match on PO line creation. */
export function recordIsbns(rec: MarcRecord): string[] {
  return rec.datafields
    .filter((d) => d.tag === '020')
    .flatMap((d) => d.subfields.filter((s) => s.code === 'a').map((s) => normaliseIsbn(s.value)))
    .filter((v): v is string => v !== null);
}

export interface BriefData {
  mmsId: string;
  title: string;
  author?: string | undefined;
  isbn?: string | undefined;
  publisher?: string | undefined;
  year?: string | undefined;
  place?: string | undefined;
}

/** The very brief record Alma makes from a PO line's metadata when no bib matches. */
export function briefRecord(data: BriefData, now: Date): MarcRecord {
  const yymmdd = now.toISOString().slice(2, 10).replace(/-/g, '');
  const year = /^\d{4}$/.test(data.year ?? '') ? data.year! : '    ';
  const f008 = `${yymmdd}s${year}    xx ${' '.repeat(17)}eng d`;
  const rec: MarcRecord = {
    leader: '00000nam a2200000 i 4500',
    controlfields: [
      { tag: '001', value: data.mmsId },
      { tag: '005', value: marcTimestamp(now) },
      { tag: '008', value: f008 },
    ],
    datafields: [],
  };
  if (data.isbn)
    rec.datafields.push({ tag: '020', ind1: ' ', ind2: ' ', subfields: [{ code: 'a', value: data.isbn }] });
  if (data.author) {
    rec.datafields.push({ tag: '100', ind1: '1', ind2: ' ', subfields: [{ code: 'a', value: data.author }] });
  }
  rec.datafields.push({
    tag: '245',
    ind1: data.author ? '1' : '0',
    ind2: '0',
    subfields: [{ code: 'a', value: data.title }],
  });
  const imprint: Subfield[] = [];
  if (data.place) imprint.push({ code: 'a', value: data.place });
  if (data.publisher) imprint.push({ code: 'b', value: data.publisher });
  if (data.year) imprint.push({ code: 'c', value: data.year });
  if (imprint.length) rec.datafields.push({ tag: '264', ind1: ' ', ind2: '1', subfields: imprint });
  return rec;
}
