/**
 * INVOIC in library-trade terms, one message at a time. Amounts stay decimal strings with '.' as decimal mark,
 * exactly as the vendor wrote them (no float rounding). A bad amount or a line without an invoiced quantity
 * makes the message unreadable with an EdifactError naming the segment: money is never guessed. Other messages
 * of the file are not affected (see document.ts).
 *
 * What is read, by section:
 * - header: BGM (380 invoice, 381 credit note, 383 debit note), DTM+137 (formats 102, 101, 203, 204; 6 digits
 *   under 102 read as YYMMDD with a warning), CUX (reference and invoicing currency, rate), NAD, ALC groups
 *   (header-level charges and allowances).
 * - lines: LIN/PIA (EAN, ISBN), every RFF and PIA+1 …:SA reference, QTY+47 (invoiced), QTY+85 (cancelled),
 *   MOA+203 (line amount, one per currency), MOA+52, MOA+146 (unit price), PRI AAA/AAB/AAE/AAF/CAL/INV (the
 *   price type 5387 says net NTP or retail SRP/RTP), TAX (a rate given as text is kept as text) with its
 *   MOA+124, line ALC groups (informational: the line amount already includes them).
 * - summary (after UNS): CNT+2, every MOA by qualifier (79, 9, 77, 39, 86, 128, 129, 125, 124, 176, …), TAX
 *   groups and ALC groups (summary-level charges, allowances and tax: MOA+8, 23, 204, 131, 259, 260).
 *
 * Each invoice is reconciled in its own currency against the total it states (see `reconcile`).
 *
 * Credit notes (kind 'credit-note', BGM 381) are read as written: their quantities and amounts are the
 * amounts credited, normally positive. Callers negate them when booking; nothing here flips signs.
 */
import { EdifactError, vendorText, type EdifactLocation } from './errors';
import { declaredLineCount, messagesOfType, readHeader } from './message-header';
import { readProductIds } from './product-id';
import {
  addDecimals,
  comp,
  isZeroDecimal,
  multiplyDecimal,
  negateDecimal,
  normaliseDecimal,
  quantity,
  readLineReferences,
  referenceOf,
  requireDecimal,
  splitLines,
  subtractDecimals,
  withinDecimal,
  type LineReference,
} from './values';
import type { EdifactFile, Message, Segment } from './types';

export type InvoiceKind = 'invoice' | 'credit-note' | 'debit-note';

const KINDS: Record<string, InvoiceKind> = { '380': 'invoice', '381': 'credit-note', '383': 'debit-note' };

export type ChargeLevel = 'line' | 'header' | 'summary';

export interface InvoiceCharge {
  level: ChargeLevel;
  kind: 'charge' | 'allowance' | 'tax';
  /** ALC 7161 special service code (DL delivery, DI discount, …), or the tax type (VAT, GST) for tax. */
  code?: string;
  description?: string;
  /**
   * Always positive for charges and allowances (`kind` says which way it goes); absent when only a percentage
   * is given. MOA+8 (or 23 charge, 204 allowance, 131/259/260 totals) for ALC; MOA+124 (or 176) for tax.
   */
  amount?: string;
  currency?: string;
  /** PCD percentage, or the tax rate. */
  percent?: string;
  /** The line's number (LIN 1082) for line-level charges. */
  line?: string;
  segment: number;
}

/** An allowance or charge inside a line; it may carry only a percentage. (Kept for callers of old.) */
export type InvoiceLineCharge = InvoiceCharge;

/** An amount with the currency it is given in (absent: the message's). */
export interface Amount {
  amount: string;
  currency?: string;
}

/** A unit price as the vendor gave it: PRI 5125 qualifier (or MOA146), and its price type 5387 (NTP, SRP…). */
export interface UnitPrice {
  qualifier: string;
  amount: string;
  type?: string;
  currency?: string;
}

