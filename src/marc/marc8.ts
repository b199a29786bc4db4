/**
 * MARC-8 to Unicode, as the Library of Congress specifies it (MARC 21 Specifications, Character Sets, Part 2
 * "MARC-8 Encoding Environment", and the code tables in ./marc8-tables, generated from LC's codetables.xml):
 *
 * - G0 (bytes 21-7E) starts as Basic Latin (ASCII) and G1 (bytes A1-FE) as Extended Latin (ANSEL), at the start
 *   of every field. Space (20), the C0 controls and the four MARC-8 C1 controls (88/89 non-sort begin/end,
 *   8D/8E joiner/non-joiner) are not affected by the designations.
 * - Escape sequences designate other sets: Technique 1, `ESC g` (Greek symbols), `ESC b` (subscripts),
 *   `ESC p` (superscripts) and `ESC s` (back to ASCII) into G0; Technique 2, `ESC ( F` / `ESC , F` into G0,
 *   `ESC ) F` / `ESC - F` into G1, `ESC $ F`, `ESC $ ( F`, `ESC $ , F` (G0) and `ESC $ ) F`, `ESC $ - F` (G1)
 *   for the 3-byte East Asian set (EACC, F = 1). F is the set's Final byte (ANSEL's is `!E`).
 *   A designation holds until the next one or the end of the field, across subfield delimiters, which are C0
 *   controls and so do not change it.
 * - Combining marks come before their base character in MARC-8 and after it in Unicode: they are held and
 *   written after the next base character, in the order they came. LC maps the two halves of the ligature
 *   (EB, EC) and the double tilde (FA, FB) to one double-width mark after the first character and nothing.
 * - Characters outside MARC-8 may be written as numeric character references `&#xHHHH;` (LC's lossless
 *   conversion): they are read as the characters they name.
 * - The result is in Unicode Normalization Form C.
 *
 * What is not MARC-8 is never silently lost: each problem is reported (the caller prefixes the field) and shows
 * in the text as U+FFFD, except a byte of G0 that the designated set lacks, which is read as ASCII (the usual
 * cause is a missing `ESC ( B` before punctuation).
 */
import { MARC8_SETS } from './marc8-tables';

/** One graphic set: for single-byte sets, code points by 7-bit code; for EACC, by 3 x 7-bit code. */
interface CharSet {
  final: number;
  name: string;
  multibyte: boolean;
  /** Code point by 7-bit code (21-7E); -1 unmapped, -2 mapped to nothing. */
  single: Int32Array;
  /** The same as strings (empty where unmapped or mapped to nothing), so that decoding allocates none. */
  text: string[];
  combining: Uint8Array;
  /** EACC's 15,739 codes, parsed on first use (most MARC-8 files have no CJK). */
  multi: Map<number, number> | null;
  multiSource: string;
}

const UNMAPPED = -1;
const NOTHING = -2;
const ESC = 0x1b;
const REPLACEMENT = '\ufffd';
const ANSEL_FINAL = 0x45;
const ASCII_FINAL = 0x42;

let tables: { byFinal: Map<number, CharSet>; c1: Int32Array; ascii: CharSet; ansel: CharSet } | null = null;

function parseCodes(codes: string): { marc: number; ucs: number; combining: boolean }[] {
  const out: { marc: number; ucs: number; combining: boolean }[] = [];
  for (const word of codes.split(/\s+/)) {
    if (!word) continue;
    const combining = word.startsWith('+');
    const [marc, ucs] = (combining ? word.slice(1) : word).split(':') as [string, string];
    out.push({ marc: parseInt(marc, 16), ucs: ucs === '' ? NOTHING : parseInt(ucs, 16), combining });
  }
  return out;
}

