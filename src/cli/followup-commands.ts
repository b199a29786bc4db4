/** `rto edi run <account>`, `rto overlay run <account> [file]`, `rto schedules sync`. */
import { manualRunWorkflowId } from '../order/ids';
import { overlayWorkflow, type OverlayRunReport } from '../workflows/overlay';
import { ediPickupWorkflow, type EdiRunReport } from '../workflows/edi';
import { followUpRetry, syncSchedules } from '../temporal/schedules';
import { EXIT, UsageError, parse, printJson } from './args';
import { connectOrders, loadContext } from './context';
import { printableLine } from './terminal';

const USAGE = `Usage:
  rto edi run <account> [--json]            pick up the vendor's EDI files now and print the run's report
  rto overlay run <account> [file] [--json] run the MARC overlay now (all new files, or one by name)
  rto schedules sync                        create or update the EDI and overlay schedules`;

/** Human-readable lines for a terminal: vendor text (names, references, reasons) made printable, one per line. */
function print(lines: string[]): void {
  process.stdout.write(lines.map(printableLine).join('\n') + '\n');
}

function printEdi(r: EdiRunReport) {
  const lines = [`EDI pick-up for ${r.account}: ${r.files.length} file(s)`];
  for (const f of r.files) {
    lines.push(`  ${f.name}: ${f.outcome}${f.detail ? ` (${f.detail})` : ''}`);
    if (f.report) {
      const ended = f.report.endedTotal ? `, ${f.report.endedTotal} for orders that have ended` : '';
      lines.push(
        `    ${f.report.lines} line(s), ${f.report.matched} matched${ended}, ${f.report.unmatchedTotal} unmatched${f.report.error ? `; ${f.report.error}` : ''}`,
      );
      if (f.report.movedTo) lines.push(`    moved on the server to ${f.report.movedTo}`);
      for (const e of f.report.ended ?? [])
        lines.push(
          `    line ${e.line} (segment ${e.segment}): order ${e.orderId} has ended: ${e.stage} (${e.news})`,
        );
      for (const u of f.report.unmatched)
        lines.push(`    unmatched line ${u.line} (segment ${u.segment}): ${u.reason}`);
      for (const m of f.report.mismatches) lines.push(`    invoice difference: ${m}`);
    }
  }
  for (const n of r.rejectedNames) lines.push(`  refused file name ${JSON.stringify(n.name)}: ${n.reason}`);
  print(lines);
}

/** A run a script must see as failed: a file failed or was rejected, or a file name was refused. */
export function ediRunFailed(r: EdiRunReport): boolean {
  return (
    r.files.some((f) => f.outcome === 'failed' || f.outcome === 'rejected') || r.rejectedNames.length > 0
  );
}

function printOverlay(r: OverlayRunReport) {
  const lines = [
    `MARC overlay for ${r.account}: read ${r.read}, matched ${r.matched}, overlaid ${r.overlaid}, unmatched ${r.unmatched}, failed ${r.failed} (${r.almaCalls} Alma calls)`,
  ];
  for (const f of r.files) {
    lines.push(`  ${f.name}: ${f.outcome}${f.detail ? ` (${f.detail})` : ''}`);
    for (const u of f.report?.unmatched ?? []) lines.push(`    record ${u.record} unmatched: ${u.reason}`);
    for (const u of f.report?.failed ?? []) lines.push(`    record ${u.record} failed: ${u.reason}`);
  }
  print(lines);
}

export async function followUpCommand(cmd: string, args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { json: { type: 'boolean' } }, USAGE);
  if (values.help) {
    print(USAGE.split('\n'));
    return EXIT.ok;
  }
  const ctx = loadContext();
  // Mistakes in the command are found from the configuration alone, before (and without) a Temporal server.
  const [sub, account, file] = positionals;
  if (cmd === 'schedules' ? sub !== 'sync' : sub !== 'run' || !account) throw new UsageError(USAGE);
  if (cmd !== 'schedules') {
    const acc = account ? ctx.config.accounts[account] : undefined;
    if (!acc)
      throw new UsageError(
        `account "${account}" is not configured (known: ${Object.keys(ctx.config.accounts).join(', ')})`,
      );
    const kind = cmd === 'edi' ? 'edi' : 'marc';
    if (!acc[kind].source)
      throw new UsageError(`account "${account}" has no ${kind.toUpperCase()} source configured`);
  }
  const conn = await connectOrders(ctx);
  try {
    if (cmd === 'schedules') {
      const ids = await syncSchedules(conn.client, {
        config: ctx.config,
        taskQueue: ctx.settings.RTO_TASK_QUEUE,
      });
      print(ids);
      return EXIT.ok;
    }
    const workflowId = manualRunWorkflowId(cmd === 'edi' ? 'edi' : 'overlay', account!, Date.now());
    const taskQueue = ctx.settings.RTO_TASK_QUEUE;
    if (cmd === 'edi') {
      const r = await conn.client.workflow.execute(ediPickupWorkflow, {
        workflowId,
        taskQueue,
        args: [{ account: account!, retry: followUpRetry(ctx.config.accounts[account!]!) }],
      });
      if (values.json) printJson(r);
      else printEdi(r);
      // A file that failed or could not be read is a failure a script must see (the report says which).
      if (ediRunFailed(r)) return EXIT.failure;
    } else {
      const r = await conn.client.workflow.execute(overlayWorkflow, {
        workflowId,
        taskQueue,
        args: [
          {
            account: account!,
            retry: followUpRetry(ctx.config.accounts[account!]!),
            ...(file ? { file } : {}),
          },
        ],
      });
      if (values.json) printJson(r);
      else printOverlay(r);
      // A file named on the command line that is not there is a failure a script must see.
      if (r.files.some((f) => f.outcome === 'not found')) return EXIT.failure;
    }
    return EXIT.ok;
  } finally {
    await conn.close();
  }
}
