/**
 * EDI follow-ups: collect the vendor's files, read each one (ORDRSP and INVOIC), tell each order its news,
 * archive the file (or, when it cannot be read, move it to `rejected/`). Workflows only ever see names, hashes
 * and summaries: the documents stay on disk.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { WorkflowNotFoundError, isGrpcServiceError, type Client } from '@temporalio/client';
import type { Account, Config } from '../config/schema';
import { normaliseIsbn } from '../contract/isbn';
import { describePlace, readEdiFile, type EdiDocument } from '../edi/document';
import { excerptOf } from '../edi/errors';
import type { LineReference } from '../edi/values';
import { ARCHIVE_DIR, FileStoreError, REJECTED_DIR, type ArchiveFolder } from '../files';
import { archivedName, collect, fetchToInbox, withStore, type InboxFile } from '../followup/inbox';
import { OrderLookup } from '../followup/order-lookup';
import type { Logger } from '../logging';
import { renderReport, type Mailer } from '../mail';
import { countEdiFile } from '../metrics';
import { ediFileWorkflowId, orderWorkflowId } from '../order/ids';
import { invoiceSignal, statusQuery, vendorStatusSignal } from '../order/messages';
import { OasisOrderId, OrderStage } from '../order/search-attributes';
import { STAGES, isFinal, type InvoiceNews, type Stage, type VendorStatusNews } from '../order/types';

export interface FileRef {
  account: string;
  kind: 'edi' | 'marc';
  name: string;
  sha256: string;
}

export interface UnmatchedLine {
  message: string;
  segment: number;
  line: string;
  poLine?: string;
  vendorRef?: string;
  /** The line's references as "<qualifier> <value>" (clipped), absent in reports made before they were read. */
  references?: string[];
  isbn?: string;
  reason: string;
}

/** Something in the file that could not be read, and where: a person must look at it. */
export interface FileProblem {
  reason: string;
  /** "segment 12 (QTY) of message M1". */
  place: string;
  /** The message's reference (UNH), type and document number, when it is a message that could not be read. */
  message?: string;
  type?: string;
  number?: string;
}

/** A line whose order had already ended: its news can no longer be taken in, so a person is told. */
export interface EndedOrderLine {
  message: string;
  segment: number;
  line: string;
  orderId: string;
  workflowId: string;
  /** The stage the order ended in (from its status, else its search attribute), or how its workflow closed. */
  stage: string;
  /** What the line brought: "vendor status shipped", "invoice INV-1". */
  news: string;
}

export interface EdiFileReport {
  file: string;
  sha256: string;
  outcome: 'processed' | 'rejected';
  error?: string;
  /** Where the file was moved on the server when it could not be read (`rejected/<hash prefix>-<name>`). */
  movedTo?: string;
  messages: number;
  lines: number;
  statuses: number;
  invoiceLines: number;
  matched: number;
  /** The first unmatched lines (capped); `unmatchedTotal` counts them all. */
  unmatched: UnmatchedLine[];
  unmatchedTotal: number;
  /**
   * The first lines for orders that had already ended (capped); `endedTotal` counts them all. Absent in
   * reports made before they were told apart (those runs failed on such lines instead).
   */
  ended?: EndedOrderLine[];
  endedTotal?: number;
  mismatches: string[];
  warnings: string[];
  /**
   * What could not be read, with its place (the first ones; `problemsTotal` counts them all). Absent in reports
   * made before messages were read one by one (a file was then readable or not as a whole).
   */
  problems?: FileProblem[];
  problemsTotal?: number;
  /** Messages that could not be read (counted in `messages` too). */
  unreadableMessages?: number;
}

/** What became of a file whose contents an earlier run already had (`settleSeenEdiFile`). */
export interface SeenFileOutcome {
  outcome: 'duplicate' | 'rejected';
  detail: string;
  /** `archive/…` or `rejected/…` when the file was moved; absent while another run is still on it. */
  movedTo?: string;
}

