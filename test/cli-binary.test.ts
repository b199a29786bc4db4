/**
 * How the project finds or builds the Temporal CLI: real files and real shell scripts in a temp dir stand in
 * for the CLI and for Go, so every branch runs without the network or a real Go toolchain.
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import {
  MIN_GO,
  TEMPORAL_CLI_MODULE,
  TEMPORAL_CLI_VERSION,
  TemporalCliError,
  cachedBinaryPath,
  findTemporalCli,
  parseGoVersion,
  resolveTemporalCli,
} from '../src/temporal/cli-binary';

let tmp: string;
const quiet = () => undefined;

beforeEach(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'rto-cli-binary-'));
});

afterEach(() => {
  rmSync(tmp, { recursive: true, force: true });
});

/** Writes a shell script; executable unless told otherwise. */
function script(file: string, body: string, executable = true): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, executable ? 0o755 : 0o644);
  return file;
}

/** An environment that finds nothing by itself: empty PATH, caches under the temp dir. */
function bareEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { PATH: '', HOME: tmp, XDG_CACHE_HOME: path.join(tmp, 'xdg'), ...extra };
}

/**
 * A fake `go`: `go version` prints `version`, `go install` runs `install` (a shell snippet). Every call's
 * arguments and GOBIN are appended to calls.log so the test sees what the project asked Go to do.
 */
function fakeGo(dir: string, version: string, install: string): string {
  const log = path.join(dir, 'calls.log');
  return script(
    path.join(dir, 'go'),
    [
      'PATH=/usr/bin:/bin',
      `echo "$* GOBIN=$GOBIN GOFLAGS=$GOFLAGS" >> '${log}'`,
      `if [ "$1" = version ]; then echo '${version}'; exit 0; fi`,
      `if [ "$1" = install ]; then ${install}; fi`,
      'exit 3',
    ].join('\n'),
  );
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected the promise to reject');
}

describe('parseGoVersion', () => {
  test.each([
    ['go version go1.26.8 linux/amd64', [1, 26]],
    ['go version go1.25 darwin/arm64', [1, 25]],
    ['go version go1.21.0 linux/amd64', [1, 21]],
    ['go version go1.26rc1 linux/amd64', [1, 26]],
    ['go version devel go1.27-abcdef linux/amd64', [1, 27]],
  ])('%s', (out, expected) => {
    expect(parseGoVersion(out)).toEqual(expected);
  });

  test('output that is not a Go version gives undefined', () => {
    expect(parseGoVersion('')).toBeUndefined();
    expect(parseGoVersion('sh: go: not found')).toBeUndefined();
  });
});

