/**
 * The HTTP intake over real loopback HTTP, placing orders on the run's Temporal server with the project's
 * workers and the Alma sandbox behind them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { startHttpIntake } from '../src/client/http';
import { exampleOrder, startSystem, type TestSystem } from './harness/system';
import { INVALID_EXAMPLES } from './harness/fixtures';

jest.setTimeout(60_000);

const TOKEN = 'intake-test-token-3f9a';
let sys: TestSystem;
let intake: { url: string; close(): Promise<void> };
const run = Date.now().toString(36);
const id = (name: string) => `H-${run}-${name}`;

beforeAll(async () => {
  sys = await startSystem();
  intake = await startHttpIntake({
    orders: sys.orders,
    config: sys.config,
    token: TOKEN,
    port: 0,
    logger: sys.logger,
  });
});

afterAll(async () => {
  await intake?.close();
  await sys?.stop();
});

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

async function call(
  method: string,
  pathname: string,
  opts: { body?: string | Buffer; token?: string | null } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (opts.token !== null) headers.authorization = `Bearer ${opts.token ?? TOKEN}`;
  const r = await fetch(intake.url + pathname, { method, headers, body: opts.body });
  const text = await r.text();
  return {
    status: r.status,
    headers: r.headers,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}

const post = (pathname: string, value: unknown, token?: string | null) =>
  call('POST', pathname, { body: typeof value === 'string' ? value : JSON.stringify(value), token });

async function waitForStage(account: string, orderId: string, stage: string): Promise<Answer> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = await call('GET', `/orders/${account}/${orderId}`);
    if (r.body.stage === stage || Date.now() > deadline) return r;
    await new Promise((res) => setTimeout(res, 200));
  }
}

describe('authentication', () => {
  test('GET /healthz answers without a token', async () => {
    const r = await call('GET', '/healthz', { token: null });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ ok: true });
  });

  test('POST /orders without a token, or with a wrong one, is 401 and starts nothing', async () => {
    const orderId = id('NOAUTH');
    const order = exampleOrder('print-single-fund.json', orderId);
    const none = await post('/orders', order, null);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    const wrong = await post('/orders', order, TOKEN.slice(0, -1) + 'x');
    expect(wrong.status).toBe(401);
    const shorter = await post('/orders', order, 'short');
    expect(shorter.status).toBe(401);
    // Nothing started: the order is unknown.
    expect((await call('GET', `/orders/UNIV-MAIN/${orderId}`)).status).toBe(404);
  });

  test('reading and cancelling need the token too', async () => {
    expect((await call('GET', '/orders/UNIV-MAIN/whatever', { token: null })).status).toBe(401);
    expect((await call('POST', '/orders/UNIV-MAIN/whatever/cancel', { token: null })).status).toBe(401);
  });
});

describe('placing, reading and cancelling an order', () => {
  const orderId = id('LIFE');

  test('a valid order is 201 with its workflow id; the same order again is 200 with the existing state', async () => {
    const order = exampleOrder('print-single-fund.json', orderId);
    const first = await post('/orders', order);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      outcome: 'started',
      workflowId: `order:UNIV-MAIN:${orderId}`,
      account: 'UNIV-MAIN',
      orderId,
    });
    expect(first.headers.get('content-type')).toMatch(/^application\/json/);

    const again = await post('/orders', order);
    expect(again.status).toBe(200);
    expect(again.body.outcome).toBe('existing');
    expect(again.body.workflowId).toBe(`order:UNIV-MAIN:${orderId}`);
    expect(typeof again.body.stage).toBe('string');
    expect(Array.isArray(again.body.alerts)).toBe(true);
    // The same content: said so, with nothing to warn about.
    expect(again.body.sameContent).toBe(true);
    expect(again.body).not.toHaveProperty('differences');
    expect(again.body).not.toHaveProperty('warning');
  });

  test('GET /orders/<account>/<orderId> gives the order stage, reaching FOLLOWING_UP with a PO line', async () => {
    const r = await waitForStage('UNIV-MAIN', orderId, 'FOLLOWING_UP');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      workflowId: `order:UNIV-MAIN:${orderId}`,
      stage: 'FOLLOWING_UP',
      workflowStatus: 'RUNNING',
    });
    expect(r.body.poLine).toMatch(/^POL-/);
    // Exactly one PO line in Alma although the order was posted twice.
    const lines = (await sys.sandboxState()).poLines.filter((p) => p.vendor_reference_number === orderId);
    expect(lines).toHaveLength(1);
  });

  test('an unknown order is 404', async () => {
    const r = await call('GET', `/orders/UNIV-MAIN/${id('NOBODY')}`);
    expect(r.status).toBe(404);
    expect(String(r.body.error)).toContain(id('NOBODY'));
    expect((await post(`/orders/UNIV-MAIN/${id('NOBODY')}/cancel`, { reason: 'X' })).status).toBe(404);
  });

  test('POST .../cancel is 202 at once, and the order then ends CANCELLED (its PO line too)', async () => {
    const r = await post(`/orders/UNIV-MAIN/${orderId}/cancel`, {
      reason: 'LIBRARY_CANCELLED',
      comment: 'gift copy arrived',
    });
    expect(r.status).toBe(202);
    expect(r.body.cancellation).toBe('requested');
    const ended = await waitForStage('UNIV-MAIN', orderId, 'CANCELLED');
    expect(ended.body.stage).toBe('CANCELLED');
    const line = (await sys.sandboxState()).poLines.find((p) => p.vendor_reference_number === orderId);
    expect(line?.status?.value).toBe('CANCELLED');
    // Cancelling an order that has ended changes nothing.
    const again = await post(`/orders/UNIV-MAIN/${orderId}/cancel`, {});
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({ stage: 'CANCELLED', cancellation: 'order already ended' });
  });

  test('a cancel body that is not JSON is 400', async () => {
    expect((await post(`/orders/UNIV-MAIN/${orderId}/cancel`, '{nope')).status).toBe(400);
  });
});

describe('the same order id again', () => {
  const orderId = id('AGAIN');
  const original = () => exampleOrder('print-single-fund.json', orderId);

  beforeAll(async () => {
    expect((await post('/orders', original())).status).toBe(201);
  });

  test('the same content written differently (ISBN-10, key order, defaults spelt out) is the same order', async () => {
    const o = original() as Record<string, Record<string, unknown>>;
    const rewritten = {
      orderType: 'firm',
      ...o,
      item: { format: 'print', ...o.item, isbn: '3-16-148410-X' },
    };
    const r = await post('/orders', rewritten);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ outcome: 'existing', sameContent: true });
    expect(r.body).not.toHaveProperty('differences');
  });

  test('different content is 200 "existing", saying it differs and where (paths, not values)', async () => {
    const o = original() as Record<string, Record<string, unknown>>;
    const changed = {
      ...o,
      item: { ...o.item, title: 'Linear Algebra Done Wrong' },
      quantity: 3,
      fundDistribution: [
        { fund: 'M123', percent: 50 },
        { fund: 'M567', percent: 50 },
      ],
      notes: { receiving: 'Hold for Prof. Ng' },
    };
    const r = await post('/orders', changed);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      outcome: 'existing',
      workflowId: `order:UNIV-MAIN:${orderId}`,
      sameContent: false,
    });
    expect(r.body.differences).toEqual([
      'fundDistribution[0].percent',
      'fundDistribution[1]',
      'item.title',
      'notes.internal',
      'notes.vendor',
      'quantity',
    ]);
    expect(String(r.body.warning)).toContain('not changed');
    // No values in the answer: only where the content differs.
    expect(JSON.stringify(r.body)).not.toContain('Done Wrong');
  });
});

describe('a cancel request with fields it does not know', () => {
  const orderId = id('CANCEL-KEYS');
  const workflowId = `order:UNIV-MAIN:${orderId}`;

  test('is 422 naming every unknown field, and cancels nothing', async () => {
    expect((await post('/orders', exampleOrder('print-single-fund.json', orderId))).status).toBe(201);
    const r = await post(`/orders/UNIV-MAIN/${orderId}/cancel`, {
      reason: 'LIBRARY_CANCELLED',
      resaon: 'LIBRARY_CANCELLED',
      by: 'someone',
    });
    expect(r.status).toBe(422);
    expect(r.body).toEqual({
      outcome: 'refused',
      problems: [
        { path: 'resaon', message: 'resaon is not a known field (known: reason, comment)' },
        { path: 'by', message: 'by is not a known field (known: reason, comment)' },
      ],
    });
    // Wrong types and unknown fields together: every problem at once.
    const both = await post(`/orders/UNIV-MAIN/${orderId}/cancel`, { reason: null, extra: 1 });
    expect(both.status).toBe(422);
    expect(both.body.problems).toEqual([
      { path: 'extra', message: 'extra is not a known field (known: reason, comment)' },
      { path: 'reason', message: 'must be a string' },
    ]);
    // Nothing was signalled: the order goes on.
    const running = await waitForStage('UNIV-MAIN', orderId, 'FOLLOWING_UP');
    expect(running.body).toMatchObject({ stage: 'FOLLOWING_UP', workflowStatus: 'RUNNING' });
    const history = await sys.client.workflow.getHandle(workflowId).fetchHistory();
    const signals = (history.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes);
    expect(signals).toEqual([]);
    // A reason code the account does not know is refused, naming the known ones (as rto does).
    const bogus = await post(`/orders/UNIV-MAIN/${orderId}/cancel`, { reason: 'BOGUS' });
    expect(bogus.status).toBe(422);
    expect(bogus.body.problems).toEqual([
      {
        path: 'reason',
        message: expect.stringMatching(/^BOGUS is not a known reason code \(known: LIBRARY_CANCELLED\)$/),
      },
    ]);
    // A correct request still cancels it.
    expect((await post(`/orders/UNIV-MAIN/${orderId}/cancel`, { reason: 'LIBRARY_CANCELLED' })).status).toBe(
      202,
    );
    expect((await waitForStage('UNIV-MAIN', orderId, 'CANCELLED')).body.stage).toBe('CANCELLED');
  });

  test('an unknown field is refused before the order is looked up', async () => {
    const r = await post(`/orders/UNIV-MAIN/${id('NOBODY')}/cancel`, { comment: 'x', constructor: 1 });
    expect(r.status).toBe(422);
    expect(r.body.problems).toEqual([
      { path: 'constructor', message: 'constructor is not a known field (known: reason, comment)' },
    ]);
  });
});

describe('malformed paths and cancel bodies', () => {
  const cancel = (value: unknown) => post(`/orders/UNIV-MAIN/${id('NOBODY')}/cancel`, value);

  test('a path segment that is not valid percent-encoding is 400 naming it', async () => {
    const r = await call('GET', '/orders/%E0%A4%A/x');
    expect(r.status).toBe(400);
    expect(String(r.body.error)).toContain('"%E0%A4%A"');
    const c = await post('/orders/UNIV-MAIN/%FF/cancel', {});
    expect(c.status).toBe(400);
    expect(String(c.body.error)).toContain('"%FF"');
    // Valid encoding is still decoded: the order id comes back as sent.
    const ok = await call('GET', `/orders/UNIV-MAIN/${encodeURIComponent(id('NOBODY'))}`);
    expect(ok.status).toBe(404);
  });

  test.each(['null', '[]', '5', '"LIBRARY_CANCELLED"', 'true'])(
    'a cancel body of %s is 400: it must be a JSON object',
    async (body) => {
      const r = await cancel(body);
      expect(r.status).toBe(400);
      expect(r.body).toEqual({ error: 'the body must be a JSON object' });
    },
  );

  test('a reason or comment that is not a string is 422 naming both, not silently dropped', async () => {
    const r = await cancel({ reason: 5, comment: {} });
    expect(r.status).toBe(422);
    expect(r.body).toEqual({
      outcome: 'refused',
      problems: [
        { path: 'reason', message: 'must be a string' },
        { path: 'comment', message: 'must be a string' },
      ],
    });
  });

  test('a reason must be a short code; a comment at most 1,000 characters without control characters', async () => {
    const problems = async (value: unknown) => {
      const r = await cancel(value);
      expect(r.status).toBe(422);
      return r.body.problems as { path: string; message: string }[];
    };
    expect(await problems({ reason: 'R'.repeat(65) })).toEqual([
      { path: 'reason', message: 'at most 64 characters' },
    ]);
    expect(await problems({ reason: 'gift copy' })).toEqual([
      { path: 'reason', message: expect.stringContaining('may contain only') },
    ]);
    expect(await problems({ reason: 'X\nBcc' })).toEqual([
      { path: 'reason', message: expect.stringContaining('may contain only') },
    ]);
    expect(await problems({ comment: 'c'.repeat(1001) })).toEqual([
      { path: 'comment', message: 'at most 1000 characters' },
    ]);
    expect(await problems({ comment: 'gift \u202Eypoc' })).toEqual([
      { path: 'comment', message: 'contains a control character (only line breaks are allowed)' },
    ]);
    // At the limits the request is taken: this order does not exist, so 404.
    const fine = await cancel({ reason: `${'R'.repeat(60)}_.-9`, comment: `${'c'.repeat(998)}\r\n` });
    expect(fine.status).toBe(404);
    expect((await cancel('')).status).toBe(404);
  });
});

describe("codes named like JavaScript's own object members are refused, not a server error", () => {
  const NAMES = ['constructor', '__proto__', 'toString'];
  const problems = (r: Answer) => r.body.problems as { path: string; message: string }[];

  test.each(NAMES)('account %s is 422 naming the account, and starts nothing', async (name) => {
    const order = { ...exampleOrder('print-single-fund.json', id('PROTO-A')), account: name };
    const r = await post('/orders', order);
    expect(r.status).toBe(422);
    expect(r.body.outcome).toBe('refused');
    expect(problems(r)).toEqual([
      { path: 'account', message: expect.stringContaining(`account "${name}" is not configured`) },
    ]);
    expect((await call('GET', `/orders/${encodeURIComponent(name)}/${id('PROTO-A')}`)).status).toBe(404);
  });

  test.each(NAMES)('library %s is 422 naming location.library', async (name) => {
    const order = exampleOrder('print-single-fund.json', id('PROTO-L'));
    const r = await post('/orders', { ...order, location: { library: name, shelvingLocation: 'MATH' } });
    expect(r.status).toBe(422);
    expect(problems(r)).toEqual([
      {
        path: 'location.library',
        message: `library ${name} is not known to account UNIV-MAIN (known: MAIN)`,
      },
    ]);
  });

  test.each(NAMES)('shelving location %s is 422 naming location.shelvingLocation', async (name) => {
    const order = exampleOrder('print-single-fund.json', id('PROTO-S'));
    const r = await post('/orders', { ...order, location: { library: 'MAIN', shelvingLocation: name } });
    expect(r.status).toBe(422);
    expect(problems(r)).toEqual([
      { path: 'location.shelvingLocation', message: expect.stringContaining(`shelving location ${name}`) },
    ]);
  });

  test.each(NAMES)('fund %s is 422 naming the fund', async (name) => {
    const order = exampleOrder('print-single-fund.json', id('PROTO-F'));
    const r = await post('/orders', { ...order, fundDistribution: [{ fund: name, percent: 100 }] });
    expect(r.status).toBe(422);
    expect(problems(r)).toEqual([
      { path: 'fundDistribution[0].fund', message: `"${name}" is not a fund of account UNIV-MAIN` },
    ]);
  });

  test.each(NAMES)('reading or cancelling an order of account %s is 404', async (name) => {
    const at = `/orders/${encodeURIComponent(name)}/${id('PROTO-R')}`;
    expect((await call('GET', at)).status).toBe(404);
    expect((await post(`${at}/cancel`, {})).status).toBe(404);
  });
});

describe('refusals', () => {
  const invalidDir = INVALID_EXAMPLES;
  const invalid = readdirSync(invalidDir).filter((f) => f.endsWith('.json'));

  test('the contract has invalid examples to try', () => {
    expect(invalid.length).toBeGreaterThanOrEqual(5);
  });

  test.each(invalid)('%s is 422 with every problem, each with a path and a message', async (file) => {
    const r = await post('/orders', readFileSync(`${invalidDir}/${file}`, 'utf8'));
    expect(r.status).toBe(422);
    expect(r.body.outcome).toBe('refused');
    const problems = r.body.problems as { path: unknown; message: unknown }[];
    expect(problems.length).toBeGreaterThan(0);
    for (const p of problems) {
      expect(typeof p.path).toBe('string');
      expect(typeof p.message).toBe('string');
      expect(p.message).not.toBe('');
    }
  });

  test('the problems are the ones the contract names', async () => {
    const problems = async (file: string) =>
      (
        (await post('/orders', readFileSync(`${invalidDir}/${file}`, 'utf8'))).body.problems as {
          path: string;
        }[]
      ).map((p) => p.path);
    expect(await problems('isbn-checksum.json')).toContain('item.isbn');
    expect(await problems('misspelt-field.json')).toEqual(
      expect.arrayContaining(['fundDistrbution', 'fundDistribution']),
    );
    expect(await problems('print-without-location.json')).toContain('location');
  });

  test('a body that is not JSON is 422 naming the problem', async () => {
    const r = await post('/orders', '{"orderId": "x",');
    expect(r.status).toBe(422);
    expect(r.body.problems).toEqual([
      { path: '(order)', message: expect.stringContaining('not valid JSON') },
    ]);
  });

  test('a body over 64 KiB is 413, and the intake keeps serving', async () => {
    const order = exampleOrder('print-single-fund.json', id('BIG'));
    const big = JSON.stringify({ ...order, notes: { internal: 'x'.repeat(70 * 1024) } });
    const r = await post('/orders', big);
    expect(r.status).toBe(413);
    expect(String(r.body.error)).toContain(String(64 * 1024));
    expect((await call('GET', '/healthz')).status).toBe(200);
    expect((await call('GET', `/orders/UNIV-MAIN/${id('BIG')}`)).status).toBe(404);
  });

  test('a chunked body (no content-length) is cut off at 64 KiB too', async () => {
    const chunks = Array.from({ length: 80 }, () => new TextEncoder().encode('y'.repeat(1024)));
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.shift();
        if (next) controller.enqueue(next);
        else controller.close();
      },
    });
    const init = { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body, duplex: 'half' };
    const r = await fetch(`${intake.url}/orders`, init as RequestInit);
    expect(r.status).toBe(413);
    expect(((await r.json()) as { error: string }).error).toContain('over 65536 bytes');
  });

  test('an oversized body is refused unread: the connection closes instead of draining it', async () => {
    const declared = 256 * 1024 * 1024;
    const { hostname, port } = new URL(intake.url);
    const sock = net.connect(Number(port), hostname);
    await new Promise((r) => sock.once('connect', r));
    let answer = '';
    let closed = false;
    sock.on('data', (d) => (answer += d.toString()));
    sock.on('close', () => (closed = true));
    sock.on('error', () => undefined); // EPIPE/ECONNRESET once the server has closed
    sock.write(
      `POST /orders HTTP/1.1\r\nHost: intake\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: ${declared}\r\n\r\n`,
    );
    const chunk = Buffer.alloc(1024 * 1024, 0x78);
    let sent = 0;
    const started = Date.now();
    while (!closed && sent < declared && Date.now() - started < 20_000) {
      sent += chunk.length;
      if (!sock.write(chunk))
        await Promise.race([
          new Promise((r) => sock.once('drain', r)),
          new Promise((r) => setTimeout(r, 200)),
        ]);
    }
    for (let i = 0; i < 50 && !closed; i++) await new Promise((r) => setTimeout(r, 20));
    sock.destroy();
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 413 Payload Too Large');
    expect(closed).toBe(true);
    expect(sent).toBeLessThan(declared / 4);
  });

  test('an unknown route is 404', async () => {
    expect((await call('GET', '/nothing-here')).status).toBe(404);
    expect((await call('DELETE', '/orders')).status).toBe(404);
  });
});
