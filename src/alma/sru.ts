/**
 * Alma's SRU interface (Search/Retrieve via URL, version 1.2): how an integration searches the institution's
 * catalogue by ISBN or title, which Alma's REST /bibs cannot. `GET https://<Alma domain>/view/sru/<institution
 * code>?version=1.2&operation=searchRetrieve&recordSchema=marcxml&query=…` answers MARCXML records; with the
 * institution's "include availability" set, each carries AVA fields (physical inventory) and AVE fields
 * (electronic). Public per institution (no API key, not counted in the API budget), enabled by the institution's
 * SRU Server integration profile. Sources and assumptions: docs/alma-sandbox.md, "SRU".
 *
 * Every failure is an AlmaError (path /view/sru/…), so the activities treat it by the one failure table; answers
 * are capped in size; SRU's diagnostics (sent with HTTP 200) are failures too, never "nothing found".
 */
import got, { type RequestError } from 'got';
import type { IncomingMessage } from 'node:http';
import { AlmaError } from './errors';
import { elements, findElement, parseXml, textOf, type XmlElement } from './xml';

export interface SruClientOptions {
  /** The institution's SRU base, e.g. https://univ.alma.exlibrisgroup.com/view/sru/01UNIV_INST. */
  baseUrl: string;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Largest answer read, in bytes after decompression (default 4 MiB: 50 full records with inventory). */
  maxAnswerBytes?: number;
}

/** A holding as an AVA field tells it. */
export interface SruPhysical {
  library: string;
  /** The location code ($j), else its name ($c). */
  location: string;
  callNumber?: string;
  availability?: string;
}

/** A portfolio (or electronic collection) as an AVE field tells it. */
export interface SruElectronic {
  collection?: string;
  availability?: string;
}

export interface SruRecord {
  mmsId: string;
  title?: string;
  author?: string;
  physical: SruPhysical[];
  electronic: SruElectronic[];
}

export interface SruPage {
  total: number;
  records: SruRecord[];
}

export interface SruClient {
  /** One page of a CQL search: `maximumRecords` records (at most 50) from `startRecord` (1-based). */
  searchRetrieve(query: string, opts?: { maximumRecords?: number; startRecord?: number }): Promise<SruPage>;
}

export const MAX_SRU_ANSWER_BYTES = 4 * 1024 * 1024;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001F\u007F]/g;

/**
 * A CQL search term, always quoted: backslash and double quote escaped, and CQL's masking characters (* ? ^)
 * escaped so that untrusted text (a title) stays a literal term, never a wildcard or a piece of query syntax.
 */
export function cqlTerm(value: string): string {
  const clean = value.replace(CONTROL, ' ').replace(/\s+/g, ' ').trim();
  return `"${clean.replace(/[\\"*?^]/g, (c) => `\\${c}`)}"`;
}

/** The ISBN-10 form of a 978 ISBN-13 (979 ones have none). */
export function isbn13to10(isbn13: string): string | undefined {
  if (!/^978\d{10}$/.test(isbn13)) return undefined;
  const body = isbn13.slice(3, 12);
  const sum = [...body].reduce((s, d, i) => s + (10 - i) * Number(d), 0);
  const check = (11 - (sum % 11)) % 11;
  return body + (check === 10 ? 'X' : String(check));
}

/** An ISBN-13 and, for 978, its ISBN-10 form: Alma's ISBN index holds the form catalogued (ASSUMPTION). */
export function isbnQuery(isbn13: string): string {
  const forms = [isbn13, ...(isbn13.startsWith('978') ? [isbn13to10(isbn13)] : [])].filter(
    (f): f is string => !!f,
  );
  return forms.map((f) => `alma.isbn=${cqlTerm(f)}`).join(' or ');
}

