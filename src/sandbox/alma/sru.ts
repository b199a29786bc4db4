/**
 * Alma's SRU target (GET /view/sru/<institution code>, no API key): searchRetrieve over the institution's bibs,
 * each record its MARCXML with AVA fields (holdings) and AVE fields (portfolios) when availability is included,
 * in SRU 1.2's envelope as real Alma answers it (test/fixtures/alma/sru-*.xml). Only what the project asks is
 * understood: version 1.2, recordSchema marcxml, indexes alma.isbn, alma.title and alma.creator, relations
 * `=` and `all`, terms joined by `and`/`or`; anything else is a diagnostic (stricter than Alma, which knows more).
 * Sources and assumptions: docs/alma-sandbox.md, "SRU".
 */
import { escapeXml, parseXml } from '../../alma/xml';
import { recordFromXml, recordToXml, type DataField, type MarcRecord } from './marc';
import type { InstitutionState, StoredBib } from './state';

export interface SruAnswer {
  status: number;
  contentType: string;
  text: string;
}

const SRW = 'http://www.loc.gov/zing/srw/';
const DIAG = 'http://www.loc.gov/zing/srw/diagnostic/';
/** ASSUMPTION: Alma's own limit is not documented; the sandbox refuses more than 50 records a page. */
export const SRU_MAX_RECORDS = 50;
/** ASSUMPTION (SRU 1.2 leaves it to the server): 10 records when maximumRecords is absent. */
const DEFAULT_RECORDS = 10;

class Diagnostic extends Error {
  constructor(
    readonly code: number,
    readonly text: string,
    readonly details = '',
  ) {
    super(text);
  }
}

const xmlAnswer = (body: string): SruAnswer => ({
  status: 200,
  contentType: 'text/xml;charset=UTF-8',
  text: `<?xml version="1.0" encoding="UTF-8" standalone="no"?>${body}`,
});

/** SRU 1.2 diagnostics, with HTTP 200 as SRU servers send them (ASSUMPTION for Alma's exact body). */
function diagnosticAnswer(d: Diagnostic): SruAnswer {
  return xmlAnswer(
    `<searchRetrieveResponse xmlns="${SRW}"><version>1.2</version><numberOfRecords>0</numberOfRecords>` +
      `<diagnostics><diag:diagnostic xmlns:diag="${DIAG}"><diag:uri>info:srw/diagnostic/1/${d.code}</diag:uri>` +
      `<diag:details>${escapeXml(d.details)}</diag:details><diag:message>${escapeXml(d.text)}</diag:message>` +
      `</diag:diagnostic></diagnostics></searchRetrieveResponse>`,
  );
}

// --- CQL, the subset: clause ((and|or) clause)*, clause = index relation term, read left to right ---

type Clause = { index: string; relation: string; term: string };
type Query = { first: Clause; rest: { op: 'and' | 'or'; clause: Clause }[] };

const INDEXES: Record<string, string[]> = {
  'alma.isbn': ['=', '=='],
  'alma.title': ['=', 'all'],
  'alma.creator': ['=', 'all'],
};

function tokenize(q: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < q.length) {
    const c = q[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(' || c === ')') {
      throw new Diagnostic(13, 'Invalid or unsupported use of parentheses', q);
    } else if (c === '"') {
      let j = i + 1;
      let term = '';
      for (; j < q.length && q[j] !== '"'; j++) {
        if (q[j] === '\\' && j + 1 < q.length) j++;
        term += q[j];
      }
      if (j >= q.length) throw new Diagnostic(14, 'Invalid or unsupported use of quotes', q);
      out.push(`"${term}`); // a leading quote marks a quoted term (already unescaped)
      i = j + 1;
    } else if (q.startsWith('==', i)) {
      out.push('==');
      i += 2;
    } else if (c === '=') {
      out.push('=');
      i++;
    } else {
      let j = i;
      while (j < q.length && !/[\s="()]/.test(q[j]!)) j++;
      out.push(q.slice(i, j));
      i = j;
    }
  }
  return out;
}

function parseQuery(q: string): Query {
  const t = tokenize(q);
  let at = 0;
  const clause = (): Clause => {
    const index = t[at++];
    const relation = t[at++]?.toLowerCase();
    const raw = t[at++];
    if (!index || !relation || raw === undefined) throw new Diagnostic(10, 'Query syntax error', q);
    const rels = INDEXES[index.toLowerCase()];
    if (!rels) throw new Diagnostic(16, 'Unsupported index', index);
    if (!rels.includes(relation)) throw new Diagnostic(19, 'Unsupported relation', relation);
    const term = raw.startsWith('"') ? raw.slice(1) : raw;
    // Masking characters left unescaped would be wildcards: the sandbox does not search with them.
    if (!raw.startsWith('"') && /[*?^]/.test(raw))
      throw new Diagnostic(28, 'Masking character not supported', raw);
    if (!term.trim()) throw new Diagnostic(27, 'Empty term unsupported', index);
    return { index: index.toLowerCase(), relation, term };
  };
  const first = clause();
  const rest: Query['rest'] = [];
  while (at < t.length) {
    const op = t[at++]!.toLowerCase();
    if (op !== 'and' && op !== 'or') throw new Diagnostic(10, 'Query syntax error', q);
    rest.push({ op, clause: clause() });
  }
  return { first, rest };
}

// --- matching ---

const words = (s: string) =>
  s
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean);

const subs = (rec: MarcRecord, tag: string, codes: string[]) =>
  rec.datafields
    .filter((d) => d.tag === tag)
    .flatMap((d) => d.subfields.filter((s) => codes.includes(s.code)));

