import { fixturePath } from './harness/fixtures';
import { readFileSync } from 'node:fs';
import {
  getFields,
  matchKeys,
  overlayRecord,
  parseAlmaBibXml,
  parseFieldSpec,
  readAlmaBibXml,
  subfieldValues,
  tagMatches,
  toAlmaBibXml,
} from '../src/marc';
import type { DataField, MarcRecord } from '../src/marc';

const df = (tag: string, ...pairs: [string, string][]): DataField => ({
  tag,
  ind1: ' ',
  ind2: ' ',
  subfields: pairs.map(([code, value]) => ({ code, value })),
});

/** The brief bib the OASIS order created in Alma, with a local 9XX the library added by hand. */
const current: MarcRecord = {
  leader: '00000nam a2200000 i 4500',
  fields: [
    { tag: '001', value: '9912345670001' },
    { tag: '005', value: '20240301120000.0' },
    { tag: '008', value: '240301s2024    xx            000 0 eng d' },
    df('020', ['a', '9780262033848']),
    df('245', ['a', 'Brief title']),
    df('950', ['a', 'local note kept by the library']),
    df('980', ['a', 'OASIS-1'], ['b', 'POL-1']), // written by an earlier overlay run
    df('980', ['a', 'OASIS-0']), // another order on the same bib
  ],
};

/** The vendor's full record, in MARC-8 leader form, with its own control fields and 9XX. */
const incoming: MarcRecord = {
  leader: '01234cam  2200301 i 4500',
  fields: [
    { tag: '001', value: 'PQ998877' },
    { tag: '003', value: 'PQ' },
    { tag: '005', value: '20240310000000.0' },
    { tag: '008', value: '240310s2024    mau           000 0 eng d' },
    df('020', ['a', '0-262-03384-4 (pbk.)']),
    df('029', ['a', 'vendor internal']),
    df('100', ['a', 'Cormen, Thomas H.']),
    df('245', ['a', 'Introduction to algorithms /'], ['c', 'Thomas H. Cormen … [et al.]']),
    df('263', ['a', '202405']),
    df('650', ['a', 'Computer algorithms.']),
    df('938', ['a', 'YBP Library Services']),
    df('980', ['a', 'VENDOR-980']),
    df('981', ['a', 'vendor fund']),
  ],
};

const opts = {
  current,
  incoming,
  excludeTags: ['029', '263', '938'],
  localTags: ['9XX'],
  orderFields: [
    { field: '980$a', value: 'OASIS-1' },
    { field: '980$b', value: 'POL-1' },
    { field: '981$a', value: 'HIST-FUND' },
  ],
};

describe('overlayRecord', () => {
  const merged = overlayRecord(opts);
  const tags = merged.fields.map((f) => f.tag);

  it('drops the excluded tags', () => {
    for (const t of ['029', '263', '938']) expect(tags).not.toContain(t);
    expect(getFields(overlayRecord({ ...opts, excludeTags: ['6XX'] }), '650')).toEqual([]);
  });

  it('keeps the 003 of the record in Alma, which qualifies its 001', () => {
    const withSource = { ...current, fields: [...current.fields, { tag: '003', value: 'NjP' }] };
    const out = overlayRecord({ ...opts, current: withSource });
    expect(out.fields.slice(0, 3).map((f) => f.tag)).toEqual(['001', '003', '005']);
    expect(subfieldValues(out, '003')).toEqual(['NjP']);
  });

  it("keeps 001 and 005 from the record in Alma, at the front, and drops the vendor's 001/003/005", () => {
    expect(merged.fields.slice(0, 3)).toEqual([
      { tag: '001', value: '9912345670001' },
      { tag: '005', value: '20240301120000.0' },
      { tag: '008', value: '240310s2024    mau           000 0 eng d' },
    ]);
    expect(tags).not.toContain('003');
  });

  it("takes the vendor's descriptive fields and leader, with leader/09 forced to a", () => {
    expect(merged.leader).toBe('01234cam a2200301 i 4500');
    expect(subfieldValues(merged, '245$a')).toEqual(['Introduction to algorithms /']);
    expect(subfieldValues(merged, '650$a')).toEqual(['Computer algorithms.']);
    expect(subfieldValues(merged, '020$a')).toEqual(['0-262-03384-4 (pbk.)']);
  });

  it("keeps the local 9XX of the library and drops the vendor's 9XX", () => {
    expect(subfieldValues(merged, '950$a')).toEqual(['local note kept by the library']);
    expect(subfieldValues(merged, '9XX$a')).not.toContain('VENDOR-980');
    expect(subfieldValues(merged, '981$a')).not.toContain('vendor fund');
  });

  it("writes the order 9XX once, grouped by tag, not duplicating the earlier run's field", () => {
    const f980 = getFields(merged, '980');
    expect(f980).toEqual([df('980', ['a', 'OASIS-0']), df('980', ['a', 'OASIS-1'], ['b', 'POL-1'])]);
    expect(getFields(merged, '981')).toEqual([df('981', ['a', 'HIST-FUND'])]);
    // Running the overlay again over its own result changes nothing.
    const again = overlayRecord({ ...opts, current: merged });
    expect(again.fields).toEqual(merged.fields);
  });

  it('orders fields by tag', () => {
    expect(tags).toEqual([...tags].sort());
    expect(tags).toEqual(['001', '005', '008', '020', '100', '245', '650', '950', '980', '980', '981']);
  });

  it('produces a record Alma can take back', () => {
    expect(parseAlmaBibXml(toAlmaBibXml(merged))).toEqual(merged);
  });

  it("treats an order tag that is not in localTags as local: the vendor's field of that tag is dropped", () => {
    const out = overlayRecord({
      ...opts,
      localTags: ['950'],
      orderFields: [{ field: '980$a', value: 'OASIS-9' }],
    });
    expect(subfieldValues(out, '980$a')).toEqual(['OASIS-1', 'OASIS-0', 'OASIS-9']);
    expect(subfieldValues(out, '981$a')).toEqual(['vendor fund']);
  });

  it('leaves out empty order values and refuses a bad field specification', () => {
    const out = overlayRecord({ ...opts, orderFields: [{ field: '982$a', value: '  ' }] });
    expect(getFields(out, '982')).toEqual([]);
    expect(() => overlayRecord({ ...opts, orderFields: [{ field: '98$a', value: 'x' }] })).toThrow(
      /invalid MARC field/,
    );
    expect(() => overlayRecord({ ...opts, orderFields: [{ field: '001$a', value: 'x' }] })).toThrow(
      /data field/,
    );
  });
});

