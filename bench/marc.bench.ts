/**
 * MARC reading benchmark: generates N realistic records into temp files (ISO 2709 and MARCXML), streams them
 * back with readMarcFile and reports records/second and peak RSS. It runs a small and a large N so one can see
 * that memory does not grow with the file. Run: `npx tsx bench/marc.bench.ts [records]`.
 */
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { MARCXML_NAMESPACE, readMarcFile, toMarcXml, writeIso2709 } from '../src/marc';
import type { DataField, MarcRecord } from '../src/marc';

export interface MarcBenchResult {
  iso2709RecordsPerSec: number;
  marcXmlRecordsPerSec: number;
  /** The highest RSS sampled while reading, in MB. */
  peakRssMb: number;
  /** RSS just before reading (after a garbage collection), in MB: peak minus this is what reading costs. */
  rssBeforeReadMb: number;
  records: number;
}

const TITLES = [
  'Introduction to algorithms',
  'Die Blechtrommel',
  'Kaitai shinsho',
  'Les misérables',
  'Ἰλιάς',
  'Война и мир',
];
const NAMES = [
  'Müller, Hans',
  'Cormen, Thomas H.',
  'Sugita, Genpaku',
  'Hugo, Victor',
  'Толстой, Лев',
  'Ørsted, H. C.',
];

const df = (tag: string, ind1: string, ind2: string, ...pairs: [string, string][]): DataField => ({
  tag,
  ind1,
  ind2,
  subfields: pairs.map(([code, value]) => ({ code, value })),
});

function isbn13(n: number): string {
  const d12 = '978' + String(n % 1e9).padStart(9, '0');
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += Number(d12[i]) * (i % 2 === 0 ? 1 : 3);
  return d12 + ((10 - (sum % 10)) % 10);
}

/** A record shaped like a vendor's full record (about 1.2 KB in ISO 2709), with Latin, Cyrillic and CJK text. */
export function sampleRecord(i: number): MarcRecord {
  const title = TITLES[i % TITLES.length]!;
  const name = NAMES[i % NAMES.length]!;
  const fields: MarcRecord['fields'] = [
    { tag: '001', value: `PQ${String(i).padStart(9, '0')}` },
    { tag: '003', value: 'PQ' },
    { tag: '005', value: '20240310120000.0' },
    { tag: '008', value: '240310s2024    mau           000 0 eng d' },
    df('020', ' ', ' ', ['a', isbn13(i)], ['q', 'hardcover']),
    df('035', ' ', ' ', ['a', `(OCoLC)${100000000 + i}`]),
    df('040', ' ', ' ', ['a', 'DLC'], ['b', 'eng'], ['e', 'rda'], ['c', 'DLC']),
    df('050', '0', '0', ['a', 'QA76.6'], ['b', `.C${i % 1000} 2024`]),
    df('100', '1', ' ', ['a', `${name},`], ['e', 'author.']),
    df('245', '1', '0', ['a', `${title} /`], ['c', `${name} ; edited by 杉田玄白.`]),
    df('250', ' ', ' ', ['a', `${(i % 9) + 1}th edition.`]),
    df('264', ' ', '1', ['a', 'Cambridge, Massachusetts :'], ['b', 'The MIT Press,'], ['c', '[2024]']),
    df('300', ' ', ' ', ['a', 'xxii, 1292 pages :'], ['b', 'illustrations ;'], ['c', '24 cm']),
    df('336', ' ', ' ', ['a', 'text'], ['b', 'txt'], ['2', 'rdacontent']),
    df('337', ' ', ' ', ['a', 'unmediated'], ['b', 'n'], ['2', 'rdamedia']),
    df('338', ' ', ' ', ['a', 'volume'], ['b', 'nc'], ['2', 'rdacarrier']),
    df('504', ' ', ' ', ['a', 'Includes bibliographical references and index.']),
    df('650', ' ', '0', ['a', 'Computer programming.']),
    df('650', ' ', '0', ['a', 'Computer algorithms.']),
    df('700', '1', ' ', ['a', 'Leiserson, Charles Eric,'], ['e', 'author.']),
    df('880', '1', '0', ['6', '245-01'], ['a', '解體新書 /'], ['c', '杉田玄白翼譯 ; 中川淳庵鱗校.']),
    df('938', ' ', ' ', ['a', 'YBP Library Services'], ['b', 'YANK'], ['n', String(i)]),
    df('980', ' ', ' ', ['a', `OASIS-${i}`], ['b', `POL-${i}`], ['c', 'HIST']),
  ];
  return { leader: '00000cam a2200000 i 4500', fields };
}

