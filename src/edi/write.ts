/**
 * EDIFACT writer for ORDRSP and INVOIC: typed input in, a complete interchange out (UNA, UNB, UNH … UNT
 * with the right count, UNZ), encoded for its syntax (UNOC as Latin-1, UNOY as UTF-8). Every value goes
 * through the release character, so `'`, `+`, `:` and `?` in titles or references cannot break the file.
 * Used by tests and simulators to create vendor files naming real PO lines.
 */
import { normaliseIsbn } from '../contract/isbn';
import { DEFAULT_SEPARATORS } from './syntax';
import { addDecimals, normaliseDecimal } from './values';
import type { InvoiceKind } from './invoic';

/** Summary totals an invoice is written with (MOA+79, 176, 86, 9). */
export interface InvoiceTotals {
  /** MOA+79, total of the line amounts. */
  lines?: string;
  /** MOA+9, amount due. */
  due?: string;
  /** MOA+86, message total. */
  message?: string;
  /** MOA+176, tax total. */
  tax?: string;
}
import type { VendorStatus } from './ordrsp-status';
import type { Party, Separators } from './types';

type Value = string | number | undefined;
type Element = Value | Value[];

export interface EnvelopeInput {
  /** UNOC (Latin-1, syntax version 3) or UNOY (UTF-8, version 4). Default UNOC. */
  syntax?: 'UNOC' | 'UNOY';
  sender: Party | string;
  recipient: Party | string;
  /** Default now. Written in UTC. */
  preparedAt?: Date;
  /** UNB interchange control reference; default derived from the clock. */
  controlRef?: string;
  /** UNH message reference; default 'M' + controlRef. */
  messageRef?: string;
  /** Decimal mark announced in UNA and used for amounts. Default '.'. */
  decimalMark?: '.' | ',';
  /** Put CR LF after every segment (layout only). */
  lineBreaks?: boolean;
}

export interface OrderResponseLineInput {
  lineNo?: string | number;
  /** Convenience: fills action / line status / availability / quantities with the usual codes for it. */
  status?: VendorStatus;
  action?: string;
  lineStatus?: string;
  /** Which list lineStatus comes from. Default 12B. */
  lineStatusList?: '12B' | '1B';
  availability?: string;
  ean?: string;
  isbn?: string;
  ordered?: number;
  despatched?: number;
  backordered?: number;
  /** ISO yyyy-mm-dd. */
  expectedDate?: string;
  price?: { amount: string | number; qualifier?: string };
  freeText?: string;
  poLine?: string;
  vendorRef?: string;
}

export interface OrderResponseInput extends EnvelopeInput {
  documentNumber: string;
  /** Default 231. */
  documentType?: string;
  /** Default 4 (change), what vendors send for status reports. */
  messageFunction?: string;
  /** ISO yyyy-mm-dd; default the preparation date. */
  date?: string;
  currency?: string;
  orderNumber?: string;
  supplier?: string;
  buyer?: string;
  lines: OrderResponseLineInput[];
}

export interface InvoiceLineInput {
  lineNo?: string | number;
  ean?: string;
  isbn?: string;
  title?: string;
  author?: string;
  quantity: number;
  lineAmount?: string | number;
  netUnitPrice?: string | number;
  grossUnitPrice?: string | number;
  discount?: string | number;
  taxRate?: string | number;
  /** Default Z when the rate is 0, S otherwise. */
  taxCategory?: string;
  taxAmount?: string | number;
  poLine?: string;
  vendorRef?: string;
}

export interface InvoiceChargeInput {
  kind: 'charge' | 'allowance';
  code?: string;
  description?: string;
  amount: string | number;
  percent?: string | number;
}

export interface InvoiceInput extends EnvelopeInput {
  number: string;
  /** Default 'invoice'. */
  kind?: InvoiceKind;
  /** ISO yyyy-mm-dd; default the preparation date. */
  date?: string;
  currency?: string;
  supplier?: string;
  buyer?: string;
  charges?: InvoiceChargeInput[];
  lines: InvoiceLineInput[];
  /**
   * Defaults: lines = sum of line amounts, tax = sum of line tax, due = message =
   * lines + tax + charges − allowances. Give values to write a deliberately inconsistent invoice.
   */
  totals?: InvoiceTotals;
}

// eslint-disable-next-line no-control-regex -- control characters are what this rejects
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Writes one value with the release character before every separator and release character. */
export function escapeEdifact(value: string, seps: Separators = DEFAULT_SEPARATORS): string {
  if (CONTROL.test(value)) {
    throw new RangeError(
      `EDIFACT values cannot hold control characters (line breaks, tabs): ${JSON.stringify(value)}`,
    );
  }
  const special = new Set([seps.release, seps.terminator, seps.element, seps.component]);
  let out = '';
  for (const c of value) out += special.has(c) ? seps.release + c : c;
  return out;
}

