/** `rto order submit|check|status|cancel|release|list`: what OASIS (or a person) does with orders from a shell. */
import { readFileSync } from 'node:fs';
import { AlmaAccess } from '../institution/alma-access';
import { dryRunOrder, type DryRunReport } from '../intake/dry-run';
import { parseOrderText } from '../contract/validate';
import { OrderNotHeldError, cancellationReasons, reached, type OrderSummary } from '../client/orders';
import { ALERTS, STAGES, isFinal, type Alert, type Stage } from '../order/types';
import { EXIT, UnknownValueError, UsageError, oneOf, parse, printJson } from './args';
import { connectOrders, loadContext } from './context';
import { orderTimeline, type TimelineEntry } from '../order/timeline';
import { printableLine } from './terminal';

export const ORDER_USAGE = `Usage:
  rto order submit <file|-> [--wait <STAGE>] [--timeout <seconds>] [--json]
  rto order check <file|-> [--alma] [--json]
  rto order status <account> <orderId> [--json]
  rto order cancel <account> <orderId> --reason <code> [--comment <text>] [--json]
  rto order release <account> <orderId> [--comment <text>] [--json]
  rto order list [--account <code>] [--stage <STAGE>] [--alert <ALERT>] [--limit <n>] [--json]

Stages: ${STAGES.join(', ')}
Alerts: ${ALERTS.join(', ')}
Reason codes: the account's alma.cancellationReason in the configuration.
--wait succeeds only if the order gets to that stage (or further on the way to COMPLETED): an order that
ends CANCELLED, REJECTED or FAILED, or is not there in time, fails. An order HELD as a possible duplicate
ends the wait at once (exit 3) with how to release or cancel it. Ctrl-C stops waiting, not the order.
check places nothing: it lists every contract and account problem (the workflow's own validation) and, with
--alma, what Alma says (read only): funds active, vendor and vendor account valid, open PO lines with the ISBN.
release lets an order HELD as a possible duplicate (account setting duplicateCheck: hold) go on to ORDERING;
it exits 1 if the order is not HELD.
It exits 0 when the order would be taken, 1 otherwise (problems, or Alma could not be asked).
status prints the order and its timeline, a table of time (UTC), source (oasis, rto, alma, vendor, staff,
intake) and what happened: stages, Alma's PO line status, vendor statuses, invoices, overlay, alerts.
Exit codes: 0 success, 2 invalid order or unknown stage/alert/reason/account (the known ones are listed),
3 submit --wait found the order HELD, 1 anything else, 130 (SIGINT) or 143 (SIGTERM) when interrupted while waiting.
Environment: TEMPORAL_ADDRESS (or TEMPORAL_PORT), TEMPORAL_NAMESPACE, RTO_TASK_QUEUE, RTO_CONFIG.`;

/** What a person is told of an order HELD as a possible duplicate: what Alma has, and what to do. */
function heldLines(s: OrderSummary, reason = '<code>'): string[] {
  const found = [...(s.history ?? [])].reverse().find((h) => h.event === 'alert POSSIBLE_DUPLICATE')?.detail;
  return [
    `The order is HELD: a possible duplicate, nothing was bought in Alma.${found ? ` ${found}.` : ''}`,
    'It waits for staff (the account has duplicateCheck: hold). To buy it all the same:',
    `  rto order release ${s.account} ${s.orderId}`,
    'or to drop it:',
    `  rto order cancel ${s.account} ${s.orderId} --reason ${reason}`,
    `(exit code ${EXIT.held}: held; unreleased, it is cancelled after the account's duplicateHoldFor)`,
  ];
}

/** Writes lines for a person: every one through `printableLine` (orders, Alma and vendors wrote parts). */
function say(stream: NodeJS.WriteStream, ...lines: string[]): void {
  stream.write(lines.map(printableLine).join('\n') + '\n');
}

