/**
 * The sandbox's memory: per institution its PO lines, bibs, numbering and API budget, plus the call
 * statistics tests read back. Only data is persisted (never the API keys, which stay in the seed).
 */
import type { SandboxInstitutionSeed, SandboxSeed, CatalogueEntry } from './seed';
import { BUILT_IN_CATALOGUE } from './seed';
import { briefRecord, recordFromXml, recordIsbns, recordToXml } from './marc';
import { parseXml } from '../../alma/xml';
import { heldInventory, type StoredHolding, type StoredPortfolio } from './held';

/**
 * A PO line as stored: Alma's JSON plus the timestamps that drive Alma's background work (processing, the
 * bib link, the search index). Each is applied lazily, in time order, when a request comes, so the line is
 * on time even across a restart. Fields absent in an older state file mean "already done".
 */
export interface StoredPoLine {
  data: Record<string, unknown>;
  createdAt: number;
  /** When Alma's background job links (or creates) the bib; null once done or when given an mms_id. */
  bibDueAt: number | null;
  /** When Alma's processing gives the line its status, alerts and po_number; null once done. */
  processDueAt?: number | null;
  /** The POST asked for manual review (requires_manual_review=true) or a seed rule did. */
  manualReview?: boolean;
  /** The line as the search index holds it (null: not indexed yet). */
  indexed?: Record<string, unknown> | null;
  /** When pending changes reach the search index, oldest first. */
  indexDue?: number[];
  /** DELETE's reason (checked against the code table) and comment; kept, not answered (docs/alma-sandbox.md). */
  cancellation?: { reason: { value: string; desc: string }; comment?: string };
}

/** How the sandbox's Alma behaves where Alma's timing and matching are not documented (docs/alma-sandbox.md). */
export interface PoLineBehaviour {
  /** How long after a PO line's creation its bib gets linked (at the earliest when it is processed). */
  bibDelayMs: number;
  /** How long after the POST Alma's processing sets status, alerts and po_number. */
  asyncDelayMs: number;
  /** How long after a change the search (GET /acq/po-lines) sees it. */
  indexLagMs: number;
  /** strict: whole tokens, no ISBN-10/13 equivalence; lenient: substrings, ISBNs normalised. */
  searchMatch: 'strict' | 'lenient';
  /** A second live line with the same vendor and vendor reference number: refused or accepted. */
  duplicateReference: 'refuse' | 'accept';
}

export const DEFAULT_PO_LINE_BEHAVIOUR: PoLineBehaviour = {
  bibDelayMs: 2000,
  asyncDelayMs: 3000,
  indexLagMs: 10_000,
  searchMatch: 'strict',
  duplicateReference: 'refuse',
};

export interface StoredBib {
  mmsId: string;
  /** `<record>…</record>` without a declaration or namespace. */
  recordXml: string;
  /** The record's ISBNs as ISBN-13, for the match on PO line creation. */
  isbns: string[];
  createdBy: string;
  createdDate: string;
  lastModifiedBy: string;
  lastModifiedDate: string;
  /** Print inventory (held titles of the seed only; a brief bib from a PO line has none yet). */
  holdings?: StoredHolding[];
  /** Electronic inventory (held titles of the seed only). */
  portfolios?: StoredPortfolio[];
}

export interface InstitutionData {
  poLines: Record<string, StoredPoLine>;
  bibs: Record<string, StoredBib>;
  nextPoLine: number;
  nextBib: number;
  dailyDay: string;
  dailyUsed: number;
}

export interface InstitutionState extends InstitutionData {
  seed: SandboxInstitutionSeed;
  mmsSuffix: string;
  perSecond: number;
  daily: number;
  bibDelayMs: number;
  asyncDelayMs: number;
  indexLagMs: number;
  searchMatch: PoLineBehaviour['searchMatch'];
  duplicateReference: PoLineBehaviour['duplicateReference'];
  /** Times of accepted calls in the last second (sliding window). */
  window: number[];
  maxPerSecond: number;
  accepted: number;
}

export const almaDate = (ms: number): string => new Date(ms).toISOString().slice(0, 10) + 'Z';
export const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

export function mmsId(seq: number, suffix: string): string {
  return `99${seq}${suffix}`;
}

/** The seeded catalogue's bibs, with MMS ids that stay the same across restarts and resets. */
export function catalogueBibs(suffix: string, entries: CatalogueEntry[]): Record<string, StoredBib> {
  const out: Record<string, StoredBib> = {};
  entries.forEach((e, i) => {
    const id = mmsId(1_000_000_001 + i, suffix);
    const rec = briefRecord({ mmsId: id, ...e }, new Date(Date.UTC(2020, 0, 15)));
    rec.datafields.unshift({
      tag: '035',
      ind1: ' ',
      ind2: ' ',
      subfields: [{ code: 'a', value: `(SANDBOX)${1_000_000_001 + i}` }],
    });
    rec.datafields.sort((a, b) => a.tag.localeCompare(b.tag));
    out[id] = {
      mmsId: id,
      recordXml: recordToXml(rec),
      isbns: recordIsbns(rec),
      createdBy: 'import',
      createdDate: almaDate(Date.UTC(2020, 0, 15)),
      lastModifiedBy: 'import',
      lastModifiedDate: almaDate(Date.UTC(2020, 0, 15)),
    };
  });
  return out;
}