describe('an existing Temporal CLI', () => {
  test('TEMPORAL_CLI naming an executable wins over PATH and the cache', async () => {
    const cli = script(path.join(tmp, 'bin', 'my-temporal'), 'echo env');
    const onPath = script(path.join(tmp, 'pathdir', 'temporal'), 'echo path');
    const cacheRoot = path.join(tmp, 'cache');
    script(cachedBinaryPath(cacheRoot), 'echo cache');
    const env = bareEnv({ TEMPORAL_CLI: cli, PATH: path.dirname(onPath) });
    expect(findTemporalCli({ env, cacheRoot })).toEqual({ path: cli, source: 'env' });
    await expect(resolveTemporalCli({ env, cacheRoot, goFallbacks: [], log: quiet })).resolves.toEqual({
      path: cli,
      source: 'env',
    });
  });

  test('TEMPORAL_CLI naming a missing file is an error naming the path', async () => {
    const missing = path.join(tmp, 'nowhere', 'temporal');
    const env = bareEnv({ TEMPORAL_CLI: missing });
    expect(() => findTemporalCli({ env, cacheRoot: tmp })).toThrow(TemporalCliError);
    const err = await rejection(resolveTemporalCli({ env, cacheRoot: tmp, goFallbacks: [], log: quiet }));
    expect(err).toBeInstanceOf(TemporalCliError);
    expect(err.message).toContain(missing);
    expect(err.message).toMatch(/no file/);
  });

  test('TEMPORAL_CLI naming a file that is not executable is an error', () => {
    const plain = script(path.join(tmp, 'temporal'), 'echo hi', false);
    const env = bareEnv({ TEMPORAL_CLI: plain });
    expect(() => findTemporalCli({ env, cacheRoot: tmp })).toThrow(/not an executable file/);
    // A directory is not an executable file either.
    expect(() => findTemporalCli({ env: bareEnv({ TEMPORAL_CLI: tmp }), cacheRoot: tmp })).toThrow(
      TemporalCliError,
    );
  });

  test('`temporal` on PATH is found, skipping empty entries and non-executable candidates', () => {
    const notExec = script(path.join(tmp, 'first', 'temporal'), 'echo no', false);
    const onPath = script(path.join(tmp, 'second', 'temporal'), 'echo yes');
    const env = bareEnv({ PATH: ['', path.dirname(notExec), path.dirname(onPath)].join(path.delimiter) });
    expect(findTemporalCli({ env, cacheRoot: path.join(tmp, 'cache') })).toEqual({
      path: onPath,
      source: 'path',
    });
  });

  test('a cached build is used when nothing else is there', async () => {
    const cacheRoot = path.join(tmp, 'cache');
    const cached = script(cachedBinaryPath(cacheRoot), 'echo cached');
    expect(cached).toBe(path.join(cacheRoot, 'temporal', TEMPORAL_CLI_VERSION, 'temporal'));
    await expect(
      resolveTemporalCli({ env: bareEnv(), cacheRoot, goFallbacks: [], log: quiet }),
    ).resolves.toEqual({
      path: cached,
      source: 'cache',
    });
  });

  test('without cacheRoot the cache is under XDG_CACHE_HOME', () => {
    const env = bareEnv();
    const cached = script(cachedBinaryPath(path.join(env.XDG_CACHE_HOME!, 'oasis-alma-rto')), 'echo cached');
    expect(findTemporalCli({ env })).toEqual({ path: cached, source: 'cache' });
  });

  test('nothing found and nothing to build with: findTemporalCli gives undefined', () => {
    expect(findTemporalCli({ env: bareEnv(), cacheRoot: path.join(tmp, 'cache') })).toBeUndefined();
  });
});

