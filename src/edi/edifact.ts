/**
 * EDIFACT reader: bytes in, typed interchanges/groups/messages/segments out, with every envelope count
 * and reference checked. A wrong terminator (e.g. a typographic apostrophe) silently merges segments,
 * so the UNT/UNE/UNZ counts are the only guard; they are always checked and reported precisely.
 */
import { EdifactError, vendorText as v, type EdifactLocation } from './errors';
import { findSegmentEnd, onlyPaddingLeft, skipLayout, splitSegment } from './tokenize';
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

interface RawSegment {
  tag: string;
  text: string;
  fileSegment: number;
}

interface OpenMessage {
  message: Message;
  raws: RawSegment[];
}

interface OpenGroup {
  group: Group;
}

interface OpenInterchange {
  interchange: Interchange;
  /** Messages outside any group. */
  ungrouped: number;
}

export interface ParseOptions {
  fileName?: string;
}

export function parseEdifact(data: Buffer, opts: ParseOptions = {}): EdifactFile {
  return new Reader(data, opts.fileName).read();
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
  const v = elements[i]?.[0];
  return v === undefined || v === '' ? undefined : v;
}

class Reader {
  private pos = 0;
  private seps: Separators = DEFAULT_SEPARATORS;
  private decoder: Decoder = asciiDecoder;
  private unaSeen = false;
  private fileSegment = 0;
  private readonly interchanges: Interchange[] = [];
  private ic: OpenInterchange | undefined;
  private grp: OpenGroup | undefined;
  private msg: OpenMessage | undefined;
  /** The segment being handled, for error locations. */
  private raw: RawSegment | undefined;

  constructor(
    private readonly buf: Buffer,
    private readonly fileName: string | undefined,
  ) {}

  read(): EdifactFile {
    const { buf } = this;
    if (UTF8_BOM.every((b, i) => buf[i] === b)) this.pos = 3;
    for (;;) {
      this.pos = skipLayout(buf, this.pos, this.seps);
      if (this.pos >= buf.length || onlyPaddingLeft(buf, this.pos)) break;
      if (!this.ic && this.startsWith('UNA')) {
        this.readUna();
        continue;
      }
      if (!this.ic && !this.unaSeen && this.startsWith('UNB') && buf[this.pos + 3] === 0x1d) {
        this.seps = LEVEL_B_SEPARATORS;
      }
      this.readSegment();
    }
    this.raw = undefined;
    if (this.msg) {
      const m = this.msg.message;
      throw this.error(
        `the file ends inside message ${v(m.ref)} (no UNT after its ${m.segments.length} segments): truncated file?`,
        { messageRef: m.ref },
      );
    }
    if (this.ic) {
      const i = this.ic.interchange;
      throw this.error(`the file ends inside interchange ${v(i.controlRef)} (no UNZ): truncated file?`, {
        interchangeRef: i.controlRef,
      });
    }
    if (this.interchanges.length === 0) throw this.error('no interchange (UNB segment) found');
    const file: EdifactFile = { interchanges: this.interchanges };
    if (this.fileName !== undefined) file.fileName = this.fileName;
    return file;
  }

  private startsWith(s: string): boolean {
    return this.buf.toString('latin1', this.pos, this.pos + s.length) === s;
  }

  private readUna(): void {
    const six = this.buf.toString('latin1', this.pos + 3, this.pos + 9);
    const seps = parseUna(six);
    if (typeof seps === 'string') throw this.error(seps, { excerpt: 'UNA' + six });
    this.seps = seps;
    this.unaSeen = true;
    this.pos += 9;
  }

  private readSegment(): void {
    const { buf, seps } = this;
    const start = this.pos;
    const end = findSegmentEnd(buf, start, seps);
    this.fileSegment++;
    if (end < 0) {
      const rest = buf.toString('latin1', start, Math.min(buf.length, start + 80));
      this.raw = { tag: rest.slice(0, 3), text: rest, fileSegment: this.fileSegment };
      throw this.error(
        `the file ends in the middle of a segment (no terminator "${seps.terminator}"): truncated file?`,
        { excerpt: rest },
      );
    }
    this.pos = end + 1;
    let text: string;
    try {
      text = this.decoder(buf, start, end);
    } catch {
      const rest = buf.toString('latin1', start, end);
      this.raw = { tag: rest.slice(0, 3), text: rest, fileSegment: this.fileSegment };
      const id = this.ic?.interchange.syntax.id ?? '?';
      throw this.error(`the bytes are not valid UTF-8, though UNB declares syntax ${id}`, { excerpt: rest });
    }
    const elements = splitSegment(text, seps);
    const tag = elements.shift()![0]!;
    this.raw = { tag, text, fileSegment: this.fileSegment };
    if (!TAG.test(tag)) {
      throw this.error(
        `"${v(tag)}" is not a segment tag (3 capital letters or digits): a wrong or missing terminator?`,
        { tag: undefined },
      );
    }
    this.handle(tag, elements);
  }

