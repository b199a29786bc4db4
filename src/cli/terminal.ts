/**
 * Text for a person's terminal. Vendor files, Alma answers and orders carry text nobody here wrote; printed
 * raw, an escape sequence in it can clear the screen, set the window title or forge a line. Every
 * human-readable line `rto` prints goes through `printable` (JSON output is escaped by JSON itself).
 */

// C0 and C1 controls (ESC, CSI and OSC included), DEL, and the bidi overrides and isolates that reorder text.
// eslint-disable-next-line no-control-regex -- removing control characters is the point
const UNPRINTABLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** `text` with every control character shown as U+FFFD (line breaks and tabs kept). */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, '\ufffd');
}

/** One line: `printable`, with line breaks shown as `⏎` too. */
export function printableLine(text: string): string {
  return printable(text).replace(/\r\n|[\r\n\u2028\u2029]/g, '⏎');
}
