/**
 * Alma clients per account, every call passing through its institution's budget: the call waits for its turn,
 * a 429 slows the institution down, and a spent daily budget stops calls (but a probe) without calling Alma.
 */
import { createAlmaClient, type AlmaClient } from '../alma/client';
import { AlmaError } from '../alma/errors';
import type { Account, Config, Institution } from '../config/schema';
import { resolveSecret } from '../config/load';
import { own } from '../config/lookup';
import type { Logger } from '../logging';
import { InstitutionBudget, institutionRates } from './budget';

export interface AccountAlma {
  account: Account;
  institution: Institution;
  institutionCode: string;
  client: AlmaClient;
  budget: InstitutionBudget;
}

export class AlmaAccess {
  private readonly budgets = new Map<string, InstitutionBudget>();

  constructor(
    private readonly config: Config,
    private readonly logger: Logger,
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
      });
      this.budgets.set(institutionCode, b);
    }
    return b;
  }

  /** A client for the account's institution; `signal` aborts its calls (an activity's cancellation). */
  forAccount(accountCode: string, signal?: AbortSignal): AccountAlma {
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
    return { account, institution, institutionCode, budget, client: throughBudget(raw, budget) };
  }
}

/** How often one call is tried again in-process after a 429 before the activity's own back-off takes over. */
export const RATE_LIMITED_TRIES = 6;

/**
 * Wraps every method of the client: each call waits for its turn in the budget; a 429 (refused before Alma
 * processed anything) lowers the institution's rate and the same call is tried again at the lowered pace, so a
 * step that needs two calls keeps the first one's answer; a spent daily budget stops the call without calling.
 */
function throughBudget(client: AlmaClient, budget: InstitutionBudget): AlmaClient {
  return new Proxy(client, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      const method = value as (...a: unknown[]) => Promise<unknown>;
      return async (...args: unknown[]) => {
        for (let attempt = 1; ; attempt++) {
          await budget.take();
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
          }
        }
      };
    },
  });
}
