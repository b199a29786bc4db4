/**
 * `rto order check FILE [--alma] [--json]` (issue 12 §2): the dry run from a shell. Every contract and account
 * problem, readably or as JSON; exit 0 when the order would be taken, 1 otherwise; with --alma what the Alma
 * sandbox says, read only. No workers: nothing may start a workflow, and nothing does.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { ConfigFileInput } from '../src/config/schema';
import { exampleOrder, startSystem, type TestSystem } from './harness/system';
import { json, runRto } from './harness/rto';

jest.setTimeout(90_000);

let sys: TestSystem;
let tmp: string;
let configFile: string;
const run = Date.now().toString(36);

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'rto-order-check-'));
  configFile = path.join(tmp, 'config.json');
  sys = await startSystem({
    withWorkers: false,
    configure: (raw: ConfigFileInput) => {
      // UNIV-MAIN's funds plus one the sandbox's Alma does not have (it is seeded from the example configuration).
      const main = (raw.accounts as Record<string, { funds: string[] }>)['UNIV-MAIN']!;
      main.funds = [...main.funds, 'GHOST'];
      writeFileSync(configFile, JSON.stringify(raw, null, 2));
    },
  });
});

afterAll(async () => {
  await sys?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

function orderFile(
  name: string,
  edit: (o: Record<string, unknown>) => void = () => undefined,
): {
  file: string;
  orderId: string;
} {
  const orderId = `CHK-${run}-${name}`;
  const order = exampleOrder('print-single-fund.json', orderId);
  edit(order);
  const file = path.join(tmp, `${name}.json`);
  writeFileSync(file, JSON.stringify(order));
  return { file, orderId };
}

const rto = (args: string[]) => runRto({ sys, configFile, cwd: tmp }, ['order', 'check', ...args]);

async function noWorkflow(orderId: string) {
  await expect(sys.client.workflow.getHandle(`order:UNIV-MAIN:${orderId}`).describe()).rejects.toBeInstanceOf(
    WorkflowNotFoundError,
  );
}

test('a valid order: exit 0, saying so, creating nothing', async () => {
  const { file, orderId } = orderFile('OK');
  const r = await rto([file]);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain(
    `The order is valid: placing it would start the workflow order:UNIV-MAIN:${orderId}.`,
  );
  expect(r.stdout).toContain('Nothing was created.');
  await noWorkflow(orderId);
});

test('an invalid order: exit 1, each problem on its own line; --json gives the same problems', async () => {
  const { file, orderId } = orderFile('BAD', (o) => {
    o.quantity = 0;
    o.fundDistribution = [{ fund: 'm123', percent: 100 }];
    o.colour = 'red';
  });
  const r = await rto([file]);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('The order has 3 problem(s):');
  expect(r.stderr).toContain('  - quantity: must be at least 1');
  expect(r.stderr).toContain('  - colour: colour is not a known field');
  expect(r.stderr).toContain(
    '  - fundDistribution[0].fund: "m123" is not a fund of account UNIV-MAIN (did you mean "M123"? fund codes are case-sensitive)',
  );
  const j = await rto([file, '--json']);
  expect(j.code).toBe(1);
  const report = json<{ outcome: string; problems: { path: string }[] }>(j);
  expect(report.outcome).toBe('refused');
  expect(report.problems.map((p) => p.path).sort()).toEqual([
    'colour',
    'fundDistribution[0].fund',
    'quantity',
  ]);
  await noWorkflow(orderId);
});

test('a file that is not JSON: exit 1 naming the problem', async () => {
  const file = path.join(tmp, 'broken.json');
  writeFileSync(file, '{"orderId": ');
  const r = await rto([file, '--json']);
  expect(r.code).toBe(1);
  expect(json<{ problems: { path: string; message: string }[] }>(r).problems).toEqual([
    { path: '(order)', message: expect.stringContaining('not valid JSON') },
  ]);
});

test('--alma: what Alma says, read only; a fund Alma lacks is exit 1 naming it', async () => {
  const fine = orderFile('ALMA-OK');
  const ok = await rto([fine.file, '--alma']);
  expect({ code: ok.code, stderr: ok.stderr }).toEqual({ code: 0, stderr: '' });
  expect(ok.stdout).toContain('Alma: the funds, the vendor and its account are valid.');

  const ghost = orderFile('ALMA-GHOST', (o) => {
    o.location = { library: 'MAIN', shelvingLocation: 'STACKS' };
    o.fundDistribution = [{ fund: 'GHOST', percent: 100 }];
  });
  // The configuration knows the fund: without --alma it is valid.
  expect((await rto([ghost.file])).code).toBe(0);
  const r = await rto([ghost.file, '--alma']);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('Alma would refuse it (1 problem(s)):');
  expect(r.stderr).toContain('  - fundDistribution[0].fund: Alma has no fund GHOST that PO lines can use');
  const j = json<{ outcome: string; alma: { problems: unknown[]; openPoLines: unknown[] } }>(
    await rto([ghost.file, '--alma', '--json']),
  );
  expect(j.outcome).toBe('refused');
  expect(j.alma.problems).toHaveLength(1);
  expect(j.alma.openPoLines).toEqual([]);
  const lines = (await sys.sandboxState()).poLines;
  expect(lines).toEqual([]);
  await noWorkflow(ghost.orderId);
});

test('--alma when Alma cannot be reached: exit 1, saying so', async () => {
  const { file } = orderFile('ALMA-DOWN');
  const r = await runRto({ sys, configFile, cwd: tmp }, ['order', 'check', file, '--alma', '--json'], {
    env: { ALMA_API_KEY_01UNIV_INST: 'a-key-the-sandbox-refuses' },
  });
  expect(r.code).toBe(1);
  const report = json<{ outcome: string; almaError: string }>(r);
  expect(report.outcome).toBe('incomplete');
  expect(report.almaError).toMatch(/^Alma could not be asked: /);
  expect(r.stdout).not.toContain('a-key-the-sandbox-refuses');
});
