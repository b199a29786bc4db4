/**
 * The daily digest end to end on the real Temporal server, the Alma sandbox and the mail catcher: its
 * Schedule (time and zone), no mail when nothing needs staff, and one mail listing the order with an open alert
 * and the vendor file the EDI pick-up rejected, each with its Temporal UI link.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ConfigFileInput } from '../src/config/schema';
import { parseConfig } from '../src/config/load';
import { buildOrderResponse } from '../src/edi/write';
import type { CaughtMessage } from '../src/mail';
import { digestMessageId, manualRunWorkflowId } from '../src/order/ids';
import { schedulePlans, syncSchedules } from '../src/temporal/schedules';
import type { DigestResult } from '../src/workflows/digest';
import { exampleConfigRaw, exampleOrder, startSystem, type TestSystem } from './harness/system';

jest.setTimeout(120_000);

// An account of its own, so orders of other test files on the same server never show in its digest.
const ACCOUNT = `DIGEST-${process.pid}-${Date.now() % 100_000}`;
const TITLE = '<b>REVIEW-DIGEST</b> & "friends"';

function addAccount(raw: ConfigFileInput): void {
  const main = raw.accounts['UNIV-MAIN']!;
  // Beside UNIV-MAIN's folder in the system's data directory.
  const mainEdi = (main.edi!.source as { path: string }).path;
  raw.accounts[ACCOUNT] = {
    ...main,
    name: 'Digest <Test> Library',
    email: { ...main.email, staff: ['acq-digest@univ.example.edu'] },
    edi: { source: { type: 'local', path: mainEdi.replace('UNIV-MAIN', ACCOUNT) } },
    marc: {},
    digest: { at: '07:30', timeZone: 'Europe/Berlin' },
  } as (typeof raw.accounts)[string];
}

let sys: TestSystem;

beforeAll(async () => {
  sys = await startSystem({
    seedFrom: 'final',
    configure: addAccount,
    editSeed: (seed) => {
      for (const inst of seed.institutions) inst.reviewRules = { titlesContaining: ['REVIEW-DIGEST'] };
    },
  });
  expect((sys.config.accounts[ACCOUNT]!.edi.source as { path: string }).path).toContain(sys.dataDir);
});

afterAll(async () => {
  await sys?.stop();
});

async function runDigest(tag: string): Promise<DigestResult> {
  return sys.client.workflow.execute('digestWorkflow', {
    workflowId: `digest-test-${ACCOUNT}-${tag}`,
    taskQueue: sys.taskQueue,
    args: [{ account: ACCOUNT }],
  });
}

const digests = async (): Promise<CaughtMessage[]> =>
  (await sys.catcher.messages()).filter((m) => m.messageId?.startsWith(`<digest.${ACCOUNT}.`));

/** A caught mail's text with quoted-printable soft breaks and escapes undone. */
function decoded(raw: string): string {
  const bytes = raw
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

async function until<T>(what: string, get: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const v = await get();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`gave up waiting: ${what}`);
}

test('the digest Schedule: at the configured time in the configured zone, else the institution zone; none when absent', async () => {
  const raw = exampleConfigRaw('http://127.0.0.1:1/almaws/v1', '/tmp/rto-digest-schedules');
  raw.institutions['01UNIV_INST']!.timeZone = 'America/New_York';
  raw.accounts['UNIV-MAIN']!.digest = { at: '07:30', timeZone: 'Europe/Berlin' };
  raw.accounts['UNIV-LAW']!.digest = { at: '18:05' };
  const taskQueue = `digest-schedules-${ACCOUNT}`;
  const config = parseConfig(raw);
  const ids = await syncSchedules(sys.client, { config, taskQueue });
  try {
    expect(ids).toContain(`${taskQueue}:digest:UNIV-MAIN`);
    const main = await sys.client.schedule.getHandle(`${taskQueue}:digest:UNIV-MAIN`).describe();
    expect(main.spec.timezone).toBe('Europe/Berlin');
    expect(main.spec.calendars![0]).toMatchObject({
      hour: [{ start: 7, end: 7, step: 1 }],
      minute: [{ start: 30, end: 30, step: 1 }],
    });
    expect(main.action).toMatchObject({
      type: 'startWorkflow',
      workflowType: 'digestWorkflow',
      taskQueue,
      args: [{ account: 'UNIV-MAIN' }],
    });
    // The next run is 07:30 in Berlin, whatever the server's zone.
    const local = new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Europe/Berlin',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    }).format(main.info.nextActionTimes[0]!);
    expect(local).toBe('07:30');
    const law = await sys.client.schedule.getHandle(`${taskQueue}:digest:UNIV-LAW`).describe();
    expect(law.spec.timezone).toBe('America/New_York');
    expect(law.spec.calendars![0]).toMatchObject({ hour: [{ start: 18, end: 18, step: 1 }] });

    // Digest removed from the configuration: its Schedule goes at the next sync.
    delete raw.accounts['UNIV-LAW']!.digest;
    const again = await syncSchedules(sys.client, { config: parseConfig(raw), taskQueue });
    expect(again).not.toContain(`${taskQueue}:digest:UNIV-LAW`);
    await expect(sys.client.schedule.getHandle(`${taskQueue}:digest:UNIV-LAW`).describe()).rejects.toThrow();
  } finally {
    for (const id of ids)
      await sys.client.schedule
        .getHandle(id)
        .delete()
        .catch(() => undefined);
  }
  // The example configuration has no digest: no digest Schedule.
  const plain = exampleConfigRaw('http://127.0.0.1:1/almaws/v1', '/tmp/rto-digest-schedules');
  expect(schedulePlans(parseConfig(plain), 'q').map((p) => p.scheduleId)).not.toContainEqual(
    expect.stringContaining(':digest:'),
  );
});

