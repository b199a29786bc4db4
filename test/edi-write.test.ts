/** EDIFACT writer: build → write to disk → parse gives back the same values, whatever the text holds. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  VENDOR_STATUSES,
  buildInvoice,
  buildOrderResponse,
  escapeEdifact,
  parseEdifact,
  readInvoices,
  readOrderResponses,
} from '../src/edi';

const dir = mkdtempSync(join(tmpdir(), 'edi-write-'));
let n = 0;
/** Round trip through a real file, as the FTP poller will see it. */
function viaFile(data: Buffer) {
  const path = join(dir, `f${++n}.edi`);
  writeFileSync(path, data);
  return parseEdifact(readFileSync(path), { fileName: path });
}

const TRICKY = "O'Brien + Sons: 50% off? Yes?? 'quoted' ++ :: ?'";
const env = {
  sender: { id: '5013546025078', qualifier: '14' },
  recipient: { id: '5412345000176', qualifier: '14' },
  preparedAt: new Date('2024-05-06T07:08:00Z'),
  controlRef: 'CR0001',
  messageRef: 'MR0001',
};

describe('escaping', () => {
  it('puts the release character before every separator and release character', () => {
    expect(escapeEdifact("a'b+c:d?e.f")).toBe("a?'b?+c?:d??e.f");
    expect(() => escapeEdifact('two\nlines')).toThrow(/control characters/);
  });
});

