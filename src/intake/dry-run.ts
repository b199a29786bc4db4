/**
 * The dry run of placing an order (`POST /orders?dryRun=true`, `rto order check`): every contract and account
 * problem, found by the same validation the workflow's first step runs (`checkOrder` → `validateOrder`), and,
 * when asked, what Alma would say, read only: the funds active, the vendor and its account valid, the open
 * PO lines that already have the order's ISBN and the closed ones (bought before), and what the account's
 * duplicate check would do with them. Nothing is created: no workflow, no PO line.
 */
import type { AlmaClient, PoLine } from '../alma/client';
import { AlmaError } from '../alma/errors';
import { own } from '../config/lookup';
import type { Account, Config } from '../config/schema';
import type { Order, Problem } from '../contract/order';
import { checkOrder } from '../client/orders';
import { isThisOrdersLine } from '../activities/po-line';

export interface AlmaFindings {
  problems: Problem[];
  openPoLines: { number: string; status?: string; thisOrder: boolean }[];
  /** How many open PO lines Alma counts with the ISBN (more than listed when over one page). */
  openPoLinesTotal: number;
  warnings: string[];
}

export interface DryRunReport {
  dryRun: true;
  /** valid: it would be taken; refused: there are problems; incomplete: Alma was asked and could not answer. */
  outcome: 'valid' | 'refused' | 'incomplete';
  workflowId?: string;
  problems: Problem[];
  alma?: AlmaFindings;
  almaError?: string;
}

/** What the dry run needs of Alma: a client for the account's institution (src/institution/alma-access.ts). */
export interface AlmaForAccount {
  forAccount(accountCode: string): { client: AlmaClient };
}

/** Open PO lines listed at most (one page of Alma's search). */
const MAX_LISTED = 100;

const statusOf = (v: { value?: string | null } | null | undefined) => v?.value ?? undefined;

/**
 * What Alma says of a valid order. Each fund is looked up by code (Alma's search is "contains": the code is
 * compared exactly here), the vendor by its code; the PO lines by ISBN among the open ones (ACTIVE: not closed,
 * not cancelled). Alma failures are thrown (the caller says Alma could not be asked).
 */
