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

function describe(loc: EdifactLocation): string {
  const parts: string[] = [];
  if (loc.fileSegment !== undefined)
    parts.push(`segment ${loc.fileSegment}${loc.tag ? ` (${loc.tag})` : ''}`);
  else if (loc.tag) parts.push(loc.tag);
  if (loc.messageRef !== undefined) parts.push(`of message ${loc.messageRef}`);
  else if (loc.interchangeRef !== undefined) parts.push(`of interchange ${loc.interchangeRef}`);
  return parts.join(' ');
}

export class EdifactError extends Error {
  /** What is wrong, without the location. */
  readonly problem: string;
  readonly location: EdifactLocation;

  constructor(problem: string, location: EdifactLocation = {}) {
    const where = describe(location);
    const head = [location.fileName, where].filter((s) => s).join(': ');
    const excerpt = location.excerpt !== undefined ? ` [near "${excerptOf(location.excerpt)}"]` : '';
    super(`${head ? head + ': ' : ''}${problem}${excerpt}`);
    this.name = 'EdifactError';
    this.problem = problem;
    this.location = location;
  }
}
