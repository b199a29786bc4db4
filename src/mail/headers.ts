/** Just enough RFC 5322/2047 reading to show a stored message's headers (the mail catcher's index). */

/** The header block of a raw message, unfolded, as lower-cased name → first value. */
export function parseHeaders(raw: string): Map<string, string> {
  const end = raw.search(/\r?\n\r?\n/);
  const block = (end < 0 ? raw : raw.slice(0, end)).replace(/\r?\n[ \t]+/g, ' ');
  const out = new Map<string, string>();
  for (const line of block.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    const name = line.slice(0, i).trim().toLowerCase();
    if (!out.has(name)) out.set(name, line.slice(i + 1).trim());
  }
  return out;
}

function decodeWord(charset: string, encoding: string, text: string): string | undefined {
  const cs = charset.toLowerCase().split('*')[0];
  const enc: BufferEncoding | undefined =
    cs === 'utf-8' || cs === 'utf8' || cs === 'us-ascii'
      ? 'utf8'
      : cs === 'iso-8859-1' || cs === 'latin1'
        ? 'latin1'
        : undefined;
  if (!enc) return undefined;
  if (encoding.toUpperCase() === 'B') return Buffer.from(text, 'base64').toString(enc);
  const bytes = text
    .replace(/_/g, ' ')
    .replace(/=([0-9A-Fa-f]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
  return Buffer.from(bytes, 'latin1').toString(enc);
}

/** Decodes RFC 2047 encoded words (`=?UTF-8?Q?...?=`), dropping the white space between adjacent ones. */
export function decodeHeaderValue(value: string): string {
  const word = /=\?([^?\s]+)\?([BbQq])\?([^?\s]*)\?=/g;
  return value
    .replace(/(\?=)\s+(?==\?)/g, '$1')
    .replace(word, (m, cs: string, enc: string, text: string) => decodeWord(cs, enc, text) ?? m);
}
