/**
 * `rto edi read FILE --json`: what the reader makes of a file, as one JSON object, for operators, tests and
 * outside checks. Amounts are decimal strings exactly as the vendor wrote them ('.' as decimal mark); absent
 * values are null. The shape:
 *
 *   { file, sha256, messages: [message…], warnings: [text…], problems: [text…] }
 *   message: { type, number, kind, date, currency, lines, charges, totals, reconciliation, warnings, problems }
 *   line:    { line, references: [{ qualifier, value }], isbn, quantity, unitPrice, amount, currency, status,
 *              statusText }
 *   charge:  { level: line|header|summary, kind: charge|allowance|tax, amount, currency, description }
 *   totals:  { <MOA qualifier>: amount }
 *   reconciliation: { stated, computed, difference, ok } (INVOIC only; stated/difference/ok null when the
 *              vendor states no total)
 *
 * A message that could not be read is listed with its `problems`; `warnings` and `problems` at the top are the
 * file's own (outside any message).
 */
import type { EdiDocument } from './document';
import type { Invoice, InvoiceCharge } from './invoic';
import type { OrderResponse } from './ordrsp';

export interface EdiReadLine {
  line: string;
  references: { qualifier: string; value: string }[];
  isbn: string | null;
  quantity: number | null;
  unitPrice: string | null;
  amount: string | null;
  currency: string | null;
  status: string | null;
  statusText: string | null;
}

export interface EdiReadCharge {
  level: 'line' | 'header' | 'summary';
  kind: 'charge' | 'allowance' | 'tax';
  amount: string | null;
  currency: string | null;
  description: string | null;
}

export interface EdiReadMessage {
  type: string | null;
  number: string | null;
  kind: string | null;
  date: string | null;
  currency: string | null;
  lines: EdiReadLine[];
  charges: EdiReadCharge[];
  totals: Record<string, string>;
  reconciliation: {
    stated: string | null;
    computed: string;
    difference: string | null;
    ok: boolean | null;
  } | null;
  warnings: string[];
  problems: string[];
}

export interface EdiRead {
  file: string;
  sha256: string;
  messages: EdiReadMessage[];
  warnings: string[];
  problems: string[];
}

const RESPONSE_KINDS: Record<string, string> = {
  '231': 'order-response',
  '23C': 'shelf-ready-response',
  '23S': 'claim-response',
};

function charge(c: InvoiceCharge, currency: string | undefined): EdiReadCharge {
  const description = [c.code, c.description].filter((t) => t !== undefined && t !== '').join(': ');
  return {
    level: c.level,
    kind: c.kind,
    amount: c.amount ?? null,
    currency: c.currency ?? currency ?? null,
    description: description === '' ? null : description,
  };
}

function invoiceMessage(inv: Invoice, envelope: string[]): EdiReadMessage {
  const r = inv.reconciliation;
  return {
    type: 'INVOIC',
    number: inv.number,
    kind: inv.kind,
    date: inv.date ?? null,
    currency: inv.currency ?? null,
    lines: inv.lines.map((l) => ({
      line: l.lineNo,
      references: l.references.map((x) => ({ qualifier: x.qualifier, value: x.value })),
      isbn: l.isbn ?? null,
      quantity: l.quantity,
      unitPrice: l.netUnitPrice ?? l.grossUnitPrice ?? null,
      amount: l.lineAmount ?? null,
      currency: l.lineAmount !== undefined ? (inv.currency ?? null) : null,
      status: null,
      statusText: null,
    })),
    charges: [
      ...inv.charges.filter((c) => c.level === 'header').map((c) => charge(c, inv.currency)),
      ...inv.lines.flatMap((l) => l.charges.map((c) => charge(c, inv.currency))),
      ...inv.charges.filter((c) => c.level === 'summary').map((c) => charge(c, inv.currency)),
    ],
    totals: { ...inv.totals },
    reconciliation: {
      stated: r.stated ?? null,
      computed: r.computed,
      difference: r.difference ?? null,
      ok: r.ok ?? null,
    },
    warnings: [...envelope, ...inv.warnings],
    problems: [],
  };
}

function responseMessage(resp: OrderResponse, envelope: string[]): EdiReadMessage {
  return {
    type: 'ORDRSP',
    number: resp.documentNumber,
    kind: Object.prototype.hasOwnProperty.call(RESPONSE_KINDS, resp.documentType)
      ? RESPONSE_KINDS[resp.documentType]!
      : resp.documentType,
    date: resp.date ?? null,
    currency: resp.currency ?? null,
    lines: resp.lines.map((l) => ({
      line: l.lineNo,
      references: l.references.map((x) => ({ qualifier: x.qualifier, value: x.value })),
      isbn: l.isbn ?? null,
      quantity: l.ordered ?? null,
      unitPrice: l.price?.amount ?? null,
      amount: null,
      currency: l.price ? (l.price.currency ?? resp.currency ?? null) : null,
      status: l.status,
      statusText: l.statusText,
    })),
    charges: [],
    totals: {},
    reconciliation: null,
    warnings: [...envelope, ...resp.warnings],
    problems: [],
  };
}

const empty = (
  type: string | null,
  number: string | null,
  warnings: string[],
  problems: string[],
): EdiReadMessage => ({
  type,
  number,
  kind: null,
  date: null,
  currency: null,
  lines: [],
  charges: [],
  totals: {},
  reconciliation: null,
  warnings,
  problems,
});

/** Builds the JSON object from a file's documents; `notEdifact` tells the caller to exit 2. */
export function ediReadJson(
  file: string,
  sha256: string,
  documents: Iterable<EdiDocument>,
): { read: EdiRead; notEdifact: boolean; unreadable: number } {
  const read: EdiRead = { file, sha256, messages: [], warnings: [], problems: [] };
  let notEdifact = false;
  let unreadable = 0;
  for (const d of documents) {
    switch (d.kind) {
      case 'invoice':
        read.messages.push(invoiceMessage(d.invoice, d.warnings));
        break;
      case 'order-response':
        read.messages.push(responseMessage(d.response, d.warnings));
        break;
      case 'other':
        read.messages.push(empty(d.type, d.number ?? null, d.warnings, []));
        break;
      case 'unreadable':
        unreadable++;
        read.messages.push(empty(d.type ?? null, d.number ?? null, [], [d.problem]));
        break;
      case 'warning':
        read.warnings.push(d.text);
        break;
      case 'problem':
        read.problems.push(d.problem);
        break;
      case 'not-edifact':
        notEdifact = true;
        read.problems.push(d.problem);
        break;
    }
  }
  return { read, notEdifact, unreadable };
}