function matches(rec: MarcRecord, c: Clause): boolean {
  if (c.index === 'alma.isbn') {
    // Hyphens and qualifiers ("(pbk.)") ignored; ISBN-10 and ISBN-13 forms NOT equated (ASSUMPTION, stricter).
    const want = c.term.replace(/-/g, '').trim().toUpperCase();
    return subs(rec, '020', ['a']).some(
      (s) => s.value.replace(/-/g, '').split(/\s/)[0]!.toUpperCase() === want,
    );
  }
  const fieldWords = new Set(
    (c.index === 'alma.title'
      ? subs(rec, '245', ['a', 'b'])
      : [...subs(rec, '100', ['a']), ...subs(rec, '110', ['a']), ...subs(rec, '700', ['a'])]
    ).flatMap((s) => words(s.value)),
  );
  const wanted = words(c.term);
  return wanted.length > 0 && wanted.every((w) => fieldWords.has(w));
}

function evaluate(rec: MarcRecord, q: Query): boolean {
  let ok = matches(rec, q.first);
  for (const { op, clause } of q.rest)
    ok = op === 'and' ? ok && matches(rec, clause) : ok || matches(rec, clause);
  return ok;
}

// --- answer ---

const field = (tag: string, pairs: [string, string | undefined][]): DataField => ({
  tag,
  ind1: ' ',
  ind2: ' ',
  subfields: pairs.flatMap(([code, value]) => (value ? [{ code, value }] : [])),
});

/** The record with its inventory as Alma's availability enrichment adds it (fields as in the real fixtures). */
function enriched(bib: StoredBib, inst: InstitutionState, availability: boolean): MarcRecord {
  const rec = recordFromXml(parseXml(bib.recordXml));
  if (!availability) return rec;
  for (const h of bib.holdings ?? []) {
    rec.datafields.push(
      field('AVA', [
        ['0', bib.mmsId],
        ['8', h.holdingId],
        ['a', inst.seed.code],
        ['b', h.library],
        ['c', h.location],
        ['d', h.callNumber],
        ['e', 'available'],
        ['f', '1'],
        ['g', '0'],
        ['j', h.location],
        ['p', '1'],
        ['q', `${h.library} Library`],
      ]),
    );
  }
  for (const p of bib.portfolios ?? []) {
    rec.datafields.push(
      field('AVE', [
        ['8', p.id],
        ['e', 'Available'],
        ['m', p.collection],
        ['a', inst.seed.code],
        ['0', bib.mmsId],
      ]),
    );
  }
  return rec;
}

const NS_RECORD = /^<record>/;

export function sruSearch(inst: InstitutionState, params: URLSearchParams, now: number): SruAnswer {
  try {
    const version = params.get('version');
    if (version !== '1.2') throw new Diagnostic(5, 'Unsupported version', version ?? '');
    const operation = params.get('operation');
    if (!operation) throw new Diagnostic(7, 'Mandatory parameter not supplied', 'operation');
    // ASSUMPTION: Alma also answers explain; the sandbox does not (nothing in the project asks for it).
    if (operation !== 'searchRetrieve') throw new Diagnostic(4, 'Unsupported operation', operation);
    const query = params.get('query');
    if (!query) throw new Diagnostic(7, 'Mandatory parameter not supplied', 'query');
    const schema = params.get('recordSchema') ?? 'marcxml';
    if (schema !== 'marcxml') throw new Diagnostic(66, 'Unknown schema for retrieval', schema);
    const max = Number(params.get('maximumRecords') ?? DEFAULT_RECORDS);
    if (!Number.isInteger(max) || max < 0 || max > SRU_MAX_RECORDS)
      throw new Diagnostic(
        6,
        'Unsupported parameter value',
        `maximumRecords ${params.get('maximumRecords')}`,
      );
    const start = Number(params.get('startRecord') ?? 1);
    if (!Number.isInteger(start) || start < 1)
      throw new Diagnostic(6, 'Unsupported parameter value', `startRecord ${params.get('startRecord')}`);
    const q = parseQuery(query);
    const found = Object.values(inst.bibs)
      .sort((a, b) => a.mmsId.localeCompare(b.mmsId))
      .filter((b) => evaluate(recordFromXml(parseXml(b.recordXml)), q));
    const availability = inst.seed.sru?.availability !== false;
    const page = found.slice(start - 1, start - 1 + max);
    const records = page
      .map((b, i) => {
        const marc = recordToXml(enriched(b, inst, availability)).replace(
          NS_RECORD,
          '<record xmlns="http://www.loc.gov/MARC21/slim">',
        );
        return (
          `<record><recordSchema>marcxml</recordSchema><recordPacking>xml</recordPacking>` +
          `<recordData>${marc}</recordData><recordIdentifier>${b.mmsId}</recordIdentifier>` +
          `<recordPosition>${start + i}</recordPosition></record>`
        );
      })
      .join('');
    const date = new Date(now).toISOString().replace(/\.\d{3}Z$/, '+0000');
    return xmlAnswer(
      `<searchRetrieveResponse xmlns="${SRW}"><version>1.2</version><numberOfRecords>${found.length}</numberOfRecords>` +
        (records ? `<records>${records}</records>` : '<records/>') +
        `<extraResponseData xmlns:xb="http://www.exlibris.com/repository/search/xmlbeans/"><xb:exact>true</xb:exact>` +
        `<xb:responseDate>${date}</xb:responseDate></extraResponseData></searchRetrieveResponse>`,
    );
  } catch (e) {
    if (e instanceof Diagnostic) return diagnosticAnswer(e);
    throw e;
  }
}
