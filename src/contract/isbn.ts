/** ISBN checks and normalisation: orders are stored, searched and matched by ISBN-13. */

function isbn10CheckOk(d: string): boolean {
  let sum = 0;
  for (let i = 0; i < 10; i++) {
    const c = d[i]!;
    const v = c === 'X' || c === 'x' ? 10 : Number(c);
    if (c.toUpperCase() === 'X' && i !== 9) return false;
    sum += v * (10 - i);
  }
  return sum % 11 === 0;
}

function isbn13Check(d12: string): number {
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += Number(d12[i]) * (i % 2 === 0 ? 1 : 3);
  return (10 - (sum % 10)) % 10;
}

export type IsbnProblem = 'format' | 'checksum';

/** Checks an ISBN-10 or ISBN-13 written with optional hyphens or spaces. */
export function checkIsbn(text: string): { ok: true; isbn13: string } | { ok: false; problem: IsbnProblem } {
  const d = text.replace(/[-\s]/g, '');
  if (/^\d{9}[\dXx]$/.test(d)) {
    if (!isbn10CheckOk(d)) return { ok: false, problem: 'checksum' };
    const d12 = '978' + d.slice(0, 9);
    return { ok: true, isbn13: d12 + isbn13Check(d12) };
  }
  if (/^97[89]\d{10}$/.test(d)) {
    if (isbn13Check(d.slice(0, 12)) !== Number(d[12])) return { ok: false, problem: 'checksum' };
    return { ok: true, isbn13: d };
  }
  return { ok: false, problem: 'format' };
}

/**
 * Normalises an ISBN as found in MARC 020 $a or EDI ("0-262-03384-4 (pbk.)", "9780262033848"):
 * the ISBN-13, or null when there is no valid ISBN in the text.
 */
export function normaliseIsbn(text: string | undefined | null): string | null {
  if (!text) return null;
  const m = /[0-9][0-9\s-]{8,16}[0-9Xx]/.exec(text);
  if (!m) return null;
  const r = checkIsbn(m[0]);
  return r.ok ? r.isbn13 : null;
}
