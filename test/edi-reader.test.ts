/** EDIFACT reader: envelopes, separators, charsets, and the errors a broken file must produce. */
import { fixturePath } from './harness/fixtures';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EdifactError, buildOrderResponse, detectMessages, parseEdifact } from '../src/edi';

const FIXTURES = fixturePath('edi');
const fixture = (name: string): Buffer => readFileSync(join(FIXTURES, name));

function parseError(data: Buffer | string, fileName = 'test.edi'): EdifactError {
  try {
    parseEdifact(Buffer.isBuffer(data) ? data : Buffer.from(data, 'latin1'), { fileName });
  } catch (e) {
    if (e instanceof EdifactError) return e;
    throw e;
  }
  throw new Error('expected an EdifactError');
}

describe('fixtures', () => {
  it('reads the Koha order response: UNA, UNOC, one message of 29 segments', () => {
    const file = parseEdifact(fixture('koha-ordrsp1.CEA'), { fileName: 'koha-ordrsp1.CEA' });
    expect(file.interchanges).toHaveLength(1);
    const ic = file.interchanges[0]!;
    expect(ic.syntax).toEqual({ id: 'UNOC', version: '3' });
    expect(ic.sender).toEqual({ id: '4012345000094' });
    expect(ic.controlRef).toBe('EDIQ2857776');
    expect(ic.preparedAt).toBe('2014-04-30T18:49');
    expect(ic.groups).toBeUndefined();
    const m = ic.messages[0]!;
    expect(m).toMatchObject({ ref: 'ME001234', type: 'ORDRSP', version: 'D:96A:UN:EAN005' });
    expect(m.segments).toHaveLength(29);
    expect(m.segments[0]).toMatchObject({ tag: 'UNH', index: 1, fileSegment: 2 });
    const lin = m.segments.find((s) => s.tag === 'LIN')!;
    expect(lin).toEqual({ tag: 'LIN', elements: [['1'], ['24']], index: 7, fileSegment: 8 });
    expect(m.segments.at(-1)).toMatchObject({ tag: 'UNT', elements: [['29'], ['ME001234']], index: 29 });
  });

  it('reads the Evergreen/Ingram response: no UNA, UNOA, a UNG…UNE group', () => {
    const ic = parseEdifact(fixture('evergreen-ingram-437.ordrsp.edi')).interchanges[0]!;
    expect(ic.syntax.id).toBe('UNOA');
    expect(ic.sender).toEqual({ id: '1697978', qualifier: '31B' });
    expect(ic.applicationRef).toBe('EANCOM');
    expect(ic.groups).toHaveLength(1);
    expect(ic.groups![0]).toMatchObject({
      type: 'ORDRSP',
      ref: '00000000000003',
      preparedAt: '2010-09-08T11:12',
    });
    expect(ic.groups![0]!.messages).toHaveLength(1);
    expect(ic.messages).toHaveLength(1);
    expect(ic.messages[0]!.segments).toHaveLength(35);
    const pia = ic.messages[0]!.segments.filter((s) => s.tag === 'PIA');
    expect(pia[2]!.elements).toEqual([['5'], ['', 'IB']]);
  });

  it('reads the Koha invoice and routes it by message type', () => {
    const file = parseEdifact(fixture('koha-blsinv-msg1.CEI'));
    expect(detectMessages(file)).toEqual([
      { type: 'INVOIC', ref: '01975489', version: 'D:96A:UN:EAN008', interchangeRef: '337023' },
    ]);
    expect(file.interchanges[0]!.messages[0]!.segments).toHaveLength(33);
  });

  it('rejects the malformed Koha file, naming the UNT, the counts and the typographic apostrophe', () => {
    const err = parseError(fixture('koha-ordrsp3-malformed.CEA'), 'koha-ordrsp3-malformed.CEA');
    expect(err.location).toMatchObject({ fileSegment: 20, tag: 'UNT', messageRef: 'ME001236' });
    expect(err.message).toMatch(/^koha-ordrsp3-malformed\.CEA: segment 20 \(UNT\) of message ME001236: /);
    expect(err.message).toContain('segment count says 21:ME001236 but the message has 19 segments');
    expect(err.message).toContain('UNT has no message reference (expected ME001236)');
    expect(err.message).toContain('segment 9 (QTY) contains a typographic apostrophe (U+2019');
    expect(err.message).toContain('QTY+21:3’GIR');
    expect(err.message).toContain('[near "UNT+21:ME001236\'"]');
  });
});

