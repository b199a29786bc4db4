/** Reading typed values out of segments: decimals (kept as strings), dates, quantities, codes. */
import { EdifactError, vendorText, type EdifactLocation } from './errors';
import type { Segment } from './types';

/** Component `c` of element `e` (both 0-based, element 0 is the first after the tag); empty reads as absent. */
export function comp(seg: Segment, e: number, c = 0): string | undefined {
  const v = seg.elements[e]?.[c];
  return v === undefined || v === '' ? undefined : v;
}

const DECIMAL = /^([+-]?)(\d*)(?:[.,](\d*))?$/;

/**
 * A decimal as written in the file, normalised to '.' as decimal mark, without float rounding:
 * '7,40' with a comma decimal mark gives '7.40', '.5' gives '0.5', '-3' stays '-3'. Returns undefined
 * for text that is not a number. Syntax 4 allows either mark whatever UNA says, so both are accepted.
 */
export function normaliseDecimal(text: string): string | undefined {
  // No amount, price or rate has 40 digits: a longer "number" is a broken file, not money.
  if (text.length > 40) return undefined;
  const m = DECIMAL.exec(text.trim());
  if (!m) return undefined;
  const [, sign = '', int = '', frac] = m;
  if (int === '' && (frac === undefined || frac === '')) return undefined;
  const whole = int === '' ? '0' : int;
  const body = frac === undefined || frac === '' ? whole : `${whole}.${frac}`;
  return sign === '-' ? '-' + body : body;
}

/** Exact sum of decimal strings (normalised form), for totals. */
export function addDecimals(values: string[]): string {
  let scale = 0;
  for (const v of values) scale = Math.max(scale, v.split('.')[1]?.length ?? 0);
  let sum = 0n;
  for (const v of values) {
    const neg = v.startsWith('-');
    const [int = '0', frac = ''] = v.replace(/^[+-]/, '').split('.');
    const n = BigInt(int + frac.padEnd(scale, '0'));
    sum += neg ? -n : n;
  }
  const neg = sum < 0n;
  const digits = (neg ? -sum : sum).toString().padStart(scale + 1, '0');
  const body = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return (neg ? '-' : '') + body;
}

/** A decimal that must be valid: money is never guessed, so a bad amount stops the reading with a location. */
export function requireDecimal(text: string, seg: Segment, what: string, loc: EdifactLocation): string {
  const v = normaliseDecimal(text);
  if (v === undefined) {
    throw new EdifactError(`${what} "${vendorText(text)}" is not a number`, {
      ...loc,
      fileSegment: seg.fileSegment,
      tag: seg.tag,
    });
  }
  return v;
}

function validYmd(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1) return false;
  return d <= new Date(Date.UTC(y, m, 0)).getUTCDate();
}

/**
 * A DTM date as ISO 'yyyy-mm-dd'. Formats (DE 2379): 102 CCYYMMDD, 203 CCYYMMDDHHMM, 204 with seconds,
 * 101 YYMMDD (years < 70 are 20YY). Returns undefined for anything else or an impossible date.
 */
export function isoDate(value: string | undefined, format: string | undefined): string | undefined {
  return readDate(value, format).date;
}

/**
 * A DTM date read as vendors write it: as `isoDate`, and also 6 digits under format 102 (or no format) as
 * YYMMDD and 8 digits under 101 as CCYYMMDD, with a note saying so.
 */
export function readDate(
  value: string | undefined,
  format: string | undefined,
): { date?: string; note?: string } {
  if (value === undefined) return {};
  let ymd: string | undefined;
  let note: string | undefined;
  const f = format ?? '102';
  const yy = (six: string) => (Number(six.slice(0, 2)) < 70 ? '20' : '19') + six;
  if ((f === '102' && /^\d{8}$/.test(value)) || ((f === '203' || f === '204') && /^\d{12,14}$/.test(value))) {
    ymd = value.slice(0, 8);
  } else if (f === '101' && /^\d{6}$/.test(value)) {
    ymd = yy(value);
  } else if (f === '102' && /^\d{6}$/.test(value)) {
    ymd = yy(value);
    note = `date "${vendorText(value)}" has 6 digits under format 102 (CCYYMMDD): read as YYMMDD`;
  } else if (f === '101' && /^\d{8}$/.test(value)) {
    ymd = value;
    note = `date "${vendorText(value)}" has 8 digits under format 101 (YYMMDD): read as CCYYMMDD`;
  }
  if (ymd === undefined) return {};
  const y = Number(ymd.slice(0, 4));
  const m = Number(ymd.slice(4, 6));
  const d = Number(ymd.slice(6, 8));
  if (!validYmd(y, m, d)) return {};
  const date = `${ymd.slice(0, 4)}-${ymd.slice(4, 6)}-${ymd.slice(6, 8)}`;
  return note ? { date, note } : { date };
}

