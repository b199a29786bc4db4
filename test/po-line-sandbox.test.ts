/**
 * The PO line activities against the Alma sandbox over HTTP (real client, real AlmaAccess): a line the ISBN
 * search cannot show is found in the vendor's list, so an attempt after an earlier POST does not post again;
 * readPoLineState reads Alma's status and label. (The fast tier drives the same logic with fakes:
 * po-line-activity.test.ts; the workflow under faults: exactly-once.test.ts.)
 */
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { poLineActivities, poLineBody } from '../src/activities/po-line';
import { poLineStateActivities } from '../src/activities/po-line-state';
import type { CreatedPoLine, PoLineReading, ReadPoLineInput } from '../src/activities/types';
import { parseConfig } from '../src/config/load';
import type { Config } from '../src/config/schema';
import type { Order } from '../src/contract/order';
import { validateOrder } from '../src/contract/validate';
import { AlmaAccess } from '../src/institution/alma-access';
import { createLogger } from '../src/logging';
import { renderConfirmation } from '../src/mail/render';
import { seedFromConfig, startAlmaSandbox, type AlmaSandbox } from '../src/sandbox/alma';
import { exampleConfigRaw, exampleOrder } from './harness/system';

jest.setTimeout(60_000);

const logger = createLogger({ level: 'silent', pretty: false });
const dataDir = path.join(os.tmpdir(), 'rto-po-line-sandbox');
let sb: AlmaSandbox;
let config: Config;
let alma: AlmaAccess;

beforeAll(async () => {
  const seed = seedFromConfig(parseConfig(exampleConfigRaw('http://127.0.0.1:1/almaws/v1', dataDir)));
  sb = await startAlmaSandbox({ port: 0, seed, bibDelayMs: 200, asyncDelayMs: 200, logger });
  const raw = exampleConfigRaw(sb.url, dataDir);
  raw.institutions['01UNIV_INST']!.settleTime = '200ms';
  raw.institutions['01UNIV_INST']!.requestTimeout = '2s';
  config = parseConfig(raw);
  alma = new AlmaAccess(config, logger);
});
afterAll(() => sb?.close());

let n = 0;
function order(): Order {
  const id = `SBX-${Date.now().toString(36)}-${++n}`;
  const r = validateOrder(exampleOrder('print-single-fund.json', id), config);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.order;
}

async function linesOf(orderId: string): Promise<{ number: string }[]> {
  const res = await fetch(`${sb.baseUrl}/_sandbox/state`);
  const s = (await res.json()) as { poLines: { number: string; vendor_reference_number?: string }[] };
  return s.poLines.filter((p) => p.vendor_reference_number === orderId);
}

function createPoLine(o: Order, prior?: { postedAt: number }): Promise<CreatedPoLine> {
  const env = new MockActivityEnvironment(
    { attempt: prior ? 2 : 1, heartbeatDetails: prior, heartbeatTimeoutMs: 60_000 },
    { logger: new DefaultLogger('ERROR') },
  );
  const { createPoLine: create } = poLineActivities({ alma, logger });
  return env.run<[{ account: string; order: Order }], CreatedPoLine, typeof create>(create, {
    account: 'UNIV-MAIN',
    order: o,
  });
}

test('an earlier POST’s line that the ISBN search does not show is found in the vendor’s list: no second POST', async () => {
  const o = order();
  const account = config.accounts['UNIV-MAIN']!;
  // The line an earlier attempt created, as the search cannot find it by this order's ISBN (it has none).
  const body = poLineBody(o, account) as unknown as { resource_metadata: Record<string, unknown> };
  body.resource_metadata = { title: 'Catalogued under another title' };
  const { client } = alma.forAccount('UNIV-MAIN');
  const earlier = await client.createPoLine(body as never, { profileCode: account.alma.profileCode });
  expect(
    (await client.searchPoLines(`issn_isbn~${o.item.isbn}`, { status: 'ALL' })).poLines.map((l) => l.number),
  ).not.toContain(earlier.number);

  const result = await createPoLine(o, { postedAt: Date.now() - 60_000 });
  expect(result).toMatchObject({ number: earlier.number, found: true });
  expect(await linesOf(o.orderId)).toHaveLength(1);
});

test('with no earlier POST the search decides, and one line is posted', async () => {
  const o = order();
  const result = await createPoLine(o);
  expect(result.found).toBe(false);
  expect(await linesOf(o.orderId)).toEqual([expect.objectContaining({ number: result.number })]);
  // An attempt after it (its marker fresh) finds it and does not post.
  const again = await createPoLine(o, { postedAt: Date.now() });
  expect(again).toMatchObject({ number: result.number, found: true });
  expect(await linesOf(o.orderId)).toHaveLength(1);
});

/** Reads the line until Alma has processed it: its status comes after the POST answer, as in Alma. */
async function readProcessed(poLine: string): Promise<PoLineReading> {
  const env = new MockActivityEnvironment();
  const { readPoLineState } = poLineStateActivities({ alma });
  for (let i = 0; ; i++) {
    const reading = await env.run<[ReadPoLineInput], PoLineReading, typeof readPoLineState>(readPoLineState, {
      account: 'UNIV-MAIN',
      poLine,
    });
    if (reading.status !== undefined || i >= 100) return reading;
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('readPoLineState: the status code and label Alma gives, In Review by the configured codes', async () => {
  const o = order();
  const created = await createPoLine(o);
  const reading = await readProcessed(created.number);
  expect(reading.status).toBeDefined();
  expect(reading.inReview).toBe(
    config.institutions['01UNIV_INST']!.statusCodes.inReview.includes(reading.status!),
  );
  expect(reading.statusDesc).toEqual(expect.any(String));
});

test('a line Alma puts In Review: the reading gives its alerts, and the confirmation says why, escaped', async () => {
  // A fund Alma does not know puts the line In Review (the PO line is created all the same).
  const o = { ...order(), fundDistribution: [{ fund: 'NO<SUCH>FUND', percent: 100 }] };
  const created = await createPoLine(o);
  const reading = await readProcessed(created.number);
  expect(reading.inReview).toBe(true);
  expect(reading.almaAlerts.length).toBeGreaterThan(0);
  const mail = renderConfirmation({
    order: o,
    accountName: 'Main',
    poLine: created.number,
    inReview: reading.inReview,
    alma: { ...reading, alerts: reading.almaAlerts },
  });
  expect(mail.subject).toMatch(/in review/);
  expect(mail.text).toContain(`Alma gives as the reason: ${reading.almaAlerts.join('; ')}`);
  expect(mail.html).not.toContain('NO<SUCH>FUND');
  expect(mail.html).toContain('NO&lt;SUCH&gt;FUND');
});
