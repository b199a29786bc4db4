/**
 * EDI pick-up (run by a Schedule per account, or `rto edi run`): every new file in the vendor's folder gets
 * one child workflow whose id is derived from the file's content hash, so the same contents are processed
 * once however often, and under whatever name, the vendor sends them. A processed file is archived on the
 * server; one that cannot be read is moved to `rejected/` and reported once.
 */
import {
  ParentClosePolicy,
  WorkflowIdReusePolicy,
  defineQuery,
  executeChild,
  patched,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { followUpActivities, type RetryTiming } from './vendor-file-activities';
import type { EdiFileReport } from '../activities/edi';
import { ediFileWorkflowId } from '../order/ids';

export interface EdiRunReport {
  account: string;
  files: { name: string; sha256?: string; outcome: string; detail?: string; report?: EdiFileReport }[];
  rejectedNames: { name: string; reason: string }[];
}

/** Where a pick-up is, for `rto edi run` to print while it waits (the `progress` query). */
export interface EdiRunProgress {
  /** Files found to read (after the listing); undefined while listing. */
  found?: number;
  /** Files done so far, in order, with their outcome. */
  done: { name: string; outcome: string; detail?: string; lines?: number; matched?: number }[];
  /** The file being read now, and its hash (its file workflow's id is made of it). */
  current?: string;
  currentSha256?: string;
}

export const ediProgressQuery = defineQuery<EdiRunProgress>('progress');

/** Unreadable files are moved to rejected/ (before, they stayed and every pick-up called them processed). */
const REJECTED_FILES_MOVED = 'edi-rejected-files-moved';

/**
 * Every failure of a file ends in a report to staff: a move that failed (the file workflow ends with the
 * report, not a failure another pick-up would start again), a duplicate or rejected file that could not be
 * moved, a file workflow that failed (a fault outside the file, tried again at the next pick-up).
 */
const FAULTS_REPORTED = 'edi-file-faults-reported';

/** The reason a failure carries, its causes included ("Child Workflow execution failed" says nothing). */
function failureText(e: unknown): string {
  const parts: string[] = [];
  let cur = e as { message?: string; cause?: unknown } | undefined;
  while (cur && parts.length < 4) {
    if (cur.message && !parts.includes(cur.message)) parts.push(cur.message);
    cur = cur.cause as typeof cur;
  }
  return (parts.join(': ') || String(e)).slice(0, 600);
}

const LISTED_IN_RUN = 20;

function summarise(r: EdiFileReport): EdiFileReport {
  return {
    ...r,
    unmatched: r.unmatched.slice(0, LISTED_IN_RUN),
    ...(r.ended ? { ended: r.ended.slice(0, LISTED_IN_RUN) } : {}),
    mismatches: r.mismatches.slice(0, LISTED_IN_RUN),
    warnings: r.warnings.slice(0, LISTED_IN_RUN),
  };
}

/** The lines of a file's report a person must read, as mailed to staff. */
export function fileReportLines(r: EdiFileReport, account = '<account>'): string[] {
  const problems = r.problems ?? [];
  return [
    ...(r.error
      ? [
          r.movedTo
            ? `The file could not be read and was moved on the server to ${r.movedTo}: ${r.error}`
            : `The file could not be read and was left on the server: ${r.error}`,
        ]
      : []),
    ...(problems.length > 1 || (problems.length === 1 && problems[0]!.message !== undefined)
      ? problems.map(
          (p) =>
            `Not read: ${p.message !== undefined ? `message ${p.message}${p.number !== undefined ? ` (${p.type ?? ''} ${p.number})` : ''}, ` : ''}${p.place}: ${p.reason}`,
        )
      : []),
    ...((r.problemsTotal ?? 0) > problems.length
      ? [`... and ${(r.problemsTotal ?? 0) - problems.length} more things that could not be read`]
      : []),
    ...(r.problems !== undefined && r.movedTo
      ? [
          `When its cause is fixed, read it again with: rto edi retry ${account} ` +
            r.movedTo.slice(r.movedTo.indexOf('/') + 1),
        ]
      : []),
    ...(r.ended ?? []).map(
      (e) =>
        `Order ${e.orderId} has ended: ${e.stage}. Line ${e.line} (message ${e.message}, segment ${e.segment}) brought news it can no longer take: ${e.news}`,
    ),
    ...((r.endedTotal ?? 0) > (r.ended?.length ?? 0)
      ? [`... and ${(r.endedTotal ?? 0) - (r.ended?.length ?? 0)} more lines for orders that have ended`]
      : []),
    ...r.unmatched.map(
      (u) =>
        `Unmatched line ${u.line} (message ${u.message}, segment ${u.segment}; ${u.references ? `references ${u.references.join(', ') || '-'}` : `PO line ${u.poLine ?? '-'}, vendor reference ${u.vendorRef ?? '-'}`}${u.isbn ? `, ISBN ${u.isbn}` : ''}): ${u.reason}`,
    ),
    ...r.mismatches.map((m) => `Invoice difference: ${m}`),
  ];
}

export async function ediFileWorkflow(input: {
  retry?: RetryTiming;
  account: string;
  name: string;
  sha256: string;
}): Promise<EdiFileReport> {
  const { edi, vendorFiles, runReports } = followUpActivities(input.retry);
  const ref = { account: input.account, kind: 'edi' as const, name: input.name, sha256: input.sha256 };
  let result = await edi.processEdiFile(ref);
  const faultsReported = patched(FAULTS_REPORTED);
  const lines: string[] = [];
  try {
    if (result.outcome === 'processed') await vendorFiles.archiveVendorFile(ref);
    else if (patched(REJECTED_FILES_MOVED))
      // Out of the pick-up folder, so later pick-ups neither read it again nor call it "already processed".
      result = { ...result, movedTo: await vendorFiles.rejectVendorFile(ref) };
  } catch (e) {
    if (!faultsReported) throw e;
    // Its news is taken in; only the move failed. Said once, here; a later pick-up tries the move again.
    const where = result.outcome === 'processed' ? 'archive/' : 'rejected/';
    lines.push(
      `The file could not be moved to ${where} on the server (it stays in the pick-up folder): ${failureText(e)}`,
    );
  }
  lines.unshift(...fileReportLines(result, input.account));
  if (lines.length) {
    await runReports.mailRunReport({
      account: input.account,
      title: `EDI file ${input.name} (${input.account}) needs a person`,
      lines,
      runId: workflowInfo().workflowId,
    });
  }
  return result;
}

/** `rto edi retry`: the named file back from rejected/ (or still in the folder), read again as a new run. */
async function readAgain(input: {
  account: string;
  retry?: RetryTiming;
  again: string;
}): Promise<EdiRunReport> {
  const { vendorFiles } = followUpActivities(input.retry);
  const out: EdiRunReport = { account: input.account, files: [], rejectedNames: [] };
  const found = await vendorFiles.restoreEdiFile({ account: input.account, file: input.again });
  if ('notFound' in found) {
    out.files.push({ name: input.again, outcome: 'not found', detail: found.notFound });
    return out;
  }
  try {
    const r = await executeChild(ediFileWorkflow, {
      workflowId: ediFileWorkflowId(input.account, found.sha256),
      args: [{ account: input.account, name: found.name, sha256: found.sha256, retry: input.retry }],
      // An operator fixed the cause: these contents are read again, whatever became of them before.
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
      parentClosePolicy: ParentClosePolicy.ABANDON,
    });
    out.files.push({
      name: found.name,
      sha256: found.sha256,
      outcome: r.outcome,
      detail: `read again, from ${found.from}`,
      report: summarise(r),
    });
  } catch (e) {
    const already = (e as Error).name === 'WorkflowExecutionAlreadyStartedError';
    out.files.push({
      name: found.name,
      sha256: found.sha256,
      outcome: already ? 'duplicate' : 'failed',
      detail: already ? 'these contents are being read by another run now' : failureText(e),
    });
  }
  return out;
}

export async function ediPickupWorkflow(input: {
  account: string;
  retry?: RetryTiming;
  /** `rto edi retry`: only this file (by its name, or its name in rejected/), read again. */
  again?: string;
}): Promise<EdiRunReport> {
  const progress: EdiRunProgress = { done: [] };
  setHandler(ediProgressQuery, () => progress);
  if (input.again !== undefined) return readAgain({ ...input, again: input.again });
  const { vendorFiles, runReports } = followUpActivities(input.retry);
  const found = await vendorFiles.collectVendorFiles({ account: input.account, kind: 'edi' });
  const out: EdiRunReport = { account: input.account, files: [], rejectedNames: found.rejected };
  progress.found = found.files.length;
  // Files moved to rejected/ by this run without a file workflow of their own: staff hear of them here.
  const movedAside: string[] = [];
  // Files this run could not handle (a move that failed, a file workflow that failed): staff hear of them too.
  const failed: string[] = [];
  const faultsReported = patched(FAULTS_REPORTED);
  const push = (f: EdiRunReport['files'][number]) => {
    out.files.push(f);
    progress.done.push({
      name: f.name,
      outcome: f.outcome,
      ...(f.detail !== undefined ? { detail: f.detail } : {}),
      ...(f.report ? { lines: f.report.lines, matched: f.report.matched } : {}),
    });
    progress.current = undefined;
    progress.currentSha256 = undefined;
  };
  for (const f of found.files) {
    progress.current = f.name;
    progress.currentSha256 = f.sha256;
    const ref = { account: input.account, kind: 'edi' as const, name: f.name, sha256: f.sha256 };
    if (f.duplicateOf) {
      // The same contents were processed before under another name: archive without reading it again.
      try {
        await vendorFiles.archiveVendorFile(ref);
      } catch (e) {
        if (!faultsReported) throw e;
        const detail = `same contents as ${f.duplicateOf}, but the file could not be moved to archive/: ${failureText(e)}`;
        push({ name: f.name, sha256: f.sha256, outcome: 'failed', detail });
        failed.push(`${JSON.stringify(f.name)}: ${detail}`);
        continue;
      }
      push({
        name: f.name,
        sha256: f.sha256,
        outcome: 'duplicate',
        detail: `same contents as ${f.duplicateOf}`,
      });
      continue;
    }
    if (f.rejectedAs && patched(REJECTED_FILES_MOVED)) {
      // The same unreadable contents again, under another name: beside the first, without reading it again.
      let movedTo: string;
      try {
        movedTo = await vendorFiles.rejectVendorFile(ref);
      } catch (e) {
        if (!faultsReported) throw e;
        const detail = `same contents as rejected/${f.rejectedAs}, which could not be read; the file could not be moved to rejected/: ${failureText(e)}`;
        push({ name: f.name, sha256: f.sha256, outcome: 'failed', detail });
        failed.push(`${JSON.stringify(f.name)}: ${detail}`);
        continue;
      }
      const detail = `same contents as rejected/${f.rejectedAs}, which could not be read; moved to ${movedTo}`;
      push({ name: f.name, sha256: f.sha256, outcome: 'rejected', detail });
      movedAside.push(`${JSON.stringify(f.name)}: ${detail}`);
      continue;
    }
    let seen = false;
    try {
      const r = await executeChild(ediFileWorkflow, {
        workflowId: ediFileWorkflowId(input.account, f.sha256),
        args: [{ account: input.account, name: f.name, sha256: f.sha256, retry: input.retry }],
        // Contents processed once. A file workflow fails only for a fault outside the file (the vendor's server,
        // Temporal), never for what is in it (that is reported, and the file rejected): such a run may start
        // again at the next pick-up.
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        parentClosePolicy: ParentClosePolicy.ABANDON,
      });
      // The run's result keeps each file's counts and its first lines only: the full report is the child's result.
      push({ name: f.name, sha256: f.sha256, outcome: r.outcome, report: summarise(r) });
    } catch (e) {
      const name = (e as Error).name;
      if (name === 'WorkflowExecutionAlreadyStartedError') {
        seen = true;
      } else {
        const detail = faultsReported ? failureText(e) : (e as Error).message;
        push({ name: f.name, sha256: f.sha256, outcome: 'failed', detail });
        if (faultsReported)
          failed.push(
            `${JSON.stringify(f.name)}: could not be processed (it is tried again at the next pick-up): ${detail}`,
          );
      }
    }
    if (!seen) continue;
    if (!patched(REJECTED_FILES_MOVED)) {
      push({
        name: f.name,
        sha256: f.sha256,
        outcome: 'duplicate',
        detail: 'these contents were already processed',
      });
      continue;
    }
    // An earlier run has these contents, yet the file is still here (left by an older version when it could
    // not be read, say): moved where that run's outcome says, so the next pick-up does not meet it again.
    try {
      const settled = await vendorFiles.settleSeenEdiFile(ref);
      push({ name: f.name, sha256: f.sha256, outcome: settled.outcome, detail: settled.detail });
      if (settled.outcome === 'rejected') movedAside.push(`${JSON.stringify(f.name)}: ${settled.detail}`);
    } catch (e) {
      push({
        name: f.name,
        sha256: f.sha256,
        outcome: 'failed',
        detail: `these contents were already processed, but the file could not be moved: ${(e as Error).message}`,
      });
    }
  }
  if (found.rejected.length) {
    await runReports.mailRunReport({
      account: input.account,
      title: `EDI pick-up for ${input.account}: file names refused`,
      lines: found.rejected.map((r) => `${JSON.stringify(r.name)}: ${r.reason}`),
      runId: workflowInfo().workflowId,
    });
  }
  if (movedAside.length) {
    await runReports.mailRunReport({
      account: input.account,
      title: `EDI pick-up for ${input.account}: unreadable files moved to rejected/`,
      lines: movedAside,
      runId: workflowInfo().workflowId,
    });
  }
  if (failed.length) {
    await runReports.mailRunReport({
      account: input.account,
      title: `EDI pick-up for ${input.account}: files that could not be handled`,
      lines: failed,
      runId: workflowInfo().workflowId,
    });
  }
  return out;
}
