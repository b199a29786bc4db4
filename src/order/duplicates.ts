/**
 * What the duplicate check found (src/activities/duplicates.ts), and how the alert says it. Types and pure
 * functions only: the workflow bundle imports it.
 */

export interface DuplicateMatch {
  poLine: string;
  /** Alma's status code of the line (e.g. ACTIVE, CLOSED). */
  status?: string;
  title?: string;
  mmsId?: string;
}

export interface DuplicateFindings {
  matches: DuplicateMatch[];
  /** The distinct bibs the matching lines are linked to. */
  mmsIds: string[];
  /** What was searched, for the alert. */
  searched: string;
}

/** One line of the alert: what was found, in words staff can look up in Alma. */
export function describeFindings(f: DuplicateFindings): string {
  const lines = f.matches
    .slice(0, 5)
    .map((m) => `PO line ${m.poLine}${m.status ? ` (${m.status})` : ''}${m.mmsId ? `, bib ${m.mmsId}` : ''}`);
  const more = f.matches.length > 5 ? ` and ${f.matches.length - 5} more` : '';
  return `Alma has ${f.matches.length} PO line(s) for ${f.searched}: ${lines.join('; ')}${more}`;
}
