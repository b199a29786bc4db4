/**
 * An institution's API budget, on a fake clock: even pacing, yielding to 429s (halve, then recover), and the
 * daily budget (stop, probe once per interval, resume on the first answer that shows budget left).
 */
import {
  BudgetWaitAborted,
  DailyBudgetExhausted,
  InstitutionBudget,
  institutionRates,
  type BudgetOptions,
} from '../src/institution/budget';

/** A clock that only moves when the budget sleeps (or the test moves it). */
function fakeClock(start: number) {
  const clock = { t: start, slept: [] as number[] };
  const opts = {
    now: () => clock.t,
    sleep: async (ms: number) => {
      clock.slept.push(ms);
      clock.t += ms;
    },
  };
  return { clock, opts };
}

function budget(name: string, start: number, o: Partial<BudgetOptions> = {}) {
  const { clock, opts } = fakeClock(start);
  const b = new InstitutionBudget(name, { perSecond: 10, dailyResetHourUtc: 0, ...opts, ...o });
  // A process that has heard from Alma already (a fresh one sends one call at a time: tested below).
  b.answered();
  return { b, clock };
}

const at = (iso: string) => Date.parse(iso);

async function refused(
  b: InstitutionBudget,
  purpose?: 'order' | 'deferrable',
): Promise<DailyBudgetExhausted> {
  try {
    await b.take(purpose);
  } catch (e) {
    expect(e).toBeInstanceOf(DailyBudgetExhausted);
    return e as DailyBudgetExhausted;
  }
  throw new Error('take() should have thrown DailyBudgetExhausted');
}

describe('pacing', () => {
  it('spaces calls evenly at the rate: never two closer than 1/rate, never a burst at the start of a second', async () => {
    const { b, clock } = budget('01UNIV_INST', at('2026-11-28T12:00:00Z'));
    const times: number[] = [];
    await Promise.all(Array.from({ length: 100 }, () => b.take().then(() => times.push(clock.t))));
    expect(times).toHaveLength(100);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(100);
    // Hence at most `rate` calls in any one-second window, and no idle waiting either: 100 calls at 10/s ≈ 9.9 s.
    for (const t of times) expect(times.filter((u) => u >= t && u < t + 1000).length).toBeLessThanOrEqual(10);
    expect(times[99]! - times[0]!).toBe(9900);
    expect(b.counters.calls).toBe(100);
  });

  it('an idle budget lets one call go at once, but not a second within the spacing', async () => {
    const { b, clock } = budget('X', 0, { perSecond: 5 });
    await b.take();
    expect(clock.slept).toEqual([]);
    await b.take();
    expect(clock.t).toBe(200);
  });

  it('a call whose activity was cancelled while it waited gives its turn up: no slot spent, nothing sent', async () => {
    const { b, clock } = budget('X', 0, { perSecond: 1 });
    const gone = new AbortController();
    await b.take();
    const waiting = b.take('order', gone.signal);
    const next = b.take();
    gone.abort();
    await expect(waiting).rejects.toBeInstanceOf(BudgetWaitAborted);
    await next;
    expect(clock.t).toBe(1000); // the next call went in the cancelled one's slot
    expect(b.counters.calls).toBe(2);
  });

  it('the rates are derived once from the institution: threshold × share, split across processes', () => {
    expect(institutionRates({ perSecondThreshold: 25, budgetShare: 0.4, workerProcesses: 2 })).toEqual({
      callsPerSecond: 10,
      perProcess: 5,
    });
  });
});

