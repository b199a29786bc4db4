/**
 * The createPoLine activity's exactly-once logic on its own (docs/exactly-once.md, design points 3 to 5): the
 * `{postedAt}` marker heartbeated before each POST, the settle wait done INSIDE the attempt (the rest of it for an
 * earlier attempt's marker, a whole one after a lost answer or a 401870), at most two POSTs per attempt, which
 * failures clear the marker and which keep it. Alma is a fake client that records every call in one log with the
 * heartbeats and the activity's sleeps, so "marker, then POST" and "wait, then look again" are checked in order,
 * not assumed. The settle time is made tiny (200 ms) and real time passes; waits are also measured (loosely).
 * Heartbeats every 5 s during long searches and waits are checked with fake timers. (The real thing against the
 * sandbox over HTTP: exactly-once.test.ts.)
 */
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { poLineActivities, settleTimeOf } from '../src/activities/po-line';
import type { CreatedPoLine } from '../src/activities/types';
import type { PoLine, PoLineInput } from '../src/alma/client';
import { AlmaError, errorFromResponse, errorFromTransport } from '../src/alma/errors';
import { parseConfig } from '../src/config/load';
import type { Order } from '../src/contract/order';
import type { AccountAlma, AlmaAccess } from '../src/institution/alma-access';
import { createLogger } from '../src/logging';
import { FailureType } from '../src/order/failures';
import { exampleConfigRaw } from './harness/system';

const rawConfig = () => exampleConfigRaw('http://127.0.0.1:1/almaws/v1', '/tmp/rto-po-line-activity-test');
const raw = rawConfig();
const inst = raw.institutions['01UNIV_INST']!;
inst.requestTimeout = '50ms';
inst.settleTime = '200ms';
const config = parseConfig(raw);
const account = config.accounts['UNIV-MAIN']!;
const institution = config.institutions[account.institution]!;
/** How long a POST whose answer was lost may still be arriving at Alma: 200 ms here (3 minutes by default). */
const SETTLE_MS = settleTimeOf(institution);
const logger = createLogger({ level: 'silent', pretty: false });

const order = {
  orderId: 'OAS-77',
  account: 'UNIV-MAIN',
  placedAt: '2026-11-28T15:04:05Z',
  placedBy: { name: 'A', email: 'a@b.edu' },
  item: { title: 'Statistics handbook', format: 'print', isbn: '9780596520687' },
  location: { library: 'MAIN', shelvingLocation: 'STACKS' },
  quantity: 1,
  listPrice: { amount: '10.00', currency: 'USD' },
  fundDistribution: [{ fund: 'GEN01', percent: 100 }],
  orderType: 'firm',
  rush: false,
  emailConfirmation: false,
} as Order;
const input = { account: 'UNIV-MAIN', order };

/** The line this order created in Alma, as the search shows it. */
const mine = {
  number: 'POL-1',
  vendor_reference_number: order.orderId,
  vendor: { value: account.alma.vendorCode },
  vendor_account: account.alma.vendorAccount,
  status: { value: 'ACTIVE' },
} as PoLine;
/** Another order's line for the same ISBN: the search finds it, the activity must not take it for ours. */
const other = {
  number: 'POL-2',
  vendor_reference_number: 'OAS-OTHER',
  status: { value: 'ACTIVE' },
} as PoLine;
/** What Alma answers to the POST. */
const created = {
  number: 'POL-100',
  status: { value: 'IN_REVIEW' },
  alert: [{ desc: 'Fund low' }],
} as PoLine;

const PATH = '/acq/po-lines';
const almaBody = (code: string, message: string) =>
  JSON.stringify({
    errorsExist: true,
    errorList: { error: [{ errorCode: code, errorMessage: message, trackingId: 'E01-TRACK-1' }] },
  });
/** A timeout after the request had been sent: Alma may commit it later. */
const postTimedOut = () =>
  errorFromTransport('POST', PATH, {
    code: 'ETIMEDOUT',
    message: "Timeout awaiting 'request' for 50ms",
    sent: true,
    aborted: false,
  });
/** A 502 from the gateway: Alma may have done the work before failing. */
const badGateway = () => errorFromResponse('POST', PATH, 502, '<html>Bad gateway</html>');
/** "PoLine already exists". */
const exists = () => errorFromResponse('POST', PATH, 400, almaBody('401870', 'PoLine already exists'));

type Event =
  | { e: 'search'; q: string; at: number }
  | { e: 'list'; vendor: string; offset: number; at: number }
  | { e: 'post'; body: PoLineInput; profileCode?: string; at: number }
  | { e: 'heartbeat'; details: unknown; at: number }
  | { e: 'sleep'; ms: number; at: number };

/** A search answer: lines, an error, or lines after a delay (a slow Alma). */
type SearchAnswer = PoLine[] | AlmaError | { after?: number; lines: PoLine[]; total?: number };

/**
 * Alma as scripted answers: each search and each POST takes the next answer (a list of lines or an error);
 * searches past the script find nothing, POSTs past it fail loudly (and are logged, so counts catch them).
 */