/** Writes the generated file in batches, waiting for the stream to drain, so generation stays small too. */
async function writeFile(path: string, records: number, format: 'iso2709' | 'marcxml'): Promise<void> {
  const out = createWriteStream(path);
  if (format === 'marcxml')
    out.write(`<?xml version="1.0" encoding="UTF-8"?>\n<collection xmlns="${MARCXML_NAMESPACE}">\n`);
  const batch = 500;
  for (let i = 0; i < records; i += batch) {
    const parts: (Buffer | string)[] = [];
    for (let j = i; j < Math.min(i + batch, records); j++) {
      const r = sampleRecord(j);
      parts.push(format === 'iso2709' ? writeIso2709(r) : toMarcXml(r, { namespace: false }) + '\n');
    }
    const chunk = format === 'iso2709' ? Buffer.concat(parts as Buffer[]) : parts.join('');
    if (!out.write(chunk)) await once(out, 'drain');
  }
  if (format === 'marcxml') out.write('</collection>\n');
  out.end();
  await once(out, 'finish');
}

/** A garbage collector to settle the heap between phases, so RSS reflects the reader and not generation. */
function gcFunction(): (() => void) | undefined {
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
}

interface ReadFigures {
  recordsPerSec: number;
  peakRssMb: number;
  rssBeforeMb: number;
  ok: number;
}

async function timeRead(path: string, gc: (() => void) | undefined): Promise<ReadFigures> {
  gc?.();
  const before = process.memoryUsage.rss();
  let peak = before;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 10);
  const started = process.hrtime.bigint();
  let ok = 0;
  try {
    for await (const r of readMarcFile(path)) {
      if (!r.ok) throw new Error(`benchmark record failed: ${r.error}`);
      ok++;
      if (ok % 2000 === 0) peak = Math.max(peak, process.memoryUsage.rss());
    }
  } finally {
    clearInterval(timer);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  peak = Math.max(peak, process.memoryUsage.rss());
  return { recordsPerSec: Math.round(ok / seconds), peakRssMb: mb(peak), rssBeforeMb: mb(before), ok };
}

function mb(bytes: number): number {
  return Math.round((bytes / 1048576) * 10) / 10;
}

export async function runMarcBench(opts: { records?: number } = {}): Promise<MarcBenchResult> {
  const records = opts.records ?? 100_000;
  const dir = mkdtempSync(join(tmpdir(), 'marc-bench-'));
  const gc = gcFunction();
  try {
    const iso = join(dir, 'records.mrc');
    const xml = join(dir, 'records.xml');
    await writeFile(iso, records, 'iso2709');
    await writeFile(xml, records, 'marcxml');
    const a = await timeRead(iso, gc);
    const b = await timeRead(xml, gc);
    for (const f of [a, b]) if (f.ok !== records) throw new Error(`read ${f.ok} records of ${records}`);
    return {
      iso2709RecordsPerSec: a.recordsPerSec,
      marcXmlRecordsPerSec: b.recordsPerSec,
      peakRssMb: Math.max(a.peakRssMb, b.peakRssMb),
      rssBeforeReadMb: Math.min(a.rssBeforeMb, b.rssBeforeMb),
      records,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const large = Number(process.argv[2] ?? 100_000);
  const small = Math.min(10_000, large);
  const started = Date.now();
  const rows: MarcBenchResult[] = [];
  for (const n of small === large ? [large] : [small, large]) rows.push(await runMarcBench({ records: n }));
  console.log(
    'records   ISO 2709 rec/s   MARCXML rec/s   RSS before reading (MB)   peak RSS while reading (MB)',
  );
  for (const r of rows) {
    console.log(
      [
        String(r.records).padStart(7),
        String(r.iso2709RecordsPerSec).padStart(16),
        String(r.marcXmlRecordsPerSec).padStart(15),
        String(r.rssBeforeReadMb).padStart(25),
        String(r.peakRssMb).padStart(29),
      ].join(' '),
    );
  }
  console.log(`total ${((Date.now() - started) / 1000).toFixed(1)} s (files generated, read and deleted)`);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
