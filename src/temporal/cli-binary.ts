/**
 * Finds a Temporal CLI (which embeds the dev server), or builds one with Go. The SDK's own download of the
 * dev server cannot work on machines without internet, so the project obtains it, in this order:
 * TEMPORAL_CLI, `temporal` on PATH, a cached build, a fresh `go install` into the per-user cache.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import {
  cacheRootFor,
  findGo,
  findOnPath,
  goInstallInto,
  GoBuildError,
  isExecutableFile,
  MIN_GO,
  parseGoVersion,
  requireGo,
} from './go-build';

export { cacheRootFor, findGo, MIN_GO, parseGoVersion };

/** The one place the CLI version is pinned (the newest tag whose go.mod can be `go install`ed). */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';
export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';

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

export function cachedBinaryPath(cacheRoot: string): string {
  return path.join(cacheRoot, 'temporal', TEMPORAL_CLI_VERSION, 'temporal');
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
  const target = cachedBinaryPath(opts.cacheRoot ?? cacheRootFor(env));
  const started = Date.now();
  try {
    const go = requireGo(env, INSTALL_HINT, opts.goFallbacks);
    log(
      `Building the Temporal CLI ${TEMPORAL_CLI_VERSION} with ${go} into ${path.dirname(target)} (first time only: several minutes)...`,
    );
    await goInstallInto({
      go,
      pkg: TEMPORAL_CLI_MODULE,
      version: TEMPORAL_CLI_VERSION,
      binaryName: 'temporal',
      target,
      env,
      label: 'the Temporal CLI',
      log,
    });
  } catch (e) {
    if (e instanceof GoBuildError) {
      const noGo = e.message.startsWith('There is no Go toolchain');
      throw new TemporalCliError(
        noGo
          ? `No Temporal CLI was found and there is no Go toolchain to build one. ${INSTALL_HINT}`
          : e.message,
      );
    }
    throw e;
  }
  log(`Built the Temporal CLI in ${Math.round((Date.now() - started) / 1000)} s: ${target}`);
  return { path: target, source: 'built' };
}
