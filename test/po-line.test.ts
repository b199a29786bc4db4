/**
 * The duplicate check before a POST, on its own: what it searches for, and that it never lets a POST through
 * when it cannot prove the order has no PO line yet. (The real thing against the sandbox: exactly-once.test.ts.)
 */
import { ApplicationFailure } from '@temporalio/common';
import type { PoLine } from '../src/alma/client';
import { errorFromResponse } from '../src/alma/errors';
import { parseConfig } from '../src/config/load';
import type { Order } from '../src/contract/order';
import {
  findOrderPoLine,
  findVendorPoLine,
  isDuplicateReferenceRefusal,
  isThisOrdersLine,
  reviewOf,
  MAX_SEARCHED,
  poLineBody,
  titleWords,
} from '../src/activities/po-line';
import { exampleConfigRaw } from './harness/system';

const config = parseConfig(exampleConfigRaw('http://127.0.0.1:1/almaws/v1', '/tmp/rto-po-line-test'));
const acc = config.accounts['UNIV-MAIN']!;
const order = {
  orderId: 'OAS-1',
  account: 'UNIV-MAIN',
  placedAt: '2026-11-28T15:04:05Z',
  placedBy: { name: 'A', email: 'a@b.edu' },
  item: { title: 'Handbook (of) statistics AND ~tables~', format: 'ebook' },
  quantity: 1,
  listPrice: { amount: '10.00', currency: 'USD' },
  fundDistribution: [{ fund: 'GEN01', percent: 100 }],
  orderType: 'firm',
  rush: false,
  emailConfirmation: false,
} as Order;

function pages(total: number, lines: (offset: number) => PoLine[]) {
  const queries: string[] = [];
  return {
    queries,
    async searchPoLines(q: string, o?: { offset?: number }) {
      queries.push(`${q}@${o?.offset ?? 0}`);
      return { poLines: lines(o?.offset ?? 0), total };
    },
    async listVendorPoLines(vendor: string, o?: { offset?: number }) {
      queries.push(`vendor:${vendor}@${o?.offset ?? 0}`);
      return { poLines: lines(o?.offset ?? 0), total };
    },
  };
}

test('an ebook without ISBN is searched by the words of its title, without query operators', () => {
  expect(titleWords('Handbook (of) statistics AND ~tables~')).toBe('Handbook of statistics tables');
  expect(titleWords('Grundgesetz für die Bundesrepublik: Kommentar')).toBe(
    'Grundgesetz für die Bundesrepublik Kommentar',
  );
  // Alma matches whole tokens: a word with punctuation inside is left out, not split into tokens it may not have.
  expect(titleWords('Self-help for C++ programmers, 2nd ed.')).toBe('for C programmers 2nd ed');
  expect(titleWords('Self-help')).toBe('');
});

test("a title with no searchable word is looked for in the vendor's list, never taken as absent unsearched", async () => {
  const client = pages(1, () => [{ number: 'POL-9', vendor_reference_number: 'OAS-1' } as PoLine]);
  const r = await findOrderPoLine(client, acc, { ...order, item: { ...order.item, title: 'Self-help' } });
  expect(r.line?.number).toBe('POL-9');
  expect(client.queries).toEqual([`vendor:${acc.alma.vendorCode}@0`]);
});

test('finds the order’s line among others by vendor reference, ignoring cancelled ones', async () => {
  const other = { number: 'POL-1', vendor_reference_number: 'OAS-2' } as PoLine;
  const cancelled = {
    number: 'POL-2',
    vendor_reference_number: 'OAS-1',
    status: { value: 'CANCELLED' },
  } as PoLine;
  const mine = {
    number: 'POL-3',
    vendor_reference_number: 'OAS-1',
    vendor: { value: acc.alma.vendorCode },
  } as PoLine;
  const client = pages(250, (offset) => (offset === 200 ? [cancelled, mine] : [other]));
  const found = await findOrderPoLine(client, acc, order);
  expect(found.line?.number).toBe('POL-3');
  expect(client.queries).toEqual([
    'title~Handbook of statistics tables@0',
    'title~Handbook of statistics tables@100',
    'title~Handbook of statistics tables@200',
  ]);
});