  private handle(tag: string, elements: string[][]): void {
    switch (tag) {
      case 'UNA':
        throw this.error('UNA service string advice inside an interchange (only allowed before UNB)');
      case 'UNB':
        return this.openInterchange(elements);
      case 'UNZ':
        return this.closeInterchange(elements);
      case 'UNG':
        return this.openGroup(elements);
      case 'UNE':
        return this.closeGroup(elements);
      case 'UNH':
        return this.openMessage(elements);
      case 'UNT':
        return this.closeMessage(elements);
      default:
        if (!this.msg) {
          throw this.error(
            this.ic
              ? `segment ${tag} is outside a message (no UNH before it)`
              : `segment ${tag} is outside an interchange (no UNB before it)`,
          );
        }
        this.addToMessage(tag, elements);
    }
  }

  private addToMessage(tag: string, elements: string[][]): Segment {
    const m = this.msg!;
    const segment: Segment = {
      tag,
      elements,
      index: m.message.segments.length + 1,
      fileSegment: this.fileSegment,
    };
    m.message.segments.push(segment);
    m.raws.push(this.raw!);
    return segment;
  }

  private openInterchange(elements: string[][]): void {
    if (this.ic) {
      const still = this.msg
        ? `message ${v(this.msg.message.ref)}`
        : `interchange ${v(this.ic.interchange.controlRef)}`;
      throw this.error(`UNB while ${still} is still open: missing ${this.msg ? 'UNT' : 'UNZ'}`);
    }
    const [id = '', version = ''] = elements[0] ?? [];
    const decoder = decoderFor(id);
    if (!decoder)
      throw this.error(`unsupported syntax identifier "${v(id)}" (expected UNOA, UNOB, UNOC, … or UNOY)`);
    const controlRef = first(elements, 4);
    if (controlRef === undefined) throw this.error('UNB has no interchange control reference (element 5)');
    const interchange: Interchange = {
      syntax: { id, version },
      sender: party(elements[1]),
      recipient: party(elements[2]),
      preparedAt: preparedAt(elements[3]),
      controlRef,
      separators: this.seps,
      messages: [],
    };
    const app = first(elements, 6);
    if (app !== undefined) interchange.applicationRef = app;
    this.ic = { interchange, ungrouped: 0 };
    this.decoder = decoder;
  }

  private closeInterchange(elements: string[][]): void {
    if (!this.ic) throw this.error('UNZ without an open interchange (no UNB before it)');
    if (this.msg) throw this.error(`UNZ inside message ${v(this.msg.message.ref)}: missing UNT`);
    if (this.grp) throw this.error(`UNZ inside group ${v(this.grp.group.ref)}: missing UNE`);
    const ic = this.ic.interchange;
    const groups = ic.groups?.length ?? 0;
    if (groups > 0 && this.ic.ungrouped > 0) {
      throw this.error(`interchange ${v(ic.controlRef)} mixes groups (UNG) and ungrouped messages`, {
        interchangeRef: ic.controlRef,
      });
    }
    // ISO 9735: UNZ counts the groups if there are any, otherwise the messages.
    const [what, expected] = groups > 0 ? ['groups', groups] : ['messages', this.ic.ungrouped];
    this.checkTrailer(elements, 'UNZ', ic.controlRef, what, expected, { interchangeRef: ic.controlRef });
    this.interchanges.push(ic);
    this.ic = undefined;
    this.seps = DEFAULT_SEPARATORS;
    this.decoder = asciiDecoder;
    this.unaSeen = false;
  }

