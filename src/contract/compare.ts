/**
 * Whether two orders say the same thing: both in canonical form (what the contract makes of them: the ISBN as
 * ISBN-13, orderType and rush defaults, with the configuration also the account's emailConfirmation default),
 * then compared field by field. Used when an order id is placed again: the existing order is kept either way,
 * but the caller is told whether (and where) its new content differs.
 */
import { own } from '../config/lookup';
import type { Config } from '../config/schema';
import { checkIsbn } from './isbn';
import { formatPath, orderSchema } from './order';

/**
 * The order as the contract reads it; an order that does not parse is compared as sent. Without the
 * configuration an absent emailConfirmation stays absent (it is the account's default).
 */
export function canonicalOrder(raw: unknown, config?: Pick<Config, 'accounts'>): unknown {
  const parsed = orderSchema.safeParse(raw);
  if (!parsed.success) return raw;
  const o = parsed.data;
  const isbn = o.item.isbn !== undefined ? checkIsbn(o.item.isbn) : undefined;
  const confirmationDefault = config ? own(config.accounts, o.account)?.email.confirmation : undefined;
  const emailConfirmation = o.emailConfirmation ?? confirmationDefault;
  return {
    ...o,
    item: { ...o.item, ...(isbn?.ok ? { isbn: isbn.isbn13 } : {}) },
    orderType: o.orderType ?? 'firm',
    rush: o.rush ?? false,
    ...(emailConfirmation !== undefined ? { emailConfirmation } : {}),
  };
}

/** At most this many paths are listed. */
export const MAX_DIFFERENCES = 20;

/**
 * The JSON paths (`item.title`, `fundDistribution[1]`) where two values differ, in key order; a field present
 * on one side only is listed at its own path. Values are never included: they may be personal data.
 */
export function differences(a: unknown, b: unknown, limit = MAX_DIFFERENCES): string[] {
  const out: string[] = [];
  const walk = (x: unknown, y: unknown, at: (string | number)[]): void => {
    if (out.length >= limit) return;
    if (Array.isArray(x) && Array.isArray(y)) {
      for (let i = 0; i < Math.max(x.length, y.length); i++) {
        if (i >= x.length || i >= y.length) out.push(formatPath([...at, i]));
        else walk(x[i], y[i], [...at, i]);
        if (out.length >= limit) return;
      }
      return;
    }
    if (isPlainObject(x) && isPlainObject(y)) {
      const keys = [...new Set([...Object.keys(x), ...Object.keys(y)])].sort();
      for (const k of keys) {
        const hasX = Object.prototype.hasOwnProperty.call(x, k);
        const hasY = Object.prototype.hasOwnProperty.call(y, k);
        if (hasX !== hasY) out.push(formatPath([...at, k]));
        else walk(x[k], y[k], [...at, k]);
        if (out.length >= limit) return;
      }
      return;
    }
    if (!Object.is(x, y)) out.push(formatPath(at));
  };
  walk(a, b, []);
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The paths where two orders differ once both are in canonical form; empty when they say the same thing. */
export function orderDifferences(
  existing: unknown,
  placed: unknown,
  config?: Pick<Config, 'accounts'>,
): string[] {
  return differences(canonicalOrder(existing, config), canonicalOrder(placed, config));
}
