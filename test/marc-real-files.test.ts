/**
 * Every MARC record of the real files in test/fixtures/marc (Evergreen, pymarc, ruby-marc and marc4j test data,
 * MARC-8 and UTF-8, ISO 2709 and MARCXML), and of the made-up file that holds every code of LC's tables, read by
 * our reader and compared with an independent reading: yaz-marcdump (YAZ 5.34.0, Debian's `yaz`), recorded in
 * test/fixtures/marc/yaz/ by scripts/record-yaz-readings.sh (CI machines have no yaz).
 *
 * Compared: the leader (but positions 10-11 and 20-23, which yaz rewrites to `22` and `4500` when it writes a
 * record, while we keep what the file says), every field, indicator, subfield code and value, in NFC.
 *
 * yaz and LC's code tables agree on every code of every MARC-8 set (made-up/marc8-every-code.mrc: all 15,739
 * EACC codes, Greek, Cyrillic, Hebrew, Arabic, sub- and superscripts, ANSEL with its marks). Where the readings
 * differ, it is on data that is broken or on the rules around the tables; each such record is listed below with
 * which reading is right and why, and what ours is.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fixturePath } from './harness/fixtures';
import {
  readMarcFile,
  toMarcJson,
  type DataField,
  type MarcJson,
  type MarcReadResult,
  type MarcRecord,
} from '../src/marc';

type Ok = Extract<MarcReadResult, { ok: true }>;

interface Known {
  /** Why our reading differs from yaz's, and which is right. */
  why: string;
  /** `unreadable`: we refuse the record (its reason matches); otherwise the tags whose fields differ. */
  unreadable?: RegExp;
  fields?: string[] | 'all';
  /** yaz has no reading of this record at all. */
  noYaz?: boolean;
  /** What our reading is, for the record (or the fields) that differ. */
  check?: (r: Ok) => void;
}

const sub = (r: MarcRecord, tag: string, code: string, nth = 0): string | undefined =>
  r.fields
    .filter((f): f is DataField => f.tag === tag && 'subfields' in f)
    .flatMap((f) => f.subfields.filter((s) => s.code === code).map((s) => s.value))[nth];

const value880 = (r: MarcRecord, link: string, code: string): string | undefined =>
  r.fields
    .filter((f): f is DataField => f.tag === '880' && 'subfields' in f)
    .find((f) => f.subfields.some((s) => s.code === '6' && s.value.startsWith(link)))
    ?.subfields.find((s) => s.code === code)?.value;

const NOT_MARC8 = 'yaz reads the bytes as ANSEL and drops what has no mapping, which gives garbage';

