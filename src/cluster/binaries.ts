/**
 * The real cluster's programs, built from their Go modules at the versions docker-compose.yml pins (one
 * truth for "the version we run in production"): the Temporal server (`go.temporal.io/server/cmd/server`),
 * its SQL schema tool (`cmd/tools/sql`) with the module's PostgreSQL schemas, and the web UI
 * (`github.com/temporalio/ui-server/v2`, whose go.mod has a `replace`, so it is built inside a copy of its
 * module rather than `go install`ed). Each is cached per version under the per-user cache.
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
} from 'node:fs';
import path from 'node:path';
import { cacheRootFor, goInstallInto, isExecutableFile, requireGo, runGo } from '../temporal/go-build';

export const TEMPORAL_SERVER_MODULE = 'go.temporal.io/server';
export const TEMPORAL_UI_MODULE = 'github.com/temporalio/ui-server/v2';

export interface ClusterVersions {
  server: string;
  ui: string;
}

/** The versions docker-compose.yml pins for the temporalio/server and temporalio/ui images, as Go tags. */
export function composeVersions(composeFile: string): ClusterVersions {
  const text = readFileSync(composeFile, 'utf8');
  const pin = (image: string) => {
    const m = new RegExp(`image:\\s*temporalio/${image}:(\\d+\\.\\d+\\.\\d+)\\b`).exec(text);
    if (!m) throw new Error(`${composeFile} pins no temporalio/${image}:X.Y.Z image`);
    return `v${m[1]}`;
  };
  return { server: pin('server'), ui: pin('ui') };
}

export interface ClusterBinaries {
  versions: ClusterVersions;
  server: string;
  sqlTool: string;
  /** `schema/postgresql/v12` of the server module: what temporal-setup.sh applies. */
  schemaRoot: string;
  /** Undefined when the UI did not build (the cluster runs without it). */
  ui?: string;
  uiProblem?: string;
}

const HINT =
  'Install Go 1.25 or newer (https://go.dev/dl/): `npm run cluster` builds the Temporal server from its Go module.';

function moduleDir(go: string, mod: string, version: string, env: NodeJS.ProcessEnv): string {
  const out = spawnSync(go, ['mod', 'download', '-json', `${mod}@${version}`], { encoding: 'utf8', env });
  const dir = (() => {
    try {
      return (JSON.parse(out.stdout) as { Dir?: string }).Dir;
    } catch {
      return undefined;
    }
  })();
  if (out.status !== 0 || !dir)
    throw new Error(`go mod download ${mod}@${version} failed: ${out.stderr || out.stdout}`);
  return dir;
}

export async function resolveClusterBinaries(o: {
  composeFile: string;
  env?: NodeJS.ProcessEnv;
  cacheRoot?: string;
  withUi?: boolean;
  log: (line: string) => void;
}): Promise<ClusterBinaries> {
  const env = o.env ?? process.env;
  const versions = composeVersions(o.composeFile);
  const root = path.join(o.cacheRoot ?? cacheRootFor(env), 'temporal-server', versions.server);
  const server = path.join(root, 'temporal-server');
  const sqlTool = path.join(root, 'temporal-sql-tool');
  const schemaRoot = path.join(root, 'schema', 'postgresql', 'v12');
  let go: string | undefined;
  const needGo = () => (go ??= requireGo(env, HINT));
  for (const [pkg, target, label] of [
    [`${TEMPORAL_SERVER_MODULE}/cmd/server`, server, `the Temporal server ${versions.server}`],
    [`${TEMPORAL_SERVER_MODULE}/cmd/tools/sql`, sqlTool, `the Temporal SQL tool ${versions.server}`],
  ] as const) {
    if (isExecutableFile(target)) continue;
    const started = Date.now();
    o.log(`Building ${label} with Go into ${root} (first time only: a few minutes)...`);
    await goInstallInto({
      go: needGo(),
      pkg,
      version: versions.server,
      binaryName: path.basename(pkg),
      target,
      env,
      label,
      log: o.log,
    });
    o.log(`Built ${label} in ${Math.round((Date.now() - started) / 1000)} s`);
  }
  if (!existsSync(path.join(schemaRoot, 'temporal', 'versioned'))) {
    const dir = moduleDir(needGo(), TEMPORAL_SERVER_MODULE, versions.server, env);
    const tmp = `${path.join(root, 'schema')}.copy-${process.pid}`;
    cpSync(path.join(dir, 'schema', 'postgresql'), path.join(tmp, 'postgresql'), { recursive: true });
    rmSync(path.join(root, 'schema'), { recursive: true, force: true });
    renameSync(tmp, path.join(root, 'schema'));
  }
  const result: ClusterBinaries = { versions, server, sqlTool, schemaRoot };
  if (o.withUi === false) return result;
  const uiRoot = path.join(o.cacheRoot ?? cacheRootFor(env), 'temporal-ui', versions.ui);
  const ui = path.join(uiRoot, 'temporal-ui-server');
  if (isExecutableFile(ui)) return { ...result, ui };
  try {
    const started = Date.now();
    o.log(`Building the Temporal UI ${versions.ui} with Go into ${uiRoot}...`);
    const src = moduleDir(needGo(), TEMPORAL_UI_MODULE, versions.ui, env);
    mkdirSync(path.dirname(uiRoot), { recursive: true });
    const work = mkdtempSync(path.join(path.dirname(uiRoot), '.build-'));
    try {
      // The module cache is read-only; its replace directive applies only when it is the main module.
      cpSync(src, path.join(work, 'src'), { recursive: true });
      chmodRecursive(path.join(work, 'src'));
      const out = path.join(work, 'temporal-ui-server');
      await runGo({
        go: needGo(),
        args: ['build', '-o', out, './cmd/server'],
        cwd: path.join(work, 'src'),
        env,
        label: `the Temporal UI ${versions.ui}`,
        log: o.log,
      });
      cpSync(out, `${ui}.tmp-${process.pid}`);
      chmodSync(`${ui}.tmp-${process.pid}`, 0o755);
      renameSync(`${ui}.tmp-${process.pid}`, ui);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    o.log(`Built the Temporal UI in ${Math.round((Date.now() - started) / 1000)} s`);
    return { ...result, ui };
  } catch (e) {
    return { ...result, uiProblem: (e as Error).message.slice(0, 500) };
  }
}

function chmodRecursive(dir: string): void {
  spawnSync('chmod', ['-R', 'u+w', dir]);
}
