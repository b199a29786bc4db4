/**
 * The duplicate check for real: the workflow on the run's Temporal server, the activity over HTTP to the Alma
 * sandbox. A second order of the same ISBN finds the first order's PO line (open, not this order's), goes on
 * with POSSIBLE_DUPLICATE naming it (account setting duplicateCheck: warn), and its PO line is linked to the
 * first line's bib (the one bib found) instead of Alma matching one itself. A title the institution holds
 * without any PO line (the demo's migrated print copy) is found through the catalogue (SRU): warn names the
 * holding, hold waits in HELD; a failing SRU search is said in the alert and, as a failing PO line search, counts
 * as a possible duplicate.
 */
import { poLineBody } from '../src/activities/po-line';
import { startHttpIntake, type HttpIntake } from '../src/client/http';
import { OrderNotHeldError } from '../src/client/orders';
import { validateOrder } from '../src/contract/validate';
import { DEMO_HELD_TITLES } from '../src/sandbox/alma';
import { exampleOrder, startSystem, type TestSystem } from './harness/system';

jest.setTimeout(120_000);

let sys: TestSystem;
let intake: HttpIntake;
const TOKEN = 'duplicate-check-test-token-8c1f2a';
const release = (account: string, orderId: string) =>
  fetch(`${intake.url}/orders/${account}/${encodeURIComponent(orderId)}/release`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}` },
  });
const run = Date.now().toString(36);

beforeAll(async () => {
  sys = await startSystem({
    // The demo's title held without a PO line (migrated holdings at MAIN/STACKS).
    editSeed: (seed) => {
      seed.institutions[0]!.held = DEMO_HELD_TITLES.filter((t) => !t.poLine);
    },
    configure: (raw) => {
      raw.accounts['UNIV-MAIN']!.duplicateCheck = 'warn';
      raw.accounts['UNIV-LAW']!.duplicateCheck = 'hold';
    },
  });
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

test('warn: a second order of the same ISBN goes on with POSSIBLE_DUPLICATE naming the open PO line, linked to its bib', async () => {
  const firstId = `DUP-${run}-1`;
  await sys.orders.placeOrder(exampleOrder('print-single-fund.json', firstId));
  const first = await sys.orders.waitForStage('UNIV-MAIN', firstId, 'FOLLOWING_UP', { timeoutMs: 60_000 });
  expect(first.stage).toBe('FOLLOWING_UP');
  // The first order found nothing but itself: the check does not count an order's own line.
  expect(first.alerts).not.toContain('POSSIBLE_DUPLICATE');
  expect(first.mmsId).toMatch(/^\d+$/);

  const secondId = `DUP-${run}-2`;
  await sys.orders.placeOrder(exampleOrder('print-single-fund.json', secondId));
  const second = await sys.orders.waitForStage('UNIV-MAIN', secondId, 'FOLLOWING_UP', { timeoutMs: 60_000 });
  expect(second.stage).toBe('FOLLOWING_UP');
  expect(second.alerts).toContain('POSSIBLE_DUPLICATE');
  const alert = second.history?.find((h) => h.event === 'alert POSSIBLE_DUPLICATE');
  expect(alert?.detail).toContain(`PO line ${first.poLine!}`);
  expect(alert?.detail).toContain(`bib ${first.mmsId!}`);

  // Alma has two lines (warn buys), the second linked to the first one's bib.
  const state = await sys.sandboxState();
  const line = state.poLines.find((p) => p.vendor_reference_number === secondId);
  expect(line?.resource_metadata?.mms_id?.value).toBe(first.mmsId);
  expect(second.mmsId).toBe(first.mmsId);
});

test('hold: a second order of the same ISBN waits in HELD, nothing bought, until staff release it', async () => {
  const firstId = `DUPH-${run}-1`;
  await sys.orders.placeOrder(exampleOrder('law-library-eur.json', firstId));
  const first = await sys.orders.waitForStage('UNIV-LAW', firstId, 'FOLLOWING_UP', { timeoutMs: 60_000 });
  expect(first.stage).toBe('FOLLOWING_UP');
  // Not held: nothing to release.
  await expect(sys.orders.releaseOrder('UNIV-LAW', firstId, { by: 'test' })).rejects.toBeInstanceOf(
    OrderNotHeldError,
  );

  const secondId = `DUPH-${run}-2`;
  await sys.orders.placeOrder(exampleOrder('law-library-eur.json', secondId));
  const held = await sys.orders.waitForStage('UNIV-LAW', secondId, 'HELD', { timeoutMs: 60_000 });
  expect(held.stage).toBe('HELD');
  expect(held.alerts).toEqual(['POSSIBLE_DUPLICATE']);
  expect(
    (await sys.sandboxState()).poLines.filter((p) => p.vendor_reference_number === secondId),
  ).toHaveLength(0);

  // Over HTTP, as staff tools would: 409 for an order not held, 404 for none, 200 for the held one.
  expect((await release('UNIV-LAW', firstId)).status).toBe(409);
  expect((await release('UNIV-LAW', `${secondId}-none`)).status).toBe(404);
  const answer = await release('UNIV-LAW', secondId);
  expect(answer.status).toBe(200);
  expect(((await answer.json()) as { stage: string }).stage).not.toBe('HELD');
  const after = await sys.orders.waitForStage('UNIV-LAW', secondId, 'FOLLOWING_UP', { timeoutMs: 60_000 });
  expect(after.stage).toBe('FOLLOWING_UP');
  expect(after.mmsId).toBe(first.mmsId);
  expect(
    (await sys.sandboxState()).poLines.filter((p) => p.vendor_reference_number === secondId),
  ).toHaveLength(1);
});

test('the PO line body carries the one bib found as resource_metadata.mms_id, and none otherwise', () => {
  const v = validateOrder(exampleOrder('print-single-fund.json', 'BODY-1'), sys.config);
  if (!v.ok) throw new Error('example order invalid');
  const acc = sys.config.accounts['UNIV-MAIN']!;
  expect(poLineBody(v.order, acc, '991234').resource_metadata.mms_id).toEqual({ value: '991234' });
  expect(poLineBody(v.order, acc).resource_metadata.mms_id).toBeUndefined();
});

const sicp = (orderId: string, account = 'UNIV-MAIN') => {
  const o = exampleOrder('duplicate-held-no-po-line.json', orderId);
  if (account === 'UNIV-MAIN') return o;
  return {
    ...o,
    account,
    fundDistribution: [{ fund: 'LAW-GEN', percent: 100 }],
    location: { library: 'LAW', shelvingLocation: 'STACKS' },
    listPrice: { amount: '65.00', currency: 'EUR' },
  };
};

test('warn: a title held without any PO line is found in the catalogue (SRU): POSSIBLE_DUPLICATE names the holding, the line links to its bib', async () => {
  const state0 = await sys.sandboxState();
  const bibs = state0.bibs as { mms_id: string; holdings?: { callNumber?: string }[] }[];
  const heldBib = bibs.find((b) => b.holdings?.some((h) => h.callNumber === 'QA76.6 .A255 1996'));
  expect(heldBib).toBeDefined();
  // No PO line leads to it.
  expect(state0.poLines.filter((p) => p.resource_metadata?.mms_id?.value === heldBib!.mms_id)).toEqual([]);
  const id = `SRU-${run}-W`;
  await sys.orders.placeOrder(sicp(id));
  const o = await sys.orders.waitForStage('UNIV-MAIN', id, 'FOLLOWING_UP', { timeoutMs: 60_000 });
  expect(o.alerts).toContain('POSSIBLE_DUPLICATE');
  const alert = o.history?.find((h) => h.event === 'alert POSSIBLE_DUPLICATE');
  expect(alert?.detail).toContain(`bib ${heldBib!.mms_id} held at MAIN/STACKS`);
  expect(alert?.detail).toContain('held title(s) without a matching PO line');
  expect(alert?.detail).toContain('(PO lines and the catalogue)');
  expect(o.mmsId).toBe(heldBib!.mms_id);
  const line = (await sys.sandboxState()).poLines.find((p) => p.vendor_reference_number === id);
  expect(line?.resource_metadata?.mms_id?.value).toBe(heldBib!.mms_id);
});

test('hold: the same held title, ordered for another library, waits in HELD with nothing bought', async () => {
  const id = `SRU-${run}-H`;
  await sys.orders.placeOrder(sicp(id, 'UNIV-LAW'));
  const held = await sys.orders.waitForStage('UNIV-LAW', id, 'HELD', { timeoutMs: 60_000 });
  expect(held.alerts).toEqual(['POSSIBLE_DUPLICATE']);
  expect(held.history?.find((h) => h.event === 'alert POSSIBLE_DUPLICATE')?.detail).toContain(
    'held at MAIN/STACKS',
  );
  expect((await sys.sandboxState()).poLines.filter((p) => p.vendor_reference_number === id)).toHaveLength(0);
  await sys.orders.cancelOrder('UNIV-LAW', id, { by: 'test', comment: 'held copy is enough' });
});

test('a failing SRU search is never hidden: warn goes on with the failure in the alert (as for a failing PO line search)', async () => {
  await sys.sandboxPost('/faults', { 'sru:GET': { error5xx: 1, status5xx: 503, body5xx: 'html' } });
  try {
    const id = `SRU-${run}-F`;
    await sys.orders.placeOrder(exampleOrder('ebook.json', id));
    const o = await sys.orders.waitForStage('UNIV-MAIN', id, 'FOLLOWING_UP', { timeoutMs: 60_000 });
    expect(o.alerts).toContain('POSSIBLE_DUPLICATE');
    const detail = o.history?.find((h) => h.event === 'alert POSSIBLE_DUPLICATE')?.detail ?? '';
    expect(detail).toContain('the duplicate check could not be made');
    expect(detail).toContain('the catalogue search (SRU) failed');
    expect(detail).toContain('HTTP 503');
    expect(detail).toContain('the PO line search found nothing');
    // The page Alma's front sent is not quoted.
    expect(detail).not.toContain('Tomcat');
  } finally {
    await sys.sandboxPost('/faults', {});
  }
});

test('an ebook without ISBN: the catalogue is searched by title and author, the held print copy found', async () => {
  const id = `SRU-${run}-T`;
  const base = exampleOrder('duplicate-held-no-po-line.json', id) as { item: Record<string, unknown> };
  const { isbn: _isbn, ...item } = base.item;
  const { location: _location, ...rest } = base as Record<string, unknown>;
  await sys.orders.placeOrder({ ...rest, item: { ...item, format: 'ebook' } });
  const o = await sys.orders.waitForStage('UNIV-MAIN', id, 'FOLLOWING_UP', { timeoutMs: 60_000 });
  const detail = o.history?.find((h) => h.event === 'alert POSSIBLE_DUPLICATE')?.detail ?? '';
  expect(detail).toContain(
    'the title "Structure and Interpretation of Computer Programs" (PO lines and the catalogue)',
  );
  expect(detail).toContain('held at MAIN/STACKS');
});
