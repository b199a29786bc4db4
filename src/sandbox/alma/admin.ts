/**
 * The sandbox's own API (no key): read its state, set faults and limits, reset. Tests and the demo use it
 * to see what Alma "really" holds, e.g. that a PO line exists although the client saw a dropped connection.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { faultSetSchema, type FaultSet } from './faults';
import { API_AREAS, type KeyRing } from './keys';
import { poLineJson, settleAll } from './po-lines';
import { recordFromXml, summarise } from './marc';
import { parseXml } from '../../alma/xml';
import type { SandboxState } from './state';

export interface AdminDeps {
  state: SandboxState;
  keys: KeyRing;
  getFaults(): FaultSet;
  setFaults(f: FaultSet): void;
  apiBase(): string;
  changed(): void;
  readBody(): Promise<string>;
}

const limitsSchema = z.strictObject({
  institution: z.string().optional(),
  perSecond: z.number().int().positive().optional(),
  daily: z.number().int().min(0).optional(),
  bibDelayMs: z.number().int().min(0).optional(),
});

/** The scope of an institution's seeded key; the key itself never travels through the admin API. */
const keyScopeSchema = z.strictObject({
  institution: z.string(),
  environment: z.enum(['production', 'sandbox']).optional(),
  areas: z.partialRecord(z.enum(API_AREAS), z.enum(['read', 'read-write'])).optional(),
});

function json(res: ServerResponse, status: number, body: unknown): number {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
  return status;
}

async function readJson(deps: AdminDeps): Promise<unknown> {
  const text = await deps.readBody();
  if (!text.trim()) return {};
  return JSON.parse(text);
}

export function stateView(deps: AdminDeps): unknown {
  const { state } = deps;
  const now = Date.now();
  const institutions: Record<string, unknown> = {};
  const poLines: unknown[] = [];
  const bibs: unknown[] = [];
  const maxPerSecond: Record<string, number> = {};
  for (const [code, inst] of state.institutions) {
    if (settleAll(inst, now)) deps.changed();
    institutions[code] = {
      perSecond: inst.perSecond,
      daily: inst.daily,
      bibDelayMs: inst.bibDelayMs,
      dailyUsed: inst.dailyUsed,
      remaining: Math.max(0, inst.daily - inst.dailyUsed),
      accepted: inst.accepted,
      maxPerSecond: inst.maxPerSecond,
      poLines: Object.keys(inst.poLines).length,
      bibs: Object.keys(inst.bibs).length,
    };
    maxPerSecond[code] = inst.maxPerSecond;
    for (const p of Object.values(inst.poLines))
      poLines.push({ institution: code, ...poLineJson(p, deps.apiBase()) });
    for (const b of Object.values(inst.bibs)) {
      const s = summarise(recordFromXml(parseXml(b.recordXml)));
      bibs.push({
        institution: code,
        mms_id: b.mmsId,
        title: s.title,
        isbn: s.isbn,
        created_by: b.createdBy,
        created_date: b.createdDate,
        last_modified_date: b.lastModifiedDate,
        ...(b.holdings ? { holdings: b.holdings } : {}),
        ...(b.portfolios ? { portfolios: b.portfolios } : {}),
        record: b.recordXml,
      });
    }
  }
  return {
    institutions,
    poLines,
    bibs,
    calls: state.stats.calls,
    throttled: state.stats.throttled,
    maxPerSecond,
    faults: deps.getFaults(),
    keys: deps.keys.view(),
  };
}

export async function adminRequest(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  deps: AdminDeps,
): Promise<string | number> {
  const route = `${req.method} ${url.pathname.replace(/\/+$/, '')}`;
  try {
    switch (route) {
      case 'GET /_sandbox/state':
        return json(res, 200, stateView(deps));
      case 'POST /_sandbox/faults': {
        const parsed = faultSetSchema.safeParse(await readJson(deps));
        if (!parsed.success) return json(res, 400, { error: z.prettifyError(parsed.error) });
        deps.setFaults(parsed.data);
        return json(res, 200, { faults: parsed.data });
      }
      case 'POST /_sandbox/keys': {
        const parsed = keyScopeSchema.safeParse(await readJson(deps));
        if (!parsed.success) return json(res, 400, { error: z.prettifyError(parsed.error) });
        const { institution, ...scope } = parsed.data;
        if (!deps.keys.setScope(institution, scope)) {
          return json(res, 404, { error: `no institution ${institution} in the sandbox` });
        }
        return json(res, 200, { keys: deps.keys.view() });
      }
      case 'POST /_sandbox/reset':
        deps.state.reset();
        deps.keys.reset();
        deps.setFaults({});
        deps.changed();
        return json(res, 200, { ok: true });
      case 'POST /_sandbox/limits': {
        const parsed = limitsSchema.safeParse(await readJson(deps));
        if (!parsed.success) return json(res, 400, { error: z.prettifyError(parsed.error) });
        const { institution, perSecond, daily, bibDelayMs } = parsed.data;
        const targets = institution
          ? [deps.state.institutions.get(institution)]
          : [...deps.state.institutions.values()];
        if (targets.some((t) => t === undefined)) {
          return json(res, 404, { error: `no institution ${institution} in the sandbox` });
        }
        for (const t of targets) {
          if (!t) continue;
          if (perSecond !== undefined) t.perSecond = perSecond;
          if (daily !== undefined) t.daily = daily;
          if (bibDelayMs !== undefined) t.bibDelayMs = bibDelayMs;
        }
        return json(res, 200, { ok: true });
      }
      default:
        return json(res, 404, { error: `no sandbox admin route ${route}` });
    }
  } catch (e) {
    return json(res, 400, { error: (e as Error).message });
  }
}
