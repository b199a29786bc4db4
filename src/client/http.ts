/**
 * HTTP intake for systems that do not speak Temporal, on Fastify. It only starts, reads, lists and signals
 * workflows, so it answers without waiting on Alma (but for a dry run that asks Alma). Bearer token from the
 * configuration; bodies over 64 KiB are refused unread. The routes, their queries and answers are one table
 * (src/intake/api.ts) that the routes are registered from and the OpenAPI document (GET /openapi.json, GET
 * /docs) is generated from; docs/http-intake.md says it all for people.
 *
 * - `POST /orders`: 201 `outcome: "started"`; 422 `outcome: "refused"` with every problem; 200
 *   `outcome: "existing"` when the order id was placed before. The existing order is never changed by a
 *   second placing; the 200 answer says whether the new content is the same as the existing order's
 *   (`sameContent`, both compared in canonical form, see src/contract/compare.ts) and, when it is not, where
 *   it differs (`differences`: JSON paths, never values) with a `warning`. When the existing order's content
 *   cannot be read (e.g. it is encrypted with a key this process lacks) `sameContent` is absent and the
 *   `warning` says so.
 * - `POST /orders?dryRun=true[&alma=true]`: the same check, creating nothing (src/intake/dry-run.ts).
 * - `GET /orders?account=&stage=&alert=&limit=&pageToken=`: one page of the account's orders (visibility).
 * - `GET /orders/<account>/<orderId>`: 200 with the status, 404 for an unknown order.
 * - `POST /orders/<account>/<orderId>/cancel`: 202 (a signal: the answer does not wait for Alma); the body
 *   is empty or `{ "reason"?, "comment"? }`, anything else is 400/422 and cancels nothing.
 *
 * Limits (`IntakeLimits`, from the settings by `intakeLimitsFromSettings`): connections open at once (more are
 * closed as they come), a deadline for a request's headers and one for its body once they are in (408); an
 * answer given before the request was read to its end closes the connection.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WorkflowHandle } from '@temporalio/client';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { own } from '../config/lookup';
import type { Config } from '../config/schema';
import type { Settings } from '../config/settings';
import { orderDifferences } from '../contract/compare';
import { MAX_ORDER_BYTES } from '../contract/order';
import { parseOrderText, problemsFromIssues } from '../contract/validate';
import {
  API_ROUTES,
  DEFAULT_PAGE_SIZE,
  OrderSchema,
  fastifyPath,
  type ListQuerySchema,
  type PlaceQuerySchema,
} from '../intake/api';
import {
  HttpError,
  MAX_CANCEL_BYTES,
  authorised,
  checkReason,
  decodeSegment,
  parseCancelBody,
  readBody,
} from '../intake/bodies';
import { renderDocsPage } from '../intake/docs-page';
import { dryRunOrder, type AlmaForAccount } from '../intake/dry-run';
import { openApiDocument } from '../intake/openapi';
import type { Logger } from '../logging';
import { metricsText, ordersStarted } from '../metrics';
import { cancelSignal } from '../order/messages';
import { OrderNotFoundError, OrderNotHeldError, PageTokenError, type OrderClient } from './orders';

export { MAX_CANCEL_COMMENT, MAX_CANCEL_REASON } from '../intake/bodies';

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
  /** Alma for the dry run's `alma=true` (read-only calls); without it such a dry run is refused (400). */
  alma?: AlmaForAccount;
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

/** A request id: the client's X-Request-Id when it is a short plain token, else a new one (never echoed raw). */
const REQUEST_ID_FORM = /^[A-Za-z0-9._:@-]{1,128}$/;
export function requestId(given: string | string[] | undefined): string {
  return typeof given === 'string' && REQUEST_ID_FORM.test(given) ? given : randomUUID();
}

/** What a route says of itself to the hooks: whether it needs the token, and how much body it reads. */
interface RouteConfig {
  public?: boolean;
  /** Largest body read, in bytes; a route without it reads no body. */
  maxBody?: number;
}

/** The intake as started: where it listens, the routes it serves (method and path), and how to stop it. */
export interface HttpIntake {
  port: number;
  url: string;
  routes: { method: string; path: string }[];
  close(): Promise<void>;
}

/** Validation of a route's query string with its zod schema: every problem named, in the API's shape (400). */
function zodValidator({ schema }: { schema: unknown }) {
  const s = schema as z.ZodType;
  return (data: unknown) => {
    const r = s.safeParse(data);
    if (r.success) return { value: r.data };
    return {
      error: new HttpError(400, 'the query string is not valid', {
        error: 'the query string is not valid',
        problems: problemsFromIssues(r.error.issues, data),
      }),
    };
  };
}

