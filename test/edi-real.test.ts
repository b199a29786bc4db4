/**
 * Every real EDI file we have (test/fixtures/edi/real: Koha and Evergreen test data, vendors' own files among
 * them) through the tolerant reader, checked against what the issue asks:
 * - every INVOIC invoice whose vendor states a total reconciles, or its difference is explained in a warning;
 * - no file loses a message to another's fault: each UNH is either read or reported for its own problem;
 * - every line carrying RFF+LI/SLI/ON/SNA/SNL or PIA+1 …:SA has it in `references` (found here independently,
 *   by splitting the text on its terminator).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { readEdiDocuments, type EdiDocument } from '../src/edi/document';
import { ediReadJson } from '../src/edi/read-json';
import { fixturePath } from './harness/fixtures';

const ROOT = fixturePath('edi', 'real');
const FILES = ['evergreen', 'koha'].flatMap((d) =>
  readdirSync(path.join(ROOT, d)).map((f) => path.join(d, f)),
);

function documents(rel: string): EdiDocument[] {
  return [...readEdiDocuments(readFileSync(path.join(ROOT, rel)), { fileName: path.basename(rel) })];
}

/** The file's segments, split naively on its terminator (UNA's sixth character, or "'"). */
function rawSegments(rel: string): string[] {
  const text = readFileSync(path.join(ROOT, rel), 'latin1');
  const una = text.startsWith('UNA') ? text.slice(3, 9) : undefined;
  // A 5-character UNA (the Evergreen ASN) ends at its fifth character.
  const term = una === undefined ? "'" : una[5] === '\n' && una[4] === "'" ? "'" : una[5]!;
  return text
    .split(term)
    .map((s) => s.replace(/^[\r\n]+/, ''))
    .filter((s) => s !== '');
}

/** The references of each LIN group, by line number, from the raw text. */
function rawReferences(rel: string): Map<string, { qualifier: string; value: string }[]>[] {
  const messages: Map<string, { qualifier: string; value: string }[]>[] = [];
  let current: Map<string, { qualifier: string; value: string }[]> | undefined;
  let line: string | undefined;
  let inSummary = false;
  for (const seg of rawSegments(rel)) {
    const [tag, ...els] = seg.split('+');
    if (tag === 'UNH') {
      current = new Map();
      messages.push(current);
      line = undefined;
      inSummary = false;
    } else if (tag === 'UNS') inSummary = true;
    else if (tag === 'LIN' && current && !inSummary) {
      line = els[0] ?? '';
      current.set(line, []);
    } else if (line !== undefined && current && !inSummary) {
      if (tag === 'RFF') {
        const [q, v] = (els[0] ?? '').split(':');
        if (q && v) current.get(line)!.push({ qualifier: q, value: v });
      } else if (tag === 'PIA' && els[0] === '1') {
        for (const el of els.slice(1)) {
          const [v, code] = el.split(':');
          if (code === 'SA' && v) current.get(line)!.push({ qualifier: 'SA', value: v });
        }
      } else if (tag === 'ALC') line = undefined;
    }
  }
  return messages;
}

const REFERENCE_QUALIFIERS = new Set(['LI', 'SLI', 'ON', 'SNA', 'SNL', 'SA']);

/** Messages each file cannot give, and why: their own bytes, never another message's. */
const OWN_FAULT: Record<string, RegExp> = {
  'koha/ordrsp3.CEA': /typographic apostrophe/,
  'koha/ordrsp4.CEA': /typographic apostrophe/,
};

let checkedFiles = 0;
let checkedReferences = 0;
afterAll(() => {
  // The check above is not empty: the real files carry over 300 line references.
  if (checkedFiles === FILES.length) expect(checkedReferences).toBeGreaterThan(300);
});

describe.each(FILES)('%s', (rel) => {
  const docs = documents(rel);

  it('is EDIFACT, and loses no message to another', () => {
    expect(docs.some((d) => d.kind === 'not-edifact')).toBe(false);
    const unh = rawSegments(rel).filter((s) => s.startsWith('UNH+')).length;
    const messages = docs.filter((d) =>
      ['invoice', 'order-response', 'other', 'unreadable'].includes(d.kind),
    );
    expect(messages).toHaveLength(unh);
    const unreadable = docs.filter((d) => d.kind === 'unreadable');
    if (OWN_FAULT[rel]) {
      expect(unreadable).toHaveLength(1);
      expect(unreadable[0]).toMatchObject({ problem: expect.stringMatching(OWN_FAULT[rel]) });
    } else expect(unreadable).toEqual([]);
    expect(docs.filter((d) => d.kind === 'problem')).toEqual([]);
  });

  it('reconciles every invoice that states a total, or says why not', () => {
    for (const d of docs) {
      if (d.kind !== 'invoice') continue;
      const r = d.invoice.reconciliation;
      if (r.stated === undefined) continue;
      if (!r.ok)
        expect(d.invoice.warnings).toContainEqual(
          expect.stringMatching(/^the invoice does not add up: .*difference/),
        );
    }
  });

  it('keeps every reference a line carries', () => {
    checkedFiles++;
    const raw = rawReferences(rel);
    const read = docs.filter((d) => d.kind === 'invoice' || d.kind === 'order-response');
    let i = 0;
    for (const d of docs) {
      if (!['invoice', 'order-response', 'other', 'unreadable'].includes(d.kind)) continue;
      const expected = raw[i++];
      if (d.kind !== 'invoice' && d.kind !== 'order-response') continue;
      const lines = d.kind === 'invoice' ? d.invoice.lines : d.response.lines;
      for (const l of lines) {
        const want = (expected?.get(l.lineNo) ?? []).filter((r) => REFERENCE_QUALIFIERS.has(r.qualifier));
        for (const ref of want) expect(l.references).toContainEqual(ref);
        checkedReferences += want.length;
      }
    }
    expect(read.length).toBeLessThanOrEqual(raw.length);
  });
});

