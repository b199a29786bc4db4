/** An institution's API budget, on a fake clock: the per-second window, 429 pauses, the daily budget. */
import { DailyBudgetExhausted, InstitutionBudget, type BudgetOptions } from '../src/institution/budget';

/** A clock that only moves when the budget sleeps. */
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
  return { b, clock };
}

const at = (iso: string) => Date.parse(iso);

describe('the per-second window', () => {
  it('a burst of 100 takes never has more than perSecond in any one-second window', async () => {
    const { b, clock } = budget('01UNIV_INST', at('2026-11-28T12:00:00Z'));
    const start = clock.t;
    const times: number[] = [];
    await Promise.all(Array.from({ length: 100 }, () => b.take().then(() => times.push(clock.t))));
    expect(times).toHaveLength(100);
    for (let i = 0; i < times.length; i++) {
      const inWindow = times.filter((t) => t >= times[i]! && t < times[i]! + 1000).length;
      expect(inWindow).toBeLessThanOrEqual(10);
    }
    // And it does not wait much longer than needed: 100 calls at 10/s take about 9-10 s.
    expect(clock.t - start).toBeGreaterThanOrEqual(9000);
    expect(clock.t - start).toBeLessThan(10_500);
    expect(b.counters.calls).toBe(100);
  });

  it('the first perSecond takes do not wait', async () => {
    const { b, clock } = budget('X', 0, { perSecond: 5 });
    for (let i = 0; i < 5; i++) await b.take();
    expect(clock.slept).toEqual([]);
    await b.take();
    expect(clock.t).toBeGreaterThanOrEqual(1000);
  });
});

describe('rateLimited', () => {
  it('pauses the next take for the back-off', async () => {
    const { b, clock } = budget('X', 0, { backoffMs: 2500 });
    await b.take();
    b.rateLimited();
    await b.take();
    expect(clock.t).toBe(2500);
    expect(b.counters.rateLimited).toBe(1);
    // The default back-off is one second.
    const d = budget('Y', 0);
    d.b.rateLimited();
    await d.b.take();
    expect(d.clock.t).toBe(1000);
  });
});

describe('the daily budget', () => {
  async function refused(b: InstitutionBudget): Promise<DailyBudgetExhausted> {
    try {
      await b.take();
    } catch (e) {
      expect(e).toBeInstanceOf(DailyBudgetExhausted);
      return e as DailyBudgetExhausted;
    }
    throw new Error('take() should have thrown DailyBudgetExhausted');
  }

  it.each([
    [0, '2026-11-28T15:00:00Z', '2026-11-29T00:00:00Z'],
    [0, '2026-11-28T00:00:00Z', '2026-11-29T00:00:00Z'],
    [5, '2026-11-28T03:00:00Z', '2026-11-28T05:00:00Z'],
    [5, '2026-11-28T06:00:00Z', '2026-11-29T05:00:00Z'],
    [5, '2026-12-31T23:59:00Z', '2027-01-01T05:00:00Z'],
  ])('reset hour %i, spent at %s: take() throws until %s', async (hour, now, reset) => {
    const { b, clock } = budget('01UNIV_INST', at(now), { dailyResetHourUtc: hour });
    b.observeRemaining(0);
    const e = await refused(b);
    expect(new Date(e.resumeAt).toISOString()).toBe(new Date(at(reset)).toISOString());
    expect(e.institution).toBe('01UNIV_INST');
    expect(e.message).toContain(new Date(at(reset)).toISOString());
    // Still refused a minute before the reset; allowed from the reset on.
    clock.t = at(reset) - 60_000;
    await refused(b);
    clock.t = at(reset);
    await expect(b.take()).resolves.toBeUndefined();
  });

  it('dailyExhausted() (Alma said DAILY_THRESHOLD) stops calls the same way and returns the reset', async () => {
    const { b } = budget('X', at('2026-11-28T04:00:00Z'), { dailyResetHourUtc: 5 });
    expect(b.dailyExhausted()).toBe(at('2026-11-28T05:00:00Z'));
    expect((await refused(b)).resumeAt).toBe(at('2026-11-28T05:00:00Z'));
    expect(b.exhaustedUntilTime()).toBe(at('2026-11-28T05:00:00Z'));
  });

  it('a remaining count above zero does not stop calls', async () => {
    const { b } = budget('X', 0);
    b.observeRemaining(1);
    expect(b.remaining).toBe(1);
    await expect(b.take()).resolves.toBeUndefined();
  });

  it('a refused take does not block the ones queued behind it once the budget is back', async () => {
    const { b, clock } = budget('X', at('2026-11-28T23:00:00Z'));
    b.observeRemaining(0);
    const first = b.take();
    await expect(first).rejects.toBeInstanceOf(DailyBudgetExhausted);
    clock.t = at('2026-11-29T00:00:01Z');
    await expect(b.take()).resolves.toBeUndefined();
  });
});

describe('institutions', () => {
  it('have independent budgets', async () => {
    const { clock, opts } = fakeClock(at('2026-11-28T12:00:00Z'));
    const a = new InstitutionBudget('01A_INST', { perSecond: 2, dailyResetHourUtc: 0, ...opts });
    const b = new InstitutionBudget('01B_INST', { perSecond: 2, dailyResetHourUtc: 0, ...opts });
    a.observeRemaining(0);
    await expect(a.take()).rejects.toBeInstanceOf(DailyBudgetExhausted);
    await b.take();
    await b.take();
    expect(clock.slept).toEqual([]); // b's two calls did not wait for anything of a's
    a.rateLimited();
    await b.take(); // the third within the second waits for b's own window only
    expect(clock.t - at('2026-11-28T12:00:00Z')).toBeLessThanOrEqual(1001);
    expect(b.counters.rateLimited).toBe(0);
    expect(b.exhaustedUntilTime()).toBeUndefined();
  });
});