describe('building the CLI with Go', () => {
  test('no CLI and no Go: the error says what to install', async () => {
    const err = await rejection(
      resolveTemporalCli({ env: bareEnv(), cacheRoot: path.join(tmp, 'cache'), goFallbacks: [], log: quiet }),
    );
    expect(err).toBeInstanceOf(TemporalCliError);
    expect(err.message).toContain(`Install Go ${MIN_GO.join('.')} or newer`);
    expect(err.message).toContain('install the Temporal CLI');
    expect(err.message).toContain('TEMPORAL_CLI');
  });

  test('a Go older than 1.25 is refused, naming its version', async () => {
    const dir = path.join(tmp, 'go-old');
    const go = fakeGo(dir, 'go version go1.21.0 linux/amd64', 'exit 0');
    const err = await rejection(
      resolveTemporalCli({
        env: bareEnv({ PATH: dir }),
        cacheRoot: path.join(tmp, 'cache'),
        goFallbacks: [],
        log: quiet,
      }),
    );
    expect(err).toBeInstanceOf(TemporalCliError);
    expect(err.message).toContain(go);
    expect(err.message).toContain('1.21');
    expect(err.message).toContain('Go >= 1.25');
    // Only `go version` ran: nothing was installed.
    expect(readFileSync(path.join(dir, 'calls.log'), 'utf8').trim().split('\n')).toEqual([
      expect.stringMatching(/^version /),
    ]);
  });

  test('Go found through a fallback path, printing something unparseable, is refused', async () => {
    const dir = path.join(tmp, 'go-odd');
    const go = fakeGo(dir, 'not go at all', 'exit 0');
    const err = await rejection(
      resolveTemporalCli({
        env: bareEnv(),
        cacheRoot: path.join(tmp, 'cache'),
        goFallbacks: [go],
        log: quiet,
      }),
    );
    expect(err.message).toContain('of unknown version');
  });

  test('a new enough Go builds into the cache: installed into a temp GOBIN, then renamed into place', async () => {
    const dir = path.join(tmp, 'go-new');
    fakeGo(
      dir,
      'go version go1.26.0 linux/amd64',
      `printf '#!/bin/sh\\necho built-temporal\\n' > "$GOBIN/temporal"; chmod 755 "$GOBIN/temporal"; exit 0`,
    );
    const cacheRoot = path.join(tmp, 'cache');
    const lines: string[] = [];
    const cli = await resolveTemporalCli({
      env: bareEnv({ PATH: dir }),
      cacheRoot,
      goFallbacks: [],
      log: (l) => lines.push(l),
    });
    const target = cachedBinaryPath(cacheRoot);
    expect(cli).toEqual({ path: target, source: 'built' });
    expect(execFileSync(target, { encoding: 'utf8' }).trim()).toBe('built-temporal');
    expect(statSync(target).mode & 0o111).not.toBe(0);

    // Go was asked for the pinned module, into a GOBIN beside the cache (the same file system, so the
    // rename is atomic), which is gone afterwards.
    const calls = readFileSync(path.join(dir, 'calls.log'), 'utf8').trim().split('\n');
    const install = calls.find((c) => c.startsWith('install '))!;
    expect(install).toContain(`${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}`);
    const gobin = /GOBIN=(\S+)/.exec(install)![1]!;
    expect(gobin).not.toBe(path.dirname(target));
    expect(path.dirname(gobin)).toBe(path.dirname(target));
    expect(install).toContain('GOFLAGS=-mod=mod');
    expect(existsSync(gobin)).toBe(false);
    expect(lines.some((l) => l.includes('Building the Temporal CLI'))).toBe(true);

    // The next resolution finds the build in the cache without running Go again.
    await expect(
      resolveTemporalCli({ env: bareEnv({ PATH: dir }), cacheRoot, goFallbacks: [], log: quiet }),
    ).resolves.toEqual({
      path: target,
      source: 'cache',
    });
    expect(readFileSync(path.join(dir, 'calls.log'), 'utf8').trim().split('\n')).toHaveLength(calls.length);
  });

  test('a failing go install is an error carrying its output, and leaves nothing in the cache', async () => {
    const dir = path.join(tmp, 'go-fail');
    fakeGo(
      dir,
      'go version go1.26.1 linux/amd64',
      `echo 'go: downloading example.com/x v1.0.0'; echo 'module lookup disabled by GOPROXY=off' >&2; exit 1`,
    );
    const cacheRoot = path.join(tmp, 'cache');
    const err = await rejection(
      resolveTemporalCli({ env: bareEnv({ PATH: dir }), cacheRoot, goFallbacks: [], log: quiet }),
    );
    expect(err).toBeInstanceOf(TemporalCliError);
    expect(err.message).toContain('exit 1');
    expect(err.message).toContain('module lookup disabled by GOPROXY=off');
    expect(existsSync(cachedBinaryPath(cacheRoot))).toBe(false);
    const gobin = /GOBIN=(\S+)/.exec(readFileSync(path.join(dir, 'calls.log'), 'utf8'))![1]!;
    expect(existsSync(gobin)).toBe(false);
  });

  test('a go install that succeeds without writing the binary is a TemporalCliError', async () => {
    const dir = path.join(tmp, 'go-empty');
    fakeGo(dir, 'go version go1.26.1 linux/amd64', 'exit 0');
    const cacheRoot = path.join(tmp, 'cache');
    const err = await rejection(
      resolveTemporalCli({ env: bareEnv({ PATH: dir }), cacheRoot, goFallbacks: [], log: quiet }),
    );
    expect(err).toBeInstanceOf(TemporalCliError);
    expect(existsSync(cachedBinaryPath(cacheRoot))).toBe(false);
  });
});
