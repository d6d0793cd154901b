// Issue 10, defect 1: every command the README shows runs. A cheap check that each `npm ...` names a
// script whose files exist, and the deployment path for real: migrate, seed, serve, then SIGTERM.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { dropDatabase } from '../../src/db/migrate.ts';

const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
const scripts = (JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;

test('readme.every-npm-command-names-a-script-whose-files-exist', () => {
  const shown = new Set([...readme.matchAll(/\bnpm (?:run )?([\w:-]+)/g)].map((match) => match[1]!));
  // The regex must still see the README's commands, or this test would pass on nothing.
  for (const name of ['start', 'test', 'serve', 'migrate', 'seed']) assert.ok(shown.has(name), `README no longer shows npm ${name}?`);
  for (const name of shown) {
    const script = scripts[name];
    assert.ok(script, `README shows npm ${name}, which package.json does not define`);
    for (const file of script.match(/[\w./-]+\.(?:ts|js|sh)\b/g) ?? []) {
      assert.ok(existsSync(path.join(REPO_ROOT, file)), `npm run ${name} runs ${file}, which does not exist`);
    }
  }
});

/** Runs `npm run <script>` in the repository; resolves with its output once it exits 0. */
async function npmRun(script: string, env: NodeJS.ProcessEnv): Promise<string> {
  const proc = spawn('npm', ['run', script], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout.on('data', (chunk) => (output += chunk));
  proc.stderr.on('data', (chunk) => (output += chunk));
  const [code] = (await once(proc, 'exit')) as [number | null];
  assert.equal(code, 0, `npm run ${script} failed:\n${output}`);
  return output;
}

test('readme.migrate-seed-serve-on-a-fresh-database-then-sigterm-exits-0', { timeout: 120_000 }, async (t) => {
  const databaseUrl = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/boxoffice');
  databaseUrl.pathname = `/boxoffice_test_${randomBytes(5).toString('hex')}`;
  const env = {
    ...process.env,
    DATABASE_URL: databaseUrl.href,
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    REDIS_KEY_PREFIX: `test:${randomBytes(5).toString('hex')}:`,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
  };
  t.after(async () => {
    const redis = new Redis(env.REDIS_URL);
    const keys = await redis.keys(`${env.REDIS_KEY_PREFIX}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    await dropDatabase(env.DATABASE_URL);
  });

  assert.match(await npmRun('migrate', env), /migrations up to date/);
  assert.match(await npmRun('seed', env), /demo event created/);

  const serve = spawn('npm', ['run', 'serve'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  serve.stdout.on('data', (chunk) => (output += chunk));
  serve.stderr.on('data', (chunk) => (output += chunk));
  const exited = once(serve, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  t.after(() => {
    if (serve.exitCode === null && serve.signalCode === null) serve.kill('SIGKILL');
    // A server orphaned by npm would hold these pipes open, and this file would never finish.
    serve.stdout.destroy();
    serve.stderr.destroy();
  });

  let url: string | undefined;
  for (const deadline = Date.now() + 60_000; !url; await delay(200)) {
    assert.ok(serve.exitCode === null, `npm run serve exited early (code ${serve.exitCode}):\n${output}`);
    assert.ok(Date.now() < deadline, `npm run serve did not log its address within 60 s:\n${output}`);
    url = /listening on (http:\/\/[\d.:]+)/.exec(output)?.[1];
  }
  const events = (await (await fetch(`${url}/events`)).json()) as { name: string }[];
  assert.deepEqual(
    events.map((event) => event.name),
    ['The Midnight Orchestra: Live'],
  );

  // A supervisor stops the process it started, here npm: the server must hear it and exit 0.
  serve.kill('SIGTERM');
  const [code, signal] = await Promise.race([
    exited,
    delay(30_000, undefined, { ref: false }).then(() => assert.fail(`npm run serve did not exit within 30 s of SIGTERM:\n${output}`)),
  ]);
  assert.deepEqual({ code, signal }, { code: 0, signal: null }, output);
  assert.match(output, /"msg":"stopped"/, 'the server itself shut down, not only npm');
});
