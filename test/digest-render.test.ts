/**
 * The daily digest's mail (src/mail/digest.ts): sections by why, every item with its Temporal UI link, untrusted
 * titles and vendor file names escaped, no mail when there is nothing to say; its Message-ID per account and day.
 */
import type { Digest } from '../src/digest/content';
import { dayIn } from '../src/digest/content';
import { renderDigest } from '../src/mail/digest';
import { digestMessageId } from '../src/order/ids';

const UI = 'http://ui.example.org/namespaces/default/workflows?query=';

function digest(over: Partial<Digest> = {}): Digest {
  return {
    account: 'UNIV-MAIN',
    day: '2026-12-02',
    timeZone: 'Europe/Berlin',
    filesSince: '2026-12-01T06:30:00.000Z',
    sections: [
      { key: 'inReview', heading: 'In Review in Alma', orders: [], more: 0, url: UI + 'review' },
      {
        key: 'late',
        heading: 'Late: vendor status, invoice or record',
        orders: [],
        more: 0,
        url: UI + 'late',
      },
      { key: 'otherAlerts', heading: 'Other open alerts', orders: [], more: 0, url: UI + 'other' },
    ],
    rejectedFiles: [],
    unmatchedFiles: [],
    ...over,
  };
}

const hostile = '<script>alert("x")</script> & Co\r\nBcc: evil@example.org';

function withOrders(): Digest {
  const d = digest();
  d.sections[0]!.orders.push({
    orderId: 'OAS-1',
    workflowId: 'order:UNIV-MAIN:OAS-1',
    stage: 'FOLLOWING_UP',
    poLine: 'POL-100',
    alerts: ['ALMA_IN_REVIEW'],
    title: hostile,
    url: UI + 'OAS-1',
  });
  d.sections[1]!.orders.push({
    orderId: 'OAS-2',
    workflowId: 'order:UNIV-MAIN:OAS-2',
    stage: 'FOLLOWING_UP',
    alerts: ['STATUS_LATE', 'INVOICE_LATE'],
    url: UI + 'OAS-2',
  });
  d.rejectedFiles.push({
    name: '<img src=x onerror=alert(1)>.edi',
    workflowId: 'edi-file:UNIV-MAIN:abc',
    closedAt: '2026-12-01T20:00:00.000Z',
    error: 'not EDIFACT: no UNB segment',
    movedTo: 'rejected/abc-bad.edi',
    unmatchedTotal: 0,
    unmatched: [],
    url: UI + 'file',
  });
  return d;
}

test('nothing to say: no mail', () => {
  expect(renderDigest(digest())).toBeUndefined();
});

test('each order under why it needs staff, with its link, and the section list link', () => {
  const mail = renderDigest(withOrders(), 'University Library, Main')!;
  expect(mail.subject).toBe('[oasis-alma-rto] Daily digest UNIV-MAIN 2026-12-02: 2 orders and 1 vendor file');
  expect(mail.text).toContain('Daily digest for University Library, Main (UNIV-MAIN), 2026-12-02');
  expect(mail.text).toMatch(
    /In Review in Alma \(1\)\n-+\nOAS-1: +ALMA_IN_REVIEW; FOLLOWING_UP; PO line POL-100; "/,
  );
  expect(mail.text).toContain(UI + 'OAS-1');
  expect(mail.text).toMatch(
    /OAS-2: +STATUS_LATE, INVOICE_LATE; FOLLOWING_UP\n +http:\/\/ui\.example\.org\/.*OAS-2/,
  );
  expect(mail.text).toContain(UI + 'late');
  expect(mail.text).toContain('Rejected vendor files (1)');
  expect(mail.text).toContain('not EDIFACT: no UNB segment (moved on the server to rejected/abc-bad.edi)');
  expect(mail.text).not.toContain('Other open alerts');
  expect(mail.html).toContain(`<a href="${UI}OAS-1">open in the Temporal UI</a>`);
});

test('hostile titles and file names are escaped in HTML and flattened in text and subject', () => {
  const mail = renderDigest(withOrders())!;
  expect(mail.html).not.toContain('<script>');
  expect(mail.html).not.toContain('<img');
  expect(mail.html).toContain(
    '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co Bcc: evil@example.org',
  );
  expect(mail.html).toContain('&lt;img src=x onerror=alert(1)&gt;.edi');
  // No line of the text starts a header-like "Bcc:" (the title is one line).
  expect(mail.text).not.toMatch(/^Bcc:/m);
  expect(mail.subject).not.toMatch(/[\r\n]/);
});

test('a link that is not http(s) is dropped, never rendered as an anchor', () => {
  const d = withOrders();
  d.sections[0]!.orders[0]!.url = 'javascript:alert(1)';
  const mail = renderDigest(d)!;
  expect(mail.html).not.toContain('javascript:');
  expect(mail.text).not.toContain('javascript:');
});

test('unmatched vendor lines: counted, the first listed', () => {
  const d = digest({
    unmatchedFiles: [
      {
        name: 'ordrsp-1.edi',
        workflowId: 'edi-file:UNIV-MAIN:def',
        closedAt: '2026-12-01T20:00:00.000Z',
        unmatchedTotal: 7,
        unmatched: [
          'Unmatched line 3 (message 1, segment 12; PO line POL-9, vendor reference -): no such order',
        ],
        url: UI + 'def',
      },
    ],
  });
  const mail = renderDigest(d)!;
  expect(mail.subject).toContain('1 vendor file');
  expect(mail.text).toContain('Vendor files with unmatched lines (1)');
  expect(mail.text).toContain('7 lines match no order');
  expect(mail.text).toContain('Unmatched line 3 (message 1, segment 12');
  expect(mail.text).toContain('... and 6 more');
});

test('one Message-ID per account and day; the day is the one in the digest time zone', () => {
  expect(digestMessageId('UNIV-MAIN', '2026-12-02')).toBe(
    '<digest.UNIV-MAIN.2026-12-02@oasis-alma-rto.invalid>',
  );
  expect(digestMessageId('UNIV-MAIN', '2026-12-02')).not.toBe(digestMessageId('UNIV-MAIN', '2026-12-03'));
  expect(digestMessageId('A.B', 'x')).not.toBe(digestMessageId('A', 'B.x'));
  // 23:30 UTC on Dec 1 is already Dec 2 in Berlin, still Dec 1 in New York.
  const at = new Date('2026-12-01T23:30:00Z');
  expect(dayIn(at, 'Europe/Berlin')).toBe('2026-12-02');
  expect(dayIn(at, 'America/New_York')).toBe('2026-12-01');
});
