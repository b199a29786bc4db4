/**
 * Every failure of an Alma call as one error type: what kind it is, Alma's code and tracking id, whether a
 * retry can help, and whether the request may have been processed anyway (`ambiguous`: a POST must then
 * look before it posts again). It holds no request options, headers or cause, so the key cannot leak
 * into logs or Temporal histories through it.
 */
import { findElement, parseXml, textOf } from './xml';

export type AlmaErrorKind =
  'invalid-request' | 'unauthorised' | 'rate-limited' | 'daily-budget' | 'not-found' | 'server' | 'network';

export interface AlmaErrorFields {
  kind: AlmaErrorKind;
  method: string;
  path: string;
  status?: number;
  code?: string;
  trackingId?: string;
  retryable: boolean;
  ambiguous: boolean;
}

export class AlmaError extends Error {
  override name = 'AlmaError';
  readonly kind: AlmaErrorKind;
  readonly method: string;
  readonly path: string;
  readonly status?: number;
  readonly code?: string;
  readonly trackingId?: string;
  readonly retryable: boolean;
  readonly ambiguous: boolean;

  constructor(message: string, f: AlmaErrorFields) {
    super(message);
    this.kind = f.kind;
    this.method = f.method;
    this.path = f.path;
    if (f.status !== undefined) this.status = f.status;
    if (f.code !== undefined) this.code = f.code;
    if (f.trackingId !== undefined) this.trackingId = f.trackingId;
    this.retryable = f.retryable;
    this.ambiguous = f.ambiguous;
  }

  toJSON() {
    return {
      name: this.name,
      message: this.message,
      kind: this.kind,
      method: this.method,
      path: this.path,
      status: this.status,
      code: this.code,
      trackingId: this.trackingId,
      retryable: this.retryable,
      ambiguous: this.ambiguous,
    };
  }
}

/**
 * Codes meaning "no such thing", only those real Alma is documented or seen to give: a PO line number it does
 * not know (401871, Ex Libris' PO line API), an MMS id it does not hold (402203 "Input parameters mmsId … is
 * not valid.", a real answer in test/fixtures/alma/bad-request.xml). Anything else refused is invalid-request.
 */
export const NOT_FOUND_CODES = new Set(['401871', '402203']);

