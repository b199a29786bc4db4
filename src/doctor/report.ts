/** What `rto doctor` finds: one finding per check, each problem naming the setting and what to do. */

/**
 * `problem` fails the doctor (exit 1); `warning` is worth a look but works; `cannot-check` means the check
 * could not be made (Alma lacks the API, a table is unknown): said, not failed.
 */
export type Outcome = 'ok' | 'problem' | 'warning' | 'cannot-check';

export interface Finding {
  /** What was checked, e.g. `alma.key`, `alma.fund`, `smtp`, `files.edi`. */
  check: string;
  outcome: Outcome;
  /** The account the finding is about (none for SMTP and institution-wide checks). */
  account?: string;
  /** The institution, for Alma checks. */
  institution?: string;
  /** Where it is set: a path in the configuration file (`accounts.UNIV-MAIN.funds`) or an environment variable. */
  setting?: string;
  message: string;
  /** What to do about a problem or warning. */
  fix?: string;
}

export interface DoctorReport {
  ok: boolean;
  counts: Record<Outcome, number>;
  /** X-Exl-Api-Remaining per institution after the checks (null: Alma did not say). */
  apiCallsLeft: Record<string, number | null>;
  findings: Finding[];
}

export function reportOf(findings: Finding[], apiCallsLeft: Record<string, number | null>): DoctorReport {
  const counts: Record<Outcome, number> = { ok: 0, problem: 0, warning: 0, 'cannot-check': 0 };
  for (const f of findings) counts[f.outcome] += 1;
  return { ok: counts.problem === 0, counts, apiCallsLeft, findings };
}

const MARK: Record<Outcome, string> = {
  ok: 'ok  ',
  problem: 'FAIL',
  warning: 'warn',
  'cannot-check': '??  ',
};

/** The report as lines for a terminal: problems and warnings with their setting and fix, the rest one line each. */
export function reportLines(r: DoctorReport, o: { onlyTrouble?: boolean } = {}): string[] {
  const lines: string[] = [];
  for (const f of r.findings) {
    if (o.onlyTrouble && (f.outcome === 'ok' || f.outcome === 'cannot-check')) continue;
    const who = f.account ? `${f.account}: ` : f.institution ? `${f.institution}: ` : '';
    lines.push(`${MARK[f.outcome]} ${who}${f.message}`);
    if (f.outcome !== 'ok' && f.setting) lines.push(`       setting: ${f.setting}`);
    if (f.outcome !== 'ok' && f.fix) lines.push(`       fix: ${f.fix}`);
  }
  const c = r.counts;
  lines.push(
    `${r.ok ? 'all is well' : 'problems found'}: ${c.ok} ok, ${c.problem} problem(s), ${c.warning} warning(s), ${c['cannot-check']} not checkable`,
  );
  return lines;
}
