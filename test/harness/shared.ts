/** Files in the steering repo's shared/ folder, which sits beside the project's checkout (in CI too). */
import path from 'node:path';

export const SHARED = process.env.RTO_SHARED_DIR ?? path.join(__dirname, '..', '..', '..', 'shared');

export function sharedPath(...parts: string[]): string {
  return path.join(SHARED, ...parts);
}
