/** Order validation against the example configuration: the example orders (examples/orders, test/fixtures/orders/invalid) and every rule of docs/order-contract.md. */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfigFile } from '../src/config/load';
import { canonicalOrder, differences, orderDifferences } from '../src/contract/compare';
import { checkIsbn, normaliseIsbn } from '../src/contract/isbn';
import { MAX_ORDER_BYTES, type Problem } from '../src/contract/order';
import { parseOrderText, validateOrder } from '../src/contract/validate';
import { INVALID_EXAMPLES, VALID_EXAMPLES } from './harness/fixtures';

const config = loadConfigFile(join(__dirname, '..', 'config', 'example.json'));
const EXAMPLES = VALID_EXAMPLES;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON fixtures, broken one field at a time
const readJson = (file: string): Record<string, any> => JSON.parse(readFileSync(file, 'utf8'));

/** A valid print order for UNIV-MAIN, to break one thing at a time. */
const base = () => readJson(join(EXAMPLES, 'print-single-fund.json'));

function problems(order: unknown): Problem[] {
  const r = validateOrder(order, config);
  if (r.ok) throw new Error('the order was accepted but should not have been');
  return r.problems;
}
/** The one problem an order has. */
function only(order: unknown): Problem {
  const p = problems(order);
  expect(p).toHaveLength(1);
  return p[0]!;
}
function accepted(order: unknown) {
  const r = validateOrder(order, config);
  if (!r.ok) throw new Error(`refused: ${JSON.stringify(r.problems)}`);
  return r.order;
}