function fakeAlma(
  script: { searches?: SearchAnswer[]; lists?: SearchAnswer[]; posts?: (PoLine | AlmaError)[] },
  inst: Partial<typeof institution> = institution,
) {
  const events: Event[] = [];
  const searches = [...(script.searches ?? [])];
  const posts = [...(script.posts ?? [])];
  const lists = [...(script.lists ?? [])];
  const client = {
    /** The vendor's list (one page per answer); past the script it lists nothing. */
    async listVendorPoLines(vendor: string, o?: { offset?: number }) {
      events.push({ e: 'list', vendor, offset: o?.offset ?? 0, at: Date.now() });
      const next = lists.shift() ?? [];
      if (next instanceof Error) throw next;
      if (Array.isArray(next)) return { poLines: next, total: next.length };
      if (next.after) await new Promise((r) => setTimeout(r, next.after));
      return { poLines: next.lines, total: next.total ?? next.lines.length };
    },
    async searchPoLines(q: string) {
      events.push({ e: 'search', q, at: Date.now() });
      const next = searches.shift() ?? [];
      if (next instanceof Error) throw next;
      if (Array.isArray(next)) return { poLines: next, total: next.length };
      await new Promise((r) => setTimeout(r, next.after));
      return { poLines: next.lines, total: next.lines.length };
    },
    async createPoLine(body: PoLineInput, o?: { profileCode?: string }) {
      events.push({ e: 'post', body, profileCode: o?.profileCode, at: Date.now() });
      const next = posts.shift();
      if (next === undefined) throw new Error('unexpected POST');
      if (next instanceof Error) throw next;
      return next;
    },
  };
  const forAccount = jest.fn(
    (_code: string, _signal?: AbortSignal) =>
      ({ client, account, institution: { ...institution, ...inst } }) as unknown as AccountAlma,
  );
  const alma = { forAccount } as unknown as AlmaAccess;
  return { alma, forAccount, events };
}
type FakeAlma = ReturnType<typeof fakeAlma>;

/**
 * Starts one attempt of createPoLine with the heartbeat details a previous attempt left (if any). Heartbeats and
 * the activity's sleeps (ctx.sleep: real, or fake with fake timers) go into the fake's log.
 */
function start(alma: FakeAlma, prior?: { postedAt?: number }, n = prior ? 2 : 1) {
  const env = new MockActivityEnvironment(
    { attempt: n, heartbeatDetails: prior, heartbeatTimeoutMs: 60_000 },
    { logger: new DefaultLogger('ERROR') },
  );
  env.on('heartbeat', (details: unknown) => alma.events.push({ e: 'heartbeat', details, at: Date.now() }));
  const sleep = env.context.sleep;
  jest.spyOn(env.context, 'sleep').mockImplementation((ms) => {
    alma.events.push({ e: 'sleep', ms: msToNumber(ms), at: Date.now() });
    return sleep(ms);
  });
  const { createPoLine } = poLineActivities({ alma: alma.alma, logger });
  const run = env.run<[typeof input], CreatedPoLine, typeof createPoLine>(createPoLine, input);
  run.catch(() => undefined); // awaited by the test; no unhandled rejection while timers are advanced
  return { env, run };
}

/** Runs one attempt to its end, and how long it took (real time). */
async function attempt(
  alma: FakeAlma,
  prior?: { postedAt?: number },
  n?: number,
): Promise<{ result: CreatedPoLine; ms: number }> {
  const t0 = Date.now();
  const result = await start(alma, prior, n).run;
  return { result, ms: Date.now() - t0 };
}

/** Runs one attempt that must fail, and how long it took. */
async function failedAttempt(
  alma: FakeAlma,
  prior?: { postedAt?: number },
  n?: number,
): Promise<{ failure: ApplicationFailure; ms: number }> {
  const t0 = Date.now();
  const err = await start(alma, prior, n).run.then(
    () => undefined,
    (e: unknown) => e,
  );
  const ms = Date.now() - t0;
  expect(err).toBeInstanceOf(ApplicationFailure);
  return { failure: err as ApplicationFailure, ms };
}

/** The log as words: the marker shown as `{postedAt}` or `{}` (its values are checked apart). */
const kinds = (events: Event[]) =>
  events.map((ev) =>
    ev.e === 'heartbeat'
      ? `heartbeat ${(ev.details as { postedAt?: number } | undefined)?.postedAt ? '{postedAt}' : '{}'}`
      : ev.e,
  );
const posts = (events: Event[]) =>
  events.filter((ev): ev is Extract<Event, { e: 'post' }> => ev.e === 'post');
const sleeps = (events: Event[]) =>
  events.filter((ev): ev is Extract<Event, { e: 'sleep' }> => ev.e === 'sleep').map((ev) => ev.ms);
const heartbeats = (events: Event[]) =>
  events
    .filter((ev): ev is Extract<Event, { e: 'heartbeat' }> => ev.e === 'heartbeat')
    .map((ev) => ev.details as { postedAt?: number });
/** The `postedAt` of each fresh marker heartbeated before a POST, in order (repeats of one marker once). */
const markers = (events: Event[]) => [
  ...new Set(heartbeats(events).flatMap((d) => (d.postedAt === undefined ? [] : [d.postedAt]))),
];

/** Timers fire on time, Date.now may lag a millisecond behind them: waits are compared with this slack. */
const SLACK = 5;

/** Fake timers and a fake clock that moves only with them (for exact times and long waits in no time). */
const NOW = 1_800_000_000_000;
const fakeTime = () =>
  jest.useFakeTimers({
    now: NOW,
    doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate', 'clearImmediate', 'hrtime', 'performance'],
  });

afterEach(() => {
  jest.useRealTimers();
  jest.restoreAllMocks();
});

describe('the settle time', () => {
  test('is the institution’s settleTime, or twice its request timeout if that is longer', () => {
    expect(institution.settleTime).toBe(200);
    expect(institution.requestTimeout).toBe(50);
    expect(SETTLE_MS).toBe(200);
    expect(settleTimeOf({ settleTime: 1000, requestTimeout: 30_000 })).toBe(60_000);
    expect(settleTimeOf({ settleTime: 180_000, requestTimeout: 30_000 })).toBe(180_000);
  });

  test('settleTime defaults to 3 minutes', () => {
    const r = rawConfig();
    delete r.institutions['01UNIV_INST']!.settleTime;
    const i = parseConfig(r).institutions['01UNIV_INST']!;
    expect(i.settleTime).toBe(180_000);
    expect(settleTimeOf(i)).toBe(180_000);
  });
});

