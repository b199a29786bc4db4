/**
 * `rto order submit` with codes named like JavaScript's own object members (`constructor`, `__proto__`,
 * `toString`) as account, library or shelving location: an invalid order (exit 2, the problem named), not a
 * crash (exit 1). Validation refuses before any workflow starts, so no workers are needed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ConfigFileInput } from '../src/config/schema';
import { exampleOrder, startSystem, type TestSystem } from './harness/system';
import { json, runRto } from './harness/rto';

jest.setTimeout(90_000);

const NAMES = ['constructor', '__proto__', 'toString'];
let sys: TestSystem;
let tmp: string;
let configFile: string;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'rto-intake-cli-keys-'));
  configFile = path.join(tmp, 'config.json');
  sys = await startSystem({
    withWorkers: false,
    configure: (raw: ConfigFileInput) => writeFileSync(configFile, JSON.stringify(raw, null, 2)),
  });
});

afterAll(async () => {
  await sys?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const cases: [string, string, (o: Record<string, unknown>, name: string) => void][] = [
  ['account', 'account', (o, name) => (o.account = name)],
  ['library', 'location.library', (o, name) => (o.location = { library: name, shelvingLocation: 'MATH' })],
  [
    'location',
    'location.shelvingLocation',
    (o, name) => (o.location = { library: 'MAIN', shelvingLocation: name }),
  ],
];

test.each(cases)('%s: each name is an invalid order (exit 2) naming %s', async (_what, at, edit) => {
  const runs = await Promise.all(
    NAMES.map((name) => {
      const order = exampleOrder('print-single-fund.json', `K-${Date.now().toString(36)}`);
      edit(order, name);
      return runRto({ sys, configFile, cwd: tmp }, ['order', 'submit', '-', '--json'], {
        stdin: JSON.stringify(order),
      });
    }),
  );
  runs.forEach((r, i) => {
    expect({ name: NAMES[i], code: r.code, stderr: r.stderr }).toEqual({
      name: NAMES[i],
      code: 2,
      stderr: '',
    });
    const out = json<{ stage: string; problems: { path: string; message: string }[] }>(r);
    expect(out.stage).toBe('REJECTED');
    expect(out.problems).toEqual([{ path: at, message: expect.stringContaining(NAMES[i]!) }]);
  });
});
