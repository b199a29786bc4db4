/**
 * An institution's Alma API budget as seen from one worker process. Across workers, the institution's task
 * queue rate limit bounds how many Alma activities start per second; inside a process this paces the calls
 * themselves, yields when Alma says the institution is busy, and stops calling once the day's budget is spent.
 *
 * - Pacing: a token bucket refilled continuously (one call every 1/rate seconds, at most one call of burst), so
 *   calls leave evenly spaced instead of a whole second's worth at the start of each second. A call is counted
 *   when its turn comes, and the request leaves at once after.
 * - Yielding: the per-second threshold belongs to the whole institution (Primo, Leganto and every other
 *   integration share it), so a 429 PER_SECOND_THRESHOLD halves this process's rate (multiplicative decrease);
 *   each second without one gives back a tenth of the configured rate (additive increase) up to the configured
 *   rate. Calls are spaced by the current rate, so the back-off is the spacing itself, never a fixed pause.
 * - The daily budget: once Alma says it is spent (DAILY_THRESHOLD, or X-Exl-Api-Remaining at 0) calls stop. One
 *   call per probe interval is let through to ask Alma again; as soon as an answer shows budget left (the probe's,
 *   or any other), calls resume. Nothing is kept on disk: a restarted worker learns the state from its first
 *   answer, which is what Alma says, not what this process remembers.
 * Each institution has its own budget, so one's exhaustion never slows another.
 */
export interface BudgetOptions {
  /** Calls per second this process may make (the institution's threshold × the configured share ÷ processes). */
  perSecond: number;
  /** Hour (UTC) at which Alma's daily count is expected to reset (a hint for people; probing decides). */
  dailyResetHourUtc: number;
  /** While the daily budget is spent: how often one call may ask Alma whether it is back. */
  probeIntervalMs?: number;
  /** The lowest rate a run of 429s can bring the process down to. */
  minPerSecond?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export class DailyBudgetExhausted extends Error {
  override name = 'DailyBudgetExhausted';
  constructor(
    readonly institution: string,
    /** When the next probe may ask Alma (parked work should come back then). */
    readonly retryAt: number,
    /** The expected reset, for people. */
    readonly resetAt: number,
  ) {
    super(
      `the daily Alma API budget of ${institution} is spent; Alma is asked again at ${new Date(retryAt).toISOString()} (its count is expected to reset at ${new Date(resetAt).toISOString()})`,
    );
  }
}

/** The default probe interval while the daily budget is spent. */
export const DEFAULT_PROBE_INTERVAL_MS = 5 * 60_000;

export class InstitutionBudget {
  /** The rate calls are spaced by now (lowered by 429s, raised back by quiet seconds). */
  rate: number;
  private nextSlot = 0;
  private lastChange = 0;
  private exhausted = false;
  private nextProbeAt = 0;
  private probing = false;
  private queue: Promise<void> = Promise.resolve();
  remaining: number | undefined;
  readonly counters = { calls: 0, waitsMs: 0, rateLimited: 0, dailyExhausted: 0, probes: 0 };
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    readonly institution: string,
    private readonly opts: BudgetOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.rate = opts.perSecond;
  }

  private get probeIntervalMs(): number {
    return this.opts.probeIntervalMs ?? DEFAULT_PROBE_INTERVAL_MS;
  }

