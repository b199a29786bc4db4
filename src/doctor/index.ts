/**
 * `rto doctor`: the set-up checked against what it names, before orders find the mistakes (In Review lines,
 * failed orders). Alma (the key and its areas, vendor, funds, libraries, locations, code tables, rules, the
 * day's budget), the SMTP relay and the vendor file sources. Read-only everywhere; the key is never printed.
 */
import type { Config } from '../config/schema';
import type { Settings } from '../config/settings';
import { own } from '../config/lookup';
import { AlmaAccess } from '../institution/alma-access';
import { silentLogger, type Logger } from '../logging';
import { budgetFinding, checkAccountInAlma, checkInstitution, type InstitutionProbe } from './alma';
import { checkFileSources } from './files';
import { reportOf, type DoctorReport, type Finding } from './report';
import { checkSmtp } from './smtp';

export { reportLines, type DoctorReport, type Finding, type Outcome } from './report';

export interface DoctorOptions {
  config: Config;
  settings: Pick<Settings, 'SMTP_HOST' | 'SMTP_PORT' | 'SMTP_SECURE' | 'SMTP_USER' | 'SMTP_ALLOW_PLAIN_AUTH'>;
  /** One account; all when absent. */
  account?: string;
  logger?: Logger;
  env?: NodeJS.ProcessEnv;
  /** Milliseconds for the SMTP connection (default 5000). */
  smtpTimeoutMs?: number;
}

/** Whether the institution's key comes from the sandbox default only (its env variable and file unset). */
function keyIsSandboxDefault(config: Config, code: string, env: NodeJS.ProcessEnv): boolean {
  const ref = own(config.institutions, code)!.apiKey;
  return !!ref.sandboxDefault && !(ref.env && env[ref.env]) && !ref.file;
}

export async function runDoctor(o: DoctorOptions): Promise<DoctorReport> {
  const logger = o.logger ?? silentLogger;
  const env = o.env ?? process.env;
  const accounts = o.account ? [o.account] : Object.keys(o.config.accounts);
  for (const a of accounts) if (!own(o.config.accounts, a)) throw new Error(`account ${a} is not configured`);
  const findings: Finding[] = [];
  const access = new AlmaAccess(o.config, logger);
  const probes = new Map<string, InstitutionProbe>();
  const apiCallsLeft: Record<string, number | null> = {};

  for (const accountCode of accounts) {
    const account = own(o.config.accounts, accountCode)!;
    const code = account.institution;
    let probe = probes.get(code);
    if (!probe) {
      let client;
      try {
        client = access.forAccount(accountCode).client;
      } catch (e) {
        // The key's secret cannot be read: the message names the variable or file, never a value.
        findings.push({
          check: 'alma.key',
          outcome: 'problem',
          institution: code,
          setting: `institutions.${code}.apiKey`,
          message: `the API key cannot be read: ${(e as Error).message}`,
          fix: 'set the environment variable or file this setting names',
        });
        findings.push({
          check: 'alma',
          outcome: 'cannot-check',
          account: accountCode,
          institution: code,
          message: 'cannot check the account in Alma without its key',
        });
        continue;
      }
      const inst = await checkInstitution(code, o.config, client, keyIsSandboxDefault(o.config, code, env));
      findings.push(...inst.findings);
      probe = { code, client, keyWorks: inst.keyWorks, codeTables: new Map() };
      probes.set(code, probe);
    }
    findings.push(...(await checkAccountInAlma(accountCode, account, probe)));
    findings.push(...(await checkFileSources(accountCode, account, logger, env)));
  }
  for (const code of probes.keys()) {
    const remaining = access.budget(code).remaining;
    apiCallsLeft[code] = remaining ?? null;
    findings.push(budgetFinding(code, remaining));
  }
  findings.push(...(await checkSmtp(o.settings, o.smtpTimeoutMs)));
  return reportOf(findings, apiCallsLeft);
}
