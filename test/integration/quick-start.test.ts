// The README's quick start on a machine where nothing answers at DATABASE_URL and REDIS_URL:
// `npm start` brings up an embedded PostgreSQL and a private Redis, serves the demo event, and stops
// the services it started on SIGTERM, and also when its wrapper is killed outright (issue 10).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import assert from 'node:assert/strict';

const REPO_ROOT = path.resolve(import.meta.dirname, '../..');

/** Ports nothing listens on; all held open together so that they differ. */
async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer().listen(0, '127.0.0.1'));
  await Promise.all(servers.map((server) => once(server, 'listening')));
  const ports = servers.map((server) => (server.address() as AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

interface QuickStart {
  npm: ChildProcess;
  dataDir: string;
  ports: { database: number; redis: number; app: number };
  output(): string;
}

/**
 * The processes of one run: every one with the run's data folder in its environment or command line
 * (npm, with-services, the server, PostgreSQL), and the private Redis, which overwrites both with
 * its title `redis-server 127.0.0.1:<port>`.
 */
function processesOf(run: QuickStart): { pid: number; cmdline: string }[] {
  const found = [];
  for (const entry of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      const environ = readFileSync(`/proc/${entry}/environ`, 'utf8');
      if (cmdline.includes(run.dataDir) || environ.includes(run.dataDir) || cmdline.includes(`127.0.0.1:${run.ports.redis}`)) {
        found.push({ pid: Number(entry), cmdline: cmdline.trim() });
      }
    } catch {
      // ended while being read
    }
  }
  return found;
}

/** `npm start` with its own services on free ports; once GET /events lists the demo event. */
async function startServing(t: TestContext): Promise<QuickStart> {
  const [database, redis, app] = (await freePorts(3)) as [number, number, number];
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'boxoffice-quick-start-'));
  // As root, PostgreSQL runs as the OS user postgres: if it may enter this folder, the cluster stays
  // in it (rather than in /var/lib/boxoffice), named on the postmaster's command line, removed with it.
  chmodSync(dataDir, 0o755);
  const npm = spawn('npm', ['start'], {
    cwd: REPO_ROOT,
    detached: true, // its own process group, as in a terminal
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      DATABASE_URL: `postgres://postgres@127.0.0.1:${database}/boxoffice`,
      REDIS_URL: `redis://127.0.0.1:${redis}`,
      PORT: String(app),
      HOST: '127.0.0.1',
      BOXOFFICE_DATA_DIR: dataDir,
    },
  });
  let output = '';
  npm.stdout.on('data', (chunk) => (output += chunk));
  npm.stderr.on('data', (chunk) => (output += chunk));
  const run: QuickStart = { npm, dataDir, ports: { database, redis, app }, output: () => output };
  t.after(async () => {
    // Whatever a failed test leaves running; orphans would also hold the pipes open forever.
    for (const { pid } of processesOf(run)) process.kill(pid, 'SIGKILL');
    npm.stdout.destroy();
    npm.stderr.destroy();
    for (const deadline = Date.now() + 10_000; processesOf(run).length && Date.now() < deadline; ) await delay(100);
    rmSync(dataDir, { recursive: true, force: true });
  });

  const running = () => npm.exitCode === null && npm.signalCode === null;
  let events: unknown[] = [];
  for (const deadline = Date.now() + 90_000; events.length === 0; await delay(500)) {
    assert.ok(running(), `npm start exited early (code ${npm.exitCode}):\n${output}`);
    assert.ok(Date.now() < deadline, `GET /events did not list an event within 90 s:\n${output}`);
    const response = await fetch(`http://127.0.0.1:${app}/events`, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined);
    if (response?.status === 200) events = (await response.json()) as unknown[];
  }
  assert.match(output, /started an embedded one at postgres:\/\/\S+:\d+/);
  assert.match(output, /started a private redis-server/);
  return run;
}

