/**
 * ORDRSP (order response / status report) in library-trade terms: one OrderResponse per message, one
 * line per LIN group, each with a VendorStatus and a sentence for librarians. See ordrsp-status.ts for
 * how the status is chosen.
 */
import { vendorText } from './errors';
import { declaredLineCount, messagesOfType, readHeader } from './message-header';
import { deriveStatus, describeStatus, type StatusInput, type VendorStatus } from './ordrsp-status';
import { readProductIds } from './product-id';
import {
  comp,
  normaliseDecimal,
  quantity,
  readDate,
  readLineReferences,
  referenceOf,
  splitLines,
  type LineReference,
} from './values';
import type { EdifactFile, Message, Segment } from './types';

export type { VendorStatus } from './ordrsp-status';

export interface OrderResponseLine {
  /** LIN 1082 as written. */
  lineNo: string;
  /** LIN DE 1229: 2 cancelled, 3 changed, 5 accepted, 6/24 accepted with change, 7 not accepted, 10 not found. */
  action?: string;
  ean?: string;
  /** ISBN-13 from PIA+5 (or a Bookland EAN in LIN). */
  isbn?: string;
  /** PIA+3: an alternative edition the vendor offers. */
  substituteIsbn?: string;
  ordered?: number;
  despatched?: number;
  backordered?: number;
  /** QTY+85, quantity cancelled. */
  cancelled?: number;
  /** DTM+44 as yyyy-mm-dd. */
  expectedDate?: string;
  /** The first PRI of the line (AAB, AAA, AAE, AAF, CAL, INV…), with its currency when given. */
  price?: { amount: string; qualifier: string; currency?: string };
  /** 8B (or 7B) availability code, e.g. NP, OP, OB, IB (see AVAILABILITY_TEXT). */
  availability?: string;
  /** 12B (or old 1B) order line status code, e.g. 100, 220, 400 (see LINE_STATUS_TEXT). */
  lineStatus?: string;
  freeText?: string;
  /** Every RFF of the line and its PIA+1 …:SA identifiers, in file order. */
  references: LineReference[];
  /** RFF+LI: the buyer's order line (Alma PO line; Evergreen writes PO/LINE). */
  poLine?: string;
  /** RFF+SLI: the vendor's own line reference. */
  vendorRef?: string;
  status: VendorStatus;
  statusText: string;
  /** The LIN segment's number in the file, for reports. */
  segment: number;
}

export interface OrderResponse {
  messageRef: string;
  documentNumber: string;
  /** BGM 1001: 231 order response, 23C shelf-ready (despatched) response, 23S claim response. */
  documentType: string;
  /** BGM 1225: 9 original, 29 accepted without amendment, 27 not accepted, 4 change. */
  messageFunction?: string;
  date?: string;
  currency?: string;
  /** RFF+ON in the header: the buyer's order number. */
  orderNumber?: string;
  supplier?: string;
  buyer?: string;
  /** CNT+2 as declared by the vendor (compare with lines.length; a mismatch is in `warnings`). */
  declaredLines?: number;
  lines: OrderResponseLine[];
  /** Oddities that did not stop the reading (invalid ISBN, unreadable date, count mismatch…), for reports. */
  warnings: string[];
}

