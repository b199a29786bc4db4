/**
 * `rto edi run <account>`, `rto edi retry <account> <file>`, `rto overlay run <account> [file]`,
 * `rto schedules sync`. While a run works, progress lines go to stderr (a run that takes minutes is not silent);
 * the report (or, with --json, the one JSON object) goes to stdout at the end.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow';
import type { EdiFileProgress } from '../activities/edi';
import { ediFileWorkflowId, manualRunWorkflowId } from '../order/ids';
import { overlayWorkflow, type OverlayRunReport } from '../workflows/overlay';
import {
  ediPickupWorkflow,
  ediProgressQuery,
  type EdiRunProgress,
  type EdiRunReport,
} from '../workflows/edi';
import { followUpRetry, syncSchedules } from '../temporal/schedules';
import { EXIT, UsageError, parse, printJson } from './args';
import { connectOrders, loadContext } from './context';
import { printableLine } from './terminal';

const USAGE = `Usage:
  rto edi run <account> [--json]            pick up the vendor's EDI files now and print the run's report
  rto edi retry <account> <file> [--json]   read a file again once its cause is fixed (from rejected/, by its
                                            name there or the name it came with; or still in the folder)
  rto edi read <file> [--json]              read an EDI file and print what it says (touches nothing)
  rto overlay run <account> [file] [--json] run the MARC overlay now (all new files, or one by name)
  rto schedules sync                        create or update the EDI and overlay schedules

Progress lines go to stderr while a run works; the report goes to stdout.`;

/** Human-readable lines for a terminal: vendor text (names, references, reasons) made printable, one per line. */
function print(lines: string[]): void {
  process.stdout.write(lines.map(printableLine).join('\n') + '\n');
}

