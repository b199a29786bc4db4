/**
 * "Alma as documented" for the gateway, errors, keys, bibs and look-ups: the sandbox answers as Ex Libris
 * documents and as public fixtures of real answers show (docs/alma-sandbox.md names each source), and the
 * project's client reads each answer right. Over real HTTP on ephemeral ports; the key-scope case runs an order
 * through a real Temporal server.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createAlmaClient } from '../src/alma/client';
import { AlmaError, errorFromResponse, MAX_HTML_MESSAGE } from '../src/alma/errors';
import { startAlmaSandbox, type AlmaSandbox, type SandboxSeed } from '../src/sandbox/alma';
import { fixturePath } from './harness/fixtures';
import { exampleOrder, startSystem } from './harness/system';

const KEY = 'sandbox-key-DOC_INST';
const ACQ_ONLY = 'sandbox-key-DOC_ACQ_ONLY';
const ACQ_READ = 'sandbox-key-DOC_ACQ_READ';
const SANDBOX_ENV = 'sandbox-key-DOC_SANDBOX_ENV';
const FIXTURES = fixturePath('alma');

const seed: SandboxSeed = {
  institutions: [
    {
      code: 'DOC_INST',
      apiKey: KEY,
      extraKeys: [
        { apiKey: ACQ_ONLY, areas: { Acquisitions: 'read-write' } },
        { apiKey: ACQ_READ, areas: { Acquisitions: 'read', Bibs: 'read', Configuration: 'read' } },
        { apiKey: SANDBOX_ENV, environment: 'sandbox' },
      ],
      perSecond: 1000,
      daily: 1_000_000,
      vendors: [
        { code: 'PQ-OASIS', name: 'ProQuest OASIS', accounts: ['PQ-OASIS-MAIN'] },
        { code: 'HARRASSOWITZ', name: 'Otto Harrassowitz', accounts: ['HAR-1'] },
        { code: 'GOBI', name: 'GOBI Library Solutions', accounts: ['GOBI-1'] },
      ],
      funds: ['M123', 'GEN01'],
      libraries: { MAIN: ['MATH', 'STACKS'], LAW: ['LAWSTACKS'] },
    },
  ],
};

let sb: AlmaSandbox;

function api(p: string, init: RequestInit & { key?: string } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set('Authorization', `apikey ${init.key ?? KEY}`);
  return fetch(sb.url + p, { ...init, headers });
}
const json = { Accept: 'application/json' };
const jsonOf = async <T>(r: Promise<Response>): Promise<T> => (await (await r).json()) as T;

async function admin(p: string, body: unknown): Promise<void> {
  const res = await fetch(sb.baseUrl + p, { method: 'POST', body: JSON.stringify(body) });
  expect(res.status).toBe(200);
}

async function failure(p: Promise<unknown>): Promise<AlmaError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(AlmaError);
  return e as AlmaError;
}

const unauthorizedXml = () => readFileSync(path.join(FIXTURES, 'unauthorized.xml'), 'utf8');

beforeAll(async () => {
  sb = await startAlmaSandbox({ port: 0, seed, bibDelayMs: 50, asyncDelayMs: 50 });
});
afterAll(() => sb.close());
beforeEach(() => admin('/_sandbox/reset', {}));

describe('Alma as documented: gateway and format', () => {
  it('answers XML without Accept or format, JSON when asked by either, and format= wins over Accept', async () => {
    const plain = await api('/acq/vendors/PQ-OASIS');
    expect(plain.headers.get('content-type')).toMatch(/^application\/xml/);
    expect(await plain.text()).toMatch(/^<\?xml[^>]*\?><vendor><code>PQ-OASIS<\/code>/);
    const byAccept = await api('/acq/vendors/PQ-OASIS', { headers: json });
    expect(((await byAccept.json()) as { code: string }).code).toBe('PQ-OASIS');
    const byParam = await api('/acq/vendors/PQ-OASIS?format=json', {
      headers: { Accept: 'application/xml' },
    });
    expect(byParam.headers.get('content-type')).toMatch(/^application\/json/);
  });

  it("the project's client asks for JSON on every call, whatever the method", async () => {
    const seen: (string | undefined)[] = [];
    const srv = http.createServer((req, res) => {
      seen.push(req.headers.accept);
      req.resume();
      req.on('end', () => {
        res.writeHead(204);
        res.end();
      });
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    try {
      const gateway = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/almaws/v1`;
      const c = createAlmaClient({ gateway, apiKey: KEY });
      await c.test();
      await c.cancelPoLine('POL-1', { reason: 'LIBRARY_CANCELLED' });
      await c.putBib('991', '<bib><record/></bib>').catch(() => undefined);
      expect(seen).toEqual(['application/json', 'application/json', 'application/json']);
    } finally {
      srv.closeAllConnections();
      await new Promise<void>((r) => srv.close(() => r()));
    }
  });
});

describe('Alma as documented: keys', () => {
  it('refuses a key outside its scope with the fixture XML (no tracking id), even to a JSON client', async () => {
    const refused = [
      { key: ACQ_ONLY, path: '/bibs/99100000000106421' },
      { key: ACQ_ONLY, path: '/conf/libraries' },
      { key: SANDBOX_ENV, path: '/acq/test' },
      { key: 'no-such-key', path: '/acq/test' },
    ];
    for (const r of refused) {
      const res = await api(r.path, { key: r.key, headers: json });
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toBe('application/xml;charset=UTF-8');
      expect(await res.text()).toBe(unauthorizedXml());
    }
    expect((await api('/acq/test', { key: ACQ_ONLY })).status).toBe(200);
    expect((await api('/acq/test', { key: ACQ_ONLY, method: 'POST' })).status).toBe(200);
  });

  it('lets a read-only key read and refuses its writes', async () => {
    expect((await api('/acq/test', { key: ACQ_READ })).status).toBe(200);
    expect((await api('/conf/libraries/MAIN', { key: ACQ_READ })).status).toBe(200);
    const post = await api('/acq/test', { key: ACQ_READ, method: 'POST' });
    expect(post.status).toBe(400);
    expect(await post.text()).toBe(unauthorizedXml());
    const put = await api('/bibs/99100000000106421', { key: ACQ_READ, method: 'PUT', body: '<bib/>' });
    expect(put.status).toBe(400);
  });

  it("the project's client reads the XML refusal as unauthorised, not as a broken answer", async () => {
    const c = createAlmaClient({ gateway: sb.url, apiKey: ACQ_ONLY });
    const e = await failure(c.getBib('99100000000106421'));
    expect(e).toMatchObject({ kind: 'unauthorised', code: 'UNAUTHORIZED', status: 400, retryable: false });
    expect(e.trackingId).toBeUndefined();
    expect(e.message).toBe(
      'Alma GET /bibs/99100000000106421: UNAUTHORIZED API-key not defined or not configured to allow this API.',
    );
  });

  it('a key scope set through the admin API holds until a reset', async () => {
    await admin('/_sandbox/keys', { institution: 'DOC_INST', areas: { Acquisitions: 'read-write' } });
    expect((await api('/bibs?mms_id=991')).status).toBe(400);
    const state = await jsonOf<{ keys: Record<string, unknown> }>(fetch(`${sb.baseUrl}/_sandbox/state`));
    expect(state.keys.DOC_INST).toEqual({ environment: 'production', areas: { Acquisitions: 'read-write' } });
    expect(JSON.stringify(state)).not.toContain(KEY);
    await admin('/_sandbox/reset', {});
    expect((await api('/bibs?mms_id=991')).status).toBe(200);
  });
});

describe('Alma as documented: errors', () => {
  it('an unknown bib is 400 402203 "mmsId … is not valid", in the shape of the fixture', async () => {
    const res = await api('/bibs/1234', { headers: { Accept: 'application/xml' } });
    expect(res.status).toBe(400);
    const text = await res.text();
    const tid = /<trackingId>(.*)<\/trackingId>/.exec(text)![1]!;
    const fixture = readFileSync(path.join(FIXTURES, 'bad-request.xml'), 'utf8');
    expect(text.trim()).toBe(fixture.replace('E01-0212223205-P0XW8-AWAE584905282', tid).trim());
    const e = await failure(createAlmaClient({ gateway: sb.url, apiKey: KEY }).getBib('1234'));
    expect(e).toMatchObject({ kind: 'not-found', code: '402203', retryable: false });
  });

  const bodies = ['html', 'empty', 'text', 'alma', 'routing'] as const;
  it.each(bodies)('a 5xx with a %s body is a retryable outage to the client, told briefly', async (kind) => {
    await admin('/_sandbox/faults', { '*': { error5xx: 1, status5xx: 502, body5xx: kind } });
    const e = await failure(createAlmaClient({ gateway: sb.url, apiKey: KEY }).getPoLine('POL-1'));
    expect(e).toMatchObject({ kind: 'server', retryable: true });
    expect(e.status).toBe(kind === 'routing' ? 503 : 502);
    // Each may have been processed: even ROUTING_ERROR, read from broken XML, proves nothing (a POST looks first).
    expect(e.ambiguous).toBe(true);
    if (kind === 'routing') expect(e.code).toBe('ROUTING_ERROR');
    if (kind === 'alma') expect(e.code).toBe('INTERNAL_SERVER_ERROR');
    expect(e.message).not.toMatch(/<|>|font-family|ApiDispatcher/);
    expect(e.message.length).toBeLessThan(700);
  });

  it('HTML pages: the title only, capped, and no key a page echoes', async () => {
    await admin('/_sandbox/faults', { '*': { error5xx: 1, body5xx: 'html' } });
    const res = await fetch(`${sb.url}/acq/test?apikey=${KEY}`, { headers: json });
    const page = await res.text();
    expect(res.headers.get('content-type')).toBe('text/html;charset=utf-8');
    expect(page).toContain(KEY);
    expect(page.length).toBeGreaterThan(3000);
    const e = errorFromResponse('GET', '/acq/test', res.status, page);
    expect(e.message).toBe('Alma GET /acq/test: HTTP 500 HTTP Status 500 – Internal Server Error');
    const untitled = page.replace(/<title>[^<]*<\/title>/, '').replace(/<h1>[^<]*<\/h1>/, '');
    const e2 = errorFromResponse('GET', '/acq/test', 500, untitled);
    expect(e2.message).not.toContain(KEY);
    expect(e2.message.length).toBeLessThanOrEqual(
      'Alma GET /acq/test: HTTP 500 '.length + MAX_HTML_MESSAGE + 1,
    );
    expect(errorFromResponse('GET', '/x', 500, `<p>apikey=l7xx${'0a'.repeat(16)}</p>`).message).not.toMatch(
      /l7xx/,
    );
  });

  it('mixed (the default) picks each kind, and every one reads as an outage', async () => {
    await admin('/_sandbox/faults', { 'test:GET': { error5xx: 1 } });
    const c = createAlmaClient({ gateway: sb.url, apiKey: KEY });
    const seen = new Set<string>();
    for (let i = 0; i < 60 && seen.size < 5; i++) {
      const res = await api('/acq/test', { headers: json });
      const type = res.headers.get('content-type') ?? 'none';
      seen.add(`${res.status} ${type.split(';')[0]}`);
      await res.text();
      expect(await failure(c.test())).toMatchObject({ kind: 'server', retryable: true });
    }
    expect(seen.size).toBeGreaterThanOrEqual(4);
  });
});

describe('Alma as documented: bibs', () => {
  const record = (title: string, f005?: string) =>
    '<bib><record><leader>00000nam a2200000 i 4500</leader>' +
    (f005 ? `<controlfield tag="005">${f005}</controlfield>` : '') +
    `<datafield ind1="1" ind2="0" tag="245"><subfield code="a">${title}</subfield></datafield></record></bib>`;
  const xmlBody = (body: string, method = 'POST') => ({
    method,
    body,
    headers: { 'Content-Type': 'application/xml', ...json },
  });
  type BibJson = { mms_id: string; title: string; anies: string[] };

  it('POST /bibs creates a bib from <bib><record>, DELETE removes it (204), then it is unknown', async () => {
    const res = await api('/bibs', xmlBody(record('Created here')));
    expect(res.status).toBe(200);
    const bib = (await res.json()) as BibJson;
    expect(bib.mms_id).toMatch(/^99\d+06421$/);
    expect(bib.title).toBe('Created here');
    expect(bib.anies[0]).toContain(`<controlfield tag="001">${bib.mms_id}</controlfield>`);
    const del = await api(`/bibs/${bib.mms_id}`, { method: 'DELETE' });
    expect(del.status).toBe(204);
    expect(await del.text()).toBe('');
    expect((await api(`/bibs/${bib.mms_id}`, { headers: json })).status).toBe(400);
  });

  it('DELETE refuses a bib that PO lines order', async () => {
    const line = await jsonOf<{ number: string }>(
      api('/acq/po-lines', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...json },
        body: JSON.stringify({
          owner: { value: 'MAIN' },
          type: { value: 'PRINTED_BOOK_OT' },
          vendor: { value: 'PQ-OASIS' },
          vendor_account: 'PQ-OASIS-MAIN',
          price: { sum: '10.00', currency: { value: 'USD' } },
          fund_distribution: [{ fund_code: { value: 'M123' }, percent: 100 }],
          resource_metadata: { title: 'Ordered', isbn: '9780262033848' },
          location: [{ quantity: 1, library: { value: 'MAIN' }, shelving_location: 'MATH' }],
        }),
      }),
    );
    let mmsId: string | undefined;
    for (let i = 0; i < 50 && !mmsId; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const l = await jsonOf<{ resource_metadata: { mms_id?: { value: string } } }>(
        api(`/acq/po-lines/${line.number}`, { headers: json }),
      );
      mmsId = l.resource_metadata.mms_id?.value;
    }
    expect(mmsId).toBeDefined();
    const del = await api(`/bibs/${mmsId!}`, { method: 'DELETE', headers: json });
    expect(del.status).toBe(400);
    expect(JSON.stringify(await del.json())).toContain(line.number);
    expect((await api(`/bibs/${mmsId!}`, { headers: json })).status).toBe(200);
  });

  it('PUT refuses a record in the MARC namespace and a stale 005 under stale_version_check', async () => {
    const bib = await jsonOf<BibJson>(api('/bibs', xmlBody(record('Before'))));
    const ns = record('Namespaced').replace('<record>', '<record xmlns="http://www.loc.gov/MARC21/slim">');
    const refused = await api(`/bibs/${bib.mms_id}`, xmlBody(ns, 'PUT'));
    expect(refused.status).toBe(400);
    const held = /<controlfield tag="005">([^<]+)<\/controlfield>/.exec(bib.anies[0]!)![1]!;
    const stale = await api(
      `/bibs/${bib.mms_id}?stale_version_check=true`,
      xmlBody(record('Stale', '19990101000000.0'), 'PUT'),
    );
    expect(stale.status).toBe(400);
    const fresh = await api(
      `/bibs/${bib.mms_id}?stale_version_check=true`,
      xmlBody(record('Fresh', held), 'PUT'),
    );
    expect(fresh.status).toBe(200);
    // Without the check (what the project sends) the 005 sent does not matter; Alma stamps its own.
    const plain = await api(`/bibs/${bib.mms_id}`, xmlBody(record('Plain', '19990101000000.0'), 'PUT'));
    expect(((await plain.json()) as BibJson).title).toBe('Plain');
  });

  it('GET /bibs?mms_id= with no hit is an empty list, as pulibrary/bibdata recorded it', async () => {
    expect(await jsonOf(api('/bibs?mms_id=991234', { headers: json }))).toEqual({
      bib: [],
      total_record_count: 0,
    });
  });
});

describe('Alma as documented: lookups', () => {
  type VendorList = { vendor?: { code: string; name: string }[]; total_record_count: number };

  it('GET /acq/vendors lists with q, limit and offset, in JSON and XML', async () => {
    const all = await jsonOf<VendorList>(api('/acq/vendors', { headers: json }));
    expect(all.total_record_count).toBe(3);
    const page = await jsonOf<VendorList>(api('/acq/vendors?limit=1&offset=1', { headers: json }));
    expect(page).toMatchObject({ total_record_count: 3 });
    expect(page.vendor!.map((v) => v.code)).toEqual(['HARRASSOWITZ']);
    const named = await jsonOf<VendorList>(api('/acq/vendors?q=name~library', { headers: json }));
    expect(named.vendor!.map((v) => v.code)).toEqual(['GOBI']);
    const xml = await (await api('/acq/vendors?q=code~PQ')).text();
    expect(xml).toMatch(/<vendors total_record_count="1"><vendor><code>PQ-OASIS<\/code>/);
    expect((await api('/acq/vendors?q=colour~red', { headers: json })).status).toBe(400);
  });

  it('GET /acq/funds/{id}, /conf/libraries/{code} and POST /acq/test', async () => {
    const funds = await jsonOf<{ fund: { id: string; code: string }[] }>(
      api('/acq/funds', { headers: json }),
    );
    const one = await jsonOf<{ code: string; id: string }>(
      api(`/acq/funds/${funds.fund[1]!.id}`, { headers: json }),
    );
    expect(one).toMatchObject({ code: 'GEN01', id: funds.fund[1]!.id });
    expect((await api('/acq/funds/123', { headers: json })).status).toBe(400);
    const lib = await jsonOf<{ code: string; link: string }>(api('/conf/libraries/LAW', { headers: json }));
    expect(lib).toMatchObject({ code: 'LAW', link: `${sb.url}/conf/libraries/LAW` });
    expect(await (await api('/conf/libraries/LAW')).text()).toMatch(/<library><code>LAW<\/code>/);
    expect((await api('/conf/libraries/constructor', { headers: json })).status).toBe(400);
    expect(await jsonOf(api('/acq/test', { method: 'POST', headers: json }))).toEqual({
      result: 'POST is OK',
    });
  });
});

describe('Alma as documented: keys, through an order', () => {
  test('a key with Acquisitions only: the PO line is made, the bib poll is refused, ALMA_UNAUTHORISED', async () => {
    const sys = await startSystem();
    try {
      await sys.sandboxPost('/keys', { institution: '01UNIV_INST', areas: { Acquisitions: 'read-write' } });
      const orderId = `DOC-ACQ-ONLY-${Date.now()}`;
      await sys.orders.placeOrder(exampleOrder('print-single-fund.json', orderId));
      await expect(sys.orders.handle('UNIV-MAIN', orderId).result()).rejects.toThrow();
      const s = await sys.orders.getStatus('UNIV-MAIN', orderId);
      expect(s.stage).toBe('FAILED');
      expect(s.alerts).toContain('ALMA_UNAUTHORISED');
      expect(s.error?.code).toBe('UNAUTHORIZED');
      expect(s.poLine).toBeDefined();
      const state = (await sys.sandboxState()) as unknown as {
        calls: Record<string, Record<string, number>>;
      };
      expect(state.calls['po-lines:POST']?.['200']).toBe(1);
      // Refused once and not retried: a key's scope does not change by asking again.
      expect(state.calls['bib:GET']).toEqual({ '400': 1 });
    } finally {
      await sys.stop();
    }
  });
});
