/**
 * The HTTP intake's described API (issue 12 §2, §3): the OpenAPI document against what is served, the
 * documentation page, request ids, `GET /orders` from Temporal's visibility, and the dry run
 * (`POST /orders?dryRun=true[&alma=true]`) creating nothing. Real loopback HTTP, the run's Temporal server with
 * the project's workers, the Alma sandbox behind them.
 */
import { createAlmaClient } from '../src/alma/client';
import { AlmaAccess } from '../src/institution/alma-access';
import { startHttpIntake, type HttpIntake } from '../src/client/http';
import { visibilityQuery } from '../src/client/orders';
import type { ConfigFileInput } from '../src/config/schema';
import { ALERTS, STAGES } from '../src/order/types';
import { exampleOrder, startSystem, type TestSystem } from './harness/system';

jest.setTimeout(90_000);

const TOKEN = 'intake-api-test-token-5d2c81b0e7';
const run = Date.now().toString(36).toUpperCase();
/** Accounts of this file alone (the Temporal server is shared by the run's test files): listings see only ours. */
const LISTED = `APITEST-${run}`;
const GHOSTLY = `APIGHOST-${run}`;
const NO_VENDOR = `APINOVENDOR-${run}`;
const id = (name: string) => `API-${run}-${name}`;

let sys: TestSystem;
let intake: HttpIntake;

/** UNIV-MAIN's settings under another code, without its vendor file sources. */
function copyOfMain(raw: ConfigFileInput, edit: (acc: Record<string, unknown>) => void) {
  const accounts = raw.accounts as Record<string, Record<string, unknown>>;
  const acc = JSON.parse(JSON.stringify(accounts['UNIV-MAIN'])) as Record<string, unknown>;
  delete acc.edi;
  delete acc.marc;
  edit(acc);
  return acc;
}

beforeAll(async () => {
  sys = await startSystem({
    configure: (raw) => {
      const accounts = raw.accounts as Record<string, unknown>;
      accounts[LISTED] = copyOfMain(raw, () => undefined);
      // A fund the account has but the sandbox's Alma does not (it is seeded from the example configuration).
      accounts[GHOSTLY] = copyOfMain(raw, (a) => (a.funds = [...(a.funds as string[]), 'GHOST']));
      accounts[NO_VENDOR] = copyOfMain(raw, (a) => {
        (a.alma as Record<string, unknown>).vendorCode = 'NO-SUCH-VENDOR';
      });
    },
  });
  intake = await startHttpIntake({
    orders: sys.orders,
    config: sys.config,
    token: TOKEN,
    port: 0,
    logger: sys.logger,
    alma: new AlmaAccess(sys.config, sys.logger),
  });
});

afterAll(async () => {
  await intake?.close();
  await sys?.stop();
});

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  body: Record<string, unknown>;
}

async function call(
  method: string,
  pathname: string,
  opts: { body?: unknown; token?: string | null; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...opts.headers };
  if (opts.token !== null) headers.authorization = `Bearer ${opts.token ?? TOKEN}`;
  const body =
    opts.body === undefined
      ? undefined
      : typeof opts.body === 'string'
        ? opts.body
        : JSON.stringify(opts.body);
  const r = await fetch(intake.url + pathname, { method, headers, body });
  const text = await r.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    // an HTML page
  }
  return { status: r.status, headers: r.headers, text, body: parsed };
}

const problems = (a: Answer) => a.body.problems as { path: string; message: string }[];

type Json = Record<string, unknown>;

