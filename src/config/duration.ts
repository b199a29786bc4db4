import { z } from 'zod';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses "250ms", "30s", "15m", "36h", "14d" (or a bare number of milliseconds) into milliseconds. */
export function parseDuration(text: string | number): number {
  if (typeof text === 'number') {
    if (!Number.isFinite(text) || text < 0) throw new Error(`"${text}" is not a duration`);
    return text;
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(text);
  if (!m)
    throw new Error(`"${text}" is not a duration: write a number and a unit, e.g. 500ms, 30s, 15m, 36h, 14d`);
  return Math.round(Number(m[1]) * UNITS[m[2] as string]!);
}

/** A zod type for durations written in configuration; the parsed value is milliseconds. */
export const duration = z.union([z.string(), z.number()]).transform((value, ctx) => {
  try {
    return parseDuration(value);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
    return z.NEVER;
  }
});
