/**
 * The remote codec server the Temporal UI and CLI call to read encrypted payloads (Temporal's codec server
 * protocol: `POST /encode` and `POST /decode` with `{"payloads":[...]}` in proto3 JSON, the namespace in the
 * `X-Namespace` header; also under `/{namespace}/...` for the CLI's `--codec-endpoint` templating). It runs
 * the project's own payload codec with its keys (current and old), so whoever may call it reads every order:
 * a bearer token guards it, CORS lets only the UI's origin read its answers, and it listens on loopback unless
 * told otherwise.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PayloadCodec } from '@temporalio/common';
import { isLoopbackHost } from '../config/schema';
import { silentLogger, type Logger } from '../logging';
import { PayloadKeyError } from '../temporal/codec';
import { payloadsFromJson, payloadsToJson, PayloadJsonError } from './payload-json';

/** Largest request body read: the UI sends one event's payloads at a time (Temporal caps a payload at 2 MB). */
export const DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024;
/** Shortest bearer token accepted (as for the HTTP intake). */
export const MIN_CODEC_TOKEN_LENGTH = 32;

export interface CodecServerOptions {
  codec: PayloadCodec;
  host?: string;
  /** 0 = a free port. */
  port?: number;
  /** `Authorization: Bearer <token>` on every encode/decode call. */
  token?: string;
  /**
   * Serve without a token: only on loopback (refused elsewhere). `rto start` uses it for the dev server's UI,
   * which has no way to send a token of ours.
   */
  allowNoToken?: boolean;
  /** Origins (scheme://host[:port]) whose pages may read the answers: the UI's. */
  origins: string[];
  /** Namespaces served (X-Namespace / the path's segment); undefined = any. */
  namespaces?: string[];
  maxBodyBytes?: number;
  logger?: Logger;
}

export interface CodecServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** A codec server that cannot start as configured; the message names the setting, never the token. */
export class CodecServerError extends Error {
  override name = 'CodecServerError';
}

const ROUTE = /^(?:\/([^/]+))?\/(encode|decode)\/?$/;
const ALLOWED_HEADERS = 'authorization, content-type, x-namespace';