describe('a first attempt that finds no PO line', () => {
  test('heartbeats the {postedAt} marker before the POST, posts once, and returns the new line (found=false)', async () => {
    const alma = fakeAlma({ searches: [[other]], posts: [created] });
    const before = Date.now();
    const { result, ms } = await attempt(alma);
    const after = Date.now();

    // The marker must be recorded BEFORE the request leaves: a response lost after Alma committed must leave
    // the next attempt knowing a POST went out. Marker after the POST (or none) = a second purchase.
    expect(kinds(alma.events)).toEqual(['heartbeat {}', 'search', 'heartbeat {postedAt}', 'post']);
    const [postedAt] = markers(alma.events);
    expect(postedAt).toBeGreaterThanOrEqual(before);
    expect(postedAt).toBeLessThanOrEqual(after);
    expect(sleeps(alma.events)).toEqual([]);
    expect(ms).toBeLessThan(SETTLE_MS);

    expect(alma.forAccount).toHaveBeenCalledWith('UNIV-MAIN', expect.any(AbortSignal));
    expect(alma.events[1]).toMatchObject({ e: 'search', q: `issn_isbn~${order.item.isbn}` });
    const post = posts(alma.events)[0]!;
    expect(post.body.vendor_reference_number).toBe(order.orderId);
    expect(post.body.vendor).toEqual({ value: account.alma.vendorCode });
    // What the next attempt's search compares: the line carries this account's vendor account.
    expect(post.body.vendor_account).toBe(account.alma.vendorAccount);
    expect(post.profileCode).toBe(account.alma.profileCode);
    expect(result).toEqual<CreatedPoLine>({
      number: 'POL-100',
      status: 'IN_REVIEW',
      inReview: true,
      almaAlerts: ['Fund low'],
      found: false,
      almaCalls: 2,
    });
  });

  test('finds the line at once (an earlier attempt without a marker): found=true, no POST, no wait', async () => {
    const alma = fakeAlma({ searches: [[other, mine]], posts: [created] });
    const { result } = await attempt(alma);
    expect(result).toEqual<CreatedPoLine>({
      number: 'POL-1',
      status: 'ACTIVE',
      inReview: false,
      almaAlerts: [],
      found: true,
      almaCalls: 1,
    });
    expect(kinds(alma.events)).toEqual(['heartbeat {}', 'search']);
  });
});

describe('which line is this order’s', () => {
  const line = (extra: Partial<PoLine>) => ({ ...mine, number: 'POL-X', ...extra }) as PoLine;

  test.each<[string, PoLine]>([
    ['another vendor account (a string)', line({ vendor_account: 'PQ-OASIS-LAW' })],
    ['another vendor account (coded)', line({ vendor_account: { value: 'PQ-OASIS-LAW' } })],
    ['another vendor', line({ vendor: { value: 'OTHER-VENDOR' } })],
    ['another order id', line({ vendor_reference_number: 'OAS-78' })],
    ['the same, but cancelled', line({ status: { value: 'CANCELLED' } })],
  ])('%s: not taken for this order’s, the order posts', async (_name, pl) => {
    expect(account.alma.vendorAccount).toBe('PQ-OASIS-MAIN');
    const alma = fakeAlma({ searches: [[pl]], posts: [created] });
    const { result } = await attempt(alma);
    expect(result.found).toBe(false);
    expect(result.number).toBe('POL-100');
    expect(posts(alma.events)).toHaveLength(1);
  });

  test.each<[string, PoLine]>([
    ['the same vendor account (a string)', line({ vendor_account: 'PQ-OASIS-MAIN' })],
    ['the same vendor account (coded)', line({ vendor_account: { value: 'PQ-OASIS-MAIN' } })],
    [
      'no vendor account in the answer (stricter: never a second line beside it)',
      line({ vendor_account: null }),
    ],
    ['no vendor in the answer', line({ vendor: null, vendor_account: undefined })],
  ])('%s: taken as this order’s, no POST', async (_name, pl) => {
    const alma = fakeAlma({ searches: [[other, pl]], posts: [created] });
    const { result } = await attempt(alma);
    expect(result.found).toBe(true);
    expect(result.number).toBe('POL-X');
    expect(posts(alma.events)).toHaveLength(0);
  });
});

