/**
 * `rto edi read FILE [--json]` as operators and outside checks run it: the real command line in a child
 * process, in an empty directory with no configuration and no Temporal (it touches nothing).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fixturePath } from './harness/fixtures';

const RTO = path.join(__dirname, '..', 'bin', 'rto.js');
let cwd: string;

beforeAll(() => {
  cwd = mkdtempSync(path.join(tmpdir(), 'rto-edi-read-'));
});
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

function rto(...args: string[]) {
  const r = spawnSync(process.execPath, [RTO, 'edi', 'read', ...args], {
    cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, RTO_CONFIG: '/nonexistent.json' },
    encoding: 'utf8',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const real = (...p: string[]) => fixturePath('edi', 'real', ...p);

test('a file every message of which is read: exit 0, one JSON object of the documented shape', () => {
  const file = real('evergreen', '14-OpenILS-Utils.t__edi_invoice.edi');
  const r = rto(file, '--json');
  expect(r.code).toBe(0);
  const out = JSON.parse(r.stdout) as Record<string, unknown> & { messages: Record<string, unknown>[] };
  expect(Object.keys(out)).toEqual(['file', 'sha256', 'messages', 'warnings', 'problems']);
  expect(out.file).toBe('14-OpenILS-Utils.t__edi_invoice.edi');
  expect(out.sha256).toBe(createHash('sha256').update(readFileSync(file)).digest('hex'));
  expect(out.warnings).toEqual([expect.stringContaining('messages count says 4 but there are 2')]);
  expect(out.messages).toHaveLength(2);
  const m = out.messages[0]!;
  expect(Object.keys(m)).toEqual([
    'type',
    'number',
    'kind',
    'date',
    'currency',
    'lines',
    'charges',
    'totals',
    'reconciliation',
    'warnings',
    'problems',
  ]);
  expect(m).toMatchObject({
    type: 'INVOIC',
    number: '5TST084026',
    kind: 'invoice',
    date: '2012-09-24',
    currency: 'USD',
    totals: { '86': '66.18' },
    reconciliation: { stated: '66.18', computed: '66.18', difference: '0.00', ok: true },
    problems: [],
  });
  expect(m.lines).toEqual([
    {
      line: '1',
      references: [{ qualifier: 'LI', value: '24/102' }],
      isbn: '9780446360272',
      quantity: 5,
      unitPrice: '2.93',
      amount: '14.65',
      currency: 'USD',
      status: null,
      statusText: null,
    },
    expect.objectContaining({ line: '2', amount: '33.84' }),
  ]);
  expect(m.charges).toEqual([
    { level: 'summary', kind: 'charge', amount: '2', currency: 'USD', description: 'DL' },
    { level: 'summary', kind: 'charge', amount: '12.3', currency: 'USD', description: 'CA' },
    { level: 'summary', kind: 'charge', amount: '3.39', currency: 'USD', description: 'TX' },
  ]);
  // Touches nothing: no .data, no inbox, nothing written where it ran.
  expect(readdirSync(cwd)).toEqual([]);
});

test('an order response: statuses, no charges, no reconciliation', () => {
  const r = rto(real('evergreen', 'ingram__ingram_437.ordrsp.edi'), '--json');
  expect(r.code).toBe(0);
  const out = JSON.parse(r.stdout) as { messages: { lines: Record<string, unknown>[] }[] };
  expect(out.messages[0]).toMatchObject({
    type: 'ORDRSP',
    kind: 'order-response',
    reconciliation: null,
    charges: [],
  });
  expect(out.messages[0]!.lines[0]).toMatchObject({
    status: expect.any(String),
    statusText: expect.any(String),
  });
});

test('a message that cannot be read: exit 1, listed with its problem', () => {
  const r = rto(real('koha', 'ordrsp3.CEA'), '--json');
  expect(r.code).toBe(1);
  const out = JSON.parse(r.stdout) as { messages: { type: string; problems: string[] }[] };
  expect(out.messages).toEqual([
    expect.objectContaining({
      type: 'ORDRSP',
      problems: [expect.stringContaining('typographic apostrophe')],
    }),
  ]);
});

test('one bad message among good ones: exit 1, the good ones still listed', () => {
  const file = path.join(cwd, '..', `rto-edi-read-${process.pid}.edi`);
  const good = readFileSync(real('koha', 'ordrsp1.CEA'), 'latin1');
  writeFileSync(
    file,
    good + good.replace("QTY+21:2'", "QTY+21:2'pia+1'").replace(/EDIQ2857776/g, 'EDIQ2'),
    'latin1',
  );
  try {
    const r = rto(file, '--json');
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as {
      messages: { type: string; problems: string[]; lines: unknown[] }[];
    };
    expect(out.messages.map((m) => [m.type, m.lines.length, m.problems.length])).toEqual([
      ['ORDRSP', 3, 0],
      ['ORDRSP', 0, 1],
    ]);
  } finally {
    rmSync(file, { force: true });
  }
});

test('not EDIFACT: exit 2; the human-readable form says why', () => {
  const r = rto(fixturePath('README.md'));
  expect(r.code).toBe(2);
  expect(r.stdout).toContain('problem: README.md: not an EDIFACT file');
  const missing = rto(path.join(cwd, 'nothing-here.edi'));
  expect(missing.code).toBe(1);
  expect(missing.stderr).toContain('cannot read');
});

test('the human-readable form: one line per line, charges, the reconciliation', () => {
  const r = rto(real('evergreen', 'brodart__1130B766274.inv'));
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('message 1: INVOIC B766274 (invoice, 2009-11-28, USD), 1 line(s)');
  expect(r.stdout).toContain('  summary charge: 6.6 USD (C&P)');
  expect(r.stdout).toContain('  reconciliation: stated 42.66, computed 42.66, difference 0.00: ok');
});