export interface ParsedAlmaError {
  code?: string;
  message?: string;
  trackingId?: string;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;

/** Longest message and code/tracking id kept from an error body: Alma's text goes into failures, logs and histories. */
export const MAX_ERROR_MESSAGE = 500;
export const MAX_ERROR_CODE = 100;

function clip(text: string, max = MAX_ERROR_MESSAGE): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max)}…` : t;
}

/**
 * Anything that looks like an API key, out of a text from the other side (a page may echo the request URL):
 * `apikey=…` in any spelling, and Alma's key shape (l7xx/l8xx and hex).
 */
export function redactSecrets(text: string): string {
  return text
    .replace(/(apikey(?:=|%3D|:|\s)+)[^\s&"'<>]+/gi, '$1REDACTED')
    .replace(/\bl[78]xx[0-9a-f]{16,}\b/gi, 'REDACTED');
}

/** Every field clipped and cleared of keys, whatever format it came in; an empty field is no field. */
function clipped(
  code: string | undefined,
  message: string | undefined,
  trackingId: string | undefined,
  maxMessage = MAX_ERROR_MESSAGE,
) {
  const keep = (v: string | undefined, max: number) => {
    const t = v === undefined ? '' : clip(redactSecrets(v), max);
    return t || undefined;
  };
  const out: ParsedAlmaError = {};
  const c = keep(code, MAX_ERROR_CODE);
  const m = keep(message, maxMessage);
  const t = keep(trackingId, MAX_ERROR_CODE);
  if (c !== undefined) out.code = c;
  if (m !== undefined) out.message = m;
  if (t !== undefined) out.trackingId = t;
  return out;
}

/**
 * 5xx error codes that say the request was not processed: the API gateway answers ROUTING_ERROR when it could
 * not pass the request on to Alma (seen as a 503 in public fixtures). Anything else in a 5xx may have been done.
 */
const NOT_PROCESSED_CODES: ReadonlySet<string> = new Set(['ROUTING_ERROR']);

/**
 * Longest error body read as XML. Alma's XML envelope is a few hundred bytes; a longer body is read as text
 * (its tags stripped): the XML parser is linear but slow on broken input (about 3 µs a character), and an error
 * answer may be megabytes of it.
 */
export const MAX_XML_ERROR_BODY = 64 * 1024;

/**
 * Every `<...>` replaced by a space, in one pass: what `text.replace(/<[^>]*>/g, ' ')` gives, without its
 * quadratic time when many `<` have no `>` after them (300,000 of them blocked the event loop for minutes).
 * Once a `<` has no `>` after it, no later one has either: the rest is text.
 */
export function stripTags(text: string): string {
  let out = '';
  let from = 0;
  for (;;) {
    const open = text.indexOf('<', from);
    if (open < 0) break;
    const close = text.indexOf('>', open + 1);
    if (close < 0) break;
    out += `${text.slice(from, open)} `;
    from = close + 1;
  }
  return out + text.slice(from);
}

/** Longest message kept from an HTML page: its title says what happened, the rest is layout and stack traces. */
export const MAX_HTML_MESSAGE = 200;

const looksLikeHtml = (text: string): boolean =>
  /^(?:<\?xml[^>]{0,200}>\s*)?(?:<!--[^>]{0,200}-->\s*)?<(?:!doctype\s+html|html[\s>]|head[\s>]|body[\s>])/i.test(
    text.slice(0, 600),
  );

/** The text between `<tag…>` and `</tag>` (first occurrence, any case), found by indexOf: linear in the body. */
function elementText(text: string, lower: string, tag: string): string | undefined {
  const open = lower.indexOf(`<${tag}`);
  if (open < 0) return undefined;
  const start = lower.indexOf('>', open);
  if (start < 0) return undefined;
  const end = lower.indexOf(`</${tag}`, start);
  return end < 0 ? undefined : text.slice(start + 1, end);
}

/** What an HTML error page says: its title, else its first heading, else its text (never the whole page). */
function htmlSummary(text: string): string {
  const lower = text.toLowerCase();
  const found = elementText(text, lower, 'title') ?? elementText(text, lower, 'h1');
  return stripTags(found ?? text.slice(0, 4 * MAX_HTML_MESSAGE));
}

/**
 * Alma's envelope read by its tags when the body is not well-formed XML (the gateway's 503 ROUTING_ERROR has
 * been seen with an unescaped `&`): the code, message and tracking id, if there is an errorCode at all.
 */
function looseEnvelope(text: string): ParsedAlmaError | undefined {
  const lower = text.toLowerCase();
  const code = elementText(text, lower, 'errorcode');
  if (code === undefined) return undefined;
  return clipped(
    stripTags(code),
    stripTags(elementText(text, lower, 'errormessage') ?? ''),
    stripTags(elementText(text, lower, 'trackingid') ?? ''),
  );
}

/** Reads Alma's error envelope from a JSON, XML, HTML or plain-text body, every field clipped. */
export function parseErrorBody(body: string): ParsedAlmaError {
  return readErrorBody(body).parsed;
}

/** Alma's JSON envelope (or, failing that, the body as text). */
function jsonEnvelope(text: string): ParsedAlmaError {
  try {
    const parsed: unknown = JSON.parse(text);
    const root = isObj(parsed) && isObj(parsed.web_service_result) ? parsed.web_service_result : parsed;
    const list = isObj(root) && isObj(root.errorList) ? root.errorList.error : undefined;
    // A single error may come as an object rather than an array.
    const first = Array.isArray(list) ? list[0] : list;
    if (isObj(first)) return clipped(str(first.errorCode), str(first.errorMessage), str(first.trackingId));
  } catch {
    // not JSON after all: its text
  }
  return clipped(undefined, text, undefined);
}

/** An XML body that parses (and is short enough to parse): its envelope, else its text. */
function parseWellFormed(text: string): ParsedAlmaError | undefined {
  if (text.length > MAX_XML_ERROR_BODY) return undefined;
  try {
    const root = parseXml(text);
    const error = findElement(root, 'error');
    if (error) {
      const field = (name: string) => textOf(findElement(error, name));
      return clipped(field('errorCode'), field('errorMessage'), field('trackingId'));
    }
    return clipped(undefined, textOf(root), undefined);
  } catch {
    return undefined;
  }
}

/**
 * The envelope, and whether it came from a body read as it should be: a code found by its tags in broken XML
 * names the error, but proves nothing about what Alma did (the body is not known to be the gateway's own).
 */
function readErrorBody(body: string): { parsed: ParsedAlmaError; wellFormed: boolean } {
  const ok = (parsed: ParsedAlmaError) => ({ parsed, wellFormed: true });
  const text = body.trim();
  if (!text) return ok({});
  if (text.startsWith('{')) return ok(jsonEnvelope(text));
  if (text.startsWith('<')) {
    if (looksLikeHtml(text)) return ok(clipped(undefined, htmlSummary(text), undefined, MAX_HTML_MESSAGE));
    const parsed = parseWellFormed(text);
    if (parsed) return ok(parsed);
    const loose = looseEnvelope(text);
    if (loose) return { parsed: loose, wellFormed: false };
    return ok(clipped(undefined, stripTags(text), undefined));
  }
  return ok(clipped(undefined, text, undefined));
}

/** The error for an HTTP answer that is not a success. */
export function errorFromResponse(method: string, path: string, status: number, body: string): AlmaError {
  const { parsed: p, wellFormed } = readErrorBody(body);
  const base = { method, path, status, code: p.code, trackingId: p.trackingId };
  let kind: AlmaErrorKind;
  let retryable = false;
  let ambiguous = false;
  if (p.code === 'UNAUTHORIZED' || status === 401 || status === 403) kind = 'unauthorised';
  else if (p.code === 'DAILY_THRESHOLD') kind = 'daily-budget';
  else if (p.code === 'PER_SECOND_THRESHOLD' || status === 429) {
    // Rejected before processing: safe to retry after a pause.
    kind = 'rate-limited';
    retryable = true;
  } else if ((p.code && NOT_FOUND_CODES.has(p.code)) || status === 404) kind = 'not-found';
  else if (status >= 500) {
    // Alma may have done the work before failing: a POST must look before it retries. Only an answer that
    // says the request never reached Alma (the gateway could not route it) is known to have done nothing.
    kind = 'server';
    retryable = true;
    ambiguous = !(wellFormed && p.code !== undefined && NOT_PROCESSED_CODES.has(p.code));
  } else kind = 'invalid-request';
  const what = p.code
    ? `${p.code} ${p.message ?? ''}`.trim()
    : `HTTP ${status}${p.message ? ` ${p.message}` : ''}`;
  const tracking = p.trackingId ? ` (tracking id ${p.trackingId})` : '';
  return new AlmaError(`Alma ${method} ${path}: ${what}${tracking}`, { ...base, kind, retryable, ambiguous });
}

/** Only what is safe to keep from a transport error: its code, message and whether the request went out. */
export interface TransportFailure {
  code?: string;
  message: string;
  /** The request was completely sent: Alma may have processed it. */
  sent: boolean;
  /** Aborted by the caller's signal (an activity cancellation), not by the network. */
  aborted: boolean;
}

export function errorFromTransport(method: string, path: string, t: TransportFailure): AlmaError {
  const reason = t.aborted
    ? 'request aborted'
    : `network error ${t.code ?? ''} ${t.message}`.replace(/\s+/g, ' ');
  const after = t.sent ? ' after the request was sent (Alma may have processed it)' : '';
  return new AlmaError(`Alma ${method} ${path}: ${reason.trim()}${after}`, {
    kind: 'network',
    method,
    path,
    retryable: !t.aborted,
    ambiguous: t.sent,
  });
}