const KNOWN: Record<string, Known> = {
  ...Object.fromEntries(
    [1, 2, 3, 4, 5, 6].map((n) => [
      `pymarc/1251.dat#${n}`,
      {
        why: `Windows-1251 text under a blank leader/09 (pymarc's test reads it as cp1251): not MARC-8. Ours refuses it, naming bytes no MARC-8 set has; ${NOT_MARC8}`,
        unreadable:
          /^record \d is not MARC-8 \(leader\/09 " "\): .*byte .. is not in the Extended Latin \(ANSEL\) set/,
      },
    ]),
  ),
  'pymarc/bad_indicator.dat#1': {
    why: 'its first directory entry has the tag "0 2", which is no MARC tag: ours refuses the record; yaz keeps "0 2" and takes the subfield delimiter and code that follow for indicators',
    unreadable: /^record 1 has a bad directory entry "0 2002900000"$/,
  },
  'pymarc/bad_marc8_escape.dat#1': {
    why: 'ESC bytes that start no escape sequence (a lost é): yaz empties every subfield that holds one (and writes the 222 with ind1 " 0" and no ind2); ours keeps the text, shows each such ESC as U+FFFD and warns',
    fields: ['222', '245', '260', '580', '710', '780'],
    check: (r) => {
      expect(sub(r.record, '245', 'a')).toBe('Bulletin de la Société linn\ufffdenne de Bordeaux.');
      expect(r.warnings).toContain(
        'field 245: ESC followed by "enn" is not a MARC-8 escape sequence; the escape is shown as U+FFFD and what follows is read as it is',
      );
    },
  },
  ...Object.fromEntries(
    [
      [2, /has a bad base address of data in its leader \("00127 {5}2299937 {3}4500"\)/],
      [3, /has a bad base address of data in its leader \("00127 {5}2200000 {3}4500"\)/],
      [5, /has a bad directory entry "245\?\?0890000"/],
      [6, /has a bad base address of data in its leader \("00127 {5}22f0037 {3}4500"\)/],
    ].map(([n, reason]) => [
      `pymarc/bad_records.mrc#${String(n)}`,
      {
        why: 'a leader or directory that cannot be right (pymarc tests that readers refuse it): ours refuses it; yaz gives an empty record or a field made of the leader',
        unreadable: reason as RegExp,
      },
    ]),
  ),
  'pymarc/bad_subfield_code.dat#1': {
    why: 'the 245 holds the UTF-8 bytes of "á" where its subfield code should be, in a MARC-8 record whose directory is then one byte off: ours refuses it (no ASCII subfield code); yaz takes "©" (ANSEL C3) as a code and reads the next fields shifted',
    unreadable: /^record 1 field 245: a subfield code that is not an ASCII character \(byte 0xc3\)$/,
  },
  'pymarc/bad_tag.xml#1': {
    why: 'its leader has 17 characters: ours refuses the record (the overlay takes the leader from the vendor record); yaz makes up a leader',
    unreadable: /^record 1: the leader is 17 characters, not 24$/,
  },
  'pymarc/utf8_invalid.mrc#1': {
    why: 'the bytes of U+FFFD stand where the 260 has a subfield code: ours refuses the record; yaz keeps U+FFFD as a code',
    unreadable: /^record 1 field 260: a subfield code that is not an ASCII character \(byte 0xef\)$/,
  },
  'ruby-marc/cp866_multirecord.marc#1': {
    why: 'CP866 (DOS Cyrillic) text with leader/09 "0": its encoding cannot be told and it is not MARC-8; ours refuses it; yaz runs both records into one of garbage',
    unreadable: /has leader\/09 "0", neither a \(UTF-8\) nor blank \(MARC-8\), and bytes that are not UTF-8/,
  },
  'ruby-marc/cp866_multirecord.marc#2': {
    why: 'as record 1',
    unreadable: /has leader\/09 "0", neither a \(UTF-8\) nor blank \(MARC-8\), and bytes that are not UTF-8/,
  },
  'ruby-marc/escaped_character_reference.marc8.marc#1': {
    why: "a numeric character reference (&#xFFFD;) in MARC-8, LC's lossless conversion for characters MARC-8 lacks: ours reads it as the character it names, as LC says a MARC-8 to Unicode conversion should; yaz leaves the text &#xFFFD;",
    fields: ['260'],
    check: (r) => expect(sub(r.record, '260', 'a')).toBe('Rio de Janeiro escaped replacement char: \ufffd .'),
  },
  'ruby-marc/marc8_accented_chars.marc#1': {
    why: 'MARC-8 under leader/09 a (UTF-8): ours refuses it unless told --encoding marc8 (then it equals yaz reading a copy with leader/09 blank, checked below); yaz reads it as UTF-8 and drops every accented character',
    unreadable:
      /^record 1 says it is UTF-8 \(leader\/09 = a\) but holds bytes that are not UTF-8: if it is MARC-8 under a wrong leader\/09, read it with --encoding marc8/,
  },
  'ruby-marc/utf8_with_bad_bytes.marc#1': {
    why: 'UTF-8 with bytes that are not UTF-8 in its 245 ("bad bytes => \\xC3( <="): ours refuses it; yaz drops the bad bytes silently',
    unreadable: /^record 1 says it is UTF-8 \(leader\/09 = a\) but holds bytes that are not UTF-8/,
  },
  'ruby-marc/marc_with_bad_utf8.utf8.marc#1': {
    why: 'the directory counts a 2-byte character as one, so every field after the 110 starts a byte later than it says: yaz follows the directory and cuts each field short, taking its last byte for the next indicators; ours finds each field by its terminator (one per entry) and warns',
    fields: 'all',
    check: (r) => {
      expect(sub(r.record, '245', 'c')).toBe('Patricia A. Grady, Harold Varmus.');
      expect(r.warnings?.[0]).toMatch(/^the directory does not match the data/);
    },
  },
  'ruby-marc/no-leading-zero.xml#1': {
    why: 'a datafield with tag="42" (the 042 that lost its leading zero, as ruby-marc reads it): ours reads 042 and warns; yaz keeps "42"',
    fields: ['042', '42'],
    check: (r) => {
      expect(sub(r.record, '042', 'a')).toBe('dc');
      expect(r.warnings).toEqual(['a datafield with tag "42" read as 042']);
    },
  },
  'ruby-marc/three-records-second-bad.xml#2': {
    why: 'a subfield code="\\x07" (BEL), a character XML forbids: ours loses that record only and reads on; yaz (libxml2) stops the whole file after record 1',
    unreadable: /^record 2: a character XML does not allow \(72:29: disallowed character\)$/,
  },
  'ruby-marc/three-records-second-bad.xml#3': {
    why: 'yaz stopped at record 2; ours reads record 3, the same recording as record 1 (another disc)',
    noYaz: true,
    check: (r) => expect(sub(r.record, '245', 'a')).toMatch(/\S/),
  },
  'marc4j/sample1.mrc#7': {
    why: 'leader/09 a with bytes that are not UTF-8 (a twice-encoded ç in the 245): ours refuses it; yaz drops the bad bytes',
    unreadable: /^record 7 says it is UTF-8 \(leader\/09 = a\) but holds bytes that are not UTF-8/,
  },
  'marc4j/chinese_mangled_multibyte.mrc#1': {
    why: 'EACC runs that lost bytes and their ESC ( B: where three bytes are no EACC character ours reads the first as ASCII and goes on (so `videorecording /` and the 2003 come back, and the characters after a lost byte are in step again), with a warning; yaz drops such bytes, and the ASCII with them',
    fields: ['880'],
    check: (r) => {
      expect(value880(r.record, '260-02', 'c')).toBe('2003');
      expect(value880(r.record, '490-03', 'a')).toBe('汉语 =');
    },
  },
  'marc4j/chinese_mangled_multibyte.mrc#3': {
    why: "the same record as character references (&#x8ECA;…), LC's lossless conversion: ours reads them as the characters they name (the same as record 4, in UTF-8); yaz leaves the text &#x8ECA;",
    fields: ['880'],
    check: (r) => expect(value880(r.record, '245-01', 'a')).toBe('車輪滾滾'),
  },
  'marc4j/cyrillic_capital_e.mrc#1': {
    why: "`$b ESC ( N` then a subfield delimiter where Э was lost: LC's rule is that a designation holds to the end of the field (delimiters are C0 controls, which designations do not affect), so ours reads the next subfield's bytes in Cyrillic; yaz drops an escape that ends a subfield and reads them as ASCII",
    fields: ['880'],
    check: (r) => expect(value880(r.record, '264-03', 'k')).toBe('СМО,'),
  },
  'marc4j/cyrillic_capital_e.mrc#2': {
    why: 'as record 1',
    fields: ['880'],
    check: (r) => expect(value880(r.record, '260-04', 'k')).toBe('СМО,'),
  },
  'marc4j/greekmissingcharsetchange.mrc#1': {
    why: 'Greek (ESC ( S) with no ESC ( B before the ASCII punctuation: a byte the Basic Greek set lacks is read as ASCII by ours, with a warning (":" "," "=" come back; digits and letters are in the Greek set and stay Greek, as the bytes say); yaz drops such bytes',
    fields: ['880'],
    check: (r) => {
      expect(value880(r.record, '245-01', 'a')).toBe('Η αγορά στη Μεσόγειο :');
      expect(value880(r.record, '700-03', 'a')).toBe('Γιαννικουρη, Α.');
    },
  },
  'marc4j/greekmissingcharsetchange.mrc#2': {
    why: "the same record as character references, a combining acute before some (LC's lossless conversion): ours reads them as characters, the acute on the one it precedes, which gives record 3's text (UTF-8); yaz leaves &#x…; and puts the acute on the &",
    fields: ['880'],
    check: (r) => expect(value880(r.record, '245-01', 'a')).toBe('Η αγορά στη Μεσόγειο :'),
  },
  'marc4j/incomplete_esc_seq.mrc#1': {
    why: 'EACC runs with escape sequences cut short and bytes lost: ours reads each byte that is no EACC character as ASCII and keeps the text, with warnings; yaz drops bytes until the characters are in step again (and in one 880 leaves 600 bytes of raw EACC as ASCII)',
    fields: ['880'],
  },
};

