/**
 * The production deployment files, checked without Docker: docker-compose.yml against the settings the code
 * reads and the secrets the configuration names, the admin-tools script (run with stand-in CLIs), the
 * Dockerfile's stages, and the worker healthcheck (against the real test server when there is one).
 */
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { parseConfig } from '../src/config/load';
import { SETTING_NAMES } from '../src/config/settings';
import { SEARCH_ATTRIBUTES } from '../src/order/search-attributes';

jest.setTimeout(60_000);

const ROOT = path.join(__dirname, '..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

type EnvSpec = Record<string, string | number | boolean | null> | string[];
interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: EnvSpec;
  ports?: (string | number | { published?: string | number; host_ip?: string })[];
  volumes?: (string | { type?: string; source?: string; target?: string; read_only?: boolean })[];
  healthcheck?: { test?: string | string[]; disable?: boolean };
  depends_on?: string[] | Record<string, { condition?: string }>;
  container_name?: string;
  restart?: string;
  profiles?: string[];
  secrets?: (string | { source: string; target?: string })[];
}
interface Compose {
  services: Record<string, Service>;
  secrets?: Record<string, { file?: string; environment?: string }>;
  volumes?: Record<string, unknown>;
}

// Compose resolves `<<: *anchor` merge keys: so must the parse.
const compose = parse(read('docker-compose.yml'), { merge: true }) as Compose;
const setupScript = read('deploy/temporal-setup.sh');
const rawConfig = JSON.parse(read('deploy/config.production.json')) as unknown;

function service(name: string): Service {
  const s = compose.services[name];
  if (!s) throw new Error(`docker-compose.yml has no service "${name}"`);
  return s;
}

