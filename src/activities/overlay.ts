/**
 * The nightly MARC overlay of one vendor file: stream the records, match each to its order (9XX order id or
 * PO line, then ISBN among open orders), read the current bibs in batches, merge (keep 001/005 and local
 * fields, drop excluded tags, write the order's 9XX fields), PUT each back, and tell the order. Progress is
 * heartbeated, so a retried attempt resumes after the last record done; one bad record never stops the run.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { Bib } from '../alma/client';
import { AlmaError } from '../alma/errors';
import { own } from '../config/lookup';
import type { Account, Config } from '../config/schema';
import { fetchToInbox, withStore } from '../followup/inbox';
import { OrderLookup } from '../followup/order-lookup';
import type { AlmaAccess } from '../institution/alma-access';
import { DailyBudgetExhausted } from '../institution/budget';
import type { Logger } from '../logging';
import {
  matchKeys,
  overlayRecord,
  parseAlmaBibXml,
  readMarcFile,
  toAlmaBibXml,
  type MarcRecord,
} from '../marc';
import { overlayRecords } from '../metrics';
import { recordOverlaidSignal } from '../order/messages';
import type { OrderStatus } from '../order/types';
import { toFailure } from './to-failure';
import type { FileRef } from './edi';

export interface OverlayFileReport {
  file: string;
  sha256: string;
  read: number;
  matched: number;
  overlaid: number;
  /** The first unmatched and failed records (capped); the totals count them all. */
  unmatched: { record: number; reason: string }[];
  failed: { record: number; reason: string }[];
  unmatchedTotal: number;
  failedTotal: number;
  almaCalls: number;
}

interface Progress {
  done: number;
  report: OverlayFileReport;
}

const BATCH = 50;
// Reports travel through workflow histories: lists are capped, totals exact.
const MAX_LISTED = 200;

/** The 9XX fields the account configured, filled from the order. */
export function orderFieldsFor(acc: Account, status: OrderStatus): { field: string; value: string }[] {
  const f = acc.marc.fields;
  const values: [string | undefined, string | undefined][] = [
    [f.orderId, status.orderId],
    [f.poLine, status.poLine],
    [f.fund, status.funds?.join(' ')],
    [f.location, status.location],
    [f.notes, status.notes],
  ];
  return values
    .filter((v): v is [string, string] => !!v[0] && !!v[1])
    .map(([field, value]) => ({ field, value }));
}

