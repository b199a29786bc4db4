/**
 * The tolerant reader on what the real files lack (made up here, each a small variation of what vendors send):
 * one bad message among good ones, envelope counts that are off, two currencies on a line, a tax rate in
 * words, the PRI/MOA price qualifiers, QTY+85, 6-digit dates, summary charges that restate line charges,
 * the 12B/8B code lists, chunk boundaries anywhere, and files that are not EDIFACT at all.
 */
import { readEdifact, type EdifactItem } from '../src/edi/edifact';
import { readEdiDocuments, type EdiDocument } from '../src/edi/document';
import { deriveStatus } from '../src/edi';

const UNA = "UNA:+.? '";

/** An interchange of messages, each given as its body (UNH and UNT are added, counted right unless told). */
function interchange(
  messages: { type?: string; ref?: string; body: string[]; count?: number }[],
  ref = 'IC1',
): string {
  const segs = ['UNB+UNOC:3+SENDER:14+LIB:14+240102:0930+' + ref];
  messages.forEach((m, i) => {
    const mref = m.ref ?? `M${i + 1}`;
    segs.push(`UNH+${mref}+${m.type ?? 'INVOIC'}:D:96A:UN:EAN008`, ...m.body);
    segs.push(`UNT+${m.count ?? m.body.length + 2}+${mref}`);
  });
  segs.push(`UNZ+${messages.length}+${ref}`);
  return segs.join("'") + "'";
}

const invoice = (number: string, lines: string[][], summary: string[] = []): string[] => [
  `BGM+380+${number}+9`,
  'DTM+137:20240105:102',
  'CUX+2:GBP:4',
  ...lines.flat(),
  'UNS+S',
  ...summary,
];

const line = (n: number, amount: string, ref = `POL-${n}`): string[] => [
  `LIN+${n}++9780262033848:EN`,
  'QTY+47:1',
  `MOA+203:${amount}`,
  `RFF+LI:${ref}`,
];

function docs(text: string | Buffer): EdiDocument[] {
  return [
    ...readEdiDocuments(Buffer.isBuffer(text) ? text : Buffer.from(text, 'latin1'), { fileName: 't.edi' }),
  ];
}

const invoices = (d: EdiDocument[]) => d.flatMap((x) => (x.kind === 'invoice' ? [x.invoice] : []));

