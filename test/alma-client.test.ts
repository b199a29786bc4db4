/**
 * The Alma client against a real sandbox on an ephemeral port (and, for foreign error bodies, a bare HTTP
 * server): every call, every error kind with Alma's code and tracking id, timeouts, aborts, and the key
 * never appearing in errors or logs.
 */
import { fixturePath } from './harness/fixtures';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import pino from 'pino';
import { createAlmaClient, type AlmaClient, type PoLineInput } from '../src/alma/client';
import {
  AlmaError,
  MAX_ERROR_CODE,
  MAX_ERROR_MESSAGE,
  errorFromResponse,
  parseErrorBody,
} from '../src/alma/errors';
import { startAlmaSandbox, type AlmaSandbox, type SandboxSeed } from '../src/sandbox/alma';

const KEY = 'sandbox-SECRET-key-0123456789abcdef';
const FIXTURES = fixturePath('alma');
const seed: SandboxSeed = {
  institutions: [
    {
      code: 'TEST_INST',
      apiKey: KEY,
      perSecond: 1000,
      daily: 1_000_000,
      vendors: [{ code: 'PQ-OASIS', accounts: ['PQ-OASIS-MAIN'] }],
      funds: ['M123', 'M1234', 'GEN01'],
      libraries: { MAIN: ['MATH', 'STACKS'] },
      profileCodes: ['RTO'],
    },
  ],
};

