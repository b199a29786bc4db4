/**
 * A PostgreSQL cluster owned by `npm run cluster`: Debian's `postgresql` binaries, `initdb` into the cluster's
 * data directory, listening on 127.0.0.1 at a port of our choosing, with a password (scram-sha-256) the
 * Temporal server and its SQL tool use. PostgreSQL refuses to run as root, so under root its files belong to
 * the `postgres` system user the Debian package creates, and its processes run as that user.
 */
import { createHash } from 'node:crypto';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { findOnPath, isExecutableFile } from '../temporal/go-build';

export interface PostgresOptions {
  /** The cluster's folder: `data/` (PGDATA), `socket/`, `postgres.log`. */
  dir: string;
  port: number;
  user: string;
  password: string;
  log: (line: string) => void;
}

export interface Postgres {
  port: number;
  stop(): Promise<void>;
  /** Stop (fast: open transactions are rolled back, as when a database server restarts) and start again. */
  restart(): Promise<void>;
}

/** Where Debian's PostgreSQL programs are: `pg_config --bindir`, the newest /usr/lib/postgresql/N/bin, PATH. */
export function findPostgresBin(env: NodeJS.ProcessEnv = process.env): string {
  const candidates: string[] = [];
  const pgConfig = findOnPath('pg_config', env);
  if (pgConfig) {
    const out = spawnSync(pgConfig, ['--bindir'], { encoding: 'utf8' });
    if (out.status === 0) candidates.push(out.stdout.trim());
  }
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian))
    for (const v of readdirSync(debian).sort((a, b) => Number(b) - Number(a)))
      candidates.push(path.join(debian, v, 'bin'));
  const initdb = findOnPath('initdb', env);
  if (initdb) candidates.push(path.dirname(initdb));
  const bin = candidates.find(
    (d) => isExecutableFile(path.join(d, 'initdb')) && isExecutableFile(path.join(d, 'pg_ctl')),
  );
  if (!bin)
    throw new Error(
      'PostgreSQL server programs (initdb, pg_ctl) were not found: install them (Debian: apt-get install postgresql).',
    );
  return bin;
}

/** Under root, the uid/gid of the `postgres` system user; otherwise ourselves. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new Error(
      'PostgreSQL refuses to run as root, and there is no `postgres` user to run it as: run as another user, ' +
        'or install Debian’s postgresql package (it creates that user).',
    );
  }
}

function run(bin: string, args: string[], as: { uid: number; gid: number } | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(as ?? {}) });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(out)
        : reject(new Error(`${path.basename(bin)} ${args[0]} failed (exit ${code}): ${out.slice(-2000)}`)),
    );
  });
}

/**
 * Under root, PostgreSQL's user must reach its folder: a checkout under /root or a `mktemp -d` folder (mode
 * 0700) is closed to it. Then the cluster's database lives in a folder of its own under /var/tmp, named
 * after the one asked for, so the same checkout finds the same database again.
 */
function reachableDir(
  dir: string,
  as: { uid: number; gid: number } | undefined,
  log: (l: string) => void,
): string {
  if (!as) return dir;
  let parent = path.dirname(path.resolve(dir));
  while (!existsSync(parent)) parent = path.dirname(parent);
  // A lookup as that user fails unless every folder on the way lets it through; we create the rest for it.
  if (spawnSync('test', ['-x', parent], { ...as }).status === 0) return dir;
  const hash = createHash('sha256').update(path.resolve(dir)).digest('hex').slice(0, 12);
  const moved = path.join('/var/tmp', `oasis-alma-rto-postgres-${hash}`);
  log(`PostgreSQL: ${dir} is closed to the postgres user; its data goes to ${moved}`);
  return moved;
}

export async function startPostgres(o: PostgresOptions): Promise<Postgres> {
  const bin = findPostgresBin();
  const as = runAs();
  o = { ...o, dir: reachableDir(o.dir, as, o.log) };
  const data = path.join(o.dir, 'data');
  const socket = path.join(o.dir, 'socket');
  const logFile = path.join(o.dir, 'postgres.log');
  // The folders on the way stay open to PostgreSQL's user; its own are closed to everyone else.
  mkdirSync(path.dirname(o.dir), { recursive: true, mode: 0o755 });
  for (const d of [o.dir, socket]) mkdirSync(d, { recursive: true, mode: 0o700 });
  if (as) for (const d of [o.dir, socket]) chownSync(d, as.uid, as.gid);
  if (!existsSync(path.join(data, 'PG_VERSION'))) {
    o.log(`PostgreSQL: initdb into ${data}`);
    // The password goes through a file only PostgreSQL's user can read, never the command line.
    const pwfile = path.join(o.dir, '.pwfile');
    writeFileSync(pwfile, o.password + '\n', { mode: 0o600 });
    if (as) chownSync(pwfile, as.uid, as.gid);
    try {
      await run(
        path.join(bin, 'initdb'),
        ['-D', data, '-U', o.user, `--pwfile=${pwfile}`, '--auth=scram-sha-256', '-E', 'UTF8', '--locale=C'],
        as,
      );
    } finally {
      spawnSync('rm', ['-f', pwfile]);
    }
  }
  const pgCtl = path.join(bin, 'pg_ctl');
  // -k: the Unix socket in our folder (not /var/run/postgresql, which may not exist or belong to another server).
  const opts = `-p ${o.port} -k ${socket} -c listen_addresses=127.0.0.1 -c max_connections=200`;
  const start = async () => {
    await run(pgCtl, ['start', '-D', data, '-l', logFile, '-w', '-t', '60', '-o', opts], as);
    o.log(`PostgreSQL: listening on 127.0.0.1:${o.port}`);
  };
  const stop = async () => {
    await run(pgCtl, ['stop', '-D', data, '-m', 'fast', '-w', '-t', '60'], as).catch((e: Error) => {
      if (!/Is server running\?|no server running/i.test(e.message)) throw e;
    });
  };
  // A server left running by a killed earlier run holds the data directory: stop it first.
  if (existsSync(path.join(data, 'postmaster.pid'))) await stop();
  await start();
  return {
    port: o.port,
    stop,
    restart: async () => {
      await stop();
      await start();
    },
  };
}
