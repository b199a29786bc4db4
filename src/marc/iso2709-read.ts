/**
 * Streaming ISO 2709 (binary MARC 21) reader. It works on bytes: records are split on the record terminator
 * across chunk boundaries and decoded only once complete, so a multibyte UTF-8 character split between two
 * chunks is never damaged, and every length and offset (leader, directory) is counted in bytes as the
 * standard says. Memory is bounded by the largest record (99,999 bytes) plus one chunk.
 * A bad record is reported as `{ok: false}` and reading goes on with the next one.
 */
import { isUtf8 } from 'node:buffer';
import type { Readable } from 'node:stream';
import type { DataField, MarcField, MarcReadResult, MarcRecord, Subfield } from './record';
import { isControlTag } from './record';

const RECORD_TERMINATOR = 0x1d;
const FIELD_TERMINATOR = 0x1e;
const SUBFIELD_DELIMITER = 0x1f;
const LEADER_LENGTH = 24;
/** The leader's record length has five digits. */
const MAX_RECORD_LENGTH = 99999;

export type ByteSource = AsyncIterable<Buffer | Uint8Array | string> | Readable;

/** What to do with a file that is MARC-8: said in every rejection so the operator knows the fix. */
export const MARC8_ADVICE =
  'convert the file to UTF-8 (e.g. yaz-marcdump -f MARC-8 -t UTF-8 -o marc -l 9=97 in.mrc > out.mrc, ' +
  'or MarcEdit\'s "MARC-8 to UTF-8") and load it again';

class RecordError extends Error {}

function digits(buf: Buffer, start: number, length: number): number | null {
  let n = 0;
  for (let i = start; i < start + length; i++) {
    const c = buf[i];
    if (c === undefined || c < 0x30 || c > 0x39) return null;
    n = n * 10 + (c - 0x30);
  }
  return n;
}

/** Bytes a file may hold between records: line breaks, spaces, NULs and the DOS end-of-file mark. */
function isFiller(byte: number): boolean {
  return byte === 0x0a || byte === 0x0d || byte === 0x20 || byte === 0x09 || byte === 0x00 || byte === 0x1a;
}

function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return JSON.stringify(text.replace(/[\x00-\x1f\x7f]/g, '?'));
}

/** A leader whose record length equals `available` and whose fixed positions look right: used to resync. */
function looksLikeLeaderAt(buf: Buffer, pos: number, available: number): boolean {
  if (available < LEADER_LENGTH + 2) return false;
  const length = digits(buf, pos, 5);
  if (length !== available) return false;
  const base = digits(buf, pos + 12, 5);
  if (base === null || base < LEADER_LENGTH + 1 || base > available) return false;
  return buf[pos + 20] === 0x34 && buf[pos + 21] === 0x35; // "45" of the entry map "4500"
}

/**
 * Parses one record: `buf` runs from the first byte of the leader to the record terminator inclusive.
 * Throws RecordError with a message that names the problem.
 */