describe('an attempt after an earlier one posted (its {postedAt} marker in heartbeatDetails)', () => {
  test('the line IS found (the earlier POST committed): returns it, found=true, no wait and no POST', async () => {
    const prior = { postedAt: Date.now() - 50 };
    const alma = fakeAlma({ searches: [[other, mine]], posts: [created] });
    const { result, ms } = await attempt(alma, prior);

    expect(result).toMatchObject({ number: 'POL-1', found: true, almaCalls: 1 });
    // The earlier marker is heartbeated back at once (it must survive this attempt), and nothing else.
    expect(kinds(alma.events)).toEqual(['heartbeat {postedAt}', 'search']);
    expect(heartbeats(alma.events)).toEqual([prior]);
    expect(ms).toBeLessThan(SETTLE_MS);
  });

  test('not found while the earlier POST may still arrive: waits the REST of the settle time, looks again, finds it', async () => {
    const prior = { postedAt: Date.now() - 120 };
    const alma = fakeAlma({ searches: [[other], [other, mine]], posts: [created] });
    const { result, ms } = await attempt(alma, prior);

    expect(result).toMatchObject({ number: 'POL-1', found: true, almaCalls: 2 });
    expect(kinds(alma.events)).toEqual(['heartbeat {postedAt}', 'search', 'sleep', 'search']);
    // What is left of the settle time, not a full one from scratch, not zero.
    const [wait] = sleeps(alma.events);
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(SETTLE_MS - 120);
    // The second search comes once the settle time from the earlier POST is over.
    const second = alma.events.filter((ev) => ev.e === 'search')[1]!;
    expect(second.at - prior.postedAt).toBeGreaterThanOrEqual(SETTLE_MS - SLACK);
    expect(ms).toBeGreaterThanOrEqual(wait! - SLACK);
    // The marker is left as it was: no fresh one (that would restart the wait), no {} (that would drop it).
    expect(heartbeats(alma.events)).toEqual([prior]);
  });

  test('still not found after the wait: posts once, behind a fresh marker, after the settle time', async () => {
    const prior = { postedAt: Date.now() - 50 };
    const alma = fakeAlma({ searches: [[other], [other]], posts: [created] });
    const { result, ms } = await attempt(alma, prior);

    expect(result).toMatchObject({ number: 'POL-100', found: false, almaCalls: 4 });
    // The search may lag behind the earlier POST's line: the vendor's list is read before posting again.
    expect(kinds(alma.events)).toEqual([
      'heartbeat {postedAt}',
      'search',
      'sleep',
      'search',
      'list',
      'heartbeat {postedAt}',
      'post',
    ]);
    const [earlier, fresh] = markers(alma.events);
    expect(earlier).toBe(prior.postedAt);
    expect(fresh! - prior.postedAt).toBeGreaterThanOrEqual(SETTLE_MS - SLACK);
    expect(posts(alma.events)[0]!.at - prior.postedAt).toBeGreaterThanOrEqual(SETTLE_MS - SLACK);
    expect(ms).toBeGreaterThanOrEqual(sleeps(alma.events)[0]! - SLACK);
  });

  test('one millisecond before the settle time is up it still waits (1 ms, fake clock), then posts', async () => {
    fakeTime();
    const prior = { postedAt: NOW - SETTLE_MS + 1 };
    const alma = fakeAlma({ posts: [created] });
    const { run } = start(alma, prior);
    await jest.advanceTimersByTimeAsync(1);
    const result = await run;
    expect(result.found).toBe(false);
    expect(sleeps(alma.events)).toEqual([1]);
    expect(kinds(alma.events)).toEqual([
      'heartbeat {postedAt}',
      'search',
      'sleep',
      'search',
      'list',
      'heartbeat {postedAt}',
      'post',
    ]);
    expect(markers(alma.events)).toEqual([prior.postedAt, NOW + 1]);
  });

  test('the settle time is over: posts at once (no wait), behind a fresh marker', async () => {
    const prior = { postedAt: Date.now() - SETTLE_MS };
    const alma = fakeAlma({ searches: [[]], posts: [created] });
    const { result } = await attempt(alma, prior);
    expect(kinds(alma.events)).toEqual([
      'heartbeat {postedAt}',
      'search',
      'list',
      'heartbeat {postedAt}',
      'post',
    ]);
    expect(markers(alma.events)[1]).toBeGreaterThan(prior.postedAt);
    expect(result).toMatchObject({ number: 'POL-100', found: false });
  });

  test('a marker long past the settle time: posts at once, once', async () => {
    const alma = fakeAlma({ posts: [created] });
    const { result } = await attempt(alma, { postedAt: Date.now() - 10 * SETTLE_MS }, 5);
    expect(sleeps(alma.events)).toEqual([]);
    expect(posts(alma.events)).toHaveLength(1);
    expect(result.found).toBe(false);
  });

  test('a cleared marker ({}) from an earlier refused POST: posts at once', async () => {
    const alma = fakeAlma({ posts: [created] });
    const { result } = await attempt(alma, {});
    expect(kinds(alma.events)).toEqual(['heartbeat {}', 'search', 'heartbeat {postedAt}', 'post']);
    expect(result.found).toBe(false);
  });

  test('the line is found after the settle time too: found=true, no POST', async () => {
    const alma = fakeAlma({ searches: [[mine]] });
    const { result } = await attempt(alma, { postedAt: Date.now() - 10 * SETTLE_MS });
    expect(result.found).toBe(true);
    expect(posts(alma.events)).toHaveLength(0);
  });

  test('the wait for an earlier marker does not use up this attempt’s two POSTs', async () => {
    const prior = { postedAt: Date.now() - 50 };
    const alma = fakeAlma({ posts: [postTimedOut(), postTimedOut(), created] });
    const { failure } = await failedAttempt(alma, prior);
    expect(failure.type).toBe(FailureType.AlmaUnavailable);
    expect(posts(alma.events)).toHaveLength(2);
    expect(sleeps(alma.events)).toHaveLength(3);
  });
});

