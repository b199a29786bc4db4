/**
 * API key scopes, as Alma's key management has them: each key is defined for one environment (production or
 * sandbox) and allows API areas, each read-only or read/write. A call outside the key's scope is refused like
 * an unknown key: 400 UNAUTHORIZED, in XML whatever the client asked for (see docs/alma-sandbox.md).
 */
import type { InstitutionState } from './state';

/** The areas of Alma's API this sandbox serves (Alma has more: Users, Analytics, Courses, …). */
export const API_AREAS = ['Acquisitions', 'Bibs', 'Configuration'] as const;
export type ApiArea = (typeof API_AREAS)[number];
export type AreaPermission = 'read' | 'read-write';
export type AlmaEnvironment = 'production' | 'sandbox';

export interface SandboxKeyScope {
  /** The environment the key was defined for; production when absent. */
  environment?: AlmaEnvironment;
  /** Areas the key allows; every area read/write when absent (a plain key, as older seeds have it). */
  areas?: Partial<Record<ApiArea, AreaPermission>>;
}

export interface SandboxApiKeySeed extends SandboxKeyScope {
  apiKey: string;
}

/** What an institution's seed says about its keys (mixed into SandboxInstitutionSeed). */
export interface SandboxInstitutionKeys {
  /** The scope of the institution's `apiKey`; all areas read/write in production when absent. */
  apiKeyScope?: SandboxKeyScope;
  /** More keys of the same institution, each with its own scope. */
  extraKeys?: SandboxApiKeySeed[];
  /** The environment this sandbox plays for the institution; production when absent. */
  environment?: AlmaEnvironment;
}

/** A plain key: every area read/write. */
export const FULL_AREAS: Readonly<Record<ApiArea, AreaPermission>> = {
  Acquisitions: 'read-write',
  Bibs: 'read-write',
  Configuration: 'read-write',
};

/** The area a path under /almaws/v1 belongs to, from its first segment. */
export function areaOfPath(path: string): ApiArea | undefined {
  if (path === '/acq' || path.startsWith('/acq/')) return 'Acquisitions';
  if (path === '/bibs' || path.startsWith('/bibs/')) return 'Bibs';
  if (path === '/conf' || path.startsWith('/conf/')) return 'Configuration';
  return undefined;
}

export interface KeyEntry {
  inst: InstitutionState;
  environment: AlmaEnvironment;
  areas: Partial<Record<ApiArea, AreaPermission>>;
}

/** Whether a key may make this call: its environment is the institution's and its area allows the method. */
export function allows(entry: KeyEntry, method: string, path: string): boolean {
  if (entry.environment !== (entry.inst.seed.environment ?? 'production')) return false;
  const area = areaOfPath(path);
  // Paths outside every area (no such API) are left to the router's "no API matches" answer.
  if (!area) return true;
  const permission = entry.areas[area];
  if (!permission) return false;
  return method === 'GET' || permission === 'read-write';
}

/** Every key of every institution, with its scope. Built from the seed; the admin API may change scopes. */
export class KeyRing {
  private readonly byKey = new Map<string, KeyEntry>();
  private readonly main = new Map<string, KeyEntry>();

  constructor(institutions: Iterable<InstitutionState>) {
    for (const inst of institutions) {
      const s = inst.seed;
      const entry = KeyRing.entry(inst, s.apiKeyScope);
      this.byKey.set(s.apiKey, entry);
      this.main.set(s.code, entry);
      for (const k of s.extraKeys ?? []) this.byKey.set(k.apiKey, KeyRing.entry(inst, k));
    }
  }

  private static entry(inst: InstitutionState, scope: SandboxKeyScope | undefined): KeyEntry {
    return {
      inst,
      environment: scope?.environment ?? 'production',
      areas: { ...(scope?.areas ?? FULL_AREAS) },
    };
  }

  get(apiKey: string | undefined): KeyEntry | undefined {
    return apiKey === undefined ? undefined : this.byKey.get(apiKey);
  }

  /** Changes the scope of an institution's seeded key (no key value travels): false for an unknown code. */
  setScope(institution: string, scope: SandboxKeyScope): boolean {
    const entry = this.main.get(institution);
    if (!entry) return false;
    entry.environment = scope.environment ?? 'production';
    entry.areas = { ...(scope.areas ?? FULL_AREAS) };
    return true;
  }

  /** Back to the seeded scopes (the admin API's reset). */
  reset(): void {
    for (const [code, entry] of this.main) this.setScope(code, entry.inst.seed.apiKeyScope ?? {});
  }

  /** The scopes as the admin state shows them: per institution, its seeded key's (never the key itself). */
  view(): Record<string, { environment: AlmaEnvironment; areas: Partial<Record<ApiArea, AreaPermission>> }> {
    const out: Record<
      string,
      { environment: AlmaEnvironment; areas: Partial<Record<ApiArea, AreaPermission>> }
    > = {};
    for (const [code, e] of this.main) out[code] = { environment: e.environment, areas: { ...e.areas } };
    return out;
  }
}
