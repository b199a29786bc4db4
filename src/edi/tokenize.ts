/**
 * The two low-level steps of reading EDIFACT: finding where a segment ends in the raw bytes, and splitting
 * a decoded segment into elements and components.
 *
 * Segment ends are found on bytes, before decoding: every separator is ASCII, and neither Latin-1 nor
 * UTF-8 ever uses an ASCII byte inside a multi-byte character, so this is safe for every supported
 * charset and lets each interchange be decoded with its own UNB syntax identifier.
 */
import type { Separators } from './types';

const CR = 0x0d;
const LF = 0x0a;

/**
 * Byte offset of the first unreleased terminator at or after `pos` and before `end`, or -1 if the data ends
 * first (a release character as the last byte before `end` counts as unfinished: more data may follow).
 */
export function findSegmentEnd(buf: Buffer, pos: number, seps: Separators, end = buf.length): number {
  const term = seps.terminator.charCodeAt(0);
  const rel = seps.release === '' ? -1 : seps.release.charCodeAt(0);
  // indexOf finds candidates fast; a terminator preceded by an odd run of release characters is released.
  for (let from = pos; from < end;) {
    const at = buf.indexOf(term, from);
    if (at < 0 || at >= end) return -1;
    let run = 0;
    while (rel >= 0 && at - run - 1 >= pos && buf[at - run - 1] === rel) run++;
    if (run % 2 === 0) return at;
    from = at + 1;
  }
  return -1;
}

/** Skips line breaks (layout, not data) unless a line break is itself a separator. */
export function skipLayout(buf: Buffer, pos: number, seps: Separators, end = buf.length): number {
  const keepCr = seps.terminator === '\r' || seps.element === '\r';
  const keepLf = seps.terminator === '\n' || seps.element === '\n';
  while (pos < end) {
    const b = buf[pos];
    if ((b === CR && !keepCr) || (b === LF && !keepLf)) pos++;
    else break;
  }
  return pos;
}

/** Whitespace, NUL or a DOS end-of-file mark (Ctrl-Z): what may pad a file after its last segment. */
export function isPadding(b: number | undefined): boolean {
  return b === CR || b === LF || b === 0x20 || b === 0x09 || b === 0x00 || b === 0x1a;
}

/** True when only padding is left between `pos` and `end`. */
export function onlyPaddingLeft(buf: Buffer, pos: number, end = buf.length): boolean {
  for (let i = pos; i < end; i++) if (!isPadding(buf[i])) return false;
  return true;
}

/**
 * Splits one segment's text (without its terminator) into elements of components, the tag being
 * element 0. The release character makes the next character literal. Unreleased CR/LF inside a segment
 * are dropped too: some systems wrap files at a fixed width, and line breaks are never data in EDIFACT.
 */
export function splitSegment(text: string, seps: Separators): string[][] {
  // Fast path: most segments hold no release character and no line break.
  if ((seps.release === '' || !text.includes(seps.release)) && !/[\r\n]/.test(text)) {
    // indexOf and slice, and no split for the many elements that have one component: twice as fast.
    const out: string[][] = [];
    const { element, component } = seps;
    for (let start = 0; ;) {
      const end = text.indexOf(element, start);
      const piece = end < 0 ? text.slice(start) : text.slice(start, end);
      out.push(piece.includes(component) ? piece.split(component) : [piece]);
      if (end < 0) return out;
      start = end + 1;
    }
  }
  const elements: string[][] = [];
  let components: string[] = [];
  let current = '';
  const { component, element, release } = seps;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (release !== '' && c === release && i + 1 < text.length) {
      current += text[++i];
    } else if (c === element) {
      components.push(current);
      elements.push(components);
      components = [];
      current = '';
    } else if (c === component) {
      components.push(current);
      current = '';
    } else if ((c === '\r' || c === '\n') && c !== seps.terminator) {
      continue;
    } else {
      current += c;
    }
  }
  components.push(current);
  elements.push(components);
  return elements;
}