describe('the example orders', () => {
  const valid = readdirSync(EXAMPLES).filter((f) => f.endsWith('.json'));

  it('there are valid and invalid examples to check', () => {
    expect(valid.length).toBeGreaterThanOrEqual(4);
  });

  it.each(valid)('%s is accepted', (file) => {
    const order = accepted(readJson(join(EXAMPLES, file)));
    expect(order.item.isbn === undefined || /^97[89]\d{10}$/.test(order.item.isbn)).toBe(true);
  });

  it('stores the ISBN as ISBN-13 and resolves the defaults', () => {
    const split = accepted(readJson(join(EXAMPLES, 'print-split-funds-rush.json')));
    expect(split.item.isbn).toBe('9780262033848');
    expect(split.orderType).toBe('firm');
    expect(split.rush).toBe(true);
    expect(split.emailConfirmation).toBe(true); // UNIV-MAIN's default
    expect(accepted(base()).item.isbn).toBe('9783161484100');
    expect(accepted(readJson(join(EXAMPLES, 'law-library-eur.json'))).emailConfirmation).toBe(false);
  });

  /** REASONS.md lines: "- `file.json`: path: message" or "- `file.json`: key is not a known field (...)". */
  const reasons = readFileSync(join(INVALID_EXAMPLES, 'REASONS.md'), 'utf8')
    .split('\n')
    .map((l) => /^- `([^`]+)`: (.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [m[1]!, m[2]!] as const);

  it('every invalid example has a reason', () => {
    const files = readdirSync(INVALID_EXAMPLES).filter((f) => f.endsWith('.json'));
    expect(reasons.map(([f]) => f).sort()).toEqual(files.sort());
  });

  it.each(reasons)('%s is refused: %s', (file, reason) => {
    const got = problems(readJson(join(INVALID_EXAMPLES, file)));
    const misspelt = /^(\w+) is not a known field \(and (\w+) is missing\)$/.exec(reason);
    if (misspelt) {
      expect(got).toEqual(
        expect.arrayContaining([
          { path: misspelt[1], message: `${misspelt[1]} is not a known field` },
          { path: misspelt[2], message: 'required' },
        ]),
      );
      expect(got).toHaveLength(2);
    } else {
      const [, path, message] = /^([^:]+): (.*)$/.exec(reason)!;
      expect(got).toEqual([{ path, message }]);
    }
  });
});

describe('validateOrder', () => {
  it('lists every problem at once, shape and account rules together', () => {
    const o = base();
    o.orderId = 'has space'; // shape
    o.placedBy.email = 'not-an-email'; // shape
    o.item.isbn = '978-3-16-148410-1'; // check digit
    o.listPrice.currency = 'EUR'; // not accepted by UNIV-MAIN
    o.fundDistribution = [{ fund: 'GEN01', percent: 100 }]; // not allowed at MAIN/MATH
    const p = problems(o);
    expect(p.map((x) => x.path).sort()).toEqual(
      ['fundDistribution[0].fund', 'item.isbn', 'listPrice.currency', 'orderId', 'placedBy.email'].sort(),
    );
  });

  it('an unknown nested field is named with its path', () => {
    const o = base();
    o.item.titel = o.item.title;
    expect(only(o)).toEqual({ path: 'item.titel', message: 'titel is not a known field' });
  });

  it('an ebook: quantity 1 only, ISBN and location optional', () => {
    const ebook = readJson(join(EXAMPLES, 'ebook.json'));
    expect(only({ ...ebook, quantity: 2 })).toEqual({ path: 'quantity', message: 'must be 1 for an ebook' });
    delete ebook.item.isbn;
    expect(accepted(ebook).item.isbn).toBeUndefined();
    // A print order still needs both.
    const print = base();
    delete print.item.isbn;
    expect(only(print)).toEqual({ path: 'item.isbn', message: 'required for a print order' });
  });

  it('the currency must be one the account accepts, with at most its minor digits', () => {
    const o = base();
    o.listPrice = { amount: '10.00', currency: 'EUR' };
    expect(only(o)).toEqual({
      path: 'listPrice.currency',
      message: 'account UNIV-MAIN does not accept EUR (accepted: USD)',
    });
    o.listPrice = { amount: '10.999', currency: 'USD' };
    expect(only(o)).toEqual({
      path: 'listPrice.amount',
      message: 'USD has at most 2 digits after the decimal point',
    });
    o.listPrice = { amount: '0.00', currency: 'USD' };
    expect(only(o)).toEqual({ path: 'listPrice.amount', message: 'must be more than 0' });
    o.listPrice = { amount: 59.99, currency: 'USD' };
    expect(only(o).path).toBe('listPrice.amount');
  });

  it('a fund code in the wrong case gets a hint', () => {
    const o = base();
    o.fundDistribution = [{ fund: 'm123', percent: 100 }];
    const p = only(o);
    expect(p.path).toBe('fundDistribution[0].fund');
    expect(p.message).toContain('did you mean "M123"');
  });

  it('a fund listed twice', () => {
    const o = base();
    o.fundDistribution = [
      { fund: 'M123', percent: 50 },
      { fund: 'M123', percent: 50 },
    ];
    expect(only(o)).toEqual({ path: 'fundDistribution[1].fund', message: 'fund M123 is listed twice' });
  });

  it('unknown library or shelving location', () => {
    const o = base();
    o.location = { library: 'SCIENCE', shelvingLocation: 'MATH' };
    expect(only(o)).toEqual({
      path: 'location.library',
      message: 'library SCIENCE is not known to account UNIV-MAIN (known: MAIN)',
    });
    o.location = { library: 'MAIN', shelvingLocation: 'ATTIC' };
    expect(only(o)).toEqual({
      path: 'location.shelvingLocation',
      message: 'shelving location ATTIC is not in library MAIN (known: MATH, STACKS, REF)',
    });
    // A location without a rule accepts every fund of the account.
    o.location = { library: 'MAIN', shelvingLocation: 'STACKS' };
    o.fundDistribution = [{ fund: 'GEN01', percent: 100 }];
    accepted(o);
  });

  it('percents 33.33 + 33.33 + 33.34 make 100', () => {
    const o = base();
    o.fundDistribution = [
      { fund: 'M123', percent: 33.33 },
      { fund: 'M567', percent: 33.33 },
      { fund: 'G888', percent: 33.34 },
    ];
    expect(accepted(o).fundDistribution).toHaveLength(3);
    o.fundDistribution[2].percent = 33.35;
    expect(only(o)).toEqual({ path: 'fundDistribution', message: 'percents add up to 100.01, not 100' });
  });

  it('a control character in a note is refused; line breaks are allowed', () => {
    const o = base();
    o.notes.receiving = 'line one\nline two\r\nline three';
    accepted(o);
    o.notes.vendor = 'bell\u0007';
    expect(only(o)).toEqual({
      path: 'notes.vendor',
      message: 'contains a control character (only line breaks are allowed)',
    });
  });

  it('a note may not hold C1 or bidi controls either', () => {
    for (const bad of ['\u0085', '\u202E', '\u2066', '\u2028', 'lone\rcr']) {
      const o = base();
      o.notes.internal = `note ${bad} end`;
      expect(only(o)).toEqual({
        path: 'notes.internal',
        message: 'contains a control character (only line breaks are allowed)',
      });
    }
  });

  describe('every other text field refuses control characters, line breaks and bidi controls', () => {
    const controls: [string, string][] = [
      ['LF', '\n'],
      ['CR', '\r'],
      ['NUL', '\u0000'],
      ['ESC', '\u001B'],
      ['DEL', '\u007F'],
      ['C1 NEL', '\u0085'],
      ['C1 CSI', '\u009B'],
      ['LINE SEPARATOR', '\u2028'],
      ['PARAGRAPH SEPARATOR', '\u2029'],
      ['LRE', '\u202A'],
      ['RLO', '\u202E'],
      ['LRI', '\u2066'],
      ['PDI', '\u2069'],
    ];
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON fixtures, broken one field at a time
    const fields: [string, (o: Record<string, any>, v: string) => void][] = [
      ['account', (o, v) => (o.account = `UNIV${v}MAIN`)],
      ['placedBy.name', (o, v) => (o.placedBy.name = `Ann${v}Smith`)],
      ['item.title', (o, v) => (o.item.title = `A title${v}here`)],
      ['item.author', (o, v) => (o.item.author = `An${v}author`)],
      ['item.publisher', (o, v) => (o.item.publisher = `Pub${v}lisher`)],
      ['item.edition', (o, v) => (o.item.edition = `2nd${v}ed.`)],
      ['item.isbn', (o, v) => (o.item.isbn = `978316148410${v}0`)],
      ['fundDistribution[0].fund', (o, v) => (o.fundDistribution[0].fund = `F${v}`)],
      ['location.library', (o, v) => (o.location.library = `MAIN${v}`)],
      ['location.shelvingLocation', (o, v) => (o.location.shelvingLocation = `STACKS${v}`)],
      [
        'interestedUsers[0].primaryId',
        (o, v) => (o.interestedUsers = [{ primaryId: `user${v}1`, notifyOnReceiving: true }]),
      ],
    ];
    const cases = fields.flatMap(([path, set]) =>
      controls.map(([name, ch]) => [path, name, set, ch] as const),
    );
    it.each(cases)('%s with %s', (path, _name, set, ch) => {
      const o = base();
      set(o, ch);
      expect(problems(o)).toContainEqual({ path, message: 'contains a control character' });
    });

    it('ordinary non-ASCII text (accents, Arabic, Hebrew, CJK) is still accepted', () => {
      const o = base();
      o.item.title = 'Ça ira — كتاب — ספר — 本';
      o.item.author = 'Łukasz Żółw';
      o.placedBy.name = 'Zoë O\u2019Brien';
      accepted(o);
    });
  });

  it('placedAt needs a time zone', () => {
    const o = base();
    o.placedAt = '2026-11-28T15:04:05';
    expect(only(o).path).toBe('placedAt');
    o.placedAt = '2026-11-28T15:04:05.123+09:30';
    accepted(o);
  });

  it('publicationYear may be next year, not the year after', () => {
    const year = new Date().getUTCFullYear();
    const o = base();
    o.item.publicationYear = year + 1;
    accepted(o);
    o.item.publicationYear = year + 2;
    expect(only(o)).toEqual({ path: 'item.publicationYear', message: 'may be at most next year' });
    o.item.publicationYear = 1449;
    expect(only(o).path).toBe('item.publicationYear');
  });

  it('orderId with a space is refused', () => {
    const o = base();
    o.orderId = 'OAS 2026';
    expect(only(o).path).toBe('orderId');
    o.orderId = 'x'.repeat(65);
    expect(only(o)).toEqual({ path: 'orderId', message: 'at most 64 characters' });
  });

  it('a standing order for UNIV-LAW is refused, naming the account setting', () => {
    const o = readJson(join(EXAMPLES, 'law-library-eur.json'));
    accepted({ ...o, orderType: 'firm' });
    expect(only({ ...o, orderType: 'standing' })).toEqual({
      path: 'orderType',
      message:
        'account UNIV-LAW sends standing orders by EDI, not through this API (setting accounts.UNIV-LAW.ordering.orderTypes.standing = edi)',
    });
  });

  it('an unknown account', () => {
    const o = base();
    o.account = 'UNIV-MED';
    expect(only(o)).toEqual({
      path: 'account',
      message: 'account "UNIV-MED" is not configured (known: UNIV-MAIN, UNIV-LAW)',
    });
  });

  it('not an object', () => {
    for (const v of [null, [], 'order', 3])
      expect(problems(v)).toEqual([{ path: '(order)', message: 'must be a JSON object' }]);
  });

  describe("names of JavaScript's own object members are codes like any other, never configuration", () => {
    const NAMES = ['constructor', '__proto__', 'toString'];

    it.each(NAMES)('account %s is not configured', (name) => {
      const o = base();
      o.account = name;
      expect(only(o)).toEqual({
        path: 'account',
        message: `account "${name}" is not configured (known: UNIV-MAIN, UNIV-LAW)`,
      });
    });

    it.each(NAMES)('library %s is not known to the account', (name) => {
      const o = base();
      o.location = { library: name, shelvingLocation: 'MATH' };
      expect(only(o)).toEqual({
        path: 'location.library',
        message: `library ${name} is not known to account UNIV-MAIN (known: MAIN)`,
      });
    });

    it.each(NAMES)('shelving location %s is not in the library', (name) => {
      const o = base();
      o.location = { library: 'MAIN', shelvingLocation: name };
      expect(only(o)).toEqual({
        path: 'location.shelvingLocation',
        message: `shelving location ${name} is not in library MAIN (known: MATH, STACKS, REF)`,
      });
    });

    it.each(NAMES)('fund %s is not a fund of the account', (name) => {
      const o = base();
      o.fundDistribution = [{ fund: name, percent: 100 }];
      expect(only(o)).toEqual({
        path: 'fundDistribution[0].fund',
        message: `"${name}" is not a fund of account UNIV-MAIN`,
      });
    });

    it.each(NAMES)('account %s with a malformed order still lists the problems', (name) => {
      const o = base();
      o.account = name;
      o.quantity = 0;
      expect(problems(o).map((p) => p.path)).toEqual(['quantity', 'account']);
    });

    it('a field named __proto__ in the order is an unknown field, as any other', () => {
      const o = JSON.parse(`{"__proto__": {"x": 1}, ${JSON.stringify(base()).slice(1)}`);
      expect(only(o)).toEqual({ path: '__proto__', message: '__proto__ is not a known field' });
    });
  });
});

describe('comparing an order placed again with the existing one', () => {
  it('the same order written differently has no differences', () => {
    const o = base();
    const rewritten = { rush: false, ...o, orderType: 'firm', item: { ...o.item, isbn: '9783161484100' } };
    expect(orderDifferences(o, rewritten)).toEqual([]);
    expect(orderDifferences(o, JSON.parse(JSON.stringify(o)))).toEqual([]);
  });

  it("an absent emailConfirmation is the account's default, with the configuration", () => {
    const o = base();
    delete o.emailConfirmation;
    const explicit = { ...o, emailConfirmation: true }; // UNIV-MAIN's default
    expect(orderDifferences(o, explicit, config)).toEqual([]);
    expect(orderDifferences(o, { ...o, emailConfirmation: false }, config)).toEqual(['emailConfirmation']);
    // Without it, absent and true are not known to be the same.
    expect(orderDifferences(o, explicit)).toEqual(['emailConfirmation']);
  });

  it('lists the paths that differ, never the values, in key order', () => {
    const o = base();
    const changed = {
      ...o,
      quantity: 2,
      item: { ...o.item, title: 'Other' },
      fundDistribution: [...o.fundDistribution, { fund: 'M567', percent: 1 }],
      interestedUsers: undefined,
    };
    delete changed.interestedUsers;
    expect(orderDifferences(o, changed)).toEqual([
      'fundDistribution[1]',
      'interestedUsers',
      'item.title',
      'quantity',
    ]);
  });

  it('orders that do not parse are compared as sent; the list is capped', () => {
    expect(canonicalOrder({ anything: 1 })).toEqual({ anything: 1 });
    expect(orderDifferences({ a: 1 }, { a: 2 })).toEqual(['a']);
    expect(differences(null, {})).toEqual(['(order)']);
    const many = (v: number) => Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`k${i}`, v]));
    expect(differences(many(1), many(2))).toHaveLength(20);
  });

  it('keys named like object members are compared as keys', () => {
    expect(differences(JSON.parse('{"__proto__": 1}'), {})).toEqual(['__proto__']);
    expect(differences({ constructor: 1 }, { constructor: 1 })).toEqual([]);
  });
});

describe('parseOrderText', () => {
  it('refuses a body over 64 KiB before parsing it', () => {
    const big = '{' + ' '.repeat(MAX_ORDER_BYTES); // not JSON either: the size is what is reported
    const r = parseOrderText(big);
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.problems).toEqual([
        {
          path: '(order)',
          message: `is ${MAX_ORDER_BYTES + 1} bytes; at most ${MAX_ORDER_BYTES} are accepted`,
        },
      ]);
    // Multi-byte characters count as bytes.
    const r2 = parseOrderText(Buffer.from(JSON.stringify({ t: 'é'.repeat(MAX_ORDER_BYTES / 2) })));
    expect(r2.ok).toBe(false);
    // Exactly 64 KiB is fine.
    const exact = JSON.stringify({ t: 'a'.repeat(MAX_ORDER_BYTES - 8) });
    expect(Buffer.byteLength(exact)).toBe(MAX_ORDER_BYTES);
    expect(parseOrderText(exact).ok).toBe(true);
  });

  it('reports invalid JSON', () => {
    const r = parseOrderText('{"orderId": ');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.problems).toHaveLength(1);
      expect(r.problems[0]!.message).toMatch(/^is not valid JSON: /);
    }
    const ok = parseOrderText(readFileSync(join(EXAMPLES, 'ebook.json')));
    expect(ok.ok && (ok.value as { orderId: string }).orderId).toBe('OAS-2026-0001236');
  });
});

describe('ISBNs', () => {
  it('checkIsbn: ISBN-10 and ISBN-13, separators, X, check digits', () => {
    expect(checkIsbn('0-262-03384-4')).toEqual({ ok: true, isbn13: '9780262033848' });
    expect(checkIsbn('0 262 03384 4')).toEqual({ ok: true, isbn13: '9780262033848' });
    expect(checkIsbn('080442957X')).toEqual({ ok: true, isbn13: '9780804429573' });
    expect(checkIsbn('080442957x')).toEqual({ ok: true, isbn13: '9780804429573' });
    expect(checkIsbn('979-10-90636-07-1')).toEqual({ ok: true, isbn13: '9791090636071' });
    expect(checkIsbn('0-262-03384-5')).toEqual({ ok: false, problem: 'checksum' });
    expect(checkIsbn('9780262033849')).toEqual({ ok: false, problem: 'checksum' });
    expect(checkIsbn('08044295X7')).toEqual({ ok: false, problem: 'format' });
    expect(checkIsbn('9770262033848')).toEqual({ ok: false, problem: 'format' }); // not 978/979
    expect(checkIsbn('026203384')).toEqual({ ok: false, problem: 'format' });
    expect(checkIsbn('')).toEqual({ ok: false, problem: 'format' });
    expect(checkIsbn('0.262.03384.4')).toEqual({ ok: false, problem: 'format' });
  });

  it('normaliseIsbn: finds the ISBN in MARC/EDI text', () => {
    expect(normaliseIsbn('0-262-03384-4 (pbk.)')).toBe('9780262033848');
    expect(normaliseIsbn('9780262033848')).toBe('9780262033848');
    expect(normaliseIsbn('ISBN 978 0 262 03384 8 (hbk.) : $75.00')).toBe('9780262033848');
    // A year or a number after the ISBN is not glued onto it.
    expect(normaliseIsbn('0262033844 1996')).toBe('9780262033848');
    expect(normaliseIsbn('ISBN-10: 0262033844')).toBe('9780262033848');
    // Digits inside a longer number are not an ISBN.
    expect(normaliseIsbn('1234567890123456')).toBeNull();
    expect(normaliseIsbn('0262033845')).toBeNull();
    expect(normaliseIsbn('')).toBeNull();
    expect(normaliseIsbn(undefined)).toBeNull();
    expect(normaliseIsbn(null)).toBeNull();
  });
});
