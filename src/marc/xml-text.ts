/** Making untrusted text safe to put into XML 1.0 content and attribute values. */

/**
 * Characters XML 1.0 does not allow at all, not even escaped: C0 controls other than tab, LF and CR,
 * U+FFFE/U+FFFF, and surrogates that are not part of a pair.
 */
const ILLEGAL =
  // eslint-disable-next-line no-control-regex
  /[\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const SPECIAL = /[&<>"']/g;
const ENTITY: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

export function stripIllegalXmlChars(text: string): string {
  return text.replace(ILLEGAL, '');
}

/** Escapes `& < > " '` and removes characters XML 1.0 forbids; good for both text and attribute values. */
export function escapeXml(text: string): string {
  return stripIllegalXmlChars(text).replace(SPECIAL, (c) => ENTITY[c]!);
}