describe('yielding to 429s', () => {
  it('halves the rate on a 429 (once per burst), spaces the next call by it, recovers fast to a ceiling below the refused rate, then probes slowly', async () => {
    const { b, clock } = budget('X', 0, { perSecond: 10 });
    await b.take();
    b.rateLimited();
    b.rateLimited(); // the same burst: one halving
    expect(b.rate).toBe(5);
    await b.take();
    expect(clock.t).toBe(200); // spaced by the halved rate, not a fixed second
    clock.t += 250;
    b.rateLimited(); // a later 429: halved again
    expect(b.rate).toBe(2.5);
    // Back quickly to a ceiling just below the rate refused (85% of 10: the second 429 was the same episode),
    // then only 2% a second above it.
    expect(b.ceiling).toBe(8.5);
    clock.t += 1000;
    await b.take();
    expect(b.rate).toBe(3.5); // one quiet second: + 10% of the configured rate
    clock.t += 5000;
    await b.take();
    expect(b.rate).toBe(8.5); // capped at the ceiling
    clock.t += 1000;
    await b.take();
    expect(b.rate).toBeCloseTo(8.5 * 1.02); // probing above it
    clock.t += 600_000;
    await b.take();
    expect(b.rate).toBe(10); // never above the configured rate
    expect(b.counters.rateLimited).toBe(3);
  });

  it('the ceiling is set once per episode of 429s, from the rate refused at its start', async () => {
    const { b, clock } = budget('X', 0, { perSecond: 100 });
    b.rateLimited();
    expect([b.rate, b.ceiling]).toEqual([50, 85]);
    clock.t += 100;
    b.rateLimited(); // the same episode (calls in flight, Alma's one-second window): halved, the ceiling kept
    expect([b.rate, b.ceiling]).toEqual([25, 85]);
    clock.t += 100;
    b.rateLimited();
    clock.t += 100;
    b.rateLimited();
    expect(b.rate).toBe(6.25);
    // Back up by half the current rate a second (a tenth of 100/s would jump far past the room): the next 429
    // comes near the room, and sets the ceiling there.
    clock.t += 1000;
    await b.take();
    expect(b.rate).toBe(9.375);
    b.rateLimited();
    expect(b.ceiling).toBeCloseTo(9.375 * 0.85, 5);
    expect(b.rate).toBe(4.6875);
    clock.t += 3000;
    await b.take();
    // Three quiet seconds: +50%, then capped at the ceiling, then 2%.
    expect(b.rate).toBeCloseTo(b.ceiling! * 1.02, 5);
  });

  it('a run of 429s never stops the institution altogether', () => {
    const { b, clock } = budget('X', 0, { perSecond: 10, minPerSecond: 0.5 });
    for (let i = 0; i < 50; i++) {
      clock.t += 10_000;
      b.rateLimited();
    }
    expect(b.rate).toBe(0.5);
  });
});

describe('the daily budget', () => {
  it('stops calls once Alma says it is spent, naming the expected reset, until a probe finds it back', async () => {
    const { b, clock } = budget('01UNIV_INST', at('2026-11-28T15:00:00Z'), {
      probeIntervalMs: 60_000,
      dailyResetHourUtc: 5,
    });
    b.observeRemaining(0);
    const e = await refused(b);
    expect(e.institution).toBe('01UNIV_INST');
    expect(e.resetAt).toBe(at('2026-11-29T05:00:00Z'));
    expect(e.retryAt).toBe(at('2026-11-28T15:01:00Z'));
    expect(e.message).toContain('2026-11-29T05:00:00.000Z');
    // Before the probe interval: refused without calling.
    clock.t += 59_000;
    await refused(b);
    // At the interval one call goes (the probe); others asking meanwhile are refused and come back soon.
    clock.t += 1_000;
    await expect(b.take()).resolves.toBeUndefined();
    const meanwhile = await refused(b);
    expect(meanwhile.retryAt - clock.t).toBeLessThanOrEqual(10_000 + 1_000);
    expect(b.counters.probes).toBe(1);
    // Alma answers with budget left: calls resume at once, for everyone.
    b.observeRemaining(9000);
    await expect(b.take()).resolves.toBeUndefined();
    expect(b.exhaustedUntilTime()).toBeUndefined();
  });

  it('a probe refused again (DAILY_THRESHOLD) waits another interval; one that got no answer may go again at the next', async () => {
    const { b, clock } = budget('X', 0, { probeIntervalMs: 1000 });
    b.dailyExhausted();
    clock.t = 1000;
    await b.take(); // the probe
    expect(b.dailyExhausted().retryAt).toBe(2000); // Alma: still spent; the probe itself comes back first
    expect((await refused(b)).retryAt).toBe(2000 + 100);
    clock.t = 2000;
    await b.take(); // the next probe
    b.noAnswer(); // the network ate it
    await refused(b);
    clock.t = 3000;
    await expect(b.take()).resolves.toBeUndefined();
    b.answered(); // any answer but DAILY_THRESHOLD shows Alma counting again
    await expect(b.take()).resolves.toBeUndefined();
  });

  it('parked calls come back in the order they were parked, one spacing apart', async () => {
    const { b } = budget('X', 0, { perSecond: 4, probeIntervalMs: 60_000 });
    b.observeRemaining(0);
    const times = [];
    for (let i = 0; i < 4; i++) times.push((await refused(b)).retryAt);
    expect(times).toEqual([60_000, 60_250, 60_500, 60_750]);
  });

  it('a refused take does not block the ones queued behind it once the budget is back', async () => {
    const { b } = budget('X', 0);
    b.observeRemaining(0);
    await expect(b.take()).rejects.toBeInstanceOf(DailyBudgetExhausted);
    b.observeRemaining(100);
    await expect(b.take()).resolves.toBeUndefined();
  });
});