export function overlayActivities(deps: {
  config: Config;
  alma: AlmaAccess;
  logger: Logger;
  temporal?: Client;
  dataDir: string;
}) {
  return {
    async overlayMarcFile(ref: FileRef): Promise<OverlayFileReport> {
      const ctx = Context.current();
      const acc = own(deps.config.accounts, ref.account);
      const src = acc?.marc.source;
      if (!acc || !src)
        throw ApplicationFailure.create({
          type: 'NoSource',
          message: `account ${ref.account} has no MARC source`,
          nonRetryable: true,
        });
      if (!deps.temporal) throw new Error('the overlay needs a Temporal client');
      const temporal = deps.temporal;
      const local = await withStore(src, deps.logger, (store) =>
        fetchToInbox(store, deps.dataDir, ref.account, 'marc', ref.name, ref.sha256),
      );
      const prior = ctx.info.heartbeatDetails as Progress | undefined;
      const report: OverlayFileReport = prior?.report ?? {
        file: ref.name,
        sha256: ref.sha256,
        read: 0,
        matched: 0,
        overlaid: 0,
        unmatched: [],
        failed: [],
        unmatchedTotal: 0,
        failedTotal: 0,
        almaCalls: 0,
      };
      const resumeAfter = prior?.done ?? 0;
      // What a retry resumes from: a copy taken when a batch was written (the report keeps changing).
      let lastSaved: Progress = structuredClone({ done: resumeAfter, report });
      ctx.heartbeat(lastSaved);
      // The overlay can wait for tomorrow's budget: held first when the day's budget runs low.
      const { client } = deps.alma.forAccount(ref.account, ctx.cancellationSignal, 'deferrable');
      const lookup = new OrderLookup(temporal, ref.account);
      const fields = { orderId: acc.marc.fields.orderId, poLine: acc.marc.fields.poLine };
      const note = (list: { record: number; reason: string }[], record: number, reason: string) => {
        if (list === report.unmatched) report.unmatchedTotal++;
        else report.failedTotal++;
        if (list.length < MAX_LISTED) list.push({ record, reason: reason.slice(0, 300) });
      };

      let batch: { index: number; record: MarcRecord; workflowId: string; status: OrderStatus }[] = [];
      let lastIndex = resumeAfter;
      const flush = async () => {
        if (!batch.length) return;
        const mmsIds = [...new Set(batch.map((b) => b.status.mmsId!))];
        // Many bibs in one call where Alma allows (GET /bibs?mms_id=a,b,...).
        const bibs = new Map<string, Bib>();
        for (const bib of await client.getBibs(mmsIds)) bibs.set(bib.mmsId, bib);
        report.almaCalls += Math.ceil(mmsIds.length / 100);
        for (const b of batch) {
          const mmsId = b.status.mmsId!;
          const current = bibs.get(mmsId);
          if (!current) {
            note(report.failed, b.index, `bib ${mmsId} of order ${b.status.orderId} was not found in Alma`);
            continue;
          }
          try {
            const merged = overlayRecord({
              current: parseAlmaBibXml(current.marcXml),
              incoming: b.record,
              excludeTags: acc.marc.excludeTags,
              localTags: acc.marc.localTags,
              orderFields: orderFieldsFor(acc, b.status),
            });
            report.almaCalls++;
            await client.putBib(mmsId, toAlmaBibXml(merged));
            await temporal.workflow.getHandle(b.workflowId).signal(recordOverlaidSignal, {
              mmsId,
              source: { file: ref.name, sha256: ref.sha256, segment: b.index },
            });
            report.overlaid++;
          } catch (e) {
            // Alma unavailable or out of budget: retry the activity (it resumes here). Anything else: this record only.
            if (e instanceof DailyBudgetExhausted || (e instanceof AlmaError && e.retryable)) throw e;
            note(report.failed, b.index, `order ${b.status.orderId}, bib ${mmsId}: ${(e as Error).message}`);
          }
        }
        lastIndex = batch[batch.length - 1]!.index;
        batch = [];
        lastSaved = structuredClone({ done: lastIndex, report } satisfies Progress);
        ctx.heartbeat(lastSaved);
      };

      try {
        for await (const r of readMarcFile(local.file)) {
          // Alive even through long stretches of unmatched records; the progress saved is the last flushed one.
          if (r.index % 100 === 0) ctx.heartbeat(lastSaved);
          if (r.index <= resumeAfter) continue;
          report.read++;
          if (!r.ok) {
            note(report.failed, r.index, r.error);
            continue;
          }
          const keys = matchKeys(r.record, fields);
          const match = await lookup.find({
            orderIds: keys.orderIds,
            poLines: keys.poLines,
            isbns: keys.isbns,
          });
          if (!match.ok) {
            note(report.unmatched, r.index, match.reason);
            continue;
          }
          const status = await lookup.status(match.workflowId);
          if (status && !status.mmsId && status.poLine) {
            // Polling gave up (BIB_LATE) but Alma may have linked the bib since: ask the PO line.
            const line = await client.getPoLine(status.poLine);
            report.almaCalls++;
            const linked = line.resource_metadata?.mms_id?.value;
            if (linked) status.mmsId = linked;
          }
          if (!status?.mmsId) {
            note(
              report.failed,
              r.index,
              `order ${status?.orderId ?? match.workflowId} has no bib in Alma yet`,
            );
            continue;
          }
          report.matched++;
          batch.push({ index: r.index, record: r.record, workflowId: match.workflowId, status });
          if (batch.length >= BATCH) await flush();
        }
        await flush();
      } catch (e) {
        throw toFailure(e);
      }
      deps.logger.info(
        {
          account: ref.account,
          file: ref.name,
          read: report.read,
          overlaid: report.overlaid,
          unmatched: report.unmatched.length,
          failed: report.failed.length,
        },
        'MARC overlay done',
      );
      // Counted once the file is done, from its whole report: an attempt that resumed counts what came before it.
      overlayRecords.inc({ account: ref.account, result: 'overlaid' }, report.overlaid);
      overlayRecords.inc({ account: ref.account, result: 'unmatched' }, report.unmatchedTotal);
      overlayRecords.inc({ account: ref.account, result: 'failed' }, report.failedTotal);
      return report;
    },
  };
}
