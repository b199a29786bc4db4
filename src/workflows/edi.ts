/**
 * EDI pick-up (run by a Schedule per account, or `rto edi run`): every new file in the vendor's folder gets
 * one child workflow whose id is derived from the file's content hash, so the same contents are processed
 * once however often, and under whatever name, the vendor sends them. A processed file is archived on the
 * server; one that cannot be read is moved to `rejected/` and reported once.
 */
import {
  ParentClosePolicy,
  WorkflowIdReusePolicy,
  executeChild,
  patched,
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

/** Unreadable files are moved to rejected/ (before, they stayed and every pick-up called them processed). */
const REJECTED_FILES_MOVED = 'edi-rejected-files-moved';

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
export function fileReportLines(r: EdiFileReport): string[] {
  return [
    ...(r.error
      ? [
          r.movedTo
            ? `The file could not be read and was moved on the server to ${r.movedTo}: ${r.error}`
            : `The file could not be read and was left on the server: ${r.error}`,
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
        `Unmatched line ${u.line} (message ${u.message}, segment ${u.segment}; PO line ${u.poLine ?? '-'}, vendor reference ${u.vendorRef ?? '-'}): ${u.reason}`,
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
  if (result.outcome === 'processed') await vendorFiles.archiveVendorFile(ref);
  else if (patched(REJECTED_FILES_MOVED))
    // Out of the pick-up folder, so later pick-ups neither read it again nor call it "already processed".
    result = { ...result, movedTo: await vendorFiles.rejectVendorFile(ref) };
  const lines = fileReportLines(result);
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

export async function ediPickupWorkflow(input: {
  account: string;
  retry?: RetryTiming;
}): Promise<EdiRunReport> {
  const { vendorFiles, runReports } = followUpActivities(input.retry);
  const found = await vendorFiles.collectVendorFiles({ account: input.account, kind: 'edi' });
  const out: EdiRunReport = { account: input.account, files: [], rejectedNames: found.rejected };
  // Files moved to rejected/ by this run without a file workflow of their own: staff hear of them here.
  const movedAside: string[] = [];
  for (const f of found.files) {
    const ref = { account: input.account, kind: 'edi' as const, name: f.name, sha256: f.sha256 };
    if (f.duplicateOf) {
      // The same contents were processed before under another name: archive without reading it again.
      await vendorFiles.archiveVendorFile(ref);
      out.files.push({
        name: f.name,
        sha256: f.sha256,
        outcome: 'duplicate',
        detail: `same contents as ${f.duplicateOf}`,
      });
      continue;
    }
    if (f.rejectedAs && patched(REJECTED_FILES_MOVED)) {
      // The same unreadable contents again, under another name: beside the first, without reading it again.
      const movedTo = await vendorFiles.rejectVendorFile(ref);
      const detail = `same contents as rejected/${f.rejectedAs}, which could not be read; moved to ${movedTo}`;
      out.files.push({ name: f.name, sha256: f.sha256, outcome: 'rejected', detail });
      movedAside.push(`${JSON.stringify(f.name)}: ${detail}`);
      continue;
    }
    let seen = false;
    try {
      const r = await executeChild(ediFileWorkflow, {
        workflowId: ediFileWorkflowId(input.account, f.sha256),
        args: [{ account: input.account, name: f.name, sha256: f.sha256, retry: input.retry }],
        // Contents processed once; a run that failed (server down, say) may run again on the next pick-up.
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        parentClosePolicy: ParentClosePolicy.ABANDON,
      });
      // The run's result keeps each file's counts and its first lines only: the full report is the child's result.
      out.files.push({ name: f.name, sha256: f.sha256, outcome: r.outcome, report: summarise(r) });
    } catch (e) {
      const name = (e as Error).name;
      if (name === 'WorkflowExecutionAlreadyStartedError') {
        seen = true;
      } else {
        out.files.push({ name: f.name, sha256: f.sha256, outcome: 'failed', detail: (e as Error).message });
      }
    }
    if (!seen) continue;
    if (!patched(REJECTED_FILES_MOVED)) {
      out.files.push({
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
      out.files.push({ name: f.name, sha256: f.sha256, outcome: settled.outcome, detail: settled.detail });
      if (settled.outcome === 'rejected') movedAside.push(`${JSON.stringify(f.name)}: ${settled.detail}`);
    } catch (e) {
      out.files.push({
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
  return out;
}