describe('each message on its own', () => {
  it('a line without QTY+47 loses its own invoice only, with the place', () => {
    const text =
      UNA +
      interchange([
        { body: invoice('A', [line(1, '10.00')], ['MOA+9:10.00']) },
        { body: invoice('B', [['LIN+1', 'MOA+203:5.00', 'RFF+LI:POL-9']], ['MOA+9:5.00']) },
        { body: invoice('C', [line(1, '7.00')], ['MOA+9:7.00']) },
      ]);
    const d = docs(text);
    expect(invoices(d).map((i) => i.number)).toEqual(['A', 'C']);
    const bad = d.find((x) => x.kind === 'unreadable');
    expect(bad).toEqual({
      kind: 'unreadable',
      type: 'INVOIC',
      ref: 'M2',
      number: 'B',
      problem: 't.edi: segment 17 (LIN) of message M2: invoice line 1 has no invoiced quantity (QTY+47)',
      reason: 'invoice line 1 has no invoiced quantity (QTY+47)',
      place: { segment: 17, tag: 'LIN', message: 'M2' },
    });
  });

  it('a BGM outside 380/381/383 loses its own message only', () => {
    const d = docs(
      UNA + interchange([{ body: ['BGM+231+X+9', 'UNS+S'] }, { body: invoice('OK', [line(1, '1')]) }]),
    );
    expect(invoices(d).map((i) => i.number)).toEqual(['OK']);
    expect(d.find((x) => x.kind === 'unreadable')).toMatchObject({
      problem: expect.stringContaining('BGM document code 231 is not an invoice'),
    });
  });

  it('envelope counts that are off are warnings, the messages are read', () => {
    const text = (UNA + interchange([{ body: invoice('A', [line(1, '1')]), count: 99 }])).replace(
      'UNZ+1+IC1',
      'UNZ+3+IC9',
    );
    const d = docs(text);
    expect(invoices(d)).toHaveLength(1);
    const msg = d.find((x) => x.kind === 'invoice')!;
    expect(msg.kind === 'invoice' && msg.warnings).toEqual([
      expect.stringContaining('segment count says 99 but the message has 10 segments'),
    ]);
    expect(d.filter((x) => x.kind === 'warning').map((x) => (x.kind === 'warning' ? x.text : ''))).toEqual([
      expect.stringContaining(
        'messages count says 3 but there are 1; UNZ reference IC9 does not match UNB reference IC1',
      ),
    ]);
  });

  it('a missing UNT loses that message; the next UNH starts the next one', () => {
    const text =
      UNA + interchange([{ body: invoice('A', [line(1, '1')]) }, { body: invoice('B', [line(1, '2')]) }]);
    const d = docs(text.replace("UNT+10+M1'", ''));
    expect(invoices(d).map((i) => i.number)).toEqual(['B']);
    expect(d.find((x) => x.kind === 'unreadable')).toMatchObject({
      ref: 'M1',
      problem: expect.stringContaining('UNH while message M1 is still open: missing UNT'),
    });
  });

  it('a truncated file keeps the messages before the cut', () => {
    const text =
      UNA + interchange([{ body: invoice('A', [line(1, '1')]) }, { body: invoice('B', [line(1, '2')]) }]);
    const d = docs(text.slice(0, text.indexOf('LIN+1', text.indexOf('BGM+380+B'))));
    expect(invoices(d).map((i) => i.number)).toEqual(['A']);
    expect(d.filter((x) => x.kind === 'unreadable')).toHaveLength(1);
    expect(d.find((x) => x.kind === 'unreadable')).toMatchObject({
      problem: expect.stringContaining('truncated'),
    });
  });

  it('an interchange whose charset is unknown (UNB syntax "constructor") is reported; the next is read', () => {
    const bad = interchange([{ body: invoice('A', [line(1, '1')]) }]).replace('UNOC:3', 'constructor:3');
    const good = interchange([{ body: invoice('B', [line(1, '2')]) }], 'IC2');
    const d = docs(bad + good);
    expect(invoices(d).map((i) => i.number)).toEqual(['B']);
    expect(d.find((x) => x.kind === 'problem')).toMatchObject({
      problem: expect.stringContaining('unsupported syntax identifier "constructor"'),
    });
    expect(d.find((x) => x.kind === 'problem')!).toMatchObject({
      problem: expect.stringContaining('its 1 message could not be read'),
    });
  });

  it('a message larger than the limit is reported, not read; memory stays bounded', () => {
    const big = invoice(
      'BIG',
      Array.from({ length: 400 }, (_, i) => line(i + 1, '1.00')),
    );
    const text = UNA + interchange([{ body: big }, { body: invoice('SMALL', [line(1, '1')]) }]);
    const d = [...readEdiDocuments(Buffer.from(text, 'latin1'), { maxMessageBytes: 4096 })];
    expect(invoices(d).map((i) => i.number)).toEqual(['SMALL']);
    expect(d.find((x) => x.kind === 'unreadable')).toMatchObject({
      problem: expect.stringContaining('is larger than 4096 bytes'),
    });
  });

  it('a segment of megabytes without a terminator is reported, and reading goes on after it', () => {
    const huge = 'FTX+LIN+++' + 'X'.repeat(3 * 1024 * 1024);
    const text =
      UNA +
      interchange([{ body: invoice('A', [line(1, '1')]) }]) +
      huge +
      "'" +
      interchange([{ body: invoice('B', [line(1, '2')]) }], 'IC2');
    const d = docs(text);
    expect(invoices(d).map((i) => i.number)).toEqual(['A', 'B']);
    const p = d.find((x) => x.kind === 'problem');
    expect(p && p.kind === 'problem' && p.problem.length).toBeLessThan(1024);
  });

  it('files that are not EDIFACT', () => {
    expect(docs('00714cam a2200205 a 4500')).toEqual([
      { kind: 'not-edifact', problem: expect.stringContaining('does not begin with UNA, UNB or UNH') },
    ]);
    expect(docs('')).toEqual([{ kind: 'not-edifact', problem: expect.stringContaining('no interchange') }]);
  });
});

describe('chunk boundaries', () => {
  it('reading in chunks of any size gives what reading the whole buffer gives', () => {
    const text = Buffer.from(
      "UNA:+.? '" +
        interchange([
          { body: invoice('A?+B', [line(1, '10.00', "P?'O?:1"), line(2, '2.50')], ['MOA+9:12.50']) },
          { type: 'ORDRSP', body: ['BGM+231+R1+4', 'LIN+1+5', 'QTY+21:1', 'RFF+LI:POL-1', 'UNS+S'] },
        ]),
      'latin1',
    );
    const strip = (items: EdifactItem[]) =>
      items.map((i) => (i.kind === 'message' ? { ...i, interchange: undefined, group: undefined } : i));
    const whole = strip([...readEdifact(text)]);
    for (const size of [1, 2, 3, 7, 64]) {
      let at = 0;
      const source = (into: Buffer, offset: number, length: number) => {
        const n = Math.min(size, length, text.length - at);
        text.copy(into, offset, at, at + n);
        at += n;
        return n;
      };
      expect(strip([...readEdifact(source)])).toEqual(whole);
    }
    const inv = invoices(docs(text))[0]!;
    expect(inv.number).toBe('A+B');
    expect(inv.lines[0]!.references).toEqual([{ qualifier: 'LI', value: "P'O:1" }]);
  });
});

