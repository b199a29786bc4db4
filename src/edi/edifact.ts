/**
 * EDIFACT reader: bytes in, interchanges/groups/messages/segments out, read message by message in bounded
 * memory (a window of the file, and the segments of one message at a time).
 *
 * Two modes:
 * - tolerant (`readEdifact`, what the worker and `rto edi read` use): each message is read on its own. A
 *   message that cannot be read (a bad segment, no UNT, bytes its charset does not allow, merged segments) is
 *   reported with its place and the reader goes on with the next one. Envelope counts and references that
 *   are off (UNT, UNE, UNZ) are warnings, as Koha, Evergreen and Business::Edifact treat them: real vendors
 *   send such files. Only a UNT count that is off *and* explained by an apostrophe look-alike (segments were
 *   merged, so the message's content is wrong) makes the message unreadable.
 * - strict (`parseEdifact`): the first problem or envelope mismatch throws an EdifactError, as before; the
 *   whole file is kept in memory. For tests, the writer's round trips and small files.
 */
import { EdifactError, vendorText as v, type EdifactLocation } from './errors';
import { findSegmentEnd, isPadding, skipLayout, splitSegment } from './tokenize';
import {
  DEFAULT_SEPARATORS,
  LEVEL_B_SEPARATORS,
  asciiDecoder,
  decoderFor,
  parseUna,
  type Decoder,
} from './syntax';
import type { EdifactFile, Group, Interchange, Message, Party, Segment, Separators } from './types';

export { EdifactError } from './errors';
export type * from './types';

const TAG = /^[A-Z][A-Z0-9]{2}$/;
const UTF8_BOM = [0xef, 0xbb, 0xbf];

