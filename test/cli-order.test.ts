/**
 * `rto order ...` as people and scripts run it: the real command line in a child process, talking to the
 * run's Temporal server, with the test system's workers (and Alma sandbox) processing the orders. Each child
 * starts through tsx (seconds), so independent invocations run side by side.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ConfigFileInput } from '../src/config/schema';
import { exampleOrder, startSystem, type TestSystem } from './harness/system';
import { INVALID_EXAMPLES } from './harness/fixtures';
import { json, runRto } from './harness/rto';

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

function rto(args: string[], opts: { stdin?: string } = {}) {
  return runRto({ sys, configFile, cwd: tmp }, args, opts);
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

test('the configuration file the CLI reads is the workers’ own', () => {
  const raw = JSON.parse(readFileSync(configFile, 'utf8')) as ConfigFileInput;
  expect(raw.institutions['01UNIV_INST']!.gateway).toBe(sys.sandbox.url);
});