class SegmentWriter {
  readonly segments: string[] = [];
  constructor(private readonly seps: Separators) {}

  add(tag: string, ...elements: Element[]): void {
    const els = elements.map((e) => {
      const comps = (Array.isArray(e) ? e : [e]).map((v) =>
        v === undefined ? '' : escapeEdifact(String(v), this.seps),
      );
      while (comps.length > 0 && comps[comps.length - 1] === '') comps.pop();
      return comps.join(this.seps.component);
    });
    while (els.length > 0 && els[els.length - 1] === '') els.pop();
    this.segments.push([tag, ...els].join(this.seps.element));
  }

  /** A decimal input ('.' as mark) written with the interchange's decimal mark. */
  amount(v: string | number | undefined, what: string): string | undefined {
    if (v === undefined) return undefined;
    const d = decimalInput(v, what);
    return this.seps.decimal === '.' ? d : d.replace('.', this.seps.decimal);
  }
}

/** Amounts come in with '.' as decimal mark (or as numbers); anything else is a caller bug. */
function decimalInput(v: string | number, what: string): string {
  const d = /,/.test(String(v)) ? undefined : normaliseDecimal(String(v));
  if (d === undefined) throw new RangeError(`${what} ${JSON.stringify(v)} is not a decimal number`);
  return d;
}

function partyOf(p: Party | string): Party {
  return typeof p === 'string' ? { id: p } : p;
}

function ediDate(iso: string, what: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(iso))
    throw new RangeError(`${what} ${JSON.stringify(iso)} is not yyyy-mm-dd`);
  return iso.replace(/-/g, '');
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

interface Envelope {
  seps: Separators;
  syntax: 'UNOC' | 'UNOY';
  at: Date;
  controlRef: string;
  messageRef: string;
  isoDay: string;
}

function envelope(input: EnvelopeInput): Envelope {
  const at = input.preparedAt ?? new Date();
  const controlRef = input.controlRef ?? Date.now().toString(36).toUpperCase();
  return {
    seps: { ...DEFAULT_SEPARATORS, decimal: input.decimalMark ?? '.' },
    syntax: input.syntax ?? 'UNOC',
    at,
    controlRef,
    messageRef: input.messageRef ?? `M${controlRef}`.slice(0, 14),
    isoDay: `${at.getUTCFullYear()}-${pad(at.getUTCMonth() + 1)}-${pad(at.getUTCDate())}`,
  };
}

/** Wraps a message body (BGM … summary) in UNA/UNB/UNH … UNT/UNZ and encodes it. */
function finish(
  input: EnvelopeInput,
  env: Envelope,
  type: string,
  version: string,
  body: SegmentWriter,
): Buffer {
  const { seps, syntax, at } = env;
  const w = new SegmentWriter(seps);
  const ymd = `${at.getUTCFullYear()}${pad(at.getUTCMonth() + 1)}${pad(at.getUTCDate())}`;
  const sender = partyOf(input.sender);
  const recipient = partyOf(input.recipient);
  w.add(
    'UNB',
    [syntax, syntax === 'UNOY' ? '4' : '3'],
    [sender.id, sender.qualifier],
    [recipient.id, recipient.qualifier],
    [syntax === 'UNOY' ? ymd : ymd.slice(2), `${pad(at.getUTCHours())}${pad(at.getUTCMinutes())}`],
    env.controlRef,
    undefined,
    type,
  );
  w.add('UNH', env.messageRef, [type, ...version.split(':')]);
  const count = body.segments.length + 2;
  const unb = w.segments[0]!;
  const unh = w.segments[1]!;
  const unt = new SegmentWriter(seps);
  unt.add('UNT', count, env.messageRef);
  unt.add('UNZ', 1, env.controlRef);
  const una = `UNA${seps.component}${seps.element}${seps.decimal}${seps.release || ' '} ${seps.terminator}`;
  const nl = input.lineBreaks ? '\r\n' : '';
  const all = [unb, unh, ...body.segments, ...unt.segments];
  const text = una + nl + all.map((s) => s + seps.terminator + nl).join('');
  if (syntax === 'UNOC') {
    const bad = [...text].find((c) => c.codePointAt(0)! > 0xff);
    if (bad !== undefined) {
      throw new RangeError(`"${bad}" cannot be written in UNOC (Latin-1); use syntax UNOY`);
    }
    return Buffer.from(text, 'latin1');
  }
  return Buffer.from(text, 'utf8');
}