describe('syntax', () => {
  const wrap = (body: string[], una = "UNA:+.? '", t = "'"): string => {
    const segs = [
      'UNB+UNOC:3+SENDER:14+RECIPIENT:14+240102:0930+REF1',
      'UNH+M1+ORDRSP:D:96A:UN:EAN005',
      ...body,
    ];
    segs.push(`UNT+${body.length + 2}+M1`, 'UNZ+1+REF1');
    return una + segs.join(t) + t;
  };

  it('resolves release characters in every position', () => {
    const data = wrap(["FTX+LIN+++It?'s 1?+1?:2 ???'s+end??", 'RFF+LI:a?:b']);
    const m = parseEdifact(Buffer.from(data, 'latin1')).interchanges[0]!.messages[0]!;
    expect(m.segments[1]!.elements).toEqual([['LIN'], [''], [''], ["It's 1+1:2 ?'s"], ['end?']]);
    expect(m.segments[2]!.elements).toEqual([['LI', 'a:b']]);
  });

  it('takes every separator and the decimal mark from UNA', () => {
    const data =
      'UNA|*,# ~UNB*UNOC|3*S*R*240102|0930*R1~UNH*M1*INVOIC|D|96A|UN|EAN008~FTX*LIN***a#*b#|c#~d##~UNT*3*M1~UNZ*1*R1~';
    const ic = parseEdifact(Buffer.from(data, 'latin1')).interchanges[0]!;
    expect(ic.separators).toEqual({
      component: '|',
      element: '*',
      decimal: ',',
      release: '#',
      terminator: '~',
    });
    expect(ic.messages[0]!.version).toBe('D:96A:UN:EAN008');
    expect(ic.messages[0]!.segments[1]!.elements[3]).toEqual(['a*b|c~d#']);
  });

  it('treats CR/LF between segments as layout: same result as without line breaks', () => {
    const plain = fixture('koha-ordrsp1.CEA');
    const crlf = Buffer.from(plain.toString('latin1').replace(/'/g, "'\r\n"), 'latin1');
    expect(crlf.length).toBeGreaterThan(plain.length + 30);
    const a = parseEdifact(plain);
    const b = parseEdifact(crlf);
    expect(b).toEqual(a);
  });

  it('joins segments wrapped at a fixed width (line breaks are never data)', () => {
    const data = wrap(['FTX+LIN+++wrapped\r\n text', 'RFF+LI:1\n23']);
    const m = parseEdifact(Buffer.from(data, 'latin1')).interchanges[0]!.messages[0]!;
    expect(m.segments[1]!.elements[3]).toEqual(['wrapped text']);
    expect(m.segments[2]!.elements[0]).toEqual(['LI', '123']);
  });

  it('decodes UNOC as Latin-1 and UNOY as UTF-8, per interchange', () => {
    const text = (syntax: string) =>
      `UNB+${syntax}:3+S+R+240102:0930+R1'UNH+M1+ORDRSP:D:96A:UN:EAN005'FTX+LIN+++Müller – Œuvres'UNT+3+M1'UNZ+1+R1'`;
    const utf8 = Buffer.from(text('UNOY'), 'utf8');
    const asUtf8 = parseEdifact(utf8).interchanges[0]!.messages[0]!.segments[1]!.elements[3]![0];
    expect(asUtf8).toBe('Müller – Œuvres');
    // The same UTF-8 bytes labelled UNOC are read as Latin-1: the label decides, not a guess.
    const mislabelled = Buffer.from(utf8.toString('latin1').replace('UNOY', 'UNOC'), 'latin1');
    const asLatin1 = parseEdifact(mislabelled).interchanges[0]!.messages[0]!.segments[1]!.elements[3]![0];
    expect(asLatin1).toBe(utf8.subarray(utf8.indexOf('Müller'), utf8.indexOf("'UNT")).toString('latin1'));
    expect(asLatin1).toContain('MÃ¼ller');
    const latin1 = Buffer.from(text('UNOC').replace(' – Œuvres', ' Ç'), 'latin1');
    expect(latin1.includes(0xfc)).toBe(true);
    expect(parseEdifact(latin1).interchanges[0]!.messages[0]!.segments[1]!.elements[3]![0]).toBe('Müller Ç');
  });

  it('rejects bytes that are not UTF-8 in a UNOY interchange', () => {
    const data = Buffer.concat([
      Buffer.from("UNB+UNOY:4+S+R+20240102:0930+R1'UNH+M1+ORDRSP:D:96A:UN:EAN005'FTX+LIN+++M"),
      Buffer.from([0xfc]),
      Buffer.from("ller'UNT+3+M1'UNZ+1+R1'"),
    ]);
    const err = parseError(data);
    expect(err.message).toContain('segment 3 (FTX) of message M1: the bytes are not valid UTF-8');
  });

  it('reads several interchanges in one file, each with its own UNA and charset', () => {
    const env = {
      sender: 'S',
      recipient: { id: 'R', qualifier: '14' },
      preparedAt: new Date('2024-03-04T05:06:00Z'),
    };
    const one = buildOrderResponse({
      ...env,
      controlRef: 'IC1',
      documentNumber: 'D1',
      lines: [{ poLine: 'Ä1' }],
    });
    const two = buildOrderResponse({
      ...env,
      syntax: 'UNOY',
      controlRef: 'IC2',
      decimalMark: ',',
      documentNumber: 'D2',
      lines: [{ poLine: 'Ω2' }, { poLine: 'x' }],
    });
    const dir = mkdtempSync(join(tmpdir(), 'edi-reader-'));
    const path = join(dir, 'two.edi');
    writeFileSync(path, Buffer.concat([one, Buffer.from('\r\n'), two]));
    const file = parseEdifact(readFileSync(path));
    expect(file.interchanges.map((i) => [i.controlRef, i.syntax.id, i.separators.decimal])).toEqual([
      ['IC1', 'UNOC', '.'],
      ['IC2', 'UNOY', ','],
    ]);
    expect(file.interchanges[1]!.preparedAt).toBe('2024-03-04T05:06');
    const rffs = file.interchanges.flatMap((i) =>
      i.messages[0]!.segments.filter((s) => s.tag === 'RFF').map((s) => s.elements[0]![1]),
    );
    expect(rffs).toEqual(['Ä1', 'Ω2', 'x']);
    expect(detectMessages(file).map((m) => m.interchangeRef)).toEqual(['IC1', 'IC2']);
  });

  it('uses the level B information separators when UNB is followed by IS3 and there is no UNA', () => {
    const segs = [
      'UNB\x1dUNOB\x1f3\x1dS\x1dR\x1d240102\x1f0930\x1dR1',
      'UNH\x1dM1\x1dORDRSP\x1fD\x1f96A',
      'RFF\x1dLI\x1fa?b:c+d',
      'UNT\x1d3\x1dM1',
      'UNZ\x1d1\x1dR1',
    ];
    const ic = parseEdifact(Buffer.from(segs.join('\x1c') + '\x1c', 'latin1')).interchanges[0]!;
    expect(ic.separators.release).toBe('');
    expect(ic.messages[0]!.segments[1]!.elements).toEqual([['LI', 'a?b:c+d']]);
  });

  it('skips a UTF-8 byte order mark and trailing padding', () => {
    const data = Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]),
      fixture('koha-ordrsp1.CEA'),
      Buffer.from('\r\n\x1a'),
    ]);
    expect(parseEdifact(data).interchanges[0]!.messages[0]!.ref).toBe('ME001234');
  });
});