/** The tables, built on first use from the generated module. */
function load(): NonNullable<typeof tables> {
  if (tables) return tables;
  const byFinal = new Map<number, CharSet>();
  const c1 = new Int32Array(32).fill(UNMAPPED);
  for (const src of MARC8_SETS) {
    const set: CharSet = {
      final: src.final,
      name: src.name,
      multibyte: src.multibyte,
      single: new Int32Array(128).fill(UNMAPPED),
      text: new Array<string>(128).fill(''),
      combining: new Uint8Array(128),
      multi: null,
      multiSource: src.multibyte ? src.codes : '',
    };
    if (src.multibyte) {
      byFinal.set(src.final, set);
      continue;
    }
    for (const c of parseCodes(src.codes)) {
      if (c.marc >= 0x80 && c.marc < 0xa0) {
        c1[c.marc - 0x80] = c.ucs; // the C1 controls ANSEL lists: the same whatever G1 holds
      } else if ((c.marc & 0x7f) > 0x20) {
        set.single[c.marc & 0x7f] = c.ucs;
        if (c.ucs >= 0) set.text[c.marc & 0x7f] = String.fromCodePoint(c.ucs);
        if (c.combining) set.combining[c.marc & 0x7f] = 1;
      } // else: space and the C0 controls the ASCII table lists, read directly
    }
    byFinal.set(src.final, set);
  }
  tables = { byFinal, c1, ascii: byFinal.get(ASCII_FINAL)!, ansel: byFinal.get(ANSEL_FINAL)! };
  return tables;
}

/** The EACC table of a multibyte set, built the first time it is needed. */
function multiTable(set: CharSet): Map<number, number> {
  if (!set.multi) {
    set.multi = new Map();
    for (const c of parseCodes(set.multiSource)) set.multi.set(c.marc & 0x7f7f7f, c.ucs);
  }
  return set.multi;
}

function hex(byte: number): string {
  return byte.toString(16).toUpperCase().padStart(2, '0');
}

function isGraphic(byte: number): boolean {
  return byte >= 0x21 && byte <= 0x7e;
}

/**
 * Decodes the MARC-8 text of one field, subfield by subfield: `startField()` at each field (the designations go
 * back to ASCII and ANSEL), then `decode()` for each value. Problems are collected in `problems` for the caller
 * to report with the field's tag and to clear.
 */
export class Marc8Decoder {
  /** What was odd but read (the text shows how): a bad escape, a character from the wrong set, a lone mark. */
  readonly problems: string[] = [];
  /**
   * Bytes that are not MARC-8 at all (a G1 or C1 code no set has, A0, FF), shown as U+FFFD. They are what
   * Latin-1, Windows-1251 or CP866 text looks like when read as MARC-8: the reader refuses such a record unless
   * told the file is MARC-8.
   */
  readonly invalid: string[] = [];
  private g0: CharSet;
  private g1: CharSet;
  private readonly t = load();

  constructor() {
    this.g0 = this.t.ascii;
    this.g1 = this.t.ansel;
  }

  startField(): void {
    this.g0 = this.t.ascii;
    this.g1 = this.t.ansel;
  }

