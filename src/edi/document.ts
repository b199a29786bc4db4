/**
 * A vendor's EDI file as documents, message by message: each ORDRSP and INVOIC read on its own, so one message
 * that cannot be read is reported with its place and the others still count. Memory stays bounded (see
 * edifact.ts): the file is read in chunks, one message at a time.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { readEdifact, type ByteSource, type ParseOptions } from './edifact';
import { EdifactError, excerptOf, type EdifactLocation } from './errors';
import { readInvoiceMessage, type Invoice } from './invoic';
import { readOrderResponseMessage, type OrderResponse } from './ordrsp';
import { comp } from './values';
import type { Interchange, Message } from './types';

/** Where in the file something is, for reports: segment number, tag, message and interchange reference. */
export interface EdiPlace {
  segment?: number;
  tag?: string;
  message?: string;
  interchange?: string;
}

export type EdiDocument =
  | { kind: 'invoice'; invoice: Invoice; interchange: Interchange; warnings: string[] }
  | { kind: 'order-response'; response: OrderResponse; interchange: Interchange; warnings: string[] }
  /** A message of another type (DESADV, ORDERS, …): listed, not acted on. */
  | {
      kind: 'other';
      type: string;
      ref: string;
      number?: string;
      interchange: Interchange;
      warnings: string[];
    }
  /**
   * A message that could not be read: `problem` says why with the file and place, `reason` why alone, `place`
   * where.
   */
  | {
      kind: 'unreadable';
      type?: string;
      ref?: string;
      number?: string;
      problem: string;
      reason: string;
      place: EdiPlace;
    }
  /** An envelope oddity outside any message (counts, a missing UNZ, an empty segment). */
  | { kind: 'warning'; text: string }
  /** Data lost outside any message. */
  | { kind: 'problem'; problem: string; reason: string; place: EdiPlace }
  /** The file is not EDIFACT at all. */
  | { kind: 'not-edifact'; problem: string };

export function placeOf(loc: EdifactLocation): EdiPlace {
  return {
    ...(loc.fileSegment !== undefined ? { segment: loc.fileSegment } : {}),
    ...(loc.tag !== undefined ? { tag: excerptOf(loc.tag, 10) } : {}),
    ...(loc.messageRef !== undefined ? { message: excerptOf(loc.messageRef, 70) } : {}),
    ...(loc.interchangeRef !== undefined ? { interchange: excerptOf(loc.interchangeRef, 70) } : {}),
  };
}

/** "segment 12 (QTY) of message M1": a place in words. */
export function describePlace(p: EdiPlace): string {
  const parts: string[] = [];
  if (p.segment !== undefined) parts.push(`segment ${p.segment}${p.tag ? ` (${p.tag})` : ''}`);
  if (p.message !== undefined) parts.push(`of message ${p.message}`);
  else if (p.interchange !== undefined) parts.push(`of interchange ${p.interchange}`);
  return parts.join(' ') || 'the file';
}

function documentNumber(message: Message): string | undefined {
  const bgm = message.segments.find((s) => s.tag === 'BGM');
  return bgm ? comp(bgm, 1) : undefined;
}

/** Reads one message into its document; whatever goes wrong is the message's, never the file's. */
function readMessage(
  message: Message,
  interchange: Interchange,
  warnings: string[],
  fileName: string | undefined,
): EdiDocument {
  try {
    if (message.type === 'INVOIC')
      return { kind: 'invoice', invoice: readInvoiceMessage(message, fileName), interchange, warnings };
    if (message.type === 'ORDRSP')
      return {
        kind: 'order-response',
        response: readOrderResponseMessage(message, fileName),
        interchange,
        warnings,
      };
    const number = documentNumber(message);
    return {
      kind: 'other',
      type: message.type,
      ref: message.ref,
      ...(number !== undefined ? { number } : {}),
      interchange,
      warnings,
    };
  } catch (e) {
    // Reading is a function of the bytes alone: any failure, an EdifactError or a fault in this code, is the
    // same for these bytes every time. It is the message's problem (reported, not retried).
    const err =
      e instanceof EdifactError
        ? e
        : new EdifactError(`could not be read (${(e as Error)?.message ?? String(e)})`, {
            ...(fileName !== undefined ? { fileName } : {}),
            messageRef: message.ref,
          });
    const number = documentNumber(message);
    return {
      kind: 'unreadable',
      type: message.type,
      ref: message.ref,
      ...(number !== undefined ? { number } : {}),
      problem: err.message,
      reason: err.problem,
      place: placeOf({ messageRef: message.ref, ...err.location }),
    };
  }
}

/** Every document of a file, in file order, read tolerantly and in bounded memory. */
export function* readEdiDocuments(source: ByteSource, opts: ParseOptions = {}): Generator<EdiDocument> {
  for (const item of readEdifact(source, opts)) {
    switch (item.kind) {
      case 'message':
        yield readMessage(item.message, item.interchange, item.warnings, opts.fileName);
        break;
      case 'unreadable':
        yield {
          kind: 'unreadable',
          ...(item.type !== undefined && item.type !== '' ? { type: item.type } : {}),
          ...(item.ref !== undefined && item.ref !== '' ? { ref: item.ref } : {}),
          problem: item.error.message,
          reason: item.error.problem,
          place: placeOf(item.error.location),
        };
        break;
      case 'warning':
        yield { kind: 'warning', text: item.text };
        break;
      case 'problem':
        yield {
          kind: 'problem',
          problem: item.error.message,
          reason: item.error.problem,
          place: placeOf(item.error.location),
        };
        break;
      case 'not-edifact':
        yield { kind: 'not-edifact', problem: item.error.message };
        break;
    }
  }
}

/** A file on disk as a ByteSource read in chunks; `close` releases it. */
export function openByteSource(path: string): { source: ByteSource; close(): void } {
  const fd = openSync(path, 'r');
  let closed = false;
  return {
    source: (into, offset, length) => readSync(fd, into, offset, length, null),
    close() {
      if (!closed) closeSync(fd);
      closed = true;
    },
  };
}

/** Reads a file on disk document by document (the file is closed when the iteration ends). */
export function* readEdiFile(path: string, opts: ParseOptions = {}): Generator<EdiDocument> {
  const file = openByteSource(path);
  try {
    yield* readEdiDocuments(file.source, opts);
  } finally {
    file.close();
  }
}
