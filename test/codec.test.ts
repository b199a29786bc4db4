/**
 * Payload encryption: with a key, the order (the librarian's name and email, the title) never reaches the
 * server's history in readable form, while the workflow, its status query and the client work as before.
 */
import { orderWorkflow } from '../src/workflows';
import { randomBytes } from 'node:crypto';
import { Client } from '@temporalio/client';
import { AesGcmCodec, dataConverterFrom, PayloadKeyError } from '../src/temporal/codec';
import { exampleOrder, startSystem } from './harness/system';

jest.setTimeout(120_000);

const key = randomBytes(32).toString('base64');

test('orders run encrypted: the history holds no readable personal data, the status still reads', async () => {
  const dataConverter = dataConverterFrom({ RTO_PAYLOAD_KEY: key, RTO_PAYLOAD_KEY_ID: 'test-1' })!;
  const sys = await startSystem({ dataConverter });
  try {
    const orderId = `ENC-${Date.now().toString(36)}`;
    await sys.orders.placeOrder(exampleOrder('print-single-fund.json', orderId));
    const s = await sys.orders.waitForStage('UNIV-MAIN', orderId, 'FOLLOWING_UP', { timeoutMs: 60_000 });
    expect(s.stage).toBe('FOLLOWING_UP');
    expect(s.poLine).toMatch(/^POL-/);

    // A client without the key sees only ciphertext.
    const plain = new Client({ connection: sys.client.connection, namespace: 'default' });
    const raw = JSON.stringify(await plain.workflow.getHandle(s.workflowId).fetchHistory());
    const decoded = [...raw.matchAll(/"data":"([A-Za-z0-9+/=]+)"/g)]
      .map((m) => Buffer.from(m[1]!, 'base64').toString('latin1'))
      .join('\n');
    for (const secret of [
      'ana.lopez@univ.example.edu',
      'Ana Lopez',
      'Linear Algebra Done Right',
      'Hold for Prof. Ng',
    ]) {
      expect(raw).not.toContain(secret);
      expect(decoded).not.toContain(secret);
    }
    expect(raw).toContain(Buffer.from('binary/encrypted').toString('base64'));
    await sys.orders.cancelOrder('UNIV-MAIN', orderId, { reason: 'TEST' });

    // A failure quotes order data (here the rejected fund): its message is encrypted too.
    const badId = `${orderId}-BAD`;
    const bad = exampleOrder('print-single-fund.json', badId);
    (bad.fundDistribution as { fund: string }[])[0]!.fund = 'SECRETFUND9';
    const handle = await sys.client.workflow.start(orderWorkflow, {
      workflowId: `order:UNIV-MAIN:${badId}`,
      taskQueue: sys.taskQueue,
      args: [{ order: bad, account: 'UNIV-MAIN', orderId: badId }],
    });
    await expect(handle.result()).rejects.toThrow();
    const failedRaw = JSON.stringify(await plain.workflow.getHandle(handle.workflowId).fetchHistory());
    expect(failedRaw).not.toContain('SECRETFUND9');
    expect(failedRaw).toContain('Encoded failure');
    // With the key, the client reads the problem as usual.
    const status = await sys.orders.getStatus('UNIV-MAIN', badId);
    expect(status.stage).toBe('REJECTED');
    expect(JSON.stringify(status.problems)).toContain('SECRETFUND9');
  } finally {
    await sys.stop();
  }
});

test('keys rotate: a payload written with an old key still decodes; an unknown key is a clear error', async () => {
  const oldKey = randomBytes(32);
  const newKey = randomBytes(32);
  const before = new AesGcmCodec(new Map([['old', oldKey]]), 'old');
  const after = new AesGcmCodec(
    new Map([
      ['old', oldKey],
      ['new', newKey],
    ]),
    'new',
  );
  const payload = { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('{"a":1}') };
  const [sealed] = await before.encode([payload]);
  const [opened] = await after.decode([sealed!]);
  expect(Buffer.from(opened!.data!).toString()).toBe('{"a":1}');
  // Payloads from before encryption was switched on are read as they are.
  const [untouched] = await after.decode([payload]);
  expect(untouched).toBe(payload);
  const stranger = new AesGcmCodec(new Map([['other', randomBytes(32)]]), 'other');
  await expect(stranger.decode([sealed!])).rejects.toThrow(/key old/);
  expect(() => new AesGcmCodec(new Map([['short', Buffer.alloc(16)]]), 'short')).toThrow(PayloadKeyError);
});
