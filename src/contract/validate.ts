/**
 * Validation of an order against the contract and against its account: funds, locations, currencies,
 * fund-location rules, ISBN check digits and the account's ordering channel. Every problem is reported at
 * once, each with its JSON path, in words a librarian understands. Used by the client (before a workflow
 * starts) and by the workflow's first activity (the authority).
 */
import type { z } from 'zod';
import { own } from '../config/lookup';
import type { Account, Config } from '../config/schema';
import { checkIsbn } from './isbn';
import { MAX_ORDER_BYTES, MINOR_DIGITS, formatPath, orderSchema, type Order, type Problem } from './order';

export type ValidationResult = { ok: true; order: Order } | { ok: false; problems: Problem[] };

function describeType(iss: z.core.$ZodIssue): string {
  if (iss.code !== 'invalid_type') return iss.message;
  return `must be ${iss.expected === 'array' ? 'a list' : iss.expected === 'object' ? 'an object' : `a ${iss.expected}`}`;
}

/** zod issues → problems; unknown keys become one problem per key, missing fields say "required". */
export function problemsFromIssues(issues: z.core.$ZodIssue[], input: unknown): Problem[] {
  const out: Problem[] = [];
  for (const iss of issues) {
    if (iss.code === 'unrecognized_keys') {
      for (const key of iss.keys)
        out.push({ path: formatPath([...iss.path, key]), message: `${key} is not a known field` });
      continue;
    }
    let value: unknown = input;
    for (const p of iss.path)
      value = value && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[p] : undefined;
    const message = iss.code === 'invalid_type' && value === undefined ? 'required' : describeType(iss);
    out.push({ path: formatPath(iss.path), message });
  }
  return out;
}

function sameCase(list: string[], code: string): string | undefined {
  return list.find((c) => c.toLowerCase() === code.toLowerCase() && c !== code);
}

type OrderShape = z.infer<typeof orderSchema>;

/**
 * The parts of an order the account rules read. A part is `undefined` when it is itself malformed (that is
 * already reported), so the rules on the well-formed parts still run and every problem is listed at once.
 */
interface RuleInput {
  orderType?: { value: OrderShape['orderType'] };
  isbn?: { value: string | undefined };
  format?: { value: OrderShape['item']['format'] };
  quantity?: { value: number };
  listPrice?: { value: OrderShape['listPrice'] };
  fundDistribution?: { value: OrderShape['fundDistribution'] };
  location?: { value: OrderShape['location'] };
}

/** The account-dependent rules, on an order whose shape is already valid. */
export function accountProblems(order: OrderShape, accountCode: string, acc: Account): Problem[] {
  return ruleProblems(
    {
      orderType: { value: order.orderType },
      isbn: { value: order.item.isbn },
      format: { value: order.item.format },
      quantity: { value: order.quantity },
      listPrice: { value: order.listPrice },
      fundDistribution: { value: order.fundDistribution },
      location: { value: order.location },
    },
    accountCode,
    acc,
  );
}

/** The well-formed parts of an order whose shape has faults. */
function wellFormedParts(input: Record<string, unknown>): RuleInput {
  const S = orderSchema.shape;
  const I = S.item.shape;
  const part = <T>(schema: z.ZodType<T>, value: unknown) => {
    const r = schema.safeParse(value);
    return r.success ? { value: r.data } : undefined;
  };
  const item =
    input.item && typeof input.item === 'object' ? (input.item as Record<string, unknown>) : undefined;
  return {
    orderType: part(S.orderType, input.orderType),
    isbn: item ? part(I.isbn, item.isbn) : undefined,
    format: item ? part(I.format, item.format) : undefined,
    quantity: part(S.quantity, input.quantity),
    listPrice: part(S.listPrice, input.listPrice),
    fundDistribution: part(S.fundDistribution, input.fundDistribution),
    location: part(S.location, input.location),
  };
}

