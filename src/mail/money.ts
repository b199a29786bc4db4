/** Prices as the librarian reads them: exact decimal arithmetic on the order's string amounts (no floats). */
import { MINOR_DIGITS } from '../contract/order';

/** `amount` × `quantity`, written with at least the currency's minor digits, e.g. ("59.99", 2, "USD") → "119.98". */
export function multiplyAmount(amount: string, quantity: number, currency: string): string {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(amount);
  if (!m || !Number.isInteger(quantity) || quantity < 0) return `${amount} × ${quantity}`;
  const frac = m[2] ?? '';
  const scale = Math.max(frac.length, MINOR_DIGITS[currency] ?? 2);
  const units = BigInt(m[1]! + frac.padEnd(scale, '0')) * BigInt(quantity);
  const digits = units.toString().padStart(scale + 1, '0');
  return scale ? `${digits.slice(0, -scale)}.${digits.slice(-scale)}` : digits;
}

/** The amount written with the currency's minor digits (more if the order gave more), e.g. "249" EUR → "249.00". */
export function formatAmount(amount: string, currency: string): string {
  return multiplyAmount(amount, 1, currency);
}
