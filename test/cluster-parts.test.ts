/**
 * The parts of `npm run cluster` that can be checked without running it (the chaos run, `npm run
 * test:cluster`, runs the whole): versions taken from the compose file, the server's configuration, the
 * certificates, and where PostgreSQL's programs are found.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { composeVersions } from '../src/cluster/binaries';
import { ensureClusterPki } from '../src/cluster/pki';
import { findPostgresBin } from '../src/cluster/postgres';
import { chooseServerPorts, temporalServerConfig } from '../src/cluster/server-config';

const ROOT = path.join(__dirname, '..');

interface Sql {
  pluginName: string;
  connectAddr: string;
  databaseName: string;
}
interface ServerConfigView {
  global: {
    tls: {
      frontend: { server: Record<string, unknown> };
      systemWorker: { certFile: string; client: { rootCaFiles: string[] } };
    };
  };
  persistence: { datastores: { default: { sql: Sql }; visibility: { sql: Sql } } };
  services: Record<string, { rpc: { bindOnLocalHost: boolean; grpcPort: number } }>;
  clusterMetadata: { clusterInformation: { active: { rpcAddress: string } } };
}
let tmp: string;
beforeAll(() => (tmp = mkdtempSync(path.join(os.tmpdir(), 'rto-cluster-parts-'))));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

test('the versions are the ones docker-compose.yml pins for the server and UI images', () => {
  expect(composeVersions(path.join(ROOT, 'docker-compose.yml'))).toEqual({
    server: expect.stringMatching(/^v1\.\d+\.\d+$/),
    ui: expect.stringMatching(/^v2\.\d+\.\d+$/),
  });
  const other = path.join(tmp, 'compose.yml');
  writeFileSync(
    other,
    'services:\n  t:\n    image: temporalio/server:1.31.0\n  u:\n    image: temporalio/ui:2.40.1\n',
  );
  expect(composeVersions(other)).toEqual({ server: 'v1.31.0', ui: 'v2.40.1' });
  writeFileSync(other, 'services:\n  t:\n    image: temporalio/auto-setup:latest\n');
  expect(() => composeVersions(other)).toThrow(/pins no temporalio\/server:X\.Y\.Z image/);
});

test('membership ports stay below 32768 (the server stores them as smallint) and no port is used twice', async () => {
  const p = await chooseServerPorts();
  const all = [
    p.frontend,
    p.frontendHttp,
    p.history,
    p.matching,
    p.worker,
    p.metrics,
    ...Object.values(p.membership),
  ];
  expect(new Set(all).size).toBe(all.length);
  for (const m of Object.values(p.membership)) expect(m).toBeLessThan(32768);
});

test('the server requires a client certificate from the CA, of its own system worker too, and listens on loopback', async () => {
  const pki = ensureClusterPki(path.join(tmp, 'pki'));
  const ports = await chooseServerPorts(7999);
  const c = temporalServerConfig({
    ports,
    pki,
    postgres: { port: 5999, user: 'temporal', password: 'pw' },
    dynamicConfigFile: '/dyn.yaml',
    historyShards: 4,
    logLevel: 'warn',
  }) as unknown as ServerConfigView;
  expect(c.global.tls.frontend.server).toEqual({
    requireClientAuth: true,
    certFile: pki.serverCert,
    keyFile: pki.serverKey,
    clientCaFiles: [pki.caCert],
  });
  expect(c.global.tls.systemWorker.certFile).toBe(pki.serverCert);
  expect(c.global.tls.systemWorker.client.rootCaFiles).toEqual([pki.caCert]);
  expect(c.persistence.datastores.default.sql).toMatchObject({
    pluginName: 'postgres12',
    connectAddr: '127.0.0.1:5999',
  });
  expect(c.persistence.datastores.visibility.sql.databaseName).toBe('temporal_visibility');
  for (const s of Object.values(c.services)) expect(s.rpc.bindOnLocalHost).toBe(true);
  expect(c.services.frontend!.rpc.grpcPort).toBe(7999);
  expect(c.clusterMetadata.clusterInformation.active.rpcAddress).toBe('localhost:7999');
});

test('the certificates chain to the CA, name localhost, and are reused while valid', () => {
  const dir = path.join(tmp, 'pki2');
  const pki = ensureClusterPki(dir);
  for (const cert of [pki.serverCert, pki.clientCert])
    expect(execFileSync('openssl', ['verify', '-CAfile', pki.caCert, cert], { encoding: 'utf8' })).toContain(
      ': OK',
    );
  const server = execFileSync('openssl', ['x509', '-in', pki.serverCert, '-noout', '-text'], {
    encoding: 'utf8',
  });
  expect(server).toMatch(/DNS:localhost/);
  expect(server).toMatch(/TLS Web Server Authentication/);
  expect(statSync(pki.clientKey).mode & 0o077).toBe(0);
  const before = statSync(pki.caCert).mtimeMs;
  ensureClusterPki(dir);
  expect(statSync(pki.caCert).mtimeMs).toBe(before);
});

test('PostgreSQL’s server programs are found, or the error says what to install', () => {
  let found: string | undefined;
  try {
    found = findPostgresBin();
  } catch (e) {
    expect((e as Error).message).toMatch(/apt-get install postgresql/);
  }
  if (found) expect(statSync(path.join(found, 'initdb')).isFile()).toBe(true);
});
