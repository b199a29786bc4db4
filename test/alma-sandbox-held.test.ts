/**
 * The sandbox's held titles (docs/alma-sandbox.md, "Held titles") over real HTTP: the demo seed built from the
 * example configuration, the closed lines found only with status ALL_WITH_CLOSED or CLOSED, the holdings and
 * portfolio routes, and the titles back after a reset and beside an older state file.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfigFile } from '../src/config/load';
import {
  DEMO_HELD_TITLES,
  seedFromConfig,
  startAlmaSandbox,
  withDemoHeldTitles,
  type AlmaSandbox,
  type SandboxSeed,
} from '../src/sandbox/alma';

const config = loadConfigFile(path.join(__dirname, '..', 'config', 'example.json'));
const KEY = 'sandbox-key-01UNIV_INST';
const seed = withDemoHeldTitles(seedFromConfig(config, { env: {} }));

let sandbox: AlmaSandbox;
let dir: string;

const api = (p: string, init: RequestInit = {}) =>
  fetch(`${sandbox.url}${p}`, {
    ...init,
    headers: { authorization: `apikey ${KEY}`, accept: 'application/json', ...init.headers },
  });
const get = async <T>(p: string) => {
  const r = await api(p);
  expect(r.status).toBe(200);
  return (await r.json()) as T;
};

interface Lines {
  total_record_count: number;
  po_line?: { number: string; status: { value: string }; resource_metadata: { mms_id: { value: string } } }[];
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'rto-held-'));
  sandbox = await startAlmaSandbox({ port: 0, seed, stateFile: path.join(dir, 'alma.json') });
});

afterAll(async () => {
  await sandbox?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('the example configuration gets all four titles; another gets only those its vendor accounts, funds and locations fit', () => {
  expect(seed.institutions[0]!.held?.map((t) => t.poLine?.number ?? t.isbn)).toEqual([
    'POL-8001',
    'POL-8002',
    'POL-8003',
    // Held without any PO line (migrated holdings at MAIN/STACKS).
    '9780262510875',
  ]);
  const bare: SandboxSeed = {
    institutions: [
      {
        code: 'OTHER',
        apiKey: 'k',
        perSecond: 1,
        daily: 1,
        vendors: [{ code: 'PQ-OASIS', accounts: ['PQ-OASIS-MAIN'] }],
        funds: ['GEN01'],
        libraries: { MAIN: ['MATH'] },
      },
    ],
  };
  // The ebook needs no location; the print title wants MAIN/STACKS, the one on order the LAW account.
  expect(withDemoHeldTitles(bare).institutions[0]!.held?.map((t) => t.poLine?.number)).toEqual(['POL-8002']);
});

test('closed lines are found with ALL_WITH_CLOSED or CLOSED, not with the default ALL; the open one with ALL', async () => {
  const [print, ebook, onOrder] = DEMO_HELD_TITLES.map((t) => t.isbn);
  expect((await get<Lines>(`/acq/po-lines?q=issn_isbn~${print}`)).total_record_count).toBe(0);
  const closed = await get<Lines>(`/acq/po-lines?q=issn_isbn~${print}&status=ALL_WITH_CLOSED`);
  expect(closed.po_line?.map((l) => [l.number, l.status.value])).toEqual([['POL-8001', 'CLOSED']]);
  expect((await get<Lines>(`/acq/po-lines?q=issn_isbn~${ebook}&status=CLOSED`)).po_line?.[0]?.number).toBe(
    'POL-8002',
  );
  const open = await get<Lines>(`/acq/po-lines?q=issn_isbn~${onOrder}`);
  expect(open.po_line?.map((l) => [l.number, l.status.value])).toEqual([['POL-8003', 'ACTIVE']]);
});

test('the bib of a held print title has its holding, the ebook its portfolio; a bib without inventory none', async () => {
  const line = async (n: string) =>
    (await get<{ resource_metadata: { mms_id: { value: string } } }>(`/acq/po-lines/${n}`)).resource_metadata
      .mms_id.value;
  const printBib = await line('POL-8001');
  const holdings = await get<{
    total_record_count: number;
    holding: { holding_id: string; library: { value: string }; location: { value: string }; link: string }[];
  }>(`/bibs/${printBib}/holdings`);
  expect(holdings.total_record_count).toBe(1);
  expect(holdings.holding[0]).toMatchObject({ library: { value: 'MAIN' }, location: { value: 'STACKS' } });
  expect(holdings.holding[0]!.link).toBe(
    `${sandbox.url}/bibs/${printBib}/holdings/${holdings.holding[0]!.holding_id}`,
  );
  const bib = await get<{ title: string; isbn: string }>(`/bibs/${printBib}`);
  expect(bib.isbn).toBe('9780465026562');

  const ebookBib = await line('POL-8002');
  const portfolios = await get<{
    total_record_count: number;
    portfolio: { linking_details: { url: string } }[];
  }>(`/bibs/${ebookBib}/portfolios`);
  expect(portfolios.total_record_count).toBe(1);
  expect(portfolios.portfolio[0]!.linking_details.url).toMatch(/^https:\/\//);
  expect((await get<{ total_record_count: number }>(`/bibs/${ebookBib}/holdings`)).total_record_count).toBe(
    0,
  );
  const onOrder = await line('POL-8003');
  const none = await get<Record<string, unknown>>(`/bibs/${onOrder}/holdings`);
  expect(none.total_record_count).toBe(0);
  expect(none.holding).toBeUndefined();
  // XML as well, and an MMS id Alma does not hold is refused as GET /bibs/{mms_id} refuses it.
  const xml = await api(`/bibs/${printBib}/holdings`, { headers: { accept: 'application/xml' } });
  expect(await xml.text()).toMatch(/<holdings total_record_count="1"><holding>/);
  expect((await api('/bibs/99999999906421/holdings')).status).toBe(400);
});

test('a reset brings the held titles back; a state file from before them gets them beside its lines', async () => {
  const cancel = await api('/acq/po-lines/POL-8003?reason=LIBRARY_CANCELLED', { method: 'DELETE' });
  expect(cancel.status).toBe(204);
  expect((await get<Lines>('/acq/po-lines/POL-8003')) as unknown).toMatchObject({
    status: { value: 'CANCELLED' },
  });
  await fetch(`${sandbox.baseUrl}/_sandbox/reset`, { method: 'POST' });
  expect((await get<Lines>('/acq/po-lines/POL-8003')) as unknown).toMatchObject({
    status: { value: 'ACTIVE' },
  });

  // An older state file: one line of its own, none of the held titles.
  await sandbox.close();
  const old = path.join(dir, 'old.json');
  writeFileSync(
    old,
    JSON.stringify({
      version: 1,
      institutions: {
        '01UNIV_INST': {
          poLines: {
            'POL-10001': {
              data: { number: 'POL-10001', status: { value: 'ACTIVE' } },
              createdAt: 0,
              bibDueAt: null,
            },
          },
          nextPoLine: 10002,
        },
      },
    }),
  );
  sandbox = await startAlmaSandbox({ port: 0, seed, stateFile: old });
  expect((await api('/acq/po-lines/POL-10001')).status).toBe(200);
  expect((await api('/acq/po-lines/POL-8001')).status).toBe(200);
});
