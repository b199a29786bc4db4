import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readIso2709, readMarcFile, toMarcXmlCollection, writeIso2709 } from '../src/marc';
import type { MarcReadResult, MarcRecord } from '../src/marc';

function record(id: string, title: string, author = 'Müller, Hans'): MarcRecord {
  return {
    leader: '00000nam a2200000 i 4500',
    fields: [
      { tag: '001', value: id },
      { tag: '008', value: '190125s1774    ja a          000 0 jpn  ' },
      { tag: '020', ind1: ' ', ind2: ' ', subfields: [{ code: 'a', value: '0-262-03384-4 (pbk.)' }] },
      { tag: '100', ind1: '1', ind2: ' ', subfields: [{ code: 'a', value: author }] },
      {
        tag: '245',
        ind1: '1',
        ind2: '0',
        subfields: [
          { code: 'a', value: title },
          { code: 'c', value: '杉田玄白翼譯 ; 中川淳庵鱗校' },
        ],
      },
      { tag: '500', ind1: ' ', ind2: ' ', subfields: [{ code: 'a', value: '' }] },
    ],
  };
}

/** Splits bytes into fixed-size chunks, so multibyte characters and records straddle chunk boundaries. */
async function* chunks(buf: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

async function collect(gen: AsyncGenerator<MarcReadResult>): Promise<MarcReadResult[]> {
  const out: MarcReadResult[] = [];
  for await (const r of gen) out.push(r);
  return out;
}

function okRecords(results: MarcReadResult[]): MarcRecord[] {
  return results.flatMap((r) => (r.ok ? [r.record] : []));
}

/** The leader positions a writer computes (length, base address) are not compared. */
function sameContent(a: MarcRecord, b: MarcRecord): void {
  expect(a.fields).toEqual(b.fields);
  expect(a.leader.slice(5, 12)).toBe(b.leader.slice(5, 12));
  expect(a.leader.slice(17)).toBe(b.leader.slice(17));
}

/** A record written as MARC-8: leader/09 blank, lengths recomputed. */
function marc8(rec: MarcRecord): Buffer {
  const buf = writeIso2709(rec);
  buf[9] = 0x20;
  return buf;
}

describe('ISO 2709 reading and writing', () => {
  const recs = [
    record('1', 'Kaitai shinsho / 解體新書'),
    record('2', 'Ärzte über Müller'),
    record('3', 'Ångström 𝄞'),
  ];
  const file = Buffer.concat(recs.map(writeIso2709));

  it('writes lengths and offsets in bytes for UTF-8 and sets leader/09 to a', () => {
    const buf = writeIso2709(recs[0]!);
    expect(Number(buf.toString('latin1', 0, 5))).toBe(buf.length);
    expect(buf.toString('latin1', 9, 10)).toBe('a');
    expect(buf[buf.length - 1]).toBe(0x1d);
    // Characters and bytes differ for this record, so a character-counting writer would fail here.
    expect(buf.toString('utf8').length).toBeLessThan(buf.length);
  });

  it.each([1, 7, 65536])('round-trips multibyte UTF-8 read in %i-byte chunks', async (size) => {
    const results = await collect(readIso2709(chunks(file, size)));
    expect(results.map((r) => r.ok)).toEqual([true, true, true]);
    expect(results.map((r) => r.index)).toEqual([1, 2, 3]);
    const lengths = recs.map((r) => writeIso2709(r).length);
    expect(results.map((r) => r.offset)).toEqual([0, lengths[0], lengths[0]! + lengths[1]!]);
    okRecords(results).forEach((r, i) => sameContent(r, recs[i]!));
    expect(okRecords(results)[0]!.fields[4]).toEqual(recs[0]!.fields[4]);
    expect(JSON.stringify(okRecords(results)[1])).toContain('Müller');
  });

  it('reads a UTF-8 record whose leader/09 is blank as UTF-8, with a warning (MARC-8 would garble it)', async () => {
    const buf = Buffer.concat([writeIso2709(recs[0]!), marc8(recs[1]!), writeIso2709(recs[2]!)]);
    const results = await collect(readIso2709(chunks(buf, 7)));
    expect(results.map((r) => r.ok)).toEqual([true, true, true]);
    const second = results[1]!;
    if (!second.ok) throw new Error(second.error);
    expect(second.encoding).toBe('utf8');
    expect(second.warnings).toEqual([
      'leader/09 is blank (MARC-8) but the record is valid UTF-8 with non-ASCII characters: read as UTF-8',
    ]);
    sameContent(second.record, recs[1]!);
    expect(second.record.leader[9]).toBe('a');
    expect(results[0]!.ok && results[0]!.warnings).toEqual([]);
  });

  it('reads a record with a blank leader/09 and only ASCII as MARC-8 (the same text)', async () => {
    const ascii = record('7', 'Plain title', 'Smith, John');
    (ascii.fields[4] as { subfields: { value: string }[] }).subfields[1]!.value = 'ed. by J. Smith';
    const results = await collect(readIso2709(chunks(marc8(ascii), 64)));
    expect(results[0]).toMatchObject({ ok: true, encoding: 'marc8', warnings: [] });
    sameContent(okRecords(results)[0]!, ascii);
  });

  it('rejects bytes that are not UTF-8 in a record that claims UTF-8', async () => {
    const latin1 = writeIso2709(record('9', 'plain ascii title'));
    const at = latin1.indexOf('plain');
    latin1[at] = 0xe9; // é in Latin-1, invalid as UTF-8
    const results = await collect(readIso2709(chunks(Buffer.concat([latin1, writeIso2709(recs[0]!)]), 64)));
    expect(results[0]).toMatchObject({ ok: false, index: 1 });
    expect(!results[0]!.ok && results[0]!.error).toMatch(/not UTF-8/);
    expect(results[1]!.ok).toBe(true);
  });

  it('rejects a subfield code that is not ASCII and reads the next one', async () => {
    const rec = record('9', 'x');
    (rec.fields[3] as { subfields: { code: string }[] }).subfields[0]!.code = 'é';
    const results = await collect(
      readIso2709(chunks(Buffer.concat([writeIso2709(rec), writeIso2709(recs[0]!)]), 64)),
    );
    expect(results.map((r) => r.ok)).toEqual([false, true]);
    expect(!results[0]!.ok && results[0]!.error).toMatch(
      /^record 1 field 100: a subfield code that is not an ASCII character \(byte 0xc3\)/,
    );
  });

  /** A record from raw field bytes (tag, data without the field terminator), lengths counted in bytes. */
  function raw(leader09: string, fields: [string, Buffer | string][]): Buffer {
    const bodies = fields.map(([, d]) =>
      Buffer.concat([Buffer.from(d as string, 'latin1'), Buffer.from([0x1e])]),
    );
    const base = 24 + fields.length * 12 + 1;
    let dir = '';
    let offset = 0;
    bodies.forEach((b, i) => {
      dir += fields[i]![0] + String(b.length).padStart(4, '0') + String(offset).padStart(5, '0');
      offset += b.length;
    });
    const length = base + offset + 1;
    const leader = `${String(length).padStart(5, '0')}nam ${leader09}22${String(base).padStart(5, '0')}   4500`;
    return Buffer.concat([Buffer.from(leader + dir + '\x1e', 'latin1'), ...bodies, Buffer.from([0x1d])]);
  }
  const withField100 = (data: string) =>
    raw(' ', [
      ['001', '1'],
      ['100', data],
    ]);

  it('drops extra characters between the indicators and the first subfield (as pymarc), with a warning', async () => {
    // Evergreen's sample_acq_order.mrc has `970 ␠␠\` this way.
    const results = await collect(readIso2709(chunks(withField100('1 \\\x1faM\xe8uller, Hans'), 64)));
    const r = results[0]!;
    if (!r.ok) throw new Error(r.error);
    expect(r.record.fields[1]).toEqual({
      tag: '100',
      ind1: '1',
      ind2: ' ',
      subfields: [{ code: 'a', value: 'Müller, Hans' }],
    });
    expect(r.warnings).toEqual(['field 100: "\\\\" between the indicators and the first subfield dropped']);
  });

  it.each([
    ['no indicators', '\x1faX', [' ', ' '], 'field 100: no indicators; blank taken'],
    ['one indicator', '1\x1faX', ['1', ' '], 'field 100: one indicator; blank taken'],
    [
      'an indicator that is not ASCII',
      '\xb21\x1faX',
      ['\ufffd', '1'],
      'field 100: indicator 1 is byte 0xb2, not an ASCII character; shown as U+FFFD',
    ],
  ])('reads a field with %s, with a warning', async (_what, data, [ind1, ind2], warning) => {
    const results = await collect(readIso2709(chunks(withField100(data), 64), { encoding: 'marc8' }));
    const r = results[0]!;
    if (!r.ok) throw new Error(r.error);
    expect(r.record.fields[1]).toEqual({ tag: '100', ind1, ind2, subfields: [{ code: 'a', value: 'X' }] });
    expect(r.warnings).toContain(warning);
  });

  it('reports a truncated record in the middle and still reads the record after it', async () => {
    const first = writeIso2709(recs[0]!);
    const truncated = first.subarray(0, first.length - 40); // loses its end and its terminator
    const buf = Buffer.concat([truncated, writeIso2709(recs[1]!), writeIso2709(recs[2]!)]);
    const results = await collect(readIso2709(chunks(buf, 7)));
    expect(results.map((r) => r.ok)).toEqual([false, true, true]);
    expect(!results[0]!.ok && results[0]!.error).toMatch(/record 1 is truncated or corrupt/);
    expect(results[1]!.offset).toBe(truncated.length);
    sameContent(okRecords(results)[0]!, recs[1]!);
    sameContent(okRecords(results)[1]!, recs[2]!);
  });

  it('reports a file cut off in its last record', async () => {
    const last = writeIso2709(recs[1]!);
    const buf = Buffer.concat([writeIso2709(recs[0]!), last.subarray(0, 50)]);
    const results = await collect(readIso2709(chunks(buf, 1)));
    expect(results.map((r) => r.ok)).toEqual([true, false]);
    expect(!results[1]!.ok && results[1]!.error).toMatch(
      /record 2 is truncated: the file ends after 50 bytes of \d+/,
    );
  });

  it('reports a bad directory entry, reads a record whose leader has the wrong length, and goes on', async () => {
    const badDir = writeIso2709(recs[0]!);
    badDir.write('X', 27, 'latin1'); // a letter in the first entry's field length
    const badLen = writeIso2709(recs[1]!);
    badLen.write(String(badLen.length + 1).padStart(5, '0'), 0, 'latin1');
    const buf = Buffer.concat([badDir, badLen, writeIso2709(recs[2]!)]);
    const results = await collect(readIso2709(chunks(buf, 13)));
    expect(results.map((r) => r.ok)).toEqual([false, true, true]);
    expect(!results[0]!.ok && results[0]!.error).toMatch(/record 1 has a bad directory entry/);
    // Every field is where the directory says: only the leader's length is wrong.
    expect(results[1]!.ok && results[1]!.warnings).toEqual([
      `the leader says ${badLen.length + 1} bytes; the record has ${badLen.length} (every field is where the directory says)`,
    ]);
    sameContent(okRecords(results)[0]!, recs[1]!);
  });

  /** The record with its 245 directory entry's length one byte short, as a character-counting writer gets it. */
  function charactersCounted(): Buffer {
    const rec = writeIso2709(recs[0]!);
    const dir = rec.toString('latin1', 24, Number(rec.toString('latin1', 12, 17)) - 1);
    const at = 24 + dir.indexOf('245');
    const len = Number(rec.toString('latin1', at + 3, at + 7));
    rec.write(String(len - 1).padStart(4, '0'), at + 3, 'latin1');
    return rec;
  }

  it('reads a record whose field lengths were counted in characters by its field terminators, with a warning', async () => {
    const results = await collect(readIso2709(chunks(charactersCounted(), 1000)));
    expect(results).toHaveLength(1);
    const r = results[0]!;
    if (!r.ok) throw new Error(r.error);
    expect(r.warnings).toEqual([
      'the directory does not match the data (field 245: does not end with a field terminator (lengths counted in characters, not bytes?)); each field was read up to its field terminator',
    ]);
    sameContent(r.record, recs[0]!);
  });

  it('refuses such a record when the field terminators do not match the directory either', async () => {
    const rec = charactersCounted();
    const at = rec.indexOf('Kaitai');
    rec[at] = 0x1e; // one field terminator too many
    const results = await collect(readIso2709(chunks(rec, 1000)));
    expect(!results[0]!.ok && results[0]!.error).toMatch(
      /^record 1 field 245: does not end with a field terminator \(lengths counted in characters, not bytes\?\)$/,
    );
  });

  it('skips line breaks between records and ignores trailing blank bytes', async () => {
    const buf = Buffer.concat([
      writeIso2709(recs[0]!),
      Buffer.from('\r\n'),
      writeIso2709(recs[1]!),
      Buffer.from('\n\x1a'),
    ]);
    const results = await collect(readIso2709(chunks(buf, 5)));
    expect(results.map((r) => r.ok)).toEqual([true, true]);
    expect(results[1]!.offset).toBe(writeIso2709(recs[0]!).length + 2);
  });

  it('does not buffer without bound when there is no record terminator', async () => {
    const garbage = Buffer.alloc(300_000, 0x41);
    const buf = Buffer.concat([garbage, Buffer.from([0x1d]), writeIso2709(recs[0]!)]);
    const results = await collect(readIso2709(chunks(buf, 4096)));
    expect(results.map((r) => r.ok)).toEqual([false, true]);
    expect(!results[0]!.ok && results[0]!.error).toMatch(/no record terminator within 99999 bytes/);
  });

  describe('readMarcFile', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'marc-file-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('reads an ISO 2709 file', async () => {
      const path = join(dir, 'records.mrc');
      writeFileSync(path, file);
      const results = await collect(readMarcFile(path));
      expect(results.map((r) => r.ok)).toEqual([true, true, true]);
      okRecords(results).forEach((r, i) => sameContent(r, recs[i]!));
    });

    it('detects and reads a MARCXML file (with a byte order mark and leading blanks)', async () => {
      const path = join(dir, 'records.xml');
      writeFileSync(
        path,
        Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('\n  ' + toMarcXmlCollection(recs))]),
      );
      const results = await collect(readMarcFile(path));
      expect(okRecords(results)).toEqual(recs);
    });
  });
});