function envOf(s: Service): Record<string, string> {
  const env = s.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((e) => {
        const i = e.indexOf('=');
        return i < 0 ? [e, ''] : [e.slice(0, i), e.slice(i + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

/** Every secret reference in the configuration: `{env}` / `{file}` objects wherever they are. */
function secretRefs(value: unknown, at = ''): { at: string; env?: string; file?: string; keys: string[] }[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => secretRefs(v, `${at}[${i}]`));
  if (!value || typeof value !== 'object') return [];
  const out: { at: string; env?: string; file?: string; keys: string[] }[] = [];
  for (const [k, v] of Object.entries(value)) {
    if (SECRET_FIELDS.has(k) && v && typeof v === 'object' && !Array.isArray(v)) {
      const ref = v as { env?: string; file?: string };
      out.push({ at: `${at}.${k}`, env: ref.env, file: ref.file, keys: Object.keys(v) });
    } else {
      out.push(...secretRefs(v, `${at}.${k}`));
    }
  }
  return out;
}
const SECRET_FIELDS = new Set(['apiKey', 'password', 'privateKey']);
const configSecretEnv = [...new Set(secretRefs(rawConfig).flatMap((r) => (r.env ? [r.env] : [])))];
const configSecretFiles = [...new Set(secretRefs(rawConfig).flatMap((r) => (r.file ? [r.file] : [])))];

const SECRET_NAME = /PASSWORD|PWD|TOKEN|KEY|SECRET/;
/** `${NAME}`, `${NAME:?message}` or `${NAME:-}`: a reference, never a value (a non-empty default would be one). */
const ENV_REFERENCE = /^\$\{[A-Z_][A-Z0-9_]*(?::?\?[^}]*|:?-)?\}$/;

describe('docker-compose.yml', () => {
  test('has the production services', () => {
    for (const name of ['postgresql', 'temporal-admin-tools', 'temporal', 'temporal-ui', 'worker', 'http']) {
      expect(compose.services[name]).toBeDefined();
    }
  });

  test('pins every image to an explicit version and uses no auto-setup image', () => {
    const images = Object.entries(compose.services).flatMap(([name, s]) =>
      s.image ? [[name, s.image]] : [],
    );
    expect(images.length).toBeGreaterThanOrEqual(5);
    for (const [name, image] of images) {
      const m = /^([a-z0-9./_-]+):([A-Za-z0-9._-]+)$/.exec(image!);
      // Prometheus tags its releases v3.5.0: a leading v is still an explicit version.
      expect({ name, image, pinned: !!m && m[2] !== 'latest' && /^v?\d+\.\d+/.test(m[2]!) }).toEqual({
        name,
        image,
        pinned: true,
      });
      expect(image).not.toMatch(/auto-setup/);
    }
    expect(service('postgresql').image).toMatch(/^postgres:\d+\.\d+/);
    expect(service('temporal').image).toMatch(/^temporalio\/server:\d+\.\d+\.\d+$/);
    expect(service('temporal-ui').image).toMatch(/^temporalio\/ui:\d+\.\d+\.\d+$/);
    expect(service('temporal-admin-tools').image).toMatch(/^temporalio\/admin-tools:\d+\.\d+\.\d+/);
    // admin-tools must match the server: it carries the schema versions that server expects.
    const serverVersion = service('temporal').image!.split(':')[1];
    for (const s of Object.values(compose.services).filter((x) =>
      x.image?.startsWith('temporalio/admin-tools:'),
    )) {
      expect(s.image!.split(':')[1]!.startsWith(serverVersion!)).toBe(true);
    }
  });

  test('builds worker and http from this repository and lets the worker scale', () => {
    expect(existsSync(path.join(ROOT, 'Dockerfile'))).toBe(true);
    for (const name of ['worker', 'http']) {
      const s = service(name);
      const build = typeof s.build === 'string' ? { context: s.build } : s.build;
      expect(build).toBeDefined();
      expect(path.resolve(ROOT, build!.context ?? '.')).toBe(ROOT);
      expect(build!.dockerfile ?? 'Dockerfile').toBe('Dockerfile');
    }
    const worker = service('worker');
    expect(worker.command).toEqual(['node', 'bin/rto.js', 'worker']);
    expect(service('http').command).toEqual(['node', 'bin/rto.js', 'http']);
    // `--scale worker=N` fails with a fixed container name or host port.
    expect(worker.container_name).toBeUndefined();
    expect(worker.ports ?? []).toEqual([]);
    expect(worker.restart).toBe('unless-stopped');
  });

  test('sets only environment variables the code reads, and those the worker needs', () => {
    // MALLOC_ARENA_MAX is read by glibc's malloc in the worker's process, not by the code.
    const allowed = new Set([...SETTING_NAMES, ...configSecretEnv, 'MALLOC_ARENA_MAX']);
    for (const name of ['worker', 'http']) {
      const env = envOf(service(name));
      const unknown = Object.keys(env).filter((k) => !allowed.has(k));
      expect({ service: name, unknown }).toEqual({ service: name, unknown: [] });
      for (const needed of ['TEMPORAL_ADDRESS', 'RTO_TASK_QUEUE', 'RTO_CONFIG'])
        expect(env[needed]).toBeTruthy();
      expect(env.TEMPORAL_ADDRESS).toBe('temporal:7233');
    }
    // The worker can resolve every secret the configuration names by environment variable.
    const workerEnv = envOf(service('worker'));
    expect(configSecretEnv.length).toBeGreaterThan(0);
    for (const name of configSecretEnv) expect(workerEnv[name]).toBeDefined();
  });

  test('mounts the configuration read-only where RTO_CONFIG points', () => {
    for (const name of ['worker', 'http']) {
      const s = service(name);
      const target = envOf(s).RTO_CONFIG;
      // source:target[:mode], where the source may be a `${VAR:-default}` reference (colons inside).
      const mounts = (s.volumes ?? []).flatMap((v) => {
        const m = typeof v === 'string' ? /^(.+):(\/[^:]+)(?::(\w+))?$/.exec(v) : null;
        return m ? [{ source: m[1]!, target: m[2]!, mode: m[3] }] : [];
      });
      const mount = mounts.find((m) => m.target === target);
      expect(mount).toMatchObject({
        source: expect.stringContaining('deploy/config.production.json'),
        mode: 'ro',
      });
    }
  });

  test('has healthchecks on postgresql, temporal, worker and http', () => {
    for (const name of ['postgresql', 'temporal', 'worker', 'http']) {
      const hc = service(name).healthcheck;
      expect(hc?.test).toBeDefined();
      expect(hc?.disable).not.toBe(true);
    }
    expect(JSON.stringify(service('postgresql').healthcheck!.test)).toContain('pg_isready');
    const workerCheck = service('worker').healthcheck!.test as string[];
    expect(workerCheck).toEqual(['CMD', 'node', 'deploy/worker-healthcheck.js']);
    // The image ships that script (the runtime stage copies it).
    expect(read('Dockerfile')).toMatch(
      /COPY deploy\/worker-healthcheck\.js \.\/deploy\/worker-healthcheck\.js/,
    );
  });

  test('starts in order: database, schema, server, namespace, workers', () => {
    const deps = (name: string) => service(name).depends_on as Record<string, { condition?: string }>;
    expect(deps('temporal-admin-tools').postgresql?.condition).toBe('service_healthy');
    expect(deps('temporal').postgresql?.condition).toBe('service_healthy');
    expect(deps('temporal')['temporal-admin-tools']?.condition).toBe('service_completed_successfully');
    for (const name of ['worker', 'http']) {
      expect(deps(name).temporal?.condition).toBe('service_healthy');
      expect(deps(name)['temporal-namespace']?.condition).toBe('service_completed_successfully');
    }
    expect(deps('temporal-namespace').temporal?.condition).toBe('service_healthy');
    expect(envOf(service('temporal')).DB).toBe('postgres12');
    expect(envOf(service('temporal')).POSTGRES_SEEDS).toBe('postgresql');
  });

  test('writes no secret: every secret-looking variable is a ${VAR} reference', () => {
    let checked = 0;
    for (const [name, s] of Object.entries(compose.services)) {
      for (const [k, v] of Object.entries(envOf(s))) {
        if (!SECRET_NAME.test(k)) continue;
        checked++;
        // A *_FILE setting names a Docker secret's mount, which holds the value.
        if (k.endsWith('_FILE'))
          expect({ name, k, v: v.startsWith('/run/secrets/') }).toEqual({ name, k, v: true });
        else expect({ name, k, reference: ENV_REFERENCE.test(v) }).toEqual({ name, k, reference: true });
      }
    }
    expect(checked).toBeGreaterThanOrEqual(5);
    // Required secrets fail fast instead of starting with an empty password.
    expect(envOf(service('postgresql')).POSTGRES_PASSWORD).toMatch(/^\$\{POSTGRES_PASSWORD:\?/);
    expect(envOf(service('worker')).ALMA_API_KEY_01UNIV_INST).toMatch(/^\$\{ALMA_API_KEY_01UNIV_INST:\?/);
    // The intake token is a Docker secret read from a file outside the repository's tracked files.
    expect(envOf(service('http')).RTO_HTTP_TOKEN_FILE).toBe('/run/secrets/rto_http_token');
    expect(service('http').secrets).toContain('rto_http_token');
    for (const [name, secret] of Object.entries(compose.secrets ?? {})) {
      expect({ name, file: secret.file }).toEqual({ name, file: expect.stringMatching(/deploy\/secrets\//) });
    }
    expect(read('deploy/secrets/.gitignore')).toMatch(/^\*$/m);
  });

  test('publishes ports on 127.0.0.1 only', () => {
    let published = 0;
    for (const [name, s] of Object.entries(compose.services)) {
      for (const p of s.ports ?? []) {
        published++;
        const hostIp = typeof p === 'object' ? p.host_ip : String(p).split(':')[0];
        expect({ name, port: p, hostIp }).toEqual({ name, port: p, hostIp: '127.0.0.1' });
        if (typeof p !== 'object') expect(String(p).split(':')).toHaveLength(3);
      }
    }
    expect(published).toBeGreaterThanOrEqual(3);
    expect(service('temporal').ports).toContain('127.0.0.1:7233:7233');
    expect(service('temporal-ui').ports).toContain('127.0.0.1:8233:8080');
    expect(service('http').ports).toContain('127.0.0.1:8080:8080');
    expect(service('postgresql').ports).toBeUndefined();
  });

  test('runs the set-up script from deploy/ in both admin-tools services', () => {
    for (const [name, step] of [
      ['temporal-admin-tools', 'schema'],
      ['temporal-namespace', 'namespace'],
    ] as const) {
      const s = service(name);
      expect(s.volumes).toContain('./deploy/temporal-setup.sh:/deploy/temporal-setup.sh:ro');
      expect(s.entrypoint).toEqual(['/bin/sh', '/deploy/temporal-setup.sh']);
      expect(s.command).toEqual([step]);
    }
    expect(envOf(service('temporal-namespace')).TEMPORAL_NAMESPACE).toBe(
      envOf(service('worker')).TEMPORAL_NAMESPACE,
    );
  });
});

describe('docker-compose.yml metrics profile', () => {
  test('Prometheus and Grafana run only with --profile metrics, pinned, on loopback', () => {
    for (const name of ['prometheus', 'grafana']) {
      expect({ name, profiles: service(name).profiles }).toEqual({ name, profiles: ['metrics'] });
    }
    expect(service('prometheus').image).toMatch(/^prom\/prometheus:v\d+\.\d+\.\d+$/);
    expect(service('grafana').image).toMatch(/^grafana\/grafana:\d+\.\d+\.\d+$/);
    expect(service('prometheus').ports).toEqual(['127.0.0.1:9090:9090']);
    expect(service('grafana').ports).toEqual(['127.0.0.1:3000:3000']);
  });

  test('mounts the scrape config, the rules and the dashboard from deploy/prometheus, read-only', () => {
    const mounts = (name: string) =>
      (service(name).volumes ?? []).filter((v): v is string => typeof v === 'string');
    expect(mounts('prometheus')).toEqual(
      expect.arrayContaining([
        './deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro',
        './deploy/prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro',
      ]),
    );
    const cmd = service('prometheus').command as string[];
    expect(cmd).toContain('--config.file=/etc/prometheus/prometheus.yml');
    const prom = parse(read('deploy/prometheus/prometheus.yml')) as { rule_files: string[] };
    expect(prom.rule_files).toEqual(['/etc/prometheus/alerts.yml']);
    for (const m of mounts('grafana').filter((v) => v.startsWith('./'))) {
      expect(m).toMatch(/:ro$/);
      expect(existsSync(path.join(ROOT, m.split(':')[0]!))).toBe(true);
    }
    expect(envOf(service('grafana')).GF_SECURITY_ADMIN_PASSWORD__FILE).toBe(
      '/run/secrets/grafana_admin_password',
    );
  });

  test('workers serve /metrics and the SDK metrics where Prometheus scrapes them, with no host port', () => {
    const env = envOf(service('worker'));
    const prom = parse(read('deploy/prometheus/prometheus.yml')) as {
      scrape_configs: {
        job_name: string;
        metrics_path?: string;
        dns_sd_configs?: { names: string[]; port: number }[];
        static_configs?: { targets: string[] }[];
      }[];
    };
    const job = (n: string) => prom.scrape_configs.find((j) => j.job_name === n)!;
    expect(job('rto-worker').dns_sd_configs?.[0]).toMatchObject({
      names: ['worker'],
      port: Number(env.RTO_HEALTH_PORT),
    });
    expect(env.RTO_HEALTH_HOST).toBe('0.0.0.0');
    expect(job('rto-worker-sdk').dns_sd_configs?.[0]).toMatchObject({
      names: ['worker'],
      port: Number(env.RTO_SDK_METRICS_ADDRESS!.split(':').pop()),
    });
    expect(job('rto-http').static_configs?.[0]?.targets).toEqual([
      `http:${envOf(service('http')).RTO_HTTP_PORT}`,
    ]);
    for (const j of prom.scrape_configs) expect(j.metrics_path ?? '/metrics').toBe('/metrics');
    expect(service('worker').ports ?? []).toEqual([]);
  });
});

describe('deploy/temporal-setup.sh', () => {
  test('registers exactly the search attributes of SEARCH_ATTRIBUTES, with their types', () => {
    const block = /SEARCH_ATTRIBUTES="([^"]*)"/.exec(setupScript);
    expect(block).not.toBeNull();
    const listed = Object.fromEntries(
      block![1]!
        .split(/\s+/)
        .filter(Boolean)
        .map((e) => e.split('=') as [string, string]),
    );
    expect(listed).toEqual(SEARCH_ATTRIBUTES);
    expect(setupScript).toContain('temporal operator search-attribute create');
    expect(setupScript).toMatch(/already exists/);
  });

  test('is valid POSIX shell', async () => {
    const r = await run('sh', ['-n', path.join(ROOT, 'deploy/temporal-setup.sh')], {});
    expect(r).toMatchObject({ code: 0, stderr: '' });
  });

  describe('with stand-in temporal, temporal-sql-tool and nc', () => {
    let dir: string;
    let calls: string;
    beforeEach(() => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'rto-setup-'));
      calls = path.join(dir, 'calls.log');
      // Each stand-in logs its arguments; `temporal` answers the way the real CLI does for the cases tested.
      stub('temporal-sql-tool', 'exit 0');
      stub('nc', 'exit 0');
      stub(
        'temporal',
        [
          'case "$*" in',
          '  *"operator cluster health"*) echo SERVING ;;',
          '  *"namespace describe"*) echo "Namespace not found" >&2; exit 1 ;;',
          '  *"search-attribute create"*"--name $SA_EXISTS "*) echo "Search attribute $SA_EXISTS already exists" >&2; exit 1 ;;',
          '  *"search-attribute create"*"--name $SA_BROKEN "*) echo "permission denied" >&2; exit 1 ;;',
          'esac',
        ].join('\n'),
      );
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    function stub(name: string, body: string): void {
      const file = path.join(dir, name);
      writeFileSync(file, `#!/bin/sh\necho "${name} $*" >> "${calls}"\n${body}\n`);
      chmodSync(file, 0o755);
    }
    const env = (extra: Record<string, string>) => ({
      PATH: `${dir}:${process.env.PATH}`,
      SETUP_PAUSE_SECONDS: '0',
      SETUP_ATTEMPTS: '2',
      ...extra,
    });
    const script = path.join(ROOT, 'deploy/temporal-setup.sh');
    const logged = () => readFileSync(calls, 'utf8').trim().split('\n');

    test('schema: creates and upgrades both databases, password from the environment only', async () => {
      const r = await run(
        'sh',
        [script, 'schema'],
        env({ POSTGRES_SEEDS: 'pg', POSTGRES_USER: 'temporal', SQL_PASSWORD: 's3cret' }),
      );
      expect(r.code).toBe(0);
      const sql = logged().filter((l) => l.startsWith('temporal-sql-tool'));
      for (const db of ['temporal', 'temporal_visibility']) {
        const dirName = db === 'temporal' ? 'temporal' : 'visibility';
        expect(sql).toContainEqual(
          expect.stringMatching(new RegExp(`--plugin postgres12 .*--db ${db} create$`)),
        );
        expect(sql).toContainEqual(expect.stringMatching(new RegExp(`--db ${db} setup-schema -v 0\\.0$`)));
        expect(sql).toContainEqual(
          expect.stringContaining(
            `--db ${db} update-schema -d /etc/temporal/schema/postgresql/v12/${dirName}/versioned`,
          ),
        );
      }
      expect(readFileSync(calls, 'utf8')).not.toContain('s3cret');
      expect(r.stdout + r.stderr).not.toContain('s3cret');
    });

    test('schema: refuses to run without the database password', async () => {
      const r = await run('sh', [script, 'schema'], env({ POSTGRES_SEEDS: 'pg', POSTGRES_USER: 'temporal' }));
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('SQL_PASSWORD');
    });

    test('namespace: creates the namespace and every search attribute, tolerating "already exists"', async () => {
      const r = await run(
        'sh',
        [script, 'namespace'],
        env({ TEMPORAL_ADDRESS: 'temporal:7233', TEMPORAL_NAMESPACE: 'library', SA_EXISTS: 'OrderStage' }),
      );
      expect(r).toMatchObject({ code: 0 });
      const lines = logged();
      expect(lines).toContainEqual(
        expect.stringMatching(/^temporal operator namespace create --namespace library /),
      );
      for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) {
        expect(lines).toContain(
          `temporal operator search-attribute create --namespace library --name ${name} --type ${type}`,
        );
      }
      expect(r.stdout).toContain('search attribute OrderStage already registered');
    });

    test('namespace: fails on any other error', async () => {
      const r = await run(
        'sh',
        [script, 'namespace'],
        env({ TEMPORAL_ADDRESS: 'temporal:7233', SA_BROKEN: 'AlmaMmsId' }),
      );
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('permission denied');
    });
  });
});

describe('deploy/config.production.json', () => {
  const saved: Record<string, string | undefined> = {};
  const setEnv = { RTO_DATA_DIR: '/data' };
  beforeAll(() => {
    for (const [k, v] of Object.entries(setEnv)) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
  });
  afterAll(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  test('parses with parseConfig', () => {
    const cfg = parseConfig(rawConfig, 'deploy/config.production.json', path.join(ROOT, 'deploy'));
    expect(Object.keys(cfg.institutions)).toEqual(['01UNIV_INST']);
    expect(cfg.institutions['01UNIV_INST']!.gateway).toMatch(/^https:\/\/.+\/almaws\/v1$/);
    expect(cfg.accounts['UNIV-LAW']!.marc.source).toEqual({
      type: 'local',
      path: '/data/vendor/UNIV-LAW/marc',
    });
  });

  test('only interpolates settings the processes set', () => {
    const used = [...read('deploy/config.production.json').matchAll(/\$\{([A-Z_][A-Z0-9_]*)/g)].map(
      (m) => m[1]!,
    );
    for (const name of used) {
      expect(SETTING_NAMES).toContain(name);
      expect(envOf(service('worker'))[name]).toBeDefined();
    }
  });

  test('holds no inline secret: API keys and passwords are env or file references', () => {
    const refs = secretRefs(rawConfig);
    expect(refs.length).toBeGreaterThanOrEqual(3);
    for (const r of refs) {
      // sandboxDefault is for the Alma sandbox's fake keys only, never in production.
      expect({ at: r.at, keys: r.keys.filter((k) => k !== 'env' && k !== 'file') }).toEqual({
        at: r.at,
        keys: [],
      });
      expect(r.env || r.file).toBeTruthy();
    }
    expect(JSON.stringify(rawConfig)).not.toMatch(/sandbox-|"(apiKey|password|privateKey|token)"\s*:\s*"/i);
    // Every file reference is a Docker secret the worker mounts.
    const workerSecrets = (service('worker').secrets ?? []).map((s) =>
      typeof s === 'string' ? s : s.source,
    );
    for (const file of configSecretFiles) {
      const m = /^\/run\/secrets\/([a-z0-9_-]+)$/.exec(file);
      expect(m).not.toBeNull();
      expect(workerSecrets).toContain(m![1]);
      expect(compose.secrets?.[m![1]!]).toBeDefined();
    }
  });
});

describe('Dockerfile and .dockerignore', () => {
  const dockerfile = read('Dockerfile');
  const args = Object.fromEntries([...dockerfile.matchAll(/^ARG (\w+)=(\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
  // Stages by FROM line; ARG values substituted.
  const stages = dockerfile
    .split(/^(?=FROM )/m)
    .filter((s) => s.startsWith('FROM '))
    .map((s) => s.replace(/\$\{(\w+)\}/g, (_m, n: string) => args[n] ?? `\${${n}}`));
  const runtime = stages[stages.length - 1]!;
  const builder = stages[0]!;

  test('builds on a pinned node 20 bookworm-slim image, in several stages', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const s of stages) expect(s).toMatch(/^FROM node:20\.\d+\.\d+-bookworm-slim\b/);
  });

  test('the builder installs, builds the code and the workflow bundle, and drops dev packages', () => {
    expect(builder).toMatch(/RUN npm ci\b/);
    expect(builder).toMatch(/npm run build/);
    expect(builder).toMatch(/npm prune --omit=dev/);
    expect(JSON.parse(read('package.json')).scripts.build).toMatch(/build-bundle/);
  });

  test('the runtime stage copies the build but not src/, and runs as a non-root user', () => {
    const copies = [...runtime.matchAll(/^COPY (.+)$/gm)].map((m) => m[1]!);
    for (const part of ['dist', 'bin', 'config', 'node_modules', 'package.json']) {
      expect(copies).toContainEqual(expect.stringMatching(new RegExp(`--from=\\S+ /app/${part}\\b`)));
    }
    // Without src/, bin/rto.js runs dist/ (see bin/rto.js).
    for (const c of copies) expect(c).not.toMatch(/(^|[\s/])src\b/);
    expect(read('bin/rto.js')).toMatch(/existsSync\(src\)/);
    const user = [...runtime.matchAll(/^USER (\S+)$/gm)].map((m) => m[1]!);
    expect(user.length).toBeGreaterThan(0);
    expect(['root', '0', '0:0']).not.toContain(user[user.length - 1]);
    expect(runtime).toMatch(/NODE_ENV=production/);
    expect(runtime).toMatch(/^CMD \["node", ?"bin\/rto\.js", ?"worker"\]$/m);
  });

  test('.dockerignore keeps local builds, data, tests and secrets out of the context', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    for (const p of ['node_modules', '.data', 'dist', '.git', 'test', 'deploy/secrets'])
      expect(ignored).toContain(p);
    // ... but not what the Dockerfile copies from the context.
    for (const p of [
      'src',
      'bin',
      'config',
      'package.json',
      'package-lock.json',
      'deploy/worker-healthcheck.js',
    ]) {
      expect(ignored).not.toContain(p);
    }
  });
});

describe('deploy/worker-healthcheck.js', () => {
  const check = (env: Record<string, string>) =>
    run(process.execPath, [path.join(ROOT, 'deploy/worker-healthcheck.js')], { ...process.env, ...env });

  test('reports unhealthy when the server cannot be reached', async () => {
    const r = await check({ TEMPORAL_ADDRESS: '127.0.0.1:1', RTO_TASK_QUEUE: 'nothing' });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^unhealthy: /);
  });

  const address = process.env.TEMPORAL_TEST_ADDRESS;
  (address ? test : test.skip)('is healthy only while this host polls the task queue', async () => {
    const { DefaultLogger, NativeConnection, Runtime, Worker } = await import('@temporalio/worker');
    const { uniqueQueue } = await import('./harness/temporal');
    Runtime.install({ logger: new DefaultLogger('WARN') });
    const connection = await NativeConnection.connect({ address: address! });
    const polled = uniqueQueue('health');
    const elsewhere = uniqueQueue('health-other');
    const activities = { noop: async () => undefined };
    const ours = await Worker.create({ connection, taskQueue: polled, activities });
    const theirs = await Worker.create({
      connection,
      taskQueue: elsewhere,
      activities,
      identity: '1@another-host',
    });
    const env = (taskQueue: string) => ({
      TEMPORAL_ADDRESS: address!,
      TEMPORAL_NAMESPACE: 'default',
      RTO_TASK_QUEUE: taskQueue,
    });
    try {
      await Promise.all([
        ours.runUntil(async () => {
          // A poller shows up once its first poll reaches the server.
          let r = await check(env(polled));
          for (let i = 0; i < 20 && r.code !== 0; i++) {
            await new Promise((res) => setTimeout(res, 250));
            r = await check(env(polled));
          }
          expect(r).toMatchObject({ code: 0, stdout: expect.stringMatching(/^healthy: polling /) });
        }),
        theirs.runUntil(async () => {
          await new Promise((res) => setTimeout(res, 1500));
          expect((await check(env(elsewhere))).code).toBe(1);
        }),
      ]);
      expect((await check(env(uniqueQueue('health-none')))).code).toBe(1);
    } finally {
      await connection.close();
    }
  });
});

function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}
