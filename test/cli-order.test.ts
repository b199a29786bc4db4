/**
 * `rto order ...` as people and scripts run it: the real command line in a child process, talking to the
 * run's Temporal server, with the test system's workers (and Alma sandbox) processing the orders. Each child
 * starts through tsx (seconds), so independent invocations run side by side.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { OrderNotFoundError } from '../src/client/orders';
import type { ConfigFileInput } from '../src/config/schema';
import { vendorStatusSignal } from '../src/order/messages';
import { ALERTS, STAGES } from '../src/order/types';
import { exampleOrder, startSystem, type TestSystem } from './harness/system';
import { INVALID_EXAMPLES } from './harness/fixtures';
import { json, runRto, startRto } from './harness/rto';
import { testAddress } from './harness/temporal';

jest.setTimeout(90_000);

const run = Date.now().toString(36);
const id = (name: string) => `C-${run}-${name}`;

let sys: TestSystem;
let tmp: string;
let configFile: string;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'rto-cli-order-'));
  configFile = path.join(tmp, 'config.json');
  // The command line must read exactly the configuration the workers use.
  sys = await startSystem({
    configure: (raw: ConfigFileInput) => writeFileSync(configFile, JSON.stringify(raw, null, 2)),
  });
});

afterAll(async () => {
  await sys?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

function rto(args: string[], opts: { stdin?: string; env?: Record<string, string> } = {}) {
  return runRto({ sys, configFile, cwd: tmp }, args, opts);
}

/** Resolves once the order's workflow exists (the command line has placed it). */
async function placed(account: string, orderId: string): Promise<void> {
  for (let i = 0; i < 240; i++) {
    try {
      await sys.orders.getStatus(account, orderId, { queryTimeoutMs: 1000 });
      return;
    } catch (e) {
      if (!(e instanceof OrderNotFoundError)) throw e;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`order ${orderId} was never placed`);
}

async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

function writeOrder(name: string, order: unknown): string {
  const file = path.join(tmp, name);
  writeFileSync(file, JSON.stringify(order));
  return file;
}

test('usage: --help exits 0 and prints it; an unknown command exits 1', async () => {
  const [top, order, unknownSub, unknownTop] = await Promise.all([
    rto(['--help']),
    rto(['order', '--help']),
    rto(['order', 'frobnicate']),
    rto(['frobnicate']),
  ]);
  expect(top.code).toBe(0);
  expect(top.stdout).toContain('Usage:');
  expect(top.stdout).toContain('rto order');
  expect(order.code).toBe(0);
  expect(order.stdout).toContain('rto order submit <file|->');
  expect(order.stdout).toContain('FOLLOWING_UP');
  expect(unknownSub.code).toBe(1);
  expect(unknownSub.stderr).toContain('unknown order command "frobnicate"');
  expect(unknownSub.stderr).toContain('Usage:');
  expect(unknownTop.code).toBe(1);
  expect(unknownTop.stderr).toContain('unknown command "frobnicate"');
});

describe('an order through the command line', () => {
  const orderId = id('LIFE');
  const stdinId = id('STDIN');

  test('submit --wait, an invalid order, an order on standard input, and an unknown order', async () => {
    const file = writeOrder('order.json', exampleOrder('print-single-fund.json', orderId));
    const invalidFile = path.join(INVALID_EXAMPLES, 'isbn-checksum.json');
    const [waited, invalid, fromStdin, unknown] = await Promise.all([
      rto(['order', 'submit', file, '--json', '--wait', 'FOLLOWING_UP', '--timeout', '60']),
      rto(['order', 'submit', invalidFile, '--json']),
      rto(['order', 'submit', '-', '--json'], { stdin: JSON.stringify(exampleOrder('ebook.json', stdinId)) }),
      rto(['order', 'status', 'UNIV-MAIN', id('NOBODY'), '--json']),
    ]);

    // --wait: one JSON object at FOLLOWING_UP, with the PO line and bib Alma made.
    expect(waited.code).toBe(0);
    const w = json(waited);
    expect(w).toMatchObject({
      workflowId: `order:UNIV-MAIN:${orderId}`,
      stage: 'FOLLOWING_UP',
      outcome: 'started',
      alerts: [],
    });
    expect(w.poLine).toMatch(/^POL-/);
    expect(w.mmsId).toMatch(/^\d+$/);
    const lines = (await sys.sandboxState()).poLines.filter((p) => p.vendor_reference_number === orderId);
    expect(lines.map((l) => l.number)).toEqual([w.poLine]);

    // Invalid: exit 2 and every problem, nothing started.
    expect(invalid.code).toBe(2);
    const i = json<{ stage: string; problems: { path: string; message: string }[] }>(invalid);
    expect(i.stage).toBe('REJECTED');
    expect(i.problems.length).toBeGreaterThan(0);
    for (const p of i.problems) {
      expect(typeof p.path).toBe('string');
      expect(typeof p.message).toBe('string');
    }
    expect(i.problems).toContainEqual({ path: 'item.isbn', message: 'check digit is wrong' });

    // Standard input: accepted, and the workers take it from there.
    expect(fromStdin.code).toBe(0);
    expect(json(fromStdin)).toMatchObject({ workflowId: `order:UNIV-MAIN:${stdinId}`, outcome: 'started' });
    const s = await sys.orders.waitForStage('UNIV-MAIN', stdinId, 'FOLLOWING_UP', { timeoutMs: 30_000 });
    expect(s.stage).toBe('FOLLOWING_UP');

    // Unknown order: exit 1 with a message naming it.
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(id('NOBODY'));
    expect(unknown.stdout).toBe('');
  });

  test('status and list show the order', async () => {
    // Visibility is eventually consistent: wait until the server lists the order before asking the CLI.
    for (let i = 0; i < 60; i++) {
      const listed = await sys.orders.listOrders({ account: 'UNIV-MAIN', stage: 'FOLLOWING_UP' });
      if (listed.some((o) => o.orderId === orderId)) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const [status, list, bad] = await Promise.all([
      rto(['order', 'status', 'UNIV-MAIN', orderId, '--json']),
      rto(['order', 'list', '--account', 'UNIV-MAIN', '--json']),
      rto(['order', 'list', '--limit', 'lots', '--json']),
    ]);
    expect(status.code).toBe(0);
    expect(json(status)).toMatchObject({
      orderId,
      account: 'UNIV-MAIN',
      stage: 'FOLLOWING_UP',
      workflowStatus: 'RUNNING',
    });

    expect(list.code).toBe(0);
    const orders = json<{ orderId: string; account: string; stage: string; poLine?: string }[]>(list);
    expect(Array.isArray(orders)).toBe(true);
    expect(orders.find((o) => o.orderId === orderId)).toMatchObject({
      account: 'UNIV-MAIN',
      stage: 'FOLLOWING_UP',
    });
    expect(orders.every((o) => o.account === 'UNIV-MAIN')).toBe(true);

    // A limit that is not a number is a usage error, not "no limit".
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--limit must be a positive number');
  });

  test('cancel --reason ends the order CANCELLED, in Alma too', async () => {
    const r = await rto([
      'order',
      'cancel',
      'UNIV-MAIN',
      orderId,
      '--reason',
      'LIBRARY_CANCELLED',
      '--comment',
      'gift copy',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const c = json<{ stage: string; history: { event: string; detail?: string }[] }>(r);
    expect(c.stage).toBe('CANCELLED');
    expect(c.history.some((h) => h.event === 'cancellation requested' && h.detail?.includes('cli'))).toBe(
      true,
    );
    const line = (await sys.sandboxState()).poLines.find((p) => p.vendor_reference_number === orderId);
    expect(line?.status?.value).toBe('CANCELLED');
    expect((await sys.orders.getStatus('UNIV-MAIN', orderId)).stage).toBe('CANCELLED');
    await sys.orders.cancelOrder('UNIV-MAIN', stdinId, { reason: 'TEST', comment: 'clean up' });
  });
});

describe('waiting, and what the waiting says', () => {
  test('--wait COMPLETED for an order that ends CANCELLED exits 1 and says what it ended as', async () => {
    const orderId = id('WAITCANCEL');
    const file = writeOrder('wait-cancel.json', exampleOrder('print-single-fund.json', orderId));
    const [waitedJson, waitedText] = [
      startRto({ sys, configFile, cwd: tmp }, [
        'order',
        'submit',
        file,
        '--wait',
        'COMPLETED',
        '--timeout',
        '60',
        '--json',
      ]),
      // The same order again, without --json: it waits on the order the first one placed.
      startRto({ sys, configFile, cwd: tmp }, [
        'order',
        'submit',
        file,
        '--wait',
        'COMPLETED',
        '--timeout',
        '60',
      ]),
    ];
    await placed('UNIV-MAIN', orderId);
    await sys.orders.waitForStage('UNIV-MAIN', orderId, 'FOLLOWING_UP', { timeoutMs: 30_000 });
    await new Promise((r) => setTimeout(r, 1000));
    const c = await sys.orders.cancelOrder('UNIV-MAIN', orderId, { reason: 'LIBRARY_CANCELLED', by: 'test' });
    expect(c.stage).toBe('CANCELLED');
    const [j, t] = await Promise.all([waitedJson.done, waitedText.done]);
    expect(j.code).toBe(1);
    expect(json(j)).toMatchObject({ stage: 'CANCELLED', workflowId: `order:UNIV-MAIN:${orderId}` });
    expect(j.stderr).toContain('did not reach COMPLETED');
    expect(j.stderr).toContain('CANCELLED');
    expect(t.code).toBe(1);
    expect(t.stderr).toMatch(/did not reach COMPLETED: it ended CANCELLED/);
  });

  test('--wait FOLLOWING_UP for an order cancelled before it got there exits 1', async () => {
    const orderId = id('EARLYCANCEL');
    const file = writeOrder('early-cancel.json', exampleOrder('print-single-fund.json', orderId));
    let r: Awaited<ReturnType<typeof rto>>;
    // The sandbox links the brief bib late: the order waits in AWAITING_BIB, and is cancelled there.
    await sys.sandboxPost('/limits', { bibDelayMs: 60_000 });
    try {
      const waited = startRto({ sys, configFile, cwd: tmp }, [
        'order',
        'submit',
        file,
        '--wait',
        'FOLLOWING_UP',
        '--timeout',
        '60',
        '--json',
      ]);
      await placed('UNIV-MAIN', orderId);
      await sys.orders.waitForStage('UNIV-MAIN', orderId, 'AWAITING_BIB', { timeoutMs: 30_000 });
      const c = await sys.orders.cancelOrder('UNIV-MAIN', orderId, {
        reason: 'LIBRARY_CANCELLED',
        by: 'test',
      });
      expect(c.stage).toBe('CANCELLED');
      r = await waited.done;
    } finally {
      await sys.sandboxPost('/limits', { bibDelayMs: 300 });
    }
    expect(r.code).toBe(1);
    expect(json(r)).toMatchObject({ stage: 'CANCELLED' });
    expect(r.stderr).toContain('did not reach FOLLOWING_UP');
  });

  test.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)(
    '%s while waiting says the order was placed and how to follow it, then exits %d',
    async (signal, code) => {
      const orderId = id(`SIG${signal.slice(3)}`);
      const file = writeOrder(`signal-${signal}.json`, exampleOrder('print-single-fund.json', orderId));
      const waiting = startRto({ sys, configFile, cwd: tmp }, [
        'order',
        'submit',
        file,
        '--wait',
        'COMPLETED',
        '--timeout',
        '120',
      ]);
      await placed('UNIV-MAIN', orderId);
      await new Promise((r) => setTimeout(r, 1500));
      waiting.child.kill(signal);
      const r = await waiting.done;
      expect(r.signal ?? null).toBeNull();
      expect(r.code).toBe(code);
      expect(r.stderr).toContain('was placed');
      expect(r.stderr).toContain(`order:UNIV-MAIN:${orderId}`);
      expect(r.stderr).toContain(`rto order status UNIV-MAIN ${orderId}`);
      // The order goes on without the command line.
      expect((await sys.orders.getStatus('UNIV-MAIN', orderId)).workflowStatus).toBe('RUNNING');
      await sys.orders.cancelOrder('UNIV-MAIN', orderId, { reason: 'LIBRARY_CANCELLED', by: 'test' });
    },
  );
});

test('unknown reason codes, alerts and stages are refused (exit 2) with the known ones, before any connection', async () => {
  // Nothing listens at this address: a command that connected first would fail with "cannot reach Temporal".
  const env = { TEMPORAL_ADDRESS: `127.0.0.1:${await closedPort()}` };
  const [reason, reasonOtherCase, alert, stage, wait, account] = await Promise.all([
    rto(['order', 'cancel', 'UNIV-MAIN', id('X'), '--reason', 'BOGUS'], { env }),
    rto(['order', 'cancel', 'UNIV-MAIN', id('X'), '--reason', 'library_cancelled'], { env }),
    rto(['order', 'list', '--alert', 'XYZ'], { env }),
    rto(['order', 'list', '--stage', 'NOPE'], { env }),
    rto(['order', 'submit', writeOrder('w.json', exampleOrder('ebook.json', id('W'))), '--wait', 'SOON'], {
      env,
    }),
    rto(['order', 'cancel', 'NO-SUCH-ACCOUNT', id('X'), '--reason', 'LIBRARY_CANCELLED'], { env }),
  ]);
  expect(reason.code).toBe(2);
  expect(reason.stderr).toContain('unknown reason "BOGUS"');
  expect(reason.stderr).toContain('LIBRARY_CANCELLED');
  expect(reason.stdout).toBe('');
  // A known code in another case is that code: the command goes on to connect (and fails: exit 1, not 2).
  expect(reasonOtherCase.code).toBe(1);
  expect(reasonOtherCase.stderr).not.toContain('unknown reason');
  expect(reasonOtherCase.stderr).toContain(`cannot reach Temporal at ${env.TEMPORAL_ADDRESS}`);
  expect(alert.code).toBe(2);
  expect(alert.stderr).toContain('unknown alert "XYZ"');
  for (const a of ALERTS) expect(alert.stderr).toContain(a);
  expect(alert.stdout).not.toContain('order(s)');
  for (const r of [stage, wait]) {
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown stage "(NOPE|SOON)"/);
    for (const s of STAGES) expect(r.stderr).toContain(s);
  }
  expect(account.code).toBe(2);
  expect(account.stderr).toContain('unknown account "NO-SUCH-ACCOUNT"');
  expect(account.stderr).toContain('UNIV-MAIN');
  for (const r of [reason, alert, stage, wait, account])
    expect(r.stderr).not.toContain('cannot reach Temporal');
});

/** ESC, BEL and CSI: what the vendor's text below carries. */
const CONTROLS = ['\u001b', '\u0007', '\u009b'];

test('vendor text reaches the terminal without control characters; JSON stays JSON', async () => {
  const orderId = id('ESCAPES');
  const evil = 'shipped soon\u001b]0;pwned\u0007\u001b[2J';
  const r = await sys.orders.placeOrder(exampleOrder('print-single-fund.json', orderId));
  expect(r.outcome).toBe('started');
  await sys.orders.waitForStage('UNIV-MAIN', orderId, 'FOLLOWING_UP', { timeoutMs: 30_000 });
  await sys.orders.handle('UNIV-MAIN', orderId).signal(vendorStatusSignal, {
    status: 'backordered',
    statusText: evil,
    source: { file: 'ordrsp\u001b[31m.edi\u009b2J', message: '1', segment: 3 },
  });
  for (let i = 0; i < 40; i++) {
    const s = await sys.orders.getStatus('UNIV-MAIN', orderId);
    if (s.vendorStatus) break;
    await new Promise((res) => setTimeout(res, 250));
  }
  const [text, asJson, list, unknown] = await Promise.all([
    rto(['order', 'status', 'UNIV-MAIN', orderId]),
    rto(['order', 'status', 'UNIV-MAIN', orderId, '--json']),
    rto(['order', 'list', '--account', 'UNIV-MAIN']),
    // Error messages quote what they were given.
    rto(['order', 'status', 'UNIV-MAIN', 'X\u001b]0;pwned\u0007\u001b[2J']),
  ]);
  expect(text.code).toBe(0);
  expect(text.stdout).toContain('shipped soon');
  expect(text.stdout).toContain('pwned');
  for (const c of CONTROLS) expect(text.stdout).not.toContain(c);
  expect(asJson.code).toBe(0);
  const j = json<{ vendorStatus: { statusText: string } }>(asJson);
  expect(j.vendorStatus.statusText).toBe(evil);
  expect(list.code).toBe(0);
  for (const c of CONTROLS) expect(list.stdout).not.toContain(c);
  expect(unknown.code).toBe(1);
  expect(unknown.stderr).toContain('pwned');
  for (const c of CONTROLS) expect(unknown.stderr).not.toContain(c);
  await sys.orders.cancelOrder('UNIV-MAIN', orderId, { reason: 'LIBRARY_CANCELLED', by: 'test' });
});

test('with only TEMPORAL_PORT set, rto talks to the Temporal server on that port', async () => {
  const orderId = id('PORT');
  await sys.orders.placeOrder(exampleOrder('ebook.json', orderId));
  const port = testAddress().split(':').pop()!;
  const r = await rto(['order', 'status', 'UNIV-MAIN', orderId, '--json'], {
    env: { TEMPORAL_ADDRESS: '', TEMPORAL_PORT: port },
  });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(json(r)).toMatchObject({ orderId, workflowId: `order:UNIV-MAIN:${orderId}` });
  await sys.orders.cancelOrder('UNIV-MAIN', orderId, { reason: 'LIBRARY_CANCELLED', by: 'test' });
});

test('the configuration file the CLI reads is the workers’ own', () => {
  const raw = JSON.parse(readFileSync(configFile, 'utf8')) as ConfigFileInput;
  expect(raw.institutions['01UNIV_INST']!.gateway).toBe(sys.sandbox.url);
});