/** Waits until nothing of the run is left: no process, nothing listening on its ports; returns how long that took. */
async function assertAllStopped(run: QuickStart, withinMs: number): Promise<number> {
  const since = Date.now();
  const ports = Object.entries(run.ports);
  for (;;) {
    const left = processesOf(run).map(({ pid, cmdline }) => `${pid} ${cmdline}`);
    const open = [];
    for (const [name, port] of ports) if (await listening(port)) open.push(`${name} on ${port}`);
    if (!left.length && !open.length) return Date.now() - since;
    if (Date.now() - since > withinMs) {
      assert.fail(`${withinMs / 1000} s later still running:\n${[...left, ...open].join('\n')}\n\noutput:\n${run.output()}`);
    }
    await delay(200);
  }
}

test('quick-start.brings-up-own-services-serves-demo-event-and-stops-them', { timeout: 180_000 }, async (t) => {
  const run = await startServing(t);
  const exited = once(run.npm, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  process.kill(-run.npm.pid!, 'SIGTERM'); // npm, and with-services in its group
  const [code] = await Promise.race([
    exited,
    delay(30_000, undefined, { ref: false }).then(() => assert.fail(`npm start did not exit within 30 s of SIGTERM:\n${run.output()}`)),
  ]);
  assert.equal(code, 0, run.output());
  await assertAllStopped(run, 1_000);
});

test('quick-start.sigkill-of-with-services-still-stops-server-redis-and-postgres (issue 10)', { timeout: 180_000 }, async (t) => {
  const run = await startServing(t);
  const wrapper = processesOf(run).find(({ cmdline }) => cmdline.includes('scripts/with-services.ts'));
  assert.ok(wrapper, 'with-services is running');
  process.kill(wrapper.pid, 'SIGKILL');
  t.diagnostic(`all stopped ${await assertAllStopped(run, 20_000)} ms after the SIGKILL`);
  assert.match(run.output(), /"msg":"stopped"/, 'the server shut down gracefully before the databases went');
});

test('quick-start.sigkill-of-npm-still-stops-server-redis-and-postgres (issue 10)', { timeout: 180_000 }, async (t) => {
  const run = await startServing(t);
  process.kill(run.npm.pid!, 'SIGKILL');
  t.diagnostic(`all stopped ${await assertAllStopped(run, 20_000)} ms after the SIGKILL`);
  assert.match(run.output(), /the process that started this one is gone; shutting down/);
  assert.match(run.output(), /"msg":"stopped"/, 'the server shut down gracefully before the databases went');
});

test(
  'quick-start.as-root-a-data-folder-postgres-cannot-enter-moves-to-var-lib (issue 10)',
  { timeout: 120_000, skip: process.getuid?.() !== 0 && 'only root runs PostgreSQL as another OS user' },
  async (t) => {
    const [database, redis] = (await freePorts(2)) as [number, number];
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'boxoffice-quick-start-')); // mode 700, as from mktemp -d
    t.after(() => rmSync(dataDir, { recursive: true, force: true }));
    const probe = "const c = new (require('pg').Client)(process.env.DATABASE_URL); c.connect().then(() => c.query('SELECT 1')).then(() => c.end())";
    const proc = spawn(process.execPath, ['--import', 'tsx', 'scripts/with-services.ts', '--', process.execPath, '-e', probe], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        DATABASE_URL: `postgres://postgres@127.0.0.1:${database}/boxoffice`,
        REDIS_URL: `redis://127.0.0.1:${redis}`,
        BOXOFFICE_DATA_DIR: dataDir,
      },
    });
    let output = '';
    proc.stdout.on('data', (chunk) => (output += chunk));
    proc.stderr.on('data', (chunk) => (output += chunk));
    const [code] = (await once(proc, 'exit')) as [number | null];
    const cluster = /data in (\/var\/lib\/boxoffice\/postgres-[0-9a-f]+)/.exec(output)?.[1];
    if (cluster) t.after(() => rmSync(cluster, { recursive: true, force: true }));
    assert.equal(code, 0, output);
    assert.ok(cluster, output);
    // From a checkout postgres cannot reach either (mktemp -d), the line names node_modules too.
    const unreachable = /\(the OS user postgres cannot reach (.+)\)$/m.exec(output)?.[1];
    assert.ok(unreachable?.split(' or ').includes(dataDir), output);
    assert.equal(await listening(database), false, 'the embedded PostgreSQL still listens');
  },
);
