/**
 * Streaming ISO 2709 (binary MARC 21) reader. It works on bytes: records are split on the record terminator
 * across chunk boundaries and decoded only once complete, so a multibyte UTF-8 character split between two
 * chunks is never damaged, and every length and offset (leader, directory) is counted in bytes as the
 * standard says. Memory is bounded by the largest record (99,999 bytes) plus one chunk.
 * A bad record is reported as `{ok: false}` and reading goes on with the next one.
 */
import { isUtf8 } from 'node:buffer';
import type { Readable } from 'node:stream';
import { Marc8Decoder } from './marc8';
import type { DataField, MarcField, MarcReadResult, MarcRecord, Subfield } from './record';
import { isControlTag, withUnicodeLeader } from './record';

const RECORD_TERMINATOR = 0x1d;
const FIELD_TERMINATOR = 0x1e;
const SUBFIELD_DELIMITER = 0x1f;
const LEADER_LENGTH = 24;
/** The leader's record length has five digits. */
const MAX_RECORD_LENGTH = 99999;

export type ByteSource = AsyncIterable<Buffer | Uint8Array | string> | Readable;

/** The character encodings a reader can be told to use; `auto` follows leader/09 (and the bytes). */
export type MarcEncoding = 'auto' | 'utf8' | 'marc8';

export interface Iso2709Options {
  /** `auto` (the default): leader/09 `a` is UTF-8, blank is MARC-8 unless the bytes are UTF-8 (see below). */
  encoding?: MarcEncoding;
}

/** A record read from its bytes, with what was odd about it and the encoding its text was read in. */
export interface Iso2709Reading {
  record: MarcRecord;
  warnings: string[];
  encoding: 'utf8' | 'marc8';
}

class RecordError extends Error {}

/** Warnings of one record: repeats counted, not listed, and at most MAX_WARNINGS kinds kept. */
const MAX_WARNINGS = 20;
class Warnings {
  private readonly seen = new Map<string, number>();
  add(message: string): void {
    const n = this.seen.get(message);
    if (n !== undefined) this.seen.set(message, n + 1);
    else if (this.seen.size < MAX_WARNINGS) this.seen.set(message, 1);
    else this.seen.set('(more warnings not listed)', 1);
  }
  list(): string[] {
    return [...this.seen].map(([m, n]) => (n > 1 ? `${m} (${n} times)` : m));
  }
}

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

