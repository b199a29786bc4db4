/**
 * `rto doctor` against the Alma sandbox, the mail catcher and local vendor folders: the example configuration
 * passes; a deliberately broken one has every broken setting named; the command's exit codes and --json shape.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ConfigFileInput } from '../src/config/schema';
import { loadSettings } from '../src/config/settings';
import { parseConfig } from '../src/config/load';
import { runDoctor, type DoctorReport, type Finding } from '../src/doctor';
import { freePort } from '../src/temporal/dev-server';
import { exampleConfigRaw, startSystem, type TestSystem } from './harness/system';
import { json, runRto } from './harness/rto';

jest.setTimeout(120_000);

const SANDBOX_KEY = 'sandbox-key-01UNIV_INST';
let sys: TestSystem;

beforeAll(async () => {
  sys = await startSystem({ withWorkers: false });
});
afterAll(async () => {
  await sys?.stop();
});

/** The vendor folders the example configuration names (as `rto start` creates them). */
function makeVendorFolders(dataDir: string, except: string[] = []) {
  for (const acc of ['UNIV-MAIN', 'UNIV-LAW'])
    for (const kind of ['edi', 'marc'])
      if (!except.includes(`${acc}/${kind}`))
        mkdirSync(path.join(dataDir, 'vendor', acc, kind), { recursive: true });
}

const smtp = (port: number) => loadSettings({ SMTP_HOST: '127.0.0.1', SMTP_PORT: String(port) });

const problems = (r: DoctorReport) => r.findings.filter((f) => f.outcome === 'problem');
const find = (r: DoctorReport, check: string, pred: (f: Finding) => boolean = () => true) =>
  r.findings.filter((f) => f.check === check && pred(f));