describe('a POST whose answer is lost (timeout after sending, 5xx): the wait happens in this attempt', () => {
  test.each([
    ['a timeout after the request was sent', postTimedOut],
    ['a 502', badGateway],
  ])(
    '%s, then the line shows up after the settle time: found=true, exactly one POST',
    async (_name, lost) => {
      const error = lost();
      expect(error).toMatchObject({ ambiguous: true, retryable: true });
      const alma = fakeAlma({ searches: [[other], [other], [other, mine]], posts: [error, created] });
      const { result, ms } = await attempt(alma);

      expect(result).toEqual<CreatedPoLine>({
        number: 'POL-1',
        status: 'ACTIVE',
        inReview: false,
        almaAlerts: [],
        found: true,
        almaCalls: 4,
      });
      // Looks at once (Alma may have committed already), then waits the settle time from the POST, looks again.
      expect(kinds(alma.events)).toEqual([
        'heartbeat {}',
        'search',
        'heartbeat {postedAt}',
        'post',
        'search',
        'sleep',
        'search',
      ]);
      const [postedAt] = markers(alma.events);
      const last = alma.events.at(-1)!;
      expect(last.at - postedAt!).toBeGreaterThanOrEqual(SETTLE_MS - SLACK);
      expect(ms).toBeGreaterThanOrEqual(SETTLE_MS - SLACK);
      expect(posts(alma.events)).toHaveLength(1);
      // No {} ever: until the line is found, a POST may be arriving.
      expect(heartbeats(alma.events).slice(1)).toEqual([{ postedAt }]);
    },
  );

  test('the line is visible right after the lost answer: found=true without waiting', async () => {
    const alma = fakeAlma({ searches: [[], [mine]], posts: [postTimedOut(), created] });
    const { result, ms } = await attempt(alma);
    expect(result).toMatchObject({ number: 'POL-1', found: true, almaCalls: 3 });
    expect(kinds(alma.events)).toEqual(['heartbeat {}', 'search', 'heartbeat {postedAt}', 'post', 'search']);
    expect(ms).toBeLessThan(SETTLE_MS);
  });

  test('not found after the settle time: posts a second time behind a fresh marker, and returns that line', async () => {
    const alma = fakeAlma({ posts: [postTimedOut(), created] });
    const { result, ms } = await attempt(alma);

    expect(result).toMatchObject({ number: 'POL-100', found: false, almaCalls: 6 });
    expect(kinds(alma.events)).toEqual([
      'heartbeat {}',
      'search',
      'heartbeat {postedAt}',
      'post',
      'search',
      'sleep',
      'search',
      'list',
      'heartbeat {postedAt}',
      'post',
    ]);
    const [first, second] = markers(alma.events);
    expect(second! - first!).toBeGreaterThanOrEqual(SETTLE_MS - SLACK);
    expect(ms).toBeGreaterThanOrEqual(SETTLE_MS - SLACK);
  });

  test('lost twice: two POSTs at most, then a retryable AlmaUnavailable (no fixed delay), the marker kept', async () => {
    const alma = fakeAlma({ posts: [postTimedOut(), badGateway(), created] });
    const { failure, ms } = await failedAttempt(alma);

    expect(failure.type).toBe(FailureType.AlmaUnavailable);
    expect(failure.nonRetryable).toBe(false);
    // Temporal's back-off decides when the next attempt comes: the settle waits were done here.
    expect(failure.nextRetryDelay).toBeUndefined();
    expect(failure.message).toContain('2 POSTs');
    expect(posts(alma.events)).toHaveLength(2);
    expect(kinds(alma.events)).toEqual([
      'heartbeat {}',
      'search',
      'heartbeat {postedAt}',
      'post',
      'search',
      'sleep',
      'search',
      'list',
      'heartbeat {postedAt}',
      'post',
      'search',
      'sleep',
      'search',
      'list',
    ]);
    // Each POST was waited out in full before the attempt gave up.
    const [, second] = markers(alma.events);
    expect(alma.events.at(-1)!.at - second!).toBeGreaterThanOrEqual(SETTLE_MS - SLACK);
    expect(ms).toBeGreaterThanOrEqual(2 * SETTLE_MS - SLACK);
    // The last marker stays (no {}): the next attempt knows a POST went out.
    expect(heartbeats(alma.events).at(-1)).toEqual({ postedAt: second });
  });

  test('the attempt after that: its marker is already a settle time old, so it looks once and posts (no wait)', async () => {
    const first = fakeAlma({ posts: [postTimedOut(), postTimedOut()] });
    await failedAttempt(first);
    const marker = heartbeats(first.events).at(-1)!;

    const second = fakeAlma({ posts: [created] });
    const { result } = await attempt(second, marker);
    expect(kinds(second.events)).toEqual([
      'heartbeat {postedAt}',
      'search',
      'list',
      'heartbeat {postedAt}',
      'post',
    ]);
    expect(result.found).toBe(false);
  });

  test('the search after a lost answer is refused: the failure is the search’s, and the marker is kept', async () => {
    const alma = fakeAlma({
      searches: [[], errorFromResponse('GET', PATH, 500, almaBody('INTERNAL', 'Internal error'))],
      posts: [postTimedOut(), created],
    });
    const { failure } = await failedAttempt(alma);
    expect(failure.type).toBe(FailureType.AlmaUnavailable);
    expect(failure.nonRetryable).toBe(false);
    expect(posts(alma.events)).toHaveLength(1);
    expect(heartbeats(alma.events).at(-1)).toEqual({ postedAt: expect.any(Number) });
  });
});