export interface InvoiceLine {
  lineNo: string;
  ean?: string;
  isbn?: string;
  title?: string;
  author?: string;
  /** QTY+47, invoiced quantity. */
  quantity: number;
  /** QTY+85, quantity cancelled. */
  cancelledQuantity?: number;
  /** MOA+203 in the invoice's currency: the line amount (net of the line's allowances, before tax). */
  lineAmount?: string;
  /** Every MOA+203 of the line, each with its currency (a vendor may state the amount in two). */
  lineAmounts: Amount[];
  /** The price charged for one copy: PRI+AAA, else a PRI of type NTP, else CAL. */
  netUnitPrice?: string;
  /** The list price of one copy: PRI+AAB, else a PRI of type SRP/RTP, else INV, AAE, AAF, MOA+146. */
  grossUnitPrice?: string;
  /** Every price of the line as given. */
  prices: UnitPrice[];
  /** MOA+52. */
  discount?: string;
  /** TAX+7 rate, percent (a number). */
  taxRate?: string;
  /** TAX+7 rate given as text (e.g. "Non imponib.art.8"): kept, not read as a number. */
  taxText?: string;
  /** TAX+7 category: S standard, Z zero, E exempt. */
  taxCategory?: string;
  /** MOA+124 after the line's TAX. */
  taxAmount?: string;
  /** Every RFF of the line and its PIA+1 …:SA identifiers, in file order. */
  references: LineReference[];
  /** RFF+LI, the buyer's order line (Alma PO line). */
  poLine?: string;
  /** RFF+SLI, the vendor's own reference (used when LI is absent). */
  vendorRef?: string;
  /** Line-level ALC groups and the line's tax. Informational: lineAmount already includes the ALC. */
  charges: InvoiceCharge[];
  segment: number;
}

/** The vendor's total against the invoice's own sum, in the invoice's currency. */
export interface Reconciliation {
  /** The total the vendor states (first of MOA+9, 77, 39, 86, 128, 129; else 79), or undefined. */
  stated?: string;
  /** Its MOA qualifier. */
  statedQualifier?: string;
  /** Lines (MOA+203, or quantity × net price) with header and summary charges, allowances and tax. */
  computed: string;
  /** stated − computed (undefined when nothing is stated). */
  difference?: string;
  /** The difference is at most 0.01 (undefined when nothing is stated). */
  ok?: boolean;
  /** How the sum was made, and what was not added (restated charges), in words. */
  explanation: string;
}

export interface Invoice {
  messageRef: string;
  /** BGM 1004. */
  number: string;
  kind: InvoiceKind;
  date?: string;
  /** The invoice's own currency: CUX's invoicing currency (type 4), else its reference currency (CUX+2). */
  currency?: string;
  /** Every currency CUX names, with the rate (CUX 5402) when given. */
  currencies?: { reference?: string; target?: string; rate?: string };
  supplier?: string;
  buyer?: string;
  /** Header and summary charges, allowances and tax (line-level ones are in each line's `charges`). */
  charges: InvoiceCharge[];
  lines: InvoiceLine[];
  /** Summary MOA amounts by qualifier, in the invoice's currency (MOA+124/125 of several TAX groups summed). */
  totals: Record<string, string>;
  reconciliation: Reconciliation;
  /** CNT+2 as declared; a mismatch with lines.length is in `warnings`. */
  declaredLines?: number;
  warnings: string[];
}

interface Ctx {
  loc: EdifactLocation;
  warn: (text: string) => void;
  /** The invoice's currency, once known. */
  currency?: string;
}

/** Totals that state what the invoice comes to, in order of preference. */
const STATED_TOTALS = ['9', '77', '39', '86', '128', '129'];
/** Amount qualifiers of an ALC group, in order of preference. */
const ALC_AMOUNTS = ['8', '23', '204', '131', '259', '260'];
/** Rounding the vendor may have done per line: a difference up to this is not a mismatch. */
const ROUNDING = '0.01';

