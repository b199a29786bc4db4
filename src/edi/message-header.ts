/** Header facts shared by ORDRSP and INVOIC: BGM, DTM, CUX, NAD, RFF, CNT. */
import { EdifactError, vendorText } from './errors';
import { comp, quantity, readDate } from './values';
import type { EdifactFile, Interchange, Message, Segment } from './types';

export interface MessageHeader {
  documentType: string;
  documentNumber: string;
  messageFunction?: string;
  /** DTM+137, ISO yyyy-mm-dd. */
  date?: string;
  /** CUX+2 (reference currency), ISO 4217. */
  currency?: string;
  /** NAD+SU party id (SAN, EAN/GLN or a code the buyer assigned). */
  supplier?: string;
  /** NAD+BY party id. */
  buyer?: string;
}

export function readHeader(
  message: Message,
  header: Segment[],
  fileName: string | undefined,
  warn: (text: string) => void = () => undefined,
): MessageHeader {
  const bgm = header.find((s) => s.tag === 'BGM');
  const documentType = bgm && comp(bgm, 0);
  const documentNumber = bgm && comp(bgm, 1);
  if (!bgm || documentType === undefined || documentNumber === undefined) {
    throw new EdifactError(`${vendorText(message.type)} message without a BGM document code and number`, {
      ...(fileName !== undefined ? { fileName } : {}),
      messageRef: message.ref,
      ...(bgm ? { fileSegment: bgm.fileSegment, tag: 'BGM' } : {}),
    });
  }
  const out: MessageHeader = { documentType, documentNumber };
  const fn = comp(bgm, 2);
  if (fn !== undefined) out.messageFunction = fn;
  for (const seg of header) {
    if (seg.tag === 'DTM' && comp(seg, 0, 0) === '137' && out.date === undefined) {
      const d = readDate(comp(seg, 0, 1), comp(seg, 0, 2));
      if (d.date !== undefined) out.date = d.date;
      else warn(`document date "${vendorText(comp(seg, 0, 1))}" (DTM+137) is not a date`);
      if (d.note) warn(d.note);
    } else if (seg.tag === 'CUX' && out.currency === undefined) {
      const el = seg.elements.find((e) => e[0] === '2') ?? seg.elements[0];
      if (el?.[1]) out.currency = el[1];
    } else if (seg.tag === 'NAD') {
      const who = comp(seg, 0);
      const id = comp(seg, 1, 0);
      if (id !== undefined && who === 'SU' && out.supplier === undefined) out.supplier = id;
      if (id !== undefined && who === 'BY' && out.buyer === undefined) out.buyer = id;
    }
  }
  return out;
}

/** CNT+2, the number of line items the sender declares. */
export function declaredLineCount(summary: Segment[]): number | undefined {
  const cnt = summary.find((s) => s.tag === 'CNT' && comp(s, 0, 0) === '2');
  return cnt ? quantity(comp(cnt, 0, 1)) : undefined;
}

/** Every message of a type in the file, with its interchange (for the decimal mark and charset). */
export function messagesOfType(
  file: EdifactFile,
  type: string,
): { message: Message; interchange: Interchange }[] {
  const out: { message: Message; interchange: Interchange }[] = [];
  for (const interchange of file.interchanges) {
    for (const message of interchange.messages) if (message.type === type) out.push({ message, interchange });
  }
  return out;
}