export interface CallStats {
  /** endpoint key → HTTP status (or "dropped" / "hung") → count. */
  calls: Record<string, Record<string, number>>;
  throttled: { PER_SECOND_THRESHOLD: number; DAILY_THRESHOLD: number };
}

export class SandboxState {
  readonly institutions = new Map<string, InstitutionState>();
  readonly byKey = new Map<string, InstitutionState>();
  stats: CallStats = SandboxState.emptyStats();
  private readonly catalogue: CatalogueEntry[];

  constructor(seed: SandboxSeed, behaviour: number | Partial<PoLineBehaviour>, now = Date.now()) {
    this.catalogue = seed.catalogue ?? BUILT_IN_CATALOGUE;
    const b: PoLineBehaviour = {
      ...DEFAULT_PO_LINE_BEHAVIOUR,
      ...(typeof behaviour === 'number' ? { bibDelayMs: behaviour } : behaviour),
    };
    seed.institutions.forEach((s, i) => {
      const mmsSuffix = s.mmsSuffix ?? `0${6421 + i}`;
      const inst: InstitutionState = {
        seed: s,
        mmsSuffix,
        perSecond: s.perSecond,
        daily: s.daily,
        bibDelayMs: b.bibDelayMs,
        asyncDelayMs: b.asyncDelayMs,
        indexLagMs: b.indexLagMs,
        searchMatch: b.searchMatch,
        duplicateReference: s.duplicateReference ?? b.duplicateReference,
        window: [],
        maxPerSecond: 0,
        accepted: 0,
        poLines: {},
        bibs: {},
        nextPoLine: s.firstPoLine ?? 10001,
        nextBib: 2_000_000_001,
        dailyDay: utcDay(now),
        dailyUsed: 0,
      };
      this.seedData(inst);
      this.institutions.set(s.code, inst);
      this.byKey.set(s.apiKey, inst);
    });
  }

  /** The catalogue and the held titles (their bibs, inventory and PO lines), as before the first call. */
  private seedData(inst: InstitutionState): void {
    const held = heldInventory(inst.seed, inst.mmsSuffix);
    inst.bibs = { ...catalogueBibs(inst.mmsSuffix, this.catalogue), ...held.bibs };
    inst.poLines = held.poLines;
  }

  static emptyStats(): CallStats {
    return { calls: {}, throttled: { PER_SECOND_THRESHOLD: 0, DAILY_THRESHOLD: 0 } };
  }

  countCall(endpoint: string, outcome: string | number): void {
    const byStatus = (this.stats.calls[endpoint] ??= {});
    byStatus[String(outcome)] = (byStatus[String(outcome)] ?? 0) + 1;
  }

  /** Clears PO lines, counters and budgets; the catalogue and the held titles go back to their seeded state. */
  reset(now = Date.now()): void {
    for (const inst of this.institutions.values()) {
      this.seedData(inst);
      inst.window = [];
      inst.maxPerSecond = 0;
      inst.accepted = 0;
      inst.dailyUsed = 0;
      inst.dailyDay = utcDay(now);
      // Numbering goes on: a PO line number is never handed out twice, even across resets.
    }
    this.stats = SandboxState.emptyStats();
  }

  /** What goes into the state file: data only, no keys. */
  snapshot(): { version: 1; institutions: Record<string, InstitutionData> } {
    const institutions: Record<string, InstitutionData> = {};
    for (const [code, i] of this.institutions) {
      institutions[code] = {
        poLines: i.poLines,
        bibs: i.bibs,
        nextPoLine: i.nextPoLine,
        nextBib: i.nextBib,
        dailyDay: i.dailyDay,
        dailyUsed: i.dailyUsed,
      };
    }
    return { version: 1, institutions };
  }

  restore(saved: unknown): void {
    if (!saved || typeof saved !== 'object') return;
    const insts = (saved as { institutions?: Record<string, Partial<InstitutionData>> }).institutions ?? {};
    for (const [code, data] of Object.entries(insts)) {
      const inst = this.institutions.get(code);
      if (!inst) continue;
      // A state file from before a held title was seeded lacks its line: the seeded one stays beside the saved.
      if (data.poLines)
        inst.poLines = { ...heldInventory(inst.seed, inst.mmsSuffix).poLines, ...data.poLines };
      if (data.bibs) {
        for (const b of Object.values(data.bibs))
          b.isbns ??= recordIsbns(recordFromXml(parseXml(b.recordXml)));
        inst.bibs = { ...inst.bibs, ...data.bibs };
      }
      if (typeof data.nextPoLine === 'number') inst.nextPoLine = data.nextPoLine;
      if (typeof data.nextBib === 'number') inst.nextBib = data.nextBib;
      if (typeof data.dailyDay === 'string') inst.dailyDay = data.dailyDay;
      if (typeof data.dailyUsed === 'number') inst.dailyUsed = data.dailyUsed;
    }
  }
}