function moaAmount(seg: Segment, ctx: Ctx, what?: string): Amount | undefined {
  const raw = comp(seg, 0, 1);
  if (raw === undefined) return undefined;
  // The label is made only when the amount is bad (this runs for every MOA of a file).
  const amount =
    normaliseDecimal(raw) ??
    requireDecimal(raw, seg, what ?? `MOA+${vendorText(comp(seg, 0, 0))} amount`, ctx.loc);
  const currency = comp(seg, 0, 2);
  return currency === undefined ? { amount } : { amount, currency };
}

/** Of several amounts, the one in the invoice's currency (or given without one). */
function inCurrency(amounts: Amount[], currency: string | undefined): Amount | undefined {
  return (
    amounts.find((a) => a.currency !== undefined && a.currency === currency) ??
    amounts.find((a) => a.currency === undefined) ??
    (currency === undefined ? amounts[0] : undefined)
  );
}

/** An ALC group: ALC then its PCD / MOA (and TAX, which is the charge's own tax and not read). */
function readAlc(group: Segment[], level: ChargeLevel, ctx: Ctx, line?: string): InvoiceCharge {
  const alc = group[0]!;
  const ac = comp(alc, 0);
  const charge: InvoiceCharge = {
    level,
    kind: ac === 'A' ? 'allowance' : 'charge',
    segment: alc.fileSegment,
    ...(line !== undefined ? { line } : {}),
  };
  if (ac !== 'A' && ac !== 'C')
    ctx.warn(`segment ${alc.fileSegment}: ALC qualifier "${vendorText(ac)}" is neither A nor C`);
  const code = comp(alc, 4, 0);
  if (code !== undefined) charge.code = code;
  const description = [comp(alc, 4, 3), comp(alc, 4, 4)].filter((t) => t !== undefined).join(' ');
  if (description !== '') charge.description = description;
  const amounts: Record<string, Amount[]> = {};
  for (const seg of group.slice(1)) {
    if (seg.tag === 'TAX') break;
    if (seg.tag === 'PCD' && charge.percent === undefined) {
      const raw = comp(seg, 0, 1);
      if (raw !== undefined) charge.percent = requireDecimal(raw, seg, 'percentage', ctx.loc);
    } else if (seg.tag === 'MOA') {
      const q = comp(seg, 0, 0) ?? '';
      const a = moaAmount(seg, ctx);
      if (a) (amounts[q] ??= []).push(a);
    }
  }
  for (const q of ALC_AMOUNTS) {
    const a = inCurrency(amounts[q] ?? [], ctx.currency);
    if (a) {
      // Some vendors sign allowances: the kind says the direction, the amount stays positive.
      charge.amount = a.amount.replace(/^-/, '');
      if (a.currency !== undefined) charge.currency = a.currency;
      break;
    }
  }
  return charge;
}

/** A TAX group: TAX then its MOA (124 tax amount, 125 taxable amount). */
function readTax(group: Segment[], level: ChargeLevel, ctx: Ctx, line?: string): InvoiceCharge {
  const tax = group[0]!;
  const charge: InvoiceCharge = {
    level,
    kind: 'tax',
    segment: tax.fileSegment,
    ...(line !== undefined ? { line } : {}),
  };
  const type = comp(tax, 1, 0);
  if (type !== undefined) charge.code = type;
  const rate = comp(tax, 4, 3);
  const category = comp(tax, 5);
  const rateNumber = rate === undefined ? undefined : numberOrText(rate);
  if (rateNumber?.number !== undefined) charge.percent = rateNumber.number;
  const rateWords = rateNumber?.text ?? (rateNumber?.number !== undefined ? `${rateNumber.number}%` : '');
  const words = [rateWords, category ? `(${category})` : ''].filter((t) => t).join(' ');
  if (words) charge.description = words;
  for (const seg of group.slice(1)) {
    if (seg.tag !== 'MOA') continue;
    const q = comp(seg, 0, 0);
    if (q !== '124' && q !== '176') continue;
    const a = moaAmount(seg, ctx);
    if (a && (a.currency === undefined || ctx.currency === undefined || a.currency === ctx.currency)) {
      charge.amount = a.amount;
      if (a.currency !== undefined) charge.currency = a.currency;
      break;
    }
  }
  return charge;
}

