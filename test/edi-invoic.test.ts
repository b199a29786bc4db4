/** INVOIC semantics: the Koha/BLS invoice, header charges, credit notes, decimal marks and bad amounts. */
import { fixturePath } from './harness/fixtures';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EdifactError, buildInvoice, parseEdifact, readInvoices, readOrderResponses } from '../src/edi';

const FIXTURES = fixturePath('edi');

function invoiceText(body: string[], una = "UNA:+.? '"): Buffer {
  const segs = ['UNB+UNOC:3+S+R+240102:0930+R1', 'UNH+I1+INVOIC:D:96A:UN:EAN008', ...body];
  segs.push(`UNT+${body.length + 2}+I1`, 'UNZ+1+R1');
  const t = una ? una[8]! : "'";
  return Buffer.from(una + segs.join(t) + t, 'latin1');
}

describe('koha-blsinv-msg1.CEI', () => {
  const file = parseEdifact(readFileSync(join(FIXTURES, 'koha-blsinv-msg1.CEI')), { fileName: 'blsinv.CEI' });
  const [inv, ...rest] = readInvoices(file);

  it('reads the header: number, kind, date, currency', () => {
    expect(rest).toHaveLength(0);
    expect(inv).toMatchObject({
      messageRef: '01975489',
      number: '01975489',
      kind: 'invoice',
      date: '2014-07-29',
      currency: 'GBP',
      supplier: '5013546025078',
      buyer: '5013546121974',
      declaredLines: 1,
      warnings: [],
    });
    expect(readOrderResponses(file)).toEqual([]);
  });

  it('reads the one line with its amounts as exact decimal strings', () => {
    expect(inv!.lines).toHaveLength(1);
    expect(inv!.lines[0]).toEqual({
      lineNo: '1',
      ean: '9780007464593',
      isbn: '9780007464593',
      title: 'Broken monsters',
      author: 'Beukes, Lauren',
      quantity: 1,
      lineAmount: '7.4',
      lineAmounts: [{ amount: '7.4' }],
      discount: '5.59',
      netUnitPrice: '7.4',
      grossUnitPrice: '12.99',
      prices: [
        { qualifier: 'AAA', amount: '7.4' },
        { qualifier: 'AAB', amount: '12.99' },
      ],
      references: [{ qualifier: 'LI', value: '2724/71178' }],
      poLine: '2724/71178',
      taxRate: '0',
      taxCategory: 'Z',
      taxAmount: '0',
      charges: [
        {
          level: 'line',
          kind: 'allowance',
          code: 'DI',
          percent: '43',
          amount: '5.59',
          line: '1',
          segment: 23,
        },
        {
          level: 'line',
          kind: 'tax',
          code: 'VAT',
          percent: '0',
          description: '0% (Z)',
          amount: '0',
          line: '1',
          segment: 21,
        },
      ],
      segment: 11,
    });
  });

  it('keeps the 43% discount allowance with its line (it comes after LIN), not as an invoice-level charge', () => {
    // The ALC sits inside the line group, and MOA+203 7.4 = 12.99 − 5.59 already: counting it again at
    // invoice level would make the invoice 5.59 short.
    expect(inv!.charges.filter((c) => c.kind !== 'tax')).toEqual([]);
    expect(inv!.totals).toEqual({ '129': '7.4', '9': '7.4', '125': '7.4', '124': '0' });
    expect(inv!.reconciliation).toEqual({
      stated: '7.4',
      statedQualifier: '9',
      computed: '7.4',
      difference: '0.0',
      ok: true,
      explanation: 'MOA+9 7.4 agrees with lines 7.4, tax 0',
    });
  });
});

