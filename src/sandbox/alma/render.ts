/** How the sandbox writes Alma's bodies: JSON as is, XML by a generic rule, and Alma's error envelopes. */
import { randomBytes } from 'node:crypto';
import { escapeXml } from '../../alma/xml';

export type Format = 'json' | 'xml';

/** An Alma application error: the handler throws it, the server writes it in the requested format. */
export class AlmaFault extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly almaMessage: string,
  ) {
    super(`${code} ${almaMessage}`);
  }
}

let trackingSeq = 0;

/** Alma-looking tracking ids ("E01-2811153012-ABCDE-AWAE1234567"), unique within the process. */
export function newTrackingId(now = new Date()): string {
  const d = now.toISOString();
  const stamp = d.slice(8, 10) + d.slice(5, 7) + d.slice(11, 13) + d.slice(14, 16) + d.slice(17, 19);
  const rand = randomBytes(4).toString('hex').slice(0, 5).toUpperCase();
  trackingSeq += 1;
  return `E01-${stamp}-${rand}-AWAE${trackingSeq}${Math.floor(Math.random() * 1000)}`;
}

export function errorJson(code: string, message: string, trackingId: string): string {
  return JSON.stringify({
    errorsExist: true,
    errorList: { error: [{ errorCode: code, errorMessage: message, trackingId }] },
    result: null,
  });
}

/** The XML error envelope, laid out as Alma sends it. */
export function errorXml(code: string, message: string, trackingId: string): string {
  return [
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>',
    '  <web_service_result xmlns="http://com/exlibris/urm/general/xmlbeans">',
    '    <errorsExist>true</errorsExist>',
    '    <errorList>',
    '      <error>',
    `        <errorCode>${escapeXml(code)}</errorCode>`,
    `        <errorMessage>${escapeXml(message)}</errorMessage>`,
    `        <trackingId>${escapeXml(trackingId)}</trackingId>`,
    '      </error>',
    '    </errorList>',
    '  </web_service_result>',
    '',
  ].join('\n');
}

/**
 * Alma's refusal of a key (unknown, for another environment, or without the API's area): XML whatever the
 * client asked for, CRLF line ends and deep indentation, and no tracking id, byte for byte as public client
 * fixtures hold it (docs/alma-sandbox.md, "Errors").
 */
export function unauthorizedXml(): string {
  return [
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>',
    '<web_service_result xmlns="http://com/exlibris/urm/general/xmlbeans">',
    '            <errorsExist>true</errorsExist>',
    '            <errorList>',
    '                        <error>',
    '                                    <errorCode>UNAUTHORIZED</errorCode>',
    '                                    <errorMessage>API-key not defined or not configured to allow this API.</errorMessage>',
    '                        </error>',
    '            </errorList>',
    '</web_service_result>',
  ].join('\r\n');
}

export const XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>';

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Alma's coded values ({value, desc, link}) become `<name desc="…">value</name>` in XML. */
function isCoded(v: Record<string, unknown>): boolean {
  return 'value' in v && Object.keys(v).every((k) => k === 'value' || k === 'desc' || k === 'link');
}

/**
 * Renders JSON data as Alma-style XML: a JSON array `x: [...]` becomes `<xs><x>…</x></xs>`, nulls are left
 * out, coded values carry `desc` as an attribute. `raw` names keys whose string values are already XML.
 */
export function toXml(name: string, value: unknown, raw: ReadonlySet<string> = new Set()): string {
  if (value === null || value === undefined) return '';
  if (Array.isArray(value)) {
    return `<${name}s>${value.map((v) => toXml(name, v, raw)).join('')}</${name}s>`;
  }
  if (isPlainObject(value)) {
    if (isCoded(value)) {
      const attrs = ['desc', 'link']
        .filter((k) => typeof value[k] === 'string')
        .map((k) => ` ${k}="${escapeXml(value[k])}"`)
        .join('');
      return `<${name}${attrs}>${value.value === null ? '' : escapeXml(value.value)}</${name}>`;
    }
    const inner = Object.entries(value)
      .map(([k, v]) => (raw.has(k) && typeof v === 'string' ? v : toXml(k, v, raw)))
      .join('');
    return `<${name}>${inner}</${name}>`;
  }
  return `<${name}>${escapeXml(value)}</${name}>`;
}

/** A list answer: `<po_lines total_record_count="2"><po_line>…</po_line>…</po_lines>`. */
export function listXml(item: string, items: unknown[], total: number, raw?: ReadonlySet<string>): string {
  return `${XML_DECL}<${item}s total_record_count="${total}">${items.map((i) => toXml(item, i, raw)).join('')}</${item}s>`;
}
