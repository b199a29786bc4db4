/**
 * The daily digest to an account's staff (src/digest): what needs them, by why, each item with its link to the
 * Temporal UI. Titles, file names and reasons come from OASIS and vendors: the document escapes them all.
 */
import { isEmptyDigest, type Digest, type DigestFile } from '../digest/content';
import { renderHtml, renderText, type Row, type Section } from './document';
import { oneLine } from './escape';
import type { RenderedMail } from './render';

const FOOTER =
  'Sent automatically by oasis-alma-rto (OASIS to Alma real-time ordering), once a day when something needs staff. Please do not reply.';

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

function fileRows(files: DigestFile[], rejected: boolean): Row[] {
  return files.map((f) => ({
    label: f.name,
    value: rejected
      ? `${f.error ?? 'could not be read'}${f.movedTo ? ` (moved on the server to ${f.movedTo})` : ''}`
      : [
          `${plural(f.unmatchedTotal, 'line matches', 'lines match')} no order`,
          ...f.unmatched,
          ...(f.unmatchedTotal > f.unmatched.length
            ? [`... and ${f.unmatchedTotal - f.unmatched.length} more`]
            : []),
        ].join('\n'),
    multiline: !rejected,
    link: f.url,
  }));
}

/** The digest mail; undefined when there is nothing to say (then no mail is sent). */
export function renderDigest(d: Digest, accountName?: string): RenderedMail | undefined {
  if (isEmptyDigest(d)) return undefined;
  const orders = new Set(d.sections.flatMap((s) => s.orders.map((o) => o.workflowId))).size;
  const files = d.rejectedFiles.length + d.unmatchedFiles.length;
  const who = accountName && accountName !== d.account ? `${accountName} (${d.account})` : d.account;
  const counts = [
    ...(orders ? [plural(orders, 'order', 'orders')] : []),
    ...(files ? [plural(files, 'vendor file', 'vendor files')] : []),
  ].join(' and ');

  const sections: Section[] = [];
  for (const s of d.sections) {
    if (!s.orders.length) continue;
    sections.push({
      heading: `${s.heading} (${s.orders.length + s.more})`,
      rows: [
        ...s.orders.map((o) => ({
          label: o.orderId,
          value: [
            o.alerts.join(', '),
            o.stage,
            ...(o.poLine ? [`PO line ${o.poLine}`] : []),
            ...(o.title ? [`"${o.title}"`] : []),
          ].join('; '),
          link: o.url,
        })),
        {
          label: 'All of them',
          value:
            plural(s.orders.length + s.more, 'order', 'orders') +
            (s.more ? ` (${s.more} not listed here)` : ''),
          link: s.url,
        },
      ],
    });
  }
  if (d.rejectedFiles.length)
    sections.push({
      heading: `Rejected vendor files (${d.rejectedFiles.length})`,
      rows: fileRows(d.rejectedFiles, true),
    });
  if (d.unmatchedFiles.length)
    sections.push({
      heading: `Vendor files with unmatched lines (${d.unmatchedFiles.length})`,
      rows: fileRows(d.unmatchedFiles, false),
    });

  const title = `Daily digest for ${who}, ${d.day}`;
  const doc = {
    title,
    paragraphs: [
      `${counts} need attention (orders with open alerts now; vendor files read since ${d.filesSince}).`,
    ],
    sections,
    footer: FOOTER,
  };
  return {
    subject: oneLine(`[oasis-alma-rto] Daily digest ${d.account} ${d.day}: ${counts}`, 250),
    text: renderText(doc),
    html: renderHtml(doc),
  };
}