test('a bad digest setting names the field', () => {
  const raw = exampleConfigRaw('http://127.0.0.1:1/almaws/v1', '/tmp/rto-digest-schedules');
  raw.accounts['UNIV-MAIN']!.digest = { at: '7:30', timeZone: 'Mars/Olympus' };
  expect(() => parseConfig(raw)).toThrow(/accounts\.UNIV-MAIN\.digest\.at[\s\S]*HH:MM/);
  expect(() => parseConfig(raw)).toThrow(/accounts\.UNIV-MAIN\.digest\.timeZone[\s\S]*IANA time zone/);
});

test('nothing open: the digest sends no mail', async () => {
  const result = await runDigest('empty');
  expect(result).toMatchObject({ account: ACCOUNT, orders: 0, files: 0 });
  expect(result.messageId).toBeUndefined();
  expect(await digests()).toEqual([]);
});

test('an order In Review, a rejected vendor file and one with an unmatched line: exactly one digest mail listing them, with UI links', async () => {
  const orderId = `DIG-${Date.now()}`;
  const example = exampleOrder('print-single-fund.json', orderId);
  const order = { ...example, account: ACCOUNT, item: { ...(example.item as object), title: TITLE } };
  const placed = await sys.orders.placeOrder(order);
  expect(placed.outcome).toBe('started');
  // In visibility with its alert (what the digest reads).
  await until('the order listed with ALMA_IN_REVIEW', async () => {
    const list = await sys.orders.listOrders({ account: ACCOUNT, alert: 'ALMA_IN_REVIEW' });
    return list.find((o) => o.orderId === orderId);
  });

  // An unreadable vendor file: the EDI pick-up rejects it.
  const folder = sys.config.accounts[ACCOUNT]!.edi.source as { path: string };
  mkdirSync(folder.path, { recursive: true });
  writeFileSync(path.join(folder.path, '<evil>.edi'), 'this is not EDIFACT');
  // A readable ORDRSP whose only line is for no order of ours: an unmatched line.
  writeFileSync(
    path.join(folder.path, 'ordrsp-unmatched.edi'),
    buildOrderResponse({
      sender: '5013546025078',
      recipient: '5412345000176',
      documentNumber: `R-${ACCOUNT}`,
      lines: [{ poLine: 'POL-NOT-OURS', status: 'accepted', ordered: 1 }],
    }),
  );
  await sys.client.workflow.execute('ediPickupWorkflow', {
    workflowId: `digest-test-edi-${ACCOUNT}`,
    taskQueue: sys.taskQueue,
    args: [{ account: ACCOUNT, retry: { initialMs: 200, maxMs: 1000 } }],
  });
  await until('both file workflows closed in visibility', async () => {
    let closed = 0;
    for await (const _wf of sys.client.workflow.list({
      query: `WorkflowType = 'ediFileWorkflow' AND WorkflowId STARTS_WITH 'edi-file:${ACCOUNT}:' AND ExecutionStatus != 'Running'`,
    }))
      closed++;
    return closed === 2 ? closed : undefined;
  });

  const result = await runDigest('open');
  expect(result).toMatchObject({ account: ACCOUNT, orders: 1, files: 2 });
  expect(result.messageId).toBe(digestMessageId(ACCOUNT, result.day));
  const mails = await digests();
  expect(mails).toHaveLength(1);
  const mail = mails[0]!;
  expect(mail.to).toContain('acq-digest@univ.example.edu');
  expect(mail.subject).toContain(`Daily digest ${ACCOUNT}`);
  const body = decoded(mail.raw);
  expect(body).toContain(orderId);
  expect(body).toContain('ALMA_IN_REVIEW');
  expect(body).toContain('In Review in Alma (1)');
  expect(body).toContain('Rejected vendor files (1)');
  expect(body).toContain('<evil>.edi'); // the text part
  expect(body).toContain('&lt;evil&gt;.edi'); // the HTML part, escaped
  expect(body).toContain('Vendor files with unmatched lines (1)');
  expect(body).toContain('ordrsp-unmatched.edi');
  expect(body).toMatch(/Unmatched line \d+ \(message [^)]*references LI POL-NOT-OURS\): no order of/);
  expect(body).toContain('&lt;b&gt;REVIEW-DIGEST&lt;/b&gt; &amp; &quot;friends&quot;');
  expect(body).not.toContain('<b>REVIEW-DIGEST</b> &amp;');
  // The order's link: the UI's list filtered by its account and order id (search attributes).
  const query = `WorkflowType = 'orderWorkflow' AND OasisAccount = '${ACCOUNT}' AND OasisOrderId = '${orderId}'`;
  // (as the URL class writes it: ' as %27)
  const encoded = encodeURIComponent(query).replace(/'/g, '%27');
  expect(body).toContain(`/namespaces/default/workflows?query=${encoded}`);
  // The day is Berlin's (the account's digest zone).
  expect(result.day).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  process.stdout.write(`\n--- sample digest (text part) ---\n${textPart(mail.raw)}\n`);
});

