// The README's quick start on a machine where nothing answers at DATABASE_URL and REDIS_URL:
// `npm start` (scripts/start.sh) brings up an embedded PostgreSQL and a private Redis, serves the
// demo event, and on SIGTERM stops the services it started.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
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

test('quick-start.brings-up-own-services-serves-demo-event-and-stops-them', { timeout: 180_000 }, async (t) => {
  const [databasePort, redisPort, appPort] = (await freePorts(3)) as [number, number, number];
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'boxoffice-quick-start-'));
  // When the tests run as root, PostgreSQL runs as the OS user postgres, who must enter this folder.
  chmodSync(dataDir, 0o755);

  const app = spawn('bash', ['scripts/start.sh'], {
    cwd: REPO_ROOT,
    detached: true, // its own process group, signalled as a whole below
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      DATABASE_URL: `postgres://postgres@127.0.0.1:${databasePort}/boxoffice`,
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      PORT: String(appPort),
      HOST: '127.0.0.1',
      BOXOFFICE_DATA_DIR: dataDir,
    },
  });
  let output = '';
  app.stdout.on('data', (chunk) => (output += chunk));
  app.stderr.on('data', (chunk) => (output += chunk));
  const exited = once(app, 'exit');
  const running = () => app.exitCode === null && app.signalCode === null;
  t.after(async () => {
    if (running()) {
      process.kill(-app.pid!, 'SIGTERM');
      await Promise.race([exited, delay(30_000, undefined, { ref: false })]);
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  let events: unknown[] = [];
  for (const deadline = Date.now() + 90_000; events.length === 0; await delay(500)) {
    assert.ok(running(), `npm start exited early (code ${app.exitCode}):\n${output}`);
    assert.ok(Date.now() < deadline, `GET /events did not list an event within 90 s:\n${output}`);
    const response = await fetch(`http://127.0.0.1:${appPort}/events`, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined);
    if (response?.status === 200) events = (await response.json()) as unknown[];
  }
  assert.match(output, /started an embedded one at postgres:\/\/\S+:\d+/);
  assert.match(output, /started a private redis-server/);

  process.kill(-app.pid!, 'SIGTERM');
  await Promise.race([
    exited,
    delay(30_000, undefined, { ref: false }).then(() => assert.fail(`npm start did not exit within 30 s of SIGTERM:\n${output}`)),
  ]);
  assert.equal(await listening(appPort), false, 'the server still listens');
  assert.equal(await listening(databasePort), false, 'the embedded PostgreSQL still listens');
  assert.equal(await listening(redisPort), false, 'the private Redis still listens');
});
