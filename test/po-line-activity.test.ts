/**
 * The createPoLine activity's exactly-once logic on its own (docs/exactly-once.md, design points 3 to 5): the
 * `{postedAt}` marker heartbeated before the POST, the settle time a later attempt waits out, which failures
 * clear the marker and which keep it, and what 401870 ("PoLine already exists") does. Alma is a fake client that
 * records every call in one log with the heartbeats, so the order of "marker, then POST" is checked, not assumed.
 * (The real thing against the sandbox over HTTP: exactly-once.test.ts.)
 */
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { poLineActivities } from '../src/activities/po-line';
import type { CreatedPoLine } from '../src/activities/types';
import type { PoLine, PoLineInput } from '../src/alma/client';
import { AlmaError, errorFromResponse, errorFromTransport } from '../src/alma/errors';
import { parseConfig } from '../src/config/load';
import type { Order } from '../src/contract/order';
import type { AccountAlma, AlmaAccess } from '../src/institution/alma-access';
import { createLogger } from '../src/logging';
import { FailureType } from '../src/order/failures';
import { exampleConfigRaw } from './harness/system';

const config = parseConfig(
  exampleConfigRaw('http://127.0.0.1:1/almaws/v1', '/tmp/rto-po-line-activity-test'),
);
const account = config.accounts['UNIV-MAIN']!;
const institution = config.institutions[account.institution]!;
/** How long a POST we gave up on may still be arriving at Alma: twice the request timeout (2s in tests). */
const SETTLE_MS = institution.requestTimeout * 2;
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
    message: "Timeout awaiting 'request' for 2000ms",
    sent: true,
    aborted: false,
  });

type Event =
  | { e: 'search'; q: string }
  | { e: 'post'; body: PoLineInput; profileCode?: string }
  | { e: 'heartbeat'; details: unknown };

/**
 * Alma as scripted answers: each search and each POST takes the next answer (a list of lines or an error);
 * searches past the script find nothing, POSTs past it fail loudly (and are logged, so counts catch them).
 */
function fakeAlma(script: { searches?: (PoLine[] | AlmaError)[]; posts?: (PoLine | AlmaError)[] }) {
  const events: Event[] = [];
  const searches = [...(script.searches ?? [])];
  const posts = [...(script.posts ?? [])];
  const client = {
    async searchPoLines(q: string) {
      events.push({ e: 'search', q });
      const next = searches.shift() ?? [];
      if (next instanceof Error) throw next;
      return { poLines: next, total: next.length };
    },
    async createPoLine(body: PoLineInput, o?: { profileCode?: string }) {
      events.push({ e: 'post', body, profileCode: o?.profileCode });
      const next = posts.shift();
      if (next === undefined) throw new Error('unexpected POST');
      if (next instanceof Error) throw next;
      return next;
    },
  };
  const forAccount = jest.fn(
    (_code: string, _signal?: AbortSignal) => ({ client, account, institution }) as unknown as AccountAlma,
  );
  const alma = { forAccount } as unknown as AlmaAccess;
  return { alma, forAccount, events };
}

/** Runs one attempt of createPoLine with the heartbeat details a previous attempt left (if any). */
function attempt(
  alma: ReturnType<typeof fakeAlma>,
  prior?: { postedAt?: number },
  n = prior ? 2 : 1,
): Promise<CreatedPoLine> {
  const env = new MockActivityEnvironment(
    { attempt: n, heartbeatDetails: prior, heartbeatTimeoutMs: 60_000 },
    { logger: new DefaultLogger('ERROR') },
  );
  env.on('heartbeat', (details: unknown) => alma.events.push({ e: 'heartbeat', details }));
  const { createPoLine } = poLineActivities({ alma: alma.alma, logger });
  return env.run(createPoLine, input);
}

