import type { Order } from '../src/contract/order';
import { multiLine, oneLine } from '../src/mail/escape';
import { alertMessageId, confirmationMessageId } from '../src/order/ids';
import { renderConfirmation, renderReport, renderStaffAlert } from '../src/mail/render';

function hostileOrder(over: Partial<Order> = {}): Order {
  return {
    orderId: 'OAS-2026-0001234',
    account: 'UNIV-MAIN',
    orderType: 'firm',
    placedAt: '2026-11-28T09:30:00+01:00',
    placedBy: { name: 'Ana "Lopez" & Co', email: 'ana.lopez@univ.example.edu' },
    item: {
      title: 'Tom & Jerry <script>alert("x")</script> \'quoted\'',
      author: 'Axler, <b>Sheldon</b>',
      isbn: '9783161484100',
      edition: '4th ed. & more',
      publisher: 'Springer',
      publicationYear: 2024,
      format: 'print',
    },
    quantity: 3,
    listPrice: { amount: '59.99', currency: 'USD' },
    fundDistribution: [
      { fund: 'M123', percent: 60 },
      { fund: 'GEN<01>', percent: 40 },
    ],
    location: { library: 'MAIN', shelvingLocation: 'MATH' },
    rush: true,
    notes: { vendor: 'Line one\nLine <two>', receiving: 'Hold for Prof. Ng', internal: '' },
    emailConfirmation: true,
    ...over,
  };
}

describe('renderConfirmation', () => {
  const mail = renderConfirmation({
    order: hostileOrder(),
    accountName: 'Main Library',
    poLine: 'POL-77',
    mmsId: '991234',
    alma: { status: 'ACTIVE', statusDesc: 'Active', alerts: [], inReview: false },
  });

  it('escapes every untrusted value in the HTML', () => {
    expect(mail.html).not.toContain('<script>');
    expect(mail.html).not.toContain('<b>Sheldon');
    expect(mail.html).toContain(
      'Tom &amp; Jerry &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &#39;quoted&#39;',
    );
    expect(mail.html).toContain('GEN&lt;01&gt;');
    expect(mail.html).toContain('Ana &quot;Lopez&quot; &amp; Co');
    expect(mail.html).toContain('Line one<br>Line &lt;two&gt;');
  });

  it('keeps the plain text as written and says what a librarian needs', () => {
    const t = mail.text;
    expect(t).toContain('Tom & Jerry <script>alert("x")</script> \'quoted\'');
    for (const s of [
      'Axler, <b>Sheldon</b>',
      '9783161484100',
      '4th ed. & more',
      'Print',
      'Quantity:',
      '59.99 USD per copy',
      '179.97 USD (3 copies)',
      'M123',
      '60%',
      'GEN<01>',
      '40%',
      'MAIN',
      'MATH',
      'POL-77',
      '991234',
      'Rush:',
      'Yes',
      'Hold for Prof. Ng',
      'OAS-2026-0001234',
      '2026-11-28 09:30:00 +01:00',
    ]) {
      expect(t).toContain(s);
    }
    // The multi-line note keeps its second line, indented.
    expect(t).toMatch(/Note to vendor:\s+Line one\n\s+Line <two>/);
    // An empty note is left out rather than shown blank.
    expect(t).not.toContain('Internal note');
  });

  it('puts the subject on one line with rush and the PO line', () => {
    expect(mail.subject).toMatch(/^\[RUSH\] Order confirmed: Tom & Jerry/);
    expect(mail.subject).toContain('POL-77');
    const evil = renderConfirmation({
      order: hostileOrder({
        item: { ...hostileOrder().item, title: 'Book\r\nBcc: victim@evil.example\r\n\r\nbody' },
      }),
      accountName: 'Main',
      poLine: 'POL-1',
    });
    expect(evil.subject).not.toMatch(/[\r\n]/);
    expect(evil.subject).toContain('Book Bcc: victim@evil.example body');
  });

  it('drops bidi controls from the subject (a reversed title cannot disguise itself)', () => {
    const m = renderConfirmation({
      order: hostileOrder({
        rush: false,
        item: {
          ...hostileOrder().item,
          title: 'Invoice \u202Egpj.exe\u202C \u2066x\u2069 \u202Ay\u202B\u202D',
        },
      }),
      accountName: 'Main',
      poLine: 'POL-1',
    });
    expect(m.subject).not.toMatch(/[\u202A-\u202E\u2066-\u2069]/);
    expect(m.subject).toContain('Invoice gpj.exe x y');
    expect(oneLine('a\u202Eb\u2067c\u2068d')).toBe('abcd');
    expect(multiLine('line\u202E one\nline\u2066 two')).toBe('line one\nline two');
  });

  it('says when the line is in review and formats zero-decimal currencies', () => {
    const m = renderConfirmation({
      order: hostileOrder({ quantity: 1, rush: false, listPrice: { amount: '5000', currency: 'JPY' } }),
      accountName: 'Main',
      poLine: 'POL-9',
      inReview: true,
    });
    expect(m.subject).toMatch(/^Order received, in review:/);
    expect(m.text).toContain('waiting for review');
    expect(m.text).toContain('5000 JPY (1 copy)');
  });
});