/** Bytes (read as latin1) for a message: quoted, anything but printable ASCII shown as `?`. */
function printable(text: string): string {
  return JSON.stringify(text.replace(/[^\x20-\x7e]/g, '?'));
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

interface Entry {
  tag: string;
  from: number;
  /** Exclusive, before the field terminator. */
  to: number;
}

/** True when the record's bytes hold a byte of 0x80 or more. */
function hasNonAscii(buf: Buffer): boolean {
  for (let i = 0; i < buf.length; i++) if (buf[i]! >= 0x80) return true;
  return false;
}

/**
 * Which encoding the record's text is read in. `auto`: leader/09 `a` is UTF-8; blank is MARC-8, unless the bytes
 * are valid UTF-8 and not all ASCII (a UTF-8 record whose leader was not updated: decoding it as MARC-8 would
 * garble every non-ASCII character); anything else is read as UTF-8 if the bytes are UTF-8.
 */
function chooseEncoding(
  buf: Buffer,
  leader: string,
  index: number,
  wanted: MarcEncoding,
  warn: Warnings,
): 'utf8' | 'marc8' {
  const coding = leader[9] ?? '';
  if (wanted === 'marc8') {
    if (coding === 'a') warn.add('leader/09 says UTF-8 (a); read as MARC-8 as asked');
    return 'marc8';
  }
  const utf8 = isUtf8(buf);
  if (wanted === 'utf8') {
    if (!utf8) {
      throw new RecordError(
        `record ${index} holds bytes that are not UTF-8, and UTF-8 was asked for (is the file MARC-8? try --encoding auto or marc8)`,
      );
    }
    if (coding !== 'a') warn.add(`leader/09 is ${printable(coding)}, not a; read as UTF-8 as asked`);
    return 'utf8';
  }
  if (coding === 'a') {
    if (!utf8) {
      throw new RecordError(
        `record ${index} says it is UTF-8 (leader/09 = a) but holds bytes that are not UTF-8: if it is MARC-8 ` +
          'under a wrong leader/09, read it with --encoding marc8 (rto marc read FILE --encoding marc8 shows the result)',
      );
    }
    return 'utf8';
  }
  if (coding === ' ') {
    if (utf8 && hasNonAscii(buf)) {
      warn.add(
        'leader/09 is blank (MARC-8) but the record is valid UTF-8 with non-ASCII characters: read as UTF-8',
      );
      return 'utf8';
    }
    return 'marc8';
  }
  if (utf8) {
    warn.add(`leader/09 is ${printable(coding)}, neither a (UTF-8) nor blank (MARC-8); read as UTF-8`);
    return 'utf8';
  }
  throw new RecordError(
    `record ${index} has leader/09 ${printable(coding)}, neither a (UTF-8) nor blank (MARC-8), and bytes that are not UTF-8: ` +
      'its encoding cannot be told (read it with --encoding marc8 if it is MARC-8)',
  );
}

/**
 * The fields' places from the directory. When the directory does not match the data (lengths counted in
 * characters instead of bytes, a byte too many somewhere) but the data holds exactly one field terminator per
 * entry, the fields are taken between the terminators, in the order of their starting positions, with a warning.
 */
function locateFields(
  buf: Buffer,
  index: number,
  base: number,
  directoryEnd: number,
  entryLength: number,
  lenDigits: number,
  posDigits: number,
  warn: Warnings,
): Entry[] {
  const dataEnd = buf.length - 1; // the record terminator
  const raw: { tag: string; length: number; start: number }[] = [];
  for (let e = LEADER_LENGTH; e < directoryEnd; e += entryLength) {
    const tag = buf.toString('latin1', e, e + 3);
    const length = digits(buf, e + 3, lenDigits);
    const start = digits(buf, e + 3 + lenDigits, posDigits);
    if (!/^[0-9A-Za-z]{3}$/.test(tag) || length === null || start === null) {
      throw new RecordError(
        `record ${index} has a bad directory entry ${printable(buf.toString('latin1', e, e + entryLength))}`,
      );
    }
    raw.push({ tag, length, start });
  }
  let problem: string | null = null;
  const entries: Entry[] = [];
  for (const r of raw) {
    const from = base + r.start;
    const to = from + r.length;
    if (r.length < 1 || to > dataEnd) {
      problem ??= `record ${index} field ${r.tag}: length ${r.length} at ${r.start} runs past the end of the record`;
    } else if (buf[to - 1] !== FIELD_TERMINATOR) {
      problem ??= `record ${index} field ${r.tag}: does not end with a field terminator (lengths counted in characters, not bytes?)`;
    }
    entries.push({ tag: r.tag, from, to: to - 1 });
  }
  const declared = digits(buf, 0, 5);
  if (problem === null) {
    if (declared !== buf.length) {
      warn.add(
        `the leader says ${declared} bytes; the record has ${buf.length} (every field is where the directory says)`,
      );
    }
    return entries;
  }
  // Recovery: one field per terminator, in the order the directory's starting positions give.
  const segments: [number, number][] = [];
  let from = base;
  for (let i = base; i < dataEnd; i++) {
    if (buf[i] === FIELD_TERMINATOR) {
      segments.push([from, i]);
      from = i + 1;
    }
  }
  const tail = from < dataEnd;
  if (segments.length !== raw.length || tail) {
    throw new RecordError(
      declared !== buf.length
        ? `record ${index} has a bad length: its leader says ${declared} bytes, the record terminator comes after ${buf.length}; ${problem.replace(/^record \d+ /, '')}`
        : problem,
    );
  }
  const order = raw.map((r, i) => ({ r, i })).sort((a, b) => a.r.start - b.r.start || a.i - b.i);
  const out: Entry[] = new Array<Entry>(raw.length);
  order.forEach(({ r, i }, k) => {
    out[i] = { tag: r.tag, from: segments[k]![0], to: segments[k]![1] };
  });
  warn.add(
    `the directory does not match the data (${problem.replace(/^record \d+ /, '')}); each field was read up to its field terminator`,
  );
  return out;
}

/**
 * Reads one record: `buf` runs from the first byte of the leader to the record terminator inclusive.
 * Throws RecordError with a message that names the problem.
 */
export function readIso2709Record(buf: Buffer, index: number, opts: Iso2709Options = {}): Iso2709Reading {
  if (buf.length < LEADER_LENGTH + 2)
    throw new RecordError(`record ${index} is too short (${buf.length} bytes)`);
  const leader = buf.toString('latin1', 0, LEADER_LENGTH);
  if (digits(buf, 0, 5) === null) {
    throw new RecordError(`record ${index} has no record length in its leader (${printable(leader)})`);
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
  const warn = new Warnings();
  const extra = directoryLength % entryLength;
  const directoryEnd = base - 1 - extra;
  if (extra !== 0) {
    // A few bytes after the last whole entry: harmless when every field of the data has its entry (as many
    // field terminators as entries), otherwise a field would be lost.
    const entriesCount = (directoryEnd - LEADER_LENGTH) / entryLength;
    let terminators = 0;
    for (let i = base; i < buf.length - 1; i++) if (buf[i] === FIELD_TERMINATOR) terminators++;
    if (terminators !== entriesCount) {
      throw new RecordError(
        `record ${index} has a bad directory: ${directoryLength} bytes is not a whole number of ${entryLength}-byte entries`,
      );
    }
    warn.add(
      `the directory has ${extra} byte(s) after its last entry (${printable(buf.toString('latin1', directoryEnd, base - 1))}), ignored: every field has its entry`,
    );
  }
  const entries = locateFields(buf, index, base, directoryEnd, entryLength, lenDigits, posDigits, warn);
  const encoding = chooseEncoding(buf, leader, index, opts.encoding ?? 'auto', warn);
  const marc8 = encoding === 'marc8' ? new Marc8Decoder() : null;
  const text = (from: number, to: number): string => {
    if (!marc8) return buf.toString('utf8', from, to);
    return marc8.decode(buf, from, to);
  };
  const fields: MarcField[] = [];
  const invalid = new Warnings();
  for (const { tag, from, to } of entries) {
    marc8?.startField();
    fields.push(
      isControlTag(tag)
        ? { tag, value: text(from, to) }
        : parseDataField(buf, tag, from, to, index, text, warn),
    );
    if (marc8 && marc8.problems.length) {
      for (const p of marc8.problems) warn.add(`field ${tag}: ${p}`);
      marc8.problems.length = 0;
    }
    if (marc8 && marc8.invalid.length) {
      for (const p of marc8.invalid) invalid.add(`field ${tag}: ${p}`);
      marc8.invalid.length = 0;
    }
  }
  const bad = invalid.list();
  if (bad.length) {
    // Told the file is MARC-8, the operator sees the text with U+FFFD; otherwise such a record is refused.
    if (opts.encoding === 'marc8') for (const b of bad) warn.add(`${b} (shown as U+FFFD)`);
    else {
      throw new RecordError(
        `record ${index} is not MARC-8 (leader/09 ${printable(leader[9] ?? '')}): ${bad.slice(0, 3).join('; ')}` +
          `${bad.length > 3 ? `; and ${bad.length - 3} more` : ''}. Another 8-bit character set (Latin-1, Windows-1251, ` +
          'CP866?) cannot be read; --encoding marc8 shows it read as MARC-8 anyway',
      );
    }
  }
  // The text is Unicode now, whatever the file had: leader/09 says so (as yaz-marcdump -l 9=97 does).
  return { record: { leader: withUnicodeLeader(leader), fields }, warnings: warn.list(), encoding };
}

/** Parses one record (see readIso2709Record) and returns it without its warnings. */
export function parseIso2709Record(buf: Buffer, index: number, opts: Iso2709Options = {}): MarcRecord {
  return readIso2709Record(buf, index, opts).record;
}

/** An indicator is one ASCII character; a byte of 0x80 or more is no character of its own (U+FFFD, as yaz). */
function indicatorAt(
  buf: Buffer,
  from: number,
  k: number,
  present: number,
  tag: string,
  warn: Warnings,
): string {
  if (k >= present) return ' ';
  const b = buf[from + k]!;
  if (b < 0x80) return String.fromCharCode(b);
  warn.add(
    `field ${tag}: indicator ${k + 1} is byte 0x${b.toString(16)}, not an ASCII character; shown as U+FFFD`,
  );
  return '\ufffd';
}

function parseDataField(
  buf: Buffer,
  tag: string,
  from: number,
  to: number,
  index: number,
  text: (from: number, to: number) => string,
  warn: Warnings,
): DataField {
  // The indicators are the first two bytes; a field whose first delimiter comes sooner lacks them (blank).
  let first = buf.indexOf(SUBFIELD_DELIMITER, from);
  if (first === -1 || first > to) first = to;
  const indicatorBytes = Math.min(2, first - from);
  if (indicatorBytes < 2)
    warn.add(`field ${tag}: ${indicatorBytes === 0 ? 'no indicators' : 'one indicator'}; blank taken`);
  const ind1 = indicatorAt(buf, from, 0, indicatorBytes, tag, warn);
  const ind2 = indicatorAt(buf, from, 1, indicatorBytes, tag, warn);
  // Extra characters before the first delimiter (e.g. `970 ␠␠\`): dropped, as pymarc does.
  if (first > from + 2) {
    const extra = buf.toString('latin1', from + 2, first);
    warn.add(
      first === to
        ? `field ${tag}: no subfield delimiter; ${printable(extra)} after the indicators dropped`
        : `field ${tag}: ${printable(extra)} between the indicators and the first subfield dropped`,
    );
  }
  const subfields: Subfield[] = [];
  let pos = first;
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
      subfields.push({ code: String.fromCharCode(buf[pos + 1]!), value: text(pos + 2, next) });
    } else warn.add(`field ${tag}: a subfield delimiter with no code dropped`);
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
export async function* readIso2709(
  input: ByteSource,
  opts: Iso2709Options = {},
): AsyncGenerator<MarcReadResult> {
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
      const r = readIso2709Record(rec, index, opts);
      yield {
        ok: true,
        record: r.record,
        index,
        offset: recOffset,
        warnings: r.warnings,
        encoding: r.encoding,
      };
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
