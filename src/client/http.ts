/**
 * HTTP intake for systems that do not speak Temporal. It only starts, reads and signals workflows, so it
 * answers without waiting on Alma. Bearer token from the configuration; bodies over 64 KiB are refused unread.
 *
 * - `POST /orders`: 201 `outcome: "started"`; 422 `outcome: "refused"` with every problem; 200
 *   `outcome: "existing"` when the order id was placed before. The existing order is never changed by a
 *   second placing; the 200 answer says whether the new content is the same as the existing order's
 *   (`sameContent`, both compared in canonical form, see src/contract/compare.ts) and, when it is not, where
 *   it differs (`differences`: JSON paths, never values) with a `warning`. When the existing order's content
 *   cannot be read (e.g. it is encrypted with a key this process lacks) `sameContent` is absent and the
 *   `warning` says so.
 * - `GET /orders/<account>/<orderId>`: 200 with the status, 404 for an unknown order.
 * - `POST /orders/<account>/<orderId>/cancel`: 202 (a signal: the answer does not wait for Alma); the body
 *   is empty or `{ "reason"?, "comment"? }`, anything else is 400/422 and cancels nothing.
 *
 * Limits (`IntakeLimits`, from the settings by `intakeLimitsFromSettings`): connections open at once (more are
 * closed as they come), a deadline for a request's headers and one for its body once they are in (408); an
 * answer given before the request was read to its end closes the connection.
 */
import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WorkflowHandle } from '@temporalio/client';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow';
import type { Config } from '../config/schema';
import type { Settings } from '../config/settings';
import { orderDifferences } from '../contract/compare';
import { MAX_ORDER_BYTES, hasNoteControlCharacter, type Problem } from '../contract/order';
import { parseOrderText } from '../contract/validate';
import type { Logger } from '../logging';
import { cancelSignal } from '../order/messages';
import { OrderNotFoundError, cancellationReasons, type OrderClient } from './orders';

export interface HttpIntakeOptions {
  orders: OrderClient;
  token: string;
  host?: string;
  port?: number;
  logger: Logger;
  /**
   * The configuration the orders are validated against: with it, a resubmission is compared with the
   * account's defaults resolved (an absent emailConfirmation is the account's default).
   */
  config?: Pick<Config, 'accounts'>;
  /** Connection and time limits; each one left out has its default (DEFAULT_INTAKE_LIMITS). */
  limits?: Partial<IntakeLimits>;
}

export interface IntakeLimits {
  /** Connections open at once; one more is closed as soon as it is accepted. */
  maxConnections: number;
  /** Milliseconds for a request's headers to arrive (Node closes the connection after it). */
  headersTimeoutMs: number;
  /** Milliseconds for a request's body to arrive once its headers are in and the token is checked: then 408. */
  bodyTimeoutMs: number;
}

export const DEFAULT_INTAKE_LIMITS: Readonly<IntakeLimits> = {
  maxConnections: 256,
  headersTimeoutMs: 10_000,
  bodyTimeoutMs: 10_000,
};

/** The intake's limits from the process settings (RTO_HTTP_MAX_CONNECTIONS, ..._HEADERS_TIMEOUT_MS, ..._BODY_TIMEOUT_MS). */
export function intakeLimitsFromSettings(
  settings: Pick<
    Settings,
    'RTO_HTTP_MAX_CONNECTIONS' | 'RTO_HTTP_HEADERS_TIMEOUT_MS' | 'RTO_HTTP_BODY_TIMEOUT_MS'
  >,
): Partial<IntakeLimits> {
  return {
    ...(settings.RTO_HTTP_MAX_CONNECTIONS !== undefined
      ? { maxConnections: settings.RTO_HTTP_MAX_CONNECTIONS }
      : {}),
    ...(settings.RTO_HTTP_HEADERS_TIMEOUT_MS !== undefined
      ? { headersTimeoutMs: settings.RTO_HTTP_HEADERS_TIMEOUT_MS }
      : {}),
    ...(settings.RTO_HTTP_BODY_TIMEOUT_MS !== undefined
      ? { bodyTimeoutMs: settings.RTO_HTTP_BODY_TIMEOUT_MS }
      : {}),
  };
}

