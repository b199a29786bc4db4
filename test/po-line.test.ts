/**
 * The duplicate check before a POST, on its own: what it searches for, and that it never lets a POST through
 * when it cannot prove the order has no PO line yet. (The real thing against the sandbox: exactly-once.test.ts.)
 */
import { ApplicationFailure } from '@temporalio/common';
import type { PoLine } from '../src/alma/client';
import { parseConfig } from '../src/config/load';
import type { Order } from '../src/contract/order';
import {
  findOrderPoLine,
  isThisOrdersLine,
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
  };
}

test('an ebook without ISBN is searched by the words of its title, without query operators', () => {
  expect(titleWords('Handbook (of) statistics AND ~tables~')).toBe('Handbook of statistics tables');
  expect(titleWords('Grundgesetz für die Bundesrepublik: Kommentar')).toBe(
    'Grundgesetz für die Bundesrepublik Kommentar',
  );
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