describe('institutions', () => {
  it('have independent budgets', async () => {
    const { clock, opts } = fakeClock(at('2026-11-28T12:00:00Z'));
    const a = new InstitutionBudget('01A_INST', { perSecond: 2, dailyResetHourUtc: 0, ...opts });
    const b = new InstitutionBudget('01B_INST', { perSecond: 2, dailyResetHourUtc: 0, ...opts });
    a.observeRemaining(0);
    b.answered();
    await expect(a.take()).rejects.toBeInstanceOf(DailyBudgetExhausted);
    a.rateLimited();
    await b.take();
    expect(clock.slept).toEqual([]); // b's call did not wait for anything of a's
    expect(b.rate).toBe(2);
    expect(b.counters.rateLimited).toBe(0);
    expect(b.exhaustedUntilTime()).toBeUndefined();
  });
});

describe('floors on X-Exl-Api-Remaining', () => {
  const floors = { daily: 100_000, deferBelow: 0.1, orderBelow: 0.02, probeIntervalMs: 60_000 };

  it('below deferBelow holds calls that can wait while ordering goes on; below orderBelow ordering waits too', async () => {
    const { b } = budget('01UNIV_INST', at('2026-11-28T15:00:00Z'), { ...floors, dailyResetHourUtc: 5 });
    b.observeRemaining(10_000); // exactly at the floor: nothing held
    await expect(b.take('deferrable')).resolves.toBeUndefined();
    b.observeRemaining(9_999);
    const held = await refused(b, 'deferrable');
    expect(held.reason).toBe('reserved');
    expect(held.remaining).toBe(9_999);
    // Held until the expected reset: the count cannot come back before it.
    expect(held.retryAt).toBe(at('2026-11-29T05:00:00Z'));
    expect(held.message).toContain('9999 calls left');
    await expect(b.take('order')).resolves.toBeUndefined();
    await expect(b.take()).resolves.toBeUndefined(); // ordering is the default
    b.observeRemaining(1_999);
    expect((await refused(b, 'order')).reason).toBe('reserved');
    await refused(b, 'deferrable');
    expect(b.holding('order')).toBe(true);
  });

  it('at the expected reset one held call asks Alma; the answer decides for all', async () => {
    const { b, clock } = budget('X', at('2026-11-28T23:00:00Z'), floors);
    b.observeRemaining(500);
    await refused(b, 'deferrable');
    await refused(b, 'order');
    clock.t = at('2026-11-29T00:00:00Z');
    await expect(b.take('deferrable')).resolves.toBeUndefined(); // the probe
    const meanwhile = await refused(b, 'deferrable');
    expect(meanwhile.retryAt - clock.t).toBeLessThanOrEqual(10_000 + 1_000);
    b.observeRemaining(450); // not reset yet: the next probe one interval later
    expect((await refused(b, 'deferrable')).retryAt).toBeGreaterThanOrEqual(clock.t + 60_000);
    clock.t += 60_000;
    await expect(b.take('deferrable')).resolves.toBeUndefined();
    b.observeRemaining(100_000); // reset: everything goes again
    await expect(b.take('deferrable')).resolves.toBeUndefined();
    await expect(b.take('order')).resolves.toBeUndefined();
    expect(b.counters.resetsSeen).toBe(1);
  });

  it('tells staff once per floor per budget day, again after a reset seen in the answers', () => {
    const crossings: string[] = [];
    const { b } = budget('X', at('2026-11-28T10:00:00Z'), {
      ...floors,
      onFloor: (c) =>
        crossings.push(`${c.floor}:${c.remaining}/${c.floorCalls} of ${c.daily} ${c.dailySource}`),
    });
    b.observeRemaining(50_000);
    b.observeRemaining(9_000);
    b.observeRemaining(9_050); // answers overtaking each other: not a reset, not a new crossing
    b.observeRemaining(8_000);
    b.observeRemaining(1_500);
    b.observeRemaining(1_000);
    expect(crossings).toEqual([
      'deferrable:9000/10000 of 100000 configured',
      'order:1500/2000 of 100000 configured',
    ]);
    b.observeRemaining(100_000); // the count was reset
    b.observeRemaining(0); // spent in one go (DAILY_THRESHOLD): both floors crossed at once
    expect(crossings.slice(2)).toEqual([
      'deferrable:0/10000 of 100000 configured',
      'order:0/2000 of 100000 configured',
    ]);
  });

  it('without a configured daily budget, the highest count seen since the reset stands for it', async () => {
    const { b } = budget('X', 0, { deferBelow: 0.1, orderBelow: 0.02 });
    b.observeRemaining(20_000);
    expect(b.dailyBudget()).toEqual({ calls: 20_000, source: 'observed' });
    b.observeRemaining(1_900);
    expect((await refused(b, 'deferrable')).reason).toBe('reserved');
    await expect(b.take('order')).resolves.toBeUndefined();
    // A configured budget lower than what Alma shows is wrong: Alma's figure wins.
    const { b: c } = budget('Y', 0, { daily: 1_000 });
    c.observeRemaining(5_000);
    expect(c.dailyBudget()).toEqual({ calls: 5_000, source: 'observed' });
  });
});

