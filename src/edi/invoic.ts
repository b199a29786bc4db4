/**
 * INVOIC in library-trade terms. Amounts stay decimal strings with '.' as decimal mark, exactly as the
 * vendor wrote them (no float rounding). A bad amount or a line without an invoiced quantity stops the
 * reading with an EdifactError naming the segment: money is never guessed.
 *
 * Credit notes (kind 'credit-note', BGM 381) are read as written: their quantities and amounts are the
 * amounts credited, normally positive. Callers negate them when booking; nothing here flips signs.
 */
import { EdifactError, vendorText, type EdifactLocation } from './errors';
import { declaredLineCount, messagesOfType, readHeader } from './message-header';
import { readProductIds } from './product-id';
import { addDecimals, comp, quantity, readLineReference, requireDecimal, splitLines } from './values';
import type { EdifactFile, Message, Segment } from './types';

export type InvoiceKind = 'invoice' | 'credit-note' | 'debit-note';

const KINDS: Record<string, InvoiceKind> = { '380': 'invoice', '381': 'credit-note', '383': 'debit-note' };

export interface InvoiceCharge {
  kind: 'charge' | 'allowance';
  /** ALC 7161 special service code, e.g. DL (delivery), DI (discount). */
  code?: string;
  description?: string;
  /** MOA+8 (or +23 charge / +204 allowance amount), always positive: `kind` says which way it goes. */
  amount: string;
  /** PCD percentage, when given. */
  percent?: string;
  segment: number;
}

/** An allowance or charge inside a line; it may carry only a percentage. */
export type InvoiceLineCharge = Omit<InvoiceCharge, 'amount'> & { amount?: string };

export interface InvoiceLine {
  lineNo: string;
  ean?: string;
  isbn?: string;
  title?: string;
  author?: string;
  /** QTY+47, invoiced quantity. */
  quantity: number;
  /** MOA+203, line amount (net of the line's allowances). */
  lineAmount?: string;
  /** PRI+AAA. */
  netUnitPrice?: string;
  /** PRI+AAB. */
  grossUnitPrice?: string;
  /** MOA+52. */
  discount?: string;
  /** TAX+7 rate, percent. */
  taxRate?: string;
  /** TAX+7 category: S standard, Z zero, E exempt. */
  taxCategory?: string;
  /** MOA+124 after the line's TAX. */
  taxAmount?: string;
  /** RFF+LI, the buyer's order line (Alma PO line). */
  poLine?: string;
  /** RFF+SLI, the vendor's own reference (used when LI is absent). */
  vendorRef?: string;
  /** Line-level ALC groups. Informational: lineAmount already includes them. */
  charges: InvoiceLineCharge[];
  segment: number;
}

export interface InvoiceTotals {
  /** MOA+79, total of the line amounts. */
  lines?: string;
  /** MOA+9, amount due. */
  due?: string;
  /** MOA+86, message total. */
  message?: string;
  /** MOA+176 or, without it, the sum of the summary's MOA+124. */
  tax?: string;
}

export interface Invoice {
  messageRef: string;
  /** BGM 1004. */
  number: string;
  kind: InvoiceKind;
  date?: string;
  currency?: string;
  supplier?: string;
  buyer?: string;
  /** Header (invoice-level) allowances and charges, before the first LIN. */
  charges: InvoiceCharge[];
  lines: InvoiceLine[];
  totals: InvoiceTotals;
  /** CNT+2 as declared; a mismatch with lines.length is in `warnings`. */
  declaredLines?: number;
  warnings: string[];
}

interface Ctx {
  loc: EdifactLocation;
  warn: (text: string) => void;
}

function amountOf(seg: Segment, ctx: Ctx, what: string): string | undefined {
  const raw = comp(seg, 0, 1);
  return raw === undefined ? undefined : requireDecimal(raw, seg, what, ctx.loc);
}

