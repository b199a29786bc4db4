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
  if (value === undefined) return undefined;
  let ymd: string | undefined;
  const f = format ?? '102';
  if ((f === '102' && /^\d{8}$/.test(value)) || ((f === '203' || f === '204') && /^\d{12,14}$/.test(value))) {
    ymd = value.slice(0, 8);
  } else if (f === '101' && /^\d{6}$/.test(value)) {
    ymd = (Number(value.slice(0, 2)) < 70 ? '20' : '19') + value;
  }
  if (ymd === undefined) return undefined;
  const y = Number(ymd.slice(0, 4));
  const m = Number(ymd.slice(4, 6));
  const d = Number(ymd.slice(6, 8));
  return validYmd(y, m, d) ? `${ymd.slice(0, 4)}-${ymd.slice(4, 6)}-${ymd.slice(6, 8)}` : undefined;
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

/**
 * An order line's references from `RFF+LI` (the buyer's order line: Alma's PO line number) and `RFF+SLI`
 * (the supplier's line reference: the OASIS order id); the first of each kind counts.
 */
export function readLineReference(seg: Segment, fields: { poLine?: string; vendorRef?: string }): void {
  const q = comp(seg, 0, 0);
  const v = comp(seg, 0, 1);
  if (v === undefined) return;
  if (q === 'LI' && fields.poLine === undefined) fields.poLine = v;
  else if (q === 'SLI' && fields.vendorRef === undefined) fields.vendorRef = v;
}
