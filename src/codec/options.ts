/** The codec server's options from the process settings (RTO_CODEC_*, RTO_PAYLOAD_*): the one place they are read. */
import { readFileSync } from 'node:fs';
import type { PayloadCodec } from '@temporalio/common';
import { ConfigError } from '../config/load';
import type { Settings } from '../config/settings';
import { dataConverterFrom } from '../temporal/codec';
import type { CodecServerOptions } from './server';

type CodecSettings = Pick<
  Settings,
  | 'RTO_PAYLOAD_KEY'
  | 'RTO_PAYLOAD_KEY_FILE'
  | 'RTO_PAYLOAD_KEY_ID'
  | 'RTO_PAYLOAD_OLD_KEYS'
  | 'RTO_CODEC_HOST'
  | 'RTO_CODEC_PORT'
  | 'RTO_CODEC_TOKEN'
  | 'RTO_CODEC_TOKEN_FILE'
  | 'RTO_CODEC_CORS_ORIGIN'
  | 'TEMPORAL_UI_PORT'
  | 'TEMPORAL_NAMESPACE'
>;

/** The project's payload codec with every key the settings hold, or undefined when encryption is off. */
export function payloadCodecFrom(settings: CodecSettings): PayloadCodec | undefined {
  return dataConverterFrom(settings)?.payloadCodecs?.[0];
}

/** The bearer token: RTO_CODEC_TOKEN, else the file RTO_CODEC_TOKEN_FILE names, else none. */
export function codecToken(settings: CodecSettings): string | undefined {
  if (settings.RTO_CODEC_TOKEN) return settings.RTO_CODEC_TOKEN;
  if (!settings.RTO_CODEC_TOKEN_FILE) return undefined;
  try {
    return readFileSync(settings.RTO_CODEC_TOKEN_FILE, 'utf8').trim();
  } catch (e) {
    throw new ConfigError(
      `RTO_CODEC_TOKEN_FILE: cannot read ${settings.RTO_CODEC_TOKEN_FILE}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
}

/** RTO_CODEC_CORS_ORIGIN (comma-separated), or the local UI's origin as `rto start` serves it. */
export function codecOrigins(
  settings: Pick<CodecSettings, 'RTO_CODEC_CORS_ORIGIN' | 'TEMPORAL_UI_PORT'>,
  uiPort?: number,
): string[] {
  const listed = (settings.RTO_CODEC_CORS_ORIGIN ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (listed.length) return listed;
  const p = uiPort ?? settings.TEMPORAL_UI_PORT;
  return [`http://127.0.0.1:${p}`, `http://localhost:${p}`];
}

export function codecServerOptionsFromSettings(
  settings: CodecSettings,
  o: { allowNoToken?: boolean; uiPort?: number } = {},
): Omit<CodecServerOptions, 'logger'> {
  const codec = payloadCodecFrom(settings);
  if (!codec)
    throw new ConfigError(
      'payload encryption is off (no RTO_PAYLOAD_KEY or RTO_PAYLOAD_KEY_FILE): the codec server has nothing to decode',
    );
  const token = codecToken(settings);
  return {
    codec,
    host: settings.RTO_CODEC_HOST,
    port: settings.RTO_CODEC_PORT,
    ...(token !== undefined ? { token } : {}),
    ...(o.allowNoToken ? { allowNoToken: true } : {}),
    origins: codecOrigins(settings, o.uiPort),
    namespaces: [settings.TEMPORAL_NAMESPACE],
  };
}
