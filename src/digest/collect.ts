/**
 * Collects an account's digest from Temporal's visibility: running orders with open alerts (search attribute
 * OrderAlerts), the EDI file workflows of the account closed in the last day whose file was rejected or had
 * lines that matched no order (their result, the file's report), and the files the account's EDI pick-ups of
 * the last day rejected without a file workflow (contents rejected before and sent again, names refused). Every item links to the Temporal UI's
 * workflow list filtered to it.
 */
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow';
import type { EdiFileReport } from '../activities/edi';
import { quote, visibilityQuery } from '../client/orders';
import { workflowQueryUrl } from '../client/ui-url';
import { OasisOrderId, OrderAlerts, OrderStage, AlmaPoLine } from '../order/search-attributes';
import { FOLLOW_UP_WORKFLOW_TYPE, followUpRunIdPrefix } from '../order/ids';
import { fileReportLines, type EdiRunReport } from '../workflows/edi';
import {
  dayIn,
  ORDER_SECTIONS,
  SECTION_ALERTS,
  type Digest,
  type DigestFile,
  type DigestOrder,
  type DigestOrderSection,
} from './content';

/** Listed per section and per kind of file; the rest are counted, and the section's link shows them all. */
export const DIGEST_LISTED = 50;
const UNMATCHED_LISTED = 5;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface CollectOptions {
  client: Client;
  /** The Temporal UI's base URL (src/client/ui-url.ts uiBaseUrl). */
  uiBase: string;
  account: string;
  /** When the digest is made (the workflow's start); files closed in the day before it are looked at. */
  at: Date;
  timeZone: string;
}

export async function collectDigest(o: CollectOptions): Promise<Digest> {
  const namespace = o.client.options.namespace;
  const link = (query: string) => workflowQueryUrl(o.uiBase, namespace, query);
  const accountOrders = visibilityQuery({ account: o.account });
  const running = `ExecutionStatus = 'Running'`;

  const collected = new Map<string, DigestOrder[]>();
  const more = new Map<string, number>();
  const put = (key: string, order: DigestOrder) => {
    const list = collected.get(key) ?? [];
    if (list.length < DIGEST_LISTED) list.push(order);
    else more.set(key, (more.get(key) ?? 0) + 1);
    collected.set(key, list);
  };
  const query = `${accountOrders} AND ${OrderAlerts.name} IS NOT NULL AND ${running}`;
  for await (const wf of o.client.workflow.list({ query })) {
    const sa = wf.typedSearchAttributes;
    const orderId = sa.get(OasisOrderId) ?? wf.workflowId;
    const alerts = [...(sa.get(OrderAlerts) ?? [])];
    const order: DigestOrder = {
      orderId,
      workflowId: wf.workflowId,
      stage: sa.get(OrderStage) ?? '',
      ...(sa.get(AlmaPoLine) ? { poLine: sa.get(AlmaPoLine)! } : {}),
      alerts,
      url: link(`${accountOrders} AND ${OasisOrderId.name} = ${quote(orderId)}`),
    };
    let listed = false;
    for (const s of ORDER_SECTIONS) {
      if (alerts.some((a) => (s.alerts as readonly string[]).includes(a))) {
        put(s.key, order);
        listed = true;
      }
    }
    if (!listed || alerts.some((a) => !SECTION_ALERTS.has(a))) put('otherAlerts', order);
  }
  // Titles only for the orders listed (one history read each).
  for (const list of collected.values())
    for (const order of list) {
      const title = await orderTitle(o.client, order.workflowId);
      if (title) order.title = title;
    }

  const inList = (alerts: readonly string[]) => `(${alerts.map(quote).join(', ')})`;
  const sections: DigestOrderSection[] = [
    ...ORDER_SECTIONS.map((s) => ({
      key: s.key,
      heading: s.heading,
      orders: collected.get(s.key) ?? [],
      more: more.get(s.key) ?? 0,
      url: link(`${accountOrders} AND ${OrderAlerts.name} IN ${inList(s.alerts)} AND ${running}`),
    })),
    {
      key: 'otherAlerts',
      heading: 'Other open alerts',
      orders: collected.get('otherAlerts') ?? [],
      more: more.get('otherAlerts') ?? 0,
      url: link(`${accountOrders} AND ${OrderAlerts.name} IS NOT NULL AND ${running}`),
    },
  ];

  const since = new Date(o.at.getTime() - DAY_MS).toISOString();
  const rejectedFiles: DigestFile[] = [];
  const unmatchedFiles: DigestFile[] = [];
  const fileQuery =
    `WorkflowType = 'ediFileWorkflow' AND WorkflowId STARTS_WITH ${quote(`edi-file:${o.account}:`)}` +
    ` AND CloseTime >= ${quote(since)}`;
  for await (const wf of o.client.workflow.list({ query: fileQuery })) {
    const report = await fileReport(o.client, wf.workflowId);
    if (!report) continue;
    const file: DigestFile = {
      name: report.file,
      workflowId: wf.workflowId,
      closedAt: (wf.closeTime ?? o.at).toISOString(),
      ...(report.error ? { error: report.error } : {}),
      ...(report.movedTo ? { movedTo: report.movedTo } : {}),
      unmatchedTotal: report.unmatchedTotal ?? report.unmatched.length,
      unmatched: fileReportLines({
        ...report,
        error: undefined,
        problems: undefined,
        ended: [],
        mismatches: [],
      })
        .filter((l) => l.startsWith('Unmatched line'))
        .slice(0, UNMATCHED_LISTED),
      url: link(`WorkflowId = ${quote(wf.workflowId)}`),
    };
    if (report.outcome === 'rejected') {
      if (rejectedFiles.length < DIGEST_LISTED) rejectedFiles.push(file);
    } else if (file.unmatchedTotal > 0 && unmatchedFiles.length < DIGEST_LISTED) unmatchedFiles.push(file);
  }
  // Files the pick-up rejected without a file workflow of their own (contents rejected before, sent again under
  // another name; names refused): only the pick-up's report has them.
  for (const f of await pickUpRejections(o.client, o.account, since, link))
    if (rejectedFiles.length < DIGEST_LISTED) rejectedFiles.push(f);

  return {
    account: o.account,
    day: dayIn(o.at, o.timeZone),
    timeZone: o.timeZone,
    sections,
    rejectedFiles,
    unmatchedFiles,
    filesSince: since,
  };
}