export async function almaFindings(
  client: AlmaClient,
  accountCode: string,
  acc: Account,
  order: Order,
): Promise<AlmaFindings> {
  const problems: Problem[] = [];
  const warnings: string[] = [];
  for (const [i, f] of order.fundDistribution.entries()) {
    const fund = (await client.listFunds(`fund_code~${f.fund}`)).find((x) => x.code === f.fund);
    const at = `fundDistribution[${i}].fund`;
    if (!fund) problems.push({ path: at, message: `Alma has no fund ${f.fund} that PO lines can use` });
    else if (statusOf(fund.status) === undefined)
      warnings.push(`Alma does not say whether fund ${f.fund} is active`);
    else if (statusOf(fund.status) !== 'ACTIVE')
      problems.push({ path: at, message: `fund ${f.fund} is not active in Alma (${statusOf(fund.status)})` });
  }

  const { vendorCode, vendorAccount } = acc.alma;
  const setting = `accounts.${accountCode}.alma`;
  try {
    const vendor = await client.getVendor(vendorCode);
    const status = statusOf(vendor.status);
    if (status !== undefined && status !== 'ACTIVE')
      problems.push({
        path: 'account',
        message: `vendor ${vendorCode} (${setting}.vendorCode) is not active in Alma (${status})`,
      });
    const va = (vendor.account ?? []).find((a) => a.code === vendorAccount);
    if (!va)
      problems.push({
        path: 'account',
        message: `vendor ${vendorCode} has no account ${vendorAccount} in Alma (${setting}.vendorAccount)`,
      });
    else if (statusOf(va.status) !== undefined && statusOf(va.status) !== 'ACTIVE')
      problems.push({
        path: 'account',
        message: `vendor account ${vendorAccount} is not active in Alma (${statusOf(va.status)})`,
      });
  } catch (e) {
    // Alma's code for an unknown vendor is not documented: a refusal of this lookup (400) says the code is
    // wrong as surely as a not-found does; only an unreachable Alma leaves the check incomplete.
    if (!(e instanceof AlmaError && (e.kind === 'not-found' || e.kind === 'invalid-request'))) throw e;
    problems.push({
      path: 'account',
      message: `Alma has no vendor ${vendorCode} (${setting}.vendorCode)`,
    });
  }

  let openPoLines: AlmaFindings['openPoLines'] = [];
  let openPoLinesTotal = 0;
  if (order.item.isbn) {
    const page = await client.searchPoLines(`issn_isbn~${order.item.isbn}`, {
      limit: MAX_LISTED,
      status: 'ACTIVE',
    });
    openPoLinesTotal = page.total;
    openPoLines = page.poLines.map((pl: PoLine) => ({
      number: pl.number,
      ...(statusOf(pl.status) ? { status: statusOf(pl.status) } : {}),
      thisOrder: isThisOrdersLine(pl, acc, order),
    }));
    const others = openPoLines.filter((p) => !p.thisOrder);
    if (others.length)
      warnings.push(
        `ISBN ${order.item.isbn} already has ${openPoLinesTotal - (openPoLines.length - others.length)} open PO line(s) in Alma: ` +
          `${others.map((p) => p.number).join(', ')}${openPoLinesTotal > openPoLines.length ? ', ...' : ''}`,
      );
    if (openPoLines.some((p) => p.thisOrder))
      warnings.push(`order ${order.orderId} already has a PO line in Alma: placing it again changes nothing`);
    // A closed line is a copy bought (and received): the duplicate check counts it too (src/activities/duplicates.ts).
    const closed = await client.searchPoLines(`issn_isbn~${order.item.isbn}`, {
      limit: MAX_LISTED,
      status: 'CLOSED',
    });
    const bought = closed.poLines.filter((pl) => !isThisOrdersLine(pl, acc, order));
    if (bought.length)
      warnings.push(
        `ISBN ${order.item.isbn} was bought before: ${bought.length} closed PO line(s) in Alma: ` +
          bought
            .map(
              (pl) =>
                `${pl.number}${pl.resource_metadata?.mms_id?.value ? ` (bib ${pl.resource_metadata.mms_id.value})` : ''}`,
            )
            .join(', '),
      );
    if ((others.length || bought.length) && acc.duplicateCheck !== 'off')
      warnings.push(
        `the account's duplicateCheck is ${acc.duplicateCheck}: placed, the order would ` +
          (acc.duplicateCheck === 'hold'
            ? 'wait in stage HELD until staff release it (rto order release)'
            : 'go on with the alert POSSIBLE_DUPLICATE'),
      );
  } else {
    warnings.push('the order has no ISBN: open PO lines were not looked for');
  }
  return { problems, openPoLines, openPoLinesTotal, warnings };
}

/** The dry run: the contract and account check, and with `alma` what Alma says. */
export async function dryRunOrder(
  raw: unknown,
  o: { config: Pick<Config, 'accounts'>; alma?: AlmaForAccount },
): Promise<DryRunReport> {
  const checked = checkOrder(raw, o.config);
  const report: DryRunReport = {
    dryRun: true,
    outcome: checked.ok ? 'valid' : 'refused',
    ...(checked.workflowId ? { workflowId: checked.workflowId } : {}),
    problems: checked.problems,
  };
  if (!o.alma) return report;
  if (!checked.ok) {
    report.almaError = 'Alma was not asked: the order has problems of its own';
    return report;
  }
  const accountCode = checked.order.account;
  const acc = own(o.config.accounts, accountCode)!;
  try {
    report.alma = await almaFindings(o.alma.forAccount(accountCode).client, accountCode, acc, checked.order);
  } catch (e) {
    report.outcome = 'incomplete';
    report.almaError = `Alma could not be asked: ${(e as Error).message}`;
    return report;
  }
  if (report.alma.problems.length) report.outcome = 'refused';
  return report;
}
