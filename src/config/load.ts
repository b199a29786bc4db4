import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { configFile, type Config, type ConfigFileInput, type SecretRef } from './schema';
import { csvRecords } from './csv';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Replaces `${NAME}` and `${NAME:-default}` in every string, so paths and gateways follow the environment. */
export function interpolate<T>(value: T, env: NodeJS.ProcessEnv = process.env): T {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Z_][A-Z0-9_]*)(?::-([^}]*))?\}/g, (_m, name: string, def?: string) => {
      const v = env[name];
      if (v !== undefined && v !== '') return v;
      if (def !== undefined) return def;
      throw new ConfigError(`\${${name}} is used in the configuration but the environment does not set it`);
    }) as T;
  }
  if (Array.isArray(value)) return value.map((v) => interpolate(v, env)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, env)])) as T;
  }
  return value;
}

export function formatIssues(where: string, issues: z.core.$ZodIssue[]): string {
  return [
    `${where} is not valid:`,
    ...issues.map((i) => `  - ${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`),
  ].join('\n');
}

/** Validates a configuration object (already read), merges the CSV lists it names, and returns it typed. */
export function parseConfig(raw: unknown, where = 'configuration', baseDir = process.cwd()): Config {
  const parsed = configFile.safeParse(interpolate(raw));
  if (!parsed.success) throw new ConfigError(formatIssues(where, parsed.error.issues));
  const cfg = parsed.data;
  for (const [name, acc] of Object.entries(cfg.accounts)) {
    const csv = acc.csv;
    if (!csv) continue;
    const read = (file: string) => {
      const full = path.resolve(baseDir, file);
      try {
        return readFileSync(full, 'utf8');
      } catch (e) {
        throw new ConfigError(`${where}: accounts.${name}.csv: cannot read ${full}: ${(e as Error).message}`);
      }
    };
    if (csv.funds) {
      for (const r of csvRecords(read(csv.funds), ['fund'], csv.funds)) {
        if (r.fund && !acc.funds.includes(r.fund)) acc.funds.push(r.fund);
      }
    }
    if (csv.locations) {
      for (const r of csvRecords(read(csv.locations), ['library', 'location'], csv.locations)) {
        const lib = (acc.libraries[r.library!] ??= { locations: [] });
        if (!lib.locations.includes(r.location!)) lib.locations.push(r.location!);
      }
    }
    if (csv.rules) {
      for (const r of csvRecords(read(csv.rules), ['library', 'location', 'fund'], csv.rules)) {
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

export function defineConfig(input: ConfigFileInput): ConfigFileInput {
  return input;
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