describe('envelope errors', () => {
  const koha = (): string => fixture('koha-ordrsp1.CEA').toString('latin1');

  it('wrong UNT segment count', () => {
    const err = parseError(koha().replace('UNT+29+', 'UNT+28+'));
    expect(err.location).toMatchObject({ tag: 'UNT', messageRef: 'ME001234', fileSegment: 30 });
    expect(err.message).toContain('segment count says 28 but the message has 29 segments');
    expect(err.message).toContain('a segment was split');
  });

  it('a missing terminator is caught by the count and named', () => {
    const err = parseError(koha().replace("QTY+21:1'FTX+LIN++OP", 'QTY+21:1FTX+LIN++OP'));
    expect(err.message).toContain('segment count says 29 but the message has 28 segments');
    expect(err.message).toContain('segments were merged or lost');
  });

  it('UNT reference different from UNH', () => {
    const err = parseError(koha().replace('UNT+29+ME001234', 'UNT+29+ME009999'));
    expect(err.message).toContain('UNT reference ME009999 does not match UNH reference ME001234');
  });

  it('wrong UNZ message count and reference', () => {
    const err = parseError(koha().replace('UNZ+1+EDIQ2857776', 'UNZ+2+EDIQ2857776'));
    expect(err.location).toMatchObject({ tag: 'UNZ', interchangeRef: 'EDIQ2857776', fileSegment: 31 });
    expect(err.message).toContain('messages count says 2 but there are 1');
    expect(parseError(koha().replace('UNZ+1+EDIQ2857776', 'UNZ+1+OTHER')).message).toContain(
      'UNZ reference OTHER does not match UNB reference EDIQ2857776',
    );
  });

  it('wrong UNE count', () => {
    const text = fixture('evergreen-ingram-437.ordrsp.edi').toString('latin1');
    const err = parseError(text.replace('UNE+1+', 'UNE+3+'));
    expect(err.location.tag).toBe('UNE');
    expect(err.message).toContain('messages count says 3 but there are 1');
  });

  it('truncated in the middle of a segment', () => {
    const text = koha();
    const err = parseError(text.slice(0, text.indexOf('RFF+LI:P28838') + 8));
    expect(err.location).toMatchObject({ fileSegment: 20, messageRef: 'ME001234', tag: 'RFF' });
    expect(err.message).toContain('ends in the middle of a segment (no terminator "\'"): truncated file?');
    expect(err.message).toContain('[near "RFF+LI:P"]');
  });

  it('truncated between segments: missing UNT, then missing UNZ', () => {
    const text = koha();
    expect(parseError(text.slice(0, text.indexOf('UNS+S'))).message).toContain(
      'the file ends inside message ME001234 (no UNT after its 26 segments)',
    );
    expect(parseError(text.slice(0, text.indexOf('UNZ'))).message).toContain(
      'the file ends inside interchange EDIQ2857776 (no UNZ)',
    );
  });

  it('a segment outside a message, or outside an interchange', () => {
    const text = koha();
    const outside = parseError(text.replace('UNZ+1+', "FTX+AAI+++stray'UNZ+1+"));
    expect(outside.message).toContain(
      'segment 31 (FTX) of interchange EDIQ2857776: segment FTX is outside a message',
    );
    expect(parseError(text + "BGM+231+X'").message).toContain('segment BGM is outside an interchange');
    expect(parseError(text.replace('UNT+29+ME001234', "UNT+29+ME001234'UNH+X")).message).toContain('UNH');
  });

  it('UNH while a message is open, UNB while an interchange is open', () => {
    const text = koha();
    expect(parseError(text.replace("UNS+S'", "UNH+M2+ORDRSP:D:96A:UN:EAN005'")).message).toContain(
      'UNH while message ME001234 is still open: missing UNT',
    );
    expect(parseError(text.replace("UNZ+1+EDIQ2857776'", '') + text.slice(9)).message).toContain(
      'segment 31 (UNB) of interchange EDIQ2857776: UNB while interchange EDIQ2857776 is still open: missing UNZ',
    );
  });

  it('a segment tag of the wrong form', () => {
    const err = parseError(koha().replace("'PIA+5+0856674427", "'pia+5+0856674427"));
    expect(err.message).toContain('segment 17 of message ME001234: "pia" is not a segment tag');
  });

  it('clips vendor text in messages, so a huge segment stays a short error', () => {
    const text = koha();
    const huge = 'X'.repeat(3_000_000);
    const cases: [string, RegExp][] = [
      [text.replace("'PIA+5+0856674427", `'${huge}+5+0856674427`), /"X{70}…" is not a segment tag/],
      [
        text.replace('UNT+29+ME001234', `UNT+${huge}:${huge}+${huge}`),
        /segment count "X{70}…" is not a number.*UNT reference X{70}… does not match/,
      ],
      [
        text.replace('UNT+29+ME001234', `UNT+29+ME001234${huge}`),
        /UNT reference ME001234X{62}… does not match/,
      ],
      [
        text.replace('UNZ+1+EDIQ2857776', `UNZ+1${huge}+${huge}`),
        /messages count "1X{69}…" is not a number.*UNZ reference X{70}…/,
      ],
      [
        text.replace(/UNH\+ME001234/, `UNH+ME001234${huge}`).replace("UNS+S'", `UNS+S'UNH+${huge}'`),
        /of message ME001234X{62}…: UNH while message ME001234X{62}… is still open/,
      ],
      [text.replace('UNOC:3', `${huge}:3`), /unsupported syntax identifier "X{70}…"/],
    ];
    for (const [data, message] of cases) {
      const err = parseError(data);
      expect(err.message).toMatch(message);
      expect(err.message.length).toBeLessThan(1024);
    }
  });

  it('no interchange, unknown syntax, bad UNA', () => {
    expect(parseError('\r\n').message).toContain('no interchange (UNB segment) found');
    expect(parseError(koha().replace('UNOC:3', 'XXXX:3')).message).toContain(
      'unsupported syntax identifier "XXXX"',
    );
    expect(parseError(koha().replace("UNA:+.? '", "UNA::.? '")).message).toContain(
      'one character for two roles',
    );
  });
});

test('a UNB syntax id named like an Object.prototype member is an unknown syntax, not a crash', () => {
  for (const id of ['constructor', 'toString', '__proto__']) {
    const file = Buffer.from(
      `UNB+${id}:3+SENDER+RECEIVER+200101:1200+1'UNH+1+ORDRSP:D:96A:UN:EAN005'UNT+2+1'UNZ+1+1'`,
    );
    expect(() => parseEdifact(file, { fileName: 'x.edi' })).not.toThrow(RangeError);
  }
});