describe('buildOrderResponse', () => {
  it('writes UNA, UNB (UNOC:3, YYMMDD) … UNT with the right count and UNZ', () => {
    const data = buildOrderResponse({
      ...env,
      documentNumber: 'R1',
      lines: [{ poLine: 'POL-1', status: 'accepted' }],
    });
    const text = data.toString('latin1');
    expect(
      text.startsWith("UNA:+.? 'UNB+UNOC:3+5013546025078:14+5412345000176:14+240506:0708+CR0001++ORDRSP'"),
    ).toBe(true);
    expect(text).toContain("UNH+MR0001+ORDRSP:D:96A:UN:EAN005'BGM+231+R1+4'DTM+137:20240506:102'");
    const segments = text.split("'").filter((s) => s !== '');
    const unt = segments.find((s) => s.startsWith('UNT'))!;
    const count = segments.indexOf(unt) - segments.findIndex((s) => s.startsWith('UNH')) + 1;
    expect(unt).toBe(`UNT+${count}+MR0001`);
    expect(text.endsWith("UNZ+1+CR0001'")).toBe(true);
  });

  it('round-trips every value, including separators and non-Latin-1 text with UNOY', () => {
    const data = buildOrderResponse({
      ...env,
      syntax: 'UNOY',
      lineBreaks: true,
      documentNumber: `R+${TRICKY}`,
      documentType: '231',
      messageFunction: '4',
      date: '2024-05-01',
      currency: 'EUR',
      orderNumber: 'ORD:1',
      supplier: 'SAN?1',
      buyer: "BUY'1",
      lines: [
        {
          lineNo: 7,
          action: '24',
          isbn: '0-262-03384-4',
          ordered: 3,
          despatched: 1,
          backordered: 2,
          expectedDate: '2024-07-31',
          price: { amount: '1234.50', qualifier: 'AAF' },
          availability: 'RP',
          lineStatus: '400',
          freeText: `Réimpression — 再版 ${TRICKY}`,
          poLine: `POL+${TRICKY}`,
          vendorRef: 'OASIS:123?',
        },
      ],
    });
    expect(data.toString('utf8')).toContain('\r\n');
    const file = viaFile(data);
    expect(file.interchanges[0]!.syntax).toEqual({ id: 'UNOY', version: '4' });
    expect(file.interchanges[0]!.preparedAt).toBe('2024-05-06T07:08');
    const [resp] = readOrderResponses(file);
    expect(resp).toMatchObject({
      messageRef: 'MR0001',
      documentNumber: `R+${TRICKY}`,
      date: '2024-05-01',
      currency: 'EUR',
      orderNumber: 'ORD:1',
      supplier: 'SAN?1',
      buyer: "BUY'1",
      declaredLines: 1,
      warnings: [],
    });
    expect(resp!.lines[0]).toEqual({
      lineNo: '7',
      action: '24',
      ean: '9780262033848',
      isbn: '9780262033848',
      ordered: 3,
      despatched: 1,
      backordered: 2,
      expectedDate: '2024-07-31',
      price: { amount: '1234.50', qualifier: 'AAF' },
      availability: 'RP',
      lineStatus: '400',
      freeText: `Réimpression — 再版 ${TRICKY}`,
      references: [
        { qualifier: 'LI', value: `POL+${TRICKY}` },
        { qualifier: 'SLI', value: 'OASIS:123?' },
      ],
      poLine: `POL+${TRICKY}`,
      vendorRef: 'OASIS:123?',
      status: 'backordered',
      statusText: `Backordered: 1 of 3 despatched, 2 of 3 copies, expected 2024-07-31 (reprinting). Vendor note: Réimpression — 再版 ${TRICKY}`,
      segment: expect.any(Number),
    });
  });

  it('maps each VendorStatus to codes that read back as the same status', () => {
    const lines = VENDOR_STATUSES.map((status, i) => ({ status, ordered: 2, poLine: `POL-${i}` }));
    const [resp] = readOrderResponses(viaFile(buildOrderResponse({ ...env, documentNumber: 'S', lines })));
    expect(resp!.lines.map((l) => l.status)).toEqual([...VENDOR_STATUSES]);
    const shipped = resp!.lines.find((l) => l.status === 'shipped')!;
    expect(shipped).toMatchObject({ despatched: 2, lineStatus: '800' });
    const backordered = resp!.lines.find((l) => l.status === 'backordered')!;
    expect(backordered).toMatchObject({ backordered: 2, lineStatus: '400' });
  });

  it('writes Latin-1 bytes for UNOC and refuses characters Latin-1 cannot hold', () => {
    const data = buildOrderResponse({ ...env, documentNumber: 'R', lines: [{ poLine: 'Müller' }] });
    expect(data.includes(Buffer.from([0x4d, 0xfc]))).toBe(true);
    const [resp] = readOrderResponses(viaFile(data));
    expect(resp!.lines[0]!.poLine).toBe('Müller');
    expect(() => buildOrderResponse({ ...env, documentNumber: 'R', lines: [{ freeText: '再版' }] })).toThrow(
      /cannot be written in UNOC \(Latin-1\); use syntax UNOY/,
    );
  });

  it('rejects an invalid ISBN or date instead of writing it', () => {
    expect(() =>
      buildOrderResponse({ ...env, documentNumber: 'R', lines: [{ isbn: '0-262-03384-5' }] }),
    ).toThrow(/not a valid ISBN/);
    expect(() =>
      buildOrderResponse({ ...env, documentNumber: 'R', lines: [{ expectedDate: '31/07/2024' }] }),
    ).toThrow(/not yyyy-mm-dd/);
  });
});