/** A tax rate: a number, or (as some vendors write) text such as "Non imponib.art.8". */
function numberOrText(raw: string): { number?: string; text?: string } {
  const t = raw.trim();
  const m = /^[+-]?(\d+([.,]\d*)?|[.,]\d+)$/.exec(t);
  return m ? { number: t.replace(',', '.').replace(/^\./, '0.').replace(/^\+/, '') } : { text: t };
}

/** Splits segments into groups starting at each segment whose tag is in `starts`; what comes before is first. */
function groupsOf(segments: Segment[], starts: Set<string>): { before: Segment[]; groups: Segment[][] } {
  const before: Segment[] = [];
  const groups: Segment[][] = [];
  for (const seg of segments) {
    if (starts.has(seg.tag)) groups.push([seg]);
    else if (groups.length > 0) groups[groups.length - 1]!.push(seg);
    else before.push(seg);
  }
  return { before, groups };
}

const ALC_ONLY = new Set(['ALC']);

function imdText(seg: Segment): string {
  return (seg.elements[2] ?? []).slice(3).join('');
}

function pickPrice(prices: UnitPrice[], currency: string | undefined, tests: ((p: UnitPrice) => boolean)[]) {
  const usable = prices.filter(
    (p) => p.currency === undefined || currency === undefined || p.currency === currency,
  );
  for (const t of tests) {
    const p = usable.find(t);
    if (p) return p.amount;
  }
  return undefined;
}