/** An ALC group: ALC then its PCD / MOA (and TAX, which is ignored here). */
function readCharge(group: Segment[], ctx: Ctx): InvoiceLineCharge {
  const alc = group[0]!;
  const ac = comp(alc, 0);
  const charge: InvoiceLineCharge = { kind: ac === 'A' ? 'allowance' : 'charge', segment: alc.fileSegment };
  if (ac !== 'A' && ac !== 'C')
    ctx.warn(`segment ${alc.fileSegment}: ALC qualifier "${vendorText(ac)}" is neither A nor C`);
  const code = comp(alc, 4, 0);
  if (code !== undefined) charge.code = code;
  const description = [comp(alc, 4, 3), comp(alc, 4, 4)].filter((t) => t !== undefined).join(' ');
  if (description !== '') charge.description = description;
  const amounts: Record<string, string> = {};
  for (const seg of group.slice(1)) {
    if (seg.tag === 'PCD' && charge.percent === undefined) {
      const raw = comp(seg, 0, 1);
      if (raw !== undefined) charge.percent = requireDecimal(raw, seg, 'percentage', ctx.loc);
    } else if (seg.tag === 'MOA') {
      const q = comp(seg, 0, 0) ?? '';
      const v = amountOf(seg, ctx, `MOA+${vendorText(q)} amount`);
      if (v !== undefined) amounts[q] ??= v;
    }
  }
  const amount = amounts['8'] ?? amounts['23'] ?? amounts['204'];
  if (amount !== undefined) charge.amount = amount;
  return charge;
}

/** Splits segments at each ALC: what comes before, and one group per ALC. */
function splitAlc(segments: Segment[]): { before: Segment[]; alcs: Segment[][] } {
  const before: Segment[] = [];
  const alcs: Segment[][] = [];
  for (const seg of segments) {
    if (seg.tag === 'ALC') alcs.push([seg]);
    else if (alcs.length > 0) alcs[alcs.length - 1]!.push(seg);
    else before.push(seg);
  }
  return { before, alcs };
}

function imdText(seg: Segment): string {
  return (seg.elements[2] ?? []).slice(3).join('');
}

function readLine(group: Segment[], ctx: Ctx): InvoiceLine {
  const lin = group[0]!;
  const lineNo = comp(lin, 0) ?? '';
  const warn = (t: string): void => ctx.warn(`line ${lineNo} (segment ${lin.fileSegment}): ${t}`);
  const { before, alcs } = splitAlc(group);
  const fields: Omit<InvoiceLine, 'lineNo' | 'quantity' | 'segment' | 'charges'> = readProductIds(
    lin,
    group,
    warn,
  );
  let qty: number | undefined;
  const titles: string[] = [];
  const authors: string[] = [];
  let afterTax = false;
  for (const seg of before) {
    switch (seg.tag) {
      case 'IMD': {
        const code = comp(seg, 1);
        if (code === '050') titles.push(imdText(seg));
        else if (code === '009') authors.push(imdText(seg));
        break;
      }
      case 'QTY':
        if (comp(seg, 0, 0) === '47') {
          qty = quantity(comp(seg, 0, 1));
          if (qty === undefined) {
            throw new EdifactError(
              `invoiced quantity "${vendorText(comp(seg, 0, 1))}" is not a whole number`,
              {
                ...ctx.loc,
                fileSegment: seg.fileSegment,
                tag: 'QTY',
              },
            );
          }
        }
        break;
      case 'MOA': {
        const q = comp(seg, 0, 0);
        const v = amountOf(seg, ctx, `MOA+${vendorText(q)} amount`);
        if (v === undefined) break;
        if (q === '203') fields.lineAmount = v;
        else if (q === '52') fields.discount = v;
        else if (q === '124' && afterTax) fields.taxAmount = v;
        break;
      }
      case 'PRI': {
        const q = comp(seg, 0, 0);
        const v = amountOf(seg, ctx, `PRI+${vendorText(q)} price`);
        if (v === undefined) break;
        if (q === 'AAA') fields.netUnitPrice = v;
        else if (q === 'AAB') fields.grossUnitPrice = v;
        break;
      }
      case 'TAX': {
        afterTax = true;
        const rate = comp(seg, 4, 3);
        if (rate !== undefined) fields.taxRate = requireDecimal(rate, seg, 'tax rate', ctx.loc);
        const cat = comp(seg, 5);
        if (cat !== undefined) fields.taxCategory = cat;
        break;
      }
      case 'RFF':
        readLineReference(seg, fields);
        break;
    }
  }
  if (qty === undefined) {
    throw new EdifactError(`invoice line ${lineNo} has no invoiced quantity (QTY+47)`, {
      ...ctx.loc,
      fileSegment: lin.fileSegment,
      tag: 'LIN',
    });
  }
  if (titles.length > 0) fields.title = titles.join('').trim();
  if (authors.length > 0) fields.author = authors.join('').trim();
  if (fields.poLine === undefined && fields.vendorRef === undefined)
    warn('no order line reference (RFF+LI or RFF+SLI)');
  return {
    lineNo,
    ...fields,
    quantity: qty,
    charges: alcs.map((g) => readCharge(g, ctx)),
    segment: lin.fileSegment,
  };
}

