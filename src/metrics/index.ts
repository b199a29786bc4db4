/**
 * The application's Prometheus metrics: the one home of their names, help texts and labels. Every label is
 * bounded and free of personal data: accounts, institutions, stages, alert types, Alma endpoint templates
 * (ids replaced by `{id}`), HTTP statuses and results. Never an order id, a title, an address or a key.
 *
 * Workflow code cannot count (it is deterministic, sandboxed and replayed): orders are counted where they
 * start (the intake), by what activities do (Alma calls, mails, EDI files, overlays, staff alerts), and by
 * Temporal's visibility (src/metrics/visibility.ts: orders per stage and per outcome, pollers per task queue).
 * The SDK's own runtime metrics (task slots, poll latencies, `temporal_num_pollers`) are served by the Temporal
 * runtime on its own port (RTO_SDK_METRICS_ADDRESS, src/worker/runtime.ts).
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** One registry per process: a worker and the intake in one process (`rto start`) share it. */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'rto_' });

/**
 * Every metric name this module defines (the test checks deploy/prometheus names against it). Node's process
 * metrics (`rto_process_*`, `rto_nodejs_*`) come from prom-client's defaults besides.
 */
export const METRIC_NAMES = new Set<string>();
function named<T extends { name: string }>(config: T): T {
  METRIC_NAMES.add(config.name);
  return config;
}

export const ordersStarted = new Counter(
  named({
    name: 'rto_orders_started_total',
    help: 'Orders started (a new workflow), by account and by where they came in.',
    labelNames: ['account', 'via'] as const,
    registers: [registry],
  }),
);

export const ordersByStage = new Gauge(
  named({
    name: 'rto_orders',
    help: 'Running orders per stage (OrderStage search attribute), from Temporal visibility.',
    labelNames: ['account', 'stage'] as const,
    registers: [registry],
  }),
);

export const ordersStaleByStage = new Gauge(
  named({
    name: 'rto_orders_started_over_an_hour_ago',
    help: 'Running orders per stage that started over an hour ago (for "stuck in a stage" alerts), from visibility.',
    labelNames: ['account', 'stage'] as const,
    registers: [registry],
  }),
);

export const ordersByOutcome = new Gauge(
  named({
    name: 'rto_orders_closed',
    help: 'Order workflows by how they closed (Completed, Failed, Terminated, ...) as Temporal visibility keeps them.',
    labelNames: ['account', 'outcome'] as const,
    registers: [registry],
  }),
);

export const visibilityErrors = new Counter(
  named({
    name: 'rto_visibility_scrape_errors_total',
    help: 'Visibility or task queue look-ups for the order gauges that failed.',
    registers: [registry],
  }),
);

export const taskQueuePollers = new Gauge(
  named({
    name: 'rto_task_queue_pollers',
    help: 'Pollers Temporal has seen recently on a task queue (DescribeTaskQueue), by task type.',
    labelNames: ['task_queue', 'type'] as const,
    registers: [registry],
  }),
);

export const alertsSent = new Counter(
  named({
    name: 'rto_alerts_total',
    help: 'Staff alerts mailed about orders, by account and alert type.',
    labelNames: ['account', 'alert'] as const,
    registers: [registry],
  }),
);

export const almaCalls = new Counter(
  named({
    name: 'rto_alma_calls_total',
    help: 'Alma API calls by method, endpoint template and HTTP status ("network" without an answer).',
    labelNames: ['method', 'endpoint', 'status'] as const,
    registers: [registry],
  }),
);

export const almaThresholds = new Counter(
  named({
    name: 'rto_alma_threshold_refusals_total',
    help: 'Alma answers refusing a call for a threshold: per_second (PER_SECOND_THRESHOLD / 429) or daily (DAILY_THRESHOLD).',
    labelNames: ['threshold'] as const,
    registers: [registry],
  }),
);

export const almaRemaining = new Gauge(
  named({
    name: 'rto_alma_api_remaining',
    help: 'X-Exl-Api-Remaining last seen: Alma API calls the institution has left today.',
    labelNames: ['institution'] as const,
    registers: [registry],
  }),
);

export const almaDailyBudget = new Gauge(
  named({
    name: 'rto_alma_api_daily_budget',
    help: "The institution's daily Alma API budget: configured, or the highest X-Exl-Api-Remaining seen since the reset.",
    labelNames: ['institution'] as const,
    registers: [registry],
  }),
);

export const budgetWaitSeconds = new Counter(
  named({
    name: 'rto_alma_budget_wait_seconds_total',
    help: "Time calls waited for their turn in the institution's per-second budget (this process).",
    labelNames: ['institution'] as const,
    registers: [registry],
  }),
);

export const budgetHeld = new Counter(
  named({
    name: 'rto_alma_budget_held_total',
    help: 'Calls held back because the daily budget is below a floor (this process).',
    labelNames: ['institution'] as const,
    registers: [registry],
  }),
);

export const ediFiles = new Counter(
  named({
    name: 'rto_edi_files_total',
    help: 'Vendor EDI files processed, by account and result (processed or rejected).',
    labelNames: ['account', 'result'] as const,
    registers: [registry],
  }),
);

