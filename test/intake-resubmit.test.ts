/**
 * An order id placed again over HTTP with payload encryption on: the intake reads the existing order's content
 * through the client's data converter (the history holds only ciphertext) to say whether the new content is
 * the same. An intake without the key still answers 200 "existing", saying it could not compare.
 */
import { randomBytes } from 'node:crypto';
import { Client } from '@temporalio/client';
import { startHttpIntake } from '../src/client/http';
import { OrderClient } from '../src/client/orders';
import { dataConverterFrom } from '../src/temporal/codec';
import { exampleOrder, startSystem, type TestSystem } from './harness/system';

jest.setTimeout(120_000);

const TOKEN = 'intake-resubmit-token-7c1e';
const key = randomBytes(32).toString('base64');
let sys: TestSystem;
let intake: { url: string; close(): Promise<void> };
let keyless: { url: string; close(): Promise<void> };
const orderId = `R-${Date.now().toString(36)}`;

beforeAll(async () => {
  sys = await startSystem({
    dataConverter: dataConverterFrom({ RTO_PAYLOAD_KEY: key, RTO_PAYLOAD_KEY_ID: 'resubmit-1' })!,
  });
  intake = await startHttpIntake({
    orders: sys.orders,
    config: sys.config,
    token: TOKEN,
    port: 0,
    logger: sys.logger,
  });
  // The same server and task queue, but a client without the payload key.
  const plain = new Client({ connection: sys.client.connection, namespace: 'default' });
  const orders = new OrderClient(plain, { config: sys.config, taskQueue: sys.taskQueue });
  keyless = await startHttpIntake({ orders, token: TOKEN, port: 0, logger: sys.logger });
});

afterAll(async () => {
  await intake?.close();
  await keyless?.close();
  await sys?.stop();
});

async function place(url: string, order: unknown) {
  const r = await fetch(`${url}/orders`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(order),
  });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

/** The example order without emailConfirmation: UNIV-MAIN's default (true) applies. */
function original(): Record<string, unknown> {
  const o = exampleOrder('print-single-fund.json', orderId);
  delete o.emailConfirmation;
  return o;
}

test('the encrypted existing order is compared with the new content', async () => {
  expect((await place(intake.url, original())).status).toBe(201);

  // The same, with the account's default spelt out: the same order.
  const same = await place(intake.url, { ...original(), emailConfirmation: true });
  expect(same.status).toBe(200);
  expect(same.body).toMatchObject({ outcome: 'existing', sameContent: true });
  expect(same.body).not.toHaveProperty('warning');

  const changed = {
    ...original(),
    emailConfirmation: false,
    placedBy: { name: 'Ana Lopez', email: 'someone.else@univ.example.edu' },
  };
  const r = await place(intake.url, changed);
  expect(r.status).toBe(200);
  expect(r.body).toMatchObject({ outcome: 'existing', sameContent: false });
  expect(r.body.differences).toEqual(['emailConfirmation', 'placedBy.email']);
  expect(String(r.body.warning)).toContain('different content');
});

test('without the key the answer is still 200 "existing", saying the content could not be compared', async () => {
  const r = await place(keyless.url, original());
  expect(r.status).toBe(200);
  expect(r.body.outcome).toBe('existing');
  expect(r.body).not.toHaveProperty('sameContent');
  expect(String(r.body.warning)).toContain('could not be read');
});
