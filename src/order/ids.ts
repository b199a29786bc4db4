/**
 * Every identifier the project makes, in one place: workflow ids (orders, EDI files, scheduled and manual
 * runs), schedule ids, task queues and mail Message-IDs. Deterministic functions of their inputs, free of I/O,
 * so workflows may import them too. Changing one changes what running systems look for: don't, lightly.
 */

/** The order's workflow id; one OASIS order id per account is one workflow (and, at most, one PO line). */
export function orderWorkflowId(account: string, orderId: string): string {
  return `order:${account}:${orderId}`;
}

/** The task queue of an institution's Alma activities, beside the worker's main task queue. */
export function almaTaskQueue(mainTaskQueue: string, institution: string): string {
  return `${mainTaskQueue}.alma.${institution}`;
}

/** One EDI file's workflow: derived from its contents, so the same contents are read once under any name. */
export function ediFileWorkflowId(account: string, sha256: string): string {
  return `edi-file:${account}:${sha256.slice(0, 32)}`;
}

export type FollowUpKind = 'edi' | 'overlay';

/** The workflow type each follow-up Schedule starts. */
export const FOLLOW_UP_WORKFLOW_TYPE = { edi: 'ediPickupWorkflow', overlay: 'overlayWorkflow' } as const;

// A scheduled run's workflow id is its action's id plus the scheduled time: it names the task queue too, or two
// deployments sharing a namespace would start the same id at the same moment and one run would be lost.
const RUN_PREFIX = { edi: 'edi-pickup', overlay: 'overlay' } as const;

/** The Schedule of an account's EDI pick-up or overlay, on one deployment's task queue. */
export function followUpScheduleId(taskQueue: string, kind: FollowUpKind, account: string): string {
  return `${taskQueue}:${kind}:${account}`;
}

/** Whether a Schedule id is one of `followUpScheduleId`'s for this task queue (to remove stale ones). */
export function isFollowUpScheduleId(taskQueue: string, scheduleId: string): boolean {
  const prefix = `${taskQueue}:`;
  return scheduleId.startsWith(prefix) && /^(edi|overlay|digest):/.test(scheduleId.slice(prefix.length));
}

/** The workflow type the daily digest Schedule starts. */
export const DIGEST_WORKFLOW_TYPE = 'digestWorkflow';

/** The Schedule of an account's daily digest to its staff (removed with the follow-ups' when stale). */
export function digestScheduleId(taskQueue: string, account: string): string {
  return `${taskQueue}:digest:${account}`;
}

/** The workflow id the digest Schedule gives its runs (Temporal appends the scheduled time). */
export function digestRunWorkflowId(taskQueue: string, account: string): string {
  return `digest:${account}:${taskQueue}`;
}

/** A digest run started by hand (`rto digest run`): unique by the time it was asked for. */
export function manualDigestWorkflowId(account: string, nowMs: number): string {
  return `digest:${account}:manual-${nowMs}`;
}

/** The workflow id a follow-up Schedule gives its runs (Temporal appends the scheduled time). */
export function scheduledRunWorkflowId(taskQueue: string, kind: FollowUpKind, account: string): string {
  return `${RUN_PREFIX[kind]}:${account}:${taskQueue}`;
}

/** What every run of an account's follow-up begins with, scheduled or by hand (to list them in visibility). */
export function followUpRunIdPrefix(kind: FollowUpKind, account: string): string {
  return `${RUN_PREFIX[kind]}:${account}:`;
}

/** A run started by hand (`rto edi run`, `rto overlay run`): unique by the time it was asked for. */
export function manualRunWorkflowId(kind: FollowUpKind, account: string, nowMs: number): string {
  return `${RUN_PREFIX[kind]}:${account}:manual-${nowMs}`;
}

// --- Message-IDs ---
// Deterministic: a retried send of the same confirmation or alert carries the same Message-ID, so mail clients
// and archives recognise the duplicate. Distinct mails must therefore differ in what goes in.

export const DEFAULT_MESSAGE_ID_DOMAIN = 'oasis-alma-rto.invalid';

// Letters, digits, "_" and "-" pass; every other UTF-8 byte (including "." which separates the parts and "="
// which marks an escape) becomes =XX, so distinct inputs give distinct IDs and the result is a valid dot-atom.
function encodePart(text: string): string {
  if (text === '') return '=';
  let out = '';
  for (const byte of new TextEncoder().encode(text)) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9_-]/.test(c) ? c : '=' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

function checkDomain(domain: string): string {
  if (
    !/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(
      domain,
    )
  ) {
    throw new Error(`"${encodePart(domain)}" is not a valid Message-ID domain`);
  }
  return domain;
}

/** `<order.ACCOUNT.ORDERID@domain>` for the librarian's order confirmation. */
export function confirmationMessageId(
  account: string,
  orderId: string,
  domain = DEFAULT_MESSAGE_ID_DOMAIN,
): string {
  return `<order.${encodePart(account)}.${encodePart(orderId)}@${checkDomain(domain)}>`;
}

/**
 * `<alert.ACCOUNT.ORDERID.ALERT[.OCCURRENCE]@domain>` for a staff alert about one order. An alert that can be
 * raised more than once for one order (INVOICE_MISMATCH, once per invoice line) names its occurrence, or a mail
 * client would drop the second as a duplicate of the first.
 */
export function alertMessageId(
  account: string,
  orderId: string,
  alert: string,
  occurrence?: string,
  domain = DEFAULT_MESSAGE_ID_DOMAIN,
): string {
  const which = occurrence === undefined ? '' : `.${encodePart(occurrence)}`;
  return `<alert.${encodePart(account)}.${encodePart(orderId)}.${encodePart(alert)}${which}@${checkDomain(domain)}>`;
}

/**
 * `<digest.ACCOUNT.DAY@domain>` for an account's daily digest: one per account and day (the day in the
 * digest's time zone, YYYY-MM-DD), so a retried or repeated send of the same day's digest is the same message.
 */
export function digestMessageId(account: string, day: string, domain = DEFAULT_MESSAGE_ID_DOMAIN): string {
  return `<digest.${encodePart(account)}.${encodePart(day)}@${checkDomain(domain)}>`;
}
