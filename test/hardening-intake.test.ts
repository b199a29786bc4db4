/**
 * HTTP intake hardening (issue 11, §9): a cap on connections open at once, a deadline for a request's headers
 * and one for its body (a slow body with a valid token was held for 5 minutes), and a connection closed when
 * the answer comes before the request was read to its end. Raw sockets on loopback; the orders behind the
 * intake are a stub (nothing here reaches Temporal).
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import {
  DEFAULT_INTAKE_LIMITS,
  intakeLimitsFromSettings,
  startHttpIntake,
  type IntakeLimits,
} from '../src/client/http';
import type { OrderClient, PlaceResult } from '../src/client/orders';
import { loadSettings } from '../src/config/settings';
import { silentLogger } from '../src/logging';

const TOKEN = 'hardening-intake-token-0123456789abcdef';
const ORDER = readFileSync(path.join(__dirname, '..', 'examples', 'orders', 'print-single-fund.json'));

let placed = 0;
const orders = {
  placeOrder: (raw: { account: string; orderId: string }): Promise<PlaceResult> => {
    placed++;
    const workflowId = `order:${raw.account}:${raw.orderId}`;
    return Promise.resolve({
      outcome: 'started',
      workflowId,
      status: { workflowId, account: raw.account, orderId: raw.orderId, stage: 'VALIDATING', alerts: [] },
    });
  },
} as unknown as OrderClient;

async function intake(limits: Partial<IntakeLimits>) {
  return startHttpIntake({ orders, token: TOKEN, port: 0, logger: silentLogger, limits });
}

/** A raw connection: what the server wrote, and when it closed. */
function connect(port: number) {
  const socket = net.connect(port, '127.0.0.1');
  let received = '';
  socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
  socket.on('error', () => undefined);
  const opened = Date.now();
  const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now() - opened)));
  const ready = new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return { socket, ready, closed, received: () => received };
}

/** Resolves with the milliseconds until `p`, or with undefined when it takes longer than `ms`. */
const within = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<undefined>((r) => setTimeout(() => r(undefined), ms))]);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const head = (length: number, token = TOKEN) =>
  `POST /orders HTTP/1.1\r\nHost: intake\r\nAuthorization: Bearer ${token}\r\n` +
  `Content-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;

describe('the body deadline', () => {
  it('answers 408 to a body still dripping in at the deadline, and closes the connection', async () => {
    const srv = await intake({ bodyTimeoutMs: 400 });
    const c = connect(srv.port);
    await c.ready;
    c.socket.write(head(ORDER.length));
    // One byte every 50 ms: never idle, never done.
    let i = 0;
    const drip = setInterval(() => {
      if (i < ORDER.length && !c.socket.destroyed) c.socket.write(ORDER.subarray(i, ++i));
    }, 50);
    const ms = await within(c.closed, 5000);
    clearInterval(drip);
    c.socket.destroy();
    await srv.close();
    expect(ms).toBeDefined();
    expect(ms!).toBeGreaterThanOrEqual(350);
    expect(c.received()).toMatch(/^HTTP\/1\.1 408 /);
    expect(c.received()).toMatch(/\r\nconnection: close\r\n/i);
    expect(c.received()).toContain('"error":"the body did not arrive within 400 ms"');
    expect(placed).toBe(0);
  });

  it('takes a body that arrives in time', async () => {
    const srv = await intake({ bodyTimeoutMs: 2000 });
    const c = connect(srv.port);
    await c.ready;
    c.socket.write(head(ORDER.length));
    await sleep(300);
    c.socket.end(ORDER);
    await within(c.closed, 5000);
    await srv.close();
    expect(c.received()).toMatch(/^HTTP\/1\.1 201 /);
    expect(placed).toBe(1);
  });

  it('closes the connection after refusing a request whose body it did not read (401)', async () => {
    const srv = await intake({});
    const c = connect(srv.port);
    await c.ready;
    c.socket.write(head(ORDER.length, 'wrong-token-wrong-token-wrong-token'));
    c.socket.write(ORDER.subarray(0, 10));
    const ms = await within(c.closed, 3000);
    c.socket.destroy();
    await srv.close();
    expect(ms).toBeDefined();
    expect(c.received()).toMatch(/^HTTP\/1\.1 401 /);
    expect(c.received()).toMatch(/\r\nconnection: close\r\n/i);
  });
});

describe('the headers deadline', () => {
  it('closes a connection whose request line and headers do not arrive in time', async () => {
    const srv = await intake({ headersTimeoutMs: 400 });
    const c = connect(srv.port);
    await c.ready;
    c.socket.write('POST /orders HTTP/1.1\r\nHost: intake\r\n');
    const ms = await within(c.closed, 5000);
    c.socket.destroy();
    await srv.close();
    expect(ms).toBeDefined();
    expect(ms!).toBeGreaterThanOrEqual(350);
  });
});

describe('the connection cap', () => {
  it('closes connections over the cap as they come, and takes new ones when others are gone', async () => {
    const srv = await intake({ maxConnections: 2 });
    const held = [connect(srv.port), connect(srv.port)];
    await Promise.all(held.map((c) => c.ready));
    await sleep(100);
    const third = connect(srv.port);
    expect(await within(third.closed, 2000)).toBeDefined();
    expect(third.received()).toBe('');
    // The two held are still open.
    expect(held.every((c) => !c.socket.destroyed)).toBe(true);
    held[0]!.socket.destroy();
    await held[0]!.closed;
    await sleep(100);
    const health = await fetch(`${srv.url}/healthz`, { headers: { connection: 'close' } });
    expect(health.status).toBe(200);
    held[1]!.socket.destroy();
    await srv.close();
  });
});

describe('the limits as settings', () => {
  it('has defaults, reads the settings, and refuses nonsense', async () => {
    expect(DEFAULT_INTAKE_LIMITS).toEqual({
      maxConnections: 256,
      headersTimeoutMs: 10_000,
      bodyTimeoutMs: 10_000,
    });
    expect(intakeLimitsFromSettings(loadSettings({}))).toEqual({});
    expect(
      intakeLimitsFromSettings(
        loadSettings({
          RTO_HTTP_MAX_CONNECTIONS: '32',
          RTO_HTTP_HEADERS_TIMEOUT_MS: '5000',
          RTO_HTTP_BODY_TIMEOUT_MS: '15000',
        }),
      ),
    ).toEqual({ maxConnections: 32, headersTimeoutMs: 5000, bodyTimeoutMs: 15_000 });
    expect(() => loadSettings({ RTO_HTTP_BODY_TIMEOUT_MS: '0' })).toThrow(/RTO_HTTP_BODY_TIMEOUT_MS/);
    await expect(intake({ maxConnections: 0 })).rejects.toThrow(/maxConnections must be a positive integer/);
  });
});