describe('learning from what Alma says', () => {
  it('learns the reset time of day from the jump in X-Exl-Api-Remaining, and expects the next one then', async () => {
    const { b, clock } = budget('X', at('2026-11-28T20:00:00Z'), {
      dailyResetHourUtc: 0,
      probeIntervalMs: 60_000,
    });
    expect(b.nextReset()).toBe(at('2026-11-29T00:00:00Z')); // assumed, nothing seen yet
    b.observeRemaining(0); // spent
    clock.t = at('2026-11-29T03:17:00Z');
    await b.take(); // a probe (one per interval)
    b.observeRemaining(99_990); // back: Alma's count reset shortly before this answer
    expect(b.learntResetMsOfDay).toBe((3 * 60 + 17) * 60_000);
    expect(b.nextReset()).toBe(at('2026-11-30T03:17:00Z'));
    // A floor crossed later that day is held until the learnt reset, not the configured hour.
    b.observeRemaining(5_000);
    expect((await refused(b, 'deferrable')).retryAt).toBe(at('2026-11-30T03:17:00Z'));
  });

  it('a fresh process sends one call and waits for its answer before the next: it learns the state, never assumes it', async () => {
    const { clock, opts } = fakeClock(0);
    const b = new InstitutionBudget('X', {
      perSecond: 100,
      dailyResetHourUtc: 0,
      probeIntervalMs: 60_000,
      ...opts,
    });
    const went: number[] = [];
    const calls = [1, 2, 3].map((i) =>
      b.take().then(
        () => went.push(i),
        (e: unknown) => went.push(e instanceof DailyBudgetExhausted ? -i : 0),
      ),
    );
    await new Promise((r) => setImmediate(r));
    expect(went).toEqual([1]); // the others wait for the first answer
    b.dailyExhausted(); // Alma: DAILY_THRESHOLD
    b.callEnded();
    await Promise.all(calls);
    expect(went).toEqual([1, -2, -3]); // refused without calling Alma
    expect(clock.t).toBe(0);
  });
});