const order = (over: Partial<PoLineInput> = {}): PoLineInput => ({
  owner: { value: 'MAIN' },
  type: { value: 'PRINTED_BOOK_OT' },
  vendor: { value: 'PQ-OASIS' },
  vendor_account: 'PQ-OASIS-MAIN',
  price: { sum: '59.99', currency: { value: 'USD' } },
  fund_distribution: [{ fund_code: { value: 'M123' }, percent: 100 }],
  vendor_reference_number: 'OAS-C-1',
  resource_metadata: { title: 'Client test book', isbn: '9781492052203' },
  ...over,
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let sb: AlmaSandbox;
let logs = '';
const logger = pino(
  { level: 'debug' },
  new Writable({
    write(chunk, _e, cb) {
      logs += String(chunk);
      cb();
    },
  }),
);
const remaining: number[] = [];
let alma: AlmaClient;
const errors: unknown[] = [];

async function admin(p: string, body: unknown): Promise<void> {
  const res = await fetch(sb.baseUrl + p, { method: 'POST', body: JSON.stringify(body) });
  expect(res.status).toBe(200);
}
async function sandboxState(): Promise<{
  calls: Record<string, Record<string, number>>;
  poLines: { number: string }[];
}> {
  return (await fetch(`${sb.baseUrl}/_sandbox/state`)).json() as never;
}

/** Runs a call that must fail and keeps the error for the secrecy test. */
async function failure(p: Promise<unknown>): Promise<AlmaError> {
  const e = await p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (err: unknown) => err,
  );
  errors.push(e);
  expect(e).toBeInstanceOf(AlmaError);
  return e as AlmaError;
}

/** A bare HTTP server answering every request with one status, content type and body. */
async function foreignServer(status: number, contentType: string, body: string) {
  const server = http.createServer((_req, res) => {
    res.writeHead(status, { 'Content-Type': contentType });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    gateway: `http://127.0.0.1:${port}/almaws/v1`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

beforeAll(async () => {
  sb = await startAlmaSandbox({ port: 0, seed, bibDelayMs: 200, asyncDelayMs: 100, indexLagMs: 0, logger });
  alma = createAlmaClient({
    gateway: sb.url,
    apiKey: KEY,
    timeoutMs: 5000,
    logger,
    onRemaining: (n) => remaining.push(n),
  });
});
afterAll(() => sb.close());
beforeEach(async () => {
  await admin('/_sandbox/reset', {});
  await admin('/_sandbox/limits', {
    institution: 'TEST_INST',
    perSecond: 1000,
    daily: 1_000_000,
    bibDelayMs: 200,
  });
});

describe('calls', () => {
  it('creates, reads, searches, lists and cancels PO lines', async () => {
    const created = await alma.createPoLine(order(), { profileCode: 'RTO' });
    expect(created.number).toMatch(/^POL-\d+$/);
    // Alma processes the line after answering: no status yet.
    expect(created.status).toBeUndefined();
    expect(created.vendor_reference_number).toBe('OAS-C-1');
    expect(created.resource_metadata?.mms_id).toBeUndefined();

    await sleep(250);
    const read = await alma.getPoLine(created.number);
    expect(read.status?.value).toBe('ACTIVE');
    expect(read.resource_metadata?.mms_id?.value).toMatch(/^99\d+$/);
    // Unknown fields pass through (lenient parsing).
    expect((read as Record<string, unknown>).po_number).toBeDefined();

    const posted = await alma.createPoLine(order({ price: undefined, vendor_reference_number: 'OAS-C-2' }));
    await sleep(150);
    const review = await alma.getPoLine(posted.number);
    expect(review.status?.value).toBe('IN_REVIEW');
    expect(review.alert?.[0]?.desc).toContain('price');

    const found = await alma.searchPoLines('issn_isbn~9781492052203', { status: 'ALL', limit: 1 });
    expect(found.total).toBe(2);
    expect(found.poLines).toHaveLength(1);
    const none = await alma.searchPoLines('title~no-such-title');
    expect(none).toEqual({ poLines: [], total: 0 });

    const byVendor = await alma.listVendorPoLines('PQ-OASIS', { limit: 10 });
    expect(byVendor.poLines.map((p) => p.number).sort()).toEqual([created.number, review.number].sort());

    await alma.cancelPoLine(created.number, {
      reason: 'LIBRARY_CANCELLED',
      comment: 'dup',
      informVendor: false,
    });
    expect((await alma.getPoLine(created.number)).status?.value).toBe('CANCELLED');
    const again = await failure(alma.cancelPoLine(created.number, { reason: 'LIBRARY_CANCELLED' }));
    expect(again).toMatchObject({
      kind: 'invalid-request',
      code: '401884',
      retryable: false,
      ambiguous: false,
    });
  });

  it('reads bibs one by one and many at once (in chunks of 100), and PUTs XML', async () => {
    const bib = await alma.getBib('99100000000106421');
    expect(bib).toMatchObject({
      mmsId: '99100000000106421',
      title: 'Introduction to algorithms /',
      isbn: '9780262033848',
    });
    expect(bib.marcXml).toMatch(/^<\?xml version="1.0" encoding="UTF-16"\?><record>/);

    const ids = ['99100000000106421', '99100000000206421'];
    for (let i = 0; i < 150; i++) ids.push(`99${9_000_000_000 + i}06421`); // unknown: simply not returned
    const bibs = await alma.getBibs(ids);
    expect(bibs.map((b) => b.mmsId)).toEqual(['99100000000106421', '99100000000206421']);
    expect((await sandboxState()).calls['bibs:GET']).toEqual({ '200': 2 });

    const xml = bib.marcXml
      .replace(/^<\?xml[^>]*\?>/, '')
      .replace('Introduction to algorithms /', 'Introduction to algorithms (4th ed.) /')
      .replace(
        '</record>',
        '<datafield ind1=" " ind2=" " tag="980"><subfield code="a">OAS-1</subfield></datafield></record>',
      );
    const put = await alma.putBib(bib.mmsId, `<bib>${xml}</bib>`);
    expect(put.title).toBe('Introduction to algorithms (4th ed.) /');
    expect(put.marcXml).toContain('tag="980"><subfield code="a">OAS-1</subfield>');
    expect((await alma.getBib(bib.mmsId)).title).toBe('Introduction to algorithms (4th ed.) /');
  });

  it('looks up funds, vendors, locations and tests the key; reports X-Exl-Api-Remaining', async () => {
    // Alma's fund search is "contains": the caller compares codes exactly.
    expect((await alma.listFunds('fund_code~M123')).map((f) => f.code)).toEqual(['M123', 'M1234']);
    expect((await alma.listFunds()).map((f) => f.code)).toEqual(['M123', 'M1234', 'GEN01']);
    const vendor = await alma.getVendor('PQ-OASIS');
    expect(vendor.account?.map((a) => a.code)).toEqual(['PQ-OASIS-MAIN']);
    expect((await alma.listLocations('MAIN')).map((l) => l.code)).toEqual(['MATH', 'STACKS']);
    remaining.length = 0;
    await alma.test();
    await alma.test();
    expect(remaining).toHaveLength(2);
    expect(remaining[1]).toBe(remaining[0]! - 1);
  });
});

describe('errors', () => {
  it('maps Alma 400s to invalid-request with code and tracking id in the message', async () => {
    const e = await failure(alma.createPoLine(order({ owner: undefined as never })));
    expect(e).toMatchObject({
      kind: 'invalid-request',
      status: 400,
      code: '401664',
      retryable: false,
      ambiguous: false,
    });
    expect(e.trackingId).toMatch(/^E01-/);
    expect(e.message).toBe(
      `Alma POST /acq/po-lines: 401664 Mandatory field is missing: owner (tracking id ${e.trackingId})`,
    );
  });

  it("maps 401871 and 402203 (Alma's codes) to not-found, a sandbox-only code to a refusal", async () => {
    expect(await failure(alma.getPoLine('POL-1'))).toMatchObject({ kind: 'not-found', code: '401871' });
    expect(await failure(alma.getBib('99999999999906421'))).toMatchObject({
      kind: 'not-found',
      code: '402203',
    });
    // No code for an unknown vendor is documented or seen: whatever the sandbox answers is a refusal.
    expect(await failure(alma.getVendor('NOPE'))).toMatchObject({
      kind: 'invalid-request',
      retryable: false,
    });
  });

  it('maps a wrong key to unauthorised', async () => {
    const bad = createAlmaClient({ gateway: sb.url, apiKey: 'sandbox-wrong-key', logger });
    const e = await failure(bad.test());
    expect(e).toMatchObject({ kind: 'unauthorised', code: 'UNAUTHORIZED', retryable: false });
    expect(e.message).toContain('API-key not defined');
  });

  it('maps 429s to rate-limited (retryable) and daily-budget (not retryable)', async () => {
    await admin('/_sandbox/limits', { institution: 'TEST_INST', perSecond: 1 });
    const results = await Promise.allSettled([alma.test(), alma.test(), alma.test()]);
    const refused = results
      .filter((r): r is PromiseRejectedResult => r.status === 'rejected')
      .map((r) => r.reason);
    expect(refused).toHaveLength(2);
    errors.push(...refused);
    expect(refused[0]).toMatchObject({
      kind: 'rate-limited',
      status: 429,
      code: 'PER_SECOND_THRESHOLD',
      retryable: true,
      ambiguous: false,
    });

    await admin('/_sandbox/limits', { institution: 'TEST_INST', perSecond: 1000, daily: 0 });
    const daily = await failure(alma.test());
    expect(daily).toMatchObject({ kind: 'daily-budget', code: 'DAILY_THRESHOLD', retryable: false });
  });

  it('maps 5xx to server (retryable, ambiguous), with Alma JSON or plain-text bodies', async () => {
    await admin('/_sandbox/faults', { 'po-lines:POST': { error5xx: 1, body5xx: 'alma' } });
    const e500 = await failure(alma.createPoLine(order()));
    expect(e500).toMatchObject({
      kind: 'server',
      status: 500,
      code: 'INTERNAL_SERVER_ERROR',
      retryable: true,
      ambiguous: true,
    });
    await admin('/_sandbox/faults', { '*': { error5xx: 1, status5xx: 503, body5xx: 'text' } });
    const e503 = await failure(alma.getPoLine('POL-1'));
    expect(e503).toMatchObject({ kind: 'server', status: 503, code: undefined, trackingId: undefined });
    expect(e503.message).toBe('Alma GET /acq/po-lines/POL-1: HTTP 503 Service Unavailable');
  });

  it('reads XML error bodies (a single <error>) and plain-text ones from a foreign server', async () => {
    const xml = readFileSync(path.join(FIXTURES, 'bad-request.xml'), 'utf8');
    const s1 = await foreignServer(400, 'application/xml', xml);
    try {
      const c = createAlmaClient({ gateway: s1.gateway, apiKey: KEY, logger });
      const e = await failure(c.getBib('1234'));
      expect(e).toMatchObject({
        kind: 'not-found',
        code: '402203',
        trackingId: 'E01-0212223205-P0XW8-AWAE584905282',
      });
      expect(e.message).toBe(
        'Alma GET /bibs/1234: 402203 Input parameters mmsId 1234 is not valid. (tracking id E01-0212223205-P0XW8-AWAE584905282)',
      );
    } finally {
      await s1.close();
    }
    const s2 = await foreignServer(401, 'text/html', '<html><body><h1>401 Unauthorized</h1></body></html>');
    try {
      const e = await failure(createAlmaClient({ gateway: s2.gateway, apiKey: KEY }).test());
      expect(e).toMatchObject({ kind: 'unauthorised', status: 401 });
      expect(e.message).toContain('401 Unauthorized');
    } finally {
      await s2.close();
    }
    expect(
      parseErrorBody(
        JSON.stringify({
          errorsExist: true,
          errorList: { error: { errorCode: 'X1', errorMessage: 'm', trackingId: 't' } },
        }),
      ),
    ).toEqual({
      code: 'X1',
      message: 'm',
      trackingId: 't',
    });
    expect(parseErrorBody('Bad Gateway')).toEqual({ message: 'Bad Gateway' });
  });

  it('clips every field of an error body, JSON and XML alike', () => {
    const long = 'x'.repeat(5000);
    const longCode = 'C'.repeat(5000);
    const json = parseErrorBody(
      JSON.stringify({
        errorsExist: true,
        errorList: { error: [{ errorCode: longCode, errorMessage: long, trackingId: long }] },
      }),
    );
    const xml = parseErrorBody(
      `<web_service_result><errorList><error><errorCode>${longCode}</errorCode><errorMessage>${long}</errorMessage>` +
        `<trackingId>${long}</trackingId></error></errorList></web_service_result>`,
    );
    for (const p of [json, xml]) {
      expect(p.message!.length).toBeLessThanOrEqual(MAX_ERROR_MESSAGE + 1);
      expect(p.message!.startsWith('xxx')).toBe(true);
      expect(p.code!.length).toBeLessThanOrEqual(MAX_ERROR_CODE + 1);
      expect(p.trackingId!.length).toBeLessThanOrEqual(MAX_ERROR_CODE + 1);
    }
    const e = errorFromResponse(
      'POST',
      '/acq/po-lines',
      400,
      JSON.stringify({
        errorList: { error: { errorCode: '401', errorMessage: `bad ${long}`, trackingId: 'T1' } },
      }),
    );
    expect(e.message.length).toBeLessThan(MAX_ERROR_MESSAGE + 100);
    expect(e.message).toContain('(tracking id T1)');
    // Short fields stay as they are.
    expect(
      parseErrorBody('<error><errorCode>E1</errorCode><errorMessage>No such line</errorMessage></error>'),
    ).toEqual({
      code: 'E1',
      message: 'No such line',
    });
  });

  it('maps a refused connection to network, retryable and not ambiguous', async () => {
    const s = await foreignServer(200, 'text/plain', '');
    const gateway = s.gateway;
    await s.close();
    const e = await failure(createAlmaClient({ gateway, apiKey: KEY }).test());
    expect(e).toMatchObject({ kind: 'network', retryable: true, ambiguous: false });
    expect(e.message).toContain('ECONNREFUSED');
  });

  it('maps a timeout after sending to network and ambiguous', async () => {
    await admin('/_sandbox/faults', { 'po-line:GET': { hang: 1 } });
    const quick = createAlmaClient({ gateway: sb.url, apiKey: KEY, timeoutMs: 300, logger });
    const t0 = Date.now();
    const e = await failure(quick.getPoLine('POL-1'));
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(e).toMatchObject({ kind: 'network', retryable: true, ambiguous: true });
    expect(e.message).toMatch(/Timeout|ETIMEDOUT/);
  });

  it('aborts a call in flight when the signal fires', async () => {
    await admin('/_sandbox/faults', { 'test:GET': { hang: 1 } });
    const ac = new AbortController();
    const c = createAlmaClient({ gateway: sb.url, apiKey: KEY, signal: ac.signal, logger });
    setTimeout(() => ac.abort(), 100);
    const e = await failure(c.test());
    expect(e).toMatchObject({ kind: 'network', retryable: false, ambiguous: true });
    expect(e.message).toContain('aborted');
    const after = await failure(c.test());
    expect(after).toMatchObject({ kind: 'network', ambiguous: false });
  });

  it('sees a dropped connection after commit as ambiguous although the PO line exists', async () => {
    await admin('/_sandbox/faults', { 'po-lines:POST': { dropAfterCommit: 1 } });
    const e = await failure(alma.createPoLine(order()));
    expect(e).toMatchObject({ kind: 'network', ambiguous: true, retryable: true });
    expect((await sandboxState()).poLines).toHaveLength(1);
  });
});

describe('secrecy', () => {
  it('never puts the API key in an error (message, stack, JSON, inspection) or a log line', () => {
    expect(errors.length).toBeGreaterThanOrEqual(15);
    for (const e of errors) {
      const err = e as AlmaError;
      expect(err.cause).toBeUndefined();
      for (const text of [
        err.message,
        err.stack ?? '',
        JSON.stringify(err),
        inspect(err, { depth: 10 }),
        String(err),
      ]) {
        expect(text).not.toContain(KEY);
        expect(text).not.toContain('SECRET');
      }
    }
    expect(logs.length).toBeGreaterThan(0);
    expect(logs).toContain('alma call');
    expect(logs).not.toContain('SECRET');
  });
});
