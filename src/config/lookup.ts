/**
 * Looking configuration up by a key that came from outside (an HTTP path, a command-line argument, a vendor
 * file). The configuration is made of plain objects, so `accounts['constructor']` or `['__proto__']` would
 * find Object.prototype's members: only the object's own entries count.
 */
export function own<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.prototype.hasOwnProperty.call(record, key) ? record[key] : undefined;
}
