/**
 * The cluster's certificates, made with openssl (Node can verify certificates but not issue them): one CA
 * that signs the frontend's server certificate (also used by the server's own system worker as its client
 * certificate: the frontend requires one of every caller) and the client certificate the project's
 * processes present. Kept in the cluster's folder and reused while they are valid for another day.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface ClusterPki {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

function validForADay(dir: string, cert: string): boolean {
  return (
    existsSync(path.join(dir, cert)) &&
    spawnSync('openssl', ['x509', '-checkend', '86400', '-noout', '-in', cert], { cwd: dir }).status === 0
  );
}

/** A self-signed CA `<name>.crt` / `<name>.key` in `dir`. Also the test harness's (test/harness/tls.ts). */
export function makeCa(dir: string, name: string, days: number, subject = name): void {
  openssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    String(days),
    '-subj',
    `/CN=${subject}`,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.crt`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
}

/** A certificate `<name>.crt` / `<name>.key` signed by the CA `<ca>.crt`, with the extensions in `ext`. */
export function makeLeaf(dir: string, name: string, ca: string, ext: string, days: number): void {
  openssl(dir, [
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    `/CN=${name}`,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
  ]);
  writeFileSync(path.join(dir, `${name}.ext`), ext);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.crt`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-days',
    String(days),
    '-out',
    `${name}.crt`,
    '-extfile',
    `${name}.ext`,
  ]);
}

export function ensureClusterPki(dir: string, days = 30): ClusterPki {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const all = ['ca.crt', 'server.crt', 'client.crt'];
  if (!all.every((c) => validForADay(dir, c))) {
    makeCa(dir, 'ca', days, 'oasis-alma-rto cluster CA');
    makeLeaf(
      dir,
      'server',
      'ca',
      'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n',
      days,
    );
    makeLeaf(dir, 'client', 'ca', 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n', days);
  }
  const p = (f: string) => path.join(dir, f);
  return {
    dir,
    caCert: p('ca.crt'),
    serverCert: p('server.crt'),
    serverKey: p('server.key'),
    clientCert: p('client.crt'),
    clientKey: p('client.key'),
  };
}