/**
 * The vendor files the account's EDI pick-ups closed since `since` rejected by themselves: a file whose contents
 * were rejected before (its first copy is listed by its file workflow, perhaps days ago) moved beside it, and a
 * file name refused. Each once, though every pick-up of the day may name it again.
 */
async function pickUpRejections(
  client: Client,
  account: string,
  since: string,
  link: (query: string) => string,
): Promise<DigestFile[]> {
  const out = new Map<string, DigestFile>();
  const query =
    `WorkflowType = ${quote(FOLLOW_UP_WORKFLOW_TYPE.edi)}` +
    ` AND WorkflowId STARTS_WITH ${quote(followUpRunIdPrefix('edi', account))} AND CloseTime >= ${quote(since)}`;
  for await (const wf of client.workflow.list({ query })) {
    const run = await runResult<EdiRunReport>(client, wf.workflowId);
    if (!run) continue;
    const closedAt = (wf.closeTime ?? new Date()).toISOString();
    const url = link(`WorkflowId = ${quote(wf.workflowId)}`);
    const unmatched = { unmatchedTotal: 0, unmatched: [] };
    for (const f of run.files) {
      // With a report, the file had its own file workflow: listed from there.
      if (f.outcome !== 'rejected' || f.report) continue;
      const key = `file:${f.sha256 ?? ''}:${f.name}`;
      if (!out.has(key))
        out.set(key, {
          name: f.name,
          workflowId: wf.workflowId,
          closedAt,
          error: `sent again: ${f.detail ?? 'contents rejected before'}`,
          ...unmatched,
          url,
        });
    }
    for (const r of run.rejectedNames) {
      const key = `name:${r.name}`;
      if (!out.has(key))
        out.set(key, {
          name: r.name,
          workflowId: wf.workflowId,
          closedAt,
          error: `file name refused (left on the server): ${r.reason}`,
          ...unmatched,
          url,
        });
    }
  }
  return [...out.values()];
}

/** A closed run's result (undefined when it failed or cannot be read). */
async function runResult<T>(client: Client, workflowId: string): Promise<T | undefined> {
  try {
    return (await client.workflow.getHandle(workflowId).result()) as T;
  } catch (e) {
    if (e instanceof WorkflowFailedError) return undefined;
    throw e;
  }
}

/** The file's report: the EDI file workflow's result (undefined when it failed or cannot be read). */
function fileReport(client: Client, workflowId: string): Promise<EdiFileReport | undefined> {
  return runResult<EdiFileReport>(client, workflowId);
}

/**
 * The order's title from its workflow's input (the first history event; decoded by the client's data converter,
 * so an encrypted deployment reads it too). Best effort: the digest goes out without it.
 */
async function orderTitle(client: Client, workflowId: string): Promise<string | undefined> {
  try {
    const { namespace, loadedDataConverter } = client.options;
    const res = await client.workflowService.getWorkflowExecutionHistory({
      namespace,
      execution: { workflowId },
      maximumPageSize: 1,
    });
    const payloads = res.history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads;
    const input = await decodeFromPayloadsAtIndex<{ order?: { item?: { title?: unknown } } }>(
      loadedDataConverter,
      0,
      payloads,
    );
    const title = input?.order?.item?.title;
    return typeof title === 'string' && title.trim() !== '' ? title : undefined;
  } catch {
    return undefined;
  }
}
