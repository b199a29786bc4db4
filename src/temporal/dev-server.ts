/**
 * Starts the Temporal CLI's dev server as a child process and waits until it answers (however long a cold
 * start on a loaded 2-core machine takes), with the project's search attributes registered.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../order/search-attributes';

export interface DevServerOptions {
  binary: string;
  ip?: string;
  port?: number; // 0 = a free port
  uiPort?: number; // 0 = a free port
  headless?: boolean;
  /** SQLite file: state survives a restart. Without it the server keeps everything in memory. */
  dbFile?: string;
  namespace?: string;
  /** The codec server the web UI decodes payloads through (`--ui-codec-endpoint`). */
  uiCodecEndpoint?: string;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  startTimeoutMs?: number;
  onOutput?: (line: string) => void;
}

export interface DevServer {
  address: string;
  uiUrl?: string;
  pid: number;
  stop(): Promise<void>;
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export function devServerArgs(
  o: Required<Pick<DevServerOptions, 'ip' | 'port' | 'namespace' | 'logLevel'>> &
    DevServerOptions & { uiPort: number },
): string[] {
  const args = [
    'server',
    'start-dev',
    '--ip',
    o.ip,
    '--port',
    String(o.port),
    '--namespace',
    o.namespace,
    '--log-level',
    o.logLevel,
  ];
  if (o.headless) args.push('--headless');
  else args.push('--ui-port', String(o.uiPort), '--ui-ip', o.ip);
  if (!o.headless && o.uiCodecEndpoint) args.push('--ui-codec-endpoint', o.uiCodecEndpoint);
  if (o.dbFile) args.push('--db-filename', o.dbFile);
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES))
    args.push('--search-attribute', `${name}=${type}`);
  return args;
}

async function waitUntilServing(
  address: string,
  child: ChildProcess,
  timeoutMs: number,
  output: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(
        `the Temporal dev server exited with code ${child.exitCode} before it was ready:\n${output()}`,
      );
    }
    try {
      const conn = await Connection.connect({ address, connectTimeout: 2000 });
      try {
        await conn.workflowService.getSystemInfo({});
        return;
      } finally {
        await conn.close();
      }
    } catch (e) {
      lastError = (e as Error).message;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(
    `the Temporal dev server at ${address} did not answer within ${timeoutMs} ms (${lastError}):\n${output()}`,
  );
}

export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  const ip = opts.ip ?? '127.0.0.1';
  const port = opts.port || (await freePort(ip));
  const uiPort = opts.uiPort || (opts.headless ? 0 : await freePort(ip));
  if (opts.dbFile) mkdirSync(path.dirname(opts.dbFile), { recursive: true });
  const args = devServerArgs({
    ...opts,
    ip,
    port,
    uiPort,
    namespace: opts.namespace ?? 'default',
    logLevel: opts.logLevel ?? 'warn',
  });
  const child = spawn(opts.binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const collect = (chunk: Buffer) => {
    const text = chunk.toString();
    out = (out + text).slice(-8000);
    if (opts.onOutput) for (const line of text.split('\n')) if (line.trim()) opts.onOutput(line);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const address = `${ip}:${port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await waitUntilServing(address, child, opts.startTimeoutMs ?? 180_000, () => out);
  } catch (e) {
    await stop();
    throw e;
  }
  return { address, uiUrl: opts.headless ? undefined : `http://${ip}:${uiPort}`, pid: child.pid!, stop };
}
