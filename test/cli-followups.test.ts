/**
 * `rto edi run` and `rto overlay run` as operators run them: the real command line in a child process, talking
 * to the run's Temporal server, with the test system's workers reading UNIV-MAIN's vendor files from local
 * folders under the system's data directory (the example configuration's sources).
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { ConfigFileInput } from '../src/config/schema';
import { buildOrderResponse } from '../src/edi';
import type { EdiRunReport } from '../src/workflows/edi';
import type { OverlayRunReport } from '../src/workflows/overlay';
import { exampleOrder, startSystem, type TestSystem } from './harness/system';
import { json, runRto } from './harness/rto';
import { recordHistory } from './harness/histories';

jest.setTimeout(90_000);

const run = Date.now().toString(36);
const orderId = `CF-${run}-A`;

let sys: TestSystem;
let tmp: string;
let configFile: string;
let poLine: string;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'rto-cli-followups-'));
  configFile = path.join(tmp, 'config.json');
  // The command line reads exactly the configuration the workers use (local sources under the data dir).
  sys = await startSystem({
    configure: (raw: ConfigFileInput) => {
      raw.accounts['UNIV-MAIN']!.email!.confirmation = false;
      // UNIV-LAW gets its MARC records another way: no MARC source.
      delete (raw.accounts['UNIV-LAW']!.marc as { source?: unknown }).source;
      writeFileSync(configFile, JSON.stringify(raw, null, 2));
    },
  });
  // The vendor folders exist, as `rto start` makes them; the vendor has delivered nothing yet.
  for (const kind of ['edi', 'marc'] as const) mkdirSync(vendorDir(kind), { recursive: true });
  await sys.orders.placeOrder(exampleOrder('print-single-fund.json', orderId));
  const s = await sys.orders.waitForStage('UNIV-MAIN', orderId, 'FOLLOWING_UP', { timeoutMs: 60_000 });
  expect(s.stage).toBe('FOLLOWING_UP');
  poLine = s.poLine!;
});

afterAll(async () => {
  await sys?.orders
    .handle('UNIV-MAIN', orderId)
    .terminate('test done')
    .catch(() => undefined);
  await sys?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

function rto(args: string[], env: Record<string, string> = {}) {
  return runRto({ sys, configFile, cwd: tmp }, args, { env });
}

const vendorDir = (kind: 'edi' | 'marc') => path.join(sys.dataDir, 'vendor', 'UNIV-MAIN', kind);

/** A TCP port nobody listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

test('edi run picks up an ORDRSP from the local folder and reports the matched line', async () => {
  writeFileSync(
    path.join(vendorDir('edi'), 'ordrsp-cli.edi'),
    buildOrderResponse({
      sender: '5013546025078',
      recipient: '5412345000176',
      documentNumber: `R-${run}`,
      lines: [{ poLine, vendorRef: orderId, status: 'backordered', ordered: 1, expectedDate: '2027-03-01' }],
    }),
  );
  const r = await rto(['edi', 'run', 'UNIV-MAIN', '--json']);
  expect(r.code).toBe(0);
  const report = json<EdiRunReport>(r);
  expect(report.account).toBe('UNIV-MAIN');
  expect(report.files).toHaveLength(1);
  expect(report.files[0]).toMatchObject({ name: 'ordrsp-cli.edi', outcome: 'processed' });
  expect(report.files[0]!.report).toMatchObject({ lines: 1, matched: 1, unmatched: [] });
  // The order heard the news, and the file was archived out of the pick-up folder.
  const s = await sys.orders.getStatus('UNIV-MAIN', orderId);
  expect(s.vendorStatus?.status).toBe('backordered');
  expect(s.vendorStatus?.expectedDate).toBe('2027-03-01');
  expect(readdirSync(vendorDir('edi'))).not.toContain('ordrsp-cli.edi');
});

test('overlay run with no files reports zero records; an unknown account and --help', async () => {
  const [overlay, unknown, help, overlayHelp] = await Promise.all([
    rto(['overlay', 'run', 'UNIV-MAIN', '--json']),
    rto(['edi', 'run', 'NO-SUCH-ACCOUNT']),
    rto(['edi', '--help']),
    rto(['overlay', '--help']),
  ]);

  expect(overlay.code).toBe(0);
  expect(readdirSync(vendorDir('marc'))).toEqual([]);
  expect(json<OverlayRunReport>(overlay)).toMatchObject({
    account: 'UNIV-MAIN',
    read: 0,
    matched: 0,
    overlaid: 0,
    unmatched: 0,
    failed: 0,
    files: [],
  });

  expect(unknown.code).toBe(1);
  expect(unknown.stderr).toContain('NO-SUCH-ACCOUNT');
  expect(unknown.stderr).toContain('UNIV-MAIN');
  expect(unknown.stdout).toBe('');

  for (const h of [help, overlayHelp]) {
    expect(h.code).toBe(0);
    expect(h.stdout).toContain('rto edi run <account>');
    expect(h.stdout).toContain('rto overlay run <account>');
  }
});

test('mistakes in the command are reported without a Temporal server', async () => {
  // Nothing listens at this address: the command must not need the server to say what is wrong.
  const env = { TEMPORAL_ADDRESS: `127.0.0.1:${await closedPort()}` };
  const started = Date.now();
  const [unknown, noSource, noAccount, badSub] = await Promise.all([
    rto(['edi', 'run', 'NO-SUCH-ACCOUNT'], env),
    rto(['overlay', 'run', 'UNIV-LAW', '--json'], env),
    rto(['overlay', 'run'], env),
    rto(['edi', 'frobnicate', 'UNIV-MAIN'], env),
  ]);
  expect(unknown.code).toBe(1);
  expect(unknown.stderr).toContain('account "NO-SUCH-ACCOUNT" is not configured');
  expect(noSource.code).toBe(1);
  expect(noSource.stderr).toContain('account "UNIV-LAW" has no MARC source configured');
  expect(noSource.stdout).toBe('');
  for (const r of [noAccount, badSub]) {
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Usage:');
  }
  // No connection attempt (and its time-out) before the answer.
  expect(Date.now() - started).toBeLessThan(15_000);
});

test('edi run exits 1 when a file is rejected, and prints no control characters from vendor text', async () => {
  const dir = vendorDir('edi');
  // A name that clears the screen and sets the window title, on a file that cannot be read.
  const hostileName = '\u001b[2J\u001b]0;pwned\u0007broken.edi';
  writeFileSync(path.join(dir, hostileName), 'this is not EDIFACT');
  // An order response whose PO line reference (and so the unmatched line's reason) carries escape sequences.
  const ordrsp = buildOrderResponse({
    sender: '5013546025078',
    recipient: '5412345000176',
    documentNumber: `R-ESC-${run}`,
    lines: [{ poLine: 'POL-QQQ[31mRED', status: 'accepted', ordered: 1 }],
  });
  writeFileSync(
    path.join(dir, 'ordrsp-esc.edi'),
    Buffer.from(ordrsp.toString('latin1').replace(/QQQ/g, '\u001b'), 'latin1'),
  );
  // A name refused as unsafe (a line break), carrying a C1 control that JSON escaping lets through.
  writeFileSync(path.join(dir, 'evil\n\u009b2J.edi'), 'x');
  try {
    const r = await rto(['edi', 'run', 'UNIV-MAIN']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('broken.edi: rejected');
    // The reference is not of a PO line's form: not looked up, and shown with its escape made visible.
    expect(r.stdout).toContain('LI POL-\\x1b[31mRED');
    expect(r.stdout).toContain('refused file name');
    // Progress went to stderr while it ran: each file as it was done.
    expect(r.stderr).toContain('EDI pick-up for UNIV-MAIN: started');
    expect(r.stderr).toMatch(/\[\d\/2\] .*broken\.edi: rejected/);
    for (const out of [r.stdout, r.stderr])
      // eslint-disable-next-line no-control-regex -- finding control characters is the point
      expect(out).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
  } finally {
    for (const n of readdirSync(dir)) rmSync(path.join(dir, n), { recursive: true, force: true });
  }
});

test('edi retry reads a rejected file again once its cause is fixed; a file it cannot find is said', async () => {
  const dir = vendorDir('edi');
  const good = buildOrderResponse({
    sender: '5013546025078',
    recipient: '5412345000176',
    documentNumber: `R-RETRY-${run}`,
    lines: [{ poLine, vendorRef: orderId, status: 'shipped', ordered: 1, despatched: 1 }],
  }).toString('latin1');
  // Broken in transit: a segment tag in lower case. The message cannot be read; the file is rejected.
  const broken = good.replace('QTY+12', 'qty+12');
  expect(broken).not.toBe(good);
  writeFileSync(path.join(dir, 'retry-me.edi'), broken, 'latin1');
  const first = await rto(['edi', 'run', 'UNIV-MAIN', '--json']);
  expect(first.code).toBe(1);
  expect(json<EdiRunReport>(first).files[0]).toMatchObject({ name: 'retry-me.edi', outcome: 'rejected' });
  const rejected = readdirSync(path.join(dir, 'rejected')).filter((n) => n.endsWith('-retry-me.edi'));
  expect(rejected).toHaveLength(1);
  // Read again as it is: the same bytes, the same answer (exit 1), and it goes back to rejected/.
  const same = await rto(['edi', 'retry', 'UNIV-MAIN', 'retry-me.edi', '--json']);
  expect(same.code).toBe(1);
  expect(json<EdiRunReport>(same).files[0]).toMatchObject({
    name: 'retry-me.edi',
    outcome: 'rejected',
    detail: `read again, from rejected/${rejected[0]}`,
  });
  expect(same.stderr).toContain('EDI pick-up for UNIV-MAIN: started');
  // The operator mends the file where it lies in rejected/ and asks again, by the name it has there.
  writeFileSync(path.join(dir, 'rejected', rejected[0]!), good, 'latin1');
  const mended = await rto(['edi', 'retry', 'UNIV-MAIN', rejected[0]!]);
  expect(mended.code).toBe(0);
  expect(mended.stdout).toContain('retry-me.edi: processed (read again, from rejected/');
  expect((await sys.orders.getStatus('UNIV-MAIN', orderId)).vendorStatus?.status).toBe('shipped');
  expect(readdirSync(dir)).not.toContain('retry-me.edi');
  expect(readdirSync(path.join(dir, 'rejected')).filter((n) => n.endsWith('-retry-me.edi'))).toEqual([]);
  const runs = await sys.client.workflow.list({
    query: `WorkflowId STARTS_WITH 'edi-pickup:UNIV-MAIN:manual-'`,
  });
  for await (const wf of runs) {
    if (wf.workflowId.endsWith('-retry') && wf.status.name === 'COMPLETED') {
      await recordHistory(sys.client, wf.workflowId, 'edi-pickup-read-again');
      break;
    }
  }
  const missing = await rto(['edi', 'retry', 'UNIV-MAIN', 'no-such-file.edi']);
  expect(missing.code).toBe(1);
  expect(missing.stdout).toContain(
    'no-such-file.edi: not found (no file no-such-file.edi in the pick-up folder or in rejected/)',
  );
  const usage = await rto(['edi', 'retry', 'UNIV-MAIN']);
  expect(usage.code).toBe(1);
  expect(usage.stderr).toContain('rto edi retry <account> <file>');
});

test('sandbox vendor-files writes what the vendor would send; edi run and overlay run take the order to the end', async () => {
  const id = `CF-${run}-VF`;
  await sys.orders.placeOrder(exampleOrder('print-single-fund.json', id));
  const s = await sys.orders.waitForStage('UNIV-MAIN', id, 'FOLLOWING_UP', { timeoutMs: 60_000 });
  expect(s.stage).toBe('FOLLOWING_UP');
  const made = await rto(['sandbox', 'vendor-files', 'UNIV-MAIN', id, '--json']);
  expect(made.code).toBe(0);
  const out = json<{ written: { kind: string; file: string }[] }>(made);
  expect(out.written.map((w) => w.kind)).toEqual(['ordrsp', 'invoic', 'marc']);
  expect(readdirSync(vendorDir('edi')).filter((n) => n.startsWith('UNIV-MAIN-'))).toHaveLength(2);
  expect(readdirSync(vendorDir('marc')).filter((n) => n.endsWith('.mrc'))).toHaveLength(1);
  // What the reader makes of the files, before anything is picked up.
  const ordrsp = out.written.find((w) => w.kind === 'ordrsp')!.file;
  const read = await rto(['edi', 'read', ordrsp, '--json']);
  expect(read.code).toBe(0);
  expect(
    json<{ messages: { lines: { references: unknown[]; status: string }[] }[] }>(read).messages[0]!.lines[0],
  ).toMatchObject({
    references: [
      { qualifier: 'LI', value: s.poLine },
      { qualifier: 'SLI', value: id },
    ],
    status: 'shipped',
  });

  const edi = await rto(['edi', 'run', 'UNIV-MAIN']);
  expect(edi.code).toBe(0);
  expect(edi.stdout).toMatch(/UNIV-MAIN-ordrsp-\S+\.edi: processed/);
  expect(edi.stdout).toMatch(/UNIV-MAIN-invoic-\S+\.edi: processed/);
  expect(edi.stderr).toMatch(/\[2\/2\] /);
  const overlay = await rto(['overlay', 'run', 'UNIV-MAIN', '--json']);
  expect(overlay.code).toBe(0);
  expect(json<OverlayRunReport>(overlay)).toMatchObject({ read: 1, overlaid: 1 });
  const done = await sys.orders.handle('UNIV-MAIN', id).result();
  expect(done).toMatchObject({ stage: 'COMPLETED', quantityInvoiced: 1, recordOverlaid: true });
  expect(done.vendorStatus?.status).toBe('shipped');
  expect(done.alerts).not.toContain('INVOICE_MISMATCH');

  const [missing, unknown, notYet] = await Promise.all([
    rto(['sandbox', 'vendor-files', 'UNIV-MAIN', `NO-SUCH-${run}`]),
    rto(['sandbox', 'vendor-files', 'NO-SUCH-ACCOUNT', id]),
    rto(['sandbox', 'vendor-files', 'UNIV-MAIN', id, '--status', 'lost']),
  ]);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toContain(`order NO-SUCH-${run} of UNIV-MAIN does not exist`);
  expect(unknown.code).toBe(2);
  expect(notYet.code).toBe(2);
  expect(notYet.stderr).toContain('unknown status "lost"');
});
