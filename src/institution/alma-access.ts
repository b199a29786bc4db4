/**
 * Alma clients per account, every call passing through its institution's budget: the call waits for a slot,
 * a 429 pauses the institution, and a spent daily budget stops calls until the reset without calling Alma.
 */
import { createAlmaClient, type AlmaClient } from '../alma/client';
import { AlmaError } from '../alma/errors';
import type { Account, Config, Institution } from '../config/schema';
import { resolveSecret } from '../config/load';
import { own } from '../config/lookup';
import type { Logger } from '../logging';
import { DailyBudgetExhausted, InstitutionBudget } from './budget';

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
        perSecond: (inst.perSecondThreshold * inst.budgetShare) / inst.workerProcesses,
        dailyResetHourUtc: inst.dailyResetHourUtc,
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

/** Wraps every method of the client: take a budget slot first, tell the budget about 429s. */
function throughBudget(client: AlmaClient, budget: InstitutionBudget): AlmaClient {
  return new Proxy(client, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        await budget.take();
        try {
          return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        } catch (e) {
          if (e instanceof AlmaError && e.kind === 'rate-limited') budget.rateLimited();
          // The day's budget is gone: the caller waits for the reset, not a guess.
          if (e instanceof AlmaError && e.kind === 'daily-budget')
            throw new DailyBudgetExhausted(budget.institution, budget.dailyExhausted());
          throw e;
        }
      };
    },
  });
}