function ruleProblems(o: RuleInput, accountCode: string, acc: Account): Problem[] {
  const problems: Problem[] = [];
  if (o.orderType) {
    const type = o.orderType.value ?? 'firm';
    const channel = own(acc.ordering.orderTypes, type) ?? acc.ordering.default;
    if (channel !== 'api') {
      problems.push({
        path: o.orderType.value ? 'orderType' : 'account',
        message: `account ${accountCode} sends ${type} orders by EDI, not through this API (setting accounts.${accountCode}.ordering${
          own(acc.ordering.orderTypes, type) ? `.orderTypes.${type}` : '.default'
        } = edi)`,
      });
    }
  }
  const format = o.format?.value;
  if (o.isbn && o.isbn.value !== undefined) {
    const r = checkIsbn(o.isbn.value);
    if (!r.ok) {
      problems.push({
        path: 'item.isbn',
        message: r.problem === 'checksum' ? 'check digit is wrong' : 'is not an ISBN-10 or ISBN-13',
      });
    }
  } else if (o.isbn && format === 'print') {
    problems.push({ path: 'item.isbn', message: 'required for a print order' });
  }
  if (format === 'ebook' && o.quantity && o.quantity.value !== 1) {
    problems.push({ path: 'quantity', message: 'must be 1 for an ebook' });
  }
  if (o.listPrice) {
    const { amount, currency } = o.listPrice.value;
    if (!acc.currencies.includes(currency)) {
      problems.push({
        path: 'listPrice.currency',
        message: `account ${accountCode} does not accept ${currency} (accepted: ${acc.currencies.join(', ')})`,
      });
    }
    const digits = own(MINOR_DIGITS, currency) ?? 2;
    const decimals = amount.split('.')[1]?.length ?? 0;
    if (decimals > digits) {
      problems.push({
        path: 'listPrice.amount',
        message: `${currency} has at most ${digits} digits after the decimal point`,
      });
    }
    if (!(Number(amount) > 0)) problems.push({ path: 'listPrice.amount', message: 'must be more than 0' });
  }

  const funds = o.fundDistribution?.value ?? [];
  if (o.fundDistribution) {
    const total = funds.reduce((s, f) => s + f.percent, 0);
    if (Math.round(total * 1e6) !== 100e6) {
      problems.push({
        path: 'fundDistribution',
        message: `percents add up to ${Math.round(total * 1e6) / 1e6}, not 100`,
      });
    }
  }
  funds.forEach((f, i) => {
    if (!acc.funds.includes(f.fund)) {
      const hint = sameCase(acc.funds, f.fund);
      problems.push({
        path: `fundDistribution[${i}].fund`,
        message: `"${f.fund}" is not a fund of account ${accountCode}${
          hint ? ` (did you mean "${hint}"? fund codes are case-sensitive)` : ''
        }`,
      });
    }
  });
  const seen = new Set<string>();
  funds.forEach((f, i) => {
    if (seen.has(f.fund))
      problems.push({ path: `fundDistribution[${i}].fund`, message: `fund ${f.fund} is listed twice` });
    seen.add(f.fund);
  });

  if (!o.location) return problems;
  const loc = o.location.value;
  if (!loc) {
    if (format === 'print') problems.push({ path: 'location', message: 'required for a print order' });
  } else {
    const lib = own(acc.libraries, loc.library);
    if (!lib) {
      problems.push({
        path: 'location.library',
        message: `library ${loc.library} is not known to account ${accountCode} (known: ${Object.keys(acc.libraries).join(', ') || 'none'})`,
      });
    } else if (!lib.locations.includes(loc.shelvingLocation)) {
      problems.push({
        path: 'location.shelvingLocation',
        message: `shelving location ${loc.shelvingLocation} is not in library ${loc.library} (known: ${lib.locations.join(', ')})`,
      });
    } else {
      const rule = acc.fundLocationRules.find(
        (r) => r.library === loc.library && r.location === loc.shelvingLocation,
      );
      if (rule) {
        funds.forEach((f, i) => {
          // A fund the account does not have is already reported as such.
          if (acc.funds.includes(f.fund) && !rule.funds.includes(f.fund)) {
            problems.push({
              path: `fundDistribution[${i}].fund`,
              message: `location ${loc.library}/${loc.shelvingLocation} accepts only ${rule.funds.join(', ')}`,
            });
          }
        });
      }
    }
  }
  return problems;
}

/** Validates an order (already parsed from JSON) against the contract and the configuration. */
export function validateOrder(input: unknown, config: Pick<Config, 'accounts'>): ValidationResult {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    return { ok: false, problems: [{ path: '(order)', message: 'must be a JSON object' }] };
  }
  const parsed = orderSchema.safeParse(input);
  const accountCode = (input as { account?: unknown }).account;
  // Codes from the order are looked up as the configuration's own entries only (`constructor` is no account).
  const acc = typeof accountCode === 'string' ? own(config.accounts, accountCode) : undefined;
  const problems: Problem[] = parsed.success ? [] : problemsFromIssues(parsed.error.issues, input);
  if (typeof accountCode === 'string' && accountCode && !acc) {
    problems.push({
      path: 'account',
      message: `account "${accountCode}" is not configured (known: ${Object.keys(config.accounts).join(', ')})`,
    });
  }
  if (!acc) return { ok: false, problems };
  if (!parsed.success) {
    // The rules on the well-formed parts still run: every problem is listed at once.
    problems.push(
      ...ruleProblems(wellFormedParts(input as Record<string, unknown>), accountCode as string, acc),
    );
    return { ok: false, problems };
  }
  problems.push(...accountProblems(parsed.data, parsed.data.account, acc));
  if (problems.length) return { ok: false, problems };

  const o = parsed.data;
  const isbn = o.item.isbn !== undefined ? (checkIsbn(o.item.isbn) as { isbn13: string }).isbn13 : undefined;
  const order: Order = {
    ...o,
    item: { ...o.item, ...(isbn ? { isbn } : {}) },
    orderType: o.orderType ?? 'firm',
    rush: o.rush ?? false,
    emailConfirmation: o.emailConfirmation ?? acc.email.confirmation,
  };
  return { ok: true, order };
}

/** Parses an order from text or bytes: over 64 KiB is refused before parsing; bad JSON names the place. */
export function parseOrderText(
  text: string | Buffer,
): { ok: true; value: unknown } | { ok: false; problems: Problem[] } {
  const size = typeof text === 'string' ? Buffer.byteLength(text) : text.length;
  if (size > MAX_ORDER_BYTES) {
    return {
      ok: false,
      problems: [{ path: '(order)', message: `is ${size} bytes; at most ${MAX_ORDER_BYTES} are accepted` }],
    };
  }
  try {
    return { ok: true, value: JSON.parse(text.toString()) };
  } catch (e) {
    return {
      ok: false,
      problems: [{ path: '(order)', message: `is not valid JSON: ${(e as Error).message}` }],
    };
  }
}
