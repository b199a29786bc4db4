/** The compose file's codec-server service: the command, settings the code reads, the token as a Docker secret. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { SETTING_NAMES } from '../src/config/settings';

interface Service {
  command?: string[];
  profiles?: string[];
  environment?: Record<string, string>;
  secrets?: string[];
  ports?: string[];
}
const compose = parse(readFileSync(path.join(__dirname, '..', 'docker-compose.yml'), 'utf8'), {
  merge: true,
}) as { services: Record<string, Service>; secrets: Record<string, { file: string }> };

test('the codec-server service runs rto codec-server with its token from a Docker secret', () => {
  const s = compose.services['codec-server']!;
  expect(s.command).toEqual(['node', 'bin/rto.js', 'codec-server']);
  expect(s.profiles).toEqual(['codec']);
  const env = s.environment!;
  expect(Object.keys(env).filter((k) => !SETTING_NAMES.includes(k))).toEqual([]);
  expect(env.RTO_CODEC_TOKEN_FILE).toBe('/run/secrets/rto_codec_token');
  expect(env.RTO_CODEC_TOKEN).toBeUndefined();
  expect(env.RTO_PAYLOAD_KEY).toMatch(/^\$\{RTO_PAYLOAD_KEY/);
  expect(s.secrets).toEqual(['rto_codec_token']);
  expect(compose.secrets.rto_codec_token!.file).toMatch(/deploy\/secrets\//);
  expect(s.ports).toEqual([`127.0.0.1:${env.RTO_CODEC_PORT}:${env.RTO_CODEC_PORT}`]);
  // The UI is told where the browser finds it.
  expect(compose.services['temporal-ui']!.environment!.TEMPORAL_CODEC_ENDPOINT).toBeDefined();
});