function readLine(group: Segment[], ctx: Ctx): InvoiceLine {
  const lin = group[0]!;
  const lineNo = comp(lin, 0) ?? '';
  const warn = (t: string): void => ctx.warn(`line ${lineNo} (segment ${lin.fileSegment}): ${t}`);
  const { before, groups } = groupsOf(group, ALC_ONLY);
  const ids = readProductIds(lin, group, warn);
  const references = readLineReferences(before);
  const line: InvoiceLine = {
    lineNo,
    ...(ids.ean !== undefined ? { ean: ids.ean } : {}),
    ...(ids.isbn !== undefined ? { isbn: ids.isbn } : {}),
    quantity: 0,
    lineAmounts: [],
    prices: [],
    references,
    charges: [],
    segment: lin.fileSegment,
  };
  let qty: number | undefined;
  const titles: string[] = [];
  const authors: string[] = [];
  let taxGroup: Segment[] | undefined;
  const taxes: InvoiceCharge[] = [];
  const closeTax = () => {
    if (taxGroup) taxes.push(readTax(taxGroup, 'line', ctx, lineNo));
    taxGroup = undefined;
  };
  for (const seg of before) {
    if (seg.tag === 'TAX') {
      closeTax();
      taxGroup = [seg];
      const rate = comp(seg, 4, 3);
      if (rate !== undefined) {
        const r = numberOrText(rate);
        if (r.number !== undefined) line.taxRate = r.number;
        else if (r.text !== undefined) line.taxText = r.text;
      }
      const cat = comp(seg, 5);
      if (cat !== undefined) line.taxCategory = cat;
      continue;
    }
    if (taxGroup && seg.tag === 'MOA') {
      taxGroup.push(seg);
      const q = comp(seg, 0, 0);
      if (q === '124') {
        const a = moaAmount(seg, ctx);
        if (a && (a.currency === undefined || a.currency === ctx.currency || ctx.currency === undefined))
          line.taxAmount ??= a.amount;
      }
      continue;
    }
    closeTax();
    switch (seg.tag) {
      case 'IMD': {
        const code = comp(seg, 1);
        if (code === '050' || code === '81' || code === 'BST') titles.push(imdText(seg));
        else if (code === '009' || code === '80') authors.push(imdText(seg));
        break;
      }
      case 'QTY': {
        const q = comp(seg, 0, 0);
        if (q === '47') {
          qty = quantity(comp(seg, 0, 1));
          if (qty === undefined) {
            throw new EdifactError(
              `invoiced quantity "${vendorText(comp(seg, 0, 1))}" is not a whole number`,
              { ...ctx.loc, fileSegment: seg.fileSegment, tag: 'QTY' },
            );
          }
        } else if (q === '85') {
          const n = quantity(comp(seg, 0, 1));
          if (n === undefined) warn(`QTY+85 quantity "${vendorText(comp(seg, 0, 1))}" is not a whole number`);
          else line.cancelledQuantity = n;
        }
        break;
      }
      case 'MOA': {
        const q = comp(seg, 0, 0);
        const a = moaAmount(seg, ctx);
        if (a === undefined) break;
        if (q === '203') line.lineAmounts.push(a);
        else if (q === '52') line.discount ??= a.amount;
        else if (q === '146')
          line.prices.push({
            qualifier: 'MOA146',
            amount: a.amount,
            ...(a.currency ? { currency: a.currency } : {}),
          });
        break;
      }
      case 'PRI': {
        const q = comp(seg, 0, 0);
        const raw = comp(seg, 0, 1);
        if (q === undefined || raw === undefined) break;
        const amount =
          normaliseDecimal(raw) ?? requireDecimal(raw, seg, `PRI+${vendorText(q)} price`, ctx.loc);
        const type = comp(seg, 0, 3);
        line.prices.push({ qualifier: q, amount, ...(type !== undefined ? { type } : {}) });
        break;
      }
    }
  }
  closeTax();
  if (qty === undefined) {
    throw new EdifactError(`invoice line ${lineNo} has no invoiced quantity (QTY+47)`, {
      ...ctx.loc,
      fileSegment: lin.fileSegment,
      tag: 'LIN',
    });
  }
  line.quantity = qty;
  if (titles.length > 0) line.title = titles.join('').trim();
  if (authors.length > 0) line.author = authors.join('').trim();
  const own = inCurrency(line.lineAmounts, ctx.currency);
  if (own) line.lineAmount = own.amount;
  else if (line.lineAmounts.length > 0)
    warn(
      `its amount is given only in ${line.lineAmounts.map((a) => a.currency ?? '?').join(', ')}, not in the invoice's currency ${ctx.currency ?? '?'}`,
    );
  const net = pickPrice(line.prices, ctx.currency, [
    (p) => p.qualifier === 'AAA',
    (p) => p.type === 'NTP',
    (p) => p.qualifier === 'CAL',
  ]);
  if (net !== undefined) line.netUnitPrice = net;
  const gross = pickPrice(line.prices, ctx.currency, [
    (p) => p.qualifier === 'AAB',
    (p) => p.type === 'SRP' || p.type === 'RTP',
    (p) => p.qualifier === 'INV',
    (p) => p.qualifier === 'AAE',
    (p) => p.qualifier === 'AAF' && p.type !== 'NTP',
    (p) => p.qualifier === 'MOA146',
  ]);
  if (gross !== undefined && gross !== net) line.grossUnitPrice = gross;
  else if (gross !== undefined && net === undefined) line.grossUnitPrice = gross;
  const poLine = referenceOf(references, 'LI');
  if (poLine !== undefined) line.poLine = poLine;
  const vendorRef = referenceOf(references, 'SLI');
  if (vendorRef !== undefined) line.vendorRef = vendorRef;
  if (references.length === 0) warn('no order line reference (RFF or PIA+1 …:SA)');
  line.charges = [...groups.map((g) => readAlc(g, 'line', ctx, lineNo)), ...taxes];
  return line;
}