describe('matchKeys', () => {
  it('reads order id and PO line from the configured 9XX and normalises ISBNs to ISBN-13', () => {
    const rec: MarcRecord = {
      leader: incoming.leader,
      fields: [
        df('020', ['a', '0-262-03384-4 (pbk.)'], ['q', 'paperback']),
        df('020', ['a', '9780262033848']),
        df('020', ['a', 'not an isbn']),
        df('020', ['z', '0-262-03384-5']),
        df('980', ['a', ' OASIS-1 '], ['b', 'POL-1']),
        df('980', ['a', 'OASIS-1']),
      ],
    };
    expect(matchKeys(rec, { orderId: '980$a', poLine: '980$b' })).toEqual({
      orderIds: ['OASIS-1'],
      poLines: ['POL-1'],
      isbns: ['9780262033848'],
    });
    expect(matchKeys(rec, {})).toEqual({ orderIds: [], poLines: [], isbns: ['9780262033848'] });
  });
});

describe('record helpers', () => {
  it('matches tags with X wildcards', () => {
    expect(tagMatches('980', '9XX')).toBe(true);
    expect(tagMatches('980', '98x')).toBe(true);
    expect(tagMatches('880', '9XX')).toBe(false);
    expect(tagMatches('AVA', 'XXX')).toBe(true);
    expect(tagMatches('INST', 'XXX')).toBe(false);
  });

  it('reads subfield and control field values, and parses field specifications', () => {
    expect(subfieldValues(current, '9XX$a')).toEqual([
      'local note kept by the library',
      'OASIS-1',
      'OASIS-0',
    ]);
    expect(subfieldValues(current, '001')).toEqual(['9912345670001']);
    expect(getFields(current, '0XX').map((f) => f.tag)).toEqual(['001', '005', '008', '020']);
    expect(parseFieldSpec('980$a')).toEqual({ tag: '980', code: 'a' });
    expect(() => parseFieldSpec('980a')).toThrow();
  });

  it('reads keys from the real Alma fixture', () => {
    const json = JSON.parse(readFileSync(fixturePath('alma', 'bib-99111299423506421.json'), 'utf8')) as {
      bib: { anies: string[] }[];
    };
    const rec = parseAlmaBibXml(json.bib[0]!.anies[0]!);
    expect(matchKeys(rec, { orderId: '994$a', poLine: '994$b' })).toEqual({
      orderIds: ['C0'],
      poLines: ['PUL'],
      isbns: [],
    });
  });
});

describe('Alma bibs with fields that are not valid MARC (real exports)', () => {
  const read = (name: string) => readAlmaBibXml(readFileSync(fixturePath('marc', 'alma', name), 'utf8'));

  it('reads an indicator such as § as it is, with a warning, and writes it back unchanged', () => {
    const { record, warnings } = read('broken_indicator.xml');
    expect(warnings).toEqual(['field 700: ind2 "§", kept as it is']);
    const odd = getFields(record, '700').find((f) => (f as DataField).ind2 === '§') as DataField;
    expect(odd.subfields[0]).toEqual({ code: 'a', value: expect.stringMatching(/\S/) });
    expect(readAlmaBibXml(toAlmaBibXml(record))).toEqual({
      record: { ...record, leader: record.leader },
      warnings,
    });
    // As a local field (7XX kept by the library) the overlay writes it back exactly.
    const merged = overlayRecord({ ...opts, current: record, localTags: ['7XX', '9XX'] });
    expect(merged.fields).toContainEqual(odd);
    expect(toAlmaBibXml(merged)).toContain('<datafield tag="700" ind1="1" ind2="§">');
  });

  it('keeps a field with an empty tag where it was (it cannot be told whose it is), and writes it back', () => {
    const { record, warnings } = read('field_with_no_tag.xml');
    expect(warnings).toEqual(['a datafield with tag "", kept as it is']);
    const odd = record.fields.find((f) => f.tag === '') as DataField;
    expect(odd).toEqual({
      tag: '',
      ind1: '1',
      ind2: '7',
      subfields: [
        { code: 'a', value: 'Truesdell, Edward D.' },
        { code: '4', value: 'dnr' },
        { code: '2', value: 'local' },
      ],
    });
    const merged = overlayRecord({ ...opts, current: record });
    const tags = merged.fields.map((f) => f.tag);
    // After the 98X it followed in Alma, before the next tag.
    expect(tags.indexOf('')).toBeGreaterThan(tags.lastIndexOf('982'));
    expect(merged.fields[tags.indexOf('')]).toBe(odd);
    const xml = toAlmaBibXml(merged);
    expect(xml).toContain(
      '<datafield tag="" ind1="1" ind2="7"><subfield code="a">Truesdell, Edward D.</subfield>',
    );
    expect(readAlmaBibXml(xml).record.fields).toEqual(merged.fields);
  });
});
