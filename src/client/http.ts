/**
 * HTTP intake for systems that do not speak Temporal. It only starts, reads and signals workflows, so it
 * answers without waiting on Alma. Bearer token from the configuration; bodies over 64 KiB are refused unread.
 */
import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { MAX_ORDER_BYTES } from '../contract/order';
import { parseOrderText } from '../contract/validate';
import type { Logger } from '../logging';
import { cancelSignal } from '../workflows/order-messages';
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
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
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
      const body = await readBody(req, 8 * 1024);
      let reqBody: { reason?: unknown; comment?: unknown } = {};
      if (body.length) {
        try {
          reqBody = JSON.parse(body.toString());
        } catch {
          throw new HttpError(400, 'the body is not valid JSON');
        }
      }
      const reason = typeof reqBody.reason === 'string' ? reqBody.reason : undefined;
      const comment = typeof reqBody.comment === 'string' ? reqBody.comment.slice(0, 1000) : undefined;
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
