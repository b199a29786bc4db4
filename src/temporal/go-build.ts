/**
 * Builds a Go program for the project (the Temporal CLI; the cluster's server, SQL tool and UI) into a
 * per-user cache, with progress, atomically: a build killed half-way never leaves a broken binary where the
 * cache looks. These machines reach the Go module proxy but no download site, so Go is how Temporal's
 * binaries arrive.
 */
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const MIN_GO = [1, 25] as const;

export class GoBuildError extends Error {
  override name = 'GoBuildError';
}

export function isExecutableFile(p: string): boolean {
  try {
    if (!statSync(p).isFile()) return false;
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function findOnPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

export function cacheRootFor(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_CACHE_HOME || path.join(env.HOME || os.homedir(), '.cache');
  return path.join(base, 'oasis-alma-rto');
}

/** Parses `go version go1.26.8 linux/amd64` → [1, 26]. */
export function parseGoVersion(output: string): [number, number] | undefined {
  const m = /go(\d+)\.(\d+)/.exec(output);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

export function findGo(
  env: NodeJS.ProcessEnv,
  fallbacks: string[] = ['/usr/local/go/bin/go'],
): string | undefined {
  return findOnPath('go', env) ?? fallbacks.find(isExecutableFile);
}

/** Go on PATH (or its usual place), at least MIN_GO; `hint` says what else the user can do. */
export function requireGo(env: NodeJS.ProcessEnv, hint: string, fallbacks?: string[]): string {
  const go = findGo(env, fallbacks);
  if (!go) throw new GoBuildError(`There is no Go toolchain to build with. ${hint}`);
  const version = parseGoVersion(spawnSync(go, ['version'], { encoding: 'utf8', env }).stdout ?? '');
  if (!version || version[0] < MIN_GO[0] || (version[0] === MIN_GO[0] && version[1] < MIN_GO[1]))
    throw new GoBuildError(
      `Go at ${go} is ${version ? version.join('.') : 'of unknown version'}; the build needs Go >= ${MIN_GO.join('.')}. ${hint}`,
    );
  return go;
}

export interface GoRun {
  go: string;
  args: string[];
  cwd?: string;
  env: NodeJS.ProcessEnv;
  /** What is being built, for progress lines ("the Temporal server v1.30.1"). */
  label: string;
  log: (line: string) => void;
}

/** Runs one go command, logging progress every 20 s; rejects with the tail of Go's output. */
export function runGo(run: GoRun): Promise<void> {
  const started = Date.now();
  return new Promise<void>((resolve, reject) => {
    const child = spawn(run.go, run.args, {
      cwd: run.cwd,
      env: { ...run.env, GOFLAGS: run.env.GOFLAGS ?? '-mod=mod' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let downloads = 0;
    let tail = '';
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      downloads += (text.match(/go: downloading/g) ?? []).length;
      tail = (tail + text).slice(-4000);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const tick = setInterval(() => {
      run.log(
        `  ... still building ${run.label} (${Math.round((Date.now() - started) / 1000)} s, ${downloads} modules downloaded)`,
      );
    }, 20_000);
    child.on('error', (e) => {
      clearInterval(tick);
      reject(new GoBuildError(`could not run ${run.go}: ${e.message}`));
    });
    child.on('close', (code) => {
      clearInterval(tick);
      if (code === 0) resolve();
      else reject(new GoBuildError(`go ${run.args.join(' ')} failed (exit ${code}):\n${tail}`));
    });
  });
}

/**
 * `go install module@version` into a temporary GOBIN beside `target`, then renamed onto it. `binaryName` is
 * the name go gives the program (the last element of the package path).
 */
export async function goInstallInto(o: {
  go: string;
  pkg: string;
  version: string;
  binaryName: string;
  target: string;
  env: NodeJS.ProcessEnv;
  label: string;
  log: (line: string) => void;
}): Promise<void> {
  const tmpBin = `${o.target}.build-${process.pid}`;
  mkdirSync(tmpBin, { recursive: true });
  try {
    await runGo({
      go: o.go,
      args: ['install', `${o.pkg}@${o.version}`],
      env: { ...o.env, GOBIN: tmpBin },
      label: o.label,
      log: o.log,
    });
    const built = path.join(tmpBin, o.binaryName);
    if (!isExecutableFile(built))
      throw new GoBuildError(`go install succeeded but wrote no executable at ${built}`);
    mkdirSync(path.dirname(o.target), { recursive: true });
    renameSync(built, o.target);
  } finally {
    rmSync(tmpBin, { recursive: true, force: true });
  }
}
