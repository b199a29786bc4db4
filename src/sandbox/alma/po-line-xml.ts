/**
 * A `<po_line>` XML body read into the JSON shape the sandbox keeps: the inverse of render.ts's toXml. In XML a
 * coded field is `<owner desc="…">MAIN</owner>`, so the fields below become `{value}`; a list is
 * `<fund_distributions><fund_distribution>…` and becomes `fund_distribution: [...]`.
 */
import { AlmaFault } from './render';
import { elements, parseXml, textOf, type XmlElement } from '../../alma/xml';

/** Fields of the po_line that Alma codes (`string with attr.` in rest_po_line.xsd). */
const CODED = new Set([
  'owner',
  'type',
  'vendor',
  'acquisition_method',
  'vendor_reference_number_type',
  'source_type',
  'material_type',
  'currency',
  'fund_code',
  'library',
  'mms_id',
  'status',
  'reason',
]);

function read(el: XmlElement): unknown {
  const kids = elements(el);
  if (kids.length === 0) {
    const text = textOf(el);
    return CODED.has(el.name) ? { value: text } : text;
  }
  // <xs><x/><x/></xs>: a list named after its items.
  if (el.name.endsWith('s') && kids.every((k) => k.name === el.name.slice(0, -1))) {
    return kids.map(read);
  }
  const out: Record<string, unknown> = {};
  for (const k of kids) {
    const v = read(k);
    if (Array.isArray(v)) out[k.name.slice(0, -1)] = v;
    else out[k.name] = v;
  }
  return out;
}

export function poLineFromXml(text: string): Record<string, unknown> {
  let root: XmlElement;
  try {
    root = parseXml(text);
  } catch {
    throw new AlmaFault(400, '402119', 'General Error: the request body is not well-formed XML.');
  }
  if (root.name !== 'po_line') {
    throw new AlmaFault(400, '402119', `General Error: expected a <po_line> element, not <${root.name}>.`);
  }
  return read(root) as Record<string, unknown>;
}
