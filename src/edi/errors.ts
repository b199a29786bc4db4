/** One error type for everything wrong with an EDIFACT file, with enough location to find the spot. */

export interface EdifactLocation {
  fileName?: string;
  /** 1-based segment number in the file. */
  fileSegment?: number;
  tag?: string;
  messageRef?: string;
  interchangeRef?: string;
  /** A short piece of the offending segment as it appears in the file. */
  excerpt?: string;
}

const EXCERPT_MAX = 70;
// eslint-disable-next-line no-control-regex -- finding control characters (and C1 mojibake) is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** Makes a raw piece of a file printable: control characters (and C1 mojibake) shown as \xNN. */
export function excerptOf(text: string, max = EXCERPT_MAX): string {
  const cut = text.length > max ? text.slice(0, max) + '…' : text;
  return cut.replace(CONTROL, (c) => '\\x' + c.charCodeAt(0).toString(16).padStart(2, '0'));
}

/**
 * Vendor text (a tag, a reference, a count, a value) for an error message or warning: a file may hold
 * megabytes where a few characters belong, so it is clipped to EXCERPT_MAX characters and made printable.
 */
export function vendorText(text: string | number | undefined): string {
  return excerptOf(String(text ?? ''));
}

/** The longest problem text kept: the pieces are clipped where they are put in, this is the backstop. */
const PROBLEM_MAX = 800;

function describe(loc: EdifactLocation): string {
  const parts: string[] = [];
  const tag = loc.tag ? vendorText(loc.tag) : '';
  if (loc.fileSegment !== undefined) parts.push(`segment ${loc.fileSegment}${tag ? ` (${tag})` : ''}`);
  else if (tag) parts.push(tag);
  if (loc.messageRef !== undefined) parts.push(`of message ${vendorText(loc.messageRef)}`);
  else if (loc.interchangeRef !== undefined) parts.push(`of interchange ${vendorText(loc.interchangeRef)}`);
  return parts.join(' ');
}

export class EdifactError extends Error {
  /** What is wrong, without the location. */
  readonly problem: string;
  readonly location: EdifactLocation;

  constructor(problem: string, location: EdifactLocation = {}) {
    const where = describe(location);
    const file = location.fileName === undefined ? undefined : excerptOf(location.fileName, 200);
    const head = [file, where].filter((s) => s).join(': ');
    if (problem.length > PROBLEM_MAX) problem = problem.slice(0, PROBLEM_MAX) + '…';
    const excerpt = location.excerpt !== undefined ? ` [near "${excerptOf(location.excerpt)}"]` : '';
    super(`${head ? head + ': ' : ''}${problem}${excerpt}`);
    this.name = 'EdifactError';
    this.problem = problem;
    this.location = location;
  }
}
