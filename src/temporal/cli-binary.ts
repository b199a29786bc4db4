/**
 * Finds a Temporal CLI (which embeds the dev server), or builds one with Go. The SDK's own download of the
 * dev server cannot work on machines without internet, so the project obtains it, in this order:
 * TEMPORAL_CLI, `temporal` on PATH, a cached build, a fresh `go install` into the per-user cache.
 */
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The one place the CLI version is pinned (the newest tag whose go.mod can be `go install`ed). */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';
export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';
export const MIN_GO = [1, 25] as const;

export type CliSource = 'env' | 'path' | 'cache' | 'built';

export interface ResolveOptions {
  env?: NodeJS.ProcessEnv;
  /** Where builds are cached; default `$XDG_CACHE_HOME/oasis-alma-rto` or `~/.cache/oasis-alma-rto`. */
  cacheRoot?: string;
  /** Where to look for Go besides PATH. */
  goFallbacks?: string[];
  /** Progress lines (the first build takes minutes). */
  log?: (line: string) => void;
}

export class TemporalCliError extends Error {
  override name = 'TemporalCliError';
}

function isExecutableFile(p: string): boolean {
  try {
    if (!statSync(p).isFile()) return false;
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function findOnPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
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

export function cachedBinaryPath(cacheRoot: string): string {
  return path.join(cacheRoot, 'temporal', TEMPORAL_CLI_VERSION, 'temporal');
}

/** Parses `go version go1.26.8 linux/amd64` → [1, 26]. */
export function parseGoVersion(output: string): [number, number] | undefined {
  const m = /go(\d+)\.(\d+)/.exec(output);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

export function findGo(env: NodeJS.ProcessEnv, fallbacks: string[]): string | undefined {
  return findOnPath('go', env) ?? fallbacks.find(isExecutableFile);
}

const INSTALL_HINT =
  `Install Go ${MIN_GO.join('.')} or newer (https://go.dev/dl/; the project builds ${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION} with it), ` +
  'or install the Temporal CLI (https://docs.temporal.io/cli) and put `temporal` on PATH, ' +
  'or set TEMPORAL_CLI=/path/to/temporal.';

/** Resolves without building: returns undefined when a build would be needed. */
export function findTemporalCli(opts: ResolveOptions = {}): { path: string; source: CliSource } | undefined {
  const env = opts.env ?? process.env;
  if (env.TEMPORAL_CLI) {
    const p = path.resolve(env.TEMPORAL_CLI);
    if (!existsSync(p)) throw new TemporalCliError(`TEMPORAL_CLI is set to ${p}, but no file is there.`);
    if (!isExecutableFile(p))
      throw new TemporalCliError(`TEMPORAL_CLI is set to ${p}, but it is not an executable file.`);
    return { path: p, source: 'env' };
  }
  const onPath = findOnPath('temporal', env);
  if (onPath) return { path: onPath, source: 'path' };
  const cached = cachedBinaryPath(opts.cacheRoot ?? cacheRootFor(env));
  if (isExecutableFile(cached)) return { path: cached, source: 'cache' };
  return undefined;
}

/** Resolves the CLI, building it with Go into the per-user cache when nothing else is there. */
export async function resolveTemporalCli(
  opts: ResolveOptions = {},
): Promise<{ path: string; source: CliSource }> {
  const found = findTemporalCli(opts);
  if (found) return found;
  const env = opts.env ?? process.env;
  const log = opts.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const go = findGo(env, opts.goFallbacks ?? ['/usr/local/go/bin/go']);
  if (!go)
    throw new TemporalCliError(
      `No Temporal CLI was found and there is no Go toolchain to build one. ${INSTALL_HINT}`,
    );
  const versionOut = spawnSync(go, ['version'], { encoding: 'utf8', env });
  const version = parseGoVersion(versionOut.stdout ?? '');
  if (!version || version[0] < MIN_GO[0] || (version[0] === MIN_GO[0] && version[1] < MIN_GO[1])) {
    throw new TemporalCliError(
      `Go at ${go} is ${version ? version.join('.') : 'of unknown version'}; building the Temporal CLI needs Go >= ${MIN_GO.join('.')}. ${INSTALL_HINT}`,
    );
  }
  const target = cachedBinaryPath(opts.cacheRoot ?? cacheRootFor(env));
  const tmpBin = `${path.dirname(target)}.build-${process.pid}`;
  mkdirSync(tmpBin, { recursive: true });
  log(
    `Building the Temporal CLI ${TEMPORAL_CLI_VERSION} with ${go} into ${path.dirname(target)} (first time only: several minutes)...`,
  );
  const started = Date.now();
  try {
    await buildInto(go, tmpBin, env, log, started);
    const built = path.join(tmpBin, 'temporal');
    if (!isExecutableFile(built))
      throw new TemporalCliError(`go install succeeded but wrote no executable at ${built}`);
    mkdirSync(path.dirname(target), { recursive: true });
    // Rename is atomic: a build killed half-way never leaves a broken binary where the cache looks.
    renameSync(built, target);
  } finally {
    // A failed build must not leave its temp GOBIN behind in the cache.
    rmSync(tmpBin, { recursive: true, force: true });
  }
  log(`Built the Temporal CLI in ${Math.round((Date.now() - started) / 1000)} s: ${target}`);
  return { path: target, source: 'built' };
}

/** Runs `go install` of the pinned CLI into `gobin`, logging progress; rejects with the tail of Go's output. */
function buildInto(
  go: string,
  gobin: string,
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
  started: number,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const child = spawn(go, ['install', `${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}`], {
      env: { ...env, GOBIN: gobin, GOFLAGS: env.GOFLAGS ?? '-mod=mod' },
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
      log(
        `  ... still building the Temporal CLI (${Math.round((Date.now() - started) / 1000)} s, ${downloads} modules downloaded)`,
      );
    }, 20_000);
    child.on('error', (e) => {
      clearInterval(tick);
      reject(new TemporalCliError(`could not run ${go}: ${e.message}`));
    });
    child.on('close', (code) => {
      clearInterval(tick);
      if (code === 0) resolve();
      else
        reject(
          new TemporalCliError(
            `go install ${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION} failed (exit ${code}):\n${tail}`,
          ),
        );
    });
  });
}