describe('invoice-level charges, totals and kinds', () => {
  it('reads header ALC groups with MOA+8 and PCD, and the summary totals', () => {
    const data = invoiceText([
      'BGM+381+CN-9+9',
      'DTM+137:20240105:102',
      'CUX+2:EUR:4',
      'ALC+C++++DL::28:Freight',
      'MOA+8:4.50',
      'ALC+A++++DI::28:Loyalty:discount',
      'PCD+3:2.5',
      'MOA+204:1.25',
      'LIN+1++9780262033848:EN',
      'QTY+47:2',
      'MOA+203:20.00',
      'RFF+SLI:OASIS-77',
      'TAX+7+VAT+++:::7+S',
      'MOA+124:1.40',
      'UNS+S',
      'CNT+2:1',
      'MOA+79:20.00',
      'MOA+124:1.40',
      'MOA+124:0.60',
      'MOA+86:25.25',
      'MOA+9:25.25',
    ]);
    const [inv] = readInvoices(parseEdifact(data));
    expect(inv!.kind).toBe('credit-note');
    expect(inv!.currency).toBe('EUR');
    expect(inv!.charges.filter((c) => c.level === 'header')).toEqual([
      { level: 'header', kind: 'charge', code: 'DL', description: 'Freight', amount: '4.50', segment: 6 },
      {
        level: 'header',
        kind: 'allowance',
        code: 'DI',
        description: 'Loyalty discount',
        percent: '2.5',
        amount: '1.25',
        segment: 8,
      },
    ]);
    expect(inv!.lines[0]).toMatchObject({
      isbn: '9780262033848',
      quantity: 2,
      lineAmount: '20.00',
      vendorRef: 'OASIS-77',
      taxRate: '7',
      taxCategory: 'S',
      taxAmount: '1.40',
    });
    expect(inv!.lines[0]!.poLine).toBeUndefined();
    // Summary MOA amounts by qualifier; without MOA+176 the tax is the exact sum of the summary's MOA+124.
    expect(inv!.totals).toEqual({ '79': '20.00', '124': '2.00', '86': '25.25', '9': '25.25' });
    // 20.00 lines + 4.50 freight − 1.25 discount + 2.00 tax (the summary's, not the line's 1.40) = 25.25.
    expect(inv!.reconciliation).toMatchObject({ stated: '25.25', computed: '25.25', ok: true });
  });

  it('normalises a comma decimal mark from UNA to "."', () => {
    const data = invoiceText(
      [
        'BGM+380+7+9',
        'DTM+137:20240105:102',
        'LIN+1',
        'QTY+47:1',
        'MOA+203:1234,5',
        'PRI+AAA:,99',
        'RFF+LI:PO-1',
        'UNS+S',
        'MOA+9:-0,10',
      ],
      "UNA:+,? '",
    );
    const [inv] = readInvoices(parseEdifact(data));
    expect(inv!.lines[0]).toMatchObject({ lineAmount: '1234.5', netUnitPrice: '0.99' });
    expect(inv!.totals['9']).toBe('-0.10');
  });

  it('reports a debit note, a missing date and a line without order reference', () => {
    const [inv] = readInvoices(parseEdifact(invoiceText(['BGM+383+D-1+9', 'LIN+1', 'QTY+47:1', 'UNS+S'])));
    expect(inv!.kind).toBe('debit-note');
    expect(inv!.warnings).toEqual([
      'no invoice date (DTM+137), which Alma requires',
      'line 1 (segment 4): no order line reference (RFF or PIA+1 …:SA)',
      'nothing to reconcile against: no total stated; computed 0 from lines 0',
    ]);
  });
});

describe('money is never guessed', () => {
  const reject = (body: string[]): EdifactError => {
    try {
      readInvoices(parseEdifact(invoiceText(body), { fileName: 'bad.CEI' }));
    } catch (e) {
      if (e instanceof EdifactError) return e;
      throw e;
    }
    throw new Error('expected an EdifactError');
  };

  it('a bad amount names the segment', () => {
    const err = reject(['BGM+380+7+9', 'LIN+1', 'QTY+47:1', 'MOA+203:7.4O', 'UNS+S']);
    expect(err.message).toBe('bad.CEI: segment 6 (MOA) of message I1: MOA+203 amount "7.4O" is not a number');
  });

  it('a huge bad amount, quantity or document code is clipped in the message', () => {
    const huge = '9'.repeat(1_000_000) + 'O';
    const amount = reject(['BGM+380+7+9', 'LIN+1', 'QTY+47:1', `MOA+203${huge}:${huge}`, 'UNS+S']);
    expect(amount.message).toMatch(/MOA\+2039{67}… amount "9{70}…" is not a number$/);
    const qty = reject(['BGM+380+7+9', 'LIN+1', `QTY+47:${huge}`, 'UNS+S']);
    expect(qty.message).toMatch(/invoiced quantity "9{70}…" is not a whole number/);
    const bgm = reject([`BGM+${huge}+7+9`, 'UNS+S']);
    expect(bgm.message).toMatch(/BGM document code 9{70}… is not an invoice/);
    for (const e of [amount, qty, bgm]) expect(e.message.length).toBeLessThan(1024);
  });

  it('a line without QTY+47', () => {
    const err = reject(['BGM+380+7+9', 'LIN+1', 'MOA+203:7.4', 'UNS+S']);
    expect(err.message).toContain(
      'segment 4 (LIN) of message I1: invoice line 1 has no invoiced quantity (QTY+47)',
    );
  });

  it('an invoice-level charge without amount', () => {
    expect(reject(['BGM+380+7+9', 'ALC+C++++DL', 'UNS+S']).message).toContain(
      'segment 4 (ALC) of message I1: invoice-level charge without an amount (MOA+8) or percentage',
    );
  });

  it('a document code that is not an invoice', () => {
    expect(reject(['BGM+231+7+9', 'UNS+S']).message).toContain(
      'BGM document code 231 is not an invoice (380), credit note (381) or debit note (383)',
    );
  });
});

describe('credit notes', () => {
  it('keep amounts as written and expose kind so callers can negate', () => {
    const data = buildInvoice({
      sender: 'V',
      recipient: 'L',
      number: 'CR-1',
      kind: 'credit-note',
      date: '2024-02-01',
      lines: [{ quantity: 1, lineAmount: '12.99', poLine: 'POL-1' }],
    });
    const [inv] = readInvoices(parseEdifact(data));
    expect(inv!.kind).toBe('credit-note');
    expect(inv!.lines[0]!.lineAmount).toBe('12.99');
    expect(inv!.totals).toEqual({ '79': '12.99', '86': '12.99', '9': '12.99' });
  });
});
