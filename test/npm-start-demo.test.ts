/**
 * The duplicate check, the HELD stage, the timeline and the digest as `npm start` has them: `rto start` in a child
 * process on its defaults (config/example.json, the sandbox seeded with the titles the demo holds, its own
 * Temporal dev server, mail catcher and vendor folders; free ports, a fresh data directory), driven by the `rto`
 * commands the README's "Try the duplicate check" shows. With RTO_DEMO_SAMPLES=<dir>, the digest mail's text and
 * the `rto order status` timeline it prints are written there (npm-start-digest.txt, npm-start-timeline.txt).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEMO_HELD_TITLES } from '../src/sandbox/alma';
import { resolveTemporalCli } from '../src/temporal/cli-binary';
import { freePort } from '../src/temporal/dev-server';
import { spawnRtoStart } from './harness/rto';

jest.setTimeout(300_000);

const ROOT = path.join(__dirname, '..');
const RTO = path.join(ROOT, 'bin', 'rto.js');
const example = (name: string) => path.join(ROOT, 'examples', 'orders', name);

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

let dataDir: string;
let env: NodeJS.ProcessEnv;
let start: ChildProcess;
let startExited: Promise<number | null>;
let startOutput: () => string = () => '';
let sandboxBase: string;

/** `rto <args>` against the started system, as a person in another shell (the same environment). */
function rto(...args: string[]): Promise<Ran> {
  const child = spawn(process.execPath, [RTO, ...args], {
    cwd: ROOT,
    env: { ...env, LOG_LEVEL: 'silent' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function json<T>(r: Ran): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`not one JSON value (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
}

interface Status {
  stage: string;
  alerts: string[];
  poLine: string | null;
  mmsId: string | null;
  history?: { event: string; detail?: string }[];
}

interface SandboxState {
  poLines: {
    number: string;
    status?: { value?: string };
    vendor_reference_number?: string;
    resource_metadata?: { isbn?: string; mms_id?: { value?: string } };
  }[];
  bibs: {
    mms_id: string;
    isbn?: string;
    holdings?: { holdingId: string; library: string; location: string }[];
    portfolios?: { id: string; url: string }[];
  }[];
}

const sandboxState = async () =>
  (await (await fetch(`${sandboxBase}/_sandbox/state`)).json()) as SandboxState;

/** The bib the seeded PO line of this ISBN is linked to. */
async function heldBib(isbn: string): Promise<string> {
  const line = (await sandboxState()).poLines.find((p) => p.resource_metadata?.isbn === isbn);
  const mms = line?.resource_metadata?.mms_id?.value;
  if (!mms) throw new Error(`no seeded PO line for ${isbn}`);
  return mms;
}

/** A caught mail's text/plain part, decoded. */
function textPart(raw: string): string {
  const qp = (t: string) =>
    Buffer.from(
      t
        .replace(/=\r?\n/g, '')
        .replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))),
      'latin1',
    ).toString('utf8');
  const boundary = /boundary="([^"]+)"/.exec(raw)?.[1];
  const chunk = raw.split(`--${boundary}`).find((p) => /Content-Type: text\/plain/i.test(p));
  if (!chunk) return '';
  const head = chunk.slice(0, chunk.search(/\r?\n\r?\n/));
  const body = chunk.slice(chunk.search(/\r?\n\r?\n/)).trimStart();
  return /base64/i.test(head) ? Buffer.from(body, 'base64').toString('utf8') : qp(body);
}

function sample(name: string, text: string): void {
  const dir = process.env.RTO_DEMO_SAMPLES;
  if (dir) writeFileSync(path.join(dir, name), text);
}

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'rto-npm-start-'));
  const cli = await resolveTemporalCli();
  const [temporalPort, uiPort, httpPort, almaPort, smtpPort, ftpPort] = await Promise.all(
    Array.from({ length: 6 }, () => freePort()),
  );
  sandboxBase = `http://127.0.0.1:${almaPort}`;
  // No RTO_CONFIG: config/example.json, as `npm start` reads it.
  env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    RTO_DATA_DIR: dataDir,
    TEMPORAL_CLI: cli.path,
    TEMPORAL_PORT: String(temporalPort),
    TEMPORAL_UI_PORT: String(uiPort),
    RTO_HTTP_PORT: String(httpPort),
    ALMA_SANDBOX_PORT: String(almaPort),
    SMTP_PORT: String(smtpPort),
    FTP_PORT: String(ftpPort),
  };
  const running = await spawnRtoStart({ ...env, LOG_LEVEL: 'warn' });
  start = running.child;
  startExited = running.exited;
  startOutput = running.output;
});

afterAll(async () => {
  start?.kill('SIGINT');
  const code = await startExited;
  rmSync(dataDir, { recursive: true, force: true });
  expect(code).toBe(0);
});

test('the sandbox holds the demo titles: a print title with holdings, an ebook with a portfolio, one on order', async () => {
  expect(startOutput()).toMatch(/Schedules .*digest:UNIV-MAIN/);
  const state = await sandboxState();
  const lines = Object.fromEntries(state.poLines.map((p) => [p.number, p]));
  expect(lines['POL-8001']?.status?.value).toBe('CLOSED');
  expect(lines['POL-8002']?.status?.value).toBe('CLOSED');
  expect(lines['POL-8003']?.status?.value).toBe('ACTIVE');
  const print = state.bibs.find((b) => b.mms_id === lines['POL-8001']?.resource_metadata?.mms_id?.value);
  expect(print?.holdings).toEqual([expect.objectContaining({ library: 'MAIN', location: 'STACKS' })]);
  const ebook = state.bibs.find((b) => b.mms_id === lines['POL-8002']?.resource_metadata?.mms_id?.value);
  expect(ebook?.portfolios).toHaveLength(1);
  // As Alma's API answers it, with the institution's key.
  const key = { authorization: 'apikey sandbox-key-01UNIV_INST', accept: 'application/json' };
  const holdings = (await (
    await fetch(`${sandboxBase}/almaws/v1/bibs/${print!.mms_id}/holdings`, { headers: key })
  ).json()) as { total_record_count: number; holding: { library: { value: string } }[] };
  expect(holdings.total_record_count).toBe(1);
  expect(holdings.holding[0]!.library.value).toBe('MAIN');
  const portfolios = (await (
    await fetch(`${sandboxBase}/almaws/v1/bibs/${ebook!.mms_id}/portfolios`, { headers: key })
  ).json()) as { total_record_count: number };
  expect(portfolios.total_record_count).toBe(1);
  // The example orders of the other files hit none of them.
  const isbns = new Set(DEMO_HELD_TITLES.map((t) => t.isbn));
  for (const f of readdirSync(path.join(ROOT, 'examples', 'orders')).filter(
    (n) => !n.startsWith('duplicate-'),
  )) {
    const raw = (JSON.parse(readFileSync(example(f), 'utf8')) as { item: { isbn?: string } }).item.isbn;
    expect(isbns.has((raw ?? '').replace(/-/g, ''))).toBe(false);
  }
});

test('the dry run with --alma names the open PO line of a title on order, creating nothing', async () => {
  const r = await rto('order', 'check', example('duplicate-on-order.json'), '--alma');
  expect(r.stdout).toContain('already has 1 open PO line(s) in Alma: POL-8003');
  expect(r.stdout).toContain("the account's duplicateCheck is hold");
  const bought = await rto('order', 'check', example('duplicate-held-print.json'), '--alma');
  expect(bought.stdout).toMatch(/was bought before: 1 closed PO line\(s\) in Alma: POL-8001 \(bib \d+\)/);
  expect(
    (await sandboxState()).poLines.filter((p) => p.vendor_reference_number === 'OAS-2026-0001303'),
  ).toEqual([]);
});

test('the HTTP intake: /openapi.json lists the release route; a dry run with alma=true names what Alma has', async () => {
  const base = `http://127.0.0.1:${env.RTO_HTTP_PORT!}`;
  const doc = (await (await fetch(`${base}/openapi.json`)).json()) as { openapi: string; paths: object };
  expect(doc.openapi).toMatch(/^3\./);
  expect(Object.keys(doc.paths)).toContain('/orders/{account}/{orderId}/release');
  const token = readFileSync(path.join(dataDir, 'http-token'), 'utf8').trim();
  const r = await fetch(`${base}/orders?dryRun=true&alma=true`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: readFileSync(example('duplicate-held-print.json')),
  });
  expect(r.status).toBe(200);
  const report = (await r.json()) as { outcome: string; alma: { warnings: string[] } };
  expect(report.outcome).toBe('valid');
  expect(report.alma.warnings.join('\n')).toMatch(
    /was bought before: 1 closed PO line\(s\) in Alma: POL-8001/,
  );
  expect(report.alma.warnings.join('\n')).toContain('would wait in stage HELD');
});

