/**
 * Validation of an order against the contract and against its account: funds, locations, currencies,
 * fund-location rules, ISBN check digits and the account's ordering channel. Every problem is reported at
 * once, each with its JSON path, in words a librarian understands. Used by the client (before a workflow
 * starts) and by the workflow's first activity (the authority).
 */
import type { z } from 'zod';
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

/** The account-dependent rules, on an order whose shape is already valid. */
export function accountProblems(
  order: z.infer<typeof orderSchema>,
  accountCode: string,
  acc: Account,
): Problem[] {
  const problems: Problem[] = [];
  const type = order.orderType ?? 'firm';
  const channel = acc.ordering.orderTypes[type] ?? acc.ordering.default;
  if (channel !== 'api') {
    problems.push({
      path: order.orderType ? 'orderType' : 'account',
      message: `account ${accountCode} sends ${type} orders by EDI, not through this API (setting accounts.${accountCode}.ordering${
        acc.ordering.orderTypes[type] ? `.orderTypes.${type}` : '.default'
      } = edi)`,
    });
  }
  const { item } = order;
  if (item.isbn !== undefined) {
    const r = checkIsbn(item.isbn);
    if (!r.ok) {
      problems.push({
        path: 'item.isbn',
        message: r.problem === 'checksum' ? 'check digit is wrong' : 'is not an ISBN-10 or ISBN-13',
      });
    }
  } else if (item.format === 'print') {
    problems.push({ path: 'item.isbn', message: 'required for a print order' });
  }
  if (item.format === 'ebook' && order.quantity !== 1) {
    problems.push({ path: 'quantity', message: 'must be 1 for an ebook' });
  }
  const { amount, currency } = order.listPrice;
  if (!acc.currencies.includes(currency)) {
    problems.push({
      path: 'listPrice.currency',
      message: `account ${accountCode} does not accept ${currency} (accepted: ${acc.currencies.join(', ')})`,
    });
  }
  const digits = MINOR_DIGITS[currency] ?? 2;
  const decimals = amount.split('.')[1]?.length ?? 0;
  if (decimals > digits) {
    problems.push({
      path: 'listPrice.amount',
      message: `${currency} has at most ${digits} digits after the decimal point`,
    });
  }
  if (!(Number(amount) > 0)) problems.push({ path: 'listPrice.amount', message: 'must be more than 0' });

  const total = order.fundDistribution.reduce((s, f) => s + f.percent, 0);
  if (Math.round(total * 1e6) !== 100e6) {
    problems.push({
      path: 'fundDistribution',
      message: `percents add up to ${Math.round(total * 1e6) / 1e6}, not 100`,
    });
  }
  order.fundDistribution.forEach((f, i) => {
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
  order.fundDistribution.forEach((f, i) => {
    if (seen.has(f.fund))
      problems.push({ path: `fundDistribution[${i}].fund`, message: `fund ${f.fund} is listed twice` });
    seen.add(f.fund);
  });

  const loc = order.location;
  if (!loc) {
    if (item.format === 'print') problems.push({ path: 'location', message: 'required for a print order' });
  } else {
    const lib = acc.libraries[loc.library];
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
        order.fundDistribution.forEach((f, i) => {
          if (!rule.funds.includes(f.fund)) {
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
  const acc = typeof accountCode === 'string' ? config.accounts[accountCode] : undefined;
  const problems: Problem[] = parsed.success ? [] : problemsFromIssues(parsed.error.issues, input);
  if (typeof accountCode === 'string' && accountCode && !acc) {
    problems.push({
      path: 'account',
      message: `account "${accountCode}" is not configured (known: ${Object.keys(config.accounts).join(', ')})`,
    });
  }
  if (!parsed.success || !acc) return { ok: false, problems };
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