test('when more lines match than can be searched, it refuses to let a POST through', async () => {
  const client = pages(MAX_SEARCHED + 1, () => [{ number: 'POL-9', vendor_reference_number: 'X' } as PoLine]);
  const err = await findOrderPoLine(client, acc, order).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ApplicationFailure);
  expect((err as ApplicationFailure).type).toBe('DuplicateCheckInconclusive');
  expect((err as ApplicationFailure).nonRetryable).toBe(true);
});

test('the PO line body carries the order for Alma', () => {
  const body = poLineBody(
    { ...order, item: { ...order.item, isbn: '9780596520687' } },
    acc,
  ) as unknown as Record<string, unknown>;
  expect(body).toMatchObject({
    owner: { value: 'MAIN' },
    type: { value: 'ELECTRONIC_TITLE_OT' },
    vendor: { value: acc.alma.vendorCode },
    vendor_reference_number: 'OAS-1',
    price: { sum: '10.00', currency: { value: 'USD' } },
    fund_distribution: [{ fund_code: { value: 'GEN01' }, percent: 100 }],
    resource_metadata: { isbn: '9780596520687' },
  });
});

test('another account on the same vendor that reuses the order id: its line is not this order’s', () => {
  const base = { number: 'POL-9', vendor_reference_number: 'OAS-1', vendor: { value: acc.alma.vendorCode } };
  const otherAccount = { ...base, vendor_account: `${acc.alma.vendorAccount}-OTHER` } as PoLine;
  const sameAccount = { ...base, vendor_account: acc.alma.vendorAccount } as PoLine;
  const codedAccount = { ...base, vendor_account: { value: acc.alma.vendorAccount } } as unknown as PoLine;
  expect(isThisOrdersLine(otherAccount, acc, order)).toBe(false);
  expect(isThisOrdersLine(sameAccount, acc, order)).toBe(true);
  expect(isThisOrdersLine(codedAccount, acc, order)).toBe(true);
  // An answer that leaves the account out is taken as a match: never a second POST beside it.
  expect(isThisOrdersLine(base as PoLine, acc, order)).toBe(true);
});

describe('the vendor’s list (where the search cannot prove absence)', () => {
  const mine = {
    number: 'POL-3',
    vendor_reference_number: 'OAS-1',
    vendor: { value: acc.alma.vendorCode },
    vendor_account: acc.alma.vendorAccount,
  } as PoLine;
  function vendorPages(total: number, lines: (offset: number) => PoLine[]) {
    const asked: string[] = [];
    return {
      asked,
      async listVendorPoLines(vendor: string, o?: { offset?: number; limit?: number; status?: string }) {
        asked.push(`${vendor}@${o?.offset ?? 0}/${o?.limit}/${o?.status}`);
        return { poLines: lines(o?.offset ?? 0), total };
      },
    };
  }

  test('pages through all of the vendor’s lines (order undocumented), status ALL, 100 at a time', async () => {
    const other = { number: 'POL-1', vendor_reference_number: 'OAS-2' } as PoLine;
    const client = vendorPages(300, (offset) => (offset === 200 ? [other, mine] : [other]));
    const found = await findVendorPoLine(client, acc, order);
    expect(found).toEqual({ line: mine, calls: 3 });
    const v = acc.alma.vendorCode;
    expect(client.asked).toEqual([`${v}@0/100/ALL`, `${v}@100/100/ALL`, `${v}@200/100/ALL`]);
  });

  test('stops at an empty page even if the total says more (nothing to be missed past it)', async () => {
    const client = vendorPages(1000, (offset) => (offset === 0 ? [] : [mine]));
    expect(await findVendorPoLine(client, acc, order)).toEqual({ calls: 1 });
  });

  test('more lines than MAX_SEARCHED: DuplicateCheckInconclusive, never "absent"', async () => {
    const client = vendorPages(MAX_SEARCHED + 1, () => [{ number: 'POL-9' } as PoLine]);
    const err = await findVendorPoLine(client, acc, order).catch((e: unknown) => e);
    expect((err as ApplicationFailure).type).toBe('DuplicateCheckInconclusive');
    expect(client.asked).toHaveLength(MAX_SEARCHED / 100);
  });

  test('cancelled by the institution’s configured codes', () => {
    const codes = { inReview: ['IN_REVIEW'], cancelled: ['CANCELLED', 'DELETED'], closed: ['CLOSED'] };
    expect(isThisOrdersLine({ ...mine, status: { value: 'DELETED' } } as PoLine, acc, order, codes)).toBe(
      false,
    );
    expect(isThisOrdersLine({ ...mine, status: { value: 'DELETED' } } as PoLine, acc, order)).toBe(true);
  });
});

