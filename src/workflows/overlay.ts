/**
 * The nightly MARC overlay of one account (a Schedule at the configured time in the institution's zone, or
 * `rto overlay run`): each new file of the vendor's MARC folder is overlaid, archived, and reported.
 */
import { workflowInfo } from '@temporalio/workflow';
import { followUpActivities, type RetryTiming } from './vendor-file-activities';
import type { OverlayFileReport } from '../activities/overlay';

export interface OverlayRunReport {
  account: string;
  read: number;
  matched: number;
  overlaid: number;
  unmatched: number;
  failed: number;
  almaCalls: number;
  files: {
    name: string;
    outcome: 'overlaid' | 'duplicate' | 'not found';
    detail?: string;
    report?: OverlayFileReport;
  }[];
}

export async function overlayWorkflow(input: {
  account: string;
  file?: string;
  retry?: RetryTiming;
}): Promise<OverlayRunReport> {
  const { vendorFiles, overlay, runReports } = followUpActivities(input.retry);
  const found = await vendorFiles.collectVendorFiles({ account: input.account, kind: 'marc' });
  const out: OverlayRunReport = {
    account: input.account,
    read: 0,
    matched: 0,
    overlaid: 0,
    unmatched: 0,
    failed: 0,
    almaCalls: 0,
    files: [],
  };
  const chosen = input.file ? found.files.filter((f) => f.name === input.file) : found.files;
  if (input.file && chosen.length === 0)
    out.files.push({
      name: input.file,
      outcome: 'not found',
      detail: 'no such file in the vendor MARC folder',
    });
  const needsPerson: string[] = [];
  for (const f of chosen) {
    const ref = { account: input.account, kind: 'marc' as const, name: f.name, sha256: f.sha256 };
    if (f.duplicateOf) {
      await vendorFiles.archiveVendorFile(ref);
      out.files.push({ name: f.name, outcome: 'duplicate', detail: `same contents as ${f.duplicateOf}` });
      continue;
    }
    const r = await overlay.overlayMarcFile(ref);
    await vendorFiles.archiveVendorFile(ref);
    // The run's result keeps counts and the first records of each list; the mail to staff lists more.
    out.files.push({
      name: f.name,
      outcome: 'overlaid',
      report: { ...r, unmatched: r.unmatched.slice(0, 20), failed: r.failed.slice(0, 20) },
    });
    out.read += r.read;
    out.matched += r.matched;
    out.overlaid += r.overlaid;
    out.unmatched += r.unmatchedTotal ?? r.unmatched.length;
    out.failed += r.failedTotal ?? r.failed.length;
    out.almaCalls += r.almaCalls;
    needsPerson.push(
      ...r.unmatched.map((u) => `${f.name} record ${u.record}: unmatched: ${u.reason}`),
      ...r.failed.map((u) => `${f.name} record ${u.record}: failed: ${u.reason}`),
    );
  }
  if (needsPerson.length) {
    await runReports.mailRunReport({
      account: input.account,
      title: `MARC overlay for ${input.account} needs a person`,
      lines: needsPerson,
      runId: workflowInfo().workflowId,
    });
  }
  return out;
}
