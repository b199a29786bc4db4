/**
 * Alma clients per account, every call passing through its institution's budget: the call waits for its turn,
 * a 429 slows the institution down, and a spent daily budget stops calls (but a probe) without calling Alma.
 * Calls say what they are for: ordering goes on until the lower floor of the day's budget, the rest stops first.
 */
import { createAlmaClient, type AlmaClient } from '../alma/client';
import { AlmaError } from '../alma/errors';
import type { Account, Config, Institution } from '../config/schema';
import { resolveSecret } from '../config/load';
import { own } from '../config/lookup';
import type { Logger } from '../logging';
import { renderReport, type Mailer } from '../mail';
import { InstitutionBudget, institutionRates, type CallPurpose, type FloorCrossing } from './budget';

export type { CallPurpose } from './budget';

export interface AccountAlma {
  account: Account;
  institution: Institution;
  institutionCode: string;
  client: AlmaClient;
  budget: InstitutionBudget;
}

export interface AlmaAccessOptions {
  /** Mails the institution's staff when its budget crosses a floor (without it, the warning is only logged). */
  mailer?: Mailer;
}

export class AlmaAccess {
  private readonly budgets = new Map<string, InstitutionBudget>();

  constructor(
    private readonly config: Config,
    private readonly logger: Logger,
    private readonly opts: AlmaAccessOptions = {},
  ) {}

  budget(institutionCode: string): InstitutionBudget {
    let b = this.budgets.get(institutionCode);
    if (!b) {
      const inst = own(this.config.institutions, institutionCode);
      if (!inst) throw new Error(`institution ${institutionCode} is not configured`);
      b = new InstitutionBudget(institutionCode, {
        perSecond: institutionRates(inst).perProcess,
        dailyResetHourUtc: inst.dailyResetHourUtc,
        probeIntervalMs: inst.dailyProbeInterval,
        ...(inst.apiBudget.daily !== undefined ? { daily: inst.apiBudget.daily } : {}),
        deferBelow: inst.apiBudget.deferBelow,
        orderBelow: inst.apiBudget.orderBelow,
        onFloor: (c) => this.floorCrossed(c),
      });
      this.budgets.set(institutionCode, b);
    }
    return b;
  }

  /**
   * A client for the account's institution; `signal` aborts its calls (an activity's cancellation). `purpose`:
   * `order` (the default: PO line search, POST, cancel) goes on until the lower floor; `deferrable` (overlay,
   * polling) is held first.
   */
  forAccount(accountCode: string, signal?: AbortSignal, purpose: CallPurpose = 'order'): AccountAlma {
    const account = own(this.config.accounts, accountCode);
    if (!account) throw new Error(`account ${accountCode} is not configured`);
    const institutionCode = account.institution;
    const institution = own(this.config.institutions, institutionCode)!;
    const budget = this.budget(institutionCode);
    const raw = createAlmaClient({
      gateway: institution.gateway,
      apiKey: resolveSecret(institution.apiKey),
      timeoutMs: institution.requestTimeout,
      logger: this.logger,
      onRemaining: (n) => budget.observeRemaining(n),
      signal,
    });
    return {
      account,
      institution,
      institutionCode,
      budget,
      client: throughBudget(raw, budget, purpose, signal),
    };
  }

  /**
   * Staff hear once per floor per budget day (each worker process tells them; the mails of one day and floor
   * share a Message-ID, so the copies of several workers are one message to a mail client).
   */
  private floorCrossed(c: FloorCrossing): void {
    const held = c.floor === 'deferrable' ? 'overlay runs and polling' : 'ordering too';
    const summary =
      `Alma API budget of ${c.institution}: ${c.remaining} calls left today, below the floor of ${c.floorCalls} ` +
      `(${c.floor === 'deferrable' ? 'deferBelow' : 'orderBelow'} of ${c.daily} a day, ${c.dailySource}): ${held} held until Alma's count resets`;
    this.logger.warn(
      {
        institution: c.institution,
        floor: c.floor,
        remaining: c.remaining,
        floorCalls: c.floorCalls,
        daily: c.daily,
        dailySource: c.dailySource,
      },
      summary,
    );
    const accounts = Object.values(this.config.accounts).filter((a) => a.institution === c.institution);
    const staff = [...new Set(accounts.flatMap((a) => a.email.staff))];
    if (!this.opts.mailer || !staff.length) return;
    const day = new Date(c.at).toISOString().slice(0, 10);
    const mail = renderReport({
      title: `Alma API budget of ${c.institution} is low`,
      lines: [
        summary,
        'Orders wait without failing and go on by themselves once Alma shows budget again.',
        'Other applications (Primo, Leganto, other integrations) share this budget.',
      ],
    });
    this.opts.mailer
      .send({
        from: accounts[0]!.email.from,
        to: staff,
        ...mail,
        messageId: `<budget.${c.institution}.${c.floor}.${day}@oasis-alma-rto.invalid>`,
      })
      .catch((e: unknown) =>
        this.logger.warn(
          { institution: c.institution, err: String((e as Error).message ?? e) },
          'budget alert not sent',
        ),
      );
  }
}

/** How often one call is tried again in-process after a 429 before the activity's own back-off takes over. */
export const RATE_LIMITED_TRIES = 6;

/**
 * Wraps every method of the client: each call waits for its turn in the budget; a 429 (refused before Alma
 * processed anything) lowers the institution's rate and the same call is tried again at the lowered pace, so a
 * step that needs two calls keeps the first one's answer; a spent daily budget (or one below the purpose's
 * floor) stops the call without calling.
 */
function throughBudget(
  client: AlmaClient,
  budget: InstitutionBudget,
  purpose: CallPurpose,
  signal?: AbortSignal,
): AlmaClient {
  return new Proxy(client, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      const method = value as (...a: unknown[]) => Promise<unknown>;
      return async (...args: unknown[]) => {
        for (let attempt = 1; ; attempt++) {
          await budget.take(purpose, signal);
          try {
            const result = await method.apply(target, args);
            budget.answered();
            return result;
          } catch (e) {
            if (!(e instanceof AlmaError)) throw e;
            // The day's budget is gone: the caller parks until a probe finds it back.
            if (e.kind === 'daily-budget') throw budget.dailyExhausted();
            if (e.kind === 'network') budget.noAnswer();
            else budget.answered();
            if (e.kind !== 'rate-limited') throw e;
            budget.rateLimited();
            if (attempt >= RATE_LIMITED_TRIES) throw e;
          } finally {
            budget.callEnded();
          }
        }
      };
    },
  });
}
