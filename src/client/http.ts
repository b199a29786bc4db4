/**
 * HTTP intake for systems that do not speak Temporal. It only starts, reads and signals workflows, so it
 * answers without waiting on Alma. Bearer token from the configuration; bodies over 64 KiB are refused unread.
 */
import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { MAX_ORDER_BYTES, hasNoteControlCharacter, type Problem } from '../contract/order';
import { parseOrderText } from '../contract/validate';
import type { Logger } from '../logging';
import { cancelSignal } from '../order/messages';
import { OrderNotFoundError, type OrderClient } from './orders';

export interface HttpIntakeOptions {
  orders: OrderClient;
  token: string;
  host?: string;
  port?: number;
  logger: Logger;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body?: unknown,
  ) {
    super(message);
  }
}

function send(res: http.ServerResponse, status: number, body: unknown) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

async function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit)
    throw new HttpError(413, `the body is ${declared} bytes; at most ${limit} are accepted`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpError(413, `the body is over ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function authorised(req: http.IncomingMessage, token: string): boolean {
  const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
  if (!m) return false;
  const a = Buffer.from(m[1]!);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** One path segment, percent-decoded; malformed encoding (e.g. `%E0%A4%A`) is the client's fault. */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    const shown = segment.length > 100 ? `${segment.slice(0, 100)}…` : segment;
    throw new HttpError(400, `the path segment "${shown}" is not valid percent-encoding (UTF-8)`);
  }
}

export const MAX_CANCEL_REASON = 64;
export const MAX_CANCEL_COMMENT = 1000;
const REASON_FORM = /^[A-Za-z0-9_.-]+$/;

/**
 * A cancel request's body: empty, or a JSON object with an optional `reason` (a code such as
 * LIBRARY_CANCELLED) and `comment` (free text, line breaks allowed). Anything else is refused, not dropped.
 */
function parseCancelBody(body: Buffer): { reason?: string; comment?: string } {
  if (!body.length) return {};
  let value: unknown;
  try {
    value = JSON.parse(body.toString());
  } catch {
    throw new HttpError(400, 'the body is not valid JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new HttpError(400, 'the body must be a JSON object');
  const { reason, comment } = value as { reason?: unknown; comment?: unknown };
  const problems: Problem[] = [];
  if (reason !== undefined) {
    if (typeof reason !== 'string') problems.push({ path: 'reason', message: 'must be a string' });
    else if (reason.length > MAX_CANCEL_REASON)
      problems.push({ path: 'reason', message: `at most ${MAX_CANCEL_REASON} characters` });
    else if (!REASON_FORM.test(reason))
      problems.push({
        path: 'reason',
        message: 'may contain only letters A-Z a-z, digits, ".", "_" and "-"',
      });
  }
  if (comment !== undefined) {
    if (typeof comment !== 'string') problems.push({ path: 'comment', message: 'must be a string' });
    else {
      if (comment.length > MAX_CANCEL_COMMENT)
        problems.push({ path: 'comment', message: `at most ${MAX_CANCEL_COMMENT} characters` });
      if (hasNoteControlCharacter(comment))
        problems.push({
          path: 'comment',
          message: 'contains a control character (only line breaks are allowed)',
        });
    }
  }
  if (problems.length)
    throw new HttpError(422, 'the cancel request is refused', { outcome: 'refused', problems });
  return {
    ...(typeof reason === 'string' ? { reason } : {}),
    ...(typeof comment === 'string' ? { comment } : {}),
  };
}

export async function startHttpIntake(
  o: HttpIntakeOptions,
): Promise<{ port: number; url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (e instanceof HttpError) {
        // Closing stops Node from draining the rest of an oversized body to keep the connection alive.
        if (e.status === 413) res.setHeader('connection', 'close');
        return send(res, e.status, e.body ?? { error: e.message });
      }
      if (e instanceof OrderNotFoundError) return send(res, 404, { error: e.message });
      o.logger.error({ err: (e as Error).message, url: req.url }, 'HTTP intake error');
      send(res, 500, { error: 'internal error' });
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://intake');
    if (req.method === 'GET' && url.pathname === '/healthz') return send(res, 200, { ok: true });
    if (!authorised(req, o.token)) {
      res.setHeader('www-authenticate', 'Bearer');
      throw new HttpError(401, 'a valid bearer token is required');
    }
    const parts = url.pathname.split('/').filter(Boolean).map(decodeSegment);
    if (req.method === 'POST' && url.pathname === '/orders') {
      const body = await readBody(req, MAX_ORDER_BYTES);
      const parsed = parseOrderText(body);
      if (!parsed.ok) return send(res, 422, { outcome: 'refused', problems: parsed.problems });
      const r = await o.orders.placeOrder(parsed.value);
      if (r.outcome === 'refused') return send(res, 422, r);
      return send(res, r.outcome === 'started' ? 201 : 200, {
        ...r.status,
        outcome: r.outcome,
        workflowId: r.workflowId,
      });
    }
    if (parts[0] === 'orders' && parts.length === 3 && req.method === 'GET') {
      return send(res, 200, await o.orders.getStatus(parts[1]!, parts[2]!, { queryTimeoutMs: 3000 }));
    }
    if (parts[0] === 'orders' && parts.length === 4 && parts[3] === 'cancel' && req.method === 'POST') {
      const { reason, comment } = parseCancelBody(await readBody(req, 8 * 1024));
      const current = await o.orders.getStatus(parts[1]!, parts[2]!, { queryTimeoutMs: 3000 });
      // A signal, not the update: the answer must not wait for Alma's DELETE.
      if (current.workflowStatus === 'RUNNING') {
        await o.orders.handle(parts[1]!, parts[2]!).signal(cancelSignal, { reason, comment, by: 'http' });
      }
      return send(res, 202, {
        ...current,
        cancellation: current.workflowStatus === 'RUNNING' ? 'requested' : 'order already ended',
      });
    }
    throw new HttpError(404, `no route for ${req.method} ${url.pathname}`);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 8080, o.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://${o.host ?? '127.0.0.1'}:${port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
