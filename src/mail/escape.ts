/** Escaping for the places untrusted order text ends up in a mail: HTML bodies and header lines. */

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

// C0/C1 controls, DEL and the Unicode line/paragraph separators: none belong on one line of a mail.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROLS = /[\u0000-\u001F\u007F-\u009F\u2028\u2029]+/g;
// Bidi embedding/override/isolate controls (U+202A-U+202E, U+2066-U+2069) make a subject read differently
// from what it is: dropped, not turned into spaces, as they sit inside words.
const BIDI = /[\u202A-\u202E\u2066-\u2069]/g;

/**
 * One line of text with no CR, LF, bidi or other control character, whitespace collapsed and cut to `max`
 * characters: what may go in a header such as Subject (a line break there would start a new header, e.g. `Bcc:`).
 */
export function oneLine(text: string, max = 200): string {
  const flat = text.replace(BIDI, '').replace(CONTROLS, ' ').replace(/\s+/g, ' ').trim();
  if (flat.length <= max) return flat;
  return flat.slice(0, Math.max(1, max - 1)).trimEnd() + '…';
}

/** Multi-line text (notes) with line breaks normalised to \n and other control (and bidi) characters removed. */
export function multiLine(text: string): string {
  return (
    text
      .replace(/\r\n?/g, '\n')
      // eslint-disable-next-line no-control-regex -- removing control characters is the point
      .replace(/[\u0000-\u0009\u000B-\u001F\u007F-\u009F]/g, '')
      .replace(BIDI, '')
      .trim()
  );
}
