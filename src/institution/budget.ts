/**
 * An institution's Alma API budget as seen from one worker process. Across workers, the institution's task
 * queue rate limit bounds how many Alma activities start per second; inside a process this spaces the calls
 * themselves (a sliding one-second window), backs off after a 429, and stops calling once the day's budget is
 * spent, until it resets. Each institution has its own budget, so one's exhaustion never slows another.
 */
export interface BudgetOptions {
  /** Calls per second this process may make (the institution's threshold × the configured share). */
  perSecond: number;
  /** Hour (UTC) at which Alma's daily count resets. */
  dailyResetHourUtc: number;
  /** Pause after a per-second 429 (Alma sends no Retry-After). */
  backoffMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export class DailyBudgetExhausted extends Error {
  override name = 'DailyBudgetExhausted';
  constructor(
    readonly institution: string,
    readonly resumeAt: number,
  ) {
    super(
      `the daily Alma API budget of ${institution} is spent; calls resume at ${new Date(resumeAt).toISOString()}`,
    );
  }
}

export class InstitutionBudget {
  private readonly stamps: number[] = [];
  private pausedUntil = 0;
  private exhaustedUntil = 0;
  private queue: Promise<void> = Promise.resolve();
  remaining: number | undefined;
  readonly counters = { calls: 0, waitsMs: 0, rateLimited: 0, dailyExhausted: 0 };
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    readonly institution: string,
    private readonly opts: BudgetOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  /** The next daily reset after `t`. */
  nextReset(t = this.now()): number {
    const d = new Date(t);
    const reset = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), this.opts.dailyResetHourUtc);
    return reset > t ? reset : reset + 86_400_000;
  }

  /** When calls may resume, if the daily budget is spent now. */
  exhaustedUntilTime(): number | undefined {
    return this.exhaustedUntil > this.now() ? this.exhaustedUntil : undefined;
  }

  /** Waits for a slot in the per-second window; throws DailyBudgetExhausted instead of calling when spent. */
  take(): Promise<void> {
    const turn = this.queue.then(() => this.acquire());
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  private async acquire(): Promise<void> {
    for (;;) {
      const until = this.exhaustedUntilTime();
      if (until) throw new DailyBudgetExhausted(this.institution, until);
      const t = this.now();
      if (this.pausedUntil > t) {
        await this.wait(this.pausedUntil - t);
        continue;
      }
      while (this.stamps.length && this.stamps[0]! <= t - 1000) this.stamps.shift();
      if (this.stamps.length < Math.max(1, Math.floor(this.opts.perSecond))) {
        this.stamps.push(t);
        this.counters.calls++;
        return;
      }
      await this.wait(this.stamps[0]! + 1000 - t + 1);
    }
  }

  private async wait(ms: number) {
    this.counters.waitsMs += ms;
    await this.sleep(ms);
  }

  /** Alma said PER_SECOND_THRESHOLD: other integrations are busy too; pause this institution's calls briefly. */
  rateLimited(): void {
    this.counters.rateLimited++;
    this.pausedUntil = Math.max(this.pausedUntil, this.now() + (this.opts.backoffMs ?? 1000));
  }

  /** Alma said DAILY_THRESHOLD, or the remaining count reached zero: stop until the reset. */
  dailyExhausted(): number {
    this.counters.dailyExhausted++;
    this.exhaustedUntil = this.nextReset();
    return this.exhaustedUntil;
  }

  /** Reads X-Exl-Api-Remaining. */
  observeRemaining(remaining: number): void {
    this.remaining = remaining;
    if (remaining <= 0) this.dailyExhausted();
  }
}
