/**
 * The codec server: what the Temporal UI does with it, over HTTP. A real encrypted order's input and its status
 * query answer, fetched raw from Temporal (ciphertext), decode through the running server; the token, the
 * origin and plaintext payloads are treated as the protocol and the brief say.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { startCodecServer, type CodecServer } from '../src/codec/server';
import { codecServerOptionsFromSettings } from '../src/codec/options';
import { loadSettings } from '../src/config/settings';
import { dataConverterFrom } from '../src/temporal/codec';
import { exampleOrder, startSystem, type TestSystem } from './harness/system';

jest.setTimeout(120_000);

const KEY = randomBytes(32).toString('base64');
const OLD_KEY = randomBytes(32).toString('base64');
const TOKEN = randomBytes(24).toString('hex');
const UI = 'http://127.0.0.1:8233';
const env = {
  RTO_PAYLOAD_KEY: KEY,
  RTO_PAYLOAD_KEY_ID: 'k2',
  RTO_PAYLOAD_OLD_KEYS: `k1:${OLD_KEY}`,
  RTO_CODEC_TOKEN: TOKEN,
  RTO_CODEC_PORT: '0',
  RTO_CODEC_CORS_ORIGIN: UI,
};

type JsonPayloads = { payloads: { metadata?: Record<string, string>; data?: string }[] };

/** Payloads as the UI has them: proto3 JSON from Temporal's API (bytes as base64), made by protobufjs. */
function asUiJson(payloads: temporal.api.common.v1.IPayload[]): JsonPayloads {
  const msg = temporal.api.common.v1.Payloads.create({ payloads });
  return temporal.api.common.v1.Payloads.toObject(msg, { bytes: String }) as JsonPayloads;
}

const text = (b64: string | undefined) => Buffer.from(b64 ?? '', 'base64').toString('utf8');

let sys: TestSystem;
let codec: CodecServer;

beforeAll(async () => {
  const settings = loadSettings(env);
  sys = await startSystem({ dataConverter: dataConverterFrom(settings)! });
  codec = await startCodecServer(codecServerOptionsFromSettings(settings));
});
afterAll(async () => {
  await codec?.close();
  await sys?.stop();
});

function post(route: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${codec.url}${route}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-namespace': 'default',
      authorization: `Bearer ${TOKEN}`,
      origin: UI,
      ...headers,
    },
    body: JSON.stringify(body),
  });
}

test("an encrypted order's input and status query answer, raw from Temporal, decode through the server", async () => {
  const orderId = `CODEC-${Date.now().toString(36)}`;
  await sys.orders.placeOrder(exampleOrder('print-single-fund.json', orderId));
  const s = await sys.orders.waitForStage('UNIV-MAIN', orderId, 'FOLLOWING_UP', { timeoutMs: 60_000 });

  // What the UI gets from Temporal: no key, so ciphertext.
  const plain = new Client({ connection: sys.client.connection, namespace: 'default' });
  const history = await plain.workflow.getHandle(s.workflowId).fetchHistory();
  const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
  const input = asUiJson(started?.input?.payloads ?? []);
  expect(input.payloads.length).toBe(1);
  expect(text(input.payloads[0]!.metadata?.encoding)).toBe('binary/encrypted');
  expect(JSON.stringify(input)).not.toContain(Buffer.from('ana.lopez').toString('base64').slice(0, 8));

  const res = await post('/decode', input);
  expect(res.status).toBe(200);
  expect(res.headers.get('access-control-allow-origin')).toBe(UI);
  const decoded = (await res.json()) as JsonPayloads;
  expect(text(decoded.payloads[0]!.metadata?.encoding)).toBe('json/plain');
  const order = JSON.parse(text(decoded.payloads[0]!.data)) as { order: { orderId: string } };
  expect(order.order.orderId).toBe(orderId);
  expect(text(decoded.payloads[0]!.data)).toContain('ana.lopez@univ.example.edu');

  // The Queries tab: the status query's answer, raw, then through the codec server (here under /{namespace}/).
  const answer = await plain.connection.workflowService.queryWorkflow({
    namespace: 'default',
    execution: { workflowId: s.workflowId },
    query: { queryType: 'status' },
  });
  const rawStatus = asUiJson(answer.queryResult?.payloads ?? []);
  expect(text(rawStatus.payloads[0]!.metadata?.encoding)).toBe('binary/encrypted');
  const res2 = await post('/default/decode', rawStatus, { 'x-namespace': '' });
  expect(res2.status).toBe(200);
  const status = JSON.parse(text(((await res2.json()) as JsonPayloads).payloads[0]!.data)) as {
    stage: string;
    poLine: string;
  };
  expect(status.stage).toBe('FOLLOWING_UP');
  expect(status.poLine).toBe(s.poLine);

  // Encode then decode gives back what went in (the UI encodes signal inputs).
  const mine = asUiJson([
    { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('{"x":1}') },
  ]);
  const sealed = (await (await post('/encode', mine)).json()) as JsonPayloads;
  expect(text(sealed.payloads[0]!.metadata?.encoding)).toBe('binary/encrypted');
  expect(text(sealed.payloads[0]!.metadata?.['encryption-key-id'])).toBe('k2');
  const opened = (await (await post('/decode', sealed)).json()) as JsonPayloads;
  expect(opened).toEqual(mine);
  await sys.orders.cancelOrder('UNIV-MAIN', orderId, { reason: 'TEST' });
});

