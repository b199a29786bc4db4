/**
 * The Alma sandbox over real HTTP on an ephemeral port: Alma's key check and error shapes, formats, PO line
 * creation with the asynchronous bib link, In Review, search, cancel, bib PUT, thresholds, faults, and
 * persistence across a restart.
 */
import { fixturePath } from './harness/fixtures';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { createAlmaClient } from '../src/alma/client';
import { AlmaError } from '../src/alma/errors';
import { parseConfig } from '../src/config/load';
import { seedFromConfig, startAlmaSandbox, type AlmaSandbox, type SandboxSeed } from '../src/sandbox/alma';

const KEY = 'sandbox-key-TEST_INST';
const FIXTURES = fixturePath('alma');

const seed: SandboxSeed = {
  institutions: [
    {
      code: 'TEST_INST',
      apiKey: KEY,
      perSecond: 1000,
      daily: 1_000_000,
      vendors: [{ code: 'PQ-OASIS', accounts: ['PQ-OASIS-MAIN'] }],
      funds: ['M123', 'GEN01'],
      libraries: { MAIN: ['MATH', 'STACKS'] },
      profileCodes: ['RTO'],
    },
  ],
};

/** How long Alma's processing takes here (status, alerts, po_number appear after it). */
const ASYNC_MS = 100;
// Each line its own vendor reference: Alma refuses a second live line with the same one (docs/alma-sandbox.md).
let refSeq = 0;

const goodLine = (over: Record<string, unknown> = {}) => ({
  owner: { value: 'MAIN' },
  type: { value: 'PRINTED_BOOK_OT' },
  vendor: { value: 'PQ-OASIS' },
  vendor_account: 'PQ-OASIS-MAIN',
  acquisition_method: { value: 'VENDOR_SYSTEM' },
  price: { sum: '59.99', currency: { value: 'USD' } },
  fund_distribution: [{ fund_code: { value: 'M123' }, percent: 100 }],
  vendor_reference_number: `OAS-2026-${String(++refSeq).padStart(7, '0')}`,
  resource_metadata: {
    title: 'A <brief> & "odd" title',
    author: 'Doe, Jane',
    isbn: '9781492052203',
    publisher: 'Pub',
    publication_year: '2021',
  },
  location: [{ quantity: 1, library: { value: 'MAIN' }, shelving_location: 'MATH' }],
  ...over,
});