/** The CUX segment: reference currency (6347 = 2), target (3), which is the invoicing one (6343 = 4), rate. */
function readCurrencies(header: Segment[]): { currency?: string; currencies?: Invoice['currencies'] } {
  const cux = header.find((s) => s.tag === 'CUX');
  if (!cux) return {};
  let reference: string | undefined;
  let target: string | undefined;
  let invoicing: string | undefined;
  for (const el of cux.elements.slice(0, 2)) {
    const [usage, code, type] = el;
    if (!code) continue;
    if (usage === '2') reference ??= code;
    else if (usage === '3') target ??= code;
    if (type === '4') invoicing ??= code;
  }
  const rate = comp(cux, 2, 0);
  const currencies: Invoice['currencies'] = {
    ...(reference ? { reference } : {}),
    ...(target ? { target } : {}),
    ...(rate !== undefined ? { rate } : {}),
  };
  const currency = invoicing ?? reference ?? target;
  return {
    ...(currency !== undefined ? { currency } : {}),
    ...(target !== undefined || rate !== undefined ? { currencies } : {}),
  };
}

function readSummary(
  summary: Segment[],
  ctx: Ctx,
): { totals: Record<string, string>; charges: InvoiceCharge[] } {
  const totals: Record<string, string> = {};
  const summed: Record<string, string[]> = {};
  const charges: InvoiceCharge[] = [];
  // TAX groups before the first ALC are the summary's tax; a TAX after an ALC is that charge's own.
  const before: Segment[] = [];
  const groups: Segment[][] = [];
  let alcSeen = false;
  for (const seg of summary) {
    if (seg.tag === 'ALC' || (seg.tag === 'TAX' && !alcSeen)) {
      alcSeen ||= seg.tag === 'ALC';
      groups.push([seg]);
    } else if (groups.length > 0) groups[groups.length - 1]!.push(seg);
    else before.push(seg);
  }
  const total = (seg: Segment) => {
    const q = comp(seg, 0, 0);
    if (q === undefined) return;
    const a = moaAmount(seg, ctx);
    if (!a || (a.currency !== undefined && ctx.currency !== undefined && a.currency !== ctx.currency)) return;
    // Tax and taxable amounts repeat per rate (in TAX groups, or bare): summed. Other totals: the first.
    if (q === '124' || q === '125') (summed[q] ??= []).push(a.amount);
    else if (!Object.prototype.hasOwnProperty.call(totals, q)) totals[q] = a.amount;
  };
  for (const seg of before) if (seg.tag === 'MOA') total(seg);
  for (const g of groups) {
    if (g[0]!.tag === 'ALC') charges.push(readAlc(g, 'summary', ctx));
    else {
      charges.push(readTax(g, 'summary', ctx));
      for (const seg of g.slice(1)) if (seg.tag === 'MOA') total(seg);
    }
  }
  for (const [q, values] of Object.entries(summed)) totals[q] = addDecimals(values);
  return { totals, charges };
}

const signed = (c: InvoiceCharge): string =>
  c.kind === 'allowance' ? negateDecimal(c.amount ?? '0') : (c.amount ?? '0');

const net = (charges: InvoiceCharge[]): string => addDecimals(['0', ...charges.map(signed)]);

/**
 * The invoice's sum against the total it states. Lines are their MOA+203 (or quantity × net unit price when
 * a line has none), plus header and summary charges, minus allowances, plus tax: the summary's TAX/MOA+124
 * (or MOA+176), else the lines' MOA+124. It is then checked against the stated total; when it does not
 * agree, two restatements vendors make are recognised rather than added blindly:
 *  - a summary ALC that restates line- or header-level allowances and charges already in the line amounts
 *    (same net amount) is not added;
 *  - a stated total that excludes tax (the sum without tax equals it) agrees, with a note.
 * A difference left over is explained in `explanation` and a warning, and flagged on the orders.
 */