/** A progress line on stderr (vendor names made printable). */
function progressLine(text: string): void {
  process.stderr.write(printableLine(text) + '\n');
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** What an open workflow's running activity last heartbeated, decoded (undefined when nothing is known). */
async function heartbeatOf<T>(client: Client, workflowId: string): Promise<T | undefined> {
  try {
    const desc = await client.workflow.getHandle(workflowId).describe();
    const pending = desc.raw.pendingActivities?.[0];
    const payloads = pending?.heartbeatDetails?.payloads;
    if (!payloads?.length) return undefined;
    return await decodeFromPayloadsAtIndex<T>(client.options.loadedDataConverter, 0, payloads);
  } catch {
    return undefined;
  }
}

/**
 * Waits for a run, printing progress every so often: for EDI, each file as it is done (from the run's
 * `progress` query) and, for a long file, how far its reading has got; for the overlay, records done so far.
 */
async function watch<T>(
  client: Client,
  handle: WorkflowHandle,
  kind: 'edi' | 'overlay',
  account: string,
  intervalMs = 1000,
): Promise<T> {
  let finished = false;
  const result = handle.result().finally(() => (finished = true)) as Promise<T>;
  const started = Date.now();
  let printedDone = 0;
  let announcedFound = false;
  let current: string | undefined;
  let currentSince = Date.now();
  let lastNote = Date.now();
  progressLine(
    `${kind === 'edi' ? 'EDI pick-up' : 'MARC overlay'} for ${account}: started (${handle.workflowId})`,
  );
  const printDone = (p: EdiRunProgress) => {
    if (p.found !== undefined && !announcedFound) {
      announcedFound = true;
      progressLine(`  ${p.found} file(s) to read`);
    }
    for (const d of p.done.slice(printedDone)) {
      printedDone++;
      const counts = d.lines !== undefined ? ` (${d.lines} line(s), ${d.matched ?? 0} matched)` : '';
      progressLine(`  [${printedDone}/${p.found ?? '?'}] ${d.name}: ${d.outcome}${counts}`);
    }
  };
  const ask = async (): Promise<EdiRunProgress | undefined> => {
    try {
      return await handle.query(ediProgressQuery);
    } catch {
      return undefined;
    }
  };
  while (!finished) {
    await Promise.race([
      result.then(
        () => undefined,
        () => undefined,
      ),
      sleep(intervalMs),
    ]);
    if (finished) break;
    const now = Date.now();
    if (kind === 'edi') {
      const p = await ask();
      if (!p) continue;
      printDone(p);
      if (p.current !== current) {
        current = p.current;
        currentSince = now;
        if (current !== undefined) progressLine(`  reading ${current} …`);
      } else if (
        current !== undefined &&
        p.currentSha256 &&
        now - currentSince >= 10_000 &&
        now - lastNote >= 10_000
      ) {
        lastNote = now;
        const beat = await heartbeatOf<EdiFileProgress>(client, ediFileWorkflowId(account, p.currentSha256));
        const so = beat ? `: ${beat.messages} message(s), ${beat.lines} line(s) so far` : '';
        progressLine(`  … still reading ${current} (${Math.round((now - currentSince) / 1000)} s)${so}`);
      }
    } else if (now - lastNote >= 10_000) {
      lastNote = now;
      const beat = await heartbeatOf<{ done?: number }>(client, handle.workflowId);
      const so = beat?.done !== undefined ? `: ${beat.done} record(s) done in the current file` : '';
      progressLine(`  … working (${Math.round((now - started) / 1000)} s)${so}`);
    }
  }
  // What finished between two looks is still told, in order (a closed run still answers its query).
  const ok = await result.then(
    () => true,
    () => false,
  );
  if (kind === 'edi' && ok) {
    const p = await ask();
    if (p) printDone(p);
  }
  progressLine(`  ${ok ? 'done' : 'failed'} after ${Math.round((Date.now() - started) / 100) / 10} s`);
  return result;
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
      for (const p of f.report.problems ?? []) lines.push(`    not read: ${p.place}: ${p.reason}`);
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
      const handle = await conn.client.workflow.start(ediPickupWorkflow, {
        workflowId,
        taskQueue,
        args: [{ account: account!, retry: followUpRetry(ctx.config.accounts[account!]!) }],
      });
      const r = await watch<EdiRunReport>(conn.client, handle, 'edi', account!);
      if (values.json) printJson(r);
      else printEdi(r);
      // A file that failed or could not be read is a failure a script must see (the report says which).
      if (ediRunFailed(r)) return EXIT.failure;
    } else {
      const handle = await conn.client.workflow.start(overlayWorkflow, {
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
      const r = await watch<OverlayRunReport>(conn.client, handle, 'overlay', account!);
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

/**
 * `rto edi retry <account> <file>`: for an operator who fixed what made a file fail (a reader fixed, an order
 * created, the file edited in rejected/): the file is moved back from rejected/ (found by its name there or
 * the name it came with) into the pick-up folder, or taken where it is, and read again as a new run of its
 * file workflow. Exit 0 when it was read whole, 1 otherwise (not found, rejected again, failed).
 */
export async function retryCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { json: { type: 'boolean' } }, USAGE);
  if (values.help) {
    print(USAGE.split('\n'));
    return EXIT.ok;
  }
  const [sub, account, file, ...extra] = positionals;
  if (sub !== 'retry' || !account || !file || extra.length) throw new UsageError(USAGE);
  const ctx = loadContext();
  const acc = ctx.config.accounts[account];
  if (!acc || !Object.prototype.hasOwnProperty.call(ctx.config.accounts, account))
    throw new UsageError(
      `account "${account}" is not configured (known: ${Object.keys(ctx.config.accounts).join(', ')})`,
    );
  if (!acc.edi.source) throw new UsageError(`account "${account}" has no EDI source configured`);
  const conn = await connectOrders(ctx);
  try {
    const handle = await conn.client.workflow.start(ediPickupWorkflow, {
      workflowId: `${manualRunWorkflowId('edi', account, Date.now())}-retry`,
      taskQueue: ctx.settings.RTO_TASK_QUEUE,
      args: [{ account, retry: followUpRetry(acc), again: file }],
    });
    const r = await watch<EdiRunReport>(conn.client, handle, 'edi', account);
    if (values.json) printJson(r);
    else printEdi(r);
    return r.files.length > 0 && r.files.every((f) => f.outcome === 'processed') ? EXIT.ok : EXIT.failure;
  } finally {
    await conn.close();
  }
}
