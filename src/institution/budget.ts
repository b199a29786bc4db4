/**
 * An institution's Alma API budget as seen from one worker process. Across workers, the institution's task
 * queue rate limit bounds how many Alma activities start per second; inside a process this paces the calls
 * themselves, yields when Alma says the institution is busy, and holds back calls as the day's budget runs low.
 *
 * - Pacing: a token bucket refilled continuously (one call every 1/rate seconds, at most one call of burst), so
 *   calls leave evenly spaced instead of a whole second's worth at the start of each second. A call is counted
 *   when its turn comes, and the request leaves at once after.
 * - Yielding: the per-second threshold belongs to the whole institution (Primo, Leganto and every other
 *   integration share it), so a 429 PER_SECOND_THRESHOLD halves this process's rate (multiplicative decrease);
 *   each second without one gives back a tenth of the configured rate (additive increase) up to a ceiling just
 *   below the rate refused, then 2% a second (probing) up to the configured rate. Calls are spaced by the
 *   current rate, so the back-off is the spacing itself, never a fixed pause.
 * - Floors: every answer's X-Exl-Api-Remaining is read. Below `deferBelow` of the day's budget, calls that can
 *   wait (overlay runs, polling) are held; ordering goes on until `orderBelow`. Held calls get the same refusal
 *   as a spent budget (DailyBudgetExhausted, reason `reserved`), so their callers park them the same way. One
 *   held call is let through at the expected reset, then one per probe interval, to see whether the count is back.
 * - The daily budget: once Alma says it is spent (DAILY_THRESHOLD, or X-Exl-Api-Remaining at 0) calls stop. One
 *   call per probe interval is let through to ask Alma again; as soon as an answer shows budget left (the probe's,
 *   or any other), calls resume.
 * - What Alma says, not what a process remembers: nothing is kept on disk. A worker that has not had an answer
 *   yet sends one call and waits for its answer before the next (so a restarted worker does not fire its whole
 *   backlog into a spent budget). The reset time is learnt: when X-Exl-Api-Remaining jumps back up, that moment
 *   is taken as the institution's reset time of day; until one is seen, `dailyResetHourUtc` is assumed.
 * Each institution has its own budget, so one's exhaustion never slows another. See docs/api-budget.md.
 */

/** What a call is for: ordering (search, POST, cancel) goes on to the lower floor; the rest can wait. */
export type CallPurpose = 'order' | 'deferrable';

/** One crossing of a floor, told once per floor per budget day (the day ends at a reset seen in the answers). */
export interface FloorCrossing {
  institution: string;
  floor: CallPurpose;
  /** X-Exl-Api-Remaining in the answer that crossed it. */
  remaining: number;
  /** The floor in calls. */
  floorCalls: number;
  /** The day's budget it is a share of, and whether it is configured or the highest count seen today. */
  daily: number;
  dailySource: 'configured' | 'observed';
  at: number;
}

