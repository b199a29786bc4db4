/**
 * Optional encryption of workflow payloads (AES-256-GCM): orders carry librarians' names and email addresses,
 * and with a key set nothing readable of them reaches the Temporal server's history. The key id travels in the
 * payload's metadata so keys can be rotated (old keys keep decrypting). Payloads written without encryption
 * (before the key was set) are read as they are.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

const ENCODING = 'binary/encrypted';
const ENCODING_BYTES = Buffer.from(ENCODING);

export class PayloadKeyError extends Error {
  override name = 'PayloadKeyError';
}

export class AesGcmCodec implements PayloadCodec {
  constructor(
    private readonly keys: Map<string, Buffer>,
    private readonly currentKeyId: string,
  ) {
    for (const [id, key] of keys) {
      if (key.length !== 32)
        throw new PayloadKeyError(`payload key ${id} must be 32 bytes (base64 of 32 random bytes)`);
    }
    if (!keys.has(currentKeyId)) throw new PayloadKeyError(`no payload key with id ${currentKeyId}`);
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const key = this.keys.get(this.currentKeyId)!;
    return payloads.map((p) => {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const plain = Buffer.from(temporal.api.common.v1.Payload.encode(p).finish());
      const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: { encoding: ENCODING_BYTES, 'encryption-key-id': Buffer.from(this.currentKeyId) },
        data,
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => {
      if (Buffer.from(p.metadata?.encoding ?? []).toString() !== ENCODING) return p;
      const id = Buffer.from(p.metadata?.['encryption-key-id'] ?? []).toString();
      const key = this.keys.get(id);
      if (!key)
        throw new PayloadKeyError(`a payload is encrypted with key ${id}, which this process does not have`);
      const data = Buffer.from(p.data ?? []);
      if (data.length < 28)
        throw new PayloadKeyError(`a payload encrypted with key ${id} is damaged (${data.length} bytes)`);
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, 12));
      decipher.setAuthTag(data.subarray(data.length - 16));
      const plain = Buffer.concat([decipher.update(data.subarray(12, data.length - 16)), decipher.final()]);
      return temporal.api.common.v1.Payload.decode(plain);
    });
  }
}

/**
 * The data converter from the settings: none without a key. RTO_PAYLOAD_KEY (or RTO_PAYLOAD_KEY_FILE) is the
 * current key, base64; RTO_PAYLOAD_KEY_ID names it; RTO_PAYLOAD_OLD_KEYS ("id:base64,...") keeps older ones.
 */
export function dataConverterFrom(s: {
  RTO_PAYLOAD_KEY?: string;
  RTO_PAYLOAD_KEY_FILE?: string;
  RTO_PAYLOAD_KEY_ID: string;
  RTO_PAYLOAD_OLD_KEYS?: string;
}): DataConverter | undefined {
  const current =
    s.RTO_PAYLOAD_KEY ??
    (s.RTO_PAYLOAD_KEY_FILE ? readFileSync(s.RTO_PAYLOAD_KEY_FILE, 'utf8').trim() : undefined);
  if (!current) return undefined;
  const keys = new Map<string, Buffer>([[s.RTO_PAYLOAD_KEY_ID, Buffer.from(current, 'base64')]]);
  for (const entry of (s.RTO_PAYLOAD_OLD_KEYS ?? '').split(',').filter(Boolean)) {
    const [id, value] = entry.split(':');
    if (!id || !value) throw new PayloadKeyError('RTO_PAYLOAD_OLD_KEYS must read "id:base64,id:base64"');
    keys.set(id.trim(), Buffer.from(value.trim(), 'base64'));
  }
  // Failure messages and stack traces are encrypted too: an error can quote order data.
  return {
    payloadCodecs: [new AesGcmCodec(keys, s.RTO_PAYLOAD_KEY_ID)],
    failureConverterPath: require.resolve('./failure-converter'),
  };
}