export const ediMessages = new Counter(
  named({
    name: 'rto_edi_messages_total',
    help: 'EDIFACT messages in processed files, by account and result (read or unreadable).',
    labelNames: ['account', 'result'] as const,
    registers: [registry],
  }),
);

export const ediLines = new Counter(
  named({
    name: 'rto_edi_lines_total',
    help: 'EDI order response and invoice lines, by account and result (matched, unmatched, order_ended).',
    labelNames: ['account', 'result'] as const,
    registers: [registry],
  }),
);

export const overlayRecords = new Counter(
  named({
    name: 'rto_overlay_records_total',
    help: 'Vendor MARC records, by account and result (overlaid, unmatched, failed).',
    labelNames: ['account', 'result'] as const,
    registers: [registry],
  }),
);

export const mails = new Counter(
  named({
    name: 'rto_mails_total',
    help: 'Mails handed to SMTP, by result (sent or failed).',
    labelNames: ['result'] as const,
    registers: [registry],
  }),
);

// Series of small, fixed label sets exist from the start (at 0), so increase() and rate() see their first events.
for (const result of ['sent', 'failed']) mails.inc({ result }, 0);
for (const threshold of ['per_second', 'daily']) almaThresholds.inc({ threshold }, 0);

/** One EDI file's report counted: the file by its outcome, its messages and lines by what became of them. */
export function countEdiFile(
  account: string,
  r: {
    outcome: string;
    messages: number;
    unreadableMessages?: number;
    matched: number;
    unmatchedTotal: number;
    endedTotal?: number;
  },
): void {
  ediFiles.inc({ account, result: r.outcome });
  const unreadable = r.unreadableMessages ?? 0;
  ediMessages.inc({ account, result: 'read' }, r.messages - unreadable);
  ediMessages.inc({ account, result: 'unreadable' }, unreadable);
  ediLines.inc({ account, result: 'matched' }, r.matched);
  ediLines.inc({ account, result: 'unmatched' }, r.unmatchedTotal);
  ediLines.inc({ account, result: 'order_ended' }, r.endedTotal ?? 0);
}

/** Path segments of the Alma endpoints this project calls; any other segment is an id. */
const STATIC_SEGMENTS = new Set([
  'acq',
  'po-lines',
  'vendors',
  'funds',
  'test',
  'bibs',
  'conf',
  'libraries',
  'locations',
  'code-tables',
]);

/** `/acq/po-lines/POL-123` → `/acq/po-lines/{id}`: a bounded label, no ids. */
export function almaEndpoint(path: string): string {
  return path
    .split('?')[0]!
    .split('/')
    .map((s) => (s === '' || STATIC_SEGMENTS.has(s) ? s : '{id}'))
    .join('/');
}

/** One Alma answer (or its absence), from the Alma client's single response point. */
export function recordAlmaCall(
  method: string,
  path: string,
  status: number | undefined,
  kind?: string,
): void {
  almaCalls.inc({ method, endpoint: almaEndpoint(path), status: status ? String(status) : 'network' });
  if (kind === 'rate-limited') almaThresholds.inc({ threshold: 'per_second' });
  else if (kind === 'daily-budget') almaThresholds.inc({ threshold: 'daily' });
}

/**
 * What a budget exposes for metrics: the public surface of InstitutionBudget (src/institution/budget.ts),
 * read at scrape time, never changed.
 */
export interface BudgetView {
  institution: string;
  remaining: number | undefined;
  dailyBudget(): { calls: number } | undefined;
  counters: { waitsMs: number; held: number };
}

/**
 * Reads the institutions' budgets at every scrape: remaining calls and daily budget as gauges, waits and held
 * calls as counters (incremented by what grew since the last scrape).
 */
export function observeBudgets(budgets: () => BudgetView[]): () => void {
  const last = new Map<string, { waitsMs: number; held: number }>();
  const update = () => {
    for (const b of budgets()) {
      const labels = { institution: b.institution };
      if (b.remaining !== undefined) almaRemaining.set(labels, b.remaining);
      const daily = b.dailyBudget();
      if (daily) almaDailyBudget.set(labels, daily.calls);
      const before = last.get(b.institution) ?? { waitsMs: 0, held: 0 };
      // Incremented by 0 too: the series exists from the first scrape, so rate() has a start.
      budgetWaitSeconds.inc(labels, Math.max(0, b.counters.waitsMs - before.waitsMs) / 1000);
      budgetHeld.inc(labels, Math.max(0, b.counters.held - before.held));
      last.set(b.institution, { waitsMs: b.counters.waitsMs, held: b.counters.held });
    }
  };
  budgetObservers.push(update);
  return () => {
    const i = budgetObservers.indexOf(update);
    if (i >= 0) budgetObservers.splice(i, 1);
  };
}

const budgetObservers: (() => void)[] = [];

/** The exposition text, as `/metrics` serves it (budgets read first). */
export async function metricsText(): Promise<{ contentType: string; body: string }> {
  for (const update of budgetObservers) update();
  return { contentType: registry.contentType, body: await registry.metrics() };
}