test('warn (UNIV-MAIN): an ebook already held goes on with POSSIBLE_DUPLICATE naming its closed PO line and bib, and its PO line names that bib', async () => {
  const bib = await heldBib('9781593279509');
  const r = await rto(
    'order',
    'submit',
    example('duplicate-held-ebook.json'),
    '--wait',
    'FOLLOWING_UP',
    '--json',
  );
  expect(r.code).toBe(0);
  const s = json<Status>(r);
  expect(s.stage).toBe('FOLLOWING_UP');
  expect(s.alerts).toContain('POSSIBLE_DUPLICATE');
  const status = json<Status>(await rto('order', 'status', 'UNIV-MAIN', 'OAS-2026-0001301', '--json'));
  const alert = status.history?.find((h) => h.event === 'alert POSSIBLE_DUPLICATE');
  expect(alert?.detail).toContain(`PO line POL-8002 (CLOSED), bib ${bib}`);
  expect(s.mmsId).toBe(bib);
  const line = (await sandboxState()).poLines.find((p) => p.vendor_reference_number === 'OAS-2026-0001301');
  expect(line?.resource_metadata?.mms_id?.value).toBe(bib);
});

test('warn (UNIV-MAIN): a print copy held without any PO line is found through SRU, the alert names its holding', async () => {
  // No PO line names it: the bib is found among the sandbox's bibs by its ISBN.
  const bibs = (await sandboxState()).bibs as { mms_id: string; isbn: string | null }[];
  const bib = bibs.find((b) => b.isbn === '9780262510875')!.mms_id;
  expect(bib).toMatch(/^\d+$/);
  const r = await rto(
    'order',
    'submit',
    example('duplicate-held-no-po-line.json'),
    '--wait',
    'FOLLOWING_UP',
    '--json',
  );
  expect(r.code).toBe(0);
  const s = json<Status>(r);
  expect(s.alerts).toContain('POSSIBLE_DUPLICATE');
  const status = json<Status>(await rto('order', 'status', 'UNIV-MAIN', 'OAS-2026-0001304', '--json'));
  const alert = status.history?.find((h) => h.event === 'alert POSSIBLE_DUPLICATE');
  expect(alert?.detail).toContain(`bib ${bib} held at MAIN/STACKS`);
  expect(s.mmsId).toBe(bib);
});