/** An ebook without ISBN: all words of the title, and of the author's surname when given. */
export function titleQuery(titleWords: string, author?: string): string {
  const surname = author
    ?.split(',')[0]
    ?.replace(/[^\p{L}\p{N}\s-]/gu, ' ')
    .trim();
  return [
    `alma.title all ${cqlTerm(titleWords)}`,
    ...(surname ? [`alma.creator all ${cqlTerm(surname)}`] : []),
  ].join(' and ');
}

const sub = (df: XmlElement, code: string): string | undefined => {
  const s = elements(df, 'subfield').find((e) => e.attrs.code === code);
  const t = s ? textOf(s).trim() : '';
  return t || undefined;
};

/** One MARCXML record of the answer: 001, 245 $a, 100 $a, and its AVA/AVE fields. */
function readRecord(rec: XmlElement): SruRecord | undefined {
  const mmsId = textOf(elements(rec, 'controlfield').find((c) => c.attrs.tag === '001')).trim();
  if (!/^\d+$/.test(mmsId)) return undefined;
  const fields = elements(rec, 'datafield');
  const first = (tag: string, code: string) => {
    const f = fields.find((d) => d.attrs.tag === tag);
    return f ? sub(f, code) : undefined;
  };
  const physical = fields
    .filter((d) => d.attrs.tag === 'AVA')
    .map((d): SruPhysical => {
      const callNumber = sub(d, 'd');
      const availability = sub(d, 'e');
      return {
        library: sub(d, 'b') ?? '?',
        location: sub(d, 'j') ?? sub(d, 'c') ?? '?',
        ...(callNumber ? { callNumber } : {}),
        ...(availability ? { availability } : {}),
      };
    });
  const electronic = fields
    .filter((d) => d.attrs.tag === 'AVE')
    .map((d): SruElectronic => {
      const collection = sub(d, 'm');
      const availability = sub(d, 'e');
      return { ...(collection ? { collection } : {}), ...(availability ? { availability } : {}) };
    });
  // 245 $a with its remainder $b: an order's title carries the subtitle.
  const title = [first('245', 'a'), first('245', 'b')].filter(Boolean).join(' ') || undefined;
  const author = first('100', 'a') ?? first('110', 'a');
  return { mmsId, ...(title ? { title } : {}), ...(author ? { author } : {}), physical, electronic };
}

/** Reads a searchRetrieveResponse; throws (with a reason) on diagnostics or a body that is not one. */
export function readSearchRetrieve(xml: string): SruPage {
  const root = parseXml(xml);
  if (root.name !== 'searchRetrieveResponse')
    throw new Error(`the answer is <${root.name}>, not an SRU searchRetrieveResponse`);
  const diag = findElement(root, 'diagnostic');
  if (diag) {
    const uri = textOf(elements(diag, 'uri')[0]).trim();
    const message = textOf(elements(diag, 'message')[0]).trim();
    const details = textOf(elements(diag, 'details')[0]).trim();
    throw new SruDiagnostic(uri, [message, details].filter(Boolean).join(': ').slice(0, 300));
  }
  const total = Number(textOf(elements(root, 'numberOfRecords')[0]).trim());
  if (!Number.isInteger(total) || total < 0) throw new Error('numberOfRecords is missing or not a number');
  const recordsEl = elements(root, 'records')[0];
  const records = (recordsEl ? elements(recordsEl, 'record') : []).flatMap((r) => {
    const data = elements(r, 'recordData')[0];
    const marc = data ? elements(data, 'record')[0] : undefined;
    const read = marc ? readRecord(marc) : undefined;
    return read ? [read] : [];
  });
  return { total, records };
}

/** An SRU diagnostic: the server refused or failed the search (SRU 1.2 diagnostics list, info:srw/diagnostic/1/N). */
export class SruDiagnostic extends Error {
  constructor(
    readonly uri: string,
    readonly text: string,
  ) {
    super(`SRU diagnostic ${uri || '(no uri)'}${text ? ` ${text}` : ''}`);
  }
  /** 1 (general system error) and 2 (temporarily unavailable) may pass; the others are the request's fault. */
  get retryable(): boolean {
    return /\/1\/(1|2)$/.test(this.uri);
  }
}

