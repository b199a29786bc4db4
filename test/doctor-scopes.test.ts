/**
 * The doctor on a key with too few permissions and on a relay that would refuse the credentials. The key is
 * played by a gateway in front of the real sandbox that answers what Alma answers a key without an area
 * (400 UNAUTHORIZED, "API-key not defined or not configured to allow this API") and passes the rest on.
 */
import { mkdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { parseConfig } from '../src/config/load';
import { loadSettings } from '../src/config/settings';
import { reportLines, runDoctor } from '../src/doctor';
import { budgetFinding, LOW_DAILY_CALLS } from '../src/doctor/alma';
import { reportOf } from '../src/doctor/report';
import { exampleConfigRaw, startSystem, type TestSystem } from './harness/system';

jest.setTimeout(120_000);

let sys: TestSystem;
beforeAll(async () => {
  sys = await startSystem({ withWorkers: false });
  for (const acc of ['UNIV-MAIN', 'UNIV-LAW'])
    for (const kind of ['edi', 'marc'])
      mkdirSync(path.join(sys.dataDir, 'vendor', acc, kind), { recursive: true });
});
afterAll(async () => {
  await sys?.stop();
});

/** A gateway refusing, as for a key without them, the requests `refuse` picks; the others go to the sandbox. */
async function limitedGateway(
  refuse: (method: string, path: string) => boolean,
  answer: (method: string, path: string) => unknown = () => undefined,
) {
  const target = new URL(sys.sandbox.url);
  const server = http.createServer((req, res) => {
    const p = (req.url ?? '').replace(/^\/almaws\/v1/, '').split('?')[0]!;
    const own = answer(req.method ?? 'GET', p);
    if (own !== undefined) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(own));
      return;
    }
    if (refuse(req.method ?? 'GET', p)) {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          errorsExist: true,
          errorList: {
            error: [
              {
                errorCode: 'UNAUTHORIZED',
                errorMessage: 'API-key not defined or not configured to allow this API.',
                trackingId: 'unknown',
              },
            ],
          },
          result: null,
        }),
      );
      return;
    }
    const up = http.request(
      { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/almaws/v1`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

test('a read-only key without Bibs: each missing area is a problem naming the key setting', async () => {
  const gw = await limitedGateway((method, p) => method !== 'GET' || p.startsWith('/bibs'));
  try {
    const config = parseConfig(exampleConfigRaw(gw.url, sys.dataDir));
    const report = await runDoctor({
      config,
      settings: loadSettings({ SMTP_PORT: String(sys.catcher.port) }),
      account: 'UNIV-MAIN',
    });
    expect(report.ok).toBe(false);
    const areas = report.findings.filter((f) => f.check === 'alma.area');
    const outcome = Object.fromEntries(areas.map((f) => [f.message.split(':')[0], f.outcome]));
    expect(outcome).toEqual({
      'Acquisitions read': 'ok',
      'Acquisitions read/write': 'problem',
      'Bibs read': 'problem',
      'Bibs read/write': 'problem',
      'Configuration read': 'ok',
    });
    for (const f of areas.filter((x) => x.outcome === 'problem')) {
      expect(f.setting).toBe('institutions.01UNIV_INST.apiKey');
      expect(f.fix).toMatch(/Developer Network/);
    }
    // The account's own checks still ran (they only read).
    expect(report.findings.find((f) => f.check === 'alma.vendor')!.outcome).toBe('ok');
  } finally {
    await gw.close();
  }
});

test('SMTP credentials towards a relay without STARTTLS: a problem naming SMTP_SECURE / SMTP_ALLOW_PLAIN_AUTH', async () => {
  const config = parseConfig(exampleConfigRaw(sys.sandbox.url, sys.dataDir));
  const settings = loadSettings({
    SMTP_PORT: String(sys.catcher.port),
    SMTP_USER: 'rto',
    SMTP_PASSWORD: 'pw-secret',
  });
  const report = await runDoctor({ config, settings, account: 'UNIV-LAW' });
  const tls = report.findings.find((f) => f.check === 'smtp.tls')!;
  expect(tls).toMatchObject({ outcome: 'problem', setting: 'SMTP_SECURE, SMTP_ALLOW_PLAIN_AUTH' });
  expect(report.ok).toBe(false);
  expect(JSON.stringify(report)).not.toContain('pw-secret');
  // Allowed by name, the same relay is fine.
  const allowed = await runDoctor({
    config,
    settings: loadSettings({
      SMTP_PORT: String(sys.catcher.port),
      SMTP_USER: 'rto',
      SMTP_ALLOW_PLAIN_AUTH: 'true',
    }),
    account: 'UNIV-LAW',
  });
  expect(allowed.findings.find((f) => f.check === 'smtp.tls')).toBeUndefined();
  expect(allowed.ok).toBe(true);
});

test('codes against code tables: a missing or disabled code names its setting, an unknown table cannot be checked', async () => {
  const tables: Record<string, { code: string; enabled: boolean }[]> = {
    PurchaseType: [
      { code: 'PRINTED_BOOK_OT', enabled: true },
      { code: 'ELECTRONIC_TITLE_OT', enabled: false },
    ],
    PhysicalMaterialType: [{ code: 'BOOK', enabled: true }],
    AcquisitionMethod: [{ code: 'PURCHASE', enabled: true }],
  };
  const gw = await limitedGateway(
    () => false,
    (method, p) => {
      const m = /^\/conf\/code-tables\/(.+)$/.exec(p);
      const rows = m && tables[m[1]!];
      return method === 'GET' && rows
        ? { name: m[1], row: rows.map((r) => ({ ...r, description: r.code })) }
        : undefined;
    },
  );
  try {
    const config = parseConfig(exampleConfigRaw(gw.url, sys.dataDir));
    const report = await runDoctor({
      config,
      settings: loadSettings({ SMTP_PORT: String(sys.catcher.port) }),
      account: 'UNIV-LAW',
    });
    const coded = Object.fromEntries(
      report.findings.filter((f) => f.check === 'alma.codeTable').map((f) => [f.setting, f.outcome]),
    );
    expect(coded).toEqual({
      'accounts.UNIV-LAW.alma.poLineType.print': 'ok',
      'accounts.UNIV-LAW.alma.poLineType.ebook': 'problem',
      'accounts.UNIV-LAW.alma.materialType': 'ok',
      'accounts.UNIV-LAW.alma.acquisitionMethod': 'problem',
      // No such table in this Alma: said, not failed.
      'accounts.UNIV-LAW.alma.cancellationReason': 'cannot-check',
    });
    const msg = (setting: string) => report.findings.find((f) => f.setting === setting)!.message;
    expect(msg('accounts.UNIV-LAW.alma.poLineType.ebook')).toMatch(
      /ELECTRONIC_TITLE_OT is disabled in Alma's code table PurchaseType/,
    );
    expect(msg('accounts.UNIV-LAW.alma.acquisitionMethod')).toMatch(
      /VENDOR_SYSTEM is not in .*AcquisitionMethod \(it has: PURCHASE\)/,
    );
    expect(msg('accounts.UNIV-LAW.alma.cancellationReason')).toMatch(/cannot check .*Alma answered/);
    expect(report.ok).toBe(false);
  } finally {
    await gw.close();
  }
});

test("the day's calls: a count is reported, a low one warns naming the budget setting, none said cannot be checked", () => {
  expect(budgetFinding('X', 5000)).toMatchObject({
    outcome: 'ok',
    message: '5000 Alma API calls are left today',
  });
  expect(budgetFinding('X', LOW_DAILY_CALLS - 1)).toMatchObject({
    outcome: 'warning',
    setting: 'institutions.X.budgetShare',
  });
  expect(budgetFinding('X', undefined).outcome).toBe('cannot-check');
  // A warning alone does not fail the doctor; its text shows the setting and the fix.
  const report = reportOf([budgetFinding('X', 3)], { X: 3 });
  expect(report.ok).toBe(true);
  expect(reportLines(report).join('\n')).toMatch(
    /warn X: only 3 Alma API calls[^]*setting: institutions\.X\.budgetShare[^]*fix: /,
  );
});
