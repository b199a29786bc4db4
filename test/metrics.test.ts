/**
 * Metrics (issue 11, item 4): `/metrics` on a real `rto worker` process and on the HTTP intake after a real order
 * ran through the Alma sandbox (counts that stay 0 if the instrumentation broke), the Temporal SDK runtime's
 * exporter on its own port, bounded labels (no order id, no address, no key), and deploy/prometheus: the rules and
 * the dashboard parse and name only metrics that exist (promtool is not on these machines).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { startHttpIntake, type HttpIntake } from '../src/client/http';
import { buildOrderResponse } from '../src/edi';
import { writeIso2709, type MarcRecord } from '../src/marc';
import type { ConfigFileInput } from '../src/config/schema';
import { METRIC_NAMES, almaEndpoint } from '../src/metrics';
import { freePort } from '../src/temporal/dev-server';
import { startChild, type Child } from './harness/child';
import { exampleOrder, startSystem, type TestSystem } from './harness/system';

jest.setTimeout(180_000);

const ROOT = path.join(__dirname, '..');
const TOKEN = 'metrics-test-token-4f1e9a27c3';
const run = Date.now().toString(36).toUpperCase();
const orderId = `MET-${run}-1`;
/** The sandbox puts this one's PO line In Review (its reviewRules): staff get an ALMA_IN_REVIEW alert. */
const reviewedId = `MET-${run}-REVIEW`;

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus' text format, the sample lines of it. */
function samples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

const sum = (s: Sample[], name: string, labels: Record<string, string> = {}) =>
  s
    .filter((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v))
    .reduce((a, x) => a + x.value, 0);

async function scrape(url: string): Promise<{ status: number; type: string; text: string }> {
  const r = await fetch(url);
  return { status: r.status, type: r.headers.get('content-type') ?? '', text: await r.text() };
}

/** Scrapes until `ready` holds (the visibility gauges refresh on an interval); each answer checked. */
async function scrapeUntil(url: string, ready: (s: Sample[]) => boolean): Promise<Sample[]> {
  for (;;) {
    const s = samples((await scrape(url)).text);
    if (ready(s)) return s;
    await new Promise((r) => setTimeout(r, 200));
  }
}

let sys: TestSystem;
let tmp: string;
let worker: Child;
let workerMetrics: string;
let sdkMetrics: string;
let intake: HttpIntake;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'rto-metrics-'));
  const configFile = path.join(tmp, 'config.json');
  sys = await startSystem({
    withWorkers: false,
    editSeed: (seed) => {
      for (const inst of seed.institutions) inst.reviewRules = { vendorReferenceNumbers: [reviewedId] };
    },
    configure: (raw: ConfigFileInput) => writeFileSync(configFile, JSON.stringify(raw, null, 2)),
  });
  const sdkPort = await freePort();
  worker = startChild(
    [path.join(ROOT, 'bin', 'rto.js'), 'worker'],
    {
      RTO_TASK_QUEUE: sys.taskQueue,
      RTO_CONFIG: configFile,
      RTO_DATA_DIR: sys.dataDir,
      RTO_HEALTH_PORT: '0',
      RTO_SDK_METRICS_ADDRESS: `127.0.0.1:${sdkPort}`,
      RTO_METRICS_VISIBILITY_INTERVAL_MS: '200',
      SMTP_PORT: String(sys.catcher.port),
      LOG_LEVEL: 'info',
      CI: '1',
    },
    ROOT,
  );
  const health = (await worker.next((e) => e.msg === 'worker health endpoint')).url as string;
  workerMetrics = health.replace('/healthz', '/metrics');
  sdkMetrics = `http://127.0.0.1:${sdkPort}/metrics`;
  intake = await startHttpIntake({
    orders: sys.orders,
    config: sys.config,
    token: TOKEN,
    port: 0,
    logger: sys.logger,
  });
  for (const id of [orderId, reviewedId]) {
    const placed = await fetch(`${intake.url}/orders`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(exampleOrder('print-single-fund.json', id)),
    });
    expect(placed.status).toBe(201);
  }
  for (const id of [orderId, reviewedId]) {
    for (;;) {
      const s = await sys.orders.getStatus('UNIV-MAIN', id, { queryTimeoutMs: 3000 });
      if (s.stage === 'FOLLOWING_UP' && (id === orderId || s.alerts.includes('ALMA_IN_REVIEW'))) break;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
});

