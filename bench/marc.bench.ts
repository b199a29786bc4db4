/**
 * MARC reading benchmark: generates N realistic records into temp files (ISO 2709 in UTF-8, the same records in
 * MARC-8, and MARCXML), streams them back with readMarcFile and reports records/second and peak RSS. It runs a
 * small and a large N so one can see that memory does not grow with the file.
 * Run: `npx tsx bench/marc.bench.ts [records]`.
 *
 * The MARC-8 file holds the same text as the UTF-8 one (Latin with diacritics in ANSEL, Cyrillic and Greek by
 * escape sequences, CJK in EACC), written by the small encoder below from LC's tables, and reads back to it.
 */
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { MARCXML_NAMESPACE, isControlField, readMarcFile, toMarcXml, writeIso2709 } from '../src/marc';
import type { DataField, MarcRecord } from '../src/marc';
import { MARC8_SETS } from '../src/marc/marc8-tables';

export interface MarcBenchResult {
  /** ISO 2709 in UTF-8. */
  iso2709RecordsPerSec: number;
  /** The same records in ISO 2709 MARC-8 (decoded to Unicode NFC while read). */
  marc8RecordsPerSec: number;
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

/** MARC-8 for the generated records: Unicode to the LC sets' codes, marks before their base. */
class Marc8Encoder {
  private readonly sets = new Map<number, Map<number, { code: number; combining: boolean }>>();

  constructor() {
    for (const src of MARC8_SETS) {
      const map = new Map<number, { code: number; combining: boolean }>();
      for (const word of src.codes.split(/\s+/)) {
        if (!word) continue;
        const combining = word.startsWith('+');
        const [marc, ucs] = (combining ? word.slice(1) : word).split(':') as [string, string];
        if (ucs === '') continue;
        const cp = parseInt(ucs, 16);
        if (!map.has(cp)) map.set(cp, { code: parseInt(marc, 16), combining });
      }
      this.sets.set(src.final, map);
    }
  }