export interface BudgetOptions {
  /** Calls per second this process may make (the institution's threshold × the configured share ÷ processes). */
  perSecond: number;
  /** Hour (UTC) at which Alma's daily count is assumed to reset until a reset is seen in its answers. */
  dailyResetHourUtc: number;
  /** While calls are held (budget spent or below a floor): how often one call may ask Alma whether it is back. */
  probeIntervalMs?: number;
  /** The lowest rate a run of 429s can bring the process down to. */
  minPerSecond?: number;
  /** The institution's daily budget in calls; without it, the highest X-Exl-Api-Remaining seen since the last reset. */
  daily?: number;
  /** Share of the day's budget below which calls that can wait are held (default 0.1). */
  deferBelow?: number;
  /** Share of the day's budget below which ordering is held too (default 0.02). */
  orderBelow?: number;
  /** Told when an answer takes the remaining count below a floor (once per floor per budget day). */
  onFloor?: (c: FloorCrossing) => void;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export class DailyBudgetExhausted extends Error {
  override name = 'DailyBudgetExhausted';
  constructor(
    readonly institution: string,
    /** When the next probe may ask Alma (parked work should come back then). */
    readonly retryAt: number,
    /** The expected reset (learnt from Alma's answers, or the configured hour), for people. */
    readonly resetAt: number,
    /** `spent`: Alma said the day's budget is gone; `reserved`: below a floor kept for ordering (or the last calls). */
    readonly reason: 'spent' | 'reserved' = 'spent',
    readonly remaining?: number,
  ) {
    super(
      reason === 'spent'
        ? `the daily Alma API budget of ${institution} is spent; Alma is asked again at ${new Date(retryAt).toISOString()} (its count is expected to reset at ${new Date(resetAt).toISOString()})`
        : `the daily Alma API budget of ${institution} is low (${remaining ?? '?'} calls left): calls that can wait are held for ordering; Alma is asked again at ${new Date(retryAt).toISOString()} (its count is expected to reset at ${new Date(resetAt).toISOString()})`,
    );
  }
}

/** The call's activity was cancelled while it waited for its turn: no call was made. */
export class BudgetWaitAborted extends Error {
  override name = 'BudgetWaitAborted';
  constructor(readonly institution: string) {
    super(`cancelled while waiting for a turn in the Alma API budget of ${institution}; nothing was sent`);
  }
}

/** The default probe interval while calls are held. */
export const DEFAULT_PROBE_INTERVAL_MS = 5 * 60_000;
export const DEFAULT_DEFER_BELOW = 0.1;
export const DEFAULT_ORDER_BELOW = 0.02;
const DAY_MS = 86_400_000;
/** Above the ceiling, how much faster each quiet second makes the pace. */
const PROBE_STEP = 0.02;
/**
 * Below the ceiling, a quiet second adds a tenth of the configured rate but never more than half the current
 * one: a threshold configured far too high would otherwise jump far past the room within Alma's one-second
 * window, and each such overshoot is a burst of 429s.
 */
const FAST_STEP_OF_RATE = 0.5;

/** Held calls of one purpose (below its floor): when the next may ask Alma, and whether one is out now. */
interface Hold {
  nextProbeAt: number;
  probing: boolean;
  parked: number;
}

export class InstitutionBudget {
  /** The rate calls are spaced by now (lowered by 429s, raised back by quiet seconds). */
  rate: number;
  private nextSlot = 0;
  private lastChange = 0;
  private exhausted = false;
  private nextProbeAt = 0;
  private probing = false;
  private queue: Promise<void> = Promise.resolve();
  /** The last X-Exl-Api-Remaining seen (0 once Alma says DAILY_THRESHOLD). */
  remaining: number | undefined;
  /** The highest count seen since the last reset: the day's budget when none is configured. */
  private dayHigh = 0;
  /** Time of day (ms after 00:00 UTC) at which a reset was last seen in Alma's answers. */
  learntResetMsOfDay: number | undefined;
  private readonly holds = new Map<CallPurpose, Hold>();
  private readonly alerted = new Set<CallPurpose>();
  /** Whether any answer has come from Alma yet; until then one call at a time goes. */
  private known = false;
  private learning: Promise<void> | undefined;
  private learnt: (() => void) | undefined;
  readonly counters = {
    calls: 0,
    waitsMs: 0,
    rateLimited: 0,
    dailyExhausted: 0,
    probes: 0,
    held: 0,
    resetsSeen: 0,
  };
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

  /** The next expected daily reset after `t`: the time of day last seen in Alma's answers, else the configured hour. */
  nextReset(t = this.now()): number {
    const d = new Date(t);
    const midnight = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
    const reset = midnight + (this.learntResetMsOfDay ?? this.opts.dailyResetHourUtc * 3_600_000);
    return reset > t ? reset : reset + DAY_MS;
  }

  /** The day's budget the floors are shares of: the configured one, or the highest count seen since the reset. */
  dailyBudget(): { calls: number; source: 'configured' | 'observed' } | undefined {
    const configured = this.opts.daily;
    if (configured !== undefined && configured >= this.dayHigh)
      return { calls: configured, source: 'configured' };
    return this.dayHigh > 0 ? { calls: this.dayHigh, source: 'observed' } : undefined;
  }

  /** The floor of a purpose in calls, once the day's budget is known. */
  floorCalls(purpose: CallPurpose): number | undefined {
    const daily = this.dailyBudget();
    if (!daily) return undefined;
    const share =
      purpose === 'order'
        ? (this.opts.orderBelow ?? DEFAULT_ORDER_BELOW)
        : (this.opts.deferBelow ?? DEFAULT_DEFER_BELOW);
    return Math.floor(daily.calls * share);
  }

  /** When parked work should try again, if the daily budget is spent now. */
  exhaustedUntilTime(): number | undefined {
    return this.exhausted ? Math.max(this.nextProbeAt, this.now()) : undefined;
  }