/** `-v` for a normalised decimal. */
export function negateDecimal(value: string): string {
  if (value.startsWith('-')) return value.slice(1);
  return /^[0.]*$/.test(value) ? value : '-' + value;
}

/** `a - b`, exactly. */
export function subtractDecimals(a: string, b: string): string {
  return addDecimals([a, negateDecimal(b)]);
}

/** `value × n` for a whole number n, exactly. */
export function multiplyDecimal(value: string, n: number): string {
  const scale = value.split('.')[1]?.length ?? 0;
  const neg = value.startsWith('-') !== n < 0;
  const [int = '0', frac = ''] = value.replace(/^[+-]/, '').split('.');
  const product = BigInt(int + frac) * BigInt(Math.abs(n));
  const digits = product.toString().padStart(scale + 1, '0');
  const body = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return product === 0n ? body : (neg ? '-' : '') + body;
}

/** Whether a normalised decimal is zero. */
export function isZeroDecimal(value: string): boolean {
  return /^-?[0.]*$/.test(value);
}

/** |value| <= limit, both normalised decimals. */
export function withinDecimal(value: string, limit: string): boolean {
  const abs = value.replace(/^-/, '');
  const diff = subtractDecimals(limit, abs);
  return !diff.startsWith('-') || isZeroDecimal(diff);
}

/** A quantity (QTY 6060): a non-negative or negative integer; undefined when it is not one. */
export function quantity(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const v = normaliseDecimal(text);
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isInteger(n) ? n : undefined;
}

/** Splits a message into header, line groups (each starting at LIN) and summary (from UNS). */
export function splitLines(segments: Segment[]): {
  header: Segment[];
  lines: Segment[][];
  summary: Segment[];
} {
  const header: Segment[] = [];
  const lines: Segment[][] = [];
  const summary: Segment[] = [];
  let inSummary = false;
  for (const seg of segments) {
    if (seg.tag === 'UNH' || seg.tag === 'UNT') continue;
    if (seg.tag === 'UNS') {
      // UNS+D (rare) closes the header; UNS+S opens the summary.
      inSummary = seg.elements[0]?.[0] !== 'D';
      if (!inSummary) continue;
    }
    if (inSummary) summary.push(seg);
    else if (seg.tag === 'LIN') lines.push([seg]);
    else if (lines.length > 0) lines[lines.length - 1]!.push(seg);
    else header.push(seg);
  }
  return { header, lines, summary };
}

/** One reference of a line as the vendor wrote it: the RFF qualifier (or SA for a PIA+1 supplier code). */
export interface LineReference {
  qualifier: string;
  value: string;
}

/**
 * Every reference of a line group, in file order: each RFF (qualifier and value, e.g. LI, SLI, ON, SNA, SNL)
 * and each PIA+1 identifier coded SA (the supplier's article number, where many vendors put the buyer's
 * order reference). Identical pairs are kept once.
 */
export function readLineReferences(group: Segment[]): LineReference[] {
  const out: LineReference[] = [];
  const add = (qualifier: string | undefined, value: string | undefined) => {
    if (qualifier === undefined || value === undefined) return;
    if (!out.some((r) => r.qualifier === qualifier && r.value === value)) out.push({ qualifier, value });
  };
  for (const seg of group) {
    if (seg.tag === 'RFF') add(comp(seg, 0, 0), comp(seg, 0, 1));
    else if (seg.tag === 'PIA' && comp(seg, 0) === '1') {
      for (const el of seg.elements.slice(1)) if (el[1] === 'SA' && el[0]) add('SA', el[0]);
    }
  }
  return out;
}

/** The first value of a qualifier among a line's references. */
export function referenceOf(refs: LineReference[], qualifier: string): string | undefined {
  return refs.find((r) => r.qualifier === qualifier)?.value;
}