describe('the confirmation says what Alma says', () => {
  const base = { order: hostileOrder({ rush: false }), accountName: 'Main', poLine: 'POL-5' };

  it('before Alma has said anything: created and being processed, never "confirmed" or "placed"', () => {
    for (const m of [
      renderConfirmation(base),
      renderConfirmation({ ...base, inReview: false, alma: { alerts: [], inReview: false } }),
    ]) {
      expect(m.subject).toMatch(/^Order received: Tom & Jerry/);
      expect(m.subject).not.toMatch(/confirmed/i);
      expect(m.text).toContain('created in Alma as PO line POL-5 and is being processed');
      expect(m.text).toMatch(/Status:\s+Being processed by Alma/);
      expect(m.text).not.toMatch(/placed in Alma|sent to the vendor|Sent for ordering/);
    }
  });

  it('a status Alma gave: its label when given, else its code', () => {
    const desc = renderConfirmation({
      ...base,
      alma: { status: 'ACTIVE', statusDesc: 'Sent to Vendor', alerts: [] },
    });
    expect(desc.subject).toMatch(/^Order confirmed:/);
    expect(desc.text).toContain('Alma gives its status as: Sent to Vendor.');
    expect(desc.text).toMatch(/Status:\s+Sent to Vendor/);
    const code = renderConfirmation({ ...base, alma: { status: 'READY', alerts: [] } });
    expect(code.text).toMatch(/Status:\s+READY/);
  });

  it('In Review: the reasons Alma gives, escaped in the HTML', () => {
    const m = renderConfirmation({
      ...base,
      inReview: true,
      alma: {
        status: 'IN_REVIEW',
        statusDesc: 'In Review',
        inReview: true,
        alerts: ['Fund <b>GEN01</b> is not active', 'Price & currency "missing"'],
      },
    });
    expect(m.subject).toMatch(/^Order received, in review:/);
    expect(m.text).toContain(
      'Alma gives as the reason: Fund <b>GEN01</b> is not active; Price & currency "missing".',
    );
    expect(m.text).toMatch(/Alma alerts:\s+Fund <b>GEN01<\/b> is not active; Price/);
    expect(m.html).not.toContain('<b>GEN01');
    expect(m.html).toContain(
      'Fund &lt;b&gt;GEN01&lt;/b&gt; is not active; Price &amp; currency &quot;missing&quot;',
    );
  });

  it("In Review known only from Alma's state (no separate flag) is still said", () => {
    const m = renderConfirmation({ ...base, alma: { status: 'IN_REVIEW', inReview: true, alerts: [] } });
    expect(m.subject).toMatch(/^Order received, in review:/);
  });

  it('Alma text with line breaks cannot break the subject or the rows', () => {
    const m = renderConfirmation({
      ...base,
      alma: { status: 'ACTIVE', statusDesc: 'Active\r\nBcc: x@evil.example', alerts: [] },
    });
    expect(m.subject).not.toMatch(/[\r\n]/);
    expect(m.text).toMatch(/Status:\s+Active Bcc: x@evil.example/);
  });
});

describe('staff alert and report', () => {
  it('escapes alert details and report lines', () => {
    const a = renderStaffAlert({
      account: 'UNIV-MAIN',
      orderId: 'OAS-1',
      workflowId: 'order-UNIV-MAIN-OAS-1',
      alert: 'STATUS_LATE',
      summary: 'No vendor status within 14 days & counting',
      details: { 'PO line': 'POL-1', vendor: '<img src=x onerror=alert(1)>' },
    });
    expect(a.subject).toBe('[oasis-alma-rto] STATUS_LATE: order OAS-1 (UNIV-MAIN)');
    expect(a.html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(a.html).not.toContain('<img');
    expect(a.text).toContain('<img src=x onerror=alert(1)>');
    expect(a.text).toContain('order-UNIV-MAIN-OAS-1');

    const r = renderReport({ title: 'EDI run\nBcc: x', lines: ['3 invoices read', 'file <a>.edi rejected'] });
    expect(r.subject).toBe('[oasis-alma-rto] EDI run Bcc: x');
    expect(r.html).toContain('<li>file &lt;a&gt;.edi rejected</li>');
    expect(r.text).toContain('- 3 invoices read');
  });
});

describe('Message-IDs', () => {
  it('are deterministic, distinct and made of safe characters', () => {
    const a = confirmationMessageId('UNIV-MAIN', 'OAS-1');
    expect(a).toBe('<order.UNIV-MAIN.OAS-1@oasis-alma-rto.invalid>');
    expect(confirmationMessageId('UNIV-MAIN', 'OAS-1')).toBe(a);
    // "." separates the parts, so it is encoded: these two must not collide.
    expect(confirmationMessageId('A.B', 'C')).not.toBe(confirmationMessageId('A', 'B.C'));
    const odd = confirmationMessageId('Uni <Läw>\r\n', 'x@y', 'mail.example.edu');
    expect(odd).toMatch(/^<order\.[A-Za-z0-9_=-]+\.[A-Za-z0-9_=-]+@mail\.example\.edu>$/);
    expect(alertMessageId('UNIV-MAIN', 'OAS-1', 'STATUS_LATE')).toBe(
      '<alert.UNIV-MAIN.OAS-1.STATUS_LATE@oasis-alma-rto.invalid>',
    );
    expect(() => confirmationMessageId('a', 'b', 'evil>\r\nBcc: x')).toThrow(/not a valid Message-ID domain/);
  });
});