describe('what vendors send', () => {
  it('two currencies on one line (CUX reference EUR, invoicing USD): amounts kept per currency', () => {
    const body = [
      'BGM+380+FX-1+9',
      'DTM+137:20240105:102',
      'CUX+2:EUR:4A+3:USD:4+1.2418',
      'LIN+1++9780262033848:EN',
      'QTY+47:1',
      'MOA+203:435:EUR:4A',
      'MOA+203:540.17:USD:4',
      'RFF+LI:POL-1',
      'UNS+S',
      'MOA+39:435:EUR:4A',
      'MOA+39:540.17:USD:4',
    ];
    const [inv] = invoices(docs(UNA + interchange([{ body }])));
    expect(inv!.currency).toBe('USD');
    expect(inv!.currencies).toEqual({ reference: 'EUR', target: 'USD', rate: '1.2418' });
    expect(inv!.lines[0]).toMatchObject({
      lineAmount: '540.17',
      lineAmounts: [
        { amount: '435', currency: 'EUR' },
        { amount: '540.17', currency: 'USD' },
      ],
    });
    expect(inv!.totals).toEqual({ '39': '540.17' });
    expect(inv!.reconciliation).toMatchObject({ stated: '540.17', computed: '540.17', ok: true });
  });

  it('a tax rate given as text keeps the invoice', () => {
    const body = invoice(
      'IT-1',
      [[...line(1, '20.00'), 'TAX+7+VAT+++:::Non imponib.art.8+E', 'MOA+124:0']],
      ['MOA+9:20.00'],
    );
    const [inv] = invoices(docs(UNA + interchange([{ body }])));
    expect(inv!.lines[0]).toMatchObject({ taxText: 'Non imponib.art.8', taxCategory: 'E', taxAmount: '0' });
    expect(inv!.lines[0]!.taxRate).toBeUndefined();
    expect(inv!.reconciliation.ok).toBe(true);
  });

  it('PRI INV, CAL, AAF, AAE and MOA+146: the net and list prices chosen by qualifier and price type', () => {
    const body = invoice(
      'P-1',
      [
        [
          'LIN+1',
          'QTY+47:2',
          'MOA+146:25.00:GBP',
          'PRI+AAE:30.00',
          'PRI+CAL:18.00',
          'MOA+203:36.00',
          'RFF+LI:POL-1',
        ],
        [
          'LIN+2',
          'QTY+47:1',
          'PRI+INV:21.99:CA:RTP',
          'PRI+AAF:18.03:DI:NTP',
          'MOA+203:18.03',
          'RFF+LI:POL-2',
        ],
      ],
      ['MOA+77:54.03'],
    );
    const [inv] = invoices(docs(UNA + interchange([{ body }])));
    expect(inv!.lines.map((l) => [l.netUnitPrice, l.grossUnitPrice])).toEqual([
      ['18.00', '30.00'],
      ['18.03', '21.99'],
    ]);
    expect(inv!.lines[0]!.prices).toContainEqual({ qualifier: 'MOA146', amount: '25.00', currency: 'GBP' });
    expect(inv!.reconciliation).toMatchObject({ statedQualifier: '77', ok: true });
  });

  it('QTY+85 and 6-digit dates under format 102', () => {
    const body = [
      'BGM+231+R1+4',
      'DTM+137:240105:102',
      'LIN+1+5',
      'QTY+21:3',
      'QTY+85:3',
      'RFF+SLI:OAS-1',
      'UNS+S',
    ];
    const d = docs(UNA + interchange([{ type: 'ORDRSP', body }]));
    const resp = d.find((x) => x.kind === 'order-response');
    if (resp?.kind !== 'order-response') throw new Error('expected an order response');
    expect(resp.response.date).toBe('2024-01-05');
    expect(resp.response.warnings).toContain(
      'date "240105" has 6 digits under format 102 (CCYYMMDD): read as YYMMDD',
    );
    expect(resp.response.lines[0]).toMatchObject({ cancelled: 3, status: 'cancelled' });
    expect(resp.response.lines[0]!.statusText).toBe('Cancelled by the vendor: 3 cancelled');
  });

  it('a 5-character UNA', () => {
    const d = docs("UNA:+.?'\n" + interchange([{ body: invoice('A', [line(1, '1')]) }]).replace(/'/g, "'\n"));
    expect(invoices(d).map((i) => i.number)).toEqual(['A']);
    expect(d.find((x) => x.kind === 'warning')).toMatchObject({
      text: expect.stringContaining('UNA has 5 characters'),
    });
  });

  it('every reference: RFF+LI, SLI, ON, SNA, SNL and PIA+1 …:SA', () => {
    const body = invoice('R', [
      [
        'LIN+1',
        'PIA+1+OAS-77:SA+9780262033848:IB',
        'QTY+47:1',
        'MOA+203:1',
        'RFF+SNA:S-1',
        'RFF+SNL:S-2',
        'RFF+ON:PO-9',
        'RFF+LI:POL-1',
        'RFF+SLI:OAS-1',
      ],
    ]);
    const [inv] = invoices(docs(UNA + interchange([{ body }])));
    expect(inv!.lines[0]!.references).toEqual([
      { qualifier: 'SA', value: 'OAS-77' },
      { qualifier: 'SNA', value: 'S-1' },
      { qualifier: 'SNL', value: 'S-2' },
      { qualifier: 'ON', value: 'PO-9' },
      { qualifier: 'LI', value: 'POL-1' },
      { qualifier: 'SLI', value: 'OAS-1' },
    ]);
  });
});

describe('reconciliation', () => {
  it('summary ALC that restates the lines’ own charges is not added again', () => {
    const withDelivery = (n: number): string[] => [...line(n, '11.00'), 'ALC+C++++DL', 'MOA+8:1.00'];
    const body = invoice(
      'RS',
      [withDelivery(1), withDelivery(2)],
      ['MOA+86:22.00', 'ALC+C++++DL', 'MOA+8:2.00'],
    );
    const [inv] = invoices(docs(UNA + interchange([{ body }])));
    expect(inv!.reconciliation).toMatchObject({ stated: '22.00', computed: '22.00', ok: true });
    expect(inv!.reconciliation.explanation).toContain('restate charges already in the line amounts');
    expect(inv!.warnings).toContainEqual(expect.stringContaining('reconciled: '));
  });

  it('a total that excludes tax agrees, with a note', () => {
    const body = invoice(
      'TX',
      [[...line(1, '10.00')]],
      ['MOA+129:10.00', 'TAX+7+VAT+++:::20+S', 'MOA+124:2.00'],
    );
    const [inv] = invoices(docs(UNA + interchange([{ body }])));
    expect(inv!.reconciliation).toMatchObject({ statedQualifier: '129', computed: '10.00', ok: true });
    expect(inv!.reconciliation.explanation).toContain('excludes tax (2.00)');
  });

  it('a difference is explained', () => {
    const body = invoice('D', [line(1, '10.00'), line(2, '5.00')], ['MOA+9:16.00']);
    const [inv] = invoices(docs(UNA + interchange([{ body }])));
    expect(inv!.reconciliation).toMatchObject({
      stated: '16.00',
      computed: '15.00',
      difference: '1.00',
      ok: false,
    });
    expect(inv!.warnings).toContain(
      'the invoice does not add up: MOA+9 16.00 but its lines, charges and tax come to 15.00 (lines 15.00): a difference of 1.00',
    );
  });
});

describe('the EDItEUR lists', () => {
  it.each([
    ['101', 'on-hold'],
    ['104', 'on-hold'],
    ['110', 'changed'],
    ['201', 'not-accepted'],
    ['210', 'not-accepted'],
    ['300', 'changed'],
    ['301', 'changed'],
    ['402', 'backordered'],
    ['409', 'backordered'],
    ['410', 'accepted'],
    ['412', 'on-hold'],
    ['500', 'on-hold'],
    ['901', 'on-hold'],
    ['903', 'on-hold'],
  ])('12B %s is %s', (lineStatus, status) => {
    expect(deriveStatus({ lineStatus })).toBe(status);
  });

  it.each([
    ['IB', 'unknown'],
    ['AD', 'not-accepted'],
    ['NN', 'not-accepted'],
    ['OF', 'out-of-print'],
    ['RE', 'backordered'],
    ['CS', 'on-hold'],
  ])('8B %s alone is %s', (availability, status) => {
    expect(deriveStatus({ availability })).toBe(status);
  });
});