describe('the OpenAPI document', () => {
  let doc: Json;
  beforeAll(async () => {
    const r = await call('GET', '/openapi.json', { token: null });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    doc = r.body;
  });

  test('is OpenAPI 3: version, info, paths, every operation with its answers', () => {
    expect(String(doc.openapi)).toMatch(/^3\.\d+\.\d+$/);
    const info = doc.info as Json;
    expect(typeof info.title).toBe('string');
    expect(typeof info.version).toBe('string');
    const paths = doc.paths as Record<string, Record<string, Json>>;
    expect(Object.keys(paths).length).toBeGreaterThan(0);
    const operationIds = new Set<string>();
    for (const [p, item] of Object.entries(paths)) {
      expect(p.startsWith('/')).toBe(true);
      for (const [method, op] of Object.entries(item)) {
        expect(['get', 'post', 'put', 'delete', 'patch']).toContain(method);
        expect(typeof op.operationId).toBe('string');
        expect(operationIds.has(op.operationId as string)).toBe(false);
        operationIds.add(op.operationId as string);
        const responses = op.responses as Record<string, Json>;
        expect(Object.keys(responses).length).toBeGreaterThan(0);
        for (const [status, r] of Object.entries(responses)) {
          expect(status).toMatch(/^[1-5]\d\d$/);
          expect(typeof r.description).toBe('string');
        }
        // Every {name} in the path is a declared path parameter, and every path parameter is in the path.
        const inPath = [...p.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
        const declared = ((op.parameters ?? []) as Json[]).filter((x) => x.in === 'path').map((x) => x.name);
        expect(declared.sort()).toEqual(inPath.sort());
      }
    }
  });

  test('every $ref resolves inside the document', () => {
    const refs: string[] = [];
    const walk = (v: unknown) => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object')
        for (const [k, x] of Object.entries(v)) {
          if (k === '$ref') refs.push(x as string);
          else walk(x);
        }
    };
    walk(doc);
    expect(refs.length).toBeGreaterThan(10);
    for (const ref of new Set(refs)) {
      expect(ref.startsWith('#/')).toBe(true);
      let at: unknown = doc;
      for (const part of ref.slice(2).split('/')) at = (at as Json | undefined)?.[part];
      expect({ ref, resolves: at !== undefined && typeof at === 'object' }).toEqual({ ref, resolves: true });
    }
  });

  test("the order's schema is the contract's: its fields, required ones, no unknown ones", () => {
    const order = (doc.components as Json).schemas as Record<string, Json>;
    const o = order.Order!;
    expect(o.additionalProperties).toBe(false);
    expect(o.required).toEqual(
      expect.arrayContaining(['orderId', 'account', 'placedAt', 'item', 'quantity', 'listPrice']),
    );
    expect(Object.keys(o.properties as Json)).toEqual(
      expect.arrayContaining(['fundDistribution', 'location', 'interestedUsers', 'emailConfirmation']),
    );
    const list = (doc.paths as Record<string, Record<string, Json>>)['/orders']!.get!;
    const stage = (list.parameters as Json[]).find((p) => p.name === 'stage')!;
    expect((stage.schema as Json).enum).toEqual([...STAGES]);
    const alert = (list.parameters as Json[]).find((p) => p.name === 'alert')!;
    expect((alert.schema as Json).enum).toEqual([...ALERTS]);
  });

  test('lists every route served, and serves every route it lists (each called, answering a documented status)', async () => {
    const paths = doc.paths as Record<string, Record<string, Json>>;
    const documented = Object.entries(paths)
      .flatMap(([p, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${p}`))
      .sort();
    const served = intake.routes.map((r) => `${r.method} ${r.path.replace(/:([A-Za-z]+)/g, '{$1}')}`).sort();
    expect(served).toEqual(documented);

    const fill = (p: string) => p.replace('{account}', 'UNIV-MAIN').replace('{orderId}', id('DOC-NOBODY'));
    const bodies: Record<string, unknown> = {
      'POST /orders': exampleOrder('print-single-fund.json', id('DOC-DRY')),
      'POST /orders/{account}/{orderId}/cancel': {},
    };
    const queries: Record<string, string> = {
      'POST /orders': '?dryRun=true',
      'GET /orders': '?account=UNIV-MAIN',
    };
    for (const [p, item] of Object.entries(paths)) {
      for (const [method, op] of Object.entries(item)) {
        const key = `${method.toUpperCase()} ${p}`;
        const r = await call(method.toUpperCase(), fill(p) + (queries[key] ?? ''), { body: bodies[key] });
        const statuses = Object.keys(op.responses as Json);
        expect({ key, status: r.status, documented: statuses.includes(String(r.status)) }).toEqual({
          key,
          status: r.status,
          documented: true,
        });
        // Not the intake's "no such route" answer.
        expect(String(r.body.error ?? '')).not.toMatch(/^no route/);
      }
    }
  });

  test('the dry run called above created nothing', async () => {
    expect((await call('GET', `/orders/UNIV-MAIN/${id('DOC-DRY')}`)).status).toBe(404);
  });
});

describe('the documentation page', () => {
  test('is HTML naming every route and schema, with nothing loaded from elsewhere', async () => {
    const r = await call('GET', '/docs', { token: null });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/html/);
    for (const p of [
      '/orders',
      '/orders/{account}/{orderId}',
      '/orders/{account}/{orderId}/cancel',
      '/healthz',
    ])
      expect(r.text).toContain(`<code>${p}</code>`);
    expect(r.text).toContain('href="/openapi.json"');
    expect(r.text).toContain('id="schema-Order"');
    expect(r.text).not.toMatch(/<script|<link|@import|src=|url\(/i);
    expect(r.text).not.toMatch(/(href|src)="(https?:)?\/\//i);
  });
});

describe('request ids', () => {
  test('a sane X-Request-Id is echoed; none, or an odd one, gets a new one', async () => {
    const given = await call('GET', '/healthz', { headers: { 'x-request-id': 'oasis-7f3a.42' } });
    expect(given.headers.get('x-request-id')).toBe('oasis-7f3a.42');
    const none = await call('GET', '/healthz');
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    expect(none.headers.get('x-request-id')).toMatch(uuid);
    for (const odd of ['a b', 'x'.repeat(200), '<script>', 'id\u00e9']) {
      const r = await call('GET', '/healthz', {
        headers: { 'x-request-id': encodeURI(odd) === odd ? odd : encodeURI(odd) },
      });
      expect(r.headers.get('x-request-id')).toMatch(uuid);
    }
    // On refusals too (the answer before the token check is done).
    const refused = await call('GET', '/orders/UNIV-MAIN/x', {
      token: null,
      headers: { 'x-request-id': 'r-1' },
    });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('x-request-id')).toBe('r-1');
  });
});

describe('GET /orders', () => {
  const placed = [id('L1'), id('L2'), id('L3')];

  beforeAll(async () => {
    for (const orderId of placed) {
      const order = { ...exampleOrder('print-single-fund.json', orderId), account: LISTED };
      expect((await call('POST', '/orders', { body: order })).status).toBe(201);
    }
  });

  /** Every page of a listing, following nextPageToken. */
  async function allPages(query: string): Promise<{ pages: number; orderIds: string[] }> {
    const orderIds: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const r = await call('GET', `/orders?${query}${token ? `&pageToken=${token}` : ''}`);
      expect(r.status).toBe(200);
      pages++;
      orderIds.push(...(r.body.orders as { orderId: string }[]).map((o) => o.orderId));
      token = r.body.nextPageToken as string | undefined;
    } while (token && pages < 20);
    return { pages, orderIds };
  }

  test("lists the account's orders one page at a time", async () => {
    // Visibility is eventually consistent: wait until all three are listed.
    const deadline = Date.now() + 30_000;
    let listed: string[] = [];
    while (Date.now() < deadline) {
      listed = (await allPages(`account=${LISTED}`)).orderIds;
      if (placed.every((p) => listed.includes(p))) break;
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(listed.sort()).toEqual([...placed].sort());
    const paged = await allPages(`account=${LISTED}&limit=1`);
    expect(paged.pages).toBeGreaterThanOrEqual(3);
    expect(paged.orderIds.sort()).toEqual([...placed].sort());
    const first = await call('GET', `/orders?account=${LISTED}&limit=2`);
    const orders = first.body.orders as Record<string, unknown>[];
    expect(orders).toHaveLength(2);
    expect(orders[0]).toMatchObject({ account: LISTED, workflowStatus: 'RUNNING' });
    expect(typeof first.body.nextPageToken).toBe('string');
  });

  test('filters by stage and alert', async () => {
    await sys.orders.waitForStage(LISTED, placed[0]!, 'FOLLOWING_UP', { timeoutMs: 30_000 });
    expect((await call('POST', `/orders/${LISTED}/${placed[0]}/cancel`, { body: {} })).status).toBe(202);
    await sys.orders.waitForStage(LISTED, placed[0]!, 'CANCELLED', { timeoutMs: 30_000 });
    const deadline = Date.now() + 30_000;
    let cancelled: string[] = [];
    while (Date.now() < deadline) {
      cancelled = (await allPages(`account=${LISTED}&stage=CANCELLED`)).orderIds;
      if (cancelled.length) break;
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(cancelled).toEqual([placed[0]]);
    // No order of this account has this alert.
    expect((await allPages(`account=${LISTED}&alert=INVOICE_MISMATCH`)).orderIds).toEqual([]);
  });

  test('refuses what it cannot list, naming each parameter', async () => {
    const missing = await call('GET', '/orders');
    expect(missing.status).toBe(400);
    expect(problems(missing)).toEqual([{ path: 'account', message: 'required' }]);

    const bad = await call('GET', `/orders?account=${LISTED}&stage=SHIPPED&alert=LATE&limit=1000&color=red`);
    expect(bad.status).toBe(400);
    expect(problems(bad)).toEqual(
      expect.arrayContaining([
        { path: 'stage', message: `must be one of ${STAGES.join(', ')}` },
        { path: 'alert', message: `must be one of ${ALERTS.join(', ')}` },
        { path: 'limit', message: 'must be at most 100' },
        { path: 'color', message: 'color is not a known field' },
      ]),
    );

    const unknown = await call('GET', '/orders?account=NOBODY');
    expect(unknown.status).toBe(400);
    expect(problems(unknown)).toEqual([
      { path: 'account', message: expect.stringContaining('account "NOBODY" is not configured') },
    ]);

    // A value that would end the query's string literal is just an account that is not configured.
    const injected = await call(
      'GET',
      `/orders?account=${encodeURIComponent("UNIV-MAIN' OR OasisAccount != '")}`,
    );
    expect(injected.status).toBe(400);
    expect(problems(injected)[0]!.path).toBe('account');

    const forged = await call('GET', `/orders?account=${LISTED}&pageToken=bm90LWEtdG9rZW4.c2lnbmF0dXJl`);
    expect(forged.status).toBe(400);
    expect(problems(forged)).toEqual([
      { path: 'pageToken', message: expect.stringContaining('is not a token this listing gave') },
    ]);
    // A real token, for another filter, is refused too (it would page through another listing).
    const first = await call('GET', `/orders?account=${LISTED}&limit=1`);
    const real = String(first.body.nextPageToken);
    expect(real).toContain('.');
    const other = await call('GET', `/orders?account=${LISTED}&stage=COMPLETED&limit=1&pageToken=${real}`);
    expect(other.status).toBe(400);
    expect(problems(other)[0]!.path).toBe('pageToken');
    const notBase64 = await call('GET', `/orders?account=${LISTED}&pageToken=${encodeURIComponent('a b')}`);
    expect(notBase64.status).toBe(400);

    expect((await call('GET', `/orders?account=${LISTED}`, { token: null })).status).toBe(401);
  });

  test('quotes every value in the visibility query', () => {
    expect(visibilityQuery({ account: "A' OR 'x'='x", stage: 'COMPLETED' })).toBe(
      "WorkflowType = 'orderWorkflow' AND OasisAccount = 'A\\' OR \\'x\\'=\\'x' AND OrderStage = 'COMPLETED'",
    );
    expect(visibilityQuery({ account: 'A\\' })).toBe(
      "WorkflowType = 'orderWorkflow' AND OasisAccount = 'A\\\\'",
    );
  });
});

describe('POST /orders?dryRun=true', () => {
  async function nothingCreated(account: string, orderId: string) {
    expect((await call('GET', `/orders/${account}/${orderId}`)).status).toBe(404);
    const lines = (await sys.sandboxState()).poLines.filter((p) => p.vendor_reference_number === orderId);
    expect(lines).toEqual([]);
  }

  test('a valid order: 200 "valid" with its workflow id, and no workflow, no PO line', async () => {
    const orderId = id('DRY-OK');
    const r = await call('POST', '/orders?dryRun=true', {
      body: exampleOrder('print-single-fund.json', orderId),
    });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      dryRun: true,
      outcome: 'valid',
      workflowId: `order:UNIV-MAIN:${orderId}`,
      problems: [],
    });
    await nothingCreated('UNIV-MAIN', orderId);
    // dryRun=false is a real placing.
    expect(
      (await call('POST', '/orders?dryRun=false', { body: exampleOrder('print-single-fund.json', orderId) }))
        .status,
    ).toBe(201);
  });

  test('an invalid order: 422 with the same problems as placing it, nothing created', async () => {
    const orderId = id('DRY-BAD');
    const order = {
      ...exampleOrder('print-single-fund.json', orderId),
      quantity: 0,
      fundDistribution: [{ fund: 'm123', percent: 90 }],
      location: { library: 'MAIN', shelvingLocation: 'ATTIC' },
      colour: 'red',
    };
    const dry = await call('POST', '/orders?dryRun=true', { body: order });
    const real = await call('POST', '/orders', { body: order });
    expect(dry.status).toBe(422);
    expect(real.status).toBe(422);
    expect(dry.body).toMatchObject({ dryRun: true, outcome: 'refused' });
    expect(problems(dry)).toEqual(problems(real));
    expect(
      problems(dry)
        .map((p) => p.path)
        .sort(),
    ).toEqual(
      [
        'colour',
        'fundDistribution',
        'fundDistribution[0].fund',
        'location.shelvingLocation',
        'quantity',
      ].sort(),
    );
    await nothingCreated('UNIV-MAIN', orderId);
    const notJson = await call('POST', '/orders?dryRun=true', { body: '{"orderId":' });
    expect(notJson.status).toBe(422);
    expect(problems(notJson)).toEqual([
      { path: '(order)', message: expect.stringContaining('not valid JSON') },
    ]);
  });

  test('with alma=true: funds, vendor and account checked in Alma, read only', async () => {
    const fine = await call('POST', '/orders?dryRun=true&alma=true', {
      body: exampleOrder('print-split-funds-rush.json', id('DRY-ALMA')),
    });
    expect(fine.status).toBe(200);
    expect(fine.body).toMatchObject({ outcome: 'valid', alma: { problems: [] } });

    const ghost = {
      ...exampleOrder('print-single-fund.json', id('DRY-GHOST')),
      account: GHOSTLY,
      location: { library: 'MAIN', shelvingLocation: 'STACKS' },
      fundDistribution: [
        { fund: 'GEN01', percent: 50 },
        { fund: 'GHOST', percent: 50 },
      ],
    };
    const g = await call('POST', '/orders?dryRun=true&alma=true', { body: ghost });
    expect(g.status).toBe(422);
    expect(g.body).toMatchObject({ outcome: 'refused', problems: [] });
    expect((g.body.alma as Json).problems).toEqual([
      { path: 'fundDistribution[1].fund', message: 'Alma has no fund GHOST that PO lines can use' },
    ]);
    // Without alma=true the same order is valid: only Alma knows the fund is missing.
    expect((await call('POST', '/orders?dryRun=true', { body: ghost })).status).toBe(200);

    const v = await call('POST', '/orders?dryRun=true&alma=true', {
      body: { ...exampleOrder('print-single-fund.json', id('DRY-VENDOR')), account: NO_VENDOR },
    });
    expect(v.status).toBe(422);
    expect((v.body.alma as Json).problems).toEqual([
      {
        path: 'account',
        message: `Alma has no vendor NO-SUCH-VENDOR (accounts.${NO_VENDOR}.alma.vendorCode)`,
      },
    ]);
    await nothingCreated('UNIV-MAIN', id('DRY-ALMA'));
    await nothingCreated(GHOSTLY, id('DRY-GHOST'));
    await nothingCreated(NO_VENDOR, id('DRY-VENDOR'));
  });

  test('with alma=true: open PO lines with the ISBN are named', async () => {
    const first = id('DRY-FIRST');
    const order = exampleOrder('ebook.json', first);
    expect((await call('POST', '/orders', { body: order })).status).toBe(201);
    const s = await sys.orders.waitForStage('UNIV-MAIN', first, 'FOLLOWING_UP', { timeoutMs: 30_000 });
    expect(s.poLine).toBeTruthy();

    const other = await call('POST', '/orders?dryRun=true&alma=true', {
      body: exampleOrder('ebook.json', id('DRY-SECOND')),
    });
    expect(other.status).toBe(200);
    const alma = other.body.alma as { openPoLines: Json[]; warnings: string[] };
    expect(alma.openPoLines).toEqual(
      expect.arrayContaining([{ number: s.poLine, status: expect.any(String), thisOrder: false }]),
    );
    expect(alma.warnings.join('\n')).toContain(String(s.poLine));
    await nothingCreated('UNIV-MAIN', id('DRY-SECOND'));

    const same = await call('POST', '/orders?dryRun=true&alma=true', { body: order });
    expect((same.body.alma as { openPoLines: Json[] }).openPoLines).toEqual(
      expect.arrayContaining([expect.objectContaining({ number: s.poLine, thisOrder: true })]),
    );
  });

  test('with alma=true when Alma cannot be reached: 502 "incomplete", saying why', async () => {
    // A real Alma client, pointed at a port nothing listens on.
    const unreachable = createAlmaClient({
      gateway: 'http://127.0.0.1:1/almaws/v1',
      apiKey: 'k',
      timeoutMs: 2000,
    });
    const other = await startHttpIntake({
      orders: sys.orders,
      config: sys.config,
      token: TOKEN,
      port: 0,
      logger: sys.logger,
      alma: { forAccount: () => ({ client: unreachable }) },
    });
    try {
      const r = await fetch(`${other.url}/orders?dryRun=true&alma=true`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify(exampleOrder('print-single-fund.json', id('DRY-DOWN'))),
      });
      expect(r.status).toBe(502);
      const body = (await r.json()) as Json;
      expect(body).toMatchObject({ dryRun: true, outcome: 'incomplete', problems: [] });
      expect(String(body.almaError)).toMatch(/^Alma could not be asked: /);
    } finally {
      await other.close();
    }
    await nothingCreated('UNIV-MAIN', id('DRY-DOWN'));
  });

  test('alma=true without dryRun=true, and unknown parameters, are 400 and place nothing', async () => {
    const orderId = id('DRY-Q');
    const a = await call('POST', '/orders?alma=true', {
      body: exampleOrder('print-single-fund.json', orderId),
    });
    expect(a.status).toBe(400);
    expect(problems(a)).toEqual([
      { path: 'alma', message: expect.stringContaining('only with dryRun=true') },
    ]);
    // A misspelt dryRun must not place the order.
    const typo = await call('POST', '/orders?dryrun=true', {
      body: exampleOrder('print-single-fund.json', orderId),
    });
    expect(typo.status).toBe(400);
    expect(problems(typo)).toEqual([{ path: 'dryrun', message: 'dryrun is not a known field' }]);
    const odd = await call('POST', '/orders?dryRun=yes', {
      body: exampleOrder('print-single-fund.json', orderId),
    });
    expect(odd.status).toBe(400);
    expect(problems(odd)).toEqual([{ path: 'dryRun', message: 'must be true or false' }]);
    await nothingCreated('UNIV-MAIN', orderId);
  });
});