test('plaintext payloads (from before encryption) pass through untouched', async () => {
  const before = asUiJson([
    {
      metadata: { encoding: Buffer.from('json/plain'), other: Buffer.from([0, 255]) },
      data: Buffer.from('{"a":"é"}'),
    },
    { metadata: { encoding: Buffer.from('binary/null') } },
  ]);
  const res = await post('/decode', before);
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual(before);
});

test('a payload sealed with an old key still decodes; an unknown key is a clear refusal', async () => {
  const { AesGcmCodec } = await import('../src/temporal/codec');
  const old = new AesGcmCodec(new Map([['k1', Buffer.from(OLD_KEY, 'base64')]]), 'k1');
  const [sealed] = await old.encode([
    { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('"old"') },
  ]);
  const res = await post('/decode', asUiJson([sealed!]));
  expect(text(((await res.json()) as JsonPayloads).payloads[0]!.data)).toBe('"old"');

  const stranger = new AesGcmCodec(new Map([['k9', randomBytes(32)]]), 'k9');
  const [foreign] = await stranger.encode([{ metadata: {}, data: Buffer.from('x') }]);
  const refused = await post('/decode', asUiJson([foreign!]));
  expect(refused.status).toBe(400);
  expect(((await refused.json()) as { error: string }).error).toMatch(/key k9/);
});

test('a wrong or missing token is 401 and decodes nothing', async () => {
  const body = asUiJson([{ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('1') }]);
  for (const authorization of [`Bearer ${TOKEN}x`, TOKEN, `Bearer ${TOKEN.slice(1)}`, '']) {
    const res = await post('/decode', body, { authorization });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    const answer = (await res.json()) as { error: string; payloads?: unknown };
    expect(answer.payloads).toBeUndefined();
    expect(JSON.stringify(answer)).not.toContain(TOKEN);
  }
  // The scheme is case-insensitive.
  expect((await post('/decode', body, { authorization: `bearer ${TOKEN}` })).status).toBe(200);
});

test("CORS: the UI's origin is allowed (preflight answered, credentials allowed), any other gets no allow header", async () => {
  const preflight = (origin: string) =>
    fetch(`${codec.url}/decode`, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,x-namespace,authorization',
      },
    });
  const ok = await preflight(UI);
  expect(ok.status).toBe(204);
  expect(ok.headers.get('access-control-allow-origin')).toBe(UI);
  expect(ok.headers.get('access-control-allow-credentials')).toBe('true');
  expect(ok.headers.get('access-control-allow-methods')).toMatch(/POST/);
  for (const h of ['authorization', 'content-type', 'x-namespace'])
    expect(ok.headers.get('access-control-allow-headers')).toContain(h);

  const evil = await preflight('http://evil.example');
  expect(evil.status).toBe(403);
  expect(evil.headers.get('access-control-allow-origin')).toBeNull();
  const body = asUiJson([{ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('1') }]);
  const post2 = await post('/decode', body, { origin: 'http://127.0.0.1:9999' });
  expect(post2.status).toBe(403);
  expect(post2.headers.get('access-control-allow-origin')).toBeNull();
  expect(post2.headers.get('access-control-allow-credentials')).toBeNull();
});

test('refusals: another namespace, a body over the cap, not the protocol, other paths and methods', async () => {
  const body = asUiJson([{ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('1') }]);
  expect((await post('/decode', body, { 'x-namespace': 'other' })).status).toBe(403);
  expect((await post('/decode', { payloads: 'no' })).status).toBe(400);
  expect((await post('/decode', { payloads: [{ data: 'not base64!' }] })).status).toBe(400);
  expect((await post('/nowhere', body)).status).toBe(404);
  expect((await fetch(`${codec.url}/decode`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(
    405,
  );

  const small = await startCodecServer({
    ...codecServerOptionsFromSettings(loadSettings(env)),
    maxBodyBytes: 1024,
  });
  try {
    const big = asUiJson([
      { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.alloc(4096, 1) },
    ]);
    const res = await fetch(`${small.url}/decode`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify(big),
    });
    expect(res.status).toBe(413);
  } finally {
    await small.close();
  }
});

test('it will not start without a token off loopback, nor without a key', async () => {
  const settings = loadSettings({ ...env, RTO_CODEC_TOKEN: '' });
  await expect(startCodecServer(codecServerOptionsFromSettings(settings))).rejects.toThrow(/RTO_CODEC_TOKEN/);
  await expect(
    startCodecServer({
      ...codecServerOptionsFromSettings(settings, { allowNoToken: true }),
      host: '0.0.0.0',
    }),
  ).rejects.toThrow(/off this host/);
  await expect(
    startCodecServer({ ...codecServerOptionsFromSettings(settings), token: 'short' }),
  ).rejects.toThrow(/too short/);
  expect(() => codecServerOptionsFromSettings(loadSettings({ RTO_CODEC_TOKEN: TOKEN }))).toThrow(
    /encryption is off/,
  );

  // The command says so too, and exits 1.
  const rto = path.join(__dirname, '..', 'bin', 'rto.js');
  const ran = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = execFile(
      process.execPath,
      [rto, 'codec-server'],
      {
        env: { PATH: process.env.PATH, HOME: process.env.HOME, RTO_CODEC_TOKEN: TOKEN },
      },
      (_e, _out, stderr) => resolve({ code: child.exitCode, stderr }),
    );
  });
  expect(ran.code).toBe(1);
  expect(ran.stderr).toMatch(/payload encryption is off/);
  expect(ran.stderr).not.toContain(TOKEN);
});