describe('401870 "PoLine already exists" answering the POST', () => {
  test('the vendor’s list shows it at once: returned (found=true), no wait, no second POST', async () => {
    const alma = fakeAlma({ searches: [[]], lists: [[other, mine]], posts: [exists(), created] });
    const { result, ms } = await attempt(alma);
    expect(result).toMatchObject({ number: 'POL-1', found: true, almaCalls: 3 });
    expect(kinds(alma.events)).toEqual(['heartbeat {}', 'search', 'heartbeat {postedAt}', 'post', 'list']);
    expect(alma.events.find((ev) => ev.e === 'list')).toMatchObject({ vendor: account.alma.vendorCode });
    expect(ms).toBeLessThan(SETTLE_MS);
  });

  test('not listed yet: waits the settle time, searches again and returns the line (found=true), without a second POST', async () => {
    const alma = fakeAlma({ searches: [[], [other, mine]], posts: [exists(), created] });
    const { result, ms } = await attempt(alma);

    expect(result).toMatchObject({ number: 'POL-1', found: true, almaCalls: 4 });
    expect(kinds(alma.events)).toEqual([
      'heartbeat {}',
      'search',
      'heartbeat {postedAt}',
      'post',
      'list',
      'sleep',
      'search',
    ]);
    const [postedAt] = markers(alma.events);
    expect(alma.events.at(-1)!.at - postedAt!).toBeGreaterThanOrEqual(SETTLE_MS - SLACK);
    expect(ms).toBeGreaterThanOrEqual(SETTLE_MS - SLACK);
  });

  test('not visible yet: a retryable AlmaUnavailable, no second POST, and the marker is kept', async () => {
    const alma = fakeAlma({ searches: [[], [other]], posts: [exists(), created] });
    const { failure, ms } = await failedAttempt(alma);

    expect(failure.type).toBe(FailureType.AlmaUnavailable);
    expect(failure.nonRetryable).toBe(false);
    expect(failure.nextRetryDelay).toBeUndefined();
    expect(failure.message).toContain('401870');
    // Alma has the line: clearing the marker (a 401870 is not "ambiguous") would let the next attempt post again.
    expect(kinds(alma.events)).toEqual([
      'heartbeat {}',
      'search',
      'heartbeat {postedAt}',
      'post',
      'list',
      'sleep',
      'search',
      'list',
    ]);
    expect(posts(alma.events)).toHaveLength(1);
    expect(ms).toBeGreaterThanOrEqual(SETTLE_MS - SLACK);
  });
});

describe('a POST that Alma surely did not take: the marker is cleared, no wait', () => {
  test('refused as invalid (400): non-retryable AlmaInvalidRequest with Alma’s code and tracking id', async () => {
    const refused = errorFromResponse('POST', PATH, 400, almaBody('40166410', 'Fund GEN01 is not active'));
    expect(refused).toMatchObject({ kind: 'invalid-request', ambiguous: false, retryable: false });
    const alma = fakeAlma({ posts: [refused, created] });
    const { failure, ms } = await failedAttempt(alma);

    // Alma certainly did not create it: the marker is cleared so that a later attempt (or a reset) posts at once.
    expect(kinds(alma.events)).toEqual([
      'heartbeat {}',
      'search',
      'heartbeat {postedAt}',
      'post',
      'heartbeat {}',
    ]);
    expect(heartbeats(alma.events).at(-1)).toEqual({});
    expect(ms).toBeLessThan(SETTLE_MS);
    expect(failure.type).toBe(FailureType.AlmaInvalidRequest);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.nextRetryDelay).toBeUndefined();
    expect(failure.message).toContain('40166410');
    expect(failure.details?.[0]).toMatchObject({
      code: '40166410',
      trackingId: 'E01-TRACK-1',
      kind: 'invalid-request',
      status: 400,
    });
  });

  test.each([
    [
      'a network error before the request was sent',
      () =>
        errorFromTransport('POST', PATH, {
          code: 'ECONNREFUSED',
          message: 'connect ECONNREFUSED',
          sent: false,
          aborted: false,
        }),
    ],
    [
      'a 503 ROUTING_ERROR (the gateway could not pass it on)',
      () => errorFromResponse('POST', PATH, 503, almaBody('ROUTING_ERROR', 'Routing error')),
    ],
  ])('%s: retryable AlmaUnavailable, at once', async (_name, make) => {
    const unsent = make();
    expect(unsent).toMatchObject({ ambiguous: false, retryable: true });
    const alma = fakeAlma({ posts: [unsent, created] });
    const { failure, ms } = await failedAttempt(alma);
    expect(kinds(alma.events)).toEqual([
      'heartbeat {}',
      'search',
      'heartbeat {postedAt}',
      'post',
      'heartbeat {}',
    ]);
    expect(failure.type).toBe(FailureType.AlmaUnavailable);
    expect(failure.nonRetryable).toBe(false);
    // Nothing can be arriving at Alma: no settle wait, now or in the next attempt.
    expect(failure.nextRetryDelay).toBeUndefined();
    expect(ms).toBeLessThan(SETTLE_MS);
  });

  test('after a lost answer and the wait, a refused second POST clears the marker too (the first was waited out)', async () => {
    const refused = errorFromResponse('POST', PATH, 400, almaBody('40166410', 'Fund GEN01 is not active'));
    const alma = fakeAlma({ posts: [postTimedOut(), refused, created] });
    const { failure } = await failedAttempt(alma);
    expect(failure.type).toBe(FailureType.AlmaInvalidRequest);
    expect(posts(alma.events)).toHaveLength(2);
    expect(heartbeats(alma.events).at(-1)).toEqual({});
  });
});

describe('an unauthorised answer to the search', () => {
  test.each([
    ['400 with UNAUTHORIZED', 400],
    ['401', 401],
  ])('%s: non-retryable AlmaUnauthorised, no marker, no wait and no POST', async (_name, status) => {
    const refused = errorFromResponse(
      'GET',
      PATH,
      status,
      almaBody('UNAUTHORIZED', 'API-key not defined or not configured to allow this API.'),
    );
    const alma = fakeAlma({ searches: [refused], posts: [created] });
    const { failure } = await failedAttempt(alma);

    expect(failure.type).toBe(FailureType.AlmaUnauthorised);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.details?.[0]).toMatchObject({ code: 'UNAUTHORIZED', kind: 'unauthorised' });
    expect(kinds(alma.events)).toEqual(['heartbeat {}', 'search']);
  });

  test('also with an earlier attempt’s fresh marker: no wait, and the marker is left alone', async () => {
    const prior = { postedAt: Date.now() - 50 };
    const refused = errorFromResponse('GET', PATH, 400, almaBody('UNAUTHORIZED', 'API-key not defined'));
    const alma = fakeAlma({ searches: [refused], posts: [created] });
    const { failure, ms } = await failedAttempt(alma, prior);
    expect(failure.type).toBe(FailureType.AlmaUnauthorised);
    expect(failure.nonRetryable).toBe(true);
    expect(kinds(alma.events)).toEqual(['heartbeat {postedAt}', 'search']);
    expect(heartbeats(alma.events)).toEqual([prior]);
    expect(ms).toBeLessThan(SETTLE_MS);
  });
});