/** The signal found no running workflow: it has closed (or is gone). Told by type, never by message text. */
export function isWorkflowGone(e: unknown): boolean {
  if (e instanceof WorkflowNotFoundError) return true;
  return isGrpcServiceError(e) && e.code === GRPC_NOT_FOUND;
}

const GRPC_NOT_FOUND = 5;

// Reports travel through workflow histories: lists are capped (counts stay exact), and so is every piece of
// vendor text in them (a reference, a message number), so a report stays far below Temporal's payload limit.
const MAX_LISTED = 100;

/** Vendor text for a report: printable and at most `max` characters. */
function clip(text: string, max = 70): string {
  return excerptOf(text, max);
}
const listed = (list: string[], item: string) => {
  if (list.length < MAX_LISTED) list.push(item);
};

/** What processEdiFile heartbeats while it reads: `rto edi run` shows it. */
export interface EdiFileProgress {
  file: string;
  messages: number;
  lines: number;
}

function heartbeat(p: EdiFileProgress): void {
  try {
    Context.current().heartbeat(p);
  } catch {
    // Not in an activity (a test calling it directly): nobody to tell.
  }
}

/**
 * The reader's documents; a fault of the reader itself (a bug meeting these bytes) ends the reading with a
 * problem of the file, not an exception: the same bytes would meet it again on every retry. Reading the local
 * copy from disk failing (an I/O error of this machine) is thrown, and so retried.
 */
function* readerGuarded(
  documents: Generator<EdiDocument>,
  problem: (p: FileProblem) => void,
): Generator<EdiDocument> {
  try {
    for (;;) {
      let next: IteratorResult<EdiDocument>;
      try {
        next = documents.next();
      } catch (e) {
        if (typeof (e as NodeJS.ErrnoException)?.syscall === 'string') throw e;
        problem({
          reason: clip(`the reader failed on this file (${(e as Error)?.message ?? String(e)})`, 600),
          place: 'the file',
        });
        return;
      }
      if (next.done) return;
      yield next.value;
    }
  } finally {
    // A fault while delivering (thrown, retried) still closes the file.
    documents.return(undefined);
  }
}

/** Numbered names tried when a file's archived name is taken. */
const MAX_NUMBERED_NAMES = 20;

function source(
  config: Config,
  account: string,
  kind: 'edi' | 'marc',
): { acc: Account; src: NonNullable<Account['edi']['source']> } {
  const acc = config.accounts[account];
  if (!acc)
    throw ApplicationFailure.create({
      type: 'UnknownAccount',
      message: `account ${account} is not configured`,
      nonRetryable: true,
    });
  const src = acc[kind].source;
  if (!src)
    throw ApplicationFailure.create({
      type: 'NoSource',
      message: `account ${account} has no ${kind} source configured`,
      nonRetryable: true,
    });
  return { acc, src };
}

/** Invoice line vs the order: quantity, unit price beyond the tolerance, currency. */
export function invoiceMismatches(
  line: { quantity: number; netUnitPrice?: string; grossUnitPrice?: string },
  currency: string | undefined,
  order: { quantityOrdered?: number; quantityInvoiced: number; price?: { amount: string; currency: string } },
  tolerance: number,
): string[] {
  const out: string[] = [];
  if (order.quantityOrdered !== undefined && order.quantityInvoiced + line.quantity > order.quantityOrdered) {
    out.push(
      `invoiced ${order.quantityInvoiced + line.quantity} copies in all, ${order.quantityOrdered} ordered`,
    );
  }
  if (order.price && currency && currency !== order.price.currency) {
    out.push(`invoiced in ${currency}, ordered in ${order.price.currency}`);
  }
  const unit = line.grossUnitPrice ?? line.netUnitPrice;
  if (order.price && unit !== undefined && (!currency || currency === order.price.currency)) {
    const listed = Number(order.price.amount);
    const charged = Number(unit);
    if (listed > 0 && Math.abs(charged - listed) / listed > tolerance) {
      out.push(
        `unit price ${unit} differs from the list price ${order.price.amount} by more than ${Math.round(tolerance * 100)}%`,
      );
    }
  }
  return out;
}

