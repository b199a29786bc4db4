/**
 * The Alma sandbox: an HTTP server (node:http only) that answers like Alma's REST API for the endpoints
 * this project uses, with Alma's key check, thresholds, error envelopes and asynchronous bib linking,
 * plus fault injection and an admin API under /_sandbox/ for tests and demos.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { silentLogger } from '../../logging';
import { adminRequest } from './admin';
import { answer5xx, faultFor, roll, type Fault, type FaultSet } from './faults';
import { allows, KeyRing } from './keys';
import { StateFile } from './persist';
import { AlmaFault, errorJson, errorXml, newTrackingId, unauthorizedXml, type Format } from './render';
import { matchRoute } from './routes';
import { settleAll } from './po-lines';
import { sruSearch } from './sru';
import type { SandboxSeed } from './seed';
import { SandboxState, utcDay, type InstitutionState, type PoLineBehaviour } from './state';
import type { Answer, Ctx } from './types';

export interface AlmaSandboxOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  seed: SandboxSeed;
  /** Where PO lines and bibs are kept across restarts; in memory only when absent. */
  stateFile?: string;
  /** How long after a PO line's creation its bib gets linked (Alma does it in the background). */
  bibDelayMs?: number;
  /** PO lines (docs/alma-sandbox.md): processing delay, search index lag and matching, duplicate references. */
  asyncDelayMs?: number;
  indexLagMs?: number;
  searchMatch?: PoLineBehaviour['searchMatch'];
  duplicateReference?: PoLineBehaviour['duplicateReference'];
  logger?: Logger;
}

export interface AlmaSandbox {
  /** e.g. http://127.0.0.1:8480/almaws/v1: the gateway to configure. */
  url: string;
  /** e.g. http://127.0.0.1:8480 (the admin API is under /_sandbox/). */
  baseUrl: string;
  port: number;
  close(): Promise<void>;
}

const API_PREFIX = '/almaws/v1';
/** Alma's SRU target, beside the API and without a key: /view/sru/<institution code>. */
const SRU_PATH = /^\/view\/sru\/([^/]+)\/?$/;
const MAX_BODY = 10 * 1024 * 1024;
const PER_SECOND_MESSAGE = 'HTTP requests are more than allowed per second';
const DAILY_MESSAGE =
  'Daily API Request Threshold has been reached. For details see: https://developers.exlibrisgroup.com/alma/apis/#threshold';

/** `format=` first, then Accept; with neither, XML: Alma's default (docs/alma-sandbox.md). */
function pickFormat(req: IncomingMessage, url: URL): Format {
  const f = url.searchParams.get('format')?.toLowerCase();
  if (f === 'xml' || f === 'json') return f;
  const accept = String(req.headers.accept ?? '').toLowerCase();
  if (accept.includes('json')) return 'json';
  return 'xml';
}

function apiKeyOf(req: IncomingMessage, url: URL): string | undefined {
  const q = url.searchParams.get('apikey');
  if (q) return q;
  const m = /^apikey\s+(\S+)\s*$/i.exec(String(req.headers.authorization ?? ''));
  return m?.[1];
}