describe('buildInvoice', () => {
  const input = {
    ...env,
    number: `INV-${TRICKY}`,
    date: '2024-05-02',
    currency: 'GBP',
    supplier: '5013546025078',
    charges: [
      { kind: 'charge' as const, code: 'DL', description: "Freight: 'express'", amount: '4.50' },
      { kind: 'allowance' as const, code: 'DI', description: 'Promo', amount: '1.05', percent: '2.5' },
    ],
    lines: [
      {
        isbn: '9780007464593',
        title: `Broken monsters: a novel about ${TRICKY} « Ça » and a very long title that needs more than one IMD segment`,
        author: 'Beukes, Lauren',
        quantity: 2,
        lineAmount: '14.80',
        netUnitPrice: '7.40',
        grossUnitPrice: 12.99,
        discount: '11.18',
        taxRate: '20',
        taxAmount: '2.96',
        poLine: '2724/71178',
        vendorRef: 'OASIS+1',
      },
      { title: 'Zweites Buch Ä ß', quantity: 1, lineAmount: '0.10', taxRate: 0, vendorRef: 'OASIS-2' },
    ],
  };

  it.each(['UNOC', 'UNOY'] as const)(
    'round-trips header, charges, lines and computed totals (%s)',
    (syntax) => {
      // UNOC holds Latin-1 only; UNOY gets text beyond it.
      const second = syntax === 'UNOY' ? '第二本 – Ω' : 'Zweites Buch Ä ß';
      const data = buildInvoice({
        ...input,
        syntax,
        lines: [input.lines[0]!, { ...input.lines[1]!, title: second }],
      });
      const [inv] = readInvoices(viaFile(data));
      expect(inv).toMatchObject({
        number: `INV-${TRICKY}`,
        kind: 'invoice',
        date: '2024-05-02',
        currency: 'GBP',
        supplier: '5013546025078',
        declaredLines: 2,
        warnings: [],
      });
      expect(inv!.charges).toEqual([
        {
          level: 'header',
          kind: 'charge',
          code: 'DL',
          description: "Freight: 'express'",
          amount: '4.50',
          segment: expect.any(Number),
        },
        {
          level: 'header',
          kind: 'allowance',
          code: 'DI',
          description: 'Promo',
          amount: '1.05',
          percent: '2.5',
          segment: expect.any(Number),
        },
      ]);
      expect(inv!.lines[0]).toEqual({
        lineNo: '1',
        ean: '9780007464593',
        isbn: '9780007464593',
        title: input.lines[0]!.title,
        author: 'Beukes, Lauren',
        quantity: 2,
        lineAmount: '14.80',
        lineAmounts: [{ amount: '14.80' }],
        netUnitPrice: '7.40',
        grossUnitPrice: '12.99',
        prices: [
          { qualifier: 'AAA', amount: '7.40' },
          { qualifier: 'AAB', amount: '12.99' },
        ],
        discount: '11.18',
        taxRate: '20',
        taxCategory: 'S',
        taxAmount: '2.96',
        references: [
          { qualifier: 'LI', value: '2724/71178' },
          { qualifier: 'SLI', value: 'OASIS+1' },
        ],
        poLine: '2724/71178',
        vendorRef: 'OASIS+1',
        charges: [
          {
            level: 'line',
            kind: 'tax',
            code: 'VAT',
            percent: '20',
            description: '20% (S)',
            amount: '2.96',
            line: '1',
            segment: expect.any(Number),
          },
        ],
        segment: expect.any(Number),
      });
      expect(inv!.lines[1]).toMatchObject({ title: second, taxRate: '0', taxCategory: 'Z' });
      // 14.80 + 0.10 lines, + 2.96 tax, + 4.50 freight − 1.05 promo = 21.31, exactly.
      expect(inv!.totals).toEqual({ '79': '14.90', '176': '2.96', '86': '21.31', '9': '21.31' });
      expect(inv!.reconciliation).toMatchObject({ stated: '21.31', computed: '21.31', ok: true });
    },
  );

  it('writes amounts with a comma decimal mark when asked, and reads them back with "."', () => {
    const data = buildInvoice({ ...input, decimalMark: ',', totals: { due: '99.99' }, syntax: 'UNOY' });
    const text = data.toString('utf8');
    expect(text.startsWith("UNA:+,? '")).toBe(true);
    expect(text).toContain('MOA+203:14,80');
    const [inv] = readInvoices(viaFile(data));
    expect(inv!.lines[0]!.lineAmount).toBe('14.80');
    expect(inv!.totals['9']).toBe('99.99');
    expect(inv!.totals['86']).toBe('21.31');
    // The amount due no longer matches what the invoice adds up to: said, not hidden.
    expect(inv!.reconciliation).toMatchObject({ stated: '99.99', computed: '21.31', ok: false });
  });

  it('rejects amounts that are not decimals', () => {
    expect(() => buildInvoice({ ...input, lines: [{ quantity: 1, lineAmount: '1,5' }] })).toThrow(
      /not a decimal/,
    );
  });
});
