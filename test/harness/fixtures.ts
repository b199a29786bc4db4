/** Files the tests read, all inside the repository: real vendor and Alma files (test/fixtures, see its README) and the example orders. */
import path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');

/** A file under test/fixtures/. */
export function fixturePath(...parts: string[]): string {
  return path.join(ROOT, 'test', 'fixtures', ...parts);
}

/** The valid example orders (examples/orders/), the ones a newcomer tries with `npm start`. */
export const VALID_EXAMPLES = path.join(ROOT, 'examples', 'orders');

/** Orders that break the contract, one rule each (test/fixtures/orders/invalid/, reasons in REASONS.md there). */
export const INVALID_EXAMPLES = fixturePath('orders', 'invalid');