function resolveLimits(given: Partial<IntakeLimits> = {}): IntakeLimits {
  const limits = { ...DEFAULT_INTAKE_LIMITS };
  for (const key of Object.keys(DEFAULT_INTAKE_LIMITS) as (keyof IntakeLimits)[]) {
    const v = given[key];
    if (v === undefined) continue;
    if (!Number.isInteger(v) || v <= 0)
      throw new RangeError(`the HTTP intake's ${key} must be a positive integer`);
    limits[key] = v;
  }
  return limits;
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

/** The body, refused past `limit` bytes (413) or when it has not all arrived within `timeoutMs` (408). */
function readBody(req: http.IncomingMessage, limit: number, timeoutMs: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit)
    return Promise.reject(new HttpError(413, `the body is ${declared} bytes; at most ${limit} are accepted`));
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (settle: () => void) => {
      clearTimeout(timer);
      req.off('data', onData).off('end', onEnd).off('error', onError);
      settle();
    };
    const timer = setTimeout(
      () => done(() => reject(new HttpError(408, `the body did not arrive within ${timeoutMs} ms`))),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) done(() => reject(new HttpError(413, `the body is over ${limit} bytes`)));
      else chunks.push(chunk);
    };
    const onEnd = () => done(() => resolve(Buffer.concat(chunks)));
    const onError = (e: Error) => done(() => reject(e));
    req.on('data', onData).on('end', onEnd).on('error', onError);
  });
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

const CANCEL_FIELDS = ['reason', 'comment'];

/**
 * A cancel request's body: empty, or a JSON object with an optional `reason` (a code such as
 * LIBRARY_CANCELLED) and `comment` (free text, line breaks allowed). Anything else is refused, not dropped:
 * an unknown field (a misspelt `reason`) is a 422 naming it, and nothing is cancelled.
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
  const problems: Problem[] = Object.keys(value)
    .filter((k) => !CANCEL_FIELDS.includes(k))
    .map((k) => ({ path: k, message: `${k} is not a known field (known: ${CANCEL_FIELDS.join(', ')})` }));
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

/**
 * A reason must be one the account knows (its configured cancellation reason), as `rto order cancel` checks:
 * an unknown one would otherwise be recorded as if it meant something. Case is not significant.
 */
function checkReason(
  config: Pick<Config, 'accounts'> | undefined,
  account: string,
  reason: string | undefined,
) {
  if (!config || reason === undefined) return;
  const known = cancellationReasons(config, account);
  if (!known || known.some((k) => k.toUpperCase() === reason.toUpperCase())) return;
  throw new HttpError(422, 'the cancel request is refused', {
    outcome: 'refused',
    problems: [
      { path: 'reason', message: `${reason} is not a known reason code (known: ${known.join(', ')})` },
    ],
  });
}

/** What a 200 "existing" answer says of the content placed again. */
export interface ContentComparison {
  sameContent?: boolean;
  differences?: string[];
  warning?: string;
}

/**
 * The order the workflow was started with: the input of its first history event (one page of one event, not
 * the whole history), decoded by the client's data converter, so an encrypted history is read too.
 */
export async function existingOrderInput(handle: WorkflowHandle): Promise<unknown> {
  const wc = handle.client;
  const { namespace, loadedDataConverter } = wc.options;
  const res = await wc.workflowService.getWorkflowExecutionHistory({
    namespace,
    execution: { workflowId: handle.workflowId },
    maximumPageSize: 1,
  });
  const payloads = res.history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads;
  if (!payloads?.length) throw new Error(`the workflow ${handle.workflowId} has no start input`);
  const input = await decodeFromPayloadsAtIndex<{ order?: unknown } | undefined>(
    loadedDataConverter,
    0,
    payloads,
    { type: 'workflow', namespace, workflowId: handle.workflowId },
  );
  return input?.order;
}

async function compareWithExistingImpl(
  handle: WorkflowHandle,
  placed: unknown,
  o: Pick<HttpIntakeOptions, 'config' | 'logger'>,
): Promise<ContentComparison> {
  let existing: unknown;
  try {
    existing = await existingOrderInput(handle);
  } catch (e) {
    o.logger.warn(
      { err: (e as Error).message, workflowId: handle.workflowId },
      'the existing order could not be read to compare it',
    );
    return {
      warning:
        'an order with this id was placed before and was not changed; its content could not be read, so whether this one is the same is not known',
    };
  }
  const differences = orderDifferences(existing, placed, o.config);
  if (!differences.length) return { sameContent: true };
  return {
    sameContent: false,
    differences,
    warning:
      'an order with this id was placed before with different content; it was not changed and its state is shown. ' +
      'To order something else, cancel it and place the order under a new id.',
  };
}