export async function startHttpIntake(o: HttpIntakeOptions): Promise<HttpIntake> {
  const limits = resolveLimits(o.limits);
  const serverOptions: http.ServerOptions = {
    headersTimeout: limits.headersTimeoutMs,
    // Node's own deadline for the whole request, behind the body timer (which answers 408 first).
    requestTimeout: limits.headersTimeoutMs + limits.bodyTimeoutMs + 1000,
    // How often Node looks for connections past headersTimeout/requestTimeout (its default is 30 s).
    connectionsCheckingInterval: Math.min(5000, Math.max(100, Math.floor(limits.headersTimeoutMs / 4))),
  };
  let server: http.Server | undefined;
  const app = Fastify({
    loggerInstance: o.logger,
    // The Node server is made here so its limits are the intake's (Fastify would set its own timeouts).
    serverFactory: (handler) => (server = http.createServer(serverOptions, handler)),
    genReqId: (req) => requestId(req.headers['x-request-id']),
    exposeHeadRoutes: false,
    routerOptions: {
      ignoreTrailingSlash: true,
      // Path segments are order ids and account codes (64 characters at most); longer ones find nothing (404).
      maxParamLength: 1000,
    },
    frameworkErrors: (error, request, raw) => {
      const reply = raw as unknown as FastifyReply;
      // Fastify's own refusals before routing (a malformed path): the token is still checked first.
      reply.header('x-request-id', request.id);
      if (!request.raw.complete) reply.header('connection', 'close');
      if (!authorised(request.headers, o.token))
        return void reply
          .code(401)
          .header('www-authenticate', 'Bearer')
          .send({ error: 'a valid bearer token is required' });
      if (error.code === 'FST_ERR_BAD_URL') {
        try {
          for (const seg of new URL(request.raw.url ?? '/', 'http://intake').pathname.split('/'))
            decodeSegment(seg);
        } catch (e) {
          if (e instanceof HttpError) return void reply.code(400).send({ error: e.message });
        }
      }
      if (error.code === 'FST_ERR_MAX_PARAM_LENGTH')
        return void reply.code(404).send({ error: `no route for ${request.method} ${request.url}` });
      return void reply.code(400).send({ error: error.message });
    },
  });
  app.setValidatorCompiler(zodValidator);

  // Bodies are read by the intake itself: after the token check (onRequest), capped per route, with a deadline.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (request, payload, done) => {
    const limit = (request.routeOptions.config as RouteConfig | undefined)?.maxBody;
    if (limit === undefined) return done(null, undefined);
    readBody(payload, request.headers, limit, limits.bodyTimeoutMs).then(
      (body) => done(null, body),
      (e: Error) => done(e, undefined),
    );
  });

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if ((request.routeOptions.config as RouteConfig | undefined)?.public) return;
    if (!authorised(request.headers, o.token)) {
      reply.header('www-authenticate', 'Bearer');
      throw new HttpError(401, 'a valid bearer token is required');
    }
  });

  app.setErrorHandler((e: Error & { statusCode?: number }, request, reply) => {
    // An answer before the request was read to its end (401, 408, 413, ...) closes the connection: Node
    // would otherwise keep reading the rest of the body to keep the connection alive.
    if (!request.raw.complete) reply.header('connection', 'close');
    if (e instanceof HttpError) return reply.code(e.status).send(e.body ?? { error: e.message });
    if (e instanceof OrderNotFoundError) return reply.code(404).send({ error: e.message });
    if (e instanceof OrderNotHeldError) return reply.code(409).send({ error: e.message });
    if (e instanceof PageTokenError)
      return reply.code(400).send({
        error: 'the query string is not valid',
        problems: [{ path: 'pageToken', message: e.message }],
      });
    // Fastify's own refusals (e.g. a body it cannot take): its words, its status.
    if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500)
      return reply.code(e.statusCode).send({ error: e.message });
    request.log.error({ err: e.message, url: request.url }, 'HTTP intake error');
    return reply.code(500).send({ error: 'internal error' });
  });

  app.setNotFoundHandler((request, reply) => {
    if (!request.raw.complete) reply.header('connection', 'close');
    return reply.code(404).send({ error: `no route for ${request.method} ${request.url.split('?')[0]}` });
  });

  const served: { method: string; path: string }[] = [];
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) served.push({ method, path: r.url });
  });

  const compareWithExisting = (handle: WorkflowHandle, placed: unknown) =>
    compareWithExistingImpl(handle, placed, o);

  const handlers: Record<string, (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>> = {
    async placeOrder(request, reply) {
      const q = request.query as z.infer<typeof PlaceQuerySchema>;
      const body = (request.body as Buffer | undefined) ?? Buffer.alloc(0);
      if (q.alma === 'true' && q.dryRun !== 'true')
        throw new HttpError(400, 'the query string is not valid', {
          error: 'the query string is not valid',
          problems: [
            { path: 'alma', message: 'only with dryRun=true (placing an order does not ask Alma here)' },
          ],
        });
      const parsed = parseOrderText(body);
      if (q.dryRun === 'true') {
        if (!parsed.ok)
          return reply.code(422).send({ dryRun: true, outcome: 'refused', problems: parsed.problems });
        if (q.alma === 'true' && !o.alma)
          throw new HttpError(400, 'the query string is not valid', {
            error: 'the query string is not valid',
            problems: [{ path: 'alma', message: 'this intake was started without access to Alma' }],
          });
        const report = await dryRunOrder(parsed.value, {
          config: o.config ?? o.orders.config,
          ...(q.alma === 'true' && o.alma ? { alma: o.alma } : {}),
        });
        const status = report.outcome === 'valid' ? 200 : report.outcome === 'refused' ? 422 : 502;
        return reply.code(status).send(report);
      }
      if (!parsed.ok) return reply.code(422).send({ outcome: 'refused', problems: parsed.problems });
      const r = await o.orders.placeOrder(parsed.value);
      if (r.outcome === 'refused') return reply.code(422).send(r);
      if (r.outcome === 'started') {
        ordersStarted.inc({ account: r.status.account, via: 'intake' });
        return reply.code(201).send({ ...r.status, outcome: r.outcome, workflowId: r.workflowId });
      }
      const { account, orderId } = r.status;
      return reply.code(200).send({
        ...r.status,
        outcome: r.outcome,
        workflowId: r.workflowId,
        ...(await compareWithExisting(o.orders.handle(account, orderId), parsed.value)),
      });
    },
    async listOrders(request, reply) {
      const q = request.query as z.infer<typeof ListQuerySchema>;
      const config = o.config ?? o.orders.config;
      if (!own(config.accounts, q.account))
        throw new HttpError(400, 'the query string is not valid', {
          error: 'the query string is not valid',
          problems: [
            {
              path: 'account',
              message: `account "${q.account}" is not configured (known: ${Object.keys(config.accounts).join(', ')})`,
            },
          ],
        });
      const page = await o.orders.listOrdersPage({
        account: q.account,
        ...(q.stage ? { stage: q.stage } : {}),
        ...(q.alert ? { alert: q.alert } : {}),
        pageSize: q.limit ?? DEFAULT_PAGE_SIZE,
        ...(q.pageToken ? { pageToken: q.pageToken } : {}),
      });
      return reply.code(200).send(page);
    },
    async getOrder(request, reply) {
      const { account, orderId } = request.params as { account: string; orderId: string };
      return reply.code(200).send(await o.orders.getStatus(account, orderId, { queryTimeoutMs: 3000 }));
    },
    async cancelOrder(request, reply) {
      const { account, orderId } = request.params as { account: string; orderId: string };
      const { reason, comment } = parseCancelBody(request.body as Buffer | undefined);
      const current = await o.orders.getStatus(account, orderId, { queryTimeoutMs: 3000 });
      checkReason(o.config, account, reason);
      // A signal, not the update: the answer must not wait for Alma's DELETE.
      if (current.workflowStatus === 'RUNNING') {
        await o.orders.handle(account, orderId).signal(cancelSignal, { reason, comment, by: 'http' });
      }
      return reply.code(202).send({
        ...current,
        cancellation: current.workflowStatus === 'RUNNING' ? 'requested' : 'order already ended',
      });
    },
    async releaseOrder(request, reply) {
      const { account, orderId } = request.params as { account: string; orderId: string };
      const s = await o.orders.releaseOrder(account, orderId, { by: 'http' });
      return reply.code(200).send(s);
    },
    async health(_request, reply) {
      return reply.code(200).send({ ok: true });
    },
    async metrics(_request, reply) {
      const { contentType, body } = await metricsText();
      return reply.code(200).header('cache-control', 'no-store').type(contentType).send(body);
    },
    async openApiDocument(_request, reply) {
      return reply.code(200).send(openApiDocument());
    },
    async documentation(_request, reply) {
      return reply.code(200).type('text/html; charset=utf-8').send(docsPage());
    },
  };

  for (const r of API_ROUTES) {
    const handler = handlers[r.operationId];
    if (!handler) throw new Error(`the route ${r.method} ${r.path} has no handler`);
    const config: RouteConfig = {
      ...(r.public ? { public: true } : {}),
      ...(r.body ? { maxBody: r.body.schema === OrderSchema ? MAX_ORDER_BYTES : MAX_CANCEL_BYTES } : {}),
    };
    app.route({
      method: r.method,
      url: fastifyPath(r.path),
      config,
      ...(r.query ? { schema: { querystring: r.query } } : {}),
      // Health probes and scrapes every few seconds would drown the log.
      ...(r.operationId === 'health' || r.operationId === 'metrics' ? { logLevel: 'warn' } : {}),
      handler,
    });
  }

  await app.ready();
  const srv = server!;
  srv.maxConnections = limits.maxConnections;
  // Connections over the cap are closed by Node as they come: said in the log at most every 10 s.
  let dropped = 0;
  let dropLogged = 0;
  srv.on('drop', () => {
    dropped++;
    if (Date.now() - dropLogged < 10_000) return;
    o.logger.warn(
      { dropped, maxConnections: limits.maxConnections },
      'HTTP intake: connections over the cap closed',
    );
    dropLogged = Date.now();
    dropped = 0;
  });

  await app.listen({ port: o.port ?? 8080, host: o.host ?? '127.0.0.1' });
  const port = (srv.address() as AddressInfo).port;
  return {
    port,
    url: `http://${o.host ?? '127.0.0.1'}:${port}`,
    routes: served,
    close: () => app.close(),
  };
}

let page: string | undefined;
function docsPage(): string {
  return (page ??= renderDocsPage(openApiDocument()));
}