afterAll(async () => {
  await intake?.close();
  if (worker && worker.child.exitCode === null && worker.child.signalCode === null) {
    worker.child.kill('SIGTERM');
    await worker.exited;
  }
  await sys?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('/metrics on a worker process (rto worker)', () => {
  test('counts what the order did: Alma calls by endpoint and status, the mail, the remaining budget', async () => {
    const r = await scrape(workerMetrics);
    expect(r.status).toBe(200);
    expect(r.type).toContain('text/plain');
    const s = samples(r.text);
    // Each order's PO line was searched for (not found), then created: one POST each.
    expect(sum(s, 'rto_alma_calls_total', { method: 'POST', endpoint: '/acq/po-lines' })).toBe(2);
    expect(sum(s, 'rto_alma_calls_total', { method: 'GET', status: '200' })).toBeGreaterThanOrEqual(2);
    expect(
      sum(s, 'rto_alma_calls_total', { method: 'GET', endpoint: '/acq/po-lines/{id}' }),
    ).toBeGreaterThanOrEqual(1);
    // The librarians' confirmations and the staff alert.
    expect(sum(s, 'rto_mails_total', { result: 'sent' })).toBeGreaterThanOrEqual(3);
    expect(sum(s, 'rto_alerts_total', { account: 'UNIV-MAIN', alert: 'ALMA_IN_REVIEW' })).toBe(1);
    expect(sum(s, 'rto_alerts_total')).toBe(1);
    expect(sum(s, 'rto_mails_total', { result: 'failed' })).toBe(0);
    // The sandbox answers X-Exl-Api-Remaining: read from the institution's budget at the scrape.
    const remaining = s.find((x) => x.name === 'rto_alma_api_remaining');
    expect(remaining?.labels).toEqual({ institution: '01UNIV_INST' });
    expect(remaining!.value).toBeGreaterThan(0);
    expect(s.some((x) => x.name === 'rto_alma_budget_wait_seconds_total')).toBe(true);
    // Node's process metrics come along.
    expect(s.some((x) => x.name === 'rto_process_resident_memory_bytes')).toBe(true);
  });

  test('orders per stage and pollers per task queue come from Temporal visibility', async () => {
    const s = await scrapeUntil(
      workerMetrics,
      (x) => sum(x, 'rto_orders', { account: 'UNIV-MAIN', stage: 'FOLLOWING_UP' }) >= 2,
    );
    expect(sum(s, 'rto_orders', { account: 'UNIV-MAIN', stage: 'FOLLOWING_UP' })).toBe(2);
    expect(sum(s, 'rto_orders', { account: 'UNIV-MAIN', stage: 'ORDERING' })).toBe(0);
    expect(sum(s, 'rto_orders_started_over_an_hour_ago', { account: 'UNIV-MAIN' })).toBe(0);
    expect(sum(s, 'rto_orders_closed', { account: 'UNIV-MAIN', outcome: 'Completed' })).toBe(0);
    const pollers = s.filter((x) => x.name === 'rto_task_queue_pollers');
    expect(
      sum(pollers, 'rto_task_queue_pollers', { task_queue: sys.taskQueue, type: 'workflow' }),
    ).toBeGreaterThan(0);
    expect(
      sum(pollers, 'rto_task_queue_pollers', { task_queue: sys.taskQueue, type: 'activity' }),
    ).toBeGreaterThan(0);
    // An Alma task queue polls activities only, so only that type is reported for it.
    const alma = pollers.filter((x) => x.labels.task_queue !== sys.taskQueue);
    expect(alma.length).toBeGreaterThan(0);
    expect(alma.every((x) => x.labels.type === 'activity' && x.value > 0)).toBe(true);
    expect(sum(s, 'rto_visibility_scrape_errors_total')).toBe(0);
  });

  test('labels carry no order id, title, address or key', async () => {
    const text = (await scrape(workerMetrics)).text + (await scrape(`${intake.url}/metrics`)).text;
    const order = exampleOrder('print-single-fund.json', orderId) as Record<string, unknown>;
    const placedBy = order.placedBy as { email: string; name: string };
    const item = order.item as { title: string };
    for (const secret of [
      orderId,
      reviewedId,
      placedBy.email,
      'sandbox-key-01UNIV_INST',
      item.title,
      placedBy.name,
    ])
      expect(text).not.toContain(secret);
    // Every label value of the application's metrics is from a bounded set.
    const values = new Set(
      samples(text)
        .filter((x) => METRIC_NAMES.has(x.name))
        .flatMap((x) => Object.values(x.labels)),
    );
    for (const v of values) expect(v).toMatch(/^[A-Za-z0-9_./{}:-]+$/);
  });

  test('the Temporal SDK runtime serves its own metrics on RTO_SDK_METRICS_ADDRESS', async () => {
    const s = await scrapeUntil(sdkMetrics, (x) => x.some((y) => y.name === 'temporal_num_pollers'));
    expect(s.some((x) => x.name === 'temporal_num_pollers' && x.labels.task_queue === sys.taskQueue)).toBe(
      true,
    );
  });
});

describe('/metrics after a vendor EDI run on the worker', () => {
  test('files by result, messages and lines by what became of them', async () => {
    const { poLine } = await sys.orders.getStatus('UNIV-MAIN', orderId, { queryTimeoutMs: 3000 });
    const inbox = path.join(sys.dataDir, 'vendor', 'UNIV-MAIN', 'edi');
    mkdirSync(inbox, { recursive: true });
    writeFileSync(
      path.join(inbox, 'ordrsp-metrics.edi'),
      buildOrderResponse({
        sender: '5013546025078',
        recipient: '5412345000176',
        documentNumber: `M${run}`,
        lines: [
          { poLine: poLine!, status: 'accepted', ordered: 1 },
          { poLine: 'POL-NOT-OURS', status: 'accepted', ordered: 1 },
        ],
      }),
    );
    writeFileSync(path.join(inbox, 'garbage.edi'), 'this is not EDIFACT at all\n');
    await sys.client.workflow.execute('ediPickupWorkflow', {
      workflowId: `edi-metrics-${run}`,
      taskQueue: sys.taskQueue,
      args: [{ account: 'UNIV-MAIN', retry: { initialMs: 200, maxMs: 1000 } }],
    });
    const s = samples((await scrape(workerMetrics)).text);
    const acc = { account: 'UNIV-MAIN' };
    expect(sum(s, 'rto_edi_files_total', { ...acc, result: 'processed' })).toBe(1);
    expect(sum(s, 'rto_edi_files_total', { ...acc, result: 'rejected' })).toBe(1);
    expect(sum(s, 'rto_edi_messages_total', { ...acc, result: 'read' })).toBe(1);
    expect(sum(s, 'rto_edi_lines_total', { ...acc, result: 'matched' })).toBe(1);
    expect(sum(s, 'rto_edi_lines_total', { ...acc, result: 'unmatched' })).toBe(1);
  });
});

describe('/metrics after a MARC overlay run on the worker', () => {
  test('records by result', async () => {
    const record = (id: string, isbn: string): MarcRecord => ({
      leader: '00000nam a2200000 i 4500',
      fields: [
        { tag: '001', value: 'VENDOR-001' },
        { tag: '020', ind1: ' ', ind2: ' ', subfields: [{ code: 'a', value: isbn }] },
        { tag: '245', ind1: '1', ind2: '0', subfields: [{ code: 'a', value: 'A vendor record' }] },
        { tag: '980', ind1: ' ', ind2: ' ', subfields: [{ code: 'a', value: id }] },
      ],
    });
    const dir = path.join(sys.dataDir, 'vendor', 'UNIV-MAIN', 'marc');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      path.join(dir, 'nightly.mrc'),
      Buffer.concat([
        writeIso2709(record(orderId, '9783161484100')),
        writeIso2709(record('NO-SUCH-ORDER', '9780000000002')),
      ]),
    );
    const report = await sys.client.workflow.execute('overlayWorkflow', {
      workflowId: `overlay-metrics-${run}`,
      taskQueue: sys.taskQueue,
      args: [{ account: 'UNIV-MAIN' }],
    });
    expect(report).toMatchObject({ read: 2, overlaid: 1, unmatched: 1 });
    const s = samples((await scrape(workerMetrics)).text);
    const acc = { account: 'UNIV-MAIN' };
    expect(sum(s, 'rto_overlay_records_total', { ...acc, result: 'overlaid' })).toBe(1);
    expect(sum(s, 'rto_overlay_records_total', { ...acc, result: 'unmatched' })).toBe(1);
    expect(sum(s, 'rto_overlay_records_total', { ...acc, result: 'failed' })).toBe(0);
  });
});

describe('/metrics on the HTTP intake', () => {
  test('answers without a token and counts the order it started, by account', async () => {
    const r = await scrape(`${intake.url}/metrics`);
    expect(r.status).toBe(200);
    expect(r.type).toContain('text/plain');
    const s = samples(r.text);
    expect(sum(s, 'rto_orders_started_total', { account: 'UNIV-MAIN', via: 'intake' })).toBe(2);
  });

  test('placing the same order again starts nothing, and counts nothing', async () => {
    const again = await fetch(`${intake.url}/orders`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(exampleOrder('print-single-fund.json', orderId)),
    });
    expect(again.status).toBe(200);
    const s = samples((await scrape(`${intake.url}/metrics`)).text);
    expect(sum(s, 'rto_orders_started_total', { account: 'UNIV-MAIN' })).toBe(2);
  });
});