export function parseIso2709Record(buf: Buffer, index: number): MarcRecord {
  if (buf.length < LEADER_LENGTH + 2)
    throw new RecordError(`record ${index} is too short (${buf.length} bytes)`);
  const leader = buf.toString('latin1', 0, LEADER_LENGTH);
  const recordLength = digits(buf, 0, 5);
  if (recordLength === null) {
    throw new RecordError(`record ${index} has no record length in its leader (${printable(leader)})`);
  }
  if (recordLength !== buf.length) {
    throw new RecordError(
      `record ${index} has a bad length: its leader says ${recordLength} bytes, the record terminator comes after ${buf.length}`,
    );
  }
  const coding = leader[9];
  if (coding === ' ') {
    throw new RecordError(
      `record ${index} is MARC-8 (leader/09 is blank); only UTF-8 (leader/09 = a) is accepted: ${MARC8_ADVICE}`,
    );
  }
  if (coding !== 'a') {
    throw new RecordError(
      `record ${index} has leader/09 ${printable(coding ?? '')}; only UTF-8 (leader/09 = a) is accepted`,
    );
  }
  if (!isUtf8(buf)) {
    throw new RecordError(
      `record ${index} says it is UTF-8 (leader/09 = a) but holds bytes that are not UTF-8 (MARC-8 or Latin-1?): ${MARC8_ADVICE}`,
    );
  }
  const base = digits(buf, 12, 5);
  if (base === null || base < LEADER_LENGTH + 1 || base >= buf.length) {
    throw new RecordError(
      `record ${index} has a bad base address of data in its leader (${printable(leader)})`,
    );
  }
  // Entry map (leader/20-23): lengths of the "length of field" and "starting position" parts, MARC 21 uses 4 and 5.
  const lenDigits = digits(buf, 20, 1) || 4;
  const posDigits = digits(buf, 21, 1) || 5;
  const entryLength = 3 + lenDigits + posDigits;
  if (buf[base - 1] !== FIELD_TERMINATOR) {
    throw new RecordError(`record ${index} has a bad directory: it does not end with a field terminator`);
  }
  const directoryLength = base - 1 - LEADER_LENGTH;
  if (directoryLength % entryLength !== 0) {
    throw new RecordError(
      `record ${index} has a bad directory: ${directoryLength} bytes is not a whole number of ${entryLength}-byte entries`,
    );
  }
  const dataEnd = buf.length - 1; // the record terminator
  const fields: MarcField[] = [];
  for (let e = LEADER_LENGTH; e < base - 1; e += entryLength) {
    const tag = buf.toString('latin1', e, e + 3);
    const fieldLength = digits(buf, e + 3, lenDigits);
    const start = digits(buf, e + 3 + lenDigits, posDigits);
    if (!/^[0-9A-Za-z]{3}$/.test(tag) || fieldLength === null || start === null) {
      throw new RecordError(
        `record ${index} has a bad directory entry ${printable(buf.toString('latin1', e, e + entryLength))}`,
      );
    }
    const from = base + start;
    const to = from + fieldLength;
    if (fieldLength < 1 || to > dataEnd) {
      throw new RecordError(
        `record ${index} field ${tag}: length ${fieldLength} at ${start} runs past the end of the record`,
      );
    }
    if (buf[to - 1] !== FIELD_TERMINATOR) {
      throw new RecordError(
        `record ${index} field ${tag}: does not end with a field terminator (lengths counted in characters, not bytes?)`,
      );
    }
    fields.push(
      isControlTag(tag)
        ? { tag, value: buf.toString('utf8', from, to - 1) }
        : parseDataField(buf, tag, from, to - 1, index),
    );
  }
  return { leader, fields };
}

function parseDataField(buf: Buffer, tag: string, from: number, to: number, index: number): DataField {
  if (to - from < 2) throw new RecordError(`record ${index} field ${tag}: no indicators`);
  const ind1 = String.fromCharCode(buf[from]!);
  const ind2 = String.fromCharCode(buf[from + 1]!);
  const subfields: Subfield[] = [];
  let pos = from + 2;
  if (pos < to && buf[pos] !== SUBFIELD_DELIMITER) {
    throw new RecordError(`record ${index} field ${tag}: data before the first subfield delimiter`);
  }
  while (pos < to) {
    let next = buf.indexOf(SUBFIELD_DELIMITER, pos + 1);
    if (next === -1 || next > to) next = to;
    if (next > pos + 1) {
      // A code byte of 0x80 or more starts a multibyte character: the field's delimiters are out of place.
      if (buf[pos + 1]! >= 0x80) {
        throw new RecordError(
          `record ${index} field ${tag}: a subfield code that is not an ASCII character (byte 0x${buf[pos + 1]!.toString(16)})`,
        );
      }
      subfields.push({
        code: String.fromCharCode(buf[pos + 1]!),
        value: buf.toString('utf8', pos + 2, next),
      });
    } // else: a lone delimiter with no code; nothing to keep
    pos = next;
  }
  return { tag, ind1, ind2, subfields };
}