test('the example configuration passes on the sandbox', async () => {
  makeVendorFolders(sys.dataDir);
  const report = await runDoctor({ config: sys.config, settings: smtp(sys.catcher.port) });
  expect(problems(report)).toEqual([]);
  expect(report.ok).toBe(true);
  // Each kind of check was made, for both accounts.
  expect(find(report, 'alma.key')).toEqual([
    expect.objectContaining({ outcome: 'ok', institution: '01UNIV_INST' }),
  ]);
  expect(find(report, 'alma.area').map((f) => f.message)).toEqual([
    expect.stringMatching(/^Acquisitions read: allowed/),
    expect.stringMatching(/^Acquisitions read\/write: allowed \(Alma refused the probe/),
    expect.stringMatching(/^Bibs read: allowed/),
    expect.stringMatching(/^Bibs read\/write: allowed \(Alma refused the probe/),
    expect.stringMatching(/^Configuration read: allowed/),
  ]);
  for (const acc of ['UNIV-MAIN', 'UNIV-LAW']) {
    const mine = (f: Finding) => f.account === acc;
    expect(find(report, 'alma.vendor', mine)[0]!.outcome).toBe('ok');
    expect(find(report, 'alma.vendorAccount', mine)[0]!.outcome).toBe('ok');
    expect(find(report, 'alma.location', mine).every((f) => f.outcome === 'ok')).toBe(true);
    expect(find(report, 'files.edi', mine)[0]!.outcome).toBe('ok');
    expect(find(report, 'files.marc', mine)[0]!.outcome).toBe('ok');
  }
  expect(find(report, 'alma.fund', (f) => f.outcome === 'ok')).toHaveLength(5 + 2);
  expect(find(report, 'rules')).toEqual([expect.objectContaining({ outcome: 'ok', account: 'UNIV-MAIN' })]);
  // The sandbox has no code tables (yet): the checks say they cannot check, quoting Alma, and do not fail.
  for (const f of find(report, 'alma.codeTable'))
    if (f.outcome !== 'ok') {
      expect(f.outcome).toBe('cannot-check');
      expect(f.message).toMatch(/Alma answered/);
    }
  expect(find(report, 'smtp')[0]!.outcome).toBe('ok');
  expect(report.apiCallsLeft['01UNIV_INST']).toEqual(expect.any(Number));
  expect(find(report, 'alma.budget')[0]!.message).toMatch(/\d+ Alma API calls are left today/);
  expect(JSON.stringify(report)).not.toContain(SANDBOX_KEY);
  // Nothing changed in Alma: no PO line, the probes' targets do not exist.
  expect((await sys.sandboxState()).poLines).toEqual([]);
});

/** The example configuration with a wrong fund, location, vendor account, and rule. */
function broken(raw: ConfigFileInput) {
  const main = raw.accounts['UNIV-MAIN']!;
  main.funds = [...(main.funds ?? []), 'NOFUND9'];
  main.libraries!.MAIN!.locations.push('NOWHERE');
  main.fundLocationRules!.push({ library: 'MAIN', location: 'REF', funds: ['GHOST1'] });
  raw.accounts['UNIV-LAW']!.alma.vendorAccount = 'PQ-OASIS-NONE';
}

test('a broken configuration: each broken setting is named, with what to do', async () => {
  const raw = exampleConfigRaw(sys.sandbox.url, sys.dataDir);
  broken(raw);
  makeVendorFolders(sys.dataDir);
  const config = parseConfig(raw);
  const closed = await freePort();
  // The LAW account's MARC folder is missing.
  const dataDir = path.join(sys.dataDir, 'other');
  const law = config.accounts['UNIV-LAW']!;
  law.marc.source = { type: 'local', path: path.join(dataDir, 'vendor', 'UNIV-LAW', 'marc') };
  const report = await runDoctor({ config, settings: smtp(closed) });
  expect(report.ok).toBe(false);
  const settings = problems(report).map((f) => f.setting);
  expect(settings).toEqual(
    expect.arrayContaining([
      'accounts.UNIV-MAIN.funds',
      'accounts.UNIV-MAIN.libraries.MAIN.locations',
      'accounts.UNIV-MAIN.fundLocationRules[1]',
      'accounts.UNIV-LAW.alma.vendorAccount',
      'accounts.UNIV-LAW.marc.source',
      'SMTP_HOST, SMTP_PORT',
    ]),
  );
  const byCheck = (check: string) => problems(report).find((f) => f.check === check)!;
  expect(byCheck('alma.fund').message).toMatch(/NOFUND9/);
  expect(byCheck('alma.location').message).toMatch(/NOWHERE is not in library MAIN/);
  expect(byCheck('alma.vendorAccount').message).toMatch(/no account PQ-OASIS-NONE \(it has: /);
  expect(byCheck('files.marc').message).toMatch(/does not exist/);
  expect(byCheck('smtp').message).toMatch(/ECONNREFUSED/);
  expect(byCheck('rules').message).toMatch(/GHOST1/);
  for (const f of problems(report)) expect(f.fix).toBeTruthy();
  // The good parts still pass.
  expect(find(report, 'alma.vendor', (f) => f.account === 'UNIV-LAW')[0]!.outcome).toBe('ok');
  expect(find(report, 'files.edi', (f) => f.account === 'UNIV-LAW')[0]!.outcome).toBe('ok');
});

test('a wrong key names the institution key setting; the key is never printed', async () => {
  const raw = exampleConfigRaw(sys.sandbox.url, sys.dataDir);
  raw.institutions['01UNIV_INST']!.apiKey = { env: 'NO_SUCH_KEY_VAR', sandboxDefault: 'sandbox-wrong-key' };
  makeVendorFolders(sys.dataDir);
  const report = await runDoctor({ config: parseConfig(raw), settings: smtp(sys.catcher.port), env: {} });
  expect(report.ok).toBe(false);
  const key = find(report, 'alma.key')[0]!;
  expect(key).toMatchObject({ outcome: 'problem', setting: 'institutions.01UNIV_INST.apiKey' });
  expect(key.message).toMatch(/UNAUTHORIZED/);
  expect(find(report, 'alma').every((f) => f.outcome === 'cannot-check')).toBe(true);
  expect(JSON.stringify(report)).not.toContain('sandbox-wrong-key');
});

describe('the command', () => {
  function writeConfig(name: string, edit?: (raw: ConfigFileInput) => void): string {
    const raw = exampleConfigRaw(sys.sandbox.url, sys.dataDir);
    edit?.(raw);
    const file = path.join(sys.dataDir, name);
    writeFileSync(file, JSON.stringify(raw));
    return file;
  }

  test('exit 0 and a JSON report when all is well', async () => {
    makeVendorFolders(sys.dataDir);
    const configFile = writeConfig('good.json');
    const r = await runRto({ sys, configFile, cwd: sys.dataDir }, ['doctor', '--json'], {
      env: { SMTP_PORT: String(sys.catcher.port) },
    });
    expect(r.code).toBe(0);
    const report = json<DoctorReport>(r);
    expect(report).toMatchObject({
      ok: true,
      counts: {
        ok: expect.any(Number),
        problem: 0,
        warning: expect.any(Number),
        'cannot-check': expect.any(Number),
      },
      apiCallsLeft: { '01UNIV_INST': expect.any(Number) },
    });
    for (const f of report.findings) {
      expect(['ok', 'problem', 'warning', 'cannot-check']).toContain(f.outcome);
      expect(typeof f.check).toBe('string');
      expect(typeof f.message).toBe('string');
    }
    expect(r.stdout).not.toContain(SANDBOX_KEY);
  });

  test('exit 1 naming the settings when something is broken; one account; an unknown account is exit 2', async () => {
    makeVendorFolders(sys.dataDir);
    const configFile = writeConfig('broken.json', broken);
    const closed = await freePort();
    const r = await runRto({ sys, configFile, cwd: sys.dataDir }, ['doctor', 'UNIV-LAW'], {
      env: { SMTP_PORT: String(closed) },
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAIL UNIV-LAW: the vendor PQ-OASIS has no account PQ-OASIS-NONE/);
    expect(r.stdout).toMatch(/setting: accounts\.UNIV-LAW\.alma\.vendorAccount/);
    expect(r.stdout).toMatch(/setting: SMTP_HOST, SMTP_PORT/);
    expect(r.stdout).not.toMatch(/UNIV-MAIN/);
    expect(r.stdout).toMatch(/problems found/);

    const unknown = await runRto({ sys, configFile, cwd: sys.dataDir }, ['doctor', 'NOPE']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown account "NOPE"/);
  });
});