test('a rejected file sent again under another name (moved by the pick-up, no file workflow of its own) is listed too', async () => {
  const folder = sys.config.accounts[ACCOUNT]!.edi.source as { path: string };
  const pickUp = (tag: string) =>
    sys.client.workflow.execute('ediPickupWorkflow', {
      // The ids the Schedule and `rto edi run` give pick-ups: what the digest lists.
      workflowId: manualRunWorkflowId('edi', ACCOUNT, Date.now()) + tag,
      taskQueue: sys.taskQueue,
      args: [{ account: ACCOUNT, retry: { initialMs: 200, maxMs: 1000 } }],
    });
  mkdirSync(folder.path, { recursive: true });
  const contents = `not EDIFACT either ${Date.now()}`;
  writeFileSync(path.join(folder.path, 'invoic-first.edi'), contents);
  await pickUp('-a');
  writeFileSync(path.join(folder.path, 'invoic-again.edi'), contents);
  const second = (await pickUp('-b')) as { files: { name: string; outcome: string; report?: unknown }[] };
  // The pick-up moved it by itself: no file workflow, so only the pick-up's report has it.
  expect(second.files).toHaveLength(1);
  expect(second.files[0]).toMatchObject({ name: 'invoic-again.edi', outcome: 'rejected' });
  expect(second.files[0]!.report).toBeUndefined();
  await until('the pick-ups closed in visibility', async () => {
    let closed = 0;
    for await (const _wf of sys.client.workflow.list({
      query: `WorkflowType = 'ediPickupWorkflow' AND WorkflowId STARTS_WITH 'edi-pickup:${ACCOUNT}:' AND ExecutionStatus != 'Running'`,
    }))
      closed++;
    return closed >= 2 ? closed : undefined;
  });

  const result = await runDigest('resent');
  const mail = (await digests()).find((m) => decoded(m.raw).includes('invoic-again.edi'));
  expect(mail).toBeDefined();
  const body = decoded(mail!.raw);
  expect(body).toContain('invoic-first.edi');
  expect(body).toMatch(
    /invoic-again\.edi: +sent again: same contents as rejected\/[0-9a-f]+-invoic-first\.edi/,
  );
  // Listed once (a row of its own in the text part).
  expect(textPart(mail!.raw).match(/^invoic-again\.edi:/gm)).toHaveLength(1);
  expect(result.files).toBeGreaterThanOrEqual(2);
  process.stdout.write(`\n--- digest with a file sent again (text part) ---\n${textPart(mail!.raw)}\n`);
});

/** The text/plain part, decoded (for the sample in the report). */
function textPart(raw: string): string {
  const boundary = /boundary="([^"]+)"/.exec(raw)?.[1];
  const chunk = raw.split(`--${boundary}`).find((p) => p.includes('Content-Type: text/plain'));
  if (!chunk) return '';
  const body = chunk.slice(chunk.search(/\r\n\r\n/) + 4);
  return /base64/i.test(chunk.slice(0, chunk.search(/\r\n\r\n/)))
    ? Buffer.from(body, 'base64').toString('utf8')
    : decoded(body);
}
