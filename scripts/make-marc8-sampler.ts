/**
 * Writes test/fixtures/marc/made-up/marc8-every-code.mrc: MARC-8 records that hold every code of every character
 * set in LC's codetables.xml (scripts/data/codetables.xml), each set invoked the way MARC-8 does it, so that an
 * independent reader (yaz-marcdump, see scripts/record-yaz-readings.sh) can be compared with ours on the whole
 * repertoire, not only on what real records happen to use.
 *
 *   npx tsx scripts/make-marc8-sampler.ts
 *
 * One record per set (EACC over several fields). Each code is written between spaces; a combining mark is
 * followed by a base character of its own set (or ASCII `o` for ANSEL) so that it has something to combine with.
 * Single-byte sets listed in A1-FE (ANSEL, Extended Cyrillic, Extended Arabic) are designated into G1, the
 * others into G0; Greek symbols, subscripts and superscripts with the Technique 1 escapes.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SaxesParser } from 'saxes';

const ROOT = join(__dirname, '..');
const OUT = join(ROOT, 'test/fixtures/marc/made-up/marc8-every-code.mrc');

interface Code {
  marc: number;
  combining: boolean;
}
interface Set {
  name: string;
  final: number;
  codes: Code[];
  multibyte: boolean;
}

function readSets(): Set[] {
  const xml = readFileSync(join(ROOT, 'scripts/data/codetables.xml'), 'utf8');
  const sets: Set[] = [];
  const p = new SaxesParser();
  let set: Set | null = null;
  let code: { marc?: number; combining: boolean } | null = null;
  let text = '';
  p.on('opentag', (t) => {
    text = '';
    if (t.name === 'characterSet') {
      set = {
        name: String(t.attributes['name']),
        final: parseInt(String(t.attributes['ISOcode']), 16),
        codes: [],
        multibyte: false,
      };
      sets.push(set);
    } else if (t.name === 'code') code = { combining: false };
  });
  p.on('text', (t) => (text += t));
  p.on('closetag', (t) => {
    const v = text.trim();
    text = '';
    if (!code || !set) return;
    if (t.name === 'marc') {
      code.marc = parseInt(v, 16);
      if (v.length === 6) set.multibyte = true;
    } else if (t.name === 'isCombining') code.combining = v === 'true';
    else if (t.name === 'code') {
      set.codes.push({ marc: code.marc!, combining: code.combining });
      code = null;
    }
  });
  p.write(xml).close();
  return sets;
}

const ESC = 0x1b;

function record(id: string, fields: Buffer[][]): Buffer {
  // fields: [tag+indicators..., subfield bytes]; built as 245 fields with $a subfields.
  const bodies: Buffer[] = [Buffer.from(`${id}\x1e`, 'latin1')];
  const tags = ['001'];
  for (const subfields of fields) {
    const parts: Buffer[] = [Buffer.from('00', 'latin1')];
    for (const s of subfields) parts.push(Buffer.from([0x1f, 0x61]), s);
    parts.push(Buffer.from([0x1e]));
    bodies.push(Buffer.concat(parts));
    tags.push('500');
  }
  const base = 24 + tags.length * 12 + 1;
  let offset = 0;
  let dir = '';
  bodies.forEach((b, i) => {
    if (b.length > 9999) throw new Error(`field of ${b.length} bytes`);
    dir += tags[i] + String(b.length).padStart(4, '0') + String(offset).padStart(5, '0');
    offset += b.length;
  });
  const length = base + offset + 1;
  if (length > 99999) throw new Error(`record of ${length} bytes`);
  const leader = `${String(length).padStart(5, '0')}nam  22${String(base).padStart(5, '0')}   4500`;
  return Buffer.concat([Buffer.from(leader + dir + '\x1e', 'latin1'), ...bodies, Buffer.from([0x1d])]);
}

function chunk<T>(list: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

function main(): void {
  const sets = readSets();
  const records: Buffer[] = [];
  for (const set of sets) {
    if (set.final === 0x42) continue; // ASCII: every other record is full of it
    const id = `marc8-${set.final.toString(16)}`;
    if (set.multibyte) {
      const bytes = set.codes.map((c) => Buffer.from([c.marc >> 16, (c.marc >> 8) & 0xff, c.marc & 0xff]));
      const subfields = chunk(bytes, 400).map((run) =>
        Buffer.concat([Buffer.from([ESC, 0x24, 0x31]), ...run, Buffer.from([ESC, 0x28, 0x42])]),
      );
      for (const [k, fields] of chunk(chunk(subfields, 5), 10).entries())
        records.push(record(`${id}-${k + 1}`, fields));
      continue;
    }
    const graphic = set.codes.filter(
      (c) => c.marc >= 0x21 && c.marc !== 0x7f && !(c.marc >= 0x80 && c.marc < 0xa1),
    );
    const c1 = set.codes.filter((c) => c.marc >= 0x80 && c.marc < 0xa0);
    const g1 = graphic.some((c) => c.marc >= 0xa1);
    const technique1 = set.final === 0x67 || set.final === 0x62 || set.final === 0x70;
    const open = technique1
      ? Buffer.from([ESC, set.final])
      : set.final === 0x45
        ? Buffer.alloc(0) // ANSEL is G1 by default
        : Buffer.from([ESC, g1 ? 0x29 : 0x28, set.final]);
    const close = technique1
      ? Buffer.from([ESC, 0x73])
      : set.final === 0x45
        ? Buffer.alloc(0)
        : g1
          ? Buffer.from([ESC, 0x29, 0x45]) // ANSEL back into G1
          : Buffer.from([ESC, 0x28, 0x42]);
    const baseOf = graphic.find((c) => !c.combining);
    const baseByte = g1 || !baseOf ? 0x6f : baseOf.marc; // 'o' from G0 ASCII when the set is in G1
    const words = graphic.map((c) => Buffer.from(c.combining ? [c.marc, baseByte] : [c.marc]));
    const subfields = chunk(words, 24).map((run) => {
      const parts: Buffer[] = [open];
      run.forEach((w, k) => parts.push(k ? Buffer.from([0x20]) : Buffer.alloc(0), w));
      parts.push(close);
      return Buffer.concat(parts);
    });
    if (c1.length) subfields.push(Buffer.from([0x41, ...c1.flatMap((c) => [c.marc, 0x42])]));
    records.push(record(id, [subfields]));
  }
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, Buffer.concat(records));
  process.stdout.write(`wrote ${OUT}: ${records.length} records\n`);
}

if (require.main === module) main();