  /** Whether calls of this purpose are held now (below its floor, or the budget spent). */
  holding(purpose: CallPurpose): boolean {
    return this.exhausted || this.holdFor(purpose, this.now()) !== undefined;
  }

  /**
   * Waits for this call's turn; throws DailyBudgetExhausted instead of calling while the day's budget is spent
   * or below this purpose's floor (except for the one probe per interval). Turns are taken in the order asked for.
   */
  take(purpose: CallPurpose = 'order', signal?: AbortSignal): Promise<void> {
    // A call whose activity was cancelled while it waited gives its turn up instead of spending a slot.
    const turn = this.queue.then(() => {
      if (signal?.aborted) throw new BudgetWaitAborted(this.institution);
      return this.acquire(purpose);
    });
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  private async acquire(purpose: CallPurpose): Promise<void> {
    // Nothing heard from Alma yet (a fresh process): the call before this one asks; wait for its answer.
    while (!this.known && this.learning) await this.learning;
    const first = this.gate(purpose, this.now());
    if (first instanceof DailyBudgetExhausted) throw first;
    if (!this.known) this.learning = new Promise<void>((r) => (this.learnt = r));
    this.recover();
    const t = this.now();
    if (this.nextSlot > t) {
      const ms = this.nextSlot - t;
      this.counters.waitsMs += ms;
      await this.sleep(ms);
      // Alma may have said more while this call waited for its slot.
      if (first === 'go') {
        const again = this.gate(purpose, this.now());
        if (again instanceof DailyBudgetExhausted) {
          this.callEnded();
          throw again;
        }
      }
    }
    this.nextSlot = Math.max(this.nextSlot, this.now()) + 1000 / this.rate;
    this.counters.calls++;
  }

  /** Whether a call may go now, goes as the probe of held calls, or is refused. */
  private gate(purpose: CallPurpose, t: number): 'go' | 'probe' | DailyBudgetExhausted {
    if (this.exhausted) {
      if (this.probing || t < this.nextProbeAt) return this.spent();
      // This call is the probe: it goes to Alma, whose answer decides (see observeRemaining/dailyExhausted).
      this.probing = true;
      this.nextProbeAt = t + this.probeIntervalMs;
      this.counters.probes++;
      return 'probe';
    }
    const hold = this.holdFor(purpose, t);
    if (!hold) return 'go';
    if (hold.probing || t < hold.nextProbeAt) return this.reserved(hold, t);
    hold.probing = true;
    hold.nextProbeAt = t + this.probeIntervalMs;
    this.counters.probes++;
    return 'probe';
  }

  /** The hold on a purpose while the last count seen is below its floor; lifted as soon as one is not. */
  private holdFor(purpose: CallPurpose, t: number): Hold | undefined {
    const floor = this.floorCalls(purpose);
    if (floor === undefined || this.remaining === undefined || this.remaining >= floor) {
      this.holds.delete(purpose);
      return undefined;
    }
    let hold = this.holds.get(purpose);
    if (!hold) {
      // The count comes back at the reset: the first held call asks then, not before.
      hold = { nextProbeAt: this.nextReset(t), probing: false, parked: 0 };
      this.holds.set(purpose, hold);
    }
    return hold;
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
    return new DailyBudgetExhausted(this.institution, retryAt, this.nextReset(), 'spent', this.remaining);
  }

  private reserved(hold: Hold, t: number): DailyBudgetExhausted {
    this.counters.held++;
    const base = hold.probing ? t + Math.min(this.probeIntervalMs, 10_000) : Math.max(hold.nextProbeAt, t);
    const retryAt = base + ((hold.parked++ % 1000) * 1000) / this.opts.perSecond;
    return new DailyBudgetExhausted(this.institution, retryAt, this.nextReset(t), 'reserved', this.remaining);
  }

  /**
   * Additive increase, per second since the last change: a tenth of the configured rate back, but only up to the
   * ceiling (a little below the rate Alma last refused); above it, probing: 2% more a second. Near the rate where
   * the institution's other applications leave no room, the pace thus creeps instead of jumping back into 429s.
   */
  private recover(): void {
    const t = this.now();
    if (this.rate >= this.opts.perSecond) return;
    const seconds = Math.floor((t - this.lastChange) / 1000);
    if (seconds <= 0) return;
    for (let i = 0; i < seconds && this.rate < this.opts.perSecond; i++) {
      const ceiling = this.ceiling ?? this.opts.perSecond;
      this.rate =
        this.rate < ceiling
          ? Math.min(ceiling, this.rate + Math.min(this.opts.perSecond / 10, this.rate * FAST_STEP_OF_RATE))
          : Math.min(this.opts.perSecond, this.rate * (1 + PROBE_STEP));
    }
    this.lastChange += seconds * 1000;
  }

  /**
   * Where additive increase stops and probing starts: 85% of the rate refused at the start of an episode of
   * 429s (429s less than a second apart: calls that were in flight, Alma's one-second window).
   */
  ceiling: number | undefined;
  private lastRateLimitedAt = -Infinity;
  private lastHalving = -Infinity;

  /** Alma said PER_SECOND_THRESHOLD: the institution is busier than our share allows; halve our rate. */
  rateLimited(): void {
    this.counters.rateLimited++;
    this.heard();
    const t = this.now();
    // The rate refused at the start of an episode is where the room ended; later 429s of it are the same news.
    if (t - this.lastRateLimitedAt >= 1000) this.ceiling = this.rate * 0.85;
    this.lastRateLimitedAt = t;
    // One halving per burst: several calls refused within one spacing are the same news.
    if (t - this.lastHalving >= 1000 / this.rate || this.rate >= this.opts.perSecond) {
      this.rate = Math.max(this.opts.minPerSecond ?? 0.2, this.rate / 2);
      this.lastChange = t;
      this.lastHalving = t;
    }
    this.nextSlot = Math.max(this.nextSlot, t + 1000 / this.rate);
  }

  /** Alma said DAILY_THRESHOLD to a call: stop until a probe finds it back; the call gets the refusal. */
  dailyExhausted(): DailyBudgetExhausted {
    this.heard();
    this.markExhausted();
    this.crossings(0);
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
    this.remaining = 0;
  }

  /**
   * Reads X-Exl-Api-Remaining from any answer. A positive count means the day's budget is there; a count well
   * above the last one means Alma's count was reset, and when (to within the gap between the two answers).
   */
  observeRemaining(remaining: number): void {
    this.heard();
    const t = this.now();
    const before = this.remaining;
    const daily = this.dailyBudget()?.calls ?? 0;
    // Answers overtake each other (and other applications call meanwhile): only a clear jump is a reset.
    if (before !== undefined && remaining - before >= Math.max(100, daily * 0.01)) {
      this.learntResetMsOfDay = t % DAY_MS;
      this.counters.resetsSeen++;
      this.dayHigh = 0;
      this.alerted.clear();
      this.holds.clear();
    }
    this.dayHigh = Math.max(this.dayHigh, remaining);
    if (remaining <= 0) {
      this.markExhausted();
      this.crossings(0);
      return;
    }
    this.remaining = remaining;
    this.exhausted = false;
    this.probing = false;
    this.parked = 0;
    for (const h of this.holds.values()) h.probing = false;
    this.crossings(remaining);
  }

  /** Tells each floor this count is below, once per floor per budget day. */
  private crossings(remaining: number): void {
    const daily = this.dailyBudget();
    if (!daily) return;
    for (const floor of ['deferrable', 'order'] as const) {
      const floorCalls = this.floorCalls(floor)!;
      if (remaining >= floorCalls || this.alerted.has(floor)) continue;
      this.alerted.add(floor);
      this.opts.onFloor?.({
        institution: this.institution,
        floor,
        remaining,
        floorCalls,
        daily: daily.calls,
        dailySource: daily.source,
        at: this.now(),
      });
    }
  }

  /**
   * Alma answered (anything but DAILY_THRESHOLD): it is counting our calls again, so a probe reopens the budget.
   */
  answered(): void {
    this.heard();
    if (this.probing) {
      this.exhausted = false;
      this.probing = false;
    }
    for (const h of this.holds.values()) h.probing = false;
  }

  /** No answer at all (network): a probe proved nothing; the next one may go at the next interval. */
  noAnswer(): void {
    this.probing = false;
    for (const h of this.holds.values()) h.probing = false;
  }

  /** A call is over, whatever its outcome: a call waiting for the first answer may go (and learn itself). */
  callEnded(): void {
    const done = this.learnt;
    this.learning = undefined;
    this.learnt = undefined;
    done?.();
  }

  /** Alma has answered something: from now on this process knows what Alma says. */
  private heard(): void {
    this.known = true;
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
