/**
 * The EDI reader in bounded memory: a generated file read message by message in a child process of its own
 * (bench/edi.bench.ts), its RSS sampled while reading. `npm run bench` runs the same with 200 MB.
 */
import { runEdiBench } from '../bench/edi.bench';

jest.setTimeout(120_000);

test('a 24 MB file is read in bounded memory, every invoice reconciled', async () => {
  const r = await runEdiBench({ megabytes: 24 });
  expect(r.megabytes).toBeGreaterThanOrEqual(24);
  expect(r.messages).toBeGreaterThan(10_000);
  expect(r.lines).toBe(r.messages * 10);
  expect(r.reconciled).toBe(r.messages);
  // The whole file as segment objects would be over a gigabyte; message by message it is a few MB.
  expect(r.peakRssMb - r.rssBeforeReadMb).toBeLessThan(80);
  expect(r.peakRssMb).toBeLessThan(300);
});