test('Alma endpoints are labelled by template, ids replaced', () => {
  expect(almaEndpoint('/acq/po-lines/POL-12345')).toBe('/acq/po-lines/{id}');
  expect(almaEndpoint('/acq/vendors/PROQUEST/po-lines')).toBe('/acq/vendors/{id}/po-lines');
  expect(almaEndpoint('/conf/libraries/MAIN/locations')).toBe('/conf/libraries/{id}/locations');
  expect(almaEndpoint('/bibs/991234?view=full')).toBe('/bibs/{id}');
  expect(almaEndpoint('/acq/po-lines')).toBe('/acq/po-lines');
});

describe('deploy/prometheus', () => {
  const read = (f: string) => readFileSync(path.join(ROOT, 'deploy', 'prometheus', f), 'utf8');
  const rules = parse(read('alerts.yml')) as {
    groups: { name: string; rules: { alert?: string; expr: string; for?: string }[] }[];
  };
  const dashboard = JSON.parse(read('grafana/dashboards/oasis-alma-rto.json')) as {
    uid: string;
    panels: { title: string; targets: { expr: string }[] }[];
  };
  const exprs = [
    ...rules.groups.flatMap((g) => g.rules.map((r) => r.expr)),
    ...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)),
  ];
  const named = (prefix: string) => [
    ...new Set(
      exprs.flatMap((e) => [...e.matchAll(new RegExp(`\\b${prefix}[a-z0-9_]+`, 'g'))].map((m) => m[0])),
    ),
  ];

  test('the alert rules parse and cover what operators must hear of', () => {
    const alerts = rules.groups.flatMap((g) => g.rules.map((r) => r.alert));
    expect(alerts).toEqual(
      expect.arrayContaining([
        'RtoOrdersStuckInStage',
        'RtoAlmaRateLimited',
        'RtoAlmaDailyBudgetLow',
        'RtoEdiFilesRejected',
        'RtoNoPollerOnTaskQueue',
      ]),
    );
    for (const g of rules.groups)
      for (const r of g.rules) {
        expect(typeof r.expr).toBe('string');
        // Balanced brackets: a cheap stand-in for promtool's parse.
        for (const [open, close] of [
          ['(', ')'],
          ['{', '}'],
          ['[', ']'],
        ] as const)
          expect([r.alert, r.expr.split(open).length]).toEqual([r.alert, r.expr.split(close).length]);
      }
  });

  test('the dashboard parses, every panel has a query', () => {
    expect(dashboard.uid).toBe('oasis-alma-rto');
    expect(dashboard.panels.length).toBeGreaterThan(5);
    for (const p of dashboard.panels) expect(p.targets.length).toBeGreaterThan(0);
  });

  test('every application metric the rules and the dashboard name is defined in src/metrics', () => {
    const used = named('rto_');
    expect(used.length).toBeGreaterThan(10);
    expect(used.filter((n) => !METRIC_NAMES.has(n))).toEqual([]);
  });

  /** promtool from PROMTOOL or the PATH; absent here as a rule (the structural tests above stand in for it). */
  const promtool = [
    process.env.PROMTOOL,
    ...(process.env.PATH ?? '').split(path.delimiter).map((d) => path.join(d, 'promtool')),
  ].find((p): p is string => !!p && existsSync(p));
  (promtool ? test : test.skip)(
    'promtool checks the rules and runs their unit tests (alerts.test.yml)',
    () => {
      const dir = path.join(ROOT, 'deploy', 'prometheus');
      const out = (args: string[]) =>
        execFileSync(promtool!, args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      expect(out(['check', 'rules', 'alerts.yml'])).toMatch(/SUCCESS/);
      expect(out(['test', 'rules', 'alerts.test.yml'])).toMatch(/SUCCESS/);
      // The scrape configuration, with the rule file where this checkout has it (not the container's path).
      const config = path.join(tmp, 'prometheus.yml');
      writeFileSync(
        config,
        readFileSync(path.join(dir, 'prometheus.yml'), 'utf8').replace(
          '/etc/prometheus/alerts.yml',
          path.join(dir, 'alerts.yml'),
        ),
      );
      expect(out(['check', 'config', config])).toMatch(/SUCCESS/);
      // The dashboard's queries through Prometheus' own parser.
      for (const p of dashboard.panels)
        for (const t of p.targets) out(['--experimental', 'promql', 'format', t.expr]);
    },
  );

  test('docs/metrics.md lists every application metric', () => {
    const doc = readFileSync(path.join(ROOT, 'docs', 'metrics.md'), 'utf8');
    for (const n of METRIC_NAMES)
      expect({ n, listed: doc.includes(`| \`${n}\` |`) }).toEqual({ n, listed: true });
  });

  test('every SDK metric they name is served by the SDK runtime, and every rto_ metric by a process', async () => {
    const sdk = (await scrape(sdkMetrics)).text;
    for (const n of named('temporal_'))
      expect({ n, served: sdk.includes(`\n${n}`) }).toEqual({ n, served: true });
    const ours = (await scrape(workerMetrics)).text + (await scrape(`${intake.url}/metrics`)).text;
    for (const n of METRIC_NAMES)
      expect({ n, served: ours.includes(`# TYPE ${n} `) }).toEqual({ n, served: true });
  });
});