/** The URL as logged: the key never appears. */
function redacted(url: URL): string {
  const params = new URLSearchParams(url.searchParams);
  if (params.has('apikey')) params.set('apikey', 'REDACTED');
  const q = params.toString();
  return url.pathname + (q ? `?${q}` : '');
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error('body too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const sleep = (ms: number) =>
  new Promise<void>((resolve) => {
    setTimeout(resolve, ms).unref();
  });

export async function startAlmaSandbox(opts: AlmaSandboxOptions): Promise<AlmaSandbox> {
  const logger = opts.logger ?? silentLogger;
  const host = opts.host ?? '127.0.0.1';
  const state = new SandboxState(opts.seed, {
    ...(opts.bibDelayMs !== undefined ? { bibDelayMs: opts.bibDelayMs } : {}),
    ...(opts.asyncDelayMs !== undefined ? { asyncDelayMs: opts.asyncDelayMs } : {}),
    ...(opts.indexLagMs !== undefined ? { indexLagMs: opts.indexLagMs } : {}),
    ...(opts.searchMatch !== undefined ? { searchMatch: opts.searchMatch } : {}),
    ...(opts.duplicateReference !== undefined ? { duplicateReference: opts.duplicateReference } : {}),
  });
  const keys = new KeyRing(state.institutions.values());
  let faults: FaultSet = {};
  const stateFile = opts.stateFile
    ? new StateFile(opts.stateFile, () => state.snapshot(), logger)
    : undefined;
  if (stateFile) state.restore(stateFile.load());
  const changed = () => stateFile?.schedule();
  const hung = new Set<ServerResponse>();
  let apiBase = '';

  /** A fault's latency, then its hang: never answered and nothing committed, the client has to time out. */
  async function delayOrHang(fault: Fault, res: ServerResponse): Promise<boolean> {
    if (fault.latencyMs) await sleep(fault.latencyMs);
    if (!roll(fault.hang)) return false;
    hung.add(res);
    res.on('close', () => hung.delete(res));
    return true;
  }

  function send(
    res: ServerResponse,
    status: number,
    text: string,
    contentType: string | undefined,
    remaining?: number,
  ): void {
    const headers: Record<string, string | number> = {};
    if (remaining !== undefined) headers['X-Exl-Api-Remaining'] = remaining;
    if (status !== 204) {
      if (contentType) headers['Content-Type'] = contentType;
      headers['Content-Length'] = Buffer.byteLength(text);
    }
    res.writeHead(status, headers);
    res.end(status === 204 ? undefined : text);
  }

  function sendError(
    res: ServerResponse,
    format: Format,
    status: number,
    code: string,
    message: string,
    remaining?: number,
  ) {
    const tid = newTrackingId();
    if (format === 'xml')
      send(res, status, errorXml(code, message, tid), 'application/xml;charset=UTF-8', remaining);
    else send(res, status, errorJson(code, message, tid), 'application/json;charset=UTF-8', remaining);
  }

  function sendAnswer(res: ServerResponse, format: Format, answer: Answer, remaining: number) {
    if (answer.status === 204 || answer.json === undefined) return send(res, 204, '', '', remaining);
    if (format === 'xml' && answer.xml) {
      return send(res, answer.status, answer.xml(), 'application/xml;charset=UTF-8', remaining);
    }
    send(res, answer.status, JSON.stringify(answer.json), 'application/json;charset=UTF-8', remaining);
  }

  /** Counts the call against the institution's budget, or says which threshold refuses it. */
  function admit(
    inst: InstitutionState,
    now: number,
  ): 'PER_SECOND_THRESHOLD' | 'DAILY_THRESHOLD' | undefined {
    const today = utcDay(now);
    if (inst.dailyDay !== today) {
      inst.dailyDay = today;
      inst.dailyUsed = 0;
    }
    if (inst.dailyUsed >= inst.daily) return 'DAILY_THRESHOLD';
    inst.window = inst.window.filter((t) => t > now - 1000);
    if (inst.window.length >= inst.perSecond) return 'PER_SECOND_THRESHOLD';
    inst.window.push(now);
    inst.dailyUsed += 1;
    inst.accepted += 1;
    inst.maxPerSecond = Math.max(inst.maxPerSecond, inst.window.length);
    changed();
    return undefined;
  }

  async function handleApi(req: IncomingMessage, res: ServerResponse, url: URL): Promise<string | number> {
    const format = pickFormat(req, url);
    const method = req.method ?? 'GET';
    const body = method === 'GET' || method === 'DELETE' ? '' : await readBody(req);
    const apiPath = url.pathname.slice(API_PREFIX.length) || '/';
    const route = matchRoute(method, apiPath);
    const entry = keys.get(apiKeyOf(req, url));
    const endpoint = route?.key ?? 'unknown';
    const done = (outcome: string | number) => {
      state.countCall(endpoint, outcome);
      return outcome;
    };
    if (!entry || !allows(entry, method, apiPath)) {
      // Unknown key, a key of the other environment, or one without this API's area (or write): the same
      // refusal, in XML whatever was asked for, without a tracking id.
      send(res, 400, unauthorizedXml(), 'application/xml;charset=UTF-8');
      return done(400);
    }
    const inst = entry.inst;
    const refused = admit(inst, Date.now());
    const remaining = Math.max(0, inst.daily - inst.dailyUsed);
    if (refused) {
      state.stats.throttled[refused] += 1;
      sendError(
        res,
        format,
        429,
        refused,
        refused === 'DAILY_THRESHOLD' ? DAILY_MESSAGE : PER_SECOND_MESSAGE,
        remaining,
      );
      return done(429);
    }

    if (!route) {
      sendError(res, format, 404, 'NOT_FOUND', `No API matches ${method} ${url.pathname}.`, remaining);
      return done(404);
    }
    const fault = faultFor(faults, route.key);
    if (await delayOrHang(fault, res)) return done('hung');
    if (roll(fault.error5xx)) {
      const b = answer5xx(fault.body5xx, fault.status5xx ?? 500, `${method} ${url.pathname}${url.search}`);
      if (b.kind === 'alma') sendError(res, format, b.status, b.code, b.message, remaining);
      else send(res, b.status, b.text, b.contentType, remaining);
      return done(b.status);
    }

    const now = Date.now();
    if (settleAll(inst, now)) changed();
    const ctx: Ctx = {
      inst,
      query: url.searchParams,
      body,
      contentType: String(req.headers['content-type'] ?? ''),
      now,
      apiBase,
      changed,
    };
    let answer: Answer | AlmaFault;
    try {
      answer = route.run(ctx);
    } catch (e) {
      if (!(e instanceof AlmaFault)) throw e;
      answer = e;
    }
    if (roll(fault.dropAfterCommit)) {
      // Committed, then the connection is cut: the client cannot know the outcome.
      req.socket.destroy();
      return done('dropped');
    }
    if (answer instanceof AlmaFault) {
      sendError(res, format, answer.status, answer.code, answer.almaMessage, remaining);
      return done(answer.status);
    }
    sendAnswer(res, format, answer, remaining);
    return done(answer.status);
  }

  /** SRU: no key and no API budget (it is not the REST API); faults under `sru:GET` as for the API's endpoints. */
  async function handleSru(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    code: string,
  ): Promise<string | number> {
    const done = (outcome: string | number) => {
      state.countCall('sru:GET', outcome);
      return outcome;
    };
    const inst = state.institutions.get(code);
    // ASSUMPTION: an institution without an SRU Server profile (or unknown) answers 404; Alma's body is not documented.
    if (req.method !== 'GET' || !inst || inst.seed.sru?.enabled === false) {
      send(res, 404, 'Not Found', 'text/plain');
      return done(404);
    }
    const fault = faultFor(faults, 'sru:GET');
    if (await delayOrHang(fault, res)) return done('hung');
    if (roll(fault.error5xx)) {
      const b = answer5xx(
        fault.body5xx === 'alma' ? 'html' : fault.body5xx,
        fault.status5xx ?? 500,
        url.pathname,
      );
      if (b.kind === 'raw') send(res, b.status, b.text, b.contentType);
      else send(res, b.status, 'Internal Server Error', 'text/plain');
      return done(b.status);
    }
    const a = sruSearch(inst, url.searchParams, Date.now());
    send(res, a.status, a.text, a.contentType);
    return done(a.status);
  }

  const server = http.createServer((req, res) => {
    const started = Date.now();
    const url = new URL(req.url ?? '/', 'http://sandbox');
    const work = url.pathname.startsWith('/_sandbox/')
      ? adminRequest(req, res, url, {
          state,
          keys,
          getFaults: () => faults,
          setFaults: (f) => {
            faults = f;
          },
          apiBase: () => apiBase,
          changed,
          readBody: () => readBody(req),
        })
      : url.pathname === API_PREFIX || url.pathname.startsWith(`${API_PREFIX}/`)
        ? handleApi(req, res, url)
        : SRU_PATH.test(url.pathname)
          ? handleSru(req, res, url, decodeURIComponent(SRU_PATH.exec(url.pathname)![1]!))
          : Promise.resolve().then(() => {
              send(res, 404, 'Not Found', 'text/plain');
              return 404;
            });
    work
      .then((outcome) => {
        logger.debug(
          { method: req.method, url: redacted(url), outcome, ms: Date.now() - started },
          'alma sandbox request',
        );
      })
      .catch((e: unknown) => {
        logger.error(
          { method: req.method, url: redacted(url), err: (e as Error).message },
          'alma sandbox failed',
        );
        if (!res.headersSent && !res.destroyed) send(res, 500, 'Internal Server Error', 'text/plain');
      });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 8480, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const hostPart = host.includes(':') ? `[${host}]` : host;
  const baseUrl = `http://${hostPart}:${port}`;
  apiBase = `${baseUrl}${API_PREFIX}`;
  logger.info({ url: apiBase }, 'alma sandbox listening');

  return {
    url: apiBase,
    baseUrl,
    port,
    async close() {
      for (const res of hung) res.socket?.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await stateFile?.flush();
    },
  };
}
