/**
 * `rto edi read FILE [--json]`: what the EDI reader makes of one file, touching nothing (no configuration, no
 * Temporal, no vendor folder). `rto edi run` and `rto edi retry` are in followup-commands.ts.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { readEdiFile } from '../edi/document';
import { ediReadJson, type EdiRead, type EdiReadMessage } from '../edi/read-json';
import { EXIT, UsageError, parse, printJson, requireFile } from './args';
import { printableLine } from './terminal';

const USAGE = `Usage:
  rto edi read <file> [--json]              read an EDI file and print what it says (touches nothing)
  rto edi run <account> [--json]            pick up the vendor's EDI files now and print the run's report
  rto edi retry <account> <file> [--json]   read a rejected file again, once its cause is fixed

rto edi read exits 0 when every message was read (warnings allowed), 1 when some message could not be read
(the others are still listed), 2 when the file is not EDIFACT.`;

function print(lines: string[]): void {
  process.stdout.write(lines.map(printableLine).join('\n') + '\n');
}

async function sha256Of(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

function describeMessage(m: EdiReadMessage, n: number): string[] {
  const head = [m.type ?? 'message', m.number ?? '(no number)'].join(' ');
  const facts = [m.kind, m.date, m.currency].filter((f) => f !== null).join(', ');
  const out = [`message ${n}: ${head}${facts ? ` (${facts})` : ''}, ${m.lines.length} line(s)`];
  for (const l of m.lines) {
    const parts = [
      l.isbn ? `ISBN ${l.isbn}` : undefined,
      l.quantity !== null ? `quantity ${l.quantity}` : undefined,
      l.unitPrice !== null ? `unit price ${l.unitPrice}` : undefined,
      l.amount !== null ? `amount ${l.amount}${l.currency ? ` ${l.currency}` : ''}` : undefined,
      l.references.length
        ? `references ${l.references.map((r) => `${r.qualifier} ${r.value}`).join(', ')}`
        : undefined,
      l.statusText ?? undefined,
    ].filter((p) => p !== undefined);
    out.push(`  line ${l.line}: ${parts.join('; ')}`);
  }
  for (const c of m.charges)
    out.push(
      `  ${c.level} ${c.kind}: ${c.amount ?? '(no amount)'}${c.currency ? ` ${c.currency}` : ''}${c.description ? ` (${c.description})` : ''}`,
    );
  const totals = Object.entries(m.totals);
  if (totals.length) out.push(`  totals: ${totals.map(([q, a]) => `MOA+${q} ${a}`).join(', ')}`);
  const r = m.reconciliation;
  if (r)
    out.push(
      r.stated === null
        ? `  reconciliation: no total stated; computed ${r.computed}`
        : `  reconciliation: stated ${r.stated}, computed ${r.computed}, difference ${r.difference}: ${r.ok ? 'ok' : 'DOES NOT ADD UP'}`,
    );
  for (const w of m.warnings) out.push(`  warning: ${w}`);
  for (const p of m.problems) out.push(`  NOT READ: ${p}`);
  return out;
}

function printRead(r: EdiRead): void {
  const lines = [`${r.file}: sha256 ${r.sha256}, ${r.messages.length} message(s)`];
  r.messages.forEach((m, i) => lines.push(...describeMessage(m, i + 1)));
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  for (const p of r.problems) lines.push(`problem: ${p}`);
  print(lines);
}

async function readCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { json: { type: 'boolean' } }, USAGE);
  const [, file, ...extra] = positionals;
  if (!file || extra.length) throw new UsageError(USAGE);
  requireFile(file);
  const sha256 = await sha256Of(file);
  const { read, notEdifact, unreadable } = ediReadJson(
    path.basename(file),
    sha256,
    readEdiFile(file, { fileName: path.basename(file) }),
  );
  if (values.json) printJson(read);
  else printRead(read);
  if (notEdifact) return EXIT.invalid;
  return unreadable > 0 || read.problems.length > 0 ? EXIT.failure : EXIT.ok;
}

export async function ediCommand(args: string[]): Promise<number> {
  const sub = args.find((a) => !a.startsWith('-'));
  if (sub === 'read') return readCommand(args);
  if (sub === 'retry') {
    const { retryCommand } = require('./followup-commands') as typeof import('./followup-commands');
    return retryCommand(args);
  }
  const { followUpCommand } = require('./followup-commands') as typeof import('./followup-commands');
  return followUpCommand('edi', args);
}