function readLine(group: Segment[], doc: StatusInput, warn: (t: string) => void): OrderResponseLine {
  const lin = group[0]!;
  const lineNo = comp(lin, 0) ?? '';
  const w = (t: string): void => warn(`line ${lineNo} (segment ${lin.fileSegment}): ${t}`);
  const ids = readProductIds(lin, group, w);
  const references = readLineReferences(group);
  const fields: Omit<OrderResponseLine, 'status' | 'statusText' | 'segment' | 'lineNo'> = {
    ...ids,
    references,
  };
  const action = comp(lin, 1);
  if (action !== undefined) fields.action = action;
  const texts: string[] = [];
  for (const seg of group) {
    switch (seg.tag) {
      case 'QTY': {
        const q = comp(seg, 0, 0);
        const raw = comp(seg, 0, 1);
        const n = quantity(raw);
        if (n === undefined) {
          w(`QTY+${vendorText(q)} quantity "${vendorText(raw)}" is not a whole number`);
          break;
        }
        if (q === '21') fields.ordered = n;
        else if (q === '12') fields.despatched = n;
        else if (q === '83') fields.backordered = n;
        else if (q === '85') fields.cancelled = n;
        break;
      }
      case 'DTM':
        if (comp(seg, 0, 0) === '44') {
          const d = readDate(comp(seg, 0, 1), comp(seg, 0, 2));
          if (d.date !== undefined) fields.expectedDate = d.date;
          else w(`expected date "${vendorText(seg.elements[0]?.slice(1).join(':'))}" is not a date`);
          if (d.note) w(d.note);
        }
        break;
      case 'PRI': {
        const qualifier = comp(seg, 0, 0);
        const raw = comp(seg, 0, 1);
        if (fields.price !== undefined || qualifier === undefined || raw === undefined) break;
        const amount = normaliseDecimal(raw);
        const currency = comp(seg, 0, 4);
        if (amount === undefined) w(`price "${vendorText(raw)}" is not a number`);
        else fields.price = { amount, qualifier, ...(currency !== undefined ? { currency } : {}) };
        break;
      }
      case 'FTX': {
        const code = comp(seg, 2, 0);
        const list = comp(seg, 2, 1);
        if (code !== undefined && (list === '8B' || list === '7B')) fields.availability ??= code;
        else if (code !== undefined && (list === '12B' || list === '1B')) fields.lineStatus ??= code;
        const text = (seg.elements[3] ?? []).filter((t) => t !== '').join(' ');
        if (text !== '') texts.push(text);
        break;
      }
    }
  }
  if (texts.length > 0) fields.freeText = texts.join(' ');
  const poLine = referenceOf(references, 'LI');
  if (poLine !== undefined) fields.poLine = poLine;
  const vendorRef = referenceOf(references, 'SLI');
  if (vendorRef !== undefined) fields.vendorRef = vendorRef;
  const input: StatusInput = { ...doc, ...fields };
  const status = deriveStatus(input);
  if (status === 'unknown') w('the vendor status could not be worked out from the codes');
  return { lineNo, ...fields, status, statusText: describeStatus(status, input), segment: lin.fileSegment };
}

/** Reads one ORDRSP message; throws an EdifactError (with its place) when the message cannot be read. */
export function readOrderResponseMessage(message: Message, fileName: string | undefined): OrderResponse {
  const { header, lines, summary } = splitLines(message.segments);
  const warnings: string[] = [];
  const h = readHeader(message, header, fileName, (t) => warnings.push(t));
  const response: OrderResponse = {
    messageRef: message.ref,
    documentNumber: h.documentNumber,
    documentType: h.documentType,
    lines: [],
    warnings,
  };
  for (const k of ['messageFunction', 'date', 'currency', 'supplier', 'buyer'] as const) {
    if (h[k] !== undefined) response[k] = h[k];
  }
  const on = header.find((s) => s.tag === 'RFF' && comp(s, 0, 0) === 'ON');
  const orderNumber = on && comp(on, 0, 1);
  if (orderNumber !== undefined) response.orderNumber = orderNumber;
  const doc: StatusInput = { documentType: h.documentType };
  if (h.messageFunction !== undefined) doc.messageFunction = h.messageFunction;
  response.lines = lines.map((group) => readLine(group, doc, (t) => warnings.push(t)));
  const declared = declaredLineCount(summary);
  if (declared !== undefined) {
    response.declaredLines = declared;
    if (declared !== lines.length) {
      warnings.push(`CNT+2 declares ${declared} lines but the message has ${lines.length}`);
    }
  }
  if (!['231', '23C', '23S'].includes(h.documentType)) {
    warnings.push(
      `BGM document code ${vendorText(h.documentType)} is not an order response (231, 23C or 23S)`,
    );
  }
  return response;
}

/** One OrderResponse per ORDRSP message of a file read whole (`parseEdifact`), in file order. */
export function readOrderResponses(file: EdifactFile): OrderResponse[] {
  return messagesOfType(file, 'ORDRSP').map(({ message }) =>
    readOrderResponseMessage(message, file.fileName),
  );
}