/** Records whose count yaz gets differently, and why. */
const COUNTS: Record<string, { yaz: number; why: string }> = {
  'ruby-marc/cp866_multirecord.marc': { yaz: 1, why: 'yaz runs the two CP866 records into one' },
  'ruby-marc/three-records-second-bad.xml': { yaz: 1, why: 'libxml2 stops at the BEL in record 2' },
  'evergreen/serials_marc21.xml': {
    yaz: 1,
    why: 'several <record> roots and no <collection>: libxml2 stops after the first; the wrapped copy (.wrapped.jsonl) has them all',
  },
};

/** yaz's MARC-in-JSON, as we compare it: NFC, leader/10-11 and 20-23 left out, a missing indicator empty. */
function normal(j: MarcJson): unknown {
  const n = (s: string | undefined) => (s ?? '').normalize('NFC');
  return {
    leader: n(j.leader.slice(0, 10) + j.leader.slice(12, 20)),
    fields: j.fields.map((f) => {
      const [[tag, v]] = Object.entries(f) as [[string, MarcJson['fields'][number][string]]];
      if (typeof v === 'string') return [tag, n(v)];
      return [
        tag,
        n(v.ind1),
        n(v.ind2),
        v.subfields.map((s) => Object.entries(s).map(([c, x]) => [c, n(x)])[0]),
      ];
    }),
  };
}

