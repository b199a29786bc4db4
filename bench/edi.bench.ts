/**
 * EDI reading benchmark: generates an EDIFACT file of N MB on the fly (INVOIC messages of ten lines, with
 * charges, tax and totals, as a real vendor's), reads it back with readEdiFile (message by message: envelope,
 * INVOIC semantics, reconciliation) and reports messages/second and peak RSS. The reading runs in a child
 * process of its own, so its RSS is the reader's, not the rest of the bench's.
 * Run: `npx tsx bench/edi.bench.ts [megabytes]` (default 200).
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readEdiFile } from '../src/edi/document';

export interface EdiBenchResult {
  megabytes: number;
  messages: number;
  lines: number;
  /** Messages read per second (each read whole: segments, INVOIC meaning, reconciliation). */
  messagesPerSec: number;
  megabytesPerSec: number;
  /** RSS just before reading (after a garbage collection), in MB. */
  rssBeforeReadMb: number;
  /** The highest RSS sampled while reading, in MB. */
  peakRssMb: number;
  /** Every invoice read and reconciled (a check that the figures are of real work). */
  reconciled: number;
}

/** One INVOIC message of ten lines (about 2.3 KB), numbered `i`. */
function invoice(i: number): string {
  const segs = [
    `UNH+M${i}+INVOIC:D:96A:UN:EAN008`,
    `BGM+380+INV-${i}+9`,
    'DTM+137:20261128:102',
    'NAD+BY+5412345000176::9',
    'NAD+SU+5013546025078::9',
    'CUX+2:GBP:4',
  ];
  for (let l = 1; l <= 10; l++) {
    segs.push(
      `LIN+${l}++978000746459${l % 10}:EN`,
      `IMD+L+050+:::A title of the book number ${i}-${l}`,
      'QTY+47:1',
      'MOA+203:7.40',
      'PRI+AAA:7.40',
      'PRI+AAB:12.99',
      `RFF+LI:POL-${i}-${l}`,
      'TAX+7+VAT+++:::0+Z',
      'MOA+124:0',
      'ALC+A++++DI::28',
      'PCD+3:43',
      'MOA+8:5.59',
    );
  }
  segs.push('UNS+S', 'CNT+2:10', 'MOA+79:74.00', 'ALC+C++++DL', 'MOA+8:2.50', 'MOA+9:76.50');
  segs.push(`UNT+${segs.length + 1}+M${i}`);
  return segs.join("'") + "'";
}

/** Writes about `megabytes` MB of INVOIC messages in one interchange; returns the message count. */
export function writeEdiFile(path: string, megabytes: number): number {
  const fd = openSync(path, 'w');
  const target = megabytes * 1024 * 1024;
  let written = 0;
  let messages = 0;
  try {
    const head = "UNA:+.? 'UNB+UNOC:3+5013546025078:14+5412345000176:14+261128:1200+BENCH'";
    written += writeSync(fd, head);
    while (written < target) {
      const parts: string[] = [];
      for (let k = 0; k < 200; k++) parts.push(invoice(++messages));
      written += writeSync(fd, parts.join('\n') + '\n');
    }
    writeSync(fd, `UNZ+${messages}+BENCH'`);
  } finally {
    closeSync(fd);
  }
  return messages;
}

const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

/** In the child: generate, collect garbage, read, measure. */
function child(megabytes: number): EdiBenchResult {
  const dir = mkdtempSync(join(tmpdir(), 'rto-edi-bench-'));
  const file = join(dir, 'bench.edi');
  try {
    writeEdiFile(file, megabytes);
    const size = statSync(file).size;
    (globalThis as { gc?: () => void }).gc?.();
    const before = process.memoryUsage.rss();
    let peak = before;
    let messages = 0;
    let lines = 0;
    let reconciled = 0;
    const started = process.hrtime.bigint();
    for (const d of readEdiFile(file, { fileName: 'bench.edi' })) {
      if (d.kind === 'invoice') {
        messages++;
        lines += d.invoice.lines.length;
        if (d.invoice.reconciliation.ok) reconciled++;
      } else if (d.kind !== 'warning') messages++;
      if (messages % 256 === 0) peak = Math.max(peak, process.memoryUsage.rss());
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    peak = Math.max(peak, process.memoryUsage.rss());
    return {
      megabytes: mb(size),
      messages,
      lines,
      messagesPerSec: Math.round(messages / seconds),
      megabytesPerSec: Math.round((size / 1024 / 1024 / seconds) * 10) / 10,
      rssBeforeReadMb: mb(before),
      peakRssMb: mb(peak),
      reconciled,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs the bench in a child process (its own RSS) and returns its figures. */
export function runEdiBench(opts: { megabytes: number }): Promise<EdiBenchResult> {
  const out = execFileSync(
    process.execPath,
    ['--expose-gc', '-r', 'tsx/cjs', __filename, '--child', String(opts.megabytes)],
    { encoding: 'utf8', maxBuffer: 1024 * 1024, cwd: join(__dirname, '..') },
  );
  return Promise.resolve(JSON.parse(out.trim().split('\n').pop()!) as EdiBenchResult);
}

if (require.main === module) {
  const args = process.argv.slice(2);
  if (args[0] === '--child') {
    process.stdout.write(JSON.stringify(child(Number(args[1] ?? 200))) + '\n');
  } else {
    void runEdiBench({ megabytes: Number(args[0] ?? 200) }).then((r) =>
      process.stdout.write(JSON.stringify(r, null, 2) + '\n'),
    );
  }
}