interface PoLineJson {
  number: string;
  status: { value: string; desc: string };
  created_date: string;
  vendor_reference_number?: string;
  alert?: { value: string; desc: string }[];
  resource_metadata: { mms_id?: { value: string } };
}
interface AlmaErrorBody {
  errorList: { error: { errorCode: string; errorMessage: string; trackingId: string }[] };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let sb: AlmaSandbox;
let logText = '';

function api(p: string, init: RequestInit & { key?: string | null } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  // Alma answers XML unless asked for JSON, as the project's client always does.
  if (!headers.has('Accept')) headers.set('Accept', 'application/json');
  if (init.key !== null) headers.set('Authorization', `apikey ${init.key ?? KEY}`);
  return fetch(sb.url + p, { ...init, headers });
}

async function post(body: unknown, query = ''): Promise<Response> {
  return api(`/acq/po-lines${query}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function admin(p: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(
    sb.baseUrl + p,
    body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) },
  );
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

interface StateView {
  institutions: Record<string, { dailyUsed: number; remaining: number; maxPerSecond: number }>;
  poLines: { number: string; vendor_reference_number?: string }[];
  bibs: { mms_id: string; title: string }[];
  calls: Record<string, Record<string, number>>;
  throttled: Record<string, number>;
  maxPerSecond: Record<string, number>;
  faults: Record<string, unknown>;
}
const state = async () => (await admin('/_sandbox/state')) as unknown as StateView;

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logText += String(chunk);
      cb();
    },
  });
  sb = await startAlmaSandbox({
    port: 0,
    seed,
    bibDelayMs: 300,
    asyncDelayMs: ASYNC_MS,
    indexLagMs: 0,
    logger: pino({ level: 'debug' }, sink),
  });
});
afterAll(() => sb.close());
beforeEach(async () => {
  await admin('/_sandbox/reset', {});
  await admin('/_sandbox/limits', {
    institution: 'TEST_INST',
    perSecond: 1000,
    daily: 1_000_000,
    bibDelayMs: 300,
  });
});

describe('key check and error shapes', () => {
  const unauthorizedFixture = () => readFileSync(path.join(FIXTURES, 'unauthorized.xml'), 'utf8');

  it('refuses a wrong key in the query with the fixture XML even to a JSON client, and never logs the key', async () => {
    const res = await api('/acq/test?apikey=wrong-key-123', { key: null });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/xml;charset=UTF-8');
    // Byte for byte the public fixture: CRLF, deep indentation, no tracking id.
    expect(await res.text()).toBe(unauthorizedFixture());
    // The query key works too, and the log never shows keys.
    expect((await api(`/acq/test?apikey=${KEY}`, { key: null })).status).toBe(200);
    expect(logText).toContain('apikey=REDACTED');
    expect(logText).not.toContain('wrong-key-123');
    expect(logText).not.toContain(KEY);
  });

  it('refuses a wrong header key, or none, with the same XML whatever the format asked', async () => {
    for (const init of [
      { key: 'nope', headers: { Accept: 'application/xml' } },
      { key: 'nope' },
      { key: null },
    ]) {
      const res = await api('/acq/test?format=json', init);
      expect(res.status).toBe(400);
      expect(await res.text()).toBe(unauthorizedFixture());
    }
  });

  it('gives 402204 for a non-numeric MMS id in the fixture JSON shape', async () => {
    const fixture = JSON.parse(readFileSync(path.join(FIXTURES, 'bad-request.json'), 'utf8'));
    const body = (await (await api('/bibs/banana')).json()) as typeof fixture;
    fixture.errorList.error[0].trackingId = body.errorList.error[0].trackingId;
    expect(body).toEqual(fixture);
  });
});

describe('formats', () => {
  it('answers JSON by default and XML by Accept or format=xml', async () => {
    const created = (await (await post(goodLine())).json()) as { number: string };
    const json = await api(`/acq/po-lines/${created.number}`);
    expect(json.headers.get('content-type')).toMatch(/json/);
    expect(((await json.json()) as { number: string }).number).toBe(created.number);

    const xml = await (
      await api(`/acq/po-lines/${created.number}`, { headers: { Accept: 'application/xml' } })
    ).text();
    expect(xml).toMatch(/^<\?xml[^>]*\?><po_line>/);
    expect(xml).toContain(`<number>${created.number}</number>`);
    expect(xml).toContain('<title>A &lt;brief&gt; &amp; &quot;odd&quot; title</title>');
    await sleep(ASYNC_MS + 50);
    const processed = await (
      await api(`/acq/po-lines/${created.number}`, { headers: { Accept: 'application/xml' } })
    ).text();
    expect(processed).toContain('<status desc="Active">ACTIVE</status>');

    const bibXml = await (await api('/bibs/99100000000106421?format=xml')).text();
    expect(bibXml).toMatch(/<bib><mms_id>99100000000106421<\/mms_id>.*<record><leader>/);
    expect(bibXml).toContain(
      '<datafield ind1=" " ind2=" " tag="020"><subfield code="a">9780262033848</subfield>',
    );

    const listXml = await (await api('/acq/po-lines?q=all~brief&format=xml')).text();
    expect(listXml).toMatch(/<po_lines total_record_count="1"><po_line>/);
  });

  it('returns bibs like the fixture: anies[0] is MARCXML declaring UTF-16, attributes ind1 ind2 tag', async () => {
    const fixture = JSON.parse(readFileSync(path.join(FIXTURES, 'bib-99111299423506421.json'), 'utf8'));
    const bib = (await (await api('/bibs/99100000000106421')).json()) as Record<string, unknown>;
    for (const key of Object.keys(fixture.bib[0])) expect(bib).toHaveProperty(key);
    const marc = (bib.anies as string[])[0]!;
    expect(marc.startsWith('<?xml version="1.0" encoding="UTF-16"?><record><leader>')).toBe(true);
    expect(marc).toContain('<controlfield tag="001">99100000000106421</controlfield>');
    expect(bib).toMatchObject({
      mms_id: '99100000000106421',
      title: 'Introduction to algorithms /',
      isbn: '9780262033848',
    });

    const many = (await (
      await api('/bibs?mms_id=99100000000106421,99100000000206421,99999999999906421')
    ).json()) as {
      bib: { mms_id: string }[];
      total_record_count: number;
    };
    expect(many.total_record_count).toBe(2);
    expect(many.bib.map((b) => b.mms_id)).toEqual(['99100000000106421', '99100000000206421']);
  });
});

describe('PO lines', () => {
  it('answers at once and links a new brief bib only after bibDelayMs', async () => {
    const res = await post(goodLine(), '?profile_code=RTO&requires_manual_review=false');
    expect(res.status).toBe(200);
    const line = (await res.json()) as PoLineJson;
    expect(line.number).toMatch(/^POL-\d+$/);
    // Processing is asynchronous: the answer has the number, not yet a status, alerts or po_number.
    expect(line.status).toBeUndefined();
    expect(line.created_date).toMatch(/^\d{4}-\d{2}-\d{2}Z$/);
    expect(line.vendor_reference_number).toMatch(/^OAS-2026-\d{7}$/);
    expect(line.resource_metadata.mms_id).toBeUndefined();
    const bibsBefore = (await state()).bibs.length;

    const early = (await (await api(`/acq/po-lines/${line.number}`)).json()) as PoLineJson;
    expect(early.resource_metadata.mms_id).toBeUndefined();
    await sleep(350);
    const later = (await (await api(`/acq/po-lines/${line.number}`)).json()) as PoLineJson;
    expect(later.status).toEqual({ value: 'ACTIVE', desc: 'Active' });
    const mmsId = later.resource_metadata.mms_id!.value;
    expect(mmsId).toMatch(/^99\d+06421$/);
    expect((await state()).bibs.length).toBe(bibsBefore + 1);

    const bib = (await (await api(`/bibs/${mmsId}`)).json()) as { anies: string[]; title: string };
    expect(bib.title).toBe('A <brief> & "odd" title');
    const marc = bib.anies[0]!;
    expect(marc).toContain(`<controlfield tag="001">${mmsId}</controlfield>`);
    expect(marc).toContain(
      '<datafield ind1=" " ind2=" " tag="020"><subfield code="a">9781492052203</subfield>',
    );
    expect(marc).toContain('<subfield code="a">A &lt;brief&gt; &amp; &quot;odd&quot; title</subfield>');
    expect(marc).toContain('tag="264"><subfield code="b">Pub</subfield><subfield code="c">2021</subfield>');
    expect(marc).toContain('tag="100"><subfield code="a">Doe, Jane</subfield>');
  });

  it('links an existing catalogue bib when the ISBN matches (hyphens or ISBN-10 alike)', async () => {
    const bibsBefore = (await state()).bibs.length;
    const a = (await (
      await post(goodLine({ resource_metadata: { title: 'CLRS', isbn: '978-0-262-03384-8' } }))
    ).json()) as {
      number: string;
    };
    const b = (await (
      await post(goodLine({ resource_metadata: { title: 'K&R', isbn: '0131103628' } }))
    ).json()) as {
      number: string;
    };
    await sleep(350);
    const la = (await (await api(`/acq/po-lines/${a.number}`)).json()) as PoLineJson;
    const lb = (await (await api(`/acq/po-lines/${b.number}`)).json()) as PoLineJson;
    expect(la.resource_metadata.mms_id!.value).toBe('99100000000106421');
    expect(lb.resource_metadata.mms_id!.value).toBe('99100000000306421');
    expect((await state()).bibs.length).toBe(bibsBefore);
  });

  it.each([
    ['no vendor', { vendor: undefined }, 'Vendor is missing'],
    ['no vendor account', { vendor_account: undefined }, 'Vendor account is missing'],
    ['no price', { price: undefined }, 'List price is missing'],
    [
      'a fund in the wrong case',
      { fund_distribution: [{ fund_code: { value: 'm123' }, percent: 100 }] },
      'Fund m123 was not found',
    ],
  ])(
    'creates the PO line, which goes In Review after the answer, when there is %s',
    async (_name, over, reason) => {
      const res = await post(goodLine(over));
      expect(res.status).toBe(200);
      const answered = (await res.json()) as PoLineJson;
      expect(answered.status).toBeUndefined();
      await sleep(ASYNC_MS + 50);
      const line = (await (await api(`/acq/po-lines/${answered.number}`)).json()) as PoLineJson;
      expect(line.status).toEqual({ value: 'IN_REVIEW', desc: 'In Review' });
      expect(line.alert!.map((a) => a.desc).join(' | ')).toContain(reason);
      expect((await state()).poLines.map((p) => p.number)).toContain(line.number);
    },
  );

  it.each([
    ['no owner', { owner: undefined }, '401664', 'Mandatory field is missing: owner'],
    ['no type', { type: undefined }, '401664', 'Mandatory field is missing: type'],
    [
      'no title',
      { resource_metadata: { isbn: '9780262033848' } },
      '401664',
      'Mandatory field is missing: resource_metadata.title',
    ],
    ['an unknown owner', { owner: { value: 'NOWHERE' } }, '401872', 'Given owner NOWHERE is illegal.'],
    ['an unknown type', { type: { value: 'SPACESHIP' } }, '401872', 'Given type SPACESHIP is illegal.'],
  ])('refuses a PO line with %s and creates nothing', async (_name, over, code, message) => {
    const res = await post(goodLine(over));
    expect(res.status).toBe(400);
    const err = (
      (await res.json()) as { errorList: { error: { errorCode: string; errorMessage: string }[] } }
    ).errorList.error[0]!;
    expect(err.errorCode).toBe(code);
    expect(err.errorMessage).toBe(message);
    expect((await state()).poLines).toHaveLength(0);
  });

  it('searches by Alma fields; no hits means no po_line key; vendor_reference_number is not searchable', async () => {
    const created = (await (await post(goodLine())).json()) as { number: string };
    await post(
      goodLine({
        vendor_reference_number: 'OTHER',
        resource_metadata: { title: 'Other book', isbn: '9780596517748' },
      }),
    );

    const hit = (await (
      await api('/acq/po-lines?q=issn_isbn~9781492052203&status=ALL&limit=100&offset=0')
    ).json()) as {
      po_line: { number: string }[];
      total_record_count: number;
    };
    expect(hit.total_record_count).toBe(1);
    expect(hit.po_line.map((p) => p.number)).toEqual([created.number]);

    const none = (await (await api('/acq/po-lines?q=title~nonexistent')).json()) as Record<string, unknown>;
    expect(none).toEqual({ total_record_count: 0 });
    expect('po_line' in none).toBe(false);

    const both = (await (await api('/acq/po-lines?q=vendor_code~PQ-OASIS&limit=1')).json()) as {
      po_line: unknown[];
      total_record_count: number;
    };
    expect(both.total_record_count).toBe(2);
    expect(both.po_line).toHaveLength(1);

    const bad = await api('/acq/po-lines?q=vendor_reference_number~OAS-2026-0000001');
    expect(bad.status).toBe(400);
    expect(JSON.stringify(await bad.json())).toContain('vendor_reference_number is not a searchable field');

    const vendorList = (await (await api('/acq/vendors/PQ-OASIS/po-lines?limit=10')).json()) as {
      total_record_count: number;
    };
    expect(vendorList.total_record_count).toBe(2);
  });

  it('cancels once (204, empty), then answers 401884; a reason is required; unknown is 401871', async () => {
    const { number } = (await (await post(goodLine())).json()) as { number: string };
    const noReason = await api(`/acq/po-lines/${number}`, { method: 'DELETE' });
    expect(noReason.status).toBe(400);
    expect(JSON.stringify(await noReason.json())).toContain('401664');

    const first = await api(
      `/acq/po-lines/${number}?reason=LIBRARY_CANCELLED&comment=dup&inform_vendor=false`,
      {
        method: 'DELETE',
      },
    );
    expect(first.status).toBe(204);
    expect(await first.text()).toBe('');
    const line = (await (await api(`/acq/po-lines/${number}`)).json()) as { status: { value: string } };
    expect(line.status.value).toBe('CANCELLED');
    // Cancelled lines drop out of status=ACTIVE but stay in the default (ALL: everything but CLOSED).
    expect(
      (
        (await (await api('/acq/po-lines?q=all~brief&status=ACTIVE')).json()) as {
          total_record_count: number;
        }
      ).total_record_count,
    ).toBe(0);
    expect(
      ((await (await api('/acq/po-lines?q=all~brief')).json()) as { total_record_count: number })
        .total_record_count,
    ).toBe(1);
    expect(
      ((await (await api('/acq/po-lines?q=all~brief&status=ALL')).json()) as { total_record_count: number })
        .total_record_count,
    ).toBe(1);

    const second = await api(`/acq/po-lines/${number}?reason=LIBRARY_CANCELLED`, { method: 'DELETE' });
    expect(second.status).toBe(400);
    expect(((await second.json()) as AlmaErrorBody).errorList.error[0]!.errorCode).toBe('401884');

    const unknown = await api('/acq/po-lines/POL-999999');
    expect(((await unknown.json()) as AlmaErrorBody).errorList.error[0]!.errorCode).toBe('401871');
  });
});

describe('bibs', () => {
  const id = '99100000000206421';
  const putXml = (xml: string, type = 'application/xml') =>
    api(
      `/bibs/${id}?validate=false&override_warning=true&override_lock=true&stale_version_check=false&check_match=false`,
      {
        method: 'PUT',
        headers: { 'Content-Type': type },
        body: xml,
      },
    );

  it('replaces the whole record with the XML sent, keeping 001 = MMS id', async () => {
    const xml =
      '<bib><record><leader>00000cam a2200000 i 4500</leader>' +
      '<controlfield tag="001">123</controlfield>' +
      '<datafield tag="245" ind1="1" ind2="0"><subfield code="a">Replaced title &amp; more</subfield></datafield>' +
      '<datafield tag="980" ind1=" " ind2=" "><subfield code="a">OAS-1</subfield></datafield></record></bib>';
    const res = await putXml(xml);
    expect(res.status).toBe(200);
    const bib = (await (await api(`/bibs/${id}`)).json()) as {
      title: string;
      isbn: string | null;
      anies: string[];
    };
    expect(bib.title).toBe('Replaced title & more');
    expect(bib.isbn).toBeNull(); // the old 020 is gone: swap-all
    expect(bib.anies[0]).toContain(`<controlfield tag="001">${id}</controlfield>`);
    expect(bib.anies[0]).toContain(
      '<datafield ind1=" " ind2=" " tag="980"><subfield code="a">OAS-1</subfield>',
    );
    expect(bib.anies[0]).not.toContain('Linear algebra');
  });

  it('refuses JSON (60105), broken XML (402203), unknown (402203) and non-numeric ids (402204)', async () => {
    const code = async (r: Promise<Response>) =>
      ((await (await r).json()) as AlmaErrorBody).errorList.error[0]!.errorCode;
    expect(await code(putXml('{"record":"x"}', 'application/json'))).toBe('60105');
    expect(await code(putXml('<bib><record><leader>x</record></bib>'))).toBe('402203');
    expect(await code(api('/bibs/99999999999906421'))).toBe('402203');
    expect(await code(api('/bibs/abc'))).toBe('402204');
  });
});

describe('lookups', () => {
  it('answers funds, vendor, locations, libraries and test', async () => {
    const funds = (await (await api('/acq/funds?q=fund_code~M123&mode=POL')).json()) as {
      fund: { code: string }[];
    };
    expect(funds.fund.map((f) => f.code)).toEqual(['M123']);
    const vendor = (await (await api('/acq/vendors/PQ-OASIS')).json()) as {
      code: string;
      account: { code: string }[];
    };
    expect(vendor.account.map((a) => a.code)).toEqual(['PQ-OASIS-MAIN']);
    const locs = (await (await api('/conf/libraries/MAIN/locations')).json()) as {
      location: { code: string }[];
    };
    expect(locs.location.map((l) => l.code)).toEqual(['MATH', 'STACKS']);
    expect((await api('/acq/test')).status).toBe(200);
    expect((await api('/acq/vendors/NOPE')).status).toBe(400);
    // A library named like an Object.prototype member is unknown, not a crash (500).
    for (const name of ['constructor', 'toString', '__proto__'])
      expect((await api(`/conf/libraries/${name}/locations`)).status).toBe(400);
  });

  it('builds its seed from the project configuration, resolving the key', () => {
    const cfg = parseConfig({
      institutions: {
        INST1: {
          gateway: 'http://127.0.0.1:1/almaws/v1',
          apiKey: { env: 'RTO_TEST_SBX_KEY' },
          perSecondThreshold: 7,
        },
      },
      accounts: {
        A: {
          name: 'A',
          institution: 'INST1',
          alma: {
            vendorCode: 'V1',
            vendorAccount: 'V1-A',
            poLineType: { print: 'PRINTED_BOOK_OT', ebook: 'ELECTRONIC_TITLE_OT' },
            cancellationReason: 'X',
            defaultOwner: 'LAW',
          },
          currencies: ['EUR'],
          funds: ['F1'],
          libraries: { MAIN: { locations: ['S1'] } },
          email: { from: 'a@b.example' },
        },
      },
    });
    process.env.RTO_TEST_SBX_KEY = 'k-123';
    try {
      const s = seedFromConfig(cfg);
      expect(s.institutions[0]).toMatchObject({
        code: 'INST1',
        apiKey: 'k-123',
        perSecond: 7,
        daily: 1_000_000,
        vendors: [{ code: 'V1', accounts: ['V1-A'] }],
        funds: ['F1'],
        libraries: { MAIN: ['S1'], LAW: [] },
      });
      expect(seedFromConfig(cfg, { dailyThreshold: 5 }).institutions[0]!.daily).toBe(5);
    } finally {
      delete process.env.RTO_TEST_SBX_KEY;
    }
  });
});

describe('thresholds', () => {
  it('refuses calls over the per-second threshold with 429 PER_SECOND_THRESHOLD before processing', async () => {
    await admin('/_sandbox/limits', { institution: 'TEST_INST', perSecond: 3 });
    const results = await Promise.all(Array.from({ length: 8 }, () => post(goodLine())));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(3);
    expect(statuses.filter((s) => s === 429)).toHaveLength(5);
    for (const r of results) expect(Number(r.headers.get('x-exl-api-remaining'))).toBeGreaterThan(0);
    const refused = results.find((r) => r.status === 429)!;
    const body = (await refused.json()) as AlmaErrorBody;
    expect(body.errorList.error[0]).toMatchObject({
      errorCode: 'PER_SECOND_THRESHOLD',
      errorMessage: 'HTTP requests are more than allowed per second',
    });
    const s = await state();
    expect(s.poLines).toHaveLength(3);
    expect(s.throttled.PER_SECOND_THRESHOLD).toBe(5);
    expect(s.maxPerSecond.TEST_INST).toBe(3);
    expect(s.calls['po-lines:POST']).toEqual({ '200': 3, '429': 5 });
    await sleep(1050);
    expect((await post(goodLine())).status).toBe(200);
  });

  it('refuses calls over the daily threshold with 429 DAILY_THRESHOLD and counts down X-Exl-Api-Remaining', async () => {
    await admin('/_sandbox/limits', { institution: 'TEST_INST', daily: 2 });
    const a = await api('/acq/test');
    expect(a.headers.get('x-exl-api-remaining')).toBe('1');
    const b = await api('/acq/test');
    expect(b.headers.get('x-exl-api-remaining')).toBe('0');
    const c = await api('/acq/test');
    expect(c.status).toBe(429);
    expect(c.headers.get('x-exl-api-remaining')).toBe('0');
    expect(((await c.json()) as AlmaErrorBody).errorList.error[0]!.errorCode).toBe('DAILY_THRESHOLD');
    expect((await state()).throttled.DAILY_THRESHOLD).toBe(1);
  });
});

describe('faults', () => {
  const client = (timeoutMs = 5000) => createAlmaClient({ gateway: sb.url, apiKey: KEY, timeoutMs });

  it('answers 5xx before processing: Alma JSON for 500, plain text for 502', async () => {
    await admin('/_sandbox/faults', { 'po-lines:POST': { error5xx: 1, body5xx: 'alma' } });
    const r500 = await post(goodLine());
    expect(r500.status).toBe(500);
    expect(((await r500.json()) as AlmaErrorBody).errorList.error[0]!.errorCode).toBe(
      'INTERNAL_SERVER_ERROR',
    );
    await admin('/_sandbox/faults', { '*': { error5xx: 1, status5xx: 502, body5xx: 'text' } });
    const r502 = await api('/acq/test');
    expect(r502.status).toBe(502);
    expect(r502.headers.get('content-type')).toBe('text/plain;charset=UTF-8');
    expect(await r502.text()).toBe('Bad Gateway');
    const s = await state();
    expect(s.poLines).toHaveLength(0);
    expect(s.faults).toEqual({ '*': { error5xx: 1, status5xx: 502, body5xx: 'text' } });
    await admin('/_sandbox/faults', {});
    expect((await api('/acq/test')).status).toBe(200);
  });

  it('delays by latencyMs', async () => {
    await admin('/_sandbox/faults', { 'test:GET': { latencyMs: 250 } });
    const t0 = Date.now();
    expect((await api('/acq/test')).status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(240);
  });

  it('hangs without committing: the client times out (network, ambiguous)', async () => {
    await admin('/_sandbox/faults', { 'po-lines:POST': { hang: 1 } });
    const err = await client(300)
      .createPoLine(goodLine() as never)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AlmaError);
    expect(err).toMatchObject({ kind: 'network', ambiguous: true, retryable: true });
    const s = await state();
    expect(s.poLines).toHaveLength(0);
    expect(s.calls['po-lines:POST']).toEqual({ hung: 1 });
  });

  it('drops the connection after committing: the client sees a network error yet the PO line exists', async () => {
    await admin('/_sandbox/faults', { 'po-lines:POST': { dropAfterCommit: 1 } });
    const err = await client()
      .createPoLine(goodLine({ vendor_reference_number: 'OAS-DROPPED' }) as never)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AlmaError);
    expect(err).toMatchObject({ kind: 'network', ambiguous: true });
    const s = await state();
    expect(s.poLines.map((p) => p.vendor_reference_number)).toEqual(['OAS-DROPPED']);
    expect(s.calls['po-lines:POST']).toEqual({ dropped: 1 });
  });

  it('rejects an invalid fault set', async () => {
    const res = await fetch(`${sb.baseUrl}/_sandbox/faults`, {
      method: 'POST',
      body: JSON.stringify({ 'po-lines:POST': { error5xx: 2 } }),
    });
    expect(res.status).toBe(400);
  });
});

describe('persistence', () => {
  it('keeps PO lines, bibs and the pending bib link across a restart', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'alma-sbx-'));
    const stateFile = path.join(dir, 'alma.json');
    try {
      let s1 = await startAlmaSandbox({ port: 0, seed, stateFile, bibDelayMs: 400, asyncDelayMs: ASYNC_MS });
      const created = (await (
        await fetch(`${s1.url}/acq/po-lines`, {
          method: 'POST',
          headers: {
            Authorization: `apikey ${KEY}`,
            'Content-Type': 'application/json',
            Accept: 'application/json',
          },
          body: JSON.stringify(goodLine()),
        })
      ).json()) as { number: string };
      await s1.close();
      expect(readFileSync(stateFile, 'utf8')).not.toContain(KEY);

      s1 = await startAlmaSandbox({ port: 0, seed, stateFile, bibDelayMs: 400, asyncDelayMs: ASYNC_MS });
      const get = () =>
        fetch(`${s1.url}/acq/po-lines/${created.number}`, {
          headers: { Authorization: `apikey ${KEY}`, Accept: 'application/json' },
        }).then((r) => r.json() as Promise<PoLineJson>);
      const early = await get();
      expect(early.number).toBe(created.number);
      expect(early.resource_metadata.mms_id).toBeUndefined();
      await sleep(450);
      const mmsId = (await get()).resource_metadata.mms_id!.value;
      await s1.close();

      // The bib created after the restart is itself persisted, and numbering continues.
      const s2 = await startAlmaSandbox({
        port: 0,
        seed,
        stateFile,
        bibDelayMs: 400,
        asyncDelayMs: ASYNC_MS,
      });
      const bib = await fetch(`${s2.url}/bibs/${mmsId}`, {
        headers: { Authorization: `apikey ${KEY}`, Accept: 'application/json' },
      });
      expect(bib.status).toBe(200);
      const next = (await (
        await fetch(`${s2.url}/acq/po-lines`, {
          method: 'POST',
          headers: {
            Authorization: `apikey ${KEY}`,
            'Content-Type': 'application/json',
            Accept: 'application/json',
          },
          body: JSON.stringify(goodLine()),
        })
      ).json()) as { number: string };
      expect(next.number).not.toBe(created.number);
      await s2.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
