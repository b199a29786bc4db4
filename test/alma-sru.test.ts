/**
 * Alma's SRU target, both sides: the client (src/alma/sru.ts) reading real Alma answers (test/fixtures/alma/sru-*,
 * served over HTTP as they were received), refusing what is not an answer, escaping untrusted CQL terms; and the
 * sandbox's /view/sru/<inst> route (src/sandbox/alma/sru.ts) answering the same shape from its bibs, holdings and
 * portfolios, a title held without any PO line included.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import { MockActivityEnvironment } from '@temporalio/testing';
import { duplicateActivities } from '../src/activities/duplicates';
import { AlmaError } from '../src/alma/errors';
import { validateOrder } from '../src/contract/validate';
import { AlmaAccess } from '../src/institution/alma-access';
import { silentLogger } from '../src/logging';
import type { DuplicateFindings } from '../src/order/duplicates';
import { exampleConfigRaw, exampleOrder } from './harness/system';
import {
  createSruClient,
  cqlTerm,
  isbn13to10,
  isbnQuery,
  readSearchRetrieve,
  titleQuery,
} from '../src/alma/sru';
import { parseXml, elements } from '../src/alma/xml';
import { loadConfigFile, parseConfig } from '../src/config/load';
import { sruBaseUrl } from '../src/config/schema';
import {
  seedFromConfig,
  startAlmaSandbox,
  withDemoHeldTitles,
  type AlmaSandbox,
  type SandboxSeed,
} from '../src/sandbox/alma';

const fixture = (name: string) => readFileSync(path.join(__dirname, 'fixtures', 'alma', name), 'utf8');

describe('the client, on real Alma answers', () => {
  let server: http.Server;
  let base: string;
  let answer: { status: number; type: string; body: string } = { status: 200, type: 'text/xml', body: '' };
  const asked: URL[] = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      asked.push(new URL(req.url ?? '/', 'http://x'));
      res.writeHead(answer.status, { 'content-type': answer.type });
      res.end(answer.body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/view/sru/01PRI_INST`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));
  const serve = (body: string, status = 200, type = 'text/xml;charset=UTF-8') => {
    answer = { status, type, body };
  };

  test('a print record: MMS id from 001, its holding from AVA (library $b, location code $j, call number $d)', async () => {
    serve(fixture('sru-9972625743506421.xml'));
    const page = await createSruClient({ baseUrl: base }).searchRetrieve(isbnQuery('9782851948502'));
    expect(page.total).toBe(1);
    expect(page.records).toEqual([
      {
        mmsId: '9972625743506421',
        title: 'La scissiparité /',
        author: 'Bataille, Georges.',
        physical: [
          { library: 'recap', location: 'pa', callNumber: 'PQ2603.A695 S35 2012', availability: 'available' },
        ],
        electronic: [],
      },
    ]);
    // What went out: SRU 1.2 searchRetrieve in MARCXML, both ISBN forms, quoted.
    const q = asked.at(-1)!.searchParams;
    expect(q.get('version')).toBe('1.2');
    expect(q.get('operation')).toBe('searchRetrieve');
    expect(q.get('recordSchema')).toBe('marcxml');
    expect(q.get('query')).toBe('alma.isbn="9782851948502" or alma.isbn="2851948504"');
  });

  test('an electronic record: its portfolio from AVE (collection $m), no AVA', async () => {
    serve(fixture('sru-99121886293506421.xml'));
    const [rec] = (await createSruClient({ baseUrl: base }).searchRetrieve('alma.mms_id=99121886293506421'))
      .records;
    expect(rec?.mmsId).toBe('99121886293506421');
    expect(rec?.physical).toEqual([]);
    expect(rec?.electronic).toEqual([
      { collection: 'U.K. parliamentary papers.', availability: 'Available' },
    ]);
  });

  test('no hit: numberOfRecords 0 and <records/>', async () => {
    serve(fixture('sru-empty.xml'));
    expect(await createSruClient({ baseUrl: base }).searchRetrieve('alma.isbn="0"')).toEqual({
      total: 0,
      records: [],
    });
  });

  test('failures are AlmaErrors naming the problem: 404 (SRU not enabled), 503, a diagnostic, not SRU, too large', async () => {
    const client = createSruClient({ baseUrl: base, maxAnswerBytes: 64 * 1024 });
    const failure = async () => {
      try {
        await client.searchRetrieve('alma.isbn="1"');
      } catch (e) {
        return e as AlmaError;
      }
      throw new Error('no failure');
    };
    serve('Not Found', 404, 'text/plain');
    let e = await failure();
    expect(e).toBeInstanceOf(AlmaError);
    expect(e.message).toMatch(/HTTP 404 \(is SRU enabled for the institution/);
    expect(e).toMatchObject({ kind: 'invalid-request', retryable: false, path: '/view/sru/01PRI_INST' });
    serve('<html>busy</html>', 503, 'text/html');
    e = await failure();
    expect(e).toMatchObject({ kind: 'server', retryable: true, status: 503 });
    // Diagnostics come with HTTP 200: never "nothing found".
    serve(
      '<searchRetrieveResponse xmlns="http://www.loc.gov/zing/srw/"><version>1.2</version><numberOfRecords>0</numberOfRecords>' +
        '<diagnostics><diag:diagnostic xmlns:diag="http://www.loc.gov/zing/srw/diagnostic/"><diag:uri>info:srw/diagnostic/1/16</diag:uri>' +
        '<diag:details>alma.foo</diag:details><diag:message>Unsupported index</diag:message></diag:diagnostic></diagnostics></searchRetrieveResponse>',
    );
    e = await failure();
    expect(e.message).toContain('SRU diagnostic info:srw/diagnostic/1/16 Unsupported index: alma.foo');
    expect(e).toMatchObject({ kind: 'invalid-request', retryable: false });
    serve('<bibs total_record_count="0"/>');
    expect((await failure()).message).toContain('not an SRU searchRetrieveResponse');
    serve(`<x>${'a'.repeat(70 * 1024)}</x>`);
    expect((await failure()).message).toMatch(/over the 65536 bytes cap/);
  });

  test('CQL terms: untrusted text stays one literal term (quotes, backslashes, masking characters escaped)', () => {
    expect(cqlTerm('a "b" \\ c* d? ^e')).toBe('"a \\"b\\" \\\\ c\\* d\\? \\^e"');
    expect(cqlTerm('x\u0000y\n z')).toBe('"x y z"');
    expect(titleQuery('Eloquent JavaScript', 'Haverbeke, Marijn')).toBe(
      'alma.title all "Eloquent JavaScript" and alma.creator all "Haverbeke"',
    );
    expect(isbn13to10('9780262510875')).toBe('0262510871');
    expect(isbn13to10('9791090636071')).toBeUndefined();
    expect(isbnQuery('9791090636071')).toBe('alma.isbn="9791090636071"');
  });
});

describe('the sandbox route /view/sru/<inst>', () => {
  const config = loadConfigFile(path.join(__dirname, '..', 'config', 'example.json'));
  let sandbox: AlmaSandbox;
  const sru = (params: Record<string, string>, inst = '01UNIV_INST') =>
    fetch(`${sandbox.baseUrl}/view/sru/${inst}?${new URLSearchParams(params).toString()}`);
  const search = (query: string, extra: Record<string, string> = {}) =>
    sru({ version: '1.2', operation: 'searchRetrieve', recordSchema: 'marcxml', query, ...extra });

  beforeAll(async () => {
    const seed: SandboxSeed = withDemoHeldTitles(seedFromConfig(config, { env: {} }));
    seed.institutions.push({
      ...seed.institutions[0]!,
      code: 'NO_SRU',
      apiKey: 'other',
      sru: { enabled: false },
    });
    sandbox = await startAlmaSandbox({ port: 0, seed });
  });
  afterAll(() => sandbox?.close());

  test('a title held without any PO line: found by ISBN, no key needed, its holding as an AVA field, in the envelope of the real answers', async () => {
    const r = await search('alma.isbn="9780262510875"');
    expect(r.status).toBe(200);
    const text = await r.text();
    // The same shape as the real fixture: root, namespaces, records/record/recordData/record, identifier, position.
    const root = parseXml(text);
    const real = parseXml(fixture('sru-9972625743506421.xml'));
    const shape = (el: typeof root) => elements(el).map((c) => c.name);
    expect(shape(root)).toEqual(shape(real));
    expect(text).toContain('<searchRetrieveResponse xmlns="http://www.loc.gov/zing/srw/">');
    expect(text).toContain('<record xmlns="http://www.loc.gov/MARC21/slim">');
    const record = elements(elements(root, 'records')[0]!, 'record')[0]!;
    expect(shape(record)).toEqual(shape(elements(elements(real, 'records')[0]!, 'record')[0]!));
    const page = readSearchRetrieve(text);
    expect(page.total).toBe(1);
    expect(page.records[0]).toMatchObject({
      mmsId: expect.stringMatching(/^99\d+$/),
      title: 'Structure and interpretation of computer programs /',
      physical: [
        { library: 'MAIN', location: 'STACKS', callNumber: 'QA76.6 .A255 1996', availability: 'available' },
      ],
      electronic: [],
    });
    // No PO line leads to it: what the PO line search alone could never see.
    const key = { authorization: 'apikey sandbox-key-01UNIV_INST', accept: 'application/json' };
    const lines = (await (
      await fetch(`${sandbox.url}/acq/po-lines?q=issn_isbn~9780262510875&status=ALL_WITH_CLOSED`, {
        headers: key,
      })
    ).json()) as { total_record_count: number };
    expect(lines.total_record_count).toBe(0);
  });

  test('an ebook by title and creator: its portfolio as an AVE field; ISBN-10 and 13 forms are not equated', async () => {
    const page = readSearchRetrieve(
      await (await search('alma.title all "eloquent javascript" and alma.creator all "Haverbeke"')).text(),
    );
    expect(page.records.map((r) => r.electronic)).toEqual([
      [{ collection: 'ProQuest Ebook Central', availability: 'Available' }],
    ]);
    expect(readSearchRetrieve(await (await search('alma.isbn=0262510871')).text()).total).toBe(0);
    expect(readSearchRetrieve(await (await search(isbnQuery('9780262510875'))).text()).total).toBe(1);
    // A catalogue bib without inventory is found too, with neither field.
    const plain = readSearchRetrieve(await (await search('alma.isbn="9780262033848"')).text());
    expect(plain.records[0]).toMatchObject({ physical: [], electronic: [] });
  });

  test('the activity: with sru set the held title is a match naming its holding; without, nothing, and it says PO lines only', async () => {
    const check = async (sru: boolean): Promise<DuplicateFindings> => {
      const raw = exampleConfigRaw(sandbox.url, mkdtempSync(path.join(os.tmpdir(), 'rto-sru-')));
      if (!sru) delete raw.institutions['01UNIV_INST']!.sru;
      const config = parseConfig(raw);
      const v = validateOrder(exampleOrder('duplicate-held-no-po-line.json', `ACT-${String(sru)}`), config);
      if (!v.ok) throw new Error('example order invalid');
      const find = duplicateActivities({ alma: new AlmaAccess(config, silentLogger) }).findDuplicates;
      return new MockActivityEnvironment().run(find, { account: 'UNIV-MAIN', order: v.order });
    };
    const withSru = await check(true);
    expect(withSru.searched).toBe('ISBN 9780262510875 (PO lines and the catalogue)');
    expect(withSru.matches).toEqual([
      {
        mmsId: expect.stringMatching(/^99\d+$/),
        title: 'Structure and interpretation of computer programs /',
        held: ['held at MAIN/STACKS'],
      },
    ]);
    expect(withSru.mmsIds).toEqual([withSru.matches[0]!.mmsId]);
    const without = await check(false);
    expect(without.matches).toEqual([]);
    expect(without.searched).toContain('PO lines only: no SRU configured for 01UNIV_INST');
  });

  test('what the sandbox does not understand is an SRU diagnostic (HTTP 200), stricter than Alma', async () => {
    const diag = async (r: Response) => {
      expect(r.status).toBe(200);
      const text = await r.text();
      expect(() => readSearchRetrieve(text)).toThrow(/SRU diagnostic/);
      try {
        readSearchRetrieve(text);
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    };
    expect(await diag(await search('alma.all_for_ui="x"'))).toContain('/1/16 Unsupported index');
    expect(await diag(await search('(alma.isbn=1)'))).toContain('/1/13');
    expect(await diag(await search('alma.title all "unclosed'))).toContain('/1/14');
    expect(await diag(await search('alma.title=pro*'))).toContain('/1/28');
    expect(await diag(await search('alma.isbn="1"', { maximumRecords: '51' }))).toContain('/1/6');
    expect(await diag(await search('alma.isbn="1"', { recordSchema: 'dc' }))).toContain('/1/66');
    expect(
      await diag(await sru({ version: '1.1', operation: 'searchRetrieve', query: 'alma.isbn=1' })),
    ).toContain('/1/5');
    expect(await diag(await sru({ version: '1.2', operation: 'explain' }))).toContain('/1/4');
  });

  test('an institution without SRU, or unknown: 404; a fault under sru:GET: a 5xx; calls are counted', async () => {
    expect((await search('alma.isbn="9780262510875"')).status).toBe(200);
    expect(
      (await sru({ version: '1.2', operation: 'searchRetrieve', query: 'alma.isbn=1' }, 'NO_SRU')).status,
    ).toBe(404);
    expect(
      (await sru({ version: '1.2', operation: 'searchRetrieve', query: 'alma.isbn=1' }, 'NOPE')).status,
    ).toBe(404);
    await fetch(`${sandbox.baseUrl}/_sandbox/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ 'sru:GET': { error5xx: 1, status5xx: 503, body5xx: 'html' } }),
    });
    expect((await search('alma.isbn="9780262510875"')).status).toBe(503);
    await fetch(`${sandbox.baseUrl}/_sandbox/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    const state = (await (await fetch(`${sandbox.baseUrl}/_sandbox/state`)).json()) as {
      calls: Record<string, Record<string, number>>;
    };
    expect(state.calls['sru:GET']).toMatchObject({ '200': expect.any(Number), '404': 2, '503': 1 });
  });
});

describe('the setting institutions.<code>.sru', () => {
  const raw = () =>
    JSON.parse(readFileSync(path.join(__dirname, '..', 'config', 'example.json'), 'utf8')) as {
      institutions: Record<string, { sru?: string }>;
    };
  const withSru = (sru: string | undefined) => {
    const r = raw();
    if (sru === undefined) delete r.institutions['01UNIV_INST']!.sru;
    else r.institutions['01UNIV_INST']!.sru = sru;
    return parseConfig(r);
  };

  test('an Alma domain gets /view/sru/<institution code>; a whole base is kept; absent means PO lines only', () => {
    const inst = (c: ReturnType<typeof withSru>) => c.institutions['01UNIV_INST']!;
    expect(sruBaseUrl(inst(withSru('https://univ.alma.exlibrisgroup.com')), '01UNIV_INST')).toBe(
      'https://univ.alma.exlibrisgroup.com/view/sru/01UNIV_INST',
    );
    expect(
      sruBaseUrl(
        inst(withSru('https://univ.alma.exlibrisgroup.com/view/sru/01UNIV_NETWORK/')),
        '01UNIV_INST',
      ),
    ).toBe('https://univ.alma.exlibrisgroup.com/view/sru/01UNIV_NETWORK');
    expect(sruBaseUrl(inst(withSru(undefined)), '01UNIV_INST')).toBeUndefined();
  });

  test('refused: http: off loopback, another path, a query', () => {
    for (const bad of [
      'http://univ.alma.exlibrisgroup.com',
      'https://univ.alma.exlibrisgroup.com/almaws/v1',
      'https://univ.alma.exlibrisgroup.com/view/sru/X?version=1.2',
    ])
      expect(() => withSru(bad)).toThrow(/institutions\.01UNIV_INST\.sru/);
  });
});
