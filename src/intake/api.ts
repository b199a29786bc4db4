/**
 * The HTTP intake's API, described once: its routes with their query, body and answers, as zod schemas (the
 * order body is the contract's own `orderSchema`). The server registers its routes from this table and
 * validates query strings with these schemas; the OpenAPI document (src/intake/openapi.ts) is generated from
 * the same table, so a route cannot be served undocumented or documented unserved.
 */
import { z } from 'zod';
import { orderSchema } from '../contract/order';
import { TIMELINE_SOURCES } from '../order/timeline';
import { ALERTS, STAGES } from '../order/types';
import { MAX_CANCEL_COMMENT, MAX_CANCEL_REASON, REASON_FORM } from './bodies';

/** Schemas shown in the OpenAPI document's components, each under its id. */
export const apiSchemas = z.registry<{ id: string; description?: string }>();
const named = <T extends z.ZodType>(schema: T, id: string, description?: string): T => {
  apiSchemas.add(schema, { id, ...(description ? { description } : {}) });
  return schema;
};

export const OrderSchema = named(
  orderSchema,
  'Order',
  'An order as OASIS sends it (docs/order-contract.md).',
);

export const ProblemSchema = named(
  z.object({
    path: z.string().describe('Where: a JSON path such as fundDistribution[0].fund, or (order).'),
    message: z.string().describe('What is wrong, in words a librarian understands.'),
  }),
  'Problem',
  'One reason a request is refused.',
);

export const ErrorSchema = named(
  z.object({ error: z.string() }),
  'Error',
  'A request the intake cannot take.',
);

export const QueryProblemsSchema = named(
  z.object({ error: z.string(), problems: z.array(ProblemSchema) }),
  'QueryProblems',
  'A query string that breaks the API: every problem, each naming its parameter.',
);

export const RefusedSchema = named(
  z.object({
    outcome: z.literal('refused'),
    workflowId: z.string().optional(),
    problems: z.array(ProblemSchema),
  }),
  'Refused',
  'The request breaks the contract or the account rules: every problem at once. Nothing was started or changed.',
);

const stage = z.enum(STAGES, { error: `must be one of ${STAGES.join(', ')}` });
const alert = z.enum(ALERTS, { error: `must be one of ${ALERTS.join(', ')}` });

/** An order as the status query (or, without a worker, its search attributes) says it is. */
export const OrderSummarySchema = named(
  z.looseObject({
    workflowId: z.string(),
    account: z.string(),
    orderId: z.string(),
    stage,
    poLine: z.string().optional(),
    mmsId: z.string().optional(),
    alerts: z.array(alert),
    problems: z.array(ProblemSchema).optional(),
    error: z
      .looseObject({
        kind: z.string(),
        message: z.string(),
        code: z.string().optional(),
        trackingId: z.string().optional(),
      })
      .optional(),
    history: z
      .array(z.looseObject({ at: z.string(), event: z.string(), detail: z.string().optional() }))
      .optional(),
    timeline: z
      .array(
        z.looseObject({
          at: z.string().describe('ISO 8601 time.'),
          source: z.enum(TIMELINE_SOURCES).describe('Who it came from (src/order/timeline.ts).'),
          kind: z.string().describe('stage, alma, vendor-status, invoice, overlay, alert, cancellation, ...'),
          what: z.string(),
          detail: z.string().optional(),
        }),
      )
      .optional()
      .describe(
        "The order's life in time order: our stages, Alma's PO line status, the vendor's news, alerts.",
      ),
    vendorStatus: z.looseObject({ status: z.string(), statusText: z.string() }).optional(),
    quantityInvoiced: z.number().optional(),
    recordOverlaid: z.boolean().optional(),
    workflowStatus: z.string().optional().describe("Temporal's view: RUNNING, COMPLETED, FAILED, ..."),
    startedAt: z.string().optional(),
  }),
  'OrderSummary',
  'An order: its stage, Alma PO line and bib, alerts, and (when a worker answers) its history and timeline.',
);

export const PlacedSchema = named(
  OrderSummarySchema.extend({ outcome: z.literal('started'), workflowId: z.string() }),
  'Placed',
  'The order was taken: its workflow started.',
);

export const ExistingSchema = named(
  OrderSummarySchema.extend({
    outcome: z.literal('existing'),
    sameContent: z
      .boolean()
      .optional()
      .describe('Whether the content placed again is the existing order (absent: it could not be read).'),
    differences: z
      .array(z.string())
      .optional()
      .describe('JSON paths where the content differs (never values).'),
    warning: z.string().optional(),
  }),
  'Existing',
  'An order with this id was placed before: it is not changed, and its state is shown.',
);