async function failureOf(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

const kinds = (events: Event[]) =>
  events.map((ev) => (ev.e === 'heartbeat' ? `heartbeat ${JSON.stringify(ev.details)}` : ev.e));
const posts = (events: Event[]) => events.filter((ev) => ev.e === 'post');
const heartbeats = (events: Event[]) =>
  events
    .filter((ev): ev is Extract<Event, { e: 'heartbeat' }> => ev.e === 'heartbeat')
    .map((ev) => ev.details);

/** A fixed clock, so that "how long ago the marker was written" is exact. */
const NOW = 1_800_000_000_000;
function freezeClock() {
  jest.spyOn(Date, 'now').mockReturnValue(NOW);
}

afterEach(() => jest.restoreAllMocks());

test('the settle time is twice the institution’s request timeout (4s with the test configuration)', () => {
  expect(institution.requestTimeout).toBe(2000);
  expect(SETTLE_MS).toBe(4000);
});

describe('a first attempt that finds no PO line', () => {
  test('heartbeats the {postedAt} marker before the POST, posts once, and returns the new line (found=false)', async () => {
    freezeClock();
    const alma = fakeAlma({ searches: [[other]], posts: [created] });
    const result = await attempt(alma);

    // The marker must be recorded BEFORE the request leaves: a response lost after Alma committed must leave
    // the next attempt knowing a POST went out. Marker after the POST (or none) = a second purchase.
    expect(kinds(alma.events)).toEqual(['search', `heartbeat {"postedAt":${NOW}}`, 'post']);
    expect(alma.forAccount).toHaveBeenCalledWith('UNIV-MAIN', expect.any(AbortSignal));
    expect(alma.events[0]).toEqual({ e: 'search', q: `issn_isbn~${order.item.isbn}` });
    const post = posts(alma.events)[0] as Extract<Event, { e: 'post' }>;
    expect(post.body.vendor_reference_number).toBe(order.orderId);
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

  test('a marker the real clock wrote lies within the attempt (not a stale or made-up time)', async () => {
    const alma = fakeAlma({ posts: [created] });
    const before = Date.now();
    await attempt(alma);
    const after = Date.now();
    const [marker] = heartbeats(alma.events) as { postedAt: number }[];
    expect(marker!.postedAt).toBeGreaterThanOrEqual(before);
    expect(marker!.postedAt).toBeLessThanOrEqual(after);
  });
});

describe('an attempt after an earlier one posted (its {postedAt} marker in heartbeatDetails)', () => {
  test('no line found yet and the POST may still be arriving: no POST, AlmaUnavailable after the rest of the settle time', async () => {
    freezeClock();
    const alma = fakeAlma({ searches: [[other]] });
    const failure = await failureOf(attempt(alma, { postedAt: NOW - 1000 }));

    expect(failure.type).toBe(FailureType.AlmaUnavailable);
    expect(failure.nonRetryable).toBe(false);
    // Waits exactly what is left of the settle time: not a full backoff from scratch, not zero (post at once).
    expect(failure.nextRetryDelay).toBe(SETTLE_MS - 1000);
    expect(kinds(alma.events)).toEqual(['search']);
    // And the marker is left as it was: no new heartbeat that would restart or clear it.
    expect(heartbeats(alma.events)).toEqual([]);
  });

  test('one millisecond before the settle time is up it still waits (1 ms)', async () => {
    freezeClock();
    const alma = fakeAlma({});
    const failure = await failureOf(attempt(alma, { postedAt: NOW - SETTLE_MS + 1 }));
    expect(failure.type).toBe(FailureType.AlmaUnavailable);
    expect(failure.nextRetryDelay).toBe(1);
    expect(posts(alma.events)).toHaveLength(0);
  });

  test('the settle time is over and still no line: posts again, once, behind a fresh marker', async () => {
    freezeClock();
    const alma = fakeAlma({ searches: [[]], posts: [created] });
    const result = await attempt(alma, { postedAt: NOW - SETTLE_MS });

    expect(kinds(alma.events)).toEqual(['search', `heartbeat {"postedAt":${NOW}}`, 'post']);
    expect(result.found).toBe(false);
    expect(result.number).toBe('POL-100');
  });

  test('a marker long past the settle time: posts again, once', async () => {
    freezeClock();
    const alma = fakeAlma({ posts: [created] });
    const result = await attempt(alma, { postedAt: NOW - 10 * SETTLE_MS }, 5);
    expect(posts(alma.events)).toHaveLength(1);
    expect(result.found).toBe(false);
  });

  test('a cleared marker ({}) from an earlier refused POST: posts at once', async () => {
    const alma = fakeAlma({ posts: [created] });
    const result = await attempt(alma, {});
    expect(posts(alma.events)).toHaveLength(1);
    expect(result.found).toBe(false);
  });

  test('the line IS found (the earlier POST committed): returns it as found=true, no POST, no heartbeat', async () => {
    freezeClock();
    const alma = fakeAlma({ searches: [[other, mine]] });
    const result = await attempt(alma, { postedAt: NOW - 1000 });

    expect(result).toEqual<CreatedPoLine>({
      number: 'POL-1',
      status: 'ACTIVE',
      inReview: false,
      almaAlerts: [],
      found: true,
      almaCalls: 1,
    });
    expect(kinds(alma.events)).toEqual(['search']);
  });

  test('the line is found after the settle time too: found=true, no POST', async () => {
    freezeClock();
    const alma = fakeAlma({ searches: [[mine]] });
    const result = await attempt(alma, { postedAt: NOW - 10 * SETTLE_MS });
    expect(result.found).toBe(true);
    expect(posts(alma.events)).toHaveLength(0);
  });
});

describe('a POST that fails', () => {
  test('times out after the request was sent (ambiguous): AlmaUnavailable after the full settle time, marker kept', async () => {
    freezeClock();
    const timeout = postTimedOut();
    expect(timeout).toMatchObject({ kind: 'network', ambiguous: true });
    const alma = fakeAlma({ posts: [timeout] });
    const failure = await failureOf(attempt(alma));

    expect(failure.type).toBe(FailureType.AlmaUnavailable);
    expect(failure.nonRetryable).toBe(false);
    expect(failure.nextRetryDelay).toBe(SETTLE_MS);
    // The marker stays: a later `{}` heartbeat would let the next attempt post while this one may still commit.
    expect(kinds(alma.events)).toEqual(['search', `heartbeat {"postedAt":${NOW}}`, 'post']);
  });

  test('a 5xx (ambiguous, Alma may have done the work): AlmaUnavailable, retryable, marker kept', async () => {
    const alma = fakeAlma({ posts: [errorFromResponse('POST', PATH, 502, '<html>Bad gateway</html>')] });
    const failure = await failureOf(attempt(alma));

    expect(failure.type).toBe(FailureType.AlmaUnavailable);
    expect(failure.nonRetryable).toBe(false);
    expect(posts(alma.events)).toHaveLength(1);
    const details = heartbeats(alma.events);
    expect(details).toHaveLength(1);
    expect(details[0]).toEqual({ postedAt: expect.any(Number) });
  });

  test('the timed-out attempt and the next one together: the next waits, then finds the line, never posting twice', async () => {
    freezeClock();
    const first = fakeAlma({ posts: [postTimedOut()] });
    await failureOf(attempt(first));
    const marker = heartbeats(first.events).at(-1) as { postedAt: number };

    // Temporal hands the last heartbeat to the next attempt; it comes back within the settle time...
    const second = fakeAlma({});
    const wait = await failureOf(attempt(second, marker));
    expect(wait.nextRetryDelay).toBe(SETTLE_MS);
    // ... and again after it, when Alma has indexed the line the first attempt's POST created.
    jest.spyOn(Date, 'now').mockReturnValue(NOW + SETTLE_MS);
    const third = fakeAlma({ searches: [[mine]] });
    const result = await attempt(third, marker, 3);
    expect(result.found).toBe(true);
    expect([...first.events, ...second.events, ...third.events].filter((ev) => ev.e === 'post')).toHaveLength(
      1,
    );
  });

  test('refused as invalid (400): marker cleared, non-retryable AlmaInvalidRequest with Alma’s code', async () => {
    freezeClock();
    const refused = errorFromResponse('POST', PATH, 400, almaBody('40166410', 'Fund GEN01 is not active'));
    expect(refused).toMatchObject({ kind: 'invalid-request', ambiguous: false, retryable: false });
    const alma = fakeAlma({ posts: [refused] });
    const failure = await failureOf(attempt(alma));

    // Alma certainly did not create it: the marker is cleared so that a later attempt (or a reset) posts at once.
    expect(kinds(alma.events)).toEqual(['search', `heartbeat {"postedAt":${NOW}}`, 'post', 'heartbeat {}']);
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

  test('a network error before the request was sent (not ambiguous): marker cleared, AlmaUnavailable retryable', async () => {
    const unsent = errorFromTransport('POST', PATH, {
      code: 'ECONNREFUSED',
      message: 'connect ECONNREFUSED',
      sent: false,
      aborted: false,
    });
    const alma = fakeAlma({ posts: [unsent] });
    const failure = await failureOf(attempt(alma));
    expect(heartbeats(alma.events)).toEqual([{ postedAt: expect.any(Number) }, {}]);
    expect(failure.type).toBe(FailureType.AlmaUnavailable);
    expect(failure.nonRetryable).toBe(false);
    // Nothing can be arriving at Alma: no settle wait.
    expect(failure.nextRetryDelay).toBeUndefined();
  });
});

describe('401870 "PoLine already exists" answering the POST', () => {
  const exists = () => errorFromResponse('POST', PATH, 400, almaBody('401870', 'PoLine already exists'));

  test('searches again and returns the line it finds (found=true), without a second POST', async () => {
    freezeClock();
    const alma = fakeAlma({ searches: [[], [other, mine]], posts: [exists(), created] });
    const result = await attempt(alma);

    expect(result.found).toBe(true);
    expect(result.number).toBe('POL-1');
    expect(result.almaCalls).toBe(3);
    expect(kinds(alma.events)).toEqual(['search', `heartbeat {"postedAt":${NOW}}`, 'post', 'search']);
  });

  test('not visible yet: AlmaUnavailable after the settle time, no second POST, and the marker is kept', async () => {
    freezeClock();
    const alma = fakeAlma({ searches: [[], [other]], posts: [exists(), created] });
    const failure = await failureOf(attempt(alma));

    expect(failure.type).toBe(FailureType.AlmaUnavailable);
    expect(failure.nonRetryable).toBe(false);
    expect(failure.nextRetryDelay).toBe(SETTLE_MS);
    // Alma has the line: clearing the marker (a 401870 is not "ambiguous") would let the next attempt post again.
    expect(kinds(alma.events)).toEqual(['search', `heartbeat {"postedAt":${NOW}}`, 'post', 'search']);
  });
});

describe('an unauthorised answer to the search', () => {
  test.each([
    ['400 with UNAUTHORIZED', 400],
    ['401', 401],
  ])('%s: non-retryable AlmaUnauthorised, no marker and no POST', async (_name, status) => {
    const refused = errorFromResponse(
      'GET',
      PATH,
      status,
      almaBody('UNAUTHORIZED', 'API-key not defined or not configured to allow this API.'),
    );
    const alma = fakeAlma({ searches: [refused], posts: [created] });
    const failure = await failureOf(attempt(alma));

    expect(failure.type).toBe(FailureType.AlmaUnauthorised);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.details?.[0]).toMatchObject({ code: 'UNAUTHORIZED', kind: 'unauthorised' });
    expect(kinds(alma.events)).toEqual(['search']);
  });

  test('also with an earlier attempt’s marker: the marker is left alone', async () => {
    freezeClock();
    const refused = errorFromResponse('GET', PATH, 400, almaBody('UNAUTHORIZED', 'API-key not defined'));
    const alma = fakeAlma({ searches: [refused] });
    const failure = await failureOf(attempt(alma, { postedAt: NOW - 1000 }));
    expect(failure.type).toBe(FailureType.AlmaUnauthorised);
    expect(failure.nonRetryable).toBe(true);
    expect(kinds(alma.events)).toEqual(['search']);
  });
});
