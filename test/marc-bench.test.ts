import { runMarcBench, sampleRecord } from '../bench/marc.bench';
import { matchKeys } from '../src/marc';

describe('MARC benchmark', () => {
  it('generates, reads back every record in both formats and reports figures', async () => {
    const r = await runMarcBench({ records: 3000 });
    expect(r.records).toBe(3000);
    expect(r.iso2709RecordsPerSec).toBeGreaterThan(1000);
    expect(r.marcXmlRecordsPerSec).toBeGreaterThan(500);
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
});