function readTotals(summary: Segment[], ctx: Ctx): InvoiceTotals {
  const totals: InvoiceTotals = {};
  const taxes: string[] = [];
  let taxTotal: string | undefined;
  for (const seg of summary) {
    if (seg.tag !== 'MOA') continue;
    const q = comp(seg, 0, 0);
    const v = amountOf(seg, ctx, `MOA+${vendorText(q)} amount`);
    if (v === undefined) continue;
    if (q === '79') totals.lines ??= v;
    else if (q === '9') totals.due ??= v;
    else if (q === '86') totals.message ??= v;
    else if (q === '176') taxTotal ??= v;
    else if (q === '124') taxes.push(v);
  }
  const tax = taxTotal ?? (taxes.length > 0 ? addDecimals(taxes) : undefined);
  if (tax !== undefined) totals.tax = tax;
  return totals;
}

function readInvoice(message: Message, fileName: string | undefined): Invoice {
  const { header, lines, summary } = splitLines(message.segments);
  const h = readHeader(message, header, fileName);
  const loc: EdifactLocation = { messageRef: message.ref, ...(fileName !== undefined ? { fileName } : {}) };
  const kind = KINDS[h.documentType];
  if (kind === undefined) {
    const bgm = header.find((s) => s.tag === 'BGM')!;
    throw new EdifactError(
      `BGM document code ${vendorText(h.documentType)} is not an invoice (380), credit note (381) or debit note (383)`,
      { ...loc, fileSegment: bgm.fileSegment, tag: 'BGM' },
    );
  }
  const warnings: string[] = [];
  const ctx: Ctx = { loc, warn: (t) => warnings.push(t) };
  const invoice: Invoice = {
    messageRef: message.ref,
    number: h.documentNumber,
    kind,
    charges: [],
    lines: [],
    totals: {},
    warnings,
  };
  for (const k of ['date', 'currency', 'supplier', 'buyer'] as const)
    if (h[k] !== undefined) invoice[k] = h[k];
  if (invoice.date === undefined) warnings.push('no invoice date (DTM+137), which Alma requires');
  invoice.charges = splitAlc(header).alcs.map((g) => {
    const c = readCharge(g, ctx);
    if (c.amount === undefined) {
      throw new EdifactError(`invoice-level ${c.kind} without an amount (MOA+8)`, {
        ...loc,
        fileSegment: c.segment,
        tag: 'ALC',
      });
    }
    return { ...c, amount: c.amount };
  });
  invoice.lines = lines.map((g) => readLine(g, ctx));
  invoice.totals = readTotals(summary, ctx);
  const declared = declaredLineCount(summary);
  if (declared !== undefined) {
    invoice.declaredLines = declared;
    if (declared !== lines.length)
      warnings.push(`CNT+2 declares ${declared} lines but the message has ${lines.length}`);
  }
  return invoice;
}

/** One Invoice per INVOIC message in the file, in file order. */
export function readInvoices(file: EdifactFile): Invoice[] {
  return messagesOfType(file, 'INVOIC').map(({ message }) => readInvoice(message, file.fileName));
}
