/**
 * MARC-8 to Unicode: the decoder on bytes (each expectation from LC's code tables, and checked against
 * yaz-marcdump 5.34 where yaz reads the same) and the ISO 2709 reader's choice of encoding. The whole
 * repertoire and the real files are compared with yaz in marc-real-files.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Marc8Decoder, readIso2709Record, type DataField, type MarcEncoding } from '../src/marc';

const ESC = '\x1b';

/** Decodes a byte string (written as latin1 characters) as one MARC-8 value. */
function decode(text: string): { text: string; problems: string[]; invalid: string[] } {
  const d = new Marc8Decoder();
  const out = d.decode(Buffer.from(text, 'latin1'));
  return { text: out, problems: [...d.problems], invalid: [...d.invalid] };
}

const cps = (s: string) => [...s].map((c) => c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0'));

describe('MARC-8 decoding', () => {
  it.each([
    ['ASCII', 'Moby Dick', 'Moby Dick'],
    ['an ANSEL letter', 'Wa\xa5lstr\xb2m', 'WaÆlstrøm'],
    ['a combining mark, moved after its base and composed (NFC)', 'caf\xe2e', 'café'],
    ['two marks of different classes (circumflex, dot below)', '\xe3\xf2a', 'ậ'],
    ['the Eszett and the Euro sign LC added in 2004', 'Stra\xc7e \xc8', 'Straße €'],
    ['the ligature halves: one double-width mark after the first letter', '\xeba\xecb', 'a\u0361b'],
    ['the double tilde halves', '\xfaa\xfbb', 'a\u0360b'],
    ['the non-sort controls (C1, whatever G1 holds)', '\x88The \x89Title', '\u0098The \u009cTitle'],
    ['Basic Cyrillic into G0', `${ESC}(NmOSKWA${ESC}(B 2013`, 'Москва 2013'],
    ['Extended Cyrillic into G1', `${ESC})Q\xc0\xc1${ESC})E`, 'ґђ'],
    ['Basic Hebrew into G0', `${ESC}(2abc${ESC}(B`, 'בגד'],
    ['Basic Arabic into G0', `${ESC}(3GH${ESC}(B`, 'اب'],
    ['Extended Arabic into G1', `${ESC})4\xa1\xa2${ESC})E`, '۽ٲ'],
    ['Basic Greek into G0', `${ESC}(SAB${ESC}(B`, 'ΑΒ'],
    ['Greek symbols (Technique 1)', `${ESC}ga${ESC}s`, 'α'],
    ['subscripts (Technique 1)', `H${ESC}b2${ESC}sO`, 'H₂O'],
    ['superscripts (Technique 1)', `m${ESC}p2${ESC}s`, 'm²'],
    ['EACC into G0', `${ESC}$1!0!!0"${ESC}(B`, '一丁'],
    ['EACC with its G0 intermediate', `${ESC}$(1!0!${ESC}(B`, '一'],
    ['EACC into G1', `${ESC}$)1\xa1\xb0\xa1${ESC})E`, '一'],
    ['an EACC code beyond the BMP', `${ESC}$1!uY${ESC}(B`, '\u{212c4}'],
    ['ANSEL designated by its two-byte Final', `${ESC})!E\xe2e`, 'é'],
    ['a mark before a character of another set, across the escape', `\xe1${ESC}(2e${ESC}(B`, 'ו\u0300'],
    ['a character reference (LC lossless conversion)', '&#x03B1;&#x3b2;', 'αβ'],
    ['a mark before a character reference, which is its base', '\xe2&#x03B1;', 'ά'],
    [
      'an ampersand that is no character reference',
      'Wiley & Sons &#xZZ; &#x; &amp;',
      'Wiley & Sons &#xZZ; &#x; &amp;',
    ],
  ])('reads %s', (_what, bytes, expected) => {
    const r = decode(bytes);
    expect(cps(r.text)).toEqual(cps(expected.normalize('NFC')));
    expect(r.problems).toEqual([]);
    expect(r.invalid).toEqual([]);
  });

  it('keeps two marks of the same class in the order they came, as yaz does', () => {
    // acute then diaeresis before u: NFC composes the first, the second follows.
    expect(cps(decode('\xe2\xe8u').text)).toEqual(['00FA', '0308']);
  });

  it('shows an escape that is not an escape sequence as U+FFFD and reads what follows', () => {
    const r = decode(`Soci${ESC}t\xe2e`);
    expect(r.text).toBe('Soci\ufffdté');
    expect(r.problems).toEqual([
      'ESC followed by "tâe" is not a MARC-8 escape sequence; the escape is shown as U+FFFD and what follows is read as it is',
    ]);
  });

  it('ignores a designation of a set MARC-8 does not have, saying so', () => {
    const r = decode(`${ESC}(Zabc`);
    expect(r.text).toBe('abc');
    expect(r.problems).toEqual([
      'ESC followed by "(Za" designates a character set MARC-8 does not have; the designation is ignored',
    ]);
  });

  it('reads a byte the designated G0 set lacks as ASCII (a missing ESC ( B)', () => {
    const r = decode(`${ESC}(SAB: 2011`);
    expect(r.text).toBe('ΑΒ: ' + decode(`${ESC}(S2011`).text);
    expect(r.problems).toEqual([
      'byte 3A is not in the Basic Greek set; read as ASCII ":" (a missing ESC ( B?)',
    ]);
  });

  it('reads bytes that are no EACC character one by one as ASCII until the characters are back in step', () => {
    // "'c'b<!`1!" lost a byte: 'b' and '<' are read as ASCII, then !`1 is a character again.
    const r = decode(`${ESC}$1'c'b<!\`1${ESC}(B`);
    expect(r.text).toBe('龉b<音');
    expect(r.problems).toEqual([
      `Chinese, Japanese, Korean (EACC) code 623C21 is not in LC's table; byte 62 read as ASCII "b"`,
      `Chinese, Japanese, Korean (EACC) code 3C2160 is not in LC's table; byte 3C read as ASCII "<"`,
    ]);
  });

  it('keeps a mark with nothing to combine with, and drops DELETE, saying so', () => {
    const r = decode('x\xe2');
    expect(cps(r.text)).toEqual(['0078', '0301']);
    expect(r.problems).toEqual(['a combining mark with no character after it to combine with']);
    expect(decode('a\x7fb')).toMatchObject({
      text: 'ab',
      problems: ['byte 7F (DELETE) is not a MARC-8 character; dropped'],
    });
  });

  it('marks bytes that are no MARC-8 character at all as invalid (U+FFFD)', () => {
    // Windows-1251 "Пушкин": CF is in no MARC-8 set; F3, F8, EA, E8 and ED are ANSEL marks, so it reads as garbage.
    const r = decode('\xcf\xf3\xf8\xea\xe8\xed \xa0 \xff \x80');
    expect(r.invalid).toEqual([
      'byte CF is not in the Extended Latin (ANSEL) set',
      'byte A0 is not a MARC-8 character',
      'byte FF is not a MARC-8 character',
      'byte 80 is not a MARC-8 control character',
    ]);
    expect(r.text).toContain('\ufffd');
  });

  it('keeps a designation across subfields of a field and starts every field with ASCII and ANSEL', () => {
    const d = new Marc8Decoder();
    d.startField();
    expect(d.decode(Buffer.from(`${ESC}(NmOSKWA`, 'latin1'))).toBe('Москва');
    expect(d.decode(Buffer.from('mOSKWA', 'latin1'))).toBe('Москва');
    d.startField();
    expect(d.decode(Buffer.from('mOSKWA', 'latin1'))).toBe('mOSKWA');
  });

  it('agrees with yaz-marcdump on these bytes when it is installed', () => {
    let yaz: string | null = null;
    try {
      yaz = execFileSync('sh', ['-c', 'command -v yaz-marcdump'], { encoding: 'utf8' }).trim() || null;
    } catch {
      yaz = null;
    }
    if (!yaz) return; // CI machines have no yaz; marc-real-files.test.ts compares with its recorded readings
    const samples = [
      `caf\xe2e`,
      `${ESC}(NmOSKWA${ESC}(B`,
      `${ESC}$1!0!!0"${ESC}(B`,
      `H${ESC}b2${ESC}sO`,
      '\xeba\xecb',
    ];
    const dir = mkdtempSync(join(tmpdir(), 'marc8-yaz-'));
    try {
      for (const s of samples) {
        const file = join(dir, 'r.mrc');
        writeFileSync(file, iso(Buffer.from(s, 'latin1')));
        const out = execFileSync(yaz, ['-f', 'MARC-8', '-t', 'UTF-8', '-o', 'line', file]).toString('utf8');
        const line = out.split('\n').find((l) => l.startsWith('245'))!;
        expect(line.slice('245 10 $a '.length).normalize('NFC')).toBe(decode(s).text);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** One ISO 2709 record: leader/09 as given, an 001 and a 245 $a with `value` (bytes), or the fields given. */
function iso(value: Buffer, leader09 = ' ', fields?: Buffer[]): Buffer {
  const bodies = [
    Buffer.from('1\x1e'),
    ...(fields ?? [Buffer.concat([Buffer.from('10\x1fa'), value, Buffer.from('\x1e')])]),
  ];
  const tags = ['001', ...bodies.slice(1).map(() => '245')];
  const base = 24 + bodies.length * 12 + 1;
  let dir = '';
  let offset = 0;
  bodies.forEach((b, i) => {
    dir += tags[i] + String(b.length).padStart(4, '0') + String(offset).padStart(5, '0');
    offset += b.length;
  });
  const length = base + offset + 1;
  const leader = `${String(length).padStart(5, '0')}nam ${leader09}22${String(base).padStart(5, '0')}   4500`;
  return Buffer.concat([Buffer.from(leader + dir + '\x1e', 'latin1'), ...bodies, Buffer.from([0x1d])]);
}

function read(buf: Buffer, encoding: MarcEncoding = 'auto') {
  const r = readIso2709Record(buf, 1, { encoding });
  const f = r.record.fields[1] as DataField;
  return { ...r, value: f.subfields[0]!.value };
}

describe('the encoding of an ISO 2709 record', () => {
  const utf8 = Buffer.from('Müller, Hans', 'utf8');
  const marc8 = Buffer.from('M\xe8uller, Hans', 'latin1');

  it('leader/09 a is UTF-8; blank is MARC-8; either way leader/09 comes out as a (the text is Unicode now)', () => {
    expect(read(iso(utf8, 'a'))).toMatchObject({ value: 'Müller, Hans', encoding: 'utf8', warnings: [] });
    const m = read(iso(marc8, ' '));
    expect(m).toMatchObject({ value: 'Müller, Hans', encoding: 'marc8', warnings: [] });
    expect(m.record.leader[9]).toBe('a');
  });

  it('blank with bytes that are valid UTF-8 and not all ASCII is UTF-8, with a warning', () => {
    expect(read(iso(utf8, ' '))).toMatchObject({
      value: 'Müller, Hans',
      encoding: 'utf8',
      warnings: [
        'leader/09 is blank (MARC-8) but the record is valid UTF-8 with non-ASCII characters: read as UTF-8',
      ],
    });
  });

  it('a says UTF-8: bytes that are not UTF-8 are refused, with the way to read them as MARC-8', () => {
    expect(() => read(iso(marc8, 'a'))).toThrow(
      /^record 1 says it is UTF-8 \(leader\/09 = a\) but holds bytes that are not UTF-8: if it is MARC-8 under a wrong leader\/09, read it with --encoding marc8/,
    );
    expect(read(iso(marc8, 'a'), 'marc8')).toMatchObject({
      value: 'Müller, Hans',
      encoding: 'marc8',
      warnings: ['leader/09 says UTF-8 (a); read as MARC-8 as asked'],
    });
  });

  it('--encoding utf8 reads a blank leader/09 as UTF-8 and refuses bytes that are not UTF-8', () => {
    expect(read(iso(utf8, ' '), 'utf8')).toMatchObject({
      value: 'Müller, Hans',
      warnings: ['leader/09 is " ", not a; read as UTF-8 as asked'],
    });
    expect(() => read(iso(marc8, ' '), 'utf8')).toThrow(
      /holds bytes that are not UTF-8, and UTF-8 was asked for/,
    );
  });

  it('any other leader/09 is read as UTF-8 when its bytes are, and refused otherwise', () => {
    expect(read(iso(utf8, 'z')).warnings).toEqual([
      'leader/09 is "z", neither a (UTF-8) nor blank (MARC-8); read as UTF-8',
    ]);
    expect(() => read(iso(marc8, 'z'))).toThrow(
      /has leader\/09 "z", neither a \(UTF-8\) nor blank \(MARC-8\), and bytes that are not UTF-8/,
    );
  });

  it('refuses a record whose bytes are not MARC-8 at all (Windows-1251), unless told it is MARC-8', () => {
    const cp1251 = iso(Buffer.from('\xcf\xf3\xf8\xea\xe8\xed', 'latin1'));
    expect(() => read(cp1251)).toThrow(
      /^record 1 is not MARC-8 \(leader\/09 " "\): field 245: byte CF is not in the Extended Latin \(ANSEL\) set\. Another 8-bit character set/,
    );
    expect(read(cp1251, 'marc8').warnings).toEqual([
      'field 245: a combining mark with no character after it to combine with',
      'field 245: byte CF is not in the Extended Latin (ANSEL) set (shown as U+FFFD)',
    ]);
  });

  it('reports decoding problems with the field they are in', () => {
    expect(read(iso(Buffer.from(`Soci${ESC}t\xe2e`, 'latin1'))).warnings).toEqual([
      'field 245: ESC followed by "tâe" is not a MARC-8 escape sequence; the escape is shown as U+FFFD and what follows is read as it is',
    ]);
  });

  it('decodes each subfield with the designations of the field so far, and each field afresh', () => {
    const field = (s: string) => Buffer.from(s, 'latin1');
    const r = readIso2709Record(
      iso(Buffer.alloc(0), ' ', [
        field(`10\x1fa${ESC}(NmOSKWA :\x1fbpROGRESS\x1e`),
        field(`10\x1famOSKWA\x1e`),
      ]),
      1,
    );
    expect(r.record.fields.slice(1)).toEqual([
      {
        tag: '245',
        ind1: '1',
        ind2: '0',
        subfields: [
          { code: 'a', value: 'Москва :' },
          { code: 'b', value: 'Прогресс' },
        ],
      },
      { tag: '245', ind1: '1', ind2: '0', subfields: [{ code: 'a', value: 'mOSKWA' }] },
    ]);
    // The subfield code is a byte of the record's structure, never a character of the set in G0.
    expect((r.record.fields[1] as DataField).subfields[1]!.code).toBe('b');
  });
});

describe('the generated code tables', () => {
  it('are what scripts/gen-marc8-tables.ts makes of scripts/data/codetables.xml', () => {
    const { generate } =
      require('../scripts/gen-marc8-tables') as typeof import('../scripts/gen-marc8-tables');
    const root = join(__dirname, '..');
    const xml = readFileSync(join(root, 'scripts/data/codetables.xml'), 'utf8');
    expect(generate(xml) === readFileSync(join(root, 'src/marc/marc8-tables.ts'), 'utf8')).toBe(true);
  });
});