/** Characters that look like an apostrophe but are not the terminator, as text or as UTF-8 read as Latin-1. */
const LOOKALIKE_TERMINATOR = /[\u2018\u2019\u201b\u00b4`]|\u00e2\u0080[\u0098\u0099]/;

/** Bytes read from a file at a time. */
const CHUNK_BYTES = 1 << 20;
/** A segment longer than this is not EDIFACT (real segments are a few hundred bytes): a missing terminator. */
export const MAX_SEGMENT_BYTES = 1 << 20;
/**
 * The largest message read (its segments are held while it is read, about 50 bytes of heap per byte). A real
 * library invoice of a thousand lines is about 300 KB; a bigger message is reported, not read.
 */
export const MAX_MESSAGE_BYTES = 4 << 20;

/** Where the bytes come from: a whole buffer, or a reader filling a buffer (a file read in chunks). */
export type ByteSource = Buffer | ((into: Buffer, offset: number, length: number) => number);

export interface ParseOptions {
  fileName?: string;
  /** Largest message read, in bytes (default MAX_MESSAGE_BYTES). */
  maxMessageBytes?: number;
}

/** One thing found in the file, in file order. */
export type EdifactItem =
  /** A message read whole; `warnings` are its envelope oddities (UNT count or reference off). */
  | { kind: 'message'; message: Message; interchange: Interchange; group?: Group; warnings: string[] }
  /** A message that could not be read, with why and where (other messages are not affected). */
  | {
      kind: 'unreadable';
      ref?: string;
      type?: string;
      interchange?: Interchange;
      error: EdifactError;
    }
  /** An envelope oddity outside a message (UNZ/UNE count or reference, a missing UNZ, an empty segment). */
  | { kind: 'warning'; text: string }
  /** Data lost outside any message: segments outside a message, an interchange that cannot be decoded. */
  | { kind: 'problem'; error: EdifactError }
  /** Nothing in the file is EDIFACT (no UNA or UNB where it must start): nothing else is reported. */
  | { kind: 'not-edifact'; error: EdifactError };

/** Reads the whole file strictly: the first problem (or envelope mismatch) throws an EdifactError. */
export function parseEdifact(data: Buffer, opts: ParseOptions = {}): EdifactFile {
  const reader = new Reader(data, opts, true);
  for (const item of reader.items()) void item;
  const file: EdifactFile = { interchanges: reader.closedInterchanges };
  if (opts.fileName !== undefined) file.fileName = opts.fileName;
  return file;
}

/**
 * Reads a file message by message, tolerantly (see the module comment). Memory stays bounded by the window
 * and the largest message, whatever the size of the file.
 */
export function* readEdifact(source: ByteSource, opts: ParseOptions = {}): Generator<EdifactItem> {
  yield* new Reader(source, opts, false).items();
}

function party(components: string[] | undefined): Party {
  const [id = '', qualifier] = components ?? [];
  return qualifier ? { id, qualifier } : { id };
}

/** UNB/UNG date and time (YYMMDD or CCYYMMDD, HHMM) as 'YYYY-MM-DDTHH:MM'; the raw text if unreadable. */
function preparedAt(components: string[] | undefined): string {
  const [date = '', time = ''] = components ?? [];
  let full: string;
  if (/^\d{8}$/.test(date)) full = date;
  else if (/^\d{6}$/.test(date)) full = (Number(date.slice(0, 2)) < 70 ? '20' : '19') + date;
  else return [date, time].filter((s) => s).join(':');
  const iso = `${full.slice(0, 4)}-${full.slice(4, 6)}-${full.slice(6, 8)}`;
  return /^\d{4}$/.test(time) ? `${iso}T${time.slice(0, 2)}:${time.slice(2)}` : iso;
}

function first(elements: string[][], i: number): string | undefined {
  const val = elements[i]?.[0];
  return val === undefined || val === '' ? undefined : val;
}

interface RawSegment {
  tag: string;
  text: string;
  fileSegment: number;
}

interface OpenMessage {
  message: Message;
  bytes: number;
}

interface OpenInterchange {
  interchange: Interchange;
  /** Messages outside any group. */
  ungrouped: number;
  /** Messages seen (read or not), for the UNZ count. */
  seen: number;
  /** No UNB: the file's messages are read as one interchange without an envelope. */
  implicit?: boolean;
  /** Its syntax identifier cannot be decoded: its segments are skipped, its messages counted as lost. */
  undecodable?: { lost: number; error: EdifactError };
}

interface OpenGroup {
  group: Group;
  seen: number;
}

/** Thrown inside the reader for a problem of the message being read; caught by the main loop. */
class MessageProblem extends Error {
  constructor(readonly error: EdifactError) {
    super(error.message);
  }
}

class Reader {
  private buf: Buffer;
  /** Valid bytes in `buf`. */
  private end: number;
  private pos = 0;
  private eof: boolean;
  private readonly fill?: (into: Buffer, offset: number, length: number) => number;

  private seps: Separators = DEFAULT_SEPARATORS;
  private decoder: Decoder = asciiDecoder;
  private unaSeen = false;
  private fileSegment = 0;
  private anyInterchange = false;
  private ic: OpenInterchange | undefined;
  private grp: OpenGroup | undefined;
  private msg: OpenMessage | undefined;
  /** After a message could not be read: its remaining segments are skipped up to its UNT. */
  private skipping = false;
  /** The segment being handled, for error locations. */
  private raw: RawSegment | undefined;
  /** Consecutive segments outside any message, reported as one problem (the first one's). */
  private stray: { error: EdifactError; count: number; inInterchange: boolean } | undefined;
  private readonly out: EdifactItem[] = [];
  private readonly maxMessageBytes: number;
  /** Strict mode keeps every interchange (with its messages) to hand back. */
  readonly closedInterchanges: Interchange[] = [];

  constructor(
    source: ByteSource,
    private readonly opts: ParseOptions,
    private readonly strict: boolean,
  ) {
    this.maxMessageBytes = opts.maxMessageBytes ?? MAX_MESSAGE_BYTES;
    if (Buffer.isBuffer(source)) {
      this.buf = source;
      this.end = source.length;
      this.eof = true;
    } else {
      this.fill = source;
      this.buf = Buffer.alloc(CHUNK_BYTES * 2);
      this.end = 0;
      this.eof = false;
    }
  }

  private get fileName(): string | undefined {
    return this.opts.fileName;
  }

  /** Makes at least `n` bytes after `pos` available if the file has them; false when it does not. */
  private ensure(n: number): boolean {
    while (this.end - this.pos < n && !this.eof) this.more();
    return this.end - this.pos >= n;
  }

  /** Reads the next chunk into the window, dropping what was consumed (and growing it for a long segment). */
  private more(): void {
    const fill = this.fill!;
    if (this.pos > 0) {
      this.buf.copy(this.buf, 0, this.pos, this.end);
      this.end -= this.pos;
      this.pos = 0;
    }
    if (this.buf.length - this.end < CHUNK_BYTES) {
      const bigger = Buffer.alloc(this.buf.length * 2);
      this.buf.copy(bigger, 0, 0, this.end);
      this.buf = bigger;
    }
    const n = fill(this.buf, this.end, this.buf.length - this.end);
    if (n <= 0) this.eof = true;
    else this.end += n;
  }

  *items(): Generator<EdifactItem> {
    try {
      yield* this.loop();
    } finally {
      this.out.length = 0;
    }
  }

  private *loop(): Generator<EdifactItem> {
    if (this.ensure(3) && UTF8_BOM.every((b, i) => this.buf[this.pos + i] === b)) this.pos += 3;
    for (;;) {
      if (!this.skipPadding()) break;
      if (
        !this.anyInterchange &&
        !this.ic &&
        !this.startsWith('UNA') &&
        !this.startsWith('UNB') &&
        (this.strict || !this.startsWith('UNH'))
      ) {
        const rest = this.buf.toString('latin1', this.pos, Math.min(this.end, this.pos + 40));
        const error = this.error('not an EDIFACT file: it does not begin with UNA, UNB or UNH', {
          excerpt: rest,
        });
        if (this.strict) throw error;
        yield { kind: 'not-edifact', error };
        return;
      }
      try {
        if (!this.ic && this.startsWith('UNA')) this.readUna();
        else {
          if (!this.ic && !this.unaSeen && this.startsWith('UNB') && this.buf[this.pos + 3] === 0x1d)
            this.seps = LEVEL_B_SEPARATORS;
          this.readSegment();
        }
      } catch (e) {
        if (e instanceof NotEdifact) {
          yield* this.flush();
          return;
        }
        if (!(e instanceof MessageProblem)) throw e;
        if (this.strict) throw e.error;
        this.messageLost(e.error);
      }
      // Most segments produce nothing: no generator is made for them.
      while (this.out.length > 0) yield this.out.shift()!;
    }
    this.raw = undefined;
    this.endStray();
    if (this.msg) {
      const m = this.msg.message;
      const error = this.error(
        `the file ends inside message ${v(m.ref)} (no UNT after its ${m.segments.length} segments): truncated file?`,
        { messageRef: m.ref },
      );
      if (this.strict) throw error;
      this.lose(error);
    }
    if (this.ic?.implicit) this.closeOpenInterchange();
    if (this.ic) {
      const i = this.ic.interchange;
      this.envelope(
        this.error(`the file ends inside interchange ${v(i.controlRef)} (no UNZ): truncated file?`, {
          interchangeRef: i.controlRef,
        }),
      );
      this.closeOpenInterchange();
    }
    if (!this.anyInterchange) {
      const error = this.error('no interchange (UNB segment) found');
      if (this.strict) throw error;
      yield { kind: 'not-edifact', error };
    }
    yield* this.flush();
  }

  private *flush(): Generator<EdifactItem> {
    while (this.out.length > 0) yield this.out.shift()!;
  }

  /** Skips layout and padding between segments; false at the end of the file (only padding left). */
  private skipPadding(): boolean {
    for (;;) {
      if (!this.ensure(1)) return false;
      this.pos = skipLayout(this.buf, this.pos, this.seps, this.end);
      if (this.pos < this.end && !isPadding(this.buf[this.pos])) return true;
      if (this.pos >= this.end) continue;
      // Padding (a space, NUL, Ctrl-Z): the end of the file if only padding follows, else part of a segment.
      let i = this.pos;
      for (;;) {
        while (i < this.end && isPadding(this.buf[i])) i++;
        if (i < this.end) return true;
        if (this.eof) return false;
        const offset = i - this.pos;
        this.more();
        i = this.pos + offset;
      }
    }
  }

  private startsWith(s: string): boolean {
    if (!this.ensure(s.length)) return false;
    return this.buf.toString('latin1', this.pos, this.pos + s.length) === s;
  }

  private readUna(): void {
    this.ensure(16);
    const six = this.buf.toString('latin1', this.pos + 3, Math.min(this.end, this.pos + 9));
    // A 5-character UNA (no reserved character): what follows its fifth character is the UNB.
    const afterFive = skipLayout(this.buf, this.pos + 8, this.seps, this.end);
    const afterSix = skipLayout(this.buf, this.pos + 9, this.seps, this.end);
    const isUnb = (at: number) => this.buf.toString('latin1', at, at + 3) === 'UNB';
    let text = six;
    let length = 9;
    // "UNA:+.?'" then a line break reads as a 6-character UNA with the line break as terminator; it is a
    // 5-character one when the UNB line itself ends with the fifth character.
    const lineBreakSixth = six[5] === '\n' || six[5] === '\r';
    if (
      six.length >= 5 &&
      isUnb(afterFive) &&
      (!isUnb(afterSix) || (lineBreakSixth && this.lineEndsWith(afterFive - this.pos, six[4]!)))
    ) {
      // UNA:+.?' — component, element, decimal, release, terminator.
      text = six.slice(0, 4) + ' ' + six[4]!;
      length = 8;
    }
    const seps = parseUna(text);
    if (typeof seps === 'string') {
      const error = this.error(seps, { excerpt: 'UNA' + six });
      if (this.strict || !this.anyInterchange) throw this.notEdifact(error);
      // A bad UNA later in the file: the interchange it starts cannot be read.
      this.problem(error);
      this.pos += Math.min(length, this.end - this.pos);
      return;
    }
    if (length === 8) {
      this.warn(
        `${this.fileName !== undefined ? this.fileName + ': ' : ''}UNA has 5 characters instead of 6 (no reserved character); read as "UNA${text}"`,
      );
    }
    this.seps = seps;
    this.unaSeen = true;
    this.pos += length;
  }

  /** Whether the line starting `rel` bytes after `pos` (within a few KB) ends with `ch` before its line break. */
  private lineEndsWith(rel: number, ch: string): boolean {
    this.ensure(rel + 4096);
    const at = this.pos + rel;
    const lf = this.buf.indexOf(0x0a, at);
    if (lf < 0 || lf >= this.end) return false;
    let last = lf - 1;
    if (this.buf[last] === 0x0d) last--;
    return last >= at && this.buf[last] === ch.charCodeAt(0);
  }

  private notEdifact(error: EdifactError): Error {
    if (this.strict) return error;
    this.out.push({ kind: 'not-edifact', error });
    return new NotEdifact();
  }

  private readSegment(): void {
    const { seps } = this;
    const start = this.pos;
    let end = findSegmentEnd(this.buf, start, seps, this.end);
    while (end < 0 && !this.eof && this.end - this.pos <= MAX_SEGMENT_BYTES) {
      this.more();
      end = findSegmentEnd(this.buf, this.pos, seps, this.end);
    }
    const begin = this.pos;
    this.fileSegment++;
    if (end < 0) {
      const rest = this.buf.toString('latin1', begin, Math.min(this.end, begin + 80));
      this.raw = { tag: rest.slice(0, 3), text: rest, fileSegment: this.fileSegment };
      if (this.end - begin > MAX_SEGMENT_BYTES) {
        // Not a segment: skip to the next terminator (or the end of the file) and carry on from there.
        this.skipLongSegment();
        return this.fault(
          this.error(
            `a segment longer than ${MAX_SEGMENT_BYTES} bytes (no terminator "${seps.terminator}"): not EDIFACT, or a wrong terminator`,
            { excerpt: rest },
          ),
        );
      }
      this.pos = this.end;
      return this.fault(
        this.error(
          `the file ends in the middle of a segment (no terminator "${seps.terminator}"): truncated file?`,
          { excerpt: rest },
        ),
      );
    }
    this.pos = end + 1;
    if (end === begin) {
      // An empty segment (a doubled terminator): nothing is lost.
      this.raw = { tag: '', text: '', fileSegment: this.fileSegment };
      this.fileSegment--;
      if (this.strict) throw this.error('an empty segment (two terminators in a row)');
      this.warn(
        `${this.fileName !== undefined ? this.fileName + ': ' : ''}an empty segment (two terminators in a row) after segment ${this.fileSegment} was ignored`,
      );
      return;
    }
    if (this.ic?.undecodable && !this.startsWithAt(begin, 'UNZ') && !this.startsWithAt(begin, 'UNB')) {
      if (this.startsWithAt(begin, 'UNH')) this.ic.undecodable.lost++;
      return;
    }
    let text: string;
    try {
      text = this.decoder(this.buf, begin, end);
    } catch {
      const rest = this.buf.toString('latin1', begin, end);
      this.raw = { tag: rest.slice(0, 3), text: rest, fileSegment: this.fileSegment };
      const id = this.ic?.interchange.syntax.id ?? '?';
      return this.fault(
        this.error(`the bytes are not valid UTF-8, though UNB declares syntax ${v(id)}`, { excerpt: rest }),
      );
    }
    const elements = splitSegment(text, seps);
    const tag = elements.shift()![0]!;
    this.raw = { tag, text, fileSegment: this.fileSegment };
    if (!TAG.test(tag)) {
      return this.fault(
        this.error(
          `"${v(tag)}" is not a segment tag (3 capital letters or digits): a wrong or missing terminator?`,
          { tag: undefined },
        ),
      );
    }
    this.handle(tag, elements, end - begin + 1);
  }

  private startsWithAt(at: number, s: string): boolean {
    return this.buf.toString('latin1', at, at + s.length) === s;
  }

  private skipLongSegment(): void {
    for (;;) {
      const end = findSegmentEnd(this.buf, this.pos, this.seps, this.end);
      if (end >= 0) {
        this.pos = end + 1;
        return;
      }
      // Keep the last byte (a release character may precede the terminator in the next chunk).
      this.pos = Math.max(this.pos, this.end - 1);
      if (this.eof) {
        this.pos = this.end;
        return;
      }
      this.more();
    }
  }

  /** A problem with the current segment: the open message is lost; outside a message, data is lost. */
  private fault(error: EdifactError): void {
    if (this.strict) throw error;
    if (this.msg || this.skipping) {
      if (this.skipping) return;
      throw new MessageProblem(error);
    }
    this.strayAdd(error);
  }

  private handle(tag: string, elements: string[][], bytes: number): void {
    if (this.skipping && tag !== 'UNT' && !isEnvelope(tag)) return;
    switch (tag) {
      case 'UNA':
        return this.fault(
          this.error('UNA service string advice inside an interchange (only allowed before UNB)'),
        );
      case 'UNB':
        return this.openInterchange(elements);
      case 'UNZ':
        return this.closeInterchange(elements);
      case 'UNG':
        return this.openGroup(elements);
      case 'UNE':
        return this.closeGroup(elements);
      case 'UNH':
        return this.openMessage(elements, bytes);
      case 'UNT':
        return this.closeMessage(elements);
      default:
        if (!this.msg) {
          return this.fault(
            this.error(
              this.ic
                ? `segment ${tag} is outside a message (no UNH before it)`
                : `segment ${tag} is outside an interchange (no UNB before it)`,
            ),
          );
        }
        this.addToMessage(tag, elements, bytes);
    }
  }

  private addToMessage(tag: string, elements: string[][], bytes: number): Segment {
    const m = this.msg!;
    m.bytes += bytes;
    if (m.bytes > this.maxMessageBytes && !this.strict) {
      throw new MessageProblem(
        this.error(
          `message ${v(m.message.ref)} is larger than ${this.maxMessageBytes} bytes: not read (split it into smaller messages)`,
          { messageRef: m.message.ref },
        ),
      );
    }
    const segment: Segment = {
      tag,
      elements,
      index: m.message.segments.length + 1,
      fileSegment: this.fileSegment,
    };
    m.message.segments.push(segment);
    return segment;
  }

  /** The open message could not be read: reported, and its remaining segments skipped up to its UNT. */
  private messageLost(error: EdifactError): void {
    this.lose(error);
    this.skipping = true;
  }

  private lose(error: EdifactError): void {
    const m = this.msg?.message;
    this.out.push({
      kind: 'unreadable',
      ...(m ? { ref: m.ref, type: m.type } : {}),
      ...(this.ic ? { interchange: this.ic.interchange } : {}),
      error,
    });
    this.msg = undefined;
  }

  private problem(error: EdifactError): void {
    if (this.strict) throw error;
    this.out.push({ kind: 'problem', error });
  }

  private warn(text: string): void {
    this.out.push({ kind: 'warning', text });
  }

  /** An envelope count or reference that is off: an error when strict, a warning otherwise. */
  private envelope(error: EdifactError, messageWarnings?: string[]): void {
    if (this.strict) throw error;
    if (messageWarnings) messageWarnings.push(error.message);
    else this.warn(error.message);
  }

  private strayAdd(error: EdifactError): void {
    if (!this.ic && !this.stray && this.raw && !TAG.test(this.raw.tag)) {
      // Text after an interchange that is not a segment at all (a separator line, a signature): nothing lost.
      this.warn(`${error.message}: not EDIFACT, ignored`);
      return;
    }
    if (this.stray) this.stray.count++;
    else this.stray = { error, count: 1, inInterchange: this.ic !== undefined };
  }

  private endStray(): void {
    const s = this.stray;
    if (!s) return;
    this.stray = undefined;
    const { error } = s;
    if (s.count === 1) this.out.push({ kind: 'problem', error });
    else {
      const where = s.inInterchange ? 'outside any message' : 'outside any interchange';
      this.out.push({
        kind: 'problem',
        error: new EdifactError(
          `${error.problem}; it and the ${s.count - 1} segments after it (${where}) were not read`,
          error.location,
        ),
      });
    }
  }

  private openInterchange(elements: string[][]): void {
    this.endStray();
    if (this.ic) {
      const still = this.msg
        ? `message ${v(this.msg.message.ref)}`
        : `interchange ${v(this.ic.interchange.controlRef)}`;
      const error = this.error(`UNB while ${still} is still open: missing ${this.msg ? 'UNT' : 'UNZ'}`);
      if (this.strict) throw error;
      if (this.msg) this.lose(error);
      this.skipping = false;
      this.warn(
        this.error(
          `interchange ${v(this.ic.interchange.controlRef)} has no UNZ (a new UNB begins at segment ${this.fileSegment})`,
          { interchangeRef: this.ic.interchange.controlRef },
        ).message,
      );
      this.closeOpenInterchange();
    }
    this.anyInterchange = true;
    const [id = '', version = ''] = elements[0] ?? [];
    const controlRef = first(elements, 4);
    const interchange: Interchange = {
      syntax: { id, version },
      sender: party(elements[1]),
      recipient: party(elements[2]),
      preparedAt: preparedAt(elements[3]),
      controlRef: controlRef ?? '',
      separators: this.seps,
      messages: [],
    };
    const app = first(elements, 6);
    if (app !== undefined) interchange.applicationRef = app;
    this.ic = { interchange, ungrouped: 0, seen: 0 };
    if (controlRef === undefined) {
      const error = this.error('UNB has no interchange control reference (element 5)');
      if (this.strict) throw error;
      this.warn(error.message);
    }
    const decoder = decoderFor(id);
    if (!decoder) {
      const error = this.error(
        `unsupported syntax identifier "${v(id)}" (expected UNOA, UNOB, UNOC, … or UNOY)`,
      );
      if (this.strict) throw error;
      this.ic.undecodable = { lost: 0, error };
      return;
    }
    this.decoder = decoder;
  }

  /** A file of bare messages (no UNB, as some systems write): one interchange without an envelope. */
  private openImplicitInterchange(): void {
    this.anyInterchange = true;
    const interchange: Interchange = {
      syntax: { id: 'UNOC', version: '' },
      sender: { id: '' },
      recipient: { id: '' },
      preparedAt: '',
      controlRef: '',
      separators: this.seps,
      messages: [],
    };
    this.ic = { interchange, ungrouped: 0, seen: 0, implicit: true };
    this.decoder = decoderFor('UNOC')!;
    this.warn(
      `${this.fileName !== undefined ? this.fileName + ': ' : ''}no UNB: the messages are read without an interchange envelope, as Latin-1 (UNOC)`,
    );
  }

  private closeOpenInterchange(): void {
    const open = this.ic!;
    if (open.undecodable) this.reportUndecodable(open);
    if (this.strict) this.closedInterchanges.push(open.interchange);
    this.ic = undefined;
    this.grp = undefined;
    this.seps = DEFAULT_SEPARATORS;
    this.decoder = asciiDecoder;
    this.unaSeen = false;
  }

  private reportUndecodable(open: OpenInterchange): void {
    const { lost, error } = open.undecodable!;
    this.out.push({
      kind: 'problem',
      error: new EdifactError(
        `${error.problem}: its ${lost} message${lost === 1 ? '' : 's'} could not be read`,
        error.location,
      ),
    });
  }

  private closeInterchange(elements: string[][]): void {
    this.endStray();
    if (!this.ic) return this.fault(this.error('UNZ without an open interchange (no UNB before it)'));
    if (this.msg) {
      const error = this.error(`UNZ inside message ${v(this.msg.message.ref)}: missing UNT`);
      if (this.strict) throw error;
      this.lose(error);
    }
    this.skipping = false;
    if (this.grp) {
      const error = this.error(`UNZ inside group ${v(this.grp.group.ref)}: missing UNE`);
      if (this.strict) throw error;
      this.warn(error.message);
      this.grp = undefined;
    }
    const open = this.ic;
    const ic = open.interchange;
    const groups = ic.groups?.length ?? 0;
    if (groups > 0 && open.ungrouped > 0) {
      const error = this.error(`interchange ${v(ic.controlRef)} mixes groups (UNG) and ungrouped messages`, {
        interchangeRef: ic.controlRef,
      });
      if (this.strict) throw error;
      this.warn(error.message);
    }
    // ISO 9735: UNZ counts the groups if there are any, otherwise the messages.
    const [what, expected] = groups > 0 ? ['groups', groups] : ['messages', open.seen];
    if (!open.undecodable)
      this.checkTrailer(elements, 'UNZ', ic.controlRef, what, expected, { interchangeRef: ic.controlRef });
    this.closeOpenInterchange();
  }

  private openGroup(elements: string[][]): void {
    this.endStray();
    if (!this.ic) return this.fault(this.error('UNG outside an interchange (no UNB before it)'));
    if (this.msg) {
      const error = this.error(`UNG inside message ${v(this.msg.message.ref)}: missing UNT`);
      if (this.strict) throw error;
      this.lose(error);
    }
    this.skipping = false;
    if (this.grp) {
      const error = this.error(`UNG while group ${v(this.grp.group.ref)} is still open: missing UNE`);
      if (this.strict) throw error;
      this.warn(error.message);
    }
    const ref = first(elements, 4);
    if (ref === undefined) {
      const error = this.error('UNG has no group reference (element 5)');
      if (this.strict) throw error;
      this.warn(error.message);
    }
    const group: Group = {
      type: first(elements, 0) ?? '',
      sender: party(elements[1]),
      recipient: party(elements[2]),
      preparedAt: preparedAt(elements[3]),
      ref: ref ?? '',
      messages: [],
    };
    (this.ic.interchange.groups ??= []).push(group);
    this.grp = { group, seen: 0 };
  }

  private closeGroup(elements: string[][]): void {
    this.endStray();
    if (!this.grp) return this.fault(this.error('UNE without an open group (no UNG before it)'));
    if (this.msg) {
      const error = this.error(`UNE inside message ${v(this.msg.message.ref)}: missing UNT`);
      if (this.strict) throw error;
      this.lose(error);
    }
    this.skipping = false;
    const g = this.grp;
    this.checkTrailer(elements, 'UNE', g.group.ref, 'messages', g.seen, {
      interchangeRef: this.ic!.interchange.controlRef,
    });
    this.grp = undefined;
  }

  private openMessage(elements: string[][], bytes: number): void {
    this.endStray();
    if (!this.ic && !this.anyInterchange && !this.strict) this.openImplicitInterchange();
    if (!this.ic) return this.fault(this.error('UNH outside an interchange (no UNB before it)'));
    if (this.msg) {
      const error = this.error(`UNH while message ${v(this.msg.message.ref)} is still open: missing UNT`);
      if (this.strict) throw error;
      this.lose(error);
    }
    this.skipping = false;
    this.ic.seen++;
    if (this.grp) this.grp.seen++;
    else this.ic.ungrouped++;
    const ref = first(elements, 0);
    const [type = '', ...rest] = elements[1] ?? [];
    while (rest.length > 0 && rest[rest.length - 1] === '') rest.pop();
    const message: Message = { ref: ref ?? '', type, version: rest.join(':'), segments: [] };
    this.msg = { message, bytes: 0 };
    if (ref === undefined) throw this.messageFault(this.error('UNH has no message reference (element 1)'));
    if (type === '')
      throw this.messageFault(this.error(`UNH of message ${v(ref)} has no message type (element 2)`));
    this.addToMessage('UNH', elements, bytes);
  }

  private messageFault(error: EdifactError): Error {
    if (this.strict) return error;
    return new MessageProblem(error);
  }

  private closeMessage(elements: string[][]): void {
    if (this.skipping) {
      this.skipping = false;
      return;
    }
    if (!this.msg) return this.fault(this.error('UNT outside a message (no UNH before it)'));
    const open = this.msg;
    const m = open.message;
    this.addToMessage('UNT', elements, 0);
    const problems: string[] = [];
    const countEl = elements[0] ?? [];
    const said = countEl[0] ?? '';
    const counted = m.segments.length;
    const shown = v(countEl.join(this.seps.component));
    let countOff = false;
    if (!/^\d+$/.test(said)) {
      problems.push(`segment count "${shown}" is not a number (expected ${counted})`);
      countOff = true;
    } else if (Number(said) !== counted) {
      const why =
        Number(said) > counted
          ? 'segments were merged or lost (a wrong or missing terminator?)'
          : 'a segment was split (a stray terminator?) or the count is wrong';
      problems.push(
        `segment count says ${shown} but the message has ${counted} segments from UNH to UNT: ${why}`,
      );
      countOff = true;
    }
    const ref = first(elements, 1);
    if (ref === undefined) {
      const sep =
        countEl.length > 1
          ? ` (the count and the reference are joined by "${this.seps.component}" instead of "${this.seps.element}")`
          : '';
      problems.push(`UNT has no message reference (expected ${v(m.ref)})${sep}`);
    } else if (ref !== m.ref) {
      problems.push(`UNT reference ${v(ref)} does not match UNH reference ${v(m.ref)}`);
    }
    const warnings: string[] = [];
    if (problems.length > 0) {
      const hint = countOff ? lookalikeHint(m.segments, this.seps.terminator) : undefined;
      if (hint) problems.push(hint);
      const error = this.error(problems.join('; '), { messageRef: m.ref });
      if (this.strict) {
        this.msg = undefined;
        throw error;
      }
      if (hint) {
        // Segments were read as one: what the message says cannot be trusted.
        this.lose(error);
        return;
      }
      warnings.push(error.message);
    }
    this.msg = undefined;
    const ic = this.ic!.interchange;
    if (this.strict) {
      ic.messages.push(m);
      if (this.grp) this.grp.group.messages.push(m);
    }
    this.out.push({
      kind: 'message',
      message: m,
      interchange: ic,
      ...(this.grp ? { group: this.grp.group } : {}),
      warnings,
    });
  }

  /** UNZ/UNE: count and reference against the header. */
  private checkTrailer(
    elements: string[][],
    tag: string,
    headerRef: string,
    what: string,
    expected: number,
    loc: EdifactLocation,
  ): void {
    const problems: string[] = [];
    const countEl = elements[0] ?? [];
    const said = countEl[0] ?? '';
    const shown = v(countEl.join(this.seps.component));
    if (!/^\d+$/.test(said)) problems.push(`${what} count "${shown}" is not a number (expected ${expected})`);
    else if (Number(said) !== expected)
      problems.push(`${what} count says ${v(said)} but there are ${expected}`);
    const ref = first(elements, 1);
    const header = tag === 'UNZ' ? 'UNB' : 'UNG';
    if (ref === undefined) problems.push(`${tag} has no reference (expected ${v(headerRef)})`);
    else if (ref !== headerRef)
      problems.push(`${tag} reference ${v(ref)} does not match ${header} reference ${v(headerRef)}`);
    if (problems.length > 0) this.envelope(this.error(problems.join('; '), loc));
  }

  private error(problem: string, extra: EdifactLocation = {}): EdifactError {
    const loc: EdifactLocation = {};
    if (this.fileName !== undefined) loc.fileName = this.fileName;
    if (this.raw) {
      loc.fileSegment = this.raw.fileSegment;
      loc.tag = this.raw.tag;
      loc.excerpt = this.raw.text + this.seps.terminator;
    }
    if (this.msg) loc.messageRef = this.msg.message.ref;
    else if (this.ic) loc.interchangeRef = this.ic.interchange.controlRef;
    for (const [k, val] of Object.entries(extra) as [keyof EdifactLocation, string | number | undefined][]) {
      if (val === undefined) delete loc[k];
      else (loc as Record<string, unknown>)[k] = val;
    }
    return new EdifactError(problem, loc);
  }
}

/** Signals the main loop that the file is not EDIFACT (the item is already queued). */
class NotEdifact extends Error {}

function isEnvelope(tag: string): boolean {
  return tag === 'UNB' || tag === 'UNZ' || tag === 'UNG' || tag === 'UNE' || tag === 'UNH';
}

/** Names the first segment holding an apostrophe look-alike: the usual cause of merged segments. */
function lookalikeHint(segments: Segment[], terminator: string): string | undefined {
  for (const seg of segments) {
    const text = [seg.tag, ...seg.elements.map((e) => e.join(':'))].join('+');
    const m = LOOKALIKE_TERMINATOR.exec(text);
    if (!m) continue;
    const what =
      m[0].length > 1
        ? `a typographic apostrophe (U+${m[0] === '\u00e2\u0080\u0098' ? '2018' : '2019'}, UTF-8 bytes read as Latin-1)`
        : `"${m[0]}" (U+${m[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')})`;
    const at = Math.max(0, m.index - 12);
    const piece = text.slice(at, m.index + m[0].length + 12);
    return (
      `segment ${seg.fileSegment} (${seg.tag}) contains ${what} where the segment terminator "${terminator}" ` +
      `was probably meant, so segments were read as one: "…${piece.replace(/\u00e2\u0080([\u0098\u0099])/g, (_, c: string) => (c === '\u0098' ? '\u2018' : '\u2019'))}…"`
    );
  }
  return undefined;
}