describe('heartbeats every 5 s all through the attempt (fake timers)', () => {
  test('during a search that takes 12 s: the earlier marker every 5 s, then the fresh one, then none after the end', async () => {
    fakeTime();
    const prior = { postedAt: NOW - 10 * SETTLE_MS };
    const alma = fakeAlma({ searches: [{ after: 12_000, lines: [other] }], posts: [created] });
    const { run } = start(alma, prior);
    await jest.advanceTimersByTimeAsync(12_000);
    const result = await run;

    expect(result.found).toBe(false);
    expect(kinds(alma.events)).toEqual([
      'heartbeat {postedAt}',
      'search',
      'heartbeat {postedAt}',
      'heartbeat {postedAt}',
      'list',
      'heartbeat {postedAt}',
      'post',
    ]);
    expect(alma.events.map((ev) => ev.at - NOW)).toEqual([0, 0, 5000, 10_000, 12_000, 12_000, 12_000]);
    expect(heartbeats(alma.events)).toEqual([prior, prior, prior, { postedAt: NOW + 12_000 }]);
    // The interval ends with the attempt.
    const count = alma.events.length;
    await jest.advanceTimersByTimeAsync(30_000);
    expect(alma.events).toHaveLength(count);
  });

  test('during a settle wait of 12 s: the marker being waited out every 5 s; none after the attempt failed', async () => {
    fakeTime();
    const alma = fakeAlma({ posts: [exists()] }, { settleTime: 12_000, requestTimeout: 50 });
    const { run } = start(alma);
    await jest.advanceTimersByTimeAsync(12_000);
    await expect(run).rejects.toMatchObject({ type: FailureType.AlmaUnavailable });

    const postedAt = NOW;
    expect(kinds(alma.events)).toEqual([
      'heartbeat {}',
      'search',
      'heartbeat {postedAt}',
      'post',
      'list',
      'sleep',
      'heartbeat {postedAt}',
      'heartbeat {postedAt}',
      'search',
      'list',
    ]);
    expect(sleeps(alma.events)).toEqual([12_000]);
    expect(heartbeats(alma.events)).toEqual([{}, { postedAt }, { postedAt }, { postedAt }]);
    expect(alma.events.at(-2)!.at - NOW).toBe(12_000);
    const count = alma.events.length;
    await jest.advanceTimersByTimeAsync(30_000);
    expect(alma.events).toHaveLength(count);
  });
});

describe('a cancellation during the settle wait', () => {
  test('ends the attempt at once, without a POST, the marker kept', async () => {
    const prior = { postedAt: Date.now() - 10 };
    const alma = fakeAlma({ posts: [created] });
    const t0 = Date.now();
    const { env, run } = start(alma, prior);
    setTimeout(() => env.cancel(), 20);
    const err = await run.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeDefined();
    expect(Date.now() - t0).toBeLessThan(SETTLE_MS - 10);
    expect(posts(alma.events)).toHaveLength(0);
    expect(kinds(alma.events)).toEqual(['heartbeat {postedAt}', 'search', 'sleep']);
    expect(heartbeats(alma.events)).toEqual([prior]);
  });

  // Once a bug: toFailure wrapped the CancelledFailure that ctx.sleep throws into an ApplicationFailure
  // AlmaUnavailable ("CANCELLED"), so the worker reported the attempt as failed, not cancelled.
  test('surfaces as a CancelledFailure, so Temporal records the attempt as cancelled', async () => {
    const alma = fakeAlma({ posts: [created] });
    const { env, run } = start(alma, { postedAt: Date.now() - 10 });
    setTimeout(() => env.cancel(), 20);
    await expect(run).rejects.toBeInstanceOf(CancelledFailure);
  });
});

/** 402119 naming the vendor reference number as taken (the sandbox's switchable ASSUMPTION about Alma). */
const referenceTaken = () =>
  errorFromResponse(
    'POST',
    PATH,
    400,
    almaBody(
      '402119',
      `General Error: vendor reference number ${order.orderId} already exists for this vendor`,
    ),
  );

