/** Fault injection: per endpoint key (or `*`), errors, latency, hangs and dropped answers, by probability. */
import { z } from 'zod';

export const ENDPOINT_KEYS = [
  'po-lines:POST',
  'po-lines:GET',
  'po-line:GET',
  'po-line:DELETE',
  'po-line:PUT',
  'po-line-items:GET',
  'vendor-po-lines:GET',
  'bib:GET',
  'bibs:GET',
  'bib:PUT',
  'funds:GET',
  'vendor:GET',
  'libraries:GET',
  'locations:GET',
  'test:GET',
  'test:POST',
  'vendors:GET',
  'fund:GET',
  'library:GET',
  'bibs:POST',
  'bib:DELETE',
  'bib-holdings:GET',
  'bib-portfolios:GET',
  'sru:GET',
] as const;
export type EndpointKey = (typeof ENDPOINT_KEYS)[number];

const probability = z.number().min(0).max(1);

export const faultSchema = z.strictObject({
  /** Chance of a 5xx before processing (nothing is committed). */
  error5xx: probability.optional(),
  status5xx: z.union([z.literal(500), z.literal(502), z.literal(503)]).optional(),
  /** What the 5xx body is (see BODIES_5XX); `mixed`, the default, picks one at random each time. */
  body5xx: z.enum(['html', 'empty', 'text', 'alma', 'routing', 'mixed']).optional(),
  /** Delay before the request is handled. */
  latencyMs: z.number().int().min(0).max(600_000).optional(),
  /** Chance that the request is never answered (nothing is committed). */
  hang: probability.optional(),
  /** Chance that the request is processed and committed, then the connection is cut without an answer. */
  dropAfterCommit: probability.optional(),
});
export type Fault = z.infer<typeof faultSchema>;

export const faultSetSchema = z.partialRecord(z.enum([...ENDPOINT_KEYS, '*']), faultSchema);
export type FaultSet = z.infer<typeof faultSetSchema>;

/** The fault for an endpoint: its own entry, else the `*` entry. */
export function faultFor(faults: FaultSet, key: EndpointKey): Fault {
  return faults[key] ?? faults['*'] ?? {};
}

export const roll = (p: number | undefined, random: () => number = Math.random): boolean =>
  p !== undefined && p > 0 && random() < p;

export type Body5xxKind = 'html' | 'empty' | 'text' | 'alma' | 'routing';
export const BODIES_5XX: readonly Body5xxKind[] = ['html', 'empty', 'text', 'alma', 'routing'];

/** A 5xx answer: a ready body with its content type, or Alma's own error envelope in the requested format. */
export type Answer5xx =
  | { kind: 'alma'; status: number; code: string; message: string }
  | { kind: 'raw'; status: number; contentType: string | undefined; text: string };

const REASON: Record<number, string> = {
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

/**
 * A Tomcat-style error page as servers in front of Alma send them: long (a stack trace), with a style block,
 * and echoing the request line, so that a client quoting it whole would put pages (and whatever a URL holds)
 * into its errors.
 */
function htmlPage(status: number, requestLine: string): string {
  const title = `HTTP Status ${status} – ${REASON[status] ?? 'Error'}`;
  const trace = Array.from(
    { length: 40 },
    (_, i) => `\tat com.exlibris.core.infra.svc.api.ApiDispatcher.invoke(ApiDispatcher.java:${100 + i})`,
  ).join('\n');
  return [
    '<!doctype html><html lang="en"><head>',
    `<title>${title}</title>`,
    '<style type="text/css">body {font-family:Tahoma,Arial,sans-serif;} h1 {color:white;background-color:#525D76;}</style>',
    '</head><body>',
    `<h1>${title}</h1><hr class="line" />`,
    `<p><b>Type</b> Exception Report</p><p><b>Request</b> ${requestLine.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</p>`,
    '<p><b>Description</b> The server encountered an unexpected condition that prevented it from fulfilling the request.</p>',
    `<p><b>Exception</b></p><pre>java.lang.IllegalStateException: worker pool exhausted\n${trace}</pre>`,
    '<hr class="line" /><h3>Apache Tomcat</h3></body></html>',
  ].join('\n');
}

/**
 * The 5xx answer for a fault: `status` is the fault's (500 when absent) except for `routing`, which is the
 * gateway's 503. The routing body is XML with an unescaped `&`: not well-formed, as reported of real ones.
 */
export function answer5xx(
  kind: Body5xxKind | 'mixed' | undefined,
  status: 500 | 502 | 503,
  requestLine: string,
  random: () => number = Math.random,
): Answer5xx {
  const k =
    kind === undefined || kind === 'mixed' ? BODIES_5XX[Math.floor(random() * BODIES_5XX.length)]! : kind;
  switch (k) {
    case 'html':
      return {
        kind: 'raw',
        status,
        contentType: 'text/html;charset=utf-8',
        text: htmlPage(status, requestLine),
      };
    case 'empty':
      return { kind: 'raw', status, contentType: undefined, text: '' };
    case 'text':
      return {
        kind: 'raw',
        status,
        contentType: 'text/plain;charset=UTF-8',
        text: REASON[status] ?? 'Error',
      };
    case 'routing':
      return {
        kind: 'raw',
        status: 503,
        contentType: 'application/xml;charset=UTF-8',
        text:
          '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><web_service_result xmlns="http://com/exlibris/urm/general/xmlbeans">' +
          '<errorsExist>true</errorsExist><errorList><error><errorCode>ROUTING_ERROR</errorCode>' +
          '<errorMessage>No route to the institution & its application server</errorMessage>' +
          '</error></errorList></web_service_result>',
      };
    case 'alma':
      return {
        kind: 'alma',
        status,
        code: 'INTERNAL_SERVER_ERROR',
        message:
          'The web server encountered an unexpected condition that prevented it from fulfilling the request.',
      };
  }
}
