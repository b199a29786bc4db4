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

/** ISBN-shaped runs of digits (separators allowed between them), not inside a longer number. */
const ISBN13_SHAPE = /(?<![0-9])97[89](?:[\s-]{0,3}[0-9]){10}(?![0-9])/g;
const ISBN10_SHAPE = /(?<![0-9])[0-9](?:[\s-]{0,3}[0-9]){8}[\s-]{0,3}[0-9Xx](?![0-9])/g;

/**
 * Normalises an ISBN as found in MARC 020 $a or EDI ("0-262-03384-4 (pbk.)", "9780262033848"):
 * the ISBN-13 of the first valid ISBN in the text, or null when there is none. Candidates are whole numbers,
 * so a year or price after the ISBN ("0262033844 1996") is not glued onto it.
 */
export function normaliseIsbn(text: string | undefined | null): string | null {
  if (!text) return null;
  let best: { at: number; isbn13: string } | undefined;
  for (const shape of [ISBN13_SHAPE, ISBN10_SHAPE]) {
    for (const m of text.matchAll(shape)) {
      const r = checkIsbn(m[0]);
      if (r.ok && (!best || m.index < best.at)) best = { at: m.index, isbn13: r.isbn13 };
    }
  }
  return best ? best.isbn13 : null;
}