export function reconcile(invoice: Omit<Invoice, 'reconciliation'>): Reconciliation {
  const parts: string[] = [];
  const lineAmounts: string[] = [];
  const estimated: string[] = [];
  for (const l of invoice.lines) {
    if (l.lineAmount !== undefined) lineAmounts.push(l.lineAmount);
    else if (l.netUnitPrice !== undefined || l.grossUnitPrice !== undefined) {
      const unit = (l.netUnitPrice ?? l.grossUnitPrice)!;
      lineAmounts.push(multiplyDecimal(unit, l.quantity));
      estimated.push(l.lineNo);
    }
  }
  const lines = addDecimals(['0', ...lineAmounts]);
  parts.push(
    `lines ${lines}` +
      (estimated.length > 0
        ? ` (line${estimated.length > 1 ? 's' : ''} ${estimated.join(', ')} without an amount: quantity × unit price)`
        : ''),
  );
  const header = invoice.charges.filter(
    (c) => c.level === 'header' && c.kind !== 'tax' && c.amount !== undefined,
  );
  const summary = invoice.charges.filter(
    (c) => c.level === 'summary' && c.kind !== 'tax' && c.amount !== undefined,
  );
  const summaryTax = invoice.charges.filter(
    (c) => c.level === 'summary' && c.kind === 'tax' && c.amount !== undefined,
  );
  const lineCharges = invoice.lines.flatMap((l) =>
    l.charges.filter((c) => c.kind !== 'tax' && c.amount !== undefined),
  );
  const lineTax = invoice.lines.flatMap((l) =>
    l.charges.filter((c) => c.kind === 'tax' && c.amount !== undefined),
  );
  let tax: string;
  let taxWords: string;
  if (summaryTax.length > 0) {
    tax = addDecimals(summaryTax.map((c) => c.amount!));
    taxWords = `tax ${tax}`;
  } else if (invoice.totals['176'] !== undefined) {
    tax = invoice.totals['176'];
    taxWords = `tax ${tax} (MOA+176)`;
  } else if (invoice.totals['124'] !== undefined) {
    tax = invoice.totals['124'];
    taxWords = `tax ${tax} (MOA+124)`;
  } else if (lineTax.length > 0) {
    tax = addDecimals(lineTax.map((c) => c.amount!));
    taxWords = `tax ${tax} (from the lines)`;
  } else {
    tax = '0';
    taxWords = '';
  }
  const headerNet = net(header);
  const summaryNet = net(summary);
  if (header.length) parts.push(`header charges ${headerNet}`);
  if (summary.length) parts.push(`summary charges ${summaryNet}`);
  if (taxWords) parts.push(taxWords);
  const full = addDecimals([lines, headerNet, summaryNet, tax]);
  const statedQualifier =
    STATED_TOTALS.find((q) => invoice.totals[q] !== undefined) ??
    (invoice.totals['79'] !== undefined ? '79' : undefined);
  const base = parts.join(', ');
  if (statedQualifier === undefined) {
    return { computed: full, explanation: `no total stated; computed ${full} from ${base}` };
  }
  const stated = invoice.totals[statedQualifier]!;
  // MOA+79 is the lines' total: compare it with the lines alone.
  const computedFor = statedQualifier === '79' ? lines : full;
  const agrees = (sum: string) => withinDecimal(subtractDecimals(stated, sum), ROUNDING);
  const result = (computed: string, ok: boolean, explanation: string): Reconciliation => ({
    stated,
    statedQualifier,
    computed,
    difference: subtractDecimals(stated, computed),
    ok,
    explanation,
  });
  const said = `MOA+${statedQualifier} ${stated}`;
  if (agrees(computedFor)) {
    const rounding = isZeroDecimal(subtractDecimals(stated, computedFor)) ? '' : ' (within rounding)';
    return result(computedFor, true, `${said} agrees with ${base}${rounding}`);
  }
  if (statedQualifier !== '79' && summary.length > 0) {
    // Summary charges that restate the lines' (or the header's) own: already in the amounts, not added again.
    const without = addDecimals([lines, headerNet, tax]);
    if (agrees(without)) {
      const same = net(lineCharges) === summaryNet ? " (the same as the lines' own)" : '';
      return result(
        without,
        true,
        `${said} agrees with ${base.replace(`, summary charges ${summaryNet}`, '')}: the summary charges (${summaryNet})${same} restate charges already in the line amounts and were not added again`,
      );
    }
  }
  if (statedQualifier !== '79' && !isZeroDecimal(tax)) {
    const noTax = subtractDecimals(full, tax);
    if (agrees(noTax)) {
      return result(
        noTax,
        true,
        `${said} agrees with ${base} less the tax: the stated total excludes tax (${tax})`,
      );
    }
  }
  const diff = subtractDecimals(stated, computedFor);
  return result(
    computedFor,
    false,
    `${said} but ${statedQualifier === '79' ? 'the lines come' : 'its lines, charges and tax come'} to ${computedFor} (${base}): a difference of ${diff}`,
  );
}

