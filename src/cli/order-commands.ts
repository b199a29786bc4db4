/** `rto order submit|status|cancel|list`: what OASIS (or a person) does with orders from a shell. */
import { readFileSync } from 'node:fs';
import { parseOrderText } from '../contract/validate';
import type { OrderSummary } from '../client/orders';
import { STAGES, type Stage } from '../order/types';
import { EXIT, UsageError, parse, printJson } from './args';
import { connectOrders, loadContext } from './context';

export const ORDER_USAGE = `Usage:
  rto order submit <file|-> [--wait <STAGE>] [--timeout <seconds>] [--json]
  rto order status <account> <orderId> [--json]
  rto order cancel <account> <orderId> --reason <code> [--comment <text>] [--json]
  rto order list [--account <code>] [--stage <STAGE>] [--alert <ALERT>] [--limit <n>] [--json]

Stages: ${STAGES.join(', ')}
Exit codes: 0 success, 2 invalid order (every problem is listed), 1 anything else.
Environment: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, RTO_TASK_QUEUE, RTO_CONFIG.`;

function printSummary(s: OrderSummary): void {
  const lines = [
    `order      ${s.orderId} (account ${s.account})`,
    `workflow   ${s.workflowId}`,
    `stage      ${s.stage}`,
    `PO line    ${s.poLine ?? '-'}`,
    `MMS id     ${s.mmsId ?? '-'}`,
    `alerts     ${s.alerts.length ? s.alerts.join(', ') : '-'}`,
  ];
  if (s.error) lines.push(`error      ${s.error.message}${s.error.code ? ` (Alma ${s.error.code})` : ''}`);
  if (s.problems?.length) lines.push('problems', ...s.problems.map((p) => `  - ${p.path}: ${p.message}`));
  if (s.history?.length)
    lines.push('history', ...s.history.map((h) => `  ${h.at}  ${h.event}${h.detail ? `: ${h.detail}` : ''}`));
  process.stdout.write(lines.join('\n') + '\n');
}

function stageArg(value: string | undefined): Stage | undefined {
  if (value === undefined) return undefined;
  const s = value.toUpperCase() as Stage;
  if (!STAGES.includes(s)) throw new UsageError(`unknown stage "${value}"; stages are ${STAGES.join(', ')}`);
  return s;
}

/** A positive number from an option, or a usage error (NaN would make `--wait` poll forever). */
function positiveArg(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new UsageError(`--${name} must be a positive number, not "${value}"\n\n${ORDER_USAGE}`);
  return n;
}

const SUBCOMMANDS = ['submit', 'status', 'cancel', 'list'];

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
          process.stderr.write(
            `The order was refused:\n${problems.map((p) => `  - ${p.path}: ${p.message}`).join('\n')}\n`,
          );
        return EXIT.invalid;
      };
      if (!parsed.ok) return refuse(parsed.problems);
      const wait = stageArg(values.wait);
      const conn = await connectOrders(ctx);
      try {
        const r = await conn.orders.placeOrder(parsed.value);
        if (r.outcome === 'refused') return refuse(r.problems, r.workflowId);
        let status = r.status;
        if (wait) {
          status = await conn.orders.waitForStage(status.account, status.orderId, wait, {
            timeoutMs: timeoutSeconds !== undefined ? timeoutSeconds * 1000 : 300_000,
          });
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
          process.stdout.write(
            r.outcome === 'existing' ? 'This order was placed before; its state:\n' : 'Order accepted.\n',
          );
          printSummary(status);
        }
        if (status.stage === 'REJECTED') return EXIT.invalid;
        if (wait && STAGES.indexOf(status.stage) < STAGES.indexOf(wait)) {
          if (!json) process.stderr.write(`The order did not reach ${wait} (it is ${status.stage}).\n`);
          return EXIT.failure;
        }
        if (status.stage === 'FAILED') return EXIT.failure;
        return EXIT.ok;
      } finally {
        await conn.close();
      }
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
      const conn = await connectOrders(ctx);
      try {
        const s = await conn.orders.cancelOrder(account, orderId, {
          reason: values.reason,
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
    case 'list': {
      const conn = await connectOrders(ctx);
      try {
        const list = await conn.orders.listOrders({
          account: values.account,
          stage: stageArg(values.stage),
          alert: values.alert,
          limit,
        });
        if (json) printJson(list);
        else {
          for (const s of list) {
            process.stdout.write(
              `${s.account.padEnd(12)} ${s.orderId.padEnd(24)} ${s.stage.padEnd(13)} ${(s.poLine ?? '-').padEnd(12)} ${s.alerts.join(',')}\n`,
            );
          }
          process.stdout.write(`${list.length} order(s)\n`);
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
