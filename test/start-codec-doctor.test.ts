/**
 * `rto start` with payload encryption on: the codec server runs, the dev server's UI is pointed at it (the UI's
 * own settings API says so) and the UI's origin may use it; the set-up doctor's findings are printed.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveTemporalCli } from '../src/temporal/cli-binary';
import { freePort } from '../src/temporal/dev-server';
import { spawnRtoStart } from './harness/rto';

jest.setTimeout(240_000);

test('rto start with a payload key: the UI decodes through the codec server; the doctor reports', async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'rto-start-'));
  const cli = await resolveTemporalCli();
  const [temporalPort, uiPort, httpPort, almaPort, smtpPort, ftpPort, codecPort] = await Promise.all(
    Array.from({ length: 7 }, () => freePort()),
  );
  const running = await spawnRtoStart({
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    RTO_DATA_DIR: dataDir,
    RTO_PAYLOAD_KEY: randomBytes(32).toString('base64'),
    TEMPORAL_CLI: cli.path,
    TEMPORAL_PORT: String(temporalPort),
    TEMPORAL_UI_PORT: String(uiPort),
    RTO_HTTP_PORT: String(httpPort),
    ALMA_SANDBOX_PORT: String(almaPort),
    SMTP_PORT: String(smtpPort),
    FTP_PORT: String(ftpPort),
    RTO_CODEC_PORT: String(codecPort),
    LOG_LEVEL: 'warn',
  });
  const { child, exited } = running;
  const out = running.output();
  try {
    const codecUrl = `http://127.0.0.1:${codecPort}`;
    expect(out).toContain(`Codec server    ${codecUrl}`);
    expect(out).toContain('Set-up doctor (rto doctor):');
    expect(out).toMatch(/all is well: \d+ ok, 0 problem\(s\)/);

    const settings = (await (await fetch(`http://127.0.0.1:${uiPort}/api/v1/settings`)).json()) as {
      Codec: { Endpoint: string };
    };
    expect(settings.Codec.Endpoint).toBe(codecUrl);

    const origin = `http://127.0.0.1:${uiPort}`;
    const plain = {
      payloads: [{ metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: 'MQ==' }],
    };
    const sealed = await fetch(`${codecUrl}/encode`, {
      method: 'POST',
      headers: { origin, 'content-type': 'application/json', 'x-namespace': 'default' },
      body: JSON.stringify(plain),
    });
    expect(sealed.status).toBe(200);
    expect(sealed.headers.get('access-control-allow-origin')).toBe(origin);
    const opened = await fetch(`${codecUrl}/decode`, {
      method: 'POST',
      headers: { origin, 'content-type': 'application/json', 'x-namespace': 'default' },
      body: JSON.stringify(await sealed.json()),
    });
    expect(await opened.json()).toEqual(plain);
  } finally {
    child.kill('SIGINT');
    const code = await exited;
    rmSync(dataDir, { recursive: true, force: true });
    expect(code).toBe(0);
  }
});