describe('under real search: where the ISBN search cannot prove absence, the vendor’s list is read', () => {
  const many = (n: number, from = 0) =>
    Array.from({ length: n }, (_, i) => ({ ...other, number: `POL-O${from + i}` }) as PoLine);

  test('an earlier attempt’s POST committed, the search lags: the vendor’s list (page 2) shows it, no POST', async () => {
    const alma = fakeAlma({
      searches: [[]],
      lists: [
        { lines: many(100), total: 150 },
        { lines: [...many(49, 100), mine], total: 150 },
      ],
      posts: [created],
    });
    const { result } = await attempt(alma, { postedAt: Date.now() - 10 * SETTLE_MS });
    expect(result).toMatchObject({ number: 'POL-1', found: true, almaCalls: 3 });
    expect(kinds(alma.events)).toEqual(['heartbeat {postedAt}', 'search', 'list', 'list']);
    expect(
      alma.events.filter((ev) => ev.e === 'list').map((ev) => (ev as { offset: number }).offset),
    ).toEqual([0, 100]);
    expect(posts(alma.events)).toHaveLength(0);
  });

  test('a lost answer, and the search still lags after the settle time: the list shows it, exactly one POST', async () => {
    const alma = fakeAlma({
      searches: [[], [], []],
      lists: [[other, mine]],
      posts: [postTimedOut(), created],
    });
    const { result } = await attempt(alma);
    expect(result).toMatchObject({ number: 'POL-1', found: true });
    expect(posts(alma.events)).toHaveLength(1);
    expect(kinds(alma.events).slice(-3)).toEqual(['sleep', 'search', 'list']);
  });

  test('the list filters by vendor reference and vendor account, and skips cancelled lines', async () => {
    const alma = fakeAlma({
      lists: [
        [
          { ...mine, number: 'POL-LAW', vendor_account: 'PQ-OASIS-LAW' } as PoLine,
          { ...mine, number: 'POL-C', status: { value: 'CANCELLED' } } as PoLine,
          other,
        ],
      ],
      posts: [created],
    });
    const { result } = await attempt(alma, { postedAt: Date.now() - 10 * SETTLE_MS });
    expect(result).toMatchObject({ number: 'POL-100', found: false });
    expect(posts(alma.events)).toHaveLength(1);
  });

  test('more lines than MAX_SEARCHED on the vendor: DuplicateCheckInconclusive for a person, no POST', async () => {
    const pages = Array.from({ length: 20 }, () => ({ lines: many(100), total: 5000 }));
    const alma = fakeAlma({ lists: pages, posts: [created] });
    const { failure } = await failedAttempt(alma, { postedAt: Date.now() - 10 * SETTLE_MS });
    expect(failure.type).toBe(FailureType.DuplicateCheckInconclusive);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain(`vendor ${account.alma.vendorCode}`);
    expect(alma.events.filter((ev) => ev.e === 'list')).toHaveLength(20);
    expect(posts(alma.events)).toHaveLength(0);
  });

  test('a workflow started again after the first run ended (no marker), the search misses: Alma refuses the reference, the list finds it, no second POST', async () => {
    const alma = fakeAlma({
      searches: [[other]],
      lists: [[other, mine]],
      posts: [referenceTaken(), created],
    });
    const { result } = await attempt(alma, undefined, 1);
    expect(result).toMatchObject({ number: 'POL-1', found: true });
    expect(kinds(alma.events)).toEqual(['heartbeat {}', 'search', 'heartbeat {postedAt}', 'post', 'list']);
  });

  test('the refused reference not visible anywhere yet: retryable, the marker kept, no second POST', async () => {
    const alma = fakeAlma({ posts: [referenceTaken(), created] });
    const { failure } = await failedAttempt(alma);
    expect(failure.type).toBe(FailureType.AlmaUnavailable);
    expect(failure.nonRetryable).toBe(false);
    expect(failure.message).toMatch(/vendor reference number already exists/);
    expect(posts(alma.events)).toHaveLength(1);
    expect(kinds(alma.events)).toEqual([
      'heartbeat {}',
      'search',
      'heartbeat {postedAt}',
      'post',
      'list',
      'sleep',
      'search',
      'list',
    ]);
    expect(heartbeats(alma.events).at(-1)).toEqual({ postedAt: expect.any(Number) });
  });

  test('a 402119 about something else is a refusal as before: marker cleared, not retried', async () => {
    const refused = errorFromResponse('POST', PATH, 400, almaBody('402119', 'General Error: currency XYZ'));
    const alma = fakeAlma({ posts: [refused, created] });
    const { failure } = await failedAttempt(alma);
    expect(failure.type).toBe(FailureType.AlmaInvalidRequest);
    expect(kinds(alma.events)).toEqual([
      'heartbeat {}',
      'search',
      'heartbeat {postedAt}',
      'post',
      'heartbeat {}',
    ]);
  });
});

describe('what the POST answer says, read with the institution’s status codes', () => {
  test('an answer without status or alerts (Alma still processing): no status, not In Review', async () => {
    const alma = fakeAlma({ posts: [{ number: 'POL-100' } as PoLine] });
    const { result } = await attempt(alma);
    expect(result).toEqual<CreatedPoLine>({
      number: 'POL-100',
      inReview: false,
      almaAlerts: [],
      found: false,
      almaCalls: 2,
    });
    expect(result.status).toBeUndefined();
  });

  test('configured codes decide In Review and cancelled, not the default words', async () => {
    const statusCodes = { inReview: ['REVIEW'], cancelled: ['CANC'], closed: ['CLOSED'] };
    const review = fakeAlma(
      { posts: [{ number: 'POL-100', status: { value: 'REVIEW', desc: 'Review' } } as PoLine] },
      { statusCodes },
    );
    expect((await attempt(review)).result).toMatchObject({
      status: 'REVIEW',
      statusDesc: 'Review',
      inReview: true,
    });
    const notReview = fakeAlma(
      { posts: [{ number: 'POL-100', status: { value: 'IN_REVIEW' } } as PoLine] },
      { statusCodes },
    );
    expect((await attempt(notReview)).result).toMatchObject({ status: 'IN_REVIEW', inReview: false });
    // Cancelled under this institution's code: not this order's line; 'CANCELLED' is not its code, so it counts.
    const cancelled = fakeAlma(
      { searches: [[{ ...mine, status: { value: 'CANC' } } as PoLine]], posts: [created] },
      { statusCodes },
    );
    expect((await attempt(cancelled)).result.found).toBe(false);
    const word = fakeAlma(
      { searches: [[{ ...mine, status: { value: 'CANCELLED' } } as PoLine]], posts: [created] },
      { statusCodes },
    );
    expect((await attempt(word)).result.found).toBe(true);
  });
});
