/**
 * The cluster's child processes: each writes to a log file of its own in the cluster's folder (what to read
 * when a part fails), is waited for until it answers, and is stopped gently (SIGTERM, then SIGKILL after a
 * grace period) or killed outright (the chaos test's machine that dies).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

export interface Managed {
  name: string;
  child: ChildProcess;
  logFile: string;
  /** Resolves with the exit code (null after a signal) once the process has exited. */
  exited: Promise<number | null>;
  running(): boolean;
  stop(graceMs?: number): Promise<void>;
  kill(): Promise<void>;
}

export function logTail(file: string, chars = 3000): string {
  try {
    const text = readFileSync(file, 'utf8');
    return text.slice(-chars);
  } catch {
    return '';
  }
}

export function spawnManaged(
  name: string,
  command: string,
  args: string[],
  o: { env: NodeJS.ProcessEnv; cwd?: string; logFile: string },
): Managed {
  const fd = openSync(o.logFile, 'a');
  const child = spawn(command, args, { env: o.env, cwd: o.cwd, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  let alive = true;
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      alive = false;
      resolve(code);
    });
    child.once('error', () => {
      alive = false;
      resolve(-1);
    });
  });
  const stop = async (graceMs = 15_000) => {
    if (!alive) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  const kill = async () => {
    if (!alive) return;
    child.kill('SIGKILL');
    await exited;
  };
  return { name, child, logFile: o.logFile, exited, running: () => alive, stop, kill };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it holds; fails at once, with the log's tail, if the process exits first. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  o: { timeoutMs: number; process?: Managed; intervalMs?: number },
): Promise<void> {
  const until = Date.now() + o.timeoutMs;
  for (;;) {
    if (o.process && !o.process.running())
      throw new Error(
        `${o.process.name} exited while waiting for ${what}; the end of ${o.process.logFile}:\n${logTail(o.process.logFile)}`,
      );
    if (await check().catch(() => false)) return;
    if (Date.now() > until)
      throw new Error(
        `${what}: not ready in ${Math.round(o.timeoutMs / 1000)} s` +
          (o.process ? `; the end of ${o.process.logFile}:\n${logTail(o.process.logFile)}` : ''),
      );
    await sleep(o.intervalMs ?? 500);
  }
}

/** Runs a command to its end, its output into the log file; rejects with the log's tail on failure. */
export function runLogged(
  command: string,
  args: string[],
  o: { env: NodeJS.ProcessEnv; cwd?: string; logFile: string },
): Promise<void> {
  const m = spawnManaged(command, command, args, o);
  return m.exited.then((code) => {
    if (code !== 0)
      throw new Error(
        `${command} ${args.join(' ')} failed (exit ${code}); the end of ${o.logFile}:\n${logTail(o.logFile)}`,
      );
  });
}
