/**
 * Payloads as the remote codec protocol carries them: proto3 JSON, where every `bytes` field (the data and
 * each metadata value) is base64. `{"payloads":[{"metadata":{"encoding":"<base64>"},"data":"<base64>"}]}`.
 */
import type { Payload } from '@temporalio/common';

export interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

/** A request body that is not the protocol's shape; the message says what is wrong, never quotes data. */
export class PayloadJsonError extends Error {
  override name = 'PayloadJsonError';
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

function bytes(value: unknown, where: string): Uint8Array {
  if (typeof value !== 'string' || !BASE64.test(value))
    throw new PayloadJsonError(`${where} must be a base64 string`);
  return Buffer.from(value, 'base64');
}

/** The payloads of a request body (already JSON-parsed). */
export function payloadsFromJson(body: unknown): Payload[] {
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw new PayloadJsonError('the body must be a JSON object {"payloads":[...]}');
  const list = (body as { payloads?: unknown }).payloads;
  if (!Array.isArray(list)) throw new PayloadJsonError('"payloads" must be an array');
  return list.map((p: unknown, i): Payload => {
    if (!p || typeof p !== 'object' || Array.isArray(p))
      throw new PayloadJsonError(`payloads[${i}] must be an object`);
    const { metadata, data } = p as { metadata?: unknown; data?: unknown };
    const out: Payload = {};
    if (metadata !== undefined && metadata !== null) {
      if (typeof metadata !== 'object' || Array.isArray(metadata))
        throw new PayloadJsonError(`payloads[${i}].metadata must be an object`);
      out.metadata = Object.fromEntries(
        Object.entries(metadata).map(([k, v]) => [k, bytes(v, `payloads[${i}].metadata.${k.slice(0, 40)}`)]),
      );
    }
    if (data !== undefined && data !== null) out.data = bytes(data, `payloads[${i}].data`);
    return out;
  });
}

export function payloadsToJson(payloads: Payload[]): { payloads: JsonPayload[] } {
  return {
    payloads: payloads.map((p) => {
      const out: JsonPayload = {};
      if (p.metadata)
        out.metadata = Object.fromEntries(
          Object.entries(p.metadata).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')]),
        );
      if (p.data) out.data = Buffer.from(p.data).toString('base64');
      return out;
    }),
  };
}