const STATUS_CODES: Record<
  VendorStatus,
  Pick<OrderResponseLineInput, 'action' | 'lineStatus' | 'availability'>
> = {
  accepted: { action: '5', lineStatus: '100' },
  changed: { action: '3' },
  backordered: { action: '24', lineStatus: '400' },
  'not-yet-published': { availability: 'NP' },
  'out-of-print': { availability: 'OP' },
  cancelled: { action: '2', lineStatus: '220' },
  'not-accepted': { action: '7', lineStatus: '200' },
  shipped: { action: '5', lineStatus: '800' },
  'on-hold': { lineStatus: '999' },
  unknown: {},
};

function isbn13(isbn: string | undefined): string | undefined {
  if (isbn === undefined) return undefined;
  const n = normaliseIsbn(isbn);
  if (!n) throw new RangeError(`${JSON.stringify(isbn)} is not a valid ISBN`);
  return n;
}

/** An ORDRSP interchange (one message) for the given lines. */
export function buildOrderResponse(input: OrderResponseInput): Buffer {
  const env = envelope(input);
  const w = new SegmentWriter(env.seps);
  w.add('BGM', input.documentType ?? '231', input.documentNumber, input.messageFunction ?? '4');
  w.add('DTM', ['137', ediDate(input.date ?? env.isoDay, 'date'), '102']);
  if (input.orderNumber !== undefined) w.add('RFF', ['ON', input.orderNumber]);
  if (input.buyer !== undefined) w.add('NAD', 'BY', [input.buyer, undefined, '91']);
  if (input.supplier !== undefined) w.add('NAD', 'SU', [input.supplier, undefined, '91']);
  if (input.currency !== undefined) w.add('CUX', ['2', input.currency, '9']);
  input.lines.forEach((line, i) => {
    const codes = line.status ? STATUS_CODES[line.status] : {};
    const action = line.action ?? codes.action;
    const lineStatus = line.lineStatus ?? codes.lineStatus;
    const availability = line.availability ?? codes.availability;
    const ordered = line.ordered;
    const despatched = line.despatched ?? (line.status === 'shipped' ? ordered : undefined);
    const backordered =
      line.backordered ??
      (line.status === 'backordered' && ordered !== undefined ? ordered - (despatched ?? 0) : undefined);
    const isbn = isbn13(line.isbn);
    const ean = line.ean ?? isbn;
    w.add('LIN', line.lineNo ?? i + 1, action, ean === undefined ? undefined : [ean, 'EN']);
    if (isbn !== undefined) w.add('PIA', '5', [isbn, 'IB']);
    if (ordered !== undefined) w.add('QTY', ['21', ordered]);
    if (despatched !== undefined) w.add('QTY', ['12', despatched]);
    if (backordered !== undefined) w.add('QTY', ['83', backordered]);
    if (line.expectedDate !== undefined)
      w.add('DTM', ['44', ediDate(line.expectedDate, 'expectedDate'), '102']);
    if (lineStatus !== undefined)
      w.add('FTX', 'LIN', undefined, [lineStatus, line.lineStatusList ?? '12B', '28']);
    if (availability !== undefined) w.add('FTX', 'LIN', undefined, [availability, '8B', '28']);
    if (line.freeText !== undefined) w.add('FTX', 'LIN', undefined, undefined, line.freeText);
    if (line.price !== undefined) {
      w.add('PRI', [line.price.qualifier ?? 'AAE', w.amount(line.price.amount, 'price'), 'CA', 'SRP']);
    }
    if (line.poLine !== undefined) w.add('RFF', ['LI', line.poLine]);
    if (line.vendorRef !== undefined) w.add('RFF', ['SLI', line.vendorRef]);
  });
  w.add('UNS', 'S');
  w.add('CNT', ['2', input.lines.length]);
  return finish(input, env, 'ORDRSP', 'D:96A:UN:EAN005', w);
}

const KIND_CODES: Record<InvoiceKind, string> = { invoice: '380', 'credit-note': '381', 'debit-note': '383' };

/** IMD text in pieces of 35 characters, two per segment (EDItEUR's an..35 components). */
function imd(w: SegmentWriter, code: string, text: string): void {
  const chars = [...text];
  for (let i = 0; i < chars.length; i += 70) {
    const a = chars.slice(i, i + 35).join('');
    const b = chars.slice(i + 35, i + 70).join('');
    w.add('IMD', 'L', code, [undefined, undefined, undefined, a, b || undefined]);
  }
}

