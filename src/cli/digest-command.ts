/** `rto digest run <account>`: the account's daily digest now (what its Schedule does at `digest.at`). */
import { own } from '../config/lookup';
import { manualDigestWorkflowId } from '../order/ids';
import { digestWorkflow, type DigestResult } from '../workflows/digest';
import { EXIT, UsageError, parse, printJson } from './args';
import { connectOrders, loadContext } from './context';

export const DIGEST_USAGE = `Usage:
  rto digest run <account> [--json]

Collects the account's digest (orders with open alerts, EDI files of the last 24 hours rejected or with unmatched
lines) and mails it to the account's email.staff; nothing to say, no mail. The account need not have a digest
configured (its zone is then the institution's). Environment: TEMPORAL_UI_URL (the links' UI), RTO_CONFIG.`;

export async function digestCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { json: { type: 'boolean' } }, DIGEST_USAGE);
  if (values.help) {
    process.stdout.write(DIGEST_USAGE + '\n');
    return EXIT.ok;
  }
  const [sub, account, ...extra] = positionals;
  if (sub !== 'run' || !account || extra.length) throw new UsageError(DIGEST_USAGE);
  const ctx = loadContext();
  if (!own(ctx.config.accounts, account))
    throw new UsageError(
      `account "${account}" is not configured (known: ${Object.keys(ctx.config.accounts).join(', ')})`,
    );
  const conn = await connectOrders(ctx);
  try {
    const r: DigestResult = await conn.client.workflow.execute(digestWorkflow, {
      workflowId: manualDigestWorkflowId(account, Date.now()),
      taskQueue: ctx.settings.RTO_TASK_QUEUE,
      args: [{ account }],
    });
    if (values.json) printJson(r);
    else
      process.stdout.write(
        `Digest for ${r.account}, ${r.day}: ${r.orders} orders, ${r.files} vendor files; ` +
          (r.messageId ? `mailed as ${r.messageId}\n` : 'nothing to say, no mail\n'),
      );
    return EXIT.ok;
  } finally {
    await conn.close();
  }
}