describe('reviewOf: what a PO line answer says, nothing more', () => {
  test('no status: nothing said (not active, not In Review); alerts still kept', () => {
    expect(reviewOf({ number: 'POL-1' } as PoLine)).toEqual({ inReview: false, almaAlerts: [] });
    expect(reviewOf({ number: 'POL-1', status: { value: '' } } as PoLine)).toEqual({
      inReview: false,
      almaAlerts: [],
    });
  });

  test('status code, label and alerts (label of an alert, else its code); cancelled and closed flagged', () => {
    const line = {
      number: 'POL-1',
      status: { value: 'IN_REVIEW', desc: 'In Review' },
      alert: [{ value: 'FUND_INACTIVE', desc: 'Fund is not active' }, { value: 'NO_PRICE' }, { desc: '' }],
    } as PoLine;
    expect(reviewOf(line)).toEqual({
      status: 'IN_REVIEW',
      statusDesc: 'In Review',
      inReview: true,
      almaAlerts: ['Fund is not active', 'NO_PRICE'],
    });
    expect(reviewOf({ number: 'P', status: { value: 'CANCELLED' } } as PoLine)).toMatchObject({
      cancelled: true,
    });
    expect(reviewOf({ number: 'P', status: { value: 'CLOSED' } } as PoLine)).toMatchObject({ closed: true });
  });

  test('the configured In Review codes decide', () => {
    const codes = { inReview: ['WAITING_FOR_REVIEW'], cancelled: ['CANCELLED'], closed: ['CLOSED'] };
    expect(reviewOf({ number: 'P', status: { value: 'WAITING_FOR_REVIEW' } } as PoLine, codes).inReview).toBe(
      true,
    );
    expect(reviewOf({ number: 'P', status: { value: 'IN_REVIEW' } } as PoLine, codes).inReview).toBe(false);
  });

  test('the configuration defaults are the documented codes', () => {
    expect(config.institutions[acc.institution]!.statusCodes).toEqual({
      inReview: ['IN_REVIEW'],
      cancelled: ['CANCELLED'],
      closed: ['CLOSED'],
    });
  });
});

test('a duplicate-reference refusal is told from other 402119 answers', () => {
  const body = (m: string) =>
    JSON.stringify({ errorsExist: true, errorList: { error: [{ errorCode: '402119', errorMessage: m }] } });
  const refusal = (m: string) => errorFromResponse('POST', '/acq/po-lines', 400, body(m));
  expect(isDuplicateReferenceRefusal(refusal('Vendor reference number OAS-1 already exists'))).toBe(true);
  expect(
    isDuplicateReferenceRefusal(refusal('General Error: the vendor reference number already exists.')),
  ).toBe(true);
  expect(isDuplicateReferenceRefusal(refusal('General Error: currency XYZ is not valid'))).toBe(false);
  expect(isDuplicateReferenceRefusal(refusal('vendor reference number is too long'))).toBe(false);
  expect(isDuplicateReferenceRefusal(new Error('vendor reference number already exists'))).toBe(false);
});

test('followUp: the PO line check defaults to daily, In Review late to 2 days; a check more often than a minute is refused by name', () => {
  expect(acc.followUp.poLineCheckEvery).toBe(86_400_000);
  expect(acc.followUp.inReviewWithin).toBe(2 * 86_400_000);
  const raw = exampleConfigRaw('http://127.0.0.1:1/almaws/v1', '/tmp/rto-po-line-test');
  raw.accounts['UNIV-MAIN']!.followUp = { poLineCheckEvery: '10s' };
  expect(() => parseConfig(raw)).toThrow(/poLineCheckEvery.*at least a minute/s);
  const empty = exampleConfigRaw('http://127.0.0.1:1/almaws/v1', '/tmp/rto-po-line-test');
  empty.institutions['01UNIV_INST']!.statusCodes = { inReview: [] };
  expect(() => parseConfig(empty)).toThrow(/statusCodes.*inReview/s);
});