function printSummary(s: OrderSummary): void {
  const lines = [
    `order      ${s.orderId} (account ${s.account})`,
    `workflow   ${s.workflowId}`,
    `stage      ${s.stage}`,
    `PO line    ${s.poLine ?? '-'}`,
    `MMS id     ${s.mmsId ?? '-'}`,
    `alerts     ${s.alerts.length ? s.alerts.join(', ') : '-'}`,
  ];
  const v = s.vendorStatus;
  if (v)
    lines.push(
      `vendor     ${v.status}: ${v.statusText}${v.expectedDate ? ` (expected ${v.expectedDate})` : ''} ` +
        `[${v.source.file}]`,
    );
  if (s.quantityInvoiced) lines.push(`invoiced   ${s.quantityInvoiced}`);
  if (s.recordOverlaid) lines.push('record     overlaid');
  if (s.error) lines.push(`error      ${s.error.message}${s.error.code ? ` (Alma ${s.error.code})` : ''}`);
  if (s.problems?.length) lines.push('problems', ...s.problems.map((p) => `  - ${p.path}: ${p.message}`));
  const timeline = s.timeline ?? (s.history ? orderTimeline({ history: s.history }) : []);
  if (timeline.length) lines.push('timeline', ...timelineTable(timeline));
  say(process.stdout, ...lines);
}

/**
 * The timeline as a table for a person: time (UTC, to the second), source, what. Every cell is made printable
 * on its own (an escape sequence in a vendor's text cannot reach the terminal, nor a line break forge a row).
 */
export function timelineTable(entries: TimelineEntry[]): string[] {
  const rows = entries.map((e) => [
    printableLine(e.at.replace(/\.\d+Z$/, 'Z')),
    printableLine(e.source),
    printableLine(e.what + (e.detail ? `: ${e.detail}` : '')),
  ]);
  const header = ['TIME', 'SOURCE', 'WHAT'];
  const width = (i: number) => Math.max(header[i]!.length, ...rows.map((r) => r[i]!.length));
  const w0 = width(0);
  const w1 = width(1);
  return [header, ...rows].map(([t, src, what]) => `  ${t!.padEnd(w0)}  ${src!.padEnd(w1)}  ${what}`);
}

function stageArg(value: string | undefined, option: string): Stage | undefined {
  if (value === undefined) return undefined;
  return oneOf('stage', value, STAGES, ` (--${option})`);
}

function alertArg(value: string | undefined): Alert | undefined {
  if (value === undefined) return undefined;
  return oneOf('alert', value, ALERTS, ' (--alert)');
}

/** A positive number from an option, or a usage error (NaN would make `--wait` poll forever). */
function positiveArg(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new UsageError(`--${name} must be a positive number, not "${value}"\n\n${ORDER_USAGE}`);
  return n;
}

/**
 * While waiting on an order that is already placed, SIGINT or SIGTERM stops the waiting, not the order:
 * tell the person it was placed and how to follow it, then exit 130 or 143. Returns the uninstaller.
 */
function onInterrupt(s: OrderSummary, placedBefore: boolean): () => void {
  const handler = (signal: 'SIGINT' | 'SIGTERM') => {
    process.stderr.write('\n');
    say(
      process.stderr,
      `Stopped waiting (${signal}). The order ${s.orderId} (account ${s.account}) was placed` +
        `${placedBefore ? ' before' : ''} and goes on without this command.`,
      `  workflow   ${s.workflowId}`,
      `  follow it  rto order status ${s.account} ${s.orderId}`,
    );
    process.exit(EXIT[signal]);
  };
  const onInt = () => handler('SIGINT');
  const onTerm = () => handler('SIGTERM');
  process.once('SIGINT', onInt);
  process.once('SIGTERM', onTerm);
  return () => {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  };
}

/** `rto order check`'s report for a person. */
function printCheck(r: DryRunReport): void {
  const lines: string[] = [];
  if (r.problems.length)
    lines.push(
      `The order has ${r.problems.length} problem(s):`,
      ...r.problems.map((p) => `  - ${p.path}: ${p.message}`),
    );
  else lines.push(`The order is valid: placing it would start the workflow ${r.workflowId}.`);
  if (r.alma) {
    lines.push(
      r.alma.problems.length
        ? `Alma would refuse it (${r.alma.problems.length} problem(s)):`
        : 'Alma: the funds, the vendor and its account are valid.',
      ...r.alma.problems.map((p) => `  - ${p.path}: ${p.message}`),
      ...r.alma.warnings.map((w) => `  note: ${w}`),
    );
  }
  if (r.almaError) lines.push(r.almaError);
  lines.push(r.outcome === 'valid' ? 'Nothing was created.' : `Nothing was created (${r.outcome}).`);
  say(r.outcome === 'valid' ? process.stdout : process.stderr, ...lines);
}

