/**
 * A TLS front for the run's (plain) Temporal dev server, which cannot serve TLS itself (`temporal server
 * start-dev` has no TLS flags): a node:tls server that terminates TLS (optionally requiring a client
 * certificate) and forwards the bytes to the dev server over loopback. Certificates are made with openssl, as for the cluster (src/cluster/pki.ts).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { makeCa as makeCaIn, makeLeaf as makeLeafIn } from '../../src/cluster/pki';

export interface TestPki {
  dir: string;
  /** The CA that signed the server's certificate (what clients must trust). */
  caPath: string;
  /** Another CA: trusting it instead must fail. */
  wrongCaPath: string;
  /** A client certificate and key signed by the client CA the proxy trusts under mTLS. */
  clientCertPath: string;
  clientKeyPath: string;
  serverCert: Buffer;
  serverKey: Buffer;
  clientCa: Buffer;
  cleanup(): void;
}

const makeCa = (dir: string, name: string) => makeCaIn(dir, name, 2);
const makeLeaf = (dir: string, name: string, ca: string, ext: string) => makeLeafIn(dir, name, ca, ext, 2);

export function makeTestPki(): TestPki {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rto-pki-'));
  makeCa(dir, 'server-ca');
  makeCa(dir, 'wrong-ca');
  makeCa(dir, 'client-ca');
  makeLeaf(
    dir,
    'server',
    'server-ca',
    'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n',
  );
  makeLeaf(dir, 'client', 'client-ca', 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n');
  const p = (f: string) => path.join(dir, f);
  return {
    dir,
    caPath: p('server-ca.crt'),
    wrongCaPath: p('wrong-ca.crt'),
    clientCertPath: p('client.crt'),
    clientKeyPath: p('client.key'),
    serverCert: readFileSync(p('server.crt')),
    serverKey: readFileSync(p('server.key')),
    clientCa: readFileSync(p('client-ca.crt')),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface TlsProxy {
  address: string;
  /** TLS handshakes the proxy refused (e.g. no client certificate under mTLS). */
  refused: string[];
  close(): Promise<void>;
}

/** Terminates TLS on a free loopback port and forwards to `target` (host:port, plain). */
export async function startTlsProxy(o: {
  pki: TestPki;
  target: string;
  requireClientCert: boolean;
}): Promise<TlsProxy> {
  const [host, port] = [o.target.slice(0, o.target.lastIndexOf(':')), Number(o.target.split(':').pop())];
  const refused: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = tls.createServer(
    {
      cert: o.pki.serverCert,
      key: o.pki.serverKey,
      ALPNProtocols: ['h2'],
      ...(o.requireClientCert ? { requestCert: true, rejectUnauthorized: true, ca: o.pki.clientCa } : {}),
    },
    (tlsSocket) => {
      const upstream = net.connect(port, host);
      sockets.add(tlsSocket).add(upstream);
      tlsSocket.pipe(upstream).pipe(tlsSocket);
      const end = () => {
        tlsSocket.destroy();
        upstream.destroy();
        sockets.delete(tlsSocket);
        sockets.delete(upstream);
      };
      tlsSocket.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
    },
  );
  server.on('tlsClientError', (e) => refused.push(e.message));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    address: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    refused,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
