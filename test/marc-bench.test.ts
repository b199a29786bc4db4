import { runMarcBench, sampleRecord, writeMarc8Iso2709 } from '../bench/marc.bench';
import { matchKeys, readIso2709Record, toMarcJson } from '../src/marc';

describe('MARC benchmark', () => {
  it('generates, reads back every record in UTF-8, MARC-8 and MARCXML, and reports figures', async () => {
    const r = await runMarcBench({ records: 3000 });
    expect(r.records).toBe(3000);
    expect(r.iso2709RecordsPerSec).toBeGreaterThan(0);
    expect(r.marc8RecordsPerSec).toBeGreaterThan(0);
    expect(r.marcXmlRecordsPerSec).toBeGreaterThan(0);
    expect(r.peakRssMb).toBeGreaterThanOrEqual(r.rssBeforeReadMb);
    expect(r.peakRssMb).toBeGreaterThan(0);
  });

  it('generates records with valid ISBNs and order data', () => {
    expect(matchKeys(sampleRecord(42), { orderId: '980$a', poLine: '980$b' })).toEqual({
      orderIds: ['OASIS-42'],
      poLines: ['POL-42'],
      isbns: ['9780000000422'],
    });
  });

  it('writes the MARC-8 records with escapes, ANSEL marks and EACC, and they read back to the same text', () => {
    for (let i = 0; i < 6; i++) {
      const buf = writeMarc8Iso2709(sampleRecord(i));
      expect(buf[9]).toBe(0x20);
      const r = readIso2709Record(buf, 1);
      expect({ i, encoding: r.encoding, warnings: r.warnings }).toEqual({
        i,
        encoding: 'marc8',
        warnings: [],
      });
      expect(toMarcJson(r.record).fields).toEqual(toMarcJson(sampleRecord(i)).fields);
    }
    const cyrillic = writeMarc8Iso2709(sampleRecord(4)).toString('latin1');
    expect(cyrillic).toContain('\x1b(NtOLSTO'); // Толстой in Basic Cyrillic
    expect(cyrillic).toContain('\x1b$1'); // 杉田玄白 in EACC
  });
});