test('hold (UNIV-LAW): submit --wait ends at once on HELD (exit 3) saying what Alma has and how to release it', async () => {
  const r = await rto('order', 'submit', example('duplicate-on-order.json'), '--wait', 'FOLLOWING_UP');
  // Exit 3, not 1: the wait did not run out its 300 s, it ended on HELD.
  expect(r.code).toBe(3);
  expect(r.stdout).toMatch(/stage +HELD/);
  expect(r.stderr).toContain('The order is HELD');
  expect(r.stderr).toContain('PO line POL-8003 (ACTIVE)');
  expect(r.stderr).toContain('rto order release UNIV-LAW OAS-2026-0001303');
  expect(r.stderr).toContain('rto order cancel UNIV-LAW OAS-2026-0001303 --reason LIBRARY_CANCELLED');
  // Nothing bought while held.
  expect(
    (await sandboxState()).poLines.filter((p) => p.vendor_reference_number === 'OAS-2026-0001303'),
  ).toEqual([]);
  const listed = json<Status[]>(
    await rto('order', 'list', '--account', 'UNIV-LAW', '--stage', 'HELD', '--json'),
  );
  expect(listed.map((o) => (o as unknown as { orderId: string }).orderId)).toContain('OAS-2026-0001303');
});

test('release: the held order goes on to a PO line linked to the one bib found; its timeline says so', async () => {
  const bib = await heldBib('9780199644704');
  const released = await rto(
    'order',
    'release',
    'UNIV-LAW',
    'OAS-2026-0001303',
    '--comment',
    'reading room copy',
  );
  expect(released.code).toBe(0);
  // Submitting the same file again waits on the order placed before.
  const r = await rto(
    'order',
    'submit',
    example('duplicate-on-order.json'),
    '--wait',
    'FOLLOWING_UP',
    '--json',
  );
  expect(r.code).toBe(0);
  const s = json<Status>(r);
  expect(s.stage).toBe('FOLLOWING_UP');
  expect(s.poLine).toMatch(/^POL-\d+$/);
  expect(s.mmsId).toBe(bib);
  const lines = (await sandboxState()).poLines.filter(
    (p) => p.vendor_reference_number === 'OAS-2026-0001303',
  );
  expect(lines).toHaveLength(1);
  expect(lines[0]!.resource_metadata?.mms_id?.value).toBe(bib);

  const table = await rto('order', 'status', 'UNIV-LAW', 'OAS-2026-0001303');
  expect(table.code).toBe(0);
  expect(table.stdout).toMatch(/rto +stage HELD/);
  expect(table.stdout).toMatch(/rto +alert POSSIBLE_DUPLICATE/);
  expect(table.stdout).toMatch(/staff +released/);
  expect(table.stdout).toContain(`PO line created: ${s.poLine!}`);
  sample(
    'npm-start-timeline.txt',
    `$ npm run rto -- order status UNIV-LAW OAS-2026-0001303\n${table.stdout}`,
  );
});

