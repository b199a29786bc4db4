/** Fault injection: per endpoint key (or `*`), errors, latency, hangs and dropped answers, by probability. */
import { z } from 'zod';

export const ENDPOINT_KEYS = [
  'po-lines:POST',
  'po-lines:GET',
  'po-line:GET',
  'po-line:DELETE',
  'po-line:PUT',
  'po-line-items:GET',
  'vendor-po-lines:GET',
  'bib:GET',
  'bibs:GET',
  'bib:PUT',
  'funds:GET',
  'vendor:GET',
  'libraries:GET',
  'locations:GET',
  'test:GET',
] as const;
export type EndpointKey = (typeof ENDPOINT_KEYS)[number];

const probability = z.number().min(0).max(1);

export const faultSchema = z.strictObject({
  /** Chance of a 5xx before processing (nothing is committed). */
  error5xx: probability.optional(),
  status5xx: z.union([z.literal(500), z.literal(502), z.literal(503)]).optional(),
  /** Delay before the request is handled. */
  latencyMs: z.number().int().min(0).max(600_000).optional(),
  /** Chance that the request is never answered (nothing is committed). */
  hang: probability.optional(),
  /** Chance that the request is processed and committed, then the connection is cut without an answer. */
  dropAfterCommit: probability.optional(),
});
export type Fault = z.infer<typeof faultSchema>;

export const faultSetSchema = z.partialRecord(z.enum([...ENDPOINT_KEYS, '*']), faultSchema);
export type FaultSet = z.infer<typeof faultSetSchema>;

/** The fault for an endpoint: its own entry, else the `*` entry. */
export function faultFor(faults: FaultSet, key: EndpointKey): Fault {
  return faults[key] ?? faults['*'] ?? {};
}

export const roll = (p: number | undefined, random: () => number = Math.random): boolean =>
  p !== undefined && p > 0 && random() < p;

/** What a 5xx looks like: Alma's own 500 is an error envelope; gateways in front answer in plain text. */
export function fault5xxBody(
  status: 500 | 502 | 503,
): { kind: 'alma'; code: string; message: string } | { kind: 'text'; text: string } {
  if (status === 500) {
    return {
      kind: 'alma',
      code: 'INTERNAL_SERVER_ERROR',
      message:
        'The web server encountered an unexpected condition that prevented it from fulfilling the request.',
    };
  }
  return { kind: 'text', text: status === 502 ? 'Bad Gateway' : 'Service Temporarily Unavailable' };
}