const SUBCOMMANDS = ['submit', 'check', 'status', 'cancel', 'release', 'list'];

export async function orderCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  // `rto order --help` (what the top-level usage tells people to type) has no subcommand.
  if (sub === '-h' || sub === '--help') {
    process.stdout.write(ORDER_USAGE + '\n');
    return EXIT.ok;
  }
  const { values, positionals } = parse(
    rest,
    {
      json: { type: 'boolean' },
      wait: { type: 'string' },
      timeout: { type: 'string' },
      reason: { type: 'string' },
      comment: { type: 'string' },
      account: { type: 'string' },
      stage: { type: 'string' },
      alert: { type: 'string' },
      limit: { type: 'string' },
      alma: { type: 'boolean' },
    },
    ORDER_USAGE,
  );
  if (!sub || values.help) {
    process.stdout.write(ORDER_USAGE + '\n');
    return sub || values.help ? EXIT.ok : EXIT.failure;
  }
  if (!SUBCOMMANDS.includes(sub)) throw new UsageError(`unknown order command "${sub}"\n\n${ORDER_USAGE}`);
  const json = values.json === true;
  const timeoutSeconds = positiveArg('timeout', values.timeout);
  const limit = positiveArg('limit', values.limit);
  const ctx = loadContext();
  switch (sub) {
    case 'submit': {
      const file = positionals[0];
      if (!file) throw new UsageError(`submit needs a file (or - for standard input)\n\n${ORDER_USAGE}`);
      const wait = stageArg(values.wait, 'wait');
      const text = readFileSync(file === '-' ? 0 : file);
      const parsed = parseOrderText(text);
      const refuse = (problems: { path: string; message: string }[], workflowId?: string) => {
        if (json)
          printJson({
            workflowId: workflowId ?? null,
            stage: 'REJECTED',
            alerts: [],
            poLine: null,
            mmsId: null,
            problems,
          });
        else
          say(
            process.stderr,
            'The order was refused:',
            ...problems.map((p) => `  - ${p.path}: ${p.message}`),
          );
        return EXIT.invalid;
      };
      if (!parsed.ok) return refuse(parsed.problems);
      const conn = await connectOrders(ctx);
      try {
        const r = await conn.orders.placeOrder(parsed.value);
        if (r.outcome === 'refused') return refuse(r.problems, r.workflowId);
        let status = r.status;
        if (wait) {
          const timeoutMs = timeoutSeconds !== undefined ? timeoutSeconds * 1000 : 300_000;
          if (!json)
            say(
              process.stderr,
              `Order ${r.outcome === 'existing' ? 'placed before' : 'placed'} (workflow ${r.workflowId}); ` +
                `waiting up to ${timeoutMs / 1000} s for ${wait} (Ctrl-C stops waiting, not the order).`,
            );
          const uninstall = onInterrupt(status, r.outcome === 'existing');
          try {
            status = await conn.orders.waitForStage(status.account, status.orderId, wait, { timeoutMs });
          } finally {
            uninstall();
          }
        }
        const out = {
          ...status,
          outcome: r.outcome,
          workflowId: r.workflowId,
          poLine: status.poLine ?? null,
          mmsId: status.mmsId ?? null,
        };
        if (json) printJson(out);
        else {
          say(
            process.stdout,
            r.outcome === 'existing' ? 'This order was placed before; its state:' : 'Order accepted.',
          );
          printSummary(status);
        }
        // Held as a possible duplicate: it goes on only when staff say so, so the wait ends here.
        if (wait && wait !== 'HELD' && status.stage === 'HELD') {
          say(
            process.stderr,
            ...heldLines(status, ctx.config.accounts[status.account]?.alma.cancellationReason),
          );
          return EXIT.held;
        }
        // Only getting to the stage asked for (or further on the happy path) is success.
        if (wait && !reached(status.stage, wait)) {
          const why = isFinal(status.stage)
            ? `it ended ${status.stage}${status.error ? ` (${status.error.message})` : ''}`
            : `it is ${status.stage} after ${timeoutSeconds ?? 300} s`;
          say(process.stderr, `The order did not reach ${wait}: ${why}.`);
          return status.stage === 'REJECTED' ? EXIT.invalid : EXIT.failure;
        }
        if (status.stage === 'REJECTED') return EXIT.invalid;
        if (status.stage === 'FAILED') return EXIT.failure;
        return EXIT.ok;
      } finally {
        await conn.close();
      }
    }
    case 'check': {
      const file = positionals[0];
      if (!file) throw new UsageError(`check needs a file (or - for standard input)\n\n${ORDER_USAGE}`);
      const parsed = parseOrderText(readFileSync(file === '-' ? 0 : file));
      const report: DryRunReport = parsed.ok
        ? await dryRunOrder(parsed.value, {
            config: ctx.config,
            ...(values.alma ? { alma: new AlmaAccess(ctx.config, ctx.logger) } : {}),
          })
        : { dryRun: true, outcome: 'refused', problems: parsed.problems };
      if (json) printJson(report);
      else printCheck(report);
      return report.outcome === 'valid' ? EXIT.ok : EXIT.failure;
    }
    case 'status': {
      const [account, orderId] = positionals;
      if (!account || !orderId) throw new UsageError(`status needs <account> <orderId>\n\n${ORDER_USAGE}`);
      const conn = await connectOrders(ctx);
      try {
        const s = await conn.orders.getStatus(account, orderId);
        if (json) printJson({ ...s, poLine: s.poLine ?? null, mmsId: s.mmsId ?? null });
        else printSummary(s);
        return EXIT.ok;
      } finally {
        await conn.close();
      }
    }
    case 'cancel': {
      const [account, orderId] = positionals;
      if (!account || !orderId || !values.reason)
        throw new UsageError(`cancel needs <account> <orderId> --reason <code>\n\n${ORDER_USAGE}`);
      // The reason is what the account's configuration says Alma is told: refuse any other, never replace it.
      const reasons = cancellationReasons(ctx.config, account);
      if (!reasons)
        throw new UnknownValueError(
          `unknown account "${account}"; known accounts: ${Object.keys(ctx.config.accounts).join(', ')}`,
        );
      const reason = oneOf(
        'reason',
        values.reason,
        reasons,
        ` for account ${account} (its alma.cancellationReason in the configuration)`,
      );
      const conn = await connectOrders(ctx);
      try {
        const s = await conn.orders.cancelOrder(account, orderId, {
          reason,
          comment: values.comment,
          by: 'cli',
        });
        if (json) printJson({ ...s, poLine: s.poLine ?? null, mmsId: s.mmsId ?? null });
        else printSummary(s);
        return s.stage === 'CANCELLED' ? EXIT.ok : EXIT.failure;
      } finally {
        await conn.close();
      }
    }
    case 'release': {
      const [account, orderId] = positionals;
      if (!account || !orderId) throw new UsageError(`release needs <account> <orderId>\n\n${ORDER_USAGE}`);
      const conn = await connectOrders(ctx);
      try {
        const s = await conn.orders.releaseOrder(account, orderId, { by: 'cli', comment: values.comment });
        if (json) printJson({ ...s, poLine: s.poLine ?? null, mmsId: s.mmsId ?? null });
        else printSummary(s);
        return EXIT.ok;
      } catch (e) {
        if (!(e instanceof OrderNotHeldError)) throw e;
        process.stderr.write(`${e.message}\n`);
        return EXIT.failure;
      } finally {
        await conn.close();
      }
    }
    case 'list': {
      const stage = stageArg(values.stage, 'stage');
      const alert = alertArg(values.alert);
      const conn = await connectOrders(ctx);
      try {
        const list = await conn.orders.listOrders({ account: values.account, stage, alert, limit });
        if (json) printJson(list);
        else {
          say(
            process.stdout,
            ...list.map(
              (s) =>
                `${s.account.padEnd(12)} ${s.orderId.padEnd(24)} ${s.stage.padEnd(13)} ${(s.poLine ?? '-').padEnd(12)} ${s.alerts.join(',')}`,
            ),
            `${list.length} order(s)`,
          );
        }
        return EXIT.ok;
      } finally {
        await conn.close();
      }
    }
    default:
      throw new UsageError(`unknown order command "${sub}"\n\n${ORDER_USAGE}`);
  }
}