function asBuffer(chunk: Buffer | Uint8Array | string): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/** Reads ISO 2709 records from a byte stream, one result per record (good or bad), in file order. */
export async function* readIso2709(input: ByteSource): AsyncGenerator<MarcReadResult> {
  let pending: Buffer[] = [];
  let pendingLength = 0;
  let pendingOffset = 0; // stream offset of pending[0][0]
  let streamOffset = 0; // stream offset of the current chunk
  let index = 0;
  let skipping = false; // discarding an over-long run of bytes up to the next record terminator

  function* segment(seg: Buffer, offset: number): Generator<MarcReadResult> {
    let start = 0;
    while (start < seg.length && isFiller(seg[start]!)) start++;
    if (start === seg.length - 1 && seg[start] === RECORD_TERMINATOR) return; // stray terminator
    if (start === seg.length) return;
    let rec = seg.subarray(start);
    let recOffset = offset + start;
    // A truncated record swallows the next one up to its terminator: find that record's leader and keep it.
    const declared = digits(rec, 0, 5);
    if (declared !== rec.length) {
      for (let p = 1; p < rec.length - LEADER_LENGTH; p++) {
        if (looksLikeLeaderAt(rec, p, rec.length - p)) {
          index++;
          yield {
            ok: false,
            index,
            offset: recOffset,
            error: `record ${index} is truncated or corrupt: ${p} bytes before the next record's leader (its leader says ${declared ?? 'no length'})`,
          };
          rec = rec.subarray(p);
          recOffset += p;
          break;
        }
      }
    }
    index++;
    try {
      yield { ok: true, record: parseIso2709Record(rec, index), index, offset: recOffset };
    } catch (e) {
      if (!(e instanceof RecordError)) throw e;
      yield { ok: false, index, offset: recOffset, error: e.message };
    }
  }

  for await (const raw of input as AsyncIterable<Buffer | Uint8Array | string>) {
    const chunk = asBuffer(raw);
    let from = 0;
    while (from < chunk.length) {
      const end = chunk.indexOf(RECORD_TERMINATOR, from);
      if (end === -1) {
        if (!skipping) {
          if (pendingLength === 0) pendingOffset = streamOffset + from;
          pending.push(chunk.subarray(from));
          pendingLength += chunk.length - from;
          if (pendingLength > MAX_RECORD_LENGTH) {
            index++;
            yield {
              ok: false,
              index,
              offset: pendingOffset,
              error: `record ${index} is corrupt: no record terminator within ${MAX_RECORD_LENGTH} bytes (not ISO 2709?)`,
            };
            skipping = true;
            pending = [];
            pendingLength = 0;
          }
        }
        break;
      }
      if (skipping) {
        skipping = false;
      } else if (pendingLength === 0) {
        yield* segment(chunk.subarray(from, end + 1), streamOffset + from);
      } else {
        pending.push(chunk.subarray(from, end + 1));
        const seg = Buffer.concat(pending, pendingLength + end + 1 - from);
        const segOffset = pendingOffset;
        pending = [];
        pendingLength = 0;
        yield* segment(seg, segOffset);
      }
      from = end + 1;
    }
    streamOffset += chunk.length;
  }

  if (pendingLength > 0 && !skipping) {
    const rest = Buffer.concat(pending, pendingLength);
    if (!rest.every(isFiller)) {
      index++;
      const declared = digits(rest, 0, 5);
      yield {
        ok: false,
        index,
        offset: pendingOffset,
        error: `record ${index} is truncated: the file ends after ${rest.length} bytes${declared === null ? '' : ` of ${declared}`} with no record terminator`,
      };
    }
  }
}