/** `scheme://host[:port]` as browsers send it in `Origin`, or an error naming the bad value. */
export function normalOrigin(value: string): string {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new CodecServerError(
      `"${value.slice(0, 80)}" is not an origin (scheme://host[:port], e.g. http://127.0.0.1:8233)`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new CodecServerError(`the origin "${value.slice(0, 80)}" must be http: or https:`);
  return url.origin;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

export async function startCodecServer(o: CodecServerOptions): Promise<CodecServer> {
  const host = o.host ?? '127.0.0.1';
  const logger = o.logger ?? silentLogger;
  const maxBody = o.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (!o.token && !(o.allowNoToken && isLoopbackHost(host)))
    throw new CodecServerError(
      o.allowNoToken
        ? `the codec server listens on ${host}, off this host: set RTO_CODEC_TOKEN (or RTO_CODEC_TOKEN_FILE)`
        : 'the codec server needs a token: set RTO_CODEC_TOKEN or RTO_CODEC_TOKEN_FILE (e.g. openssl rand -hex 24)',
    );
  if (o.token !== undefined && o.token.length < MIN_CODEC_TOKEN_LENGTH)
    throw new CodecServerError(
      `the codec server token is too short: at least ${MIN_CODEC_TOKEN_LENGTH} characters are required`,
    );
  const origins = new Set(o.origins.map(normalOrigin));
  const expected = o.token !== undefined ? digest(o.token) : undefined;

  const send = (
    res: ServerResponse,
    status: number,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, {
      ...(text ? { 'content-type': 'application/json; charset=utf-8' } : {}),
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      ...headers,
    });
    res.end(text);
  };
  const refuse = (
    res: ServerResponse,
    status: number,
    error: string,
    headers: Record<string, string> = {},
  ) => {
    // Answered before the body was read: close rather than drain whatever is still coming.
    res.setHeader('connection', 'close');
    send(res, status, { error }, headers);
  };

  function authorised(req: IncomingMessage): boolean {
    if (!expected) return true;
    // The scheme is case-insensitive (RFC 9110); the token is not.
    const m = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(String(req.headers.authorization ?? ''));
    if (!m) return false;
    // Compared as digests: same length whatever was sent, and in constant time.
    return timingSafeEqual(digest(m[1]!), expected);
  }

  function readBody(req: IncomingMessage): Promise<Buffer | 'too-large'> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let over = false;
      req.on('data', (c: Buffer) => {
        if (over) return;
        size += c.length;
        if (size > maxBody) {
          over = true;
          resolve('too-large');
          return;
        }
        chunks.push(c);
      });
      req.on('end', () => !over && resolve(Buffer.concat(chunks)));
      req.on('error', reject);
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<number> {
    const url = new URL(req.url ?? '/', 'http://codec');
    const origin = req.headers.origin;
    const cors: Record<string, string> = { vary: 'Origin' };
    if (typeof origin === 'string') {
      // A page from any other origin gets no CORS header: the browser keeps the answer from it.
      if (!origins.has(origin)) {
        refuse(res, 403, 'this origin may not use the codec server (RTO_CODEC_CORS_ORIGIN)', cors);
        return 403;
      }
      cors['access-control-allow-origin'] = origin;
      cors['access-control-allow-credentials'] = 'true';
    }
    if (url.pathname === '/healthz' && (req.method === 'GET' || req.method === 'HEAD')) {
      send(res, 200, { ok: true }, cors);
      return 200;
    }
    const route = ROUTE.exec(url.pathname);
    if (!route) {
      refuse(
        res,
        404,
        'unknown path: POST /encode or /decode (or /{namespace}/encode, /{namespace}/decode)',
        cors,
      );
      return 404;
    }
    if (req.method === 'OPTIONS') {
      // The preflight carries no credentials: it is answered without the token.
      send(res, 204, undefined, {
        ...cors,
        'access-control-allow-methods': 'POST, OPTIONS',
        'access-control-allow-headers': ALLOWED_HEADERS,
        'access-control-max-age': '600',
      });
      return 204;
    }
    if (req.method !== 'POST') {
      refuse(res, 405, 'only POST is served here', { ...cors, allow: 'POST, OPTIONS' });
      return 405;
    }
    if (!authorised(req)) {
      refuse(res, 401, 'missing or wrong bearer token', { ...cors, 'www-authenticate': 'Bearer' });
      return 401;
    }
    const headerNs = req.headers['x-namespace'];
    const namespace =
      (typeof headerNs === 'string' && headerNs) || (route[1] ? decodeURIComponent(route[1]) : '');
    if (o.namespaces && namespace && !o.namespaces.includes(namespace)) {
      refuse(res, 403, `namespace "${namespace.slice(0, 100)}" is not served by this codec server`, cors);
      return 403;
    }
    if (!/^application\/json\b/i.test(String(req.headers['content-type'] ?? ''))) {
      refuse(res, 415, 'the body must be application/json', cors);
      return 415;
    }
    if (Number(req.headers['content-length']) > maxBody) {
      refuse(res, 413, `the body is over the ${maxBody}-byte cap`, cors);
      return 413;
    }
    const body = await readBody(req);
    if (body === 'too-large') {
      refuse(res, 413, `the body is over the ${maxBody}-byte cap`, cors);
      return 413;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      send(res, 400, { error: 'the body is not JSON' }, cors);
      return 400;
    }
    try {
      const payloads = payloadsFromJson(parsed);
      const out = route[2] === 'encode' ? await o.codec.encode(payloads) : await o.codec.decode(payloads);
      send(res, 200, payloadsToJson(out), cors);
      return 200;
    } catch (e) {
      if (e instanceof PayloadJsonError || e instanceof PayloadKeyError) {
        send(res, 400, { error: e.message }, cors);
        return 400;
      }
      // AES-GCM refusing the tag: the payload was altered, or sealed by a key of the same id but other bytes.
      if (/authenticate data/i.test((e as Error).message)) {
        send(
          res,
          400,
          { error: 'a payload could not be decrypted: it is damaged or was sealed by another key' },
          cors,
        );
        return 400;
      }
      logger.warn({ err: (e as Error).name }, 'codec server: the codec failed');
      send(res, 500, { error: 'the codec failed' }, cors);
      return 500;
    }
  }

  const server = http.createServer((req, res) => {
    const started = Date.now();
    handle(req, res).then(
      (status) =>
        logger.debug(
          { method: req.method, path: req.url?.slice(0, 200), status, ms: Date.now() - started },
          'codec',
        ),
      (e: unknown) => {
        logger.warn({ err: (e as Error).message }, 'codec server: request failed');
        if (!res.headersSent) send(res, 500, { error: 'internal error' });
        else res.destroy();
      },
    );
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        new CodecServerError(
          `the codec server cannot listen on ${host}:${o.port ?? 0}: ${e.code ?? e.message} (RTO_CODEC_HOST / RTO_CODEC_PORT)`,
        ),
      ),
    );
    server.listen(o.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
