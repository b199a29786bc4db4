/** Product identifiers of a line: the EAN in LIN and the ISBNs in PIA, normalised to ISBN-13. */
import { normaliseIsbn } from '../contract/isbn';
import { vendorText } from './errors';
import { comp } from './values';
import type { Segment } from './types';

export interface ProductIds {
  ean?: string;
  isbn?: string;
  /** PIA+3: the vendor offers this edition instead (e.g. with 8B OR). */
  substituteIsbn?: string;
}

const ID_CODES = new Set(['IB', 'EN']);

/**
 * ISBN from PIA+5 (or PIA+1), falling back to a Bookland EAN (978/979) in LIN. An identifier that is not a
 * valid ISBN is reported through `warn` rather than dropped silently.
 */
export function readProductIds(lin: Segment, group: Segment[], warn: (text: string) => void): ProductIds {
  const out: ProductIds = {};
  const linCode = comp(lin, 2, 1);
  const linId = comp(lin, 2, 0);
  if (linId !== undefined && (linCode === undefined || linCode === 'EN')) out.ean = linId;
  else if (linId !== undefined && linCode === 'IB') {
    const isbn = normaliseIsbn(linId);
    if (isbn) out.isbn = isbn;
  }
  for (const seg of group) {
    if (seg.tag !== 'PIA') continue;
    const fn = comp(seg, 0);
    for (const el of seg.elements.slice(1)) {
      const [id = '', code = ''] = el;
      if (id === '' || !ID_CODES.has(code)) continue;
      const isbn = normaliseIsbn(id);
      if (!isbn) {
        // A non-book EAN is not an ISBN problem.
        if (code === 'IB' || /^97[89]/.test(id))
          warn(`PIA+${vendorText(fn)} identifier "${vendorText(id)}" (${code}) is not a valid ISBN`);
        continue;
      }
      if ((fn === '5' || fn === '1') && out.isbn === undefined) out.isbn = isbn;
      else if (fn === '3' && out.substituteIsbn === undefined) out.substituteIsbn = isbn;
    }
  }
  if (out.isbn === undefined && out.ean !== undefined && /^97[89]/.test(out.ean)) {
    const isbn = normaliseIsbn(out.ean);
    if (isbn) out.isbn = isbn;
  }
  return out;
}
