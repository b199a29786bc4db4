/**
 * EDI pick-up (run by a Schedule per account, or `rto edi run`): every new file in the vendor's folder gets
 * one child workflow whose id is derived from the file's content hash, so the same contents are processed
 * once however often, and under whatever name, the vendor sends them.
 */
import { ParentClosePolicy, WorkflowIdReusePolicy, executeChild, workflowInfo } from '@temporalio/workflow';
import { followUpActivities, type RetryTiming } from './vendor-file-activities';
import type { EdiFileReport } from '../activities/edi';
import { ediFileWorkflowId } from '../order/ids';

export interface EdiRunReport {
  account: string;
  files: { name: string; sha256?: string; outcome: string; detail?: string; report?: EdiFileReport }[];
  rejectedNames: { name: string; reason: string }[];
}

const LISTED_IN_RUN = 20;

function summarise(r: EdiFileReport): EdiFileReport {
  return {
    ...r,
    unmatched: r.unmatched.slice(0, LISTED_IN_RUN),
    mismatches: r.mismatches.slice(0, LISTED_IN_RUN),
    warnings: r.warnings.slice(0, LISTED_IN_RUN),
  };
}

export async function ediFileWorkflow(input: {
  retry?: RetryTiming;
  account: string;
  name: string;
  sha256: string;
}): Promise<EdiFileReport> {
  const { edi, vendorFiles, runReports } = followUpActivities(input.retry);
  const ref = { account: input.account, kind: 'edi' as const, name: input.name, sha256: input.sha256 };
  const result = await edi.processEdiFile(ref);
  if (result.outcome === 'processed') await vendorFiles.archiveVendorFile(ref);
  const lines = [
    ...(result.error ? [`The file could not be read and was left on the server: ${result.error}`] : []),
    ...result.unmatched.map(
      (u) =>
        `Unmatched line ${u.line} (message ${u.message}, segment ${u.segment}; PO line ${u.poLine ?? '-'}, vendor reference ${u.vendorRef ?? '-'}): ${u.reason}`,
    ),
    ...result.mismatches.map((m) => `Invoice difference: ${m}`),
  ];
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
  for (const f of found.files) {
    if (f.duplicateOf) {
      // The same contents were processed before under another name: archive without reading it again.
      await vendorFiles.archiveVendorFile({
        account: input.account,
        kind: 'edi',
        name: f.name,
        sha256: f.sha256,
      });
      out.files.push({
        name: f.name,
        sha256: f.sha256,
        outcome: 'duplicate',
        detail: `same contents as ${f.duplicateOf}`,
      });
      continue;
    }
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
        out.files.push({
          name: f.name,
          sha256: f.sha256,
          outcome: 'duplicate',
          detail: 'these contents were already processed',
        });
      } else {
        out.files.push({ name: f.name, sha256: f.sha256, outcome: 'failed', detail: (e as Error).message });
      }
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
  return out;
}
