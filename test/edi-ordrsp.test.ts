/** ORDRSP semantics: the fixtures' lines and the status precedence. */
import { fixturePath } from './harness/fixtures';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deriveStatus, describeStatus, parseEdifact, readInvoices, readOrderResponses } from '../src/edi';
import type { StatusInput } from '../src/edi';

const FIXTURES = fixturePath('edi');
const read = (name: string) => parseEdifact(readFileSync(join(FIXTURES, name)), { fileName: name });

describe('koha-ordrsp1.CEA', () => {
  const [resp, ...rest] = readOrderResponses(read('koha-ordrsp1.CEA'));

  it('has one response with its header', () => {
    expect(rest).toHaveLength(0);
    expect(resp).toMatchObject({
      messageRef: 'ME001234',
      documentNumber: 'R967634',
      documentType: '231',
      messageFunction: '4',
      date: '1997-10-28',
      currency: 'GBP',
      supplier: '4012345000094',
      buyer: '5412345000176',
      declaredLines: 3,
      warnings: [],
    });
    expect(resp!.lines).toHaveLength(3);
  });

  it('line 1: backordered, not yet published, expected 1997-11-20', () => {
    expect(resp!.lines[0]).toEqual({
      lineNo: '1',
      action: '24',
      isbn: '9780316907231',
      ordered: 2,
      backordered: 2,
      expectedDate: '1997-11-20',
      availability: 'NP',
      price: { amount: '15.99', qualifier: 'AAE' },
      references: [{ qualifier: 'LI', value: 'P28837' }],
      poLine: 'P28837',
      status: 'backordered',
      statusText: 'Backordered: 2 copies, expected 1997-11-20 (not yet published)',
      segment: 8,
    });
  });

  it('line 2: action 2 with OP is cancelled, out of print given as the reason', () => {
    expect(resp!.lines[1]).toMatchObject({ lineNo: '2', action: '2', availability: 'OP', poLine: 'P28838' });
    expect(resp!.lines[1]!.status).toBe('cancelled');
    expect(resp!.lines[1]!.statusText).toBe('Cancelled by the vendor (out of print)');
    expect(resp!.lines[1]!.price).toBeUndefined();
  });

  it("line 3: out of print; a second PIA+5 (as Koha's file has it) is another identifier, not a substitute", () => {
    expect(resp!.lines[2]).toMatchObject({
      lineNo: '3',
      isbn: '9780870701436',
      status: 'out-of-print',
      poLine: 'P28846',
      price: { amount: '25', qualifier: 'AAE' },
      segment: 21,
    });
    expect(resp!.lines[2]!.substituteIsbn).toBeUndefined();
  });

  it('line 3 as PIA+3 (the case the real file lacks): the substitute edition is named', () => {
    const bytes = readFileSync(join(FIXTURES, 'koha-ordrsp1.CEA'), 'latin1').replace(
      "PIA+5+0870701428:IB'",
      "PIA+3+0870701428:IB'",
    );
    const [made] = readOrderResponses(
      parseEdifact(Buffer.from(bytes, 'latin1'), { fileName: 'made-up.CEA' }),
    );
    expect(made!.lines[2]).toMatchObject({ isbn: '9780870701436', substituteIsbn: '9780870701429' });
    expect(made!.lines[2]!.statusText).toBe('Out of print. Alternative edition offered: ISBN 9780870701429');
  });

  it('holds no invoices', () => {
    expect(readInvoices(read('koha-ordrsp1.CEA'))).toEqual([]);
  });
});

describe('evergreen-ingram-437.ordrsp.edi', () => {
  const [resp] = readOrderResponses(read('evergreen-ingram-437.ordrsp.edi'));

  it('reads the grouped message, RFF+ON and BGM 29', () => {
    expect(resp).toMatchObject({
      documentNumber: '17',
      messageFunction: '29',
      orderNumber: '17',
      date: '2010-09-02',
    });
    expect(resp!.currency).toBeUndefined();
    expect(resp!.lines.map((l) => [l.lineNo, l.poLine, l.status])).toEqual([
      ['27', '17/27', 'accepted'],
      ['30', '17/30', 'backordered'],
      ['38', '17/38', 'not-accepted'],
      ['40', '17/40', 'not-accepted'],
    ]);
  });

  it('line 27: action 5, ISBN from PIA+5, EAN from LIN', () => {
    expect(resp!.lines[0]).toMatchObject({
      ean: '9780439139595',
      isbn: '9780439139595',
      ordered: 19,
      price: { amount: '29.99', qualifier: 'AAF' },
    });
  });

  it('line 30: 1B 400 with QTY+12 1 of 4 is backordered (partly despatched), not shipped', () => {
    const l = resp!.lines[1]!;
    expect(l).toMatchObject({
      action: '24',
      lineStatus: '400',
      ordered: 4,
      despatched: 1,
      status: 'backordered',
    });
    expect(l.statusText).toBe('Backordered: 1 of 4 despatched, 3 still to come');
  });

  it('lines 38 and 40: action 2 with 1B 200 is not-accepted; an empty EAN/ISBN is absent', () => {
    const [l38, l40] = resp!.lines.slice(2);
    expect(l38).toMatchObject({ action: '2', lineStatus: '200', despatched: 0, status: 'not-accepted' });
    expect(l38!.ean).toBeUndefined();
    expect(l38!.isbn).toBeUndefined();
    expect(l40!.isbn).toBe('9780393048797');
    expect(l40!.statusText).toBe('Not accepted by the vendor');
  });
});

