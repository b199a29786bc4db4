/**
 * A typed client for the Alma REST endpoints this project uses. The key travels only in the Authorization
 * header; got does not retry (the callers decide, knowing whether a POST may have committed); every failure
 * is an AlmaError; answers are capped in size (16 MiB for bibs, 4 MiB otherwise), then checked with zod;
 * X-Exl-Api-Remaining is reported on every response.
 */
import got, { type Got, type Method, type RequestError } from 'got';
import type { ClientRequest, IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { silentLogger } from '../logging';
import { recordAlmaCall } from '../metrics';
import { AlmaError, errorFromResponse, errorFromTransport } from './errors';
import {
  bibJsonSchema,
  bibListSchema,
  codeTableSchema,
  fundListSchema,
  libraryListSchema,
  locationListSchema,
  poLineListSchema,
  poLineSchema,
  vendorSchema,
  type Bib,
  type BibJson,
  type CodeTable,
  type Fund,
  type Library,
  type Location,
  type PoLine,
  type PoLineInput,
  type Vendor,
} from './schemas';

export type { Bib, CodeTable, Fund, Library, Location, PoLine, PoLineInput, Vendor };

export interface AlmaClientOptions {
  /** Base URL ending in /almaws/v1, e.g. https://api-na.hosted.exlibrisgroup.com/almaws/v1. */
  gateway: string;
  apiKey: string;
  timeoutMs?: number;
  logger?: Logger;
  /** Called with X-Exl-Api-Remaining (calls left today) after every response that carries it. */
  onRemaining?: (remaining: number) => void;
  /** Aborts calls in flight and refuses new ones (an activity's cancellation). */
  signal?: AbortSignal;
  /**
   * Largest answer read, in bytes after decompression: bibs (`/bibs...`, MARCXML inside) and everything else.
   * Reading stops beyond it and the call fails with an AlmaError naming the cap.
   */
  maxAnswerBytes?: { bibs?: number; other?: number };
}

/** Default answer caps: a bib answer holds up to 100 records with their MARCXML; other answers are lists of 100 at most. */
export const MAX_BIB_ANSWER_BYTES = 16 * 1024 * 1024;
export const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

function bytesText(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

export interface PageOptions {
  limit?: number;
  offset?: number;
  status?: string;
}

export interface PoLinePage {
  poLines: PoLine[];
  total: number;
}

export interface CancelOptions {
  reason: string;
  comment?: string;
  informVendor?: boolean;
  /** What happens to the bib: retain (default), delete or suppress. */
  bib?: 'retain' | 'delete' | 'suppress';
}

export interface AlmaClient {
  createPoLine(
    body: PoLineInput,
    opts?: { profileCode?: string; requiresManualReview?: boolean },
  ): Promise<PoLine>;
  getPoLine(number: string): Promise<PoLine>;
  searchPoLines(q: string, opts?: PageOptions): Promise<PoLinePage>;
  listVendorPoLines(vendorCode: string, opts?: PageOptions): Promise<PoLinePage>;
  cancelPoLine(number: string, opts: CancelOptions): Promise<void>;
  getBib(mmsId: string): Promise<Bib>;
  getBibs(mmsIds: string[]): Promise<Bib[]>;
  putBib(mmsId: string, bibXml: string): Promise<Bib>;
  listFunds(q?: string): Promise<Fund[]>;
  getVendor(code: string): Promise<Vendor>;
  listLocations(library: string): Promise<Location[]>;
  listLibraries(): Promise<Library[]>;
  getCodeTable(name: string): Promise<CodeTable>;
  test(): Promise<void>;
}

interface CallOptions<T> {
  searchParams?: Record<string, string>;
  json?: unknown;
  xml?: string;
  schema?: z.ZodType<T>;
}

const seg = (s: string) => encodeURIComponent(s);

function toBib(raw: BibJson): Bib {
  return {
    mmsId: raw.mms_id,
    marcXml: raw.anies?.[0] ?? '',
    title: raw.title ?? null,
    author: raw.author ?? null,
    isbn: raw.isbn ?? null,
    raw,
  };
}

export function createAlmaClient(opts: AlmaClientOptions): AlmaClient {
  const logger = opts.logger ?? silentLogger;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const http: Got = got.extend({
    prefixUrl: opts.gateway.replace(/\/+$/, ''),
    headers: { authorization: `apikey ${opts.apiKey}`, accept: 'application/json' },
    retry: { limit: 0 },
    timeout: { request: timeoutMs },
    throwHttpErrors: false,
    followRedirect: false,
  });

  const caps = {
    bibs: opts.maxAnswerBytes?.bibs ?? MAX_BIB_ANSWER_BYTES,
    other: opts.maxAnswerBytes?.other ?? MAX_ANSWER_BYTES,
  };

  interface Answer {
    statusCode: number;
    headers: IncomingHttpHeaders;
    body: string;
  }

  /**
   * One request, its answer read as a stream and counted (after decompression, so a small gzip cannot unpack
   * into an unbounded body): reading stops past `cap`. Every failure is an AlmaError holding only safe facts
   * (got's errors hold the request options, headers included).
   */
  function exchange(
    method: Method,
    path: string,
    request: { headers: Record<string, string>; body?: string; searchParams?: Record<string, string> },
    cap: number,
  ): Promise<Answer> {
    return new Promise<Answer>((resolve, reject) => {
      const stream = http.stream(path.slice(1), {
        method,
        headers: request.headers,
        ...(request.body !== undefined ? { body: request.body } : {}),
        ...(request.searchParams ? { searchParams: request.searchParams } : {}),
      });
      // Whether the request left completely: from then on Alma may process it whatever happens to us.
      let sent = false;
      let status: number | undefined;
      let headers: IncomingHttpHeaders = {};
      let size = 0;
      const chunks: Buffer[] = [];
      let settled = false;
      const settle = (done: () => void) => {
        if (settled) return;
        settled = true;
        opts.signal?.removeEventListener('abort', abort);
        done();
      };
      const fail = (e: AlmaError) =>
        settle(() => {
          stream.destroy();
          reject(e);
        });
      const abort = () => fail(errorFromTransport(method, path, { message: 'aborted', sent, aborted: true }));
      const overCap = () => {
        const over = `over the ${bytesText(cap)} cap for this call; reading stopped there`;
        if (status !== undefined && (status < 200 || status >= 300)) {
          // An error answer still says what kind of failure it is by its status.
          const e = errorFromResponse(method, path, status, '');
          return new AlmaError(`${e.message} (its body is ${over})`, e);
        }
        return new AlmaError(
          `Alma ${method} ${path}: the answer${status !== undefined ? ` (HTTP ${status})` : ''} is ${over}`,
          {
            kind: 'server',
            method,
            path,
            ...(status !== undefined ? { status } : {}),
            retryable: false,
            // A write may have happened before its answer grew too large.
            ambiguous: method !== 'GET',
          },
        );
      };
      opts.signal?.addEventListener('abort', abort, { once: true });
      stream.on('request', (req: ClientRequest) => req.once('finish', () => (sent = true)));
      stream.on('response', (res: IncomingMessage) => {
        status = res.statusCode;
        headers = res.headers;
        // A declared length is the decoded length only without a content encoding.
        const declared = Number(res.headers['content-length']);
        if (!res.headers['content-encoding'] && declared > cap) fail(overCap());
      });
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > cap) return fail(overCap());
        chunks.push(chunk);
      });
      stream.on('end', () =>
        settle(() =>
          resolve({ statusCode: status ?? 0, headers, body: Buffer.concat(chunks).toString('utf8') }),
        ),
      );
      stream.on('error', (e: unknown) => {
        const err = e as Partial<RequestError>;
        fail(
          errorFromTransport(method, path, {
            code: typeof err.code === 'string' ? err.code : undefined,
            message: String(err.message ?? e),
            sent,
            aborted: opts.signal?.aborted === true,
          }),
        );
      });
      // A stream request with no body and a method that may have one waits for its end.
      if (request.body === undefined && method !== 'GET' && method !== 'HEAD') stream.end();
    });
  }

  async function call<T>(method: Method, path: string, o: CallOptions<T> = {}): Promise<T> {
    const started = Date.now();
    if (opts.signal?.aborted) {
      throw errorFromTransport(method, path, { message: 'aborted', sent: false, aborted: true });
    }
    const headers: Record<string, string> = {};
    let body: string | undefined;
    if (o.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(o.json);
    } else if (o.xml !== undefined) {
      headers['content-type'] = 'application/xml';
      body = o.xml;
    }
    const cap = path.startsWith('/bibs') ? caps.bibs : caps.other;
    let res: Answer;
    try {
      res = await exchange(
        method,
        path,
        {
          headers,
          ...(body !== undefined ? { body } : {}),
          ...(o.searchParams ? { searchParams: o.searchParams } : {}),
        },
        cap,
      );
    } catch (e) {
      // exchange() rejects with AlmaErrors only; anything else (got refusing its options) is reduced to one.
      const failure =
        e instanceof AlmaError
          ? e
          : errorFromTransport(method, path, {
              message: String((e as Error).message),
              sent: false,
              aborted: false,
            });
      logger.debug({ method, path, ms: Date.now() - started, error: failure.message }, 'alma call failed');
      recordAlmaCall(method, path, failure.status, failure.kind);
      throw failure;
    }
    const remainingHeader = res.headers['x-exl-api-remaining'];
    const remaining = typeof remainingHeader === 'string' ? Number(remainingHeader) : NaN;
    if (Number.isFinite(remaining)) opts.onRemaining?.(remaining);
    logger.debug(
      {
        method,
        path,
        status: res.statusCode,
        ms: Date.now() - started,
        ...(Number.isFinite(remaining) ? { remaining } : {}),
      },
      'alma call',
    );
    if (res.statusCode < 200 || res.statusCode >= 300) {
      const failure = errorFromResponse(method, path, res.statusCode, res.body);
      recordAlmaCall(method, path, res.statusCode, failure.kind);
      throw failure;
    }
    recordAlmaCall(method, path, res.statusCode);
    if (!o.schema) return undefined as T;
    let data: unknown;
    try {
      data = JSON.parse(res.body);
    } catch {
      throw unexpected(method, path, res.statusCode, 'the answer is not JSON');
    }
    const parsed = o.schema.safeParse(data);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw unexpected(
        method,
        path,
        res.statusCode,
        `${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`,
      );
    }
    return parsed.data;
  }

  /** A success status with a body we cannot use: a write may still have happened. */
  function unexpected(method: string, path: string, status: number, why: string): AlmaError {
    return new AlmaError(`Alma ${method} ${path}: unexpected answer (${why})`, {
      kind: 'server',
      method,
      path,
      status,
      retryable: false,
      ambiguous: method !== 'GET',
    });
  }

  const page = (o: PageOptions = {}) => ({
    limit: String(o.limit ?? 100),
    offset: String(o.offset ?? 0),
    ...(o.status ? { status: o.status } : {}),
  });

  return {
    createPoLine(body, o = {}) {
      return call('POST', '/acq/po-lines', {
        json: body,
        schema: poLineSchema,
        searchParams: {
          ...(o.profileCode ? { profile_code: o.profileCode } : {}),
          ...(o.requiresManualReview !== undefined
            ? { requires_manual_review: String(o.requiresManualReview) }
            : {}),
        },
      });
    },
    getPoLine(number) {
      return call('GET', `/acq/po-lines/${seg(number)}`, { schema: poLineSchema });
    },
    async searchPoLines(q, o) {
      const r = await call('GET', '/acq/po-lines', {
        searchParams: { q, ...page(o) },
        schema: poLineListSchema,
      });
      return { poLines: r.po_line ?? [], total: r.total_record_count };
    },
    async listVendorPoLines(vendorCode, o) {
      const r = await call('GET', `/acq/vendors/${seg(vendorCode)}/po-lines`, {
        searchParams: page(o),
        schema: poLineListSchema,
      });
      return { poLines: r.po_line ?? [], total: r.total_record_count };
    },
    async cancelPoLine(number, o) {
      await call('DELETE', `/acq/po-lines/${seg(number)}`, {
        searchParams: {
          reason: o.reason,
          ...(o.comment ? { comment: o.comment } : {}),
          inform_vendor: String(o.informVendor ?? false),
          bib: o.bib ?? 'retain',
        },
      });
    },
    async getBib(mmsId) {
      return toBib(await call('GET', `/bibs/${seg(mmsId)}`, { schema: bibJsonSchema }));
    },
    async getBibs(mmsIds) {
      const out: Bib[] = [];
      for (let i = 0; i < mmsIds.length; i += 100) {
        const chunk = mmsIds.slice(i, i + 100);
        const r = await call('GET', '/bibs', {
          searchParams: { mms_id: chunk.join(',') },
          schema: bibListSchema,
        });
        out.push(...(r.bib ?? []).map(toBib));
      }
      return out;
    },
    async putBib(mmsId, bibXml) {
      return toBib(
        await call('PUT', `/bibs/${seg(mmsId)}`, {
          xml: bibXml,
          schema: bibJsonSchema,
          searchParams: {
            validate: 'false',
            override_warning: 'true',
            override_lock: 'true',
            stale_version_check: 'false',
            check_match: 'false',
          },
        }),
      );
    },
    async listFunds(q) {
      const funds: Fund[] = [];
      for (let offset = 0; ; offset += 100) {
        const r = await call('GET', '/acq/funds', {
          searchParams: { mode: 'POL', limit: '100', offset: String(offset), ...(q ? { q } : {}) },
          schema: fundListSchema,
        });
        funds.push(...(r.fund ?? []));
        if (!r.fund?.length || offset + 100 >= r.total_record_count) return funds;
      }
    },
    getVendor(code) {
      return call('GET', `/acq/vendors/${seg(code)}`, { schema: vendorSchema });
    },
    async listLocations(library) {
      const r = await call('GET', `/conf/libraries/${seg(library)}/locations`, {
        schema: locationListSchema,
      });
      return r.location ?? [];
    },
    async listLibraries() {
      const r = await call('GET', '/conf/libraries', { schema: libraryListSchema });
      return r.library ?? [];
    },
    getCodeTable(name) {
      return call('GET', `/conf/code-tables/${seg(name)}`, { schema: codeTableSchema });
    },
    async test() {
      await call('GET', '/acq/test');
    },
  };
}