export async function startHttpIntake(
  o: HttpIntakeOptions,
): Promise<{ port: number; url: string; close(): Promise<void> }> {
  const limits = resolveLimits(o.limits);
  const serverOptions: http.ServerOptions = {
    headersTimeout: limits.headersTimeoutMs,
    // Node's own deadline for the whole request, behind the body timer (which answers 408 first).
    requestTimeout: limits.headersTimeoutMs + limits.bodyTimeoutMs + 1000,
    // How often Node looks for connections past headersTimeout/requestTimeout (its default is 30 s).
    connectionsCheckingInterval: Math.min(5000, Math.max(100, Math.floor(limits.headersTimeoutMs / 4))),
  };
  const server = http.createServer(serverOptions, (req, res) => {
    handle(req, res).catch((e: unknown) => {
      // An answer before the request was read to its end (401, 408, 413, ...) closes the connection: Node
      // would otherwise keep reading the rest of the body to keep the connection alive.
      if (!req.complete) res.setHeader('connection', 'close');
      if (e instanceof HttpError) {
        return send(res, e.status, e.body ?? { error: e.message });
      }
      if (e instanceof OrderNotFoundError) return send(res, 404, { error: e.message });
      o.logger.error({ err: (e as Error).message, url: req.url }, 'HTTP intake error');
      send(res, 500, { error: 'internal error' });
    });
  });

  server.maxConnections = limits.maxConnections;
  // Connections over the cap are closed by Node as they come: said in the log at most every 10 s.
  let dropped = 0;
  let dropLogged = 0;
  server.on('drop', () => {
    dropped++;
    if (Date.now() - dropLogged < 10_000) return;
    o.logger.warn(
      { dropped, maxConnections: limits.maxConnections },
      'HTTP intake: connections over the cap closed',
    );
    dropLogged = Date.now();
    dropped = 0;
  });

  const compareWithExisting = (handle: WorkflowHandle, placed: unknown) =>
    compareWithExistingImpl(handle, placed, o);

  async function handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://intake');
    if (req.method === 'GET' && url.pathname === '/healthz') return send(res, 200, { ok: true });
    if (!authorised(req, o.token)) {
      res.setHeader('www-authenticate', 'Bearer');
      throw new HttpError(401, 'a valid bearer token is required');
    }
    const parts = url.pathname.split('/').filter(Boolean).map(decodeSegment);
    if (req.method === 'POST' && url.pathname === '/orders') {
      const body = await readBody(req, MAX_ORDER_BYTES, limits.bodyTimeoutMs);
      const parsed = parseOrderText(body);
      if (!parsed.ok) return send(res, 422, { outcome: 'refused', problems: parsed.problems });
      const r = await o.orders.placeOrder(parsed.value);
      if (r.outcome === 'refused') return send(res, 422, r);
      if (r.outcome === 'started')
        return send(res, 201, { ...r.status, outcome: r.outcome, workflowId: r.workflowId });
      const { account, orderId } = r.status;
      return send(res, 200, {
        ...r.status,
        outcome: r.outcome,
        workflowId: r.workflowId,
        ...(await compareWithExisting(o.orders.handle(account, orderId), parsed.value)),
      });
    }
    if (parts[0] === 'orders' && parts.length === 3 && req.method === 'GET') {
      return send(res, 200, await o.orders.getStatus(parts[1]!, parts[2]!, { queryTimeoutMs: 3000 }));
    }
    if (parts[0] === 'orders' && parts.length === 4 && parts[3] === 'cancel' && req.method === 'POST') {
      const { reason, comment } = parseCancelBody(await readBody(req, 8 * 1024, limits.bodyTimeoutMs));
      const current = await o.orders.getStatus(parts[1]!, parts[2]!, { queryTimeoutMs: 3000 });
      checkReason(o.config, parts[1]!, reason);
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
