/**
 * What the duplicate check found (src/activities/duplicates.ts), and how the alert says it. Types and pure
 * functions only: the workflow bundle imports it.
 */

export interface DuplicateMatch {
  /** The PO line found; absent for a bib the catalogue (SRU) found with inventory but no matching line. */
  poLine?: string;
  /** Alma's status code of the line (e.g. ACTIVE, CLOSED). */
  status?: string;
  title?: string;
  mmsId?: string;
  /** The bib's inventory as the catalogue tells it: "held at MAIN/STACKS", "portfolio (electronic)". */
  held?: string[];
}

export interface DuplicateFindings {
  matches: DuplicateMatch[];
  /** The distinct bibs the matches are linked to. */
  mmsIds: string[];
  /** What was searched and where (PO lines, the catalogue), for the alert. */
  searched: string;
}

function describeMatch(m: DuplicateMatch): string {
  const parts = [
    ...(m.poLine ? [`PO line ${m.poLine}${m.status ? ` (${m.status})` : ''}`] : []),
    ...(m.mmsId ? [`bib ${m.mmsId}`] : []),
  ];
  const held = m.held?.length ? ` ${m.held.join(', ')}` : '';
  return `${parts.join(', ')}${held}`;
}

/** One line of the alert: what was found, in words staff can look up in Alma. */
export function describeFindings(f: DuplicateFindings): string {
  const lines = f.matches.slice(0, 5).map(describeMatch);
  const more = f.matches.length > 5 ? ` and ${f.matches.length - 5} more` : '';
  const lineCount = f.matches.filter((m) => m.poLine).length;
  const heldOnly = f.matches.length - lineCount;
  const counts = [
    ...(lineCount || !heldOnly ? [`${lineCount} PO line(s)`] : []),
    ...(heldOnly ? [`${heldOnly} held title(s) without a matching PO line`] : []),
  ].join(' and ');
  return `Alma has ${counts} for ${f.searched}: ${lines.join('; ')}${more}`;
}