/** The OASIS order id in an order's workflow id (`order:<account>:<order id>`). */
function orderIdOf(workflowId: string, account: string): string {
  const prefix = orderWorkflowId(account, '');
  return workflowId.startsWith(prefix) ? workflowId.slice(prefix.length) : workflowId;
}

function isStage(v: string | undefined): v is Stage {
  return v !== undefined && (STAGES as readonly string[]).includes(v);
}

export function ediActivities(deps: {
  config: Config;
  logger: Logger;
  temporal?: Client;
  mailer?: Mailer;
  dataDir: string;
}) {
  const client = () => {
    if (!deps.temporal) throw new Error('EDI activities need a Temporal client');
    return deps.temporal;
  };

  /**
   * How an order whose workflow would not take a signal ended: its final stage from the status query (a closed
   * workflow still answers it), else from its OrderStage search attribute, else how its workflow closed.
   */
  async function endedOrder(
    workflowId: string,
    account: string,
  ): Promise<{ orderId: string; stage: string }> {
    const handle = client().workflow.getHandle(workflowId);
    let desc;
    try {
      desc = await handle.describe();
    } catch (e) {
      if (isWorkflowGone(e))
        return { orderId: orderIdOf(workflowId, account), stage: 'no longer kept by Temporal' };
      throw e;
    }
    if (desc.status.name === 'RUNNING') {
      // Closed when signalled, running now (started again under its id): the next attempt delivers the news.
      throw ApplicationFailure.create({
        type: 'OrderRunningAgain',
        message: `the workflow ${workflowId} is running again: retrying its news`,
      });
    }
    let stage: string | undefined = desc.typedSearchAttributes.get(OrderStage);
    let orderId = desc.typedSearchAttributes.get(OasisOrderId) ?? orderIdOf(workflowId, account);
    try {
      const status = await handle.query(statusQuery);
      stage = status.stage;
      orderId = status.orderId;
    } catch (e) {
      deps.logger.warn(
        { workflowId, err: (e as Error).message },
        'the status of an ended order could not be read',
      );
    }
    const closed = desc.status.name.toLowerCase().replace(/_/g, ' ');
    return {
      orderId,
      stage: isStage(stage) && isFinal(stage) ? stage : `${stage ?? 'stage unknown'}, workflow ${closed}`,
    };
  }

  /**
   * Moves the file into `folder` under its archived name. A name already taken there (the same contents sent
   * again under the same name, archived before) gets the next numbered name, so the move cannot fail forever.
   */
  async function moveTo(ref: FileRef, folder: ArchiveFolder): Promise<string> {
    const { src } = source(deps.config, ref.account, ref.kind);
    return withStore(src, deps.logger, async (store) => {
      for (let n = 0; ; n++) {
        const target = archivedName(ref.sha256, ref.name, n);
        try {
          await store.archive(ref.name, target, folder);
          return `${folder}/${target}`;
        } catch (e) {
          if (!(e instanceof FileStoreError && e.code === 'EEXIST') || n >= MAX_NUMBERED_NAMES) throw e;
        }
      }
    });
  }

  return {
    /** Lists the account's vendor folder and returns its files with their content hashes. */
    async collectVendorFiles(input: {
      account: string;
      kind: 'edi' | 'marc';
    }): Promise<{ files: InboxFile[]; rejected: { name: string; reason: string }[] }> {
      const { src } = source(deps.config, input.account, input.kind);
      const pattern = input.kind === 'marc' ? /\.(mrc|marc|xml|iso|dat)$/i : undefined;
      try {
        return await withStore(src, deps.logger, (store) =>
          // EDI files that could not be read are kept in rejected/: the same contents sent again are known.
          collect(store, deps.dataDir, input.account, input.kind, pattern, undefined, input.kind === 'edi'),
        );
      } catch (e) {
        // A local folder that is missing will not appear by retrying: fail the run at once, saying which.
        if (e instanceof FileStoreError && e.code === 'ENOENT' && src.type === 'local') {
          throw ApplicationFailure.create({ type: 'NoSource', message: e.message, nonRetryable: true });
        }
        throw e;
      }
    },

    /**
     * For `rto edi retry`: finds the file an operator wants read again, in rejected/ (by its name there or by
     * the name it came with) or still in the pick-up folder, moves it back into the pick-up folder and returns
     * its name and hash. Nothing found, or a name it cannot take back, is said (not retried).
     */
    async restoreEdiFile(input: {
      account: string;
      file: string;
    }): Promise<{ name: string; sha256: string; from: string } | { notFound: string }> {
      const { src } = source(deps.config, input.account, 'edi');
      const wanted = input.file;
      return withStore(src, deps.logger, async (store) => {
        const rejected = await store.listArchive(REJECTED_DIR);
        const original = (entry: string) => entry.replace(/^[0-9a-f]{16}(\.\d+)?-/, '');
        const exact = rejected.filter((e) => e === wanted);
        const byName = exact.length ? exact : rejected.filter((e) => original(e) === wanted);
        if (byName.length > 1) {
          throw ApplicationFailure.create({
            type: 'RetryRefused',
            message: `${byName.length} files in rejected/ came as ${clip(wanted)}: name the one to read again (${byName.slice(0, 5).join(', ')})`,
            nonRetryable: true,
          });
        }
        let name: string;
        let from: string;
        if (byName.length === 1) {
          const entry = byName[0]!;
          name = original(entry);
          try {
            await store.restore(entry, name, REJECTED_DIR);
          } catch (e) {
            if (e instanceof FileStoreError && e.code === 'EEXIST')
              throw ApplicationFailure.create({
                type: 'RetryRefused',
                message: `a file named ${clip(name)} is already in the pick-up folder: ${REJECTED_DIR}/${entry} was left where it is`,
                nonRetryable: true,
              });
            throw e;
          }
          from = `${REJECTED_DIR}/${entry}`;
        } else {
          const listing = await store.list();
          if (!listing.some((f) => f.name === wanted)) {
            const similar = rejected.filter(
              (e) => original(e).includes(wanted) || wanted.includes(original(e)),
            );
            return {
              notFound: `no file ${clip(wanted)} in the pick-up folder or in ${REJECTED_DIR}/${similar.length ? ` (in ${REJECTED_DIR}/: ${similar.slice(0, 5).join(', ')})` : ''}`,
            };
          }
          name = wanted;
          from = 'the pick-up folder';
        }
        const { sha256 } = await fetchToInbox(store, deps.dataDir, input.account, 'edi', name);
        deps.logger.info({ account: input.account, file: name, from }, 'EDI file to be read again');
        return { name, sha256, from };
      });
    },

    /** Moves a processed file into the server's archive folder, named by its hash. */
    async archiveVendorFile(ref: FileRef): Promise<string> {
      return (await moveTo(ref, ARCHIVE_DIR)).slice(ARCHIVE_DIR.length + 1);
    },

    /**
     * Moves a file that could not be read out of the pick-up folder, into `rejected/` named by its hash (so the
     * same contents sent again are recognised); returns where it went (`rejected/<hash prefix>-<name>`).
     */
    async rejectVendorFile(ref: FileRef): Promise<string> {
      const where = await moveTo(ref, REJECTED_DIR);
      deps.logger.warn(
        { account: ref.account, file: ref.name, movedTo: where },
        'unreadable vendor file moved',
      );
      return where;
    },

    /**
     * A file whose contents an earlier run already took (its file workflow exists) but which is still in the
     * pick-up folder: moved where that run's outcome says (archive, or rejected/ if it could not be read), so
     * it is not picked up again. Left alone while that run is still going.
     */
    async settleSeenEdiFile(ref: FileRef): Promise<SeenFileOutcome> {
      const handle = client().workflow.getHandle(ediFileWorkflowId(ref.account, ref.sha256));
      const desc = await handle.describe();
      if (desc.status.name === 'RUNNING')
        return { outcome: 'duplicate', detail: 'these contents are being processed by another run' };
      const earlier = (await handle.result()) as EdiFileReport;
      if (earlier.outcome === 'rejected') {
        const movedTo = await moveTo(ref, REJECTED_DIR);
        return {
          outcome: 'rejected',
          detail: `these contents could not be read (${earlier.error ?? 'unreadable'}); moved to ${movedTo}`,
          movedTo,
        };
      }
      const movedTo = await moveTo(ref, ARCHIVE_DIR);
      return {
        outcome: 'duplicate',
        detail: `these contents were already processed; moved to ${movedTo}`,
        movedTo,
      };
    },

    /**
     * Reads one EDI file message by message (bounded memory) and signals every order it speaks of; returns the
     * file's report. What is wrong with the file (a message that cannot be read, data outside any message,
     * not EDIFACT) is the file's: reported with its place, the file then rejected, never retried (the same
     * bytes read the same way). Only faults outside the file are thrown, and so retried: the vendor's server,
     * Temporal (a look-up or signal that failed).
     */
    async processEdiFile(ref: FileRef): Promise<EdiFileReport> {
      const { acc, src } = source(deps.config, ref.account, 'edi');
      const local = await withStore(src, deps.logger, (store) =>
        fetchToInbox(store, deps.dataDir, ref.account, 'edi', ref.name, ref.sha256),
      );
      const report: EdiFileReport = {
        file: ref.name,
        sha256: ref.sha256,
        outcome: 'processed',
        messages: 0,
        lines: 0,
        statuses: 0,
        invoiceLines: 0,
        matched: 0,
        unmatched: [],
        unmatchedTotal: 0,
        ended: [],
        endedTotal: 0,
        mismatches: [],
        warnings: [],
        problems: [],
        problemsTotal: 0,
        unreadableMessages: 0,
      };
      const lookup = new OrderLookup(client(), ref.account);
      const problem = (p: FileProblem) => {
        report.problemsTotal = (report.problemsTotal ?? 0) + 1;
        if (report.problems!.length < MAX_LISTED) report.problems!.push(p);
      };
      const unmatched = (u: UnmatchedLine) => {
        report.unmatchedTotal++;
        if (report.unmatched.length < MAX_LISTED) report.unmatched.push(u);
      };
      const src0 = { file: ref.name, sha256: ref.sha256 };
      /**
       * Signals news to an order. An order that has ended takes none: that is a fact for the report (and for
       * staff), not an error to retry. Returns whether the news was delivered.
       */
      const deliver = async (
        workflowId: string,
        send: () => Promise<void>,
        line: { message: string; segment: number; line: string; news: string },
      ): Promise<boolean> => {
        try {
          await send();
          return true;
        } catch (e) {
          if (!isWorkflowGone(e)) throw e;
        }
        const ended = await endedOrder(workflowId, ref.account);
        report.endedTotal = (report.endedTotal ?? 0) + 1;
        if (report.ended!.length < MAX_LISTED) report.ended!.push({ ...line, ...ended, workflowId });
        return false;
      };
      const unmatchedLine = (
        message: string,
        l: {
          segment: number;
          lineNo: string;
          poLine?: string;
          vendorRef?: string;
          references: LineReference[];
        },
        isbn: string | undefined,
        reason: string,
      ): UnmatchedLine => ({
        message,
        segment: l.segment,
        line: clip(l.lineNo),
        ...(l.poLine !== undefined ? { poLine: clip(l.poLine) } : {}),
        ...(l.vendorRef !== undefined ? { vendorRef: clip(l.vendorRef) } : {}),
        ...(l.references.length
          ? { references: l.references.slice(0, 8).map((r) => `${r.qualifier} ${clip(r.value)}`) }
          : {}),
        ...(isbn ? { isbn } : {}),
        reason: clip(reason, 600),
      });
      let lastBeat = Date.now();
      let lastLogged = lastBeat;
      for (const doc of readerGuarded(readEdiFile(local.file, { fileName: ref.name }), problem)) {
        const now = Date.now();
        if (now - lastBeat > 2_000) {
          // Progress for whoever watches (rto edi run prints it); no heartbeat time-out depends on it.
          lastBeat = now;
          heartbeat({ file: clip(ref.name, 200), messages: report.messages, lines: report.lines });
        }
        if (now - lastLogged > 30_000) {
          lastLogged = now;
          deps.logger.info(
            { account: ref.account, file: ref.name, messages: report.messages, lines: report.lines },
            'EDI file: reading',
          );
        }
        switch (doc.kind) {
          case 'warning':
            listed(report.warnings, clip(doc.text, 600));
            continue;
          case 'problem':
            problem({ reason: clip(doc.reason, 600), place: describePlace(doc.place) });
            continue;
          case 'not-edifact':
            problem({ reason: clip(doc.problem, 600), place: 'the file' });
            continue;
          case 'unreadable':
            report.messages++;
            report.unreadableMessages = (report.unreadableMessages ?? 0) + 1;
            problem({
              reason: clip(doc.reason, 600),
              place: describePlace(doc.place),
              ...(doc.ref !== undefined ? { message: clip(doc.ref) } : {}),
              ...(doc.type !== undefined ? { type: clip(doc.type, 10) } : {}),
              ...(doc.number !== undefined ? { number: clip(doc.number) } : {}),
            });
            continue;
          case 'other':
            report.messages++;
            listed(
              report.warnings,
              `message ${clip(doc.ref)} is ${clip(doc.type, 10)}, not an order response or invoice: not used`,
            );
            for (const w of doc.warnings) listed(report.warnings, clip(w, 600));
            continue;
          case 'order-response': {
            const resp = doc.response;
            const msg = clip(resp.messageRef);
            report.messages++;
            for (const w of [...doc.warnings, ...resp.warnings]) listed(report.warnings, clip(w, 600));
            for (const line of resp.lines) {
              report.lines++;
              report.statuses++;
              const isbn = normaliseIsbn(line.isbn ?? line.ean) ?? undefined;
              const match = await lookup.find({ references: line.references, ...(isbn ? { isbn } : {}) });
              if (!match.ok) {
                unmatched(unmatchedLine(msg, line, isbn, match.reason));
                continue;
              }
              const lineNo = clip(line.lineNo);
              const news: VendorStatusNews = {
                status: line.status,
                statusText: clip(line.statusText, 1000),
                ...(line.expectedDate ? { expectedDate: line.expectedDate } : {}),
                ...(line.despatched !== undefined ? { quantityShipped: line.despatched } : {}),
                ...(line.backordered !== undefined ? { quantityBackordered: line.backordered } : {}),
                source: { ...src0, message: msg, segment: line.segment, line: lineNo },
              };
              const delivered = await deliver(
                match.workflowId,
                () => client().workflow.getHandle(match.workflowId).signal(vendorStatusSignal, news),
                { message: msg, segment: line.segment, line: lineNo, news: `vendor status ${line.status}` },
              );
              if (delivered) report.matched++;
            }
            continue;
          }
          case 'invoice': {
            const inv = doc.invoice;
            const msg = clip(inv.messageRef);
            const number = clip(inv.number);
            report.messages++;
            for (const w of [...doc.warnings, ...inv.warnings]) listed(report.warnings, clip(w, 600));
            // An invoice that does not add up is flagged on every order it names, and to staff once.
            const r = inv.reconciliation;
            const doesNotAddUp =
              r.ok === false
                ? `${inv.kind.replace('-', ' ')} ${number} does not add up: ${clip(r.explanation, 400)}`
                : undefined;
            if (doesNotAddUp) listed(report.mismatches, doesNotAddUp);
            for (const line of inv.lines) {
              report.lines++;
              report.invoiceLines++;
              const isbn = normaliseIsbn(line.isbn ?? line.ean) ?? undefined;
              const match = await lookup.find({ references: line.references, ...(isbn ? { isbn } : {}) });
              if (!match.ok) {
                unmatched(unmatchedLine(msg, line, isbn, match.reason));
                continue;
              }
              const lineNo = clip(line.lineNo);
              const order = await lookup.status(match.workflowId);
              // A retried attempt finds this line already on the order: it must not count it against itself.
              const known = order?.invoices.some(
                (i) => i.invoiceNumber === number && i.kind === inv.kind && i.source.line === lineNo,
              );
              const mismatches = [
                ...(order && inv.kind === 'invoice' && !known
                  ? invoiceMismatches(line, inv.currency, order, acc.edi.priceTolerance)
                  : []),
                ...(doesNotAddUp ? [doesNotAddUp] : []),
              ];
              const unit = line.grossUnitPrice ?? line.netUnitPrice;
              const news: InvoiceNews = {
                invoiceNumber: number,
                kind: inv.kind,
                quantity: line.quantity,
                ...(unit ? { unitPrice: unit } : {}),
                ...(line.lineAmount ? { lineAmount: line.lineAmount } : {}),
                ...(inv.currency ? { currency: clip(inv.currency, 10) } : {}),
                mismatches,
                source: { ...src0, message: msg, segment: line.segment, line: lineNo },
              };
              const delivered = await deliver(
                match.workflowId,
                () => client().workflow.getHandle(match.workflowId).signal(invoiceSignal, news),
                {
                  message: msg,
                  segment: line.segment,
                  line: lineNo,
                  news: `${inv.kind.replace('-', ' ')} ${number} line ${lineNo}`,
                },
              );
              if (!delivered) continue;
              report.matched++;
              for (const m of mismatches)
                if (m !== doesNotAddUp)
                  listed(report.mismatches, `${order?.orderId ?? match.workflowId}: ${m}`);
            }
            continue;
          }
        }
      }
      if ((report.problemsTotal ?? 0) > 0) {
        // Not retried: the same bytes read the same way. The workflow moves the file to rejected/ for a person.
        const first = report.problems![0]!;
        const unreadable = report.unreadableMessages ?? 0;
        const what =
          report.messages === 0
            ? 'the file could not be read'
            : unreadable === report.messages
              ? `no message could be read (${unreadable} in the file)`
              : unreadable > 0
                ? `${unreadable} of ${report.messages} messages could not be read (the others were taken in)`
                : `part of the file could not be read (its ${report.messages} messages were taken in)`;
        report.outcome = 'rejected';
        report.error = `${what}: ${first.place}: ${first.reason}`;
      }
      deps.logger.info(
        {
          account: ref.account,
          file: ref.name,
          outcome: report.outcome,
          messages: report.messages,
          matched: report.matched,
          unmatched: report.unmatchedTotal,
          ended: report.endedTotal,
          problems: report.problemsTotal,
        },
        'EDI file processed',
      );
      countEdiFile(ref.account, report);
      return report;
    },

    /** Mails staff a run report when something needs a person (unmatched lines, rejected files, mismatches). */
    async mailRunReport(input: {
      account: string;
      title: string;
      lines: string[];
      runId: string;
    }): Promise<boolean> {
      const acc = deps.config.accounts[input.account];
      if (!deps.mailer || !acc || acc.email.staff.length === 0 || input.lines.length === 0) return false;
      const mail = renderReport({ title: input.title, lines: input.lines.slice(0, 500) });
      // One Message-ID per run and title: a retried send is the same message.
      const stamp = `${input.runId}.${input.title}`.replace(/[^A-Za-z0-9-]/g, '-').slice(0, 120);
      await deps.mailer.send({
        from: acc.email.from,
        to: acc.email.staff,
        ...mail,
        messageId: `<report.${stamp}@oasis-alma-rto.invalid>`,
      });
      return true;
    },
  };
}