export const AlmaFindingsSchema = named(
  z.object({
    problems: z
      .array(ProblemSchema)
      .describe('What Alma would refuse: a fund not active, the vendor or its account not valid.'),
    openPoLines: z
      .array(
        z.object({
          number: z.string(),
          status: z.string().optional(),
          thisOrder: z.boolean().describe('Whether it is this order id placed before.'),
        }),
      )
      .describe("Open PO lines with the order's ISBN (possible duplicates)."),
    openPoLinesTotal: z.number().int(),
    warnings: z.array(z.string()),
  }),
  'AlmaFindings',
  'What Alma says of the order, read only (nothing is created).',
);

export const DryRunSchema = named(
  z.object({
    dryRun: z.literal(true),
    outcome: z
      .enum(['valid', 'refused', 'incomplete'])
      .describe('valid: it would be taken; refused: problems; incomplete: Alma could not be asked.'),
    workflowId: z.string().optional(),
    problems: z
      .array(ProblemSchema)
      .describe('Every contract and account problem (what the workflow checks).'),
    alma: AlmaFindingsSchema.optional(),
    almaError: z.string().optional().describe('Why Alma could not be asked (with alma=true).'),
  }),
  'DryRun',
  'What placing the order would say, with nothing created (no workflow, no PO line).',
);

export const CancelRequestSchema = named(
  z.strictObject({
    reason: z
      .string()
      .max(MAX_CANCEL_REASON)
      .regex(REASON_FORM)
      .optional()
      .describe('A reason code the account knows (its alma.cancellationReason).'),
    comment: z.string().max(MAX_CANCEL_COMMENT).optional().describe('Free text; line breaks allowed.'),
  }),
  'CancelRequest',
  'An empty body, or this object. An unknown field is refused (422), never dropped.',
);

export const CancelAnswerSchema = named(
  OrderSummarySchema.extend({ cancellation: z.enum(['requested', 'order already ended']) }),
  'CancelAnswer',
  'The cancellation was asked for (a signal; the answer does not wait for Alma), or the order had ended.',
);

export const OrderPageSchema = named(
  z.object({
    orders: z.array(OrderSummarySchema),
    nextPageToken: z
      .string()
      .optional()
      .describe('Give it as pageToken for the next page; absent on the last.'),
  }),
  'OrderPage',
  "One page of an account's orders, from Temporal's visibility (search attributes).",
);

export const HealthSchema = named(z.object({ ok: z.literal(true) }), 'Health');

const flag = z.enum(['true', 'false'], { error: 'must be true or false' });

export const PlaceQuerySchema = z.strictObject({
  dryRun: flag
    .optional()
    .describe('true: check the order and answer what placing it would say; create nothing.'),
  alma: flag
    .optional()
    .describe('With dryRun=true: also ask Alma (funds active, vendor and account valid, open PO lines).'),
});

export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 50;

export const ListQuerySchema = z.strictObject({
  account: z.string().min(1, 'required').max(64, 'at most 64 characters').describe('The OASIS account.'),
  stage: stage.optional().describe('Only orders at this stage.'),
  alert: alert.optional().describe('Only orders with this alert.'),
  limit: z.coerce
    .number('must be a whole number')
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(MAX_PAGE_SIZE, `must be at most ${MAX_PAGE_SIZE}`)
    .optional()
    .describe(`Orders per page (default ${DEFAULT_PAGE_SIZE}).`),
  pageToken: z
    .string()
    .max(4096, 'at most 4096 characters')
    .regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, 'is not a page token')
    .optional()
    .describe("The previous page's nextPageToken."),
});

/** An answer of a route: what it means, and its body (JSON unless said otherwise). */
export interface ApiAnswer {
  description: string;
  /** One schema, or several that the answer may be (`oneOf`). */
  schema?: z.ZodType | z.ZodType[];
  contentType?: string;
}

export interface ApiRoute {
  method: 'GET' | 'POST';
  /** In OpenAPI's form: `/orders/{account}/{orderId}`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  /** Answered without the bearer token. */
  public?: boolean;
  params?: Record<string, string>;
  query?: z.ZodObject;
  body?: { schema: z.ZodType; required: boolean; description: string };
  answers: Record<number, ApiAnswer>;
}

const unauthorised: ApiAnswer = { description: 'No valid bearer token.', schema: ErrorSchema };
const bodyTooSlow: ApiAnswer = {
  description: 'The body did not arrive in time (the connection is closed).',
  schema: ErrorSchema,
};
const bodyTooLarge = (limit: string): ApiAnswer => ({
  description: `The body is over ${limit} (refused unread, the connection is closed).`,
  schema: ErrorSchema,
});
const orderParams = {
  account: 'The OASIS account.',
  orderId: 'The OASIS order id.',
};

