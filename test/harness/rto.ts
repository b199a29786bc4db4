/** Runs the real `rto` command line in a child process against a test system, as people and scripts do. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { TestSystem } from './system';
import { testAddress } from './temporal';

const RTO = path.join(__dirname, '..', '..', 'bin', 'rto.js');

export interface Ran {
  code: number | null;
  /** The signal that ended the child, if one did (then `code` is null). */
  signal?: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** `rto args...` with the system's task queue, data dir and a configuration file the workers also use. */
export function runRto(
  ctx: { sys: TestSystem; configFile: string; cwd: string },
  args: string[],
  opts: { stdin?: string; env?: Record<string, string> } = {},
): Promise<Ran> {
  return startRto(ctx, args, opts).done;
}

/** Like `runRto`, with the child at hand (to send it a signal); `done` resolves when it has exited. */
export function startRto(
  ctx: { sys: TestSystem; configFile: string; cwd: string },
  args: string[],
  opts: { stdin?: string; env?: Record<string, string> } = {},
): { child: ChildProcess; done: Promise<Ran> } {
  const child = spawn(process.execPath, [RTO, ...args], {
    cwd: ctx.cwd,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TEMPORAL_ADDRESS: testAddress(),
      RTO_TASK_QUEUE: ctx.sys.taskQueue,
      RTO_CONFIG: ctx.configFile,
      RTO_DATA_DIR: ctx.sys.dataDir,
      LOG_LEVEL: 'silent',
      ...opts.env,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const done = new Promise<Ran>((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  child.stdin!.end(opts.stdin ?? '');
  return { child, done };
}

/** stdout as the one JSON value `--json` promises (fails the test with the child's output otherwise). */
export function json<T = Record<string, unknown>>(r: Ran): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`stdout is not one JSON value (exit ${r.code}):\n${r.stdout}\nstderr:\n${r.stderr}`);
  }
}

export interface RunningStart {
  child: ChildProcess;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  exited: Promise<number | null>;
}

/** `rto start` on its defaults in a child process, resolved once it says it is running (or rejected if it exits). */
export async function spawnRtoStart(env: NodeJS.ProcessEnv): Promise<RunningStart> {
  const child = spawn(process.execPath, [RTO, 'start'], {
    cwd: path.join(__dirname, '..', '..'),
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const running: RunningStart = { child, output: () => out, exited };
  await new Promise<void>((resolve, reject) => {
    const tick = setInterval(() => {
      if (out.includes('Ctrl-C stops everything.')) {
        clearInterval(tick);
        resolve();
      }
    }, 200);
    void exited.then(() => {
      clearInterval(tick);
      reject(new Error(`rto start exited:\n${out}`));
    });
  });
  return running;
}