test('the digest of UNIV-LAW lists the held order and the rejected vendor files, one sent again; ui-url lists what needs staff', async () => {
  // A title bought long ago, ordered again: HELD (waiting for HELD is success).
  const held = await rto('order', 'submit', example('duplicate-held-print.json'), '--wait', 'HELD', '--json');
  expect(held.code).toBe(0);
  expect(json<Status>(held).stage).toBe('HELD');
  // An unreadable vendor file, then the same contents under another name.
  const edi = path.join(dataDir, 'vendor', 'UNIV-LAW', 'edi');
  const broken = 'ORDER RESPONSE 30 NOV (not EDIFACT)\n';
  writeFileSync(path.join(edi, 'LAW-ordrsp-1130.edi'), broken);
  const first = await rto('edi', 'run', 'UNIV-LAW');
  expect({ code: first.code, out: first.stdout }).toMatchObject({ code: 1 });
  writeFileSync(path.join(edi, 'LAW-ordrsp-1130-resent.edi'), broken);
  const again = await rto('edi', 'run', 'UNIV-LAW');
  expect({ code: again.code, out: again.stdout }).toMatchObject({ code: 1 });

  const d = await rto('digest', 'run', 'UNIV-LAW');
  expect(d.code).toBe(0);
  expect(d.stdout).toMatch(/mailed as </);
  const mails = readdirSync(path.join(dataDir, 'mail'))
    .map((f) => readFileSync(path.join(dataDir, 'mail', f), 'utf8'))
    .filter((m) => /Daily digest UNIV-LAW/.test(m.slice(0, m.search(/\r?\n\r?\n/))));
  expect(mails).toHaveLength(1);
  const text = textPart(mails[0]!);
  expect(text).toContain('Possible duplicates (HELD ones wait for release) (2)');
  expect(text).toMatch(/OAS-2026-0001302: +POSSIBLE_DUPLICATE; HELD/);
  expect(text).toContain('LAW-ordrsp-1130.edi:');
  expect(text).toMatch(/LAW-ordrsp-1130-resent\.edi: +sent again: same contents as rejected\//);
  const headers = mails[0]!.slice(0, mails[0]!.search(/\r?\n\r?\n/));
  sample(
    'npm-start-digest.txt',
    `${headers
      .replace(/\r?\n[ \t]+/g, ' ')
      .split(/\r?\n/)
      .filter((l) => /^(From|To|Subject|Date|Message-ID):/i.test(l))
      .join('\n')}\n\n${text}`,
  );

  const ui = await rto('ui-url', '--needs-attention');
  expect(ui.code).toBe(0);
  expect(decodeURIComponent(ui.stdout)).toContain("OrderStage IN ('FAILED', 'HELD')");
  const attention = json<{ orderId: string; stage: string }[]>(
    await rto('order', 'list', '--account', 'UNIV-LAW', '--json'),
  );
  expect(attention).toEqual(
    expect.arrayContaining([expect.objectContaining({ orderId: 'OAS-2026-0001302', stage: 'HELD' })]),
  );
});