  /** Bytes [from, to) as Unicode (NFC). The designations carry over to the next call within the field. */
  decode(buf: Uint8Array, from = 0, to = buf.length): string {
    // Most MARC-8 text is plain ASCII in the default sets: nothing to map.
    if (this.g0 === this.t.ascii && plainAscii(buf, from, to)) {
      return Buffer.from(buf.buffer, buf.byteOffset + from, to - from).toString('latin1');
    }
    this.out = '';
    this.marks = '';
    let i = from;
    while (i < to) {
      const b = buf[i]!;
      if (b === ESC) {
        const length = this.escape(buf, i, to);
        if (length < 0) {
          this.base(REPLACEMENT);
          i += -length;
        } else i += length;
        continue;
      }
      if (b === 0x7f) {
        this.problems.push('byte 7F (DELETE) is not a MARC-8 character; dropped');
        i++;
        continue;
      }
      if (b < 0x20) {
        // A control character (not expected inside a value): no mark may combine across it.
        if (this.marks) this.dangling();
        this.out += this.marks + String.fromCharCode(b);
        this.marks = '';
        i++;
        continue;
      }
      if (b === 0x20) {
        this.base(' ');
        i++;
        continue;
      }
      if (b >= 0x80 && b < 0xa0) {
        const cp = this.t.c1[b - 0x80]!;
        if (cp === UNMAPPED) {
          this.invalid.push(`byte ${hex(b)} is not a MARC-8 control character`);
          this.base(REPLACEMENT);
        } else {
          // 88/89 (non-sort begin/end) and 8D/8E (joiner/non-joiner) sit between characters.
          this.out += String.fromCodePoint(cp);
        }
        i++;
        continue;
      }
      if (b === 0xa0 || b === 0xff) {
        this.invalid.push(`byte ${hex(b)} is not a MARC-8 character`);
        this.base(REPLACEMENT);
        i++;
        continue;
      }
      const set = b < 0x80 ? this.g0 : this.g1;
      if (set.multiSource) {
        // EACC: three bytes, all in the same half; the second and third may be 20 in a few codes.
        const high = b & 0x80;
        const b2 = i + 1 < to ? buf[i + 1]! : -1;
        const b3 = i + 2 < to ? buf[i + 2]! : -1;
        const whole =
          b2 >= 0 &&
          b3 >= 0 &&
          (b2 & 0x80) === high &&
          (b3 & 0x80) === high &&
          (b2 & 0x7f) >= 0x20 &&
          (b3 & 0x7f) >= 0x20;
        const code = whole ? ((b & 0x7f) << 16) | ((b2 & 0x7f) << 8) | (b3 & 0x7f) : -1;
        const cp = whole ? multiTable(set).get(code) : undefined;
        if (cp !== undefined && cp >= 0) {
          this.base(String.fromCodePoint(cp));
          i += 3;
          continue;
        }
        // Not an EACC character: in G0 the byte is read as ASCII and the next one tried (text after a missing
        // ESC ( B, or an EACC run that lost a byte, which puts the following characters back in step).
        const what = whole
          ? `${set.name} code ${code.toString(16).toUpperCase()} is not in LC's table`
          : `an incomplete ${set.name} character at byte ${hex(b)}`;
        if (!high) {
          this.problems.push(`${what}; byte ${hex(b)} read as ASCII "${String.fromCharCode(b)}"`);
          this.base(String.fromCharCode(b));
          i++;
        } else {
          this.problems.push(what);
          this.base(REPLACEMENT);
          i += whole ? 3 : 1;
        }
        continue;
      }
      const code = b & 0x7f;
      // A character reference (&#xHHHH;) stands for a character MARC-8 lacks.
      if (b === 0x26 && set === this.t.ascii) {
        const ref = characterReference(buf, i, to);
        if (ref) {
          this.base(String.fromCodePoint(ref.cp));
          i = ref.end;
          continue;
        }
      }
      const cp = set.single[code]!;
      if (cp === NOTHING) {
        i++;
        continue;
      }
      if (cp === UNMAPPED) {
        if (b < 0x80 && set !== this.t.ascii) {
          this.problems.push(
            `byte ${hex(b)} is not in the ${set.name} set; read as ASCII "${String.fromCharCode(b)}" (a missing ESC ( B?)`,
          );
          this.base(String.fromCharCode(b));
        } else {
          this.invalid.push(`byte ${hex(b)} is not in the ${set.name} set`);
          this.base(REPLACEMENT);
        }
        i++;
        continue;
      }
      if (set.combining[code]) this.marks += set.text[code]!;
      else this.base(set.text[code]!);
      i++;
    }
    if (this.marks) {
      this.dangling();
      this.out += this.marks;
    }
    const text = this.out;
    this.out = '';
    this.marks = '';
    return text.normalize('NFC');
  }

  /** The text of the value being decoded, and the marks waiting for their base character. */
  private out = '';
  private marks = '';

  /** A base character: written, then the marks that came before it. */
  private base(ch: string): void {
    this.out += ch + this.marks;
    this.marks = '';
  }

  private dangling(): void {
    this.problems.push('a combining mark with no character after it to combine with');
  }