  private openGroup(elements: string[][]): void {
    if (!this.ic) throw this.error('UNG outside an interchange (no UNB before it)');
    if (this.msg) throw this.error(`UNG inside message ${v(this.msg.message.ref)}: missing UNT`);
    if (this.grp) throw this.error(`UNG while group ${v(this.grp.group.ref)} is still open: missing UNE`);
    const ref = first(elements, 4);
    if (ref === undefined) throw this.error('UNG has no group reference (element 5)');
    const group: Group = {
      type: first(elements, 0) ?? '',
      sender: party(elements[1]),
      recipient: party(elements[2]),
      preparedAt: preparedAt(elements[3]),
      ref,
      messages: [],
    };
    (this.ic.interchange.groups ??= []).push(group);
    this.grp = { group };
  }

  private closeGroup(elements: string[][]): void {
    if (!this.grp) throw this.error('UNE without an open group (no UNG before it)');
    if (this.msg) throw this.error(`UNE inside message ${v(this.msg.message.ref)}: missing UNT`);
    const g = this.grp.group;
    this.checkTrailer(elements, 'UNE', g.ref, 'messages', g.messages.length, {
      interchangeRef: this.ic!.interchange.controlRef,
    });
    this.grp = undefined;
  }

  private openMessage(elements: string[][]): void {
    if (!this.ic) throw this.error('UNH outside an interchange (no UNB before it)');
    if (this.msg) throw this.error(`UNH while message ${v(this.msg.message.ref)} is still open: missing UNT`);
    const ref = first(elements, 0);
    const [type = '', ...rest] = elements[1] ?? [];
    if (ref === undefined) throw this.error('UNH has no message reference (element 1)');
    if (type === '') throw this.error(`UNH of message ${v(ref)} has no message type (element 2)`);
    while (rest.length > 0 && rest[rest.length - 1] === '') rest.pop();
    const message: Message = { ref, type, version: rest.join(':'), segments: [] };
    this.msg = { message, raws: [] };
    this.addToMessage('UNH', elements);
  }

  private closeMessage(elements: string[][]): void {
    if (!this.msg) throw this.error('UNT outside a message (no UNH before it)');
    const open = this.msg;
    const m = open.message;
    this.addToMessage('UNT', elements);
    const problems: string[] = [];
    const countEl = elements[0] ?? [];
    const said = countEl[0] ?? '';
    const counted = m.segments.length;
    const shown = v(countEl.join(this.seps.component));
    if (!/^\d+$/.test(said)) {
      problems.push(`segment count "${shown}" is not a number (expected ${counted})`);
    } else if (Number(said) !== counted) {
      const why =
        Number(said) > counted
          ? 'segments were merged or lost (a wrong or missing terminator?)'
          : 'a segment was split (a stray terminator?) or the count is wrong';
      problems.push(
        `segment count says ${shown} but the message has ${counted} segments from UNH to UNT: ${why}`,
      );
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
    if (problems.length > 0) {
      const hint = lookalikeHint(open.raws, this.seps.terminator);
      if (hint) problems.push(hint);
      this.msg = undefined;
      throw this.error(problems.join('; '), { messageRef: m.ref });
    }
    this.msg = undefined;
    this.ic!.interchange.messages.push(m);
    if (this.grp) this.grp.group.messages.push(m);
    else this.ic!.ungrouped++;
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
    if (problems.length > 0) throw this.error(problems.join('; '), loc);
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
    for (const [k, v] of Object.entries(extra) as [keyof EdifactLocation, string | number | undefined][]) {
      if (v === undefined) delete loc[k];
      else (loc as Record<string, unknown>)[k] = v;
    }
    return new EdifactError(problem, loc);
  }
}

/** Names the first segment holding an apostrophe look-alike: the usual cause of merged segments. */
function lookalikeHint(raws: RawSegment[], terminator: string): string | undefined {
  for (const raw of raws) {
    const m = LOOKALIKE_TERMINATOR.exec(raw.text);
    if (!m) continue;
    const what =
      m[0].length > 1
        ? `a typographic apostrophe (U+${m[0] === '\u00e2\u0080\u0098' ? '2018' : '2019'}, UTF-8 bytes read as Latin-1)`
        : `"${m[0]}" (U+${m[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')})`;
    const at = Math.max(0, m.index - 12);
    const piece = raw.text.slice(at, m.index + m[0].length + 12);
    return (
      `segment ${raw.fileSegment} (${raw.tag}) contains ${what} where the segment terminator "${terminator}" ` +
      `was probably meant, so segments were read as one: "…${piece.replace(/\u00e2\u0080([\u0098\u0099])/g, (_, c: string) => (c === '\u0098' ? '\u2018' : '\u2019'))}…"`
    );
  }
  return undefined;
}
