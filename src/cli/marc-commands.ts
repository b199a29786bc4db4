/**
 * `rto marc read FILE [--json] [--encoding auto|utf8|marc8]`: what the MARC reader makes of one ISO 2709 or
 * MARCXML file, touching nothing (no configuration, no Temporal, no vendor folder). It is the reader the nightly
 * overlay uses, so an operator sees here what the overlay would load, and why a record would be refused.
 */
import { once } from 'node:events';
import {
  isControlField,
  readMarcFile,
  sniffMarcFile,
  toMarcJson,
  type MarcEncoding,
  type MarcRecord,
} from '../marc';
import { EXIT, UsageError, oneOf, parse, requireFile } from './args';
import { printableLine } from './terminal';

const ENCODINGS = ['auto', 'utf8', 'marc8'] as const satisfies readonly MarcEncoding[];

const USAGE = `Usage:
  rto marc read <file> [--json] [--encoding auto|utf8|marc8]
      read an ISO 2709 or MARCXML file and print its records (touches nothing)

  --json       one line per record in MARC-in-JSON (Unicode NFC); a record that cannot be read is
               {"unreadable": "<reason>", "index": n}; warnings go to stderr
  --encoding   ISO 2709 only: auto (default) follows leader/09 (a: UTF-8; blank: MARC-8, unless the bytes
               are valid UTF-8 with non-ASCII characters), or read every record as utf8 or marc8

rto marc read exits 0 when every record was read (warnings allowed), 1 when some record could not be read
(the others are still listed), 2 when the file is not MARC.`;

/**
 * Standard output with backpressure (a large file piped into a slow reader is not buffered whole) that
 * notices a reader that went away (`| head`): reading stops, quietly.
 */
class Output {
  closed = false;
  private failed: Error | null = null;
  constructor() {
    process.stdout.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') this.closed = true;
      else this.failed = e;
    });
  }
  async write(text: string): Promise<void> {
    if (this.failed) throw this.failed;
    if (this.closed) return;
    if (process.stdout.write(text)) return;
    try {
      await once(process.stdout, 'drain');
    } catch (e) {
      // once() rejects with the stream's error: a reader gone is the end of output, anything else a failure.
      if ((e as NodeJS.ErrnoException).code !== 'EPIPE') throw e;
      this.closed = true;
    }
  }
  /** A human-readable line: made printable (vendor text may hold control characters). */
  line(text: string): Promise<void> {
    return this.write(`${printableLine(text)}\n`);
  }
}

function err(line: string): void {
  process.stderr.write(`${printableLine(line)}\n`);
}

/** A record as lines a person reads: the leader, then one line per field (`245 10 $a … $c …`). */
function fieldLines(record: MarcRecord): string[] {
  return record.fields.map((f) =>
    isControlField(f)
      ? `  ${f.tag} ${f.value}`
      : `  ${f.tag} ${f.ind1}${f.ind2} ${f.subfields.map((s) => `$${s.code} ${s.value}`).join(' ')}`,
  );
}

async function readCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    { json: { type: 'boolean' }, encoding: { type: 'string' } },
    USAGE,
  );
  const [, file, ...extra] = positionals;
  if (!file || extra.length) throw new UsageError(USAGE);
  const encoding = oneOf('encoding', values.encoding ?? 'auto', ENCODINGS);
  requireFile(file);

  const sniff = await sniffMarcFile(file);
  if (sniff.notMarc !== null) {
    err(`${file} is not MARC: ${sniff.notMarc}`);
    return EXIT.invalid;
  }
  if (sniff.format === 'marcxml' && encoding !== 'auto')
    err(`--encoding ${encoding} is for ISO 2709; ${file} is MARCXML, read as the XML it is (UTF-8)`);

  let read = 0;
  let unreadable = 0;
  let warned = 0;
  const encodings = { utf8: 0, marc8: 0 };
  const where = sniff.format === 'marcxml' ? 'character' : 'byte';
  const o = new Output();
  for await (const r of readMarcFile(file, { encoding })) {
    if (o.closed) break;
    if (!r.ok) {
      unreadable++;
      if (values.json) await o.write(`${JSON.stringify({ unreadable: r.error, index: r.index })}\n`);
      else await o.line(`record ${r.index} at ${where} ${r.offset}: NOT READ: ${r.error}`);
      continue;
    }
    read++;
    if (r.encoding) encodings[r.encoding]++;
    const warnings = r.warnings ?? [];
    if (warnings.length) warned++;
    if (values.json) {
      await o.write(`${JSON.stringify(toMarcJson(r.record))}\n`);
      for (const w of warnings) err(`record ${r.index}: warning: ${w}`);
      continue;
    }
    const enc = r.encoding === 'marc8' ? ', MARC-8' : r.encoding === 'utf8' ? ', UTF-8' : '';
    await o.line(`record ${r.index} at ${where} ${r.offset}${enc}: leader ${r.record.leader}`);
    for (const l of fieldLines(r.record)) await o.line(l);
    for (const w of warnings) await o.line(`  warning: ${w}`);
  }
  if (o.closed) return unreadable > 0 ? EXIT.failure : EXIT.ok;
  const total = read + unreadable;
  if (total === 0) {
    err(`${file} is not MARC: no record in it`);
    return EXIT.invalid;
  }
  if (!values.json) {
    const kinds = sniff.format === 'iso2709' ? ` (${encodings.marc8} MARC-8, ${encodings.utf8} UTF-8)` : '';
    await o.line(
      `${file}: ${sniff.format === 'marcxml' ? 'MARCXML' : 'ISO 2709'}, ${total} record(s): ${read} read${kinds}, ` +
        `${warned} with warnings, ${unreadable} not read`,
    );
  }
  return unreadable > 0 ? EXIT.failure : EXIT.ok;
}

export async function marcCommand(args: string[]): Promise<number> {
  const sub = args.find((a) => !a.startsWith('-'));
  if (sub === 'read') return readCommand(args);
  if (sub === undefined && (args.includes('--help') || args.includes('-h'))) {
    process.stdout.write(`${USAGE}\n`);
    return EXIT.ok;
  }
  throw new UsageError(USAGE);
}