describe('what the real invoices come to', () => {
  const reconciled = (rel: string) =>
    documents(rel)
      .filter((d): d is Extract<EdiDocument, { kind: 'invoice' }> => d.kind === 'invoice')
      .map((d) => [d.invoice.number, d.invoice.reconciliation.stated, d.invoice.reconciliation.ok]);

  it("Brodart's summary C&P charges (MOA+8 after UNS) are counted: 36.06 + 6.6 = 42.66", () => {
    expect(reconciled('evergreen/brodart__1130B766274.inv')).toEqual([
      ['B766274', '42.66', true],
      ['B766275', '23.79', true],
      ['B766276', '18.02', true],
      ['B766277', '53.26', true],
      ['B766278', '13.22', true],
      ['B766279', '104.17', true],
    ]);
    expect(reconciled('evergreen/brodart__round_01__evergreen-0323B668342.inv')).toEqual([
      ['B668342', '683.92', true],
    ]);
  });

  it("Baker & Taylor's DL, CA (as MOA+131) and TX summary charges are counted", () => {
    expect(reconciled('evergreen/14-OpenILS-Utils.t__edi_invoice.edi')).toEqual([
      ['5TST084026', '66.18', true],
      ['5TST084027', '25.03', true],
    ]);
  });

  it('BLS: the line discounts (ALC after LIN) are already in the line amounts; every invoice reconciles', () => {
    const r = reconciled('koha/BLSINV337023.CEI');
    expect(r).toHaveLength(6);
    expect(r.every(([, , ok]) => ok)).toBe(true);
  });

  it('the generic edidev sample does not add up, and says by how much', () => {
    const [d] = documents('evergreen/edidev.net__edidev.net.invoice');
    if (d?.kind !== 'invoice') throw new Error('expected an invoice');
    expect(d.invoice.reconciliation).toMatchObject({ stated: '5091.90', statedQualifier: '77', ok: false });
    expect(d.invoice.warnings.join('\n')).toContain('lines 1, 2 without an amount: quantity × unit price');
    expect(d.invoice.reconciliation.difference).toBe('-448.28');
  });

  it('as `rto edi read --json` shows them: amounts as decimal strings, charges by level', () => {
    const { read, unreadable, notEdifact } = ediReadJson(
      'brodart__1130B766274.inv',
      'x',
      documents('evergreen/brodart__1130B766274.inv'),
    );
    expect({ unreadable, notEdifact }).toEqual({ unreadable: 0, notEdifact: false });
    expect(read.messages[0]).toEqual({
      type: 'INVOIC',
      number: 'B766274',
      kind: 'invoice',
      date: '2009-11-28',
      currency: 'USD',
      lines: [
        {
          line: '1',
          references: [{ qualifier: 'LI', value: '16600/29' }],
          isbn: '9781741047622',
          quantity: 2,
          unitPrice: '21.99',
          amount: '36.06',
          currency: 'USD',
          status: null,
          statusText: null,
        },
      ],
      charges: [{ level: 'summary', kind: 'charge', amount: '6.6', currency: 'USD', description: 'C&P' }],
      totals: { '86': '42.66' },
      reconciliation: { stated: '42.66', computed: '42.66', difference: '0.00', ok: true },
      warnings: [],
      problems: [],
    });
  });
});

describe('what the real order responses say', () => {
  it('Baker & Taylor: numeric 8B/7B codes are quoted, the quantities decide; QTY+85 is read', () => {
    const docs = documents('evergreen/BakerAndTaylor__edifact_sample.ordrsp.edi');
    const lines = docs.flatMap((d) => (d.kind === 'order-response' ? d.response.lines : []));
    expect(lines.length).toBeGreaterThan(50);
    const first = lines[0]!;
    expect(first).toMatchObject({
      ordered: 4,
      despatched: 4,
      cancelled: 0,
      availability: '01',
      status: 'shipped',
    });
    expect(first.statusText).toBe('Shipped: 4 copies despatched (availability code 01)');
    const backordered = lines.find((l) => l.backordered)!;
    expect(backordered.status).toBe('backordered');
    expect(lines.filter((l) => l.status === 'unknown')).toEqual([]);
  });

  it('Brodart: 8B IB (in stock) and NK are in the list; lines with a backorder stay backordered', () => {
    const docs = documents('evergreen/brodart__round_01__evergreen-6.ack');
    const lines = docs.flatMap((d) => (d.kind === 'order-response' ? d.response.lines : []));
    expect(lines[0]).toMatchObject({ availability: 'NK', backordered: 4, status: 'backordered' });
    expect(lines[0]!.statusText).toContain('not known to the vendor');
    const ack = documents('evergreen/brodart__HOGJ-037.ack').flatMap((d) =>
      d.kind === 'order-response' ? d.response.lines : [],
    );
    const ib = ack.find((l) => l.availability === 'IB')!;
    expect(ib.statusText).toBe('Shipped: 1 copy despatched (in stock)');
  });
});