describe('status precedence', () => {
  const cases: [string, StatusInput, string][] = [
    [
      '12B 800 despatched beats everything',
      { lineStatus: '800', action: '2', availability: 'OP' },
      'shipped',
    ],
    ['12B 404 despatched by the supplier', { lineStatus: '404' }, 'shipped'],
    ['12B 220–223 cancelled', { lineStatus: '223', action: '5' }, 'cancelled'],
    ['12B 900 cannot trace', { lineStatus: '900' }, 'not-accepted'],
    ['12B 999 temporary hold', { lineStatus: '999', action: '5' }, 'on-hold'],
    ['action 2 cancels', { action: '2' }, 'cancelled'],
    ['action 7 not accepted', { action: '7', despatched: 1 }, 'not-accepted'],
    ['action 10 not found', { action: '10' }, 'not-accepted'],
    ['QTY+83 with NP is backordered', { backordered: 1, availability: 'NP' }, 'backordered'],
    ['QTY+12 > 0 shipped', { action: '5', despatched: 2, ordered: 2 }, 'shipped'],
    ['23C response is shipped', { documentType: '23C', action: '4' }, 'shipped'],
    ['OR out of print', { availability: 'OR', action: '5' }, 'out-of-print'],
    ['AB abandoned', { availability: 'AB' }, 'out-of-print'],
    ['NP not yet published beats 12B 100', { availability: 'NP', lineStatus: '100' }, 'not-yet-published'],
    ['OB temporarily out of stock', { availability: 'OB' }, 'backordered'],
    ['12B 100 accepted', { lineStatus: '100' }, 'accepted'],
    ['action 6 changed', { action: '6' }, 'changed'],
    ['action 3 changed', { action: '3' }, 'changed'],
    ['BGM 29 when the line says nothing', { messageFunction: '29', action: '4' }, 'accepted'],
    ['BGM 27 when the line says nothing', { messageFunction: '27' }, 'not-accepted'],
    ['nothing known', { action: '4', availability: 'IP' }, 'unknown'],
  ];
  it.each(cases)('%s', (_name, input, expected) => {
    expect(deriveStatus(input)).toBe(expected);
  });

  it('describes reasons and vendor notes in words', () => {
    const input: StatusInput = { lineStatus: '223', freeText: 'Publisher has no stock' };
    expect(describeStatus(deriveStatus(input), input)).toBe(
      'Cancelled by the vendor (cancelled: the vendor cannot supply). Vendor note: Publisher has no stock',
    );
    const unknown: StatusInput = { action: '4', lineStatus: '555' };
    expect(describeStatus(deriveStatus(unknown), unknown)).toBe(
      'Vendor response not understood (line status code 555; action code 4 (no action))',
    );
  });
});

describe('oddities are reported, not dropped', () => {
  it('warns about an invalid ISBN, an impossible date, a count mismatch and an unknown status', () => {
    const text =
      "UNA:+.? 'UNB+UNOC:3+S+R+240102:0930+R1'UNH+M1+ORDRSP:D:96A:UN:EAN005'BGM+231+D1+4'" +
      "LIN+1'PIA+5+0316907234:IB'DTM+44:20241345:102'QTY+21:x'FTX+LIN+++free:text'RFF+SLI:OASIS-1'" +
      "UNS+S'CNT+2:2'UNT+11+M1'UNZ+1+R1'";
    const [resp] = readOrderResponses(parseEdifact(Buffer.from(text, 'latin1')));
    expect(resp!.lines[0]).toMatchObject({
      lineNo: '1',
      vendorRef: 'OASIS-1',
      freeText: 'free text',
      status: 'unknown',
    });
    expect(resp!.lines[0]!.isbn).toBeUndefined();
    expect(resp!.warnings).toEqual([
      'line 1 (segment 4): PIA+5 identifier "0316907234" (IB) is not a valid ISBN',
      'line 1 (segment 4): expected date "20241345:102" is not a date',
      'line 1 (segment 4): QTY+21 quantity "x" is not a whole number',
      'line 1 (segment 4): the vendor status could not be worked out from the codes',
      'CNT+2 declares 2 lines but the message has 1',
    ]);
  });
});
