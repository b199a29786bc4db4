import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { configFile, isObjectMemberName, objectMemberProblem, type Config, type SecretRef } from './schema';
import { csvRecords } from './csv';
import { own } from './lookup';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Replaces `${NAME}` and `${NAME:-default}` in every string, so paths and gateways follow the environment.
 * An unset variable without a default is an error naming the JSON path where it is used.
 */
export function interpolate<T>(value: T, env: NodeJS.ProcessEnv = process.env, at: PropertyKey[] = []): T {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Z_][A-Z0-9_]*)(?::-([^}]*))?\}/g, (_m, name: string, def?: string) => {
      const v = env[name];
      if (v !== undefined && v !== '') return v;
      if (def !== undefined) return def;
      throw new ConfigError(
        `${at.length ? at.join('.') : '(top level)'}: \${${name}} is used but the environment does not set it (set it, or write \${${name}:-default})`,
      );
    }) as T;
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, env, [...at, i])) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, interpolate(v, env, [...at, k])]),
    ) as T;
  }
  return value;
}

/** One line per problem; a refused record key says why (zod's own message is only "Invalid key in record"). */
export function formatIssues(
  where: string,
  issues: readonly (Pick<z.core.$ZodIssue, 'path' | 'message'> & { code?: string })[],
): string {
  const lines = issues.flatMap((i) => {
    const at = i.path.length ? i.path.join('.') : '(top level)';
    const inner = i.code === 'invalid_key' ? (i as z.core.$ZodIssueInvalidKey).issues : [];
    return inner.length ? inner.map((x) => `  - ${at}: ${x.message}`) : [`  - ${at}: ${i.message}`];
  });
  return [`${where} is not valid:`, ...lines].join('\n');
}

/**
 * Where the configuration has a `__proto__` key. JSON.parse makes it an ordinary key, but zod's records skip it
 * and plain objects treat it as their prototype: an account or library of that name would silently vanish.
 */
function protoKeys(value: unknown, at: PropertyKey[] = []): PropertyKey[][] {
  if (Array.isArray(value)) return value.flatMap((v, i) => protoKeys(v, [...at, i]));
  if (!value || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) =>
    k === '__proto__' ? [[...at, k]] : protoKeys(v, [...at, k]),
  );
}

/** Validates a configuration object (already read), merges the CSV lists it names, and returns it typed. */
export function parseConfig(raw: unknown, where = 'configuration', baseDir = process.cwd()): Config {
  let interpolated: unknown;
  try {
    interpolated = interpolate(raw);
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`${where} is not valid:\n  - ${e.message}`);
    throw e;
  }
  const parsed = configFile.safeParse(interpolated);
  const reserved = protoKeys(interpolated).map((p) => ({
    path: p,
    message: objectMemberProblem('__proto__'),
  }));
  if (!parsed.success || reserved.length)
    throw new ConfigError(formatIssues(where, [...reserved, ...(parsed.error?.issues ?? [])]));
  const cfg = parsed.data;
  for (const [name, acc] of Object.entries(cfg.accounts)) {
    const csv = acc.csv;
    if (!csv) continue;
    /** The CSV file's records; errors (a missing column) name the configuration, the setting and the file. */
    const records = (kind: 'funds' | 'locations' | 'rules', file: string, columns: string[]) => {
      const full = path.resolve(baseDir, file);
      const at = `${where}: accounts.${name}.csv.${kind}`;
      let text: string;
      try {
        text = readFileSync(full, 'utf8');
      } catch (e) {
        throw new ConfigError(`${at}: cannot read ${full}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
      }
      let rows: Record<string, string>[];
      try {
        rows = csvRecords(text, columns, full);
      } catch (e) {
        throw new ConfigError(`${at}: ${(e as Error).message}`);
      }
      // The same rule as for codes written in the file itself.
      rows.forEach((r, i) => {
        for (const c of columns) {
          const v = own(r, c);
          if (v !== undefined && isObjectMemberName(v))
            throw new ConfigError(`${at}: ${full}: row ${i + 1}, ${c}: ${objectMemberProblem(v)}`);
        }
      });
      return rows;
    };
    if (csv.funds) {
      for (const r of records('funds', csv.funds, ['fund'])) {
        if (r.fund && !acc.funds.includes(r.fund)) acc.funds.push(r.fund);
      }
    }
    if (csv.locations) {
      for (const r of records('locations', csv.locations, ['library', 'location'])) {
        const lib = own(acc.libraries, r.library!) ?? (acc.libraries[r.library!] = { locations: [] });
        if (!lib.locations.includes(r.location!)) lib.locations.push(r.location!);
      }
    }
    if (csv.rules) {
      for (const r of records('rules', csv.rules, ['library', 'location', 'fund'])) {
        let rule = acc.fundLocationRules.find((x) => x.library === r.library && x.location === r.location);
        if (!rule)
          acc.fundLocationRules.push((rule = { library: r.library!, location: r.location!, funds: [] }));
        if (!rule.funds.includes(r.fund!)) rule.funds.push(r.fund!);
      }
    }
  }
  return cfg;
}

/** Reads and validates a JSON configuration file; errors name the file, the path and the problem. */
export function loadConfigFile(file: string): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read the configuration file ${file}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${file} is not valid JSON: ${(e as Error).message}`);
  }
  return parseConfig(raw, file, path.dirname(path.resolve(file)));
}

/** Resolves a secret reference at the moment of use; the value is never stored in config objects or logged. */
export function resolveSecret(ref: SecretRef, env: NodeJS.ProcessEnv = process.env): string {
  if (ref.env && env[ref.env]) return env[ref.env]!;
  if (ref.file) {
    try {
      return readFileSync(ref.file, 'utf8').trim();
    } catch (e) {
      throw new ConfigError(
        `cannot read the secret file ${ref.file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`,
      );
    }
  }
  if (ref.sandboxDefault) return ref.sandboxDefault;
  throw new ConfigError(`the secret is not set: define the environment variable ${ref.env}`);
}
