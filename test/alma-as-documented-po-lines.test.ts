/**
 * The Alma sandbox's PO lines checked against Ex Libris' documentation (docs/alma-sandbox.md, "PO lines"):
 * asynchronous processing, the search as documented (status values, q fields, order, index lag, strict
 * matching), PUT and items, XML bodies, code tables and the bodies Alma refuses. Over real HTTP.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startAlmaSandbox, type AlmaSandbox, type SandboxSeed } from '../src/sandbox/alma';

const KEY = 'sandbox-key-DOC_INST';
const ASYNC_MS = 150;
const LAG_MS = 2000;

const seed = (): SandboxSeed => ({
  institutions: [
    {
      code: 'DOC_INST',
      apiKey: KEY,
      perSecond: 1000,
      daily: 1_000_000,
      vendors: [
        { code: 'PQ-OASIS', name: 'ProQuest OASIS', accounts: ['PQ-OASIS-MAIN'] },
        { code: 'OTHER-V', name: 'Other Vendor', accounts: ['OTHER-ACC'] },
      ],
      funds: ['M123', 'GEN01'],
      libraries: { MAIN: ['MATH', 'STACKS'], LAW: ['STACKS'] },
      profileCodes: ['RTO'],
      reviewRules: { vendorReferenceNumbers: ['REVIEW-ME'] },
    },
  ],
});

let refSeq = 0;
const line = (over: Record<string, unknown> = {}) => ({
  owner: { value: 'MAIN' },
  type: { value: 'PRINTED_BOOK_OT' },
  vendor: { value: 'PQ-OASIS' },
  vendor_account: 'PQ-OASIS-MAIN',
  acquisition_method: { value: 'VENDOR_SYSTEM' },
  price: { sum: '40.00', currency: { value: 'USD' } },
  fund_distribution: [{ fund_code: { value: 'M123' }, percent: 100 }],
  vendor_reference_number: `DOC-${++refSeq}`,
  vendor_reference_number_type: { value: 'SLI' },
  material_type: { value: 'BOOK' },
  resource_metadata: {
    title: 'Self-help for algorithms',
    author: 'Doe, Jane',
    isbn: '978-1-4920-5220-3',
    publication_place: 'Cambridge, Mass.',
  },
  location: [{ quantity: 2, library: { value: 'MAIN' }, shelving_location: 'MATH' }],
  ...over,
});

type Obj = Record<string, unknown>;
interface PoLine {
  number: string;
  status?: { value: string; desc: string };
  alert?: { value: string; desc: string }[];
  po_number?: string;
  type: { value: string; desc: string };
  resource_metadata: { title: string; mms_id?: { value: string } };
}
interface List {
  po_line?: PoLine[];
  total_record_count: number;
}
interface ErrorBody {
  errorList: { error: { errorCode: string; errorMessage: string }[] };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function withSandbox(
  opts: { indexLagMs?: number; searchMatch?: 'strict' | 'lenient'; duplicateReference?: 'refuse' | 'accept' },
  body: (sb: AlmaSandbox) => Promise<void>,
): Promise<void> {
  const sb = await startAlmaSandbox({
    port: 0,
    seed: seed(),
    bibDelayMs: 0,
    asyncDelayMs: ASYNC_MS,
    indexLagMs: opts.indexLagMs ?? 0,
    searchMatch: opts.searchMatch ?? 'strict',
    ...(opts.duplicateReference ? { duplicateReference: opts.duplicateReference } : {}),
  });
  try {
    await body(sb);
  } finally {
    await sb.close();
  }
}

function client(sb: AlmaSandbox) {
  const api = (p: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    headers.set('Authorization', `apikey ${KEY}`);
    if (!headers.has('Accept')) headers.set('Accept', 'application/json');
    return fetch(sb.url + p, { ...init, headers });
  };
  return {
    api,
    post: (body: unknown, query = '') =>
      api(`/acq/po-lines${query}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      }),
    async created(body: unknown, query = ''): Promise<PoLine> {
      const res = await api(`/acq/po-lines${query}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(res.status).toBe(200);
      return (await res.json()) as PoLine;
    },
    get: async (n: string) => (await (await api(`/acq/po-lines/${n}`)).json()) as PoLine,
    search: async (q: string) => (await (await api(`/acq/po-lines?${q}`)).json()) as List,
  };
}

async function refused(res: Response, code: string, ...words: string[]): Promise<void> {
  expect(res.status).toBe(400);
  const err = ((await res.json()) as ErrorBody).errorList.error[0]!;
  expect(err.errorCode).toBe(code);
  for (const w of words) expect(err.errorMessage).toContain(w);
}

describe('Alma as documented: asynchronous PO line processing', () => {
  it('answers the POST with the number only; status, po_number and the bib come after the processing', () =>
    withSandbox({}, async (sb) => {
      const c = client(sb);
      const answer = await c.created(line());
      expect(answer.number).toMatch(/^POL-\d+$/);
      expect(answer.status).toBeUndefined();
      expect(answer.alert).toBeUndefined();
      expect(answer.po_number).toBeUndefined();
      expect(answer.resource_metadata.mms_id).toBeUndefined();
      await sleep(ASYNC_MS + 100);
      const later = await c.get(answer.number);
      expect(later.status).toEqual({ value: 'ACTIVE', desc: 'Active' });
      expect(later.po_number).toMatch(/^PO-/);
      expect(later.resource_metadata.mms_id?.value).toMatch(/^99\d+$/);
    }));

  it.each([
    ['requires_manual_review=true', line(), '?requires_manual_review=true', 'MANUAL_REVIEW_REQUESTED'],
    ['a seed review rule', line({ vendor_reference_number: 'REVIEW-ME' }), '', 'MANUAL_REVIEW_REQUESTED'],
    [
      'an unknown fund',
      line({ fund_distribution: [{ fund_code: { value: 'm123' }, percent: 100 }] }),
      '',
      'FUND_NOT_FOUND',
    ],
  ])('puts a line In Review only after the answer (%s)', (_name, body, query, alert) =>
    withSandbox({}, async (sb) => {
      const c = client(sb);
      const answer = await c.created(body, query);
      expect(answer.status).toBeUndefined();
      await sleep(ASYNC_MS + 100);
      const later = await c.get(answer.number);
      expect(later.status).toEqual({ value: 'IN_REVIEW', desc: 'In Review' });
      expect(later.alert!.map((a) => a.value)).toContain(alert);
      expect(later.po_number).toBeUndefined();
    }),
  );
});

describe('Alma as documented: processing survives a restart', () => {
  it('processes a line posted before a restart on time after it', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'alma-doc-'));
    const stateFile = path.join(dir, 'alma.json');
    try {
      // Long enough that the restart surely comes before it (a noisy machine).
      const opts = { port: 0, seed: seed(), stateFile, asyncDelayMs: 2000, indexLagMs: 0 };
      let sb = await startAlmaSandbox(opts);
      const posted = Date.now();
      const a = await client(sb).created(line());
      await sb.close();
      sb = await startAlmaSandbox(opts);
      try {
        const c = client(sb);
        const early = (await c.get(a.number)).status;
        // Asserted only while the delay has surely not passed (a stalled machine skips it).
        if (Date.now() - posted < 1800) expect(early).toBeUndefined();
        await sleep(2100);
        expect((await c.get(a.number)).status?.value).toBe('ACTIVE');
        expect((await c.search('q=title~algorithms')).po_line!.map((p) => p.number)).toEqual([a.number]);
      } finally {
        await sb.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Alma as documented: PO line search', () => {
  it('defaults to status ALL (everything but CLOSED), takes the documented values, refuses others', () =>
    withSandbox({}, async (sb) => {
      const c = client(sb);
      const a = await c.created(line());
      await c.created(line());
      const del = await c.api(`/acq/po-lines/${a.number}?reason=LIBRARY_CANCELLED`, { method: 'DELETE' });
      expect(del.status).toBe(204);
      expect((await c.search('q=vendor_code~PQ-OASIS')).total_record_count).toBe(2);
      expect((await c.search('q=vendor_code~PQ-OASIS&status=ACTIVE')).total_record_count).toBe(1);
      expect(
        (await c.search('q=vendor_code~PQ-OASIS&status=CANCELLED')).po_line!.map((p) => p.number),
      ).toEqual([a.number]);
      expect((await c.search('q=vendor_code~PQ-OASIS&status=ALL_WITH_CLOSED')).total_record_count).toBe(2);
      expect((await c.search('q=vendor_code~PQ-OASIS&status=CLOSED')).total_record_count).toBe(0);
      await refused(await c.api('/acq/po-lines?status=INREVIEW'), '402119', 'status INREVIEW');
    }));

  it('searches the documented fields, with order_by and direction', () =>
    withSandbox({}, async (sb) => {
      const c = client(sb);
      const a = await c.created(line({ resource_metadata: { title: 'Alpha', publication_place: 'Leiden' } }));
      const b = await c.created(
        line({
          resource_metadata: { title: 'Beta', publication_place: 'Leiden' },
          location: [{ quantity: 1, library: { value: 'MAIN' }, shelving_location: 'STACKS' }],
        }),
      );
      for (const q of [
        'publication_place~Leiden',
        'vendor_name~ProQuest',
        'fund_name~M123',
        'shelving_location~MATH',
      ]) {
        const r = await c.search(`q=${encodeURIComponent(q)}`);
        expect(r.total_record_count).toBeGreaterThan(0);
      }
      expect((await c.search('q=shelving_location~STACKS')).po_line!.map((p) => p.number)).toEqual([
        b.number,
      ]);
      expect((await c.search('q=invoice_reference~none')).total_record_count).toBe(0);
      // Default order: title, descending.
      expect((await c.search('q=publication_place~Leiden')).po_line!.map((p) => p.number)).toEqual([
        b.number,
        a.number,
      ]);
      expect(
        (await c.search('q=publication_place~Leiden&order_by=title&direction=asc')).po_line!.map(
          (p) => p.number,
        ),
      ).toEqual([a.number, b.number]);
      await refused(await c.api('/acq/po-lines?order_by=price'), '402119', 'order_by');
      await refused(await c.api('/acq/po-lines?direction=up'), '402119', 'direction');
    }));

  it('strict matching: whole words, hyphens as written, no ISBN-10/13 equivalence; lenient matches as before', async () => {
    await withSandbox({ searchMatch: 'strict' }, async (sb) => {
      const c = client(sb);
      await c.created(line());
      expect((await c.search('q=title~gorith')).total_record_count).toBe(0);
      expect((await c.search('q=title~algorithms')).total_record_count).toBe(1);
      expect((await c.search('q=title~Self-help')).total_record_count).toBe(1);
      expect((await c.search('q=title~Self%20help')).total_record_count).toBe(0);
      expect((await c.search('q=issn_isbn~978-1-4920-5220-3')).total_record_count).toBe(1);
      expect((await c.search('q=issn_isbn~9781492052203')).total_record_count).toBe(0);
      expect((await c.search('q=issn_isbn~1492052205')).total_record_count).toBe(0);
    });
    await withSandbox({ searchMatch: 'lenient' }, async (sb) => {
      const c = client(sb);
      await c.created(line());
      expect((await c.search('q=title~gorith')).total_record_count).toBe(1);
      expect((await c.search('q=issn_isbn~9781492052203')).total_record_count).toBe(1);
    });
  });

  it('sees a new or changed line only after the index lag; GET by number and the vendor list at once', () =>
    withSandbox({ indexLagMs: LAG_MS }, async (sb) => {
      const c = client(sb);
      // "Not yet" can be asserted only while the lag has surely not passed: a stalled machine skips that check.
      let since = Date.now();
      const notYet = () => Date.now() - since < LAG_MS - 200;
      const a = await c.created(line());
      const early = (await c.search('q=title~algorithms')).total_record_count;
      if (notYet()) expect(early).toBe(0);
      expect((await c.get(a.number)).number).toBe(a.number);
      const vendorList = (await (await c.api('/acq/vendors/PQ-OASIS/po-lines')).json()) as List;
      expect(vendorList.po_line!.map((p) => p.number)).toEqual([a.number]);
      await sleep(ASYNC_MS + LAG_MS + 100);
      expect((await c.search('q=title~algorithms')).total_record_count).toBe(1);

      const current = (await (await c.api(`/acq/po-lines/${a.number}`)).json()) as Obj;
      since = Date.now();
      const put = await c.api(`/acq/po-lines/${a.number}`, {
        method: 'PUT',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
          ...current,
          resource_metadata: { ...(current.resource_metadata as Obj), title: 'Renamed volume' },
        }),
      });
      expect(put.status).toBe(200);
      expect(((await put.json()) as PoLine).resource_metadata.title).toBe('Renamed volume');
      // The index still holds the old title for a while.
      const old = (await c.search('q=title~algorithms')).total_record_count;
      const renamed = (await c.search('q=title~Renamed')).total_record_count;
      if (notYet()) expect([old, renamed]).toEqual([1, 0]);
      await sleep(LAG_MS + 100);
      expect((await c.search('q=title~Renamed')).total_record_count).toBe(1);
      expect((await c.search('q=title~algorithms')).total_record_count).toBe(0);
    }));

  it('lists a vendor PO lines oldest first, paged', () =>
    withSandbox({}, async (sb) => {
      const c = client(sb);
      const made = [await c.created(line()), await c.created(line()), await c.created(line())];
      const p1 = (await (await c.api('/acq/vendors/PQ-OASIS/po-lines?limit=2')).json()) as List;
      const p2 = (await (await c.api('/acq/vendors/PQ-OASIS/po-lines?limit=2&offset=2')).json()) as List;
      expect([...p1.po_line!, ...p2.po_line!].map((p) => p.number)).toEqual(made.map((m) => m.number));
      expect(p1.total_record_count).toBe(3);
    }));
});

describe('Alma as documented: PO line endpoints', () => {
  it('creates a PO line from XML and answers in the format asked for', () =>
    withSandbox({}, async (sb) => {
      const c = client(sb);
      const xml = [
        '<?xml version="1.0" encoding="UTF-8"?><po_line>',
        '<owner>MAIN</owner><type>PRINTED_BOOK_OT</type><vendor>PQ-OASIS</vendor>',
        '<vendor_account>PQ-OASIS-MAIN</vendor_account><acquisition_method>VENDOR_SYSTEM</acquisition_method>',
        '<price><sum>12.50</sum><currency>USD</currency></price>',
        '<fund_distributions><fund_distribution><fund_code>M123</fund_code><percent>100</percent></fund_distribution></fund_distributions>',
        '<vendor_reference_number>XML-1</vendor_reference_number>',
        '<resource_metadata><title>An XML book</title></resource_metadata>',
        '<locations><location><quantity>1</quantity><library>MAIN</library><shelving_location>MATH</shelving_location></location></locations>',
        '</po_line>',
      ].join('');
      const res = await c.api('/acq/po-lines', {
        method: 'POST',
        headers: { 'Content-Type': 'application/xml', Accept: 'application/xml' },
        body: xml,
      });
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text).toContain('<type desc="Print Book - One Time">PRINTED_BOOK_OT</type>');
      expect(text).toContain('<title>An XML book</title>');
      const number = /<number>([^<]+)<\/number>/.exec(text)![1]!;
      const json = await c.get(number);
      expect(json.type).toEqual({ value: 'PRINTED_BOOK_OT', desc: 'Print Book - One Time' });
      await refused(
        await c.api('/acq/po-lines', {
          method: 'POST',
          headers: { 'Content-Type': 'application/xml' },
          body: '<po_line><owner>MAIN',
        }),
        '402119',
        'XML',
      );
    }));

  it('updates with PUT (401871 when unknown, 401676 without a body) and lists the items of a processed line', () =>
    withSandbox({}, async (sb) => {
      const c = client(sb);
      const a = await c.created(line());
      // An electronic line has no items.
      const e = await c.created(line({ type: { value: 'ELECTRONIC_TITLE_OT' }, location: [] }));
      await sleep(ASYNC_MS + 100);
      const none = (await (await c.api(`/acq/po-lines/${e.number}/items`)).json()) as Obj;
      expect(none).toEqual({ total_record_count: 0 });
      const items = (await (await c.api(`/acq/po-lines/${a.number}/items`)).json()) as {
        item: { barcode: string; link: string }[];
      };
      expect(items.item).toHaveLength(2);
      expect(items.item[0]!.link).toContain('/items/');
      await refused(await c.api('/acq/po-lines/POL-1/items'), '401871');
      await refused(
        await c.api('/acq/po-lines/POL-1', {
          method: 'PUT',
          headers: { 'Content-Type': 'application/json' },
          body: '{}',
        }),
        '401871',
      );
      await refused(
        await c.api(`/acq/po-lines/${a.number}`, {
          method: 'PUT',
          headers: { 'Content-Type': 'application/json' },
        }),
        '401676',
      );
      // PUT keeps Alma's own fields: status and po_number stay.
      const current = (await (await c.api(`/acq/po-lines/${a.number}`)).json()) as Obj;
      const put = await c.api(`/acq/po-lines/${a.number}`, {
        method: 'PUT',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ ...current, status: { value: 'CLOSED' }, rush: true }),
      });
      const updated = (await put.json()) as PoLine & { rush: boolean };
      expect(updated.rush).toBe(true);
      expect(updated.status!.value).toBe('ACTIVE');
      expect(updated.po_number).toBe((current as { po_number: string }).po_number);
    }));
});

describe('Alma as documented: code tables and the bodies Alma refuses', () => {
  it('answers coded fields with the table description, not the request echoed', () =>
    withSandbox({}, async (sb) => {
      const c = client(sb);
      const a = await c.created(
        line({ acquisition_method: { value: 'VENDOR_SYSTEM', desc: 'whatever I said' } }),
      );
      const got = (await c.get(a.number)) as unknown as Obj;
      expect(got.acquisition_method).toEqual({ value: 'VENDOR_SYSTEM', desc: 'Purchase at vendor system' });
      expect((got.price as Obj).currency).toEqual({ value: 'USD', desc: 'US Dollar' });
      expect(got.material_type).toEqual({ value: 'BOOK', desc: 'Book' });
      expect(got.vendor).toEqual({ value: 'PQ-OASIS', desc: 'ProQuest OASIS' });
      expect((got.fund_distribution as Obj[])[0]!.fund_code).toEqual({ value: 'M123', desc: 'M123 fund' });
    }));

  it.each([
    ['a bare-string owner', { owner: 'MAIN' }, '402119', 'owner'],
    [
      'a bare-string fund code',
      { fund_distribution: [{ fund_code: 'M123', percent: 100 }] },
      '402119',
      'fund_code',
    ],
    [
      'vendor_account as an object',
      { vendor_account: { value: 'PQ-OASIS-MAIN' } },
      '402119',
      'vendor_account',
    ],
    ['an unknown currency', { price: { sum: '10', currency: { value: 'XXX' } } }, '401872', 'currency XXX'],
    [
      'an unknown shelving location',
      { location: [{ quantity: 1, library: { value: 'MAIN' }, shelving_location: 'ATTIC' }] },
      '401872',
      'shelving_location ATTIC',
    ],
    [
      'funding adding up to 60%',
      { fund_distribution: [{ fund_code: { value: 'M123' }, percent: 60 }] },
      '402119',
      'add up to 60',
    ],
    [
      'amounts not matching the price',
      {
        fund_distribution: [
          { fund_code: { value: 'M123' }, amount: { sum: '10', currency: { value: 'USD' } } },
        ],
      },
      '402119',
      'amounts',
    ],
    ['an unknown acquisition method', { acquisition_method: { value: 'STEAL' } }, '401872', 'STEAL'],
    ['an unknown material type', { material_type: { value: 'SCROLL' } }, '401872', 'SCROLL'],
    ['an unknown reference type', { vendor_reference_number_type: { value: 'ZZZ' } }, '401872', 'ZZZ'],
  ])('refuses %s and creates nothing', (_name, over, code, word) =>
    withSandbox({}, async (sb) => {
      const c = client(sb);
      await refused(await c.post(line(over)), code, word);
      const state = (await (await fetch(`${sb.baseUrl}/_sandbox/state`)).json()) as { poLines: unknown[] };
      expect(state.poLines).toHaveLength(0);
    }),
  );

  it('refuses an unknown profile_code', () =>
    withSandbox({}, async (sb) => {
      const c = client(sb);
      await refused(await c.post(line(), '?profile_code=NOPE'), '401872', 'profile_code NOPE');
      expect((await c.post(line(), '?profile_code=RTO')).status).toBe(200);
    }));

  it('refuses a second live line with the same vendor reference number, unless set to accept', async () => {
    await withSandbox({}, async (sb) => {
      const c = client(sb);
      const first = await c.created(line({ vendor_reference_number: 'DUP-1' }));
      await refused(
        await c.post(line({ vendor_reference_number: 'DUP-1' })),
        '402119',
        'vendor reference number',
        'already exists',
      );
      // Another vendor may use the same reference; a cancelled line frees it.
      expect(
        (
          await c.post(
            line({
              vendor_reference_number: 'DUP-1',
              vendor: { value: 'OTHER-V' },
              vendor_account: 'OTHER-ACC',
            }),
          )
        ).status,
      ).toBe(200);
      await c.api(`/acq/po-lines/${first.number}?reason=LIBRARY_CANCELLED`, { method: 'DELETE' });
      expect((await c.post(line({ vendor_reference_number: 'DUP-1' }))).status).toBe(200);
    });
    await withSandbox({ duplicateReference: 'accept' }, async (sb) => {
      const c = client(sb);
      await c.created(line({ vendor_reference_number: 'DUP-2' }));
      expect((await c.post(line({ vendor_reference_number: 'DUP-2' }))).status).toBe(200);
    });
  });

  it('checks DELETE reason against the cancellation reasons and keeps it out of an invented field', () =>
    withSandbox({}, async (sb) => {
      const c = client(sb);
      const a = await c.created(line());
      await refused(
        await c.api(`/acq/po-lines/${a.number}?reason=BORED`, { method: 'DELETE' }),
        '401872',
        'reason BORED',
      );
      expect(
        (await c.api(`/acq/po-lines/${a.number}?reason=LIBRARY_CANCELLED`, { method: 'DELETE' })).status,
      ).toBe(204);
      const got = (await c.get(a.number)) as unknown as Obj;
      expect(got.status).toEqual({ value: 'CANCELLED', desc: 'Cancelled' });
      expect(got).not.toHaveProperty('cancellation_reason');
    }));

  it('lets a seed rename a status code, so a client cannot get away with hard-coding it', async () => {
    const s = seed();
    s.institutions[0]!.codeTables = {
      poLineStatus: { ACTIVE: 'Active', INREVIEW: 'In Review', CLOSED: 'Closed', CANCELLED: 'Cancelled' },
      statusRoles: { inReview: 'INREVIEW' },
    };
    const sb = await startAlmaSandbox({ port: 0, seed: s, asyncDelayMs: ASYNC_MS, indexLagMs: 0 });
    try {
      const c = client(sb);
      const a = await c.created(line(), '?requires_manual_review=true');
      await sleep(ASYNC_MS + 100);
      expect((await c.get(a.number)).status).toEqual({ value: 'INREVIEW', desc: 'In Review' });
    } finally {
      await sb.close();
    }
  });
});
