/**
 * The duplicate check for real: the workflow on the run's Temporal server, the activity over HTTP to the Alma
 * sandbox. A second order of the same ISBN finds the first order's PO line (open, not this order's), goes on
 * with POSSIBLE_DUPLICATE naming it (account setting duplicateCheck: warn), and its PO line is linked to the
 * first line's bib (the one bib found) instead of Alma matching one itself.
 */
import { exampleOrder, startSystem, type TestSystem } from './harness/system';

jest.setTimeout(120_000);

let sys: TestSystem;
const run = Date.now().toString(36);

beforeAll(async () => {
  sys = await startSystem({
    configure: (raw) => {
      raw.accounts['UNIV-MAIN']!.duplicateCheck = 'warn';
    },
  });
});

afterAll(async () => {
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
