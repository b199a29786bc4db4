/**
 * Removing the SMTP password from text that came back from a relay. Nodemailer's own messages never hold it,
 * but a relay may echo what it received (the AUTH command, its continuation lines) in its error reply, and that
 * reply becomes the MailError's message: the EMAIL_FAILED alert, the order's history, the staff mail.
 *
 * Every form the secret can travel in is removed: the password as it is (and URL- or JSON-escaped), the
 * AUTH PLAIN blob (base64 of `\0user\0password`, and `user\0user\0password` with an authorisation identity),
 * AUTH LOGIN's base64 lines (user and password), the rest of any `AUTH <mechanism> ...` line, and the
 * password inside any other base64 text, at each of the three byte alignments base64 can put it in (the whole
 * base64 token around it goes).
 */

export const REDACTED = '[redacted]';

/** Shortest secret replaced as text: shorter ones would redact ordinary words. */
const MIN_SECRET = 3;
/** Shortest base64 run of password bytes looked for inside other base64 text (6 bytes). */
const MIN_CORE = 8;

const BASE64_CHAR = /[A-Za-z0-9+/=]/;
const b64 = (b: Buffer | string) => Buffer.from(b).toString('base64');

/**
 * The base64 of the password's bytes as it appears inside the base64 of any longer text, for each alignment:
 * from the first byte that starts a 3-byte group, whole groups only (their characters do not depend on the
 * bytes around the password).
 */
function alignedCores(password: Buffer): string[] {
  const cores: string[] = [];
  for (let skip = 0; skip < 3; skip++) {
    const rest = password.subarray(skip);
    const whole = rest.subarray(0, rest.length - (rest.length % 3));
    const core = b64(whole);
    if (core.length >= MIN_CORE) cores.push(core);
  }
  return cores;
}

export function secretScrubber(creds: { user?: string; password?: string }): (text: string) => string {
  const { user = '', password } = creds;
  if (!password) return (text) => scrubAuthLines(text);
  const pw = Buffer.from(password, 'utf8');
  const exact = new Set<string>(
    [
      password,
      encodeURIComponent(password),
      JSON.stringify(password).slice(1, -1),
      b64(pw),
      b64(`\0${user}\0${password}`),
      b64(`${user}\0${user}\0${password}`),
      ...(user ? [b64(user)] : []),
    ].filter((s) => s.length >= MIN_SECRET),
  );
  // Longest first: the PLAIN blob goes whole before a shorter form could cut it into pieces.
  const literals = [...exact].sort((a, b) => b.length - a.length);
  const cores = alignedCores(pw);
  return (text) => {
    let t = scrubAuthLines(text);
    for (const s of literals) t = t.split(s).join(REDACTED);
    for (const core of cores) t = redactBase64Around(t, core);
    return t;
  };
}

/** `AUTH PLAIN <blob>`, `AUTH LOGIN <user>`: the mechanism stays, what follows it on the line goes. */
function scrubAuthLines(text: string): string {
  return text.replace(/\bAUTH([ \t]+)([A-Za-z0-9_-]+)[ \t]+[^\s]+/gi, `AUTH$1$2 ${REDACTED}`);
}

/** Every base64 token that contains `core`, replaced whole. Linear: each search starts past the last hit. */
function redactBase64Around(text: string, core: string): string {
  let out = '';
  let from = 0;
  for (let at = text.indexOf(core); at >= 0; at = text.indexOf(core, from)) {
    let start = at;
    while (start > from && BASE64_CHAR.test(text[start - 1]!)) start--;
    let end = at + core.length;
    while (end < text.length && BASE64_CHAR.test(text[end]!)) end++;
    out += text.slice(from, start) + REDACTED;
    from = end;
  }
  return out + text.slice(from);
}
