/**
 * Follow-ups end to end on the real server: vendor files fetched from a real FTP server on loopback, EDI order
 * responses and invoices signalled to orders, the MARC overlay written to the Alma sandbox, orders completed.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createAlmaClient } from '../src/alma/client';
import { buildInvoice, buildOrderResponse } from '../src/edi';
import { startFtpServer, type FtpServer } from '../src/files';
import {
  parseAlmaBibXml,
  toAlmaBibXml,
  writeIso2709,
  type MarcRecord,
  subfieldValues,
  getFields,
} from '../src/marc';
import type { EdiRunReport } from '../src/workflows/edi';
import type { OverlayRunReport } from '../src/workflows/overlay';
import { exampleOrder, startSystem, type TestSystem } from './harness/system';
import { recordHistory } from './harness/histories';
import { ediFileWorkflowId } from '../src/order/ids';
import { statusQuery } from '../src/order/messages';
import { createHash } from 'node:crypto';

jest.setTimeout(180_000);

let sys: TestSystem;
let ftp: FtpServer;
let vendorRoot: string;
const run = Date.now().toString(36);
const ids = { a: `FU-${run}-A`, b: `FU-${run}-B`, c: `FU-${run}-C` };
const poLines: Record<string, string> = {};
const mmsIds: Record<string, string> = {};

beforeAll(async () => {
  process.env.RTO_TEST_FTP_PASSWORD = 'ftp-secret-for-tests';
  let ftpPort = 0;
  // The FTP server needs its root before the configuration can name its port: start it on a fixed temp root.
  vendorRoot = path.join(require('node:os').tmpdir(), `rto-vendor-${run}`);
  mkdirSync(path.join(vendorRoot, 'UNIV-MAIN', 'edi'), { recursive: true });
  mkdirSync(path.join(vendorRoot, 'UNIV-MAIN', 'marc'), { recursive: true });
  ftp = await startFtpServer({
    port: 0,
    root: vendorRoot,
    user: 'univ-main',
    password: 'ftp-secret-for-tests',
  });
  ftpPort = ftp.port;
  sys = await startSystem({
    configure: (raw) => {
      const acc = raw.accounts['UNIV-MAIN']!;
      const ftpSource = (dir: string) => ({
        type: 'ftp' as const,
        host: '127.0.0.1',
        port: ftpPort,
        user: 'univ-main',
        password: { env: 'RTO_TEST_FTP_PASSWORD' },
        dir,
      });
      acc.edi = { source: ftpSource('/UNIV-MAIN/edi'), priceTolerance: 0.05 };
      acc.marc = { ...acc.marc, source: ftpSource('/UNIV-MAIN/marc') };
      acc.email!.confirmation = false;
    },
  });
  // Each order its own title (ISBN), so each gets its own brief bib.
  const isbns: Record<string, string> = { a: '9780306406157', b: '9780131103627', c: '9780596520687' };
  for (const [key, orderId] of Object.entries(ids)) {
    const order = exampleOrder('print-single-fund.json', orderId);
    (order.item as { isbn: string }).isbn = isbns[key]!;
    await sys.orders.placeOrder(order);
    const s = await sys.orders.waitForStage('UNIV-MAIN', orderId, 'FOLLOWING_UP', { timeoutMs: 60_000 });
    expect(s.stage).toBe('FOLLOWING_UP');
    poLines[key] = s.poLine!;
    mmsIds[key] = s.mmsId!;
  }
});

afterAll(async () => {
  await sys?.stop();
  await ftp?.close();
  rmSync(vendorRoot, { recursive: true, force: true });
});

function drop(kind: 'edi' | 'marc', name: string, data: Buffer) {
  writeFileSync(path.join(vendorRoot, 'UNIV-MAIN', kind, name), data);
}

async function ediRun(): Promise<EdiRunReport & { workflowId: string }> {
  const workflowId = `edi-test-${run}-${Date.now()}`;
  const report: EdiRunReport = await sys.client.workflow.execute('ediPickupWorkflow', {
    workflowId,
    taskQueue: sys.taskQueue,
    // The account's test timing (as `rto edi run` and the Schedules pass it): a retried failure shows in seconds.
    args: [{ account: 'UNIV-MAIN', retry: { initialMs: 200, maxMs: 1000 } }],
  });
  return { ...report, workflowId };
}

/** A caught mail's text with quoted-printable soft breaks and escapes undone. */
function mailText(raw: string): string {
  return raw
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

test('an ORDRSP moves orders to their vendor statuses, ends a cancelled one, and reports an unmatched line', async () => {
  drop(
    'edi',
    'ordrsp-1.edi',
    buildOrderResponse({
      sender: '5013546025078',
      recipient: '5412345000176',
      documentNumber: 'R1',
      lines: [
        {
          poLine: poLines.a,
          vendorRef: ids.a,
          status: 'backordered',
          ordered: 1,
          backordered: 1,
          expectedDate: '2027-01-15',
        },
        { vendorRef: ids.b, status: 'cancelled', ordered: 1 },
        { poLine: 'POL-NOT-OURS', status: 'accepted', ordered: 1 },
      ],
    }),
  );
  const report = await ediRun();
  const file = report.files.find((f) => f.name === 'ordrsp-1.edi')!;
  expect(file.outcome).toBe('processed');
  expect(file.report!.matched).toBe(2);
  expect(file.report!.unmatched).toHaveLength(1);
  expect(file.report!.unmatched[0]!.poLine).toBe('POL-NOT-OURS');

  const a = await sys.orders.getStatus('UNIV-MAIN', ids.a);
  expect(a.vendorStatus?.status).toBe('backordered');
  expect(a.vendorStatus?.expectedDate).toBe('2027-01-15');
  const b = await sys.orders.handle('UNIV-MAIN', ids.b).result();
  expect(b.stage).toBe('CANCELLED');
  // Processed files are archived on the FTP server under their hash.
  expect(readdirSync(path.join(vendorRoot, 'UNIV-MAIN', 'edi'))).not.toContain('ordrsp-1.edi');
  expect(
    readdirSync(path.join(vendorRoot, 'UNIV-MAIN', 'edi', 'archive')).some((n) =>
      n.endsWith('-ordrsp-1.edi'),
    ),
  ).toBe(true);
  // Staff were told about the unmatched line.
  const mails = await sys.catcher.messages();
  expect(mails.some((m) => m.raw.includes('POL-NOT-OURS'))).toBe(true);
});

test('news for an order that has ended is reported and mailed, and the file archived: no retries, no failure', async () => {
  // B was cancelled by the vendor above: its workflow has completed, so a signal to it cannot be delivered.
  drop(
    'edi',
    'ordrsp-ended.edi',
    buildOrderResponse({
      sender: '5013546025078',
      recipient: '5412345000176',
      documentNumber: `R-ENDED-${run}`,
      lines: [{ vendorRef: ids.b, status: 'shipped', ordered: 1 }],
    }),
  );
  drop(
    'edi',
    'invoice-ended.edi',
    buildInvoice({
      sender: '5013546025078',
      recipient: '5412345000176',
      number: `INV-ENDED-${run}`,
      date: '2026-11-28',
      currency: 'USD',
      lines: [{ vendorRef: ids.b, quantity: 1, netUnitPrice: '10.00', lineAmount: '10.00' }],
    }),
  );
  const started = Date.now();
  const report = await ediRun();
  // Not ten retries over minutes: one attempt.
  expect(Date.now() - started).toBeLessThan(15_000);
  for (const name of ['ordrsp-ended.edi', 'invoice-ended.edi']) {
    const file = report.files.find((f) => f.name === name)!;
    expect(file).toMatchObject({ outcome: 'processed' });
    expect(file.report).toMatchObject({ matched: 0, unmatchedTotal: 0, endedTotal: 1 });
    expect(file.report!.ended![0]).toMatchObject({ orderId: ids.b, stage: 'CANCELLED' });
    expect(readdirSync(path.join(vendorRoot, 'UNIV-MAIN', 'edi'))).not.toContain(name);
  }
  const mails = await sys.catcher.messages();
  const told = mails.filter((m) => mailText(m.raw).includes(`${ids.b} has ended: CANCELLED`));
  expect(told.length).toBeGreaterThanOrEqual(2);
  // The order is unchanged by the late news.
  const b = await sys.orders.getStatus('UNIV-MAIN', ids.b);
  expect(b.stage).toBe('CANCELLED');
  expect(b.quantityInvoiced).toBe(0);
  expect(b.vendorStatus?.status).toBe('cancelled');
  await recordHistory(sys.client, report.workflowId, 'edi-pickup-processed');
  const ended = report.files.find((f) => f.name === 'ordrsp-ended.edi')!;
  await recordHistory(sys.client, ediFileWorkflowId('UNIV-MAIN', ended.sha256!), 'edi-file-ended-order');
});

test('an unreadable file is moved to rejected/ on the server, reported once, and not seen again', async () => {
  const bytes = Buffer.from(
    `UNA:+.? 'UNB+UNOC:3+5013546025078+5412345000176+261201:2125+${run}++ORDRSP'UNH+1+ORDRSP`,
  );
  drop('edi', 'broken.edi', bytes);
  const first = await ediRun();
  const file = first.files.find((f) => f.name === 'broken.edi')!;
  expect(file.outcome).toBe('rejected');
  const edi = path.join(vendorRoot, 'UNIV-MAIN', 'edi');
  expect(readdirSync(edi)).not.toContain('broken.edi');
  const moved = readdirSync(path.join(edi, 'rejected'));
  const where = moved.find((n) => n.endsWith('-broken.edi'))!;
  expect(where).toBe(`${file.sha256!.slice(0, 16)}-broken.edi`);
  expect(file.report!.movedTo).toBe(`rejected/${where}`);
  const told = (await sys.catcher.messages())
    .map((m) => mailText(m.raw))
    .filter((t) => t.includes('broken.edi'));
  expect(told).toHaveLength(1);
  expect(told[0]).toContain(`rejected/${where}`);
  expect(told[0]).toContain(file.report!.error!.slice(0, 20));

  // The next pick-up does not see it (nor call it "already processed"), and nobody is told again.
  const second = await ediRun();
  expect(second.files.find((f) => f.name === 'broken.edi')).toBeUndefined();
  // The same bytes sent again under another name: recognised, moved beside the first, reported as rejected.
  drop('edi', 'broken-again.edi', bytes);
  const third = await ediRun();
  const again = third.files.find((f) => f.name === 'broken-again.edi')!;
  expect(again.outcome).toBe('rejected');
  expect(again.detail).toContain(`rejected/${where}`);
  expect(readdirSync(edi)).not.toContain('broken-again.edi');
  expect(readdirSync(path.join(edi, 'rejected'))).toContain(`${file.sha256!.slice(0, 16)}-broken-again.edi`);

  // A file an older version rejected and left (its file workflow done, nothing in rejected/): moved now, once.
  rmSync(path.join(edi, 'rejected'), { recursive: true });
  drop('edi', 'broken.edi', bytes);
  const fourth = await ediRun();
  const left = fourth.files.find((f) => f.name === 'broken.edi')!;
  expect(left.outcome).toBe('rejected');
  expect(left.detail).toContain(`moved to rejected/${where}`);
  expect(readdirSync(edi)).not.toContain('broken.edi');
  expect(readdirSync(path.join(edi, 'rejected'))).toEqual([where]);
  await recordHistory(sys.client, third.workflowId, 'edi-pickup-rejected-contents-again');
  await recordHistory(sys.client, fourth.workflowId, 'edi-pickup-file-left-by-an-older-version');
  expect((await ediRun()).files).toEqual([]);
  const aside = (await sys.catcher.messages()).filter((m) =>
    mailText(m.raw).includes('unreadable files moved to rejected/'),
  );
  expect(aside.length).toBeGreaterThanOrEqual(2);
  await recordHistory(sys.client, first.workflowId, 'edi-pickup-rejected');
  await recordHistory(sys.client, ediFileWorkflowId('UNIV-MAIN', file.sha256!), 'edi-file-rejected');
});

test('an INVOIC flags a price difference; the same file sent again under another name is processed once', async () => {
  const invoice = buildInvoice({
    sender: '5013546025078',
    recipient: '5412345000176',
    number: `INV-${run}`,
    date: '2026-11-28',
    currency: 'USD',
    lines: [
      { poLine: poLines.a, quantity: 1, netUnitPrice: '59.99', grossUnitPrice: '59.99', lineAmount: '59.99' },
      { poLine: poLines.c, quantity: 1, netUnitPrice: '89.99', grossUnitPrice: '89.99', lineAmount: '89.99' },
    ],
  });
  drop('edi', 'invoice-1.edi', invoice);
  const first = await ediRun();
  expect(first.files.find((f) => f.name === 'invoice-1.edi')!.report!.matched).toBe(2);
  drop('edi', 'invoice-1-RESENT.edi', invoice);
  const second = await ediRun();
  expect(second.files.find((f) => f.name === 'invoice-1-RESENT.edi')!.outcome).toBe('duplicate');

  const c = await sys.orders.getStatus('UNIV-MAIN', ids.c);
  expect(c.alerts).toContain('INVOICE_MISMATCH');
  expect(c.quantityInvoiced).toBe(1);
  const a = await sys.orders.getStatus('UNIV-MAIN', ids.a);
  expect(a.quantityInvoiced).toBe(1);
  expect(a.alerts).not.toContain('INVOICE_MISMATCH');
});

test('a MARC file overlays the brief bibs: excluded tags gone, 9XX written, local fields kept; the orders complete', async () => {
  const alma = createAlmaClient({ gateway: sys.sandbox.url, apiKey: 'sandbox-key-01UNIV_INST' });
  // A cataloguer's local field on A's bib, which the overlay must keep.
  const before = parseAlmaBibXml((await alma.getBib(mmsIds.a!)).marcXml);
  before.fields.push({
    tag: '990',
    ind1: ' ',
    ind2: ' ',
    subfields: [{ code: 'a', value: 'local: keep me' }],
  });
  await alma.putBib(mmsIds.a!, toAlmaBibXml(before));

  const vendorRecord = (orderId: string, title: string, isbn = '9780306406157'): MarcRecord => ({
    leader: '00000nam a2200000 i 4500',
    fields: [
      { tag: '001', value: 'VENDOR-001' },
      { tag: '020', ind1: ' ', ind2: ' ', subfields: [{ code: 'a', value: isbn }] },
      { tag: '029', ind1: ' ', ind2: ' ', subfields: [{ code: 'a', value: 'excluded' }] },
      { tag: '245', ind1: '1', ind2: '0', subfields: [{ code: 'a', value: title }] },
      { tag: '980', ind1: ' ', ind2: ' ', subfields: [{ code: 'a', value: orderId }] },
    ],
  });
  const unmatched: MarcRecord = {
    ...vendorRecord('NO-SUCH-ORDER', 'Nobody ordered this'),
    fields: vendorRecord('NO-SUCH-ORDER', 'x').fields.filter((f) => f.tag !== '020'),
  };
  drop(
    'marc',
    'nightly.mrc',
    Buffer.concat([
      writeIso2709(vendorRecord(ids.a, 'Linear algebra done right <full record> & more')),
      writeIso2709(vendorRecord(ids.c, 'JavaScript: the good parts', '9780596520687')),
      writeIso2709(unmatched),
    ]),
  );
  const report: OverlayRunReport = await sys.client.workflow.execute('overlayWorkflow', {
    workflowId: `overlay-test-${run}`,
    taskQueue: sys.taskQueue,
    args: [{ account: 'UNIV-MAIN' }],
  });
  expect(report.read).toBe(3);
  expect(report.overlaid).toBe(2);
  expect(report.unmatched).toBe(1);

  const after = parseAlmaBibXml((await alma.getBib(mmsIds.a!)).marcXml);
  expect(getFields(after, '029')).toHaveLength(0);
  expect(subfieldValues(after, '001')).toEqual([mmsIds.a]);
  expect(subfieldValues(after, '245$a')).toEqual(['Linear algebra done right <full record> & more']);
  expect(subfieldValues(after, '980$a')).toEqual([ids.a]);
  expect(subfieldValues(after, '980$b')).toEqual([poLines.a]);
  expect(subfieldValues(after, '981$a')).toEqual(['M123']);
  expect(subfieldValues(after, '990$a')).toEqual(['local: keep me']);

  // A was invoiced and is now catalogued: complete. C too (with its price alert).
  expect((await sys.orders.handle('UNIV-MAIN', ids.a).result()).stage).toBe('COMPLETED');
  const c = await sys.orders.handle('UNIV-MAIN', ids.c).result();
  expect(c.stage).toBe('COMPLETED');
  expect(c.alerts).toContain('INVOICE_MISMATCH');
  await recordHistory(sys.client, `overlay-test-${run}`, 'overlay-run');
  await recordHistory(sys.client, c.workflowId, 'order-invoiced-overlaid-with-mismatch');
});

// ---- Vendor files as they really are (issue 10): every reference, one bad message, no poison files. ----

/** An interchange written by hand: what the writer does not make (PIA+1 SA, RFF+ON/SNA, broken messages). */
function handMade(ref: string, messages: { type: 'ORDRSP' | 'INVOIC'; body: string[] }[]): Buffer {
  const segs = [`UNB+UNOC:3+5013546025078:14+5412345000176:14+261201:2125+${ref}`];
  messages.forEach((m, i) => {
    segs.push(`UNH+M${i + 1}+${m.type}:D:96A:UN:EAN008`, ...m.body, `UNT+${m.body.length + 2}+M${i + 1}`);
  });
  segs.push(`UNZ+${messages.length}+${ref}`);
  return Buffer.from("UNA:+.? '" + segs.join("'") + "'", 'latin1');
}

const more = { d: `FU-${run}-D`, e: `FU-${run}-E` };
const moreIsbn = { d: '9780262033848', e: '9781449331818' };

async function placeMore(): Promise<void> {
  if (poLines.d) return;
  for (const key of ['d', 'e'] as const) {
    const order = exampleOrder('print-single-fund.json', more[key]);
    (order.item as { isbn: string }).isbn = moreIsbn[key];
    await sys.orders.placeOrder(order);
    const s = await sys.orders.waitForStage('UNIV-MAIN', more[key], 'FOLLOWING_UP', { timeoutMs: 60_000 });
    poLines[key] = s.poLine!;
  }
}

test('lines are matched by every reference vendors use, in order; vendor text of no such form is never looked up', async () => {
  await placeMore();
  const huge = 'X'.repeat(70_000);
  drop(
    'edi',
    'ordrsp-references.edi',
    handMade(`REFS${run}`, [
      {
        type: 'ORDRSP',
        body: [
          `BGM+231+REFS-${run}+4`,
          // D by the supplier's article number (PIA+1 …:SA) holding the order id.
          'LIN+1+5',
          `PIA+1+${more.d}:SA`,
          'QTY+21:1',
          'FTX+LIN++100:12B:28',
          // E by RFF+ON holding its PO line.
          'LIN+2+5',
          'QTY+21:1',
          'FTX+LIN++401:12B:28',
          `RFF+ON:${poLines.e}`,
          // A 70 KB "reference": not of a PO line's form, never sent to Temporal.
          'LIN+3+5',
          'QTY+21:1',
          `RFF+LI:${huge}`,
          // Evergreen's PO/LINE form is no Alma PO line: the ISBN finds D among the open orders.
          'LIN+4+5+9780262033848:EN',
          'QTY+21:1',
          'QTY+12:1',
          'RFF+LI:24/102',
          'UNS+S',
        ],
      },
    ]),
  );
  const started = Date.now();
  const report = await ediRun();
  expect(Date.now() - started).toBeLessThan(30_000);
  const file = report.files.find((f) => f.name === 'ordrsp-references.edi')!;
  expect(file.outcome).toBe('processed');
  expect(file.report).toMatchObject({ lines: 4, matched: 3, unmatchedTotal: 1 });
  expect(file.report!.unmatched[0]).toMatchObject({ line: '3' });
  expect(file.report!.unmatched[0]!.reason).toContain(
    "not of an order id's or PO line's form, so not looked up",
  );
  expect(file.report!.unmatched[0]!.reason.length).toBeLessThan(700);
  expect((await sys.orders.getStatus('UNIV-MAIN', more.e)).vendorStatus?.status).toBe('accepted');
  // D heard line 1, then line 4 (by ISBN): shipped.
  expect((await sys.orders.getStatus('UNIV-MAIN', more.d)).vendorStatus?.status).toBe('shipped');
});

test('one bad message is reported with its place, the others are taken in, and the file is rejected', async () => {
  await placeMore();
  const name = 'mixed.edi';
  drop(
    'edi',
    name,
    handMade(`MIX${run}`, [
      {
        type: 'ORDRSP',
        body: [`BGM+231+MIX-1-${run}+4`, 'LIN+1+5', 'QTY+21:1', `RFF+SLI:${more.e}`, 'UNS+S'],
      },
      // No invoiced quantity: this invoice cannot be read (money is never guessed).
      {
        type: 'INVOIC',
        body: [
          `BGM+380+MIX-2-${run}+9`,
          'DTM+137:20261201:102',
          'LIN+1',
          'MOA+203:5.00',
          `RFF+SLI:${more.e}`,
          'UNS+S',
        ],
      },
      {
        type: 'INVOIC',
        body: [
          `BGM+380+MIX-3-${run}+9`,
          'DTM+137:20261201:102',
          'CUX+2:USD:4',
          'LIN+1',
          'QTY+47:1',
          'MOA+203:49.99',
          'PRI+AAB:49.99',
          `RFF+SLI:${more.e}`,
          'UNS+S',
          'MOA+9:49.99',
        ],
      },
    ]),
  );
  const report = await ediRun();
  const file = report.files.find((f) => f.name === name)!;
  expect(file.outcome).toBe('rejected');
  expect(file.report).toMatchObject({ messages: 3, unreadableMessages: 1, matched: 2, problemsTotal: 1 });
  expect(file.report!.problems![0]).toMatchObject({
    message: 'M2',
    number: `MIX-2-${run}`,
    place: expect.stringMatching(/^segment \d+ \(LIN\) of message M2$/),
    reason: expect.stringContaining('has no invoiced quantity (QTY+47)'),
  });
  expect(file.report!.error).toBe(
    '1 of 3 messages could not be read (the others were taken in): segment 12 (LIN) of message M2: invoice line 1 has no invoiced quantity (QTY+47)',
  );
  const where = `${file.sha256!.slice(0, 16)}-${name}`;
  expect(file.report!.movedTo).toBe(`rejected/${where}`);
  expect(readdirSync(path.join(vendorRoot, 'UNIV-MAIN', 'edi', 'rejected'))).toContain(where);
  // The good messages were taken in.
  const e = await sys.orders.getStatus('UNIV-MAIN', more.e);
  expect(e.vendorStatus?.status).toBe('accepted');
  expect((await sys.orders.handle('UNIV-MAIN', more.e).query(statusQuery)).quantityInvoiced).toBe(1);
  const told = (await sys.catcher.messages()).map((m) => mailText(m.raw)).filter((t) => t.includes(name));
  expect(told).toHaveLength(1);
  expect(told[0]).toContain(
    `Not read: message M2 (INVOIC MIX-2-${run}), segment 12 (LIN) of message M2: invoice line 1 has no invoiced quantity (QTY+47)`,
  );
  expect(told[0]).toContain(`rto edi retry UNIV-MAIN ${where}`);
  // Not picked up again.
  expect((await ediRun()).files.find((f) => f.name === name)).toBeUndefined();
  await recordHistory(sys.client, ediFileWorkflowId('UNIV-MAIN', file.sha256!), 'edi-file-partly-unreadable');
});

test('an invoice that does not add up is flagged on its order and to staff', async () => {
  await placeMore();
  drop(
    'edi',
    'short-invoice.edi',
    handMade(`SHORT${run}`, [
      {
        type: 'INVOIC',
        body: [
          `BGM+380+SHORT-${run}+9`,
          'DTM+137:20261201:102',
          'CUX+2:USD:4',
          'LIN+1',
          'QTY+47:1',
          'MOA+203:59.99',
          'PRI+AAB:59.99',
          `RFF+SLI:${more.d}`,
          'UNS+S',
          'MOA+9:66.59',
        ],
      },
    ]),
  );
  const report = await ediRun();
  const file = report.files.find((f) => f.name === 'short-invoice.edi')!;
  expect(file.outcome).toBe('processed');
  expect(file.report!.mismatches).toContainEqual(
    expect.stringContaining(
      `invoice SHORT-${run} does not add up: MOA+9 66.59 but its lines, charges and tax come to 59.99`,
    ),
  );
  const d = await sys.orders.handle('UNIV-MAIN', more.d).query(statusQuery);
  expect(d.alerts).toContain('INVOICE_MISMATCH');
  expect(d.invoices.at(-1)!.mismatches.join(' ')).toContain('a difference of 6.60');
  const told = (await sys.catcher.messages()).map((m) => mailText(m.raw));
  expect(told.some((t) => t.includes(`SHORT-${run} does not add up`))).toBe(true);
});

test('a name of 250 bytes, and the same file sent again under the same name, are archived, not failed', async () => {
  await placeMore();
  const long = `${'n'.repeat(246)}.edi`;
  const bytes = buildOrderResponse({
    sender: '5013546025078',
    recipient: '5412345000176',
    documentNumber: `R-LONG-${run}`,
    lines: [{ vendorRef: more.e, status: 'accepted', ordered: 1 }],
  });
  drop('edi', long, bytes);
  const first = await ediRun();
  expect(first.files.find((f) => f.name === long)).toMatchObject({ outcome: 'processed' });
  const archive = () => readdirSync(path.join(vendorRoot, 'UNIV-MAIN', 'edi', 'archive'));
  const archived = archive().filter((n) => n.endsWith('.edi') && n.includes('nnnnnnnnnn'));
  expect(archived).toHaveLength(1);
  expect(Buffer.byteLength(archived[0]!)).toBeLessThanOrEqual(255);
  // The vendor sends the very same file again under the same name: its archived name is taken, it is archived
  // beside it under a numbered name (not a move that fails at every pick-up).
  drop('edi', long, bytes);
  const again = await ediRun();
  expect(again.files.find((f) => f.name === long)).toMatchObject({ outcome: 'duplicate' });
  expect(archive().filter((n) => n.includes('nnnnnnnnnn'))).toHaveLength(2);
  expect((await ediRun()).files).toEqual([]);
});

test('a file that cannot be moved is reported once and moved at a later pick-up; the run does not fail', async () => {
  await placeMore();
  const edi = path.join(vendorRoot, 'UNIV-MAIN', 'edi');
  const name = 'unmovable.edi';
  const bytes = buildOrderResponse({
    sender: '5013546025078',
    recipient: '5412345000176',
    documentNumber: `R-MOVE-${run}`,
    lines: [{ vendorRef: more.e, status: 'backordered', ordered: 1, backordered: 1 }],
  });
  // The file's place in the archive is taken by a folder: the server refuses the move.
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const blocker = path.join(edi, 'archive', `${sha256.slice(0, 16)}-${name}`);
  mkdirSync(blocker, { recursive: true });
  drop('edi', name, bytes);
  try {
    const first = await ediRun();
    const file = first.files.find((f) => f.name === name)!;
    expect(file.outcome).toBe('processed');
    expect((await sys.orders.getStatus('UNIV-MAIN', more.e)).vendorStatus?.status).toBe('backordered');
    const told = (await sys.catcher.messages()).map((m) => mailText(m.raw)).filter((t) => t.includes(name));
    expect(told).toHaveLength(1);
    expect(told[0]).toContain('could not be moved to archive/ on the server');
    // The next pick-up finds it still there: tries the move again, says so in its report, mails nobody again.
    const second = await ediRun();
    expect(second.files.find((f) => f.name === name)).toMatchObject({ outcome: 'failed' });
    expect((await sys.catcher.messages()).filter((m) => mailText(m.raw).includes(name))).toHaveLength(1);
    await recordHistory(sys.client, ediFileWorkflowId('UNIV-MAIN', file.sha256!), 'edi-file-move-failed');
    await recordHistory(sys.client, second.workflowId, 'edi-pickup-move-failed-again');
  } finally {
    rmSync(blocker, { recursive: true, force: true });
  }
  const third = await ediRun();
  expect(third.files.find((f) => f.name === name)).toMatchObject({ outcome: 'duplicate' });
  expect(readdirSync(edi)).not.toContain(name);
});