/** An INVOIC interchange (one invoice, credit note or debit note). */
export function buildInvoice(input: InvoiceInput): Buffer {
  const env = envelope(input);
  const w = new SegmentWriter(env.seps);
  w.add('BGM', KIND_CODES[input.kind ?? 'invoice'], input.number, '9');
  w.add('DTM', ['137', ediDate(input.date ?? env.isoDay, 'date'), '102']);
  if (input.buyer !== undefined) w.add('NAD', 'BY', [input.buyer, undefined, '91']);
  if (input.supplier !== undefined) w.add('NAD', 'SU', [input.supplier, undefined, '91']);
  if (input.currency !== undefined) w.add('CUX', ['2', input.currency, '4']);
  const charges = input.charges ?? [];
  for (const c of charges) {
    w.add('ALC', c.kind === 'allowance' ? 'A' : 'C', undefined, undefined, undefined, [
      c.code,
      undefined,
      c.code !== undefined ? '28' : undefined,
      c.description,
    ]);
    if (c.percent !== undefined) w.add('PCD', ['3', w.amount(c.percent, 'percent')]);
    w.add('MOA', ['8', w.amount(c.amount, 'charge amount')]);
  }
  input.lines.forEach((line, i) => {
    const isbn = isbn13(line.isbn);
    const ean = line.ean ?? isbn;
    w.add('LIN', line.lineNo ?? i + 1, undefined, ean === undefined ? undefined : [ean, 'EN']);
    if (isbn !== undefined) w.add('PIA', '5', [isbn, 'IB']);
    if (line.author !== undefined) imd(w, '009', line.author);
    if (line.title !== undefined) imd(w, '050', line.title);
    w.add('QTY', ['47', line.quantity]);
    if (line.lineAmount !== undefined) w.add('MOA', ['203', w.amount(line.lineAmount, 'lineAmount')]);
    if (line.discount !== undefined) w.add('MOA', ['52', w.amount(line.discount, 'discount')]);
    if (line.netUnitPrice !== undefined) w.add('PRI', ['AAA', w.amount(line.netUnitPrice, 'netUnitPrice')]);
    if (line.grossUnitPrice !== undefined)
      w.add('PRI', ['AAB', w.amount(line.grossUnitPrice, 'grossUnitPrice')]);
    if (line.poLine !== undefined) w.add('RFF', ['LI', line.poLine]);
    if (line.vendorRef !== undefined) w.add('RFF', ['SLI', line.vendorRef]);
    if (line.taxRate !== undefined || line.taxAmount !== undefined) {
      const rate = w.amount(line.taxRate ?? 0, 'taxRate')!;
      const category =
        line.taxCategory ?? (Number(decimalInput(line.taxRate ?? 0, 'taxRate')) === 0 ? 'Z' : 'S');
      w.add('TAX', '7', 'VAT', undefined, undefined, [undefined, undefined, undefined, rate], category);
      if (line.taxAmount !== undefined) w.add('MOA', ['124', w.amount(line.taxAmount, 'taxAmount')]);
    }
  });
  const totals = { ...defaultTotals(input), ...input.totals };
  w.add('UNS', 'S');
  w.add('CNT', ['2', input.lines.length]);
  if (totals.lines !== undefined) w.add('MOA', ['79', w.amount(totals.lines, 'totals.lines')]);
  if (totals.tax !== undefined) w.add('MOA', ['176', w.amount(totals.tax, 'totals.tax')]);
  if (totals.message !== undefined) w.add('MOA', ['86', w.amount(totals.message, 'totals.message')]);
  if (totals.due !== undefined) w.add('MOA', ['9', w.amount(totals.due, 'totals.due')]);
  return finish(input, env, 'INVOIC', 'D:96A:UN:EAN008', w);
}

function defaultTotals(input: InvoiceInput): InvoiceTotals {
  const dec = (v: string | number | undefined, what: string): string | undefined =>
    v === undefined ? undefined : decimalInput(v, what);
  const out: InvoiceTotals = {};
  const amounts = input.lines.map((l) => dec(l.lineAmount, 'lineAmount'));
  if (amounts.length === 0 || amounts.some((a) => a === undefined)) return out;
  out.lines = addDecimals(amounts as string[]);
  const taxes = input.lines.flatMap((l) =>
    l.taxAmount === undefined ? [] : [dec(l.taxAmount, 'taxAmount')!],
  );
  if (taxes.length > 0) out.tax = addDecimals(taxes);
  const signed = (input.charges ?? []).map((c) => {
    const a = dec(c.amount, 'charge amount')!;
    return c.kind === 'allowance' ? (a.startsWith('-') ? a.slice(1) : '-' + a) : a;
  });
  out.due = addDecimals([out.lines, ...(out.tax !== undefined ? [out.tax] : []), ...signed]);
  out.message = out.due;
  return out;
}