/** Reads one INVOIC message; throws an EdifactError (with its place) when the message cannot be read. */
export function readInvoiceMessage(message: Message, fileName: string | undefined): Invoice {
  const { header, lines, summary } = splitLines(message.segments);
  const warnings: string[] = [];
  const h = readHeader(message, header, fileName, (t) => warnings.push(t));
  const loc: EdifactLocation = { messageRef: message.ref, ...(fileName !== undefined ? { fileName } : {}) };
  const kind = Object.prototype.hasOwnProperty.call(KINDS, h.documentType)
    ? KINDS[h.documentType]
    : undefined;
  if (kind === undefined) {
    const bgm = header.find((s) => s.tag === 'BGM')!;
    throw new EdifactError(
      `BGM document code ${vendorText(h.documentType)} is not an invoice (380), credit note (381) or debit note (383)`,
      { ...loc, fileSegment: bgm.fileSegment, tag: 'BGM' },
    );
  }
  const cur = readCurrencies(header);
  const ctx: Ctx = {
    loc,
    warn: (t) => warnings.push(t),
    ...(cur.currency ? { currency: cur.currency } : {}),
  };
  const invoice: Omit<Invoice, 'reconciliation'> & { reconciliation?: Reconciliation } = {
    messageRef: message.ref,
    number: h.documentNumber,
    kind,
    charges: [],
    lines: [],
    totals: {},
    warnings,
  };
  for (const k of ['date', 'supplier', 'buyer'] as const) if (h[k] !== undefined) invoice[k] = h[k];
  if (cur.currency !== undefined) invoice.currency = cur.currency;
  if (cur.currencies !== undefined) invoice.currencies = cur.currencies;
  if (invoice.date === undefined) warnings.push('no invoice date (DTM+137), which Alma requires');
  const headerGroups = groupsOf(header, ALC_ONLY).groups;
  const headerCharges = headerGroups.map((g) => {
    const c = readAlc(g, 'header', ctx);
    if (c.amount === undefined && c.percent === undefined) {
      throw new EdifactError(`invoice-level ${c.kind} without an amount (MOA+8) or percentage`, {
        ...loc,
        fileSegment: c.segment,
        tag: 'ALC',
      });
    }
    if (c.amount === undefined)
      warnings.push(
        `segment ${c.segment}: invoice-level ${c.kind} of ${c.percent}% without an amount: not counted`,
      );
    return c;
  });
  invoice.lines = lines.map((g) => readLine(g, ctx));
  const s = readSummary(summary, ctx);
  invoice.totals = s.totals;
  invoice.charges = [...headerCharges, ...s.charges];
  const declared = declaredLineCount(summary);
  if (declared !== undefined) {
    invoice.declaredLines = declared;
    if (declared !== lines.length)
      warnings.push(`CNT+2 declares ${declared} lines but the message has ${lines.length}`);
  }
  const r = reconcile(invoice);
  if (r.ok === false) warnings.push(`the invoice does not add up: ${r.explanation}`);
  else if (r.stated === undefined) warnings.push(`nothing to reconcile against: ${r.explanation}`);
  else if (/restate|excludes tax|rounding/.test(r.explanation)) warnings.push(`reconciled: ${r.explanation}`);
  return { ...invoice, reconciliation: r };
}

/** One Invoice per INVOIC message of a file read whole (`parseEdifact`), in file order. */
export function readInvoices(file: EdifactFile): Invoice[] {
  return messagesOfType(file, 'INVOIC').map(({ message }) => readInvoiceMessage(message, file.fileName));
}