  /** The next expected daily reset after `t`. */
  nextReset(t = this.now()): number {
    const d = new Date(t);
    const reset = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), this.opts.dailyResetHourUtc);
    return reset > t ? reset : reset + 86_400_000;
  }

  /** When parked work should try again, if the daily budget is spent now. */
  exhaustedUntilTime(): number | undefined {
    return this.exhausted ? Math.max(this.nextProbeAt, this.now()) : undefined;
  }

  /**
   * Waits for this call's turn; throws DailyBudgetExhausted instead of calling while the day's budget is spent
   * (except for the one probe per interval). Turns are taken in the order asked for.
   */
  take(): Promise<void> {
    const turn = this.queue.then(() => this.acquire());
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  private async acquire(): Promise<void> {
    if (this.exhausted) {
      const t = this.now();
      if (this.probing || t < this.nextProbeAt) throw this.spent();
      // This call is the probe: it goes to Alma, whose answer decides (see observeRemaining/dailyExhausted).
      this.probing = true;
      this.nextProbeAt = t + this.probeIntervalMs;
      this.counters.probes++;
    }
    this.recover();
    const t = this.now();
    if (this.nextSlot > t) {
      const ms = this.nextSlot - t;
      this.counters.waitsMs += ms;
      await this.sleep(ms);
    }
    this.nextSlot = Math.max(this.nextSlot, t) + 1000 / this.rate;
    this.counters.calls++;
  }

  private parked = 0;

  /**
   * The refusal a parked call gets. Its retry time keeps the order calls were parked in: each comes back one
   * spacing after the one parked before it. While a probe is out, come back soon (it may reopen the budget).
   */
  private spent(): DailyBudgetExhausted {
    const t = this.now();
    const base = this.probing ? t + Math.min(this.probeIntervalMs, 10_000) : Math.max(this.nextProbeAt, t);
    const retryAt = base + ((this.parked++ % 1000) * 1000) / this.opts.perSecond;
    return new DailyBudgetExhausted(this.institution, retryAt, this.nextReset());
  }

  /** Additive increase: a tenth of the configured rate back for each second since the last change. */
  private recover(): void {
    const t = this.now();
    if (this.rate >= this.opts.perSecond) return;
    const seconds = Math.floor((t - this.lastChange) / 1000);
    if (seconds <= 0) return;
    this.rate = Math.min(this.opts.perSecond, this.rate + (seconds * this.opts.perSecond) / 10);
    this.lastChange += seconds * 1000;
  }

  /** Alma said PER_SECOND_THRESHOLD: the institution is busier than our share allows; halve our rate. */
  rateLimited(): void {
    this.counters.rateLimited++;
    const t = this.now();
    // One halving per burst: several calls refused within one spacing are the same news.
    if (t - this.lastChange >= 1000 / this.rate || this.rate >= this.opts.perSecond) {
      this.rate = Math.max(this.opts.minPerSecond ?? 0.2, this.rate / 2);
      this.lastChange = t;
    }
    this.nextSlot = Math.max(this.nextSlot, t + 1000 / this.rate);
  }

  /** Alma said DAILY_THRESHOLD to a call: stop until a probe finds it back; the call gets the refusal. */
  dailyExhausted(): DailyBudgetExhausted {
    this.markExhausted();
    return this.spent();
  }

  private markExhausted(): void {
    this.counters.dailyExhausted++;
    const t = this.now();
    if (!this.exhausted || this.probing) {
      this.nextProbeAt = t + this.probeIntervalMs;
      this.parked = 0;
    }
    this.exhausted = true;
    this.probing = false;
  }

  /** Reads X-Exl-Api-Remaining from any answer: a positive count means the day's budget is there. */
  observeRemaining(remaining: number): void {
    this.remaining = remaining;
    if (remaining <= 0) {
      this.markExhausted();
      return;
    }
    this.exhausted = false;
    this.probing = false;
    this.parked = 0;
  }

  /** Alma answered (anything but DAILY_THRESHOLD): it is counting our calls again, so a probe reopens the budget. */
  answered(): void {
    if (this.probing) {
      this.exhausted = false;
      this.probing = false;
    }
  }

  /** No answer at all (network): a probe proved nothing; the next one may go at the next interval. */
  noAnswer(): void {
    this.probing = false;
  }
}

/** What one institution's budget allows, derived once from its configuration for every place that needs it. */
export function institutionRates(inst: {
  perSecondThreshold: number;
  budgetShare: number;
  workerProcesses: number;
}): { callsPerSecond: number; perProcess: number } {
  const callsPerSecond = inst.perSecondThreshold * inst.budgetShare;
  return { callsPerSecond, perProcess: callsPerSecond / inst.workerProcesses };
}