  /**
   * Reads the escape sequence at `i` and designates its set; returns how many bytes it took, negated when it
   * was not an escape sequence.
   */
  private escape(buf: Uint8Array, i: number, to: number): number {
    const b1 = byteAt(buf, i + 1, to);
    // Technique 1: the MARC-specific locking escapes into G0.
    if (b1 === 0x67 || b1 === 0x62 || b1 === 0x70 || b1 === 0x73) {
      this.g0 = b1 === 0x73 ? this.t.ascii : this.t.byFinal.get(b1)!;
      return 2;
    }
    let g: 0 | 1;
    let k: number;
    if (b1 === 0x28 || b1 === 0x2c || b1 === 0x29 || b1 === 0x2d) {
      g = b1 === 0x28 || b1 === 0x2c ? 0 : 1;
      k = 2;
    } else if (b1 === 0x24) {
      const b2 = byteAt(buf, i + 2, to);
      if (b2 === 0x28 || b2 === 0x2c || b2 === 0x29 || b2 === 0x2d) {
        g = b2 === 0x28 || b2 === 0x2c ? 0 : 1;
        k = 3;
      } else {
        g = 0;
        k = 2;
      }
    } else return this.notAnEscape(buf, i, to);
    let final = byteAt(buf, i + k, to);
    let length = k + 1;
    if (final === 0x21 && byteAt(buf, i + k + 1, to) === ANSEL_FINAL) {
      final = ANSEL_FINAL;
      length = k + 2;
    }
    if (!isGraphic(final)) return this.notAnEscape(buf, i, to);
    const set = this.t.byFinal.get(final);
    if (!set) {
      this.problems.push(
        `${shownEscape(buf, i, to)} designates a character set MARC-8 does not have; the designation is ignored`,
      );
      return length;
    }
    if (g === 0) this.g0 = set;
    else this.g1 = set;
    return length;
  }

  /** Not an escape sequence: the ESC alone is taken (negative: the caller shows it as U+FFFD). */
  private notAnEscape(buf: Uint8Array, i: number, to: number): number {
    this.problems.push(
      `${shownEscape(buf, i, to)} is not a MARC-8 escape sequence; the escape is shown as U+FFFD and what follows is read as it is`,
    );
    return -1;
  }
}

function byteAt(buf: Uint8Array, i: number, to: number): number {
  return i < to ? buf[i]! : -1;
}

/** The ESC at `i` and the three bytes after it, for a message. */
function shownEscape(buf: Uint8Array, i: number, to: number): string {
  const next = Buffer.from(buf.subarray(i + 1, Math.min(to, i + 4))).toString('latin1');
  // eslint-disable-next-line no-control-regex -- control characters are what is shown as ?
  const shownNext = next.replace(/[\x00-\x1f\x7f-\x9f]/g, '?');
  return next ? `ESC followed by ${JSON.stringify(shownNext)}` : 'ESC at the end';
}

/** True when the bytes are ASCII with no escape, DELETE or character reference: MARC-8 and ASCII agree on them. */
function plainAscii(buf: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const b = buf[i]!;
    if (b >= 0x7f || b === ESC || (b === 0x26 && buf[i + 1] === 0x23)) return false;
  }
  return true;
}

/** `&#xHHHH;` (1 to 6 hex digits) at `i`: the code point and the index after `;`, or null. */
function characterReference(buf: Uint8Array, i: number, to: number): { cp: number; end: number } | null {
  if (buf[i + 1] !== 0x23 || (buf[i + 2] !== 0x78 && buf[i + 2] !== 0x58)) return null;
  let cp = 0;
  let k = i + 3;
  for (; k < to && k < i + 10; k++) {
    const c = buf[k]!;
    const d =
      c >= 0x30 && c <= 0x39 ? c - 0x30 : (c | 0x20) >= 0x61 && (c | 0x20) <= 0x66 ? (c | 0x20) - 0x57 : -1;
    if (d < 0) break;
    cp = cp * 16 + d;
  }
  const digits = k - (i + 3);
  if (digits < 1 || digits > 6 || buf[k] !== 0x3b || k >= to) return null;
  if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp === 0) return null;
  return { cp, end: k + 1 };
}

/** The Final bytes of the sets the tables have, by name (for messages and tests). */
export function marc8SetNames(): Map<number, string> {
  return new Map([...load().byFinal.values()].map((s) => [s.final, s.name]));
}
