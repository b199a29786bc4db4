/**
 * A small document model rendered twice, as plain text and as HTML, so both parts of a mail always say the
 * same thing. Every value is escaped on the HTML side; nothing here trusts its input.
 */
import { escapeHtml, multiLine, oneLine } from './escape';

export interface Row {
  label: string;
  value: string;
  /** Keep line breaks (notes); other values are put on one line. */
  multiline?: boolean;
  /** An http(s) link after the value (its own line in text, an anchor in HTML); any other scheme is dropped. */
  link?: string;
}

export interface Section {
  heading: string;
  rows: Row[];
}

export interface MailDocument {
  title: string;
  paragraphs: string[];
  /** A bulleted list after the paragraphs (report lines). */
  items?: string[];
  sections: Section[];
  footer?: string;
}

const FIELD_MAX = 2000;

function textValue(row: Row): string {
  return row.multiline ? multiLine(row.value) : oneLine(row.value, FIELD_MAX);
}

function safeLink(link: string | undefined): string | undefined {
  if (!link) return undefined;
  try {
    const url = new URL(link);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.toString() : undefined;
  } catch {
    return undefined;
  }
}

export function renderText(doc: MailDocument): string {
  const out: string[] = [oneLine(doc.title, FIELD_MAX), ''];
  for (const p of doc.paragraphs) out.push(multiLine(p), '');
  if (doc.items) {
    out.push(
      ...(doc.items.length ? doc.items.map((i) => '- ' + oneLine(i, FIELD_MAX)) : ['(nothing to report)']),
      '',
    );
  }
  for (const s of doc.sections) {
    if (!s.rows.length) continue;
    out.push(oneLine(s.heading), '-'.repeat(Math.min(oneLine(s.heading).length, 60)));
    const width = Math.min(24, Math.max(...s.rows.map((r) => oneLine(r.label).length)) + 1);
    for (const r of s.rows) {
      const label = (oneLine(r.label) + ':').padEnd(width + 1);
      // Continuation lines of a multi-line value are indented under the value.
      const lines = textValue(r).split('\n');
      const link = safeLink(r.link);
      if (link) lines.push(link);
      out.push(label + ' ' + lines[0], ...lines.slice(1).map((l) => ' '.repeat(width + 2) + l));
    }
    out.push('');
  }
  if (doc.footer) out.push('-- ', multiLine(doc.footer));
  return out.join('\n').trimEnd() + '\n';
}

export function renderHtml(doc: MailDocument): string {
  const h = (s: string) => escapeHtml(oneLine(s, FIELD_MAX));
  const parts: string[] = [
    '<!DOCTYPE html>',
    '<html><head><meta charset="utf-8"><title>' + h(doc.title) + '</title></head>',
    '<body style="font-family: Arial, Helvetica, sans-serif; font-size: 14px; color: #222;">',
    '<h2 style="margin: 0 0 12px 0;">' + h(doc.title) + '</h2>',
  ];
  for (const p of doc.paragraphs) {
    parts.push('<p>' + escapeHtml(multiLine(p)).replace(/\n/g, '<br>') + '</p>');
  }
  if (doc.items) {
    parts.push(
      doc.items.length
        ? '<ul>\n' + doc.items.map((i) => '<li>' + h(i) + '</li>').join('\n') + '\n</ul>'
        : '<p>(nothing to report)</p>',
    );
  }
  for (const s of doc.sections) {
    if (!s.rows.length) continue;
    parts.push('<h3 style="margin: 16px 0 4px 0;">' + h(s.heading) + '</h3>');
    parts.push('<table style="border-collapse: collapse;">');
    for (const r of s.rows) {
      const link = safeLink(r.link);
      const value =
        (r.multiline ? escapeHtml(multiLine(r.value)).replace(/\n/g, '<br>') : h(r.value)) +
        (link ? ' <a href="' + escapeHtml(link) + '">open in the Temporal UI</a>' : '');
      parts.push(
        '<tr><th style="text-align: left; vertical-align: top; padding: 2px 12px 2px 0; font-weight: normal; color: #555;">' +
          h(r.label) +
          '</th><td style="padding: 2px 0;">' +
          value +
          '</td></tr>',
      );
    }
    parts.push('</table>');
  }
  if (doc.footer) {
    parts.push(
      '<p style="margin-top: 24px; color: #777; font-size: 12px;">' +
        escapeHtml(multiLine(doc.footer)) +
        '</p>',
    );
  }
  parts.push('</body></html>');
  return parts.join('\n') + '\n';
}
