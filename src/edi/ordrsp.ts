/**
 * ORDRSP (order response / status report) in library-trade terms: one OrderResponse per message, one
 * line per LIN group, each with a VendorStatus and a sentence for librarians. See ordrsp-status.ts for
 * how the status is chosen.
 */
import { vendorText } from './errors';
import { declaredLineCount, messagesOfType, readHeader } from './message-header';
import { deriveStatus, describeStatus, type StatusInput, type VendorStatus } from './ordrsp-status';
import { readProductIds } from './product-id';
import { comp, isoDate, normaliseDecimal, quantity, readLineReference, splitLines } from './values';
import type { EdifactFile, Segment } from './types';

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
  /** DTM+44 as yyyy-mm-dd. */
  expectedDate?: string;
  price?: { amount: string; qualifier: string };
  /** 8B code: NP, OP, OR, OB, RP, IP, TU, NK, AB, MD. */
  availability?: string;
  /** 12B (or old 1B) code: 100, 200, 220-223, 400, 401, 404, 800, 900, 999. */
  lineStatus?: string;
  freeText?: string;
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
  const fields: Omit<OrderResponseLine, 'status' | 'statusText' | 'segment' | 'lineNo'> = { ...ids };
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
        break;
      }
      case 'DTM':
        if (comp(seg, 0, 0) === '44') {
          const d = isoDate(comp(seg, 0, 1), comp(seg, 0, 2));
          if (d !== undefined) fields.expectedDate = d;
          else w(`expected date "${vendorText(seg.elements[0]?.slice(1).join(':'))}" is not a date`);
        }
        break;
      case 'PRI': {
        const qualifier = comp(seg, 0, 0);
        const raw = comp(seg, 0, 1);
        if (fields.price !== undefined || qualifier === undefined || raw === undefined) break;
        const amount = normaliseDecimal(raw);
        if (amount === undefined) w(`price "${vendorText(raw)}" is not a number`);
        else fields.price = { amount, qualifier };
        break;
      }
      case 'FTX': {
        const code = comp(seg, 2, 0);
        const list = comp(seg, 2, 1);
        if (code !== undefined && list === '8B') fields.availability = code;
        else if (code !== undefined && (list === '12B' || list === '1B')) fields.lineStatus = code;
        const text = (seg.elements[3] ?? []).filter((t) => t !== '').join(' ');
        if (text !== '') texts.push(text);
        break;
      }
      case 'RFF':
        readLineReference(seg, fields);
        break;
    }
  }
  if (texts.length > 0) fields.freeText = texts.join(' ');
  const input: StatusInput = { ...doc, ...fields };
  const status = deriveStatus(input);
  if (status === 'unknown') w('the vendor status could not be worked out from the codes');
  return { lineNo, ...fields, status, statusText: describeStatus(status, input), segment: lin.fileSegment };
}

/** One OrderResponse per ORDRSP message in the file, in file order. */
export function readOrderResponses(file: EdifactFile): OrderResponse[] {
  return messagesOfType(file, 'ORDRSP').map(({ message }) => {
    const { header, lines, summary } = splitLines(message.segments);
    const h = readHeader(message, header, file.fileName);
    const warnings: string[] = [];
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
  });
}