export function createSruClient(opts: SruClientOptions): SruClient {
  const base = opts.baseUrl.replace(/\/+$/, '');
  const path = new URL(base).pathname;
  const cap = opts.maxAnswerBytes ?? MAX_SRU_ANSWER_BYTES;
  const fail = (
    message: string,
    f: { kind: 'server' | 'network' | 'invalid-request'; status?: number; retryable: boolean },
  ) =>
    new AlmaError(`Alma SRU GET ${path}: ${message}`, {
      kind: f.kind,
      method: 'GET',
      path,
      ...(f.status !== undefined ? { status: f.status } : {}),
      retryable: f.retryable,
      ambiguous: false,
    });

  function fetchText(searchParams: Record<string, string>): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      if (opts.signal?.aborted) return reject(fail('aborted', { kind: 'network', retryable: true }));
      const stream = got.stream(base, {
        searchParams,
        headers: { accept: 'application/xml' },
        retry: { limit: 0 },
        timeout: { request: opts.timeoutMs ?? 30_000 },
        throwHttpErrors: false,
        followRedirect: false,
      });
      let status = 0;
      let size = 0;
      const chunks: Buffer[] = [];
      let settled = false;
      const done = (f: () => void) => {
        if (settled) return;
        settled = true;
        opts.signal?.removeEventListener('abort', abort);
        f();
      };
      const stop = (e: AlmaError) =>
        done(() => {
          stream.destroy();
          reject(e);
        });
      const abort = () => stop(fail('aborted', { kind: 'network', retryable: true }));
      opts.signal?.addEventListener('abort', abort, { once: true });
      const over = () =>
        fail(
          `the answer${status ? ` (HTTP ${status})` : ''} is over the ${cap} bytes cap; reading stopped there`,
          {
            kind: 'server',
            ...(status ? { status } : {}),
            retryable: false,
          },
        );
      stream.on('response', (res: IncomingMessage) => {
        status = res.statusCode ?? 0;
        const declared = Number(res.headers['content-length']);
        if (!res.headers['content-encoding'] && declared > cap) stop(over());
      });
      stream.on('data', (c: Buffer) => {
        size += c.length;
        if (size > cap) return stop(over());
        chunks.push(c);
      });
      stream.on('end', () => done(() => resolve({ status, body: Buffer.concat(chunks).toString('utf8') })));
      stream.on('error', (e: unknown) => {
        const err = e as Partial<RequestError>;
        const code = typeof err.code === 'string' ? err.code : undefined;
        stop(fail(`no answer (${code ?? String(err.message ?? e)})`, { kind: 'network', retryable: true }));
      });
    });
  }

  return {
    async searchRetrieve(query, o = {}) {
      const { status, body } = await fetchText({
        version: '1.2',
        operation: 'searchRetrieve',
        recordSchema: 'marcxml',
        query,
        maximumRecords: String(Math.min(50, Math.max(1, o.maximumRecords ?? 10))),
        startRecord: String(Math.max(1, o.startRecord ?? 1)),
      });
      if (status < 200 || status >= 300) {
        // 404: no SRU for this institution (not enabled, or the wrong base URL); 5xx: Alma failing.
        const why =
          status === 404
            ? 'HTTP 404 (is SRU enabled for the institution, an "SRU Server" integration profile, and is the base URL right?)'
            : `HTTP ${status}`;
        throw fail(why, {
          kind: status >= 500 || status === 429 ? 'server' : 'invalid-request',
          status,
          retryable: status >= 500 || status === 429,
        });
      }
      try {
        return readSearchRetrieve(body);
      } catch (e) {
        if (e instanceof SruDiagnostic) {
          throw fail(e.message, {
            kind: e.retryable ? 'server' : 'invalid-request',
            status,
            retryable: e.retryable,
          });
        }
        throw fail(`unexpected answer (${(e as Error).message})`, {
          kind: 'server',
          status,
          retryable: false,
        });
      }
    },
  };
}