  /** One value: G0 starts and ends as ASCII, G1 stays ANSEL; what no set has is a character reference. */
  encode(text: string): Buffer {
    const out: number[] = [];
    let g0 = 0x42;
    const use = (final: number) => {
      if (g0 === final) return;
      if (final === 0x31) out.push(0x1b, 0x24, 0x31);
      else out.push(0x1b, 0x28, final);
      g0 = final;
    };
    const ansel = this.sets.get(0x45)!;
    const ncr = (cp: number) => {
      use(0x42);
      for (const c of `&#x${cp.toString(16).toUpperCase()};`) out.push(c.charCodeAt(0));
    };
    const clusters = text.normalize('NFD').match(/\P{M}\p{M}*|\p{M}+/gu) ?? [];
    for (const cluster of clusters) {
      const [base, ...marks] = [...cluster].map((c) => c.codePointAt(0)!);
      if (base === undefined) continue;
      let final: number | null = null;
      let code = 0;
      if (base >= 0x20 && base < 0x7f) [final, code] = [0x42, base];
      else if (ansel.get(base) && !ansel.get(base)!.combining) [final, code] = [0x45, ansel.get(base)!.code];
      else
        for (const f of [0x4e, 0x53, 0x31]) {
          const m = this.sets.get(f)!.get(base);
          if (m && !m.combining) [final, code] = [f, m.code];
        }
      const markCodes = marks.map(
        (m) => ansel.get(m)?.code ?? (final !== null ? this.sets.get(final)?.get(m)?.code : undefined),
      );
      if (final === null || markCodes.some((c) => c === undefined)) {
        for (const c of cluster.normalize('NFC')) ncr(c.codePointAt(0)!);
        continue;
      }
      if (final !== 0x45) use(final);
      const inG0 = (c: number, m: number) =>
        final !== 0x45 && this.sets.get(final!)?.get(m)?.code === c && c < 0x80;
      marks.forEach((m, k) => out.push(inG0(markCodes[k]!, m) ? markCodes[k]! : ansel.get(m)!.code));
      if (final === 0x31) out.push(code >> 16, (code >> 8) & 0xff, code & 0xff);
      else out.push(code);
    }
    use(0x42);
    return Buffer.from(out);
  }
}

/** ISO 2709 of a record whose values are MARC-8 bytes (leader/09 blank). */
export function writeMarc8Iso2709(record: MarcRecord, encoder = new Marc8Encoder()): Buffer {
  const bodies = record.fields.map((f) => {
    if (isControlField(f)) return Buffer.concat([encoder.encode(f.value), Buffer.from([0x1e])]);
    const parts: Buffer[] = [Buffer.from(f.ind1 + f.ind2, 'latin1')];
    for (const sf of f.subfields)
      parts.push(Buffer.from([0x1f, sf.code.charCodeAt(0)]), encoder.encode(sf.value));
    parts.push(Buffer.from([0x1e]));
    return Buffer.concat(parts);
  });
  const base = 24 + bodies.length * 12 + 1;
  let offset = 0;
  let dir = '';
  bodies.forEach((b, i) => {
    dir += record.fields[i]!.tag + String(b.length).padStart(4, '0') + String(offset).padStart(5, '0');
    offset += b.length;
  });
  const length = base + offset + 1;
  const l = record.leader;
  const leader = `${String(length).padStart(5, '0')}${l.slice(5, 9)} 22${String(base).padStart(5, '0')}${l.slice(17, 20)}4500`;
  return Buffer.concat([Buffer.from(leader + dir + '\x1e', 'latin1'), ...bodies, Buffer.from([0x1d])]);
}

/** Writes the generated file in batches, waiting for the stream to drain, so generation stays small too. */
async function writeFile(
  path: string,
  records: number,
  format: 'iso2709' | 'marc8' | 'marcxml',
): Promise<void> {
  const out = createWriteStream(path);
  const encoder = format === 'marc8' ? new Marc8Encoder() : null;
  if (format === 'marcxml')
    out.write(`<?xml version="1.0" encoding="UTF-8"?>\n<collection xmlns="${MARCXML_NAMESPACE}">\n`);
  const batch = 500;
  for (let i = 0; i < records; i += batch) {
    const parts: (Buffer | string)[] = [];
    for (let j = i; j < Math.min(i + batch, records); j++) {
      const r = sampleRecord(j);
      parts.push(
        encoder
          ? writeMarc8Iso2709(r, encoder)
          : format === 'iso2709'
            ? writeIso2709(r)
            : toMarcXml(r, { namespace: false }) + '\n',
      );
    }
    const chunk = format === 'marcxml' ? parts.join('') : Buffer.concat(parts as Buffer[]);
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
    const marc8 = join(dir, 'records-marc8.mrc');
    const xml = join(dir, 'records.xml');
    await writeFile(iso, records, 'iso2709');
    await writeFile(marc8, records, 'marc8');
    await writeFile(xml, records, 'marcxml');
    const a = await timeRead(iso, gc);
    const m = await timeRead(marc8, gc);
    const b = await timeRead(xml, gc);
    for (const f of [a, m, b]) if (f.ok !== records) throw new Error(`read ${f.ok} records of ${records}`);
    return {
      iso2709RecordsPerSec: a.recordsPerSec,
      marc8RecordsPerSec: m.recordsPerSec,
      marcXmlRecordsPerSec: b.recordsPerSec,
      peakRssMb: Math.max(a.peakRssMb, m.peakRssMb, b.peakRssMb),
      rssBeforeReadMb: Math.min(a.rssBeforeMb, m.rssBeforeMb, b.rssBeforeMb),
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
    'records   ISO 2709 UTF-8 rec/s   ISO 2709 MARC-8 rec/s   MARCXML rec/s   RSS before reading (MB)   peak RSS while reading (MB)',
  );
  for (const r of rows) {
    console.log(
      [
        String(r.records).padStart(7),
        String(r.iso2709RecordsPerSec).padStart(22),
        String(r.marc8RecordsPerSec).padStart(23),
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
