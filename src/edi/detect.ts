/** Which messages a file holds, so a caller can route it (ORDRSP to responses, INVOIC to invoices). */
import type { EdifactFile } from './types';

export interface DetectedMessage {
  type: string;
  ref: string;
  version: string;
  interchangeRef: string;
}

export function detectMessages(file: EdifactFile): DetectedMessage[] {
  return file.interchanges.flatMap((ic) =>
    ic.messages.map((m) => ({ type: m.type, ref: m.ref, version: m.version, interchangeRef: ic.controlRef })),
  );
}
