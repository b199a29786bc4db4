/**
 * What the HTTP intake writes to its log (pino, through Fastify): one line per request with its id, method,
 * path and status, and never the bearer token or the order's personal data (the librarian's name and
 * address, notes, interested users). The orders behind the intake are a stub (nothing here reaches Temporal).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { startHttpIntake } from '../src/client/http';
import type { OrderClient, PlaceResult } from '../src/client/orders';
import { createLogger } from '../src/logging';

const TOKEN = 'logging-intake-token-0123456789abcdef';
const ORDER = JSON.parse(
  readFileSync(path.join(__dirname, '..', 'examples', 'orders', 'print-single-fund.json'), 'utf8'),
) as Record<string, unknown>;

const orders = {
  placeOrder: (raw: { account: string; orderId: string }): Promise<PlaceResult> => {
    const workflowId = `order:${raw.account}:${raw.orderId}`;
    return Promise.resolve({
      outcome: 'started',
      workflowId,
      status: { workflowId, account: raw.account, orderId: raw.orderId, stage: 'VALIDATING', alerts: [] },
    });
  },
} as unknown as OrderClient;

test('requests are logged with their id and status; no token, no personal data', async () => {
  let written = '';
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      written += chunk.toString();
      cb();
    },
  });
  const logger = createLogger({ level: 'debug', destination, pretty: false });
  const intake = await startHttpIntake({ orders, token: TOKEN, port: 0, logger });
  const post = (body: unknown, token = TOKEN) =>
    fetch(`${intake.url}/orders`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        'x-request-id': 'log-1',
      },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  expect((await post(ORDER)).status).toBe(201);
  // Not JSON (a cut-off order): refused by the intake itself.
  expect((await post(JSON.stringify(ORDER).slice(0, 200))).status).toBe(422);
  expect((await post(ORDER, 'wrong-token-wrong-token-wrong-token!')).status).toBe(401);
  await intake.close();

  const lines = written
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const done = lines.filter((l) => l.msg === 'request completed');
  expect(done.map((l) => (l.res as { statusCode: number }).statusCode)).toEqual([201, 422, 401]);
  expect(done.every((l) => l.reqId === 'log-1')).toBe(true);
  const incoming = lines.find((l) => l.msg === 'incoming request')!;
  expect(incoming.req).toMatchObject({ method: 'POST', url: '/orders' });
  for (const secret of [
    TOKEN,
    'wrong-token-wrong-token',
    'Ana Lopez',
    'ana.lopez@univ.example.edu',
    'Prof. Ng',
    'ng-m',
  ])
    expect(written).not.toContain(secret);
});