function recording(dir: string, name: string): unknown[] | null {
  const path = fixturePath('marc', 'yaz', dir, name);
  if (!existsSync(path)) return null;
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => normal(JSON.parse(l) as MarcJson));
}

async function readAll(path: string, encoding?: 'marc8'): Promise<MarcReadResult[]> {
  const out: MarcReadResult[] = [];
  for await (const r of readMarcFile(path, encoding ? { encoding } : {})) out.push(r);
  return out;
}

const DIRS = ['evergreen', 'pymarc', 'ruby-marc', 'marc4j', 'made-up'];
const FILES = DIRS.flatMap((dir) =>
  readdirSync(fixturePath('marc', dir)).map((name) => [dir, name] as const),
);

describe('every MARC record of the real files, against yaz-marcdump', () => {
  const seen = new Set<string>();
  const totals = { records: 0, known: 0, same: 0 };

  it.each(FILES)('%s/%s', async (dir, name) => {
    const file = `${dir}/${name}`;
    const ours = await readAll(fixturePath('marc', dir, name));
    const yaz = recording(dir, `${name}.jsonl`);
    if (!yaz) throw new Error(`no yaz reading of ${file}: run sh scripts/record-yaz-readings.sh`);
    const yazUtf8 = recording(dir, `${name}.utf8.jsonl`);
    const wrapped = recording(dir, `${name}.wrapped.jsonl`);
    expect({ file, yaz: yaz.length }).toEqual({ file, yaz: COUNTS[file]?.yaz ?? ours.length });
    for (const r of ours) {
      const key = `${file}#${r.index}`;
      const known = KNOWN[key];
      totals.records++;
      if (known) {
        seen.add(key);
        totals.known++;
      }
      if (!r.ok) {
        if (!known?.unreadable) throw new Error(`${key} was not read: ${r.error}`);
        expect(r.error).toMatch(known.unreadable);
        continue;
      }
      if (known?.unreadable) throw new Error(`${key} was read; the test expects it refused: ${known.why}`);
      if (known?.noYaz) {
        known.check?.(r);
        continue;
      }
      // A record read as UTF-8 under a blank leader/09 is compared with yaz told the same (-f UTF-8).
      const utf8UnderBlank =
        r.encoding === 'utf8' && readFileSync(fixturePath('marc', dir, name))[r.offset + 9] !== 0x61;
      const theirs = (wrapped ?? (utf8UnderBlank ? yazUtf8 : yaz))?.[r.index - 1];
      if (!theirs) throw new Error(`${key}: no yaz reading to compare with (record yaz with -f UTF-8?)`);
      const mine = normal(toMarcJson(r.record)) as { leader: string; fields: unknown[] };
      const other = theirs as { leader: string; fields: unknown[] };
      if (!known) {
        expect({ key, ...mine }).toEqual({ key, ...other });
        totals.same++;
        continue;
      }
      expect(mine.leader).toBe(other.leader);
      if (known.fields !== 'all') {
        // Every field but the ones listed is the same as yaz's.
        const skip = (f: unknown) => known.fields!.includes((f as [string])[0]);
        expect({ key, fields: mine.fields.filter((f) => !skip(f)) }).toEqual({
          key,
          fields: other.fields.filter((f) => !skip(f)),
        });
        expect(mine.fields).not.toEqual(other.fields);
      }
      known.check?.(r);
    }
  });

  it('lists no disagreement that did not occur', () => {
    expect(Object.keys(KNOWN).filter((k) => !seen.has(k))).toEqual([]);
    // Every other record is read exactly as yaz reads it; the listed ones are broken data.
    expect(totals).toEqual({
      records: 1908,
      known: Object.keys(KNOWN).length,
      same: 1908 - Object.keys(KNOWN).length,
    });
  });

  it('reads ruby-marc’s MARC-8 under leader/09 a, told --encoding marc8, as yaz reads it with leader/09 blank', async () => {
    const [r] = await readAll(fixturePath('marc', 'ruby-marc', 'marc8_accented_chars.marc'), 'marc8');
    if (!r?.ok) throw new Error('not read');
    expect(r.warnings).toEqual(['leader/09 says UTF-8 (a); read as MARC-8 as asked']);
    expect(normal(toMarcJson(r.record))).toEqual(
      recording('ruby-marc', 'marc8_accented_chars.marc.as-marc8.jsonl')![0],
    );
    expect(sub(r.record, '100', 'a')).toBe('Serreau, Geneviève.');
  });

  it('reads the MARC-8 vendor and acquisition files (Brodart on-order records, Evergreen order load)', async () => {
    const brodart = await readAll(
      fixturePath('marc', 'evergreen', 'brodart__brodart_bibzII_MARC_on-order_records_w_funds.001'),
    );
    expect(brodart.map((r) => r.ok && r.encoding)).toEqual(Array(11).fill('marc8'));
    const acq = await readAll(fixturePath('marc', 'evergreen', 'sample_acq_order.mrc'));
    expect(acq.every((r) => r.ok)).toBe(true);
    // `970 ␠␠\`: the backslash before the first delimiter dropped, as pymarc does (9 of its 10 records).
    const warned = acq.filter((r) => r.ok && r.warnings?.length);
    expect(warned).toHaveLength(9);
    for (const r of warned)
      expect(r.ok && r.warnings).toEqual([
        'field 970: "\\\\" between the indicators and the first subfield dropped',
      ]);
  });
});