export const API_ROUTES: readonly ApiRoute[] = [
  {
    method: 'POST',
    path: '/orders',
    operationId: 'placeOrder',
    summary: 'Place an order (or, with dryRun=true, check it)',
    description:
      'Validates the order against the contract and its account, then starts its workflow. The same order id ' +
      'again never starts a second one. With dryRun=true nothing is started: the answer says what placing ' +
      'it would say.',
    query: PlaceQuerySchema,
    body: { schema: OrderSchema, required: true, description: 'The order, at most 64 KiB of JSON.' },
    answers: {
      200: {
        description:
          'An order with this id was placed before (Existing); or the dry run found nothing wrong.',
        schema: [ExistingSchema, DryRunSchema],
      },
      201: { description: 'The order was taken; its workflow started.', schema: PlacedSchema },
      400: { description: 'The query string breaks the API.', schema: QueryProblemsSchema },
      401: unauthorised,
      408: bodyTooSlow,
      413: bodyTooLarge('64 KiB'),
      422: {
        description:
          'The order breaks the contract or the account rules (with dryRun=true: or Alma would refuse it).',
        schema: [RefusedSchema, DryRunSchema],
      },
      502: { description: 'Dry run with alma=true: Alma could not be asked.', schema: DryRunSchema },
    },
  },
  {
    method: 'GET',
    path: '/orders',
    operationId: 'listOrders',
    summary: "List an account's orders, by stage and alert",
    description:
      "From Temporal's visibility (the search attributes OasisAccount, OrderStage, OrderAlerts), newest first, " +
      'one page at a time. The account is required; stage and alert must be known ones.',
    query: ListQuerySchema,
    answers: {
      200: { description: 'One page of orders.', schema: OrderPageSchema },
      400: { description: 'A parameter is missing, unknown or not valid.', schema: QueryProblemsSchema },
      401: unauthorised,
    },
  },
  {
    method: 'GET',
    path: '/orders/{account}/{orderId}',
    operationId: 'getOrder',
    summary: "An order's status",
    params: orderParams,
    answers: {
      200: { description: 'The order.', schema: OrderSummarySchema },
      400: { description: 'A path segment is not valid percent-encoding.', schema: ErrorSchema },
      401: unauthorised,
      404: { description: 'No such order.', schema: ErrorSchema },
    },
  },
  {
    method: 'POST',
    path: '/orders/{account}/{orderId}/cancel',
    operationId: 'cancelOrder',
    summary: 'Cancel an order',
    description:
      'A signal to the workflow: the answer does not wait for Alma. Before the PO line exists nothing is ' +
      'created; after, the PO line is cancelled in Alma.',
    params: orderParams,
    body: { schema: CancelRequestSchema, required: false, description: 'Empty, or a reason and a comment.' },
    answers: {
      202: {
        description: 'Cancellation requested (or the order had already ended).',
        schema: CancelAnswerSchema,
      },
      400: {
        description: 'The body is not a JSON object, or a path segment is malformed.',
        schema: ErrorSchema,
      },
      401: unauthorised,
      404: { description: 'No such order.', schema: ErrorSchema },
      408: bodyTooSlow,
      413: bodyTooLarge('8 KiB'),
      422: {
        description: 'The cancel request is refused: every problem. Nothing is cancelled.',
        schema: RefusedSchema,
      },
    },
  },
  {
    method: 'POST',
    path: '/orders/{account}/{orderId}/release',
    operationId: 'releaseOrder',
    summary: 'Release an order held as a possible duplicate',
    description:
      'For an order in stage HELD (account setting duplicateCheck: hold): it goes on to ORDERING and the PO ' +
      'line is created. Answers once the order has left HELD. No body.',
    params: orderParams,
    answers: {
      200: { description: 'Released: the order as it is now.', schema: OrderSummarySchema },
      400: { description: 'A path segment is not valid percent-encoding.', schema: ErrorSchema },
      401: unauthorised,
      404: { description: 'No such order.', schema: ErrorSchema },
      409: { description: 'The order is not HELD (never was, released, or ended).', schema: ErrorSchema },
    },
  },
  {
    method: 'GET',
    path: '/healthz',
    operationId: 'health',
    summary: 'Whether the intake answers',
    public: true,
    answers: { 200: { description: 'It does.', schema: HealthSchema } },
  },
  {
    method: 'GET',
    path: '/metrics',
    operationId: 'metrics',
    summary: 'Prometheus metrics',
    description:
      "The application's metrics in Prometheus' text format (README, Metrics). Public like /healthz: every " +
      'label is bounded and free of personal data (accounts, stages, results), never an order id or an address.',
    public: true,
    answers: {
      200: { description: 'The metrics of this process.', contentType: 'text/plain; version=0.0.4' },
    },
  },
  {
    method: 'GET',
    path: '/openapi.json',
    operationId: 'openApiDocument',
    summary: 'This document (OpenAPI 3.1)',
    public: true,
    answers: { 200: { description: 'The OpenAPI document.', schema: z.looseObject({}) } },
  },
  {
    method: 'GET',
    path: '/docs',
    operationId: 'documentation',
    summary: 'This document as a page to read',
    public: true,
    answers: { 200: { description: 'An HTML page of the routes.', contentType: 'text/html' } },
  },
];

/** The route's path in Fastify's form: `/orders/:account/:orderId`. */
export function fastifyPath(path: string): string {
  return path.replace(/\{([^}]+)\}/g, ':$1');
}
